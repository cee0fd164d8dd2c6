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

# Every size below is a pair (rows, columns); an int n given by a student means (n, n).


def _two(value: Any) -> tuple[int, int]:
    """(n, n) for an int n, the pair itself for a pair: every option is per axis."""
    if isinstance(value, (int, np.integer)):
        return int(value), int(value)
    return int(value[0]), int(value[1])


def _out_size(size: int, kernel: int, stride: int, padding: int, dilation: int = 1) -> int:
    """Window positions that fit: (size + 2 padding - dilation (kernel - 1) - 1) // stride + 1."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def _pad(x: np.ndarray, padding: Any, value: float = 0.0) -> np.ndarray:
    """x with ``padding`` rows and columns of ``value`` around its last two axes."""
    ph, pw = _two(padding)
    if ph == 0 and pw == 0:
        return x
    n, c, h, w = x.shape
    padded = np.full((n, c, h + 2 * ph, w + 2 * pw), value, dtype=x.dtype)
    padded[:, :, ph:ph + h, pw:pw + w] = x
    return padded


def _windows(xp: np.ndarray, kh: int, kw: int, stride: Any, dilation: Any = 1) -> np.ndarray:
    """A read-only view (N, C, OH, OW, kh, kw) of every kernel-sized window: no copy."""
    n, c, h, w = xp.shape
    (sh, sw), (dh, dw) = _two(stride), _two(dilation)
    sn, sc, row, col = xp.strides
    shape = (n, c, _out_size(h, kh, sh, 0, dh), _out_size(w, kw, sw, 0, dw), kh, kw)
    strides = (sn, sc, row * sh, col * sw, row * dh, col * dw)
    return np.lib.stride_tricks.as_strided(xp, shape, strides, writeable=False)


def _im2col(xp: np.ndarray, kh: int, kw: int, stride: Any, dilation: Any = 1,
            scratch: bool = True) -> np.ndarray:
    """(N, C*kh*kw, OH*OW): every window as a column, copied once from the strided view.

    Rows run over (c, i, j) and columns over output pixels, so one matrix product per
    image gives the output already in (N, F, OH, OW) order. Inside a convolution the
    columns live only until that product, so they go into a reused scratch buffer.
    """
    windows = _windows(xp, kh, kw, stride, dilation)
    n, c, out_h, out_w = windows.shape[:4]
    shape = (n, c, kh, kw, out_h, out_w)
    cols = _scratch(shape, xp.dtype) if scratch else np.empty(shape, xp.dtype)
    np.copyto(cols, windows.transpose(0, 1, 4, 5, 2, 3))
    return cols.reshape(n, c * kh * kw, out_h * out_w)


def _col2im(cols, input_shape, kernel_size, stride, padding, dilation=1):
    """The transpose of _im2col: each column goes back to its window; overlaps add up."""
    n, c, h, w = input_shape
    kh, kw = kernel_size
    (sh, sw), (ph, pw), (dh, dw) = _two(stride), _two(padding), _two(dilation)
    out_h, out_w = _out_size(h, kh, sh, ph, dh), _out_size(w, kw, sw, pw, dw)
    cols = cols.reshape(n, c, kh, kw, out_h, out_w)
    padded = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=cols.dtype)
    for i in range(kh):
        for j in range(kw):
            padded[_window_slice(i, j, out_h, out_w, (sh, sw), (dh, dw))] += cols[:, :, i, j]
    return _crop(padded, (ph, pw))


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


def _window_slice(i: int, j: int, out_h: int, out_w: int, stride: Any,
                  dilation: Any = 1) -> tuple:
    """The pixels that kernel position (i, j) touches, one per output pixel."""
    (sh, sw), (dh, dw) = _two(stride), _two(dilation)
    return (
        slice(None),
        slice(None),
        slice(i * dh, i * dh + sh * (out_h - 1) + 1, sh),
        slice(j * dw, j * dw + sw * (out_w - 1) + 1, sw),
    )


def _crop(xp: np.ndarray, padding: Any) -> np.ndarray:
    ph, pw = _two(padding)
    if ph == 0 and pw == 0:
        return xp
    return xp[:, :, ph:xp.shape[2] - ph, pw:xp.shape[3] - pw]


def _conv(x, weight, stride, padding, bias=None, dilation=1):
    """y[n] = W (F, C*kh*kw) @ im2col(x)[n]: one matrix product per image, no pixel loop."""
    filters, _, kh, kw = weight.shape
    cols = _im2col(_pad(x, padding), kh, kw, stride, dilation)
    out = np.matmul(weight.reshape(filters, -1), cols)  # (N, F, OH*OW)
    if bias is not None:
        out += bias[:, None]
    (sh, sw), (ph, pw), (dh, dw) = _two(stride), _two(padding), _two(dilation)
    out_h = _out_size(x.shape[2], kh, sh, ph, dh)
    out_w = _out_size(x.shape[3], kw, sw, pw, dw)
    return out.reshape(x.shape[0], filters, out_h, out_w)


def _conv_input_grad(grad, weight, input_shape, stride, padding, dilation=1):
    """d loss / d x of a convolution: col2im(Wᵀ G), each window's share sent back."""
    n = input_shape[0]
    filters, _, kh, kw = weight.shape
    cols = np.matmul(weight.reshape(filters, -1).T, grad.reshape(n, filters, -1))
    return _col2im(cols, input_shape, (kh, kw), stride, padding, dilation)


def _conv_weight_grad(x, grad, kernel_size, stride, padding, dilation=1):
    """d loss / d weight of a convolution: the output gradient times the windows of x."""
    n, c = x.shape[:2]
    filters = grad.shape[1]
    cols = _im2col(_pad(x, padding), *kernel_size, stride, dilation)
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

    def forward(x, weight, *bias, stride=1, padding=0, dilation=1):
        return _conv(x, weight, stride, padding, bias[0] if bias else None, dilation)

    def backward(grad_out, out, x, weight, *bias, stride=1, padding=0, dilation=1,
                 needs_grad=(True,) * 3):
        grad_x = grad_w = grad_b = None
        options = {"stride": stride, "padding": padding, "dilation": dilation}
        if needs_grad[0]:
            grad_x = _run(Conv2dInputGrad, grad_out, weight, input_shape=constant(x).shape,
                          **options)
        if needs_grad[1]:
            grad_w = _run(Conv2dWeightGrad, x, grad_out, kernel_size=constant(weight).shape[2:],
                          **options)
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

    def forward(grad, weight, input_shape, stride, padding, dilation=1):
        return _conv_input_grad(grad, weight, input_shape, stride, padding, dilation)

    def backward(grad_out, out, grad, weight, input_shape, stride, padding, dilation=1):
        kernel = constant(weight).shape[2:]
        options = {"stride": stride, "padding": padding, "dilation": dilation}
        return (
            _run(Conv2d, grad_out, weight, **options),
            _run(Conv2dWeightGrad, grad_out, grad, kernel_size=kernel, **options),
        )


class Conv2dWeightGrad(Op):
    """f(x, g) = d<conv2d(x, w), g>/dw; df/dx = conv2dᵀ(g, H), df/dg = conv2d(x, H)"""

    name = "conv2d_weight_grad"
    symbol = "conv2d_w"
    on_values = False

    def forward(x, grad, kernel_size, stride, padding, dilation=1):
        return _conv_weight_grad(x, grad, kernel_size, stride, padding, dilation)

    def backward(grad_out, out, x, grad, kernel_size, stride, padding, dilation=1):
        options = {"stride": stride, "padding": padding, "dilation": dilation}
        return (
            _run(Conv2dInputGrad, grad, grad_out, input_shape=constant(x).shape, **options),
            _run(Conv2d, x, grad_out, **options),
        )


def _options(function: str, stride: Any, padding: Any, dilation: Any) -> dict:
    """stride, padding and dilation as checked pairs, with sentences for bad ones."""
    return {
        "stride": _pair_of(stride, function, "stride", 1),
        "padding": _pair_of(padding, function, "padding", 0),
        "dilation": _pair_of(dilation, function, "dilation", 1),
    }


def _pair_of(value: Any, function: str, what: str, smallest: int) -> tuple[int, int]:
    """An int or a pair of ints, each at least ``smallest``, as a pair."""
    pair = (value, value) if isinstance(value, (int, np.integer)) else value
    if (not isinstance(pair, (tuple, list)) or len(pair) != 2
            or not all(isinstance(n, (int, np.integer)) and not isinstance(n, bool)
                       and n >= smallest for n in pair)):
        kind = "a positive integer" if smallest else "a non-negative integer"
        raise OpError(f"{function}: {what} must be {kind}, got {value!r} (an int or a "
                      f"(rows, columns) pair)")
    return int(pair[0]), int(pair[1])


def _check_conv_shapes(function: str, x: Tensor, weight: Tensor, channel_axis: int) -> None:
    if x.ndim != 4 or weight.ndim != 4:
        layout = "(F, C, kh, kw)" if channel_axis == 1 else "(C, F, kh, kw)"
        raise OpError(
            f"{function}: input must be (N, C, H, W) and weight {layout}, got shapes "
            f"{x.shape} and {weight.shape}"
        )
    if x.shape[1] != weight.shape[channel_axis]:
        raise OpError(
            f"{function}: input has {x.shape[1]} channels but weight expects "
            f"{weight.shape[channel_axis]} (shapes {x.shape} and {weight.shape})"
        )


def _bias_inputs(function: str, x: Tensor, weight: Tensor, bias: Any, filters: int) -> tuple:
    if bias is None:
        return (x, weight)
    bias = _tensor(bias, function)
    if bias.shape != (filters,):
        raise OpError(
            f"{function}: bias must have shape ({filters},) for weight of shape "
            f"{weight.shape}, got {bias.shape}"
        )
    return (x, weight, bias)


def conv2d(
    x: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
) -> Tensor:
    """2-D convolution (cross-correlation, as PyTorch does) of x (N, C, H, W) by w (F, C, kh, kw).

    Returns (N, F, OH, OW) with OH = (H + 2 padding - dilation (kh - 1) - 1) // stride + 1.
    ``stride``, ``padding`` and ``dilation`` are ints or (rows, columns) pairs; dilation d
    spreads the kernel's taps d pixels apart. ``bias`` has shape (F,).
    """
    x, weight = _tensor(x, "conv2d"), _tensor(weight, "conv2d")
    options = _options("conv2d", stride, padding, dilation)
    _check_conv_shapes("conv2d", x, weight, 1)
    sizes = [_out_size(s, k, st, p, d) for s, k, st, p, d in zip(
        x.shape[2:], weight.shape[2:], options["stride"], options["padding"],
        options["dilation"])]
    if min(sizes) < 1:
        dilated = f" dilated by {options['dilation']}" if options["dilation"] != (1, 1) else ""
        raise OpError(
            f"conv2d: kernel {weight.shape[2:]} does not fit input {x.shape}{dilated} with "
            f"padding {options['padding']}"
        )
    inputs = _bias_inputs("conv2d", x, weight, bias, weight.shape[0])
    return Conv2d.apply(*inputs, **options)


class ConvTranspose2d(Op):
    """f(x, w, b) = col2im(wᵀ x) + b (conv2d's input gradient); df/dx = conv2d(G, w), df/dw = wgrad(G, x), df/db = ΣG"""  # noqa: E501

    name = "conv_transpose2d"
    symbol = "conv2dᵀ"
    on_values = False

    def forward(x, weight, *bias, output_shape, stride=1, padding=0, dilation=1):
        out = _conv_input_grad(x, weight, output_shape, stride, padding, dilation)
        if bias:
            out += bias[0][:, None, None]
        return out

    def backward(grad_out, out, x, weight, *bias, output_shape, stride=1, padding=0,
                 dilation=1):
        options = {"stride": stride, "padding": padding, "dilation": dilation}
        grads = (
            _run(Conv2d, grad_out, weight, **options),
            _run(Conv2dWeightGrad, grad_out, x, kernel_size=constant(weight).shape[2:],
                 **options),
        )
        return grads + (_sum_channels(grad_out),) if bias else grads


def conv_transpose2d(
    x: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    output_padding: int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
) -> Tensor:
    """Transposed convolution ("deconvolution") of x (N, C, H, W) by w (C, F, kh, kw).

    Every input pixel stamps its kernel, scaled by its value, onto the output, stride
    pixels apart; overlapping stamps add up. That is exactly conv2d's input gradient, so a
    stride-2 transposed convolution doubles the size a stride-2 convolution halves:
    OH = (H - 1) stride - 2 padding + dilation (kh - 1) + output_padding + 1.
    The weight layout (in_channels, out_channels, kh, kw) is PyTorch's.
    """
    x, weight = _tensor(x, "conv_transpose2d"), _tensor(weight, "conv_transpose2d")
    options = _options("conv_transpose2d", stride, padding, dilation)
    extra = _pair_of(output_padding, "conv_transpose2d", "output_padding", 0)
    _check_conv_shapes("conv_transpose2d", x, weight, 0)
    for e, s, d in zip(extra, options["stride"], options["dilation"]):
        if e >= max(s, d):
            raise OpError(f"conv_transpose2d: output_padding {output_padding!r} must be smaller "
                          f"than the stride or the dilation")
    sizes = tuple(
        (size - 1) * s - 2 * p + d * (k - 1) + e + 1
        for size, k, s, p, d, e in zip(x.shape[2:], weight.shape[2:], options["stride"],
                                       options["padding"], options["dilation"], extra))
    if min(sizes) < 1:
        raise OpError(f"conv_transpose2d: padding {options['padding']} leaves no output for "
                      f"input {x.shape} and kernel {weight.shape[2:]}")
    output_shape = (x.shape[0], weight.shape[1], *sizes)
    inputs = _bias_inputs("conv_transpose2d", x, weight, bias, weight.shape[1])
    return ConvTranspose2d.apply(*inputs, output_shape=output_shape, **options)


class Im2col(Op):
    """f(x) = every kernel window of x as a column (unfold); df/dx = col2im(G), windows summed back"""  # noqa: E501

    on_values = False

    def forward(x, kernel_size, stride=1, padding=0, dilation=1):
        return _im2col(_pad(x, padding), *kernel_size, stride, dilation, scratch=False)

    def backward(grad_out, out, x, kernel_size, stride=1, padding=0, dilation=1):
        return (_run(Col2im, grad_out, input_shape=constant(x).shape, kernel_size=kernel_size,
                     stride=stride, padding=padding, dilation=dilation),)


class Col2im(Op):
    """f(c) = each column added back at its window (fold); df/dc = im2col(G)"""

    on_values = False

    def forward(cols, input_shape, kernel_size, stride=1, padding=0, dilation=1):
        return _col2im(cols, input_shape, kernel_size, stride, padding, dilation)

    def backward(grad_out, out, cols, input_shape, kernel_size, stride=1, padding=0,
                 dilation=1):
        return (_run(Im2col, grad_out, kernel_size=kernel_size, stride=stride,
                     padding=padding, dilation=dilation),)


def im2col(
    x: Tensor,
    kernel_size: int | tuple[int, int],
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
) -> Tensor:
    """Cut images x (N, C, H, W) into windows, one window per column: (N, C*kh*kw, L).

    Column p holds the C*kh*kw pixels under the kernel when it sits at output position p
    (L = OH*OW positions, row by row). With the windows as columns, a convolution is one
    matrix product: ``weight.reshape(F, -1) @ im2col(x, (kh, kw))`` is conv2d(x, weight)
    with its pixels in a row. Windows overlap, so a pixel can appear in many columns.
    PyTorch calls this ``unfold``.
    """
    x = _tensor(x, "im2col")
    kernel = _pair_of(kernel_size, "im2col", "kernel_size", 1)
    options = _options("im2col", stride, padding, dilation)
    if x.ndim != 4:
        raise OpError(f"im2col: input must be (N, C, H, W), got shape {x.shape}")
    if min(_out_size(s, k, *o) for s, k, *o in zip(x.shape[2:], kernel, *options.values())) < 1:
        raise OpError(f"im2col: kernel {kernel} does not fit input of shape {x.shape}")
    return Im2col.apply(x, kernel_size=kernel, **options)


def col2im(
    cols: Tensor,
    output_size: tuple[int, int],
    kernel_size: int | tuple[int, int],
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
) -> Tensor:
    """Put columns (N, C*kh*kw, L) back into images (N, C, H, W): im2col in reverse.

    Each column is laid back on the window it came from, and where windows overlap the
    values add up (they are not averaged), so col2im(im2col(x)) counts every pixel once per
    window that holds it. That sum is what a convolution's input gradient needs: each
    output pixel sends its share back to every input pixel under its window. PyTorch calls
    this ``fold``. ``output_size`` is (H, W).
    """
    cols = _tensor(cols, "col2im")
    kernel = _pair_of(kernel_size, "col2im", "kernel_size", 1)
    size = _pair_of(output_size, "col2im", "output_size", 1)
    options = _options("col2im", stride, padding, dilation)
    per_axis = [_out_size(s, k, *o) for s, k, *o in zip(size, kernel, *options.values())]
    window = kernel[0] * kernel[1]
    if cols.ndim != 3 or cols.shape[1] % window or cols.shape[2] != per_axis[0] * per_axis[1]:
        raise OpError(
            f"col2im: columns of shape {cols.shape} do not fit output_size {size} with kernel "
            f"{kernel}: need (N, C*{window}, {max(per_axis[0], 0) * max(per_axis[1], 0)})"
        )
    input_shape = (cols.shape[0], cols.shape[1] // window, *size)
    return Col2im.apply(cols, input_shape=input_shape, kernel_size=kernel, **options)


# ------------------------------------------------------------------ pooling


def _pool_windows(xp: np.ndarray, kernel: Any, stride: Any, dilation: Any = 1) -> list:
    """One strided view (N, C, OH, OW) per kernel position: what that position sees."""
    (kh, kw), (sh, sw), (dh, dw) = _two(kernel), _two(stride), _two(dilation)
    out_h = _out_size(xp.shape[2], kh, sh, 0, dh)
    out_w = _out_size(xp.shape[3], kw, sw, 0, dw)
    return [xp[_window_slice(i, j, out_h, out_w, (sh, sw), (dh, dw))]
            for i in range(kh) for j in range(kw)]


def _pool_argmax(x, kernel, stride, padding, dilation=1):
    """Index (i * kw + j) of each window's first maximum, as PyTorch picks it on ties."""
    windows = _pool_windows(_pad(x, padding, -np.inf), kernel, stride, dilation)
    best = windows[0].copy()
    index = np.zeros(best.shape, dtype=np.intp)
    for position, candidate in enumerate(windows[1:], start=1):
        larger = candidate > best
        np.copyto(best, candidate, where=larger)
        index[larger] = position
    return index


def _pool_scatter(grad, index, input_shape, kernel, stride, padding, dilation=1):
    """Send each window's gradient to the element ``index`` chose (overlaps add up)."""
    n, c, h, w = input_shape
    ph, pw = _two(padding)
    padded = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=grad.dtype)
    for position, window in enumerate(_pool_windows(padded, kernel, stride, dilation)):
        window += grad * (index == position)  # a basic-slice view: writes land in padded
    return _crop(padded, padding)


def _pool_gather(values, index, kernel, stride, padding, dilation=1):
    """Read, for every window, the element ``index`` chose: the transpose of _pool_scatter."""
    out = np.zeros(index.shape, dtype=values.dtype)
    for position, window in enumerate(_pool_windows(_pad(values, padding), kernel, stride,
                                                    dilation)):
        np.copyto(out, window, where=index == position)
    return out


class MaxPool2d(Op):
    """f(x) = max over each kernel window; df/dx = 1 at the window's (first) maximum, else 0"""

    name = "max_pool2d"
    on_values = False

    def forward(x, kernel, stride, padding=0, dilation=1):
        windows = _pool_windows(_pad(x, padding, -np.inf), kernel, stride, dilation)
        if len(windows) == 1:
            return windows[0].copy()
        out = np.maximum(windows[0], windows[1])
        for window in windows[2:]:
            np.maximum(out, window, out=out)
        return out

    def backward(grad_out, out, x, kernel, stride, padding=0, dilation=1):
        if isinstance(grad_out, np.ndarray):
            return (_max_pool_grad(grad_out, out, x, kernel, stride, padding, dilation),)
        index = _pool_argmax(constant(x), kernel, stride, padding, dilation)
        return (MaxPoolScatter.apply(grad_out, index=index, input_shape=constant(x).shape,
                                     kernel=kernel, stride=stride, padding=padding,
                                     dilation=dilation),)


def _max_pool_grad(grad, out, x, kernel, stride, padding, dilation=1):
    """max_pool2d's backward on arrays: each window's gradient goes to its first maximum."""
    xp = _pad(x, padding, -np.inf)
    padded = np.zeros(xp.shape, dtype=grad.dtype)
    (kh, kw), (sh, sw), (dh, dw) = _two(kernel), _two(stride), _two(dilation)
    disjoint = sh >= dh * (kh - 1) + 1 and sw >= dw * (kw - 1) + 1  # windows never overlap
    sources = _pool_windows(xp, kernel, stride, dilation)
    targets = _pool_windows(padded, kernel, stride, dilation)
    taken = None  # windows whose maximum was already found (ties go to the first one)
    for source, target in zip(sources, targets):
        hit = source == out
        if taken is None:
            taken = hit
        else:
            hit = hit > taken  # a hit in a window not yet taken
            taken |= hit
        if disjoint:  # no need to add
            np.multiply(grad, hit, out=target)
        else:
            target += grad * hit
    return _crop(padded, padding)


class MaxPoolScatter(Op):
    """f(g) = g put at each window's maximum (max_pool2d's backward); df/dg = H read there"""

    name = "max_pool2d_scatter"
    on_values = False

    def forward(grad, index, input_shape, kernel, stride, padding, dilation=1):
        return _pool_scatter(grad, index, input_shape, kernel, stride, padding, dilation)

    def backward(grad_out, out, grad, index, input_shape, kernel, stride, padding, dilation=1):
        return (_run(MaxPoolGather, grad_out, index=index, kernel=kernel, stride=stride,
                     padding=padding, dilation=dilation),)


class MaxPoolGather(Op):
    """f(v) = v read at each window's chosen element; df/dv = H placed back at those elements"""

    name = "max_pool2d_gather"
    on_values = False

    def forward(values, index, kernel, stride, padding, dilation=1):
        return _pool_gather(values, index, kernel, stride, padding, dilation)

    def backward(grad_out, out, values, index, kernel, stride, padding, dilation=1):
        return (_run(MaxPoolScatter, grad_out, index=index, input_shape=constant(values).shape,
                     kernel=kernel, stride=stride, padding=padding, dilation=dilation),)


class AvgPool2d(Op):
    """f(x) = mean of each kernel window (padding counts as 0); df/dx = 1/(kh kw) per window"""

    name = "avg_pool2d"
    on_values = False

    def forward(x, kernel, stride, padding=0):
        windows = _pool_windows(_pad(x, padding), kernel, stride)
        out = windows[0] + windows[1] if len(windows) > 1 else windows[0].copy()
        for window in windows[2:]:
            out += window
        out /= len(windows)
        return out

    def backward(grad_out, out, x, kernel, stride, padding=0):
        return (_run(AvgPoolSpread, grad_out, input_shape=constant(x).shape, kernel=kernel,
                     stride=stride, padding=padding),)


class AvgPoolSpread(Op):
    """f(g) = g / (kh kw) added over its window (avg_pool2d's backward); df/dg = avg_pool2d(H)"""

    name = "avg_pool2d_spread"
    on_values = False

    def forward(grad, input_shape, kernel, stride, padding):
        n, c, h, w = input_shape
        ph, pw = _two(padding)
        kh, kw = _two(kernel)
        share = grad / (kh * kw)
        padded = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=grad.dtype)
        for window in _pool_windows(padded, kernel, stride):
            window += share
        return _crop(padded, padding)

    def backward(grad_out, out, grad, input_shape, kernel, stride, padding):
        return (_run(AvgPool2d, grad_out, kernel=kernel, stride=stride, padding=padding),)


def _pool(op: type[Op], x: Any, kernel: Any, stride: Any, padding: Any,
          dilation: Any = 1) -> Tensor:
    function = op.name
    x = _tensor(x, function)
    kernel = _pair_of(kernel, function, "kernel", 1)
    stride = kernel if stride is None else _pair_of(stride, function, "stride", 1)
    padding = _pair_of(padding, function, "padding", 0)
    dilation = _pair_of(dilation, function, "dilation", 1)
    if x.ndim != 4:
        raise OpError(f"{function}: input must be (N, C, H, W), got shape {x.shape}")
    if any(p > k // 2 for p, k in zip(padding, kernel)):
        raise OpError(f"{function}: padding {_plain(padding)} is more than half the kernel "
                      f"{_plain(kernel)}")
    if min(_out_size(*a) for a in zip(x.shape[2:], kernel, stride, padding, dilation)) < 1:
        raise OpError(f"{function}: kernel {_plain(kernel)} does not fit input of shape "
                      f"{x.shape}")
    options = {"kernel": _plain(kernel), "stride": _plain(stride), "padding": _plain(padding)}
    if dilation != (1, 1):
        options["dilation"] = dilation
    return op.apply(x, **options)


def _plain(pair: tuple[int, int]) -> int | tuple[int, int]:
    """n for (n, n): square settings stay ints, as graphs and older code show them."""
    return pair[0] if pair[0] == pair[1] else pair


def max_pool2d(
    x: Tensor,
    kernel: int | tuple[int, int],
    stride: int | tuple[int, int] | None = None,
    padding: int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
) -> Tensor:
    """Largest value in each kernel window of x (N, C, H, W); stride defaults to the kernel.

    Every option is an int or a (rows, columns) pair; dilation spreads the window's taps.
    """
    return _pool(MaxPool2d, x, kernel, stride, padding, dilation)


def avg_pool2d(
    x: Tensor,
    kernel: int | tuple[int, int],
    stride: int | tuple[int, int] | None = None,
    padding: int | tuple[int, int] = 0,
) -> Tensor:
    """Mean of each kernel window of x (N, C, H, W); stride defaults to the kernel.

    Every option is an int or a (rows, columns) pair; padded zeros count in the mean.
    """
    return _pool(AvgPool2d, x, kernel, stride, padding)


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


# ------------------------------------------------------------------ normalisation


class Normalize(Op):
    """f(x) = (x - mean) / sqrt(var + eps) over axis; df/dx G = (G - mean(G) - f mean(G f)) / sqrt(var + eps)"""  # noqa: E501

    on_values = False

    def forward(x, axis, eps):
        centred = x - x.mean(axis=axis, keepdims=True)
        variance = np.mean(centred * centred, axis=axis, keepdims=True)
        centred /= np.sqrt(variance + eps)
        return centred

    def backward(grad_out, out, x, axis, eps):
        # Every output depends on every input of its group through the mean and the
        # variance: the two means below are those two paths.
        centred = x - x.mean(axis=axis, keepdims=True)
        inverse_std = ((centred * centred).mean(axis=axis, keepdims=True) + eps) ** -0.5
        mean_grad = grad_out.mean(axis=axis, keepdims=True)
        mean_grad_out = (grad_out * out).mean(axis=axis, keepdims=True)
        return ((grad_out - mean_grad - out * mean_grad_out) * inverse_std,)


def normalize(x: Tensor, axis: int | tuple[int, ...], eps: float = 1e-5) -> Tensor:
    """(x - mean) / sqrt(variance + eps) over ``axis``: every group gets mean 0, variance 1.

    Batch norm and layer norm are this one op over different axes: the batch (and the
    pixels) for batch norm, each example's features for layer norm. The variance is the
    biased one (divided by n), as both use it.
    """
    x = _tensor(x, "normalize")
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    for a in axes:
        _check_axis(x, a, "normalize")
    axes = tuple(sorted(int(a) % x.ndim for a in axes))
    return Normalize.apply(x, axis=axes, eps=float(eps))


def _channel_shape(x: Tensor) -> tuple[int, ...]:
    """(1, C, 1, ...): the shape that lines a per-channel vector up with axis 1 of x."""
    return (1, x.shape[1]) + (1,) * (x.ndim - 2)


def batch_norm(
    x: Tensor,
    running_mean: np.ndarray | None,
    running_var: np.ndarray | None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    training: bool = True,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Batch normalisation of x (N, C), (N, C, L) or (N, C, H, W), channel by channel.

    Training: each channel is normalised with the mean and variance of this batch (over
    N and every position), and the running statistics move towards them:
    running = (1 - momentum) running + momentum batch (the variance unbiased, as PyTorch
    keeps it). Evaluation: the running statistics are used instead, so one example's
    output no longer depends on the rest of its batch. Then y = weight * x̂ + bias.
    """
    x = _tensor(x, "batch_norm")
    if x.ndim < 2:
        raise OpError(f"batch_norm: input must be (N, C, ...), got shape {x.shape}")
    axes = (0, *range(2, x.ndim))
    shape = _channel_shape(x)
    if training:
        count = x.size // x.shape[1]
        if count < 2:
            raise OpError(f"batch_norm: training needs more than one value per channel, got "
                          f"shape {x.shape} (use model.eval() for a single example)")
        out = Normalize.apply(x, axis=axes, eps=float(eps))
        if running_mean is not None and running_var is not None:
            mean = x.data.mean(axis=axes)
            variance = x.data.var(axis=axes) * count / (count - 1)
            running_mean *= 1 - momentum
            running_mean += momentum * mean
            running_var *= 1 - momentum
            running_var += momentum * variance
    else:
        if running_mean is None or running_var is None:
            raise OpError("batch_norm: evaluation needs running_mean and running_var")
        scale = 1.0 / np.sqrt(np.asarray(running_var, dtype=x.dtype) + eps)
        out = (x - np.asarray(running_mean, dtype=x.dtype).reshape(shape)) * scale.reshape(shape)
    if weight is not None:
        out = out * _tensor(weight, "batch_norm").reshape(shape)
    if bias is not None:
        out = out + _tensor(bias, "batch_norm").reshape(shape)
    return out


def layer_norm(
    x: Tensor,
    normalized_shape: int | tuple[int, ...],
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Layer normalisation: each example normalised over its last axes, then weight, bias.

    ``normalized_shape`` is the shape of those last axes (an int for one axis). Unlike
    batch norm there are no running statistics: training and evaluation agree.
    """
    x = _tensor(x, "layer_norm")
    shape = (normalized_shape,) if isinstance(normalized_shape, (int, np.integer)) else tuple(
        normalized_shape)
    if not shape or x.shape[x.ndim - len(shape):] != shape:
        raise OpError(f"layer_norm: normalized_shape {shape} must be the last axes of the "
                      f"input, got shape {x.shape}")
    out = Normalize.apply(x, axis=tuple(range(x.ndim - len(shape), x.ndim)), eps=float(eps))
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


# ------------------------------------------------------------------ attention


def causal_mask(length: int, dtype: Any = np.float64) -> np.ndarray:
    """(length, length): 0 where token t may look (at itself and earlier), -inf later."""
    mask = np.zeros((length, length), dtype=dtype)
    mask[np.triu_indices(length, k=1)] = -np.inf
    return mask


def scaled_dot_product_attention(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    mask: Any = None,
    causal: bool = False,
    return_weights: bool = False,
) -> Tensor | tuple[Tensor, Tensor]:
    """softmax(Q Kᵀ / sqrt(d) + mask) V: each query's weighted average of the values.

    query (..., T, d), key (..., S, d), value (..., S, dv) give (..., T, dv). Row t of the
    weights says how much query t takes from each value; dividing by sqrt(d) keeps the
    scores near 1 whatever the width, so the softmax does not saturate. ``mask`` is added
    to the scores (-inf forbids a pair); ``causal=True`` forbids looking at later tokens.
    With ``return_weights=True`` the (..., T, S) weights come back too.
    """
    query = _tensor(query, "scaled_dot_product_attention")
    key = _tensor(key, "scaled_dot_product_attention")
    value = _tensor(value, "scaled_dot_product_attention")
    if min(query.ndim, key.ndim, value.ndim) < 2 or query.shape[-1] != key.shape[-1] or (
            key.shape[-2] != value.shape[-2]):
        raise OpError(
            f"scaled_dot_product_attention: query (..., T, d), key (..., S, d) and value "
            f"(..., S, dv) do not fit: got shapes {query.shape}, {key.shape}, {value.shape}"
        )
    scores = (query @ key.transpose(*range(key.ndim - 2), key.ndim - 1, key.ndim - 2)) * (
        1.0 / math.sqrt(query.shape[-1]))
    if causal:
        if query.shape[-2] != key.shape[-2]:
            raise OpError(f"scaled_dot_product_attention: causal=True needs as many queries "
                          f"as keys, got {query.shape[-2]} and {key.shape[-2]}")
        scores = scores + causal_mask(query.shape[-2], scores.dtype)
    if mask is not None:
        scores = scores + (mask if isinstance(mask, Node) else np.asarray(mask, scores.dtype))
    weights = Softmax.apply(scores, axis=-1)
    weights.name = "attention"
    out = weights @ value
    return (out, weights) if return_weights else out


__all__ += [
    "batch_norm",
    "causal_mask",
    "col2im",
    "conv_transpose2d",
    "im2col",
    "layer_norm",
    "normalize",
    "scaled_dot_product_attention",
]
