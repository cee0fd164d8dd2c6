"""The course's update rule by hand (``p.data -= lr * p.grad``) against ``nn.optim.SGD``.

    python bench/bench_hand_update.py [--steps 300] [--repeats 7]

One training step of a 784-256-128-10 tanh MLP on a batch of 32 (float64), the loss
cross-entropy: forward, backward, update. Both loops alternate in one process; the table
gives the median ms per step and the hand-written loop's cost over SGD's.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

from chaingrad import nn  # noqa: E402
from chaingrad.autograd import Tensor  # noqa: E402
from chaingrad.nn import functional as F  # noqa: E402

LR = 0.01


def _loop(by_hand: bool, steps: int) -> float:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(steps, 32, 784))
    labels = rng.integers(0, 10, size=(steps, 32))
    model = nn.MLP(784, [256, 128, 10], activation="tanh")
    params = model.parameters()
    optimizer = nn.optim.SGD(params, lr=LR)
    start = time.perf_counter()
    for i in range(steps):
        loss = F.cross_entropy(model(Tensor(X[i])), labels[i])
        for p in params:
            p.grad = None
        loss.backward()
        if by_hand:
            for p in params:
                p.data -= LR * p.grad
        else:
            optimizer.step()
    return (time.perf_counter() - start) / steps * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    _loop(True, 20), _loop(False, 20)  # warm-up
    times: dict[bool, list[float]] = {True: [], False: []}
    for _ in range(args.repeats):
        for by_hand in (True, False):
            times[by_hand].append(_loop(by_hand, args.steps))
    hand, sgd = statistics.median(times[True]), statistics.median(times[False])
    print("| loop (784-256-128-10, batch 32) | ms/step (median) |")
    print("|---|---|")
    print(f"| p.data -= lr * p.grad | {hand:.3f} |")
    print(f"| nn.optim.SGD | {sgd:.3f} |")
    print(f"hand-written / SGD: {hand / sgd:.3f}; load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
