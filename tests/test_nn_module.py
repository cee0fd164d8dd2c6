"""nn.Module parameter discovery and the scalar networks (every weight a Value)."""

import math

import numpy as np
import pytest

from chaingrad import nn
from chaingrad.autograd import Tensor, Value
from chaingrad.nn.scalar import MLP, Layer, Neuron


class Affine(nn.Module):
    def __init__(self):
        self.w = Value(0.5, name="w")
        self.b = Value(-1.0, name="b")

    def forward(self, x):
        return self.w * x + self.b


class Holder(nn.Module):
    """Parameters inside lists, tuples and dicts, a shared sub-module, and a non-leaf Value."""

    def __init__(self):
        self.first = Affine()
        self.pair = (Value(1.0, name="t0"), [Value(2.0, name="t1")])
        self.table = {"z": Value(3.0, name="z"), "shared": self.first}
        self.matrix = Tensor(np.ones((2, 2)), requires_grad=True, name="m")
        self.inputs = Tensor(np.ones(3))  # data, not a parameter
        self.cached = self.first.w * 2  # an intermediate node, not a parameter

    def forward(self, x):
        return self.first(x)


def test_parameters_walk_attributes_in_order_without_duplicates():
    model = Holder()
    names = [p.name for p in model.parameters()]
    assert names == ["w", "b", "t0", "t1", "z", "m"]
    paths = [path for path, _ in model.named_parameters()]
    assert paths == ["first.w", "first.b", "pair.0", "pair.1.0", "table.z", "matrix"]


def test_call_runs_forward_and_zero_grad_resets():
    model = Holder()
    y = model(Value(4.0))
    y.backward()
    assert (model.first.w.grad, model.first.b.grad) == (4.0, 1.0)
    model.matrix.grad = np.ones((2, 2))
    model.zero_grad()
    assert model.first.w.grad == 0.0 and model.matrix.grad is None


def test_train_eval_reach_every_submodule():
    model = Holder()
    assert model.training and model.first.training
    assert model.eval() is model
    assert not model.training and not model.first.training
    model.train()
    assert model.first.training


def test_module_without_forward_says_so():
    with pytest.raises(NotImplementedError, match="forward"):
        nn.Module()(1.0)


def test_scalar_mlp_has_337_parameters_and_stable_names():
    model = MLP(2, [16, 16, 1], seed=0)
    params = model.parameters()
    assert len(params) == 337 == 2 * 16 + 16 + 16 * 16 + 16 + 16 + 1
    assert all(isinstance(p, Value) for p in params)
    assert len({p.name for p in params}) == 337
    assert model.layers[0].neurons[3].weights[0].name == "L1.N3.w0"
    assert model.layers[0].neurons[3].bias.name == "L1.N3.b"
    assert params[-1].name == "L3.N0.b"


def test_neuron_computes_activation_of_weighted_sum():
    for activation, f in [
        ("tanh", math.tanh),
        ("relu", lambda z: max(z, 0.0)),
        ("sigmoid", lambda z: 1 / (1 + math.exp(-z))),
        ("linear", lambda z: z),
    ]:
        neuron = Neuron(3, activation=activation, seed=1)
        neuron.bias.data = 0.3
        x = [0.5, -2.0, 1.5]
        expected = f(sum(w.data * xi for w, xi in zip(neuron.weights, x)) + 0.3)
        assert neuron(x).data == pytest.approx(expected, abs=1e-14)


def test_scalar_mlp_matches_torch_forward_and_gradients():
    torch = pytest.importorskip("torch")
    model = MLP(3, [4, 5, 2], activation="tanh", seed=3)
    x = [0.2, -0.7, 1.1]
    out = model(x)
    (out[0] * 2.0 + out[1]).backward()

    t = torch.tensor(x, dtype=torch.float64)
    weights = []
    for k, layer in enumerate(model.layers):
        rows = [[w.data for w in n.weights] for n in layer.neurons]
        W = torch.tensor(rows, dtype=torch.float64, requires_grad=True)
        b = torch.tensor([n.bias.data for n in layer.neurons], dtype=torch.float64)
        b.requires_grad_(True)
        weights.append((W, b))
        t = W @ t + b
        if k < len(model.layers) - 1:
            t = torch.tanh(t)
    (t[0] * 2.0 + t[1]).backward()
    assert [o.data for o in out] == pytest.approx(t.tolist(), abs=1e-12)
    for layer, (W, b) in zip(model.layers, weights):
        ours_w = [[w.grad for w in n.weights] for n in layer.neurons]
        assert np.allclose(ours_w, W.grad.numpy(), atol=1e-12)
        assert np.allclose([n.bias.grad for n in layer.neurons], b.grad.numpy(), atol=1e-12)


def test_last_layer_is_linear_and_hidden_layers_use_the_activation():
    model = MLP(2, [3, 1], activation="relu", seed=0)
    assert [n.activation for n in model.layers[0].neurons] == ["relu"] * 3
    assert model.layers[1].neurons[0].activation == "linear"


def test_seeds_make_initialisation_reproducible():
    a = [p.data for p in MLP(2, [4, 1], seed=7).parameters()]
    b = [p.data for p in MLP(2, [4, 1], seed=7).parameters()]
    c = [p.data for p in MLP(2, [4, 1], seed=8).parameters()]
    assert a == b and a != c
    nn.manual_seed(5)
    d = [p.data for p in MLP(2, [4, 1]).parameters()]
    nn.manual_seed(5)
    assert d == [p.data for p in MLP(2, [4, 1]).parameters()]


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="unknown activation 'cube'"):
        Neuron(2, activation="cube")
    with pytest.raises(ValueError, match="expected 2 inputs, got 3"):
        Layer(2, 3)([1.0, 2.0, 3.0])
