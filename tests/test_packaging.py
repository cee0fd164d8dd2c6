"""What a wheel and an sdist of chaingrad hold: one import root, the licence, the tests' files.

The repository keeps its top-level folders (autograd/, nn/, viz/, lessons/); packaging maps
them into ``chaingrad.*``. These tests build both distributions once and read them.
"""

from __future__ import annotations

import email
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

import chaingrad

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = {"chaingrad": "chaingrad", "autograd": "chaingrad/autograd", "nn": "chaingrad/nn",
           "viz": "chaingrad/viz", "lessons": "chaingrad/lessons"}

pytestmark = pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(),
                                reason="needs the git checkout to know which files are tracked")


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    """An sdist, and a wheel built from that sdist (as pip does), in one folder."""
    pytest.importorskip("build", reason="the build package is in the dev extras")
    out = tmp_path_factory.mktemp("dist")
    result = subprocess.run([sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return out


def tracked(folder: str) -> list[str]:
    """The files git tracks under ``folder`` (a path relative to the repository)."""
    listing = subprocess.run(["git", "ls-files", folder], cwd=ROOT, capture_output=True,
                             text=True, check=True)
    return [line for line in listing.stdout.splitlines() if line]


def wheel_names(dist: Path) -> list[str]:
    (wheel,) = dist.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        return archive.namelist()


def test_the_wheel_installs_one_import_root(dist):
    top = {name.split("/")[0] for name in wheel_names(dist)}
    assert top == {"chaingrad", f"chaingrad-{chaingrad.__version__}.dist-info"}


def test_the_wheel_holds_every_module_of_every_package(dist):
    names = set(wheel_names(dist))
    for folder, installed in FOLDERS.items():
        for path in tracked(folder):
            if path.endswith((".py", ".npz", ".js", ".css", ".html", "py.typed")):
                inside = installed + path[len(folder):]
                assert inside in names, f"{path} is missing from the wheel (as {inside})"


def test_the_metadata_says_mit(dist):
    (wheel,) = dist.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        info = f"chaingrad-{chaingrad.__version__}.dist-info"
        metadata = email.message_from_bytes(archive.read(f"{info}/METADATA"))
        licence = archive.read(f"{info}/licenses/LICENSE").decode()
    assert metadata["License-Expression"] == "MIT"
    assert metadata["Version"] == chaingrad.__version__
    assert licence.startswith("MIT License")


def test_the_sdist_holds_what_its_tests_and_readme_need(dist):
    (sdist,) = dist.glob("*.tar.gz")
    with tarfile.open(sdist) as archive:
        prefix = f"chaingrad-{chaingrad.__version__}/"
        names = {name.removeprefix(prefix) for name in archive.getnames()}
    needed = ["README.md", "CHANGELOG.md", "LICENSE", "pyproject.toml", "MANIFEST.in"]
    for folder in (*FOLDERS, "tests", "docs", "bench"):
        needed += tracked(folder)
    missing = [path for path in needed if path not in names]
    assert not missing, f"missing from the sdist: {missing[:10]}"
    assert not any("__pycache__" in name for name in names)
