"""The graph node both front-ends share: the bookkeeping; read it first.

A node records the forward value (``data``), the gradient (``grad``), the nodes it was
computed from (``parents``, in argument order), the op that made it (``operation``, a
class from the registry; ``op`` is its short symbol such as ``"+"``) and the op's
parameters (``params``, e.g. the axis of a sum). These are plain attributes so that a
visualizer can read any graph without the engine knowing about it.

The operators that build graphs (``x + y``, ``x.exp()``, ``backward()``) come later, in
:mod:`operators`, once the ops and the engine exist.

Nodes hold no closures, so a graph has no reference cycles: when the last reference to
the output goes, Python frees the whole graph at once, without the cyclic collector.
"""

from __future__ import annotations

from typing import Any, ClassVar


class Node:
    """One vertex of the computational graph: a value, its gradient and where it came from."""

    __slots__ = ("data", "grad", "parents", "operation", "params", "name")

    scalar: bool  # True for Value (a float), False for Tensor (a numpy array)
    requires_grad: bool
    data: Any  # a float on a Value, a numpy array on a Tensor
    grad: Any  # the same kind as data (a Tensor's is None before backward)
    parents: tuple[Node, ...]
    operation: Any  # the Op class that made it (op.py comes after this file), None for a leaf
    params: dict[str, Any] | None
    name: str | None

    # The front-ends by kind, {True: Value, False: Tensor}: each joins by being defined
    # (as ops join Op.registry), so an op given plain numbers can make Values.
    front_ends: ClassVar[dict[bool, type[Node]]] = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "scalar" in cls.__dict__:  # Value and Tensor say which kind they are
            Node.front_ends[cls.scalar] = cls

    @property
    def op(self) -> str:
        """The op's short symbol (``"+"``, ``"tanh"``, ...), or ``""`` for a leaf."""
        return self.operation.symbol if self.operation is not None else ""

    @property
    def is_leaf(self) -> bool:
        """True for inputs and parameters: nodes no op produced."""
        return self.operation is None

    def _backward_done(self) -> None:
        """Called by backward on each node it went through (a Tensor may lend its array again)."""

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


# Who else may hold a Tensor's array (Tensor._state, read by backward too), so that the
# values a graph read cannot change behind it without backward noticing (ValueChangedError):
PRIVATE = 0  # nobody: Tensor() copied its input, or an op made it
LENT = 1  # .data handed it out: the caller may keep it and write to it later
LIVE = 2  # a graph that waits for backward read it (LIVE | LENT: the lent array is read-only)
DONE = 4  # that graph's backward ran (DONE | LENT once lent again): a write in place
#          through .data makes the tensor take a new view, so the old graph can tell


# A node's value as stored, without the copy a Tensor's ``.data`` hands out once the tensor
# was used (see Tensor.data): for the engine's own reads, which never write.
array_of = Node.__dict__["data"].__get__
