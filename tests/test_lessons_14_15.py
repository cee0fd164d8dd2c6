"""Lessons 14 and 15 from the command line: `chaingrad lessons N --auto --out DIR` exits 0,
every check passes, every announced file is written; and each step fits an 80x40 screen."""

import io
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from rich.console import Console

from chaingrad.lessons.__main__ import main
from chaingrad.lessons.runner import Lesson, find_lessons, play

# The files each lesson announces with "▶ open", in order.
ANNOUNCED = {
    14: ["14_learning_curves_gallery.svg", "14_bias_variance.svg", "14_choose_k.svg"],
    15: ["15_jordan_unrolled.svg", "15_lstm_step.svg", "15_gru_step.svg",
         "15_gradient_through_time.svg"],
}
LESSON_FOLDER = Path(__file__).resolve().parent.parent / "lessons"


def test_lessons_fourteen_and_fifteen_are_listed_and_load():
    lessons = find_lessons()
    for number in ANNOUNCED:
        assert number in lessons, f"lesson {number} is missing"
        assert lessons[number].error is None, lessons[number].error
        assert lessons[number].minutes > 0


@pytest.mark.parametrize("number", sorted(ANNOUNCED))
def test_lesson_runs_from_the_command_line(number, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("builtins.input", lambda *_: pytest.fail("--auto waited for Enter"))
    out = tmp_path / "out"
    status = main([str(number), "--auto", "--out", str(out)])
    text = capsys.readouterr().out
    flat = text.replace("\n", "")
    assert status == 0, text[-3000:]
    assert "Traceback" not in text and "CHECK FAILED" not in text
    passed = re.search(r"all (\d+) checks passed", text)
    assert passed and int(passed.group(1)) >= 12, "every step ends with checks"
    assert len(re.findall(r"Step (\d+) ·", text)) >= 7
    places = [flat.find(str(out / name)) for name in ANNOUNCED[number]]
    assert places == sorted(places), "the files are announced in this order"
    for name in ANNOUNCED[number]:
        path = out / name
        assert path.is_file() and path.stat().st_size > 0, f"{name} was not written"
        assert str(path) in flat, f"the student is not told to open {name}"
        assert ET.parse(path).getroot().tag.endswith("svg")
    # nothing else is left in the folder (temporary files are renamed or removed)
    assert sorted(p.name for p in out.iterdir()) == sorted(ANNOUNCED[number])


@pytest.mark.parametrize("number", sorted(ANNOUNCED))
def test_every_step_fits_an_80_by_40_terminal(number, tmp_path):
    console = Console(file=io.StringIO(), width=80, highlight=False)
    lesson = Lesson(number, "test", tmp_path, True, console)
    assert play(find_lessons()[number], lesson) == 0
    text = console.file.getvalue()
    body = text.split("End of the lesson")[0]
    steps = re.split(r"\n(?=Step \d+ · )", body)[1:]
    assert len(steps) == lesson.steps
    for step in steps:
        lines = step.rstrip("\n").split("\n")
        assert len(lines) <= 40, f"{lines[0]!r} takes {len(lines)} lines at 80 columns"
    assert max(len(line) for line in text.splitlines()) <= 80
    # every snippet is framed: the runner drops the frame when a code line would wrap
    source = next(LESSON_FOLDER.glob(f"{number}_*.py")).read_text(encoding="utf-8")
    assert text.count("╭") == source.count("lesson.code(") + 1  # + the title panel


@pytest.mark.parametrize("number", sorted(ANNOUNCED))
def test_lesson_uses_only_public_api(number):
    source = next(LESSON_FOLDER.glob(f"{number}_*.py")).read_text(encoding="utf-8")
    assert "autograd.files" not in source and "write_atomic" not in source
    assert not re.search(r"\._[a-z]", source), "no private names (._something)"
