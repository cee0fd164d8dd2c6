"""nn: neural networks built on autograd.

Modules and layers (``Module``, ``Linear``, ``Sequential``, ``MLP``, ``Flatten``,
``Dropout``, activation layers), scalar networks where every weight is a Value
(``nn.scalar``), the course's activation table (``nn.activations``), losses
(``nn.losses``), optimizers (``nn.optim``), a Keras-style ``compile``/``fit``, generated
data sets (``nn.data``), the classic networks (``nn.classic``) and ``nn.functional``.
"""

from . import activations, classic, data, functional, losses, optim, scalar, training
from .activations import (
    ELU,
    SELU,
    Activation,
    Identity,
    LeakyReLU,
    PReLU,
    ReLU,
    RReLU,
    Sigmoid,
    Sinc,
    Sinusoid,
    SmeLU,
    SoftExponential,
    Softplus,
    Softsign,
    Tanh,
)
from .layers import MLP, Dropout, Flatten, Linear, Sequential
from .module import Module, load, manual_seed, save
from .training import Callback, EarlyStopping, History, Replications, replicate

__all__ = [
    "ELU",
    "MLP",
    "SELU",
    "Activation",
    "Callback",
    "Dropout",
    "EarlyStopping",
    "Flatten",
    "History",
    "Identity",
    "LeakyReLU",
    "Linear",
    "Module",
    "PReLU",
    "RReLU",
    "Replications",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Sinc",
    "Sinusoid",
    "SmeLU",
    "SoftExponential",
    "Softplus",
    "Softsign",
    "Tanh",
    "activations",
    "classic",
    "data",
    "functional",
    "load",
    "losses",
    "manual_seed",
    "optim",
    "replicate",
    "save",
    "scalar",
    "training",
]
