"""Value: the scalar front-end. One Python float per node, so every step can be drawn.

    >>> x, y, z = Value(-2.0, name="x"), Value(5.0, name="y"), Value(-4.0, name="z")
    >>> f = (x + y) * z
    >>> f.backward()
    >>> f.data, x.grad, y.grad, z.grad
    (-12.0, -4.0, -4.0, 3.0)
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

from .engine import ANOMALY, RECORD, modes, record_creation
from .node import Node
from .op import Op, OpError, describe_failure, non_finite_reason
from .operators import Operators
from .ops import Dot


class Value(Operators):
    """A scalar in the graph: ``data`` (float), ``grad`` (float, 0.0 before backward)."""

    # The values the op read from its inputs, kept so that backward can tell if one was
    # changed afterwards: plain floats in two slots, because a tuple per node would make
    # every scalar graph slower. An op of more inputs keeps all of them in saved_x.
    __slots__ = ("saved_x", "saved_y")
    scalar = True
    requires_grad = True  # every Value is differentiable, as in micrograd
    data: float
    grad: float

    def __init__(self, data: float, name: str | None = None) -> None:
        self.data = _as_float(data, "Value")
        self.grad = 0.0
        self.parents: tuple[Value, ...] = ()
        self.operation: type[Op] | None = None
        self.params = None
        self.name = name

    @staticmethod
    def _apply(op: type[Op], inputs: Sequence, params: dict | None = None) -> Value:
        parents = tuple([x if type(x) is Value else _lift(x, op) for x in inputs])
        datas = [p.data for p in parents]
        try:
            data = op.forward(*datas) if params is None else op.forward(*datas, **params)
        except (ArithmeticError, ValueError, TypeError) as error:
            raise OpError(describe_failure(op, datas, params, error)) from None
        return _new_node(data, op, parents, params, datas)

    # The two shortcuts below do what _apply does for one and two inputs, minus the
    # packing, and with _new_node's body written out (a call costs a sixth of a node):
    # they are the hot path of every scalar graph.
    @staticmethod
    def _unary(op: type[Op], x: Value) -> Value:
        a = x.data
        try:
            data = op.forward(a)
        except (ArithmeticError, ValueError, TypeError) as error:
            raise OpError(describe_failure(op, [a], None, error)) from None
        # data - data is 0.0 for a finite number, nan (true) for nan and infinity
        if type(data) is not float or data - data or modes() != RECORD:
            return _new_node(data, op, (x,), None, [a])
        out = _allocate(Value)  # from here on, what _new_node does, written out
        out.data, out.grad, out.name = data, 0.0, None
        out.parents, out.operation, out.params = (x,), op, None
        out.saved_x = a
        return out

    @staticmethod
    def _binary(op: type[Op], x: object, y: object) -> Value:
        if type(x) is not Value:
            x = _lift(x, op)
        if type(y) is not Value:
            y = _lift(y, op)
        a, b = x.data, y.data
        try:
            data = op.forward(a, b)
        except (ArithmeticError, ValueError, TypeError) as error:
            raise OpError(describe_failure(op, [a, b], None, error)) from None
        # data - data is 0.0 for a finite number, nan (true) for nan and infinity
        if type(data) is not float or data - data or modes() != RECORD:
            return _new_node(data, op, (x, y), None, [a, b])
        out = _allocate(Value)  # from here on, what _new_node does, written out
        out.data, out.grad, out.name = data, 0.0, None
        out.parents, out.operation, out.params = (x, y), op, None
        out.saved_x, out.saved_y = a, b
        return out

    @staticmethod
    def dot(weights: Sequence[Value], inputs: Sequence[Value | float]) -> Value:
        """sum_i weights[i] * inputs[i] as one node: a neuron's weighted sum."""
        for argument, given in (("weights", weights), ("inputs", inputs)):
            if not hasattr(given, "__len__") or isinstance(given, (str, bytes)):
                raise TypeError(f"dot: {argument} must be a list, got {given!r:.60}")
        if len(weights) != len(inputs):
            raise ValueError(f"dot: {len(weights)} weights but {len(inputs)} inputs")
        if not weights:
            raise ValueError("dot: no weights and no inputs; a weighted sum needs at least one")
        return Value._apply(Dot, (*weights, *inputs))

    def zero_grad(self) -> None:
        """Set this node's gradient back to 0."""
        self.grad = 0.0

    def item(self) -> float:
        """The forward value as a Python float."""
        return self.data

    def detach(self) -> Value:
        """A new leaf with the same value and no history."""
        return Value(self.data, name=self.name)

    def __float__(self) -> float:
        return self.data

    def __int__(self) -> int:
        return int(self.data)

    def __round__(self, ndigits: int | None = None) -> float | int:
        return round(self.data, ndigits)

    def __format__(self, spec: str) -> str:
        """``f"{loss:.4f}"`` formats the number; ``f"{loss}"`` shows the Value."""
        return format(self.data, spec) if spec else str(self)

    # Comparisons look at the values (for `if x > 0:`); == stays identity, as in micrograd.
    def __lt__(self, other: object) -> bool:
        return self.data < _number(other, "<")

    def __le__(self, other: object) -> bool:
        return self.data <= _number(other, "<=")

    def __gt__(self, other: object) -> bool:
        return self.data > _number(other, ">")

    def __ge__(self, other: object) -> bool:
        return self.data >= _number(other, ">=")

    def __repr__(self) -> str:
        label = f"name={self.name!r}, " if self.name else ""
        return f"Value({label}data={self.data:.6g}, grad={self.grad:.6g})"


def _new_node(
    data: object, op: type[Op], parents: tuple, params: dict | None, datas: list
) -> Value:
    """A Value made by ``op`` from ``parents`` (a leaf when gradients are off).

    It keeps the values the op read (``datas``) in ``saved_x``/``saved_y``, so that
    backward can tell if one was changed afterwards.
    """
    if type(data) is not float:
        data = _result_as_float(op, data, datas, params)
    if data - data and all(x - x == 0.0 for x in datas):  # nan or infinity from finite inputs
        raise OpError(f"{op.name}: {non_finite_reason(op, datas, params, data)}")
    out = _allocate(Value)
    out.data = data
    out.grad = 0.0
    out.name = None
    mode = modes()
    if mode & RECORD:
        out.parents = parents
        out.operation = op
        out.params = params
        if len(datas) > 2:
            # An op of many inputs keeps all their values here, as a tuple: the garbage
            # collector stops tracking a tuple of floats (a list it would scan every time).
            out.saved_x = tuple(datas)
        else:
            out.saved_x, out.saved_y = (*datas, 0.0)[:2]
        if mode & ANOMALY:
            record_creation(out)
    else:
        out.parents, out.operation, out.params = (), None, None
    return out


_allocate = object.__new__


def _as_float(data: object, where: str) -> float:
    try:
        if type(data) is float or type(data) is int:  # the usual cases, before slow checks
            return float(data)
        if isinstance(data, Value):
            return data.data
        if isinstance(data, numbers.Real):
            return float(data)
    except OverflowError:
        digits = len(str(abs(int(data))))
        raise OverflowError(f"{where}: a number of {digits} digits is too large for a float "
                            "(the largest is about 1.8e308)") from None
    if hasattr(data, "item") and getattr(data, "size", 2) == 1:  # a 1-element array
        return float(data.item())
    raise TypeError(f"{where}: expected a number, got {type(data).__name__} {data!r}")


def _lift(x: object, op: type[Op]) -> Value:
    """Wrap a plain number as a constant leaf so it can take part in the graph."""
    if isinstance(x, Value):
        return x
    if isinstance(x, Node):
        raise TypeError(
            f"{op.name}: cannot mix a Value and a Tensor; use Tensor(value.data) "
            "or tensor.item() to bring them to the same kind"
        )
    return Value(_as_float(x, op.name))


def _number(x: object, symbol: str) -> float:
    return x.data if isinstance(x, Value) else _as_float(x, symbol)


def _result_as_float(op: type[Op], data: object, datas: list, params: dict | None) -> float:
    if isinstance(data, complex):
        raise OpError(describe_failure(op, datas, params, ValueError("not a real number")))
    return float(data)
