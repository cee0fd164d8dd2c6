"""mypy --strict against the package as installed (class 11 of issue #23), in one run:

- the README's Python blocks and a script of everyday typed uses (losses add up, Value and
  Tensor arithmetic keep their kind, grad gives the input's kind);
- every lesson file (lessons/NN_topic.py, its ``run(lesson: Lesson)`` and helpers);
- every lesson as a student gets it: the code cells of its notebook, in order, as one
  script (``# mypy: allow-redefinition``: a later cell may reuse a name for another kind,
  as notebooks do).

Two third-party names are let through, both outside the course's code: PyTorch is
optional (lesson 18 imports it inside ``try``; without it installed there is nothing to
check it against) and IPython's ``display`` has no annotations.

mypy reads numpy's and matplotlib's own annotations. On the lessons, CI's oldest run
(numpy 1.24, matplotlib 3.7) gives other verdicts (61 errors: numpy 1.x wants
``np.ndarray[Any, Any]`` where numpy 2 takes ``np.ndarray``, and matplotlib 3.7 has no
annotations), so the lessons' tests skip there; the README's blocks pass with it. The
lessons' tests also need mypy 2's ``allow-redefinition`` (a name rebound across cells).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import matplotlib
import numpy as np
import pytest

mypy = pytest.importorskip("mypy.version")

REPO = Path(__file__).resolve().parent.parent

# For the lessons only: the README's blocks pass with the oldest versions too.
recent_stubs = pytest.mark.skipif(
    int(np.__version__.split(".")[0]) < 2
    or tuple(map(int, matplotlib.__version__.split(".")[:2])) < (3, 8)
    or int(mypy.__version__.split(".")[0]) < 2,
    reason="numpy 1.x and matplotlib < 3.8 give mypy other verdicts on the lessons; "
           "the notebooks' scripts need mypy 2's allow-redefinition")

EVERYDAY = '''
import numpy as np

from chaingrad import Tensor, Value, grad, nn

model = nn.Linear(2, 1)
X = Tensor(np.zeros((4, 2)))
loss = nn.losses.mse(model(X), np.zeros((4, 1))) + nn.losses.l2_penalty(model, 1e-3)
loss = loss + nn.losses.l1_penalty(model) * 0.5
loss.backward()
a = Value(2.0)
b: Value = a * a + 1.0
g: Value = grad(b, a)
gs: list[Value] = grad(b, [a])
t = Tensor([1.0, 2.0], requires_grad=True)
u: Tensor = (t * 2.0).exp().sum()
print(f"{loss.item():.4f}", float(u), round(b), b.data, g.data, gs)
'''

# Not course code: proves that the run reports what it should (an unannotated function
# and an array's attribute on a Value's data, a float, from an activation).
WRONG = '''
from chaingrad import Value
from chaingrad.nn import activations as act


def double(x):
    return 2 * x


y = act.sigmoid(Value(0.0))
y.backward()
print(y.data.shape)
'''

CONFIG = """[mypy]
untyped_calls_exclude = IPython

[mypy-torch.*]
ignore_missing_imports = True
"""

ERROR = re.compile(r"^(?P<file>[\w/.-]+\.py):\d+: error: ", re.M)


def _package(folder: Path) -> Path:
    """chaingrad as it is installed (chaingrad.autograd is autograd/ ...), as links."""
    package = folder / "chaingrad"
    package.mkdir(parents=True)
    for item in (REPO / "chaingrad").iterdir():
        (package / item.name).symlink_to(item)
    for sub in ("autograd", "nn", "viz", "lessons"):
        (package / sub).symlink_to(REPO / sub)
    return folder


def _notebook_scripts() -> dict[str, str]:
    """lesson NN -> the code cells of its notebook, in order, as one script."""
    from chaingrad.lessons.notebook import notebook_cells
    from chaingrad.lessons.runner import find_lessons

    scripts = {}
    for number, entry in find_lessons().items():
        assert entry.module is not None, entry.error
        cells = [text for kind, text in notebook_cells(entry) if kind == "code"]
        scripts[f"notebook_{number:02d}.py"] = ("# mypy: allow-redefinition\n"
                                                + "\n\n".join(cells) + "\n")
    return scripts


@pytest.fixture(scope="module")
def checked(tmp_path_factory):
    """One mypy run over everything: {group: {file name: [error lines]}}, and the output."""
    root = tmp_path_factory.mktemp("types")
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.S)
    assert len(blocks) >= 5
    groups: dict[str, dict[str, str]] = {
        "readme": {f"readme_block_{k}.py": block for k, block in enumerate(blocks)},
        "lessons": {f"lesson_{path.name}": path.read_text(encoding="utf-8")
                    for path in sorted((REPO / "lessons").glob("[0-9][0-9]_*.py"))},
        "notebooks": _notebook_scripts(),
        "wrong": {"wrong.py": WRONG},
    }
    groups["readme"]["everyday.py"] = EVERYDAY
    assert len(groups["lessons"]) == len(groups["notebooks"]) >= 19
    files = []
    for group, texts in groups.items():
        (root / group).mkdir()
        for name, text in texts.items():
            files.append(root / group / name)
            files[-1].write_text(text, encoding="utf-8")
    (root / "mypy.ini").write_text(CONFIG, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--follow-imports=silent",
         "--config-file", str(root / "mypy.ini"), "--cache-dir", str(root / "cache"),
         *(str(f.relative_to(root)) for f in files)],
        capture_output=True, text=True, cwd=root, timeout=900,
        env={"MYPYPATH": str(_package(root / "installed")), "PATH": "/usr/bin:/bin"},
    )
    output = result.stdout + result.stderr
    errors: dict[str, dict[str, list[str]]] = {group: {} for group in groups}
    for line in output.splitlines():
        match = ERROR.match(line + "\n")
        if match:
            group, name = match["file"].split("/", 1)
            errors[group].setdefault(name, []).append(line)
    return errors, output


def test_the_run_reports_errors(checked):
    errors, output = checked
    wrong = "\n".join(errors["wrong"].get("wrong.py", []))
    assert "missing a type annotation" in wrong, output
    assert '"float" has no attribute "shape"' in wrong, output


def test_the_readme_and_everyday_code_pass_mypy_strict(checked):
    errors, output = checked
    assert errors["readme"] == {}, output


@recent_stubs
def test_every_lesson_file_passes_mypy_strict(checked):
    errors, output = checked
    assert errors["lessons"] == {}, output


@recent_stubs
def test_every_lesson_notebook_passes_mypy_strict(checked):
    """What a student copies: the notebook's code cells, concatenated in order."""
    errors, output = checked
    assert errors["notebooks"] == {}, output
