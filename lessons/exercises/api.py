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
import threading
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import numpy as np

from ...autograd import Node
from .wire import NodeData, Opaque, Remote


class Wrong(Exception):
    """A check's verdict "not right yet": a sentence for the student, and maybe a graph.

    ``graph`` is the root of a computational graph whose leaves carry the student's
    gradients; ``chaingrad check --pictures DIR`` draws it with the wrong ones in red.
    """

    def __init__(self, message: str, graph: Any = None, hint: str | None = None,
                 formula: str | None = None, edge_labels: bool | None = None,
                 marks: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.graph = graph
        self.hint = hint  # said again when a hidden case fails (it shows no numbers)
        self.formula = formula
        self.edge_labels = edge_labels
        self.marks = marks  # the nodes to paint red (passed to viz.draw as check=)


class StudentError(BaseException):
    """The student's code raised while a check called it (a BaseException: a check's
    ``except Exception`` does not eat it). ``details`` is the child's plain description."""

    def __init__(self, details: dict) -> None:
        super().__init__(details.get("type", "error"))
        self.details = details


class ChildGone(BaseException):
    """The process running the student's code ended, was stopped, or answered nonsense."""

    def __init__(self, sentence: str) -> None:
        super().__init__(sentence)
        self.sentence = sentence


# ------------------------------------------------------------------ hidden cases

_grading = threading.local()  # the exercise being graded in this thread: seed, hidden case


def start_exercise(label: str, seed: int) -> None:
    """The grader calls this before a check: hidden cases draw from (seed, label)."""
    _grading.rng = np.random.default_rng([seed, zlib.crc32(label.encode("utf-8"))])
    _grading.seed = seed
    _grading.hidden = None
    _grading.hidden_count = 0


def api_seed() -> int:
    """The run's seed (for data a check draws itself, such as a test set)."""
    return getattr(_grading, "seed", 0)


def current_hidden() -> str | None:
    """The kind of hidden case the check is on now ("a negative x"), or None."""
    return getattr(_grading, "hidden", None)


def hidden_count() -> int:
    return getattr(_grading, "hidden_count", 0)


def cases(public: Any, hidden: Any = (), count: int = 1) -> Iterator[Any]:
    """The public cases (shown in feedback), then ``count`` hidden cases of each kind.

    ``hidden`` maps a kind ("a negative x") to a function of a numpy Generator that draws
    one case; the generator is seeded from the grader's per-run seed, which students never
    see. A Wrong raised while a hidden case is current names its kind, not its numbers.
    """
    kinds = list(hidden.items()) if isinstance(hidden, dict) else list(hidden)
    # Counted when the loop starts, so an exercise that fails a public case still says
    # that it has hidden cases (Gradescope lists them).
    _grading.hidden_count = hidden_count() + count * len(kinds)
    for case in public:
        _grading.hidden = None
        yield case
    rng = getattr(_grading, "rng", None) or np.random.default_rng(0)
    for kind, draw in kinds:
        for _ in range(count):
            case = draw(rng)
            _grading.hidden = kind
            yield case
    _grading.hidden = None


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
    cost: float = 1.0  # its CPU budget is cost × --timeout (training exercises need more)
    by_hand: bool = False  # an answer that calls backward() is refused
    readonly: bool = False  # arrays are handed over read-only ("do not change w in place")
    forbid: tuple = ()  # chaingrad's own names the answer must not use (it writes them)

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
    source: str = ""  # the instructor's exercise file, for the stub's check command

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
                  f"Check your work:  chaingrad check {path or self.filename()}"
                  f"{f' --exercises {self.source}' if self.source else ''} --pictures pictures/\n"
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
             cost: float = 1.0, by_hand: bool = False, readonly: bool = False,
             forbid: tuple = ()) -> Callable[[Callable], Exercise]:
    """Decorator: turn a check function into an exercise with this stub and these points.

    ``name`` (default: the check function's name) is what the student's file must define;
    ``title`` (default: the first line of the check's docstring) is shown in lists.
    ``by_hand`` refuses answers that call backward(); ``readonly`` hands arrays over
    read-only; ``forbid`` names chaingrad's own functions or classes the answer must not use.
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
            number=f"{key}.{len(group.exercises) + 1}" if key.isdigit() else "", cost=cost,
            by_hand=by_hand, readonly=readonly, forbid=tuple(forbid))
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
    if isinstance(got, (Node, NodeData)):  # a Value or Tensor is fine: compare its data
        got = got.data
    if isinstance(got, (Remote, Opaque)):
        raise Wrong(f"{what} returned {got!r}, which is not a number")
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
    raise Wrong(f"{message} {hint}" if hint else message, graph, hint=hint, formula=formula)


def plain(value: Any) -> Any:
    """``value`` with every Value/Tensor that came back replaced by its numbers (one rule
    for every exercise: a loss may be returned as a float or as a one-number Tensor)."""
    if isinstance(value, NodeData):
        data = np.asarray(value.data)
        return float(data.reshape(())) if data.dtype.kind in "biuf" and data.size == 1 \
            else data
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, tuple):
        return tuple(plain(v) for v in value)
    return value


def shape_of(value: Any) -> tuple | None:
    """The shape of an answer that is numbers (None if it is not numbers)."""
    try:
        return np.shape(np.asarray(plain(value), dtype=float))
    except (TypeError, ValueError):
        return None


def rebuild_model(layers: list) -> Any:
    """A model rebuilt in the grader from ``student.layers_of(model)``: only Linear layers
    and the course's activations (anything else is a Wrong)."""
    from ... import Tensor, nn
    from ...nn.activations import activation_module

    built = []
    for layer in layers:
        kind = layer[0] if isinstance(layer, list) and layer else None
        if kind == "linear" and isinstance(layer[1], np.ndarray) and layer[1].ndim == 2:
            linear = nn.Linear(*layer[1].shape, bias=layer[2] is not None)
            linear.weight = Tensor(np.asarray(layer[1], dtype=float))
            if layer[2] is not None:
                bias = np.asarray(layer[2], dtype=float)
                expect(bias.shape == (layer[1].shape[1],), "your model's bias does not fit "
                       "its weights, so the grader cannot run it.")
                linear.bias = Tensor(bias)
            built.append(linear)
        elif kind == "activation" and isinstance(layer[1], str):
            try:
                built.append(activation_module(layer[1]))
            except (ValueError, KeyError, TypeError):
                raise Wrong(f"your model uses the activation {layer[1]!r}, which the grader "
                            "cannot rebuild: use one of the course's activations.") from None
        elif kind in ("flatten", "dropout"):
            built.append(nn.Flatten() if kind == "flatten" else nn.Sequential())
        else:
            name = layer[1] if isinstance(layer, list) and len(layer) > 1 else "?"
            raise Wrong(f"your model has a layer the grader cannot rebuild ({name}): build "
                        "it from nn.Linear layers and activations (nn.MLP does).")
    expect(bool(built), "your model has no layers.")
    return nn.Sequential(*built)


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
