"""The exercise API: what an exercise is, how a check says "wrong", and the registry.

An exercise is a stub the student completes, a check that reads the student's file, and
points. The check is a plain function of the student's module; it raises :class:`Wrong`
with a sentence the student can act on, or returns when the answer is right::

    from chaingrad.lessons.exercises import exercise, expect_close

    @exercise(points=2, stub='''
    def double(x):
        "Return 2 x. Example: double(1.5) == 3.0"
        raise NotImplementedError
    ''')
    def double(student):
        "Double a number"
        for x in (1.5, -2.0):
            expect_close(student.double(x), 2 * x, f"your double({x})", formula="2 x")

Exercises defined in a file of your own belong to that file (``chaingrad check --exercises
my_exercises.py submissions/*.py``); the course's three assignments live beside this module.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import numpy as np

from chaingrad.autograd import Node


class Wrong(Exception):
    """A check's verdict "not right yet": a sentence for the student, and maybe a graph.

    ``graph`` is the root of a computational graph whose leaves carry the student's
    gradients; ``chaingrad check --pictures DIR`` draws it with the wrong ones in red.
    """

    def __init__(self, message: str, graph: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.graph = graph


@dataclass
class Exercise:
    """One task: the name the student defines, the stub, the check and the points."""

    name: str
    title: str
    stub: str
    check: Callable[[ModuleType], Any]
    points: float = 1.0
    assignment: str = ""
    number: str = ""
    cost: float = 1.0  # its time limit is cost × --timeout (training exercises need more)

    def label(self) -> str:
        """``1.2 Sigmoid`` (or just the name when it has no number)."""
        return f"{self.number} {self.name}".strip()


@dataclass
class Assignment:
    """A numbered set of exercises with the header and imports of its stub file."""

    key: str
    title: str
    intro: str = ""
    imports: str = ""
    exercises: list[Exercise] = field(default_factory=list)

    @property
    def points(self) -> float:
        return sum(e.points for e in self.exercises)

    def filename(self) -> str:
        """The stub file's name: ``assignment1.py``, or ``<key>.py`` for a named one."""
        return f"assignment{self.key}.py" if self.key.isdigit() else f"{self.key}.py"

    def stub_file(self, path: str | None = None) -> str:
        """The whole text of the student's file (to be saved at ``path``): header, imports,
        one stub per exercise."""
        marker = self.key if self.key.isdigit() else repr(self.key)
        header = (f'"""Assignment {self.key}: {self.title}\n\n'
                  f"{textwrap.dedent(self.intro).strip()}\n\n"
                  "Write your code where it says `raise NotImplementedError`; keep the names.\n"
                  f"Check your work:  chaingrad check {path or self.filename()} --pictures pictures/\n"
                  '"""\n\n'
                  f"ASSIGNMENT = {marker}\n\n")
        parts = [header + textwrap.dedent(self.imports).strip() + "\n"]
        for e in self.exercises:
            points = f"{e.points:g} point{'s' if e.points != 1 else ''}"
            banner = f"# {'-' * 8} Exercise {e.label()}: {e.title} ({points})"
            parts.append(f"\n\n{banner}\n\n{textwrap.dedent(e.stub).strip()}\n")
        return "".join(parts)


# assignment key -> Assignment, filled by the @exercise decorator
ASSIGNMENTS: dict[str, Assignment] = {}
_current: dict[str, str] = {}


def assignment(key: str | int, title: str, intro: str = "", imports: str = "") -> Assignment:
    """Open an assignment: the @exercise definitions that follow in this module join it."""
    key = str(key)
    ASSIGNMENTS[key] = Assignment(key, title, intro, imports)
    _current["key"] = key
    return ASSIGNMENTS[key]


def exercise(stub: str, points: float = 1.0, name: str | None = None,
             title: str | None = None, assignment: str | int | None = None,
             cost: float = 1.0) -> Callable[[Callable], Exercise]:
    """Decorator: turn a check function into an exercise with this stub and these points.

    ``name`` (default: the check function's name) is what the student's file must define;
    ``title`` (default: the first line of the check's docstring) is shown in lists.
    """

    def register(check: Callable[[ModuleType], Any]) -> Exercise:
        key = str(assignment) if assignment is not None else _current.get("key", "custom")
        if key not in ASSIGNMENTS:
            ASSIGNMENTS[key] = Assignment(key, key.replace("_", " "))
        group = ASSIGNMENTS[key]
        doc = (check.__doc__ or "").strip().splitlines()
        made = Exercise(
            name=name or check.__name__, title=title or (doc[0] if doc else check.__name__),
            stub=stub, check=check, points=points, assignment=key,
            number=f"{key}.{len(group.exercises) + 1}" if key.isdigit() else "", cost=cost)
        group.exercises.append(made)
        return made

    return register


# ------------------------------------------------------------------- checking helpers


def number(x: Any) -> str:
    """A number as a student writes it: 0.235, -4, 1.2e-05; arrays rounded the same way."""
    if isinstance(x, (np.ndarray, list, tuple)):
        array = np.asarray(x, dtype=float)
        text = np.array2string(array, separator=", ", threshold=12, max_line_width=1000,
                               formatter={"float_kind": number})
        return text.replace("\n", "")  # one line, also for a matrix
    x = float(x)
    if x == 0:
        return "0"
    if x.is_integer() and abs(x) < 1e6:
        return str(int(x))
    return f"{x:.4g}" if 1e-4 <= abs(x) < 1e6 else f"{x:.3e}"


def as_number(got: Any, what: str) -> Any:
    """``got`` as a float or a float array, or a Wrong saying what came back instead."""
    if got is None:
        raise Wrong(f"{what} returned None: did you forget `return`?")
    if isinstance(got, Node):  # a Value or Tensor is fine: compare its data
        got = got.data
    try:
        array = np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        raise Wrong(f"{what} returned {got!r}, which is not a number") from None
    return float(array) if array.ndim == 0 else array


def expect_close(got: Any, expected: Any, what: str, formula: str | None = None,
                 tol: float = 1e-6, graph: Any = None, hint: str | None = None,
                 verb: str = "returned") -> None:
    """Raise :class:`Wrong` unless ``got`` is ``expected`` within ``tol`` (relative and
    absolute), with the sentence "{what} {verb} 0.5; expected {formula} = 0.235" and the
    ``hint`` (a flipped sign is spotted without one)."""
    value = as_number(got, what)
    target = np.asarray(expected, dtype=float)
    if np.shape(value) != target.shape:
        if target.ndim == 0 and np.size(value) == 1:
            value = float(np.ravel(value)[0])
        else:
            raise Wrong(f"{what} {verb or 'gave'} an array of shape {np.shape(value)}; "
                        f"expected shape {target.shape}.", graph)
    if np.allclose(value, target, rtol=tol, atol=tol, equal_nan=False):
        return
    expectation = f"{formula} = {number(expected)}" if formula else number(expected)
    said = " ".join(filter(None, (what, verb, number(value))))
    message = f"{said}; expected {expectation}."
    if hint is None and np.any(target != 0) and np.allclose(value, -target, rtol=tol, atol=tol):
        hint = "Only the sign is wrong: check the minus signs."
    if hint is None and not np.all(np.isfinite(value)):
        hint = "It is not a finite number: look for a division by zero or an overflow."
    raise Wrong(f"{message} {hint}" if hint else message, graph)


def expect(condition: bool, message: str, graph: Any = None) -> None:
    """Raise :class:`Wrong` with ``message`` unless ``condition`` holds."""
    if not condition:
        raise Wrong(message, graph)


def close(a: Any, b: Any, tol: float = 1e-6) -> bool:
    """Whether two numbers or arrays agree within ``tol`` (shapes must match)."""
    try:
        a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    except (TypeError, ValueError):
        return False
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=tol, atol=tol))
