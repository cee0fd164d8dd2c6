"""nn.functional: softmax and friends, a fused cross-entropy, dropout, normalisation, attention.

Each function takes and returns Tensors. The heavy ones are primitives registered in the
op registry (so the registry-wide tests gradient-check them), each with a backward rule
written for speed on numpy arrays. Where a rule needs another primitive, it calls it
through ``primitives.apply_or_run``, which runs the raw numpy forward on arrays and records
a node on graph nodes: that is what keeps ``create_graph=True`` working. Convolution and
pooling live in nn/convolution.py and are re-exported here (``F.conv2d`` and so on).

    >>> x = Tensor(np.random.randn(8, 1, 28, 28))
    >>> w = Tensor(np.random.randn(4, 1, 3, 3), requires_grad=True)
    >>> y = max_pool2d(relu(conv2d(x, w, padding=1)), 2)     # shape (8, 4, 14, 14)
"""

from __future__ import annotations

import math
from typing import Any, Literal, overload

import numpy as np

from ..autograd import Node, Op, OpError, Tensor
from ..autograd.dispatch import constant, expand_to
from ..autograd.dispatch import exp as _exp
from .convolution import (
    avg_pool2d,
    col2im,
    conv2d,
    conv_transpose2d,
    im2col,
    max_pool2d,
)
from .primitives import apply_or_run, tensor_argument

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


def relu(x: Tensor) -> Tensor:
    """max(x, 0), elementwise."""
    return tensor_argument(x, "relu").relu()


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

    leaves_domain, elementwise = True, False  # it can overflow
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
    x = tensor_argument(x, "softmax")
    _check_axis(x, axis, "softmax")
    return Softmax.apply(x, axis=axis)


def log_softmax(x: Tensor, axis: int = -1) -> Tensor:
    """log(softmax(x)) along ``axis``, computed without overflow or log(0)."""
    x = tensor_argument(x, "log_softmax")
    _check_axis(x, axis, "log_softmax")
    return LogSoftmax.apply(x, axis=axis)


def logsumexp(x: Tensor, axis: int | tuple[int, ...] | None = -1, keepdims: bool = False) -> Tensor:
    """log(sum(e**x)) along ``axis``, stable for inputs such as +-1000."""
    x = tensor_argument(x, "logsumexp")
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

    leaves_domain, elementwise = True, False  # it can overflow
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
        probs = apply_or_run(Softmax, logits, axis=-1)
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
    logits = tensor_argument(logits, "cross_entropy")
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
        outside = ~(np.isfinite(target) & (target >= 0))  # weights of -log p: never negative
        if outside.any():
            bad = int(np.argmax(outside.any(axis=1)))
            raise OpError(
                f"cross_entropy: each target row must be probabilities (numbers >= 0, such as "
                f"a one-hot row); row {bad} is {target[bad].tolist()}"
            )
    else:
        raise OpError(
            f"cross_entropy: labels of shape {target.shape} do not match logits of shape "
            f"{logits.shape} (give N class indices or an (N, C) one-hot array)"
        )
    return CrossEntropy.apply(logits, target=target)


# ------------------------------------------------------------------ dropout


def dropout(
    x: Tensor, p: float = 0.5, training: bool = True, rng: np.random.Generator | int | None = None
) -> Tensor:
    """Inverted dropout: zero each element with probability p, scale the rest by 1 / (1 - p).

    Scaling while training keeps the expected value, so evaluation (``training=False``)
    returns x unchanged. ``rng`` is a numpy Generator or a seed, for repeatable masks.
    """
    x = tensor_argument(x, "dropout")
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
    leaves_domain, elementwise = True, False  # its variance can overflow

    def forward(x, axis, eps):
        centred, std, _ = _spread(x, axis, eps)
        centred /= std
        return centred

    def backward(grad_out, out, x, axis, eps):
        # Every output depends on every input of its group through the mean and the
        # variance: the two means below are those two paths.
        if isinstance(x, np.ndarray):  # scaled when the variance would overflow
            _, std, scale = _spread(x, axis, eps)
            inverse_std = 1.0 / std if scale is None else 1.0 / (std * scale)
        else:  # create_graph: Tensors, whose ops apply the overflow rule themselves
            centred = x - x.mean(axis=axis, keepdims=True)
            inverse_std = ((centred * centred).mean(axis=axis, keepdims=True) + eps) ** -0.5
        mean_grad = grad_out.mean(axis=axis, keepdims=True)
        mean_grad_out = (grad_out * out).mean(axis=axis, keepdims=True)
        return ((grad_out - mean_grad - out * mean_grad_out) * inverse_std,)


def _spread(x: np.ndarray, axis: tuple, eps: float) -> tuple:
    """(x - mean, sqrt(variance + eps), None) over ``axis``.

    When the variance overflows (values near 1e200: their squares pass 1.8e308) each group
    is first divided by its largest magnitude, and the third item is that scale: the
    first two are then x's scaled by 1 / scale, so their ratio is the same.
    """
    centred = x - x.mean(axis=axis, keepdims=True)  # numpy's overflow warnings from nn are
    variance = np.mean(centred * centred, axis=axis, keepdims=True)  # off (autograd/__init__)
    if np.isfinite(variance).all() or not np.isfinite(x).all():  # nan or inf given: kept
        return centred, np.sqrt(variance + eps), None
    scale = np.max(np.abs(x), axis=axis, keepdims=True)
    scale[scale == 0] = 1.0
    scaled = x / scale
    centred = scaled - scaled.mean(axis=axis, keepdims=True)
    variance = np.mean(centred * centred, axis=axis, keepdims=True)
    with np.errstate(over="ignore", under="ignore"):
        return centred, np.sqrt(variance + eps / (scale * scale)), scale


def normalize(x: Tensor, axis: int | tuple[int, ...], eps: float = 1e-5) -> Tensor:
    """(x - mean) / sqrt(variance + eps) over ``axis``: every group gets mean 0, variance 1.

    Batch norm and layer norm are this one op over different axes: the batch (and the
    pixels) for batch norm, each example's features for layer norm. The variance is the
    biased one (divided by n), as both use it.
    """
    x = tensor_argument(x, "normalize")
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
    x = tensor_argument(x, "batch_norm")
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
        out = out * tensor_argument(weight, "batch_norm").reshape(shape)
    if bias is not None:
        out = out + tensor_argument(bias, "batch_norm").reshape(shape)
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
    x = tensor_argument(x, "layer_norm")
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


@overload
def scaled_dot_product_attention(
    query: Tensor, key: Tensor, value: Tensor, mask: Any = None, causal: bool = False,
    return_weights: Literal[False] = False,
) -> Tensor: ...


@overload
def scaled_dot_product_attention(
    query: Tensor, key: Tensor, value: Tensor, mask: Any = None, causal: bool = False, *,
    return_weights: Literal[True],
) -> tuple[Tensor, Tensor]: ...


@overload
def scaled_dot_product_attention(
    query: Tensor, key: Tensor, value: Tensor, mask: Any = None, causal: bool = False,
    return_weights: bool = False,
) -> Tensor | tuple[Tensor, Tensor]: ...


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
    query = tensor_argument(query, "scaled_dot_product_attention")
    key = tensor_argument(key, "scaled_dot_product_attention")
    value = tensor_argument(value, "scaled_dot_product_attention")
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
