"""conv2d's weight gradient takes the im2col columns its forward pass made, from the scratch
buffer, instead of copying the windows again: only its own, unchanged, and once."""

import numpy as np
import pytest

from chaingrad.autograd import Tensor, no_grad
from chaingrad.nn import convolution
from chaingrad.nn import functional as F


def _by_hand(images, kernel_shape, stride=1, padding=0):
    """d sum(conv2d) / d w, each weight summing the pixels it met: independent of im2col."""
    filters, _, kh, kw = kernel_shape
    xp = np.pad(images, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    oh = (xp.shape[2] - kh) // stride + 1
    ow = (xp.shape[3] - kw) // stride + 1
    grad = np.zeros(kernel_shape)
    for i in range(kh):
        for j in range(kw):
            met = xp[:, :, i:i + stride * (oh - 1) + 1:stride, j:j + stride * (ow - 1) + 1:stride]
            grad[:, :, i, j] = met.sum(axis=(0, 2, 3))
    return grad


@pytest.fixture
def im2col_calls(monkeypatch):
    calls = []
    copy_windows = convolution._im2col

    def counted(*args, **kwargs):
        calls.append(args[0].shape)
        return copy_windows(*args, **kwargs)

    monkeypatch.setattr(convolution, "_im2col", counted)
    return calls


def test_a_training_step_copies_the_windows_once(im2col_calls):
    rng = np.random.default_rng(0)
    x = Tensor(rng.normal(size=(4, 2, 9, 9)))
    w = Tensor(rng.normal(size=(3, 2, 3, 3)), requires_grad=True)
    F.conv2d(x, w, padding=1).sum().backward()
    assert len(im2col_calls) == 1
    np.testing.assert_allclose(w.grad, _by_hand(x.data, w.shape, padding=1), rtol=1e-12)


def test_the_columns_are_those_of_the_input_at_the_forward_pass():
    rng = np.random.default_rng(1)
    first, second = rng.normal(size=(2, 3, 1, 7, 7))
    weights = rng.normal(size=(2, 1, 3, 3))
    x = Tensor(first)
    w = Tensor(weights, requires_grad=True)
    with no_grad():  # columns of `first` are left in the buffer, by a forward pass only
        F.conv2d(x, w)
    x.data[...] = second  # the same array, refilled (a batch buffer reused each step)
    out = F.conv2d(x, w)
    out.sum().backward()
    with no_grad():
        np.testing.assert_array_equal(out.data, F.conv2d(Tensor(second), Tensor(weights)).data)
    np.testing.assert_allclose(w.grad, _by_hand(second, weights.shape), rtol=1e-12)


def test_two_convolutions_of_one_shape_each_get_their_own_columns(im2col_calls):
    # the second forward pass reuses the buffer the first one filled
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(2, 2, 1, 6, 6))
    wa, wb = rng.normal(size=(2, 3, 1, 3, 3))
    ta, tb = Tensor(wa, requires_grad=True), Tensor(wb, requires_grad=True)
    (F.conv2d(Tensor(a), ta).sum() + 2 * F.conv2d(Tensor(b), tb).sum()).backward()
    np.testing.assert_allclose(ta.grad, _by_hand(a, wa.shape), rtol=1e-12)
    np.testing.assert_allclose(tb.grad, 2 * _by_hand(b, wb.shape), rtol=1e-12)
    assert len(im2col_calls) == 3  # b's columns were still there, a's were made again


def test_a_second_backward_over_the_same_graph_makes_the_columns_anew(im2col_calls):
    rng = np.random.default_rng(3)
    images, weights = rng.normal(size=(2, 1, 5, 5)), rng.normal(size=(2, 1, 2, 2))
    w = Tensor(weights, requires_grad=True)
    loss = F.conv2d(Tensor(images), w, stride=2).sum()
    loss.backward()
    with pytest.warns(UserWarning):  # a second backward over one graph adds up, and says so
        loss.backward()
    np.testing.assert_allclose(w.grad, 2 * _by_hand(images, weights.shape, stride=2),
                               rtol=1e-12)
    assert len(im2col_calls) == 2  # the forward pass, then the second backward


def test_each_thread_keeps_its_own_columns():
    import threading

    rng = np.random.default_rng(4)
    images = rng.normal(size=(2, 2, 3, 6, 6))
    weights = rng.normal(size=(2, 3, 3, 3))
    grads = {}

    def train(k):
        w = Tensor(weights, requires_grad=True)
        F.conv2d(Tensor(images[k]), w).sum().backward()
        grads[k] = w.grad

    threads = [threading.Thread(target=train, args=(k,)) for k in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for k in (0, 1):
        np.testing.assert_allclose(grads[k], _by_hand(images[k], weights.shape), rtol=1e-12)


# ---------------------------------------------------- the review's cases: the columns are
# those of one forward call (keyed by its result), never of the input array alone


def test_a_forward_pass_in_another_thread_does_not_take_this_threads_columns():
    import threading

    rng = np.random.default_rng(5)
    first, second = rng.normal(size=(2, 4, 2, 8, 8))
    weights = rng.normal(size=(3, 2, 3, 3))
    x = Tensor(first.copy())
    w = Tensor(weights, requires_grad=True)
    with no_grad():  # this thread's buffer now holds the columns of `first`
        F.conv2d(x, w, padding=1)
    x.data[...] = second  # x is in no graph: a refill in place is allowed
    made = {}
    thread = threading.Thread(target=lambda: made.setdefault(
        "loss", F.conv2d(x, w, padding=1).sum()))
    thread.start()
    thread.join()
    made["loss"].backward()  # here, in the thread that holds the old columns
    np.testing.assert_allclose(w.grad, _by_hand(second, weights.shape, padding=1),
                               rtol=1e-12)


def test_the_weight_gradient_op_applied_alone_copies_its_windows():
    from chaingrad.nn.convolution import Conv2dWeightGrad

    rng = np.random.default_rng(6)
    first, second = rng.normal(size=(2, 2, 2, 6, 6))
    weights = rng.normal(size=(3, 2, 3, 3))
    x = Tensor(first.copy())
    with no_grad():
        F.conv2d(x, Tensor(weights))
    x.data[...] = second
    ones = Tensor(np.ones((2, 3, 4, 4)))
    grad = Conv2dWeightGrad.apply(x, ones, kernel_size=(3, 3), stride=(1, 1),
                                  padding=(0, 0), dilation=(1, 1))
    np.testing.assert_allclose(grad.data, _by_hand(second, weights.shape), rtol=1e-12)


def test_an_evaluation_between_forward_and_backward_leaves_the_graphs_columns_alone():
    rng = np.random.default_rng(7)
    first, second = rng.normal(size=(2, 2, 3, 7, 7))
    weights = rng.normal(size=(2, 2, 3, 3))
    big = Tensor(first.copy())
    x = big[:, :2]  # a view of big's array
    w = Tensor(weights, requires_grad=True)
    loss = F.conv2d(x, w).sum()
    big.data[:] = second
    with no_grad():  # an evaluation on other values, through the same view
        F.conv2d(x, w)
    big.data[:] = first  # put back: the graph's values again
    loss.backward()
    np.testing.assert_allclose(w.grad, _by_hand(first[:, :2], weights.shape), rtol=1e-12)
