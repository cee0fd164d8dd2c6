"""nn.activations: every function of the course's table against its hand-written derivative,
against autograd's own derivative of the formula, and against PyTorch where it has one."""

import math

import numpy as np
import pytest

from chaingrad import nn
from chaingrad.autograd import Op, Tensor, Value, grad
from chaingrad.nn import activations as A

# Parameter settings to try per activation (besides the defaults).
SETTINGS = {
    "sigmoid": [{}, {"c": 2.5}],
    "tanh": [{}, {"c": 0.5}],
    "soft_exponential": [{"alpha": -0.5}, {"alpha": 0.0}, {"alpha": 0.7}],
    "leaky_relu": [{}, {"slope": 0.2}],
    "prelu": [{"alpha": 0.3}],
    "rrelu": [{}, {"lower": 0.1, "upper": 0.5}],
    "elu": [{}, {"alpha": 0.5}],
    "smelu": [{}, {"beta": 0.5}],
}
CASES = [(name, params) for name in A.FUNCTIONS for params in SETTINGS.get(name, [{}])]
GRID = np.linspace(-3.0, 3.0, 49)  # includes 0 and the kinks at ±0.5, ±1


def _grid(params):
    alpha = params.get("alpha", 0.0)
    if alpha < 0:  # soft_exponential with alpha < 0 is defined only where alpha (x + alpha) < 1
        return GRID[alpha * (GRID + alpha) < 1]
    return GRID


@pytest.mark.parametrize(("name", "params"), CASES, ids=[f"{n}{p}" for n, p in CASES])
def test_hand_written_derivative_equals_autograd_on_values(name, params):
    f, df = A.get(name), A.derivative(name)
    for x0 in _grid(params):
        x = Value(float(x0))
        slope = grad(f(x, **params), x).data
        assert slope == pytest.approx(df(float(x0), **params), abs=1e-12), (name, x0)


@pytest.mark.parametrize(("name", "params"), CASES, ids=[f"{n}{p}" for n, p in CASES])
def test_tensor_forward_and_derivative_match_the_value_path(name, params):
    f, df = A.get(name), A.derivative(name)
    grid = _grid(params)
    x = Tensor(grid, requires_grad=True)
    y = f(x, **params)
    y.sum().backward()
    scalar_outputs = [f(Value(float(v)), **params).data for v in grid]
    assert np.allclose(y.data, scalar_outputs, atol=1e-13, rtol=0)
    assert np.allclose(x.grad, df(grid, **params), atol=1e-12, rtol=0)


@pytest.mark.parametrize(("name", "params"), CASES, ids=[f"{n}{p}" for n, p in CASES])
def test_derivative_agrees_with_central_differences_away_from_kinks(name, params):
    f, df = A.get(name), A.derivative(name)
    h = 1e-6
    for x0 in _grid(params) + 0.013:  # shifted off 0 and the kinks
        numeric = (f(Value(x0 + h), **params).data - f(Value(x0 - h), **params).data) / (2 * h)
        assert df(float(x0), **params) == pytest.approx(numeric, abs=1e-6), (name, x0)


TORCH = {
    "sigmoid": lambda torch, x: torch.sigmoid(x),
    "tanh": lambda torch, x: torch.tanh(x),
    "softsign": lambda torch, x: torch.nn.functional.softsign(x),
    "softplus": lambda torch, x: torch.nn.functional.softplus(x),
    "selu": lambda torch, x: torch.selu(x),
    "relu": lambda torch, x: torch.relu(x),
    "leaky_relu": lambda torch, x: torch.nn.functional.leaky_relu(x, 0.01),
    "prelu": lambda torch, x: torch.nn.functional.prelu(x, torch.tensor([0.25], dtype=x.dtype)),
    "rrelu": lambda torch, x: torch.nn.functional.rrelu(x, training=False),
    "elu": lambda torch, x: torch.nn.functional.elu(x),
    "sinusoid": lambda torch, x: torch.sin(x),
    "sinc": lambda torch, x: torch.sinc(x / math.pi),
}


@pytest.mark.parametrize("name", sorted(TORCH))
def test_forward_and_gradient_equal_pytorch(name):
    torch = pytest.importorskip("torch")
    grid = np.concatenate([GRID + 0.013, [-40.0, -700.0, 35.0, 800.0]])
    x = Tensor(grid, requires_grad=True)
    y = A.get(name)(x)
    (y * np.cos(grid)).sum().backward()
    t = torch.tensor(grid, dtype=torch.float64, requires_grad=True)
    u = TORCH[name](torch, t)
    (u * torch.cos(t.detach())).sum().backward()
    assert np.allclose(y.data, u.detach().numpy(), atol=1e-10, rtol=1e-12)
    assert np.allclose(x.grad, t.grad.numpy(), atol=1e-10, rtol=1e-12)


def test_course_table_corrections_hold():
    x = np.linspace(-3, 3, 13)
    # softsign: 1 / (1 + |x|)^2, not the table's 1 - f(x)^2
    f = x / (1 + np.abs(x))
    assert np.allclose(A.softsign.derivative(x), 1 / (1 + np.abs(x)) ** 2)
    assert not np.allclose(A.softsign.derivative(x), 1 - f**2)
    # tanh(x) = 2 / (1 + e^(-2x)) - 1 (the table's e^(2x) would give tanh(-x))
    assert np.allclose(A.tanh(Tensor(x)).data, 2 / (1 + np.exp(-2 * x)) - 1)
    # selu: f'(x) = f(x) + lambda * alpha for x < 0
    negative = x[x < 0]
    assert np.allclose(
        A.selu.derivative(negative), A.selu(Tensor(negative)).data + A.SELU_LAMBDA * A.SELU_ALPHA
    )


def test_step_and_sign_follow_the_course_and_pass_no_gradient():
    x = Tensor([-2.0, 0.0, 3.0], requires_grad=True)
    assert A.step(x).data.tolist() == [0.0, 1.0, 1.0]
    assert A.sign(x).data.tolist() == [-1.0, 1.0, 1.0]
    (A.step(x) + A.sign(x)).sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0]
    assert Op.registry["step"] is A.Step and Op.registry["sign"] is A.Sign


def test_sinc_is_one_at_zero_with_slope_zero():
    x = Value(0.0)
    y = A.sinc(x)
    y.backward()
    assert (y.data, x.grad) == (1.0, 0.0)
    grid = np.linspace(-10, 10, 41)
    assert np.allclose(A.sinc(Tensor(grid)).data, np.sinc(grid / np.pi), atol=1e-15)


def test_soft_exponential_with_opposite_alphas_are_inverses():
    x = np.linspace(-1.0, 1.0, 9)
    for alpha in (0.3, 0.8):
        there = A.soft_exponential(Tensor(x), alpha)
        back = A.soft_exponential(there, -alpha)
        assert np.allclose(back.data, x, atol=1e-12)


def test_smelu_pieces_join_smoothly():
    beta = 1.5
    for edge in (-beta, beta):
        left, right = A.smelu(Value(edge - 1e-9), beta), A.smelu(Value(edge + 1e-9), beta)
        assert abs(left.data - right.data) < 1e-8
        slopes = A.smelu.derivative(np.array([edge - 1e-9, edge + 1e-9]), beta)
        assert abs(slopes[0] - slopes[1]) < 1e-8
    assert A.smelu(Value(-5.0), beta).data == 0.0 and A.smelu(Value(5.0), beta).data == 5.0


def test_unused_exponential_branch_gives_no_nan_gradient():
    x = Tensor([-1000.0, 1000.0], requires_grad=True)
    (A.elu(x) + A.selu(x) + A.softplus(x)).sum().backward()
    assert np.all(np.isfinite(x.grad))


def test_rrelu_random_slopes_while_training_mean_at_evaluation():
    layer = nn.RReLU(lower=0.1, upper=0.3, seed=0)
    x = Tensor(-np.ones(2000))
    slopes = -layer(x).data
    assert slopes.min() >= 0.1 and slopes.max() <= 0.3 and slopes.std() > 0.03
    layer.eval()
    assert np.allclose(layer(x).data, -0.2)


def test_prelu_learns_its_slope_like_pytorch():
    torch = pytest.importorskip("torch")
    layer = nn.PReLU(num_parameters=3)
    assert layer.parameters() == [layer.alpha]
    data = np.array([[-1.0, 2.0, -3.0], [0.5, -0.25, -2.0]])
    x = Tensor(data, requires_grad=True)
    (layer(x) ** 2).sum().backward()
    t = torch.tensor(data, requires_grad=True)
    alpha = torch.full((3,), 0.25, dtype=torch.float64, requires_grad=True)
    (torch.nn.functional.prelu(t, alpha) ** 2).sum().backward()
    assert np.allclose(layer.alpha.grad, alpha.grad.numpy(), atol=1e-12)
    assert np.allclose(x.grad, t.grad.numpy(), atol=1e-12)
    scalar_layer = nn.PReLU(scalar=True)
    v = Value(-2.0)
    scalar_layer(v).backward()
    assert (scalar_layer.alpha.grad, v.grad) == (-2.0, 0.25)


def test_activation_modules_and_names():
    for name in A.FUNCTIONS:
        module = A.activation_module(name)
        assert isinstance(module, nn.Activation)
        assert module(Value(0.5)).data == pytest.approx(A.get(name)(Value(0.5)).data)
    assert nn.ELU(alpha=0.5).derivative(-1.0) == pytest.approx(0.5 * math.exp(-1.0))
    with pytest.raises(ValueError, match="unknown activation 'swish'.*choose one of linear"):
        A.get("swish")
