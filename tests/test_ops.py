"""Every op in the registry, gradient-checked, compared with PyTorch and run in float32.

Elementwise ops (a forward of plain inputs, no parameters) are found and tested on their
own: Values, and Tensors of shapes (), (4,), (3, 4), (1, 4), (2, 3, 4), every pair of
shapes for binary ops, so broadcasting is undone correctly. Every other op needs an entry
in CASES below; ``test_every_op_has_a_case`` fails for an op that has none, so no op can
escape the gradient check.
"""

from __future__ import annotations

import contextlib
import inspect
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from chaingrad import autograd
from chaingrad.autograd import Op, Tensor, Value, enable_grad, gradcheck
from chaingrad.nn import convolution
from chaingrad.nn import functional as F

with contextlib.suppress(ImportError):  # its ops register themselves when imported
    import chaingrad.nn.activations  # noqa: F401

try:  # PyTorch is the second opinion where it is installed (CI installs it)
    import torch
    import torch.nn.functional as TF
    import torch.nn.grad
except ImportError:  # pragma: no cover
    torch = TF = None

SHAPES = [(), (4,), (3, 4), (1, 4), (2, 3, 4)]
EXAMPLES = settings(
    max_examples=5,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
    phases=(Phase.explicit, Phase.generate),  # no shrinking: a failure reports at once
)


def _defined_in_tests(op: type[Op]) -> bool:
    module = op.__module__.rsplit(".", 1)[-1]
    return module.startswith("test_") or module == "conftest"


OPS = {name: op for name, op in Op.registry.items() if not _defined_in_tests(op)}


# ---------------------------------------------------------------- the table of cases


@dataclass
class Case:
    """One way to call an op: input shapes, parameters, and PyTorch's version of it."""

    shapes: tuple
    params: dict = field(default_factory=dict)
    torch: Callable | None = None  # torch_fn(*torch_inputs, **params) -> torch tensor
    domain: tuple[float, float] | None = None  # default: the op's own domain
    kinks: tuple[float, ...] | None = None  # default: the op's own kinks
    unique: bool = False  # distinct elements (max, min, max-pooling: no ties)
    call: Callable | None = None  # default: op.apply(*inputs, **params)


def _reduce(name: str) -> Callable:
    """PyTorch's sum/mean/amax/amin with numpy's axis/keepdims conventions."""

    def reduce(x, axis=None, keepdims=False):
        function = getattr(torch, name)
        if axis is None:
            axis = tuple(range(x.ndim))
        if x.ndim == 0:
            return function(x) if name in ("sum", "mean") else x.clone()
        return function(x, dim=axis, keepdim=keepdims)

    return reduce


def _torch_index(index: Any) -> Any:
    parts = index if isinstance(index, tuple) else (index,)
    return tuple(torch.as_tensor(p) if isinstance(p, np.ndarray) else p for p in parts)


def _torch_scatter_add(g, index, shape):
    """scatter_add is getitem's backward: ask PyTorch for that backward, at g."""
    zeros = torch.zeros(shape, dtype=g.dtype, requires_grad=True)
    return torch.autograd.grad(zeros[_torch_index(index)], zeros, g, create_graph=True)[0]


def _torch_pad(x, pad_width):
    pairs = [tuple(p) for p in np.broadcast_to(np.asarray(pad_width), (x.ndim, 2))]
    return TF.pad(x, [n for pair in reversed(pairs) for n in pair])


def _torch_conv(x, w, *b, stride=1, padding=0):
    return TF.conv2d(x, w, b[0] if b else None, stride=stride, padding=padding)


def _torch_conv_input_grad(g, w, input_shape, stride, padding):
    return torch.nn.grad.conv2d_input(input_shape, w, g, stride=stride, padding=padding)


def _torch_conv_weight_grad(x, g, kernel_size, stride, padding):
    shape = (g.shape[1], x.shape[1], *kernel_size)
    return torch.nn.grad.conv2d_weight(x, shape, g, stride=stride, padding=padding)


def _torch_pool_vjp(pool: str, source: np.ndarray) -> Callable:
    """The backward of PyTorch's pooling at ``source``, as a function of the gradient."""

    def vjp(g, index=None, input_shape=None, kernel=2, stride=2, padding=0):
        x = torch.tensor(source, requires_grad=True)
        out = getattr(TF, pool)(x, kernel, stride, padding)
        return torch.autograd.grad(out, x, g, create_graph=True)[0]

    return vjp


def _torch_pool_gather(source: np.ndarray) -> Callable:
    def gather(v, index=None, kernel=2, stride=2, padding=0):
        out, chosen = TF.max_pool2d(
            torch.tensor(source), kernel, stride, padding, return_indices=True
        )
        return v.flatten(2).gather(2, chosen.flatten(2)).view_as(out)

    return gather


def _torch_cross_entropy(logits, target):
    return TF.cross_entropy(logits, torch.as_tensor(target))


RNG = np.random.default_rng(7)
POOL_SOURCE = RNG.standard_normal((2, 2, 5, 5))
POOL_INDEX = convolution._pool_argmax(POOL_SOURCE, 3, 2, 1)
MASK_34 = RNG.random((3, 4)) > 0.5
ONE_HOT = np.eye(5)[[0, 4, 2, 2]]
PROBABILITIES = RNG.dirichlet(np.ones(5), size=4)


def _t(name: str) -> Callable:
    """A PyTorch function by name, looked up when a test runs."""
    return lambda *args, **kwargs: getattr(torch, name)(*args, **kwargs)


def _torch_pool(name: str) -> Callable:
    return lambda x, kernel, stride, padding: getattr(TF, name)(x, kernel, stride, padding)


def _method(name: str, param: str) -> Callable:
    """x.name(params[param]): PyTorch's method with our parameter."""
    return lambda x, **params: getattr(x, name)(params[param])


CONV = ((2, 2, 5, 5), (3, 2, 3, 3))
CASES: dict[str, list[Case]] = {
    "matmul": [
        Case(((3, 4), (4, 2)), torch=_t("matmul")),
        Case(((4,), (4,)), torch=_t("matmul")),
        Case(((4,), (4, 3)), torch=_t("matmul")),
        Case(((3, 4), (4,)), torch=_t("matmul")),
        Case(((2, 3, 4), (4, 5)), torch=_t("matmul")),
        Case(((2, 3, 4), (2, 4, 2)), torch=_t("matmul")),
        Case(((1, 3, 4), (2, 4, 2)), torch=_t("matmul")),
        Case(((4,), (2, 4, 3)), torch=_t("matmul")),
        Case(((2, 3, 4), (4,)), torch=_t("matmul")),
    ],
    "bce_with_logits_mean": [
        Case(((4, 1), (4, 1)), torch=lambda z, y: (TF.softplus(z) - y * z).mean()),
        Case(((3, 4), (3, 4)), torch=lambda z, y: (TF.softplus(z) - y * z).mean()),
        Case(((5,), (5,)), torch=lambda z, y: (TF.softplus(z) - y * z).mean()),
    ],
    "linear": [
        Case(((3, 4), (4, 2), (2,)), torch=lambda x, w, b: x @ w + b),
        Case(((4,), (4, 3), (3,)), torch=lambda x, w, b: x @ w + b),
        Case(((2, 3, 4), (4, 2), (2,)), torch=lambda x, w, b: x @ w + b),
        Case(((1, 4), (4, 1), (1,)), torch=lambda x, w, b: x @ w + b),
    ],
    **{
        name: [
            Case(((2, 3, 4),), {"axis": axis, "keepdims": keepdims}, _reduce(torch_name),
                 unique=unique)
            for axis, keepdims in [(None, False), (0, False), (-1, True), ((0, 2), False),
                                   ((0, 2), True), (None, True)]
        ] + [
            Case((shape,), {"axis": None, "keepdims": False}, _reduce(torch_name), unique=unique)
            for shape in [(), (4,), (1, 4)]
        ]
        for name, torch_name, unique in [
            ("sum", "sum", False), ("mean", "mean", False),
            ("max", "amax", True), ("min", "amin", True),
        ]
    },
    "reshape": [
        Case(((3, 4),), {"shape": (2, 6)}, _method("reshape", "shape")),
        Case(((2, 3, 4),), {"shape": (4, -1, 3)}, _method("reshape", "shape")),
        Case(((),), {"shape": (1, 1)}, _method("reshape", "shape")),
        Case(((3, 4),), {"shape": (-1,)}, _method("reshape", "shape")),
    ],
    "transpose": [
        Case(((3, 4),), {"axes": None}, lambda x, axes: x.permute(1, 0)),
        Case(((2, 3, 4),), {"axes": (1, 0, 2)}, lambda x, axes: x.permute(axes)),
        Case(((2, 3, 4),), {"axes": (2, 0, 1)}, lambda x, axes: x.permute(axes)),
    ],
    "broadcast_to": [
        Case((shape,), {"shape": target}, _method("broadcast_to", "shape"))
        for shape, target in [((4,), (3, 4)), ((1, 4), (2, 3, 4)), ((), (3, 4)),
                              ((3, 1), (2, 3, 5))]
    ],
    "getitem": [
        Case((shape,), {"index": index}, lambda x, index: x[_torch_index(index)])
        for shape, index in [
            ((3, 4), (slice(1, None), slice(None, None, 2))),
            ((2, 3, 4), (Ellipsis, None, slice(1, 3))),
            ((3, 4), (np.array([0, 2, 0, 0]),)),  # repeated rows accumulate
            ((3, 4), (np.array([[0, 1], [1, 1]]), np.array([[3, 3], [0, 3]]))),
            ((2, 3, 4), (slice(None), np.array([2, 2, 0]), 1)),
            ((3, 4), (MASK_34,)),
            ((3, 4), 1),
            ((4,), (2,)),
            ((2, 3, 4), (None, 1, Ellipsis, None)),
        ]
    ] + [
        Case(((3, 4),), {"index": (slice(None, None, -1), slice(1, 3))},
             lambda x, index: x.flip(0)[:, 1:3]),
    ],
    "scatter_add": [
        Case(((2, 4),), {"index": (slice(0, 2),), "shape": (3, 4)}, _torch_scatter_add),
        Case(((4,),), {"index": (np.array([0, 2, 0, 0]),), "shape": (3,)}, _torch_scatter_add),
        Case(((3, 2),), {"index": (slice(None), np.array([1, 1])), "shape": (3, 4)},
             _torch_scatter_add),
    ],
    "concat": [
        Case(((2, 3), (1, 3)), {"axis": 0}, lambda *xs, axis: _t("cat")(xs, dim=axis)),
        Case(((2, 3), (2, 2), (2, 1)), {"axis": 1}, lambda *xs, axis: _t("cat")(xs, dim=axis)),
        Case(((4,), (2,)), {"axis": -1}, lambda *xs, axis: _t("cat")(xs, dim=axis)),
    ],
    "stack": [
        Case(((3, 4),) * 3, {"axis": 0}, lambda *xs, axis: _t("stack")(xs, dim=axis)),
        Case(((4,), (4,)), {"axis": 1}, lambda *xs, axis: _t("stack")(xs, dim=axis)),
        Case(((), ()), {"axis": 0}, lambda *xs, axis: _t("stack")(xs, dim=axis)),
        Case(((3, 4),) * 2, {"axis": -1}, lambda *xs, axis: _t("stack")(xs, dim=axis)),
    ],
    "where": [
        Case(((3, 4), (4,)), {"condition": MASK_34},
             lambda x, y, condition: _t("where")(_t("as_tensor")(condition), x, y)),
        Case(((), (3, 4)), {"condition": MASK_34},
             lambda x, y, condition: _t("where")(_t("as_tensor")(condition), x, y)),
    ],
    "pad": [
        Case(((3, 4),), {"pad_width": ((1, 0), (2, 1))}, _torch_pad),
        Case(((2, 3, 4),), {"pad_width": ((0, 0), (1, 1), (0, 2))}, _torch_pad),
        Case(((4,),), {"pad_width": ((1, 2),)}, _torch_pad),
    ],
    "clip": [
        Case((shape,), {"low": low, "high": high}, lambda x, low, high: x.clamp(low, high),
             kinks=(low, high))
        for shape, low, high in [((3, 4), -1.0, 1.0), ((), -1.0, 1.0), ((2, 3, 4), -np.inf, 0.5)]
    ],
    "pow_constant": [
        Case((shape,), {"exponent": c}, lambda x, exponent: x**exponent, domain=domain)
        for shape in [(), (3, 4)]
        for c, domain in [(2, (-2.0, 2.0)), (3, (-2.0, 2.0)), (-1.5, None), (0.5, None), (0, None)]
    ],
    "dot": [  # Values only: a neuron's weighted sum, weights first, then inputs
        Case(((),) * 6, torch=lambda *xs: sum(w * x for w, x in zip(xs[:3], xs[3:]))),
        Case(((),) * 2, torch=lambda w, x: w * x),
    ],
    "softmax": [
        Case(((3, 4),), {"axis": -1}, lambda x, axis: x.softmax(axis)),
        Case(((3, 4),), {"axis": 0}, lambda x, axis: x.softmax(axis)),
        Case(((2, 3, 4),), {"axis": 1}, lambda x, axis: x.softmax(axis)),
    ],
    "log_softmax": [
        Case(((3, 4),), {"axis": -1}, lambda x, axis: x.log_softmax(axis)),
        Case(((2, 3, 4),), {"axis": 0}, lambda x, axis: x.log_softmax(axis)),
    ],
    "logsumexp": [
        Case(((3, 4),), {"axis": -1, "keepdims": False},
             lambda x, axis, keepdims: x.logsumexp(axis, keepdims)),
        Case(((2, 3, 4),), {"axis": (0, 2), "keepdims": True},
             lambda x, axis, keepdims: x.logsumexp(axis, keepdims)),
        Case(((3, 4),), {"axis": None, "keepdims": False},
             lambda x, axis, keepdims: x.logsumexp((0, 1), keepdims)),
    ],
    "cross_entropy": [
        Case(((4, 5),), {"target": np.array([0, 4, 2, 2])}, _torch_cross_entropy),
        Case(((4, 5),), {"target": ONE_HOT}, _torch_cross_entropy,
             call=lambda x, target: F.cross_entropy(x, target)),
        Case(((4, 5),), {"target": PROBABILITIES}, _torch_cross_entropy,
             call=lambda x, target: F.cross_entropy(x, target)),
        Case(((4, 5),), {"target": PROBABILITIES * 3}, _torch_cross_entropy,  # rows sum to 3
             call=lambda x, target: F.cross_entropy(x, target)),
    ],
    "conv2d": [
        Case((*CONV, (3,)), {"stride": s, "padding": p}, _torch_conv)
        for s in (1, 2)
        for p in (0, 1)
    ] + [
        Case(((1, 2, 4, 5), (3, 2, 2, 3)), {"stride": 1, "padding": 1},
             _torch_conv),
        Case(((1, 1, 6, 6), (2, 1, 3, 3)), {"stride": 2, "padding": 0},
             _torch_conv),
    ],
    "conv2d_input_grad": [
        Case(((2, 3, 3, 3), CONV[1]),
             {"input_shape": CONV[0], "stride": s, "padding": p}, _torch_conv_input_grad)
        for s, p in [(1, 0), (2, 1)]
    ],
    "conv2d_weight_grad": [
        Case((CONV[0], (2, 3, 3, 3)),
             {"kernel_size": (3, 3), "stride": s, "padding": p}, _torch_conv_weight_grad)
        for s, p in [(1, 0), (2, 1)]
    ],
    **{
        name: [
            Case((shape,), {"kernel": k, "stride": s, "padding": p},
                 _torch_pool(name),
                 unique=True)
            for shape, k, s, p in [((2, 2, 5, 5), 2, 2, 0), ((2, 2, 5, 5), 3, 2, 1),
                                   ((1, 2, 4, 4), 2, 1, 1), ((1, 1, 4, 6), 2, 2, 0)]
        ]
        for name in ("max_pool2d", "avg_pool2d")
    },
    "max_pool2d_scatter": [
        Case(((2, 2, 3, 3),), {"index": POOL_INDEX, "input_shape": (2, 2, 5, 5), "kernel": 3,
                               "stride": 2, "padding": 1},
             _torch_pool_vjp("max_pool2d", POOL_SOURCE)),
    ],
    "max_pool2d_gather": [
        Case(((2, 2, 5, 5),), {"index": POOL_INDEX, "kernel": 3, "stride": 2, "padding": 1},
             _torch_pool_gather(POOL_SOURCE)),
    ],
    "avg_pool2d_spread": [
        Case(((2, 2, 3, 3),), {"input_shape": (2, 2, 5, 5), "kernel": 3, "stride": 2,
                               "padding": 1}, _torch_pool_vjp("avg_pool2d", POOL_SOURCE)),
    ],
}

# Convolution options (pairs, dilation), transposed convolution, im2col/col2im, normalisation.


def _torch_conv_options(x, w, *b, stride=1, padding=0, dilation=1):
    return TF.conv2d(x, w, b[0] if b else None, stride=stride, padding=padding,
                     dilation=dilation)


def _torch_conv_input_grad_options(g, w, input_shape, stride, padding, dilation=1):
    return torch.nn.grad.conv2d_input(input_shape, w, g, stride=stride, padding=padding,
                                      dilation=dilation)


def _torch_conv_weight_grad_options(x, g, kernel_size, stride, padding, dilation=1):
    shape = (g.shape[1], x.shape[1], *kernel_size)
    return torch.nn.grad.conv2d_weight(x, shape, g, stride=stride, padding=padding,
                                       dilation=dilation)


def _torch_conv_transpose(x, w, *b, output_shape, stride=1, padding=0, dilation=1):
    pairs = [(s, s) if isinstance(s, int) else s for s in (stride, padding, dilation)]
    extra = [
        size - ((n - 1) * s - 2 * p + d * (k - 1) + 1)
        for size, n, k, s, p, d in zip(output_shape[2:], x.shape[2:], w.shape[2:], *pairs)
    ]
    return TF.conv_transpose2d(x, w, b[0] if b else None, stride=stride, padding=padding,
                               output_padding=tuple(extra), dilation=dilation)


def _torch_im2col(x, kernel_size, stride=1, padding=0, dilation=1):
    return TF.unfold(x, kernel_size, dilation=dilation, padding=padding, stride=stride)


def _torch_col2im(c, input_shape, kernel_size, stride=1, padding=0, dilation=1):
    return TF.fold(c, input_shape[2:], kernel_size, dilation=dilation, padding=padding,
                   stride=stride)


def _torch_normalize(x, axis, eps):
    centred = x - x.mean(dim=axis, keepdim=True)
    return centred / (centred.pow(2).mean(dim=axis, keepdim=True) + eps).sqrt()


def _torch_max_pool(x, kernel, stride, padding=0, dilation=1):
    return TF.max_pool2d(x, kernel, stride, padding, dilation)


DILATED_SOURCE = RNG.standard_normal((1, 2, 7, 8))
DILATED_INDEX = convolution._pool_argmax(DILATED_SOURCE, (2, 3), (2, 1), (1, 0), (2, 1))


def _torch_dilated_pool_vjp(g, index, input_shape, kernel, stride, padding, dilation):
    x = torch.tensor(DILATED_SOURCE, requires_grad=True)
    out = TF.max_pool2d(x, kernel, stride, padding, dilation)
    return torch.autograd.grad(out, x, g, create_graph=True)[0]


def _torch_dilated_pool_gather(v, index, kernel, stride, padding, dilation):
    out, chosen = TF.max_pool2d(torch.tensor(DILATED_SOURCE), kernel, stride, padding,
                                dilation, return_indices=True)
    return v.flatten(2).gather(2, chosen.flatten(2)).view_as(out)


CASES["conv2d"] += [
    Case(((2, 2, 7, 6), (3, 2, 3, 2), (3,)),
         {"stride": (2, 1), "padding": (1, 0), "dilation": (1, 2)}, _torch_conv_options),
    Case(((1, 2, 6, 6), (2, 2, 2, 2)), {"stride": 1, "padding": 2, "dilation": 2},
         _torch_conv_options),
]
CASES["conv2d_input_grad"] += [
    Case(((2, 3, 4, 4), (3, 2, 3, 2)),
         {"input_shape": (2, 2, 7, 6), "stride": (2, 1), "padding": (1, 0),
          "dilation": (1, 2)}, _torch_conv_input_grad_options),
]
CASES["conv2d_weight_grad"] += [
    Case(((2, 2, 7, 6), (2, 3, 4, 4)),
         {"kernel_size": (3, 2), "stride": (2, 1), "padding": (1, 0), "dilation": (1, 2)},
         _torch_conv_weight_grad_options),
]
CASES["conv_transpose2d"] = [
    Case(((2, 3, 3, 3), (3, 2, 3, 3), (2,)), {"output_shape": (2, 2, 6, 6), "stride": 2,
                                              "padding": 1}, _torch_conv_transpose),
    Case(((1, 2, 4, 3), (2, 3, 2, 3)), {"output_shape": (1, 3, 5, 5), "stride": 1,
                                        "padding": 0}, _torch_conv_transpose),
    Case(((1, 2, 3, 4), (2, 2, 3, 2)),  # output_padding (1, 0): one more row
         {"output_shape": (1, 2, 10, 3), "stride": (2, 1), "padding": (0, 1),
          "dilation": (2, 1)}, _torch_conv_transpose),
]
CASES["im2col"] = [
    Case(((2, 2, 5, 5),), {"kernel_size": (3, 3), "stride": 1, "padding": 0}, _torch_im2col),
    Case(((1, 2, 6, 5),), {"kernel_size": (2, 3), "stride": (2, 1), "padding": (1, 0),
                           "dilation": (2, 1)}, _torch_im2col),
]
CASES["col2im"] = [
    Case(((2, 18, 9),), {"input_shape": (2, 2, 5, 5), "kernel_size": (3, 3), "stride": 1,
                         "padding": 0}, _torch_col2im),
    Case(((1, 12, 9),), {"input_shape": (1, 2, 6, 5), "kernel_size": (2, 3),
                          "stride": (2, 1), "padding": (1, 0), "dilation": (2, 1)},
         _torch_col2im),
]
CASES["max_pool2d"] += [
    Case(((1, 2, 5, 7),), {"kernel": (2, 3), "stride": (1, 2), "padding": (1, 0)},
         _torch_max_pool, unique=True),
    Case(((1, 2, 7, 8),), {"kernel": (2, 3), "stride": (2, 1), "padding": (1, 0),
                           "dilation": (2, 1)}, _torch_max_pool, unique=True),
]
CASES["avg_pool2d"] += [
    Case(((1, 2, 5, 7),), {"kernel": (2, 3), "stride": (1, 2), "padding": (1, 0)},
         _torch_pool("avg_pool2d")),
]
CASES["max_pool2d_scatter"] += [
    Case((DILATED_INDEX.shape,), {"index": DILATED_INDEX, "input_shape": (1, 2, 7, 8),
                                  "kernel": (2, 3), "stride": (2, 1), "padding": (1, 0),
                                  "dilation": (2, 1)}, _torch_dilated_pool_vjp),
]
CASES["max_pool2d_gather"] += [
    Case(((1, 2, 7, 8),), {"index": DILATED_INDEX, "kernel": (2, 3), "stride": (2, 1),
                           "padding": (1, 0), "dilation": (2, 1)}, _torch_dilated_pool_gather),
]
CASES["normalize"] = [
    Case(((4, 3),), {"axis": (0,), "eps": 1e-5}, _torch_normalize),  # batch norm, features
    Case(((3, 2, 2, 3),), {"axis": (0, 2, 3), "eps": 1e-5}, _torch_normalize),  # images
    Case(((2, 3, 5),), {"axis": (2,), "eps": 1e-5}, _torch_normalize),  # layer norm
    Case(((2, 3, 4),), {"axis": (1, 2), "eps": 0.1}, _torch_normalize),
]

# PyTorch's name for each elementwise op that has no case of its own.
TORCH_ELEMENTWISE = {
    name: name
    for name in ["add", "sub", "mul", "div", "pow", "neg", "exp", "log", "sqrt", "tanh",
                 "sigmoid", "relu", "sin", "cos", "abs"]
}


# ---------------------------------------------------------------- elementwise ops, found


def _arity(op: type[Op]) -> int | None:
    """How many inputs a parameter-free forward takes (None if it has parameters)."""
    parameters = inspect.signature(op.forward).parameters.values()
    if any(p.kind is not p.POSITIONAL_OR_KEYWORD or p.default is not p.empty for p in parameters):
        return None
    return len(parameters)


def _sample(op: type[Op], shape: tuple, rng: np.random.Generator) -> np.ndarray:
    low, high = op.domain
    x = rng.uniform(low, high, shape)
    for kink in op.kinks:  # keep clear of the points where f has no derivative
        x = np.where(np.abs(x - kink) < 0.05, kink + 0.1, x)
    return x


def _elementwise_failure(op: type[Op]) -> str | None:
    """Why op is not elementwise (None if it is): f(array)[i] must equal f(array[i])."""
    n = _arity(op)
    if n is None or n == 0:
        return "its forward takes parameters or a variable number of inputs"
    if not op.on_tensors:
        return None  # Values only: every input is a single number
    rng = np.random.default_rng(0)
    inputs = [_sample(op, (3, 4), rng) for _ in range(n)]
    try:
        out = np.asarray(op.forward(*inputs))
    except Exception as error:  # not elementwise if it cannot even take arrays
        return f"its forward fails on (3, 4) arrays: {error}"
    if out.shape != (3, 4):
        return f"(3, 4) inputs give shape {out.shape}"
    for index in np.ndindex(3, 4):
        one = op.forward(*[np.asarray(x[index]) for x in inputs])
        if not np.isclose(float(np.asarray(one)), out[index], rtol=1e-12, atol=1e-12):
            return f"element {index} differs when computed alone"
    return None


ELEMENTWISE = sorted(name for name in OPS if name not in CASES and _arity(OPS[name]))


def test_every_op_has_a_case():
    missing = {
        name: reason
        for name, op in OPS.items()
        if name not in CASES and (reason := _elementwise_failure(op)) is not None
    }
    assert not missing, (
        "these ops need an entry in CASES in tests/test_ops.py (they are not elementwise): "
        + "; ".join(f"{name}: {reason}" for name, reason in missing.items())
    )


def test_cases_name_registered_ops():
    assert set(CASES) <= set(OPS)


def test_an_op_without_a_case_is_caught():
    class Outer(Op):
        """f(x, y) = outer product; test-only op that is not elementwise"""

        name = "test_ops_outer"

        def forward(x, y):
            return np.multiply.outer(x, y)

    try:
        assert _elementwise_failure(Outer) is not None
        assert _elementwise_failure(OPS["mul"]) is None
    finally:
        del Op.registry["test_ops_outer"]


# ---------------------------------------------------------------- strategies


def _floats(domain: tuple[float, float], kinks: tuple[float, ...]) -> st.SearchStrategy:
    low, high = domain
    return st.floats(low, high, allow_nan=False, allow_infinity=False).filter(
        lambda v: all(abs(v - k) > 1e-3 for k in kinks)
    )


def _arrays(shapes, domain, kinks, unique=False) -> st.SearchStrategy:
    elements = _floats(domain, kinks)
    if unique:  # a hundredth apart at least: no near-ties inside a finite difference step
        low, high = (int(np.ceil(v * 100)) for v in domain)
        elements = st.integers(low, high - 1).map(lambda k: k / 100)
    return st.tuples(*[
        hnp.arrays(np.float64, shape, elements=elements, unique=unique) for shape in shapes
    ])


def _all_cases() -> list[tuple[str, Case]]:
    """Every op with its cases: explicit ones, plus generated ones for elementwise ops."""
    cases = [(name, case) for name, op_cases in CASES.items() if name in OPS for case in op_cases]
    for name in ELEMENTWISE:
        op, n = OPS[name], _arity(OPS[name])
        torch_fn = _t(TORCH_ELEMENTWISE[name]) if name in TORCH_ELEMENTWISE else None
        if op.on_values:
            cases.append((name, Case(((),) * n, torch=torch_fn)))
        if op.on_tensors:
            for shapes in itertools.product(SHAPES, repeat=n):
                if any(s != () for s in shapes):
                    cases.append((name, Case(shapes, torch=torch_fn)))
    return cases


ALL = _all_cases()
SCALAR = [(n, c) for n, c in ALL if OPS[n].on_values and all(s == () for s in c.shapes)]
TENSOR = [(n, c) for n, c in ALL if OPS[n].on_tensors]


def _ids(cases):
    return [f"{name}-{'x'.join(map(str, case.shapes))}-{i}" for i, (name, case) in enumerate(cases)]


def _run(name: str, case: Case, *inputs):
    call = case.call or OPS[name].apply
    return call(*inputs, **case.params)


def _domain(name: str, case: Case) -> tuple:
    return case.domain or OPS[name].domain, case.kinks if case.kinks is not None else OPS[
        name].kinks


# ---------------------------------------------------------------- the tests


def _compare_with_torch(name: str, case: Case, arrays: list, scalar: bool) -> None:
    """Forward and every input's gradient equal PyTorch's, float64, to 1e-10."""
    if case.torch is None:
        return  # an op PyTorch does not have (still gradient-checked)
    if scalar:
        ours = [Value(float(a)) for a in arrays]
    else:
        ours = [Tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    out = _run(name, case, *ours)
    expected = case.torch(*theirs, **case.params)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-10, atol=1e-10)
    weights = np.random.default_rng(1).standard_normal(np.shape(out.data))
    loss = out * float(weights) if scalar else (out * weights).sum()
    loss.backward()
    (expected * torch.as_tensor(weights)).sum().backward()
    for mine, reference in zip(ours, theirs):
        wanted = np.zeros(np.shape(mine.data)) if reference.grad is None else reference.grad
        np.testing.assert_allclose(mine.grad, np.asarray(wanted), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize(("name", "case"), SCALAR, ids=_ids(SCALAR))
@EXAMPLES
@given(data=st.data())
def test_values(name, case, data):
    """Values: gradcheck, then forward and gradients against PyTorch when it is installed."""
    domain, kinks = _domain(name, case)
    numbers = data.draw(st.tuples(*[_floats(domain, kinks) for _ in case.shapes]))
    inputs = [Value(v, name=f"x{i}") for i, v in enumerate(numbers)]
    assert gradcheck(lambda *xs: _run(name, case, *xs), inputs)
    if torch is not None:
        _compare_with_torch(name, case, list(numbers), scalar=True)


@pytest.mark.parametrize(("name", "case"), TENSOR, ids=_ids(TENSOR))
@EXAMPLES
@given(data=st.data())
def test_tensors(name, case, data):
    """Tensors: gradcheck, then forward and gradients against PyTorch when it is installed."""
    domain, kinks = _domain(name, case)
    arrays = data.draw(_arrays(case.shapes, domain, kinks, case.unique))
    inputs = [Tensor(a, requires_grad=True, name=f"x{i}") for i, a in enumerate(arrays)]
    assert gradcheck(lambda *xs: _run(name, case, *xs), inputs)
    if torch is not None:
        _compare_with_torch(name, case, list(arrays), scalar=False)


def _fixed_inputs(name: str, case: Case, dtype) -> list[Tensor]:
    """Distinct values inside the domain, away from kinks (deterministic, no hypothesis)."""
    rng = np.random.default_rng(3)
    domain, kinks = _domain(name, case)
    low, high = (max(domain[0], -3.0), min(domain[1], 3.0))
    arrays = []
    for shape in case.shapes:
        x = rng.uniform(low, high, shape)
        for kink in kinks:
            x = np.where(np.abs(x - kink) < 0.05, np.clip(kink + 0.1, low, high), x)
        arrays.append(x.astype(dtype))
    return [Tensor(a, requires_grad=True) for a in arrays]


@pytest.mark.parametrize(("name", "case"), TENSOR, ids=_ids(TENSOR))
def test_float32_stays_float32(name, case):
    inputs = _fixed_inputs(name, case, np.float32)
    out = _run(name, case, *inputs)
    assert out.dtype == np.float32, f"{name} forward gave {out.dtype}"
    (out * np.ones(out.shape, dtype=np.float32)).sum().backward()
    for i, x in enumerate(inputs):
        assert x.grad.dtype == np.float32, f"{name}: gradient of input {i} is {x.grad.dtype}"


def _second_order_cases() -> list[tuple[str, Case]]:
    """Every explicit case, and each elementwise op once with broadcasting."""
    chosen = [(n, c) for n, c in TENSOR if n in CASES]
    for name in ELEMENTWISE:
        n = _arity(OPS[name])
        if OPS[name].on_tensors:
            shapes = ((3, 4),) if n == 1 else ((3, 4), (4,)) + ((3, 4),) * (n - 2)
            chosen.append((name, Case(shapes)))
    return chosen


SECOND = _second_order_cases()


@pytest.mark.parametrize(("name", "case"), SECOND, ids=_ids(SECOND))
def test_backward_rules_are_differentiable(name, case):
    """create_graph=True: the gradient (a graph itself) passes its own gradcheck."""
    inputs = _fixed_inputs(name, case, np.float64)
    out = _run(name, case, *inputs)
    rng = np.random.default_rng(5)
    weights = rng.standard_normal(out.shape)
    directions = [rng.standard_normal(x.shape) for x in inputs]

    def directional_derivative(*xs):
        with enable_grad():  # gradcheck evaluates under no_grad; the inner grad needs a graph
            grads = autograd.grad((_run(name, case, *xs) * weights).sum(), list(xs),
                                  create_graph=True)
            return sum((g * d).sum() for g, d in zip(grads, directions))

    assert gradcheck(directional_derivative, inputs)


@pytest.mark.parametrize("bias_dtype", ["float32", "float64"])
@pytest.mark.parametrize("bias_shape", [(3,), (2, 3), ()])
def test_linear_adds_the_bias_as_numpy_would(bias_dtype, bias_shape):
    """The bias is added into the product's own array only when that changes nothing."""
    rng = np.random.default_rng(1)
    x, w = rng.normal(size=(2, 4)).astype("float32"), rng.normal(size=(4, 3)).astype("float32")
    b = np.asarray(rng.normal(size=bias_shape), dtype=bias_dtype)
    out = Op.registry["linear"].forward(x, w, b)
    expected = x @ w + b
    assert out.dtype == expected.dtype and np.array_equal(out, expected)
