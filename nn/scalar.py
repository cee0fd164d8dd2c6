"""Networks where every weight is a Value, so the whole network can be drawn node by node.

    >>> model = MLP(2, [16, 16, 1], seed=0)    # 2 inputs, two hidden layers of 16, 1 output
    >>> len(model.parameters())
    337
    >>> y = model([0.5, -1.0])                 # a Value; y.backward() fills every weight's grad

Weights are named "L<layer>.N<neuron>.w<input>" and biases "L<layer>.N<neuron>.b", with
layers counted from 1 (layer 0 is the input) and neurons and inputs by their Python index,
so ``model.layers[0].neurons[3].weights[0]`` is "L1.N3.w0". A drawing can group nodes by
neuron with these names.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..autograd import Value
from .module import Module, rng

ACTIVATIONS = ("tanh", "relu", "sigmoid", "linear")


class Neuron(Module):
    """activation(w · x + b): one weight per input and a bias, all Values."""

    def __init__(
        self,
        n_in: int,
        activation: str = "tanh",
        name: str = "N",
        seed: int | np.random.Generator | None = None,
    ) -> None:
        if not isinstance(n_in, (int, np.integer)) or isinstance(n_in, bool):
            raise ValueError(f"Neuron: sizes must be whole numbers, got n_in={n_in!r:.40}")
        if activation not in ACTIVATIONS:
            raise ValueError(
                f"Neuron: unknown activation {activation!r}; choose one of {', '.join(ACTIVATIONS)}"
            )
        if n_in < 1:
            raise ValueError(f"Neuron: needs at least one input, got n_in={n_in}")
        # Uniform in [-1, 1] as in micrograd; the bias starts at 0.
        draws = rng(seed).uniform(-1.0, 1.0, n_in)
        self.weights = [Value(w, name=f"{name}.w{i}") for i, w in enumerate(draws)]
        self.bias = Value(0.0, name=f"{name}.b")
        self.activation = activation
        self.n_in = n_in

    def forward(self, x: Sequence[Value | float]) -> Value:
        if len(x) != self.n_in:
            raise ValueError(f"Neuron: expected {self.n_in} inputs, got {len(x)}")
        z = Value.dot(self.weights, x) + self.bias  # the weighted sum is one node
        if self.activation == "linear":
            return z
        return getattr(z, self.activation)()

    def __repr__(self) -> str:
        return f"Neuron({self.n_in}, activation={self.activation!r})"


class Layer(Module):
    """n_out neurons that all read the same n_in inputs."""

    def __init__(
        self,
        n_in: int,
        n_out: int,
        activation: str = "tanh",
        name: str = "L1",
        seed: int | np.random.Generator | None = None,
    ) -> None:
        for size in (n_in, n_out):
            if not isinstance(size, (int, np.integer)) or isinstance(size, bool) or size < 1:
                raise ValueError(f"Layer: sizes must be whole numbers of at least 1, got "
                                 f"n_in={n_in!r:.20}, n_out={n_out!r:.20}")
        generator = rng(seed)
        self.neurons = [
            Neuron(n_in, activation, name=f"{name}.N{j}", seed=generator) for j in range(n_out)
        ]

    def forward(self, x: Sequence[Value | float]) -> Value | list[Value]:
        """A list of outputs, or the single Value when the layer has one neuron."""
        # Lift plain numbers once, so every neuron shares the same input nodes.
        x = [v if isinstance(v, Value) else Value(v, name=f"x{i}") for i, v in enumerate(x)]
        out = [neuron(x) for neuron in self.neurons]
        return out[0] if len(out) == 1 else out

    def __repr__(self) -> str:
        first = self.neurons[0]
        return f"Layer({first.n_in}, {len(self.neurons)}, activation={first.activation!r})"


class MLP(Module):
    """Layers in a row: hidden layers apply ``activation``, the last layer is linear."""

    def __init__(
        self,
        n_in: int,
        sizes: Sequence[int],
        activation: str = "tanh",
        seed: int | np.random.Generator | None = None,
    ) -> None:
        if isinstance(sizes, (int, np.integer)) or not sizes:
            raise ValueError(f"MLP: give the layer sizes as a list, e.g. MLP(2, [16, 16, 1]); "
                             f"got {sizes!r}")
        generator = rng(seed)
        widths = [n_in, *sizes]
        self.layers = [
            Layer(
                widths[k],
                widths[k + 1],
                activation if k < len(sizes) - 1 else "linear",
                name=f"L{k + 1}",
                seed=generator,
            )
            for k in range(len(sizes))
        ]

    def forward(self, x: Sequence[Value | float]) -> Value | list[Value]:
        n_in = self.layers[0].neurons[0].n_in
        if isinstance(x, Value) or np.ndim(x) != 1 or len(x) != n_in:
            raise ValueError(f"MLP: expected a list of {n_in} inputs (numbers or Values), "
                             f"got {x!r:.60}")
        for layer in self.layers:
            x = layer(x)
            if isinstance(x, Value):
                x = [x]
        return x[0] if len(x) == 1 else x

    def __repr__(self) -> str:
        return f"MLP of [{', '.join(map(repr, self.layers))}]"
