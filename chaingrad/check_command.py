"""``chaingrad check FILE...``: grade homework files, each in its own subprocess.

    chaingrad check homework/assignment1.py --pictures pictures/
    chaingrad check submissions/*.py --report grades.csv       # a whole class
    chaingrad check submissions/ --exercises my_exercises.py --json

Exit status: 0 when every exercise passed, 1 when something failed, 2 for a usage error.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import textwrap
from dataclasses import asdict
from pathlib import Path

HELP = "grade homework files: per exercise pass / fail / error, a sentence and a picture"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from .lessons.exercises.grader import DEFAULT_TIMEOUT

    parser.add_argument("files", nargs="+", metavar="FILE",
                        help="the students' .py files (or folders of them)")
    parser.add_argument("--pictures", metavar="DIR",
                        help="draw each wrong gradient exercise's graph into DIR")
    parser.add_argument("--report", metavar="CSV",
                        help="write one row per file and exercise to this CSV file")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, metavar="S",
                        help=f"seconds per exercise (default {DEFAULT_TIMEOUT:g}; training "
                             "exercises get a few times more)")
    parser.add_argument("--exercises", metavar="FILE", action="append", default=[],
                        help="grade with the exercises of an instructor's file")
    parser.add_argument("--seed", type=int, default=None, metavar="N",
                        help="the seed of the hidden cases (default: a fresh one per run; "
                             "--json shows it, so a run can be repeated exactly)")
    parser.add_argument("--sandbox", action="store_true",
                        help="run each submission in a sandbox (bubblewrap or unshare: no "
                             "network, own process space)")
    parser.add_argument("--jobs", type=int, default=None, metavar="N",
                        help="files graded at the same time (default: the number of cores, "
                             "at most 4)")


def run(arguments: argparse.Namespace) -> int:
    from .lessons.exercises.grader import grade_files

    try:
        files = _files(arguments.files)
        _check_options(arguments)
        if arguments.sandbox:
            from chaingrad.lessons.exercises.grader import sandbox_prefix

            sandbox_prefix()  # a ValueError saying why there is none here
    except ValueError as error:
        return _fail(str(error))
    try:
        graded = grade_files(files, arguments.exercises, arguments.timeout,
                             arguments.pictures, arguments.jobs, seed=arguments.seed,
                             sandbox=arguments.sandbox)
    except (OSError, ValueError, SyntaxError) as error:  # the instructor's exercise file
        return _fail(f"cannot use the exercises: {error}")
    for shown, results in graded.items():
        for r in results:
            r.file = shown
            r.picture = _relative(r.picture)
    if arguments.report:
        try:
            _write_csv(arguments.report, graded)
        except OSError as error:
            return _fail(f"cannot write {arguments.report!r}: {error.strerror}")
    if arguments.json:
        print(json.dumps(_as_json(graded), indent=1, ensure_ascii=False))
    elif len(graded) == 1:
        _details(graded)
    else:
        _summary(graded)
    if arguments.report and not arguments.json:
        print(f"wrote {arguments.report}")
    everything = [r for results in graded.values() for r in results]
    return 0 if everything and all(r.result == "pass" for r in everything) else 1


def _relative(path: str) -> str:
    """A picture's path relative to the current folder when it is inside it."""
    if not path or path.startswith("("):
        return path
    try:
        return str(Path(path).relative_to(Path.cwd()))
    except ValueError:
        return path


def _files(given: list[str]) -> list[str]:
    """The files to grade: each FILE, and the .py files in each folder (sorted)."""
    files = []
    for name in given:
        path = Path(name)
        if path.is_dir():
            inside = sorted(str(p) for p in path.glob("*.py"))
            if not inside:
                raise ValueError(f"the folder {name!r} holds no .py files")
            files += inside
        elif not path.is_file():
            raise ValueError(f"no such file: {name!r}")
        elif path.suffix != ".py":
            raise ValueError(f"{name!r} is not a Python file (.py)")
        else:
            files.append(name)
    return files


def _check_options(arguments: argparse.Namespace) -> None:
    if not arguments.timeout > 0:
        raise ValueError(f"--timeout must be a number of seconds above 0, got "
                         f"{arguments.timeout:g}")
    if arguments.jobs is not None and arguments.jobs < 1:
        raise ValueError(f"--jobs must be 1 or more, got {arguments.jobs}")
    for name in arguments.exercises:
        if not Path(name).is_file():
            raise ValueError(f"no exercise file {name!r}")
    if arguments.report:
        folder = Path(arguments.report).resolve().parent
        if not folder.is_dir() or not os.access(folder, os.W_OK):
            raise ValueError(f"cannot write the report {arguments.report!r}: no folder "
                             f"{str(folder)!r} to write in")
        if Path(arguments.report).is_dir():
            raise ValueError(f"--report {arguments.report!r} is a folder; give a file name "
                             "such as grades.csv")


def _totals(results) -> tuple[float, float, dict[str, int]]:
    counts = {"pass": 0, "fail": 0, "error": 0}
    for r in results:
        counts[r.result] = counts.get(r.result, 0) + 1
    return (sum(r.points for r in results), sum(r.max_points for r in results), counts)


def _write_csv(path: str, graded) -> None:
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["file", "exercise", "result", "points", "max_points", "message",
                         "picture"])
        for results in graded.values():
            for r in results:
                writer.writerow([r.file, r.exercise, r.result, f"{r.points:g}",
                                 f"{r.max_points:g}", r.message, r.picture])


def _as_json(graded) -> dict:
    files = []
    for shown, results in graded.items():
        points, most, counts = _totals(results)
        files.append({"file": shown, "points": points, "max_points": most, **counts,
                      "results": [asdict(r) for r in results]})
    return {"files": files, "passed": all(f["fail"] == f["error"] == 0 for f in files)}


def _console():
    from rich.console import Console

    return Console(highlight=False)


MARKS = {"pass": "[green]✓ pass [/green]", "fail": "[red]✗ fail [/red]",
         "error": "[magenta]! error[/magenta]"}


def _details(graded) -> None:
    from rich.markup import escape

    console = _console()
    for shown, results in graded.items():
        console.print(f"[bold]{escape(shown)}[/bold]")
        for r in results:
            points = f"{r.points:g}/{r.max_points:g}"
            console.print(f"  {MARKS.get(r.result, r.result)} {escape(r.exercise):<24} "
                          f"{points:>5}")
            if r.message:
                wrapped = textwrap.fill(r.message, max(40, console.width - 1),
                                        initial_indent=" " * 6, subsequent_indent=" " * 6)
                console.print(escape(wrapped))
            if r.picture:
                console.print(f"      [dim]picture:[/dim] {escape(r.picture)}")
            if r.output.strip() and r.result != "pass":
                console.print("      [dim]your code printed:[/dim]")
                for line in r.output.strip().splitlines()[:10]:
                    console.print(f"        {escape(line)}")
        points, most, counts = _totals(results)
        errors = f"{counts['error']} error{'s' if counts['error'] != 1 else ''}"
        console.print(f"[bold]{points:g} of {most:g} points[/bold]: {counts['pass']} passed, "
                      f"{counts['fail']} failed, {errors}")


def _summary(graded) -> None:
    from rich.table import Table

    table = Table(title=f"{len(graded)} files", title_justify="left")
    for column, justify in (("file", "left"), ("points", "right"), ("passed", "right"),
                            ("failed", "right"), ("errors", "right")):
        table.add_column(column, justify=justify)
    for shown, results in graded.items():
        points, most, counts = _totals(results)
        table.add_row(shown, f"{points:g}/{most:g}", str(counts["pass"]), str(counts["fail"]),
                      str(counts["error"]))
    console = _console()
    console.print(table)
    console.print("[dim]One file's messages: chaingrad check FILE; everything: --report "
                  "grades.csv or --json[/dim]")


def _fail(message: str) -> int:
    print(f"chaingrad check: {message}", file=sys.stderr)
    return 2
