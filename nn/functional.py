"""nn.functional: softmax and friends, a fused cross-entropy, convolution, pooling, dropout.

Each function takes and returns Tensors. The heavy ones are primitives registered in the
op registry (so the registry-wide tests gradient-check them), each with a backward rule
written for speed on numpy arrays. Where a rule needs another primitive, it calls it
through :func:`_run`, which runs the raw numpy forward on arrays and records a node on
graph nodes: that is what keeps ``create_graph=True`` working through convolutions.

    >>> x = Tensor(np.random.randn(8, 1, 28, 28))
    >>> w = Tensor(np.random.randn(4, 1, 3, 3), requires_grad=True)
    >>> y = max_pool2d(relu(conv2d(x, w, padding=1)), 2)     # shape (8, 4, 14, 14)
"""

from __future__ import annotations

import math
import threading
from typing import Any

import numpy as np

from chaingrad.autograd import Node, Op, OpError, Tensor
from chaingrad.autograd.dispatch import constant, expand_to
from chaingrad.autograd.dispatch import exp as _exp

__all__ = [
    "avg_pool2d",
    "conv2d",
    "cross_entropy",
    "dropout",
    "log_softmax",
    "logsumexp",
    "max_pool2d",
    "relu",
    "softmax",
]


def _run(op: type[Op], *inputs: Any, **params: Any) -> Any:
    """Apply ``op`` to nodes (recording the graph) or run its forward on raw arrays."""
    if any(isinstance(x, Node) for x in inputs):
        return op.apply(*inputs, **params)
    return op.forward(*inputs, **params)


def _tensor(x: Any, function: str) -> Tensor:
    if isinstance(x, Tensor):
        return x
    if isinstance(x, Node):
        raise TypeError(f"{function}: expected a Tensor, got a Value; use Tensor(value.data)")
    return Tensor(x)


def relu(x: Tensor) -> Tensor:
    """max(x, 0), elementwise."""
    return _tensor(x, "relu").relu()


# ------------------------------------------------------------------ softmax family


class Softmax(Op):
    """f(x)_i = e**x_i / sum_j e**x_j over axis; df_i/dx_j = f_i (1[i == j] - f_j)"""

    on_values = False

    def forward(x, axis=-1):
        e = np.exp(x - x.max(axis=axis, keepdims=True))  # shifting by the max cannot overflow
        e /= e.sum(axis=axis, keepdims=True)
        return e

    def backward(grad_out, out, x, axis=-1):
        return (out * (grad_out - (grad_out * out).sum(axis=axis, keepdims=True)),)


class LogSoftmax(Op):
    """f(x)_i = x_i - log sum_j e**x_j over axis; df_i/dx_j = 1[i == j] - softmax(x)_j"""

    name = "log_softmax"
    on_values = False

    def forward(x, axis=-1):
        shifted = x - x.max(axis=axis, keepdims=True)
        shifted -= np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
        return shifted

    def backward(grad_out, out, x, axis=-1):
        return (grad_out - _exp(out) * grad_out.sum(axis=axis, keepdims=True),)


class LogSumExp(Op):
    """f(x) = log sum_i e**x_i over axis; df/dx_i = e**x_i / sum_j e**x_j (the softmax)"""

    on_values = False

    def forward(x, axis=-1, keepdims=False):
        top = x.max(axis=axis, keepdims=True)
        top = np.where(np.isfinite(top), top, 0)  # a row of -inf stays -inf, not nan
        with np.errstate(divide="ignore"):  # log(0) = -inf is the right answer there
            total = np.log(np.exp(x - top).sum(axis=axis, keepdims=True)) + top
        return total if keepdims else np.squeeze(total, axis=axis)

    def backward(grad_out, out, x, axis=-1, keepdims=False):
        shape = constant(x).shape
        return (expand_to(grad_out, shape, axis, keepdims) * _exp(
            x - expand_to(out, shape, axis, keepdims)),)


def softmax(x: Tensor, axis: int = -1) -> Tensor:
    """e**x / sum(e**x) along ``axis``: probabilities that sum to 1 (stable for large x)."""
    x = _tensor(x, "softmax")
    _check_axis(x, axis, "softmax")
    return Softmax.apply(x, axis=axis)


def log_softmax(x: Tensor, axis: int = -1) -> Tensor:
    """log(softmax(x)) along ``axis``, computed without overflow or log(0)."""
    x = _tensor(x, "log_softmax")
    _check_axis(x, axis, "log_softmax")
    return LogSoftmax.apply(x, axis=axis)


def logsumexp(x: Tensor, axis: int | tuple[int, ...] | None = -1, keepdims: bool = False) -> Tensor:
    """log(sum(e**x)) along ``axis``, stable for inputs such as +-1000."""
    x = _tensor(x, "logsumexp")
    if isinstance(axis, (list, tuple)):
        axis = tuple(int(a) for a in axis)
    for a in (axis,) if isinstance(axis, int) else axis or ():
        _check_axis(x, a, "logsumexp")
    return LogSumExp.apply(x, axis=axis, keepdims=keepdims)


def _check_axis(x: Tensor, axis: int, function: str) -> None:
    if not -x.ndim <= axis < max(x.ndim, 1) or x.ndim == 0:
        raise OpError(f"{function}: axis {axis} does not exist for a tensor of shape {x.shape}")


# ------------------------------------------------------------------ cross-entropy


class CrossEntropy(Op):
    """f(z) = mean_n sum_c y_nc (logsumexp(z_n) - z_nc); df/dz = (softmax(z) Σ_c y_nc - y) / N"""

    name = "cross_entropy"
    on_values = False

    def forward(logits, target):
        shifted = logits - logits.max(axis=1, keepdims=True)  # stable: the largest is 0
        if target.ndim == 1:  # class indices
            picked = shifted[np.arange(len(target)), target]
            return (np.log(np.exp(shifted).sum(axis=1)) - picked).mean()
        # one-hot or probability rows: -sum_c y_c log p_c = lse * sum_c y_c - sum_c y_c z_c
        lse = np.log(np.exp(shifted).sum(axis=1))
        return (lse * target.sum(axis=1) - (shifted * target).sum(axis=1)).mean()

    def backward(grad_out, out, logits, target):
        probs = _run(Softmax, logits, axis=-1)
        count = constant(logits).shape[0]
        if target.ndim == 1 and isinstance(probs, np.ndarray):
            probs[np.arange(count), target] -= 1  # probs is a fresh array: edit in place
            return (probs * (grad_out / count),)
        if target.ndim == 1:
            return ((probs - np.eye(probs.shape[1], dtype=probs.dtype)[target])
                    * (grad_out / count),)
        return ((probs * target.sum(axis=1, keepdims=True) - target) * (grad_out / count),)


def cross_entropy(logits: Tensor, labels: Any) -> Tensor:
    """Mean softmax cross-entropy of ``logits`` (N, C) against labels, fused and stable.

    ``labels`` are class indices (N,) or one-hot / probability rows (N, C). The result is
    a scalar tensor: -mean_n log softmax(logits_n)[label_n].
    """
    logits = _tensor(logits, "cross_entropy")
    target = np.asarray(labels.data if isinstance(labels, Node) else labels)
    if logits.ndim != 2:
        raise OpError(
            f"cross_entropy: logits must have shape (N, C), got shape {logits.shape}"
        )
    count, classes = logits.shape
    if target.ndim == 1:
        if target.dtype.kind == "f" and np.all(target == np.round(target)):
            target = target.astype(np.intp)
        if target.dtype.kind not in "iu" or len(target) != count:
            raise OpError(
                f"cross_entropy: labels of shape {target.shape} and dtype {target.dtype} do "
                f"not match logits of shape {logits.shape} (need N={count} class indices)"
            )
        low, high = (target.min(), target.max()) if count else (0, 0)
        if low < 0 or high >= classes:
            raise OpError(
                f"cross_entropy: labels must lie in 0..{classes - 1} for logits of shape "
                f"{logits.shape}, got values from {low} to {high}"
            )
    elif target.shape == logits.shape:
        target = target.astype(logits.dtype, copy=False)
    else:
        raise OpError(
            f"cross_entropy: labels of shape {target.shape} do not match logits of shape "
            f"{logits.shape} (give N class indices or an (N, C) one-hot array)"
        )
    return CrossEntropy.apply(logits, target=target)


# ------------------------------------------------------------------ convolution


def _out_size(size: int, kernel: int, stride: int, padding: int) -> int:
    return (size + 2 * padding - kernel) // stride + 1


def _pad(x: np.ndarray, padding: int, value: float = 0.0) -> np.ndarray:
    """x with ``padding`` rows and columns of ``value`` around its last two axes."""
    if padding == 0:
        return x
    n, c, h, w = x.shape
    padded = np.full((n, c, h + 2 * padding, w + 2 * padding), value, dtype=x.dtype)
    padded[:, :, padding:padding + h, padding:padding + w] = x
    return padded


def _windows(xp: np.ndarray, kh: int, kw: int, stride: int) -> np.ndarray:
    """A read-only view (N, C, OH, OW, kh, kw) of every kernel-sized window: no copy."""
    n, c, h, w = xp.shape
    sn, sc, sh, sw = xp.strides
    shape = (n, c, (h - kh) // stride + 1, (w - kw) // stride + 1, kh, kw)
    strides = (sn, sc, sh * stride, sw * stride, sh, sw)
    return np.lib.stride_tricks.as_strided(xp, shape, strides, writeable=False)


def _im2col(xp: np.ndarray, kh: int, kw: int, stride: int) -> np.ndarray:
    """(N, C*kh*kw, OH*OW): every window as a column, copied once from the strided view.

    Rows run over (c, i, j) and columns over output pixels, so one matrix product per
    image gives the output already in (N, F, OH, OW) order. The columns live only until
    that product, so they are written into a reused scratch buffer (see _scratch).
    """
    windows = _windows(xp, kh, kw, stride)
    n, c, out_h, out_w = windows.shape[:4]
    cols = _scratch((n, c, kh, kw, out_h, out_w), xp.dtype)
    np.copyto(cols, windows.transpose(0, 1, 4, 5, 2, 3))
    return cols.reshape(n, c * kh * kw, out_h * out_w)


_buffers = threading.local()


def _scratch(shape: tuple, dtype: np.dtype) -> np.ndarray:
    """A scratch array reused across calls with the same shape and dtype.

    Only for arrays that die before the function returns. A fresh large array costs
    page faults every training step (glibc hands big blocks back to the OS on free);
    reusing one buffer per shape avoids that. A few shapes are kept, per thread, and
    none above 64 MB (there the copy costs far more than the faults).
    """
    dtype = np.dtype(dtype)
    if math.prod(shape) * dtype.itemsize > 64 * 2**20:
        return np.empty(shape, dtype)
    cache = _buffers.__dict__.setdefault("arrays", {})
    key = (shape, dtype)
    buffer = cache.get(key)
    if buffer is None:
        if len(cache) >= 8:
            cache.clear()
        buffer = cache[key] = np.empty(shape, dtype)
    return buffer


def _window_slice(i: int, j: int, out_h: int, out_w: int, stride: int) -> tuple:
    """The pixels that kernel position (i, j) touches, one per output pixel."""
    return (
        slice(None),
        slice(None),
        slice(i, i + stride * (out_h - 1) + 1, stride),
        slice(j, j + stride * (out_w - 1) + 1, stride),
    )


def _crop(xp: np.ndarray, padding: int) -> np.ndarray:
    if padding == 0:
        return xp
    return xp[:, :, padding:-padding, padding:-padding]


def _conv(x, weight, stride, padding, bias=None):
    """y[n] = W (F, C*kh*kw) @ im2col(x)[n]: one matrix product per image, no pixel loop."""
    filters, _, kh, kw = weight.shape
    n, _, h, w = x.shape
    cols = _im2col(_pad(x, padding), kh, kw, stride)
    out = np.matmul(weight.reshape(filters, -1), cols)  # (N, F, OH*OW)
    if bias is not None:
        out += bias[:, None]
    out_h, out_w = _out_size(h, kh, stride, padding), _out_size(w, kw, stride, padding)
    return out.reshape(n, filters, out_h, out_w)


def _conv_input_grad(grad, weight, input_shape, stride, padding):
    """d loss / d x of a convolution (col2im): each kernel position adds its strided window."""
    n, c, h, w = input_shape
    filters, _, kh, kw = weight.shape
    _, _, out_h, out_w = grad.shape
    cols = np.matmul(weight.reshape(filters, -1).T, grad.reshape(n, filters, -1))
    cols = cols.reshape(n, c, kh, kw, out_h, out_w)
    padded = np.zeros((n, c, h + 2 * padding, w + 2 * padding), dtype=cols.dtype)
    for i in range(kh):
        for j in range(kw):
            padded[_window_slice(i, j, out_h, out_w, stride)] += cols[:, :, i, j]
    return _crop(padded, padding)


def _conv_weight_grad(x, grad, kernel_size, stride, padding):
    """d loss / d weight of a convolution: the output gradient times the windows of x."""
    n, c = x.shape[:2]
    filters = grad.shape[1]
    cols = _im2col(_pad(x, padding), *kernel_size, stride)
    per_image = np.matmul(grad.reshape(n, filters, -1), cols.transpose(0, 2, 1))
    return per_image.sum(axis=0).reshape(filters, c, *kernel_size)


def _sum_channels(grad):
    """Sum over images and pixels, one number per channel: the bias gradient."""
    if isinstance(grad, np.ndarray):
        return np.einsum("nfp->f", grad.reshape(grad.shape[0], grad.shape[1], -1))
    return grad.sum(axis=(0, 2, 3))


class Conv2d(Op):
    """f(x, w, b) = w·im2col(x) + b; df/dx = col2im(wᵀ G), df/dw = G im2col(x)ᵀ, df/db = ΣG"""

    on_values = False
    selective_backward = True  # the engine says which inputs need a gradient (not the images)

    def forward(x, weight, *bias, stride=1, padding=0):
        return _conv(x, weight, stride, padding, bias[0] if bias else None)

    def backward(grad_out, out, x, weight, *bias, stride=1, padding=0, needs_grad=(True,) * 3):
        grad_x = grad_w = grad_b = None
        if needs_grad[0]:
            grad_x = _run(Conv2dInputGrad, grad_out, weight, input_shape=constant(x).shape,
                          stride=stride, padding=padding)
        if needs_grad[1]:
            grad_w = _run(Conv2dWeightGrad, x, grad_out, kernel_size=constant(weight).shape[2:],
                          stride=stride, padding=padding)
        if not bias:
            return grad_x, grad_w
        if needs_grad[2]:
            grad_b = _sum_channels(grad_out)
        return grad_x, grad_w, grad_b


class Conv2dInputGrad(Op):
    """f(g, w) = conv2d's input gradient (conv2dᵀ); df/dg = conv2d(H, w), df/dw = wgrad(H, g)"""

    name = "conv2d_input_grad"
    symbol = "conv2dᵀ"
    on_values = False

    def forward(grad, weight, input_shape, stride, padding):
        return _conv_input_grad(grad, weight, input_shape, stride, padding)

    def backward(grad_out, out, grad, weight, input_shape, stride, padding):
        kernel = constant(weight).shape[2:]
        return (
            _run(Conv2d, grad_out, weight, stride=stride, padding=padding),
            _run(Conv2dWeightGrad, grad_out, grad, kernel_size=kernel, stride=stride,
                 padding=padding),
        )


class Conv2dWeightGrad(Op):
    """f(x, g) = d<conv2d(x, w), g>/dw; df/dx = conv2dᵀ(g, H), df/dg = conv2d(x, H)"""

    name = "conv2d_weight_grad"
    symbol = "conv2d_w"
    on_values = False

    def forward(x, grad, kernel_size, stride, padding):
        return _conv_weight_grad(x, grad, kernel_size, stride, padding)

    def backward(grad_out, out, x, grad, kernel_size, stride, padding):
        return (
            _run(Conv2dInputGrad, grad, grad_out, input_shape=constant(x).shape,
                 stride=stride, padding=padding),
            _run(Conv2d, x, grad_out, stride=stride, padding=padding),
        )


def conv2d(
    x: Tensor, weight: Tensor, bias: Tensor | None = None, stride: int = 1, padding: int = 0
) -> Tensor:
    """2-D convolution (cross-correlation, as PyTorch does) of x (N, C, H, W) by w (F, C, kh, kw).

    Returns (N, F, OH, OW) with OH = (H + 2 padding - kh) // stride + 1. ``bias`` has shape (F,).
    """
    x, weight = _tensor(x, "conv2d"), _tensor(weight, "conv2d")
    stride, padding = _positive(stride, "conv2d", "stride"), _natural(padding, "conv2d")
    if x.ndim != 4 or weight.ndim != 4:
        raise OpError(
            f"conv2d: input must be (N, C, H, W) and weight (F, C, kh, kw), got shapes "
            f"{x.shape} and {weight.shape}"
        )
    if x.shape[1] != weight.shape[1]:
        raise OpError(
            f"conv2d: input has {x.shape[1]} channels but weight expects {weight.shape[1]} "
            f"(shapes {x.shape} and {weight.shape})"
        )
    if any(_out_size(s, k, stride, padding) < 1 for s, k in zip(x.shape[2:], weight.shape[2:])):
        raise OpError(
            f"conv2d: kernel {weight.shape[2:]} does not fit input {x.shape} with "
            f"padding {padding}"
        )
    inputs = (x, weight)
    if bias is not None:
        bias = _tensor(bias, "conv2d")
        if bias.shape != (weight.shape[0],):
            raise OpError(
                f"conv2d: bias must have shape ({weight.shape[0]},) for weight of shape "
                f"{weight.shape}, got {bias.shape}"
            )
        inputs = (x, weight, bias)
    return Conv2d.apply(*inputs, stride=stride, padding=padding)


# ------------------------------------------------------------------ pooling


def _pool_windows(xp: np.ndarray, kernel: int, stride: int) -> list[np.ndarray]:
    """One strided view (N, C, OH, OW) per kernel position: what that position sees."""
    out_h = (xp.shape[2] - kernel) // stride + 1
    out_w = (xp.shape[3] - kernel) // stride + 1
    return [xp[_window_slice(i, j, out_h, out_w, stride)]
            for i in range(kernel) for j in range(kernel)]


def _pool_argmax(x, kernel, stride, padding):
    """Index (i * kernel + j) of each window's first maximum, as PyTorch picks it on ties."""
    xp = _pad(x, padding, -np.inf)
    out_h = _out_size(x.shape[2], kernel, stride, padding)
    out_w = _out_size(x.shape[3], kernel, stride, padding)
    best = xp[_window_slice(0, 0, out_h, out_w, stride)].copy()
    index = np.zeros(best.shape, dtype=np.intp)
    for i in range(kernel):
        for j in range(kernel):
            if i or j:
                candidate = xp[_window_slice(i, j, out_h, out_w, stride)]
                larger = candidate > best
                np.copyto(best, candidate, where=larger)
                index[larger] = i * kernel + j
    return index


def _pool_scatter(grad, index, input_shape, kernel, stride, padding):
    """Send each window's gradient to the element ``index`` chose (overlaps add up)."""
    n, c, h, w = input_shape
    _, _, out_h, out_w = grad.shape
    padded = np.zeros((n, c, h + 2 * padding, w + 2 * padding), dtype=grad.dtype)
    for i in range(kernel):
        for j in range(kernel):
            chosen = index == i * kernel + j
            padded[_window_slice(i, j, out_h, out_w, stride)] += grad * chosen
    return _crop(padded, padding)


def _pool_gather(values, index, kernel, stride, padding):
    """Read, for every window, the element ``index`` chose: the transpose of _pool_scatter."""
    padded = _pad(values, padding)
    out_h, out_w = index.shape[2:]
    out = np.zeros(index.shape, dtype=values.dtype)
    for i in range(kernel):
        for j in range(kernel):
            chosen = index == i * kernel + j
            np.copyto(out, padded[_window_slice(i, j, out_h, out_w, stride)], where=chosen)
    return out


class MaxPool2d(Op):
    """f(x) = max over each kernel window; df/dx = 1 at the window's (first) maximum, else 0"""

    name = "max_pool2d"
    on_values = False

    def forward(x, kernel, stride, padding=0):
        windows = _pool_windows(_pad(x, padding, -np.inf), kernel, stride)
        if len(windows) == 1:
            return windows[0].copy()
        out = np.maximum(windows[0], windows[1])
        for window in windows[2:]:
            np.maximum(out, window, out=out)
        return out

    def backward(grad_out, out, x, kernel, stride, padding=0):
        if isinstance(grad_out, np.ndarray):
            return (_max_pool_grad(grad_out, out, x, kernel, stride, padding),)
        index = _pool_argmax(constant(x), kernel, stride, padding)
        return (MaxPoolScatter.apply(grad_out, index=index, input_shape=constant(x).shape,
                                     kernel=kernel, stride=stride, padding=padding),)


def _max_pool_grad(grad, out, x, kernel, stride, padding):
    """max_pool2d's backward on arrays: each window's gradient goes to its first maximum."""
    xp = _pad(x, padding, -np.inf)
    padded = np.zeros(xp.shape, dtype=grad.dtype)
    out_h, out_w = out.shape[2:]
    taken = None  # windows whose maximum was already found (ties go to the first one)
    for i in range(kernel):
        for j in range(kernel):
            window = _window_slice(i, j, out_h, out_w, stride)
            hit = xp[window] == out
            if taken is None:
                taken = hit
            else:
                hit = hit > taken  # a hit in a window not yet taken
                taken |= hit
            if stride >= kernel:  # windows do not overlap: write, no need to add
                np.multiply(grad, hit, out=padded[window])
            else:
                padded[window] += grad * hit
    return _crop(padded, padding)


class MaxPoolScatter(Op):
    """f(g) = g put at each window's maximum (max_pool2d's backward); df/dg = H read there"""

    name = "max_pool2d_scatter"
    on_values = False

    def forward(grad, index, input_shape, kernel, stride, padding):
        return _pool_scatter(grad, index, input_shape, kernel, stride, padding)

    def backward(grad_out, out, grad, index, input_shape, kernel, stride, padding):
        return (_run(MaxPoolGather, grad_out, index=index, kernel=kernel, stride=stride,
                     padding=padding),)


class MaxPoolGather(Op):
    """f(v) = v read at each window's chosen element; df/dv = H placed back at those elements"""

    name = "max_pool2d_gather"
    on_values = False

    def forward(values, index, kernel, stride, padding):
        return _pool_gather(values, index, kernel, stride, padding)

    def backward(grad_out, out, values, index, kernel, stride, padding):
        return (_run(MaxPoolScatter, grad_out, index=index, input_shape=constant(values).shape,
                     kernel=kernel, stride=stride, padding=padding),)


class AvgPool2d(Op):
    """f(x) = mean of each kernel window (padding counts as 0); df/dx = 1/kernel**2 per window"""

    name = "avg_pool2d"
    on_values = False

    def forward(x, kernel, stride, padding=0):
        windows = _pool_windows(_pad(x, padding), kernel, stride)
        out = windows[0] + windows[1] if len(windows) > 1 else windows[0].copy()
        for window in windows[2:]:
            out += window
        out /= kernel * kernel
        return out

    def backward(grad_out, out, x, kernel, stride, padding=0):
        return (_run(AvgPoolSpread, grad_out, input_shape=constant(x).shape, kernel=kernel,
                     stride=stride, padding=padding),)


class AvgPoolSpread(Op):
    """f(g) = g / kernel**2 added over its window (avg_pool2d's backward); df/dg = avg_pool2d(H)"""

    name = "avg_pool2d_spread"
    on_values = False

    def forward(grad, input_shape, kernel, stride, padding):
        n, c, h, w = input_shape
        _, _, out_h, out_w = grad.shape
        share = grad / (kernel * kernel)
        padded = np.zeros((n, c, h + 2 * padding, w + 2 * padding), dtype=grad.dtype)
        for i in range(kernel):
            for j in range(kernel):
                padded[_window_slice(i, j, out_h, out_w, stride)] += share
        return _crop(padded, padding)

    def backward(grad_out, out, grad, input_shape, kernel, stride, padding):
        return (_run(AvgPool2d, grad_out, kernel=kernel, stride=stride, padding=padding),)


def _pool(op: type[Op], x: Any, kernel: int, stride: int | None, padding: int) -> Tensor:
    function = op.name
    x = _tensor(x, function)
    kernel = _positive(kernel, function, "kernel")
    stride = kernel if stride is None else _positive(stride, function, "stride")
    padding = _natural(padding, function)
    if x.ndim != 4:
        raise OpError(f"{function}: input must be (N, C, H, W), got shape {x.shape}")
    if padding > kernel // 2:
        raise OpError(f"{function}: padding {padding} is more than half the kernel {kernel}")
    if min(_out_size(s, kernel, stride, padding) for s in x.shape[2:]) < 1:
        raise OpError(f"{function}: kernel {kernel} does not fit input of shape {x.shape}")
    return op.apply(x, kernel=kernel, stride=stride, padding=padding)


def max_pool2d(x: Tensor, kernel: int, stride: int | None = None, padding: int = 0) -> Tensor:
    """Largest value in each kernel x kernel window of x (N, C, H, W); stride defaults to kernel."""
    return _pool(MaxPool2d, x, kernel, stride, padding)


def avg_pool2d(x: Tensor, kernel: int, stride: int | None = None, padding: int = 0) -> Tensor:
    """Mean of each kernel x kernel window of x (N, C, H, W); stride defaults to kernel."""
    return _pool(AvgPool2d, x, kernel, stride, padding)


def _positive(n: Any, function: str, what: str) -> int:
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise OpError(f"{function}: {what} must be a positive integer, got {n!r}")
    return int(n)


def _natural(n: Any, function: str) -> int:
    if not isinstance(n, (int, np.integer)) or n < 0:
        raise OpError(f"{function}: padding must be a non-negative integer, got {n!r}")
    return int(n)


# ------------------------------------------------------------------ dropout


def dropout(
    x: Tensor, p: float = 0.5, training: bool = True, rng: np.random.Generator | int | None = None
) -> Tensor:
    """Inverted dropout: zero each element with probability p, scale the rest by 1 / (1 - p).

    Scaling while training keeps the expected value, so evaluation (``training=False``)
    returns x unchanged. ``rng`` is a numpy Generator or a seed, for repeatable masks.
    """
    x = _tensor(x, "dropout")
    if not 0.0 <= p <= 1.0:
        raise OpError(f"dropout: p must be a probability in [0, 1], got {p!r}")
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * np.zeros(x.shape, dtype=x.dtype)
    generator = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    dtype = x.dtype if x.dtype in (np.float32, np.float64) else np.float64
    keep = generator.random(x.shape, dtype=dtype) >= p
    mask = keep.astype(dtype)
    mask *= 1.0 / (1.0 - p)
    return x * mask
