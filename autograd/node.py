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
        """Fill ``.grad`` of every node this one depends on (seeded with 1 here).

        The chain rule is accumulation: a node's gradient is the *sum* of what each of its
        uses sends back, which is why ``x * x`` gives 2x. Gradients add up across calls,
        as in PyTorch: zero them between training steps.
        """
        from .engine import backward

        backward(self, grad)

    # Operators: each builds one node through the registry.
    def __add__(self, other):
        return self._apply(Add, (self, other))

    def __radd__(self, other):
        return self._apply(Add, (other, self))

    def __sub__(self, other):
        return self._apply(Sub, (self, other))

    def __rsub__(self, other):
        return self._apply(Sub, (other, self))

    def __mul__(self, other):
        return self._apply(Mul, (self, other))

    def __rmul__(self, other):
        return self._apply(Mul, (other, self))

    def __truediv__(self, other):
        return self._apply(Div, (self, other))

    def __rtruediv__(self, other):
        return self._apply(Div, (other, self))

    def __pow__(self, exponent):
        if isinstance(exponent, Node):
            return self._apply(Pow, (self, exponent))
        return self._apply(PowConstant, (self,), {"exponent": exponent})

    def __rpow__(self, base):
        return self._apply(Pow, (base, self))

    def __neg__(self):
        return self._apply(Neg, (self,))

    def __pos__(self):
        return self

    def exp(self):
        """e**x"""
        return self._apply(Exp, (self,))

    def log(self):
        """Natural logarithm."""
        return self._apply(Log, (self,))

    def sqrt(self):
        """Square root."""
        return self._apply(Sqrt, (self,))

    def tanh(self):
        """Hyperbolic tangent."""
        return self._apply(Tanh, (self,))

    def sigmoid(self):
        """Logistic sigmoid 1 / (1 + e**-x)."""
        return self._apply(Sigmoid, (self,))

    def relu(self):
        """max(x, 0)."""
        return self._apply(Relu, (self,))

    def sin(self):
        """Sine."""
        return self._apply(Sin, (self,))

    def cos(self):
        """Cosine."""
        return self._apply(Cos, (self,))

    def abs(self):
        """Absolute value."""
        return self._apply(Abs, (self,))

    __abs__ = abs

    @staticmethod
    def _apply(op, inputs, params=None):  # pragma: no cover - each front-end defines it
        raise NotImplementedError


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
