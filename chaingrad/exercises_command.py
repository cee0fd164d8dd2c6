"""``chaingrad exercises``: list the assignments; ``chaingrad exercises start N [DIR]``
writes assignment N's stub file into DIR (default ``homework/``), never over a file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HELP = "list the homework exercises, or start an assignment: exercises start N [DIR]"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", nargs="?", choices=("start",),
                        help="start: write an assignment's stub file")
    parser.add_argument("assignment", nargs="?",
                        help="the assignment's number, or an instructor's exercise file")
    parser.add_argument("folder", nargs="?", type=Path, default=Path("homework"),
                        help="where to write the stub file (default homework/)")
    parser.add_argument("--exercises", metavar="FILE", action="append", default=[],
                        help="list the exercises of an instructor's file instead")


def run(arguments: argparse.Namespace) -> int:
    from .lessons.exercises.grader import builtin_assignments, load_exercise_file

    try:
        assignments = {}
        for path in arguments.exercises:
            assignments.update(load_exercise_file(_existing(path)))
        if arguments.action == "start" and arguments.assignment is not None \
                and arguments.assignment.endswith(".py"):
            assignments.update(load_exercise_file(_existing(arguments.assignment)))
            key = next(iter(assignments))
        else:
            key = arguments.assignment
        assignments = assignments or builtin_assignments()
    except (OSError, ValueError, SyntaxError) as error:
        return _fail(str(error))
    if arguments.action is None:
        _list(assignments)
        return 0
    if key is None:
        return _fail(f"say which assignment to start: {', '.join(assignments)} (e.g. "
                     "chaingrad exercises start 1)")
    if key not in assignments:
        return _fail(f"there is no assignment {key!r}; the assignments are "
                     f"{', '.join(assignments)} (e.g. chaingrad exercises start 1)")
    return _start(assignments[key], arguments.folder)


def _existing(path: str) -> Path:
    if not Path(path).is_file():
        raise ValueError(f"no exercise file {path!r}")
    return Path(path)


def _list(assignments) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False)
    for a in assignments.values():
        table = Table(title=f"Assignment {a.key}: {a.title}  ({a.points:g} points)",
                      title_justify="left", show_edge=False)
        table.add_column("#")
        table.add_column("write")
        table.add_column("task")
        table.add_column("points", justify="right")
        for e in a.exercises:
            table.add_row(e.number, e.name, e.title, f"{e.points:g}")
        console.print(table)
        console.print()
    first = next(iter(assignments))
    console.print(f"Start one with: [bold]chaingrad exercises start {first}[/bold]  (writes "
                  f"homework/{assignments[first].filename()}); grade it with "
                  f"[bold]chaingrad check homework/{assignments[first].filename()}[/bold]")


def _start(assignment, folder: Path) -> int:
    target = folder / assignment.filename()
    blocker = next((p for p in (folder, *folder.parents) if p.exists()), None)
    if blocker is not None and not blocker.is_dir():
        return _fail(f"{str(blocker)!r} is a file, not a folder; give a folder for the "
                     "assignment, such as homework")
    if target.exists():
        return _fail(f"{str(target)!r} already exists; it is never overwritten (your work is "
                     "in it). Grade it with: chaingrad check " + str(target))
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with open(target, "x", encoding="utf-8") as out:
            out.write(assignment.stub_file(str(target)))
    except OSError as error:
        return _fail(f"cannot write {str(target)!r}: {error.strerror}")
    count = len(assignment.exercises)
    print(f"wrote {target}: {count} exercises, {assignment.points:g} points.\n"
          f"Open it, write the first exercise, then run:\n"
          f"    chaingrad check {target} --pictures pictures/")
    return 0


def _fail(message: str) -> int:
    print(f"chaingrad exercises: {message}", file=sys.stderr)
    return 2
