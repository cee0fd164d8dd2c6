"""Where our time goes: cProfile of our side of a benchmark workload.

    python bench/hotspots.py chain | train | mlp-32-float32 | mlp-512-float32 | conv | moons
        | fit | fit-adam | fit-captured | fit-adam-captured | step-mlp-captured
        [--top 15] [--steps N]

Prints the functions with the most time spent in their own body (tottime), then by
cumulative time. cProfile adds a roughly constant cost per Python call, so many small
calls look more expensive here than they are; compare against the benchmark's plain
timings before acting on a number.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [BENCH_DIR, os.path.dirname(BENCH_DIR)]

from _harness import apply_thread_limits  # noqa: E402


def _scalar(workload: str, steps: int):
    import bench_scalar

    api = bench_scalar._ours()
    if workload == "chain":
        def run():
            for _ in range(steps):
                bench_scalar._chain(api, bench_scalar.CHAIN_OPS).backward()
        return run
    return lambda: bench_scalar.measure_train(api, steps)


def _tensor(workload: str, steps: int):
    import bench_tensor

    step, _ = bench_tensor._ours(workload)

    def run():
        for _ in range(steps):
            step()
    return run


def _training(workload: str):
    """moons: the manual loop; fit, fit-adam: model.fit (100 epochs, 3,200 steps each);
    with -captured: model.fit(..., capture=True)."""
    import bench_training

    if workload == "moons":
        return bench_training._ours_loop()[0]
    fit = bench_training._ours_fit_captured if workload.endswith("-captured") else (
        bench_training._ours_fit)
    return fit("adam" if workload.startswith("fit-adam") else "sgd")[0]


def _captured_step(steps: int):
    """step-mlp-captured: bench_training's 784-256-128-10 float32 step, captured, + SGD."""
    import bench_training

    step = bench_training._step("step-mlp-32-float32", "ours-captured")[0]

    def run():
        for _ in range(steps):
            step()
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workload")
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--steps", type=int, default=None)
    args = parser.parse_args()
    apply_thread_limits(1)
    if args.workload in ("chain", "train"):
        run = _scalar(args.workload, args.steps or 5)
    elif args.workload in ("moons", "fit", "fit-adam", "fit-captured", "fit-adam-captured"):
        run = _training(args.workload)
    elif args.workload == "step-mlp-captured":
        run = _captured_step(args.steps or 200)
    else:
        run = _tensor(args.workload, args.steps or 200)
    run()  # warm-up
    profile = cProfile.Profile()
    profile.runcall(run)
    stats = pstats.Stats(profile).strip_dirs()
    stats.sort_stats("tottime").print_stats(args.top)
    stats.sort_stats("cumulative").print_stats(args.top)


if __name__ == "__main__":
    main()
