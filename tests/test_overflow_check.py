"""The overflow policy's quick check (Tensor._apply): a sum of squares that overflows proves
nothing, so large finite results still pass, and a nan or an infinity is still caught."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from chaingrad.autograd import OpError, Tensor


@pytest.mark.parametrize("dtype, big", [(np.float64, 1e200), (np.float32, 1e30)])
def test_large_finite_results_pass_although_their_squares_overflow(dtype, big):
    x = Tensor(np.full((4, 3), big, dtype=dtype), requires_grad=True)
    y = x * 2.0  # every element finite, the sum of their squares is not
    assert np.isfinite(y.data).all() and y.dtype == dtype
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy's overflow warning must not surface either
        z = x + x
    z.sum().backward()
    assert np.array_equal(x.grad, np.full((4, 3), 2.0, dtype=dtype))


def test_one_overflowing_element_among_large_finite_ones_is_caught():
    x = Tensor(np.array([1e200, 1e300, 1.0]))
    with pytest.raises(OpError, match=r"mul: .*overflows.*index \(1,\)"):
        x * 1e10


@pytest.mark.parametrize("shape", [(), (1,), (3, 2)])
def test_a_result_of_any_shape_is_checked(shape):
    x = Tensor(np.full(shape, 1e308))
    with pytest.raises(OpError, match="overflows"):
        x * 10.0
    with pytest.raises(OpError, match="overflows"):
        x.sum() * 10.0


def test_nan_and_infinity_given_as_input_pass_through():
    mask = Tensor(np.array([0.0, -np.inf, np.nan, np.inf]))
    out = mask + 1.0
    assert np.array_equal(out.data, [1.0, -np.inf, np.nan, np.inf], equal_nan=True)
