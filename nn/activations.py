"""The course's table of activation functions, for Values and Tensors alike.

Each function is built from engine ops, so autograd differentiates it; its derivative is
also written out by hand as a separate function (``derivative("elu")``, or
``elu.derivative``), on plain floats or numpy arrays, so a student can compare the two.

    >>> from chaingrad import Value
    >>> y = elu(Value(-1.0)); y.backward()
    >>> elu.derivative(-1.0)            # alpha * e**x, the same number as the Value's grad

Convention at a kink: x = 0 belongs to the right-hand branch (x >= 0), as in the course's
table. ``relu`` is the engine's own op and, like PyTorch, takes slope 0 at x = 0 (any
number in [0, 1] is a valid subgradient there).
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from typing import Any, Protocol, cast, overload

import numpy as np

from ..autograd import Node, Op, Tensor, Value, where
from ..autograd.dispatch import tanh as tanh_
from .module import Module, rng

Number = Any  # a float or a numpy array (the explicit derivatives work on raw numbers)


class ActivationFunction(Protocol):
    """What an activation is to a type checker: a Value (or a number) gives a Value, a
    Tensor (or an array) a Tensor, and ``.derivative`` is the one written out by hand."""

    derivative: Callable[..., Number]

    @overload
    def __call__(self, x: Value | float, *args: Any, **kwargs: Any) -> Value: ...
    @overload
    def __call__(self, x: Tensor | np.ndarray | list[Any], *args: Any, **kwargs: Any
                 ) -> Tensor: ...


def _activation(function: Callable[..., Node]) -> ActivationFunction:
    """Mark one of the table's functions (its ``derivative`` is attached at the end)."""
    return cast(ActivationFunction, function)

# SELU's constants, exactly as derived by Klambauer et al. (2017); the course rounds them
# to 1.0507 and 1.67326.
SELU_LAMBDA = 1.0507009873554804934193349852946
SELU_ALPHA = 1.6732632423543772848170429916717


# ---------------------------------------------------------------- two primitive ops


class Step(Op):
    """f(x) = 1 if x >= 0 else 0 (Heaviside Θ); df/dx = 0 (undefined at the jump x = 0)"""

    symbol = "Θ"
    kinks = (0.0,)

    def forward(x):
        if isinstance(x, np.ndarray):
            return (x >= 0).astype(x.dtype)
        return 1.0 if x >= 0 else 0.0

    def backward(grad_out, out, x):
        return (grad_out * 0.0,)


class Sign(Op):
    """f(x) = -1 if x < 0 else 1 (the course's sgn); df/dx = 0 (undefined at the jump x = 0)"""

    symbol = "sgn"
    kinks = (0.0,)

    def forward(x):
        if isinstance(x, np.ndarray):
            return np.where(x < 0, -1.0, 1.0).astype(x.dtype)
        return -1.0 if x < 0 else 1.0

    def backward(grad_out, out, x):
        return (grad_out * 0.0,)


class SoftplusOp(Op):
    """f(x) = ln(1 + e**x); df/dx = 1 / (1 + e**-x), the logistic sigmoid"""

    name = "softplus"
    symbol = "softplus"

    def forward(x):
        if isinstance(x, np.ndarray):
            return np.logaddexp(0.0, x)
        return max(x, 0.0) + math.log1p(math.exp(-abs(x)))  # never overflows

    def backward(grad_out, out, x):
        return (grad_out * (0.5 * (1 + tanh_(0.5 * x))),)  # sigmoid, overflow-free


# ---------------------------------------------------------------- helpers


def _node(x: Any, function: str) -> Node:
    """Numbers become Values, arrays and lists become Tensors; nodes pass through."""
    if isinstance(x, Node):
        return x
    if isinstance(x, (int, float)):
        return Value(x)
    try:
        return Tensor(x)
    except (TypeError, ValueError):
        raise TypeError(f"{function}: expected a number, an array, a Value or a Tensor, got "
                        f"{type(x).__name__} {x!r:.40}") from None


def _piecewise(x: Node, left: Callable, right: Callable, at: float = 0.0) -> Node:
    """left(x) where x < at, right(x) where x >= at.

    A Value takes one branch with a Python ``if``. A Tensor computes both and picks with
    ``where``; each branch sees x clipped to its own side, so that an ``exp`` in the
    branch not taken cannot overflow and turn the gradient into nan (0 * inf).
    """
    if x.scalar:
        return right(x) if x.data >= at else left(x)
    return where(x.data >= at, right(x.clip(at, None)), left(x.clip(None, at)))


def _array(x: Number) -> np.ndarray:
    return np.asarray(getattr(x, "data", x), dtype=float)


def _like(x: Number, result: np.ndarray) -> Number:
    """Return a float for a float input, an array for an array input."""
    return float(result) if np.ndim(result) == 0 and not isinstance(x, np.ndarray) else result


# ---------------------------------------------------------------- the functions


@_activation
def linear(x: Any) -> Node:
    """f(x) = x; f'(x) = 1"""
    return _node(x, "linear")


def linear_derivative(x: Number) -> Number:
    return _like(x, np.ones_like(_array(x)))


@_activation
def step(x: Any) -> Node:
    """Heaviside Θ(x) = 0 for x < 0, 1 for x >= 0; f'(x) = 0 (a jump at 0: no slope to learn)."""
    return Step.apply(_node(x, "step"))


def step_derivative(x: Number) -> Number:
    return _like(x, np.zeros_like(_array(x)))


@_activation
def sign(x: Any) -> Node:
    """sgn(x) = -1 for x < 0, 1 for x >= 0 (as in the course; numpy's sign gives 0 at 0);
    f'(x) = 0."""
    return Sign.apply(_node(x, "sign"))


def sign_derivative(x: Number) -> Number:
    return _like(x, np.zeros_like(_array(x)))


@_activation
def sigmoid(x: Any, c: float = 1.0) -> Node:
    """Logistic f_c(x) = 1 / (1 + e^(-c x)), from 0 to 1; f'(x) = c f(x) (1 - f(x))."""
    x = _node(x, "sigmoid")
    return (x if c == 1.0 else x * c).sigmoid()


def sigmoid_derivative(x: Number, c: float = 1.0) -> Number:
    s = 0.5 * (1 + np.tanh(0.5 * c * _array(x)))
    return _like(x, c * s * (1 - s))


@_activation
def tanh(x: Any, c: float = 1.0) -> Node:
    """f_c(x) = tanh(c x) = 2 / (1 + e^(-2 c x)) - 1; f'(x) = c (1 - f(x)**2).

    The course's table prints 2 / (1 + e^(2x)) - 1, which is tanh(-x): the sign of the
    exponent is lost.
    """
    x = _node(x, "tanh")
    return (x if c == 1.0 else x * c).tanh()


def tanh_derivative(x: Number, c: float = 1.0) -> Number:
    return _like(x, c * (1 - np.tanh(c * _array(x)) ** 2))


@_activation
def softsign(x: Any) -> Node:
    """f(x) = x / (1 + |x|); f'(x) = 1 / (1 + |x|)**2.

    The course's table gives f'(x) = 1 - f(x)**2, which is tanh's rule, not softsign's.
    """
    x = _node(x, "softsign")
    return x / (1 + x.abs())


def softsign_derivative(x: Number) -> Number:
    return _like(x, 1 / (1 + np.abs(_array(x))) ** 2)


@_activation
def softplus(x: Any) -> Node:
    """f(x) = ln(1 + e^x); f'(x) = 1 / (1 + e^(-x)), the logistic sigmoid.

    One primitive op (``SoftplusOp`` above), computed without overflow for large |x|; it is
    the heart of ``bce_with_logits``, where speed matters.
    """
    return SoftplusOp.apply(_node(x, "softplus"))


def softplus_derivative(x: Number) -> Number:
    return _like(x, 0.5 * (1 + np.tanh(0.5 * _array(x))))


@_activation
def soft_exponential(x: Any, alpha: float = 0.0) -> Node:
    """f(α, x) = -ln(1 - α (x + α)) / α for α < 0;  x for α = 0;  (e^(α x) - 1) / α + α for α > 0.

    f'(α, x) = 1 / (1 - α (x + α)) for α < 0, e^(α x) for α >= 0. For α < 0 it is defined
    only where α (x + α) < 1. It moves continuously from logarithmic (α = -1) through
    linear (α = 0) to exponential (α = 1).
    """
    x = _node(x, "soft_exponential")
    if alpha < 0:
        return -(1 - alpha * (x + alpha)).log() / alpha
    if alpha == 0:
        return x
    return ((x * alpha).exp() - 1) / alpha + alpha


def soft_exponential_derivative(x: Number, alpha: float = 0.0) -> Number:
    x_ = _array(x)
    if alpha < 0:
        return _like(x, 1 / (1 - alpha * (x_ + alpha)))
    return _like(x, np.exp(alpha * x_))


@_activation
def sinusoid(x: Any) -> Node:
    """f(x) = sin x; f'(x) = cos x."""
    return _node(x, "sinusoid").sin()


def sinusoid_derivative(x: Number) -> Number:
    return _like(x, np.cos(_array(x)))


@_activation
def sinc(x: Any) -> Node:
    """f(x) = sin(x) / x, and 1 at x = 0; f'(x) = cos(x)/x - sin(x)/x**2, and 0 at x = 0.

    At x = 0 the output is the constant 1, so autograd gives the right slope 0 there.
    """
    x = _node(x, "sinc")
    if x.scalar:
        return x * 0.0 + 1.0 if x.data == 0 else x.sin() / x
    zero = x.data == 0
    safe = where(zero, 1.0, x)  # keeps 0/0 out of the branch that is not taken
    return where(zero, 1.0, safe.sin() / safe)


def sinc_derivative(x: Number) -> Number:
    x_ = _array(x)
    safe = np.where(x_ == 0, 1.0, x_)
    return _like(x, np.where(x_ == 0, 0.0, np.cos(safe) / safe - np.sin(safe) / safe**2))


@_activation
def selu(x: Any) -> Node:
    """f(x) = λ α (e^x - 1) for x < 0, λ x for x >= 0, with λ ≈ 1.0507, α ≈ 1.67326;
    f'(x) = λ α e^x for x < 0, λ for x >= 0.

    The course's table writes f' = λ (f(x) + α) for x < 0; with f including λ that would be
    λ f + λ α. The right statement is f'(x) = f(x) + λ α.
    """
    return SELU_LAMBDA * elu(x, SELU_ALPHA)


def selu_derivative(x: Number) -> Number:
    return SELU_LAMBDA * elu_derivative(x, SELU_ALPHA)


@_activation
def relu(x: Any) -> Node:
    """f(x) = max(x, 0); f'(x) = 1 for x > 0, 0 for x <= 0.

    The course's table sets f'(0) = 1; we follow PyTorch and the engine's relu (0 at 0).
    """
    return _node(x, "relu").relu()


def relu_derivative(x: Number) -> Number:
    return _like(x, (_array(x) > 0).astype(float))


@_activation
def leaky_relu(x: Any, slope: float = 0.01) -> Node:
    """f(x) = slope·x for x < 0, x for x >= 0; f'(x) = slope for x < 0, 1 for x >= 0."""
    return _piecewise(_node(x, "leaky_relu"), left=lambda n: n * slope, right=lambda p: p)


def leaky_relu_derivative(x: Number, slope: float = 0.01) -> Number:
    return _like(x, np.where(_array(x) < 0, slope, 1.0))


@_activation
def prelu(x: Any, alpha: Any = 0.25) -> Node:
    """f(α, x) = α x for x < 0, x for x >= 0; df/dx = α for x < 0, 1 for x >= 0;
    df/dα = x for x < 0, 0 for x >= 0 (α is learned: see the PReLU module)."""
    return _piecewise(_node(x, "prelu"), left=lambda n: n * alpha, right=lambda p: p)


def prelu_derivative(x: Number, alpha: Any = 0.25) -> Number:
    a = np.asarray(getattr(alpha, "data", alpha), dtype=float)
    return _like(x, np.where(_array(x) < 0, a, 1.0))


RRELU_LOWER, RRELU_UPPER = 1.0 / 8.0, 1.0 / 3.0


@_activation
def rrelu(
    x: Any,
    lower: float = RRELU_LOWER,
    upper: float = RRELU_UPPER,
    training: bool = False,
    seed: int | np.random.Generator | None = None,
) -> Node:
    """f(α, x) = α x for x < 0, x for x >= 0; f'(x) = α for x < 0, 1 for x >= 0.

    While training, α is drawn uniformly from [lower, upper] for every element afresh;
    at evaluation it is the mean (lower + upper) / 2, so the output is deterministic.
    """
    x = _node(x, "rrelu")
    if not training:
        return leaky_relu(x, (lower + upper) / 2)
    generator = rng(seed)
    if x.scalar:
        alpha = float(generator.uniform(lower, upper))
    else:
        alpha = generator.uniform(lower, upper, x.shape).astype(x.dtype)
    return _piecewise(x, left=lambda n: n * alpha, right=lambda p: p)


def rrelu_derivative(
    x: Number, lower: float = RRELU_LOWER, upper: float = RRELU_UPPER
) -> Number:
    """At evaluation: (lower + upper) / 2 for x < 0, 1 for x >= 0."""
    return leaky_relu_derivative(x, (lower + upper) / 2)


@_activation
def elu(x: Any, alpha: float = 1.0) -> Node:
    """f(x) = α (e^x - 1) for x < 0, x for x >= 0; f'(x) = α e^x for x < 0, 1 for x >= 0."""
    return _piecewise(_node(x, "elu"), left=lambda n: (n.exp() - 1) * alpha, right=lambda p: p)


def elu_derivative(x: Number, alpha: float = 1.0) -> Number:
    x_ = _array(x)
    return _like(x, np.where(x_ < 0, alpha * np.exp(np.minimum(x_, 0)), 1.0))


@_activation
def smelu(x: Any, beta: float = 1.0) -> Node:
    """Smooth ReLU: f(x) = 0 for x <= -β, (x + β)**2 / (4β) for |x| < β, x for x >= β;
    f'(x) = 0, (x + β) / (2β), 1 on the same pieces (continuous: no jump in the slope)."""
    if beta <= 0:
        raise ValueError(f"smelu: beta must be positive, got {beta}")
    x = _node(x, "smelu")
    if x.scalar:
        if x.data >= beta:
            return x
        if x.data <= -beta:
            return x * 0.0
        return (x + beta) ** 2 / (4 * beta)
    middle = (x.clip(-beta, beta) + beta) ** 2 / (4 * beta)
    return where(x.data >= beta, x, middle)


def smelu_derivative(x: Number, beta: float = 1.0) -> Number:
    x_ = _array(x)
    middle = (np.clip(x_, -beta, beta) + beta) / (2 * beta)
    return _like(x, np.where(x_ >= beta, 1.0, middle))


# ---------------------------------------------------------------- the table by name

FUNCTIONS: dict[str, ActivationFunction] = {
    "linear": linear,
    "step": step,
    "sign": sign,
    "sigmoid": sigmoid,
    "tanh": tanh,
    "softsign": softsign,
    "softplus": softplus,
    "soft_exponential": soft_exponential,
    "sinusoid": sinusoid,
    "sinc": sinc,
    "selu": selu,
    "relu": relu,
    "leaky_relu": leaky_relu,
    "prelu": prelu,
    "rrelu": rrelu,
    "elu": elu,
    "smelu": smelu,
}

DERIVATIVES: dict[str, Callable[..., Number]] = {
    name: globals()[f"{name}_derivative"] for name in FUNCTIONS
}

for _name, _function in FUNCTIONS.items():
    _function.derivative = DERIVATIVES[_name]
    DERIVATIVES[_name].__doc__ = DERIVATIVES[_name].__doc__ or (
        f"The derivative of {_name}, written out by hand (see {_name}'s docstring)."
    )


def get(name: str, caller: str = "get") -> ActivationFunction:
    """The activation function called ``name`` (``caller`` names the function the user
    called, in the error)."""
    if not isinstance(name, str) or name not in FUNCTIONS:
        raise ValueError(
            f"{caller}: unknown activation {name!r}; choose one of {', '.join(FUNCTIONS)}"
        )
    return FUNCTIONS[name]


def derivative(name: str) -> Callable[..., Number]:
    """The hand-written derivative of the activation ``name`` (on floats or numpy arrays)."""
    get(name)
    return DERIVATIVES[name]


# ---------------------------------------------------------------- as modules


class Activation(Module):
    """An activation function as a layer: ``Activation("elu", alpha=0.5)``."""

    function_name = ""

    def __init__(self, name: str | None = None, **params: Any) -> None:
        self.function_name = name or self.function_name
        self.function = get(self.function_name, type(self).__name__)
        settings = list(inspect.signature(self.function).parameters)[1:]
        for key, value in params.items():  # alpha="a" would fail only at the first call
            if key not in settings:
                raise TypeError(f"{type(self).__name__}: unknown setting {key!r}; its settings "
                                f"are {', '.join(settings) or 'none'}")
            if isinstance(value, (str, bytes, bool)) or value is None:
                raise TypeError(f"{type(self).__name__}: {key} must be a number, got "
                                f"{value!r:.40}")
        self.params = params

    def forward(self, x: Any) -> Node:
        return self.function(x, **self.params)

    def derivative(self, x: Number) -> Number:
        """The hand-written derivative at x (raw numbers)."""
        return DERIVATIVES[self.function_name](x, **self.params)

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        return input_shape

    def __repr__(self) -> str:
        params = "".join(f", {k}={v!r}" for k, v in self.params.items())
        if type(self) is Activation:
            return f"Activation({self.function_name!r}{params})"
        return f"{type(self).__name__}({params[2:]})"


def _named(class_name: str, function_name: str) -> type[Activation]:
    def __init__(self: Activation, **params: Any) -> None:
        Activation.__init__(self, function_name, **params)

    doc = f"The {function_name} activation as a layer. " + (FUNCTIONS[function_name].__doc__ or "")
    return type(class_name, (Activation,), {
        "__init__": __init__, "__doc__": doc, "function_name": function_name,
        "__module__": __name__,
    })


Identity = _named("Identity", "linear")
StepActivation = _named("StepActivation", "step")
SignActivation = _named("SignActivation", "sign")
Sigmoid = _named("Sigmoid", "sigmoid")
Tanh = _named("Tanh", "tanh")
Softsign = _named("Softsign", "softsign")
Softplus = _named("Softplus", "softplus")
SoftExponential = _named("SoftExponential", "soft_exponential")
Sinusoid = _named("Sinusoid", "sinusoid")
Sinc = _named("Sinc", "sinc")
SELU = _named("SELU", "selu")
ReLU = _named("ReLU", "relu")
LeakyReLU = _named("LeakyReLU", "leaky_relu")
ELU = _named("ELU", "elu")
SmeLU = _named("SmeLU", "smelu")


class PReLU(Activation):
    """Leaky ReLU whose negative slope α is a parameter the optimizer learns (starts at 0.25).

    ``num_parameters`` slopes (one per feature, the last axis) or one shared slope;
    ``scalar=True`` makes α a Value, for scalar networks.
    """

    function_name = "prelu"

    def __init__(self, num_parameters: int = 1, init: float = 0.25, scalar: bool = False):
        super().__init__("prelu")
        if scalar:
            self.alpha: Node = Value(init, name="alpha")
        else:
            self.alpha = Tensor(np.full(num_parameters, init), requires_grad=True, name="alpha")

    def forward(self, x: Any) -> Node:
        return prelu(x, self.alpha)

    def derivative(self, x: Number) -> Number:
        return prelu_derivative(x, self.alpha)

    def __repr__(self) -> str:
        return f"PReLU(alpha={np.round(np.asarray(self.alpha.data), 4).tolist()})"


class RReLU(Activation):
    """Randomized leaky ReLU: random slopes in [lower, upper] while training, their mean at
    evaluation (``model.eval()``)."""

    function_name = "rrelu"

    def __init__(
        self,
        lower: float = RRELU_LOWER,
        upper: float = RRELU_UPPER,
        seed: int | np.random.Generator | None = None,
    ) -> None:
        super().__init__("rrelu", lower=lower, upper=upper)
        self.generator = rng(seed) if seed is not None else None

    def forward(self, x: Any) -> Node:
        return rrelu(x, **self.params, training=self.training, seed=self.generator)


MODULES: dict[str, type[Activation]] = {
    cls.function_name: cls
    for cls in (Identity, StepActivation, SignActivation, Sigmoid, Tanh, Softsign, Softplus,
                SoftExponential, Sinusoid, Sinc, SELU, ReLU, LeakyReLU, PReLU, RReLU, ELU, SmeLU)
}


def activation_module(activation: str | Module, caller: str = "get") -> Module:
    """A layer for an activation given by name (``"tanh"``) or already as a module."""
    if isinstance(activation, Module):
        return activation
    get(activation, caller)
    return MODULES[activation]()

