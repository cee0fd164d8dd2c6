"""capture: a step recorded once and replayed equals eager bit for bit, and is never stale."""

from __future__ import annotations

import copy
import gc
import importlib
import tracemalloc

import numpy as np
import pytest

from chaingrad import Tensor, capture, nn
from chaingrad.autograd import CaptureError
from chaingrad.nn import losses
from chaingrad.nn.models import DigitsCNN, SequenceModel


def _moons_model(seed=0):
    nn.manual_seed(seed)
    return nn.MLP(2, [16, 16, 1], activation="tanh")


def _batch(rng, n=32):
    x = rng.normal(size=(n, 2))
    return x, (x[:, :1] * x[:, 1:] > 0).astype(float)


def _eager_step(model, x, t):
    loss = losses.bce_with_logits(model(x), t)
    loss.backward()
    return loss.data


@pytest.mark.parametrize("optimizer", [nn.optim.SGD, nn.optim.Adam])
def test_replayed_steps_equal_eager_steps_bit_for_bit_over_100_steps(optimizer):
    eager_model = _moons_model()
    model = copy.deepcopy(eager_model)
    eager_opt = optimizer(eager_model.parameters(), lr=0.05)
    opt = optimizer(model.parameters(), lr=0.05)
    rng = np.random.default_rng(1)
    step = capture(lambda x, t: losses.bce_with_logits(model(x), t), *_batch(rng))
    for _ in range(100):
        x, t = _batch(rng)
        eager_opt.zero_grad()
        expected = _eager_step(eager_model, x, t)
        eager_opt.step()
        opt.zero_grad()
        loss = step(x, t)
        for p, q in zip(model.parameters(), eager_model.parameters()):
            assert np.array_equal(p.grad, q.grad)
        opt.step()
        assert loss.tobytes() == expected.tobytes()
    for p, q in zip(model.parameters(), eager_model.parameters()):
        assert np.array_equal(p.data, q.data)
    assert step.captures == 1 and step.replays == 100


def test_a_replay_adds_into_existing_grad_as_backward_does():
    model, twin = _moons_model(), _moons_model()
    rng = np.random.default_rng(2)
    x, t = _batch(rng)
    step = capture(lambda x, t: losses.bce_with_logits(model(x), t), x, t)
    for p in model.parameters():
        assert p.grad is None  # capturing leaves .grad alone
    step(x, t)
    step(x, t)  # no zero_grad: the second gradient is added, as eager backward() does
    for _ in range(2):
        losses.bce_with_logits(twin(x), t).backward()
    for p, q in zip(model.parameters(), twin.parameters()):
        assert np.array_equal(p.grad, q.grad)


def test_a_new_batch_shape_captures_a_second_program_and_keeps_the_first():
    model = _moons_model()
    rng = np.random.default_rng(3)
    step = capture(lambda x, t: losses.bce_with_logits(model(x), t), *_batch(rng))
    step(*_batch(rng, 8))  # fit's smaller last batch
    step(*_batch(rng, 32))
    assert step.captures == 2 and len(step.programs) == 2
    assert "new input shapes" in step.reasons[0]
    x, t = _batch(rng, 8)
    twin = copy.deepcopy(model)
    for p in model.parameters():
        p.grad = None
    loss = step(x, t)
    assert loss == _eager_step(twin, x, t)


def test_a_decision_on_a_value_is_a_guard_and_a_changed_decision_captures_again():
    w = Tensor([1.0, -2.0], requires_grad=True, name="w")

    def f(x):
        s = (x * w).sum()
        if s > 0:  # a Python `if` on a value: replay cannot see which way it goes
            return s * s
        return -s

    step = capture(f, np.array([3.0, 1.0]))  # s = 1 > 0: the program is s * s
    assert "pow" not in step.code and "mul" in step.code
    w.grad = None
    loss = step(np.array([1.0, 1.0]))  # s = -1: the other branch, -s
    assert loss == 1.0 and np.array_equal(w.grad, [-1.0, -1.0])
    assert step.captures == 2 and "a decision changed" in step.reasons[-1]
    assert "neg" in step.code


def test_a_decision_through_item_is_checked_too():
    w = Tensor([2.0], requires_grad=True)

    def f(x):
        y = (x * w).sum()
        return y * 3 if y.item() > 1 else y

    step = capture(f, np.array([1.0]))
    assert step(np.array([0.1])) == pytest.approx(0.2)
    assert step.captures == 2


def test_dropout_masks_are_refused_not_replayed():
    nn.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 8), nn.Dropout(0.5), nn.Linear(8, 1))
    x, t = _batch(np.random.default_rng(4))
    with pytest.raises(CaptureError, match="changes from call to call.*dropout"):
        capture(lambda x, t: losses.mse(model(x), t), x, t)
    model.eval()  # no mask: nothing random left to replay
    step = capture(lambda x, t: losses.mse(model(x), t), x, t)
    assert step.captures == 1


def test_a_frozen_first_layer_is_refused_with_a_sentence_that_names_it():
    nn.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1))
    for p in model.layers[0].parameters():  # frozen: its ops record no graph
        p.requires_grad = False
    x, t = _batch(np.random.default_rng(4))
    with pytest.raises(CaptureError, match="changes from call to call.*frozen"):
        capture(lambda x, t: losses.mse(model(x), t), x, t)


def test_values_that_leave_the_graph_are_refused():
    w = Tensor(np.ones(3), requires_grad=True)

    def f(x):
        h = x * w
        scale = h.data.max()  # numpy on a value of the graph: a replay could not follow it
        return (h / scale).sum()

    with pytest.raises(CaptureError, match=r"reads the values of the result of 'mul' \(.data"):
        capture(f, np.arange(3.0))


def test_a_constant_from_numpy_on_the_inputs_is_refused():
    w = Tensor(np.ones(3), requires_grad=True)
    with pytest.raises(CaptureError, match="changes from call to call"):
        capture(lambda x: (w * (x - x.mean())).sum(), np.array([1.0, 2.0, 4.0]))


def test_a_global_changed_between_calls_is_caught_by_the_periodic_check():
    w = Tensor(np.ones(2), requires_grad=True)
    scale = {"value": 2.0}
    step = capture(lambda x: (w * x * scale["value"]).sum(), np.ones(2), check_every=5)
    for _ in range(3):
        step(np.ones(2))
    scale["value"] = 3.0
    with pytest.raises(CaptureError, match="no longer gives the program"):
        for _ in range(5):
            step(np.ones(2))


def test_the_periodic_check_traces_fn_without_changing_the_tensor_class():
    # Watching conversions wraps Tensor's methods; the check compares graphs only, and a
    # changed class makes Python drop the fast paths it learned for every replay after it.
    original = Tensor.__dict__["data"]
    w = Tensor(np.ones(2), requires_grad=True)
    seen = []

    def fn(x):
        seen.append(Tensor.__dict__["data"])
        return (w * x).sum()

    step = capture(fn, np.ones(2), check_every=2)
    seen.clear()
    step(np.ones(2))
    step(np.ones(2))  # the second call is checked: fn runs once more
    assert len(seen) == 1 and seen[0] is original


def test_a_parameter_frozen_after_capture_is_caught_by_the_periodic_check():
    w, b = Tensor(np.ones(2), requires_grad=True), Tensor(np.ones(2), requires_grad=True)
    step = capture(lambda x: (w * x + b).sum(), np.ones(2), check_every=2)
    step(np.ones(2))
    b.requires_grad = False  # eager would give b no gradient from now on
    with pytest.raises(CaptureError, match="a layer frozen"):
        step(np.ones(2))


def test_recheck_captures_again_only_when_fn_gives_another_program():
    w, b = Tensor(np.ones(2), requires_grad=True), Tensor(np.ones(2), requires_grad=True)
    step = capture(lambda x: (w * x + b).sum(), np.ones(2), check_every=0)
    step.recheck()
    step(np.ones(2))
    assert step.captures == 1  # nothing changed: the program stays
    w.grad = b.grad = None
    b.requires_grad = False
    step.recheck()
    step(np.array([2.0, 3.0]))
    assert step.captures == 2 and "recheck" in step.reasons[-1]
    assert b.grad is None and np.array_equal(w.grad, [2.0, 3.0])


def test_an_array_among_an_ops_parameters_rebound_between_calls_is_caught_too():
    from chaingrad import where

    w = Tensor(np.ones(3), requires_grad=True)
    settings = {"mask": np.array([True, False, True])}
    step = capture(lambda x: where(settings["mask"], w * x, -w * x).sum(), np.ones(3),
                   check_every=3)
    step(np.ones(3))
    settings["mask"] = np.array([False, False, True])
    with pytest.raises(CaptureError, match="no longer gives the program"):
        for _ in range(3):
            step(np.ones(3))


def test_a_constant_changed_in_place_outside_fn_is_caught_by_the_periodic_check():
    w = Tensor(np.ones(2), requires_grad=True)
    offset = np.array([1.0, 2.0])
    step = capture(lambda x: (w * x + Tensor(offset)).sum(), np.ones(2), check_every=2)
    offset[:] = [10.0, 20.0]  # Tensor(offset) copies: eager now sees 10 and 20
    with pytest.raises(CaptureError, match="no longer gives the program"):
        for _ in range(2):
            step(np.ones(2))


def test_targets_reshaped_and_cast_by_the_loss_follow_the_inputs():
    nn.manual_seed(1)
    model = nn.Linear(3, 4)
    rng = np.random.default_rng(5)
    x, labels = rng.normal(size=(6, 3)), rng.integers(0, 4, size=6).astype(float)
    step = capture(lambda x, y: losses.cross_entropy(model(x), y), x, labels)
    twin = copy.deepcopy(model)
    x, labels = rng.normal(size=(6, 3)), rng.integers(0, 4, size=6).astype(float)
    loss = step(x, labels)
    expected = losses.cross_entropy(twin(x), labels)
    expected.backward()
    assert loss == expected.data
    assert np.array_equal(model.W.grad if hasattr(model, "W") else model.parameters()[0].grad,
                          twin.parameters()[0].grad)


def test_bad_inputs_and_results_get_a_sentence():
    w = Tensor(np.ones(2), requires_grad=True)
    with pytest.raises(CaptureError, match="input 0 is a list"):
        capture(lambda x: (w * x).sum(), [1.0, 2.0])
    with pytest.raises(CaptureError, match="has shape \\(2,\\)"):
        capture(lambda x: w * x, np.ones(2))
    with pytest.raises(CaptureError, match="must return a loss Tensor"):
        capture(lambda x: 3.0, np.ones(2))
    with pytest.raises(CaptureError, match="no op that needs a gradient"):
        capture(lambda x: Tensor(x).sum(), np.ones(2))


def test_replays_allocate_no_more_than_eager_and_nothing_accumulates():
    model = _moons_model()
    rng = np.random.default_rng(6)
    x, t = _batch(rng)
    # check_every=0: the periodic fresh capture is an eager step of its own, measured apart
    step = capture(lambda x, t: losses.bce_with_logits(model(x), t), x, t, check_every=0)

    def peak(run, times):
        gc.collect()
        tracemalloc.start()
        for _ in range(10):  # warm: caches and the step's bookkeeping reach their size
            run()
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(times):
            for p in model.parameters():
                p.grad = None
            run()
        gc.collect()
        now, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return now - before, top - before

    grown, replay_peak = peak(lambda: step(x, t), 50)
    _, eager_peak = peak(lambda: _eager_step(model, x, t), 50)
    assert grown < 4096  # the program's lists are reused: 50 replays leave nothing behind
    assert replay_peak < eager_peak


# ---------------------------------------------------------------- the program, readable


def test_print_shows_the_program_as_numpy_with_each_ops_formula():
    model = _moons_model()
    x, t = _batch(np.random.default_rng(7))
    step = capture(lambda x, t: losses.bce_with_logits(model(x), t), x, t)
    lines = step.code.splitlines()
    assert "h1 = np.tanh(z1)  # tanh: f(x) = tanh x" in lines
    assert "dz1 = dh1 * (1 - h1 * h1)  # tanh': df/dx = 1 - tanh(x)**2" in lines
    assert "z1 = x @ L1_W + L1_b  # linear: f(x, W, b) = x @ W + b" in lines
    assert lines[0] == "# inputs x (32, 2), t (32, 1); float64"
    assert any(len(line) > 79 for line in lines)  # the loss's formula is long
    printed = str(step).splitlines()  # print keeps to 79 columns, shortening comments
    assert len(printed) == len(lines) and max(map(len, printed)) <= 79
    assert "h1 = np.tanh(z1)  # tanh: f(x) = tanh x" in printed


def test_the_printed_program_runs_and_gives_the_replayed_gradients():
    model = _moons_model()
    x, t = _batch(np.random.default_rng(8))
    step = capture(lambda x, t: losses.bce_with_logits(model(x), t), x, t)
    namespace = {"np": np, "x": x, "t": t}
    namespace.update({p.name.replace(".", "_"): p.data for p in model.parameters()})
    exec(step.code, namespace)  # straight-line numpy: nothing else is needed
    loss = step(x, t)
    assert namespace["loss1"] == pytest.approx(float(loss), rel=1e-12)
    for p in model.parameters():
        np.testing.assert_allclose(namespace["d" + p.name.replace(".", "_")], p.grad, rtol=1e-10)


def test_an_op_without_a_template_prints_a_call_to_its_rule():
    nn.manual_seed(2)
    model = DigitsCNN(channels=(2, 3), hidden=8)
    x = np.random.default_rng(9).normal(size=(4, 64))
    labels = np.array([1.0, 2.0, 3.0, 0.0])
    step = capture(lambda x, y: losses.cross_entropy(model(x), y), x, labels)
    assert "Conv2d.forward(" in step.code and "Conv2d.backward(" in step.code


def test_viz_draws_the_captured_program():
    from chaingrad import viz

    model = _moons_model()
    x, t = _batch(np.random.default_rng(10))
    step = capture(lambda x, t: losses.bce_with_logits(model(x), t), x, t)
    step(x, t)
    graph = viz.to_networkx(step.graph())
    names = {data["name"] for _, data in graph.nodes(data=True)}
    assert {"x", "t", "L1_W", "z1", "h1", "loss1"} <= names
    assert graph.number_of_nodes() == 14  # 6 ops, 2 inputs, 6 parameters
    assert "<svg" in str(viz.draw(step.graph(), engine="builtin")._repr_svg_())


# ---------------------------------------------------------------- equality on the course's nets


def _same_as_eager(build, make_batch, loss_fn, steps=100, lr=0.05, optimizer=nn.optim.SGD):
    """Train two copies, one eager and one captured; every step must agree bit for bit."""
    eager_model = build()
    model = copy.deepcopy(eager_model)
    eager_opt = optimizer(eager_model.parameters(), lr=lr)
    opt = optimizer(model.parameters(), lr=lr)
    rng = np.random.default_rng(11)
    step = capture(lambda *b: loss_fn(model, *b), *make_batch(rng))
    for _ in range(steps):
        batch = make_batch(rng)
        eager_opt.zero_grad()
        expected = loss_fn(eager_model, *batch)
        expected.backward()
        eager_opt.step()
        opt.zero_grad()
        loss = step(*batch)
        assert loss.tobytes() == expected.data.tobytes()
        opt.step()
    for (name, p), q in zip(model.named_parameters(), eager_model.parameters()):
        assert np.array_equal(p.data, q.data), name
    assert step.captures == 1
    return step


def test_a_relu_mlp_in_float32_equals_eager():
    def build():
        nn.manual_seed(3)
        return nn.MLP(784, [64, 32, 10], activation="relu")

    def batch(rng):
        return (rng.normal(size=(16, 784)).astype(np.float32),
                rng.integers(0, 10, 16).astype(np.float32))

    _same_as_eager(build, batch, lambda m, x, y: losses.cross_entropy(m(Tensor(x)), y), steps=30,
                   optimizer=nn.optim.Adam, lr=0.01)


def test_the_digits_cnn_equals_eager():
    def build():
        nn.manual_seed(4)
        return DigitsCNN(channels=(4, 8), hidden=16)

    def batch(rng):
        return rng.normal(size=(8, 64)), rng.integers(0, 10, 8).astype(float)

    _same_as_eager(build, batch, lambda m, x, y: losses.cross_entropy(m(x), y), steps=100)


def test_an_rnn_over_a_fixed_length_equals_eager():
    def build():
        nn.manual_seed(5)
        return SequenceModel(nn.RNN(3, 8), 1, last_only=True)

    def batch(rng):
        x = rng.normal(size=(4, 6, 3))
        return x, x.sum(axis=(1, 2)).reshape(-1, 1)

    _same_as_eager(build, batch, lambda m, x, y: losses.mse(m(x), y), steps=100, lr=0.01)


def test_the_tiny_transformer_equals_eager():
    def build():
        nn.manual_seed(6)
        return nn.TransformerLM(vocab_size=7, context=5, dim=8, num_heads=2, num_layers=1)

    def batch(rng):
        tokens = rng.integers(0, 7, size=(3, 6))
        return tokens[:, :5], tokens[:, 1:].reshape(-1).astype(float)

    def loss_fn(m, tokens, targets):
        return losses.cross_entropy(m(tokens).reshape(-1, 7), targets)

    _same_as_eager(build, batch, loss_fn, steps=100, lr=0.01, optimizer=nn.optim.Adam)


# ---------------------------------------------------------------- every op in the registry


from test_ops import OPS, SECOND, _fixed_inputs, _ids, _run  # noqa: E402


@pytest.mark.parametrize(("name", "case"), SECOND, ids=_ids(SECOND))
def test_every_tensor_op_in_the_registry_can_be_captured(name, case):
    inputs = _fixed_inputs(name, case, np.float64)
    weights = np.random.default_rng(12).standard_normal(_run(name, case, *inputs).shape)
    step = capture(lambda *xs: (_run(name, case, *xs) * weights).sum(), *inputs)
    others = [Tensor(x.data * 0.97 + 0.01, requires_grad=True) for x in inputs]
    twins = [Tensor(x.data, requires_grad=True) for x in others]
    loss = step(*others)
    expected = (_run(name, case, *twins) * weights).sum()
    expected.backward()
    assert loss.tobytes() == expected.data.tobytes()
    for mine, theirs in zip(others, twins):
        assert np.array_equal(mine.grad, theirs.grad)


def test_ops_on_values_only_are_refused_with_the_reason():
    from chaingrad import Value

    values_only = [name for name, op in OPS.items() if not op.on_tensors]
    assert values_only == ["dot"]
    with pytest.raises(CaptureError, match="is a Value; capture replays Tensor graphs"):
        capture(lambda w, x: OPS["dot"].apply(w, x), Value(1.0), Value(2.0))


# ---------------------------------------------------------------- fit(capture=True)


@pytest.mark.parametrize("metrics", [["accuracy"], []])
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_fit_with_capture_gives_the_same_history_and_weights_bit_for_bit(optimizer, metrics):
    X, y = nn.data.moons(200, noise=0.1, seed=0)
    runs = []
    for captured in (False, True):
        model = _moons_model(3)
        model.compile(loss="bce_with_logits", optimizer=optimizer, metrics=metrics)
        history = model.fit(X, y, epochs=3, batch_size=32, verbose=0, seed=1, capture=captured)
        runs.append((history, [p.data.copy() for p in model.parameters()]))
    (eager, eager_weights), (replayed, weights) = runs
    assert eager.history == replayed.history  # every epoch's loss and accuracy, exactly
    assert all(np.array_equal(a, b) for a, b in zip(eager_weights, weights))
    step = replayed.params["capture"]
    assert "capture" not in eager.params
    assert step.captures == 2  # batches of 32 and the last batch of 8 (200 = 6 * 32 + 8)
    assert "h1 = np.tanh(z1)" in str(step)


class _FreezeLastLayer(nn.Callback):
    def on_epoch_end(self, model, epoch, logs):
        if epoch == 0:
            for p in model.parameters()[-2:]:
                p.requires_grad = False


def test_fit_with_capture_follows_a_layer_frozen_by_a_callback_bit_for_bit():
    X, y = nn.data.moons(96, noise=0.1, seed=0)
    runs = []
    for captured in (False, True):
        model = _moons_model(4)
        model.compile(loss="bce_with_logits", optimizer="sgd")
        history = model.fit(X, y, epochs=3, verbose=0, seed=1, capture=captured,
                            callbacks=[_FreezeLastLayer()])
        runs.append((history.history, [p.data.copy() for p in model.parameters()]))
    (eager, eager_weights), (replayed, weights) = runs
    assert eager == replayed
    assert all(np.array_equal(a, b) for a, b in zip(eager_weights, weights))


def test_fit_checks_a_captured_step_every_100_steps_only_around_code_of_yours():
    class MySGD(nn.optim.SGD):
        pass

    class Counting(nn.Module):  # Python state a replay cannot see
        def __init__(self):
            self.calls = 0

        def forward(self, x):
            self.calls += 1
            return x

    def my_loss(z, t):
        return nn.losses.bce_with_logits(z, t)

    X, y = nn.data.moons(64, noise=0.1, seed=0)
    checks = []
    for optimizer, metrics, loss, extra in (
            ("sgd", ["accuracy"], "bce_with_logits", None), (None, [], "bce_with_logits", None),
            ("sgd", [lambda p, t: 0.0], "bce_with_logits", None), ("sgd", [], my_loss, None),
            ("sgd", [], "bce_with_logits", Counting())):
        model = _moons_model()
        if extra is not None:
            model = nn.Sequential(extra, model)
        model.compile(loss=loss, metrics=metrics,
                      optimizer=optimizer or MySGD(model.parameters(), lr=0.1))
        history = model.fit(X, y, epochs=1, verbose=0, capture=True)
        checks.append(history.params["capture"].check_every)
    assert checks == [0, 100, 100, 100, 100]


def test_fit_says_when_its_steps_are_captured(capsys):
    X, y = nn.data.moons(64, noise=0.1, seed=0)
    model = _moons_model()
    model.compile(loss="bce_with_logits", optimizer="sgd")
    model.fit(X, y, epochs=1, verbose=2, capture=True)
    assert "captured" in capsys.readouterr().out
    model.fit(X, y, epochs=1, verbose=2)
    assert "captured" not in capsys.readouterr().out


def test_fit_with_capture_refuses_dropout_and_scalar_networks():
    X, y = nn.data.moons(64, noise=0.1, seed=0)
    model = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Dropout(0.3), nn.Linear(8, 1))
    model.compile(loss="bce_with_logits", optimizer="sgd")
    with pytest.raises(CaptureError, match="dropout"):
        model.fit(X, y, epochs=1, verbose=0, capture=True)
    scalar = nn.scalar.MLP(2, [3, 1])
    scalar.compile(loss="mse", optimizer="sgd")
    with pytest.raises(ValueError, match="capture=True replays Tensor graphs"):
        scalar.fit(X[:4], y[:4], epochs=1, verbose=0, capture=True)


def test_batch_norm_in_training_mode_is_refused_and_captured_in_evaluation_mode():
    nn.manual_seed(7)
    model = nn.Sequential(nn.Linear(2, 4), nn.BatchNorm1d(4), nn.Linear(4, 1))
    x, t = _batch(np.random.default_rng(13))
    with pytest.raises(CaptureError, match=r"reads the values of .*\(\.data, at "):
        capture(lambda x, t: losses.mse(model(x), t), x, t)  # its running averages
    model.eval()
    assert capture(lambda x, t: losses.mse(model(x), t), x, t).captures == 1


def test_a_decision_that_changes_every_call_warns_once():
    from chaingrad.autograd.capture import CaptureWarning

    w = Tensor([2.0], requires_grad=True)

    def f(x):
        s = (x * w).sum()
        return s * 3 if s.item() > 1 else -s

    step = capture(f, np.array([1.0]))
    with pytest.warns(CaptureWarning, match="most calls had to capture again"):
        for value in [0.1, 1.0] * 6:  # the decision flips at every call
            step(np.array([value]))
    assert step.captures == 13


@pytest.mark.parametrize("values, warns", [
    ([0, 0, 1, 2, 3, 4, 5, 6, 7, 8], True),   # calls 3 to 10 capture: 8 of the last 10
    ([1, 2, 3, 4, 5, 6, 7, 7, 7, 7, 8, 9, 10, 11], False),  # never more than 7 of 10
    ([1, 2, 3, 4, 5, 6, 7, 8], False),  # 8 captures, but fewer than 10 calls yet
])
def test_the_warning_counts_captures_among_the_last_ten_calls(values, warns, recwarn):
    from chaingrad.autograd.capture import CaptureWarning

    w = Tensor([2.0], requires_grad=True)
    def f(x):
        s = (x * w).sum()
        return s if s.item() != 1234.5 else -s  # item(): a new number captures again

    step = capture(f, np.array([0.0]))
    for value in values:
        step(np.array([float(value)]))
    assert step.captures == 1 + len(set(values) - {0})
    assert any(w.category is CaptureWarning for w in recwarn) == warns


# ---------------------------------------------------------------- arrays kept between replays


def _mlp(activation, dtype=np.float64, sizes=(64, 32, 10), n_in=784):
    nn.manual_seed(3)
    model = nn.MLP(n_in, list(sizes), activation=activation)
    for p in model.parameters():
        p.data = p.data.astype(dtype)
    return model


def _classes(dtype, n=16, n_in=784, classes=10):
    def batch(rng):
        return rng.normal(size=(n, n_in)).astype(dtype), rng.integers(0, classes, n)
    return batch


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_the_kept_forms_equal_eager_bit_for_bit_in_float32_and_float64(activation, dtype):
    step = _same_as_eager(lambda: _mlp(activation, dtype), _classes(dtype),
                          lambda m, x, y: losses.cross_entropy(m(x), y), steps=100)
    assert step.program.kept > 0  # the program's own arrays, not the rules' fresh ones


def test_a_kept_form_that_differed_from_eager_would_not_be_used(monkeypatch):
    capture_module = importlib.import_module("chaingrad.autograd.capture")

    class WrongTanh(capture_module._Tanh):  # 1 - out instead of 1 - out**2
        @staticmethod
        def backward(out, ins, wanted, node, kept):
            grad = kept.new(f"G{out}_0", node.shape, node.dtype)
            return [f"    np.subtract(1, v{out}, {grad})",
                    f"    np.multiply(g{out}, {grad}, {grad})"], [grad]

    monkeypatch.setitem(capture_module._INTO, "tanh", WrongTanh)
    step = _same_as_eager(_moons_model, _batch,
                          lambda m, x, t: losses.bce_with_logits(m(x), t), steps=5)
    assert step.program.kept == 0  # checked against eager at capture, and left out


@pytest.mark.parametrize("activation,loss", [("relu", "cross_entropy"), ("tanh", "cross_entropy"),
                                             ("tanh", "bce_with_logits")])
def test_a_replay_after_warm_up_allocates_no_array_of_the_steps_size(activation, loss):
    outputs = 10 if loss == "cross_entropy" else 1
    model = _mlp(activation, sizes=(256, 256, outputs))
    rng = np.random.default_rng(8)
    x = rng.normal(size=(64, 784))
    y = rng.integers(0, 10, 64) if outputs == 10 else (rng.random((64, 1)) > 0.5).astype(float)
    loss_fn = getattr(losses, loss)
    step = capture(lambda x, y: loss_fn(model(x), y), x, y, check_every=0)
    optimizer = nn.optim.SGD(model.parameters(), lr=0.01)

    def held_and_peak(run):
        for _ in range(3):  # warm-up
            optimizer.zero_grad()
            run()
            optimizer.step()
        gc.collect()
        optimizer.zero_grad()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        run()
        now, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return now - before, peak - before

    layer = 64 * 256 * 8  # one hidden layer's values: 128 KiB; its weights' gradient 512 KiB
    held, peak = held_and_peak(lambda: step(x, y))
    # Every value and gradient is written into arrays made at capture. What remains is
    # small: a few (64,) arrays, the loss, and the buffer numpy's ufuncs use to broadcast
    # the bias (at most 8192 elements: 64 KiB), which eager's x @ W + b needs as well.
    assert peak < layer
    assert held < 4096  # the new .grad arrays are the kept ones: nothing new is held
    _, eager_peak = held_and_peak(lambda: loss_fn(model(x), y).backward())
    assert eager_peak > 10 * layer  # eager makes every value and gradient anew


def test_a_view_of_a_gradient_a_user_keeps_is_never_overwritten_either():
    # The replay watches only the arrays it hands out (the .grad ones); a view holds its
    # array through its base, so the array is still the user's.
    model = _moons_model()
    optimizer = nn.optim.SGD(model.parameters(), lr=0.1)
    rng = np.random.default_rng(6)
    step = capture(lambda x, t: losses.bce_with_logits(model(x), t), *_batch(rng))
    assert "WATCHED" in step.program.source  # the moons program hands out kept arrays
    step(*_batch(rng))
    views = [p.grad[:1] for p in model.parameters()]
    copies = [v.copy() for v in views]
    optimizer.step()
    for _ in range(3):
        optimizer.zero_grad()
        step(*_batch(rng))
        optimizer.step()
    assert all(np.array_equal(v, c) for v, c in zip(views, copies))


def test_arrays_a_user_keeps_are_never_overwritten_by_the_next_replay():
    model = _moons_model()
    rng = np.random.default_rng(9)

    def loss_and_output(x, t):
        output = model(x)
        return losses.bce_with_logits(output, t), output

    step = capture(loss_and_output, *_batch(rng))
    optimizer = nn.optim.SGD(model.parameters(), lr=0.1)
    optimizer.zero_grad()
    loss, output = step(*_batch(rng))
    grads = [p.grad for p in model.parameters()]
    copies = [g.copy() for g in grads], loss.copy(), output.copy()
    optimizer.step()
    for _ in range(3):  # the rule: whoever still holds an array keeps it as it was
        optimizer.zero_grad()
        step(*_batch(rng))
        optimizer.step()
    for g, p, kept in zip(grads, model.parameters(), copies[0]):
        assert np.array_equal(g, kept) and p.grad is not g
    assert np.array_equal(loss, copies[1]) and np.array_equal(output, copies[2])
    # without zero_grad, .grad holds the kept array: the next gradient is added, as eager
    before = [p.grad.copy() for p in model.parameters()]
    x, t = _batch(rng)
    step(x, t)
    twin = copy.deepcopy(model)
    for p in twin.parameters():
        p.grad = None
    losses.bce_with_logits(twin(x), t).backward()
    for p, q, b in zip(model.parameters(), twin.parameters(), before):
        assert np.array_equal(p.grad, b + q.grad)


def _small_float32_mlp_captured(seed):
    """A 4-8-3 float32 MLP's cross-entropy step captured with kept forms: model, x, y, step."""
    model = _mlp("relu", np.float32, sizes=(8, 3), n_in=4)
    rng = np.random.default_rng(seed)
    x, y = rng.normal(size=(5, 4)).astype(np.float32), rng.integers(0, 3, 5)
    step = capture(lambda x, y: losses.cross_entropy(model(x), y), x, y)
    assert step.program.kept > 0
    return model, x, y, step


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning")
def test_large_finite_values_whose_squares_overflow_replay_as_eager():
    # The kept linear checks the sum of the squares; 1e20 squared overflows float32, so
    # the check hands over to eager's own, which finds every value finite.
    model, x, y, step = _small_float32_mlp_captured(seed=13)
    large = np.abs(x) * np.float32(1e20)
    twin = copy.deepcopy(model)
    expected = losses.cross_entropy(twin(large), y)
    expected.backward()
    for p in model.parameters():
        p.grad = None
    loss = step(large, y)
    assert np.isfinite(expected.data) and loss.tobytes() == expected.data.tobytes()
    for p, q in zip(model.parameters(), twin.parameters()):
        assert np.array_equal(p.grad, q.grad)


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning", "ignore:invalid:RuntimeWarning")
def test_an_overflow_in_a_kept_form_raises_eagers_sentence():
    from chaingrad.autograd import OpError

    model, x, y, step = _small_float32_mlp_captured(seed=12)
    huge = np.full((5, 4), 3e38, dtype=np.float32)  # x @ W overflows float32
    with pytest.raises(OpError) as eager:
        losses.cross_entropy(model(huge), y)
    with pytest.raises(OpError) as replayed:
        step(huge, y)
    assert str(replayed.value) == str(eager.value) and "overflows" in str(eager.value)
