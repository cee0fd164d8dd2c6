"""SGD's update in one pass (BLAS axpy): equal to PyTorch's SGD, in place, and never through
a read-only array; the arrays axpy cannot take get numpy's two-pass update."""

import numpy as np
import pytest

from chaingrad import nn
from chaingrad.autograd import Tensor

SETTINGS = [{}, {"momentum": 0.9}, {"momentum": 0.9, "nesterov": True},
            {"momentum": 0.9, "dampening": 0.1, "weight_decay": 0.01}]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("options", SETTINGS)
def test_sgd_equals_pytorchs_sgd_bit_for_bit(dtype, options):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    start = rng.normal(size=(37, 29)).astype(dtype)  # not a multiple of any vector width
    grads = [rng.normal(size=start.shape).astype(dtype) for _ in range(4)]
    theirs = torch.nn.Parameter(torch.from_numpy(start.copy()))
    their_sgd = torch.optim.SGD([theirs], lr=0.01, **options)
    mine = Tensor(start, requires_grad=True)
    my_sgd = nn.optim.SGD([mine], lr=0.01, **options)
    for grad in grads:
        theirs.grad = torch.from_numpy(grad.copy())
        their_sgd.step()
        mine.grad = grad.copy()
        my_sgd.step()
        assert np.array_equal(mine.data, theirs.detach().numpy())
    assert not np.array_equal(mine.data, start)


def test_the_update_is_made_in_the_weights_own_memory():
    weight = np.ones((4, 3), dtype=np.float32)
    address = weight.ctypes.data
    nn.optim.SGD([Tensor(1.0, requires_grad=True)], lr=0.5).update(
        weight, np.full((4, 3), 2.0, dtype=np.float32), {})
    assert weight.ctypes.data == address and np.all(weight == 0.0)


def test_a_read_only_weight_is_refused_not_written():
    # BLAS's axpy ignores numpy's read-only flag: SGD must not hand it such an array
    weight = np.ones(5)
    weight.flags.writeable = False
    sgd = nn.optim.SGD([Tensor(1.0, requires_grad=True)], lr=0.5)
    with pytest.raises(ValueError, match="read-only"):
        sgd.update(weight, np.ones(5), {})
    assert np.all(weight == 1.0)


def test_a_gradient_that_overlaps_the_weight_is_read_before_it_is_written():
    # axpy would read elements it has already updated; numpy's update copes with overlap
    memory = np.arange(10.0)
    weight, grad = memory[1:], memory[:-1]
    expected = weight - 0.5 * grad
    nn.optim.SGD([Tensor(1.0, requires_grad=True)], lr=0.5).update(weight, grad, {})
    assert np.array_equal(weight, expected)


@pytest.mark.parametrize("make", [
    lambda a: np.asfortranarray(a),            # not C-contiguous
    lambda a: a.astype(np.float16),            # no BLAS routine for it
    lambda a: a[:, ::2],                       # a strided view
], ids=["fortran-order", "float16", "strided"])
def test_arrays_axpy_cannot_take_get_numpys_update(make):
    rng = np.random.default_rng(0)
    weight = make(rng.normal(size=(6, 8)))
    grad = make(rng.normal(size=(6, 8)))
    expected = weight - 0.1 * grad  # numpy's two roundings, as the update by hand
    velocity_state: dict = {}
    nn.optim.SGD([Tensor(1.0, requires_grad=True)], lr=0.1).update(weight, grad, velocity_state)
    assert np.array_equal(weight, expected)
