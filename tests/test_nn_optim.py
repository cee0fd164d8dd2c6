"""nn.optim: five steps on the same problem follow PyTorch's trajectory."""

import numpy as np
import pytest

from chaingrad import nn
from chaingrad.autograd import Tensor, Value
from chaingrad.nn import optim

torch = pytest.importorskip("torch")

CONFIGS = [
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.1, "momentum": 0.9}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
    ("SGD", {"lr": 0.05, "momentum": 0.5, "dampening": 0.3}),
    ("Adagrad", {}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.01, "weight_decay": 0.1,
                 "initial_accumulator_value": 0.2}),
    ("RMSprop", {}),
    ("RMSprop", {"momentum": 0.8, "centered": True, "weight_decay": 0.05}),
    ("Adam", {}),
    ("Adam", {"lr": 0.05, "betas": (0.8, 0.99), "weight_decay": 0.1, "amsgrad": True}),
    ("Adamax", {}),
    ("Adamax", {"lr": 0.05, "weight_decay": 0.02}),
    ("AdamW", {}),
    ("AdamW", {"lr": 0.05, "weight_decay": 0.5, "amsgrad": True}),
]
IDS = [f"{name}-{i}" for i, (name, _) in enumerate(CONFIGS)]

rng = np.random.default_rng(0)
X = rng.normal(size=(8, 3))
Y = rng.normal(size=(8, 2))
W0, B0 = rng.normal(size=(3, 2)), rng.normal(size=2)


def _torch_trajectory(name, options, steps=5):
    W = torch.tensor(W0, requires_grad=True)
    b = torch.tensor(B0, requires_grad=True)
    optimizer = getattr(torch.optim, name)([W, b], **options)
    path = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = ((torch.tanh(torch.tensor(X) @ W + b) - torch.tensor(Y)) ** 2).mean()
        loss.backward()
        optimizer.step()
        path.append((W.detach().numpy().copy(), b.detach().numpy().copy()))
    return path


@pytest.mark.parametrize(("name", "options"), CONFIGS, ids=IDS)
def test_tensor_parameters_follow_pytorch(name, options):
    W = Tensor(W0, requires_grad=True)
    b = Tensor(B0, requires_grad=True)
    optimizer = getattr(optim, name)([W, b], **options)
    for expected_W, expected_b in _torch_trajectory(name, options):
        optimizer.zero_grad()
        loss = (((Tensor(X) @ W + b).tanh() - Y) ** 2).mean()
        loss.backward()
        optimizer.step()
        assert np.allclose(W.data, expected_W, atol=1e-7, rtol=0)
        assert np.allclose(b.data, expected_b, atol=1e-7, rtol=0)
    assert not np.allclose(W.data, W0)  # it did move


@pytest.mark.parametrize(("name", "options"), CONFIGS, ids=IDS)
def test_value_parameters_follow_pytorch(name, options):
    # Rosenbrock's valley, from (-1, 1.5), with two Values as parameters.
    x, y = Value(-1.0), Value(1.5)
    optimizer = getattr(optim, name)([x, y], **options)
    tx = torch.tensor(-1.0, dtype=torch.float64, requires_grad=True)
    ty = torch.tensor(1.5, dtype=torch.float64, requires_grad=True)
    reference = getattr(torch.optim, name)([tx, ty], **options)
    for _ in range(5):
        for opt, (a, c) in ((optimizer, (x, y)), (reference, (tx, ty))):
            opt.zero_grad()
            ((1 - a) ** 2 + 0.1 * (c - a * a) ** 2).backward()
            opt.step()
        assert abs(x.data - tx.item()) < 1e-7 and abs(y.data - ty.item()) < 1e-7


def test_defaults_are_pytorchs():
    W = Tensor(W0, requires_grad=True)
    for name in ("SGD", "Adagrad", "RMSprop", "Adam", "Adamax", "AdamW"):
        ours = getattr(optim, name)([W])
        theirs = getattr(torch.optim, name)([torch.zeros(1, requires_grad=True)]).defaults
        for key, value in vars(ours).items():
            if key in theirs:
                assert theirs[key] == value, (name, key)


def test_updates_are_in_place_and_skip_parameters_without_gradient():
    model = nn.Linear(3, 2, seed=0)
    weight_array = model.weight.data
    optimizer = optim.SGD(model, lr=0.5)
    model.weight.grad = np.ones((3, 2))
    before_bias = model.bias.data.copy()
    optimizer.step()
    # updated in place, in the same memory (a new view of it, so older graphs can tell)
    assert np.shares_memory(model.weight.data, weight_array)
    assert np.allclose(model.weight.data, weight_array)
    assert np.array_equal(model.bias.data, before_bias)  # bias.grad is None: untouched
    optimizer.zero_grad()
    assert model.weight.grad is None


def test_full_batch_gd_descends_on_a_scalar_network():
    model = nn.scalar.MLP(1, [4, 1], seed=0)
    optimizer = optim.GD(model, lr=0.05)
    data = [(-1.0, 1.0), (0.0, 0.0), (1.0, 1.0)]
    losses = []
    for _ in range(30):
        optimizer.zero_grad()
        loss = nn.losses.mse([model([x]) for x, _ in data], [y for _, y in data])
        loss.backward()
        optimizer.step()
        losses.append(loss.data)
    assert losses[-1] < 0.5 * losses[0]


def test_bad_settings_and_names():
    W = Tensor(W0, requires_grad=True)
    with pytest.raises(ValueError, match="nesterov needs momentum"):
        optim.SGD([W], nesterov=True)
    with pytest.raises(ValueError, match="lr must be >= 0"):
        optim.Adam([W], lr=-1)
    with pytest.raises(ValueError, match="betas must be in"):
        optim.Adam([W], betas=(1.0, 0.9))
    with pytest.raises(ValueError, match="got no parameters"):
        optim.Adam([])
    with pytest.raises(ValueError, match="unknown optimizer 'adadelta'; choose one of gd, sgd"):
        optim.get("adadelta", [W])
    assert isinstance(optim.get("Adam", [W], lr=0.1), optim.Adam)


@pytest.mark.parametrize(("name", "options"), CONFIGS, ids=IDS)
def test_a_step_allocates_no_weight_sized_array(name, options):
    # Every rule updates in place, into arrays kept from the first step: after it, a step
    # must not allocate even one array the size of the weights (tracemalloc sees numpy's
    # allocations). The peak of traced memory during a step would show such a temporary.
    import tracemalloc

    W = Tensor(rng.normal(size=(300, 200)), requires_grad=True)
    optimizer = getattr(optim, name)([W], **options)
    W.grad = rng.normal(size=W.shape)
    optimizer.step()  # the first step makes the kept arrays
    tracemalloc.start()
    try:
        for _ in range(3):
            before = tracemalloc.get_traced_memory()[0]
            tracemalloc.reset_peak()
            optimizer.step()
            current, peak = tracemalloc.get_traced_memory()
            assert peak - before < W.data.nbytes // 4, (name, peak - before)
            assert current - before < 1000  # and it keeps nothing new either
    finally:
        tracemalloc.stop()
