"""nn: neural networks built on autograd.

Modules and layers (``Module``, ``Linear``, ``Sequential``, ``MLP``, ``Flatten``,
``Dropout``, activation layers), scalar networks where every weight is a Value
(``nn.scalar``), the course's activation table (``nn.activations``), losses
(``nn.losses``), optimizers (``nn.optim``), a Keras-style ``compile``/``fit``, generated
data sets (``nn.data``), the classic networks (``nn.classic``) and ``nn.functional``.
"""

from . import (
    activations,
    classic,
    conv,
    data,
    functional,
    losses,
    models,
    optim,
    recurrent,
    scalar,
    training,
)
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
from .conv import AvgPool2d, Conv2d, MaxPool2d, Reshape
from .layers import MLP, Dropout, Flatten, Linear, Sequential
from .module import Module, load, manual_seed, save
from .recurrent import GRU, LSTM, RNN, Elman, GRUCell, Jordan, JordanCell, LSTMCell, RNNCell
from .training import Callback, EarlyStopping, History, Replications, replicate

__all__ = [
    "ELU",
    "GRU",
    "LSTM",
    "MLP",
    "RNN",
    "SELU",
    "Activation",
    "AvgPool2d",
    "Callback",
    "Conv2d",
    "Dropout",
    "EarlyStopping",
    "Elman",
    "Flatten",
    "GRUCell",
    "History",
    "Identity",
    "Jordan",
    "JordanCell",
    "LSTMCell",
    "LeakyReLU",
    "Linear",
    "MaxPool2d",
    "Module",
    "PReLU",
    "RNNCell",
    "RReLU",
    "Replications",
    "ReLU",
    "Reshape",
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
    "conv",
    "data",
    "functional",
    "load",
    "losses",
    "manual_seed",
    "models",
    "optim",
    "recurrent",
    "replicate",
    "save",
    "scalar",
    "training",
]
