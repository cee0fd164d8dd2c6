"""The op base class and the registry every op joins by being defined.

An op is a forward (on raw floats or numpy arrays), a backward rule that returns one
gradient per input, and a one-line docstring stating f and its partial derivatives.
Subclassing :class:`Op` registers it; ``MyOp.apply(x, y)`` runs it on Values or Tensors.

A student's own op, in their own file::

    class Cube(Op):
        "f(x) = x**3; df/dx = 3 x**2"
        def forward(x):
            return x ** 3
        def backward(grad_out, out, x):
            return (grad_out * 3 * x ** 2,)

    y = Cube.apply(Value(2.0))       # y.data == 8.0
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from .node import Node


class OpError(ValueError):
    """An op was given input it cannot handle; the message names the op and the value."""


class OpIndexError(OpError, IndexError):
    """An index outside the tensor: an IndexError too, so ``for row in t`` ends as in Python."""


def _missing_forward(*inputs: Any, **params: Any) -> Any:
    raise NotImplementedError("an op must define forward(*inputs)")


def _missing_backward(grad_out: Any, out: Any, *inputs: Any, **params: Any) -> tuple:
    raise NotImplementedError("an op must define backward(grad_out, out, *inputs)")


def _no_sentence(*inputs: Any, **params: Any) -> str | None:
    return None


class Op:
    """Base class of every operation. Subclasses are registered in ``Op.registry``."""

    name: ClassVar[str] = ""
    symbol: ClassVar[str] = ""
    registry: ClassVar[dict[str, type[Op]]] = {}

    # Hints for the registry-wide tests: where to draw inputs, where f has a kink,
    # and whether the op exists on Values (scalars) and on Tensors.
    domain: ClassVar[tuple[float, float]] = (-3.0, 3.0)
    kinks: ClassVar[tuple[float, ...]] = ()
    on_values: ClassVar[bool] = True
    on_tensors: ClassVar[bool] = True

    # True when backward accepts needs_grad=(bool per input) and skips unneeded gradients.
    selective_backward: ClassVar[bool] = False

    # True for ops that can turn finite numbers into nan or infinity (x / 0, log of a
    # negative number, exp of a large one, and overflow: 1e308 * 10). Values and Tensors
    # treat that alike: an OpError with the op's own sentence (domain_error) or, for an
    # overflow, one that says so, at the op that did it. Every Value op is checked.
    leaves_domain: ClassVar[bool] = False
    # False for ops whose result is not one element per input element (sum, @): a nan or
    # infinity they make is reported for the result, not traced to the inputs' elements.
    elementwise: ClassVar[bool] = True

    # How a captured program prints the op (chaingrad.capture): a forward expression and
    # one backward expression per input, over the inputs' names {0}, {1}, ..., the output
    # {out}, its gradient {g} and the parameters by name. None prints a call to the rule.
    code: ClassVar[tuple[str, tuple[str, ...]] | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # Students may write forward/backward without @staticmethod; accept both.
        for attribute in ("forward", "backward", "domain_error"):
            function = cls.__dict__.get(attribute)
            if function is not None and not isinstance(function, staticmethod):
                setattr(cls, attribute, staticmethod(function))
        if "name" not in cls.__dict__:
            cls.name = cls.__name__.lower()
        if "symbol" not in cls.__dict__:
            cls.symbol = cls.name
        _check_label(cls, "name", cls.name)
        _check_label(cls, "symbol", cls.symbol)
        existing = Op.registry.get(cls.name)
        if existing is not None and _builtin(existing) and (
                existing.__module__, existing.__qualname__) != (cls.__module__, cls.__qualname__):
            return  # a student's own Sigmoid works through Sigmoid.apply; the library keeps its
        Op.registry[cls.name] = cls

    # Each op defines forward(*inputs, **params), backward(grad_out, out, *inputs,
    # **params) and may define domain_error(*inputs, **params): a sentence for a student
    # when forward fails on these inputs (None: use the error). Typed as callables, so an
    # op's own signature, forward(x) or forward(x, y), type-checks as a subclass.
    forward: ClassVar[Callable[..., Any]] = staticmethod(_missing_forward)
    backward: ClassVar[Callable[..., tuple]] = staticmethod(_missing_backward)
    domain_error: ClassVar[Callable[..., str | None]] = staticmethod(_no_sentence)

    @classmethod
    def apply(cls, *inputs: Any, **params: Any) -> Any:
        """Run the op on Values or Tensors (numbers are lifted) and record it in the graph."""
        params = {key: owned(value) for key, value in params.items()}
        for x in inputs:
            if isinstance(x, Node) and not x.scalar:  # any Tensor makes it a tensor op
                return type(x)._apply(cls, inputs, params or None)
        return Node.front_ends[True]._apply(cls, inputs, params or None)  # Values and numbers

    @classmethod
    def doc(cls) -> str:
        """The op's one-line formula: f and its partial derivatives."""
        lines = (cls.__doc__ or "").strip().splitlines()
        return lines[0] if lines else ""


def _check_label(cls: type, attribute: str, text: object) -> None:
    """An op's name and symbol are shown in graphs, SVG and terminals: printable text only."""
    if not isinstance(text, str) or not text or not text.isprintable():
        raise TypeError(
            f"Op: {cls.__name__}'s {attribute} {text!r} must be non-empty printable text (no "
            "control characters such as newlines or escapes): it is shown in graphs and "
            "terminals"
        )


def _builtin(op: type[Op]) -> bool:
    return op.__module__.startswith("chaingrad.")


def owned(value: Any) -> Any:
    """A parameter as an op keeps it: an array becomes a read-only copy of its own.

    The caller may change their array after the op ran (labels, an index, a mask); the
    graph still holds what the op used, so backward stays right.
    """
    if isinstance(value, np.ndarray):
        value = value.copy()
        value.flags.writeable = False
    elif type(value) is tuple and any(isinstance(v, np.ndarray) for v in value):
        value = tuple(owned(v) for v in value)
    return value


def domain_reason(op: type[Op], datas: list, params: dict | None) -> str | None:
    """The op's own sentence for why forward failed on these inputs, or None."""
    try:
        return op.domain_error(*datas, **(params or {}))
    except Exception:  # an explanation must never hide the real problem
        return None


def non_finite_reason(
    op: type[Op], scalars: list, params: dict | None, result: Any, dtype: Any = np.float64
) -> str:
    """Why an op made nan or infinity from these finite numbers: its sentence, or overflow."""
    reason = domain_reason(op, scalars, params)
    if reason is not None:
        return reason
    given = ", ".join(f"{x:.6g}" for x in scalars)
    if result != result:
        return f"the result for {given} is not a number (nan)"
    return (f"the result for {given} overflows to {result} (the largest {np.dtype(dtype)} is "
            f"about {np.finfo(dtype).max:.2g})")


def describe_failure(op: type[Op], datas: list, params: dict | None, error: Exception) -> str:
    """The sentence an OpError carries: the op's own explanation, or the underlying error."""
    return f"{op.name}: {domain_reason(op, datas, params) or error}"
