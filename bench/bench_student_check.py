"""How long a student waits for `chaingrad check homework/assignmentN.py`.

Runs the real command (a fresh Python each time, as a student does) on the reference
solution of each assignment, five times, and prints the median wall-clock seconds and the
grader's own CPU seconds. The target for assignment 1 is under 2 s on the course's
machines. Measurement only: nothing here passes or fails.

    python bench/bench_student_check.py
"""

from __future__ import annotations

import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SOLUTIONS = Path(__file__).resolve().parent.parent / "tests" / "exercise_solutions"
REPEATS = 5


def measure(key: str, folder: Path) -> tuple[float, float]:
    homework = folder / "homework"
    homework.mkdir(exist_ok=True)
    target = homework / f"assignment{key}.py"
    shutil.copy(SOLUTIONS / f"assignment{key}.py", target)
    command = [sys.executable, "-m", "chaingrad.cli", "check", str(target)]
    walls, cpus = [], []
    for _ in range(REPEATS):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(command, stdout=subprocess.DEVNULL, check=True, cwd=folder)
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    print(f"chaingrad check on the reference solutions, median of {REPEATS} runs "
          f"(load average {os.getloadavg()[0]:.1f})")
    print(f"{'assignment':<12}{'wall s':>8}{'CPU s':>8}")
    with tempfile.TemporaryDirectory() as folder:
        for key in ("1", "2", "3"):
            wall, cpu = measure(key, Path(folder))
            print(f"{key:<12}{wall:>8.2f}{cpu:>8.2f}")


if __name__ == "__main__":
    main()
