"""The methods Value and Tensor share: Python's operators, the maths methods, backward().

Each operator builds one node through an op of the registry (``x + y`` is ``Add``), by
the front-end's ``_apply``; ``backward()`` runs the engine from this node.
"""

from __future__ import annotations

from typing import Any, TypeVar

import numpy as np

from .engine import backward
from .node import Node
from .op import owned
from .ops import (
    Abs,
    Add,
    Cos,
    Div,
    Exp,
    Log,
    Mul,
    Neg,
    Pow,
    PowConstant,
    Relu,
    Sigmoid,
    Sin,
    Sqrt,
    Sub,
    Tanh,
)

# x + y is of x's kind: a Value for Values, a Tensor for Tensors (for type checkers).
N = TypeVar("N", bound="Operators")


class Operators(Node):
    """A node with operators: the base class of Value and Tensor."""

    __slots__ = ()

    def backward(self, grad: Any = None) -> None:
        """Fill ``.grad`` of every node this one depends on, seeding ``grad`` (default 1) here.

        The chain rule is accumulation: a node's gradient is the *sum* of what each of its
        uses sends back, which is why ``x * x`` gives 2x. Gradients add up across calls,
        as in PyTorch: zero them between training steps.
        """
        backward(self, grad)

    # Operators: each builds one node through the registry.
    def __add__(self: N, other: Any) -> N:
        return self._binary(Add, self, other)

    def __radd__(self: N, other: Any) -> N:
        return self._binary(Add, other, self)

    def __sub__(self: N, other: Any) -> N:
        return self._binary(Sub, self, other)

    def __rsub__(self: N, other: Any) -> N:
        return self._binary(Sub, other, self)

    def __mul__(self: N, other: Any) -> N:
        return self._binary(Mul, self, other)

    def __rmul__(self: N, other: Any) -> N:
        return self._binary(Mul, other, self)

    def __truediv__(self: N, other: Any) -> N:
        return self._binary(Div, self, other)

    def __rtruediv__(self: N, other: Any) -> N:
        return self._binary(Div, other, self)

    def __pow__(self: N, exponent: Any) -> N:
        if isinstance(exponent, Node):
            return self._binary(Pow, self, exponent)
        if type(exponent) not in (int, float):  # the usual x ** 2 skips the check
            _check_exponent(exponent, self.scalar)
        return self._apply(PowConstant, (self,), {"exponent": owned(exponent)})

    def __rpow__(self: N, base: Any) -> N:
        return self._binary(Pow, base, self)

    def __neg__(self: N) -> N:
        return self._unary(Neg, self)

    def __pos__(self: N) -> N:
        return self

    def exp(self: N) -> N:
        """e**x"""
        return self._unary(Exp, self)

    def log(self: N) -> N:
        """Natural logarithm."""
        return self._unary(Log, self)

    def sqrt(self: N) -> N:
        """Square root."""
        return self._unary(Sqrt, self)

    def tanh(self: N) -> N:
        """Hyperbolic tangent."""
        return self._unary(Tanh, self)

    def sigmoid(self: N) -> N:
        """Logistic sigmoid 1 / (1 + e**-x)."""
        return self._unary(Sigmoid, self)

    def relu(self: N) -> N:
        """max(x, 0)."""
        return self._unary(Relu, self)

    def sin(self: N) -> N:
        """Sine."""
        return self._unary(Sin, self)

    def cos(self: N) -> N:
        """Cosine."""
        return self._unary(Cos, self)

    def abs(self: N) -> N:
        """Absolute value."""
        return self._unary(Abs, self)

    __abs__ = abs


def _check_exponent(exponent: Any, scalar: bool) -> None:
    """A refusal for an exponent that is not a real number (or, on Tensors, real numbers):
    text, None, and complex numbers, which would make a complex result past the domain rule."""
    if isinstance(exponent, (int, float, np.integer, np.floating)):
        return
    try:
        kind = np.asarray(exponent).dtype.kind
    except (TypeError, ValueError):  # ragged lists and the like
        kind = "O"
    if scalar or kind not in "biuf":
        kinds = "a number or a Value" if scalar else "a number, an array or a Tensor"
        what = "complex " if kind == "c" else ""
        raise TypeError(f"pow: the exponent must be {kinds}, got {what}{exponent!r:.60}")
