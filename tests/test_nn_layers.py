"""Tensor layers, state dicts and weight files."""

import os

import numpy as np
import pytest

from chaingrad import nn
from chaingrad.autograd import Tensor


def test_linear_matches_pytorch_forward_and_gradients():
    torch = pytest.importorskip("torch")
    layer = nn.Linear(3, 4, seed=0)
    data = np.random.default_rng(1).normal(size=(5, 3))
    x = Tensor(data, requires_grad=True)
    (layer(x).tanh() ** 2).sum().backward()
    t = torch.tensor(data, requires_grad=True)
    W = torch.tensor(layer.weight.data.T.copy(), requires_grad=True)  # torch keeps (out, in)
    b = torch.tensor(np.zeros(4), requires_grad=True)
    (torch.tanh(torch.nn.functional.linear(t, W, b)) ** 2).sum().backward()
    assert np.allclose(layer.weight.grad, W.grad.numpy().T, atol=1e-12)
    assert np.allclose(layer.bias.grad, b.grad.numpy(), atol=1e-12)
    assert np.allclose(x.grad, t.grad.numpy(), atol=1e-12)


def test_linear_is_one_node_with_the_gradients_of_matmul_then_add():
    layer = nn.Linear(3, 4, seed=0)
    layer.bias.data[:] = [0.5, -1.0, 2.0, 0.0]
    x = Tensor(np.random.default_rng(2).normal(size=(5, 3)))  # data: no gradient wanted
    out = layer(x)
    assert out.op == "linear" and out.parents == (x, layer.weight, layer.bias)
    (out.tanh() ** 2).sum().backward()
    W = Tensor(layer.weight.data, requires_grad=True)
    b = Tensor(layer.bias.data, requires_grad=True)
    twin = x @ W + b
    (twin.tanh() ** 2).sum().backward()
    assert np.array_equal(out.data, twin.data)
    assert np.array_equal(layer.weight.grad, W.grad) and np.array_equal(layer.bias.grad, b.grad)
    assert x.grad is None
    without_bias = nn.Linear(3, 4, bias=False, seed=0)(x)
    assert without_bias.op == "@"


def test_initialisations_have_the_promised_spread():
    xavier = nn.Linear(200, 300, init="xavier", seed=0).weight.data
    assert np.abs(xavier).max() <= np.sqrt(6 / 500) and xavier.std() == pytest.approx(
        np.sqrt(2 / 500), rel=0.02
    )
    he = nn.Linear(400, 300, init="he", seed=0).weight.data
    assert he.std() == pytest.approx(np.sqrt(2 / 400), rel=0.02)
    assert not nn.Linear(3, 2, init="zeros").weight.data.any()
    assert nn.Linear(3, 2, bias=False).parameters()[0].shape == (3, 2)
    assert len(nn.Linear(3, 2, bias=False).parameters()) == 1
    with pytest.raises(ValueError, match="unknown init 'glorot'.*xavier"):
        nn.Linear(2, 2, init="glorot")


def test_linear_names_the_shape_it_expected():
    with pytest.raises(ValueError, match="expected inputs with 3 features.*\\(4, 2\\)"):
        nn.Linear(3, 1)(np.ones((4, 2)))


def test_mlp_layout_and_parameter_count():
    model = nn.MLP(2, [16, 16, 1], seed=0)
    kinds = [type(layer).__name__ for layer in model]
    assert kinds == ["Linear", "Tanh", "Linear", "Tanh", "Linear"]
    assert model.num_parameters() == 337
    assert len(model.parameters()) == 6
    classifier = nn.MLP(2, [4, 1], activation="relu", output_activation="sigmoid", seed=0)
    assert [type(layer).__name__ for layer in classifier] == ["Linear", "ReLU", "Linear", "Sigmoid"]
    out = classifier(np.random.default_rng(0).normal(size=(7, 2)))
    assert out.shape == (7, 1) and np.all((out.data > 0) & (out.data < 1))
    learned = nn.MLP(2, [4, 4, 1], activation=nn.PReLU(), seed=0)
    assert learned[1] is not learned[3]  # each hidden layer learns its own slope
    assert learned.num_parameters() == 12 + 20 + 5 + 2


def test_sequential_composes_and_flatten_keeps_the_batch():
    model = nn.Sequential(nn.Flatten(), nn.Linear(6, 2, seed=0))
    x = np.arange(24.0).reshape(4, 2, 3)
    expected = x.reshape(4, 6) @ model[1].weight.data
    assert np.allclose(model(x).data, expected)
    assert len(model) == 2


def test_dropout_zeroes_and_rescales_while_training_only():
    layer = nn.Dropout(0.25, seed=0)
    x = Tensor(np.ones((200, 50)))
    y = layer(x).data
    assert set(np.unique(y)) == {0.0, 1 / 0.75}
    assert (y == 0).mean() == pytest.approx(0.25, abs=0.02)
    layer.eval()
    assert layer(x) is x
    with pytest.raises(ValueError, match="p must be in"):
        nn.Dropout(1.0)


def test_state_dict_round_trip_and_in_place_loading():
    model = nn.MLP(2, [3, 1], seed=0)
    weight = model[0].weight
    state = model.state_dict()
    assert list(state) == ["layers.0.weight", "layers.0.bias", "layers.2.weight", "layers.2.bias"]
    other = nn.MLP(2, [3, 1], seed=1)
    other.load_state_dict(state)
    x = np.random.default_rng(0).normal(size=(5, 2))
    assert np.array_equal(other(x).data, model(x).data)
    state["layers.0.weight"][:] = 0.0  # a copy: the model is not changed
    assert weight.data.any()
    model.load_state_dict(state)
    assert model[0].weight is weight and not weight.data.any()  # loaded in place


def test_load_state_dict_explains_what_does_not_fit():
    model = nn.MLP(2, [3, 1], seed=0)
    with pytest.raises(ValueError, match="'layers.0.weight' has shape \\(2, 4\\).*\\(2, 3\\)"):
        model.load_state_dict(nn.MLP(2, [4, 1]).state_dict())
    with pytest.raises(ValueError, match="missing \\['layers.2.bias'\\]"):
        state = model.state_dict()
        del state["layers.2.bias"]
        model.load_state_dict(state)


def test_save_and_load_through_a_file(tmp_path):
    model = nn.scalar.MLP(2, [4, 1], seed=0)
    path = model.save(tmp_path / "weights.npz")
    assert os.listdir(tmp_path) == ["weights.npz"]  # no temporary file left behind
    copy = nn.scalar.MLP(2, [4, 1], seed=9).load(path)
    assert [p.data for p in copy.parameters()] == [p.data for p in model.parameters()]
    assert set(nn.load(path)) == set(model.state_dict())


def test_bad_weight_files_give_one_clear_sentence(tmp_path):
    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"PK\x03\x04 this is not really a zip archive")
    with pytest.raises(ValueError, match="is not a weights file written by save"):
        nn.load(broken)
    text = tmp_path / "notes.npz"
    text.write_text("hello")
    with pytest.raises(ValueError, match="is not a weights file"):
        nn.load(text)
    single = tmp_path / "single.npy"
    np.save(single, np.ones(3))
    with pytest.raises(ValueError, match="single array"):
        nn.load(single)
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, evil=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ValueError, match="holds Python objects"):
        nn.load(pickled)
    with pytest.raises(FileNotFoundError, match="no file"):
        nn.load(tmp_path / "missing.npz")


def test_summary_lists_layers_shapes_and_counts(capsys):
    nn.MLP(2, [16, 16, 1], seed=0).summary()
    text = capsys.readouterr().out
    assert "0 (Linear)" in text and "(None, 16)" in text and "(None, 1)" in text
    assert "272" in text and "Total params: 337" in text
    nn.Sequential(nn.Flatten(), nn.Linear(6, 3)).summary(input_shape=(2, 3))
    text = capsys.readouterr().out
    assert "(None, 6)" in text and "(None, 3)" in text and "Total params: 21" in text
