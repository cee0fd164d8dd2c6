"""mypy --strict on the README's Python blocks and on a script of everyday typed uses,
against the package as installed (class 11 of issue #23): losses add up, Value and Tensor
arithmetic keep their kind, grad gives the input's kind."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mypy")

REPO = Path(__file__).resolve().parent.parent

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


def _package(folder: Path) -> Path:
    """chaingrad as it is installed (chaingrad.autograd is autograd/ ...), as links."""
    package = folder / "chaingrad"
    package.mkdir(parents=True)
    for item in (REPO / "chaingrad").iterdir():
        (package / item.name).symlink_to(item)
    for sub in ("autograd", "nn", "viz", "lessons"):
        (package / sub).symlink_to(REPO / sub)
    return folder


def test_the_readme_and_everyday_code_pass_mypy_strict(tmp_path):
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.S)
    assert len(blocks) >= 5
    files = []
    for number, block in enumerate(blocks):
        files.append(tmp_path / f"readme_block_{number}.py")
        files[-1].write_text(block, encoding="utf-8")
    files.append(tmp_path / "everyday.py")
    files[-1].write_text(EVERYDAY, encoding="utf-8")
    packages = _package(tmp_path / "installed")
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--follow-imports=silent", "--no-incremental",
         "--cache-dir", str(tmp_path / "cache"), *map(str, files)],
        capture_output=True, text=True, cwd=tmp_path, timeout=900,
        env={"MYPYPATH": str(packages), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
