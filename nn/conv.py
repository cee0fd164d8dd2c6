"""Convolution and pooling layers: ``Conv2d``, ``ConvTranspose2d``, ``MaxPool2d``, ``AvgPool2d``,
``Reshape``.

Images are (batch, channels, height, width), as in PyTorch, and a kernel is
(out_channels, in_channels, kh, kw), so PyTorch weights copy over unchanged. The work is
done by ``nn.convolution.conv2d`` / ``max_pool2d`` / ``avg_pool2d``, registered ops with
their own backward rules; these modules only hold the weights and the settings.
"""

from __future__ import annotations

import numpy as np

from ..autograd import Tensor
from . import convolution
from .layers import INITS, as_tensor, initial_weights
from .module import Module, rng


def _pair(value: int | tuple[int, int], layer: str, what: str) -> tuple[int, int]:
    pair = (value, value) if isinstance(value, (int, np.integer)) else tuple(value)
    if len(pair) != 2 or not all(isinstance(n, (int, np.integer)) and n >= 1 for n in pair):
        raise ValueError(f"{layer}: {what} must be a positive integer or a pair, got {value!r}")
    return int(pair[0]), int(pair[1])


def _check_images(layer: str, x: Tensor, channels: int | None = None) -> None:
    if x.ndim != 4:
        raise ValueError(
            f"{layer}: input must be images (batch, channels, height, width), got shape "
            f"{x.shape}; use Reshape(1, 8, 8) to turn flat rows into one-channel images"
        )
    if channels is not None and x.shape[1] != channels:
        raise ValueError(f"{layer}: expected {channels} input channels, got shape {x.shape}")


class Conv2d(Module):
    """y[n, f] = b[f] + sum over c, i, j of W[f, c, i, j] * x[n, c, s*p + i, s*q + j].

    Each output channel f slides its kernel W[f] (in_channels, kh, kw) over the padded
    image with stride s: the same few weights are used at every position.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] = 0,
        bias: bool = True,
        init: str = "he",
        seed: int | np.random.Generator | None = None,
        dilation: int | tuple[int, int] = 1,
    ) -> None:
        for what, n in (("in_channels", in_channels), ("out_channels", out_channels)):
            if not isinstance(n, (int, np.integer)) or n < 1:
                raise ValueError(f"Conv2d: {what} must be a positive integer, got {n!r}")
        if init not in INITS:
            raise ValueError(f"Conv2d: unknown init {init!r}; choose one of {', '.join(INITS)}")
        kh, kw = _pair(kernel_size, "Conv2d", "kernel_size")
        fan_in = in_channels * kh * kw  # inputs that feed one output pixel
        columns = initial_weights(fan_in, out_channels, init, rng(seed))  # (fan_in, F)
        kernel = columns.T.reshape(out_channels, in_channels, kh, kw)
        self.weight = Tensor(kernel, requires_grad=True, name="kernel")
        self.bias = Tensor(np.zeros(out_channels), requires_grad=True, name="b") if bias else None
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = (kh, kw)
        self.stride = _setting(stride, "Conv2d", "stride")
        self.padding = _setting(padding, "Conv2d", "padding", smallest=0)
        self.dilation = _setting(dilation, "Conv2d", "dilation")

    def forward(self, x: Tensor) -> Tensor:
        x = as_tensor(x)
        _check_images("Conv2d", x, self.in_channels)
        return convolution.conv2d(x, self.weight, self.bias, self.stride, self.padding,
                                 self.dilation)

    def __repr__(self) -> str:
        extra = f", dilation={self.dilation}" if self.dilation != 1 else ""
        return (f"Conv2d({self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}{extra})")


class ConvTranspose2d(Module):
    """The transpose of Conv2d: each input pixel stamps the kernel W[c] (out_channels, kh, kw),
    scaled by its value, onto the output, stride pixels apart; overlaps add up.

    With stride 2 it doubles the height and width (a decoder's upsampling step):
    OH = (H - 1) stride - 2 padding + dilation (kh - 1) + output_padding + 1. The weight is
    (in_channels, out_channels, kh, kw), PyTorch's layout, so its weights copy over unchanged.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] = 0,
        output_padding: int | tuple[int, int] = 0,
        bias: bool = True,
        dilation: int | tuple[int, int] = 1,
        init: str = "he",
        seed: int | np.random.Generator | None = None,
    ) -> None:
        for what, n in (("in_channels", in_channels), ("out_channels", out_channels)):
            if not isinstance(n, (int, np.integer)) or n < 1:
                raise ValueError(f"ConvTranspose2d: {what} must be a positive integer, "
                                 f"got {n!r}")
        if init not in INITS:
            raise ValueError(f"ConvTranspose2d: unknown init {init!r}; choose one of "
                             f"{', '.join(INITS)}")
        kh, kw = _pair(kernel_size, "ConvTranspose2d", "kernel_size")
        fan_in = in_channels * kh * kw
        columns = initial_weights(fan_in, out_channels, init, rng(seed))
        kernel = columns.reshape(in_channels, kh, kw, out_channels).transpose(0, 3, 1, 2)
        self.weight = Tensor(np.ascontiguousarray(kernel), requires_grad=True, name="kernel")
        self.bias = Tensor(np.zeros(out_channels), requires_grad=True, name="b") if bias else None
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = (kh, kw)
        self.stride = _setting(stride, "ConvTranspose2d", "stride")
        self.padding = _setting(padding, "ConvTranspose2d", "padding", smallest=0)
        self.output_padding = _setting(output_padding, "ConvTranspose2d", "output_padding",
                                       smallest=0)
        self.dilation = _setting(dilation, "ConvTranspose2d", "dilation")

    def forward(self, x: Tensor) -> Tensor:
        x = as_tensor(x)
        _check_images("ConvTranspose2d", x, self.in_channels)
        return convolution.conv_transpose2d(x, self.weight, self.bias, self.stride, self.padding,
                                           self.output_padding, self.dilation)

    def __repr__(self) -> str:
        return (f"ConvTranspose2d({self.in_channels}, {self.out_channels}, "
                f"kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding}, output_padding={self.output_padding})")


def _both(value: int | tuple[int, int]) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else value


def _setting(value, layer: str, what: str, smallest: int = 1) -> int | tuple[int, int]:
    """An int or a pair of ints (each at least ``smallest``), kept as given."""
    pair = (value, value) if isinstance(value, (int, np.integer)) else value
    if (not isinstance(pair, (tuple, list)) or len(pair) != 2
            or not all(isinstance(n, (int, np.integer)) and not isinstance(n, bool)
                       and n >= smallest for n in pair)):
        kind = "a positive integer" if smallest else "a non-negative integer"
        raise ValueError(f"{layer}: {what} must be {kind} or a pair of them, got {value!r}")
    return int(value) if isinstance(value, (int, np.integer)) else (int(pair[0]), int(pair[1]))


class _Pool(Module):
    function = staticmethod(convolution.max_pool2d)

    def __init__(
        self,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] | None = None,
        padding: int | tuple[int, int] = 0,
    ) -> None:
        name = type(self).__name__
        self.kernel_size = _setting(kernel_size, name, "kernel_size")
        self.stride = self.kernel_size if stride is None else _setting(stride, name, "stride")
        self.padding = _setting(padding, name, "padding", smallest=0)
        kernel, padding_pair = (_both(v) for v in (self.kernel_size, self.padding))
        if not all(p <= k // 2 for p, k in zip(padding_pair, kernel)):
            raise ValueError(
                f"{name}: padding must be an integer from 0 to kernel_size // 2, got {padding!r}"
            )

    def forward(self, x: Tensor) -> Tensor:
        x = as_tensor(x)
        _check_images(type(self).__name__, x)
        return type(self).function(x, self.kernel_size, self.stride, self.padding)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding})")


class MaxPool2d(_Pool):
    """y = the largest value in each kernel x kernel window (stride defaults to the kernel).

    The gradient goes only to the element that was the maximum of its window. Every
    setting is an int or a (rows, columns) pair; ``dilation`` spreads the window's taps.
    """

    function = staticmethod(convolution.max_pool2d)

    def __init__(
        self,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] | None = None,
        padding: int | tuple[int, int] = 0,
        dilation: int | tuple[int, int] = 1,
    ) -> None:
        super().__init__(kernel_size, stride, padding)
        self.dilation = _setting(dilation, "MaxPool2d", "dilation")

    def forward(self, x: Tensor) -> Tensor:
        x = as_tensor(x)
        _check_images("MaxPool2d", x)
        return convolution.max_pool2d(x, self.kernel_size, self.stride, self.padding,
                                     self.dilation)


class AvgPool2d(_Pool):
    """y = the mean of each kernel x kernel window (stride defaults to the kernel)."""

    function = staticmethod(convolution.avg_pool2d)


class Reshape(Module):
    """Give every example the shape ``shape``: ``Reshape(1, 8, 8)`` maps (N, 64) to (N, 1, 8, 8)."""

    def __init__(self, *shape: int) -> None:
        if not shape or not all(isinstance(n, (int, np.integer)) and (n >= 1 or n == -1)
                                for n in shape):
            raise ValueError(f"Reshape: give positive sizes (one may be -1), got {shape!r}")
        self.shape = tuple(int(n) for n in shape)

    def forward(self, x: Tensor) -> Tensor:
        x = as_tensor(x)
        per_example = int(np.prod(x.shape[1:])) if x.ndim else 0
        known = int(np.prod([n for n in self.shape if n != -1]))
        fits = per_example % known == 0 if -1 in self.shape else per_example == known
        if x.ndim == 0 or not fits:
            raise ValueError(f"Reshape: cannot give examples of shape {x.shape[1:]} the shape "
                             f"{self.shape}")
        return x.reshape(x.shape[0], *self.shape)

    def __repr__(self) -> str:
        return f"Reshape{self.shape}"


__all__ = ["AvgPool2d", "Conv2d", "ConvTranspose2d", "MaxPool2d", "Reshape"]
