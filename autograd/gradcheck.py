"""gradcheck: compare the engine's gradients with central differences.

For each input element x, the numerical derivative is (f(x + h) - f(x - h)) / 2h, which
is accurate to O(h**2). On failure the message names the input, the element and how far
the two numbers are apart.
"""

from __future__ import annotations

import inspect
import math
import numbers
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .engine import grad as compute_grad
from .engine import no_grad
from .node import Node


class GradcheckError(AssertionError):
    """The analytic and numerical gradients disagree."""


def gradcheck(
    fn: Callable[..., Node],
    inputs: Sequence[Node],
    eps: float = 1e-6,
    atol: float = 1e-6,
    rtol: float = 1e-4,
    raise_exception: bool = True,
) -> bool:
    """True when d fn / d input from backward matches central differences for every input.

    ``fn(*inputs)`` must return a node. A non-scalar output is reduced to a scalar with
    fixed random weights first, so every output element is checked. Tensors should be
    float64: float32 differences are too coarse for a strict check.
    """
    if not callable(fn):
        raise TypeError(f"gradcheck: fn must be a function of the inputs, such as "
                        f"lambda x: x * x, got {type(fn).__name__} {fn!r:.40}")
    if isinstance(inputs, Node):  # one node: the list of it
        inputs = [inputs]
    try:
        inputs = list(inputs)
    except TypeError:
        raise TypeError(f"gradcheck: inputs must be a list of Values or Tensors, got "
                        f"{type(inputs).__name__} {inputs!r:.40}") from None
    for position, x in enumerate(inputs):
        if not isinstance(x, Node):
            raise TypeError(
                f"gradcheck: inputs must be Values or Tensors, got {type(x).__name__} {x!r:.40} "
                f"at position {position}; wrap numbers, e.g. Value(1.0) or "
                "Tensor([1.0, 2.0], dtype=np.float64)"
            )
    _check_tolerance("eps", eps, above_zero=True)
    _check_tolerance("atol", atol)
    _check_tolerance("rtol", rtol)
    untracked = [x for x in inputs if not x.requires_grad]
    for x in untracked:  # a tensor made without requires_grad=True: check it all the same
        x.requires_grad = True
    try:
        return _check(fn, inputs, eps, atol, rtol, raise_exception)
    finally:
        for x in untracked:
            x.requires_grad = False


def _check_tolerance(name: str, value: Any, above_zero: bool = False) -> None:
    number = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if not number or not math.isfinite(value) or value < 0 or (above_zero and value == 0):
        bound = "above 0" if above_zero else ">= 0"
        raise ValueError(f"gradcheck: {name} must be a number {bound}, got {value!r:.40}")


def _arity_problem(fn: Callable, count: int) -> str | None:
    """Why fn cannot take ``count`` inputs, or None when it can (or cannot be told)."""
    try:
        inspect.signature(fn).bind(*range(count))
    except TypeError:
        try:
            wanted = [p for p in inspect.signature(fn).parameters.values()
                      if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY,
                                                             p.POSITIONAL_OR_KEYWORD)]
        except (TypeError, ValueError):
            return None
        return (f"gradcheck: fn takes {len(wanted)} arguments but {count} input"
                f"{'s were' if count != 1 else ' was'} given; give one Value or Tensor per "
                "argument, in order")
    except ValueError:  # a builtin without a signature
        return None
    return None


def _check(fn, inputs, eps, atol, rtol, raise_exception) -> bool:
    try:
        out = fn(*inputs)
    except TypeError:
        problem = _arity_problem(fn, len(inputs))
        if problem:
            raise TypeError(problem) from None
        raise
    if not isinstance(out, Node):
        raise TypeError(f"gradcheck: fn must return a Value or a Tensor computed from its "
                        f"inputs, got {type(out).__name__} {out!r:.40}")
    weights = _output_weights(out)
    if weights is not None:
        out = (out * weights).sum()

    def scalar_fn() -> float:
        with no_grad():
            return _weighted(fn(*inputs), weights)

    analytic = compute_grad(out, inputs)
    for position, (node, exact) in enumerate(zip(inputs, analytic)):
        numeric = _numerical_gradient(scalar_fn, node, eps)
        exact = np.asarray(exact.data, dtype=np.float64)  # grad gives nodes
        bad = ~np.isclose(exact, numeric, atol=atol, rtol=rtol)
        if np.any(bad):
            if not raise_exception:
                return False
            element = tuple(int(i) for i in np.argwhere(bad)[0])
            label = f" ({node.name!r})" if node.name else ""
            a, n = float(exact[element]), float(numeric[element])
            where = f", element {element}" if element else ""
            raise GradcheckError(
                f"gradcheck failed for input {position}{label}{where}: backward gives "
                f"{a:.10g}, central differences give {n:.10g} (difference {abs(a - n):.3g})"
            )
    return True


def _output_weights(out: Node) -> np.ndarray | None:
    if out.scalar or out.data.size == 1:
        return None
    return np.random.default_rng(0).standard_normal(out.data.shape)


def _weighted(out: Node, weights: np.ndarray | None) -> float:
    data = np.asarray(out.data, dtype=np.float64)
    return float(data.sum() if weights is None else (data * weights).sum())


def _numerical_gradient(scalar_fn: Callable[[], float], node: Node, eps: float) -> np.ndarray:
    """Central differences, nudging one element of the node's data at a time."""
    if node.scalar:
        original = node.data
        node.data = original + eps
        plus = scalar_fn()
        node.data = original - eps
        minus = scalar_fn()
        node.data = original
        return np.asarray((plus - minus) / (2 * eps))
    before = node.data
    data = np.array(before)  # nudged here; the node gets a copy (a graph may keep it)
    result = np.zeros(data.shape, dtype=np.float64)
    try:
        for index in np.ndindex(data.shape):
            original = data[index]
            data[index] = original + eps
            node.data = data.copy()
            plus = scalar_fn()
            data[index] = original - eps
            node.data = data.copy()
            minus = scalar_fn()
            data[index] = original
            result[index] = (plus - minus) / (2 * eps)
    finally:
        node.data = before
    return result
