"""Tensor layers: Linear, Sequential, MLP, Flatten, Dropout.

A batch of inputs is a Tensor with one example per row, so ``Linear`` computes
``x @ W + b`` with ``W`` of shape (n_in, n_out), as in Keras and the course's slides.
"""

from __future__ import annotations

import copy
import numbers
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from ..autograd import OpError, Tensor
from ..autograd.ops import Linear as LinearOp
from . import functional
from .activations import Activation, activation_module
from .module import Module, rng


def _is_size(n: object) -> bool:
    """Whether ``n`` can be a layer width: a whole number of at least 1 (True is not)."""
    return isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n >= 1


INITS = ("xavier", "he", "lecun", "normal", "uniform", "zeros")


def initial_weights(
    n_in: int, n_out: int, init: str, generator: np.random.Generator
) -> np.ndarray:
    """An (n_in, n_out) matrix drawn by the named scheme."""
    if init == "xavier":  # Glorot uniform: keeps the variance through tanh layers
        limit = np.sqrt(6.0 / (n_in + n_out))
        return generator.uniform(-limit, limit, (n_in, n_out))
    if init == "he":  # He normal: keeps the variance through relu layers
        return generator.normal(0.0, np.sqrt(2.0 / n_in), (n_in, n_out))
    if init == "lecun":  # LeCun normal: the one SELU assumes
        return generator.normal(0.0, np.sqrt(1.0 / n_in), (n_in, n_out))
    if init == "normal":
        return generator.normal(0.0, 0.05, (n_in, n_out))
    if init == "uniform":  # PyTorch's default for Linear
        limit = 1.0 / np.sqrt(n_in)
        return generator.uniform(-limit, limit, (n_in, n_out))
    if init == "zeros":
        return np.zeros((n_in, n_out))
    raise ValueError(f"Linear: unknown init {init!r}; choose one of {', '.join(INITS)}")


class Linear(Module):
    """y = x @ W + b: every output is a weighted sum of every input, plus a bias."""

    def __init__(
        self,
        n_in: int,
        n_out: int,
        bias: bool = True,
        init: str = "xavier",
        name: str = "",
        seed: int | np.random.Generator | None = None,
    ) -> None:
        if not (_is_size(n_in) and _is_size(n_out)):
            raise ValueError(f"Linear: sizes must be whole numbers of at least 1, got "
                             f"n_in={n_in!r}, n_out={n_out!r}")
        prefix = f"{name}." if name else ""
        weights = initial_weights(n_in, n_out, init, rng(seed))
        self.weight = Tensor(weights, requires_grad=True, name=f"{prefix}W")
        # None without a bias; `| Any` (typeshed's "Any trick") spares linear.bias.data a check
        self.bias: Tensor | Any = (Tensor(np.zeros(n_out), requires_grad=True, name=f"{prefix}b")
                                   if bias else None)
        self.n_in, self.n_out = n_in, n_out

    def forward(self, x: Tensor) -> Tensor:
        x = as_tensor(x)
        try:  # one node, x @ W + b; the shapes are checked only when they do not fit
            if self.bias is None:
                return x @ self.weight
            return LinearOp.apply(x, self.weight, self.bias)
        except OpError:
            if x.shape[-1:] != (self.n_in,):
                raise ValueError(
                    f"Linear: expected inputs with {self.n_in} features (last axis), "
                    f"got shape {x.shape}"
                ) from None
            raise

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        return (*input_shape[:-1], self.n_out)

    def __repr__(self) -> str:
        return f"Linear({self.n_in}, {self.n_out}, bias={self.bias is not None})"


class Sequential(Module):
    """Layers applied one after another: ``Sequential(Linear(2, 8), Tanh(), Linear(8, 1))``."""

    def __init__(self, *layers: Module) -> None:
        if len(layers) == 1 and isinstance(layers[0], (list, tuple)):
            layers = tuple(layers[0])
        for index, layer in enumerate(layers):
            if not callable(layer):
                raise TypeError(f"Sequential: layer {index} ({layer!r}) cannot be called")
        self.layers = list(layers)

    def forward(self, x: Tensor) -> Tensor:
        for layer in self.layers:
            x = layer(x)
        return x

    def add(self, layer: Module) -> Sequential:
        """Append a layer (Keras' ``model.add``); returns the model."""
        self.layers.append(layer)
        return self

    def __getitem__(self, index: int) -> Module:
        return self.layers[index]

    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self) -> Iterator[Module]:
        return iter(self.layers)

    def __repr__(self) -> str:
        inner = "".join(f"\n  ({i}) {layer!r}" for i, layer in enumerate(self.layers))
        return f"{type(self).__name__}({inner}\n)"


class MLP(Sequential):
    """Linear layers with ``activation`` between them; the last one gets ``output_activation``.

    ``MLP(2, [16, 16, 1])`` is Linear(2, 16), tanh, Linear(16, 16), tanh, Linear(16, 1).
    """

    def __init__(
        self,
        n_in: int,
        sizes: Sequence[int],
        activation: str | Module = "tanh",
        output_activation: str | Module | None = None,
        init: str | None = None,
        seed: int | np.random.Generator | None = None,
    ) -> None:
        if isinstance(sizes, (int, np.integer)) or not sizes:
            raise ValueError(f"MLP: give the layer sizes as a list, e.g. MLP(2, [16, 16, 1]); "
                             f"got {sizes!r}")
        if not _is_size(n_in) or not all(_is_size(n) for n in sizes):
            raise ValueError(f"MLP: sizes must be whole numbers of at least 1, got "
                             f"n_in={n_in!r}, sizes={list(sizes)!r}")
        generator = rng(seed)
        if init is None:  # match the initialisation to the activation
            name = activation if isinstance(activation, str) else ""
            init = {"relu": "he", "leaky_relu": "he", "selu": "lecun"}.get(name, "xavier")
        widths = [n_in, *sizes]
        layers: list[Module] = []
        for k in range(len(sizes)):
            layers.append(Linear(widths[k], widths[k + 1], init=init, name=f"L{k + 1}",
                                 seed=generator))
            last = k == len(sizes) - 1
            chosen = output_activation if last else activation
            if chosen is not None:  # a module given as activation is copied for each layer
                layers.append(copy.deepcopy(activation_module(chosen, "MLP")))
        super().__init__(*layers)


class Flatten(Module):
    """Keep the first axis (the batch), join all the others: (N, a, b) -> (N, a*b)."""

    def forward(self, x: Tensor) -> Tensor:
        x = as_tensor(x)
        return x.reshape(x.shape[0], -1)

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        return (input_shape[0], int(np.prod(input_shape[1:])))


class Dropout(Module):
    """While training, zero each input with probability p and scale the rest by 1/(1-p).

    At evaluation (``model.eval()``) it passes inputs through unchanged; the scaling keeps
    the expected value of every unit the same in both modes ("inverted dropout").
    """

    def __init__(self, p: float = 0.5, seed: int | np.random.Generator | None = None) -> None:
        if not isinstance(p, numbers.Real) or isinstance(p, bool):
            raise TypeError(f"Dropout: p must be a number in [0, 1) (the chance to drop a "
                            f"unit), got {p!r:.40}")
        if not 0.0 <= p < 1.0:
            raise ValueError(f"Dropout: p must be in [0, 1), got {p}")
        self.p = p
        self.generator = rng(seed) if seed is not None else None

    def forward(self, x: Tensor) -> Tensor:
        return functional.dropout(x, self.p, training=self.training, rng=rng(self.generator))

    def __repr__(self) -> str:
        return f"Dropout(p={self.p})"


def as_tensor(x: object) -> Tensor:
    """A Tensor for x (numpy arrays and lists become constant tensors)."""
    return x if isinstance(x, Tensor) else Tensor(x)


__all__ = ["Activation", "Dropout", "Flatten", "Linear", "MLP", "Sequential", "initial_weights"]
