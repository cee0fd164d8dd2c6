"""float32 stays float32 on every numpy the package supports (pyproject: numpy>=1.24).

numpy before 2.0 promotes a float32 0-d array combined with a Python number to float64
(value-based casting); Tensor keeps the dtype its inputs' dtypes give, in one place. The
registry-wide test_ops.py::test_float32_stays_float32 runs every op on numpy 1.24 in the
Python 3.10 run of .ci/run; these tests pin the rule itself on any numpy.
"""

import re
from pathlib import Path

import numpy as np

from chaingrad.autograd import Tensor
from chaingrad.autograd.tensor import _keep_precision


def test_a_float64_result_of_float32_inputs_becomes_float32():
    promoted = np.asarray(0.25, dtype=np.float64)  # what numpy 1.x gives for 0.5 * x (0-d)
    kept = _keep_precision(promoted, (np.asarray(0.5, dtype=np.float32),))
    assert kept.dtype == np.float32 and kept == 0.25


def test_real_promotions_are_left_alone():
    float32, float64 = np.ones(2, dtype=np.float32), np.ones(2)
    assert _keep_precision(float32 + float64, (float32, float64)).dtype == np.float64
    counts = np.add.reduce(np.array([True, False]))  # a sum of a mask counts: integers
    assert _keep_precision(np.asarray(counts), (np.array([True, False]),)).dtype.kind == "i"


def test_zero_dimensional_float32_ops_stay_float32():
    x = Tensor(np.float32(0.3), requires_grad=True)
    for out in (x.mean(), x.relu(), x.sigmoid(), x**2, x.clip(-1.0, 1.0), x * 0.5, 1 - x):
        assert out.dtype == np.float32, out
    (x.sigmoid() * 3).backward()
    assert x.grad.dtype == np.float32


def test_the_ci_installs_exactly_the_declared_floors():
    """.ci/oldest.txt pins each dependency at its pyproject.toml floor, so the claim is tried."""
    root = Path(__file__).resolve().parents[1]
    pyproject = (root / "pyproject.toml").read_text(encoding="utf-8")
    block = re.search(r"^dependencies = \[(.*?)\]", pyproject, re.S | re.M).group(1)
    floors = dict(re.findall(r'"([A-Za-z0-9_.-]+)>=([0-9.]+)', block))
    pins = dict(re.findall(r"^([A-Za-z0-9_.-]+)==([0-9.]+)", (root / ".ci" / "oldest.txt")
                           .read_text(encoding="utf-8"), re.M))
    assert floors and set(pins) == set(floors)
    for name, floor in floors.items():  # 1.24 and 1.24.0 are the same version
        assert _release(pins[name]) == _release(floor), (name, floor, pins[name])


def _release(version: str) -> tuple[int, ...]:
    numbers = [int(part) for part in version.split(".")]
    while numbers and numbers[-1] == 0:
        numbers.pop()
    return tuple(numbers)
