"""(d) Digits (issue 6): training time of the digits models, ours vs PyTorch.

Each model is one entry of ``MODELS``: a name and two functions that build the same
architecture from the same starting weights, one on our engine and one on PyTorch. Both
are trained by the same loop (``EPOCHS`` epochs of mini-batch SGD with the same shuffles)
and the table shows the seconds and the test error. To add a model, write its two
builders and add a line to ``MODELS``; to change hyper-parameters, edit the constants.

A builder takes the list of starting weights (numpy arrays, ``_weights(shapes)``) and
returns ``(forward, params)``: ``forward(x)`` maps a float32 batch (N, 8, 8) to logits
(N, 10), and ``params`` are the trainable tensors in the order of the weights.
"""

from __future__ import annotations

import time

import numpy as np
from _harness import Job, failures, format_table, load_torch, medians, ratio

TITLE = "(d) digits: training time, ours vs PyTorch (8x8 UCI digits, 1,438 train / 359 test)"
EPOCHS, BATCH, LEARNING_RATE = 20, 32, 0.1


def _weights(shapes, seed=0):
    """Starting weights: He-normal for matrices and kernels, zeros for biases."""
    generator = np.random.default_rng(seed)
    out = []
    for shape in shapes:
        if len(shape) == 1:
            out.append(np.zeros(shape, dtype=np.float32))
        else:
            fan_in = int(np.prod(shape[1:])) if len(shape) == 4 else shape[0]
            out.append(generator.normal(0, np.sqrt(2 / fan_in), shape).astype(np.float32))
    return out


# ---------------------------------------------------------------- MLP 64-64-10

MLP_SHAPES = [(64, 64), (64,), (64, 10), (10,)]


def mlp_ours(weights):
    from autograd import Tensor

    params = [Tensor(w, requires_grad=True) for w in weights]
    W1, b1, W2, b2 = params

    def forward(x):
        return (x.reshape(len(x), 64) @ W1 + b1).relu() @ W2 + b2

    return forward, params


def mlp_torch(weights):
    torch = load_torch()
    params = [torch.tensor(w.T.copy() if w.ndim == 2 else w, requires_grad=True) for w in weights]
    W1, b1, W2, b2 = params
    functional = torch.nn.functional

    def forward(x):
        return functional.linear(functional.relu(functional.linear(x.reshape(len(x), 64), W1, b1)),
                                 W2, b2)

    return forward, params


# ---------------------------------------------------------------- CNN conv8 3x3 -> pool -> 10

CNN_SHAPES = [(8, 1, 3, 3), (8,), (128, 10), (10,)]


def cnn_ours(weights):
    from autograd import Tensor
    from nn.functional import conv2d, max_pool2d

    params = [Tensor(w, requires_grad=True) for w in weights]
    kernel, kernel_bias, dense, dense_bias = params

    def forward(x):
        h = conv2d(x.reshape(len(x), 1, 8, 8), kernel, kernel_bias, padding=1).relu()
        h = max_pool2d(h, 2)  # (N, 8, 4, 4)
        return h.reshape(len(x), 128) @ dense + dense_bias

    return forward, params


def cnn_torch(weights):
    torch = load_torch()
    functional = torch.nn.functional
    params = [torch.tensor(w.T.copy() if w.ndim == 2 else w, requires_grad=True) for w in weights]
    kernel, kernel_bias, dense, dense_bias = params

    def forward(x):
        h = functional.relu(functional.conv2d(x.reshape(len(x), 1, 8, 8), kernel, kernel_bias,
                                              padding=1))
        h = functional.max_pool2d(h, 2)
        return functional.linear(h.reshape(len(x), 128), dense, dense_bias)

    return forward, params


MODELS = {  # name: (shapes of the starting weights, ours builder, torch builder)
    "mlp 64-64-10": (MLP_SHAPES, mlp_ours, mlp_torch),
    "cnn conv8-pool-10": (CNN_SHAPES, cnn_ours, cnn_torch),
}


# ---------------------------------------------------------------- one training loop per engine


def _data():
    from nn.data import digits

    X, y = digits("train")
    X_test, y_test = digits("test")
    return X.astype(np.float32), y, X_test.astype(np.float32), y_test


def _train_ours(build, weights, X, y, orders):
    from autograd import Tensor, no_grad
    from nn.functional import cross_entropy

    forward, params = build(weights)
    for order in orders:
        for start in range(0, len(X), BATCH):
            rows = order[start:start + BATCH]
            loss = cross_entropy(forward(Tensor(X[rows])), y[rows])
            for p in params:
                p.grad = None
            loss.backward()
            with no_grad():
                for p in params:
                    p.data -= LEARNING_RATE * p.grad
    return lambda X_test: forward(Tensor(X_test)).data


def _train_torch(build, weights, X, y, orders):
    torch = load_torch()
    forward, params = build(weights)
    X, y = torch.from_numpy(X), torch.from_numpy(y)
    optimizer = torch.optim.SGD(params, lr=LEARNING_RATE)
    for order in orders:
        order = torch.from_numpy(order)
        for start in range(0, len(X), BATCH):
            rows = order[start:start + BATCH]
            loss = torch.nn.functional.cross_entropy(forward(X[rows]), y[rows])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

    def predict(X_test):
        with torch.no_grad():
            return forward(torch.from_numpy(X_test)).numpy()

    return predict


def plan(quick: bool) -> list[Job]:
    return [Job("digits", system, model, 1 if quick else 3)
            for model in MODELS for system in ("torch", "ours")]


def measure(job: Job) -> dict:
    shapes, ours, torch_builder = MODELS[job.workload]
    X, y, X_test, y_test = _data()
    generator = np.random.default_rng(1)
    orders = [generator.permutation(len(X)) for _ in range(EPOCHS)]
    train = _train_ours if job.system == "ours" else _train_torch
    build = ours if job.system == "ours" else torch_builder
    train(build, _weights(shapes), X, y, orders[:1])  # warm-up: first calls import and cache
    samples, error = [], None
    for _ in range(job.repeats):
        weights = _weights(shapes)
        start = time.perf_counter()
        predict = train(build, weights, X, y, orders)
        samples.append(time.perf_counter() - start)
        error = float(np.mean(predict(X_test).argmax(axis=1) != y_test))
    return {"seconds": samples, "test_error": error}


def report(results: dict) -> list[str]:
    by = {(job.system, job.workload): medians(result) for job, result in results.items()}
    headers = ["model", "ours, s", "PyTorch, s", "ours/torch", "test error ours",
               "test error torch"]
    rows = []
    for model in MODELS:
        ours, torch = by.get(("ours", model), {}), by.get(("torch", model), {})
        rows.append([model, ours.get("seconds"), torch.get("seconds"),
                     ratio(ours.get("seconds"), torch.get("seconds")),
                     _percent(ours.get("test_error")), _percent(torch.get("test_error"))])
    note = (f"{EPOCHS} epochs of SGD (lr {LEARNING_RATE}, batch {BATCH}), float32, same starting "
            "weights and shuffles for both engines.")
    return [format_table(headers, rows), note] + failures(results)


def _percent(x):
    return None if x is None else f"{100 * x:.1f}%"
