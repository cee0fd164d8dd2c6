"""create_graph=True: second and third derivatives, and Hessian-vector products vs PyTorch."""

from __future__ import annotations

import math

import numpy as np
import pytest

from chaingrad import autograd
from chaingrad.autograd import Tensor, Value
from chaingrad.nn import functional as F


def derivatives(f, x: float, order: int) -> list[float]:
    """f(x), f'(x), ..., by differentiating the gradient graph again and again."""
    node = Value(x, name="x")
    out = f(node)
    values = [out.data]
    for _ in range(order):
        out = autograd.grad(out, node, create_graph=True)
        values.append(out.data)
    return values


SCALAR = {
    "tanh": (lambda v: v.tanh(), lambda t: [
        math.tanh(t),
        1 - math.tanh(t) ** 2,
        -2 * math.tanh(t) * (1 - math.tanh(t) ** 2),
        (1 - math.tanh(t) ** 2) * (6 * math.tanh(t) ** 2 - 2),
    ]),
    "sin": (lambda v: v.sin(), lambda t: [math.sin(t), math.cos(t), -math.sin(t), -math.cos(t)]),
    "exp": (lambda v: v.exp(), lambda t: [math.exp(t)] * 4),
    "cube": (lambda v: v**3, lambda t: [t**3, 3 * t**2, 6 * t, 6.0]),
    "sigmoid": (lambda v: v.sigmoid(), lambda t: (lambda s: [
        s, s * (1 - s), s * (1 - s) * (1 - 2 * s), s * (1 - s) * (1 - 6 * s + 6 * s**2),
    ])(1 / (1 + math.exp(-t)))),
    "log": (lambda v: v.log(), lambda t: [math.log(t), 1 / t, -1 / t**2, 2 / t**3]),
}


@pytest.mark.parametrize("name", list(SCALAR))
@pytest.mark.parametrize("x", [-1.3, 0.4, 2.1])
def test_scalar_derivatives_up_to_third_order(name, x):
    f, exact = SCALAR[name]
    if name == "log" and x <= 0:
        x = -x
    np.testing.assert_allclose(derivatives(f, x, 3), exact(x), rtol=1e-12, atol=1e-12)


def test_mixed_partial_derivatives():
    """f = x**2 y + sin(x y): d2f/dxdy = 2x + cos(xy) - xy sin(xy)."""
    x, y = Value(0.7), Value(-1.2)
    f = x**2 * y + (x * y).sin()
    dfdx = autograd.grad(f, x, create_graph=True)
    d2 = autograd.grad(dfdx, y)
    xy = 0.7 * -1.2
    assert d2.data == pytest.approx(2 * 0.7 + math.cos(xy) - xy * math.sin(xy), rel=1e-12)


def test_tensor_second_derivative_elementwise():
    x = Tensor(np.linspace(-2, 2, 7), requires_grad=True)
    g = autograd.grad(x.tanh().sum(), x, create_graph=True)
    h = autograd.grad(g.sum(), x)
    t = np.tanh(x.data)
    assert type(h) is Tensor and not h.requires_grad  # a constant without create_graph
    np.testing.assert_allclose(h.data, -2 * t * (1 - t**2), rtol=1e-12)


def _hvp_ours(loss_fn, params, vectors):
    loss = loss_fn(*params)
    grads = autograd.grad(loss, params, create_graph=True)
    dot = sum((g * v).sum() for g, v in zip(grads, vectors))
    return [h.data for h in autograd.grad(dot, params)]  # no create_graph this time


def _hvp_torch(torch, loss_fn, arrays, vectors):
    params = [torch.tensor(a, requires_grad=True) for a in arrays]
    grads = torch.autograd.grad(loss_fn(*params), params, create_graph=True)
    dot = sum((g * torch.as_tensor(v)).sum() for g, v in zip(grads, vectors))
    return [h.numpy() for h in torch.autograd.grad(dot, params)]


def test_mlp_hessian_vector_product_matches_torch():
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 4))
    labels = np.array([0, 2, 1, 1, 0, 2])
    arrays = [rng.standard_normal(s) for s in [(4, 5), (5,), (5, 3), (3,)]]
    vectors = [rng.standard_normal(a.shape) for a in arrays]

    def ours(w1, b1, w2, b2):
        hidden = (Tensor(x) @ w1 + b1).tanh()
        logits = hidden.sigmoid() @ w2 + b2
        return F.cross_entropy(logits, labels) + (hidden**2).mean() + (w1 * w1).sum() * 0.01

    def theirs(w1, b1, w2, b2):
        hidden = torch.tanh(torch.as_tensor(x) @ w1 + b1)
        logits = torch.sigmoid(hidden) @ w2 + b2
        return tf.cross_entropy(logits, torch.as_tensor(labels)) + (hidden**2).mean() + (
            w1 * w1).sum() * 0.01

    params = [Tensor(a, requires_grad=True) for a in arrays]
    for mine, reference in zip(_hvp_ours(ours, params, vectors),
                               _hvp_torch(torch, theirs, arrays, vectors)):
        np.testing.assert_allclose(mine, reference, rtol=1e-10, atol=1e-12)


def test_convnet_hessian_vector_product_matches_torch():
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    rng = np.random.default_rng(1)
    images = rng.standard_normal((2, 2, 6, 6))
    labels = np.array([1, 0])
    arrays = [rng.standard_normal(s) for s in [(3, 2, 3, 3), (3,), (12, 2)]]
    vectors = [rng.standard_normal(a.shape) for a in arrays]

    def ours(w, b, v):
        hidden = F.conv2d(Tensor(images), w, b, stride=1, padding=1).tanh()
        pooled = F.avg_pool2d(F.max_pool2d(hidden, 2), 2, 1)
        logits = pooled.reshape(2, -1) @ v
        return F.cross_entropy(logits, labels) + F.logsumexp(logits).sum() * 0.1

    def theirs(w, b, v):
        hidden = torch.tanh(tf.conv2d(torch.as_tensor(images), w, b, stride=1, padding=1))
        pooled = tf.avg_pool2d(tf.max_pool2d(hidden, 2), 2, 1)
        logits = pooled.reshape(2, -1) @ v
        return tf.cross_entropy(logits, torch.as_tensor(labels)) + torch.logsumexp(
            logits, -1).sum() * 0.1

    params = [Tensor(a, requires_grad=True) for a in arrays]
    for mine, reference in zip(_hvp_ours(ours, params, vectors),
                               _hvp_torch(torch, theirs, arrays, vectors)):
        np.testing.assert_allclose(mine, reference, rtol=1e-10, atol=1e-12)


def test_gradient_of_the_input_gradient_of_a_convolution():
    """A gradient penalty: differentiate |d loss / d images|**2 with respect to the weights."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    images, weight = rng.standard_normal((1, 2, 5, 5)), rng.standard_normal((2, 2, 3, 3))
    x, w = Tensor(images, requires_grad=True), Tensor(weight, requires_grad=True)
    gx = autograd.grad((F.conv2d(x, w, stride=2).tanh() ** 2).sum(), x, create_graph=True)
    (gx * gx).sum().backward()
    tx, tw = torch.tensor(images, requires_grad=True), torch.tensor(weight, requires_grad=True)
    (tgx,) = torch.autograd.grad(
        (torch.tanh(torch.nn.functional.conv2d(tx, tw, stride=2)) ** 2).sum(), tx,
        create_graph=True)
    (tgx * tgx).sum().backward()
    np.testing.assert_allclose(w.grad, tw.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_grad_of_several_outputs_inside_no_grad_stays_differentiable():
    x = Value(3.0)
    a, b = x * x, x * x * x
    with autograd.no_grad():
        g = autograd.grad([a, b], x, create_graph=True)  # 2x + 3x**2
    assert g.data == 33.0
    assert autograd.grad(g, x).data == 2.0 + 6 * 3.0
