"""What a class hands in and what a course gets back from ``chaingrad check``.

Inputs: folders searched recursively, notebooks, student ids, unreadable files. Outputs:
the CSV (a student column, a total row per student), --feedback, the summary, --resume,
Ctrl-C, and Gradescope (results.json, and the autograder.zip run in a simulated
/autograder under a temporary folder). Classes are graded with the tiny assignment of
tests/tiny_class.py to stay fast.
"""

from __future__ import annotations

import csv
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import nbformat
import pytest
from tiny_class import EXERCISES, PARTIAL, PERFECT

from chaingrad.cli import main
from chaingrad.lessons.exercises.gradescope import validate
from chaingrad.lessons.exercises.reports import (
    Graded,
    by_student,
    feedback_markdown,
    write_atomically,
)
from chaingrad.lessons.exercises.submissions import distinct_names, find_submissions

STUB = PERFECT.replace("return 2 * x", "raise NotImplementedError")


@pytest.fixture
def exercises(tmp_path):
    # A name of its own: an assignment is named after its file, and these tests load
    # several in one process.
    path = tmp_path / "instructor" / f"tiny_{secrets.token_hex(4)}.py"
    path.parent.mkdir()
    path.write_text(EXERCISES)
    return path


def check(exercises, *argv) -> int:
    return main(["check", *map(str, argv), "--exercises", str(exercises), "--seed", "3",
                 "--timeout", "2"])


def rows(report: Path) -> list[dict]:
    with open(report, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def totals(report: Path) -> dict[str, tuple[float, float]]:
    return {r["student"]: (float(r["points"]), float(r["max_points"])) for r in rows(report)
            if r["exercise"] == "(total)"}


def notebook(*cells) -> str:
    made = nbformat.v4.new_notebook()
    for kind, source in cells:
        new = nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell
        made.cells.append(new(source))
    return nbformat.writes(made)


# ------------------------------------------------------------------ inputs


def test_folders_are_searched_recursively_with_ids_from_the_path(tmp_path):
    folder = tmp_path / "class"
    (folder / "sec1").mkdir(parents=True)
    (folder / "sec2" / ".ipynb_checkpoints").mkdir(parents=True)
    (folder / "sec1" / "alice.py").write_text(PERFECT)
    (folder / "sec2" / "bob.ipynb").write_text(notebook(("code", PERFECT)))
    (folder / "sec2" / ".ipynb_checkpoints" / "bob-checkpoint.ipynb").write_text("{}")
    (folder / "README.txt").write_text("the class")
    found, skipped = find_submissions([str(folder)])
    assert [(s.student, Path(s.file).name) for s in found] == [("sec1/alice.py", "alice.py"),
                                                               ("sec2/bob.ipynb", "bob.ipynb")]
    assert skipped == [str(folder / "README.txt")]
    assert all(s.text and not s.problem for s in found)


def test_ids_from_the_parent_folder(tmp_path):
    folder = tmp_path / "class"
    for student in ("alice", "bob", "carol"):
        (folder / student).mkdir(parents=True)
    (folder / "alice" / "assignment1.py").write_text(PERFECT)
    (folder / "bob" / "assignment1.py").write_text(PARTIAL)
    (folder / "carol" / "essay.pdf").write_bytes(b"%PDF-1.4")
    found, _ = find_submissions([str(folder)], id_from="parent-folder")
    assert [s.student for s in found] == ["alice", "bob", "carol"]
    assert "none of the files handed in is a Python file" in found[2].problem
    assert distinct_names(["a/b", "a__b", "A__B", "../x"]) == {
        "a/b": "a__b", "a__b": "a__b-2", "A__B": "A__B-3", "../x": "x"}


def test_a_notebooks_code_cells_are_graded_and_its_magics_skipped(tmp_path, exercises,
                                                                 capsys):
    path = tmp_path / "homework.ipynb"
    path.write_text(notebook(
        ("markdown", "# My homework\nNot code."),
        ("code", "%matplotlib inline\n!pip install numpy\nimport math"),
        ("code", PERFECT.replace("def mean(xs):\n    return sum(xs) / len(xs)",
                                 "def mean(xs):\n    files = !ls\n    return xs[99]")),
        ("code", "%%bash\necho not python"),
    ))
    assert check(exercises, path, "--json") == 1
    graded = json.loads(capsys.readouterr().out)["files"][0]
    by_name = {r["exercise"]: r for r in graded["results"]}
    assert by_name["double"]["result"] == by_name["mul_gradients"]["result"] == "pass"
    assert graded["points"] == 5 and graded["max_points"] == 6
    assert "of code cell 2 of your notebook" in by_name["mean"]["message"]
    assert "IndexError" in by_name["mean"]["message"]
    assert "skipped 5 lines" in graded["notes"][0]
    assert "`%matplotlib inline`" in graded["notes"][0]


def test_a_notebooks_lines_are_said_as_cell_and_line():
    from chaingrad.lessons.exercises.submissions import Submission

    made = Submission("a", "a.ipynb", cells=[(1, 1), (5, 2)])
    assert made.where("raised X at line 7 of your file (in f).") == \
        "raised X at line 3 of code cell 2 of your notebook (in f)."
    assert made.where("f still raises NotImplementedError (line 3); its") == \
        "f still raises NotImplementedError (line 3 of code cell 1); its"
    assert Submission("a", "a.py").where("line 7 of your file") == "line 7 of your file"


@pytest.mark.parametrize("name, content, words", [
    ("binary.py", b"\x00\x01\x02\xff\xfe" * 100, "not text Python can read"),
    ("broken.ipynb", b"{not json", "not a notebook Jupyter can open"),
    ("latin1.py", "x = 'caf\u00e9'\n".encode("latin-1"), "not text Python can read"),
])
def test_an_unreadable_file_gets_0_of_the_assignments_points(name, content, words,
                                                            tmp_path, exercises):
    folder = tmp_path / "class"
    folder.mkdir()
    (folder / "alice.py").write_text(PERFECT)
    (folder / name).write_bytes(content)
    report = tmp_path / "grades.csv"
    assert check(exercises, folder, "--report", report) == 1
    assert totals(report) == {"alice.py": (6.0, 6.0), name: (0.0, 6.0)}
    messages = {r["message"] for r in rows(report) if r["student"] == name
                and r["exercise"] != "(total)"}
    assert len(messages) == 1 and words in messages.pop()


def test_same_named_files_get_pictures_of_their_own(tmp_path, exercises):
    folder = tmp_path / "class"
    for student, text in (("alice", PARTIAL), ("bob", PARTIAL.replace("return x, y",
                                                                      "return x, x"))):
        (folder / student).mkdir(parents=True)
        (folder / student / "homework.py").write_text(text)
    report = tmp_path / "grades.csv"
    check(exercises, folder, "--report", report, "--pictures", tmp_path / "pictures",
          "--id-from", "parent-folder")
    pictures = {r["student"]: r["picture"] for r in rows(report) if r["picture"]}
    assert sorted(pictures) == ["alice", "bob"]
    assert pictures["alice"] != pictures["bob"]
    assert all(Path(p).is_file() or (tmp_path / p).is_file() for p in pictures.values())


# ------------------------------------------------------------------ outputs


def test_the_report_has_a_student_column_and_a_total_row_per_student(tmp_path, exercises,
                                                                    capsys):
    folder = tmp_path / "class"
    (folder / "alice").mkdir(parents=True)
    (folder / "alice" / "part1.py").write_text(PERFECT)
    (folder / "alice" / "part2.py").write_text(STUB)
    (folder / "bob").mkdir()
    (folder / "bob" / "hw.py").write_text(PARTIAL)
    report = tmp_path / "grades.csv"
    assert check(exercises, folder, "--report", report, "--id-from", "parent-folder") == 1
    found = rows(report)
    assert list(found[0]) == ["student", "file", "exercise", "result", "points",
                              "max_points", "message", "picture"]
    assert totals(report) == {"alice": (10.0, 12.0), "bob": (2.0, 6.0)}
    assert [r["exercise"] for r in found if r["student"] == "alice"][-1] == "(total)"
    out = capsys.readouterr().out
    assert "2 students, 3 files" in out and "10/12" in out and "2/6" in out


def test_feedback_is_one_markdown_file_per_student_with_every_sentence(tmp_path, exercises):
    folder = tmp_path / "class"
    folder.mkdir()
    (folder / "alice.py").write_text(PARTIAL.replace(
        "def mul_gradients(x, y):", "def mul_gradients(x, y):\n    print('<b>debug</b> ```')"))
    (folder / "bob.py").write_text(PERFECT)
    feedback = tmp_path / "feedback"
    report = tmp_path / "grades.csv"
    check(exercises, folder, "--feedback", feedback, "--report", report)
    assert sorted(p.name for p in feedback.iterdir()) == ["alice.py", "alice.py.md",
                                                          "bob.py.md"]
    alice = (feedback / "alice.py.md").read_text()
    for r in rows(report):
        if r["student"] == "alice.py" and r["message"]:
            assert r["message"] in alice.replace("\\", "")
    assert "**2 of 6 points**" in alice
    link = next(line for line in alice.splitlines() if line.startswith("!["))
    picture = feedback / link[link.index("](") + 2:-1]
    assert picture.is_file() and picture.read_text().lstrip().startswith("<")
    blocks = re.findall(r"(`{3,})text\n(.*?)\n\1", alice, re.S)
    assert [text for _, text in blocks] == ["<b>debug</b> ```"]  # printed, in a code block
    assert "<b>" not in re.sub(r"(`{3,})text\n.*?\n\1", "", alice, flags=re.S)
    assert "**6 of 6 points**" in (feedback / "bob.py.md").read_text()


def test_feedback_markdown_makes_a_students_text_inert():
    from chaingrad.lessons.exercises.grader import Result

    result = Result("x.py", "double", "fail", 0.0, 2.0,
                    message="your double returned <script>alert(1)</script> [a](http://x)",
                    output="```\n<img src=x>\n```")
    text = feedback_markdown(by_student([Graded("x", "x.py", [result])])[0], {})
    assert "<script>" not in text and "&lt;script&gt;" in text and "\\[a\\]" in text
    assert "````text\n```\n<img src=x>\n```\n````" in text


def test_writing_atomically_replaces_a_symlink_and_never_its_target(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    link = tmp_path / "grades.csv"
    link.symlink_to(victim)
    write_atomically(link, "student,file\n")
    assert victim.read_text() == "precious"
    assert not link.is_symlink() and link.read_text() == "student,file\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_resume_grades_only_the_files_not_in_the_report(tmp_path, exercises, capsys):
    folder = tmp_path / "class"
    folder.mkdir()
    (folder / "alice.py").write_text(PERFECT)
    report = tmp_path / "grades.csv"
    check(exercises, folder, "--report", report)
    kept = report.read_text().replace(",double,pass,2,2,", ",double,pass,2,2,kept from before")
    report.write_text(kept)
    (folder / "bob.py").write_text(PARTIAL)
    capsys.readouterr()
    assert check(exercises, folder, "--report", report, "--resume") == 1
    assert "1 file already in" in capsys.readouterr().err
    messages = {(r["student"], r["exercise"]): r["message"] for r in rows(report)}
    assert messages[("alice.py", "double")] == "kept from before"
    assert totals(report) == {"alice.py": (6.0, 6.0), "bob.py": (2.0, 6.0)}


def test_resume_needs_a_report(tmp_path, exercises, capsys):
    (tmp_path / "a.py").write_text(PERFECT)
    assert check(exercises, tmp_path / "a.py", "--resume") == 2
    assert "--resume needs --report" in capsys.readouterr().err


def test_outputs_are_never_written_inside_the_folder_graded(tmp_path, exercises, capsys):
    folder = tmp_path / "class"
    folder.mkdir()
    (folder / "a.py").write_text(PERFECT)
    assert check(exercises, folder, "--report", folder / "grades.csv") == 2
    assert "inside the folder being graded" in capsys.readouterr().err
    assert not (folder / "grades.csv").exists()


SLOW = PERFECT.replace("def mean(xs):", "import time\nend = time.process_time() + 1.0\n"
                       "while time.process_time() < end:\n    pass\n\n\ndef mean(xs):")

STUDENTS = 8


def test_ctrl_c_keeps_every_graded_file_and_resume_finishes(tmp_path, exercises):
    # Enough files that a loaded machine, which may keep this test waiting a few seconds
    # before its Ctrl-C lands, cannot let the grader finish them all first.
    folder = tmp_path / "class"
    folder.mkdir()
    for n in range(STUDENTS):
        (folder / f"student{n}.py").write_text(SLOW)
    report = tmp_path / "grades.csv"
    command = [sys.executable, "-m", "chaingrad", "check", str(folder), "--exercises",
               str(exercises), "--report", str(report), "--jobs", "1", "--seed", "3"]
    grader = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (report.exists() and totals(report)):
        time.sleep(0.1)
    grader.send_signal(signal.SIGINT)
    _, err = grader.communicate(timeout=60)
    assert grader.returncode == 130
    assert "Traceback" not in err
    said = [line for line in err.splitlines() if "interrupted" in line]
    assert len(said) == 1 and "--resume grades the rest" in said[0]
    graded = totals(report)
    assert 1 <= len(graded) < STUDENTS and all(v == (6.0, 6.0) for v in graded.values())
    per_file = {}
    for r in rows(report):
        if r["exercise"] != "(total)":
            per_file[r["student"]] = per_file.get(r["student"], 0) + 1
    assert all(count == 3 for count in per_file.values())  # whole files only
    done = subprocess.run(command + ["--resume"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert f"{len(graded)} files already in" in done.stderr or len(graded) == 1
    assert totals(report) == {f"student{n}.py": (6.0, 6.0) for n in range(STUDENTS)}


# ------------------------------------------------------------------ Gradescope


def test_gradescope_results_json(tmp_path, exercises):
    (tmp_path / "partial.py").write_text(PARTIAL)
    results = tmp_path / "results.json"
    assert check(exercises, tmp_path / "partial.py", "--gradescope", results) == 1
    found = json.loads(results.read_text())
    assert validate(found) == []
    assert found["score"] == 2.0 == sum(t["score"] for t in found["tests"])
    assert sum(t["max_score"] for t in found["tests"]) == 6.0
    hidden = [t for t in found["tests"] if t["visibility"] == "after_due_date"]
    visible = [t for t in found["tests"] if t["visibility"] == "visible"]
    assert {t["name"] for t in hidden} == {"double: hidden cases", "mul_gradients: hidden cases",
                                         "mean: hidden cases"}
    assert all(t["max_score"] == 0 for t in visible)  # the points are the hidden cases'
    failed = next(t for t in visible if t["name"] == "mul_gradients: worked cases")
    assert failed["status"] == "failed" and "mul_gradients(2" in failed["output"]


def test_the_autograder_zip_runs_in_a_simulated_gradescope(tmp_path, exercises, capsys):
    archive = tmp_path / "autograder.zip"
    assert main(["autograder", "gradescope", str(exercises), "-o", str(archive),
                 "--timeout", "2"]) == 0
    assert "6 points" in capsys.readouterr().out
    root = tmp_path / "autograder"
    with zipfile.ZipFile(archive) as z:
        assert sorted(z.namelist()) == ["run_autograder", "setup.sh", exercises.name]
        z.extractall(root / "source")
        modes = {i.filename: i.external_attr >> 16 for i in z.infolist()}
    assert modes["run_autograder"] & 0o111 and modes["setup.sh"] & 0o111
    setup = (root / "source" / "setup.sh").read_text()
    assert "pip install chaingrad==" in setup
    run = root / "run_autograder"
    run.write_bytes((root / "source" / "run_autograder").read_bytes())
    run.chmod(0o755)
    environment = {**os.environ, "AUTOGRADER_ROOT": str(root),
                   "CHAINGRAD_PYTHON": sys.executable}
    for submitted, score in ((PERFECT, 6.0), (STUB, 4.0), (None, 0.0)):
        submission = root / "submission"
        if submission.exists():
            for old in submission.iterdir():
                old.unlink()
        submission.mkdir(exist_ok=True)
        if submitted is not None:
            (submission / "homework.ipynb").write_text(notebook(("code", submitted)))
        (root / "results").mkdir(exist_ok=True)
        (root / "results" / "results.json").unlink(missing_ok=True)
        done = subprocess.run([str(run)], env=environment, capture_output=True, text=True,
                              timeout=300, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        found = json.loads((root / "results" / "results.json").read_text())
        assert validate(found) == [], found
        assert found["score"] == score, found
        if submitted is None:
            assert found["tests"] == [] and "Nothing was graded" in found["output"]


def test_an_autograder_for_a_course_assignment(tmp_path, capsys):
    archive = tmp_path / "a1.zip"
    assert main(["autograder", "gradescope", "1", "-o", str(archive)]) == 0
    with zipfile.ZipFile(archive) as z:
        assert sorted(z.namelist()) == ["run_autograder", "setup.sh"]
        assert "--assignment 1" in z.read("run_autograder").decode()
    assert main(["autograder", "gradescope", "9", "-o", str(archive)]) == 2
    assert "there is no assignment '9'" in capsys.readouterr().err


def test_validate_finds_what_gradescope_would_refuse():
    assert validate({"score": 1.0, "tests": [{"name": "a", "score": 2.0, "max_score": 1.0,
                                              "output": "", "visibility": "later"}]}) == [
        "a test's visibility is 'later'",
        "a test's score is outside 0..max_score: {'name': 'a', 'score': 2.0, 'max_score': "
        "1.0, 'output': '', 'visibility': 'later'}"]


# A student names their file (a Canvas download keeps the name they uploaded) and shapes
# the messages (an exception's text): neither may become a spreadsheet formula, a heading
# or a forged result in the feedback.
HOSTILE_ID = "=HYPERLINK(\"http://x\";\"full marks\")\n## 1.1 double: pass\n.py"
HOSTILE_MESSAGE = ("your code raised ValueError: \n\n## 1.2 mean: pass\n\n**2 of 2 points**"
                   "\n+cmd|' /C calc'!A0")


def _hostile_graded():
    from chaingrad.lessons.exercises.grader import Result
    from chaingrad.lessons.exercises.reports import Graded

    results = [Result(HOSTILE_ID, "1.1 double", "fail", 0.0, 1.0, HOSTILE_MESSAGE),
               Result(HOSTILE_ID, "1.2 mean", "error", 0.0, 2.0, "@SUM(1+1)")]
    return [Graded(HOSTILE_ID, "-" + HOSTILE_ID, results)]


def test_no_report_cell_is_a_formula_and_resume_reads_the_names_back(tmp_path):
    from chaingrad.lessons.exercises.reports import csv_text, read_report

    text = csv_text(_hostile_graded())
    cells = [cell for row in csv.reader(text.splitlines(keepends=True)) for cell in row]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")], cells
    (tmp_path / "grades.csv").write_text(text, encoding="utf-8")
    back = read_report(tmp_path / "grades.csv")
    assert [(g.student, g.file) for g in back] == [(HOSTILE_ID, "-" + HOSTILE_ID)]


def test_the_feedback_holds_no_heading_or_bold_a_student_wrote():
    from chaingrad.lessons.exercises.reports import by_student, feedback_markdown

    text = feedback_markdown(by_student(_hostile_graded())[0], {})
    headings = [line for line in text.splitlines() if line.startswith("#")]
    assert headings[1:] == ["## 1.1 double: fail", "## 1.2 mean: error"], headings
    assert "**2 of 2" not in text and "\n+cmd" not in text


def test_the_terminal_gets_no_control_character_a_student_chose(tmp_path, exercises, capfd):
    # A file name (and what the code printed) with a terminal's escape sequences (set the
    # window's title, clear the screen) and a newline that would forge a line of its own.
    folder = tmp_path / "class"
    folder.mkdir()
    name = "evil\x1b]0;PWNED\x07\x1b[2J\n  ✓ pass  double  9 of 9.py"
    (folder / name).write_text(PARTIAL.replace("def double(x):\n",
                                               "def double(x):\n    print('\\x1b[2J\\x07')\n"))
    check(exercises, folder)
    out, err = capfd.readouterr()
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", out + err), repr(out + err)
    assert not [line for line in out.splitlines() if line.startswith("  ✓ pass  double  9")]


def test_a_link_to_a_classmates_file_earns_nothing_and_a_hard_link_is_said(tmp_path,
                                                                          exercises):
    folder = tmp_path / "class"
    folder.mkdir()
    (folder / "perfect.py").write_text(PERFECT)
    (folder / "copier.py").symlink_to(folder / "perfect.py")
    os.link(folder / "perfect.py", folder / "twin.py")
    report = tmp_path / "grades.csv"
    check(exercises, folder, "--report", report)
    total = totals(report)
    assert total["copier.py"][0] == 0 and total["copier.py"][1] > 0
    assert total["perfect.py"][0] == total["perfect.py"][1]
    found, _ = find_submissions([str(folder)])
    notes = {s.student: s.notes for s in found}
    assert any("twin.py" in n and "hard link" in n for n in notes["perfect.py"]), notes
    assert any("perfect.py" in n for n in notes["twin.py"]), notes


def test_a_notebook_nested_100000_deep_is_one_unreadable_file(tmp_path):
    folder = tmp_path / "class"
    folder.mkdir()
    (folder / "perfect.py").write_text(PERFECT)
    (folder / "deep.ipynb").write_text('{"cells": ' + "[" * 100_000 + "]" * 100_000 + "}")
    found, _ = find_submissions([str(folder)])
    problems = {s.student: s.problem for s in found}
    assert "not a notebook Jupyter can open" in problems["deep.ipynb"], problems
    assert problems["perfect.py"] == ""


def test_the_summary_keeps_the_end_of_long_ids_in_80_columns(tmp_path, exercises):
    """Ids that share a long folder stay apart in the table: it cuts their start, not end."""
    folder = tmp_path / "a_long_folder_name_shared_by_every_submission_of_the_class"
    folder.mkdir()
    for name in ("alice_assignment.py", "bob_assignment.py"):
        (folder / name).write_text(PERFECT)
    paths = [str(folder / name) for name in ("alice_assignment.py", "bob_assignment.py")]
    result = subprocess.run(
        [sys.executable, "-m", "chaingrad", "check", *paths, "--exercises", str(exercises)],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
        env={**os.environ, "COLUMNS": "80"})
    assert result.returncode == 0, result.stderr
    table = [line for line in result.stdout.splitlines() if "6/6" in line]
    assert len(table) == 2 and "alice_assignment.py" in table[0] and "bob_assignment.py" in table[1]
    assert all(len(line) <= 80 for line in result.stdout.splitlines())
