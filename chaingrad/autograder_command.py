"""``chaingrad autograder gradescope N -o autograder.zip``: an autograder for Gradescope.

    chaingrad autograder gradescope 1 -o autograder.zip
    chaingrad autograder gradescope relu_homework.py -o autograder.zip   # your exercises

The zip holds setup.sh (installs chaingrad in the image), run_autograder (grades the
submission into results/results.json with ``chaingrad check --gradescope``) and, for an
instructor's exercises, their file. Upload it as the assignment's autograder.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HELP = "build an autograder.zip that grades one assignment on Gradescope"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from .lessons.exercises.grader import DEFAULT_TIMEOUT

    parser.add_argument("platform", choices=("gradescope",), help="where it runs")
    parser.add_argument("assignment", metavar="N",
                        help="an assignment number (1, 2, 3) or an instructor's exercise file")
    parser.add_argument("-o", "--output", default="autograder.zip", metavar="ZIP",
                        help="the zip to write (default autograder.zip)")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, metavar="S",
                        help=f"CPU seconds per exercise (default {DEFAULT_TIMEOUT:g})")
    parser.add_argument("--requirement", metavar="SPEC",
                        help="what setup.sh installs with pip (default: this version of "
                             "chaingrad from PyPI)")


def run(arguments: argparse.Namespace) -> int:
    from . import __version__
    from .check_command import MAX_TIMEOUT
    from .lessons.exercises import builtin_assignments
    from .lessons.exercises.grader import load_exercise_file
    from .lessons.exercises.gradescope import autograder_files, write_zip

    if not 0 < arguments.timeout <= MAX_TIMEOUT:  # nan and inf too: Gradescope would fail
        return _fail(f"--timeout must be a number of seconds above 0 and at most "
                     f"{MAX_TIMEOUT:g} (per exercise), got {arguments.timeout:g}")
    exercise_file = None
    if Path(arguments.assignment).suffix == ".py":
        exercise_file = arguments.assignment
        try:
            made = load_exercise_file(exercise_file)
        except (OSError, ValueError, SyntaxError) as error:
            return _fail(f"cannot use the exercises: {error}")
        if len(made) != 1:
            return _fail(f"{exercise_file!r} defines {len(made)} assignments "
                         f"({', '.join(sorted(made))}); an autograder grades one")
        key = next(iter(made))
        assignment = made[key]
    else:
        assignments = builtin_assignments()
        key = str(arguments.assignment)
        if key not in assignments:
            return _fail(f"there is no assignment {key!r} (there are "
                         f"{', '.join(sorted(assignments))}, or give an exercise file)")
        assignment = assignments[key]
    output = Path(arguments.output)
    if output.is_dir() or not output.resolve().parent.is_dir():
        return _fail(f"cannot write {arguments.output!r}: give a file name in an existing "
                     "folder")
    requirement = arguments.requirement or f"chaingrad=={__version__}"
    files = autograder_files(key, exercise_file, arguments.timeout, requirement)
    write_zip(output, files)
    print(f"wrote {output}: assignment {key} ({assignment.points:g} points, "
          f"{len(assignment.exercises)} exercises); upload it as the autograder on Gradescope "
          f"and set the assignment's points to {assignment.points:g}")
    return 0


def _fail(message: str) -> int:
    print(f"chaingrad autograder: {message}", file=sys.stderr)
    return 2
