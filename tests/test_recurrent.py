"""Recurrent layers: equal to PyTorch with copied weights, Jordan by gradcheck, and training.

PyTorch stores weight_ih (gates*H, n_in) and two biases; ours are weight_x (n_in, gates*H)
and one bias (GRU: plus bias_hn, the hidden bias of the candidate, which r multiplies).
"""

import numpy as np
import pytest

from chaingrad import nn
from chaingrad.autograd import Tensor, gradcheck
from chaingrad.nn.models import SequenceModel
from chaingrad.nn.recurrent import GRU, LSTM, RNN, GRUCell, Jordan, LSTMCell, RNNCell

try:
    import torch
except ImportError:  # only the comparisons with PyTorch need it
    torch = None
needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")

BATCH, TIME, N_IN, HIDDEN = 3, 5, 4, 6


def copy_from_torch(cell, module, hidden):
    """Put the weights of a torch RNN/LSTM/GRU (layer or cell) into our cell."""
    suffix = "_l0" if hasattr(module, "weight_ih_l0") else ""
    weight_ih = getattr(module, f"weight_ih{suffix}").detach().numpy()
    weight_hh = getattr(module, f"weight_hh{suffix}").detach().numpy()
    bias_ih = getattr(module, f"bias_ih{suffix}").detach().numpy()
    bias_hh = getattr(module, f"bias_hh{suffix}").detach().numpy()
    cell.weight_x.data[...] = weight_ih.T
    cell.weight_h.data[...] = weight_hh.T
    if isinstance(cell, GRUCell):  # r and z add both biases; the candidate keeps b_hn apart
        cell.bias.data[...] = bias_ih + np.concatenate([bias_hh[: 2 * hidden], np.zeros(hidden)])
        cell.bias_hn.data[...] = bias_hh[2 * hidden:]
    else:
        cell.bias.data[...] = bias_ih + bias_hh


def torch_grads(module, cell):
    """Torch's parameter gradients, in our layout, keyed like our cell's parameters."""
    suffix = "_l0" if hasattr(module, "weight_ih_l0") else ""
    grad = {name: getattr(module, name + suffix).grad.numpy()
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")}
    ours = {"weight_x": grad["weight_ih"].T, "weight_h": grad["weight_hh"].T}
    if isinstance(cell, GRUCell):
        hidden = cell.hidden
        ours["bias"] = grad["bias_ih"]  # d/db_ih equals d/d(our bias) for all three gates
        ours["bias_hn"] = grad["bias_hh"][2 * hidden:]
        # and torch's b_hr, b_hz receive the same gradient as their b_ir, b_iz partners:
        np.testing.assert_allclose(grad["bias_hh"][: 2 * hidden], grad["bias_ih"][: 2 * hidden],
                                   rtol=0, atol=1e-12)
    else:
        ours["bias"] = grad["bias_ih"]
        np.testing.assert_allclose(grad["bias_hh"], grad["bias_ih"], rtol=0, atol=1e-12)
    return ours


LAYERS = {
    "rnn-tanh": (lambda: RNN(N_IN, HIDDEN, seed=1),
                 lambda: torch.nn.RNN(N_IN, HIDDEN, batch_first=True)),
    "rnn-relu": (lambda: RNN(N_IN, HIDDEN, activation="relu", seed=1),
                 lambda: torch.nn.RNN(N_IN, HIDDEN, nonlinearity="relu", batch_first=True)),
    "lstm": (lambda: LSTM(N_IN, HIDDEN, seed=1),
             lambda: torch.nn.LSTM(N_IN, HIDDEN, batch_first=True)),
    "gru": (lambda: GRU(N_IN, HIDDEN, seed=1),
            lambda: torch.nn.GRU(N_IN, HIDDEN, batch_first=True)),
}


def _inputs(seed=0):
    generator = np.random.default_rng(seed)
    x = generator.normal(size=(BATCH, TIME, N_IN))
    h0 = generator.normal(scale=0.5, size=(BATCH, HIDDEN))
    c0 = generator.normal(scale=0.5, size=(BATCH, HIDDEN))
    weights = generator.normal(size=(BATCH, TIME, HIDDEN))  # makes every output count
    final_weights = generator.normal(size=(BATCH, HIDDEN))
    return x, h0, c0, weights, final_weights


@needs_torch
@pytest.mark.parametrize("kind", sorted(LAYERS))
@pytest.mark.parametrize("given_state", [False, True])
def test_layer_equals_torch(kind, given_state):
    torch.manual_seed(0)
    ours_factory, torch_factory = LAYERS[kind]
    ours, theirs = ours_factory(), torch_factory().double()
    copy_from_torch(ours.cell, theirs, HIDDEN)
    x, h0, c0, weights, final_weights = _inputs()
    is_lstm = kind == "lstm"

    # PyTorch: batch_first input, states with a leading layers axis
    x_t = torch.tensor(x, requires_grad=True)
    h0_t = torch.tensor(h0[None], requires_grad=True)
    c0_t = torch.tensor(c0[None], requires_grad=True)
    state_t = ((h0_t, c0_t) if is_lstm else h0_t) if given_state else None
    out_t, final_t = theirs(x_t, state_t)
    h_final_t = final_t[0] if is_lstm else final_t
    loss_t = (out_t * torch.tensor(weights)).sum()
    loss_t = loss_t + (h_final_t[0] * torch.tensor(final_weights)).sum()
    if is_lstm:
        loss_t = loss_t + (final_t[1][0] ** 2).sum()
    loss_t.backward()

    x_o = Tensor(x, requires_grad=True)
    h0_o, c0_o = Tensor(h0, requires_grad=True), Tensor(c0, requires_grad=True)
    state_o = ((h0_o, c0_o) if is_lstm else h0_o) if given_state else None
    out_o, final_o = ours(x_o, state_o)
    h_final_o = final_o[0] if is_lstm else final_o
    loss_o = (out_o * weights).sum() + (h_final_o * final_weights).sum()
    if is_lstm:
        loss_o = loss_o + (final_o[1] ** 2).sum()
    loss_o.backward()

    assert out_o.shape == (BATCH, TIME, HIDDEN) and h_final_o.shape == (BATCH, HIDDEN)
    np.testing.assert_allclose(out_o.data, out_t.detach().numpy(), rtol=0, atol=1e-10)
    np.testing.assert_allclose(h_final_o.data, h_final_t[0].detach().numpy(), rtol=0, atol=1e-10)
    if is_lstm:
        np.testing.assert_allclose(final_o[1].data, final_t[1][0].detach().numpy(),
                                   rtol=0, atol=1e-10)
    np.testing.assert_allclose(x_o.grad, x_t.grad.numpy(), rtol=0, atol=1e-10)
    expected = torch_grads(theirs, ours.cell)
    own = dict(ours.cell.named_parameters())
    assert sorted(own) == sorted(expected)
    for name, parameter in own.items():
        np.testing.assert_allclose(parameter.grad, expected[name], rtol=0, atol=1e-10,
                                   err_msg=f"{kind}: gradient of {name}")
    if given_state:
        np.testing.assert_allclose(h0_o.grad, h0_t.grad.numpy()[0], rtol=0, atol=1e-10)
        if is_lstm:
            np.testing.assert_allclose(c0_o.grad, c0_t.grad.numpy()[0], rtol=0, atol=1e-10)


@needs_torch
@pytest.mark.parametrize("ours_cls, torch_name", [
    (RNNCell, "RNNCell"), (LSTMCell, "LSTMCell"), (GRUCell, "GRUCell"),
])
def test_cell_one_step_equals_torch(ours_cls, torch_name):
    torch.manual_seed(2)
    theirs = getattr(torch.nn, torch_name)(N_IN, HIDDEN).double()
    ours = ours_cls(N_IN, HIDDEN)
    copy_from_torch(ours, theirs, HIDDEN)
    x, h0, c0, _, _ = _inputs(3)
    x = x[:, 0]
    if ours_cls is LSTMCell:
        h_t, c_t = theirs(torch.tensor(x), (torch.tensor(h0), torch.tensor(c0)))
        h_o, c_o = ours(Tensor(x), (Tensor(h0), Tensor(c0)))
        np.testing.assert_allclose(c_o.data, c_t.detach().numpy(), rtol=0, atol=1e-12)
    else:
        h_t = theirs(torch.tensor(x), torch.tensor(h0))
        h_o = ours(Tensor(x), Tensor(h0))
    np.testing.assert_allclose(h_o.data, h_t.detach().numpy(), rtol=0, atol=1e-12)


# ---------------------------------------------------------------- Jordan (no torch twin)


def test_jordan_forward_follows_its_equations():
    net = Jordan(N_IN, HIDDEN, 2, output_activation="tanh", seed=4)
    cell = net.cell
    x = np.random.default_rng(5).normal(size=(BATCH, TIME, N_IN))
    outputs, last = net(Tensor(x))
    y = np.zeros((BATCH, 2))
    for t in range(TIME):  # the equations in numpy, step by step
        h = np.tanh(x[:, t] @ cell.weight_x.data + y @ cell.weight_y.data + cell.bias.data)
        y = np.tanh(h @ cell.weight_out.data + cell.bias_out.data)
        np.testing.assert_allclose(outputs.data[:, t], y, rtol=0, atol=1e-12)
    np.testing.assert_allclose(last.data, y, rtol=0, atol=1e-12)


@pytest.mark.parametrize("output_activation", [None, "sigmoid"])
def test_jordan_gradcheck(output_activation):
    net = Jordan(3, 4, 2, output_activation=output_activation, seed=6)
    generator = np.random.default_rng(7)
    x = Tensor(generator.normal(size=(2, 4, 3)), requires_grad=True)
    y0 = Tensor(generator.normal(size=(2, 2)), requires_grad=True)
    params = net.parameters()
    assert len(params) == 5

    def loss(x, y0, *weights):
        outputs, last = net(x, y0)
        return (outputs**2).sum() + last.sum()

    assert gradcheck(loss, [x, y0, *params])


def test_jordan_feeds_back_the_output_not_the_hidden_state():
    # With the feedback weights at zero, each step sees only its own input.
    net = Jordan(2, 5, 1, seed=8)
    net.cell.weight_y.data[...] = 0.0
    x = np.random.default_rng(9).normal(size=(4, 6, 2))
    outputs, _ = net(Tensor(x))
    alone, _ = net(Tensor(x[:, 3:4]))
    np.testing.assert_allclose(outputs.data[:, 3], alone.data[:, 0], rtol=0, atol=1e-12)


# ---------------------------------------------------------------- shapes and errors


@needs_torch
def test_layouts_and_parameters_match_torch_counts():
    # One summed bias instead of two: H fewer numbers per gate, but GRU keeps b_hn (H) apart.
    fewer = {"rnn-tanh": HIDDEN, "rnn-relu": HIDDEN, "lstm": 4 * HIDDEN, "gru": 2 * HIDDEN}
    for kind, (ours_factory, torch_factory) in LAYERS.items():
        ours, theirs = ours_factory(), torch_factory()
        expected = sum(p.numel() for p in theirs.parameters()) - fewer[kind]
        assert ours.num_parameters() == expected, kind


@pytest.mark.parametrize("layer", [RNN(2, 3), LSTM(2, 3), GRU(2, 3), Jordan(2, 3, 1)])
def test_bad_shapes_are_named(layer):
    name = type(layer).__name__
    with pytest.raises(ValueError, match=rf"{name}: input must have shape \(batch, time, 2\), "
                                         r"got \(4, 2\)"):
        layer(Tensor(np.zeros((4, 2))))
    with pytest.raises(ValueError, match=rf"{name}: .*got \(4, 5, 3\)"):
        layer(Tensor(np.zeros((4, 5, 3))))
    with pytest.raises(ValueError, match="Cell: .*must have shape \\(4, "):
        state = layer.cell.initial_state(2)  # the wrong batch size
        layer(Tensor(np.zeros((4, 5, 2))), state)


def test_bad_sizes_and_activation():
    with pytest.raises(ValueError, match="RNNCell: hidden must be a positive integer"):
        RNN(2, 0)
    with pytest.raises(ValueError, match="RNNCell: activation must be 'tanh' or 'relu'"):
        RNN(2, 3, activation="sigmoid")
    with pytest.raises(ValueError, match="JordanCell: output_activation"):
        Jordan(2, 3, 1, output_activation="relu")


# ---------------------------------------------------------------- learning (BPTT)


def noisy_sine(n=48, steps=20, noise=0.05, seed=0):
    """Inputs: a noisy sine at a random phase; targets: the next clean value at every step."""
    generator = np.random.default_rng(seed)
    phase = generator.uniform(0, 2 * np.pi, (n, 1))
    t = np.arange(steps + 1) * 0.4 + phase
    clean = np.sin(t)
    x = clean[:, :-1] + noise * generator.normal(size=(n, steps))
    return x[:, :, None], clean[:, 1:, None]


def _train(model, x, y, steps, lr):
    optimizer = nn.optim.Adam(model.parameters(), lr=lr)
    for _ in range(steps):
        optimizer.zero_grad()
        loss = nn.losses.mse(model(Tensor(x))[:, 3:], y[:, 3:])  # a few steps to warm up
        loss.backward()
        optimizer.step()
    return float(loss.data)


SEQUENCE_MODELS = {
    "elman": lambda: SequenceModel(RNN(1, 12, seed=0), 1, seed=0),
    "lstm": lambda: SequenceModel(LSTM(1, 12, seed=0), 1, seed=0),
    "gru": lambda: SequenceModel(GRU(1, 12, seed=0), 1, seed=0),
}


@pytest.mark.parametrize("kind", sorted(SEQUENCE_MODELS))
def test_learns_to_predict_the_next_value_of_a_noisy_sine(kind):
    x, y = noisy_sine()
    model = SEQUENCE_MODELS[kind]()
    # Guessing 0 costs about 0.5 (the sine's variance); repeating the input about 0.08.
    persistence = float(np.mean((x[:, 3:] - y[:, 3:]) ** 2))
    assert persistence > 0.06
    loss = _train(model, x, y, steps=100, lr=0.02)
    assert loss < 0.02, f"{kind} reached only {loss:.4f}"
    x_new, y_new = noisy_sine(seed=1)  # fresh phases and noise
    prediction = model(Tensor(x_new)).data
    assert float(np.mean((prediction[:, 3:] - y_new[:, 3:]) ** 2)) < 0.03


def test_jordan_learns_the_running_parity_of_bit_strings():
    # y_t = y_{t-1} XOR x_t: the fed-back output is exactly the memory this task needs.
    # (On the noisy sine a Jordan net stalls near 0.037: its fed-back prediction repeats what
    # x_t already says and cannot tell a rising sine from a falling one.)
    bits = np.array([[(n >> k) & 1 for k in range(6)] for n in range(64)], dtype=float)
    target = np.cumsum(bits, axis=1) % 2
    model = Jordan(1, 8, 1, output_activation="sigmoid", seed=0)
    optimizer = nn.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(150):
        optimizer.zero_grad()
        outputs, _ = model(Tensor(bits[:, :, None]))
        loss = nn.losses.mse(outputs, target[:, :, None])  # guessing 0.5 everywhere: 0.25
        loss.backward()
        optimizer.step()
    assert float(loss.data) < 0.01
    assert np.all((outputs.data[:, :, 0] > 0.5) == target)


def test_gru_learns_parity_of_short_bit_strings():
    bits = np.array([[(n >> k) & 1 for k in range(4)] for n in range(16)], dtype=float)
    labels = bits.sum(axis=1).astype(int) % 2
    model = SequenceModel(GRU(1, 8, seed=3), 2, last_only=True, seed=3)
    optimizer = nn.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(150):
        optimizer.zero_grad()
        loss = nn.losses.cross_entropy(model(Tensor(bits[:, :, None])), labels)
        loss.backward()
        optimizer.step()
    predicted = model(Tensor(bits[:, :, None])).data.argmax(axis=1)
    assert float(loss.data) < 0.1
    assert np.all(predicted == labels)


def test_weights_and_states_are_named_for_drawings():
    assert [p.name for p in LSTM(2, 3).parameters()] == ["W_x", "W_h", "b"]
    assert [p.name for p in GRU(2, 3).parameters()] == ["W_x", "W_h", "b", "b_hn"]
    assert [p.name for p in Jordan(2, 3, 1).parameters()] == ["W_x", "W_y", "b", "W_o", "b_o"]
    outputs, (h, c) = LSTM(2, 3)(Tensor(np.zeros((1, 4, 2))))
    assert (outputs.op, [p.name for p in outputs.parents]) == ("stack", ["h1", "h2", "h3", "h4"])
    assert (h.name, c.name) == ("h4", "c4")
    outputs, _ = Jordan(2, 3, 1)(Tensor(np.zeros((1, 2, 2))))
    assert [p.name for p in outputs.parents] == ["y1", "y2"]
