"""What the functional modules share: run an op on nodes or on raw arrays, take a Tensor."""

from __future__ import annotations

from typing import Any

from ..autograd import Node, Op, Tensor


def apply_or_run(op: type[Op], *inputs: Any, **params: Any) -> Any:
    """Apply ``op`` to nodes (recording the graph) or run its forward on raw arrays."""
    if any(isinstance(x, Node) for x in inputs):
        return op.apply(*inputs, **params)
    return op.forward(*inputs, **params)


def tensor_argument(x: Any, function: str) -> Tensor:
    """x as a Tensor (arrays and numbers are wrapped); a Value is refused, naming ``function``."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, Node):
        raise TypeError(f"{function}: expected a Tensor, got a Value; use Tensor(value.data)")
    try:
        return Tensor(x)
    except (TypeError, ValueError):
        raise TypeError(f"{function}: expected a Tensor (or numbers), got {type(x).__name__} "
                        f"{x!r:.40}") from None
