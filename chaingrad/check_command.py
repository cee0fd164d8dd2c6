"""``chaingrad check FILE...``: grade homework files, each in its own subprocess.

    chaingrad check homework/assignment1.py --pictures pictures/
    chaingrad check submissions/ --report grades.csv --feedback feedback/   # a whole class
    chaingrad check submissions/ --report grades.csv --resume               # after a Ctrl-C
    chaingrad check submission/ --assignment 1 --gradescope results.json    # on Gradescope

Folders are searched recursively for .py files and notebooks (.ipynb). Every output is
written by this process only, as each file is graded (atomically), never by the students'
code. Exit status: 0 when every exercise passed, 1 when something failed, 2 for a usage
error, 130 when interrupted (the files graded so far are kept).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import textwrap
import time
from collections import Counter
from dataclasses import asdict
from pathlib import Path

# An hour of CPU per exercise: more is a typo (and infinity cannot be a process's limit).
MAX_TIMEOUT = 3600.0
HELP = "grade homework files: per exercise pass / fail / error, a sentence and a picture"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from .lessons.exercises.grader import DEFAULT_TIMEOUT

    parser.add_argument("files", nargs="+", metavar="FILE",
                        help="the students' .py or .ipynb files, or folders of them "
                             "(searched recursively)")
    parser.add_argument("--pictures", metavar="DIR",
                        help="draw each wrong gradient exercise's graph into DIR (a file per "
                             "student and exercise)")
    parser.add_argument("--report", metavar="CSV",
                        help="write one row per file and exercise, and a total row per "
                             "student, to this CSV file (rewritten as each file is graded)")
    parser.add_argument("--resume", action="store_true",
                        help="keep the files --report already holds and grade only the rest")
    parser.add_argument("--feedback", metavar="DIR",
                        help="write one Markdown file per student into DIR: every sentence "
                             "and picture, ready to hand back")
    parser.add_argument("--gradescope", metavar="JSON",
                        help="write Gradescope's results.json for the submission graded")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--id-from", choices=("path", "parent-folder"), default="path",
                        help="a student's id: the file's path inside the folder given "
                             "(default), or the folder that holds the file")
    parser.add_argument("--assignment", metavar="N",
                        help="the assignment the class answers (for files that cannot be "
                             "read; default: the one most files declare)")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, metavar="S",
                        help=f"CPU seconds per exercise (default {DEFAULT_TIMEOUT:g}; training "
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
    from .lessons.exercises.reports import Report

    started = time.monotonic()
    try:
        _check_options(arguments)
        if arguments.sandbox:
            from .lessons.exercises.grader import sandbox_prefix

            sandbox_prefix()  # a ValueError saying why there is none here
        else:
            from .lessons.exercises.session import closed_to_children

            closed = closed_to_children()  # as root, children could not import chaingrad
            if closed:
                raise ValueError(closed)
        assignments = _assignments(arguments.exercises)
        report = Report(arguments.report, resume=arguments.resume)
    except ValueError as error:
        return _fail(str(error))
    except (OSError, SyntaxError) as error:  # the instructor's exercise file
        return _fail(f"cannot use the exercises: {error}")
    try:
        submissions, skipped = _submissions(arguments)
    except ValueError as error:
        if arguments.gradescope:  # Gradescope shows the student this sentence, score 0
            _write_gradescope(arguments.gradescope, [], 0.0, f"Nothing was graded: {error}.")
        return _fail(str(error))
    for name in skipped:
        print(f"chaingrad check: not graded (not a .py or .ipynb file): {_visible(name)}",
              file=sys.stderr)
    try:
        assignment = _class_assignment(arguments.assignment, submissions, assignments)
    except ValueError as error:
        return _fail(str(error))
    report.order = {s.file: n for n, s in enumerate(submissions)}
    kept = {s.file for s in submissions if report.done(s.file)}
    todo = [s for s in submissions if s.file not in kept]
    if kept:
        print(f"chaingrad check: {len(kept)} file{'s' if len(kept) != 1 else ''} already in "
              f"{arguments.report}, {len(todo)} to grade", file=sys.stderr)
    graded = {s.file: report.graded[s.file] for s in submissions if s.file in kept}
    interrupted = False
    try:
        _grade(arguments, todo, assignment, report, graded)
    except KeyboardInterrupt:
        interrupted = True
    except (OSError, ValueError, SyntaxError) as error:
        if isinstance(error, OSError) and error.filename is not None:
            return _fail(f"cannot write {str(error.filename)!r}: {error.strerror}")
        return _fail(f"cannot use the exercises: {error}")
    if graded:  # once more, now that every child is gone: what is on disk is ours
        report.write()
    ordered = [graded[s.file] for s in submissions if s.file in graded]
    if arguments.gradescope:
        _write_gradescope(arguments.gradescope, ordered, time.monotonic() - started)
    if interrupted:
        kept_in = f", kept in {arguments.report}" if arguments.report else ""
        _say(f"interrupted: {len(ordered)} of {len(submissions)} files graded{kept_in}"
             + ("; --resume grades the rest" if arguments.report else ""))
        return 130
    _show(arguments, ordered)
    everything = [r for g in ordered for r in g.results]
    return 0 if everything and all(r.result == "pass" for r in everything) else 1


# ------------------------------------------------------------------ grading


def _grade(arguments, todo, assignment, report, graded) -> None:
    """Grade every submission; each file's rows reach the report as soon as it is done."""
    from .lessons.exercises.grader import grade_files
    from .lessons.exercises.reports import Graded, by_student, write_feedback
    from .lessons.exercises.submissions import distinct_names

    names = distinct_names([s.student for s in todo] + [g.student for g in graded.values()])
    by_file = {s.file: s for s in todo}
    scratch = ""  # pictures drawn for --feedback alone, removed at the end

    def done(file: str, results) -> None:
        submission = by_file[file]
        for r in results:
            r.file = file
            r.message = submission.where(r.message)
        one = Graded(submission.student, file, list(results), list(submission.notes))
        graded[file] = one
        if arguments.feedback:
            student = next(s for s in by_student(graded.values())
                           if s.student == submission.student)
            copies = write_feedback(arguments.feedback, student, names[submission.student])
            if not arguments.pictures:  # the pictures live in the feedback folder only
                for r in one.results:
                    r.picture = copies.get(r.picture, "" if scratch else r.picture)
        for r in one.results:
            r.picture = _relative(r.picture)
        report.add(one)

    for s in todo:
        if s.problem:  # nothing to run: 0 of the assignment's points, with the sentence
            done(s.file, _not_graded(s, assignment))
    readable = [s for s in todo if not s.problem]
    if not readable:
        return
    pictures = None
    if arguments.pictures:
        from .lessons.exercises.reports import real_folder

        pictures = str(real_folder(arguments.pictures).resolve())
    elif arguments.feedback:  # drawn aside, then copied into each student's feedback
        pictures = scratch = tempfile.mkdtemp(prefix="chaingrad-pictures-")
    seed = arguments.seed if arguments.seed is not None else int.from_bytes(os.urandom(4),
                                                                            "little")
    if not arguments.json and (len(readable) > 1 or arguments.report):  # to grade again
        print(f"chaingrad check: hidden cases drawn with --seed {seed}", file=sys.stderr)
    try:
        grade_files([s.file for s in readable], arguments.exercises, arguments.timeout,
                    pictures, arguments.jobs, seed=seed,
                    sources={s.file: s.text for s in readable}, sandbox=arguments.sandbox,
                    on_file=done)
    finally:
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)


def _not_graded(submission, assignment) -> list:
    from .lessons.exercises.grader import Result

    if assignment is None:
        return [Result(submission.file, "(file)", "error", 0.0, 0.0, submission.problem)]
    return [Result(submission.file, e.label(), "error", 0.0, e.points, submission.problem)
            for e in assignment.exercises]


def _assignments(exercise_files: list[str]) -> dict:
    from .lessons.exercises.grader import builtin_assignments, load_exercise_file

    if not exercise_files:
        return builtin_assignments()
    chosen: dict = {}
    for name in exercise_files:
        chosen.update(load_exercise_file(name))
    return chosen


def _class_assignment(key, submissions, assignments):
    """The assignment a file that cannot be read is graded against (0 of its points):
    --assignment, else the one most readable files declare, else the only one."""
    from .lessons.exercises.grader import ASSIGNMENT_LINE

    if key is not None:
        if str(key) not in assignments:
            raise ValueError(f"--assignment {key}: there is no such assignment (there are "
                             f"{', '.join(sorted(assignments))})")
        return assignments[str(key)]
    if len(assignments) == 1:
        return next(iter(assignments.values()))
    declared = Counter(m.group(1) for s in submissions if s.text
                       for m in [ASSIGNMENT_LINE.search(s.text)] if m)
    for found, _ in declared.most_common():
        if found in assignments:
            return assignments[found]
    if any(s.problem for s in submissions):
        raise ValueError("cannot tell which assignment the files that cannot be read answer: "
                         "give --assignment N")
    return None


def _submissions(arguments):
    from .lessons.exercises.submissions import find_submissions

    submissions, skipped = find_submissions(arguments.files, arguments.id_from)
    if not submissions:
        raise ValueError("nothing to grade: no .py or .ipynb file among "
                         f"{', '.join(map(repr, arguments.files))}")
    if submissions and all(s.problem and not s.file.endswith((".py", ".ipynb"))
                           for s in submissions) and len(arguments.files) == 1 \
            and Path(arguments.files[0]).is_file():
        raise ValueError(f"{arguments.files[0]!r} is not a Python file (.py) or a notebook "
                         "(.ipynb)")
    return submissions, skipped


def _relative(path: str) -> str:
    """A picture's path relative to the current folder when it is inside it."""
    if not path or path.startswith("("):
        return path
    try:
        return str(Path(path).relative_to(Path.cwd()))
    except ValueError:
        return path


def _check_options(arguments: argparse.Namespace) -> None:
    if not 0 < arguments.timeout <= MAX_TIMEOUT:  # nan and inf too: not the student's fault
        raise ValueError(f"--timeout must be a number of seconds above 0 and at most "
                         f"{MAX_TIMEOUT:g} (per exercise), got {arguments.timeout:g}")
    if arguments.jobs is not None and arguments.jobs < 1:
        raise ValueError(f"--jobs must be 1 or more, got {arguments.jobs}")
    for name in arguments.exercises:
        if not Path(name).is_file():
            raise ValueError(f"no exercise file {name!r}")
    if arguments.resume and not arguments.report:
        raise ValueError("--resume needs --report CSV: the report it continues")
    for option in ("report", "gradescope"):
        name = getattr(arguments, option)
        if not name:
            continue
        folder = Path(name).resolve().parent
        if not folder.is_dir() or not os.access(folder, os.W_OK):
            raise ValueError(f"cannot write --{option} {name!r}: no folder {str(folder)!r} "
                             "to write in")
        if Path(name).is_dir():
            raise ValueError(f"--{option} {name!r} is a folder; give a file name such as "
                             f"{'grades.csv' if option == 'report' else 'results.json'}")
    for option in ("pictures", "feedback"):
        name = getattr(arguments, option)
        if name and Path(name).exists() and not Path(name).is_dir():
            raise ValueError(f"--{option} {name!r} is a file; give a folder")
    _outside_submissions(arguments)


def _outside_submissions(arguments) -> None:
    """The outputs are never written inside a folder being graded."""
    folders = [Path(f).resolve() for f in arguments.files if Path(f).is_dir()]
    for option in ("report", "gradescope", "pictures", "feedback"):
        name = getattr(arguments, option)
        if not name:
            continue
        target = Path(name).resolve()
        for folder in folders:
            if target == folder or folder in target.parents:
                raise ValueError(f"--{option} {name!r} is inside the folder being graded "
                                 f"({str(folder)!r}): put it elsewhere")


# ------------------------------------------------------------------ showing


def _write_gradescope(path: str, graded, seconds: float, problem: str = "") -> None:
    from .lessons.exercises.gradescope import results_json
    from .lessons.exercises.reports import write_atomically

    results = results_json(graded, seconds, problem)
    write_atomically(path, json.dumps(results, indent=1, ensure_ascii=False) + "\n")


def _show(arguments, graded) -> None:
    if arguments.json:
        print(json.dumps(_as_json(graded), indent=1, ensure_ascii=False))
    elif len(graded) == 1:
        _details(graded)
    elif graded:
        _summary(graded)
    written = [name for name in (arguments.report, arguments.feedback, arguments.gradescope)
               if name]
    if written and not arguments.json:
        print(f"wrote {', '.join(written)}")


def _as_json(graded) -> dict:
    from .lessons.exercises.reports import by_student

    files = [{"student": g.student, "file": g.file, "points": g.points,
              "max_points": g.max_points, **g.counts(), "notes": g.notes,
              "results": [asdict(r) for r in g.results]} for g in graded]
    students = [{"student": s.student, "points": s.points, "max_points": s.max_points,
                 "files": [g.file for g in s.files]} for s in by_student(graded)]
    return {"files": files, "students": students,
            "passed": all(f["fail"] == f["error"] == 0 for f in files)}


def _console():
    from rich.console import Console

    return Console(highlight=False)


MARKS = {"pass": "[green]✓ pass [/green]", "fail": "[red]✗ fail [/red]",
         "error": "[magenta]! error[/magenta]"}
# What a student's file name, message or printout may hold that a terminal would obey (an
# escape sequence, a line break that forges a line, a direction override): shown escaped.
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _visible(text: str) -> str:
    return CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), str(text))


def _plain(text: str) -> str:
    """A student-shaped text for the terminal: no markup, no control character."""
    from rich.markup import escape

    return escape(_visible(text))


def _details(graded) -> None:
    console = _console()
    for g in graded:
        console.print(f"[bold]{_plain(g.file)}[/bold]")
        for note in g.notes:
            console.print(_plain(textwrap.fill(_visible(note), max(40, console.width - 1),
                                               initial_indent="  ", subsequent_indent="  ")))
        for r in g.results:
            points = f"{r.points:g}/{r.max_points:g}"
            console.print(f"  {MARKS.get(r.result, _plain(r.result))} "
                          f"{_plain(r.exercise):<24} {points:>5}")
            if r.message:
                wrapped = textwrap.fill(_visible(r.message), max(40, console.width - 1),
                                        initial_indent=" " * 6, subsequent_indent=" " * 6)
                console.print("\n".join(_plain(line) for line in wrapped.split("\n")))
            if r.picture:
                console.print(f"      [dim]picture:[/dim] {_plain(r.picture)}")
            if r.output.strip() and r.result != "pass":
                console.print("      [dim]your code printed:[/dim]")
                for line in r.output.strip().splitlines()[:10]:
                    console.print(f"        {_plain(line)}")
        counts = g.counts()
        errors = f"{counts['error']} error{'s' if counts['error'] != 1 else ''}"
        console.print(f"[bold]{g.points:g} of {g.max_points:g} points[/bold]: "
                      f"{counts['pass']} passed, {counts['fail']} failed, {errors}")


def _summary(graded) -> None:
    from rich.table import Table

    from .lessons.exercises.reports import by_student

    students = by_student(graded)
    console = _console()
    width = max(16, console.width - 48)  # what the five number columns leave for the id
    table = Table(title=f"{len(students)} students, {len(graded)} files", title_justify="left")
    for column, justify in (("student", "left"), ("files", "right"), ("points", "right"),
                            ("passed", "right"), ("failed", "right"), ("errors", "right")):
        table.add_column(column, justify=justify)
    for s in students:
        counts = s.counts()
        table.add_row(_tail(_plain(s.student), width), str(len(s.files)),
                      f"{s.points:g}/{s.max_points:g}", str(counts["pass"]),
                      str(counts["fail"]), str(counts["error"]))
    console.print(table)
    console.print("[dim]One file's messages: chaingrad check FILE; everything: --report "
                  "grades.csv, --feedback DIR or --json[/dim]")


def _tail(student: str, width: int) -> str:
    """A long id cut at its start, where ids share their folders: …/assignment1.py."""
    return student if len(student) <= width else "…" + student[len(student) - width + 1:]


def _say(message: str) -> None:
    print(f"chaingrad check: {message}", file=sys.stderr)


def _fail(message: str) -> int:
    _say(message)
    return 2
