"""(c) Training a small model end to end (issue 5): seconds for 100 epochs on moons.

A 2-16-16-1 MLP (tanh hidden, linear output), binary cross-entropy on the logit, plain
SGD (lr 0.1), 1,000 two-moons points, batch 32, reshuffled every epoch: 3,200 steps where
per-step overhead, not arithmetic, decides. Systems: a hand-written numpy loop (the
floor), PyTorch eager, ours with a manual loop, and ours with ``model.fit`` when nn has it.
"""

from __future__ import annotations

import time

import numpy as np
from _harness import Job, failures, format_table, load_torch, medians, moons, ratio, verdict

TITLE = "(c) training: 2-16-16-1 MLP, 1,000 moons, 100 epochs, batch 32 (seconds)"
SYSTEMS = ("numpy", "torch", "ours-loop", "ours-fit")
POINTS, EPOCHS, BATCH, LEARNING_RATE = 1000, 100, 32, 0.1
TARGET = 1.3


def plan(quick: bool) -> list[Job]:
    return [Job("training", system, "moons", 2 if quick else 5) for system in SYSTEMS]


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


def _numpy():
    X, y, weights = _problem()
    orders = _epoch_orders()

    def train():
        W1, b1, W2, b2, W3, b3 = params = [w.copy() for w in weights]
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
                for p, g in zip(params, grads):
                    p -= LEARNING_RATE * g
            losses.append(total / POINTS)
        return losses[-1]

    return train, "hand-written"


def _torch():
    torch = load_torch()
    X, y, weights = _problem()
    orders = [torch.from_numpy(order) for order in _epoch_orders()]
    inputs, targets = torch.from_numpy(X), torch.from_numpy(y)

    def train():
        layers = []
        for W, b in zip(weights[::2], weights[1::2]):
            linear = torch.nn.Linear(*W.shape, dtype=torch.float64)
            with torch.no_grad():
                linear.weight.copy_(torch.from_numpy(W.T.copy()))
                linear.bias.copy_(torch.from_numpy(b))
            layers += [linear, torch.nn.Tanh()]
        model = torch.nn.Sequential(*layers[:-1])
        optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE)
        loss_fn = torch.nn.BCEWithLogitsLoss()
        for order in orders:
            total = 0.0
            for start in range(0, POINTS, BATCH):
                rows = order[start:start + BATCH]
                loss = loss_fn(model(inputs[rows]), targets[rows])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                total += loss.item() * len(rows)
        return total / POINTS

    return train, "nn.Sequential + BCEWithLogitsLoss + optim.SGD"


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


def _ours_loss_and_optimizer():
    try:
        from chaingrad.nn.losses import bce_with_logits as loss_fn

        loss_source = "nn.losses.bce_with_logits"
    except ImportError:
        def loss_fn(z, t):  # log(1 + e**z) - t z, written so it never overflows
            return (z.relu() - z * t + ((-z.abs()).exp() + 1).log()).mean()

        loss_source = "BCE by hand"
    try:
        from chaingrad.nn.optim import SGD

        def optimizer(params):
            return SGD(params, lr=LEARNING_RATE)

        optim_source = "nn.optim.SGD"
    except ImportError:
        optimizer, optim_source = _HandSGD, "SGD by hand"
    return loss_fn, optimizer, f"{loss_source} + {optim_source}"


class _HandSGD:
    def __init__(self, params):
        self.params = params

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    def step(self):
        for p in self.params:
            p.data -= LEARNING_RATE * p.grad


def _ours_loop():
    from chaingrad.autograd import Tensor

    X, y, _ = _problem()
    orders = _epoch_orders()
    loss_fn, make_optimizer, source = _ours_loss_and_optimizer()

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


def _ours_fit():
    X, y, _ = _problem()
    model, params, model_source = _ours_model()
    if not hasattr(model, "fit"):
        raise RuntimeError("nn has no model.fit yet")
    _, make_optimizer, source = _ours_loss_and_optimizer()

    def train():
        model, params, _ = _ours_model()
        model.compile(loss="bce_with_logits", optimizer=make_optimizer(params))
        history = model.fit(X, y, epochs=EPOCHS, batch_size=BATCH, shuffle=True, verbose=0)
        return history.history["loss"][-1]

    return train, f"{model_source}.fit + {source}"


BUILDERS = {"numpy": _numpy, "torch": _torch, "ours-loop": _ours_loop, "ours-fit": _ours_fit}


def measure(job: Job) -> dict:
    train, built_from = BUILDERS[job.system]()
    final_loss = train()  # also the warm-up
    samples = []
    for _ in range(job.repeats):
        start = time.perf_counter()
        train()
        samples.append(time.perf_counter() - start)
    return {"seconds": samples, "final_loss": final_loss, "built_from": built_from}


def report(results: dict) -> list[str]:
    by = {job.system: medians(result) for job, result in results.items()}
    floor = by.get("numpy", {}).get("seconds")
    headers = ["system", "seconds", "per step, µs", "× numpy", "target", "met",
               "final epoch loss", "built from"]
    rows = []
    steps = EPOCHS * -(-POINTS // BATCH)
    for system in SYSTEMS:
        got = by.get(system, {})
        seconds = got.get("seconds")
        r = ratio(seconds, floor)
        target = TARGET if system.startswith("ours") else None
        loss = got.get("final_loss")
        rows.append([system, seconds, None if seconds is None else seconds / steps * 1e6, r,
                     f"≤ {target}×" if target else "", verdict(r, target),
                     "–" if loss is None else f"{loss:.5f}", got.get("built_from", "")])
    notes = ["Same data, starting weights and (except ours-fit, which shuffles itself) the "
             "same shuffles: the manual loops end at the same loss."]
    return [format_table(headers, rows)] + notes + failures(results)
