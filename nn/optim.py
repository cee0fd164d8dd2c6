"""Optimizers: turn gradients into weight updates. The same rules as PyTorch, same defaults.

    >>> optimizer = Adam(model.parameters(), lr=1e-3)
    >>> for x, y in batches:
    ...     optimizer.zero_grad()
    ...     loss = mse(model(x), y)
    ...     loss.backward()
    ...     optimizer.step()

They work on Values (scalar networks) and Tensors alike: each rule computes the step
``delta`` from the gradient, and ``p.data -= delta`` updates a Tensor's array in place or
replaces a Value's float. Updates touch only ``.data``, so they are never recorded in a graph.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from typing import Any

import numpy as np

from chaingrad.autograd import Node
from chaingrad.autograd.engine import array_of

from .module import Module


def _sqrt(x: Any) -> Any:
    return np.sqrt(x) if isinstance(x, np.ndarray) else math.sqrt(x)


def _maximum(x: Any, y: Any) -> Any:
    return np.maximum(x, y) if isinstance(x, np.ndarray) or isinstance(y, np.ndarray) else max(x, y)


class Optimizer:
    """Base class: holds the parameters, one state dict per parameter, ``step``/``zero_grad``."""

    def __init__(self, parameters: Module | Iterable[Node], lr: float) -> None:
        if isinstance(parameters, Module):
            parameters = parameters.parameters()
        self.parameters = list(parameters)
        if not self.parameters:
            raise ValueError(f"{type(self).__name__}: got no parameters to optimize")
        for p in self.parameters:
            if not isinstance(p, Node):
                raise TypeError(
                    f"{type(self).__name__}: parameters must be Values or Tensors, got "
                    f"{type(p).__name__}"
                )
        _check(isinstance(lr, numbers.Real) and not isinstance(lr, bool),
               f"{type(self).__name__}: lr must be a number, got {lr!r}")
        _check(math.isfinite(lr), f"{type(self).__name__}: lr must be a finite number, got {lr} "
               "(training would turn every weight into nan)")
        _check(lr >= 0, f"{type(self).__name__}: lr must be >= 0, got {lr}")
        self.lr = lr
        self.state: list[dict[str, Any]] = [{} for _ in self.parameters]

    def zero_grad(self) -> None:
        """Forget the gradients before the next backward (they would otherwise add up)."""
        for p in self.parameters:
            p.zero_grad()

    def step(self) -> None:
        """Move every parameter that has a gradient by one update."""
        for p, state in zip(self.parameters, self.state):
            if p.grad is None:  # a tensor the loss did not reach
                continue
            state["step"] = state.get("step", 0) + 1
            if p.scalar:
                p.data -= self.delta(p.data, p.grad, state)
            else:  # in place, no copy (a graph older than this step then refuses backward)
                p.sub_(self.delta(array_of(p), p.grad, state))

    def delta(self, weight: Any, grad: Any, state: dict[str, Any]) -> Any:
        """The amount to subtract from ``weight`` (each optimizer's rule)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        settings = ", ".join(
            f"{k}={v!r}" for k, v in vars(self).items() if k not in ("parameters", "state")
        )
        return f"{type(self).__name__}({settings})"


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


def _check_betas(name: str, betas: tuple[float, float]) -> None:
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
        _check(momentum >= 0, f"{name}: momentum must be >= 0, got {momentum}")
        _check(weight_decay >= 0, f"{name}: weight_decay must be >= 0, got {weight_decay}")
        _check(
            not nesterov or (momentum > 0 and dampening == 0),
            f"{name}: nesterov needs momentum > 0 and dampening 0",
        )
        self.momentum, self.nesterov = momentum, nesterov
        self.weight_decay, self.dampening = weight_decay, dampening

    def delta(self, weight: Any, grad: Any, state: dict[str, Any]) -> Any:
        if self.weight_decay:
            grad = grad + self.weight_decay * weight
        if self.momentum:
            if "velocity" not in state:
                velocity = grad.copy() if isinstance(grad, np.ndarray) else grad
            else:
                velocity = self.momentum * state["velocity"] + (1 - self.dampening) * grad
            state["velocity"] = velocity
            grad = grad + self.momentum * velocity if self.nesterov else velocity
        if isinstance(grad, np.ndarray):
            # Into a buffer kept per parameter: a fresh weight-sized temporary every step
            # is handed back to the OS by glibc and page-faulted in again (measured in bench/).
            buffer = state.get("delta")
            if buffer is None or buffer.shape != grad.shape or buffer.dtype != grad.dtype:
                buffer = state["delta"] = np.empty_like(grad)
            return np.multiply(grad, self.lr, out=buffer)
        return self.lr * grad


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
        self.lr_decay, self.weight_decay = lr_decay, weight_decay
        self.initial_accumulator_value, self.eps = initial_accumulator_value, eps

    def delta(self, weight: Any, grad: Any, state: dict[str, Any]) -> Any:
        if self.weight_decay:
            grad = grad + self.weight_decay * weight
        lr = self.lr / (1 + (state["step"] - 1) * self.lr_decay)
        total = state.get("sum", self.initial_accumulator_value) + grad * grad
        state["sum"] = total
        return lr * grad / (_sqrt(total) + self.eps)


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
        _check(0.0 <= alpha <= 1.0, f"RMSprop: alpha must be in [0, 1], got {alpha}")
        self.alpha, self.eps, self.weight_decay = alpha, eps, weight_decay
        self.momentum, self.centered = momentum, centered

    def delta(self, weight: Any, grad: Any, state: dict[str, Any]) -> Any:
        if self.weight_decay:
            grad = grad + self.weight_decay * weight
        square = self.alpha * state.get("square", 0.0) + (1 - self.alpha) * grad * grad
        state["square"] = square
        if self.centered:  # subtract the squared mean: a running variance
            mean = self.alpha * state.get("mean", 0.0) + (1 - self.alpha) * grad
            state["mean"] = mean
            denominator = _sqrt(square - mean * mean) + self.eps
        else:
            denominator = _sqrt(square) + self.eps
        if self.momentum:
            buffer = self.momentum * state.get("buffer", 0.0) + grad / denominator
            state["buffer"] = buffer
            return self.lr * buffer
        return self.lr * grad / denominator


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
        self.betas, self.eps, self.weight_decay, self.amsgrad = betas, eps, weight_decay, amsgrad

    def delta(self, weight: Any, grad: Any, state: dict[str, Any]) -> Any:
        if self.weight_decay:
            grad = grad + self.weight_decay * weight
        return self.adam_step(grad, state)

    def adam_step(self, grad: Any, state: dict[str, Any]) -> Any:
        beta1, beta2 = self.betas
        t = state["step"]
        m = beta1 * state.get("m", 0.0) + (1 - beta1) * grad
        v = beta2 * state.get("v", 0.0) + (1 - beta2) * grad * grad
        state["m"], state["v"] = m, v
        if self.amsgrad:  # never let the scaling shrink: the largest v seen so far
            v = state["v_max"] = _maximum(state.get("v_max", 0.0), v)
        denominator = _sqrt(v) / math.sqrt(1 - beta2**t) + self.eps
        return (self.lr / (1 - beta1**t)) * m / denominator


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

    def delta(self, weight: Any, grad: Any, state: dict[str, Any]) -> Any:
        return self.lr * self.weight_decay * weight + self.adam_step(grad, state)


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
        self.betas, self.eps, self.weight_decay = betas, eps, weight_decay

    def delta(self, weight: Any, grad: Any, state: dict[str, Any]) -> Any:
        if self.weight_decay:
            grad = grad + self.weight_decay * weight
        beta1, beta2 = self.betas
        m = beta1 * state.get("m", 0.0) + (1 - beta1) * grad
        u = _maximum(beta2 * state.get("u", 0.0), abs(grad) + self.eps)
        state["m"], state["u"] = m, u
        return (self.lr / (1 - beta1 ** state["step"])) * m / u


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
    optimizer: str | Optimizer, parameters: Module | Iterable[Node], **options: Any
) -> Optimizer:
    """An optimizer by name (``"adam"``, any case) for these parameters, or the one given."""
    if isinstance(optimizer, Optimizer):
        return optimizer
    key = str(optimizer).lower()
    if key not in OPTIMIZERS:
        raise ValueError(
            f"unknown optimizer {optimizer!r}; choose one of {', '.join(OPTIMIZERS)}"
        )
    return OPTIMIZERS[key](parameters, **options)
