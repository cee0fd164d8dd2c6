"""Hardening (issue 11): each test is a way chaingrad 0.1 went wrong for a hostile user.

1. grad mode and anomaly mode per thread and per asyncio task
2. a value changed after it was used is caught at backward
3. loading weights validates everything before changing anything
4. views of huge graphs answer quickly, Graphviz runs under limits
5. names, numbers and inputs that are not what they should be
"""

from __future__ import annotations

import asyncio
import threading

import numpy as np
import pytest

from chaingrad.autograd import (
    Tensor,
    Value,
    detect_anomaly,
    enable_grad,
    is_grad_enabled,
    no_grad,
)

# ---------------------------------------------------------------- 1. modes per thread


def _in_thread(function):
    """Run function in a real thread; return its result or re-raise its exception."""
    box = {}

    def target():
        try:
            box["result"] = function()
        except BaseException as error:  # noqa: BLE001  (handed back to the test)
            box["error"] = error

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(timeout=30)
    assert not thread.is_alive()
    if "error" in box:
        raise box["error"]
    return box.get("result")


def test_an_evaluator_thread_in_no_grad_does_not_stop_training_in_another():
    entered, release = threading.Event(), threading.Event()

    def evaluator():
        with no_grad():
            entered.set()
            release.wait(timeout=30)

    thread = threading.Thread(target=evaluator)
    thread.start()
    entered.wait(timeout=30)
    try:
        x = Value(3.0)
        y = x * x
        t = Tensor([1.0, 2.0], requires_grad=True)
        s = (t * t).sum()
        assert is_grad_enabled()
    finally:
        release.set()
        thread.join(timeout=30)
    y.backward()
    s.backward()
    assert x.grad == 6.0
    assert t.grad.tolist() == [2.0, 4.0]


def test_threads_entering_and_leaving_no_grad_interleaved_leave_grad_mode_on():
    """Thread A enters, thread B enters, A leaves, B leaves: a shared switch ends False."""
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()

    def thread_a():
        with no_grad():
            a_in.set()
            b_in.wait(timeout=30)
        a_out.set()

    def thread_b():
        a_in.wait(timeout=30)
        with no_grad():
            b_in.set()
            a_out.wait(timeout=30)

    threads = [threading.Thread(target=thread_a), threading.Thread(target=thread_b)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert is_grad_enabled()
    assert _in_thread(is_grad_enabled) is True
    x = Value(2.0)
    (x * x).backward()
    assert x.grad == 4.0


def test_many_threads_switching_no_grad_never_change_each_others_graphs():
    errors = []
    barrier = threading.Barrier(4)

    def trainer(seed):
        barrier.wait(timeout=30)
        for step in range(300):
            if (step + seed) % 2:
                with no_grad():
                    y = Value(float(step)) * 2.0
                if y.parents:
                    errors.append(f"thread {seed}: a graph was recorded inside no_grad")
            else:
                x = Value(float(step))
                y = x * x
                if not y.parents:
                    errors.append(f"thread {seed}: no graph outside no_grad at step {step}")

    threads = [threading.Thread(target=trainer, args=(seed,)) for seed in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert is_grad_enabled()


def test_a_new_thread_starts_with_grad_on_even_inside_no_grad():
    with no_grad():
        assert _in_thread(is_grad_enabled) is True
        assert _in_thread(lambda: bool((Value(1.0) * 2).parents)) is True


def test_no_grad_as_a_decorator_used_by_two_threads_at_once():
    inside, release = threading.Barrier(2), threading.Event()

    @no_grad()
    def evaluate():
        inside.wait(timeout=30)
        release.wait(timeout=30)
        return is_grad_enabled()

    results = []
    threads = [threading.Thread(target=lambda: results.append(evaluate())) for _ in range(2)]
    for thread in threads:
        thread.start()
    release.set()
    for thread in threads:
        thread.join(timeout=30)
    assert results == [False, False]
    assert is_grad_enabled()


def test_anomaly_mode_belongs_to_the_thread_that_enters_it():
    entered, release = threading.Event(), threading.Event()

    def watcher():
        with detect_anomaly():
            entered.set()
            release.wait(timeout=30)

    thread = threading.Thread(target=watcher)
    thread.start()
    entered.wait(timeout=30)
    try:
        x = Value(0.0)
        y = x.sqrt()  # d/dx sqrt at 0 is inf: anomaly mode would raise
    finally:
        release.set()
        thread.join(timeout=30)
    y.backward()
    assert x.grad == float("inf")


def test_each_asyncio_task_has_its_own_grad_mode():
    async def evaluator(started, proceed):
        with no_grad():
            started.set()
            await proceed.wait()
            return is_grad_enabled()

    async def trainer(started, proceed):
        await started.wait()
        x = Value(3.0)
        y = x * x
        proceed.set()
        return is_grad_enabled(), bool(y.parents)

    async def main():
        started, proceed = asyncio.Event(), asyncio.Event()
        return await asyncio.gather(evaluator(started, proceed), trainer(started, proceed))

    evaluated, (trained_mode, recorded) = asyncio.run(main())
    assert evaluated is False
    assert trained_mode is True and recorded is True


def test_enable_grad_inside_no_grad_and_nesting_still_restore():
    with no_grad():
        with enable_grad():
            assert is_grad_enabled()
        assert not is_grad_enabled()
        block = no_grad()
        with block:
            with block:
                assert not is_grad_enabled()
        assert not is_grad_enabled()
    assert is_grad_enabled()


def test_detect_anomaly_keeps_no_node_alive_until_the_block_ends():
    import tracemalloc

    tracemalloc.start()
    try:
        with detect_anomaly():
            baseline = tracemalloc.get_traced_memory()[0]
            for _ in range(5):
                big = Tensor(np.zeros(200_000), requires_grad=True)
                y = (big * 2.0).sum()
                y.backward()
                del big, y
            kept = tracemalloc.get_traced_memory()[0] - baseline
    finally:
        tracemalloc.stop()
    assert kept < 1_000_000, f"{kept} bytes still held inside detect_anomaly"


def test_detect_anomaly_still_names_the_line_that_made_the_node():
    with detect_anomaly():
        x = Tensor([0.0, 1.0], requires_grad=True)
        y = x.sqrt().sum()
        with pytest.raises(FloatingPointError, match="(?s)sqrt.*created at .*test_hardening"):
            y.backward()


# ---------------------------------------------------------------- 2. values changed after use

from test_ops import SCALAR, TENSOR, _fixed_inputs, _ids, _run  # noqa: E402

from chaingrad import nn  # noqa: E402
from chaingrad.autograd import grad  # noqa: E402
from chaingrad.autograd.engine import ValueChangedError  # noqa: E402


def _loss(out):
    return out if out.scalar else (out * 1.0).sum()


@pytest.mark.parametrize(("name", "case"), SCALAR, ids=_ids(SCALAR))
def test_every_value_op_refuses_backward_after_an_input_was_reassigned(name, case):
    for position in range(len(case.shapes)):
        inputs = [Value(float(t.data)) for t in _fixed_inputs(name, case, np.float64)]
        loss = _loss(_run(name, case, *inputs))
        inputs[position].data = inputs[position].data + 0.5
        with pytest.raises(ValueChangedError, match="changed after .* used it"):
            loss.backward()


CHANGES = {
    "in place, by index": lambda t: t.data.__setitem__(Ellipsis, t.data + 0.5),
    "in place, augmented": lambda t: t.data.__iadd__(0.5),
    "attribute augmented": lambda t: setattr(t, "data", t.data + 0.5),
}


@pytest.mark.parametrize("change", CHANGES)
@pytest.mark.parametrize(("name", "case"), TENSOR, ids=_ids(TENSOR))
def test_every_tensor_op_refuses_backward_after_an_input_changed(name, case, change):
    for position in range(len(case.shapes)):
        inputs = _fixed_inputs(name, case, np.float64)
        loss = _loss(_run(name, case, *inputs))
        CHANGES[change](inputs[position])
        with pytest.raises(ValueChangedError, match="changed after .* used it"):
            loss.backward()


def test_the_issue_reproductions_are_refused_with_a_sentence_naming_the_node():
    x = Tensor([1.0, 2, 3], requires_grad=True, name="x")
    y = (x * x).sum()
    x.data[...] = 10
    with pytest.raises(ValueChangedError, match=r"'x' .*mul.*detach\(\)"):
        y.backward()
    v = Value(3.0, name="v")
    w = v * v
    v.data = 100
    with pytest.raises(ValueChangedError, match="'v'"):
        w.backward()
    a = Tensor(np.ones((2, 3)))
    W = Tensor(np.ones((3, 2)), requires_grad=True, name="W")
    out = (a @ W).sum()
    a.data *= 0
    with pytest.raises(ValueChangedError, match="matmul"):
        out.backward()
    assert W.grad is None  # nothing was half-accumulated


def test_an_interior_node_changed_after_use_is_named_by_its_op():
    x = Tensor([1.0, 2.0], requires_grad=True)
    h = x.exp()
    loss = (h * h).sum()
    h.data[0] = 0.0
    with pytest.raises(ValueChangedError, match="result of 'exp'"):
        loss.backward()


def test_a_view_made_by_an_op_cannot_be_changed_behind_its_input():
    x = Tensor(np.arange(6.0), requires_grad=True)
    y = x.reshape(2, 3)  # y's array is a view of x's
    loss = (y * y).sum()
    y.data[...] = 0.0
    with pytest.raises(ValueChangedError):
        loss.backward()
    assert x.data.tolist() == list(range(6))  # the write went to y's own copy


def test_reading_data_between_forward_and_backward_is_fine():
    x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    v = Value(2.0)
    loss = (x * x).sum()
    scalar = v * v
    print(x.data, x.numpy(), np.asarray(x), v.data)
    _ = x.data.sum() + v.data
    x.data = x.data.copy()  # the same values, a new array
    loss.backward()
    scalar.backward()
    assert x.grad.tolist() == [2.0, 4.0, 6.0] and v.grad == 4.0


def test_grad_and_create_graph_check_too():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = (x * x * x).sum()
    x.data[1] = 5.0
    with pytest.raises(ValueChangedError):
        grad(y, x)
    with pytest.raises(ValueChangedError):
        grad(y, x, create_graph=True)


def test_student_update_loops_keep_working_on_both_front_ends():
    w = Tensor([0.0, 0.0], requires_grad=True)
    b = Value(0.0)
    for _ in range(50):
        loss = ((w - Tensor([1.0, -2.0])) ** 2).sum()
        scalar_loss = (b - 3.0) ** 2
        w.grad, b.grad = None, 0.0
        loss.backward()
        scalar_loss.backward()
        w.data -= 0.1 * w.grad
        b.data -= 0.1 * b.grad
    assert np.allclose(w.data, [1.0, -2.0], atol=1e-3) and abs(b.data - 3.0) < 1e-3


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "rmsprop"])
def test_optimizers_update_weights_between_steps(optimizer):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(64, 3)), rng.normal(size=(64, 1))
    model = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 1))
    opt = nn.optim.get(optimizer, model.parameters(), lr=0.01)
    losses = []
    for _ in range(20):
        loss = nn.losses.mse(model(Tensor(X)), Tensor(y))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]


def test_backward_on_a_graph_older_than_an_optimizer_step_is_refused():
    model = nn.Linear(2, 1)
    opt = nn.optim.SGD(model.parameters(), lr=0.1)
    loss = model(Tensor(np.ones((4, 2)))).sum()
    loss.backward()
    opt.step()
    with pytest.raises(ValueChangedError):
        loss.backward()


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam", "rmsprop"])
def test_a_step_after_a_forward_pass_copies_no_weight_and_refuses_the_old_graph(optimizer):
    # The optimizers write into the weights' own memory (no weight-sized copy, although
    # the graph just used them: copy on write is for students' .data, not for step), and
    # the graph of that forward pass then refuses a second backward.
    import tracemalloc

    options = {"momentum": {"momentum": 0.9}}.get(optimizer, {})
    W = Tensor(np.random.default_rng(0).normal(size=(300, 200)), requires_grad=True)
    opt = nn.optim.get("sgd" if optimizer == "momentum" else optimizer, [W], lr=0.01,
                       **options)
    x = Tensor(np.ones((2, 300)))
    (x @ W).sum().backward()
    opt.step()  # the first step makes the optimizer's kept arrays
    opt.zero_grad()
    loss = (x @ W).sum()
    loss.backward()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        opt.step()
        current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak - before < W.data.nbytes // 4, peak - before
    with pytest.raises(ValueChangedError, match="changed after"):
        loss.backward()


# ---------------------------------------------------------------- 3. loads that validate

import io  # noqa: E402
import os  # noqa: E402
import zipfile  # noqa: E402

from chaingrad import viz  # noqa: E402


def _model():
    return nn.MLP(2, [3, 1], seed=0)


def _snapshot(model):
    return {key: np.array(value) for key, value in model.state_dict().items()}


def _unchanged(model, before):
    after = model.state_dict()
    return all(np.array_equal(before[key], after[key]) for key in before)


BAD_ENTRIES = {
    "text": (np.array(["a", "b", "c"]), "text"),
    "complex": (np.ones(1, dtype=complex), "complex"),
    "nan": (np.array([np.nan]), "finite"),
    "inf": (np.array([np.inf]), "finite"),
    "wrong shape": (np.ones(7), "shape"),
    "integers as booleans": (np.array([True]), "booleans"),
}


@pytest.mark.parametrize("bad", BAD_ENTRIES)
def test_a_bad_last_entry_leaves_the_model_exactly_as_it_was(tmp_path, bad):
    model = _model()
    before = _snapshot(model)
    state = _model().state_dict()
    for key in state:
        state[key] = state[key] + 1.0
    last = list(state)[-1]
    value, words = BAD_ENTRIES[bad]
    state[last] = value
    with pytest.raises(ValueError, match=f"'{last}'.*{words}"):
        model.load_state_dict(state)
    assert _unchanged(model, before)
    path = tmp_path / "weights.npz"
    np.savez(path, **state)
    with pytest.raises(ValueError, match=f"'{last}'.*{words}"):
        model.load(path)
    assert _unchanged(model, before)


@pytest.mark.parametrize("bad", ["text", "nan", "wrong shape"])
def test_a_bad_buffer_leaves_parameters_and_buffers_exactly_as_they_were(tmp_path, bad):
    # Buffers (batch norm's running statistics) are checked with the parameters, before
    # anything is assigned: a bad running_var must not leave new weights behind.
    def model():
        return nn.Sequential(nn.Linear(3, 1, seed=0), nn.BatchNorm1d(1))

    target = model()
    before = _snapshot(target)
    state = {key: value + 1.0 for key, value in model().state_dict().items()}
    value, words = BAD_ENTRIES[bad]
    state["layers.1.running_var"] = value
    with pytest.raises(ValueError, match=f"'layers.1.running_var'.*{words}"):
        target.load_state_dict(state)
    assert _unchanged(target, before)
    path = tmp_path / "weights.npz"
    np.savez(path, **state)
    with pytest.raises(ValueError, match=f"'layers.1.running_var'.*{words}"):
        target.load(path)
    assert _unchanged(target, before)
    state["layers.1.running_var"] = before["layers.1.running_var"] + 1.0
    np.savez(path, **state)
    assert _unchanged(target.load(path), state)  # and a good file loads all of it


def test_value_changed_error_is_public():
    import chaingrad
    from chaingrad import autograd

    assert chaingrad.ValueChangedError is autograd.ValueChangedError is ValueChangedError
    assert issubclass(ValueChangedError, RuntimeError)


def test_a_ragged_or_object_entry_is_refused_with_a_sentence():
    model = _model()
    before = _snapshot(model)
    state = model.state_dict()
    state["layers.2.bias"] = [[1.0, 2.0], [3.0]]
    with pytest.raises(ValueError, match="'layers.2.bias' is not an array of numbers"):
        model.load_state_dict(state)
    state["layers.2.bias"] = np.array([{"evil": 1}], dtype=object)
    with pytest.raises(ValueError, match="Python objects"):
        model.load_state_dict(state)
    assert _unchanged(model, before)


def _npz_claiming(path, entries):
    """A .npz whose entries' headers claim these shapes but hold (almost) no data."""
    with zipfile.ZipFile(path, "w") as archive:
        for key, (shape, dtype) in entries.items():
            header = io.BytesIO()
            np.lib.format.write_array_header_1_0(
                header, {"descr": np.dtype(dtype).str, "fortran_order": False, "shape": shape})
            archive.writestr(f"{key}.npy", header.getvalue() + b"\0" * 64)


def test_a_header_claiming_a_huge_array_is_refused_before_memory_is_taken(tmp_path):
    import tracemalloc

    model = _model()
    before = _snapshot(model)
    shapes = {key: value.shape for key, value in model.state_dict().items()}
    last = list(shapes)[-1]
    path = tmp_path / "huge.npz"
    _npz_claiming(path, {**{k: (s, "<f8") for k, s in shapes.items()}, last: ((10**12,), "<f8")})
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=r"shape \(1000000000000,\)"):
            model.load(path)
        with pytest.raises(ValueError, match="more than 1,073,741,824 bytes.*max_bytes"):
            nn.load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 50_000_000
    assert _unchanged(model, before)


def test_a_bare_load_under_the_limit_works_and_the_limit_can_be_raised(tmp_path):
    path = tmp_path / "w.npz"
    nn.save({"w": np.ones(1000)}, path)
    assert nn.load(path)["w"].shape == (1000,)
    with pytest.raises(ValueError, match="more than 100 bytes"):
        nn.load(path, max_bytes=100)
    assert nn.load(path, max_bytes=8000)["w"].sum() == 1000


@pytest.mark.parametrize("dtype", ["<c16", "|O", "<U3", "<i8", "|b1"])
def test_a_bare_load_refuses_entries_that_are_not_real_floats(tmp_path, dtype):
    path = tmp_path / "w.npz"
    _npz_claiming(path, {"w": ((3,), dtype)})
    with pytest.raises(ValueError, match="'w' .* weights must be real floating-point numbers"):
        nn.load(path)


def test_save_refuses_an_object_array_instead_of_pickling_it(tmp_path):
    with pytest.raises(ValueError, match="'evil' holds Python objects"):
        nn.save({"evil": np.array([{"a": 1}], dtype=object)}, tmp_path / "w.npz")
    with pytest.raises(ValueError, match="'z' holds complex"):
        nn.save({"z": np.ones(2, dtype=complex)}, tmp_path / "w.npz")
    assert list(tmp_path.iterdir()) == []


def _write_model(path):
    return _model().save(path)


def _write_state(path):
    return nn.save(_model().state_dict(), path)


def _write_drawing(path):
    x = Value(2.0, name="x")
    y = x * x
    y.backward()
    return viz.draw(y, path, engine="builtin")


def _write_drawing_object(path):
    x = Value(2.0, name="x")
    return viz.draw(x * x, engine="builtin").save(path)


def _write_page(path):
    x = Value(2.0, name="x")
    y = x * x
    y.backward()
    return viz.animate(y, path)


def _write_plot(path):
    from chaingrad.viz import plots

    return plots.plot_function(np.tanh, None, path, points=11)


WRITERS = {
    "Module.save": (_write_model, "w.npz"),
    "nn.save": (_write_state, "w.npz"),
    "viz.draw": (_write_drawing, "g.svg"),
    "Drawing.save": (_write_drawing_object, "g.svg"),
    "viz.animate": (_write_page, "a.html"),
    "plots": (_write_plot, "p.svg"),
}


@pytest.mark.parametrize("writer", WRITERS)
def test_every_file_writer_follows_a_symbolic_link_to_its_target(tmp_path, writer):
    write, name = WRITERS[writer]
    target = tmp_path / "real" / name
    target.parent.mkdir()
    target.write_bytes(b"old")
    link = tmp_path / name
    link.symlink_to(target)
    write(link)
    assert link.is_symlink() and link.resolve() == target.resolve()
    assert target.read_bytes() != b"old"
    assert sorted(os.listdir(target.parent)) == [name]  # no temporary file left


@pytest.mark.parametrize("writer", WRITERS)
def test_every_file_writer_names_the_users_path_when_it_cannot_write(tmp_path, writer):
    write, name = WRITERS[writer]
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    path = blocker / name
    with pytest.raises(OSError) as caught:
        write(path)
    assert caught.value.filename == str(path)


# ---------------------------------------------------------------- 4. views of big graphs

from chaingrad.viz import dot as viz_dot  # noqa: E402
from chaingrad.viz import graph as viz_graph  # noqa: E402


def _chain(size):
    y = Value(1.0, name="x")
    w = Value(1.0001, name="w")
    for _ in range(size - 2):
        y = y * w
    y.backward()
    return y


def test_a_graph_over_the_limit_is_read_near_the_output_and_summarised():
    root = _chain(1000)
    graph = viz_graph.to_networkx(root, max_nodes=50)
    assert graph.number_of_nodes() == 51
    assert graph.graph["total"] == 1000 and graph.graph["earlier"] == 950
    box = graph.nodes[viz_graph.EARLIER]
    assert box["kind"] == "group" and box["count"] == 950 and box["name"] == "950 earlier nodes"
    assert sum(box["ops"].values()) == 950
    small = viz_graph.to_networkx(_chain(40), max_nodes=50)
    assert viz_graph.EARLIER not in small and "earlier" not in small.graph


def test_drawing_a_big_graph_says_so_in_the_picture(monkeypatch):
    monkeypatch.setattr(viz_graph, "MAX_NODES", 100)
    drawing = viz.draw(_chain(3000), engine="builtin")
    assert "3,000 nodes" in drawing.svg and "2,900 earlier nodes" in drawing.svg


def test_explain_and_show_print_a_bounded_summary_with_how_to_see_more():
    from rich.console import Console

    root = _chain(2000)
    console = Console(file=io.StringIO(), width=120)
    viz.explain(root, console=console, max_rows=20)
    text = console.file.getvalue()
    assert "more steps not shown" in text and "max_rows" in text
    assert len(text) < 20_000
    console = Console(file=io.StringIO(), width=120)
    viz.show(root, console=console)
    assert len(console.file.getvalue()) < 20_000


def test_animate_refuses_a_big_graph_at_once():
    with pytest.raises(ValueError, match="more than 500 nodes"):
        viz.animate(_chain(5000), "never-written.html")
    assert not os.path.exists("never-written.html")


def _fake_dot(tmp_path, body):
    folder = tmp_path / "bin"
    folder.mkdir()
    script = folder / "dot"
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(0o755)
    return folder


def test_a_slow_graphviz_is_killed_and_the_builtin_renderer_draws_instead(
        tmp_path, monkeypatch, capsys):
    import time

    pid_file = tmp_path / "dot.pid"
    folder = _fake_dot(tmp_path, f"echo $$ > {pid_file}\nexec sleep 60\n")
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setattr(viz_dot, "SECONDS", 0.5)
    x = Value(2.0, name="x")
    y = x * x
    y.backward()
    started = time.monotonic()
    drawing = viz.draw(y, engine="graphviz")
    assert time.monotonic() - started < 30
    assert "<svg" in drawing.svg
    note = capsys.readouterr().err.strip().splitlines()
    assert note == [
        "draw: Graphviz took longer than 0.5 s; drawn with the builtin renderer instead"]
    pid = int(pid_file.read_text())
    assert not os.path.exists(f"/proc/{pid}") or "zombie" in open(f"/proc/{pid}/status").read()


def test_a_failing_graphviz_falls_back_with_one_line(tmp_path, monkeypatch, capsys):
    folder = _fake_dot(tmp_path, "echo 'Error: syntax error in line 1' >&2\nexit 1\n")
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    x = Value(2.0, name="x")
    drawing = viz.draw(x * x, engine="graphviz")
    assert "<svg" in drawing.svg
    assert capsys.readouterr().err.strip() == (
        "draw: Graphviz failed (Error: syntax error in line 1); drawn with the builtin "
        "renderer instead")


def test_a_graph_too_big_for_graphviz_is_drawn_by_the_builtin_renderer(capsys):
    x = Value(1.01, name="x")
    y = x
    for _ in range(80):
        y = y * x
    drawing = viz.draw(y, engine="graphviz")
    assert "<svg" in drawing.svg
    assert "more than Graphviz lays out quickly" in capsys.readouterr().err


# ---------------------------------------------------------------- 5. inputs that are not right

from chaingrad.autograd import OpError, gradcheck  # noqa: E402

REDUCTIONS = ("sum", "mean", "max", "min", "var")


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("axis", [5, -3, (0, 5), "a", ("a",), 1.5, [None]])
def test_every_reduction_refuses_a_bad_axis_with_a_sentence(reduction, axis):
    t = Tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises((OpError, TypeError), match=rf"^{reduction}: axis"):
        getattr(t, reduction)(axis=axis)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("axis", [None, 0, -1, (0, 1), np.int64(1)])
def test_every_reduction_still_takes_good_axes(reduction, axis):
    out = getattr(Tensor(np.arange(6.0).reshape(2, 3)), reduction)(axis=axis)
    expected = getattr(np, reduction)(np.arange(6.0).reshape(2, 3), axis=axis)
    assert np.allclose(out.data, expected)


RAW_MESSAGES = {
    "reshape('abc')": (lambda: Tensor(np.ones(3)).reshape("abc"), "reshape: the new shape"),
    "Value backward([1, 2])": (lambda: (Value(1.0) * 2).backward([1, 2]),
                               "backward: grad must be a single number"),
    "Value backward('abc')": (lambda: (Value(1.0) * 2).backward("abc"),
                              "backward: grad must be a single number"),
    "Tensor backward('abc')": (lambda: (Tensor([1.0], requires_grad=True) * 2).backward("abc"),
                               "backward: grad must be numbers shaped like"),
    "grad(3.0, x)": (lambda: grad(3.0, Value(1.0)), "grad: outputs must be Values or Tensors"),
    "grad(f, [x, 2.0])": (lambda: grad(Value(1.0) * 2, [Value(1.0), 2.0]),
                          "grad: inputs must be .* at position 1"),
    "gradcheck(f, [1.0])": (lambda: gradcheck(lambda x: x * 2, [1.0]),
                            "gradcheck: inputs must be Values or Tensors"),
    "ragged Tensor": (lambda: Tensor([[1, 2], [3]]), "Tensor: the rows have different lengths"),
    "Value(2 ** 1100)": (lambda: Value(2**1100), "Value: a number of 332 digits is too large"),
    "len(Tensor(3.0))": (lambda: len(Tensor(3.0)), r"len\(\) of a 0-d tensor"),
    "a broadcast too big for memory": (
        lambda: Tensor(np.ones((300_000, 1))) + Tensor(np.ones((1, 300_000))),
        r"add: the result for shapes \(300000, 1\) and \(1, 300000\) would not fit in memory"),
    "lr=inf": (lambda: nn.optim.SGD(nn.Linear(2, 1).parameters(), lr=float("inf")),
               "SGD: lr must be a finite number"),
    "lr=nan": (lambda: nn.optim.Adam(nn.Linear(2, 1).parameters(), lr=float("nan")),
               "Adam: lr must be a finite number"),
    "bce above 1": (lambda: nn.losses.bce(Tensor([1.5, 0.5]), Tensor([1.0, 0.0])),
                    r"bce: the predictions must be probabilities in \[0, 1\], got 1.5"),
    "bce below 0 on Values": (lambda: nn.losses.bce([Value(-0.2)], [0]),
                              "bce: the predictions must be probabilities"),
    "bce nan": (lambda: nn.losses.bce(Tensor([np.nan]), Tensor([1.0])),
                "bce: the predictions must be probabilities"),
    "split(X, y, 0.8, 0.8)": (
        lambda: nn.data.train_val_test_split(np.ones((10, 2)), np.ones(10), 0.8, 0.8),
        "train_val_test_split: fractions is one argument"),
}


@pytest.mark.parametrize("case", RAW_MESSAGES)
def test_raw_messages_became_sentences(case):
    action, sentence = RAW_MESSAGES[case]
    with pytest.raises(Exception) as caught:
        action()
    assert caught.type.__module__ != "builtins" or caught.type in (
        TypeError, ValueError, OverflowError)
    assert __import__("re").search(sentence, str(caught.value)), str(caught.value)


def _compiled(loss="mse"):
    model = nn.Sequential(nn.Linear(2, 1))
    model.compile(loss=loss)
    return model


FIT_MISTAKES = {
    "string X": (dict(X=np.array([["a", "b"]]), y=np.array([[1.0]])), "fit: X must hold numbers"),
    "seed='abc'": (dict(X=np.ones((4, 2)), y=np.ones((4, 1)), seed="abc"),
                   "fit: seed must be a whole number"),
}


@pytest.mark.parametrize("case", FIT_MISTAKES)
def test_fit_mistakes_are_sentences(case):
    options, sentence = FIT_MISTAKES[case]
    with pytest.raises(ValueError, match=sentence):
        _compiled().fit(verbose=0, **options)


def test_a_loss_that_returns_a_float_is_named():
    model = _compiled(loss=lambda prediction, target: 1.0)
    with pytest.raises(TypeError, match="fit: the loss <lambda> returned float 1.0"):
        model.fit(np.ones((4, 2)), np.ones((4, 1)), verbose=0)


def test_bce_still_takes_the_ends_of_the_interval():
    loss = nn.losses.bce(Tensor([0.0, 1.0, 0.5]), Tensor([0.0, 1.0, 1.0]))
    assert np.isfinite(loss.data)


# ---------------------------------------------------------------- 5. the command line

from chaingrad.cli import main as cli_main  # noqa: E402

CLI_REFUSALS = {
    "30,000 powers": (["x" + "**x" * 30_000, "x=1"], "has 90,001 characters; at most 1,000"),
    "301 products": (["*".join(["x"] * 302), "x=1"], "has 301 operators; at most 300"),
    "60 brackets": (["(" * 60 + "x" + ")" * 60, "x=1"], "nested 60 deep; at most 50"),
    "a constant that overflows": (["1e400*x", "x=1"], "constant is too large for a float"),
    "a value given twice": (["x*y", "x=1", "x=2", "y=3"], "x is given twice"),
}


@pytest.mark.parametrize("case", CLI_REFUSALS)
def test_the_draw_command_bounds_its_input_in_one_short_sentence(case, tmp_path, capsys):
    arguments, sentence = CLI_REFUSALS[case]
    code = cli_main(["draw", *arguments, "-o", str(tmp_path / "f.svg")])
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and len(err) < 300
    assert __import__("re").search(sentence, err), err
    assert not (tmp_path / "f.svg").exists()


@pytest.mark.parametrize(("expression", "value"), [("-x", -2.0), ("--x", 2.0), ("-x*-x", 4.0)])
def test_expressions_starting_with_a_minus_are_drawn(expression, value, tmp_path, capsys):
    code = cli_main(["draw", expression, "x=2", "-o", str(tmp_path / "f.svg"),
                     "--engine", "builtin"])
    assert code == 0, capsys.readouterr().err
    assert f"f = {value:g};" in capsys.readouterr().out


# ---------------------------------------------------------------- 5. names for display

import xml.etree.ElementTree as ElementTree  # noqa: E402

HOSTILE_NAMES = ["a\x00b", "a\x1b[31mred", "a\x0cb\x08", "\ud800", "n\\N\\G\\L\\l\\E",
                 "w" * 100_000, "<script>&\"'"]


def _named_graph(name):
    x = Value(2.0, name=name)
    y = x * Value(3.0, name="three")
    y.name = name
    y.backward()
    return y


@pytest.mark.parametrize("name", HOSTILE_NAMES, ids=range(len(HOSTILE_NAMES)))
@pytest.mark.parametrize("engine", ["builtin", "graphviz"])
def test_hostile_names_give_valid_pictures_on_every_engine(name, engine, capsys):
    drawing = viz.draw(_named_graph(name), engine=engine)
    ElementTree.fromstring(drawing.svg.encode("utf-8"))  # well-formed XML
    assert "\x1b" not in drawing.svg and len(drawing.svg) < 200_000
    if name.startswith("n\\N"):  # Graphviz did not put the node's id or a line break there
        shown = "n\\N\\G\\L\\l\\E" if engine == "builtin" else "n⧵N⧵G⧵L⧵l⧵E"
        assert shown in drawing.svg
    assert capsys.readouterr().err == ""  # Graphviz did not fail and fall back


@pytest.mark.parametrize("name", HOSTILE_NAMES, ids=range(len(HOSTILE_NAMES)))
def test_hostile_names_reach_the_terminal_as_visible_text(name):
    from rich.console import Console

    for view in (viz.show, viz.explain):
        console = Console(file=io.StringIO(), width=100)
        view(_named_graph(name), console=console)
        text = console.file.getvalue()
        text.encode("utf-8")  # no lone surrogate left
        assert not any(ord(c) < 32 and c != "\n" for c in text)
        assert len(text) < 20_000


def test_the_display_name_is_made_in_one_place():
    show = viz_graph.display_name
    assert show("a\x00b") == "a\\x00b" and show("\ud800") == "\\ud800"
    assert show("x\\N") == "x\\N" and len(show("w" * 100_000)) == viz_graph.MAX_NAME
    assert show("L1.N3.w0") == "L1.N3.w0" and show("α β") == "α β"


# ---------------------------------------------------------------- 5. lessons under stress

import subprocess  # noqa: E402
import sys  # noqa: E402
import types  # noqa: E402


def test_ctrl_c_during_start_up_is_one_sentence(monkeypatch, capsys):
    import chaingrad.lessons.__main__ as lessons_main

    def interrupted():
        raise KeyboardInterrupt

    monkeypatch.setattr(lessons_main, "find_lessons", interrupted)
    assert cli_main(["lessons", "1"]) == 130
    err = capsys.readouterr().err
    assert err == "chaingrad lessons: interrupted\n"


def test_a_full_disk_in_a_lesson_is_one_sentence(tmp_path, capsys):
    from rich.console import Console

    from chaingrad.lessons.runner import Entry, Lesson, play

    def run(lesson):
        raise OSError(28, "No space left on device", str(tmp_path / "01_graph.svg"))

    module = types.SimpleNamespace(TITLE="full disk", MINUTES=1, run=run)
    entry = Entry(1, "fake", module=module)
    console = Console(file=io.StringIO(), width=100)
    code = play(entry, Lesson(1, "full disk", tmp_path, True, console))
    text = " ".join(console.file.getvalue().split())
    assert code == 1
    assert "could not write" in text and "No space left on device" in text
    assert "Traceback" not in text and "╭" not in text.split("Lesson 1")[-1]


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize("command", [["-m", "chaingrad", "lessons"],
                                     ["-m", "chaingrad.lessons"]])
def test_stdout_on_a_full_device_is_one_sentence_and_a_failure(command):
    with open("/dev/full", "w") as full:
        done = subprocess.run([sys.executable, *command], stdout=full, stderr=subprocess.PIPE,
                              text=True, timeout=120)
    assert done.returncode != 0
    assert "Traceback" not in done.stderr and "Exception ignored" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_create_graph_names_the_op_whose_derivative_failed():
    x = Value(0.0)
    with pytest.raises(OpError, match=r"^sqrt: its derivative has no finite value here"):
        grad(x.sqrt(), x, create_graph=True)


# -- one policy for numbers that leave an op's domain: the sentence, on both front-ends

import re  # noqa: E402
import warnings  # noqa: E402

from chaingrad.autograd import Op  # noqa: E402

LEAVING_THE_DOMAIN = [
    ("div", lambda x: x / 0, 1.0, "division by zero"),
    ("log", lambda x: x.log(), -1.0, "only for positive numbers"),
    ("sqrt", lambda x: x.sqrt(), -4.0, "only for numbers >= 0"),
    ("exp", lambda x: x.exp(), 1000.0, "too large for a float"),
    ("pow_constant", lambda x: x**0.5, -4.0, "is not a real number"),
    ("pow_constant", lambda x: x**-1, 0.0, "divides by zero"),
    ("pow", lambda x: x ** type(x)(0.5), -4.0, "is not a real number"),
    ("pow", lambda x: x ** type(x)(-1.0), 0.0, "divides by zero"),
]


@pytest.mark.parametrize("front", ["Value", "Tensor"])
@pytest.mark.parametrize("op, compute, bad, words", LEAVING_THE_DOMAIN,
                         ids=[f"{case[0]}-{case[2]}" for case in LEAVING_THE_DOMAIN])
def test_leaving_an_ops_domain_is_the_same_sentence_on_both_front_ends(
        front, op, compute, bad, words):
    x = Value(bad) if front == "Value" else Tensor([2.0, bad, bad], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy's RuntimeWarning must not leak out instead
        with pytest.raises(OpError, match=f"^{op}: .*{re.escape(words)}") as caught:
            compute(x)
    if front == "Tensor":  # which element, and how many of them
        assert re.search(r"\(at index \(\d,\), [23] of 3 elements\)$", str(caught.value))


def test_every_op_that_can_leave_its_domain_says_so():
    assert {name for name, op in Op.registry.items() if op.leaves_domain} >= {
        "div", "log", "sqrt", "exp", "pow", "pow_constant"}


def test_nan_and_infinity_given_as_input_pass_through():
    mask = Tensor([0.0, -np.inf])  # an attention mask: -inf forbids a pair
    scores = Tensor([1.0, 2.0], requires_grad=True)
    weights = (scores + mask).exp()
    assert weights.data[1] == 0.0 and weights.data[0] == pytest.approx(np.e)
    assert np.isnan((Tensor([np.nan]) / 2).data[0])
