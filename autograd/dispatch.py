"""Small helpers that let one backward rule run on floats, numpy arrays or graph nodes.

A rule such as ``grad_out * cos(x)`` must work on plain floats (the fast scalar path), on
numpy arrays (the fast tensor path) and on nodes (``create_graph=True``, where the
gradient itself is recorded as a graph). Operators already dispatch by themselves; these
functions do the same for the few maths functions the rules need.
"""

from __future__ import annotations

import math

import numpy as np

from .node import Node, array_of
from .op import Op


def _unary(scalar_fn, array_fn, method):
    def apply(x):
        if isinstance(x, Node):
            return getattr(x, method)()
        if isinstance(x, np.ndarray):
            return array_fn(x)
        return scalar_fn(x)

    apply.__name__ = method
    apply.__doc__ = f"{method}(x) for a float, a numpy array or a node."
    return apply


exp = _unary(math.exp, np.exp, "exp")
log = _unary(math.log, np.log, "log")
sqrt = _unary(math.sqrt, np.sqrt, "sqrt")
sin = _unary(math.sin, np.sin, "sin")
cos = _unary(math.cos, np.cos, "cos")
tanh = _unary(math.tanh, np.tanh, "tanh")


def constant(x):
    """The raw value of x: a node's data, or x itself. Used for masks, which have no gradient."""
    return array_of(x) if isinstance(x, Node) else x


def sign(x):
    """Sign of the raw value (-1, 0 or 1): abs's derivative, a constant."""
    x = constant(x)
    if isinstance(x, np.ndarray):
        return np.sign(x)
    return float((x > 0) - (x < 0))


def relu(x):
    """max(x, 0) for a float or an array (forward only)."""
    if isinstance(x, np.ndarray):
        return np.maximum(x, 0)
    return x if x > 0 else 0.0


def log_of_base(x):
    """ln x for the y-derivative of x**y, which is x**y ln x: never a math error.

    At x = 0 it gives 0, since x**y stays 0 there (as in PyTorch); for x < 0 it gives nan,
    since x**y has no slope in y there.
    """
    raw = constant(x)
    if not isinstance(raw, np.ndarray):
        if raw > 0:
            return log(x)
        return 0.0 if raw == 0 else math.nan
    positive = raw > 0
    elsewhere = np.where(raw == 0, 0.0, np.nan)
    return where(positive, log(where(positive, x, 1.0)), elsewhere)  # log sees no x <= 0


def where(condition, x, y):
    """Pick x where condition holds, else y; differentiable when x or y is a node."""
    if isinstance(x, Node) or isinstance(y, Node):  # the Where op, from ops.py (it comes later)
        return Op.registry["where"].apply(x, y, condition=condition)
    return np.where(condition, x, y)


def zeros_like(x):
    """Zeros shaped like x (a float 0.0 for scalars)."""
    x = constant(x)
    if isinstance(x, np.ndarray):
        return np.zeros_like(x)
    return 0.0


def matmul_transposed(a, b, transpose_a: bool):
    """a.T @ b or a @ b.T over the last two axes: the two halves of matmul's backward."""
    if transpose_a:
        return swap_last_axes(a) @ b
    return a @ swap_last_axes(b)


def swap_last_axes(a):
    """Swap the last two axes of an array or a tensor node (its matrix transpose)."""
    if a.ndim < 2:
        return a
    if a.ndim == 2:
        return a.T
    axes = list(range(a.ndim))
    axes[-1], axes[-2] = axes[-2], axes[-1]
    return a.transpose(axes)


def expand_to(grad, shape, axis, keepdims):
    """Broadcast a reduced gradient back to the input's shape (undoes sum/mean over axis)."""
    if not keepdims and axis is not None:
        axes = (axis,) if isinstance(axis, int) else axis
        kept = list(np.shape(constant(grad)))
        for ax in sorted(a % len(shape) for a in axes):
            kept.insert(ax, 1)
        grad = grad.reshape(tuple(kept)) if isinstance(grad, (Node, np.ndarray)) else grad
    if isinstance(grad, Node):
        return grad.broadcast_to(shape)
    full = np.empty(shape, dtype=np.result_type(grad))  # quicker than np.broadcast_to
    full[...] = grad
    return full


def sum_to_shape(grad, shape):
    """Sum a gradient down to a parent's shape: the one place broadcasting is undone.

    numpy broadcasting (1) prepends axes and (2) stretches axes of size 1; the gradient
    is summed over the prepended axes and, keeping dims, over the stretched ones.
    """
    grad_shape = np.shape(constant(grad))
    if grad_shape == shape:
        return grad
    extra = len(grad_shape) - len(shape)
    if extra > 0:
        grad = grad.sum(axis=tuple(range(extra)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad_shape[extra + i] != 1)
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)
    return grad
