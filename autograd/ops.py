"""The primitive ops: one class each, forward + backward + the formula in one line.

Backward rules take ``(grad_out, out, *inputs)`` and return one gradient per input. They
use only operators and the helpers in :mod:`autograd.dispatch`, so the same rule runs on
floats, on numpy arrays and on graph nodes (``create_graph=True``). Rules never undo
broadcasting: the engine sums each gradient down to its input's shape.
"""

from __future__ import annotations

import operator

import numpy as np

from .dispatch import (
    constant,
    cos,
    expand_to,
    log,
    log_of_base,
    matmul_transposed,
    relu,
    sign,
    sin,
    where,
    zeros_like,
)
from .dispatch import exp as _exp
from .dispatch import sqrt as _sqrt
from .dispatch import tanh as _tanh
from .op import Op

# ---------------------------------------------------------------- arithmetic


class Add(Op):
    """f(x, y) = x + y; df/dx = 1, df/dy = 1"""
    code = ("{0} + {1}", ("{g}", "{g}"))

    leaves_domain = True  # it can overflow
    symbol = "+"

    def forward(x, y):
        return x + y

    def backward(grad_out, out, x, y):
        return grad_out, grad_out


class Sub(Op):
    """f(x, y) = x - y; df/dx = 1, df/dy = -1"""
    code = ("{0} - {1}", ("{g}", "-{g}"))

    leaves_domain = True  # it can overflow
    symbol = "-"

    def forward(x, y):
        return x - y

    def backward(grad_out, out, x, y):
        return grad_out, -grad_out


class Mul(Op):
    """f(x, y) = x * y; df/dx = y, df/dy = x"""
    code = ("{0} * {1}", ("{g} * {1}", "{g} * {0}"))

    leaves_domain = True  # it can overflow
    symbol = "*"

    def forward(x, y):
        return x * y

    def backward(grad_out, out, x, y):
        return grad_out * y, grad_out * x


class Div(Op):
    """f(x, y) = x / y; df/dx = 1/y, df/dy = -x/y**2"""
    code = ("{0} / {1}", ("{g} / {1}", "-{g} * {out} / {1}"))

    leaves_domain = True
    symbol = "/"
    domain = (0.5, 3.0)

    def forward(x, y):
        return x / y

    def backward(grad_out, out, x, y):
        return grad_out / y, -grad_out * out / y

    def domain_error(x, y):
        return f"division by zero ({x} / {y})" if not np.all(y) else None


class Neg(Op):
    """f(x) = -x; df/dx = -1"""
    code = ("-{0}", ("-{g}",))

    symbol = "-"

    def forward(x):
        return -x

    def backward(grad_out, out, x):
        return (-grad_out,)


class Pow(Op):
    """f(x, y) = x**y; df/dx = y x**(y-1), df/dy = x**y ln x"""
    code = ("{0} ** {1}", ("{g} * {1} * {0} ** ({1} - 1)", "{g} * {out} * np.log({0})"))

    leaves_domain = True
    symbol = "**"
    domain = (0.5, 2.0)

    def forward(x, y):
        return x**y

    def backward(grad_out, out, x, y):
        return grad_out * y * x ** (y - 1), grad_out * out * log_of_base(x)

    def domain_error(x, y):
        if np.any(np.less(x, 0)):
            return f"({x}) ** ({y}) is not a real number"
        if np.any(np.equal(x, 0)) and np.any(np.less(y, 0)):
            return f"0 ** ({y}) divides by zero"
        return _power_overflow(x, y)


class PowConstant(Op):
    """f(x) = x**c for a number c; df/dx = c x**(c-1)"""
    code = ("{0} ** {exponent}", ("{g} * {exponent} * {0} ** ({exponent} - 1)",))

    leaves_domain = True
    name = "pow_constant"
    symbol = "**"
    domain = (0.5, 2.0)

    def forward(x, exponent):
        return x**exponent

    def backward(grad_out, out, x, exponent):
        return (grad_out * exponent * x ** (exponent - 1),)

    def domain_error(x, exponent):
        if np.any(np.less(x, 0)) and np.any(np.mod(exponent, 1) != 0):
            return f"({x}) ** {exponent} is not a real number (negative base, fractional power)"
        if np.any(np.equal(x, 0)) and np.any(np.less(exponent, 0)):
            return f"0 ** {exponent} divides by zero"
        return _power_overflow(x, exponent)


def _power_overflow(x, y):
    """The sentence for a float power too large to hold (arrays give inf instead)."""
    if np.ndim(x) == 0 and np.ndim(y) == 0 and x != 0:
        return f"({x}) ** ({y}) is too large for a float (it overflows)"
    return None


# ------------------------------------------------------------ elementwise maths


class Exp(Op):
    """f(x) = e**x; df/dx = e**x"""
    code = ("np.exp({0})", ("{g} * {out}",))

    leaves_domain = True
    def forward(x):
        return _exp(x)

    def backward(grad_out, out, x):
        return (grad_out * out,)

    def domain_error(x):
        return f"exp({x}) is too large for a float (it overflows)"


class Log(Op):
    """f(x) = ln x; df/dx = 1/x"""
    code = ("np.log({0})", ("{g} / {0}",))

    leaves_domain = True
    domain = (0.2, 3.0)

    def forward(x):
        return log(x)

    def backward(grad_out, out, x):
        return (grad_out / x,)

    def domain_error(x):
        return f"log is defined only for positive numbers, got {x}"


class Sqrt(Op):
    """f(x) = sqrt(x); df/dx = 1 / (2 sqrt(x))"""
    code = ("np.sqrt({0})", ("{g} * 0.5 / {out}",))

    leaves_domain = True
    domain = (0.2, 3.0)

    def forward(x):
        return _sqrt(x)

    def backward(grad_out, out, x):
        return (grad_out * 0.5 / out,)

    def domain_error(x):
        return f"sqrt is defined only for numbers >= 0, got {x}"


class Tanh(Op):
    """f(x) = tanh x; df/dx = 1 - tanh(x)**2"""
    code = ("np.tanh({0})", ("{g} * (1 - {out} * {out})",))

    def forward(x):
        return _tanh(x)

    def backward(grad_out, out, x):
        return (grad_out * (1 - out * out),)


class Sigmoid(Op):
    """f(x) = 1 / (1 + e**-x); df/dx = f(x) (1 - f(x))"""
    code = ("0.5 * (1 + np.tanh(0.5 * {0}))", ("{g} * {out} * (1 - {out})",))

    symbol = "σ"

    def forward(x):
        # 0.5 (1 + tanh(x/2)) is the same function and never overflows.
        if isinstance(x, np.ndarray):  # 0.5 * x of a 0-d array is a numpy scalar, not an array
            return 0.5 * (1 + np.tanh(0.5 * x))
        return 0.5 * (1 + _tanh(0.5 * x))

    def backward(grad_out, out, x):
        return (grad_out * out * (1 - out),)


class Relu(Op):
    """f(x) = max(x, 0); df/dx = 1 if x > 0 else 0"""
    code = ("np.maximum({0}, 0)", ("{g} * ({0} > 0)",))

    kinks = (0.0,)

    def forward(x):
        return relu(x)

    def backward(grad_out, out, x):
        # x > 0 is a boolean (an array of them, or a constant Tensor for a node): it
        # multiplies like 0/1 and needs no float copy of x (less memory).
        return (grad_out * (x > 0),)


class Sin(Op):
    """f(x) = sin x; df/dx = cos x"""
    code = ("np.sin({0})", ("{g} * np.cos({0})",))

    def forward(x):
        return sin(x)

    def backward(grad_out, out, x):
        return (grad_out * cos(x),)


class Cos(Op):
    """f(x) = cos x; df/dx = -sin x"""
    code = ("np.cos({0})", ("-{g} * np.sin({0})",))

    def forward(x):
        return cos(x)

    def backward(grad_out, out, x):
        return (-grad_out * sin(x),)


class Abs(Op):
    """f(x) = |x|; df/dx = sign(x)"""
    code = ("np.abs({0})", ("{g} * np.sign({0})",))

    kinks = (0.0,)

    def forward(x):
        return abs(x)

    def backward(grad_out, out, x):
        return (grad_out * sign(x),)


class Clip(Op):
    """f(x) = min(max(x, low), high); df/dx = 1 between low and high, else 0"""

    kinks = (-1.0, 1.0)

    def forward(x, low, high):
        return np.clip(x, low, high)

    def backward(grad_out, out, x, low, high):
        x = constant(x)
        inside = (x >= low) & (x <= high)
        if isinstance(inside, np.ndarray):
            return (grad_out * inside.astype(x.dtype),)
        return (grad_out * float(inside),)


class Dot(Op):
    """f(w1..wn, x1..xn) = sum_i wi xi; df/dwi = xi, df/dxi = wi (a neuron's weighted sum)"""

    leaves_domain = True  # it can overflow
    elementwise = False
    symbol = "Σw·x"
    on_tensors = False

    def forward(*weights_then_inputs):
        n = len(weights_then_inputs) // 2
        return sum(map(operator.mul, weights_then_inputs[:n], weights_then_inputs[n:]), 0.0)

    def backward(grad_out, out, *weights_then_inputs):
        n = len(weights_then_inputs) // 2
        weights, inputs = weights_then_inputs[:n], weights_then_inputs[n:]
        return tuple(grad_out * x for x in inputs) + tuple(grad_out * w for w in weights)


# --------------------------------------------------------- tensor-only: linear algebra


class MatMul(Op):
    """f(A, B) = A @ B; df/dA = G @ B.T, df/dB = A.T @ G (G the upstream gradient)"""
    code = ("{0} @ {1}", ("{g} @ {1}.T", "{0}.T @ {g}"))

    leaves_domain = True  # it can overflow
    elementwise = False
    symbol = "@"
    on_values = False
    # The engine passes needs_grad (one bool per input), so the product for an input that
    # wants no gradient (the data batch) is skipped: a third of an MLP step's backward.
    selective_backward = True

    def forward(a, b):
        return a @ b

    def backward(grad_out, out, a, b, needs_grad=(True, True)):
        if a.ndim >= 2 and b.ndim >= 2:  # matrices (or stacks of them): the textbook rule
            grad_a = matmul_transposed(grad_out, b, False) if needs_grad[0] else None
            grad_b = matmul_transposed(a, grad_out, True) if needs_grad[1] else None
            return grad_a, grad_b
        # A vector on the left acts as a one-row matrix, on the right as a one-column matrix.
        a_matrix = a.reshape(1, -1) if a.ndim == 1 else a
        b_matrix = b.reshape(-1, 1) if b.ndim == 1 else b
        g_shape = grad_out.shape
        if a.ndim == 1 and b.ndim == 1:
            g_shape = (1, 1)
        elif a.ndim == 1:
            g_shape = g_shape[:-1] + (1, g_shape[-1])
        elif b.ndim == 1:
            g_shape = g_shape + (1,)
        g = grad_out.reshape(g_shape)
        grad_a = grad_b = None
        if needs_grad[0]:
            grad_a = matmul_transposed(g, b_matrix, False)
            if a.ndim == 1:
                grad_a = grad_a.reshape(grad_a.shape[:-2] + grad_a.shape[-1:])
        if needs_grad[1]:
            grad_b = matmul_transposed(a_matrix, g, True)
            if b.ndim == 1:
                grad_b = grad_b.reshape(grad_b.shape[:-1])
        return grad_a, grad_b

    def domain_error(a, b):
        shapes = f"shapes {tuple(np.shape(a))} and {tuple(np.shape(b))}"
        if np.ndim(a) == 0 or np.ndim(b) == 0:
            return f"{shapes}: @ needs tensors with at least one axis (use * for a scalar)"
        inner_a = a.shape[-1]
        inner_b = b.shape[-2] if b.ndim >= 2 else b.shape[0]
        if inner_a != inner_b:
            return f"{shapes} do not align ({inner_a} != {inner_b})"
        return f"{shapes}: the batch axes {a.shape[:-2]} and {b.shape[:-2]} do not broadcast"


class Linear(Op):
    """f(x, W, b) = x @ W + b; df/dx = G @ W.T, df/dW = x.T @ G, df/db = G summed over rows"""
    code = ("{0} @ {1} + {2}", ("{g} @ {1}.T", "{0}.T @ {g}", "{g}.sum(axis=0)"))

    leaves_domain = True  # it can overflow
    elementwise = False
    on_values = False
    # A layer of neurons as one node instead of two (matmul, then add): the graph of an
    # MLP is smaller, and the product for the data batch (no gradient) is skipped.
    selective_backward = True

    def forward(x, weight, bias):
        out = x @ weight
        if bias.ndim == 1 and out.shape[-1:] == bias.shape and out.dtype == bias.dtype:
            out += bias  # into the product's own new array: one pass less
            return out
        return out + bias

    def backward(grad_out, out, x, weight, bias, needs_grad=(True, True, True)):
        if x.ndim != 2:  # one example, or extra batch axes: the same rule on rows
            n_in, n_out = weight.shape
            rows = Linear.backward(grad_out.reshape(-1, n_out), None, x.reshape(-1, n_in),
                                   weight, bias, needs_grad)
            grad_x = None if rows[0] is None else rows[0].reshape(x.shape)
            return grad_x, rows[1], rows[2]
        grad_x = grad_out @ weight.T if needs_grad[0] else None
        grad_weight = x.T @ grad_out if needs_grad[1] else None
        grad_bias = grad_out.sum(axis=0) if needs_grad[2] else None
        return grad_x, grad_weight, grad_bias

    def domain_error(x, weight, bias):
        shapes = (f"x of shape {tuple(np.shape(x))}, W of shape {tuple(np.shape(weight))} "
                  f"and b of shape {tuple(np.shape(bias))}")
        if np.ndim(weight) != 2 or np.ndim(bias) != 1 or np.ndim(x) == 0:
            return f"{shapes}: W must be a matrix (n_in, n_out), b a vector (n_out,)"
        return f"{shapes} do not fit x @ W + b"


# ------------------------------------------------------------- tensor-only: reductions


def _axis_error(x, axis=None, keepdims=False):
    """The sentence for a reduction over an axis the tensor does not have."""
    ndim = np.ndim(x)
    axes = () if axis is None else (axis,) if isinstance(axis, (int, np.integer)) else axis
    bad = [a for a in axes if not -ndim <= a < ndim]
    if bad:
        return f"axis {bad[0]} does not exist for a tensor of shape {tuple(np.shape(x))}"
    if len(set(a % ndim for a in axes)) != len(axes):
        return f"axis {axis} repeats an axis"
    return None


class Sum(Op):
    """f(x) = sum of x over axis; df/dx = 1 for every summed element"""
    code = ("{0}.sum(axis={axis}, keepdims={keepdims})", ("np.broadcast_to({g}, {0}.shape)",))

    leaves_domain = True  # it can overflow
    elementwise = False
    on_values = False

    def forward(x, axis=None, keepdims=False):
        return np.add.reduce(x, axis=axis, keepdims=keepdims)  # np.sum minus its overhead

    def backward(grad_out, out, x, axis=None, keepdims=False):
        return (expand_to(grad_out, x.shape, axis, keepdims),)

    domain_error = _axis_error


class Mean(Op):
    """f(x) = mean of x over axis; df/dx = 1/n for each of the n averaged elements"""
    code = ("{0}.mean(axis={axis}, keepdims={keepdims})",
            ("np.broadcast_to({g} / ({0}.size // {out}.size), {0}.shape)",))

    leaves_domain = True  # it can overflow
    elementwise = False
    on_values = False

    def forward(x, axis=None, keepdims=False):
        total = np.add.reduce(x, axis=axis, keepdims=keepdims)  # np.mean minus its overhead
        return total / (x.size // max(np.size(total), 1))

    def backward(grad_out, out, x, axis=None, keepdims=False):
        count = x.size // max(constant(out).size, 1)
        return (expand_to(grad_out / count, x.shape, axis, keepdims),)

    domain_error = _axis_error


class Max(Op):
    """f(x) = max of x over axis; df/dx = 1 at the maximum (shared equally by ties), else 0"""

    on_values = False

    def forward(x, axis=None, keepdims=False):
        return np.max(x, axis=axis, keepdims=keepdims)

    def backward(grad_out, out, x, axis=None, keepdims=False):
        return (_extremum_grad(grad_out, out, x, axis, keepdims),)

    domain_error = _axis_error


class Min(Op):
    """f(x) = min of x over axis; df/dx = 1 at the minimum (shared equally by ties), else 0"""

    on_values = False

    def forward(x, axis=None, keepdims=False):
        return np.min(x, axis=axis, keepdims=keepdims)

    def backward(grad_out, out, x, axis=None, keepdims=False):
        return (_extremum_grad(grad_out, out, x, axis, keepdims),)

    domain_error = _axis_error


def _extremum_grad(grad_out, out, x, axis, keepdims):
    """Route the gradient of max/min to the elements that attain it."""
    x_data = constant(x)
    chosen = x_data == expand_to(constant(out), x_data.shape, axis, keepdims)
    share = chosen / chosen.sum(axis=axis, keepdims=True)
    return expand_to(grad_out, x_data.shape, axis, keepdims) * share.astype(x_data.dtype)


# ---------------------------------------------------------- tensor-only: shape and index


class Reshape(Op):
    """f(x) = x with a new shape; df/dx = the gradient reshaped back"""
    code = ("{0}.reshape({shape})", ("{g}.reshape({0}.shape)",))

    on_values = False

    def forward(x, shape):
        return np.reshape(x, shape)

    def backward(grad_out, out, x, shape):
        return (grad_out.reshape(x.shape),)

    def domain_error(x, shape):
        return f"cannot reshape a tensor of shape {tuple(np.shape(x))} into shape {shape}"


class Transpose(Op):
    """f(x) = x with axes permuted; df/dx = the gradient permuted back"""
    code = ("{0}.transpose({axes})", ("{g}.transpose(np.argsort({axes}))",))

    on_values = False

    def forward(x, axes=None):
        return np.transpose(x, axes)

    def backward(grad_out, out, x, axes=None):
        inverse = None if axes is None else tuple(np.argsort(axes))
        return (grad_out.transpose(inverse),)

    def domain_error(x, axes=None):
        return f"axes {axes} are not a permutation of the axes of shape {tuple(np.shape(x))}"


class BroadcastTo(Op):
    """f(x) = x repeated to a larger shape; df/dx = the gradient summed over the repeats"""

    name = "broadcast_to"
    on_values = False

    def forward(x, shape):
        return np.broadcast_to(x, shape)

    def backward(grad_out, out, x, shape):
        return (grad_out,)  # the engine sums it down to x's shape

    def domain_error(x, shape):
        return f"cannot broadcast shape {tuple(np.shape(x))} to shape {tuple(shape)}"


class GetItem(Op):
    """f(x) = x[index]; df/dx = the gradient put back at index (repeats add up)"""

    name = "getitem"
    symbol = "[]"
    on_values = False

    def forward(x, index):
        return x[index]

    def backward(grad_out, out, x, index):
        if isinstance(grad_out, np.ndarray):
            return (_scatter_add(grad_out, index, x.shape),)
        return (ScatterAdd.apply(grad_out, index=index, shape=x.shape),)

    def domain_error(x, index):
        return f"index {index!r} does not fit a tensor of shape {tuple(np.shape(x))}"


class ScatterAdd(Op):
    """f(g) = zeros(shape) with g added at index; df/dg = the gradient read at index"""

    leaves_domain, elementwise = True, False  # it can overflow
    name = "scatter_add"
    on_values = False

    def forward(g, index, shape):
        return _scatter_add(g, index, shape)

    def backward(grad_out, out, g, index, shape):
        return (grad_out[index],)


def _scatter_add(g, index, shape):
    full = np.zeros(shape, dtype=np.result_type(g))
    if _is_basic(index):
        full[index] += g  # slices never repeat an element
    else:
        np.add.at(full, index, g)  # integer arrays may: repeats must add up
    return full


def _is_basic(index):
    """True when an index holds only ints, slices, None and Ellipsis (no arrays)."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(isinstance(p, (int, np.integer, slice, type(None), type(Ellipsis))) for p in parts)


class Concat(Op):
    """f(x1, ..., xn) = the inputs joined along axis; df/dxi = the gradient's slice for xi"""

    on_values = False

    def forward(*tensors, axis=0):
        return np.concatenate(tensors, axis=axis)

    def backward(grad_out, out, *tensors, axis=0):
        grads, start = [], 0
        for t in tensors:
            size = t.shape[axis]
            index = [slice(None)] * t.ndim
            index[axis] = slice(start, start + size)
            grads.append(grad_out[tuple(index)])
            start += size
        return tuple(grads)


class Stack(Op):
    """f(x1, ..., xn) = the inputs stacked on a new axis; df/dxi = the gradient's i-th slice"""

    on_values = False

    def forward(*tensors, axis=0):
        return np.stack(tensors, axis=axis)

    def backward(grad_out, out, *tensors, axis=0):
        leading = (slice(None),) * (axis % (tensors[0].ndim + 1))
        return tuple(grad_out[leading + (i,)] for i in range(len(tensors)))


class Where(Op):
    """f(x, y) = x where condition else y; df/dx = 1 where condition, df/dy = 1 elsewhere"""

    on_values = False

    def forward(x, y, condition):
        return np.where(condition, x, y)

    def backward(grad_out, out, x, y, condition):
        zero = zeros_like(grad_out)
        return where(condition, grad_out, zero), where(condition, zero, grad_out)

    def domain_error(x, y, condition):
        shapes = ", ".join(str(tuple(np.shape(v))) for v in (condition, x, y))
        return f"condition, x and y of shapes {shapes} cannot be broadcast together"


class Pad(Op):
    """f(x) = x surrounded by zeros; df/dx = the gradient with the padding cut away"""

    on_values = False

    def forward(x, pad_width):
        return np.pad(x, pad_width)

    def backward(grad_out, out, x, pad_width):
        widths = np.broadcast_to(np.asarray(pad_width, dtype=int), (x.ndim, 2))
        index = tuple(slice(before, before + n) for (before, _), n in zip(widths, x.shape))
        return (grad_out[index],)

    def domain_error(x, pad_width):
        return f"pad_width {pad_width} does not fit a tensor of shape {tuple(np.shape(x))}"
