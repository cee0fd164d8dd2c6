"""nn.functional against PyTorch (float64, 1e-10), plus stability, errors and dropout."""

from __future__ import annotations

import re

import numpy as np
import pytest

from chaingrad.autograd import OpError, Tensor, gradcheck
from chaingrad.nn import functional as F


def leaf(shape, seed=0, dtype=np.float64, scale=1.0):
    data = (np.random.default_rng(seed).standard_normal(shape) * scale).astype(dtype)
    return Tensor(data, requires_grad=True)


def close(ours, theirs, tol=1e-10):
    np.testing.assert_allclose(ours, theirs.detach().numpy(), rtol=tol, atol=tol)


def torch_leaf(t):
    torch = pytest.importorskip("torch")
    return torch.tensor(t.data, requires_grad=True)


# ---------------------------------------------------------------- softmax family


@pytest.mark.parametrize("scale", [1.0, 1000.0])
def test_softmax_family_matches_torch_and_stays_finite(scale):
    torch = pytest.importorskip("torch")
    for axis in (-1, 0):
        x = leaf((3, 5), 1, scale=scale)
        tx = torch_leaf(x)
        weights = np.random.default_rng(2).standard_normal((3, 5))
        ours = [F.softmax(x, axis), F.log_softmax(x, axis), F.logsumexp(x, axis, keepdims=True)]
        theirs = [tx.softmax(axis), tx.log_softmax(axis), tx.logsumexp(axis, keepdim=True)]
        for mine, reference in zip(ours, theirs):
            assert np.all(np.isfinite(mine.data))
            close(mine.data, reference, tol=1e-10 * scale)
        sum((m * weights).sum() for m in ours).backward()
        sum((r * torch.as_tensor(weights)).sum() for r in theirs).backward()
        close(x.grad, tx.grad)


def test_softmax_rows_are_probabilities():
    p = F.softmax(leaf((4, 6), scale=50.0)).data
    assert np.all(p >= 0)
    np.testing.assert_allclose(p.sum(axis=-1), np.ones(4))


def test_logsumexp_is_stable_at_plus_and_minus_1000():
    x = Tensor([1000.0, 1000.0, -1000.0], requires_grad=True)
    out = F.logsumexp(x)
    assert out.item() == pytest.approx(1000.0 + np.log(2.0), abs=1e-12)
    out.backward()
    np.testing.assert_allclose(x.grad, [0.5, 0.5, 0.0])
    low = F.logsumexp(Tensor([-1000.0, -1000.0]))
    assert low.item() == pytest.approx(-1000.0 + np.log(2.0), abs=1e-12)
    assert F.logsumexp(Tensor([-np.inf, -np.inf])).item() == -np.inf


def test_logsumexp_over_all_axes():
    x = leaf((2, 3))
    expected = np.log(np.exp(x.data).sum())
    assert F.logsumexp(x, axis=None).item() == pytest.approx(expected, abs=1e-12)
    assert gradcheck(lambda t: F.logsumexp(t, axis=(0, 1), keepdims=True), [x])


def test_softmax_axis_error():
    with pytest.raises(OpError, match=re.escape("softmax: axis 2 does not exist for a tensor "
                                                "of shape (3, 4)")):
        F.softmax(Tensor(np.ones((3, 4))), axis=2)


# ---------------------------------------------------------------- cross-entropy


def test_cross_entropy_matches_torch_with_indices_and_one_hot():
    torch = pytest.importorskip("torch")
    labels = np.array([0, 3, 3, 1, 2])
    for scale in (1.0, 1000.0):
        x = leaf((5, 4), 3, scale=scale)
        tx = torch_leaf(x)
        loss = F.cross_entropy(x, labels)
        reference = torch.nn.functional.cross_entropy(tx, torch.as_tensor(labels))
        assert np.isfinite(loss.item())
        close(loss.data, reference, tol=1e-10 * scale)
        loss.backward()
        reference.backward()
        close(x.grad, tx.grad)
        x.grad = None
        F.cross_entropy(x, np.eye(4)[labels]).backward()
        close(x.grad, tx.grad)


def test_cross_entropy_accepts_label_tensors_and_float32():
    x = leaf((3, 4), dtype=np.float32)
    loss = F.cross_entropy(x, Tensor([1, 0, 3]))
    loss.backward()
    assert loss.dtype == np.float32 and x.grad.dtype == np.float32
    probs = np.exp(x.data) / np.exp(x.data).sum(axis=1, keepdims=True)
    expected = -np.log(probs[[0, 1, 2], [1, 0, 3]]).mean()
    assert loss.item() == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize(("logits", "labels", "message"), [
    ((4,), [1], "cross_entropy: logits must have shape (N, C), got shape (4,)"),
    ((3, 4), [0, 1], "cross_entropy: labels of shape (2,) and dtype int64 do not match logits "
                     "of shape (3, 4)"),
    ((3, 4), [0, 1, 4], "cross_entropy: labels must lie in 0..3 for logits of shape (3, 4)"),
    ((3, 4), np.zeros((3, 3)), "cross_entropy: labels of shape (3, 3) do not match logits of "
                               "shape (3, 4)"),
])
def test_cross_entropy_errors(logits, labels, message):
    with pytest.raises(OpError, match=re.escape(message)):
        F.cross_entropy(Tensor(np.zeros(logits)), np.asarray(labels))


# ---------------------------------------------------------------- convolution


@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("padding", [0, 1])
@pytest.mark.parametrize("bias", [True, False])
def test_conv2d_matches_torch(stride, padding, bias):
    torch = pytest.importorskip("torch")
    x, w, b = leaf((2, 3, 7, 6), 1), leaf((4, 3, 3, 2), 2), leaf((4,), 3)
    tx, tw, tb = torch_leaf(x), torch_leaf(w), torch_leaf(b)
    out = F.conv2d(x, w, b if bias else None, stride=stride, padding=padding)
    reference = torch.nn.functional.conv2d(tx, tw, tb if bias else None, stride, padding)
    close(out.data, reference)
    weights = np.random.default_rng(4).standard_normal(out.shape)
    (out * weights).sum().backward()
    (reference * torch.as_tensor(weights)).sum().backward()
    close(x.grad, tx.grad)
    close(w.grad, tw.grad)
    if bias:
        close(b.grad, tb.grad)


def test_stacked_convolutions_sharing_a_scratch_buffer_match_torch():
    """Two layers whose im2col has the same shape reuse one buffer; results stay exact."""
    torch = pytest.importorskip("torch")
    x, w1, w2 = leaf((2, 3, 5, 5), 1), leaf((3, 3, 3, 3), 2), leaf((3, 3, 3, 3), 3)
    out = F.conv2d(F.conv2d(x, w1, padding=1).tanh(), w2, padding=1)
    tx, tw1, tw2 = torch_leaf(x), torch_leaf(w1), torch_leaf(w2)
    tf = torch.nn.functional
    reference = tf.conv2d(tf.conv2d(tx, tw1, padding=1).tanh(), tw2, padding=1)
    close(out.data, reference)
    (out**2).sum().backward()
    (reference**2).sum().backward()
    for mine, theirs in ((x, tx), (w1, tw1), (w2, tw2)):
        close(mine.grad, theirs.grad)


def test_conv2d_gradcheck_tiny():
    x, w, b = leaf((1, 2, 4, 4), 1), leaf((2, 2, 2, 2), 2), leaf((2,), 3)
    assert gradcheck(lambda *t: F.conv2d(*t, stride=2, padding=1), [x, w, b])


def test_conv2d_skips_the_gradient_of_input_images():
    x = Tensor(np.random.default_rng(1).standard_normal((2, 1, 5, 5)))  # data: no grad
    w = leaf((3, 1, 3, 3), 2)
    F.conv2d(x, w).sum().backward()
    assert x.grad is None
    windows = np.lib.stride_tricks.sliding_window_view(x.data[:, 0], (3, 3), axis=(1, 2))
    np.testing.assert_allclose(w.grad[:, 0], np.broadcast_to(windows.sum(axis=(0, 1, 2)),
                                                             (3, 3, 3)))


def test_conv2d_float32_stays_float32():
    x, w, b = leaf((2, 3, 6, 6), 1, np.float32), leaf((4, 3, 3, 3), 2, np.float32), leaf(
        (4,), 3, np.float32)
    out = F.conv2d(x, w, b, padding=1)
    out.sum().backward()
    assert out.dtype == np.float32
    assert {t.grad.dtype for t in (x, w, b)} == {np.dtype(np.float32)}


@pytest.mark.parametrize(("x", "w", "b", "message"), [
    ((3, 5, 5), (2, 3, 3, 3), None, "conv2d: input must be (N, C, H, W) and weight "
                                     "(F, C, kh, kw), got shapes (3, 5, 5) and (2, 3, 3, 3)"),
    ((1, 3, 5, 5), (2, 2, 3, 3), None, "conv2d: input has 3 channels but weight expects 2 "
                                       "(shapes (1, 3, 5, 5) and (2, 2, 3, 3))"),
    ((1, 2, 2, 2), (2, 2, 3, 3), None, "conv2d: kernel (3, 3) does not fit input (1, 2, 2, 2)"),
    ((1, 2, 5, 5), (2, 2, 3, 3), (3,), "conv2d: bias must have shape (2,) for weight of shape "
                                       "(2, 2, 3, 3), got (3,)"),
])
def test_conv2d_errors_name_function_and_shapes(x, w, b, message):
    bias = None if b is None else Tensor(np.zeros(b))
    with pytest.raises(OpError, match=re.escape(message)):
        F.conv2d(Tensor(np.zeros(x)), Tensor(np.zeros(w)), bias)


def test_conv2d_rejects_a_bad_stride():
    with pytest.raises(OpError, match="conv2d: stride must be a positive integer, got 0"):
        F.conv2d(Tensor(np.zeros((1, 1, 4, 4))), Tensor(np.zeros((1, 1, 2, 2))), stride=0)


# ---------------------------------------------------------------- pooling


@pytest.mark.parametrize("pool", ["max_pool2d", "avg_pool2d"])
@pytest.mark.parametrize(("kernel", "stride", "padding"),
                         [(2, None, 0), (2, 1, 0), (3, 2, 1), (2, 2, 1), (3, 1, 1)])
def test_pooling_matches_torch(pool, kernel, stride, padding):
    torch = pytest.importorskip("torch")
    x = leaf((2, 3, 7, 6), 5)
    tx = torch_leaf(x)
    out = getattr(F, pool)(x, kernel, stride, padding)
    reference = getattr(torch.nn.functional, pool)(tx, kernel, stride, padding)
    close(out.data, reference)
    weights = np.random.default_rng(6).standard_normal(out.shape)
    (out * weights).sum().backward()
    (reference * torch.as_tensor(weights)).sum().backward()
    close(x.grad, tx.grad)


def test_max_pool_ties_send_the_gradient_to_one_element_like_torch():
    """After relu many windows hold several zeros; each window's gradient goes to one."""
    torch = pytest.importorskip("torch")
    x = Tensor(np.maximum(np.random.default_rng(7).standard_normal((2, 2, 6, 6)), 0),
               requires_grad=True)
    tx = torch_leaf(x)
    for stride in (2, 1):
        x.grad, tx.grad = None, None
        F.max_pool2d(x, 2, stride).sum().backward()
        torch.nn.functional.max_pool2d(tx, 2, stride).sum().backward()
        close(x.grad, tx.grad)


def test_pooling_gradcheck_tiny():
    x = Tensor(np.random.default_rng(8).permutation(32).reshape(1, 2, 4, 4) / 10.0,
               requires_grad=True)  # distinct values: no ties inside a difference step
    assert gradcheck(lambda t: F.max_pool2d(t, 3, 1, 1), [x])
    assert gradcheck(lambda t: F.avg_pool2d(t, 2, 1), [x])


@pytest.mark.parametrize(("shape", "kernel", "padding", "message"), [
    ((4, 4), 2, 0, "max_pool2d: input must be (N, C, H, W), got shape (4, 4)"),
    ((1, 1, 2, 2), 3, 0, "max_pool2d: kernel 3 does not fit input of shape (1, 1, 2, 2)"),
    ((1, 1, 4, 4), 2, 2, "max_pool2d: padding 2 is more than half the kernel 2"),
])
def test_pooling_errors(shape, kernel, padding, message):
    with pytest.raises(OpError, match=re.escape(message)):
        F.max_pool2d(Tensor(np.zeros(shape)), kernel, padding=padding)
    with pytest.raises(OpError, match=re.escape(message.replace("max_pool2d", "avg_pool2d"))):
        F.avg_pool2d(Tensor(np.zeros(shape)), kernel, padding=padding)


def test_small_convnet_trains_end_to_end():
    """conv -> relu -> max-pool -> linear -> cross-entropy: the loss goes down with SGD."""
    rng = np.random.default_rng(9)
    images = Tensor(rng.standard_normal((16, 1, 8, 8)))
    labels = (images.data[:, 0, :4].sum(axis=(1, 2)) > 0).astype(int)
    w = Tensor(rng.standard_normal((4, 1, 3, 3)) * 0.3, requires_grad=True)
    b = Tensor(np.zeros(4), requires_grad=True)
    v = Tensor(rng.standard_normal((64, 2)) * 0.1, requires_grad=True)
    losses = []
    for _ in range(30):
        hidden = F.max_pool2d(F.relu(F.conv2d(images, w, b, padding=1)), 2)
        loss = F.cross_entropy(hidden.reshape(16, -1) @ v, labels)
        for p in (w, b, v):
            p.grad = None
        loss.backward()
        for p in (w, b, v):
            p.data -= 0.1 * p.grad
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


# ---------------------------------------------------------------- dropout


def test_dropout_zeroes_a_fraction_p_and_scales_the_rest():
    x = Tensor(np.ones((200, 100)), requires_grad=True)
    out = F.dropout(x, p=0.3, rng=0)
    kept = out.data != 0
    assert kept.mean() == pytest.approx(0.7, abs=0.02)
    np.testing.assert_allclose(out.data[kept], 1 / 0.7)
    out.sum().backward()
    np.testing.assert_allclose(x.grad, out.data)  # d out / dx is the scaled mask


def test_dropout_is_repeatable_with_a_seed_and_off_in_evaluation():
    x = leaf((5, 6))
    np.testing.assert_array_equal(F.dropout(x, 0.5, rng=3).data, F.dropout(x, 0.5, rng=3).data)
    generator = np.random.default_rng(3)
    first, second = F.dropout(x, 0.5, rng=generator), F.dropout(x, 0.5, rng=generator)
    assert not np.array_equal(first.data, second.data)
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x
    np.testing.assert_array_equal(F.dropout(x, 1.0).data, np.zeros((5, 6)))


def test_dropout_keeps_float32_and_checks_p():
    x = leaf((4, 4), dtype=np.float32)
    out = F.dropout(x, 0.25, rng=1)
    out.sum().backward()
    assert out.dtype == np.float32 and x.grad.dtype == np.float32
    with pytest.raises(OpError, match="dropout: p must be a probability in"):
        F.dropout(x, 1.5)
