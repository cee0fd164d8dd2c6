"""Lessons 7-19 from the command line: `chaingrad lessons N --auto --out DIR` exits 0, every
check passes, and every file the lesson tells the student to open is written, readable and
announced in order. (Lessons 1-6: tests/test_lessons.py; the 80x40 screen rules for every
lesson: tests/test_lesson_screen.py.)"""

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from chaingrad.lessons.__main__ import main
from chaingrad.lessons.runner import find_lessons

# The files each lesson announces with "▶ open", in order.
ANNOUNCED = {
    7: ["07_squared_vs_absolute.svg", "07_bce.svg", "07_gradient_penalty.svg"],
    8: ["08_gd_sgd_minibatch.svg", "08_race_momentum.svg", "08_race_adaptive.svg"],
    9: ["09_learning_curves.svg", "09_fits.svg"],
    10: ["10_digits_history.svg"],
    11: ["11_hopfield.png", "11_winner_takes_all.svg"],
    12: ["12_rnn_unrolled.svg", "12_autoencoder.png"],
    13: ["13_overfitting.svg"],
    14: ["14_learning_curves_gallery.svg", "14_bias_variance.svg", "14_choose_k.svg"],
    15: ["15_jordan_unrolled.svg", "15_lstm_step.svg", "15_gru_step.svg",
         "15_gradient_through_time.svg"],
    16: ["16_attention_head.svg", "16_heads.png", "16_transformer.svg"],
    17: ["17_autoencoder.png"],
    18: ["18_schedule.svg", "18_noising.png", "18_reverse.png", "18_field.png"],
    19: ["19_reinforce_loss.svg", "19_bandit.svg", "19_policy.png", "19_temperature.svg",
         "19_decoding.svg"],
}
LESSON_FOLDER = Path(__file__).resolve().parent.parent / "lessons"


def test_every_lesson_is_listed_and_loads():
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
    assert passed and int(passed.group(1)) >= 6, "every step ends with checks"
    assert len(re.findall(r"Step (\d+) ·", text)) >= 4
    places = [flat.find(str(out / name)) for name in ANNOUNCED[number]]
    assert -1 not in places, "the student is told to open every file"
    assert places == sorted(places), "the files are announced in this order"
    for name in ANNOUNCED[number]:
        path = out / name
        assert path.is_file() and path.stat().st_size > 0, f"{name} was not written"
        if path.suffix == ".svg":
            assert ET.parse(path).getroot().tag.endswith("svg")
        else:
            assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # nothing else is left in the folder (temporary files are renamed or removed)
    assert sorted(p.name for p in out.iterdir()) == sorted(ANNOUNCED[number])


@pytest.mark.parametrize("path", sorted(LESSON_FOLDER.glob("[0-9][0-9]_*.py")),
                         ids=lambda path: path.stem)
def test_lessons_use_only_public_api(path):
    source = path.read_text(encoding="utf-8")
    assert "autograd.files" not in source and "write_atomic" not in source
    assert not re.search(r"\._[a-z]", source), "no private names (._something)"
