"""A lesson as a Jupyter notebook: ``chaingrad lessons N --notebook [DIR]``.

The notebook is read off the lesson file itself, statement by statement of its
``run(lesson)``, without running it:

- ``lesson.step(title)`` becomes a heading and ``lesson.say(text)`` a Markdown cell;
- ``lesson.code(source)`` becomes a code cell holding ``source`` (the notebook prints the
  last expression itself, as the runner does);
- ``lesson.check(label, got, expected, tol)`` becomes ``print(label + ":", got)`` then
  ``assert agrees(got, expected), label`` (``assert low <= got <= high`` for bounds;
  ``v.x``, the runner's way of reading the variable ``x``, is written ``x``);
- ``lesson.file(path, description)`` shows the picture inline (SVG, PNG) or links the page;
- ``lesson.at_end(callback)`` is left out: what the lesson started (a server) stays up;
- ``if not lesson.auto:`` (something only a person at a terminal wants, such as opening a
  browser tab) is left out too: a notebook runs unattended;
- any other statement (bookkeeping for a check, a loop over pictures) is copied as it
  is, in a code cell, with the checks and files inside it converted as above.

The cells are plain student code: no ``lesson`` object is left in them. A statement that
still needs one (``lesson.say`` inside a loop, prose in an f-string) cannot become a
cell, and converting it is an error that says so: give the text to ``lesson.code`` (a
``print``) or write the prose as a literal.

A first cell defines what those cells use: ``out`` (the folder for the pictures),
``agrees`` (the runner's comparison: numbers within a tolerance, arrays element by
element), ``show_file``, and the lesson file's own public helpers that the checks read.
"""

from __future__ import annotations

import ast
import json
import re
import textwrap
from pathlib import Path
from typing import Any

from .runner import Entry, _agrees

__all__ = ["agrees", "notebook_cells", "show_file", "write_notebook"]

LESSON_CALLS = {"step", "say", "code", "check", "file", "at_end"}


# ------------------------------------------------------------------ used inside the notebook


def agrees(got: Any, expected: Any, tol: float = 1e-9) -> bool:
    """The runner's check: numbers within ``tol``, arrays element by element, else ``==``."""
    return _agrees(got, expected, tol)


def show_file(path: Any, description: str) -> None:
    """Show a picture or page the lesson wrote (inline, with a link to a page); fail if it
    is missing."""
    path = Path(path)
    assert path.is_file(), f"the file for {description!r} was not written ({path})"
    try:
        from IPython.display import SVG, FileLink, Image, Markdown, display
    except ImportError:  # run as a plain script
        print(f"▶ open {path}  {description}")
        return
    display(Markdown(f"**{description}** (`{path}`)"))
    if path.suffix == ".svg":
        display(SVG(filename=str(path)))
    elif path.suffix == ".png":
        display(Image(filename=str(path)))
    elif path.suffix == ".html":  # viz.animate's stepper, playable in the notebook
        from ..viz.animate import Stepper

        display(Stepper(path.read_text(encoding="utf-8")))
        display(FileLink(str(path)))
    else:
        display(FileLink(str(path)))


# ------------------------------------------------------------------ writing a notebook


def write_notebook(entry: Entry, folder: str | Path, out: str = "lesson-output") -> Path:
    """Write ``entry``'s lesson as ``folder/NN_topic.ipynb``; return its path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (entry.module_name.rsplit(".", 1)[-1] + ".ipynb")
    notebook = {
        "cells": [_cell(kind, text, k) for k, (kind, text) in
                  enumerate(notebook_cells(entry, out))],
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def _cell(kind: str, text: str, k: int) -> dict:
    cell: dict[str, Any] = {"cell_type": kind, "id": f"cell-{k}", "metadata": {},
                            "source": text.splitlines(keepends=True)}
    if kind == "code":
        cell.update(execution_count=None, outputs=[])
    return cell


def notebook_cells(entry: Entry, out: str = "lesson-output") -> list[tuple[str, str]]:
    """The lesson as (kind, text) cells, kind "markdown" or "code"."""
    module = entry.module
    source = Path(module.__file__).read_text(encoding="utf-8")
    tree = ast.parse(source)
    run = next((node for node in tree.body
                if isinstance(node, ast.FunctionDef) and node.name == "run"), None)
    if run is None or not run.args.args:
        raise ValueError(f"lesson {entry.number} has no run(lesson) function")
    converter = _Converter(source, run.args.args[0].arg)
    for statement in run.body:
        converter.add(statement)
    intro = (f"# Lesson {entry.number}: {entry.title}\n\nAbout {entry.minutes} minutes. "
             "Run the cells in order. The cells that end in `assert` are the lesson's checks: "
             "each prints a result, then compares it with the answer worked out by hand.")
    setup = _setup(tree, run, converter, entry, out)
    return [("markdown", intro), ("code", setup), *converter.cells]


class _Converter:
    """Turns the statements of ``run(lesson)`` into cells."""

    def __init__(self, source: str, lesson_name: str) -> None:
        self.source, self.lesson = source, lesson_name
        self.cells: list[tuple[str, str]] = []
        self.namespaces = {"v"}  # names that lesson.code's namespace was given
        self.steps = 0
        self.bookkeeping: list[str] = []  # the checks and copied statements (not lesson code)

    def add(self, statement: ast.stmt) -> None:
        call, target = _lesson_call(statement, self.lesson)
        literal = call is not None and _all_literal(call.args[:1])
        if call is None or (call.func.attr in {"step", "say", "code"} and not literal):
            self._copy(statement)
        elif call.func.attr == "step":
            self.steps += 1
            self._add("markdown", f"## Step {self.steps} · {call.args[0].value}")
        elif call.func.attr == "say":
            self._add("markdown", textwrap.dedent(call.args[0].value).strip())
        elif call.func.attr == "code":
            if target:
                self.namespaces.add(target)
            self._add("code", textwrap.dedent(call.args[0].value).strip("\n"))
        elif call.func.attr == "check":
            self._add_code_line(self._check(call), merge=True)
        elif call.func.attr == "at_end":
            pass  # the runner's clean-up: in a notebook what the lesson started stays
        else:  # file
            path, description = (self._expression(arg) for arg in call.args[:2])
            self._add("code", f"show_file({path}, {description})")

    def _check(self, call: ast.Call) -> str:
        """The check's value shown, then asserted: ``print(label + ":", got)`` and
        ``assert agrees(got, expected), label`` (``assert low <= got <= high`` for bounds)."""
        arguments = {name: value for name, value in zip(("label", "got", "expected", "tol"),
                                                        call.args)}
        arguments.update({k.arg: k.value for k in call.keywords})
        label, got = self._expression(arguments["label"]), self._expression(arguments["got"])
        label_node = _Unwrap(self.namespaces).visit(_copy_tree(arguments["label"]))
        shown = f"print({_with_colon(label_node, label)}, {got})"
        if "at_least" in arguments or "at_most" in arguments:
            low = f"{self._expression(arguments['at_least'])} <= " if "at_least" in arguments \
                else ""
            high = f" <= {self._expression(arguments['at_most'])}" if "at_most" in arguments \
                else ""
            return f"{shown}\nassert {low}{got}{high}, {label}"
        expected = self._expression(arguments["expected"])
        tol = f", tol={self._expression(arguments['tol'])}" if "tol" in arguments else ""
        return f"{shown}\nassert agrees({got}, {expected}{tol}), {label}"

    def _expression(self, node: ast.expr) -> str:
        """The expression's text, with ``v.x`` written ``x``."""
        return ast.unparse(_Unwrap(self.namespaces).visit(_copy_tree(node)))

    def _copy(self, statement: ast.stmt) -> None:
        if _terminal_only(statement, self.lesson):
            return  # `if not lesson.auto:` is for a person at a terminal
        if any(isinstance(node, ast.Name) and node.id == self.lesson
               for node in ast.walk(statement)):
            text = self._converted(statement)
        else:  # as written, comments and all
            text = ast.get_source_segment(self.source, statement) or ast.unparse(statement)
            text = textwrap.dedent(" " * statement.col_offset + text)
            for name in self.namespaces:  # v.x, the runner's way to read x, is x here
                text = re.sub(rf"(?<![\w.]){name}\.(?=[A-Za-z_])", "", text)
        self._add_code_line(text, merge=True)

    def _converted(self, statement: ast.stmt) -> str:
        """A loop or ``if`` with checks and files inside, as notebook code (or an error)."""
        converted = _Nested(self).visit(_Unwrap(self.namespaces).visit(
            ast.parse(ast.unparse(statement)).body[0]))
        if any(isinstance(node, ast.Name) and node.id == self.lesson
               for node in ast.walk(converted)):
            raise ValueError(
                f"line {statement.lineno} of the lesson file: "
                f"{ast.unparse(statement).splitlines()[0]!r} talks to `{self.lesson}` in a "
                "way a notebook cell cannot (only lesson.check and lesson.file may sit "
                "inside a loop or an if; prose must be a literal string)")
        return ast.unparse(converted)

    def _add(self, kind: str, text: str) -> None:
        self.cells.append((kind, text))

    def _add_code_line(self, text: str, merge: bool) -> None:
        """Bookkeeping and checks gather in one code cell until something else comes."""
        self.bookkeeping.append(text)
        if merge and self.cells and self.cells[-1][0] == "code" and self._open:
            self.cells[-1] = ("code", self.cells[-1][1] + "\n" + text)
        else:
            self.cells.append(("code", text))
        self._open_at = len(self.cells)

    @property
    def _open(self) -> bool:
        return getattr(self, "_open_at", -1) == len(self.cells)


def _lesson_call(statement: ast.stmt, lesson: str) -> tuple[ast.Call | None, str | None]:
    """(the call, the name assigned) when the statement is ``[name =] lesson.X(...)``."""
    target = None
    if isinstance(statement, ast.Assign) and len(statement.targets) == 1 \
            and isinstance(statement.targets[0], ast.Name):
        target, value = statement.targets[0].id, statement.value
    elif isinstance(statement, ast.Expr):
        value = statement.value
    else:
        return None, None
    if (isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute)
            and isinstance(value.func.value, ast.Name) and value.func.value.id == lesson
            and value.func.attr in LESSON_CALLS and value.args):
        if value.func.attr != "code" and target is not None:
            return None, None
        return value, target
    return None, None


def _with_colon(node: ast.expr, text: str) -> str:
    """The label followed by a colon: ``"y = 6:"`` for a literal, else ``label + ":"``."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return repr(node.value + ":")
    if isinstance(node, ast.JoinedStr):
        joined = ast.JoinedStr([*node.values, ast.Constant(":")])
        return ast.unparse(joined)
    return f'{text} + ":"'


def _all_literal(arguments: list[ast.expr]) -> bool:
    return all(isinstance(a, ast.Constant) and isinstance(a.value, str) for a in arguments)


def _copy_tree(node: ast.expr) -> ast.expr:
    return ast.parse(ast.unparse(node), mode="eval").body


class _Unwrap(ast.NodeTransformer):
    """``v.x`` -> ``x`` for the names lesson.code's namespace was given."""

    def __init__(self, namespaces: set[str]) -> None:
        self.namespaces = namespaces

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        if isinstance(node.value, ast.Name) and node.value.id in self.namespaces:
            return ast.copy_location(ast.Name(node.attr, ast.Load()), node)
        return self.generic_visit(node)


class _Nested(ast.NodeTransformer):
    """Inside a copied loop or ``if``: ``lesson.check`` and ``lesson.file`` as in a cell."""

    def __init__(self, converter: _Converter) -> None:
        self.converter = converter

    def visit_Expr(self, node: ast.Expr) -> Any:
        call, _ = _lesson_call(node, self.converter.lesson)
        if call is None or call.func.attr not in {"check", "file"}:
            return self.generic_visit(node)
        if call.func.attr == "check":
            text = self.converter._check(call)
        else:
            path, description = (self.converter._expression(arg) for arg in call.args[:2])
            text = f"show_file({path}, {description})"
        return ast.parse(text).body


def _terminal_only(statement: ast.stmt, lesson: str) -> bool:
    """Whether the statement is ``if not lesson.auto: ...`` (with no else)."""
    test = getattr(statement, "test", None)
    return (isinstance(statement, ast.If) and not statement.orelse
            and isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not)
            and isinstance(test.operand, ast.Attribute) and test.operand.attr == "auto"
            and isinstance(test.operand.value, ast.Name) and test.operand.value.id == lesson)


def _setup(tree: ast.Module, run: ast.FunctionDef, converter: _Converter, entry: Entry,
           out: str) -> str:
    """The first code cell: imports, ``out``, ``v``, the lesson file's helpers it uses."""
    lines = ["from pathlib import Path", "",
             "from chaingrad.lessons.notebook import agrees, show_file", "",
             f"out = Path({out!r})  # the lesson's pictures and pages go here",
             "out.mkdir(parents=True, exist_ok=True)"]
    used = _helpers_used(tree, run, converter)
    imports = [ast.unparse(node) for node in tree.body
               if isinstance(node, (ast.Import, ast.ImportFrom))
               and any((a.asname or a.name).split(".")[0] in used for a in node.names)]
    imported = {(a.asname or a.name).split(".")[0] for node in tree.body
                if isinstance(node, (ast.Import, ast.ImportFrom)) for a in node.names}
    helpers = [name for name in used if name not in imported]
    if imports:
        lines[0:0] = [*imports]
    if helpers:
        lines += ["", "# the lesson file's own helpers, used by the checks below",
                  "import importlib", "",
                  f"lesson_file = importlib.import_module({entry.module_name!r})",
                  *(f"{name} = lesson_file.{name}" for name in helpers)]
    return "\n".join(lines)


def _helpers_used(tree: ast.Module, run: ast.FunctionDef, converter: _Converter) -> list[str]:
    """Module-level names of the lesson file that the converted cells read."""
    defined = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            defined.add(node.name)
        elif isinstance(node, ast.Assign):
            defined.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            defined.update((a.asname or a.name).split(".")[0] for a in node.names)
    text = "\n".join(converter.bookkeeping)
    read = {node.id for node in ast.walk(ast.parse(text)) if isinstance(node, ast.Name)}
    return sorted((read & defined) - {"run", "TITLE", "MINUTES"})
