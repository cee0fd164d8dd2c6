"""(c) Training a small model end to end (issue 5): seconds for 100 epochs on moons.

A 2-16-16-1 MLP (tanh hidden, linear output), binary cross-entropy on the logit, plain
SGD (lr 0.1) or Adam (lr 0.01), 1,000 two-moons points, batch 32, reshuffled every epoch:
3,200 steps where per-step overhead, not arithmetic, decides. Systems: a hand-written
numpy loop (the floor, with the same optimizer written out), PyTorch eager, ours with a
manual loop (SGD only), ours with ``model.fit`` when nn has it, and ``model.fit(...,
capture=True)`` (issue 24: the step captured once and replayed).

A second table (issue 24) times one training step of bench_tensor's workloads, the MLP
784-256-128-10 at batch 32 in float32 and the convnet, beside the same numpy floor and
PyTorch eager: ours eager with nn.optim.SGD, ours eager with the update written by hand
(``p.data -= lr * p.grad``), and ours captured (``chaingrad.capture``) with nn.optim.SGD.
The floor scales each gradient in place before subtracting it, which an optimizer may not
do (``.grad`` is read after ``step()``); the row numpy-kept-grads is the same floor with an
update that keeps the gradients, as numpy alone writes it (lr * g into a kept scratch array,
then the subtraction), and its column compares with it. nn.optim.SGD updates in one pass
(BLAS's axpy), which numpy has no function for.
"""

from __future__ import annotations

import time

import numpy as np
from _harness import (
    Job,
    failures,
    format_table,
    load_torch,
    medians,
    moons,
    ratio,
    time_calls,
    verdict,
)

TITLE = "(c) training: 2-16-16-1 MLP, 1,000 moons, 100 epochs, batch 32 (seconds)"
SYSTEMS = ("numpy", "torch", "ours-loop", "ours-fit", "ours-fit-captured")
POINTS, EPOCHS, BATCH = 1000, 100, 32
LEARNING_RATES = {"sgd": 0.1, "adam": 0.01}
WORKLOADS = {"moons": "sgd", "moons-adam": "adam"}  # workload -> optimizer
TARGET = 1.5
TARGETS = {"ours-fit-captured": 1.2}  # issue 24; the other systems of ours: TARGET
STEP_WORKLOADS = ("step-mlp-32-float32", "step-conv")
STEP_SYSTEMS = ("numpy", "numpy-kept-grads", "torch", "ours", "ours-hand-update",
                "ours-captured")
STEP_TARGETS = {("step-mlp-32-float32", "ours-captured"): 1.05,
                ("step-conv", "ours-captured"): 1.1}


def plan(quick: bool) -> list[Job]:
    jobs = [Job("training", system, workload, 2 if quick else 5)
            for workload, optimizer in WORKLOADS.items() for system in SYSTEMS
            if not (system == "ours-loop" and optimizer != "sgd")]
    jobs += [Job("training", system, workload, 5 if quick else 15)
             for workload in STEP_WORKLOADS for system in STEP_SYSTEMS]
    return jobs


def _problem():
    X, y = moons(POINTS, noise=0.1, seed=2)
    generator = np.random.default_rng(3)
    weights = []
    for n_in, n_out in ((2, 16), (16, 16), (16, 1)):
        limit = np.sqrt(6 / (n_in + n_out))  # Glorot uniform, as nn.Linear's default
        weights += [generator.uniform(-limit, limit, (n_in, n_out)), np.zeros(n_out)]
    return X, y.reshape(-1, 1), weights


def _epoch_orders(seed: int = 4):
    """The same shuffles for every system that shuffles itself."""
    generator = np.random.default_rng(seed)
    return [generator.permutation(POINTS) for _ in range(EPOCHS)]


# ---------------------------------------------------------------- the systems


def _numpy_optimizer(optimizer):
    """SGD, or Adam with its moments kept between steps (PyTorch's defaults, lr 0.01)."""
    lr = LEARNING_RATES[optimizer]
    if optimizer == "sgd":
        def sgd(params, grads):
            for p, g in zip(params, grads):
                p -= lr * g
        return sgd
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    moments, step = {}, [0]

    def adam(params, grads):
        step[0] += 1
        t = step[0]
        for i, (p, g) in enumerate(zip(params, grads)):
            if i not in moments:
                moments[i] = (np.zeros_like(p), np.zeros_like(p))
            m, v = moments[i]
            m *= beta1
            m += (1 - beta1) * g
            v *= beta2
            v += (1 - beta2) * g * g
            p -= (lr / (1 - beta1**t)) * m / (np.sqrt(v) / np.sqrt(1 - beta2**t) + eps)
    return adam


def _numpy(optimizer):
    X, y, weights = _problem()
    orders = _epoch_orders()

    def train():
        W1, b1, W2, b2, W3, b3 = params = [w.copy() for w in weights]
        update = _numpy_optimizer(optimizer)
        losses = []
        for order in orders:
            total = 0.0
            for start in range(0, POINTS, BATCH):
                rows = order[start:start + BATCH]
                x, t = X[rows], y[rows]
                h1 = np.tanh(x @ W1 + b1)
                h2 = np.tanh(h1 @ W2 + b2)
                z = h2 @ W3 + b3
                total += float(np.mean(np.logaddexp(0, z) - t * z)) * len(rows)
                dz = (0.5 * (1 + np.tanh(0.5 * z)) - t) / len(rows)  # sigmoid(z) - t
                d2 = (dz @ W3.T) * (1 - h2 * h2)
                d1 = (d2 @ W2.T) * (1 - h1 * h1)
                grads = (x.T @ d1, d1.sum(0), h1.T @ d2, d2.sum(0), h2.T @ dz, dz.sum(0))
                update(params, grads)
            losses.append(total / POINTS)
        return losses[-1]

    return train, f"hand-written, {optimizer}"


def _torch(optimizer):
    torch = load_torch()
    X, y, weights = _problem()
    orders = [torch.from_numpy(order) for order in _epoch_orders()]
    inputs, targets = torch.from_numpy(X), torch.from_numpy(y)
    chosen = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam}[optimizer]

    def train():
        layers = []
        for W, b in zip(weights[::2], weights[1::2]):
            linear = torch.nn.Linear(*W.shape, dtype=torch.float64)
            with torch.no_grad():
                linear.weight.copy_(torch.from_numpy(W.T.copy()))
                linear.bias.copy_(torch.from_numpy(b))
            layers += [linear, torch.nn.Tanh()]
        model = torch.nn.Sequential(*layers[:-1])
        step_rule = chosen(model.parameters(), lr=LEARNING_RATES[optimizer])
        loss_fn = torch.nn.BCEWithLogitsLoss()
        for order in orders:
            total = 0.0
            for start in range(0, POINTS, BATCH):
                rows = order[start:start + BATCH]
                loss = loss_fn(model(inputs[rows]), targets[rows])
                step_rule.zero_grad()
                loss.backward()
                step_rule.step()
                total += loss.item() * len(rows)
        return total / POINTS

    return train, f"nn.Sequential + BCEWithLogitsLoss + optim.{chosen.__name__}"


def _ours_model():
    """nn.MLP with the shared starting weights (or the same layers from Tensor ops)."""
    from chaingrad.autograd import Tensor

    _, _, weights = _problem()
    try:
        from chaingrad.nn import MLP

        model = MLP(2, [16, 16, 1], activation="tanh")
        params = model.parameters()
        for p, w in zip(params, weights):
            assert p.shape == w.shape, "nn.MLP's weights are (n_in, n_out) and biases (n_out,)"
            p.data = w.copy()
        return model, params, "nn.MLP"
    except ImportError:
        params = [Tensor(w.copy(), requires_grad=True) for w in weights]

        def model(x):
            h1 = (x @ params[0] + params[1]).tanh()
            h2 = (h1 @ params[2] + params[3]).tanh()
            return h2 @ params[4] + params[5]

        return model, params, "Tensor ops by hand"


def _ours_loss_and_optimizer(optimizer="sgd"):
    try:
        from chaingrad.nn.losses import bce_with_logits as loss_fn

        loss_source = "nn.losses.bce_with_logits"
    except ImportError:
        def loss_fn(z, t):  # log(1 + e**z) - t z, written so it never overflows
            return (z.relu() - z * t + ((-z.abs()).exp() + 1).log()).mean()

        loss_source = "BCE by hand"
    try:
        from chaingrad.nn import optim

        chosen = {"sgd": optim.SGD, "adam": optim.Adam}[optimizer]

        def make_optimizer(params):
            return chosen(params, lr=LEARNING_RATES[optimizer])

        optim_source = f"nn.optim.{chosen.__name__}"
    except ImportError:
        make_optimizer, optim_source = _HandSGD, "SGD by hand"
    return loss_fn, make_optimizer, f"{loss_source} + {optim_source}"


class _HandSGD:
    def __init__(self, params):
        self.params = params

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    def step(self):
        for p in self.params:
            p.data -= LEARNING_RATES["sgd"] * p.grad


def _ours_loop(optimizer="sgd"):
    from chaingrad.autograd import Tensor

    X, y, _ = _problem()
    orders = _epoch_orders()
    loss_fn, make_optimizer, source = _ours_loss_and_optimizer(optimizer)

    def train():
        model, params, model_source = _ours_model()
        optimizer = make_optimizer(params)
        for order in orders:
            total = 0.0
            for start in range(0, POINTS, BATCH):
                rows = order[start:start + BATCH]
                loss = loss_fn(model(Tensor(X[rows])), Tensor(y[rows]))
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                total += loss.item() * len(rows)
        return total / POINTS

    return train, f"{_ours_model()[2]} + {source} (manual loop)"


def _ours_fit(optimizer="sgd"):
    X, y, _ = _problem()
    model, params, model_source = _ours_model()
    if not hasattr(model, "fit"):
        raise RuntimeError("nn has no model.fit yet")
    _, make_optimizer, source = _ours_loss_and_optimizer(optimizer)

    def train():
        model, params, _ = _ours_model()
        model.compile(loss="bce_with_logits", optimizer=make_optimizer(params))
        history = model.fit(X, y, epochs=EPOCHS, batch_size=BATCH, shuffle=True, verbose=0)
        return history.history["loss"][-1]

    return train, f"{model_source}.fit + {source}"


def _ours_fit_captured(optimizer="sgd"):
    X, y, _ = _problem()
    _, make_optimizer, source = _ours_loss_and_optimizer(optimizer)

    def train():
        model, params, _ = _ours_model()
        model.compile(loss="bce_with_logits", optimizer=make_optimizer(params))
        history = model.fit(X, y, epochs=EPOCHS, batch_size=BATCH, shuffle=True, verbose=0,
                            capture=True)
        return history.history["loss"][-1]

    return train, f"{_ours_model()[2]}.fit(capture=True) + {source}"


BUILDERS = {"numpy": _numpy, "torch": _torch, "ours-loop": _ours_loop, "ours-fit": _ours_fit,
            "ours-fit-captured": _ours_fit_captured}


# ---------------------------------------------------------------- one step (issue 24)


def _step_model(workload):
    """bench_tensor's problem as (loss of (x, labels), parameters, x, labels, built from)."""
    import bench_tensor

    from chaingrad.autograd import Tensor
    from chaingrad.nn import functional

    if workload == "step-conv":
        x, labels, weights = bench_tensor._conv_problem()
        kernel, kernel_bias, dense, dense_bias = params = [
            Tensor(w, requires_grad=True) for w in weights]

        def loss_of(x, labels):
            h = functional.conv2d(x, kernel, kernel_bias).relu()
            h = functional.max_pool2d(h, 2)
            return functional.cross_entropy(h.reshape(h.shape[0], -1) @ dense + dense_bias,
                                            labels)

        return loss_of, params, x, labels, "nn.functional.conv2d/max_pool2d/cross_entropy"
    from chaingrad.nn import Linear

    x, labels, weights = bench_tensor._mlp_problem(32, "float32")
    layers = []
    for W, b in zip(weights[::2], weights[1::2]):
        layer = Linear(*W.shape)
        layer.weight.data, layer.bias.data = W.copy(), b.copy()
        layers.append(layer)
    params = [p for layer in layers for p in (layer.weight, layer.bias)]

    def loss_of(x, labels):
        h = Tensor(x)
        for k, layer in enumerate(layers):
            h = layer(h)
            h = h.relu() if k < len(layers) - 1 else h
        return functional.cross_entropy(h, labels)

    return loss_of, params, x, labels, "nn.Linear + nn.functional.cross_entropy"


def _step(workload, system):
    import bench_tensor

    name = workload.removeprefix("step-")
    if system in ("numpy", "torch"):
        return bench_tensor.BUILDERS[system](name)
    if system == "numpy-kept-grads":
        return bench_tensor._numpy(name, keep_gradients=True)
    from chaingrad.autograd import capture, no_grad
    from chaingrad.nn.optim import SGD

    loss_of, params, x, labels, built_from = _step_model(workload)
    lr = bench_tensor.LEARNING_RATE
    optimizer = SGD(params, lr=lr)
    if system == "ours-captured":
        step_of = capture(loss_of, x, labels)

        def step():
            optimizer.zero_grad()
            loss = step_of(x, labels)
            optimizer.step()
            return float(loss)

        return step, f"capture({built_from}) + nn.optim.SGD"

    def step():
        loss = loss_of(x, labels)
        optimizer.zero_grad()
        loss.backward()
        if system == "ours-hand-update":
            with no_grad():
                for p in params:
                    p.data -= lr * p.grad
        else:
            optimizer.step()
        return loss.item()

    update = "p.data -= lr * p.grad" if system == "ours-hand-update" else "nn.optim.SGD"
    return step, f"{built_from} + {update}"


def _measure_step(job: Job) -> dict:
    step, built_from = _step(job.workload, job.system)
    first, second = step(), step()
    samples = time_calls(step, job.repeats, min_seconds=0.1)
    return {"step_ms": [s * 1e3 for s in samples], "loss_after_1_step": second,
            "loss_0": first, "built_from": built_from}


def measure(job: Job) -> dict:
    if job.workload in STEP_WORKLOADS:
        return _measure_step(job)
    train, built_from = BUILDERS[job.system](WORKLOADS[job.workload])
    final_loss = train()  # also the warm-up
    samples, cpu = [], []
    for _ in range(job.repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        train()
        samples.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return {"seconds": samples, "cpu_seconds": cpu, "final_loss": final_loss,
            "built_from": built_from}


def report(results: dict) -> list[str]:
    by = {(job.workload, job.system): medians(result) for job, result in results.items()}
    headers = ["system", "optimizer", "seconds", "per step, µs", "× numpy", "× numpy (CPU)",
               "target", "met", "final epoch loss", "built from"]
    rows = []
    steps = EPOCHS * -(-POINTS // BATCH)
    for workload, optimizer in WORKLOADS.items():
        floor = by.get((workload, "numpy"), {}).get("seconds")
        cpu_floor = by.get((workload, "numpy"), {}).get("cpu_seconds")
        for system in SYSTEMS:
            if (workload, system) not in by:
                continue
            got = by[(workload, system)]
            seconds = got.get("seconds")
            r = ratio(seconds, floor)
            target = TARGETS.get(system, TARGET) if system.startswith("ours") else None
            loss = got.get("final_loss")
            rows.append([system, optimizer, seconds,
                         None if seconds is None else seconds / steps * 1e6, r,
                         ratio(got.get("cpu_seconds"), cpu_floor),
                         f"≤ {target}×" if target else "", verdict(r, target),
                         "–" if loss is None else f"{loss:.5f}", got.get("built_from", "")])
    notes = ["Same data, starting weights and (except ours-fit, which shuffles itself) the "
             "same shuffles: the manual loops end at the same loss.",
             "× numpy (CPU) compares process CPU time, which leaves out the time spent waiting "
             "for a core: steadier than wall time when the machine is shared."]
    return [format_table(headers, rows)] + notes + [_step_table(by)] + failures(results)


def _step_table(by: dict) -> str:
    headers = ["workload", "system", "ms per step", "× numpy", "× numpy, grads kept",
               "× ours eager", "target", "met", "loss after 1 step", "built from"]
    rows = []
    for workload in STEP_WORKLOADS:
        floor = by.get((workload, "numpy"), {}).get("step_ms")
        kept = by.get((workload, "numpy-kept-grads"), {}).get("step_ms")
        eager = by.get((workload, "ours"), {}).get("step_ms")
        for system in STEP_SYSTEMS:
            got = by.get((workload, system), {})
            ms = got.get("step_ms")
            r = ratio(ms, floor)
            target = STEP_TARGETS.get((workload, system))
            loss = got.get("loss_after_1_step")
            rows.append([workload.removeprefix("step-"), system, ms, r, ratio(ms, kept),
                         ratio(ms, eager) if system.startswith("ours") else None,
                         f"≤ {target}×" if target else "", verdict(r, target),
                         "–" if loss is None else f"{loss:.5f}", got.get("built_from", "")])
    return format_table(headers, rows, title="(c2) one training step, captured (issue 24)")
