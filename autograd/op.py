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

from typing import Any, ClassVar

from .node import Node


class OpError(ValueError):
    """An op was given input it cannot handle; the message names the op and the value."""


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
    # negative number, exp of a large one). Values and Tensors treat that alike: an OpError
    # with the op's own sentence (domain_error), at the op that did it.
    leaves_domain: ClassVar[bool] = False

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
        Op.registry[cls.name] = cls

    @staticmethod
    def forward(*inputs: Any, **params: Any) -> Any:
        raise NotImplementedError("an op must define forward(*inputs)")

    @staticmethod
    def backward(grad_out: Any, out: Any, *inputs: Any, **params: Any) -> tuple:
        raise NotImplementedError("an op must define backward(grad_out, out, *inputs)")

    @staticmethod
    def domain_error(*inputs: Any, **params: Any) -> str | None:
        """A sentence for a student when forward fails on these inputs (None: use the error)."""
        return None

    @classmethod
    def apply(cls, *inputs: Any, **params: Any) -> Any:
        """Run the op on Values or Tensors (numbers are lifted) and record it in the graph."""
        for x in inputs:
            if isinstance(x, Node) and not x.scalar:  # any Tensor makes it a tensor op
                return type(x)._apply(cls, inputs, params or None)
        return Node.front_ends[True]._apply(cls, inputs, params or None)  # Values and numbers

    @classmethod
    def doc(cls) -> str:
        """The op's one-line formula: f and its partial derivatives."""
        lines = (cls.__doc__ or "").strip().splitlines()
        return lines[0] if lines else ""


def domain_reason(op: type[Op], datas: list, params: dict | None) -> str | None:
    """The op's own sentence for why forward failed on these inputs, or None."""
    try:
        return op.domain_error(*datas, **(params or {}))
    except Exception:  # an explanation must never hide the real problem
        return None


def describe_failure(op: type[Op], datas: list, params: dict | None, error: Exception) -> str:
    """The sentence an OpError carries: the op's own explanation, or the underlying error."""
    return f"{op.name}: {domain_reason(op, datas, params) or error}"
