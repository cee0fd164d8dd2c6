"""(a) Scalar graphs (issue 2): ours (Value) against micrograd and PyTorch 0-d tensors.

Workloads
- chain: 10k ops ``x = relu(x * w + b)`` repeated; µs per node, forward and backward.
- train: one full-batch step of a 2-16-16-1 MLP (relu hidden, linear output) on 100
  two-moons points with micrograd's demo loss mean(relu(1 - y*score)) + 1e-4 Σp².
- memory: bytes per node of a 100k-node chain (tracemalloc; RSS growth as a check,
  since PyTorch allocates its tensors outside Python's allocator).
"""

from __future__ import annotations

import gc
import sys
import time
import tracemalloc

from _harness import (
    Job,
    format_table,
    load_torch,
    medians,
    moons,
    ratio,
    rss_bytes,
    verdict,
)

TITLE = "(a) scalar engine: ours vs micrograd vs PyTorch 0-d tensors"
SYSTEMS = ("micrograd", "torch", "ours")
CHAIN_OPS = 10_000
MEMORY_OPS = 100_000
MOONS = 100
L2 = 1e-4
LEARNING_RATE = 0.05


def plan(quick: bool) -> list[Job]:
    repeats = {"chain": 5 if quick else 15, "train": 3 if quick else 7, "memory": 1}
    return [Job("scalar", system, workload, repeats[workload])
            for workload in ("chain", "train", "memory") for system in SYSTEMS]


# ---------------------------------------------------------------- the three systems


def _micrograd():
    from micrograd.engine import Value
    from micrograd.nn import MLP

    sys.setrecursionlimit(1_000_000)  # micrograd's topological sort is recursive

    def leaf(x):
        return Value(x)

    def model(seed):
        import random

        random.seed(seed)
        return MLP(2, [16, 16, 1])

    def relu(v):
        return v.relu()

    def zero_grad(model):
        model.zero_grad()

    def update(params, lr):
        for p in params:
            p.data -= lr * p.grad

    return dict(leaf=leaf, model=model, relu=relu, zero_grad=zero_grad, update=update,
                parameters=lambda m: m.parameters(), inputs=lambda row: list(map(Value, row)))


def _torch():
    torch = load_torch()

    def leaf(x):
        return torch.tensor(x, dtype=torch.float64, requires_grad=True)

    class Neuron:
        def __init__(self, n_in, nonlinear, generator):
            self.w = [leaf(float(v)) for v in generator.uniform(-1, 1, n_in)]
            self.b = leaf(0.0)
            self.nonlinear = nonlinear

        def __call__(self, x):
            act = sum((wi * xi for wi, xi in zip(self.w, x)), self.b)
            return act.relu() if self.nonlinear else act

    class MLP:  # micrograd's structure, every weight a 0-d tensor
        def __init__(self, sizes, seed):
            import numpy as np

            generator = np.random.default_rng(seed)
            self.layers = [[Neuron(sizes[i], i != len(sizes) - 2, generator)
                            for _ in range(sizes[i + 1])] for i in range(len(sizes) - 1)]

        def __call__(self, x):
            for layer in self.layers:
                x = [neuron(x) for neuron in layer]
            return x[0] if len(x) == 1 else x

        def parameters(self):
            return [p for layer in self.layers for n in layer for p in (*n.w, n.b)]

    def zero_grad(model):
        for p in model.parameters():
            p.grad = None

    def update(params, lr):
        with torch.no_grad():
            for p in params:
                p -= lr * p.grad

    return dict(leaf=leaf, model=lambda seed: MLP([2, 16, 16, 1], seed), relu=lambda v: v.relu(),
                zero_grad=zero_grad, update=update, parameters=lambda m: m.parameters(),
                inputs=lambda row: row)


def _ours():
    from chaingrad.autograd import Value

    try:
        from chaingrad.nn.scalar import MLP

        def model(seed):
            return MLP(2, [16, 16, 1], activation="relu", seed=seed)
    except ImportError:  # before nn.scalar existed: the same structure by hand
        model = _hand_written_mlp(Value)

    def zero_grad(model):
        model.zero_grad()

    def update(params, lr):
        for p in params:
            p.data -= lr * p.grad

    return dict(leaf=Value, model=model, relu=lambda v: v.relu(), zero_grad=zero_grad,
                update=update, parameters=lambda m: m.parameters(), inputs=lambda row: row)


def _hand_written_mlp(Value):
    import numpy as np

    class MLP:
        def __init__(self, seed):
            generator = np.random.default_rng(seed)
            sizes = [2, 16, 16, 1]
            self.layers = [[([Value(w) for w in generator.uniform(-1, 1, sizes[i])], Value(0.0))
                            for _ in range(sizes[i + 1])] for i in range(len(sizes) - 1)]

        def __call__(self, x):
            for depth, layer in enumerate(self.layers):
                last = depth == len(self.layers) - 1
                x = [Value.dot(w, x) + b for w, b in layer]
                x = x if last else [v.relu() for v in x]
            return x[0]

        def parameters(self):
            return [p for layer in self.layers for w, b in layer for p in (*w, b)]

        def zero_grad(self):
            for p in self.parameters():
                p.grad = 0.0

    return MLP


SYSTEM_BUILDERS = {"micrograd": _micrograd, "torch": _torch, "ours": _ours}


# ---------------------------------------------------------------- workloads


def _chain(api, n_ops):
    x, w, b = api["leaf"](0.5), api["leaf"](0.9), api["leaf"](0.1)
    relu = api["relu"]
    for _ in range(n_ops // 3):
        x = relu(x * w + b)
    return x


def measure_chain(api, repeats):
    n_nodes = 3 * (CHAIN_OPS // 3)
    forward, backward = [], []
    for attempt in range(repeats + 1):  # the first is a warm-up
        gc.collect()  # each repeat starts from a clean heap (micrograd leaves cycles behind)
        start = time.perf_counter()
        out = _chain(api, CHAIN_OPS)
        middle = time.perf_counter()
        out.backward()
        end = time.perf_counter()
        if attempt:
            forward.append((middle - start) / n_nodes * 1e6)
            backward.append((end - middle) / n_nodes * 1e6)
        del out
    return {"forward_us_per_node": forward, "backward_us_per_node": backward}


def measure_train(api, repeats):
    X, y = moons(MOONS, noise=0.1, seed=1)
    rows = [[float(a), float(b)] for a, b in X]
    labels = [2.0 * float(t) - 1.0 for t in y]  # ±1 for the max-margin loss
    model = api["model"](0)
    params = api["parameters"](model)
    relu, to_inputs = api["relu"], api["inputs"]

    def step():
        scores = [model(to_inputs(row)) for row in rows]
        losses = [relu(1 + -yi * si) for yi, si in zip(labels, scores)]
        data_loss = sum(losses) * (1.0 / len(losses))
        reg_loss = L2 * sum(p * p for p in params)
        total = data_loss + reg_loss
        api["zero_grad"](model)
        total.backward()
        api["update"](params, LEARNING_RATE)
        return total

    step()  # warm-up
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        samples.append(time.perf_counter() - start)
    return {"train_step_s": samples}


def measure_memory(api, _repeats):
    n_nodes = 3 * (MEMORY_OPS // 3)
    _chain(api, 3000)  # import-time and first-call allocations out of the way
    gc.collect()
    before = rss_bytes()
    out = _chain(api, MEMORY_OPS)
    rss = (rss_bytes() - before) / n_nodes
    del out
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    out = _chain(api, MEMORY_OPS)
    traced = (tracemalloc.get_traced_memory()[0] - base) / n_nodes
    tracemalloc.stop()
    del out  # the graph was alive while it was measured
    return {"traced_bytes_per_node": [traced], "rss_bytes_per_node": [rss]}


def measure(job: Job) -> dict:
    api = SYSTEM_BUILDERS[job.system]()
    workload = {"chain": measure_chain, "train": measure_train, "memory": measure_memory}
    return workload[job.workload](api, job.repeats)


# ---------------------------------------------------------------- the table

ROWS = (  # (workload, metric, label, target for ours / micrograd)
    ("chain", "forward_us_per_node", "chain forward, µs/node", 1.0),
    ("chain", "backward_us_per_node", "chain backward, µs/node", 1.0),
    ("train", "train_step_s", "MLP train step, ms", 0.1),
    ("memory", "traced_bytes_per_node", "memory, B/node (tracemalloc)", 0.5),
    ("memory", "rss_bytes_per_node", "memory, B/node (RSS growth)", None),
)


def report(results: dict) -> list[str]:
    by = {(job.system, job.workload): medians(result) for job, result in results.items()}
    headers = ["measure", "micrograd", "PyTorch 0-d", "ours", "ours/micrograd",
               "torch/micrograd", "target", "met"]
    rows = []
    for workload, metric, label, target in ROWS:
        values = {}
        for system in SYSTEMS:
            value = by.get((system, workload), {}).get(metric)
            if value is not None and metric == "train_step_s":
                value *= 1e3
            values[system] = value
        if metric == "traced_bytes_per_node":
            values["torch"] = None  # torch's tensors live outside Python's allocator
        ours_ratio = ratio(values["ours"], values["micrograd"])
        rows.append([label, values["micrograd"], values["torch"], values["ours"], ours_ratio,
                     ratio(values["torch"], values["micrograd"]),
                     f"≤ {target}×" if target else "", verdict(ours_ratio, target)])
    notes = [
        f"chain: {CHAIN_OPS} ops relu(x*w + b); train: 2-16-16-1 relu MLP, {MOONS} moons, "
        "max-margin loss + L2 1e-4; memory: 100k-node chain.",
        "PyTorch's tensors are allocated outside Python's allocator, so tracemalloc cannot "
        "see them (–); the RSS row covers all three.",
    ]
    notes += _failures(results)
    return [format_table(headers, rows)] + notes


def _failures(results: dict) -> list[str]:
    return [f"FAILED {job.system}/{job.workload}: {result['error']}"
            for job, result in results.items() if "error" in result]
