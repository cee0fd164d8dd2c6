"""Optimizers: turn gradients into weight updates. The same rules as PyTorch, same defaults.

    >>> optimizer = Adam(model.parameters(), lr=1e-3)
    >>> for x, y in batches:
    ...     optimizer.zero_grad()
    ...     loss = mse(model(x), y)
    ...     loss.backward()
    ...     optimizer.step()

Each rule is written once, for arrays, and updates the weights in place, into arrays it
keeps from step to step (a step allocates no new arrays): ``np.multiply(a, b, into)``
writes a * b into ``into``, numpy's ``out`` given by position, because on small arrays the
keyword costs more than the arithmetic (np.maximum insists on the keyword). The Values of
a scalar network are gathered into one array for the update and written back as floats.
Updates touch only ``.data``, so they are never recorded in a graph.
"""

from __future__ import annotations

import inspect
import math
import numbers
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np

from ..autograd import Node

if TYPE_CHECKING:  # for annotations only: a model is anything with .parameters()
    from .module import Module


def _kept(state: dict[str, Any], name: str, like: np.ndarray, fill: float = 0.0) -> np.ndarray:
    """The array ``state[name]``, made at the first step shaped like ``like``, then reused.

    Every step writes into the arrays it kept from the step before: a fresh weight-sized
    temporary each step is handed back to the OS by glibc and page-faulted in again.
    """
    array = state.get(name)
    if array is None:
        array = state[name] = np.full_like(like, fill)
    return array


# y += a x in one pass and one rounding: BLAS's axpy, a fused multiply-add where the CPU has
# one, as PyTorch's y.add_(x, alpha=a). numpy needs two passes (a x into a scratch array,
# then the sum) and rounds twice; on a 784x256 float32 weight the pass is 9 µs against 56.
_AXPY: dict[np.dtype, Any] = {}


def _load_axpy() -> dict[np.dtype, Any]:
    """SciPy's saxpy and daxpy, by dtype. SciPy's import takes 0.1 s: paid by the first
    optimizer made, not by every import of chaingrad. (Not at the first update: an import
    in the middle of a training loop leaves glibc's heap so that the convnet's large
    arrays went back to the OS at every step, 430 page faults a step.)"""
    from scipy.linalg import blas

    _AXPY.update({np.dtype(np.float32): blas.saxpy, np.dtype(np.float64): blas.daxpy})
    return _AXPY


def _add_scaled(into: np.ndarray, scale: float, x: np.ndarray, state: dict[str, Any]) -> None:
    """into += scale * x, in place: by axpy on contiguous float arrays, else by numpy."""
    axpy = (_AXPY or _load_axpy()).get(getattr(into, "dtype", None))
    # axpy does nothing when scale is 0 (an inf or nan in x would vanish), counts in 32-bit
    # ints, writes through numpy's read-only flag and reads x as it writes into: all checked
    if (axpy is not None and scale and type(into) is np.ndarray and type(x) is np.ndarray
            and x.dtype == into.dtype and x.shape == into.shape and 0 < into.size < 2**31):
        flags = into.flags
        if (flags.c_contiguous and flags.writeable and x.flags.c_contiguous
                and not np.may_share_memory(into, x)):
            flat = into if into.ndim == 1 else into.reshape(-1)  # f2py: 1-d, or it copies
            result = axpy(x if x.ndim == 1 else x.reshape(-1), flat, flat.size, scale)
            if result is not flat:  # a copy: f2py's wrapper makes one only if it must
                np.copyto(flat, result)
            return
    # numpy's two passes; the product in the wider of the two dtypes, as into += scale * x
    x = np.asarray(x)
    dtype = np.result_type(into, x)
    scaled = state.get("scaled")
    if scaled is None or scaled.shape != np.shape(into) or scaled.dtype != dtype:
        scaled = state["scaled"] = np.empty(np.shape(into), dtype)
    into += np.multiply(x, scale, scaled)


def _with_weight_decay(weight: np.ndarray, grad: np.ndarray, decay: float,
                       state: dict[str, Any]) -> np.ndarray:
    """g + λ w (L2 regularization) in a kept array, or g itself when λ is 0."""
    if not decay:
        return grad
    decayed = _kept(state, "decayed", grad)
    np.copyto(decayed, grad)
    _add_scaled(decayed, decay, weight, state)
    return decayed


class Optimizer:
    """Base class: holds the parameters, one state dict per parameter, ``step``/``zero_grad``."""

    def __init__(self, parameters: Module | Iterable[Node], lr: float) -> None:
        if callable(getattr(parameters, "parameters", None)):  # a Module: its parameters
            parameters = parameters.parameters()
        if isinstance(parameters, (Node, str, bytes)) or not hasattr(parameters, "__iter__"):
            raise TypeError(f"{type(self).__name__}: parameters must be a model or a list of "
                            f"Values or Tensors, e.g. {type(self).__name__}(model.parameters()), "
                            f"got {parameters!r:.60}")
        self.parameters = list(parameters)
        if not self.parameters:
            raise ValueError(f"{type(self).__name__}: got no parameters to optimize")
        for p in self.parameters:
            if not isinstance(p, Node):
                raise TypeError(
                    f"{type(self).__name__}: parameters must be Values or Tensors, got "
                    f"{type(p).__name__}"
                )
        seen: dict[int, int] = {}
        for position, p in enumerate(self.parameters):
            if id(p) in seen:  # it would be stepped twice per step
                raise ValueError(
                    f"{type(self).__name__}: parameters {seen[id(p)]} and {position} are the "
                    "same node; give each parameter once")
            seen[id(p)] = position
        self._check_settings(lr=lr)
        _AXPY or _load_axpy()  # SciPy's BLAS, before the first training step (see there)
        self.lr = lr
        self.state: list[dict[str, Any]] = [{} for _ in self.parameters]
        self._tensors = [(p, s) for p, s in zip(self.parameters, self.state) if not p.scalar]
        # The Values of a scalar network are updated together, as one array, so they
        # share one state (the first Value's).
        self._values = [p for p in self.parameters if p.scalar]
        self._values_state = next(
            (s for p, s in zip(self.parameters, self.state) if p.scalar), {}
        )

    def _check_settings(self, **settings: Any) -> None:
        """Each setting a finite number >= 0 (alpha and dampening at most 1), or a sentence."""
        name = type(self).__name__
        for key, value in settings.items():
            _check(isinstance(value, numbers.Real) and not isinstance(value, bool),
                   f"{name}: {key} must be a number, got {value!r}")
            _check(math.isfinite(value), f"{name}: {key} must be a finite number, got {value} "
                   "(training would turn every weight into nan)")
            _check(value >= 0, f"{name}: {key} must be >= 0, got {value}")
            if key in ("alpha", "dampening"):
                _check(value <= 1, f"{name}: {key} must be in [0, 1], got {value}")

    def zero_grad(self) -> None:
        """Forget the gradients before the next backward (they would otherwise add up)."""
        for p in self.parameters:
            p.zero_grad()

    def step(self) -> None:
        """Move every parameter that has a gradient by one update."""
        for p, state in self._tensors:
            if p.grad is None:  # a tensor the loss did not reach
                continue
            state["step"] = state.get("step", 0) + 1
            # the stored array itself (no copy), under a new view: a graph older than this
            # step sees another array and refuses backward
            self.update(p._array_to_update(), p.grad, state)
        if self._values:  # gathered into one array, so one rule serves Values and Tensors
            weights = np.array([p.data for p in self._values], dtype=np.float64)
            grads = np.array([p.grad for p in self._values], dtype=np.float64)
            state = self._values_state
            state["step"] = state.get("step", 0) + 1
            self.update(weights, grads, state)
            for p, w in zip(self._values, weights.tolist()):
                p.data = w

    def update(self, weight: np.ndarray, grad: np.ndarray, state: dict[str, Any]) -> None:
        """Subtract one step of this optimizer's rule from ``weight``, in place."""
        raise NotImplementedError

    def __repr__(self) -> str:
        settings = ", ".join(
            f"{k}={v!r}" for k, v in vars(self).items()
            if k not in ("parameters", "state") and not k.startswith("_")
        )
        return f"{type(self).__name__}({settings})"


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


def _check_betas(name: str, betas: tuple[float, float]) -> None:
    _check(isinstance(betas, (tuple, list)) and len(betas) == 2 and all(
        isinstance(b, numbers.Real) and not isinstance(b, bool) for b in betas),
        f"{name}: betas must be two numbers (beta1, beta2), such as (0.9, 0.999); got {betas!r}")
    _check(all(0.0 <= b < 1.0 for b in betas), f"{name}: betas must be in [0, 1), got {betas}")


class SGD(Optimizer):
    """Stochastic gradient descent: w -= lr * g, with optional momentum and weight decay.

    With momentum μ: v = μ v + g (v = g at the first step), then w -= lr * v, or with
    ``nesterov=True`` w -= lr * (g + μ v). ``weight_decay`` λ adds λ w to the gradient
    (L2 regularization).
    """

    def __init__(
        self,
        parameters: Module | Iterable[Node],
        lr: float = 1e-3,
        momentum: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
        dampening: float = 0.0,
    ) -> None:
        super().__init__(parameters, lr)
        name = type(self).__name__
        self._check_settings(momentum=momentum, weight_decay=weight_decay, dampening=dampening)
        _check(
            not nesterov or (momentum > 0 and dampening == 0),
            f"{name}: nesterov needs momentum > 0 and dampening 0",
        )
        self.momentum, self.nesterov = momentum, nesterov
        self.weight_decay, self.dampening = weight_decay, dampening

    def update(self, weight: np.ndarray, grad: np.ndarray, state: dict[str, Any]) -> None:
        if self.weight_decay:
            grad = _with_weight_decay(weight, grad, self.weight_decay, state)
        if self.momentum:
            velocity = state.get("velocity")
            if velocity is None:  # v = g at the first step
                velocity = state["velocity"] = grad.copy()
            else:  # v = μ v + (1 - dampening) g
                velocity *= self.momentum
                _add_scaled(velocity, 1 - self.dampening, grad, state)
            if self.nesterov:  # g + μ v
                ahead = _kept(state, "ahead", grad)
                np.copyto(ahead, grad)
                _add_scaled(ahead, self.momentum, velocity, state)
                grad = ahead
            else:
                grad = velocity
        _add_scaled(weight, -self.lr, grad, state)


class GD(SGD):
    """Gradient descent on the whole data set at once (full batch): w -= lr * g.

    The same rule as SGD; ``fit`` uses every example in each step when given a GD.
    """

    full_batch = True

    def __init__(self, parameters: Module | Iterable[Node], lr: float = 0.01, **options: Any):
        super().__init__(parameters, lr=lr, **options)


class Adagrad(Optimizer):
    """Adagrad: divides each step by the root of the sum of all squared gradients so far,
    s += g**2, w -= lr * g / (sqrt(s) + eps): weights that moved a lot slow down."""

    def __init__(
        self,
        parameters: Module | Iterable[Node],
        lr: float = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
    ) -> None:
        super().__init__(parameters, lr)
        self._check_settings(lr_decay=lr_decay, weight_decay=weight_decay, eps=eps,
                             initial_accumulator_value=initial_accumulator_value)
        self.lr_decay, self.weight_decay = lr_decay, weight_decay
        self.initial_accumulator_value, self.eps = initial_accumulator_value, eps

    def update(self, weight: np.ndarray, grad: np.ndarray, state: dict[str, Any]) -> None:
        grad = _with_weight_decay(weight, grad, self.weight_decay, state)
        lr = self.lr / (1 + (state["step"] - 1) * self.lr_decay)
        scratch = _kept(state, "scratch", grad)
        total = _kept(state, "sum", grad, self.initial_accumulator_value)
        total += np.multiply(grad, grad, scratch)
        denominator = np.sqrt(total, _kept(state, "denominator", grad))
        denominator += self.eps
        delta = np.multiply(grad, lr, scratch)
        delta /= denominator
        weight -= delta


class RMSprop(Optimizer):
    """RMSprop: divides each step by a running root-mean-square of recent gradients,
    s = α s + (1 - α) g**2, w -= lr * g / (sqrt(s) + eps)."""

    def __init__(
        self,
        parameters: Module | Iterable[Node],
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
    ) -> None:
        super().__init__(parameters, lr)
        self._check_settings(alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum)
        self.alpha, self.eps, self.weight_decay = alpha, eps, weight_decay
        self.momentum, self.centered = momentum, centered

    def update(self, weight: np.ndarray, grad: np.ndarray, state: dict[str, Any]) -> None:
        grad = _with_weight_decay(weight, grad, self.weight_decay, state)
        alpha = self.alpha
        scratch = _kept(state, "scratch", grad)
        square = _kept(state, "square", grad)
        square *= alpha
        part = np.multiply(grad, 1 - alpha, scratch)
        part *= grad
        square += part
        denominator = _kept(state, "denominator", grad)
        if self.centered:  # subtract the squared mean: a running variance
            mean = _kept(state, "mean", grad)
            mean *= alpha
            mean += np.multiply(grad, 1 - alpha, scratch)
            np.multiply(mean, mean, denominator)
            np.subtract(square, denominator, denominator)
            np.sqrt(denominator, denominator)
        else:
            np.sqrt(square, denominator)
        denominator += self.eps
        if self.momentum:  # b = μ b + g / denominator, w -= lr * b
            buffer = _kept(state, "buffer", grad)
            buffer *= self.momentum
            buffer += np.divide(grad, denominator, scratch)
            weight -= np.multiply(buffer, self.lr, scratch)
            return
        delta = np.multiply(grad, self.lr, scratch)
        delta /= denominator
        weight -= delta


class Adam(Optimizer):
    """Adam: momentum on the gradient (m) and RMSprop's scaling (v), both bias-corrected:
    m = β1 m + (1 - β1) g,  v = β2 v + (1 - β2) g**2,
    w -= lr * (m / (1 - β1**t)) / (sqrt(v / (1 - β2**t)) + eps)."""

    def __init__(
        self,
        parameters: Module | Iterable[Node],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
    ) -> None:
        super().__init__(parameters, lr)
        _check_betas(type(self).__name__, betas)
        self._check_settings(eps=eps, weight_decay=weight_decay)
        self.betas, self.eps, self.weight_decay, self.amsgrad = betas, eps, weight_decay, amsgrad

    def update(self, weight: np.ndarray, grad: np.ndarray, state: dict[str, Any]) -> None:
        if self.weight_decay:
            grad = _with_weight_decay(weight, grad, self.weight_decay, state)
        weight -= self.adam_step(grad, state)

    def adam_step(self, grad: np.ndarray, state: dict[str, Any]) -> np.ndarray:
        """The amount Adam subtracts from the weight, in a kept array."""
        beta1, beta2 = self.betas
        t = state["step"]
        scratch = _kept(state, "scratch", grad)
        m = _kept(state, "m", grad)
        m *= beta1
        m += np.multiply(grad, 1 - beta1, scratch)
        v = _kept(state, "v", grad)
        v *= beta2
        part = np.multiply(grad, 1 - beta2, scratch)
        part *= grad
        v += part
        if self.amsgrad:  # never let the scaling shrink: the largest v seen so far
            v_max = _kept(state, "v_max", grad)
            v = np.maximum(v_max, v, out=v_max)
        denominator = np.sqrt(v, _kept(state, "denominator", grad))
        denominator /= math.sqrt(1 - beta2**t)
        denominator += self.eps
        delta = np.multiply(m, self.lr / (1 - beta1**t), scratch)
        delta /= denominator
        return delta


class AdamW(Adam):
    """Adam with decoupled weight decay: w *= 1 - lr λ, then the Adam step on g alone."""

    def __init__(
        self,
        parameters: Module | Iterable[Node],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
    ) -> None:
        super().__init__(parameters, lr, betas, eps, weight_decay, amsgrad)

    def update(self, weight: np.ndarray, grad: np.ndarray, state: dict[str, Any]) -> None:
        delta = self.adam_step(grad, state)
        delta += np.multiply(weight, self.lr * self.weight_decay, _kept(state, "decay", grad))
        weight -= delta


class Adamax(Optimizer):
    """Adamax: Adam with the infinity norm, u = max(β2 u, |g| + eps),
    w -= lr / (1 - β1**t) * m / u."""

    def __init__(
        self,
        parameters: Module | Iterable[Node],
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(parameters, lr)
        _check_betas("Adamax", betas)
        self._check_settings(eps=eps, weight_decay=weight_decay)
        self.betas, self.eps, self.weight_decay = betas, eps, weight_decay

    def update(self, weight: np.ndarray, grad: np.ndarray, state: dict[str, Any]) -> None:
        grad = _with_weight_decay(weight, grad, self.weight_decay, state)
        beta1, beta2 = self.betas
        scratch = _kept(state, "scratch", grad)
        m = _kept(state, "m", grad)
        m *= beta1
        m += np.multiply(grad, 1 - beta1, scratch)
        u = _kept(state, "u", grad)
        u *= beta2
        bound = np.abs(grad, scratch)
        bound += self.eps
        np.maximum(u, bound, out=u)
        delta = np.multiply(m, self.lr / (1 - beta1 ** state["step"]), scratch)
        delta /= u
        weight -= delta


OPTIMIZERS: dict[str, type[Optimizer]] = {
    "gd": GD,
    "sgd": SGD,
    "adagrad": Adagrad,
    "rmsprop": RMSprop,
    "adam": Adam,
    "adamax": Adamax,
    "adamw": AdamW,
}


def get(
    optimizer: str | Optimizer, parameters: Module | Iterable[Node], caller: str = "get",
    **options: Any,
) -> Optimizer:
    """An optimizer by name (``"adam"``, any case) for these parameters, or the one given
    (``caller`` names the function the user called, in the errors)."""
    if isinstance(optimizer, Optimizer):
        return optimizer
    if isinstance(optimizer, type) and issubclass(optimizer, Optimizer):
        name = optimizer.__name__
        raise TypeError(f"{caller}: optimizer {name} is a class; give its name, "
                        f"optimizer={name.lower()!r}, or an optimizer made for this model, "
                        f"optimizer={name}(model.parameters(), lr=0.01)")
    key = optimizer.lower() if isinstance(optimizer, str) else None
    if key not in OPTIMIZERS:
        raise ValueError(
            f"{caller}: unknown optimizer {optimizer!r}; choose one of {', '.join(OPTIMIZERS)}"
        )
    chosen = OPTIMIZERS[key]
    settings = _settings(chosen)
    unknown = sorted(set(options) - set(settings))
    if unknown:
        raise TypeError(f"{caller}: {chosen.__name__} has no setting {unknown[0]!r}; its "
                        f"settings are {', '.join(settings)}")
    return chosen(parameters, **options)


def _settings(optimizer: type[Optimizer]) -> list[str]:
    """The keyword settings an optimizer class takes (through its parents' for **options)."""
    names: list[str] = []
    for klass in optimizer.__mro__:
        if "__init__" not in vars(klass):
            continue
        arguments = list(inspect.signature(klass.__init__).parameters.values())[2:]
        names += [a.name for a in arguments if a.kind is a.POSITIONAL_OR_KEYWORD
                  or a.kind is a.KEYWORD_ONLY]
        if not any(a.kind is a.VAR_KEYWORD for a in arguments):
            break
    return list(dict.fromkeys(names))
