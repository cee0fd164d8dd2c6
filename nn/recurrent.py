"""Recurrent networks: Elman (``RNN``), Jordan, ``LSTM`` and ``GRU``, with their cells.

A cell computes one time step: ``new_state = cell(x_t, state)``. A layer runs its cell
along the sequence with a Python loop over time, so the graph holds one copy of the cell
per step, and ``loss.backward()`` through that unrolled graph *is* backpropagation
through time: the gradient of a weight is the sum of what every step sends back.

Layout (as PyTorch's ``batch_first=True``): a batch of sequences is a Tensor of shape
(batch, time, features). Every layer returns

- ``outputs``: (batch, time, size), the hidden state (Jordan: the output) at every step;
- the final state: ``h`` (batch, hidden) for RNN and GRU, ``(h, c)`` for LSTM, the last
  output (batch, n_out) for Jordan. (PyTorch adds a leading layers axis; we have one layer.)

Weights follow the row convention of ``nn.Linear``: ``x @ W_x + h @ W_h + b`` with
``W_x`` (n_in, k * hidden) and ``W_h`` (hidden, k * hidden), where the k gates sit side by
side in PyTorch's order (LSTM: i, f, g, o; GRU: r, z, n). So PyTorch's ``weight_ih_l0`` is
our ``weight_x.T`` and its two biases add up to our ``bias`` (GRU keeps the hidden bias of
its candidate, ``bias_hn``, apart, because the reset gate multiplies it).
"""

from __future__ import annotations

import numpy as np

from ..autograd import Tensor, stack
from .layers import as_tensor
from .module import Module, rng

Seed = int | np.random.Generator | None


def _uniform(
    shape: tuple[int, ...], hidden: int, generator: np.random.Generator, name: str
) -> Tensor:
    """U(-1/sqrt(hidden), 1/sqrt(hidden)), PyTorch's start for every recurrent weight."""
    limit = 1.0 / np.sqrt(hidden)
    return Tensor(generator.uniform(-limit, limit, shape), requires_grad=True, name=name)


def _check_sizes(layer: str, **sizes: int) -> None:
    for what, n in sizes.items():
        if not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"{layer}: {what} must be a positive integer, got {n!r}")


def _check_step(cell: str, x: Tensor, n_in: int) -> None:
    if x.ndim != 2 or x.shape[1] != n_in:
        raise ValueError(
            f"{cell}: one time step must have shape (batch, {n_in}), got {x.shape}"
        )


def _check_state(cell: str, state: Tensor, batch: int, size: int, what: str = "state") -> None:
    if state.shape != (batch, size):
        raise ValueError(f"{cell}: {what} must have shape ({batch}, {size}), got {state.shape}")


# ---------------------------------------------------------------- cells (one time step)


class RNNCell(Module):
    """Elman cell: h_t = tanh(x_t W_x + h_{t-1} W_h + b) (or relu instead of tanh)."""

    def __init__(self, n_in: int, hidden: int, activation: str = "tanh", seed: Seed = None):
        _check_sizes("RNNCell", n_in=n_in, hidden=hidden)
        if activation not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: activation must be 'tanh' or 'relu', got {activation!r}")
        generator = rng(seed)
        self.weight_x = _uniform((n_in, hidden), hidden, generator, "W_x")
        self.weight_h = _uniform((hidden, hidden), hidden, generator, "W_h")
        self.bias = _uniform((hidden,), hidden, generator, "b")
        self.n_in, self.hidden, self.activation = n_in, hidden, activation

    def forward(self, x: Tensor, h: Tensor) -> Tensor:
        _check_step("RNNCell", x, self.n_in)
        _check_state("RNNCell", h, x.shape[0], self.hidden)
        z = x @ self.weight_x + h @ self.weight_h + self.bias
        return z.tanh() if self.activation == "tanh" else z.relu()

    def initial_state(self, batch: int) -> Tensor:
        return Tensor(np.zeros((batch, self.hidden)))


class JordanCell(Module):
    """Jordan cell: the previous *output* is fed back, not the hidden state.

    h_t = tanh(x_t W_x + y_{t-1} W_y + b),   y_t = φ(h_t W_o + b_o)

    with φ the identity (``output_activation=None``), "tanh" or "sigmoid".
    """

    def __init__(
        self,
        n_in: int,
        hidden: int,
        n_out: int,
        output_activation: str | None = None,
        seed: Seed = None,
    ):
        _check_sizes("JordanCell", n_in=n_in, hidden=hidden, n_out=n_out)
        if output_activation not in (None, "tanh", "sigmoid"):
            raise ValueError(
                "JordanCell: output_activation must be None, 'tanh' or 'sigmoid', "
                f"got {output_activation!r}"
            )
        generator = rng(seed)
        self.weight_x = _uniform((n_in, hidden), hidden, generator, "W_x")
        self.weight_y = _uniform((n_out, hidden), hidden, generator, "W_y")
        self.bias = _uniform((hidden,), hidden, generator, "b")
        self.weight_out = _uniform((hidden, n_out), hidden, generator, "W_o")
        self.bias_out = _uniform((n_out,), hidden, generator, "b_o")
        self.n_in, self.hidden, self.n_out = n_in, hidden, n_out
        self.output_activation = output_activation

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        _check_step("JordanCell", x, self.n_in)
        _check_state("JordanCell", y, x.shape[0], self.n_out, "previous output")
        h = (x @ self.weight_x + y @ self.weight_y + self.bias).tanh()
        out = h @ self.weight_out + self.bias_out
        if self.output_activation == "tanh":
            return out.tanh()
        if self.output_activation == "sigmoid":
            return out.sigmoid()
        return out

    def initial_state(self, batch: int) -> Tensor:
        return Tensor(np.zeros((batch, self.n_out)))


class LSTMCell(Module):
    """Long short-term memory cell (Hochreiter and Schmidhuber, 1997), as in PyTorch.

    i = σ(x W_xi + h W_hi + b_i)      input gate: how much of the candidate to write
    f = σ(x W_xf + h W_hf + b_f)      forget gate: how much of the old memory to keep
    g = tanh(x W_xg + h W_hg + b_g)   candidate memory
    o = σ(x W_xo + h W_ho + b_o)      output gate: how much of the memory to show
    c_t = f * c_{t-1} + i * g         the memory: a sum, so gradients pass through it
    h_t = o * tanh(c_t)

    The state is the pair (h, c); the four gates share one matrix product.
    """

    def __init__(self, n_in: int, hidden: int, seed: Seed = None):
        _check_sizes("LSTMCell", n_in=n_in, hidden=hidden)
        generator = rng(seed)
        self.weight_x = _uniform((n_in, 4 * hidden), hidden, generator, "W_x")
        self.weight_h = _uniform((hidden, 4 * hidden), hidden, generator, "W_h")
        self.bias = _uniform((4 * hidden,), hidden, generator, "b")
        self.n_in, self.hidden = n_in, hidden

    def forward(self, x: Tensor, state: tuple[Tensor, Tensor]) -> tuple[Tensor, Tensor]:
        _check_step("LSTMCell", x, self.n_in)
        h, c = state
        _check_state("LSTMCell", h, x.shape[0], self.hidden, "h")
        _check_state("LSTMCell", c, x.shape[0], self.hidden, "c")
        n = self.hidden
        z = x @ self.weight_x + h @ self.weight_h + self.bias
        i, f = z[:, :n].sigmoid(), z[:, n:2 * n].sigmoid()
        g, o = z[:, 2 * n:3 * n].tanh(), z[:, 3 * n:].sigmoid()
        c = f * c + i * g
        return o * c.tanh(), c

    def initial_state(self, batch: int) -> tuple[Tensor, Tensor]:
        return Tensor(np.zeros((batch, self.hidden))), Tensor(np.zeros((batch, self.hidden)))


class GRUCell(Module):
    """Gated recurrent unit (Cho et al., 2014), as in PyTorch.

    r = σ(x W_xr + h W_hr + b_r)                  reset gate
    z = σ(x W_xz + h W_hz + b_z)                  update gate
    n = tanh(x W_xn + b_n + r * (h W_hn + b_hn))  candidate state
    h_t = (1 - z) * n + z * h_{t-1}               keep the old state where z is near 1
    """

    def __init__(self, n_in: int, hidden: int, seed: Seed = None):
        _check_sizes("GRUCell", n_in=n_in, hidden=hidden)
        generator = rng(seed)
        self.weight_x = _uniform((n_in, 3 * hidden), hidden, generator, "W_x")
        self.weight_h = _uniform((hidden, 3 * hidden), hidden, generator, "W_h")
        self.bias = _uniform((3 * hidden,), hidden, generator, "b")
        self.bias_hn = _uniform((hidden,), hidden, generator, "b_hn")
        self.n_in, self.hidden = n_in, hidden

    def forward(self, x: Tensor, h: Tensor) -> Tensor:
        _check_step("GRUCell", x, self.n_in)
        _check_state("GRUCell", h, x.shape[0], self.hidden)
        n = self.hidden
        from_x = x @ self.weight_x + self.bias
        from_h = h @ self.weight_h
        r = (from_x[:, :n] + from_h[:, :n]).sigmoid()
        z = (from_x[:, n:2 * n] + from_h[:, n:2 * n]).sigmoid()
        candidate = (from_x[:, 2 * n:] + r * (from_h[:, 2 * n:] + self.bias_hn)).tanh()
        return (1 - z) * candidate + z * h

    def initial_state(self, batch: int) -> Tensor:
        return Tensor(np.zeros((batch, self.hidden)))


# ---------------------------------------------------------------- layers (whole sequences)


class _Recurrent(Module):
    """Runs ``self.cell`` over the time axis of a (batch, time, features) input."""

    cell: Module
    state_name = "h"

    def forward(self, x: Tensor, state=None):
        """(outputs for every step (batch, time, size), final state); ``state`` defaults to 0."""
        x = as_tensor(x)
        name = type(self).__name__
        if x.ndim != 3 or x.shape[2] != self.cell.n_in:
            raise ValueError(
                f"{name}: input must have shape (batch, time, {self.cell.n_in}), got {x.shape}"
            )
        if x.shape[1] == 0:
            raise ValueError(f"{name}: the sequences are empty (time axis of length 0)")
        if state is None:
            state = self.cell.initial_state(x.shape[0])
        outputs = []
        for t in range(x.shape[1]):  # one cell per step: the unrolled graph
            state = self.cell(x[:, t], state)
            output = state[0] if isinstance(state, tuple) else state
            output.name = f"{self.state_name}{t + 1}"  # h1, h2, ... in drawings of the graph
            if isinstance(state, tuple):
                state[1].name = f"c{t + 1}"
            outputs.append(output)
        return stack(outputs, axis=1), state

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.cell.n_in}, {self.cell.hidden})"


class RNN(_Recurrent):
    """Elman network: a hidden state fed back at every step, h_t = tanh(x_t W_x + h_{t-1} W_h + b).

    ``rnn(x)`` with x (batch, time, n_in) returns (outputs (batch, time, hidden), h_T).
    """

    cell: RNNCell

    def __init__(self, n_in: int, hidden: int, activation: str = "tanh", seed: Seed = None):
        self.cell = RNNCell(n_in, hidden, activation, seed)


Elman = RNN


class Jordan(_Recurrent):
    """Jordan network: the output of each step is fed back as an input of the next.

    h_t = tanh(x_t W_x + y_{t-1} W_y + b),   y_t = φ(h_t W_o + b_o)

    ``jordan(x)`` with x (batch, time, n_in) returns (outputs (batch, time, n_out), y_T).
    """

    state_name = "y"
    cell: JordanCell

    def __init__(
        self,
        n_in: int,
        hidden: int,
        n_out: int,
        output_activation: str | None = None,
        seed: Seed = None,
    ):
        self.cell = JordanCell(n_in, hidden, n_out, output_activation, seed)

    def __repr__(self) -> str:
        return f"Jordan({self.cell.n_in}, {self.cell.hidden}, {self.cell.n_out})"


class LSTM(_Recurrent):
    """LSTM layer (see ``LSTMCell`` for the equations).

    ``lstm(x)`` with x (batch, time, n_in) returns (outputs (batch, time, hidden), (h_T, c_T)).
    """

    cell: LSTMCell

    def __init__(self, n_in: int, hidden: int, seed: Seed = None):
        self.cell = LSTMCell(n_in, hidden, seed)


class GRU(_Recurrent):
    """GRU layer (see ``GRUCell`` for the equations).

    ``gru(x)`` with x (batch, time, n_in) returns (outputs (batch, time, hidden), h_T).
    """

    cell: GRUCell

    def __init__(self, n_in: int, hidden: int, seed: Seed = None):
        self.cell = GRUCell(n_in, hidden, seed)


__all__ = [
    "GRU",
    "LSTM",
    "RNN",
    "Elman",
    "GRUCell",
    "Jordan",
    "JordanCell",
    "LSTMCell",
    "RNNCell",
]
