"""nn: neural networks built on autograd.

Modules and layers (``Module``, ``Linear``, ``Sequential``, ``MLP``, ``Flatten``,
``Dropout``, activation layers), scalar networks where every weight is a Value
(``nn.scalar``), the course's activation table (``nn.activations``), losses
(``nn.losses``), optimizers (``nn.optim``) and a Keras-style ``compile``/``fit``.
"""

from . import activations, scalar
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

__all__ = [
    "ELU",
    "MLP",
    "SELU",
    "Activation",
    "Dropout",
    "Flatten",
    "Identity",
    "LeakyReLU",
    "Linear",
    "Module",
    "PReLU",
    "RReLU",
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
    "load",
    "manual_seed",
    "save",
    "scalar",
]
