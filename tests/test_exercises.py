"""Homework: the exercises, their checks, the grader and the two commands.

The reference solutions live in tests/exercise_solutions/ (never in the student's stubs).
Checks run in this process (``run_checks``) where that is enough; the subprocess grader and
the commands are exercised on a few files at once, with short time limits.
"""

from __future__ import annotations

import ast
import csv
import json
import re
from pathlib import Path

import pytest

from chaingrad.cli import main
from chaingrad.lessons.exercises import builtin_assignments, grade_files, run_checks

SOLUTIONS = Path(__file__).parent / "exercise_solutions"
ASSIGNMENTS = builtin_assignments()


def solution_text(key: str) -> str:
    return (SOLUTIONS / f"assignment{key}.py").read_text(encoding="utf-8")


def grade_text(tmp_path: Path, text: str, name: str = "submission.py", **options):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return {r.exercise: r for r in run_checks(path, ASSIGNMENTS, **options)}


# ------------------------------------------------------------------ the assignments


def test_three_assignments_with_at_least_eighteen_exercises():
    assert sorted(ASSIGNMENTS) == ["1", "2", "3", "4", "5", "6"]  # 4, 5: test_exercises_engine.py
    assert sum(len(a.exercises) for a in ASSIGNMENTS.values()) >= 18
    labels = [e.label() for a in ASSIGNMENTS.values() for e in a.exercises]
    assert len(labels) == len(set(labels))


@pytest.mark.parametrize("key", ["1", "2", "3"])
def test_each_stub_states_task_formula_and_worked_number(key):
    stub = ASSIGNMENTS[key].stub_file()
    tree = ast.parse(stub)  # the stub file is valid Python
    for e in ASSIGNMENTS[key].exercises:
        definition = next(n for n in tree.body if getattr(n, "name", None) == e.name)
        doc = ast.get_docstring(definition)
        assert doc and "Worked number" in doc, e.name
    assert f"ASSIGNMENT = {key}" in stub


@pytest.mark.parametrize("key", ["1", "2", "3"])
def test_every_reference_solution_passes(key, tmp_path):
    results = grade_text(tmp_path, solution_text(key))
    assert {label: r.message for label, r in results.items() if r.result != "pass"} == {}
    assert sum(r.points for r in results.values()) == ASSIGNMENTS[key].points


@pytest.mark.parametrize("key", ["1", "2", "3"])
def test_every_untouched_stub_fails_with_a_helpful_message(key, tmp_path):
    stub = ASSIGNMENTS[key].stub_file()
    lines = stub.splitlines()
    results = grade_text(tmp_path, stub)
    assert len(results) == len(ASSIGNMENTS[key].exercises)
    for r in results.values():
        assert r.result == "fail" and r.points == 0
        found = re.search(r"not written yet: ([\w.]+) still raises NotImplementedError "
                          r"\(line (\d+)\); its docstring has the formula and a worked number",
                          r.message)
        assert found, r.message
        assert found.group(1).split(".")[0] in r.exercise
        assert lines[int(found.group(2)) - 1].strip() == "raise NotImplementedError"


def test_the_sentence_says_what_was_expected_and_what_came_back_at_which_input(tmp_path):
    text = solution_text("1").replace("return (grad_out * out * (1 - out),)",
                                      "return (grad_out * out,)")
    results = grade_text(tmp_path, text)
    assert results["1.3 Sigmoid"].message == (
        "your Sigmoid.backward at x = 0.5 returned 0.6225; expected σ(x)(1 − σ(x)) = 0.235.")
    assert all(r.result == "pass" for label, r in results.items() if label != "1.3 Sigmoid")


def test_the_picture_marks_the_wrong_gradient_in_red(tmp_path):
    text = solution_text("1").replace("return df_dq * 1.0, df_dq * 1.0, x + y",
                                      "return df_dq * 1.0, df_dq * 1.0, z")
    results = grade_text(tmp_path, text, pictures=tmp_path / "pictures")
    result = results["1.2 f_gradients"]
    assert result.message.startswith("your df/dz at (x, y, z) = (-2, 5, -4) returned -4; "
                                     "expected q = x + y = 3.")
    svg = Path(result.picture).read_text(encoding="utf-8")
    assert svg.count("MISMATCH") == 1  # z only: x and y were right
    assert Path(result.picture).parent == tmp_path / "pictures"


# (assignment, what the student wrote instead of the solution, exercise, words of the hint)
WRONG_ANSWERS = [
    ("1", "return (grad_out * out * (1 - out),)", "return (-grad_out * out * (1 - out),)",
     "1.3 Sigmoid", "Only the sign is wrong"),
    ("1", "return (grad_out * (1 - out ** 2),)", "return (1 - out ** 2,)",
     "1.4 Tanh", "Multiply the local derivative by grad_out"),
    ("1", "dE_dy = (Y - target) * Y * (1 - Y)", "dE_dy = (Y - target)",
     "1.9 neuron_gradients", "You left out dY/dy"),
    ("1", "return np.where(x < 0, ALPHA * (np.exp(np.minimum(x, 0)) - 1), x)",
     "return ALPHA * (np.exp(x) - 1) if x < 0 else x", "1.6 ELU", "np.where"),
    ("2", "    model.zero_grad()\n", "", "2.5 training_step", "call model.zero_grad() before"),
    ("2", "    model.zero_grad()\n", "", "2.6 train", "never zeroes the gradients"),
    ("2", "self.delta = -self.lr * grad + self.alpha * self.delta",
     "self.delta = -self.lr * (grad + self.alpha * getattr(self, 'previous', 0.0))\n"
     "        self.previous = grad", "2.2 Momentum", "it belongs to the step"),
    ("2", "self.delta = -self.lr * grad + self.alpha * self.delta",
     "self.delta = -self.lr * grad", "2.2 Momentum", "remember Δw in self.delta"),
    ("2", "return np.sum(error ** 2) / n, 2 * error / n", "return np.sum(error ** 2) / n, "
     "2 * error", "2.3 mse_and_gradient", "Divide by n"),
    ("2", "return w - lr * grad", "return w + lr * grad", "2.1 gradient_descent_step",
     "uphill"),
    ("3", "y = 1.0 if w @ x >= 0 else 0.0", "y = w @ x", "3.1 perceptron_step", "ADALINE"),
    ("3", "y = 1.0 if w @ x >= 0 else 0.0", "y = 1.0 if w @ x > 0 else 0.0",
     "3.1 perceptron_step", "compare with >=, not >"),
    ("3", "return w, False", "return w, True", "3.2 train_perceptron", "XOR"),
    ("3", "    np.fill_diagonal(W, 0.0)\n    return W\n", "    return W\n",
     "3.5 hopfield_store", "diagonal"),
    ("3", "W[k] += lr * (x - W[k])", "W += lr * (x - W)", "3.7 winner_takes_all",
     "Only the winner learns"),
    ("3", "return W + lr * np.outer(b - b_hat, a)", "return W + lr * np.outer(b, a)",
     "3.4 hebbian_step", "plain Hebb"),
]


@pytest.mark.parametrize("key, right, wrong, label, hint", WRONG_ANSWERS,
                         ids=[f"{w[3]}: {w[4]}" for w in WRONG_ANSWERS])
def test_typical_wrong_answers_get_the_right_hint(key, right, wrong, label, hint, tmp_path):
    text = solution_text(key)
    assert right in text
    results = grade_text(tmp_path, text.replace(right, wrong))
    assert results[label].result == "fail"
    assert hint in results[label].message, results[label].message
    assert "\n" not in results[label].message  # one line in a terminal and in the CSV


def test_a_missing_name_and_an_exception_name_the_problem_and_the_line(tmp_path):
    text = solution_text("3").replace("def adaline_step(", "def adaline_stepp(")
    text = text.replace("    return w + lr * (target - y) * x",
                        "    return w + lr * (target - y) * x[7]")
    results = grade_text(tmp_path, text)
    assert results["3.3 adaline_step"].message == (
        "your file defines no adaline_step: keep the name the stub gave it.")
    line = next(n for n, t in enumerate(text.splitlines(), 1) if "x[7]" in t)
    assert results["3.1 perceptron_step"].result == "error"
    assert results["3.1 perceptron_step"].message == (
        "your code raised IndexError: index 7 is out of bounds for axis 0 with size 3 at "
        f"line {line} of your file (in perceptron_step).")


def test_an_endless_loop_is_stopped_in_process(tmp_path):
    text = solution_text("2").replace("    return w - lr * grad", "    while True:\n        w = w")
    results = grade_text(tmp_path, text, timeout=0.5)
    message = results["2.1 gradient_descent_step"].message
    assert results["2.1 gradient_descent_step"].result == "error"
    assert message.startswith("stopped after 0.5 s of CPU time at line ")
    assert "--timeout" in message  # a slow but right answer is told what to do
    assert results["2.2 Momentum"].result == "pass"


def test_student_ops_do_not_replace_the_engines_ops(tmp_path):
    from chaingrad.autograd import Op

    before = dict(Op.registry)
    grade_text(tmp_path, solution_text("1"))
    assert Op.registry == before


# ------------------------------------------- the subprocess grader and the commands

LOOP = "    while True:\n        pass\n"


def class_folder(tmp_path: Path) -> Path:
    """A folder of submissions: right, wrong, crashing, looping, unreadable, stubborn."""
    folder = tmp_path / "submissions"
    folder.mkdir()
    one = solution_text("1")
    (folder / "right.py").write_text(one)
    (folder / "wrong.py").write_text(one.replace("return (grad_out / (1 + np.exp(-x)),)",
                                                 "return (grad_out / (1 + np.exp(x)),)"))
    (folder / "crash.py").write_text(one.replace("    return 1.0, 1.0, z, x + y",
                                                 "    return 1.0, 1.0, z, x + y + None"))
    (folder / "loop.py").write_text(one.replace("    df_dq = z\n", LOOP))
    (folder / "unreadable.py").write_text(one.replace("def neuron_gradients(x, w, b, target):",
                                                      "def neuron_gradients(x, w, b, target)"))
    (folder / "toploop.py").write_text(one.replace("ASSIGNMENT = 1\n",
                                                   "ASSIGNMENT = 1\nwhile True:\n    pass\n"))
    # Ignores the time limit inside the exercise: the parent must kill it and go on.
    (folder / "stubborn.py").write_text(one.replace(
        "    df_dq = z\n", "    import signal\n    signal.signal(signal.SIGPROF, signal.SIG_IGN)\n"
        + LOOP))
    return folder


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    folder = class_folder(tmp_path_factory.mktemp("class"))
    report = folder.parent / "grades.csv"
    code = main(["check", str(folder), "--report", str(report), "--timeout", "1"])
    return folder, code, report


def test_grading_a_class_into_a_csv(graded_class):
    folder, code, report = graded_class
    assert code == 1
    with open(report, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["student", "file", "exercise", "result", "points", "max_points",
                             "message", "picture"]
    by_file = {}
    for row in rows:
        if row["exercise"] != "(total)":  # each student's total row
            by_file.setdefault(Path(row["file"]).name, {})[row["exercise"]] = row
    assert sorted(by_file) == ["crash.py", "loop.py", "right.py", "stubborn.py", "toploop.py",
                               "unreadable.py", "wrong.py"]
    assert all(len(rows) == 10 for rows in by_file.values())
    assert all(r["result"] == "pass" for r in by_file["right.py"].values())
    wrong = by_file["wrong.py"]["1.5 Softplus"]
    assert wrong["result"] == "fail" and wrong["points"] == "0"
    assert wrong["message"].startswith("your Softplus.backward at x = 0.5 returned 0.3775; "
                                       "expected 1 / (1 + e^(−x)) = 0.6225.")
    crash = by_file["crash.py"]["1.1 local_derivatives"]
    assert crash["result"] == "error" and "TypeError" in crash["message"]
    assert "of your file (in local_derivatives)" in crash["message"]
    loop = by_file["loop.py"]["1.2 f_gradients"]
    assert loop["result"] == "error" and loop["message"].startswith(
        "stopped after 1 s of CPU time at line")
    stubborn = by_file["stubborn.py"]
    assert stubborn["1.2 f_gradients"]["message"].startswith(
        "stopped after 1 s of CPU time: the code did not finish")  # killed by the grader
    assert stubborn["1.10 two_layer_gradients"]["result"] == "pass"  # graded after the kill
    assert all(r["result"] == "error" and "could not be loaded" in r["message"]
               for name in ("unreadable.py", "toploop.py") for r in by_file[name].values())
    assert "Python cannot read line" in by_file["unreadable.py"]["1.1 local_derivatives"][
        "message"]


def test_json_and_exit_code_zero_when_everything_passes(tmp_path, capsys):
    path = tmp_path / "mine.py"
    path.write_text(solution_text("3"))
    assert main(["check", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["passed"] is True
    assert out["files"][0]["points"] == out["files"][0]["max_points"] == 12


@pytest.mark.parametrize("argv, words", [
    (["check", "no-such-file.py"], "no such file"),
    (["check", "README.md"], "is not a Python file"),
    (["check", "tests/exercise_solutions/assignment1.py", "--timeout", "0"], "--timeout"),
    (["check", "tests/exercise_solutions/assignment1.py", "--exercises", "nope.py"],
     "no exercise file"),
    (["exercises", "start", "9"], "there is no assignment '9'"),
])
def test_usage_errors_are_one_sentence_and_exit_2(argv, words, capsys, monkeypatch):
    monkeypatch.chdir(Path(__file__).parent.parent)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert words in err and len(err.splitlines()) == 1


def test_exercises_lists_and_start_never_overwrites(tmp_path, capsys):
    assert main(["exercises"]) == 0
    listing = capsys.readouterr().out
    assert "1.3" in listing and "Sigmoid" in listing and "train_digits" in listing
    folder = tmp_path / "homework"
    assert main(["exercises", "start", "2", str(folder)]) == 0
    written = (folder / "assignment2.py").read_text()
    assert written == ASSIGNMENTS["2"].stub_file(str(folder / "assignment2.py"))
    (folder / "assignment2.py").write_text("my work")
    assert main(["exercises", "start", "2", str(folder)]) == 2
    assert "never overwritten" in capsys.readouterr().err
    assert (folder / "assignment2.py").read_text() == "my work"


def readme_exercise() -> str:
    """The README's example of an instructor's own exercise (the Homework section)."""
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Homework"):]
    return next(block for block in re.findall(r"```python\n(.*?)```", section, re.S)
                if "@exercise" in block)


def test_an_instructors_own_exercise(tmp_path, capsys):
    example = readme_exercise()
    assert len(example.strip().splitlines()) < 20
    exercises = tmp_path / "relu_homework.py"
    exercises.write_text(example)
    assert main(["exercises", "start", str(exercises), str(tmp_path / "homework")]) == 0
    stub = tmp_path / "homework" / "relu_homework.py"
    # The command the stub prints works as it stands: it names the exercise file.
    assert f"chaingrad check {stub} --exercises relu_homework.py" in stub.read_text()
    capsys.readouterr()
    assert main(["check", str(stub), "--exercises", str(exercises), "--json"]) == 1
    result = json.loads(capsys.readouterr().out)["files"][0]["results"][0]
    assert result["result"] == "fail" and "not written yet" in result["message"]
    stub.write_text(stub.read_text().replace("raise NotImplementedError",
                                             "return 1.0 if x > 0 else 0.0"))
    assert main(["check", str(stub), "--exercises", str(exercises), "--json"]) == 1
    result = json.loads(capsys.readouterr().out)["files"][0]["results"][0]
    assert result["message"] == ("your relu_derivative(0.0) returned 0; expected 1 if x >= 0 "
                                 "else 0 = 1.")
    stub.write_text(stub.read_text().replace("x > 0", "x >= 0"))
    assert main(["check", str(stub), "--exercises", str(exercises)]) == 0


def test_grade_files_keeps_the_order_of_the_files(tmp_path):
    paths = []
    for key in ("3", "1"):
        path = tmp_path / f"a{key}.py"
        path.write_text(solution_text(key))
        paths.append(str(path))
    graded = grade_files(paths, jobs=2)
    assert list(graded) == paths
    assert [r.exercise.split(".")[0] for r in graded[paths[0]]] == ["3"] * 8


# The assignments practise lessons 1-14; later lessons go beyond them.
PRACTISED_LESSONS = range(1, 15)


def test_every_lesson_ends_by_naming_exercises_that_exist():
    names = {e.number: e.name for a in ASSIGNMENTS.values() for e in a.exercises}
    lessons = sorted((Path(__file__).parent.parent / "lessons").glob("[0-9][0-9]_*.py"))
    assert [int(path.name[:2]) for path in lessons][:len(PRACTISED_LESSONS)] == list(
        PRACTISED_LESSONS)
    for path in lessons:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        run = next(n for n in tree.body if getattr(n, "name", None) == "run")
        last = ast.unparse(run.body[-1])
        named = re.findall(r"(\d\.\d+) `(\w+)`", last)
        if int(path.name[:2]) not in PRACTISED_LESSONS and "Practise it" not in last:
            continue
        assert "Practise it" in last and named, path.name
        assert all(names.get(number) == name for number, name in named), (path.name, named)


def test_a_students_dataclass_works_but_nothing_beside_the_file_is_imported(tmp_path):
    # Isolation: the file runs alone in a private folder, so a helper module (or a
    # classmate's file) next to it is not importable; a dataclass in it works.
    (tmp_path / "helpers.py").write_text("def one():\n    return 1.0\n")
    old = "def local_derivatives(x, y, z):\n    return 1.0, 1.0, z, x + y"
    new = """from dataclasses import dataclass


@dataclass
class Point:
    x: float


def local_derivatives(x, y, z):
    return 1.0, Point(1.0).x, z, x + y"""
    text = solution_text("1")
    assert old in text
    text = "from __future__ import annotations\n" + text.replace(old, new)
    results = grade_text(tmp_path, text)
    assert results["1.1 local_derivatives"].result == "pass", results["1.1 local_derivatives"]
    results = grade_text(tmp_path, text.replace("annotations\n", "annotations\nimport helpers\n"))
    assert all(r.result == "error" and "No module named 'helpers'" in r.message
               for r in results.values())
