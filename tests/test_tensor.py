"""Tensor front-end: dtypes, comparisons, @, var, indexing, joins, errors, anomaly mode."""

from __future__ import annotations

import operator
import re

import numpy as np
import pytest

from chaingrad import autograd
from chaingrad.autograd import OpError, Tensor, concat, detect_anomaly, no_grad, pad, stack, where
from chaingrad.nn import functional as F


def leaf(shape, seed=0, dtype=np.float64):
    data = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    return Tensor(data, requires_grad=True)


def test_design_example():
    a = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True, name="a")
    b = Tensor([1.0, -1.0, 2.0], requires_grad=True, name="b")
    loss = ((a * b).sum(axis=1) ** 2).mean()
    loss.backward()
    rows = a.data @ b.data  # s_i; loss = mean_i s_i**2
    assert loss.item() == pytest.approx(np.mean(rows**2))
    np.testing.assert_allclose(a.grad, np.outer(rows, b.data) * 2 / 2)
    np.testing.assert_allclose(b.grad, (rows[:, None] * a.data).sum(axis=0) * 2 / 2)


# ---------------------------------------------------------------- dtypes


def test_float64_unless_told_otherwise():
    assert Tensor([1, 2, 3]).dtype == np.float64
    assert Tensor(2.5).dtype == np.float64
    assert Tensor([1, 2], dtype=np.float32).dtype == np.float32


def test_float32_training_step_stays_float32():
    """A whole MLP step in float32: data, every gradient, no silent upcast to float64."""
    x = Tensor(np.random.default_rng(0).standard_normal((8, 5)), dtype=np.float32)
    w1, b1 = leaf((5, 6), 1, np.float32), leaf((6,), 2, np.float32)
    w2, b2 = leaf((6, 3), 3, np.float32), leaf((3,), 4, np.float32)
    hidden = (x @ w1 + b1).relu() * 0.5 + (x @ w1).tanh().sigmoid() / 3.0
    loss = F.cross_entropy(hidden @ w2 + b2, np.array([0, 1, 2, 0, 1, 2, 0, 1]))
    loss = loss + 1e-3 * (w1 ** 2).sum() + hidden.var() - hidden.max() * 0.1
    assert loss.dtype == np.float32
    loss.backward()
    for parameter in (w1, b1, w2, b2):
        assert parameter.grad.dtype == np.float32
    assert hidden.grad.dtype == np.float32


# ---------------------------------------------------------------- comparisons


@pytest.mark.parametrize("compare", [operator.lt, operator.le, operator.gt, operator.ge,
                                     operator.eq, operator.ne])
def test_comparisons_give_boolean_tensors_without_grad(compare):
    a, b = leaf((3, 4)), leaf((4,), 1)
    for left, right in [(a, b), (a, 0.0), (Tensor(1.5, requires_grad=True), 1.5)]:
        result = compare(left, right)
        expected = compare(left.data, getattr(right, "data", right))
        assert isinstance(result, Tensor)
        assert result.dtype == np.bool_
        assert not result.requires_grad and result.parents == ()
        np.testing.assert_array_equal(result.data, expected)


def test_tensors_stay_hashable_despite_elementwise_equality():
    a, b = leaf((2,)), leaf((2,))
    assert len({a, b, a}) == 2
    assert {a: 1}[a] == 1


# ---------------------------------------------------------------- matmul


@pytest.mark.parametrize(
    ("left", "right"),
    [((4,), (4,)), ((3, 4), (4,)), ((4,), (4, 2)), ((3, 4), (4, 2)), ((5, 3, 4), (4, 2)),
     ((5, 3, 4), (5, 4, 2)), ((2, 1, 3, 4), (5, 4, 2))],
)
def test_matmul_1d_2d_and_batched(left, right):
    a, b = leaf(left, 1), leaf(right, 2)
    out = a @ b
    np.testing.assert_allclose(out.data, np.matmul(a.data, b.data))
    out.sum().backward()
    assert a.grad.shape == left and b.grad.shape == right
    # d sum(a @ b) / da = ones @ b.T, summed over broadcast batches: check one entry by hand
    index = (0,) * len(left)
    eps = 1e-6
    bumped = a.data.copy()
    bumped[index] += eps
    numeric = (np.matmul(bumped, b.data).sum() - out.data.sum()) / eps
    assert a.grad[index] == pytest.approx(numeric, rel=1e-4)


def test_matmul_with_arrays_on_either_side():
    a = leaf((3, 4))
    m = np.ones((2, 3))
    np.testing.assert_allclose((m @ a).data, m @ a.data)
    np.testing.assert_allclose((a @ np.ones(4)).data, a.data.sum(axis=1))


def test_matmul_error_names_both_shapes():
    a, b = Tensor(np.ones((2, 3))), Tensor(np.ones((2, 3)))
    with pytest.raises(OpError, match=re.escape("matmul: shapes (2, 3) and (2, 3) do not align "
                                                "(3 != 2)")):
        a @ b


# ---------------------------------------------------------------- reductions and var


@pytest.mark.parametrize(("axis", "keepdims", "ddof"),
                         [(None, False, 0), (0, False, 0), (-1, True, 1), ((0, 2), False, 1)])
def test_var_matches_numpy_and_its_gradient_is_right(axis, keepdims, ddof):
    x = leaf((2, 3, 4))
    v = x.var(axis=axis, keepdims=keepdims, ddof=ddof)
    np.testing.assert_allclose(v.data, np.var(x.data, axis=axis, keepdims=keepdims, ddof=ddof))
    assert autograd.gradcheck(lambda t: t.var(axis=axis, keepdims=keepdims, ddof=ddof), [x])


def test_var_matches_torch():
    torch = pytest.importorskip("torch")
    x = leaf((3, 5))
    x.var(axis=1, ddof=1).sum().backward()
    reference = torch.tensor(x.data, requires_grad=True)
    reference.var(dim=1, unbiased=True).sum().backward()
    np.testing.assert_allclose(x.grad, reference.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_reduction_errors_name_the_axis_and_shape():
    with pytest.raises(OpError, match=re.escape("sum: axis 2 does not exist for a tensor of "
                                                "shape (2, 3)")):
        Tensor(np.ones((2, 3))).sum(axis=2)
    with pytest.raises(OpError, match="max: axis -3"):
        Tensor(np.ones((2, 3))).max(axis=-3)


# ---------------------------------------------------------------- indexing


def test_repeated_integer_indices_accumulate():
    x = leaf((4, 3))
    rows = np.array([0, 2, 0, 0, 3])
    x[rows].sum().backward()
    counts = np.bincount(rows, minlength=4)
    np.testing.assert_array_equal(x.grad, np.repeat(counts[:, None], 3, axis=1))


@pytest.mark.parametrize("index", [
    (slice(1, None), slice(None, None, 2)),
    (None, Ellipsis, 0),
    (Ellipsis, None),
    (slice(None, None, -1),),
    (np.array([1, 1]), np.array([2, 2])),
    (slice(None), [0, 0, 2]),
    np.array([[True, False, True], [False, False, True], [True, True, True],
              [False, False, False]]),
])
def test_getitem_forward_and_gradient(index):
    x = leaf((4, 3))
    out = x[index]
    np.testing.assert_array_equal(out.data, x.data[index if not isinstance(index, tuple) else
                                                    tuple(np.asarray(i) if isinstance(i, list)
                                                          else i for i in index)])
    assert autograd.gradcheck(lambda t: t[index], [x])


def test_tensor_as_index_is_not_differentiated():
    x = leaf((5,))
    picks = Tensor([4, 4, 1]).data.astype(int)
    np.testing.assert_array_equal(x[Tensor(picks, dtype=int)].data, x.data[picks])


# ---------------------------------------------------------------- concat, stack, where, pad


def test_concat_stack_where_pad_forward():
    a, b = leaf((2, 3), 1), leaf((1, 3), 2)
    np.testing.assert_array_equal(concat([a, b]).data, np.concatenate([a.data, b.data]))
    np.testing.assert_array_equal(stack([a, a], axis=1).data, np.stack([a.data, a.data], 1))
    mask = a.data > 0
    np.testing.assert_array_equal(where(mask, a, 0.0).data, np.where(mask, a.data, 0.0))
    np.testing.assert_array_equal(pad(a, ((1, 0), (0, 2))).data, np.pad(a.data, ((1, 0), (0, 2))))


def test_concat_stack_where_pad_gradients():
    a, b = leaf((2, 3), 1), leaf((1, 3), 2)
    mask = a.data > 0
    assert autograd.gradcheck(lambda x, y: concat([x, y * 2, x], axis=0), [a, b])
    assert autograd.gradcheck(lambda x: stack([x, x * x], axis=-1), [a])
    assert autograd.gradcheck(lambda x, y: where(mask, x, y), [a, b])
    assert autograd.gradcheck(lambda x: pad(x, ((1, 0), (0, 2))), [a])
    out = where(mask, a, b)
    out.sum().backward()
    np.testing.assert_array_equal(a.grad, mask.astype(float))
    np.testing.assert_array_equal(b.grad, (~mask).sum(axis=0, keepdims=True))


def test_join_errors_name_the_shapes():
    with pytest.raises(OpError, match=re.escape("concat: shapes (2, 3) and (3, 2)")):
        concat([Tensor(np.ones((2, 3))), Tensor(np.ones((3, 2)))])
    with pytest.raises(OpError, match=re.escape("stack: shapes (2,) and (3,)")):
        stack([Tensor(np.ones(2)), Tensor(np.ones(3))])
    with pytest.raises(OpError, match=re.escape("add: shapes (3,) and (4,) cannot be broadcast")):
        Tensor(np.ones(3)) + Tensor(np.ones(4))
    with pytest.raises(OpError, match=re.escape("reshape: cannot reshape a tensor of shape "
                                                "(2, 3) into shape (4,)")):
        Tensor(np.ones((2, 3))).reshape(4)
    with pytest.raises(OpError, match=re.escape("where: condition, x and y of shapes (4,), "
                                                "(3,), () cannot be broadcast together")):
        where(np.ones(4, dtype=bool), Tensor(np.ones(3)), 0.0)
    with pytest.raises(OpError, match=re.escape("pad: pad_width ((1, 1), (1, 1), (1, 1)) does "
                                                "not fit a tensor of shape (2, 3)")):
        pad(Tensor(np.ones((2, 3))), ((1, 1), (1, 1), (1, 1)))


# ---------------------------------------------------------------- leaving the graph


def test_item_numpy_detach():
    x = leaf((3,))
    assert isinstance(x.sum().item(), float)
    assert x.numpy() is x.data
    d = (x * 2).detach()
    assert d.parents == () and d.operation is None and not d.requires_grad
    (d * x).sum().backward()
    np.testing.assert_allclose(x.grad, d.data)  # no gradient flowed through d
    with pytest.raises(ValueError):
        Tensor([1.0, 2.0]).item()


def test_no_grad_records_nothing():
    x = leaf((3,))
    with no_grad():
        y = (x * 2).exp()
    assert y.parents == () and not y.requires_grad


def test_backward_on_a_non_scalar_needs_grad():
    x = leaf((2, 3))
    y = x * 3
    with pytest.raises(ValueError, match=r"shape \(2, 3\).*scalar.*grad="):
        y.backward()
    y.backward(grad=np.full((2, 3), 2.0))
    np.testing.assert_array_equal(x.grad, np.full((2, 3), 6.0))


def test_broadcasting_is_undone_to_each_input_shape():
    column, row = leaf((3, 1), 1), leaf((4,), 2)
    (column * row).sum().backward()
    np.testing.assert_allclose(column.grad, np.full((3, 1), row.data.sum()))
    np.testing.assert_allclose(row.grad, np.full(4, column.data.sum()))


# ---------------------------------------------------------------- anomaly mode


def test_detect_anomaly_names_the_op_that_made_a_nan():
    x = Tensor([0.0, 4.0], requires_grad=True)
    with np.errstate(divide="ignore", invalid="ignore"), detect_anomaly():
        root = x.sqrt()  # d sqrt / dx = 0.5 / sqrt(x) is infinite at 0, and 0 * inf is nan
        y = (root * Tensor([0.0, 1.0])).sum()
        with pytest.raises(FloatingPointError) as error:
            y.backward()
    message = str(error.value)
    assert "'sqrt'" in message and "non-finite" in message
    assert "test_tensor.py" in message and "root = x.sqrt()" in message


def test_without_anomaly_mode_the_nan_passes_silently():
    x = Tensor([0.0, 4.0], requires_grad=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        (x.sqrt() * Tensor([0.0, 1.0])).sum().backward()
    assert np.isnan(x.grad[0]) and x.grad[1] == pytest.approx(0.25)


def test_transpose_T_flatten_and_reshape():
    x = leaf((2, 3, 4))
    assert x.T.shape == (4, 3, 2) and x.transpose(1, 0, 2).shape == (3, 2, 4)
    assert x.flatten().shape == (24,) and x.reshape(4, -1).shape == (4, 6)
    assert x.reshape((6, 4)).shape == (6, 4)
    np.testing.assert_array_equal(x.T.data, x.data.T)
    assert autograd.gradcheck(lambda t: t.T.flatten()[::5] * t.transpose((2, 0, 1)).sum(), [x])


def test_boolean_mask_from_a_comparison():
    x = leaf((3, 4))
    positive = x[x > 0]
    np.testing.assert_array_equal(positive.data, x.data[x.data > 0])
    positive.sum().backward()
    np.testing.assert_array_equal(x.grad, (x.data > 0).astype(float))


def test_constants_never_change_the_graph_precision():
    x = leaf((3,), dtype=np.float32)
    for out in (x * np.ones(3), np.ones(3) * x, x + np.arange(3), x @ np.ones(3)):
        assert out.dtype == np.float32
    assert (leaf((3,)) * np.ones(3, dtype=np.float32)).dtype == np.float64


def test_a_mask_times_a_number_is_a_number():
    x = Tensor([-1.0, 2.0, 3.0])
    np.testing.assert_array_equal(((x > 0) * 2.5).data, [0.0, 2.5, 2.5])
    np.testing.assert_array_equal((1 - (x > 0)).data, [1.0, 0.0, 0.0])
    assert ((x > 0) * (x > 2)).dtype == np.bool_


@pytest.mark.parametrize("dtype", [np.int64, bool])
def test_only_float_tensors_can_require_gradients(dtype):
    # An integer gradient would be truncated (0.5 -> 0) without a word.
    with pytest.raises(TypeError, match="Tensor: only float tensors can require gradients"):
        Tensor([1, 0], dtype=dtype, requires_grad=True)
    assert Tensor([1, 2], requires_grad=True).dtype == np.float64  # ints without dtype= convert


def test_pow_exponent_gradient_at_zero_and_negative_bases_matches_torch():
    torch = pytest.importorskip("torch")
    base = np.array([-2.0, 0.0, 3.0])
    x, y = Tensor(base, requires_grad=True), Tensor(np.full(3, 2.0), requires_grad=True)
    (x**y).sum().backward()
    tx = torch.tensor(base, requires_grad=True)
    ty = torch.tensor(np.full(3, 2.0), requires_grad=True)
    (tx**ty).sum().backward()
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(y.grad, ty.grad.numpy(), rtol=1e-12)  # nan where torch has nan


def test_joining_nothing_or_only_arrays_is_clear():
    with pytest.raises(OpError, match="stack: .*at least one array"):
        stack([])
    with pytest.raises(OpError, match="concat: .*at least one array"):
        concat([])
    joined = concat([np.ones(2), [3.0]])  # plain arrays become constant float64 leaves
    assert joined.dtype == np.float64 and joined.shape == (3,) and not joined.requires_grad


def test_power_by_an_array_of_the_wrong_shape_is_an_op_error():
    # The op's explanation itself once failed on an array exponent (a bare TypeError).
    with pytest.raises(OpError, match=r"pow_constant: .*\(3,\).*\(2,\)"):
        Tensor([-1.0, 2.0, 3.0]) ** np.ones(2)


def test_truth_value_is_numpy_s_not_always_true():
    # `==` is elementwise, so `in` and `if` must look at the values, not at the object.
    assert Tensor([1.0]) not in [Tensor([2.0])]
    assert not Tensor([0.0]) and Tensor(3.0)
    with pytest.raises(ValueError, match=r"Tensor: .*shape \(2,\).*\.any\(\).*\.all\(\)"):
        bool(Tensor([1.0, 2.0]))


def test_a_gradient_of_the_wrong_shape_is_reported():
    class Flip(autograd.Op):
        """f(x) = x reversed; its backward drops an element (a bug, on purpose)"""

        name = "flip_test"

        def forward(x):
            return x[::-1]

        def backward(grad_out, out, x):
            return (grad_out[1:],)

    try:
        x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
        with pytest.raises(RuntimeError, match=r"flip_test: backward returned a gradient of "
                           r"shape \(2,\) for input 0, of shape \(3,\)"):
            Flip.apply(x).sum().backward()
    finally:
        del autograd.Op.registry["flip_test"]


def test_backward_steps_on_tensors_match_backward_and_change_nothing():
    a, b = leaf((2, 3)), leaf((3,), seed=1)
    loss = ((a * b).tanh() + b).sum()
    steps = list(autograd.backward_steps(loss))
    assert a.grad is None and b.grad is None  # stepping changes no .grad
    assert steps[0].node is loss and len(steps) == len({id(s.node) for s in steps})
    for step in steps:
        for parent, local, sent in step.received:
            assert local is None and np.shape(sent) == parent.shape  # broadcasting undone
    loss.backward()
    final = {id(s.node): s.grad for s in steps}
    np.testing.assert_allclose(final[id(a)], a.grad, rtol=1e-12)
    np.testing.assert_allclose(final[id(b)], b.grad, rtol=1e-12)  # both uses of b summed
