"""The grader: run each exercise's check on a student's file and say what happened.

Every file is graded in a subprocess of its own (``python -m
chaingrad.lessons.exercises.grader FILE --results R.jsonl ...``), so a crash or an endless
loop in one submission never stops the others. Inside that subprocess each check runs
under a time limit (a timer signal where the system has one). The child writes a line
when it starts an exercise and one with each result; the parent reads them, kills a child
that stays in one exercise past its limit (the student's code may have silenced the
timer), and starts a new child for the exercises after it.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import importlib
import importlib.util
import io
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from types import ModuleType

from chaingrad.autograd import Op

from .api import ASSIGNMENTS, Assignment, Exercise, Wrong

BUILTIN = ("assignment1", "assignment2", "assignment3")
DEFAULT_TIMEOUT = 3.0  # seconds per exercise (times the exercise's cost)
STARTUP_SECONDS = 10.0  # the child's own start: Python, numpy, chaingrad
PRINTED_LIMIT = 2000  # characters of a student's print() output kept per exercise
GRACE_SECONDS = 2.0  # how long past its limit a child may run before it is killed
ASSIGNMENT_LINE = re.compile(r"""^ASSIGNMENT\s*=\s*['"]?(\w+)""", re.MULTILINE)


@dataclass
class Result:
    """One exercise of one file: pass, fail or error, with points and a sentence."""

    file: str
    exercise: str
    result: str  # "pass", "fail" or "error"
    points: float
    max_points: float
    message: str = ""
    picture: str = ""
    output: str = ""  # what the student's code printed during the check (the start of it)


class TimeLimit(BaseException):
    """The time limit ran out (a BaseException: a student's ``except Exception`` can't eat it)."""


# ------------------------------------------------------------------ which exercises


def builtin_assignments() -> dict[str, Assignment]:
    """The course's three assignments (imported on first use)."""
    for name in BUILTIN:
        importlib.import_module(f"{__package__}.{name}")
    return {key: a for key, a in ASSIGNMENTS.items() if key in ("1", "2", "3")}


_loaded: dict[Path, dict[str, Assignment]] = {}
_loading = threading.Lock()


def load_exercise_file(path: str | os.PathLike) -> dict[str, Assignment]:
    """Import an instructor's file of @exercise definitions (once); return its assignments."""
    path = Path(path).resolve()
    with _loading:
        if path not in _loaded:
            _loaded[path] = _import_exercises(path)
        return _loaded[path]


def _import_exercises(path: Path) -> dict[str, Assignment]:
    before = {key: len(a.exercises) for key, a in ASSIGNMENTS.items()}
    spec = importlib.util.spec_from_file_location(f"exercises_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise ValueError(f"cannot load exercises from {str(path)!r}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    from . import api

    api._current["key"] = path.stem  # exercises without an assignment= belong to the file
    try:
        spec.loader.exec_module(module)
    except SyntaxError as error:
        raise ValueError(f"{str(path)!r}, line {error.lineno}: {error.msg}") from None
    except Exception as error:
        line = next((f", line {frame.lineno}" for frame in reversed(
            traceback.extract_tb(error.__traceback__)) if Path(frame.filename) == path), "")
        raise ValueError(f"{str(path)!r}{line}: {type(error).__name__}: {error}") from None
    finally:
        api._current.pop("key", None)
    made = {key: a for key, a in ASSIGNMENTS.items() if len(a.exercises) > before.get(key, 0)}
    if not made:
        raise ValueError(f"{str(path)!r} defines no exercises (use the @exercise decorator)")
    return made


def declared_assignment(path: str | os.PathLike) -> str | None:
    """The ``ASSIGNMENT = ...`` a stub file declares, read without running the file."""
    try:
        tree = ast.parse(Path(path).read_text(encoding="utf-8"))
    except (SyntaxError, ValueError, OSError):
        tree = None
    for node in getattr(tree, "body", []):
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and getattr(node.targets[0], "id", None) == "ASSIGNMENT"
                and isinstance(node.value, ast.Constant)):
            return str(node.value.value)
    if tree is None:  # Python cannot read the file: look for the line itself
        try:
            found = ASSIGNMENT_LINE.search(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            found = None
        return found.group(1) if found else None
    return None


def choose_assignment(path: str | os.PathLike, assignments: dict[str, Assignment],
                      module: ModuleType | None = None) -> Assignment | None:
    """The assignment a file answers: its ASSIGNMENT line, else the one whose names it has,
    else the only one there is."""
    key = declared_assignment(path)
    if key in assignments:
        return assignments[key]
    if len(assignments) == 1:
        return next(iter(assignments.values()))
    if module is not None:
        overlap = {k: sum(hasattr(module, e.name) for e in a.exercises)
                   for k, a in assignments.items()}
        best = max(overlap, key=overlap.get)
        if overlap[best]:
            return assignments[best]
    return None


# ------------------------------------------------------- inside the child: run checks


_previous_handler: list = []


def _alarm(seconds: float) -> None:
    """Arm (seconds > 0) or disarm (0) the timer that raises TimeLimit in this thread.

    Only the main thread of a process with SIGALRM has it (not Windows); elsewhere the
    parent's watch is the only limit. Disarming puts the previous handler back.
    """
    if not hasattr(signal, "setitimer") or threading.current_thread() is not \
            threading.main_thread():
        return
    if seconds > 0:
        def expire(signum, frame):
            raise TimeLimit()

        _previous_handler.append(signal.signal(signal.SIGALRM, expire))
        signal.setitimer(signal.ITIMER_REAL, seconds)
    else:
        signal.setitimer(signal.ITIMER_REAL, 0)
        while _previous_handler:
            signal.signal(signal.SIGALRM, _previous_handler.pop())


def _student_frame(error: BaseException, path: Path):
    """The deepest frame of the traceback that is in the student's file (or None)."""
    found = None
    tb = error.__traceback__
    while tb is not None:
        if Path(tb.tb_frame.f_code.co_filename).resolve() == path:
            found = tb
        tb = tb.tb_next
    return found


def _function_name(frame) -> str:
    """``Class.method`` as Python 3.11's co_qualname says; on 3.10, found in the module."""
    code = frame.f_code
    if hasattr(code, "co_qualname"):
        return code.co_qualname
    for value in list(frame.f_globals.values()):
        if isinstance(value, type):
            for attribute in vars(value).values():
                function = getattr(attribute, "__func__", attribute)
                if getattr(function, "__code__", None) is code:
                    return f"{value.__name__}.{code.co_name}"
    return code.co_name


def _where(frame) -> str:
    name = _function_name(frame.tb_frame)
    place = "top level" if name == "<module>" else f"in {name}"
    return f"line {frame.tb_lineno} of your file ({place})"


def explain_error(error: BaseException, path: Path, limit: float) -> tuple[str, str]:
    """(result, sentence) for an exception raised while a check ran the student's code."""
    frame = _student_frame(error, path)
    if isinstance(error, TimeLimit):
        where = f" at {_where(frame)}" if frame is not None else ""
        return "error", (f"stopped after {limit:g} s{where}: the code did not finish (an "
                         "endless loop, or training for too long?)")
    if isinstance(error, NotImplementedError) and frame is not None:
        name = _function_name(frame.tb_frame)
        return "fail", (f"not written yet: {name} still raises NotImplementedError (line "
                        f"{frame.tb_lineno}); its docstring has the formula and a worked number.")
    what = f"{type(error).__name__}: {error}".rstrip(": ")
    if frame is not None:
        return "error", f"your code raised {what} at {_where(frame)}."
    return "error", f"running your code raised {what}."


def _draw(graph, pictures: Path, stem: str, exercise: Exercise) -> str:
    """Draw the graph with the student's gradients, wrong ones marked; "" if it can't."""
    try:
        from chaingrad import viz

        pictures.mkdir(parents=True, exist_ok=True)
        target = pictures / f"{stem}_{exercise.label().replace(' ', '_')}.svg"
        return str(viz.draw(graph, target, check=True))
    except Exception as error:  # a picture is a bonus: never lose the verdict over it
        return f"(no picture: {type(error).__name__}: {error})"


def load_student(path: Path, limit: float) -> ModuleType:
    """Run the student's file as a module (its folder importable), under a time limit."""
    spec = importlib.util.spec_from_file_location(f"student_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # as an import would (a @dataclass in it needs this)
    sys.path.insert(0, str(path.parent))
    _alarm(limit)
    try:
        spec.loader.exec_module(module)
    finally:
        _alarm(0)
    return module


def run_checks(path: str | os.PathLike, assignments: dict[str, Assignment],
               timeout: float = DEFAULT_TIMEOUT, pictures: str | os.PathLike | None = None,
               report: Callable[[Result], None] = lambda r: None,
               skip: Iterable[str] = (),
               starting: Callable[[str], None] = lambda label: None) -> list[Result]:
    """Grade one file in this process: load it, run every check of its assignment (except
    the exercises labelled in ``skip``), and pass each result to ``report`` as it comes."""
    path = Path(path).resolve()
    # Leave this process as it was: the student's ops must not replace the engine's for
    # good, nor their folder stay importable.
    registry, search_path = dict(Op.registry), list(sys.path)
    try:
        return _run_checks(path, assignments, timeout, pictures, report, set(skip), starting)
    finally:
        Op.registry.clear()
        Op.registry.update(registry)
        sys.path[:] = search_path
        sys.modules.pop(f"student_{path.stem}", None)


def _run_checks(path: Path, assignments: dict[str, Assignment], timeout: float,
                pictures: str | os.PathLike | None, report: Callable[[Result], None],
                skip: set[str], starting: Callable[[str], None]) -> list[Result]:
    shown = str(path)
    assignment = choose_assignment(path, assignments)
    results: list[Result] = []

    def emit(result: Result) -> None:
        results.append(result)
        report(result)

    try:
        module = load_student(path, timeout)
    except BaseException as error:  # noqa: B036 (the student's file may raise anything)
        if isinstance(error, KeyboardInterrupt):
            raise
        _, why = explain_error(error, path, timeout)
        if isinstance(error, SyntaxError):
            why = f"Python cannot read line {error.lineno}: {error.msg}."
        elif isinstance(error, SystemExit):
            why = "it calls exit() while loading."
        message = f"your file could not be loaded: {why}"
        exercises = assignment.exercises if assignment else []
        for e in exercises:
            if e.label() not in skip:
                emit(Result(shown, e.label(), "error", 0.0, e.points, message))
        if not exercises:
            emit(Result(shown, "(file)", "error", 0.0, 0.0, message))
        return results
    assignment = assignment or choose_assignment(path, assignments, module)
    if assignment is None:
        names = ", ".join(sorted(assignments))
        emit(Result(shown, "(file)", "error", 0.0, 0.0,
                    f"cannot tell which assignment this file answers ({names}): add a line "
                    "such as ASSIGNMENT = 1, as the stub file has"))
        return results
    for e in assignment.exercises:
        if e.label() not in skip:
            starting(e.label())
            emit(_run_one(e, module, path, timeout, pictures))
    return results


def _run_one(e: Exercise, module: ModuleType, path: Path, timeout: float,
             pictures: str | os.PathLike | None) -> Result:
    shown = str(path)
    if not hasattr(module, e.name):
        return Result(shown, e.label(), "fail", 0.0, e.points,
                      f"your file defines no {e.name}: keep the name the stub gave it.")
    limit = timeout * e.cost
    printed = Printed()
    _alarm(limit)
    try:
        with contextlib.redirect_stdout(printed):
            e.check(module)
    except Wrong as wrong:
        _alarm(0)
        picture = ""
        if pictures is not None and wrong.graph is not None:
            picture = _draw(wrong.graph, Path(pictures), path.stem, e)
        return Result(shown, e.label(), "fail", 0.0, e.points, wrong.message, picture,
                      printed.text())
    except BaseException as error:  # noqa: B036 (a student's error is data)
        _alarm(0)
        if isinstance(error, KeyboardInterrupt):
            raise
        result, message = explain_error(error, path, limit)
        return Result(shown, e.label(), result, 0.0, e.points, message, "", printed.text())
    finally:
        _alarm(0)
    return Result(shown, e.label(), "pass", e.points, e.points, output=printed.text())


class Printed(io.TextIOBase):
    """Where a student's print() goes while a check runs: the first PRINTED_LIMIT
    characters are kept (an endless print loop must not fill the memory)."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if self.size < PRINTED_LIMIT:
            self.parts.append(text[:PRINTED_LIMIT - self.size])
            self.size += len(self.parts[-1])
        return len(text)

    def text(self) -> str:
        text = "".join(self.parts)
        return text + (" ..." if self.size >= PRINTED_LIMIT else "")


# ------------------------------------------------ outside: one subprocess per file


def grade_file(path: str | os.PathLike, exercise_files: Iterable[str] = (),
               timeout: float = DEFAULT_TIMEOUT,
               pictures: str | os.PathLike | None = None) -> list[Result]:
    """Grade one file in a subprocess of its own; its crash or endless loop is a result.

    The parent watches the child: an exercise that runs past its limit (plus a grace of
    GRACE_SECONDS, in case the child's own timer could not stop it) gets the child killed,
    and a new child grades the exercises after it (at most three times).
    """
    path = Path(path).resolve()
    exercise_files = [str(Path(f).resolve()) for f in exercise_files]
    planned = choose_assignment(path, _assignments(exercise_files))
    limits = {e.label(): timeout * e.cost for e in (planned.exercises if planned else [])}
    results: list[Result] = []
    code, complaint = 0, ""
    for _ in range(3):
        skip = {r.exercise for r in results}
        new, code, complaint, stuck = _child(path, exercise_files, timeout, pictures, skip,
                                             limits)
        results += new
        if code is not None:
            break
        if stuck is None:  # it never got past loading its file: nothing more to try
            complaint = (f"the grader stopped your file after {STARTUP_SECONDS + timeout:g} s "
                         "while loading it (an endless loop at the top level?)")
            break
        limit = limits.get(stuck, timeout) + GRACE_SECONDS
        points = next((e.points for e in planned.exercises if e.label() == stuck), 0.0) \
            if planned else 0.0
        results.append(Result(str(path), stuck, "error", 0.0, points,
                              f"the grader stopped your file after {limit:g} s in this "
                              "exercise (an endless loop that ignores the time limit?)"))
    return _complete(path, results, planned, code, complaint)


def _child(path: Path, exercise_files: list[str], timeout: float, pictures, skip: set[str],
           limits: dict[str, float]) -> tuple[list[Result], int | None, str, str | None]:
    """Run the grading child once and watch it. Returns its results, its exit code (None
    when it had to be killed), its stderr and the exercise it was in when killed."""
    with tempfile.TemporaryDirectory(prefix="chaingrad-check-") as scratch:
        results_file = Path(scratch) / "results.jsonl"
        command = [sys.executable, "-m", __name__, str(path), "--results", str(results_file),
                   "--timeout", str(timeout)]
        for f in exercise_files:
            command += ["--exercises", f]
        for label in sorted(skip):
            command += ["--skip", label]
        if pictures is not None:
            command += ["--pictures", str(Path(pictures).resolve())]
        with open(Path(scratch) / "stderr.txt", "w+b") as stderr:
            child = subprocess.Popen(command, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=stderr,
                                     cwd=path.parent, env=_child_env())
            current, killed = None, False
            deadline = time.monotonic() + STARTUP_SECONDS + timeout
            while child.poll() is None:
                time.sleep(0.05)
                running = _running(results_file)
                if running != current:
                    current = running
                    deadline = time.monotonic() + limits.get(running, timeout) + GRACE_SECONDS
                if time.monotonic() > deadline:
                    child.kill()
                    child.wait()
                    killed = True
            code = None if killed else child.returncode
            stderr.seek(0)
            complaint = stderr.read()[-2000:].decode("utf-8", "replace").strip()
        return _read_results(results_file), code, complaint, current


def _running(results_file: Path) -> str | None:
    """The exercise the child has started and not finished (from its last line), or None."""
    try:
        with open(results_file, "rb") as f:
            lines = f.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return None
    last = json.loads(lines[-1]) if lines and lines[-1].endswith("}") else {}
    return last.get("start")


def _child_env() -> dict[str, str]:
    """The child's environment: one numpy thread (grading runs several files at once)."""
    env = dict(os.environ)
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(name, "1")
    # From a source checkout that is not installed, the child must find this chaingrad too.
    root = Path(__file__).resolve().parents[2]
    if (root / "chaingrad" / "__init__.py").is_file():
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), env.get("PYTHONPATH")]))
    return env


def _read_results(path: Path) -> list[Result]:
    if not path.exists():
        return []
    results = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            results.append(Result(**json.loads(line)))
        except (ValueError, TypeError):
            continue
    return results


def _complete(path: Path, results: list[Result], planned: Assignment | None,
              code: int | None, complaint: str) -> list[Result]:
    """Fill in the exercises a killed or crashed child never reported, in their order."""
    if planned is None and results:
        return results
    done = {r.exercise: r for r in results}
    if code is None:
        why = complaint or "not graded: the grader had to stop your file too often"
    else:
        last = complaint.splitlines()[-1] if complaint else f"exit code {code}"
        why = f"the grader's process for your file ended early: {last}"
    if planned is None:
        return [Result(str(path), "(file)", "error", 0.0, 0.0, why)]
    return [done.get(e.label()) or Result(str(path), e.label(), "error", 0.0, e.points, why)
            for e in planned.exercises]


def grade_files(paths: Iterable[str | os.PathLike], exercise_files: Iterable[str] = (),
                timeout: float = DEFAULT_TIMEOUT, pictures: str | os.PathLike | None = None,
                jobs: int | None = None) -> dict[str, list[Result]]:
    """Grade many files, ``jobs`` subprocesses at a time; file -> its results, in order."""
    paths = [str(p) for p in paths]
    exercise_files = list(exercise_files)
    jobs = jobs or max(1, min(4, os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        graded = pool.map(lambda p: grade_file(p, exercise_files, timeout, pictures), paths)
        return dict(zip(paths, graded))


def _assignments(exercise_files: Iterable[str]) -> dict[str, Assignment]:
    if not exercise_files:
        return builtin_assignments()
    chosen: dict[str, Assignment] = {}
    for f in exercise_files:
        chosen.update(load_exercise_file(f))
    return chosen


# ------------------------------------------------------------------ the child's main


def main(argv: list[str] | None = None) -> int:
    """The child: grade one file, appending each result as a JSON line to --results."""
    parser = argparse.ArgumentParser(prog="python -m chaingrad.lessons.exercises.grader")
    parser.add_argument("file")
    parser.add_argument("--results", required=True)
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT)
    parser.add_argument("--exercises", action="append", default=[])
    parser.add_argument("--pictures")
    parser.add_argument("--skip", action="append", default=[], help="exercises not to run")
    arguments = parser.parse_args(argv)
    assignments = _assignments(arguments.exercises)
    with open(arguments.results, "a", encoding="utf-8") as out:
        def report(result: Result) -> None:
            out.write(json.dumps(asdict(result)) + "\n")
            out.flush()

        def starting(label: str) -> None:
            out.write(json.dumps({"start": label}) + "\n")
            out.flush()

        run_checks(arguments.file, assignments, arguments.timeout, arguments.pictures, report,
                   skip=set(arguments.skip), starting=starting)
    return 0


if __name__ == "__main__":
    sys.exit(main())
