"""Lessons 16 (attention) and 17 (convolutional autoencoder) from the command line: exit 0,
every check passes, each step fits an 80 x 40 terminal, and every announced file is written."""

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from chaingrad.lessons.__main__ import main
from chaingrad.lessons.runner import find_lessons

ANNOUNCED = {
    16: ["16_attention_head.svg", "16_heads.png", "16_transformer.svg"],
    17: ["17_autoencoder.png"],
}


@pytest.mark.parametrize("number", sorted(ANNOUNCED))
def test_lesson_runs_from_the_command_line(number, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("builtins.input", lambda *_: pytest.fail("--auto waited for Enter"))
    monkeypatch.setenv("COLUMNS", "80")
    out = tmp_path / "out"
    status = main([str(number), "--auto", "--out", str(out)])
    text = capsys.readouterr().out
    flat = text.replace("\n", "")
    assert status == 0, text[-3000:]
    assert "Traceback" not in text and "CHECK FAILED" not in text
    passed = re.search(r"all (\d+) checks passed", text)
    assert passed and int(passed.group(1)) >= 10
    for name in ANNOUNCED[number]:
        path = out / name
        assert path.is_file() and path.stat().st_size > 0, f"{name} was not written"
        assert str(path) in flat, f"the student is not told to open {name}"
        if path.suffix == ".svg":
            assert ET.parse(path).getroot().tag.endswith("svg")
        else:
            assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in out.iterdir()) == sorted(ANNOUNCED[number])
    _every_step_fits_80_by_40(text.splitlines())


def _every_step_fits_80_by_40(lines):
    assert max(len(line) for line in lines) == 80  # the code frames fill an 80-column terminal
    starts = [i for i, line in enumerate(lines) if re.match(r"Step \d+ ·", line)]
    assert len(starts) >= 8
    for first, end in zip(starts, [*starts[1:], len(lines)]):
        assert end - first <= 40, f"{lines[first]!r} takes {end - first} lines"
        assert max(len(line) for line in lines[first:end]) <= 80


@pytest.mark.parametrize("number", sorted(ANNOUNCED))
def test_no_code_line_is_over_80_columns(number):
    source = Path(find_lessons()[number].module.__file__).read_text()
    for block in re.findall(r'lesson\.code\("""(.*?)"""\)', source, re.S):
        for line in block.splitlines():
            assert len(line) - 8 <= 80, line  # the source indents the code by 8
