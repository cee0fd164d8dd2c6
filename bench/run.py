"""The chaingrad benchmark: one command, one table per section, all measured in this run.

    python bench/run.py [--quick] [--threads N] [scalar tensor training digits render beyond]

Each system is timed in its own fresh Python process (so one system's allocator and
garbage collector state cannot affect another's), with the garbage collector on, the same
thread count for numpy's BLAS and torch, and several repeats; tables show medians and
ratios. This is measurement, not testing: nothing here passes or fails.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _harness import BENCH_DIR, REPO_DIR, machine_info, merge, run_job  # noqa: E402

SECTIONS = ("scalar", "tensor", "training", "digits", "render", "beyond")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sections", nargs="*", metavar="SECTION",
                        help=f"any of {', '.join(SECTIONS)} (default: all)")
    parser.add_argument("--quick", action="store_true", help="fewer repeats (a smoke run)")
    parser.add_argument("--threads", type=int, default=1,
                        help="threads for numpy's BLAS and torch, the same for all (default 1)")
    parser.add_argument("--rounds", type=int, default=None,
                        help="passes over every section's jobs, samples pooled "
                             "(default 2, 1 with --quick)")
    args = parser.parse_args(argv)
    if args.rounds is None:
        args.rounds = 1 if args.quick else 2
    unknown = [name for name in args.sections if name not in SECTIONS]
    if unknown:
        parser.error(f"unknown section {unknown[0]!r}; choose from {', '.join(SECTIONS)}")
    sections = args.sections or list(SECTIONS)

    started = time.perf_counter()
    print("# chaingrad benchmark" + (" (--quick)" if args.quick else ""))
    for line in machine_info():
        print(f"- {line}")
    print(f"- threads: {args.threads} for every system (OMP/OPENBLAS/MKL_NUM_THREADS and "
          "torch.set_num_threads); garbage collector on; one process per system and workload, "
          f"{args.rounds} round(s) interleaving the systems")
    for name in sections:
        print()
        if name == "render" and not _has_protocol("render"):
            _run_script("render", args.quick)
            continue
        if not os.path.exists(os.path.join(BENCH_DIR, f"bench_{name}.py")):
            print(f"## {name}: bench/bench_{name}.py not present, skipped")
            continue
        module = __import__(f"bench_{name}")
        print(f"## {module.TITLE}")
        results: dict = {}
        jobs = module.plan(args.quick)
        for round_ in range(args.rounds):  # rounds interleave the systems against drift
            for job in jobs:
                _progress(f"{name} round {round_ + 1}: {job.system} / {job.workload} ...")
                t0 = time.perf_counter()
                results[job] = merge(results.get(job), run_job(job, args.threads))
                _progress(f" {time.perf_counter() - t0:.1f} s\n")
        print(_thread_line(results) + "; load average now "
              + " ".join(f"{x:.2f}" for x in os.getloadavg()))
        for block in module.report(results):
            print(block)
        sys.stdout.flush()
    print()
    print(f"- total time {time.perf_counter() - started:.0f} s; load average at end: "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


def _has_protocol(name: str) -> bool:
    path = os.path.join(BENCH_DIR, f"bench_{name}.py")
    if not os.path.exists(path):
        return False
    with open(path) as source:
        text = source.read()
    return all(f"def {f}(" in text for f in ("plan", "measure", "report"))


def _run_script(name: str, quick: bool) -> None:
    """Run a section written as a plain script (bench_render.py) and pass its output on."""
    path = os.path.join(BENCH_DIR, f"bench_{name}.py")
    if not os.path.exists(path):
        print(f"## {name}: bench/bench_{name}.py not present, skipped")
        return
    print(f"## ({name}) bench/bench_{name}.py")
    sys.stdout.flush()
    command = [sys.executable, path] + (["--quick"] if quick else [])
    done = subprocess.run(command, cwd=REPO_DIR, capture_output=True, text=True)
    if done.returncode == 2 and "unrecognized arguments" in done.stderr:
        done = subprocess.run(command[:2], cwd=REPO_DIR, capture_output=True, text=True)
    print(done.stdout.rstrip())
    if done.returncode:
        print(f"FAILED (exit {done.returncode}): {done.stderr.strip().splitlines()[-1:]}")


def _thread_line(results: dict) -> str:
    seen = set()
    for result in results.values():
        threads = result.get("threads")
        if threads:
            seen.add(", ".join(f"{k}={v}" for k, v in sorted(threads.items())))
    return "threads in force: " + ("; ".join(sorted(seen)) if seen else "unknown")


def _progress(text: str) -> None:
    sys.stderr.write(text)
    sys.stderr.flush()


if __name__ == "__main__":
    sys.exit(main())
