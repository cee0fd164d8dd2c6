"""nn.convolution: convolution and pooling as functions and registered ops.

The layers in nn/conv.py call these. Every size is a pair (rows, columns); an int n given
by a student means (n, n). Convolution is im2col followed by one matrix product; each
backward rule is written for speed on numpy arrays and, where it needs another primitive,
calls it through ``apply_or_run`` so that ``create_graph=True`` works through convolutions too.

    >>> x = Tensor(np.random.randn(8, 1, 28, 28))
    >>> w = Tensor(np.random.randn(4, 1, 3, 3), requires_grad=True)
    >>> y = max_pool2d(conv2d(x, w, padding=1).relu(), 2)     # shape (8, 4, 14, 14)
"""

from __future__ import annotations

import math
import threading
import weakref
from typing import Any

import numpy as np

from ..autograd import Op, OpError, Tensor
from ..autograd.dispatch import constant
from .primitives import apply_or_run, tensor_argument

__all__ = [
    "avg_pool2d",
    "col2im",
    "conv2d",
    "conv_transpose2d",
    "im2col",
    "max_pool2d",
]


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
    held = _buffers.__dict__.setdefault("held", {})
    key = (shape, dtype)
    held.pop(key, None)  # whatever columns it held are about to be overwritten
    buffer = cache.get(key)
    if buffer is None:
        if len(cache) >= 8:
            cache.clear()
            held.clear()
        buffer = cache[key] = np.empty(shape, dtype)
    return buffer


def _remember_columns(out: np.ndarray, cols: np.ndarray) -> None:
    """Note that the scratch buffer holding ``cols`` holds the columns that made ``out``,
    a forward pass's result: a new array each call, so it names that call alone."""
    key = (cols.base.shape, cols.dtype)
    if _buffers.__dict__.get("arrays", {}).get(key) is cols.base:  # not a one-off array
        _buffers.__dict__.setdefault("held", {})[key] = (weakref.ref(out), cols)


def _remembered_columns(out: np.ndarray) -> np.ndarray | None:
    """The columns that made ``out``, once, if no call has reused their buffer since."""
    held = _buffers.__dict__.get("held")
    for key, (made, cols) in (held or {}).items():
        if made() is out:
            del held[key]
            return cols
    return None


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
    out = out.reshape(x.shape[0], filters, out_h, out_w)
    _remember_columns(out, cols)  # the weight gradient needs them again
    return out


def _conv_input_grad(grad, weight, input_shape, stride, padding, dilation=1):
    """d loss / d x of a convolution: col2im(Wᵀ G), each window's share sent back."""
    n = input_shape[0]
    filters, _, kh, kw = weight.shape
    cols = np.matmul(weight.reshape(filters, -1).T, grad.reshape(n, filters, -1))
    return _col2im(cols, input_shape, (kh, kw), stride, padding, dilation)


def _conv_weight_grad(x, grad, kernel_size, stride, padding, dilation=1, out=None):
    """d loss / d weight of a convolution: the output gradient times the windows of x.

    Given the forward pass's result ``out``, the columns that made it are taken from the
    scratch buffer when it still holds them (x is the same array, and a graph's arrays
    cannot change before its backward), instead of copying the windows again.
    """
    n, c = x.shape[:2]
    filters = grad.shape[1]
    cols = None if out is None else _remembered_columns(out)
    if cols is None:
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
    leaves_domain, elementwise = True, False  # it can overflow, as matmul

    def forward(x, weight, *bias, stride=1, padding=0, dilation=1):
        return _conv(x, weight, stride, padding, bias[0] if bias else None, dilation)

    def backward(grad_out, out, x, weight, *bias, stride=1, padding=0, dilation=1,
                 needs_grad=(True,) * 3):
        grad_x = grad_w = grad_b = None
        options = {"stride": stride, "padding": padding, "dilation": dilation}
        if needs_grad[0]:
            grad_x = apply_or_run(Conv2dInputGrad, grad_out, weight, input_shape=constant(x).shape,
                                  **options)
        if needs_grad[1]:
            kernel = constant(weight).shape[2:]
            if all(isinstance(a, np.ndarray) for a in (grad_out, out, x)):  # not recording
                grad_w = _conv_weight_grad(x, grad_out, kernel, stride, padding, dilation, out)
            else:
                grad_w = apply_or_run(Conv2dWeightGrad, x, grad_out, kernel_size=kernel,
                                      **options)
        if not bias:
            return grad_x, grad_w
        if needs_grad[2]:
            grad_b = _sum_channels(grad_out)
        return grad_x, grad_w, grad_b


class Conv2dInputGrad(Op):
    """f(g, w) = conv2d's input gradient (conv2dᵀ); df/dg = conv2d(H, w), df/dw = wgrad(H, g)"""

    leaves_domain, elementwise = True, False  # it can overflow
    name = "conv2d_input_grad"
    symbol = "conv2dᵀ"
    on_values = False

    def forward(grad, weight, input_shape, stride, padding, dilation=1):
        return _conv_input_grad(grad, weight, input_shape, stride, padding, dilation)

    def backward(grad_out, out, grad, weight, input_shape, stride, padding, dilation=1):
        kernel = constant(weight).shape[2:]
        options = {"stride": stride, "padding": padding, "dilation": dilation}
        return (
            apply_or_run(Conv2d, grad_out, weight, **options),
            apply_or_run(Conv2dWeightGrad, grad_out, grad, kernel_size=kernel, **options),
        )


class Conv2dWeightGrad(Op):
    """f(x, g) = d<conv2d(x, w), g>/dw; df/dx = conv2dᵀ(g, H), df/dg = conv2d(x, H)"""

    leaves_domain, elementwise = True, False  # it can overflow
    name = "conv2d_weight_grad"
    symbol = "conv2d_w"
    on_values = False

    def forward(x, grad, kernel_size, stride, padding, dilation=1):
        return _conv_weight_grad(x, grad, kernel_size, stride, padding, dilation)

    def backward(grad_out, out, x, grad, kernel_size, stride, padding, dilation=1):
        options = {"stride": stride, "padding": padding, "dilation": dilation}
        return (
            apply_or_run(Conv2dInputGrad, grad, grad_out, input_shape=constant(x).shape, **options),
            apply_or_run(Conv2d, x, grad_out, **options),
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
    bias = tensor_argument(bias, function)
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
    x, weight = tensor_argument(x, "conv2d"), tensor_argument(weight, "conv2d")
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
    leaves_domain, elementwise = True, False  # it can overflow, as matmul
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
            apply_or_run(Conv2d, grad_out, weight, **options),
            apply_or_run(Conv2dWeightGrad, grad_out, x, kernel_size=constant(weight).shape[2:],
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
    x, weight = tensor_argument(x, "conv_transpose2d"), tensor_argument(weight, "conv_transpose2d")
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
        return (apply_or_run(Col2im, grad_out, input_shape=constant(x).shape,
                             kernel_size=kernel_size, stride=stride, padding=padding,
                             dilation=dilation),)


class Col2im(Op):
    """f(c) = each column added back at its window (fold); df/dc = im2col(G)"""

    leaves_domain, elementwise = True, False  # it can overflow
    on_values = False

    def forward(cols, input_shape, kernel_size, stride=1, padding=0, dilation=1):
        return _col2im(cols, input_shape, kernel_size, stride, padding, dilation)

    def backward(grad_out, out, cols, input_shape, kernel_size, stride=1, padding=0,
                 dilation=1):
        return (apply_or_run(Im2col, grad_out, kernel_size=kernel_size, stride=stride,
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
    x = tensor_argument(x, "im2col")
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
    cols = tensor_argument(cols, "col2im")
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

    leaves_domain, elementwise = True, False  # it can overflow
    name = "max_pool2d_scatter"
    on_values = False

    def forward(grad, index, input_shape, kernel, stride, padding, dilation=1):
        return _pool_scatter(grad, index, input_shape, kernel, stride, padding, dilation)

    def backward(grad_out, out, grad, index, input_shape, kernel, stride, padding, dilation=1):
        return (apply_or_run(MaxPoolGather, grad_out, index=index, kernel=kernel, stride=stride,
                             padding=padding, dilation=dilation),)


class MaxPoolGather(Op):
    """f(v) = v read at each window's chosen element; df/dv = H placed back at those elements"""

    name = "max_pool2d_gather"
    on_values = False

    def forward(values, index, kernel, stride, padding, dilation=1):
        return _pool_gather(values, index, kernel, stride, padding, dilation)

    def backward(grad_out, out, values, index, kernel, stride, padding, dilation=1):
        return (apply_or_run(MaxPoolScatter, grad_out, index=index,
                             input_shape=constant(values).shape, kernel=kernel, stride=stride,
                             padding=padding, dilation=dilation),)


class AvgPool2d(Op):
    """f(x) = mean of each kernel window (padding counts as 0); df/dx = 1/(kh kw) per window"""

    leaves_domain, elementwise = True, False  # it can overflow
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
        return (apply_or_run(AvgPoolSpread, grad_out, input_shape=constant(x).shape, kernel=kernel,
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
        return (apply_or_run(AvgPool2d, grad_out, kernel=kernel, stride=stride, padding=padding),)


def _pool(op: type[Op], x: Any, kernel: Any, stride: Any, padding: Any,
          dilation: Any = 1) -> Tensor:
    function = op.name
    x = tensor_argument(x, function)
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
