"""Every lesson fits the screen a student has: an 80×40 terminal.

For every lesson the runner finds (lessons added later included), run at 80 columns:
- each step, from the blank line and title before it to the Enter prompt after it, takes
  at most 40 rows (a line wider than 80 columns takes two);
- every line of code shown has at most 76 characters (the frame takes 4 columns, and a
  longer line would be printed without it and wrapped mid-expression), and nothing the
  code prints is wider than 80 columns;
- the command's own lines count too: the header panel (and the command line typed above
  it) share the screen with step 1, and the summary (and the prompt after it) with the
  last step;
- every check prints a sentence and a number a student can verify: ``got`` is a number
  or at most four numbers, never True alone, a dict, a long array or a tuple of
  booleans; and the check's line fits 80 columns (a wrapped check is hard to read).
"""

import io
import math
import os
import re
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import numpy as np
import pytest
from rich.cells import cell_len
from rich.console import Console

from chaingrad.lessons.runner import Entry, Lesson, _plain, find_lessons, play

LESSONS = find_lessons()
WIDTH, HEIGHT, CODE_WIDTH, MOST_NUMBERS = 80, 40, 76, 4
PAUSE_ROWS = 2  # the blank line and "⏎ Enter: next step" after a step
COMMAND_ROWS = 1  # the command typed before the lesson, or the prompt after it


class ScreenLesson(Lesson):
    """A Lesson that notes where each step starts, the code it showed and what it checked."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.starts, self.sources, self.checked, self.check_rows = [], [], [], []

    def step(self, title):
        self.starts.append((self.console.file.tell(), title))
        super().step(title)

    def code(self, source):
        self.sources.append((self.steps, textwrap.dedent(source).strip("\n")))
        return super().code(source)

    def check(self, label, got, expected=None, tol=1e-9, **bounds):
        self.checked.append((self.steps, label, _plain(got)))
        before = self.console.file.tell()
        ok = super().check(label, got, expected, tol, **bounds)
        self.check_rows.append((self.steps, label, _rows(self.console.file.getvalue()[before:])))
        return ok


def _rows(text):
    lines = text.rstrip().splitlines()
    return sum(max(1, math.ceil(cell_len(line) / WIDTH)) for line in lines)


def _is_number(x):
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool)


def _says_a_number(got):
    """True for a number or a few numbers (never a bare True: give the count or margin)."""
    if isinstance(got, bool):
        return False
    if _is_number(got):
        return True
    if isinstance(got, np.ndarray):
        return got.ndim <= 1 and got.size <= MOST_NUMBERS and got.dtype.kind in "iuf"
    if isinstance(got, (list, tuple)):
        return 0 < len(got) <= MOST_NUMBERS and all(_is_number(x) for x in got)
    return False


@pytest.fixture(scope="module")
def screens(tmp_path_factory):
    """Each lesson run once at 80 columns: number -> (lesson, its output, where it ended)."""
    runs = {}

    def run(number):
        if number not in runs:
            entry = LESSONS[number]
            ends = []

            def run_then_mark(lesson):
                entry.module.run(lesson)
                ends.append(lesson.console.file.tell())

            module = types.SimpleNamespace(TITLE=entry.title, MINUTES=entry.minutes,
                                           run=run_then_mark)
            console = Console(file=io.StringIO(), width=WIDTH, highlight=False)
            # The command's default folder, as a student sees it: lesson-output/
            lesson = ScreenLesson(number, entry.title, Path("lesson-output"), True, console)
            here = os.getcwd()
            os.chdir(tmp_path_factory.mktemp(f"screen{number}"))
            try:
                status = play(Entry(number, entry.module_name, module), lesson)
            finally:
                os.chdir(here)
            output = console.file.getvalue()
            assert status == 0 and ends, output[-2000:]
            runs[number] = lesson, output, ends[0]
        return runs[number]

    return run


def step_rows(lesson, output, end):
    """The rows each step fills on the screen, with what the command prints around it."""
    bounds = [start for start, _ in lesson.starts] + [end]
    rows = []
    for k, (start, title) in enumerate(lesson.starts):
        first, last = k == 0, k == len(lesson.starts) - 1
        text = output[0 if first else start:len(output) if last else bounds[k + 1]]
        extra = (COMMAND_ROWS if first else 0) + (COMMAND_ROWS if last else PAUSE_ROWS)
        rows.append((title, _rows(text) + extra))
    return rows


@pytest.mark.parametrize("number", sorted(LESSONS))
def test_every_step_fits_an_80_by_40_terminal(number, screens):
    lesson, output, end = screens(number)
    too_long = []
    for k, (title, rows) in enumerate(step_rows(lesson, output, end)):
        if rows > HEIGHT:
            too_long.append(f"step {k + 1} {title!r}: {rows} rows")
    assert not too_long, (f"lesson {number}: steps longer than {HEIGHT} rows at {WIDTH} "
                          f"columns (split them): {'; '.join(too_long)}")


@pytest.mark.parametrize("number", sorted(LESSONS))
def test_code_never_wraps_at_80_columns(number, screens):
    lesson, output, _ = screens(number)
    long_code = [f"step {step}: {line.strip()[:50]}… ({len(line)} characters)"
                 for step, source in lesson.sources for line in source.splitlines()
                 if len(line) > CODE_WIDTH]
    assert not long_code, (f"lesson {number}: code lines longer than {CODE_WIDTH} "
                           f"characters: {'; '.join(long_code)}")
    wide = [line for line in output.splitlines() if cell_len(line) > WIDTH]
    assert not wide, f"lesson {number}: lines wider than {WIDTH} columns: {wide[:3]}"


@pytest.mark.parametrize("number", sorted(LESSONS))
def test_checks_print_a_sentence_and_a_number(number, screens):
    lesson, _, _ = screens(number)
    raw = [f"step {step} {label!r} got {type(got).__name__} {str(got)[:40]}"
           for step, label, got in lesson.checked if not _says_a_number(got)]
    assert not raw, (f"lesson {number}: checks must show a number (at most "
                     f"{MOST_NUMBERS}), not: {'; '.join(raw)}")
    wrapped = [f"step {step} {label[:50]!r}: {rows} rows"
               for step, label, rows in lesson.check_rows if rows > 1]
    assert not wrapped, f"lesson {number}: check lines wider than {WIDTH}: {'; '.join(wrapped)}"


def test_the_rules_catch_what_they_should(tmp_path):
    """The helpers above fail on the problems the issue found."""
    assert not _says_a_number({"a": 1.0})
    assert not _says_a_number((True, True))
    assert not _says_a_number(np.zeros(100))
    assert not _says_a_number(False)
    assert not _says_a_number(True)  # a number the student can verify, not a bare yes
    assert _says_a_number(3) and _says_a_number((0.5, 0.4, 0.32))
    assert _rows("x" * 81) == 2 and _rows("a\nb\n\n") == 2


def test_the_command_prints_what_the_screen_test_measures(tmp_path, screens):
    """`chaingrad lessons 1` in an 80-column terminal: the header with step 1, and the
    last step with the summary, each fit 40 rows, and read as the rows measured above."""
    result = subprocess.run([sys.executable, "-m", "chaingrad.lessons", "1", "--auto"],
                            capture_output=True, text=True, timeout=300, cwd=tmp_path,
                            env={**os.environ, "COLUMNS": "80", "LINES": "40"})
    assert result.returncode == 0, result.stdout[-2000:]
    printed = result.stdout
    starts = [m.start() for m in re.finditer(r"^Step \d+ · ", printed, flags=re.MULTILINE)]
    first = _rows(printed[:starts[1]]) + COMMAND_ROWS + PAUSE_ROWS
    last = _rows(printed[starts[-1] - 1:]) + COMMAND_ROWS  # with the blank line above
    assert first <= HEIGHT and last <= HEIGHT, (first, last)
    lesson, output, end = screens(1)
    measured = step_rows(lesson, output, end)
    assert (first, last) == (measured[0][1], measured[-1][1])
