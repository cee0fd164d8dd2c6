"""The chaingrad command line: draw with a safe expression parser, lessons, help and version."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import chaingrad
from chaingrad.cli import main
from chaingrad.expression import ExpressionError, build
from chaingrad.viz.labels import number

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "chaingrad", *args], capture_output=True,
                          text=True, env=environment, cwd=cwd, timeout=120)


def test_draw_the_course_example(tmp_path, capsys):
    out = tmp_path / "f.svg"
    code = main(["draw", "(x + y) * z", "x=-2", "y=5", "z=-4", "-o", str(out),
                 "--engine", "builtin"])
    assert code == 0
    assert "f = -12" in capsys.readouterr().out
    text = "".join(ET.fromstring(out.read_bytes()).itertext())
    assert "grad -4" in text and "grad 3" in text


def test_explain_and_animate_options(tmp_path, capsys):
    page = tmp_path / "f.html"
    code = main(["draw", "x * y + x", "x=3", "y=-1", "-o", str(tmp_path / "f.svg"),
                 "--engine", "builtin", "--explain", "--animate", str(page)])
    assert code == 0
    out = capsys.readouterr().out
    assert "∂f/∂x" in out
    assert page.read_text(encoding="utf-8").count('class="frame') > 0


def sigmoid(v: float) -> float:
    return 1 / (1 + math.exp(-v))


@pytest.mark.parametrize("expression,values,reference", [
    ("tanh(w * x + b)", {"w": 0.5, "x": 2.0, "b": -0.3},
     lambda w, x, b: math.tanh(w * x + b)),
    ("(w * x + b).tanh()", {"w": 0.5, "x": 2.0, "b": -0.3},
     lambda w, x, b: math.tanh(w * x + b)),
    ("-x ** 2 / 3 + exp(x) - sqrt(y) * log(y)", {"x": 0.7, "y": 2.5},
     lambda x, y: -x**2 / 3 + math.exp(x) - math.sqrt(y) * math.log(y)),
    ("sigmoid(x) + relu(-x) + sin(x) * cos(x) + abs(x - 2)", {"x": 0.3},
     lambda x: sigmoid(x) + max(-x, 0.0) + math.sin(x) * math.cos(x) + abs(x - 2)),
    ("2 ** x + x ** y", {"x": 1.5, "y": 2.0}, lambda x, y: 2**x + x**y),
])
def test_build_matches_python_maths(expression, values, reference):
    root = build(expression, values)
    assert root.data == pytest.approx(reference(**values), rel=1e-12)
    root.backward()  # and the graph differentiates: every variable is a named leaf
    leaves = {n.name for n in _leaves(root)}
    assert set(values) <= leaves


def _leaves(root):
    from chaingrad.viz.graph import traversal

    return [n for n in traversal(root) if not n.parents]


@pytest.mark.parametrize("expression", [
    "__import__('os').system('echo hacked')",
    "x.__class__",
    "(lambda: 1)()",
    "x if x else y",
    "[x, y]",
    "x @ y",
    "open('f')",
    "x.tanh(1)",
    "tanh(x, y)",
    "'text'",
    "True + x",
    "x < y",
    "x +",
])
def test_refuses_anything_outside_the_whitelist(expression, tmp_path):
    result = run_cli("draw", expression, "x=1", "y=2", cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith("chaingrad draw:")
    assert "hacked" not in result.stdout
    assert list(tmp_path.iterdir()) == []  # nothing drawn


def test_missing_value_is_named(tmp_path, capsys):
    assert main(["draw", "x * y", "x=1", "-o", str(tmp_path / "a.svg")]) == 2
    error = capsys.readouterr().err
    assert "no value for y" in error and "y=" in error


@pytest.mark.parametrize("argument,message", [
    ("x=abc", "'abc' is not a number"),
    ("x", "expected name=number"),
    ("x=inf", "finite"),
])
def test_bad_values_are_refused(argument, message, tmp_path, capsys):
    assert main(["draw", "x + 1", argument, "-o", str(tmp_path / "a.svg")]) == 2
    assert message in capsys.readouterr().err


def test_math_errors_are_one_line(tmp_path, capsys):
    assert main(["draw", "log(x)", "x=-1", "-o", str(tmp_path / "a.svg")]) == 2
    error = capsys.readouterr().err
    assert error.startswith("chaingrad draw: log") and error.count("\n") == 1


def test_expression_may_start_with_a_minus(tmp_path, capsys):
    out = tmp_path / "a.svg"
    assert main(["draw", "-x * y", "x=1", "y=2", "-o", str(out), "--engine", "builtin"]) == 0
    assert f"f = {number(-2.0)}" in capsys.readouterr().out


def test_build_raises_expression_error_not_eval():
    with pytest.raises(ExpressionError, match="not allowed"):
        build("x.__dict__", {"x": 1.0})


def test_lessons_are_delegated_with_their_arguments(monkeypatch):
    from chaingrad.lessons import __main__ as lessons_entry

    seen = []
    monkeypatch.setattr(lessons_entry, "run_lesson",
                        lambda entry, out, auto, console, start:
                        seen.append((entry.number, out, auto, start)))
    assert main(["lessons", "2", "--auto", "--out", "somewhere"]) == 0
    assert main(["lessons", "2", "--step", "3", "--out", "somewhere"]) == 0
    assert seen == [(2, Path("somewhere"), True, 1), (2, Path("somewhere"), True, 3)]


def test_version(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out.strip() == f"chaingrad {chaingrad.__version__}"


@pytest.mark.parametrize("command,program", [
    ([], "chaingrad"),
    (["draw"], "chaingrad draw"),
    (["lessons"], "chaingrad lessons"),
])
def test_help_names_the_program(command, program, capsys):
    with pytest.raises(SystemExit) as stop:
        main([*command, "--help"])
    assert stop.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: {program} ")


def test_python_dash_m_chaingrad_lessons_keeps_working(tmp_path):
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-m", "chaingrad.lessons", "--help"],
                            capture_output=True, text=True, env=environment, cwd=tmp_path,
                            timeout=120)
    assert result.returncode == 0
    assert result.stdout.startswith("usage: python -m chaingrad.lessons ")


def test_unknown_command_is_a_usage_error(tmp_path):
    result = run_cli("paint", cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "invalid choice: 'paint'" in result.stderr


@pytest.mark.parametrize("make_output", [
    pytest.param(lambda folder: folder / "a-folder.svg", id="a folder"),
    pytest.param(lambda folder: folder / "a-file" / "f.svg", id="below a file"),
])
def test_an_output_that_cannot_be_written_is_named(make_output, tmp_path):
    (tmp_path / "a-folder.svg").mkdir()
    (tmp_path / "a-file").write_text("not a folder")
    output = make_output(tmp_path)
    result = run_cli("draw", "x * y", "x=1", "y=2", "-o", str(output), "--engine", "builtin",
                     cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"chaingrad draw: cannot write {str(output)!r}: ")
    assert "Traceback" not in result.stderr and ".tmp" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
