"""The lessons: each runs straight through, passes its checks and writes what it announces."""

import io
import os
import subprocess
import sys
import types
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from rich.console import Console

from chaingrad.autograd import Value
from chaingrad.lessons.__main__ import main
from chaingrad.lessons.runner import Entry, Lesson, count_steps, find_lessons, lesson_table, play

LESSONS = find_lessons()


def _lesson(tmp_path, number=0, auto=True):
    console = Console(file=io.StringIO(), width=100, highlight=False)
    return Lesson(number, "test", tmp_path, auto, console)


def _fake(run, number=99):
    """An Entry for a lesson written inside the test."""
    module = types.SimpleNamespace(TITLE="a fake lesson", MINUTES=1, run=run)
    return Entry(number, "fake", module)


def test_lessons_one_to_six_are_listed_and_load():
    assert set(range(1, 7)) <= set(LESSONS)
    for number, entry in LESSONS.items():
        assert entry.error is None, f"lesson {number} does not import: {entry.error}"
        assert entry.title and entry.minutes > 0


@pytest.mark.parametrize("number", sorted(LESSONS))
def test_lesson_runs_through_with_passing_checks_and_writes_its_files(number, tmp_path):
    lesson = _lesson(tmp_path / "out", number)
    status = play(LESSONS[number], lesson)
    output = lesson.console.file.getvalue()
    assert status == 0, output[-3000:]
    assert lesson.failed == []
    assert len(lesson.passed) >= 3, "every lesson checks its results"
    assert lesson.steps >= 3
    for path in lesson.files:
        assert path.parent == tmp_path / "out"
        assert path.stat().st_size > 0
        if path.suffix == ".svg":
            assert ET.parse(path).getroot().tag.endswith("svg")
        assert str(path) in output.replace("\n", "")  # the student is told to open it
    assert "Traceback" not in output


def test_main_job_lesson_one_from_the_command_line(tmp_path, monkeypatch, capsys):
    """`chaingrad lessons 1` without --auto: stdin is not a terminal here, so no pauses."""
    monkeypatch.setattr("builtins.input", lambda *_: pytest.fail("waited for Enter"))
    assert main(["1", "--out", str(tmp_path)]) == 0
    assert {p.name for p in tmp_path.iterdir()} >= {"01_graph.svg", "01_backprop.html"}
    assert "all" in capsys.readouterr().out


def test_listing_shows_every_lesson_with_number_title_and_minutes(capsys):
    assert main([]) == 0
    assert "chaingrad lessons" in capsys.readouterr().out
    console = Console(file=io.StringIO(), width=200)
    console.print(lesson_table(LESSONS))
    rows = console.file.getvalue().splitlines()
    for number, entry in LESSONS.items():
        assert any(f" {number} " in row and entry.title in row and f" {entry.minutes} " in row
                   for row in rows), f"lesson {number} missing from the table"


def test_wrong_lesson_number_lists_the_valid_ones_and_exits_2(capsys):
    assert main(["0"]) == 2
    out = " ".join(capsys.readouterr().out.split())  # the list may wrap in a narrow terminal
    assert "no lesson 0" in out
    assert ", ".join(str(n) for n in sorted(LESSONS)) in out.replace("\n", "")  # wrapped


def test_python_dash_m_lessons_in_a_subprocess():
    listing = subprocess.run([sys.executable, "-m", "chaingrad.lessons"], capture_output=True,
                             text=True, timeout=60)
    assert listing.returncode == 0 and "chaingrad lessons" in listing.stdout
    wrong = subprocess.run([sys.executable, "-m", "chaingrad.lessons", "999"], capture_output=True,
                           text=True, timeout=60)
    assert wrong.returncode == 2 and "Traceback" not in wrong.stdout + wrong.stderr


def test_a_failing_check_is_loud_and_fails_the_run(tmp_path):
    def run(lesson):
        lesson.step("one")
        lesson.check("two plus two", 2 + 2, 5)

    lesson = _lesson(tmp_path)
    assert play(_fake(run), lesson) == 1
    output = lesson.console.file.getvalue()
    assert "CHECK FAILED" in output and "two plus two" in output
    assert lesson.failed == ["two plus two"]


def test_a_crashing_lesson_fails_without_a_bare_traceback(tmp_path):
    def run(lesson):
        lesson.step("one")
        lesson.code("1 / 0")

    lesson = _lesson(tmp_path)
    assert play(_fake(run), lesson) == 1
    assert "stopped with an error in step 1" in lesson.console.file.getvalue()


@pytest.mark.parametrize("answer", ["q", "Q\n", "quit"])
def test_q_at_a_pause_stops_cleanly(tmp_path, monkeypatch, answer):
    reached = []

    def run(lesson):
        lesson.step("one")
        reached.append(1)
        lesson.step("two")
        reached.append(2)

    monkeypatch.setattr("builtins.input", lambda *_: answer)
    lesson = _lesson(tmp_path, auto=False)
    assert play(_fake(run), lesson) == 0
    assert reached == [1]
    assert "Stopped after step 1" in lesson.console.file.getvalue()


def test_enter_continues_and_end_of_input_quits(tmp_path, monkeypatch):
    def run(lesson):
        for name in ("one", "two", "three"):
            lesson.step(name)

    answers = iter([""])

    def fake_input(*_):
        try:
            return next(answers)
        except StopIteration:
            raise EOFError from None

    monkeypatch.setattr("builtins.input", fake_input)
    lesson = _lesson(tmp_path, auto=False)
    assert play(_fake(run), lesson) == 0
    assert lesson.steps == 2


def test_ctrl_c_at_a_pause_exits_130_without_a_traceback(tmp_path, monkeypatch):
    def run(lesson):
        lesson.step("one")
        lesson.step("two")

    def interrupt(*_):
        raise KeyboardInterrupt

    monkeypatch.setattr("builtins.input", interrupt)
    lesson = _lesson(tmp_path, auto=False)
    assert play(_fake(run), lesson) == 130
    assert "Traceback" not in lesson.console.file.getvalue()


def test_code_shows_runs_and_echoes_the_last_expression(tmp_path):
    lesson = _lesson(tmp_path)
    v = lesson.code("""
        a = 6
        print("printed", a * 7)
        a * 2
    """)
    later = lesson.code("b = a + 1")  # snippets share one namespace
    output = lesson.console.file.getvalue()
    assert v.a == 6 and later.b == 7
    assert "printed 42" in output and "→ 12" in output
    assert v.out == tmp_path
    with pytest.raises(AttributeError, match="no variable 'nope'"):
        v.nope  # noqa: B018


def test_check_compares_numbers_arrays_nodes_and_tuples(tmp_path):
    lesson = _lesson(tmp_path)
    assert lesson.check("float within tol", 0.1 + 0.2, 0.3)
    assert not lesson.check("float outside tol", 0.31, 0.3, tol=1e-3)
    assert lesson.check("a Value's data", Value(-12.0), -12.0)
    assert lesson.check("numpy scalars", np.float64(2.0), 2.0)
    assert lesson.check("numpy bools", np.bool_(True), True)
    assert lesson.check("arrays", np.array([1.0, 2.0]), np.array([1.0, 2.0 + 1e-12]))
    assert not lesson.check("array shapes differ", np.zeros(2), np.zeros(3))
    assert lesson.check("tuples element by element", (1.0, np.float64(3.0)), (1.0, 3.0))
    assert not lesson.check("tuple lengths differ", (1.0,), (1.0, 2.0))
    assert not lesson.check("bool is not a number", True, 1.0)
    assert lesson.failed == ["float outside tol", "array shapes differ", "tuple lengths differ",
                             "bool is not a number"]


def test_file_announces_existing_files_and_fails_on_missing_ones(tmp_path):
    lesson = _lesson(tmp_path)
    present = tmp_path / "picture.svg"
    present.write_text("<svg/>")
    lesson.file(present, "a picture")
    lesson.file(tmp_path / "missing.svg", "nothing")
    lesson.file(None, "a function that returned None")
    assert lesson.files == [present]
    assert len(lesson.failed) == 2


def test_the_runner_docstring_example_is_a_working_lesson(tmp_path):
    import textwrap

    from chaingrad.lessons import runner

    doc = runner.__doc__
    source = textwrap.dedent(doc[doc.index("    TITLE"):doc.index("It appears")])
    names: dict = {}
    exec(source, names)
    entry = _fake(names["run"], number=0)
    lesson = _lesson(tmp_path)
    assert play(entry, lesson) == 0
    assert lesson.passed == ["f = (-2 + 5)(-4)"] and lesson.files == [tmp_path / "01_graph.svg"]


def _three_steps(lesson):
    lesson.step("one")
    lesson.code("a = 20")
    lesson.check("a is twenty", lesson.namespace["a"], 20)
    lesson.step("two")
    lesson.code("b = a + 1")
    lesson.step("three")
    lesson.code("print('b is', b)")


def test_starting_at_step_two_runs_step_one_unseen_and_pauses_only_after_step_two(
        tmp_path, monkeypatch):
    pauses = []
    monkeypatch.setattr("builtins.input", lambda *_: pauses.append(1) or "")
    lesson = Lesson(99, "test", tmp_path, False,
                    Console(file=io.StringIO(), width=100, highlight=False), start=2)
    assert play(_fake(_three_steps), lesson) == 0
    output = lesson.console.file.getvalue()
    assert "Step 1 · one" not in output and "a is twenty" not in output
    assert "Step 2 · two" in output and "Step 3 · three" in output and "b is 21" in output
    assert "Steps 1-1 ran without being shown" in output
    assert pauses == [1]  # between steps 2 and 3 only
    assert lesson.passed == ["a is twenty"]  # the unseen step's check still counts


def test_a_start_beyond_the_last_step_says_so(tmp_path):
    lesson = Lesson(99, "test", tmp_path, True,
                    Console(file=io.StringIO(), width=100, highlight=False), start=7)
    assert play(_fake(_three_steps), lesson) == 2
    assert "has 3 steps: there is no step 7" in lesson.console.file.getvalue()


@pytest.mark.parametrize("step", ["0", "99", "-1"])
def test_step_out_of_range_on_the_command_line_is_one_sentence(step, tmp_path, capsys):
    steps = count_steps(LESSONS[1])
    assert main(["1", "--step", step, "--out", str(tmp_path)]) == 2
    out = " ".join(capsys.readouterr().out.split())
    assert f"--step {step}: lesson 1 has steps 1 to {steps}." in out
    assert not any(tmp_path.iterdir())  # nothing ran


@pytest.mark.parametrize("command", [["chaingrad.lessons"], ["chaingrad", "lessons"]],
                         ids=["python -m chaingrad.lessons", "chaingrad lessons"])
def test_step_k_resumes_at_step_k_from_both_commands(command, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", *command, "1", "--step", "3", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=120, env={**os.environ, "COLUMNS": "80"})
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "Step 3 ·" in result.stdout and "Step 2 ·" not in result.stdout
    assert "Step 1 ·" not in result.stdout and "Lesson 1:" in result.stdout


@pytest.mark.parametrize("answer", ["q", ""])
def test_at_end_runs_when_the_lesson_ends_or_is_quit(tmp_path, monkeypatch, answer):
    stopped = []

    def run(lesson):
        lesson.step("one")
        lesson.at_end(lambda: stopped.append("server"))
        lesson.step("two")

    monkeypatch.setattr("builtins.input", lambda *_: answer)
    lesson = _lesson(tmp_path, auto=False)
    assert play(_fake(run), lesson) == 0
    assert stopped == ["server"]


def test_a_notebook_leaves_out_at_end(tmp_path):
    from chaingrad.lessons.notebook import notebook_cells

    cells = notebook_cells(LESSONS[13])
    code = "\n".join(text for kind, text in cells if kind == "code")
    assert "at_end" not in code and "playground = serve(" in code


@pytest.mark.parametrize("auto", [False, True])
def test_lesson_13_opens_the_browser_only_for_a_person_at_the_terminal(tmp_path, monkeypatch,
                                                                        auto):
    """Without --auto the playground's page opens in a tab; with it (tests, CI) nothing
    opens. Step 1 only: q at the first pause; the server is stopped at the end."""
    opened = []
    monkeypatch.setattr("webbrowser.open", opened.append)
    monkeypatch.setattr("builtins.input", lambda *_: "q")
    lesson = Lesson(13, "playground", tmp_path, auto,
                    Console(file=io.StringIO(), width=80, highlight=False), start=1)
    if auto:  # --auto never pauses: stop at step 2 by hand
        monkeypatch.setattr(Lesson, "step", _quit_at_step_two(Lesson.step))
    assert play(LESSONS[13], lesson) == 0
    url = lesson.namespace["playground"].url
    assert opened == ([] if auto else [url])


def _quit_at_step_two(step):
    from chaingrad.lessons.runner import Quit

    def stepping(self, title):
        if self.steps == 1:
            raise Quit
        step(self, title)
    return stepping
