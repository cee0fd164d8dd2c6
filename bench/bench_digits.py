"""(d) Digits (issue 6): training time of the digits models, ours vs PyTorch.

The models and hyper-parameters are those of the course's comparison (``nn.compare``):
the MLP 64-256-128-10 and the small CNN (``nn.models.DigitsCNN``), each trained with Adam on
mini-batches of 32. Our side builds the real ``nn`` modules; the PyTorch side is their
twin (``torch_twin``, layer by layer, with the weights copied), so both engines start
from the same weights, see the same shuffles and run the same loop:
zero_grad, forward, cross-entropy, backward, step. The table shows the training seconds
and the test error each engine reached. float32 on both sides, as PyTorch users train.

To add a model, add a line to ``MODELS``: a builder of our model from a seed, the epochs
and the learning rate.
"""

from __future__ import annotations

import time

import numpy as np
from _harness import Job, failures, format_table, load_torch, medians, ratio

TITLE = "(d) digits: training time, ours vs PyTorch (8x8 UCI digits, 1,438 train / 359 test)"
BATCH = 32


def _mlp(seed):
    from chaingrad import nn

    return nn.Sequential(nn.Flatten(), nn.MLP(64, [256, 128, 10], "relu", seed=seed))


def _cnn(seed):
    from chaingrad.nn.models import DigitsCNN

    return DigitsCNN(seed=seed)


MODELS = {  # name: (builder of our model, epochs, Adam's learning rate), as in nn.compare
    "mlp 64-256-128-10": (_mlp, 30, 0.001),
    "cnn conv32-pool-conv64-pool-128-10": (_cnn, 20, 0.002),
}


# ---------------------------------------------------------------- the PyTorch twin


def _layers(model):
    """Our model's layers in order, nested Sequentials opened up."""
    from chaingrad.nn.layers import Sequential

    for layer in model.layers:
        if isinstance(layer, Sequential):
            yield from _layers(layer)
        else:
            yield layer


def torch_twin(model):
    """A torch.nn.Sequential with our model's layers and a float32 copy of its weights.

    It starts with a Flatten, so that our Reshape becomes torch's Unflatten(1, shape).
    """
    torch = load_torch()
    t = torch.nn
    twin = [t.Flatten()]
    for layer in _layers(model):
        kind = type(layer).__name__
        if kind == "Linear":
            twin.append(t.Linear(layer.n_in, layer.n_out))
            _copy(twin[-1], layer.weight.data.T, layer.bias.data)
        elif kind == "Conv2d":
            twin.append(t.Conv2d(layer.in_channels, layer.out_channels, layer.kernel_size,
                                 stride=layer.stride, padding=layer.padding))
            _copy(twin[-1], layer.weight.data, layer.bias.data)
        elif kind == "MaxPool2d":
            twin.append(t.MaxPool2d(layer.kernel_size, layer.stride, layer.padding))
        elif kind == "Reshape":
            twin.append(t.Unflatten(1, layer.shape))
        elif kind == "ReLU":
            twin.append(t.ReLU())
        elif kind == "Flatten":
            twin.append(t.Flatten())
        else:
            raise TypeError(f"torch_twin: no PyTorch twin for layer {kind}")
    return t.Sequential(*twin)


def _copy(module, weight, bias):
    torch = load_torch()
    with torch.no_grad():
        module.weight.copy_(torch.from_numpy(np.asarray(weight, dtype=np.float32)))
        module.bias.copy_(torch.from_numpy(np.asarray(bias, dtype=np.float32)))


# ---------------------------------------------------------------- one training loop per engine


def _data():
    from chaingrad.nn.data import digits

    X, y = digits("train")
    X_test, y_test = digits("test")
    return X.astype(np.float32), y, X_test.astype(np.float32), y_test


def _prepare(system, model):
    """What the clock will train: our model in float32, or its PyTorch twin."""
    if system == "torch":
        return torch_twin(model)
    for p in model.parameters():
        p.data = p.data.astype(np.float32)
    return model


def _train_ours(model, X, y, orders, lr):
    from chaingrad.autograd import Tensor, no_grad
    from chaingrad.nn.functional import cross_entropy
    from chaingrad.nn.optim import Adam

    optimizer = Adam(model.parameters(), lr=lr)
    for order in orders:
        for start in range(0, len(X), BATCH):
            rows = order[start:start + BATCH]
            optimizer.zero_grad()
            loss = cross_entropy(model(Tensor(X[rows])), y[rows])
            loss.backward()
            optimizer.step()

    def predict(X_test):
        with no_grad():
            return model.eval()(Tensor(X_test)).data

    return predict


def _train_torch(twin, X, y, orders, lr):
    torch = load_torch()
    X, y = torch.from_numpy(X), torch.from_numpy(y)
    optimizer = torch.optim.Adam(twin.parameters(), lr=lr)
    for order in orders:
        order = torch.from_numpy(order)
        for start in range(0, len(X), BATCH):
            rows = order[start:start + BATCH]
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(twin(X[rows]), y[rows])
            loss.backward()
            optimizer.step()

    def predict(X_test):
        with torch.no_grad():
            return twin(torch.from_numpy(X_test)).numpy()

    return predict


def plan(quick: bool) -> list[Job]:
    return [Job("digits", system, model, 1 if quick else 3)
            for model in MODELS for system in ("torch", "ours")]


def measure(job: Job) -> dict:
    build, epochs, lr = MODELS[job.workload]
    X, y, X_test, y_test = _data()
    generator = np.random.default_rng(1)
    orders = [generator.permutation(len(X)) for _ in range(epochs)]
    train = _train_ours if job.system == "ours" else _train_torch
    train(_prepare(job.system, build(0)), X, y, orders[:1], lr)  # warm-up: imports, caches
    samples, error = [], None
    for _ in range(job.repeats):
        model = _prepare(job.system, build(0))  # the same starting weights every time
        start = time.perf_counter()
        predict = train(model, X, y, orders, lr)
        samples.append(time.perf_counter() - start)
        error = float(np.mean(predict(X_test).argmax(axis=1) != y_test))
    return {"seconds": samples, "test_error": error}


def report(results: dict) -> list[str]:
    by = {(job.system, job.workload): medians(result) for job, result in results.items()}
    headers = ["model", "epochs", "ours, s", "PyTorch, s", "ours/torch", "test error ours",
               "test error torch"]
    rows = []
    for model, (_, epochs, _) in MODELS.items():
        ours, torch = by.get(("ours", model), {}), by.get(("torch", model), {})
        rows.append([model, epochs, ours.get("seconds"), torch.get("seconds"),
                     ratio(ours.get("seconds"), torch.get("seconds")),
                     _percent(ours.get("test_error")), _percent(torch.get("test_error"))])
    note = (f"Adam (learning rates as in nn.compare), batch {BATCH}, float32, the same starting "
            "weights and shuffles for both engines; seconds are training only.")
    return [format_table(headers, rows), note] + failures(results)


def _percent(x):
    return None if x is None else f"{100 * x:.1f}%"
