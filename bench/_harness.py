"""Shared pieces of the benchmark: timing, jobs run in subprocesses, tables, machine info.

A section module (``bench_<name>.py``) defines

    TITLE: str
    def plan(quick: bool) -> list[Job]          # what to measure, one subprocess per job
    def measure(job: Job) -> dict[str, list]    # runs inside the subprocess
    def report(results: dict[Job, dict]) -> list[str]   # tables, from the medians

``run.py`` starts one fresh Python process per job, so one system's allocator and garbage
collector state never touch another's. The garbage collector stays on, as users have it.
"""

from __future__ import annotations

import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_DIR = os.path.dirname(BENCH_DIR)

THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)


@dataclass(frozen=True)
class Job:
    """One measurement run in its own process: a system on a workload (under an env)."""

    section: str
    system: str
    workload: str
    repeats: int
    env: tuple[tuple[str, str], ...] = ()
    options: tuple[tuple[str, object], ...] = field(default=())

    def option(self, key: str, default: object = None) -> object:
        return dict(self.options).get(key, default)


# ---------------------------------------------------------------- timing


def time_calls(fn: Callable[[], object], repeats: int, min_seconds: float = 0.05,
               warmup: int = 1) -> list[float]:
    """Seconds per call of ``fn``: one sample per repeat, each averaging enough calls to
    last ``min_seconds`` (so short steps are not lost in timer noise). GC stays on."""
    for _ in range(warmup):
        fn()
    start = time.perf_counter()
    fn()
    once = time.perf_counter() - start
    inner = max(1, int(min_seconds / max(once, 1e-9)))
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(inner):
            fn()
        samples.append((time.perf_counter() - start) / inner)
    return samples


def median(samples: Sequence[float]) -> float:
    return statistics.median(samples)


# ---------------------------------------------------------------- threads


def apply_thread_limits(threads: int) -> None:
    """Set every BLAS/OpenMP thread variable (before numpy or torch is imported)."""
    for name in THREAD_VARIABLES:
        os.environ[name] = str(threads)


def thread_report() -> dict:
    """The thread counts actually in force in this process (numpy's BLAS and torch)."""
    info = {"env": os.environ.get("OMP_NUM_THREADS", "unset")}
    blas = _blas_threads()
    if blas is not None:
        info["numpy_blas"] = blas
    if "torch" in sys.modules:
        info["torch"] = sys.modules["torch"].get_num_threads()
    return info


def _blas_threads() -> int | None:
    """How many threads the BLAS that numpy loaded uses (threadpoolctl finds it)."""
    from threadpoolctl import threadpool_info  # after numpy: it reports loaded libraries

    counts = [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]
    return counts[0] if counts else None


def load_torch():
    """Import torch with the same thread count as numpy (only in the jobs that time torch)."""
    import torch

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    return torch


# ---------------------------------------------------------------- machine


def machine_info() -> list[str]:
    import numpy

    lines = [f"CPU: {_cpu_name()} ({os.cpu_count()} logical cores visible)"]
    lines.append(f"Python {platform.python_version()} ({platform.python_implementation()}), "
                 f"{platform.system()} {platform.release()}")
    versions = [f"numpy {numpy.__version__}"]
    for module in ("torch", "micrograd"):
        try:
            versions.append(f"{module} {_version(module)}")
        except Exception:
            versions.append(f"{module} not installed")
    lines.append(", ".join(versions))
    try:
        from importlib.metadata import version

        lines.append(f"glibc {platform.libc_ver()[1]}; chaingrad {version('chaingrad')}")
    except Exception:
        pass
    lines.append(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return lines


def _version(module: str) -> str:
    from importlib.metadata import version

    return version(module)


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


# ---------------------------------------------------------------- subprocess protocol

RESULT_MARKER = "BENCH-RESULT "


def run_job(job: Job, threads: int, timeout: float = 600.0) -> dict:
    """Run ``job`` in a fresh interpreter and return its measurements (or an error)."""
    env = dict(os.environ)
    for name in THREAD_VARIABLES:
        env[name] = str(threads)
    env.update(dict(job.env))
    env["PYTHONHASHSEED"] = "0"
    payload = json.dumps({"job": _job_to_dict(job), "threads": threads})
    command = [sys.executable, os.path.join(BENCH_DIR, "_worker.py"), payload]
    try:
        done = subprocess.run(command, env=env, cwd=REPO_DIR, capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    for line in reversed(done.stdout.splitlines()):
        if line.startswith(RESULT_MARKER):
            return json.loads(line[len(RESULT_MARKER):])
    tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
    return {"error": " / ".join(tail) or f"exit code {done.returncode}"}


def _job_to_dict(job: Job) -> dict:
    return {"section": job.section, "system": job.system, "workload": job.workload,
            "repeats": job.repeats, "env": list(job.env), "options": list(job.options)}


def job_from_dict(data: dict) -> Job:
    return Job(data["section"], data["system"], data["workload"], data["repeats"],
               tuple(tuple(pair) for pair in data["env"]),
               tuple(tuple(pair) for pair in data["options"]))


def worker_main(argv: list[str]) -> None:
    """Inside the subprocess: import the section, measure, print one JSON line."""
    request = json.loads(argv[1])
    threads = request["threads"]
    apply_thread_limits(threads)
    job = job_from_dict(request["job"])
    assert gc.isenabled(), "the benchmark runs with the garbage collector on"
    # The working tree's packages first: an editable install made before a package had
    # its __init__.py would otherwise import it as an empty namespace package.
    sys.path[:0] = [BENCH_DIR, REPO_DIR]
    module = __import__(f"bench_{job.section}")
    try:
        result = module.measure(job)
        result = {"samples": result, "threads": thread_report()}
    except Exception as error:  # reported in the table, not fatal for the run
        result = {"error": f"{type(error).__name__}: {error}"}
    print(RESULT_MARKER + json.dumps(result), flush=True)


# ---------------------------------------------------------------- tables


def format_table(headers: Sequence[str], rows: Sequence[Sequence[object]],
                 title: str = "") -> str:
    """A pipe table (Markdown), right-aligned numbers, ready to paste into a note."""
    cells = [[_cell(x) for x in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h)
              for i, h in enumerate(headers)]
    def line(values, left_first=True):
        parts = []
        for i, (v, w) in enumerate(zip(values, widths)):
            parts.append(v.ljust(w) if i == 0 and left_first else v.rjust(w))
        return "| " + " | ".join(parts) + " |"
    out = [title] if title else []
    out.append(line(headers))
    out.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    out.extend(line(r) for r in cells)
    return "\n".join(out)


def _cell(x: object) -> str:
    if x is None:
        return "–"
    if isinstance(x, float):
        if x == 0:
            return "0"
        if abs(x) >= 100:
            return f"{x:,.0f}"
        if abs(x) >= 10:
            return f"{x:.1f}"
        if abs(x) >= 1:
            return f"{x:.2f}"
        return f"{x:.3f}"
    return str(x)


def ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return a / b


def verdict(value: float | None, target: float | None) -> str:
    """'yes' / 'NO' against an upper bound, or '' when there is no target."""
    if target is None:
        return ""
    if value is None:
        return "?"
    return "yes" if value <= target else "NO"


def merge(old: dict | None, new: dict) -> dict:
    """Pool the samples of two runs of the same job (an error in either run is kept)."""
    if old is None or "error" in old:
        return new if old is None else old
    if "error" in new:
        return new
    samples = dict(old["samples"])
    for key, value in new["samples"].items():
        if isinstance(value, list) and isinstance(samples.get(key), list):
            samples[key] = samples[key] + value
    return {**old, "samples": samples}


def medians(result: dict) -> dict[str, float]:
    """Median of every sample list a job returned ({} for a failed job)."""
    if not result or "samples" not in result:
        return {}
    return {key: (median(v) if isinstance(v, list) else v)
            for key, v in result["samples"].items()}


# ---------------------------------------------------------------- data


def moons(n: int, noise: float = 0.1, seed: int = 0):
    """Two interleaved half circles (as scikit-learn's make_moons): X (n, 2), y in {0, 1}."""
    import numpy as np

    generator = np.random.default_rng(seed)
    n_outer = n // 2
    n_inner = n - n_outer
    outer = np.linspace(0, np.pi, n_outer)
    inner = np.linspace(0, np.pi, n_inner)
    X = np.concatenate([
        np.stack([np.cos(outer), np.sin(outer)], axis=1),
        np.stack([1 - np.cos(inner), 0.5 - np.sin(inner)], axis=1),
    ])
    y = np.concatenate([np.zeros(n_outer), np.ones(n_inner)])
    X += generator.normal(scale=noise, size=X.shape)
    order = generator.permutation(n)
    return X[order], y[order]


def rss_bytes() -> int:
    """Resident memory of this process, from /proc (Linux)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def failures(results: dict) -> list[str]:
    """One line per job that failed, so a broken system shows up under its table."""
    lines = []
    for job, result in results.items():
        if "error" in result:
            env = f" (env {dict(job.env)})" if job.env else ""
            lines.append(f"FAILED {job.system}/{job.workload}{env}: {result['error']}")
    return lines
