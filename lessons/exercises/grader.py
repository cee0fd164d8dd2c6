"""The grader: run each exercise's check on a student's file and say what happened.

A grade is decided only in this process, where no student code runs. Each submission
runs in a child process of its own (:mod:`.child`, started and watched by
:mod:`.session`): a private temporary folder holding a copy of the file only, isolated
Python (nothing beside the file is importable), a scrubbed environment, its own session,
memory / CPU / file-size / process limits, and an unprivileged user (or a process space)
of its own. The checks run here: each ``student.f(x)`` in a check is a request to the
child, which calls the student's code on the inputs the check chose and answers with
plain data (:mod:`.wire`; never pickle). The check compares that data with its own
reference; the points come from this process's own list of exercises.

Time is CPU time, measured here from the child's /proc entry: one budget for the file's
top-level code, one per exercise (``--timeout`` × the exercise's cost). A crash, a kill or
an exit in exercise k fails k with a sentence; the next exercise gets a fresh child.
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import importlib.util
import os
import random
import re
import tempfile
import threading
import time
import traceback
import zlib
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import api
from .api import ASSIGNMENTS, Assignment, ChildGone, Exercise, StudentError, Wrong
from .session import (  # noqa: F401 (the prefixes and stop_all: for the command and tests)
    MEMORY_BYTES,
    Session,
    Student,
    namespace_prefix,
    sandbox_prefix,
    stop_all,
)

BUILTIN = ("assignment1", "assignment2", "assignment3", "assignment4", "assignment5",
           "assignment6")
DEFAULT_TIMEOUT = 3.0  # CPU seconds per exercise (times the exercise's cost)
LOAD_SECONDS = 5.0  # CPU seconds for a file's top-level code (or --timeout if larger)
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
    hidden: str = ""  # the kind of hidden case that failed ("" when none did)
    hidden_cases: int = 0  # how many hidden cases the exercise has (0: public cases only)
    seed: int = 0  # the run's seed (--seed re-grades exactly)


# ------------------------------------------------------------------ which exercises


def builtin_assignments() -> dict[str, Assignment]:
    """The course's assignments (imported on first use)."""
    keys = []
    for name in BUILTIN:
        if importlib.util.find_spec(f"{__package__}.{name}") is not None:
            importlib.import_module(f"{__package__}.{name}")
            keys.append(name.removeprefix("assignment"))
    return {key: ASSIGNMENTS[key] for key in keys if key in ASSIGNMENTS}


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
    for a in made.values():
        a.source = a.source or path.name
    return made


def _tree(text: str | None) -> ast.Module | None:
    if text is None:
        return None
    try:
        return ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def declared_assignment(path: str | os.PathLike | None = None,
                        text: str | None = None) -> str | None:
    """The ``ASSIGNMENT = ...`` a stub file declares, read without running the file."""
    if text is None:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, ValueError):
            return None
    tree = _tree(text)
    for node in getattr(tree, "body", []):
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and getattr(node.targets[0], "id", None) == "ASSIGNMENT"
                and isinstance(node.value, ast.Constant)):
            return str(node.value.value)
    if tree is None:  # Python cannot read the file: look for the line itself
        found = ASSIGNMENT_LINE.search(text)
        return found.group(1) if found else None
    return None


def defined_names(text: str) -> set[str]:
    """The names a file defines at its top level (read, not run)."""
    names: set[str] = set()
    for node in getattr(_tree(text), "body", []):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names


def choose_assignment(path: str | os.PathLike | None, assignments: dict[str, Assignment],
                      text: str | None = None) -> Assignment | None:
    """The assignment a file answers: its ASSIGNMENT line, else the one whose names it
    defines, else the only one there is."""
    key = declared_assignment(path, text)
    if key in assignments:
        return assignments[key]
    if len(assignments) == 1:
        return next(iter(assignments.values()))
    if text is not None:
        names = defined_names(text)
        overlap = {k: sum(e.name in names for e in a.exercises) for k, a in assignments.items()}
        best = max(overlap, key=overlap.get)
        if overlap[best]:
            return assignments[best]
    return None


# --------------------------------------------------- what the source says (never run)


CHAINGRAD_ROOTS = ("chaingrad",)
SAFE_ROOTS = ("np", "numpy", "math", "self", "cls", "random")
# What a file may import when one of its exercises forbids chaingrad's own names: enough for
# every honest answer, and nothing that reaches other modules by name (sys, importlib, gc...).
ALLOWED_IMPORTS = ("numpy", "math", "cmath", "random", "chaingrad", "typing", "functools",
                   "itertools", "collections", "dataclasses", "abc", "numbers", "copy", "time",
                   "statistics", "heapq", "bisect", "enum", "fractions", "decimal", "string",
                   "json", "pprint", "warnings", "__future__")
# Names and attributes that load code or reach objects by name, behind the source's back.
DYNAMIC_NAMES = frozenset({"__import__", "__builtins__", "eval", "exec", "compile", "globals",
                           "locals", "vars", "breakpoint", "__loader__", "__spec__"})
NAMED_LOOKUPS = ("getattr", "setattr", "delattr", "hasattr")  # allowed with a plain "name"
DYNAMIC_ATTRIBUTES = frozenset({
    "modules", "registry", "import_module", "__dict__", "__globals__", "__builtins__",
    "__subclasses__", "__self__", "__loader__", "__spec__", "__import__", "__code__",
    "__closure__", "__traceback__", "f_globals", "f_locals", "f_builtins", "f_back",
    "tb_frame", "gi_frame", "cr_frame", "ag_frame", "_getframe", "get_referrers",
    "get_referents", "get_objects", "sys", "os", "builtins", "importlib", "gc", "inspect",
    "ctypes", "pickle", "marshal", "runpy", "loads", "lessons", "__defaults__", "__kwdefaults__", "__getattribute__", "__getattr__",
    "attrgetter", "methodcaller", "distutils", "f2py", "exec_command", "system", "popen"})


def _definition(tree: ast.Module, name: str) -> list[ast.AST]:
    """The top-level definition of ``name`` and the top-level functions and classes it
    uses, by name, transitively (the helpers an answer calls)."""
    defs = {n.name: n for n in tree.body
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    found, todo = [], [name]
    while todo:
        current = todo.pop()
        node = defs.pop(current, None)
        if node is None:
            continue
        found.append(node)
        todo += [n.id for n in ast.walk(node) if isinstance(n, ast.Name) and n.id in defs]
    return found


def refusal(text: str, exercise: Exercise) -> str | None:
    """Why the source of an answer breaks the exercise's rules (None when it does not)."""
    if not (exercise.by_hand or exercise.forbid):
        return None
    tree = _tree(text)
    if tree is None:
        return None
    nodes = [n for d in _definition(tree, exercise.name) for n in ast.walk(d)]
    if exercise.by_hand:
        for node in nodes:
            if isinstance(node, ast.Attribute) and node.attr in ("backward", "backward_steps"):
                return (f"refused: your {exercise.name} calls backward() (line {node.lineno}); "
                        "this exercise asks for the gradient by hand, with the chain rule.")
    if not exercise.forbid:
        return None
    return _file_refusal(tree, exercise) or _reach_refusal(tree, nodes, exercise)


def _refused(exercise: Exercise, what: str, node: ast.AST) -> str:
    return (f"refused: your file {what} (line {getattr(node, 'lineno', '?')}); "
            f"{exercise.name} asks you to write it yourself, so a file that has it may "
            f"import only {', '.join(m for m in ALLOWED_IMPORTS if m != '__future__')} "
            "(no dynamic imports or introspection).")


def _module_reach(chain: list[str]) -> str | None:
    """The first module outside ALLOWED_IMPORTS that the attribute chain ``a.b.c`` reaches
    from an allowed module (``random._os``, ``typing.sys``), found on the parent's own
    modules (trusted: nothing of the student's is imported)."""
    import importlib
    import types
    import warnings
    if chain[0] not in ALLOWED_IMPORTS:
        return None
    try:
        value: object = importlib.import_module(chain[0])
    except Exception:
        return None
    for index, name in enumerate(chain[1:], 1):
        try:
            with warnings.catch_warnings():  # np.<deprecated name> warns, or raises
                warnings.simplefilter("ignore")
                value = getattr(value, name, None)
        except Exception:  # noqa: BLE001 (a module's own __getattr__: not a module)
            return None
        if not isinstance(value, types.ModuleType):
            return None
        if value.__name__.split(".")[0] not in ALLOWED_IMPORTS:
            return ".".join(chain[:index + 1])
    return None


def _grader_own(module: str) -> bool:
    """chaingrad.lessons: the course's own code, some of which runs beside the student's
    (assignment 4's helpers): a submission that reaches it could replace it."""
    return "lessons" in module.split(".")


def _file_refusal(tree: ast.Module, exercise: Exercise) -> str | None:
    """Anywhere in the file: an import outside ALLOWED_IMPORTS, an import of a forbidden
    chaingrad name under any alias, or a dynamic import / introspection."""
    forbidden, imported = set(exercise.forbid), _imported_as(tree)
    plain_lookups = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call) and
                     isinstance(n.func, ast.Name) and len(n.args) > 1 and
                     isinstance(n.args[1], ast.Constant) and isinstance(n.args[1].value, str)
                     and n.args[1].value not in forbidden | DYNAMIC_ATTRIBUTES}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] not in ALLOWED_IMPORTS or _grader_own(a.name):
                    return _refused(exercise, f"imports {a.name}", node)
                if forbidden & set(a.name.split(".")):
                    return _refused(exercise, f"imports chaingrad's own {a.name}", node)
        elif isinstance(node, ast.ImportFrom):
            module = "." * node.level + (node.module or "")
            if node.level or module.split(".")[0] not in ALLOWED_IMPORTS or \
                    _grader_own(module) or any(_grader_own(a.name) for a in node.names):
                return _refused(exercise, f"imports from {module}", node)
            for a in node.names:
                if module.startswith("chaingrad") and (
                        a.name in forbidden or a.name == "*" or forbidden & set(module.split("."))):
                    return _refused(exercise, f"imports chaingrad's own {module}.{a.name}", node)
                if a.name in DYNAMIC_ATTRIBUTES | DYNAMIC_NAMES:
                    return _refused(exercise, f"imports {module}.{a.name}", node)
                if a.name not in ("*",) and _module_reach(module.split(".") + [a.name]):
                    return _refused(exercise, f"imports the module {module}.{a.name}", node)
        elif isinstance(node, ast.Name) and node.id in DYNAMIC_NAMES:
            return _refused(exercise, f"uses {node.id}", node)
        elif isinstance(node, ast.Attribute) and node.attr in DYNAMIC_ATTRIBUTES:
            return _refused(exercise, f"uses .{node.attr}", node)
        elif isinstance(node, ast.Attribute):
            chain, root = [node.attr], node.value
            while isinstance(root, ast.Attribute):
                chain.insert(0, root.attr)
                root = root.value
            if isinstance(root, ast.Name) and root.id in imported:
                reached = _module_reach(imported[root.id] + chain)
                if reached:
                    return _refused(exercise, f"reaches the module {reached}", node)
        elif isinstance(node, ast.Name) and node.id in NAMED_LOOKUPS and \
                id(node) not in plain_lookups:
            return _refused(exercise, f"uses {node.id} with a computed or forbidden name", node)
        elif isinstance(node, ast.keyword) and node.arg == "allow_pickle":
            return _refused(exercise, "loads pickles (allow_pickle)", node.value)
    return None


def _imported_as(tree: ast.Module) -> dict[str, list[str]]:
    """Each name an import binds -> the dotted path it stands for (``c`` -> chaingrad)."""
    names: dict[str, list[str]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                names[a.asname or a.name.split(".")[0]] = (
                    a.name.split(".") if a.asname else [a.name.split(".")[0]])
        elif isinstance(node, ast.ImportFrom) and not node.level:
            for a in node.names:
                names[a.asname or a.name] = (node.module or "").split(".") + [a.name]
    return names


def _top_level(tree: ast.Module) -> list[ast.AST]:
    """The nodes of the file's top-level statements that run on import (not the bodies of
    its functions and classes, nor an ``if __name__ == "__main__":`` block)."""
    def runs(statement: ast.stmt) -> bool:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            return False
        test = getattr(statement, "test", None)
        return not (isinstance(statement, ast.If) and isinstance(test, ast.Compare) and
                    isinstance(test.left, ast.Name) and test.left.id == "__name__")
    return [n for s in tree.body if runs(s) for n in ast.walk(s)]


def _reach_refusal(tree: ast.Module, nodes: list[ast.AST], exercise: Exercise) -> str | None:
    """In the answer, its helpers and the file's top-level code: a forbidden name reached
    through a chaingrad import (any alias) or as an attribute of anything but a safe root."""
    forbidden = set(exercise.forbid)
    imported = _imported_as(tree)
    top = _top_level(tree)
    used_at_top = {n.id for n in top if isinstance(n, ast.Name)}
    nodes = nodes + top + [n for name in used_at_top
                           for d in _definition(tree, name) for n in ast.walk(d)]
    for node in nodes:
        used = None
        if isinstance(node, ast.Name) and node.id in imported and \
                imported[node.id][0] in CHAINGRAD_ROOTS and forbidden & set(imported[node.id]):
            used = node.id
        elif isinstance(node, ast.Attribute) and node.attr in forbidden:
            root = node.value
            while isinstance(root, ast.Attribute):
                root = root.value
            if not (isinstance(root, ast.Name) and root.id in SAFE_ROOTS):
                used = node.attr
        if used:
            return (f"refused: your {exercise.name} uses chaingrad's own {used} (line "
                    f"{node.lineno}); the exercise asks you to write it yourself.")
    return None


# ------------------------------------------------------------- the child, from here


# ------------------------------------------------------------------ the sentences


def _where(frames: list) -> str:
    if not frames:
        return ""
    line, name = frames[-1]
    place = "top level" if name == "<module>" else f"in {name}"
    text = f" at line {line} of your file ({place})"
    outer = [f"{n} (line {ln})" for ln, n in frames[:-1] if n != "<module>"]
    if outer:
        text += f", called from {' ← '.join(reversed(outer))}"
    return text


def explain(details: dict, limit: float, hidden: str | None = None) -> tuple[str, str]:
    """(result, sentence) for an exception the student's code raised in a check."""
    frames = details["frames"]
    where = _where(frames)
    if details["time_limit"]:
        return "error", (f"stopped after {limit:g} s of CPU time{where}: the code did "
                         "not finish (an endless loop, or too slow: if it is right but slow, "
                         f"try --timeout {max(10, 3 * limit):g}).")
    if details["not_implemented"] and frames:
        line, name = frames[-1]
        return "fail", (f"not written yet: {name} still raises NotImplementedError (line "
                        f"{line}); its docstring has the formula and a worked number.")
    if details["readonly"]:
        return "fail", (f"your code changed an input array in place{where}; this exercise "
                        "says not to: compute a new array (w - lr * grad) instead of w -= ...")
    if hidden:
        return "error", f"your code raised {details['type']} on a hidden case ({hidden}){where}."
    kind = details["type"]
    if kind == "SystemExit":
        return "error", f"your code called exit(){where}; return a value instead."
    if kind == "KeyboardInterrupt":
        return "error", f"your code raised KeyboardInterrupt{where}."
    if kind == "MemoryError":
        return "error", (f"your code ran out of memory{where} (the limit is "
                         f"{MEMORY_BYTES >> 30} GB).")
    what = f"{kind}: {details['message']}".rstrip(": ")
    return "error", f"your code raised {what}{where}."


def _hidden_sentence(wrong: Wrong, kind: str) -> str:
    text = (f"wrong on a hidden case ({kind}): the worked cases pass, but this kind of input "
            "does not (the grader does not show its numbers).")
    if wrong.formula:
        text += f" Expected {wrong.formula}."
    if wrong.hint:
        text += f" {wrong.hint}"
    return text


def _draw(graph: Any, pictures: Path, stem: str, exercise: Exercise,
          edge_labels: bool | None, marks: Any = None) -> str:
    """Draw the graph with the student's gradients, wrong ones marked; "" if it can't.

    The picture is written to a fresh temporary name and renamed into place: a symlink
    planted at the picture's name is replaced, never followed."""
    try:
        from ... import viz

        pictures.mkdir(parents=True, exist_ok=True)
        target = pictures / f"{stem}_{exercise.label().replace(' ', '_')}.svg"
        handle, temporary = tempfile.mkstemp(suffix=".svg", dir=pictures, prefix=".drawing-")
        os.close(handle)
        try:
            viz.draw(graph, temporary, check=True if marks is None else marks,
                     edge_labels=edge_labels)
            os.replace(temporary, target)
        finally:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
        return str(target)
    except Exception as error:  # a picture is a bonus: never lose the verdict over it
        return f"(no picture: {type(error).__name__}: {error})"


# ------------------------------------------------------------------ grading a file


def read_source(path: str | os.PathLike) -> tuple[str | None, str]:
    """(the file's text, "") or (None, a sentence saying why it cannot be read)."""
    try:
        raw = Path(path).read_bytes()
    except OSError as error:
        return None, f"the grader cannot read your file ({error.strerror})."
    return decode_source(raw)


def decode_source(raw: bytes) -> tuple[str | None, str]:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in raw[:4096]:
        return None, ("your file is not UTF-8 text (it looks like UTF-16): save it as UTF-8 "
                      "(in most editors: Save with encoding, UTF-8).")
    try:
        return raw.decode("utf-8-sig"), ""
    except UnicodeDecodeError as error:
        line = raw[:error.start].count(b"\n") + 1
        return None, (f"your file is not UTF-8 text (line {line} has a byte UTF-8 cannot "
                      "read): save it as UTF-8.")


def _syntax_problem(text: str) -> str | None:
    try:
        compile(text, "your file", "exec", dont_inherit=True)
    except SyntaxError as error:
        where = f"line {error.lineno}" if error.lineno else "your file"
        return f"Python cannot read {where}: {error.msg}."
    except (ValueError, RecursionError, MemoryError) as error:
        return f"Python cannot read your file: {error}."
    return None


def wall_cap(assignment: Assignment | None, timeout: float) -> float:
    """The overall wall-clock seconds one file may take."""
    total = max(LOAD_SECONDS, timeout) + sum(timeout * e.cost for e in
                                             (assignment.exercises if assignment else []))
    return 3 * total + 30


def new_seed() -> int:
    return random.SystemRandom().randrange(2**31)


def grade_source(text: str | None, shown: str, assignments: dict[str, Assignment],
                 timeout: float = DEFAULT_TIMEOUT, pictures: str | os.PathLike | None = None,
                 seed: int | None = None, sandbox: bool = False,
                 report: Callable[[Result], None] = lambda r: None,
                 unreadable: str = "", picture_stem: str | None = None,
                 skip: Iterable[str] = (), stop: threading.Event | None = None
                 ) -> list[Result]:
    """Grade one submission's text (``shown`` is its name in the results)."""
    seed = new_seed() if seed is None else int(seed)
    skip = set(skip)
    assignment = choose_assignment(shown, assignments, text) if text is not None else \
        (next(iter(assignments.values())) if len(assignments) == 1 else None)
    results: list[Result] = []

    def emit(result: Result) -> None:
        result.seed = seed
        results.append(result)
        report(result)

    problem = unreadable or (_syntax_problem(text) if text is not None else "")
    if assignment is None:
        names = ", ".join(sorted(assignments))
        emit(Result(shown, "(file)", "error", 0.0, 0.0, problem or (
            f"cannot tell which assignment this file answers ({names}): add a line such as "
            "ASSIGNMENT = 1, as the stub file has")))
        return results
    todo = [e for e in assignment.exercises if e.label() not in skip]
    if problem:
        message = problem if unreadable else f"your file could not be loaded: {problem}"
        for e in todo:
            emit(Result(shown, e.label(), "error", 0.0, e.points, message))
        return results
    name = re.sub(r"[^\w.-]", "_", Path(shown).name) or "submission.py"
    name = name if name.endswith(".py") else name + ".py"
    stem = picture_stem or Path(shown).stem
    file_wall_end = time.monotonic() + wall_cap(assignment, timeout)
    load_budget = max(LOAD_SECONDS, timeout)
    backstop = int(load_budget + sum(timeout * e.cost for e in todo) + 10)
    session: Session | None = None
    names: dict = {}
    try:
        for index, e in enumerate(todo):
            if stop is not None and stop.is_set():
                break
            if time.monotonic() > file_wall_end:
                for rest in todo[index:]:
                    emit(Result(shown, rest.label(), "error", 0.0, rest.points,
                                "not graded: the file used up the grader's time for one file."))
                break
            if session is None:
                try:
                    session = Session(text, name, {"cpu": backstop}, sandbox)
                    session.file_wall_end = file_wall_end
                    session.begin(load_budget, 10 * load_budget + 10)
                    names = session.request({"op": "load"})
                    names = names if isinstance(names, dict) else {}
                except (StudentError, ChildGone, Wrong) as error:
                    message = _load_failure(error, load_budget)
                    for rest in todo[index:]:
                        emit(Result(shown, rest.label(), "error", 0.0, rest.points, message))
                    break
            result = _grade_one(e, session, names, text, shown, timeout, pictures, stem, seed)
            emit(result)
            if session.process.poll() is not None or session.killed_for:
                session.close()
                session = None
    finally:
        if session is not None:
            session.close()
    return results


def _load_failure(error: BaseException, budget: float) -> str:
    if isinstance(error, StudentError):
        details = error.details
        if details["time_limit"]:
            why = (f"its top-level code used more than {budget:g} s of CPU time (an endless "
                   "loop, or training at the top level? Put it in a function).")
        elif details["type"] == "SystemExit":
            why = "it calls exit() while loading."
        else:
            why = "it " + explain(details, budget)[1].removeprefix("your code ")
        return f"your file could not be loaded: {why}"
    if isinstance(error, ChildGone):
        return f"your file could not be loaded: {error.sentence}"
    return f"your file could not be loaded: {error}"


def _grade_one(e: Exercise, session: Session, names: dict, text: str, shown: str,
               timeout: float, pictures: Any, stem: str, seed: int) -> Result:
    def result(kind: str, message: str = "", picture: str = "", hidden: str = "") -> Result:
        points = e.points if kind == "pass" else 0.0
        return Result(shown, e.label(), kind, points, e.points, message, picture,
                      "".join(session.printed)[:2000], hidden, api.hidden_count(), seed)

    api.start_exercise(e.label(), seed)
    if e.name not in names:
        return result("fail", f"your file defines no {e.name}: keep the name the stub gave it.")
    refused = refusal(text, e)
    if refused:
        return result("fail", refused)
    limit = timeout * e.cost
    session.begin(limit, 10 * limit + 10)
    session.readonly = e.readonly
    try:
        e.check(Student(session, names))
    except Wrong as wrong:
        kind = api.current_hidden()
        if kind:
            return result("fail", _hidden_sentence(wrong, kind), hidden=kind)
        picture = ""
        if pictures is not None and wrong.graph is not None:
            picture = _draw(wrong.graph, Path(pictures), stem, e, wrong.edge_labels,
                            wrong.marks)
        return result("fail", wrong.message, picture)
    except StudentError as error:
        kind = api.current_hidden()
        verdict, message = explain(error.details, limit, kind)
        return result(verdict, message, hidden=kind or "")
    except ChildGone as gone:
        return result("error", gone.sentence, hidden=api.current_hidden() or "")
    except Exception as error:  # the check could not use what came back
        return result("error", f"the grader could not check what your code returned "
                      f"({type(error).__name__}: {error}).")
    finally:
        session.readonly = False
    if e.by_hand and session.backward_calls:
        return result("fail", f"refused: your {e.name} called backward(); this exercise asks "
                      "for the gradient by hand, with the chain rule.")
    return result("pass")


# ------------------------------------------------------------- the public entry points


def run_checks(path: str | os.PathLike, assignments: dict[str, Assignment],
               timeout: float = DEFAULT_TIMEOUT, pictures: str | os.PathLike | None = None,
               report: Callable[[Result], None] = lambda r: None,
               skip: Iterable[str] = (), seed: int | None = None,
               sandbox: bool = False) -> list[Result]:
    """Grade one file with these assignments (the checks here, the student's code in a
    child), passing each result to ``report`` as it comes."""
    text, unreadable = read_source(path)
    return grade_source(text, str(path), assignments, timeout, pictures, seed, sandbox,
                        report, unreadable, skip=skip)


def grade_file(path: str | os.PathLike, exercise_files: Iterable[str] = (),
               timeout: float = DEFAULT_TIMEOUT, pictures: str | os.PathLike | None = None,
               *, seed: int | None = None, source: str | bytes | None = None,
               sandbox: bool = False, picture_stem: str | None = None,
               report: Callable[[Result], None] = lambda r: None,
               stop: threading.Event | None = None) -> list[Result]:
    """Grade one file (or ``source``, its text or bytes, shown under ``path``)."""
    if source is None:
        text, unreadable = read_source(path)
    elif isinstance(source, bytes):
        text, unreadable = decode_source(source)
    else:
        text, unreadable = source, ""
    return grade_source(text, str(Path(path).resolve()) if source is None else str(path),
                        _assignments(exercise_files), timeout, pictures, seed, sandbox,
                        report, unreadable, picture_stem, stop=stop)


def grade_files(paths: Iterable[str | os.PathLike], exercise_files: Iterable[str] = (),
                timeout: float = DEFAULT_TIMEOUT, pictures: str | os.PathLike | None = None,
                jobs: int | None = None, *, seed: int | None = None,
                sources: dict | None = None, sandbox: bool = False,
                on_file: Callable[[str, list[Result]], None] | None = None
                ) -> dict[str, list[Result]]:
    """Grade many files, ``jobs`` at a time; file -> its results, in the order given.

    Every file is read before any submission runs (a submission that rewrites a
    classmate's file changes nothing). ``on_file(path, results)`` is called as soon as
    each file is graded, never twice at once."""
    paths = [str(p) for p in paths]
    exercise_files = [str(Path(f).resolve()) for f in exercise_files]
    _assignments(exercise_files)  # an instructor's file that fails, fails here
    seed = new_seed() if seed is None else int(seed)
    given = dict(sources or {})
    snapshot = {p: given[p] if p in given else Path(p).read_bytes()
                if Path(p).is_file() and os.access(p, os.R_OK) else None for p in paths}
    stems = [Path(p).stem for p in paths]
    unique = {p: (s if stems.count(s) == 1 else f"{s}-{zlib.crc32(p.encode()):08x}")
              for p, s in zip(paths, stems)}
    lock = threading.Lock()
    stop = threading.Event()

    def one(path: str) -> list[Result]:
        if stop.is_set():
            return []
        source = snapshot[path]
        if source is None:
            results = grade_source(None, path, _assignments(exercise_files), timeout,
                                   pictures, seed, sandbox, unreadable=read_source(path)[1]
                                   or "the grader cannot read your file.")
        else:
            results = grade_file(path, exercise_files, timeout, pictures, seed=seed,
                                 source=source, sandbox=sandbox, picture_stem=unique[path],
                                 stop=stop)
        if stop.is_set():
            return results
        if on_file is not None:
            with lock:
                on_file(path, results)
        return results

    jobs = jobs or max(1, min(4, os.cpu_count() or 1))
    graded: dict[str, list[Result]] = {}
    pool = ThreadPoolExecutor(max_workers=jobs)
    try:
        futures = {pool.submit(one, p): p for p in paths}
        for future in as_completed(futures):
            graded[futures[future]] = future.result()
    except BaseException:  # Ctrl-C (or a bug): stop every child now, start no new one
        stop.set()
        pool.shutdown(wait=False, cancel_futures=True)
        stop_all()
        raise
    pool.shutdown()
    return {p: graded[p] for p in paths}


def _assignments(exercise_files: Iterable[str]) -> dict[str, Assignment]:
    exercise_files = list(exercise_files)
    if not exercise_files:
        return builtin_assignments()
    chosen: dict[str, Assignment] = {}
    for f in exercise_files:
        chosen.update(load_exercise_file(f))
    return chosen
