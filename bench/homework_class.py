"""Grade a class of 60 homework submissions (honest, broken, hostile) two at a time.

    python bench/homework_class.py                  # writes the class, grades it, prints times
    python bench/homework_class.py --keep class/    # also keeps the class folder to look at
    python bench/homework_class.py --write-only class/

Twenty files per assignment: five right (two of them notebooks), three with a typical
mistake, the untouched stub, and eleven that misbehave: a crash, an endless loop in an
exercise, an endless loop at the top level, a syntax error, a file that is not UTF-8, and
six attacks (os._exit in the first exercise, a capped fork bomb, 2 GiB written to stderr, a
4 GiB allocation, a kill of the grader, numpy patched to say "close" to everything).
Plus a numpy.py beside them, which must change nothing.

Each file is graded by ``grade_file`` in one of two threads (as ``chaingrad check --jobs
2`` does); the time of every file is printed, then the totals; then the whole class again
through ``chaingrad check --jobs 2 --report --feedback``, and how long a student's own
``chaingrad check homework/assignment1.py`` takes. Measurement only: nothing passes or
fails here.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SOLUTIONS = REPO / "tests" / "exercise_solutions"

# assignment -> (three typical mistakes, a line to crash, a line to loop forever)
CHANGES = {
    "1": ([("return (grad_out * out * (1 - out),)", "return (-grad_out * out * (1 - out),)"),
           ("dE_dy = (Y - target) * Y * (1 - Y)", "dE_dy = (Y - target)"),
           ("dE_dz = dE_dy * W2 * (1 - h ** 2)", "dE_dz = dE_dy * W2 * (1 - h)")],
          ("    return 1.0, 1.0, z, x + y", "    return 1.0, 1.0, z, x + y + None"),
          ("    df_dq = z\n", "    while True:\n        pass\n")),
    "2": ([("    model.zero_grad()\n", ""),
           ("self.delta = -self.lr * grad + self.alpha * self.delta",
            "self.delta = -self.lr * grad"),
           ("2 * error / n", "error / n")],
          ("    n = len(p)\n", "    n = len(p) / 0\n"),
          ("    return w - lr * grad", "    while w == w:\n        pass")),
    "3": ([("return w, False", "return w, True"),
           ("W[k] += lr * (x - W[k])", "W += lr * (x - W)"),
           ("    np.fill_diagonal(W, 0.0)\n", "")],
          ("    k = int(", "    k = len(W[99]) + int("),
          ("    y = 1.0 if w @ x >= 0 else 0.0\n", "    while True:\n        y = 1.0\n")),
}

# Code run when a hostile file is loaded (before its exercises). Each is bounded on its own.
ATTACKS = {
    "exits": "import os\nos._exit(0)\n",
    "fork_bomb": ("import os, signal\nfor _ in range(7):\n    try:\n        if os.fork() == 0:\n"
                  "            signal.alarm(20)\n    except OSError:\n        break\n"),
    "huge_stderr": ("import os\nfor _ in range(2048):\n    try:\n"
                    "        os.write(2, b'x' * (1 << 20))\n    except OSError:\n        break\n"),
    "memory_hog": "import numpy as np\nhog = np.ones(2**29)\n",
    "kills_grader": ("import os, signal\ntry:\n    os.kill(os.getppid(), signal.SIGKILL)\n"
                     "except OSError:\n    pass\n"),
    "patches_numpy": "import numpy as np\nnp.allclose = lambda *a, **k: True\n",
}


def write_class(out: Path) -> list[Path]:
    """The 60 submissions (and a numpy.py beside them); returns the files to grade."""
    import nbformat

    from chaingrad.lessons.exercises import builtin_assignments

    assignments = builtin_assignments()
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for key, (mistakes, crash, loop) in CHANGES.items():
        right = (SOLUTIONS / f"assignment{key}.py").read_text(encoding="utf-8")
        files = {f"right{n}.py": right for n in (1, 2, 3)}
        for n, (old, new) in enumerate(mistakes, 1):
            files[f"mistake{n}.py"] = _change(right, old, new)
        files["untouched.py"] = assignments[key].stub_file()
        files["crashes.py"] = _change(right, *crash)
        files["loops.py"] = _change(right, *loop)
        files["never_loads.py"] = right.replace(f"ASSIGNMENT = {key}\n",
                                                f"ASSIGNMENT = {key}\nwhile True:\n    pass\n")
        files["syntax_error.py"] = right.replace("def ", "def def ", 1)
        for name, attack in ATTACKS.items():
            files[f"{name}.py"] = right.replace(f"ASSIGNMENT = {key}\n",
                                                f"ASSIGNMENT = {key}\n{attack}")
        for name, text in files.items():
            path = out / f"a{key}_{name}"
            path.write_text(text, encoding="utf-8")
            written.append(path)
        path = out / f"a{key}_not_utf8.py"
        path.write_bytes(("# caf\u00e9 (saved as Latin-1)\n" + right).encode("latin-1"))
        written.append(path)
        for n in (1, 2):
            notebook = nbformat.v4.new_notebook()
            notebook.cells = [nbformat.v4.new_markdown_cell(f"# Assignment {key}"),
                              nbformat.v4.new_code_cell("%matplotlib inline"),
                              nbformat.v4.new_code_cell(right)]
            path = out / f"a{key}_notebook{n}.ipynb"
            path.write_text(nbformat.writes(notebook), encoding="utf-8")
            written.append(path)
    (out / "numpy.py").write_text("allclose = lambda *a, **k: True\n", encoding="utf-8")
    return sorted(written)


def _change(text: str, old: str, new: str) -> str:
    if old not in text:
        raise SystemExit(f"homework_class: the solution no longer contains {old!r}")
    return text.replace(old, new)


def grade(files: list[Path], jobs: int) -> None:
    """Grade every file, ``jobs`` at a time, and print each one's time and points."""
    from chaingrad.lessons.exercises import builtin_assignments
    from chaingrad.lessons.exercises.grader import grade_file
    from chaingrad.lessons.exercises.submissions import read_submission

    assignments = builtin_assignments()

    def one(path: Path):
        submission = read_submission(path, path.name)
        start = time.perf_counter()
        if submission.problem:  # not run: 0 of its assignment's points (a1_... -> 1)
            most = assignments[path.name[1]].points
            return path, time.perf_counter() - start, 0.0, most, submission.problem
        results = grade_file(str(path), (), source=submission.text, seed=1)
        seconds = time.perf_counter() - start
        return (path, seconds, sum(r.points for r in results),
                sum(r.max_points for r in results), "")

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        timed = list(pool.map(one, files))
    total = time.perf_counter() - start
    print(f"{'file':<28} {'seconds':>8} {'points':>8}")
    for path, seconds, points, most, problem in timed:
        print(f"{path.name:<28} {seconds:8.2f} {points:>4g}/{most:<3g}"
              + (f"  ({problem[:40]})" if problem else ""))
    times = sorted(t[1] for t in timed)
    print(f"\n{len(files)} files, --jobs {jobs}: {total:.1f} s in all, "
          f"{total / len(files):.2f} s per file; per file median {times[len(times) // 2]:.2f} s,"
          f" slowest {times[-1]:.2f} s; load average {os.getloadavg()[0]:.2f}")


def whole_class(folder: Path, jobs: int) -> None:
    """The same class through the command an instructor types, report and feedback too."""
    out = Path(tempfile.mkdtemp(prefix="chaingrad-report-"))
    try:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "chaingrad", "check", str(folder), "--jobs",
                        str(jobs), "--report", str(out / "grades.csv"), "--feedback",
                        str(out / "feedback")], cwd=out, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        seconds = time.perf_counter() - start
        rows = (out / "grades.csv").read_text(encoding="utf-8").count("(total)")
        print(f"`chaingrad check CLASS --jobs {jobs} --report grades.csv --feedback DIR`: "
              f"{seconds:.1f} s, {rows} students in the report")
    finally:
        shutil.rmtree(out, ignore_errors=True)


def student_check() -> None:
    """How long a student's own check of a right assignment 1 takes (three runs)."""
    folder = Path(tempfile.mkdtemp(prefix="chaingrad-student-"))
    try:
        homework = folder / "assignment1.py"
        shutil.copyfile(SOLUTIONS / "assignment1.py", homework)
        seconds = []
        for _ in range(3):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "chaingrad", "check", str(homework)],
                           cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            seconds.append(time.perf_counter() - start)
        print(f"a student's `chaingrad check homework/assignment1.py`: "
              f"{', '.join(f'{s:.2f}' for s in seconds)} s")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", metavar="DIR", help="write the class into DIR and keep it")
    parser.add_argument("--write-only", metavar="DIR", help="only write the class into DIR")
    parser.add_argument("--jobs", type=int, default=2)
    arguments = parser.parse_args(argv)
    if arguments.write_only:
        files = write_class(Path(arguments.write_only))
        print(f"wrote {len(files)} submissions into {arguments.write_only}/")
        return 0
    folder = Path(arguments.keep or tempfile.mkdtemp(prefix="chaingrad-class-"))
    try:
        files = write_class(folder)
        grade(files, arguments.jobs)
        whole_class(folder, arguments.jobs)
        student_check()
    finally:
        if not arguments.keep:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
