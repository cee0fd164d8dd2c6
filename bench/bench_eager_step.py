"""Eager hot paths, this tree against another checkout: CPU time per training step.

    python bench/bench_eager_step.py --against /path/to/other/checkout [--rounds 7]
    python bench/bench_eager_step.py                  # this tree alone (and the numpy floor)

Each workload runs in a fresh Python process per tree (one BLAS thread), the two trees
alternating round by round (which goes first alternates too), so a change in the
machine's load falls on both. A process warms up, then takes the best of several
CPU-time samples (time.process_time, which leaves out time spent waiting for a core on
a shared machine); the table gives the best and the median of those over the rounds, the
ratio this tree / the other from the bests, and the load average before and after.

Workloads (the course's hot paths, issues 23 and 24):
- moons-sgd, moons-adam: nn.MLP 2-16-16-1 (tanh), batch 32, bce_with_logits, float64,
  nn.optim.SGD (lr 0.1) or nn.optim.Adam (lr 0.01): forward, zero_grad, backward, step.
- scalar-chain: Values, x = relu(x * w + b) 1,000 times, then backward (bench_scalar's
  chain, shorter): µs per chain of 3,000 nodes.
- mlp784-sgd, mlp784-hand: nn.Linear 784-256-128-10 (relu), batch 32, float32,
  F.cross_entropy; nn.optim.SGD, or the update by hand ``p.data -= lr * p.grad``.
- conv: conv2d 8x3x3, relu, max_pool2d 2, linear 10, float32, nn.optim.SGD
  (bench_tensor's convnet step).
- mlp784-numpy, conv-numpy: bench_tensor's hand-written numpy steps, the floor (the same
  code for both trees: it imports nothing from chaingrad).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
HERE = os.path.dirname(BENCH_DIR)
THREADS = {name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                                  "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")}
WORKLOADS = ("moons-sgd", "moons-adam", "scalar-chain", "mlp784-sgd", "mlp784-hand", "conv",
             "mlp784-numpy", "conv-numpy")
FLOORS = {"mlp784-sgd": "mlp784-numpy", "mlp784-hand": "mlp784-numpy", "conv": "conv-numpy"}


# ---------------------------------------------------------------- the workloads (in a worker)


def _moons_step(optimizer_name):
    import numpy as np

    from chaingrad import nn
    from chaingrad.autograd import Tensor
    from chaingrad.nn.losses import bce_with_logits

    generator = np.random.default_rng(0)
    angle = generator.uniform(0, np.pi, 1024)
    upper = generator.random(1024) < 0.5
    X = np.stack([np.where(upper, np.cos(angle), 1 - np.cos(angle)),
                  np.where(upper, np.sin(angle), 0.5 - np.sin(angle))], axis=1)
    X += generator.normal(0, 0.1, X.shape)
    y = upper.astype(np.float64).reshape(-1, 1)
    order = generator.permutation(1024)  # shuffled batches, as fit and bench_training take
    batches = [(X[order[i:i + 32]], y[order[i:i + 32]]) for i in range(0, 1024, 32)]
    model = nn.MLP(2, [16, 16, 1], activation="tanh")
    params = model.parameters()
    if optimizer_name == "sgd":
        optimizer = nn.optim.SGD(params, lr=0.1)
    else:
        optimizer = nn.optim.Adam(params, lr=0.01)
    position = [0]

    def step():
        x, t = batches[position[0] % len(batches)]
        position[0] += 1
        loss = bce_with_logits(model(Tensor(x)), Tensor(t))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss.item()

    return step


def _scalar_chain():
    from chaingrad.autograd import Value

    def step():
        x, w, b = Value(0.5), Value(0.9), Value(0.1)
        for _ in range(1000):
            x = (x * w + b).relu()
        x.backward()
        return x.data

    return step


def _mlp784_step(update):
    import numpy as np

    from chaingrad.autograd import Tensor
    from chaingrad.nn import Linear
    from chaingrad.nn import functional as F
    from chaingrad.nn.optim import SGD

    sys.path.insert(0, BENCH_DIR)
    import bench_tensor

    x, labels, weights = bench_tensor._mlp_problem(32, "float32")
    lr = bench_tensor.LEARNING_RATE
    layers = []
    for W, b in zip(weights[::2], weights[1::2]):
        layer = Linear(*W.shape)
        layer.weight.data, layer.bias.data = W.copy(), b.copy()
        layers.append(layer)
    params = [p for layer in layers for p in (layer.weight, layer.bias)]
    assert all(p.dtype == np.float32 for p in params)
    optimizer = SGD(params, lr=lr)

    def step():
        h = Tensor(x)
        for k, layer in enumerate(layers):
            h = layer(h)
            h = h.relu() if k < len(layers) - 1 else h
        loss = F.cross_entropy(h, labels)
        optimizer.zero_grad()
        loss.backward()
        if update == "hand":
            for p in params:
                p.data -= lr * p.grad
        else:
            optimizer.step()
        return loss.item()

    return step


def _conv_step():
    from chaingrad.autograd import Tensor
    from chaingrad.nn import functional as F
    from chaingrad.nn.optim import SGD

    sys.path.insert(0, BENCH_DIR)
    import bench_tensor

    x, labels, weights = bench_tensor._conv_problem()
    inputs = Tensor(x)
    kernel, kernel_bias, dense, dense_bias = params = [
        Tensor(w, requires_grad=True) for w in weights]
    optimizer = SGD(params, lr=bench_tensor.LEARNING_RATE)

    def step():
        h = F.conv2d(inputs, kernel, kernel_bias).relu()
        h = F.max_pool2d(h, 2)
        loss = F.cross_entropy(h.reshape(h.shape[0], -1) @ dense + dense_bias, labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss.item()

    return step


def _numpy_step(workload):
    sys.path.insert(0, BENCH_DIR)
    import bench_tensor

    lr = bench_tensor.LEARNING_RATE
    if workload == "conv-numpy":
        x, labels, params = bench_tensor._conv_problem()
        return lambda: bench_tensor.numpy_conv_step(x, labels, params, lr)
    x, labels, params = bench_tensor._mlp_problem(32, "float32")
    return lambda: bench_tensor.numpy_mlp_step(x, labels, params, lr)


def _build(workload):
    if workload.startswith("moons-"):
        return _moons_step(workload.removeprefix("moons-"))
    if workload == "scalar-chain":
        return _scalar_chain()
    if workload.endswith("-numpy"):
        return _numpy_step(workload)
    if workload.startswith("mlp784-"):
        return _mlp784_step(workload.removeprefix("mlp784-"))
    return _conv_step()


def _worker(tree, workload, seconds, samples):
    """Runs in the fresh process: best CPU µs per step of ``workload`` from ``tree``."""
    sys.path.insert(0, tree)
    import chaingrad.autograd

    where = os.path.realpath(chaingrad.autograd.__file__)
    if not where.startswith(os.path.realpath(tree) + os.sep):
        raise SystemExit(f"chaingrad came from {where}, not from {tree}")
    step = _build(workload)
    warm_until = time.process_time() + seconds / 2
    calls = 0
    while time.process_time() < warm_until or calls < 3:
        step()
        calls += 1
    per_call = (seconds / 2) / calls
    inner = max(1, int(seconds / samples / max(per_call, 1e-7)))
    best = []
    for _ in range(samples):
        start = time.process_time()
        for _ in range(inner):
            step()
        best.append((time.process_time() - start) / inner * 1e6)
    print(json.dumps({"us": min(best), "calls": inner}))


# ---------------------------------------------------------------- the driver


def _run(tree, workload, seconds, samples):
    env = {**os.environ, **THREADS, "PYTHONDONTWRITEBYTECODE": "1"}
    result = subprocess.run(
        [sys.executable, os.path.abspath(__file__), "--worker", tree, workload,
         str(seconds), str(samples)],
        env=env, capture_output=True, text=True, check=False, cwd=tree)
    if result.returncode != 0:
        raise SystemExit(f"{workload} on {tree} failed:\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])["us"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", help="another checkout (the reference) to compare with")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=0.6, help="CPU seconds per process")
    parser.add_argument("--samples", type=int, default=5)
    parser.add_argument("--only", help="comma-separated workloads (default: all)")
    parser.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        tree, workload, seconds, samples = args.worker
        _worker(tree, workload, float(seconds), int(samples))
        return
    workloads = args.only.split(",") if args.only else list(WORKLOADS)
    trees = {"this": HERE}
    if args.against:
        trees["ref"] = os.path.abspath(args.against)
    times = {(name, w): [] for name in trees for w in workloads}
    load_before = os.getloadavg()
    for round_ in range(args.rounds):
        order = list(trees) if round_ % 2 == 0 else list(trees)[::-1]
        for workload in workloads:
            for name in order:
                if workload.endswith("-numpy") and name != "this":
                    continue  # the floor imports nothing from chaingrad: once is enough
                times[(name, workload)].append(
                    _run(trees[name], workload, args.seconds, args.samples))
        print(f"round {round_ + 1}/{args.rounds} done, load {os.getloadavg()[0]:.2f}",
              file=sys.stderr)
    load_after = os.getloadavg()
    _print_table(trees, workloads, times, args)
    print(f"\nthis tree: {HERE}" + (f"\nref tree:  {trees['ref']}" if "ref" in trees else ""))
    print(f"load average (1, 5, 15 min) before: {', '.join(f'{x:.2f}' for x in load_before)}; "
          f"after: {', '.join(f'{x:.2f}' for x in load_after)}")
    print(f"{args.rounds} rounds, each a fresh process per tree and workload, best of "
          f"{args.samples} CPU-time samples in ~{args.seconds} s; OMP/OPENBLAS threads 1")


def _print_table(trees, workloads, times, args):
    headers = ["workload", "this µs (best)", "this µs (median)"]
    if "ref" in trees:
        headers += ["ref µs (best)", "ref µs (median)", "this / ref"]
    headers += ["this / numpy floor"]
    print("| " + " | ".join(headers) + " |")
    print("|" + "---|" * len(headers))
    for workload in workloads:
        mine = times[("this", workload)]
        row = [workload, f"{min(mine):.1f}", f"{statistics.median(mine):.1f}"]
        if "ref" in trees:
            if workload.endswith("-numpy"):
                row += ["", "", ""]
            else:
                ref = times[("ref", workload)]
                row += [f"{min(ref):.1f}", f"{statistics.median(ref):.1f}",
                        f"{min(mine) / min(ref):.3f}"]
        floor = FLOORS.get(workload)
        if floor in workloads:
            row.append(f"{min(mine) / min(times[('this', floor)]):.3f}")
        else:
            row.append("")
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
