"""The scalar engine: the course example, accumulation, higher derivatives, errors, limits."""

import gc
import math
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from chaingrad import autograd
from chaingrad.autograd import (
    GradcheckError,
    GradientAccumulationWarning,
    Op,
    OpError,
    Tensor,
    Value,
    backward_steps,
    grad,
    gradcheck,
    local_derivatives,
    no_grad,
)


def course_example():
    x, y, z = Value(-2.0, name="x"), Value(5.0, name="y"), Value(-4.0, name="z")
    q = x + y
    f = q * z
    return x, y, z, q, f


def test_course_example_forward_and_backward():
    x, y, z, q, f = course_example()
    f.backward()
    assert (f.data, x.grad, y.grad, z.grad, q.grad) == (-12.0, -4.0, -4.0, 3.0, -4.0)


def test_node_attributes_are_plain_and_public():
    x, y, z, q, f = course_example()
    assert f.op == "*" and q.op == "+" and x.op == ""
    assert f.parents == (q, z) and q.parents == (x, y) and x.parents == ()
    assert x.name == "x" and f.name is None
    assert x.grad == 0.0


def test_reused_nodes_accumulate():
    x = Value(3.0)
    out = x * x + x  # d/dx = 2x + 1
    out.backward()
    assert x.grad == 7.0
    a = Value(2.0)
    (a + a).backward()
    assert a.grad == 2.0


def test_numbers_on_either_side():
    x = Value(2.0)
    out = 1 + 3 * x - x / 4 + 2**x + x**3 - 1 / x + (-x)
    out.backward()
    expected = 3 - 0.25 + math.log(2) * 4 + 12 + 0.25 - 1
    assert out.data == pytest.approx(1 + 6 - 0.5 + 4 + 8 - 0.5 - 2)
    assert x.grad == pytest.approx(expected)


def test_value_exponent():
    x, y = Value(2.0), Value(3.0)
    out = x**y
    out.backward()
    assert out.data == 8.0
    assert x.grad == pytest.approx(3 * 4.0)
    assert y.grad == pytest.approx(8.0 * math.log(2.0))


@pytest.mark.parametrize(
    "method, derivative",
    [
        ("exp", math.exp),
        ("log", lambda v: 1 / v),
        ("sqrt", lambda v: 0.5 / math.sqrt(v)),
        ("tanh", lambda v: 1 - math.tanh(v) ** 2),
        ("sigmoid", lambda v: math.exp(-v) / (1 + math.exp(-v)) ** 2),
        ("relu", lambda v: 1.0),
        ("sin", math.cos),
        ("cos", lambda v: -math.sin(v)),
        ("abs", lambda v: 1.0),
    ],
)
def test_methods_have_the_textbook_derivative(method, derivative):
    x = Value(0.7)
    getattr(x, method)().backward()
    assert x.grad == pytest.approx(derivative(0.7), rel=1e-12)


def test_third_derivative_of_tanh():
    x = Value(0.4)
    t = math.tanh(0.4)
    first = grad(x.tanh(), x, create_graph=True)
    second = grad(first, x, create_graph=True)
    third = grad(second, x)
    assert first.data == pytest.approx(1 - t**2, rel=1e-12)
    assert second.data == pytest.approx(-2 * t * (1 - t**2), rel=1e-12)
    assert third.data == pytest.approx((6 * t**2 - 2) * (1 - t**2), rel=1e-12)


def test_higher_derivatives_of_sin_exp_and_cube():
    x = Value(0.3)
    d1 = grad(x.sin() * x.exp(), x, create_graph=True)
    d2 = grad(d1, x)
    # (sin x e^x)'' = 2 cos x e^x
    assert d2.data == pytest.approx(2 * math.cos(0.3) * math.exp(0.3), rel=1e-12)
    y = Value(1.5)
    g1 = grad(y**3, y, create_graph=True)
    g2 = grad(g1, y, create_graph=True)
    assert (g1.data, g2.data, grad(g2, y).data) == pytest.approx((6.75, 9.0, 6.0))


def test_grad_leaves_dot_grad_untouched_and_handles_unused_inputs():
    x, y, z, q, f = course_example()
    unused = Value(1.0)
    gx, gz, gu = grad(f, [x, z, unused])
    assert (gx.data, gz.data, gu.data) == (-4.0, 3.0, 0.0)
    assert x.grad == 0.0 and z.grad == 0.0


def test_grad_gives_nodes_of_the_inputs_front_end():
    """As in PyTorch: a Value for a Value, a Tensor of the same dtype for a Tensor."""
    x = Value(3.0)
    t = Tensor(np.array([1.0, 2.0], dtype=np.float32), requires_grad=True)
    unused = Tensor(np.zeros((2, 2)), requires_grad=True)
    gx = grad(x**3, x)
    assert type(gx) is Value and gx.data == 27.0
    gt, gu = grad((t * t).sum(), [t, unused])
    assert type(gt) is Tensor and gt.dtype == np.float32
    assert np.array_equal(gt.data, [2.0, 4.0]) and np.array_equal(gu.data, np.zeros((2, 2)))


def test_a_gradient_is_differentiable_only_with_create_graph():
    x = Value(2.0)
    constant = grad(x * x * x, x)  # 12, a leaf with no history
    assert constant.is_leaf and constant.parents == ()
    assert grad(constant, x).data == 0.0  # it does not depend on x
    assert grad(grad(x * x * x, x, create_graph=True), x).data == 12.0  # 6x does
    t = Tensor([1.0, 2.0], requires_grad=True)
    g = grad((t * t * t).sum(), t)
    assert g.is_leaf and not g.requires_grad
    assert grad(grad((t * t * t).sum(), t, create_graph=True).sum(), t).data.tolist() == [
        6.0, 12.0]


def test_no_grad_records_nothing():
    x = Value(2.0)
    with no_grad():
        y = x * 3 + 1
    assert y.parents == () and y.op == "" and y.data == 7.0
    assert autograd.is_grad_enabled()


def test_detach_cuts_history():
    x = Value(2.0)
    d = (x * 3).detach()
    assert d.parents == () and d.data == 6.0


def test_second_backward_warns_in_plain_words():
    x, y, z, q, f = course_example()
    f.backward()
    with pytest.warns(GradientAccumulationWarning, match="zero"):
        f.backward()
    assert x.grad == -8.0  # accumulated, as in PyTorch


def test_second_backward_after_zeroing_the_leaves_does_not_warn():
    # The warning's own advice is to zero the gradients: once that is done, it stays quiet.
    x, y, z, q, f = course_example()
    f.backward()
    for leaf in (x, y, z):
        leaf.zero_grad()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        f.backward()
    assert (x.grad, y.grad, z.grad) == (-4.0, -4.0, 3.0)
    w = Tensor([1.0, 2.0], requires_grad=True)
    loss = (w * w).sum()
    loss.backward()
    w.zero_grad()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss.backward()
    assert w.grad.tolist() == [2.0, 4.0]


def test_fresh_losses_sharing_weights_do_not_warn():
    w = Value(0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for sample in (1.0, 2.0, 3.0):
            (w * sample).backward()
    assert w.grad == 6.0


def test_million_node_chain_backpropagates_with_default_recursion_limit():
    assert sys.getrecursionlimit() <= 10_000
    x = Value(1.0)
    out = x
    for _ in range(1_000_000):
        out = out + 1.0
    out.backward()
    assert x.grad == 1.0 and out.data == 1_000_001.0


def test_graphs_are_freed_without_the_cyclic_collector():
    gc.collect()
    gc.disable()
    try:
        x = Value(0.5)
        out = x
        for _ in range(1000):
            out = (out * 1.01 + 0.1).tanh()
        out.backward()
        del out, x
        assert gc.collect() == 0  # nothing unreachable was left for the collector
    finally:
        gc.enable()


def test_importing_autograd_loads_only_numpy_and_the_standard_library():
    code = (
        "import sys, chaingrad.autograd\n"
        "heavy = {'networkx', 'graphviz', 'rich', 'matplotlib', 'torch',\n"
        "         'chaingrad.nn', 'chaingrad.viz', 'chaingrad.lessons'}\n"
        "loaded = {m.split('.')[0] for m in sys.modules} | set(sys.modules)\n"
        "print(sorted(heavy & loaded))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda: Value(-1.0).log(), ["log", "positive", "-1.0"]),
        (lambda: Value(0.0).log(), ["log", "positive", "0.0"]),
        (lambda: Value(-4.0).sqrt(), ["sqrt", "-4.0"]),
        (lambda: Value(3.0) / 0, ["div", "division by zero"]),
        (lambda: Value(-8.0) ** 0.5, ["pow", "not a real number"]),
        (lambda: Value(1000.0).exp(), ["exp", "1000.0"]),
        (lambda: Value(1e200) ** 2, ["pow", "1e+200", "too large"]),
        (lambda: Value(10.0) ** Value(400.0), ["pow", "400.0", "too large"]),
    ],
)
def test_errors_name_the_op_and_the_value(make, words):
    with pytest.raises(OpError) as caught:
        make()
    message = str(caught.value)
    for word in words:
        assert word in message
    # No chained math/numpy traceback behind the sentence:
    error = caught.value
    assert error.__cause__ is None and (error.__context__ is None or error.__suppress_context__)


def test_non_number_operand_is_a_clear_type_error():
    with pytest.raises(TypeError, match="add: expected a number, got str 'a'"):
        Value(1.0) + "a"
    with pytest.raises(TypeError, match="Value: expected a number"):
        Value("3")


def test_a_students_own_op_works_at_once_and_is_gradchecked():
    class Cube(Op):
        """f(x) = x**3; df/dx = 3 x**2"""

        name = "cube_test_homework"

        def forward(x):
            return x**3

        def backward(grad_out, out, x):
            return (grad_out * 3 * x**2,)

    x = Value(2.0)
    y = Cube.apply(x)
    y.backward()
    assert (y.data, x.grad, y.op) == (8.0, 12.0, "cube_test_homework")
    assert gradcheck(lambda v: Cube.apply(v) * v, [Value(1.3)])
    plain = Tensor([0.5, -1.0, 2.0])  # no requires_grad: gradcheck checks it all the same
    assert gradcheck(Cube.apply, [plain]) and not plain.requires_grad
    assert Op.registry["cube_test_homework"] is Cube
    del Op.registry["cube_test_homework"]


def test_gradcheck_says_which_input_is_wrong_and_by_how_much():
    class WrongSquare(Op):
        """f(x) = x**2; df/dx = 2x (deliberately wrong below)"""

        name = "wrong_square_test"

        def forward(x):
            return x * x

        def backward(grad_out, out, x):
            return (grad_out * 3 * x,)

    try:
        a, b = Value(1.0, name="a"), Value(2.0, name="b")
        with pytest.raises(GradcheckError, match=r"input 1 \('b'\).*6.*4.*difference 2"):
            gradcheck(lambda u, v: u + WrongSquare.apply(v), [a, b])
    finally:
        del Op.registry["wrong_square_test"]


def test_wrong_number_of_gradients_is_reported():
    class Broken(Op):
        """f(x, y) = x + y; returns one gradient for two inputs (a bug, on purpose)"""

        name = "broken_test"

        def forward(x, y):
            return x + y

        def backward(grad_out, out, x, y):
            return (grad_out,)

    try:
        with pytest.raises(RuntimeError, match="broken_test: backward returned 1 gradients for 2"):
            Broken.apply(Value(1.0), Value(2.0)).backward()
    finally:
        del Op.registry["broken_test"]


def test_backward_steps_follow_the_chain_rule_and_change_nothing():
    x, y, z, q, f = course_example()
    steps = list(backward_steps(f))
    assert [s.node for s in steps][:2] == [f, q] or [s.node for s in steps][0] is f
    by_node = {id(s.node): s for s in steps}
    assert {id(s.node) for s in steps} == {id(n) for n in (x, y, z, q, f)}
    assert by_node[id(f)].grad == 1.0
    sent = {id(parent): (local, value) for parent, local, value in by_node[id(f)].received}
    assert sent[id(q)] == (-4.0, -4.0) and sent[id(z)] == (3.0, 3.0)
    assert by_node[id(x)].grad == -4.0 and by_node[id(x)].received == ()
    # Every node appears after all the nodes that use it.
    position = {id(s.node): i for i, s in enumerate(steps)}
    assert position[id(q)] < position[id(x)] and position[id(f)] < position[id(q)]
    assert x.grad == 0.0 and f.grad == 0.0


def test_backward_steps_sum_two_uses():
    x = Value(3.0)
    out = x * x
    (step,) = [s for s in backward_steps(out) if s.node is out]
    assert [(local, value) for _, local, value in step.received] == [(3.0, 3.0), (3.0, 3.0)]


def test_dot_is_one_node_with_the_right_gradients():
    w = [Value(0.5), Value(-1.0)]
    x = [Value(2.0), Value(3.0)]
    out = Value.dot(w, x)
    out.backward()
    assert out.data == -2.0 and out.op == "Σw·x" and len(out.parents) == 4
    assert [v.grad for v in w] == [2.0, 3.0] and [v.grad for v in x] == [0.5, -1.0]


def test_type_hints_marker_is_shipped():
    assert (Path(autograd.__file__).parent / "py.typed").exists()


def test_no_grad_reused_as_a_decorator_on_a_recursive_function_restores_the_mode():
    @no_grad()
    def depth(n):
        return depth(n - 1) if n else autograd.is_grad_enabled()

    mode = no_grad()
    with autograd.enable_grad():  # restores the mode afterwards even if this test fails
        assert depth(3) is False
        assert autograd.is_grad_enabled()
        with mode:
            with autograd.enable_grad():
                with mode:
                    assert not autograd.is_grad_enabled()
                assert autograd.is_grad_enabled()
        assert autograd.is_grad_enabled()


@pytest.mark.parametrize("make", [lambda x: x.sqrt(), lambda x: x**0.5])
def test_an_infinite_derivative_of_a_value_is_inf_not_a_math_error(make):
    torch = pytest.importorskip("torch")
    t = torch.tensor(0.0, dtype=torch.float64, requires_grad=True)
    make(t).backward()
    assert t.grad.item() == math.inf  # 1 / (2 sqrt x) at x = 0
    x = Value(0.0)
    out = make(x)
    out.backward()
    assert x.grad == math.inf
    assert grad(out, x).data == math.inf  # the general path (grad, anomaly mode) too
    assert local_derivatives(out) == (math.inf,)  # what viz writes on the edge


@pytest.mark.parametrize("base", [-2.0, 0.0, 3.0])
def test_pow_exponent_gradient_at_a_zero_or_negative_base_matches_torch(base):
    torch = pytest.importorskip("torch")
    x, y = Value(base), Value(2.0)
    (x**y).backward()
    tx = torch.tensor(base, dtype=torch.float64, requires_grad=True)
    ty = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    (tx**ty).backward()
    for ours, theirs in ((x.grad, tx.grad.item()), (y.grad, ty.grad.item())):
        assert ours == pytest.approx(theirs, nan_ok=True, rel=1e-12)


def test_grad_with_as_many_seeds_as_outputs_only():
    x = Value(3.0)
    a, b = x * x, x * 2
    assert grad([a, b], x, grad_outputs=[1.0, 10.0]).data == 26.0
    with pytest.raises(ValueError, match="grad: 2 outputs but 1 grad_outputs"):
        grad([a, b], x, grad_outputs=[1.0])


def test_grad_takes_create_graph_by_name_only():
    # DESIGN writes grad(outputs, inputs, create_graph=False); a positional True must not
    # quietly become the output's seed and give a gradient that is not differentiable.
    x = Value(2.0)
    with pytest.raises(TypeError):
        grad(x * x, x, True)
    assert grad(grad(x * x * x, x, create_graph=True), x).data == 12.0
