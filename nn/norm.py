"""Normalisation layers: ``BatchNorm1d``, ``BatchNorm2d`` and ``LayerNorm``.

Both kinds make a group of numbers have mean 0 and variance 1, then let the network
scale and shift them back (``weight`` and ``bias``, learned). They differ in the group:

- batch norm: one channel across the whole batch (and every pixel), so while training an
  example's output depends on the others in its batch; ``model.eval()`` switches to the
  running averages collected during training;
- layer norm: one example's own features, the same in training and evaluation (the
  transformer's choice: it works for a batch of one and for sequences of any length).

The running statistics are plain arrays, not parameters: the optimizer never moves them,
but ``state_dict``, ``save`` and ``load`` keep them (they are the module's ``buffers``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd import Tensor
from . import functional
from .layers import as_tensor
from .module import Module


class _BatchNorm(Module):
    dimensions: tuple[int, ...] = (2,)
    shapes = "(N, C)"
    buffers = ("running_mean", "running_var")  # saved and loaded with the weights

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
    ) -> None:
        name = type(self).__name__
        if not isinstance(num_features, (int, np.integer)) or num_features < 1:
            raise ValueError(f"{name}: num_features must be a positive integer, "
                             f"got {num_features!r}")
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f"{name}: momentum must be in [0, 1], got {momentum!r}")
        if not eps > 0:
            raise ValueError(f"{name}: eps must be positive, got {eps!r}")
        self.num_features, self.eps, self.momentum = int(num_features), float(eps), momentum
        self.weight = Tensor(np.ones(num_features), requires_grad=True, name="γ") if affine \
            else None
        self.bias = Tensor(np.zeros(num_features), requires_grad=True, name="β") if affine \
            else None
        # None without running statistics; `| Any` (typeshed's "Any trick") spares a check
        self.running_mean: np.ndarray | Any = np.zeros(num_features) if track_running_stats \
            else None
        self.running_var: np.ndarray | Any = np.ones(num_features) if track_running_stats \
            else None

    def forward(self, x: Tensor) -> Tensor:
        x = as_tensor(x)
        name = type(self).__name__
        if x.ndim not in self.dimensions or x.shape[1] != self.num_features:
            raise ValueError(f"{name}: expected input {self.shapes} with C={self.num_features}, "
                             f"got shape {x.shape}")
        # Without running statistics, evaluation also uses the batch's own statistics.
        training = self.training or self.running_mean is None
        return functional.batch_norm(x, self.running_mean, self.running_var, self.weight,
                                     self.bias, training, self.momentum, self.eps)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.num_features}, eps={self.eps}, "
                f"momentum={self.momentum}, affine={self.weight is not None})")


class BatchNorm1d(_BatchNorm):
    """y = γ (x - mean) / sqrt(var + eps) + β per feature, over the batch: input (N, C) or (N, C, L).

    Training uses the batch's mean and variance and updates the running ones
    (running = (1 - momentum) running + momentum batch); ``model.eval()`` uses the running ones.
    """  # noqa: E501

    dimensions = (2, 3)
    shapes = "(N, C) or (N, C, L)"


class BatchNorm2d(_BatchNorm):
    """y = γ (x - mean) / sqrt(var + eps) + β per channel, over the batch and every pixel.

    Input (N, C, H, W). Training uses the batch's statistics and updates the running ones;
    ``model.eval()`` uses the running ones.
    """

    dimensions = (4,)
    shapes = "(N, C, H, W)"


class LayerNorm(Module):
    """y = γ (x - mean) / sqrt(var + eps) + β, the statistics of each example's last axes.

    ``LayerNorm(64)`` normalises the last axis of size 64; ``LayerNorm((C, H, W))`` the
    last three. γ and β have the normalised shape. Training and evaluation agree.
    """

    def __init__(
        self,
        normalized_shape: int | tuple[int, ...],
        eps: float = 1e-5,
        elementwise_affine: bool = True,
    ) -> None:
        shape = (normalized_shape,) if isinstance(normalized_shape, (int, np.integer)) else \
            tuple(normalized_shape)
        if not shape or not all(isinstance(n, (int, np.integer)) and n >= 1 for n in shape):
            raise ValueError(f"LayerNorm: normalized_shape must be positive sizes, "
                             f"got {normalized_shape!r}")
        self.normalized_shape = tuple(int(n) for n in shape)
        self.eps = float(eps)
        self.weight = Tensor(np.ones(shape), requires_grad=True, name="γ") if \
            elementwise_affine else None
        self.bias = Tensor(np.zeros(shape), requires_grad=True, name="β") if \
            elementwise_affine else None

    def forward(self, x: Tensor) -> Tensor:
        x = as_tensor(x)
        if x.shape[x.ndim - len(self.normalized_shape):] != self.normalized_shape:
            raise ValueError(f"LayerNorm: expected inputs ending in {self.normalized_shape}, "
                             f"got shape {x.shape}")
        return functional.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def __repr__(self) -> str:
        return f"LayerNorm({self.normalized_shape}, eps={self.eps})"


__all__ = ["BatchNorm1d", "BatchNorm2d", "LayerNorm"]
