"""Gradescope: the results.json it reads, and the autograder.zip it runs.

Gradescope runs ``run_autograder`` once per submission in a container of its own, with the
submission in ``/autograder/submission``, and shows students ``/autograder/results/
results.json`` (https://gradescope-autograders.readthedocs.io/en/latest/specs/): a score
and a list of tests, each with a name, score, max_score, output and visibility.

Each exercise is one test. An exercise with hidden cases is two: its worked cases
(visible, no points) and its hidden cases (all its points, shown after the due date).
"""

from __future__ import annotations

import io
import os
import stat
import zipfile
from pathlib import Path

from .reports import Graded

VISIBILITIES = ("hidden", "after_due_date", "after_published", "visible")


def results_json(graded: list[Graded], seconds: float | None = None,
                 problem: str = "") -> dict:
    """Gradescope's results for one submission (the best of its files when it has several)."""
    if not graded:
        return {"score": 0.0, "output": problem or "No file to grade was handed in.",
                "visibility": "visible", "stdout_visibility": "hidden", "tests": []}
    best = max(graded, key=lambda g: (g.points, -graded.index(g)))
    tests = []
    for number, r in enumerate(best.results, 1):
        tests += _tests(r, number)
    lines = [f"{best.points:g} of {best.max_points:g} points for {best.file}."]
    lines += best.notes
    others = [g for g in graded if g is not best]
    if others:
        lines.append("Also graded (the best file counts): " + "; ".join(
            f"{g.file}: {g.points:g} of {g.max_points:g}" for g in others))
    results = {"score": float(sum(t["score"] for t in tests)), "output": "\n".join(lines),
               "visibility": "visible", "stdout_visibility": "hidden", "tests": tests}
    if seconds is not None:
        results["execution_time"] = round(seconds)
    return results


def _tests(r, number: int) -> list[dict]:
    """One exercise as Gradescope tests: one, or worked cases + hidden cases."""
    passed = r.result == "pass"
    output = r.message
    if r.output and r.output.strip() and not passed:
        output = f"{output}\n\nYour code printed:\n{r.output.rstrip()}".strip()
    if not getattr(r, "hidden_cases", 0):
        return [_test(r.exercise, r.points, r.max_points, passed, output, "visible", number)]
    hidden_failed = bool(getattr(r, "hidden", ""))
    public_passed = passed or hidden_failed
    public = _test(f"{r.exercise}: worked cases", 0.0, 0.0, public_passed,
                   "" if public_passed else output, "visible", f"{number}.1")
    if passed:
        said = "passed every hidden case"
    elif hidden_failed:
        said = output
    else:
        said = "not graded: the worked cases failed first"
    hidden = _test(f"{r.exercise}: hidden cases", r.points, r.max_points, passed, said,
                   "after_due_date", f"{number}.2")
    return [public, hidden]


def _test(name: str, score: float, max_score: float, passed: bool, output: str,
          visibility: str, number) -> dict:
    return {"name": name, "number": str(number), "score": float(score),
            "max_score": float(max_score), "status": "passed" if passed else "failed",
            "output": output, "visibility": visibility}


def validate(results: dict) -> list[str]:
    """What is wrong with a results.json by Gradescope's specification ([] when valid)."""
    problems = []
    if not isinstance(results.get("score", 0.0), (int, float)):
        problems.append("score is not a number")
    tests = results.get("tests", [])
    if not isinstance(tests, list):
        return problems + ["tests is not a list"]
    for t in tests:
        for key, kind in (("name", str), ("score", (int, float)),
                          ("max_score", (int, float)), ("output", str)):
            if not isinstance(t.get(key), kind):
                problems.append(f"a test's {key} is missing or not a {kind}: {t}")
        if t.get("visibility", "visible") not in VISIBILITIES:
            problems.append(f"a test's visibility is {t.get('visibility')!r}")
        if isinstance(t.get("score"), (int, float)) and isinstance(t.get("max_score"),
                                                                   (int, float)):
            if not 0 <= t["score"] <= t["max_score"]:
                problems.append(f"a test's score is outside 0..max_score: {t}")
    for key in ("visibility", "stdout_visibility"):
        if results.get(key, "visible") not in VISIBILITIES:
            problems.append(f"{key} is {results.get(key)!r}")
    return problems


# ------------------------------------------------------------------ the autograder


SETUP = """\
#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's image.
set -euo pipefail
apt-get install -y python3 python3-venv python3-pip graphviz
python3 -m venv /autograder/venv
/autograder/venv/bin/pip install --upgrade pip
/autograder/venv/bin/pip install {requirement}
"""

RUN = """\
#!/usr/bin/env bash
# Gradescope runs this once per submission; the grade goes to results/results.json.
# AUTOGRADER_ROOT and CHAINGRAD_PYTHON let you try it outside Gradescope.
ROOT="${{AUTOGRADER_ROOT:-/autograder}}"
PYTHON="${{CHAINGRAD_PYTHON:-$ROOT/venv/bin/python}}"
mkdir -p "$ROOT/results"
cd "$ROOT" || exit 1
"$PYTHON" -m chaingrad check "$ROOT/submission" --assignment {assignment} \\
    {exercises}--timeout {timeout:g} --gradescope "$ROOT/results/results.json"
status=$?
if [ ! -s "$ROOT/results/results.json" ]; then
    printf '{{"score": 0, "output": "The autograder could not grade this submission (chaingrad check exit code %s). Ask your instructor.", "tests": []}}\\n' "$status" > "$ROOT/results/results.json"
fi
exit 0
"""


def autograder_files(assignment: str, exercise_file: str | None, timeout: float,
                     requirement: str) -> dict[str, tuple[bytes, int]]:
    """name -> (content, mode) of the autograder.zip's files."""
    files: dict[str, tuple[bytes, int]] = {}
    exercises = ""
    if exercise_file is not None:
        name = Path(exercise_file).name
        files[name] = (Path(exercise_file).read_bytes(), 0o644)
        exercises = f'--exercises "$ROOT/source/{name}" '
    files["setup.sh"] = (SETUP.format(requirement=requirement).encode(), 0o755)
    files["run_autograder"] = (RUN.format(assignment=assignment, exercises=exercises,
                                          timeout=timeout).encode(), 0o755)
    return files


def write_zip(path: str | os.PathLike, files: dict[str, tuple[bytes, int]]) -> None:
    """A zip with the files at its root (Gradescope looks for them there), modes kept."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, (content, mode) in files.items():
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
            info.external_attr = (stat.S_IFREG | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, content)
    from .reports import write_atomically

    write_atomically(path, buffer.getvalue())
