"""The graph node both front-ends share: bookkeeping plus the operators that build graphs.

A node records the forward value (``data``), the gradient (``grad``), the nodes it was
computed from (``parents``, in argument order), the op that made it (``operation``, a
class from the registry; ``op`` is its short symbol such as ``"+"``) and the op's
parameters (``params``, e.g. the axis of a sum). These are plain attributes so that a
visualizer can read any graph without the engine knowing about it.

Nodes hold no closures, so a graph has no reference cycles: when the last reference to
the output goes, Python frees the whole graph at once, without the cyclic collector.
"""

from __future__ import annotations

from typing import Any


class Node:
    """One vertex of the computational graph: a value, its gradient and where it came from."""

    __slots__ = ("data", "grad", "parents", "operation", "params", "name")

    scalar: bool  # True for Value (a float), False for Tensor (a numpy array)
    requires_grad: bool

    @property
    def op(self) -> str:
        """The op's short symbol (``"+"``, ``"tanh"``, ...), or ``""`` for a leaf."""
        return self.operation.symbol if self.operation is not None else ""

    @property
    def is_leaf(self) -> bool:
        """True for inputs and parameters: nodes no op produced."""
        return self.operation is None

    def backward(self, grad: Any = None) -> None:
        """Fill ``.grad`` of every node this one depends on, seeding ``grad`` (default 1) here.

        The chain rule is accumulation: a node's gradient is the *sum* of what each of its
        uses sends back, which is why ``x * x`` gives 2x. Gradients add up across calls,
        as in PyTorch: zero them between training steps.
        """
        from .engine import backward

        backward(self, grad)

    # Operators: each builds one node through the registry.
    def __add__(self, other):
        return self._binary(Add, self, other)

    def __radd__(self, other):
        return self._binary(Add, other, self)

    def __sub__(self, other):
        return self._binary(Sub, self, other)

    def __rsub__(self, other):
        return self._binary(Sub, other, self)

    def __mul__(self, other):
        return self._binary(Mul, self, other)

    def __rmul__(self, other):
        return self._binary(Mul, other, self)

    def __truediv__(self, other):
        return self._binary(Div, self, other)

    def __rtruediv__(self, other):
        return self._binary(Div, other, self)

    def __pow__(self, exponent):
        if isinstance(exponent, Node):
            return self._binary(Pow, self, exponent)
        return self._apply(PowConstant, (self,), {"exponent": exponent})

    def __rpow__(self, base):
        return self._binary(Pow, base, self)

    def __neg__(self):
        return self._unary(Neg, self)

    def __pos__(self):
        return self

    def exp(self):
        """e**x"""
        return self._unary(Exp, self)

    def log(self):
        """Natural logarithm."""
        return self._unary(Log, self)

    def sqrt(self):
        """Square root."""
        return self._unary(Sqrt, self)

    def tanh(self):
        """Hyperbolic tangent."""
        return self._unary(Tanh, self)

    def sigmoid(self):
        """Logistic sigmoid 1 / (1 + e**-x)."""
        return self._unary(Sigmoid, self)

    def relu(self):
        """max(x, 0)."""
        return self._unary(Relu, self)

    def sin(self):
        """Sine."""
        return self._unary(Sin, self)

    def cos(self):
        """Cosine."""
        return self._unary(Cos, self)

    def abs(self):
        """Absolute value."""
        return self._unary(Abs, self)

    __abs__ = abs

    # Each front-end defines _apply; _unary and _binary are shortcuts it may speed up.
    @staticmethod
    def _apply(op, inputs, params=None):  # pragma: no cover
        raise NotImplementedError

    @classmethod
    def _unary(cls, op, x):
        return cls._apply(op, (x,))

    @classmethod
    def _binary(cls, op, x, y):
        return cls._apply(op, (x, y))


from .ops import (  # noqa: E402  (the ops module needs Node defined first)
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
