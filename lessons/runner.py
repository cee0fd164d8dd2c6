"""The lesson runner: finds the lessons, steps through one, counts its checks.

How to write a lesson
=====================

A lesson is a plain Python file ``lessons/NN_topic.py`` (NN = two digits) with three names:

    TITLE = "Backpropagation on one small graph"
    MINUTES = 10

    def run(lesson):
        lesson.step("Build the graph")             # a new step (waits for Enter before it)
        lesson.say('''The course's example is *f = (x + y) z*.''')   # Markdown prose
        v = lesson.code('''
            from chaingrad import viz
            from chaingrad.autograd import Value
            x, y, z = Value(-2.0, name="x"), Value(5.0, name="y"), Value(-4.0, name="z")
            f = (x + y) * z
            f.backward()
            picture = viz.draw(f, out / "01_graph.svg")
            f.data
        ''')                                        # shown, then run; last expression echoed
        lesson.check("f = (-2 + 5)(-4)", v.f.data, -12.0)
        lesson.file(v.picture, "the graph")         # tells the student which file to open

It appears in ``chaingrad lessons`` as soon as the file exists. Conventions: name output
files after the lesson number (``out / "07_losses.svg"``); end every step with a check a
student could work out by hand; keep a whole lesson to a few seconds with ``--auto``
(``tests/test_lessons.py`` runs every lesson and requires its checks to pass).

The screen (``tests/test_lesson_screen.py`` enforces it for every lesson found here):
every step, from its title to the Enter prompt, fits an 80×40 terminal (split a long step
in two), step 1 with the lesson's header panel above it and the command typed, the last
step with the summary below it and the prompt; every line of code given to ``code`` has at most 76 characters (it is framed in
4 columns) and every line it prints at most 80; checks follow the rule below.
``chaingrad lessons N --notebook`` turns the same file into a Jupyter notebook
(``lessons/notebook.py``): keep the calls to ``lesson`` as statements of ``run`` with
literal strings, as above, and they become Markdown and code cells (``check`` and
``file`` may also sit in a loop or an ``if``; a notebook leaves out ``if not lesson.auto:``,
for what only a person at a terminal needs, such as opening a browser). No ``lesson``
object exists in a notebook: anything else that talks to it cannot be converted.

The ``lesson`` object (a ``Lesson``) has:

- ``step(title)``: start a step. From the second step on it first waits for Enter
  (``q`` + Enter quits); with ``--auto`` it does not wait.
- ``say(markdown)``: print prose, rendered as Markdown. Indentation is removed.
- ``code(source)``: print the code, run it in the lesson's namespace (shared by all the
  lesson's snippets, with ``out``, the output folder, predefined) and echo the value of a
  last bare expression, as the Python prompt does. Returns the namespace, whose names read
  as attributes (``v.f``).
- ``check(label, got, expected, tol=1e-9)``: compare a result with the answer worked out
  by hand (numbers within ``tol``, arrays element by element, anything else with ``==``);
  ``check(label, got, at_least=a, at_most=b)`` for a number that must lie between bounds
  (``check("noisy points right, of 40", correct, at_least=36)``).
  A failing check is printed loudly and makes the run exit with status 1. A passing check
  prints its label and ``got``: make ``label`` a sentence and ``got`` a number a student
  can verify (or a few numbers, at most four), the whole line within 80 columns. Never a
  bare ``True`` (give the count, the margin or the ratio it rests on), a dict, a long
  array or a tuple of booleans.
- ``file(path, description)``: say which file to open; a missing file counts as a failed
  check.
- ``at_end(callback)``: call ``callback()`` when the lesson ends (e.g. stop a server);
  a notebook leaves it out, so what the lesson started stays usable there.
- ``out``: the output folder (a ``pathlib.Path``, created on demand).

Code a student should read goes through ``code``; bookkeeping the lesson needs for itself
(extra checks, small helpers) can be ordinary Python in ``run``.
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import io
import math
import re
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
from rich.console import Console
from rich.markdown import Markdown
from rich.markup import escape
from rich.panel import Panel
from rich.rule import Rule
from rich.syntax import Syntax
from rich.table import Table

from ..autograd import Node

LESSON_FILE = re.compile(r"^(\d\d)_\w+\.py$")


class Quit(Exception):
    """The student typed q at a pause."""


class Namespace(dict):
    """The variables of a lesson's code snippets; ``v.f`` reads ``v["f"]``."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"the lesson's code defined no variable {name!r}") from None


class Lesson:
    """What a lesson's ``run(lesson)`` talks to: prose, code, checks, files, pauses."""

    def __init__(self, number: int, title: str, out: Path, auto: bool,
                 console: Console | None = None, start: int = 1) -> None:
        self.number, self.title, self.out, self.auto = number, title, Path(out), auto
        self.console = console or Console(highlight=False)
        # Resuming at step `start`: the steps before it run (their variables are needed
        # later) without printing anything or waiting.
        self.start, self._screen = start, self.console
        if start > 1:
            self.console = Console(file=io.StringIO(), width=self.console.width,
                                   highlight=False)
        self.namespace = Namespace(out=self.out)
        self.steps = 0
        self.passed: list[str] = []
        self.failed: list[str] = []
        self.files: list[Path] = []
        self.endings: list = []  # what at_end asked to run when the lesson ends

    def step(self, title: str) -> None:
        """Start the next step; from the second one on, wait for Enter first."""
        if self.steps >= self.start:
            self._pause()
        self.steps += 1
        if self.steps == self.start > 1:
            self.console = self._screen
            self.console.print(f"[dim]Steps 1-{self.start - 1} ran without being shown, "
                               "so their variables are ready.[/dim]")
        self.console.print()
        self.console.print(Rule(f"[bold]Step {self.steps} · {title}", align="left",
                                style="cyan"))

    def say(self, markdown: str) -> None:
        """Print prose, written as Markdown."""
        self.console.print(Markdown(textwrap.dedent(markdown).strip()))
        self.console.print()

    def code(self, source: str) -> Namespace:
        """Show ``source``, run it in the lesson's namespace, echo a last bare expression."""
        source = textwrap.dedent(source).strip("\n")
        code = Syntax(source, "python", theme="ansi_dark", word_wrap=True,
                      background_color="default")
        widest = max((len(line) for line in source.splitlines()), default=0)
        if widest + 4 <= self.console.width:
            self.console.print(Panel(code, border_style="dim", padding=(0, 1)))
        else:  # a narrow terminal: the frame would cost 4 columns and split code lines
            self.console.print(code)
        tree = ast.parse(source)
        last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        self.out.mkdir(parents=True, exist_ok=True)
        name = f"<lesson {self.number}>"
        with contextlib.redirect_stdout(self.console.file):  # print() goes where rich goes
            exec(compile(tree, name, "exec"), self.namespace)
            value = None if last is None else eval(
                compile(ast.Expression(last.value), name, "eval"), self.namespace)
        if value is not None:
            self.console.print(f"[dim]→[/dim] {_format(value)}")
        return self.namespace

    def check(self, label: str, got: Any, expected: Any = None, tol: float = 1e-9, *,
              at_least: float | None = None, at_most: float | None = None) -> bool:
        """Compare ``got`` with the answer worked out by hand (or, with ``at_least`` /
        ``at_most``, with the bounds it must lie in); say loudly when they differ."""
        if at_least is not None or at_most is not None:
            expected = Bounds(at_least, at_most)
        ok = _agrees(got, expected, tol)
        if ok:
            self.passed.append(label)
            shown = _plain(got)
            if isinstance(shown, bool):  # the label is the sentence that came true
                self.console.print(f"[green]✓ check[/green] {escape(label)}")
            else:
                self.console.print(f"[green]✓ check[/green] {escape(label)}: "
                                   f"[bold]{_format(got)}[/bold]")
        else:
            self.failed.append(label)
            self.console.print(Panel(
                f"{escape(label)}\n  got      {_format(got)}\n  expected {_format(expected)}"
                + (f"  (tolerance {tol:g})" if _is_number(_plain(expected)) else ""),
                title="✗ CHECK FAILED", border_style="bold red", style="red"))
        return ok

    def file(self, path: str | Path | None, description: str) -> None:
        """Tell the student which file to open (a missing file is a failed check)."""
        if path is None or not Path(path).is_file():
            self.check(f"the file for {description!r} was written ({path})", False, True)
            return
        path = Path(path)
        self.files.append(path)
        self.console.print(f"[bold magenta]▶ open[/bold magenta] "
                           f"[underline]{escape(str(path))}[/underline]  {escape(description)}")

    def at_end(self, callback) -> None:
        """Run ``callback()`` when the lesson ends, however it ends (stop a server it
        started). A notebook skips it: there the student goes on using what it started."""
        self.endings.append(callback)

    def _pause(self) -> None:
        if self.auto:
            return
        self.console.print()
        try:
            answer = input("  ⏎ Enter: next step · q + Enter: quit ")
        except EOFError:
            raise Quit from None
        if answer.strip().lower() in {"q", "quit", "exit"}:
            raise Quit


@dataclass(frozen=True)
class Bounds:
    """The answer of a check that a number lies between bounds (either may be None)."""

    low: float | None = None
    high: float | None = None

    def holds(self, x: Any) -> bool:
        return (_is_number(x) and not math.isnan(x) and (self.low is None or x >= self.low)
                and (self.high is None or x <= self.high))

    def __str__(self) -> str:
        if self.high is None:
            return f"at least {self.low:g}"
        return f"at most {self.high:g}" if self.low is None else \
            f"between {self.low:g} and {self.high:g}"


def _plain(value: Any) -> Any:
    """Python numbers from nodes and numpy scalars (tuples and lists element by element)."""
    if isinstance(value, Node):
        value = value.data
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(item) for item in value)
    return value


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _agrees(got: Any, expected: Any, tol: float) -> bool:
    got, expected = _plain(got), _plain(expected)
    if isinstance(expected, Bounds):
        return expected.holds(got)
    if isinstance(got, bool) != isinstance(expected, bool):
        return False  # True is not the number 1 here
    if _is_number(expected) and _is_number(got):
        return math.isclose(got, expected, rel_tol=tol, abs_tol=tol)
    if isinstance(expected, np.ndarray) or isinstance(got, np.ndarray):
        got, expected = np.asarray(got), np.asarray(expected)
        if got.shape != expected.shape:
            return False
        if got.dtype.kind in "fc" or expected.dtype.kind in "fc":
            return bool(np.allclose(got, expected, rtol=tol, atol=tol))
        return bool(np.array_equal(got, expected))
    if isinstance(got, (list, tuple)) and isinstance(expected, (list, tuple)):
        return len(got) == len(expected) and all(
            _agrees(a, b, tol) for a, b in zip(got, expected))
    return got == expected


def _format(value: Any) -> str:
    value = _plain(value)
    if isinstance(value, Bounds):
        return str(value)
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, np.ndarray):
        return np.array2string(value, precision=4, suppress_small=True)
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, float) for v in value):
        inner = ", ".join(f"{v:.6g}" for v in value)
        return f"[{inner}]" if isinstance(value, list) else f"({inner})"
    return escape(repr(value))  # rich must not read brackets as markup


# ------------------------------------------------------------------ finding lessons


@dataclass
class Entry:
    """One lesson file: its number, module name and (once imported) title and minutes."""

    number: int
    module_name: str
    module: ModuleType | None = None
    error: str | None = None

    @property
    def title(self) -> str:
        return self.module.TITLE if self.module else f"(cannot load: {self.error})"

    @property
    def minutes(self) -> int | None:
        return self.module.MINUTES if self.module else None


def find_lessons() -> dict[int, Entry]:
    """Every ``lessons/NN_topic.py``, by number, imported (an import error is kept, not raised)."""
    entries = {}
    for path in sorted(Path(__file__).parent.iterdir()):
        match = LESSON_FILE.match(path.name)
        if not match:
            continue
        entry = Entry(int(match.group(1)), f"{__package__}.{path.stem}")
        try:
            entry.module = importlib.import_module(entry.module_name)
        except Exception as error:  # a broken lesson must not hide the others
            entry.error = f"{type(error).__name__}: {error}"
        entries[entry.number] = entry
    return entries


def lesson_table(entries: dict[int, Entry]) -> Table:
    """The list of lessons as a rich table: number, title, minutes."""
    table = Table(title="chaingrad lessons", title_style="bold")
    table.add_column("#", justify="right", style="cyan")
    table.add_column("lesson")
    table.add_column("minutes", justify="right")
    for number, entry in sorted(entries.items()):
        style = None if entry.module else "red"
        table.add_row(str(number), entry.title, str(entry.minutes or "–"), style=style)
    return table


def run_lesson(entry: Entry, out: Path, auto: bool, console: Console | None = None,
               start: int = 1) -> int:
    """Step through one lesson from step ``start``; 0 when every check passed, 1 otherwise,
    130 on Ctrl-C."""
    return play(entry, Lesson(entry.number, entry.title, out, auto, console, start))


def count_steps(entry: Entry) -> int:
    """How many ``lesson.step(...)`` calls the lesson's ``run`` makes (read off the file)."""
    tree = ast.parse(Path(entry.module.__file__).read_text(encoding="utf-8"))
    run = next(node for node in tree.body
               if isinstance(node, ast.FunctionDef) and node.name == "run")
    lesson = run.args.args[0].arg
    return sum(isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
               and node.func.attr == "step" and isinstance(node.func.value, ast.Name)
               and node.func.value.id == lesson for node in ast.walk(run))


def play(entry: Entry, lesson: Lesson) -> int:
    """Run ``entry``'s lesson on a ``Lesson`` you made (tests read its checks and files)."""
    console = lesson._screen
    console.print(Panel(f"[bold]Lesson {entry.number}: {entry.title}[/bold]\n"
                        f"about {entry.minutes} minutes · files go to {lesson.out}/",
                        border_style="cyan"))
    try:
        try:
            entry.module.run(lesson)
        finally:
            for callback in lesson.endings:
                callback()
    except Quit:
        console.print(f"\nStopped after step {lesson.steps}. Go on from the next one "
                      f"with: chaingrad lessons {entry.number} --step {lesson.steps + 1}")
        return 1 if lesson.failed else 0
    except KeyboardInterrupt:
        console.print("\nInterrupted.")
        return 130
    except OSError as error:  # a full disk, a folder that went away: not a bug to show
        where = f" {str(error.filename)!r}" if error.filename else ""
        console.print(f"[bold red]✗ lesson {entry.number} could not write{where}: "
                      f"{error.strerror or error}.[/bold red]")
        return 1
    except Exception:  # a bug in the lesson: show where, and fail the run
        console.print_exception(max_frames=4)
        console.print(f"[bold red]✗ lesson {entry.number} stopped with an error in step "
                      f"{lesson.steps}.[/bold red]")
        return 1
    lesson.console = console  # a lesson that ended before its start step was quiet
    if lesson.steps < lesson.start:
        console.print(f"[red]Lesson {entry.number} has {lesson.steps} steps: there is no "
                      f"step {lesson.start}.[/red]")
        return 2
    _summary(lesson, console)
    return 1 if lesson.failed else 0


def _summary(lesson: Lesson, console: Console) -> None:
    console.print()
    console.print(Rule("[bold]End of the lesson", style="cyan"))
    if lesson.files:  # one wrapped line: the last step shares the screen with it
        names = ", ".join(escape(path.name if path.parent == lesson.out else str(path))
                          for path in lesson.files)
        console.print(f"Files written to {escape(str(lesson.out))}/: {names}")
    if lesson.failed:
        console.print(f"[bold red]✗ {len(lesson.failed)} of "
                      f"{len(lesson.failed) + len(lesson.passed)} checks FAILED:[/bold red]")
        for label in lesson.failed:
            console.print(f"  [red]✗ {escape(label)}")
    else:
        console.print(f"[bold green]✓ all {len(lesson.passed)} checks passed.[/bold green]")


def is_interactive() -> bool:
    """Whether to wait for Enter: only when a person can type (stdin is a terminal)."""
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except ValueError:  # stdin closed
        return False
