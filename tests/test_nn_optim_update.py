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
    if not _blas_rounds_as_pytorch(torch, dtype):
        pytest.skip("this CPU's BLAS kernel rounds some elements of axpy twice (the tail of "
                    "OpenBLAS's AVX2 kernels): SGD is then within one unit in the last place")
    for grad in grads:
        theirs.grad = torch.from_numpy(grad.copy())
        their_sgd.step()
        mine.grad = grad.copy()
        my_sgd.step()
        assert np.array_equal(mine.data, theirs.detach().numpy())
    assert not np.array_equal(mine.data, start)


def _blas_rounds_as_pytorch(torch, dtype):
    """Whether BLAS's axpy, called directly, gives PyTorch's add_(x, alpha=a) bits here."""
    from scipy.linalg import blas

    rng = np.random.default_rng(5)
    axpy = blas.saxpy if dtype == "float32" else blas.daxpy
    for _ in range(50):  # kernels differ in their tail: many tails, so a difference shows
        y, x = rng.normal(size=(2, 37 * 29)).astype(dtype)
        theirs = torch.from_numpy(y.copy()).add_(torch.from_numpy(x), alpha=-0.01).numpy()
        if not np.array_equal(axpy(x, y.copy(), a=-0.01), theirs):
            return False
    return True


@pytest.mark.parametrize("options", [{"lr": 0.0}, {"lr": 0.1, "momentum": 0.9,
                                                    "dampening": 1.0}])
def test_a_zero_scale_still_spreads_nan_and_infinity(options):
    # BLAS's axpy returns at once when its scale is 0: the update must not take that path
    w = Tensor(np.ones(3), requires_grad=True)
    sgd = nn.optim.SGD([w], **options)
    for _ in range(2):  # dampening 1: the gradient's share of the velocity is 0 from step 2
        w.grad = np.array([np.inf, np.nan, 1.0])
        sgd.step()
    assert np.isnan(w.data[:2]).all() and np.isfinite(w.data[2])


def test_an_empty_parameter_and_a_gradient_set_by_hand():
    empty = Tensor(np.zeros((0, 3)), requires_grad=True)
    empty.grad = np.zeros((0, 3))
    number = Tensor(np.ones(3), requires_grad=True)
    number.grad = 0.5  # not an array
    nn.optim.SGD([empty, number], lr=0.1).step()
    assert empty.data.shape == (0, 3)
    assert number.data.tolist() == [0.95, 0.95, 0.95]


def test_weight_decay_on_other_dtypes_keeps_the_gradients_precision():
    # a float16 weight with a float32 gradient: g + λ w in float32, as before axpy
    weight = np.ones(2, np.float16)
    grad = np.array([300.0, 1.0], np.float32)
    state = {"step": 1}
    nn.optim.Adagrad([Tensor(1.0, requires_grad=True)], lr=0.1, weight_decay=0.01).update(
        weight, grad, state)
    assert np.isfinite(state["sum"]).all() and state["sum"].dtype == np.float32
    assert weight[0] < 1.0


def _sgd(lr):
    """An SGD whose update() is called on arrays directly (its own parameter stays unused)."""
    return nn.optim.SGD([Tensor(1.0, requires_grad=True)], lr=lr)


def test_the_update_is_made_in_the_weights_own_memory():
    weight = np.ones((4, 3), dtype=np.float32)
    address = weight.ctypes.data
    _sgd(0.5).update(weight, np.full((4, 3), 2.0, dtype=np.float32), {})
    assert weight.ctypes.data == address and np.all(weight == 0.0)


def test_a_read_only_weight_is_refused_not_written():
    # BLAS's axpy ignores numpy's read-only flag: SGD must not hand it such an array
    weight = np.ones(5)
    weight.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        _sgd(0.5).update(weight, np.ones(5), {})
    assert np.all(weight == 1.0)


def test_a_gradient_that_overlaps_the_weight_is_read_before_it_is_written():
    # axpy would read elements it has already updated; numpy's update copes with overlap
    memory = np.arange(10.0)
    weight, grad = memory[1:], memory[:-1]
    expected = weight - 0.5 * grad
    _sgd(0.5).update(weight, grad, {})
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
    _sgd(0.1).update(weight, grad, {})
    assert np.array_equal(weight, expected)


def test_scipy_is_imported_by_the_first_optimizer_not_by_chaingrad_nn():
    # import chaingrad stays quick (SciPy takes 0.1 s); importing it inside a training loop
    # instead left glibc's heap returning the convnet's arrays to the OS at every step
    import subprocess
    import sys

    script = ("import sys\nfrom chaingrad import nn\nfrom chaingrad.autograd import Tensor\n"
              "before = 'scipy.linalg' in sys.modules\n"
              "nn.optim.Adam([Tensor(1.0, requires_grad=True)])\n"
              "print(before, 'scipy.linalg.blas' in sys.modules)\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            check=True)
    assert result.stdout.split() == ["False", "True"]
