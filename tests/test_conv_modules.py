"""Conv2d, MaxPool2d, AvgPool2d and Reshape modules: equal to PyTorch with copied weights."""

import numpy as np
import pytest

from chaingrad.autograd import Tensor
from chaingrad.nn.conv import AvgPool2d, Conv2d, MaxPool2d, Reshape
from chaingrad.nn.layers import Flatten, Linear, Sequential

torch = pytest.importorskip("torch")


def _images(shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape)


@pytest.mark.parametrize("kernel, stride, padding, bias", [
    (3, 1, 0, True), (3, 1, 1, True), (3, 2, 1, False), ((2, 3), 1, 0, True), (1, 1, 0, True),
])
def test_conv2d_equals_torch(kernel, stride, padding, bias):
    x = _images((2, 3, 7, 6))
    ours = Conv2d(3, 4, kernel, stride=stride, padding=padding, bias=bias, seed=0)
    theirs = torch.nn.Conv2d(3, 4, kernel, stride=stride, padding=padding, bias=bias).double()
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(ours.weight.data))  # the same layout, no transposing
        if bias:
            theirs.bias.copy_(torch.tensor(np.linspace(-1, 1, 4)))
            ours.bias.data[...] = np.linspace(-1, 1, 4)
    weights = _images(theirs(torch.tensor(x)).shape, seed=1)

    x_t = torch.tensor(x, requires_grad=True)
    out_t = theirs(x_t)
    (out_t * torch.tensor(weights)).sum().backward()
    x_o = Tensor(x, requires_grad=True)
    out_o = ours(x_o)
    (out_o * weights).sum().backward()

    np.testing.assert_allclose(out_o.data, out_t.detach().numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(x_o.grad, x_t.grad.numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(ours.weight.grad, theirs.weight.grad.numpy(), rtol=0, atol=1e-12)
    if bias:
        np.testing.assert_allclose(ours.bias.grad, theirs.bias.grad.numpy(), rtol=0, atol=1e-12)
    else:
        assert ours.bias is None and len(ours.parameters()) == 1


@pytest.mark.parametrize("ours_cls, torch_name", [(MaxPool2d, "MaxPool2d"),
                                                  (AvgPool2d, "AvgPool2d")])
@pytest.mark.parametrize("kernel, stride, padding", [(2, None, 0), (3, 2, 1), (3, 1, 0)])
def test_pooling_equals_torch(ours_cls, torch_name, kernel, stride, padding):
    x = _images((2, 3, 7, 8), seed=2)
    theirs = getattr(torch.nn, torch_name)(kernel, stride=stride, padding=padding)
    ours = ours_cls(kernel, stride=stride, padding=padding)
    x_t = torch.tensor(x, requires_grad=True)
    out_t = theirs(x_t)
    weights = _images(out_t.shape, seed=3)
    (out_t * torch.tensor(weights)).sum().backward()
    x_o = Tensor(x, requires_grad=True)
    out_o = ours(x_o)
    (out_o * weights).sum().backward()
    np.testing.assert_allclose(out_o.data, out_t.detach().numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(x_o.grad, x_t.grad.numpy(), rtol=0, atol=1e-12)
    assert ours.parameters() == []


def test_small_cnn_equals_torch_end_to_end():
    """Reshape, two convolutions, pooling, flatten and a dense layer: every gradient."""
    x = _images((5, 64), seed=4)
    labels = np.array([0, 3, 1, 2, 3])
    ours = Sequential(Reshape(1, 8, 8), Conv2d(1, 4, 3, padding=1, seed=1), MaxPool2d(2),
                      Conv2d(4, 6, 3, seed=2), AvgPool2d(2), Flatten(), Linear(6, 4, seed=3))
    conv1, conv2, dense = ours[1], ours[3], ours[6]
    theirs = torch.nn.Sequential(
        torch.nn.Unflatten(1, (1, 8, 8)), torch.nn.Conv2d(1, 4, 3, padding=1),
        torch.nn.MaxPool2d(2), torch.nn.Conv2d(4, 6, 3), torch.nn.AvgPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(6, 4),
    ).double()
    with torch.no_grad():
        for mine, other in ((conv1, theirs[1]), (conv2, theirs[3])):
            other.weight.copy_(torch.tensor(mine.weight.data))
            other.bias.copy_(torch.tensor(mine.bias.data))
        theirs[6].weight.copy_(torch.tensor(dense.weight.data.T))
        theirs[6].bias.copy_(torch.tensor(dense.bias.data))
    from chaingrad.nn.losses import cross_entropy

    loss_o = cross_entropy(ours(Tensor(x)), labels)
    loss_o.backward()
    loss_t = torch.nn.functional.cross_entropy(theirs(torch.tensor(x)), torch.tensor(labels))
    loss_t.backward()
    assert abs(loss_o.item() - loss_t.item()) < 1e-12
    pairs = [(conv1.weight, theirs[1].weight), (conv1.bias, theirs[1].bias),
             (conv2.weight, theirs[3].weight), (conv2.bias, theirs[3].bias),
             (dense.bias, theirs[6].bias)]
    for mine, other in pairs:
        np.testing.assert_allclose(mine.grad, other.grad.numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(dense.weight.grad, theirs[6].weight.grad.numpy().T,
                               rtol=0, atol=1e-12)


def test_conv2d_initialisation_and_shapes():
    layer = Conv2d(2, 8, 3, seed=0)
    assert layer.weight.shape == (8, 2, 3, 3) and layer.bias.shape == (8,)
    assert np.all(layer.bias.data == 0)
    # He normal: variance 2 / fan_in with fan_in = 2 * 3 * 3
    assert 0.5 < layer.weight.data.var() / (2 / 18) < 1.5
    assert Conv2d(2, 8, 3, seed=0).weight.data.tolist() == layer.weight.data.tolist()
    assert Conv2d(2, 8, 3, seed=1).weight.data.tolist() != layer.weight.data.tolist()
    out = Conv2d(2, 5, (3, 1), stride=2, padding=1, seed=0)(Tensor(np.zeros((4, 2, 9, 6))))
    assert out.shape == (4, 5, 5, 4)
    assert MaxPool2d(2)(Tensor(np.zeros((1, 1, 5, 5)))).shape == (1, 1, 2, 2)


def test_reshape_keeps_the_batch_axis():
    x = Tensor(np.arange(2 * 64.0).reshape(2, 64), requires_grad=True)
    out = Reshape(1, 8, 8)(x)
    assert out.shape == (2, 1, 8, 8)
    assert Reshape(-1, 4)(x).shape == (2, 16, 4)
    out.sum().backward()
    assert x.grad.shape == (2, 64)


def test_bad_arguments_and_inputs_are_named():
    with pytest.raises(ValueError, match="Conv2d: expected 3 input channels, got shape"):
        Conv2d(3, 4, 3)(Tensor(np.zeros((2, 1, 8, 8))))
    with pytest.raises(ValueError, match=r"Conv2d: input must be images .* got shape \(2, 64\)"):
        Conv2d(1, 4, 3)(Tensor(np.zeros((2, 64))))
    with pytest.raises(ValueError, match="Conv2d: kernel_size must be a positive integer"):
        Conv2d(1, 4, 0)
    with pytest.raises(ValueError, match="Conv2d: padding must be a non-negative integer"):
        Conv2d(1, 4, 3, padding=-1)
    with pytest.raises(ValueError, match="Conv2d: unknown init"):
        Conv2d(1, 4, 3, init="magic")
    with pytest.raises(ValueError, match="MaxPool2d: stride must be a positive integer"):
        MaxPool2d(2, stride=0)
    with pytest.raises(ValueError, match="AvgPool2d: padding must be an integer from 0"):
        AvgPool2d(2, padding=2)
    with pytest.raises(ValueError, match="MaxPool2d: input must be images"):
        MaxPool2d(2)(Tensor(np.zeros((3, 8, 8))))
    with pytest.raises(ValueError, match=r"Reshape: cannot give examples of shape \(64,\)"):
        Reshape(1, 7, 7)(Tensor(np.zeros((2, 64))))
