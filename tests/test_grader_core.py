"""The grader's core: the trust boundary, hidden cases, crashes, CPU limits, isolation.

Each test grades a small variation of a reference solution and asserts what the grader
decided. The hostile cases through the command line live in test_grader_attacks.py.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from chaingrad.lessons.exercises import builtin_assignments, run_checks
from chaingrad.lessons.exercises.grader import grade_file, grade_files

SOLUTIONS = Path(__file__).parent / "exercise_solutions"
ASSIGNMENTS = builtin_assignments()
ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def solution(key: str) -> str:
    return (SOLUTIONS / f"assignment{key}.py").read_text(encoding="utf-8")


def grade(tmp_path: Path, text: str, name: str = "submission.py", **options) -> dict:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return {r.exercise: r for r in run_checks(path, ASSIGNMENTS, **options)}


def points(results: dict) -> float:
    return sum(r.points for r in results.values())


def unrefused(key: str, text: str) -> float:
    """The points of the exercises whose rules ``text`` keeps: a file that imports os (to
    crash, to flood stderr) may not answer an exercise that forbids chaingrad's own names."""
    from chaingrad.lessons.exercises.grader import refusal

    return sum(e.points for e in ASSIGNMENTS[key].exercises if refusal(text, e) is None)


def replace(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new)


# ------------------------------------------------------------ the trust boundary


def test_patching_the_grader_inside_the_students_process_earns_nothing(tmp_path):
    stub = ASSIGNMENTS["1"].stub_file()
    attack = stub + """
import sys, numpy
for name, module in list(sys.modules.items()):
    if name.startswith("chaingrad.lessons"):
        for attribute in ("expect_close", "expect", "close"):
            if hasattr(module, attribute):
                setattr(module, attribute, lambda *a, **k: True)
numpy.allclose = lambda *a, **k: True
"""
    results = grade(tmp_path, attack)
    assert len(results) == 10 and points(results) == 0


def test_the_checkouts_own_files_are_not_importable_beside_an_installed_chaingrad(tmp_path):
    """Graded from a source checkout, the reference solutions in tests/ stay out of reach."""
    attack = "ASSIGNMENT = 2\nfrom tests.exercise_solutions.assignment2 import *  # noqa\n"
    results = grade(tmp_path, attack)
    assert len(results) == 8 and points(results) == 0
    assert "No module named 'tests'" in next(iter(results.values())).message


def test_forged_answer_lines_on_every_descriptor_earn_nothing(tmp_path):
    forged = ('{"ok": {"$tuple": [1.0, 1.0, -4.0, 3.0]}, "printed": ""}\\n'
              '{"ok": {"$dict": [["local_derivatives", "function"]]}}\\n')
    attack = ASSIGNMENTS["1"].stub_file() + f"""
import os
for fd in range(0, 64):
    try:
        os.write(fd, {forged!r}.encode() * 50)
    except OSError:
        pass
"""
    results = grade(tmp_path, attack)
    assert len(results) == 10
    assert points(results) == 0
    assert all(r.points <= r.max_points for r in results.values())


def test_lying_objects_are_never_a_number_in_the_grader(tmp_path):
    liar = """
class Liar(float):
    def __eq__(self, other):
        return True
    def __float__(self):
        return self.value

class Anything:
    def __array__(self, dtype=None, copy=None):
        import inspect
        return __import__("numpy").zeros(4)
    def __eq__(self, other):
        return True

def local_derivatives(x, y, z):
    return Anything()

def f_gradients(x, y, z):
    return (Liar(0.0), Liar(0.0), Liar(0.0))
"""
    results = grade(tmp_path, "ASSIGNMENT = 1\n" + liar)
    assert results["1.1 local_derivatives"].result != "pass"
    assert results["1.2 f_gradients"].result != "pass"
    assert points(results) == 0


# ------------------------------------------------------------------ hidden cases


PUBLIC_TABLE = """
def f_gradients(x, y, z):
    table = {(-2.0, 5.0, -4.0): (-4.0, -4.0, 3.0), (1.5, -0.5, 2.0): (2.0, 2.0, 1.0),
             (3.0, 1.0, 0.25): (0.25, 0.25, 4.0)}
    return table.get((x, y, z), (0.0, 0.0, 0.0))
"""


def test_a_lookup_table_of_the_public_cases_fails_a_hidden_case_without_its_numbers(
        tmp_path):
    text = re.sub(r"def f_gradients\(x, y, z\):\n(    .*\n)+", PUBLIC_TABLE.lstrip(),
                  solution("1"))
    results = grade(tmp_path, text, seed=7)
    result = results["1.2 f_gradients"]
    assert result.result == "fail" and result.points == 0
    assert result.message.startswith("wrong on a hidden case (negative x, y and z)")
    assert result.hidden == "negative x, y and z" and result.hidden_cases >= 1
    assert not re.search(r"\d", result.message.split("Expected")[0])  # no numbers shown
    assert result.picture == ""
    # The same seed grades the same way; the public cases are still shown on a public miss.
    assert grade(tmp_path, text, seed=7)["1.2 f_gradients"].message == result.message


def test_hidden_cases_differ_from_run_to_run_and_the_seed_repeats_them(tmp_path):
    text = replace(solution("1"), "    return 1.0, 1.0, z, x + y",
                   "    print(x, y, z)\n    return 1.0, 1.0, z, x + y")
    seen = {seed: grade(tmp_path, text, seed=seed)["1.1 local_derivatives"].output
            for seed in (1, 2)}
    assert seen[1] != seen[2]
    assert grade(tmp_path, text, seed=1)["1.1 local_derivatives"].output == seen[1]


# ---------------------------------------------------------- the rules of exercises


def test_a_by_hand_exercise_that_calls_backward_is_refused(tmp_path):
    text = replace(solution("1"), "    df_dq = z\n    return df_dq * 1.0, df_dq * 1.0, x + y",
                   "    from chaingrad import Value\n"
                   "    vx, vy, vz = Value(x), Value(y), Value(z)\n"
                   "    f = (vx + vy) * vz\n    f.backward()\n"
                   "    return vx.grad, vy.grad, vz.grad")
    result = grade(tmp_path, text)["1.2 f_gradients"]
    assert result.result == "fail"
    assert result.message.startswith("refused: your f_gradients calls backward()")


def test_calling_chaingrads_own_sigmoid_is_refused(tmp_path):
    text = replace(solution("1"), "        return 1.0 / (1.0 + np.exp(-x))",
                   "        from chaingrad import Tensor\n"
                   "        return Tensor(x).sigmoid().data")
    result = grade(tmp_path, text)["1.3 Sigmoid"]
    assert result.result == "fail"
    assert "uses chaingrad's own sigmoid" in result.message
    gc_text = solution("1") + "\nimport gc\n"
    assert "imports gc" in grade(tmp_path, gc_text)["1.3 Sigmoid"].message


def test_changing_w_in_place_fails_where_the_stub_says_not_to(tmp_path):
    text = replace(solution("2"), "    return w - lr * grad", "    w -= lr * grad\n    return w")
    result = grade(tmp_path, text)["2.1 gradient_descent_step"]
    assert result.result == "fail"
    assert "changed an input array in place" in result.message


def test_a_loss_returned_as_a_tensor_is_one_rule_in_training_step_and_train(tmp_path):
    text = replace(solution("2"), "    return loss.item()", "    return loss")
    results = grade(tmp_path, text)
    assert results["2.5 training_step"].result == "pass", results["2.5 training_step"].message
    assert results["2.6 train"].result == "pass", results["2.6 train"].message


def test_nn_optim_sgd_runs_in_the_child(tmp_path):
    # the first optimizer imports SciPy's BLAS: in a child that gave up root, which may no
    # longer read the Python installation, it must already be there
    # (assignment 2 asks for SGD by hand and refuses chaingrad's; assignment 3 does not)
    text = solution("3") + (
        "\nfrom chaingrad import nn as _nn\n"
        "from chaingrad.autograd import Tensor as _Tensor\n"
        "_w = _Tensor([1.0, 2.0], requires_grad=True)\n"
        "(_w * _w).sum().backward()\n"
        "_nn.optim.SGD([_w], lr=0.1).step()\n"
        "assert _w.data.tolist() == [0.8, 1.6], _w.data\n")
    results = grade(tmp_path, text)
    assert points(results) == ASSIGNMENTS["3"].points, next(iter(results.values())).message


# ------------------------------------------------------------ a crash costs one


CRASHES = {
    "os._exit": "import os\n    os._exit(3)",
    "segfault": "import ctypes\n    ctypes.string_at(0)",
    "SystemExit": "raise SystemExit(0)",
    "KeyboardInterrupt": "raise KeyboardInterrupt",
    "memory": "x = bytearray(3 * 2**30)",
}


@pytest.mark.parametrize("how", list(CRASHES))
def test_a_crash_in_the_first_exercise_costs_only_that_exercise(how, tmp_path):
    text = replace(solution("1"), "    return 1.0, 1.0, z, x + y",
                   f"    {CRASHES[how]}\n    return 1.0, 1.0, z, x + y")
    results = grade(tmp_path, text)
    first = results["1.1 local_derivatives"]
    assert first.result == "error" and first.points == 0
    assert first.message and "\n" not in first.message
    assert points(results) == unrefused("1", text) - 1
    words = {"os._exit": "exit code 3", "segfault": "SIGSEGV", "SystemExit": "exit()",
             "KeyboardInterrupt": "KeyboardInterrupt", "memory": "memory"}
    assert words[how] in first.message, first.message


def test_an_endless_loop_in_train_names_train_and_training_step(tmp_path):
    text = replace(solution("2"),
                   "    return [training_step(model, loss_fn, X, y, lr) for _ in range(epochs)]",
                   "    while True:\n        training_step(model, loss_fn, X, y, lr)")
    message = grade(tmp_path, text, timeout=0.3)["2.6 train"].message
    assert message.startswith("stopped after 0.9 s of CPU time at line")
    assert "called from train (line" in message and "--timeout" in message


# --------------------------------------------------------------- limits by CPU


BURN = """
import time
def _burn(seconds):
    start = time.process_time()
    while time.process_time() - start < seconds:
        pass
"""


def test_cpu_limits_do_not_depend_on_the_load_of_the_machine(tmp_path):
    # 75% of a 1 s CPU budget per exercise, and 3 s of CPU at the top level (its own
    # budget), while two processes keep both cores busy: still a pass.
    text = solution("1") + BURN + "\n_burn(3.0)\n"
    text = replace(text, "    return 1.0, 1.0, z, x + y",
                   "    global _burnt\n    if not _burnt:\n        _burn(0.75)\n"
                   "        _burnt = True\n    return 1.0, 1.0, z, x + y")
    text += "\n_burnt = False\n"
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
               for _ in range(2)]
    try:
        results = grade(tmp_path, text, timeout=1.0)
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()
    first = results["1.1 local_derivatives"]
    assert first.result == "pass", first.message
    assert points(results) == unrefused("1", text)


def test_too_much_cpu_at_the_top_level_is_its_own_sentence(tmp_path):
    text = solution("1") + "\nwhile True:\n    pass\n"
    results = grade(tmp_path, text, timeout=0.5)
    assert all(r.result == "error" and "top-level code used more than 5 s of CPU time"
               in r.message for r in results.values())


def test_a_huge_stderr_costs_the_grader_little(tmp_path):
    import resource

    text = solution("1") + "\nimport os\nfor _ in range(300):\n    os.write(2, b'x' * 2**20)\n"
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    results = grade(tmp_path, text)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert points(results) == unrefused("1", text)
    assert after - before < 100_000  # kB: far less than the 300 MB written


@pytest.fixture
def scratch(monkeypatch):
    """The children's private folders go under a folder of this test's own, so their
    leftovers are told apart from other gradings running on the machine."""
    import shutil
    import tempfile

    folder = tempfile.mkdtemp(prefix="chaingrad-test-")
    os.chmod(folder, 0o755)  # an unprivileged child must reach its folder inside
    monkeypatch.setattr(tempfile, "tempdir", folder)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def _leftovers(scratch: str) -> list[int]:
    """Processes still running whose home is one of this test's child folders."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                environ = Path(f"/proc/{entry}/environ").read_bytes().split(b"\0")
                state = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            home = next((v[5:] for v in environ if v.startswith(b"HOME=")), b"")
            if home.startswith(scratch.encode()) and state != "Z":
                found.append(int(entry))
    return found


def test_a_fork_bomb_is_bounded_and_leaves_nothing_behind(tmp_path, scratch):
    text = replace(solution("1"), "    return 1.0, 1.0, z, x + y",
                   "    import os\n    while True:\n        try:\n            os.fork()\n"
                   "        except OSError:\n            pass")
    results = grade(tmp_path, text, timeout=0.5)
    assert results["1.1 local_derivatives"].result == "error"
    assert points(results) == unrefused("1", text) - 1
    assert _leftovers(scratch) == []


def test_a_daemon_left_behind_is_killed(tmp_path, scratch):
    daemon = """
import os, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        while True:
            time.sleep(0.05)
    os._exit(0)
"""
    results = grade(tmp_path, solution("1") + daemon)
    assert points(results) == unrefused("1", solution("1") + daemon)
    assert _leftovers(scratch) == []


# ------------------------------------------------------------------- isolation


def test_a_numpy_py_beside_the_file_changes_nothing(tmp_path):
    (tmp_path / "numpy.py").write_text("raise SystemExit('hijacked')\n")
    (tmp_path / "random.py").write_text("raise SystemExit('hijacked')\n")
    results = grade(tmp_path, solution("1"))
    assert points(results) == ASSIGNMENTS["1"].points


@pytest.mark.skipif(not ROOT, reason="the uid drop happens only when grading as root")
def test_as_root_a_file_cannot_read_or_write_outside_its_folder(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("the answers")
    secret.chmod(0o600)
    classmate = tmp_path / "classmate.py"
    classmate.write_text(solution("1"))
    probe = f"""
def _can(action):
    try:
        action()
        return True
    except OSError:
        return False

READ = _can(lambda: open({str(secret)!r}).read())
WRITE = _can(lambda: open({str(classmate)!r}, "a").write("# mine"))
MKDIR = _can(lambda: open({str(tmp_path / 'planted.txt')!r}, "w"))
"""
    text = replace(solution("1") + probe, "    return 1.0, 1.0, z, x + y",
                   "    if READ or WRITE or MKDIR:\n        return 0, 0, 0, 0\n"
                   "    return 1.0, 1.0, z, x + y")
    results = grade(tmp_path, text)
    assert results["1.1 local_derivatives"].result == "pass", results["1.1 local_derivatives"]
    assert classmate.read_text() == solution("1")
    assert not (tmp_path / "planted.txt").exists()


def test_without_a_user_of_its_own_a_child_gets_its_own_process_space(tmp_path,
                                                                       monkeypatch):
    # What a grader that is not root does (where the system offers user namespaces):
    # the child sees only its own processes, so it cannot signal the grader or a classmate.
    from chaingrad.lessons.exercises import session

    if not session.namespace_prefix() and not ROOT:
        pytest.skip("no namespaces on this machine")
    monkeypatch.setattr(session, "DROP_USER", False)
    text = replace(solution("1"), "    return 1.0, 1.0, z, x + y",
                   "    import os\n    print(sorted(int(p) for p in os.listdir('/proc') "
                   "if p.isdigit()))\n    return 1.0, 1.0, z, x + y")
    result = grade(tmp_path, text)["1.1 local_derivatives"]
    assert result.result == "pass"
    visible = eval(result.output.splitlines()[0])  # noqa: S307 (our own test's list)
    assert len(visible) <= 3 and 1 in visible, visible


def test_a_classmate_rewriting_files_changes_no_other_grade(tmp_path):
    honest = tmp_path / "a_honest.py"
    honest.write_text(solution("1"))
    attacker = tmp_path / "b_attacker.py"
    attacker.write_text(ASSIGNMENTS["1"].stub_file() + f"""
try:
    open({str(honest)!r}, "w").write("ASSIGNMENT = 1\\n")
except OSError:
    pass
""")
    graded = grade_files([honest, attacker], jobs=1)
    assert sum(r.points for r in graded[str(honest)]) == ASSIGNMENTS["1"].points


# ----------------------------------------------------------------- the pictures


def test_a_symlink_planted_in_the_pictures_folder_is_replaced_not_followed(tmp_path):
    pictures = tmp_path / "pictures"
    pictures.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    (pictures / "submission_1.2_f_gradients.svg").symlink_to(victim)
    text = replace(solution("1"), "return df_dq * 1.0, df_dq * 1.0, x + y",
                   "return df_dq * 1.0, df_dq * 1.0, z")
    result = grade(tmp_path, text, pictures=pictures)["1.2 f_gradients"]
    assert victim.read_text() == "keep me"
    picture = Path(result.picture)
    assert picture.is_file() and not picture.is_symlink()
    assert "<svg" in picture.read_text(encoding="utf-8")


def test_same_named_files_get_distinct_pictures(tmp_path):
    wrong = replace(solution("1"), "return df_dq * 1.0, df_dq * 1.0, x + y",
                    "return df_dq * 1.0, df_dq * 1.0, z")
    paths = []
    for folder in ("ann", "bob"):
        (tmp_path / folder).mkdir()
        paths.append(tmp_path / folder / "assignment1.py")
        paths[-1].write_text(wrong)
    graded = grade_files(paths, pictures=tmp_path / "pictures", jobs=2)
    pictures = [r.picture for results in graded.values() for r in results if r.picture]
    assert len(pictures) == 2 and len(set(pictures)) == 2


# ------------------------------------------------------------ what the file says


def test_a_utf16_file_is_told_to_save_as_utf8_not_line_none(tmp_path):
    path = tmp_path / "utf16.py"
    path.write_bytes(solution("1").encode("utf-16"))
    results = grade_file(path)
    assert results and all("UTF-16" in r.message and "None" not in r.message
                           for r in results)


def test_source_text_is_graded_under_the_name_given(tmp_path):
    results = grade_file("notebook.ipynb", source=solution("3"), seed=3)
    assert [r.file for r in results] == ["notebook.ipynb"] * 8
    assert sum(r.points for r in results) == ASSIGNMENTS["3"].points
    assert {r.seed for r in results} == {3}


def test_on_file_reports_each_file_as_soon_as_it_is_graded(tmp_path):
    paths = []
    for key in ("1", "3"):
        paths.append(tmp_path / f"a{key}.py")
        paths[-1].write_text(solution(key))
    seen = []
    graded = grade_files(paths, jobs=1, on_file=lambda path, results: seen.append(
        (path, len(results))))
    assert seen == [(str(paths[0]), 10), (str(paths[1]), 8)]
    assert list(graded) == [str(p) for p in paths]


# ------------------------------------------------------------ the feedback fixes


def test_perceptron_with_strict_greater_is_told_about_step_0_not_adaline(tmp_path):
    text = replace(solution("3"), "y = 1.0 if w @ x >= 0 else 0.0",
                   "y = 1.0 if w @ x > 0 else 0.0")
    message = grade(tmp_path, text)["3.1 perceptron_step"].message
    assert "step(0) = 1" in message and "ADALINE" not in message


def test_a_wrong_shape_in_two_layer_gradients_is_said_as_a_shape(tmp_path):
    text = replace(solution("1"), '"W1": np.outer(dE_dz, x)', '"W1": np.outer(x, dE_dz)')
    message = grade(tmp_path, text)["1.10 two_layer_gradients"].message
    assert message == "your dE/dW1 has the shape (3, 4); expected (4, 3), the shape of W1."


def test_a_missing_key_in_two_layer_gradients_is_named(tmp_path):
    text = replace(solution("1"), '"b2": dE_dy}', '"B2": dE_dy}')
    message = grade(tmp_path, text)["1.10 two_layer_gradients"].message
    assert message == ("your two_layer_gradients returned a dict without the key 'b2' (it "
                       "has 'B2' instead: the keys are the weights' names).")


def test_the_local_derivatives_picture_shows_no_contradicting_edge_labels(tmp_path):
    text = replace(solution("1"), "    return 1.0, 1.0, z, x + y", "    return 1.0, 1.0, x + y, z")
    result = grade(tmp_path, text, pictures=tmp_path / "pictures")["1.1 local_derivatives"]
    svg = Path(result.picture).read_text(encoding="utf-8")
    assert "MISMATCH" in svg and "local derivative" not in svg
    right = replace(solution("1"), "return df_dq * 1.0, df_dq * 1.0, x + y",
                    "return df_dq * 1.0, df_dq * 1.0, z")
    other = grade(tmp_path, right, pictures=tmp_path / "others")["1.2 f_gradients"]
    assert "local derivative" in Path(other.picture).read_text(encoding="utf-8")


def test_the_sandbox_shows_a_child_no_other_file(tmp_path):
    from chaingrad.lessons.exercises import grader

    try:
        grader.sandbox_prefix()
    except ValueError as error:
        pytest.skip(str(error))
    classmate = tmp_path / "classmate.py"
    classmate.write_text(solution("1"))
    classmate.chmod(0o644)
    probe = f"""
import os
try:
    SEEN = open({str(classmate)!r}).read()
except OSError:
    SEEN = ""
"""
    text = replace(solution("1") + probe, "    return 1.0, 1.0, z, x + y",
                   "    if SEEN:\n        return 0, 0, 0, 0\n    return 1.0, 1.0, z, x + y")
    results = grade(tmp_path, text, sandbox=True)
    assert results["1.1 local_derivatives"].result == "pass", results["1.1 local_derivatives"]
    assert points(results) == unrefused("1", text)


# Each way a file reached chaingrad's own sigmoid past the first source check (an alias, a
# module import, a dynamic import, introspection, a module reached through an allowed one).
SIGMOID_BYPASSES = {
    "an aliased name": "from chaingrad.autograd.ops import sigmoid as _s\n"
                       "def _own(x):\n    return _s(x)\n",
    "an aliased module": "import chaingrad as c\nS = c.nn.Sigmoid\n",
    "a dotted import": "import chaingrad.nn\n_n = chaingrad.nn\nS = _n.Sigmoid\n",
    "getattr passed along": "from functools import reduce\nfrom chaingrad import nn\n"
                            "S = reduce(getattr, ['Sig' + 'moid'], nn)\n",
    "__getattribute__": "from chaingrad import nn\nS = nn.__getattribute__('Sig' + 'moid')\n",
    "__import__": "_c = __import__('chaingrad')\n",
    "importlib": "import importlib\n_c = importlib.import_module('chaingrad')\n",
    "sys.modules": "import sys\n_c = sys.modules['chaingrad']\n",
    "random._os": "import random\n_c = random._os.sys.modules['chaingrad']\n",
    "typing.sys": "import typing\n_c = typing.sys\n",
    "from typing import sys": "from typing import sys as _t\n",
    "Op.__subclasses__": "from chaingrad import Op\n_all = Op.__subclasses__()\n",
    "a computed getattr": "from chaingrad import nn\n_s = getattr(nn, 'Sig' + 'moid')\n",
    "exec": "exec('from chaingrad import sig' + 'moid')\n",
    "a frame's globals": "try:\n    1 / 0\nexcept Exception as e:\n"
                        "    _g = e.__traceback__.tb_frame.f_globals\n",
    "a pickle": "import numpy as np\n_s = np.load('x.npy', allow_pickle=True)\n",
    "a star import": "from chaingrad.nn import *\n",
}


@pytest.mark.parametrize("bypass", SIGMOID_BYPASSES)
def test_every_way_to_reach_chaingrads_own_sigmoid_is_refused(bypass):
    from chaingrad.lessons.exercises.grader import refusal
    exercise = {e.name: e for e in ASSIGNMENTS["1"].exercises}["Sigmoid"]
    assert refusal(solution("1"), exercise) is None
    why = refusal(solution("1") + "\n" + SIGMOID_BYPASSES[bypass], exercise)
    assert why is not None and why.startswith("refused: your "), bypass


def test_honest_imports_and_own_names_are_not_refused():
    from chaingrad.lessons.exercises.grader import refusal
    exercises = [e for key in ASSIGNMENTS for e in ASSIGNMENTS[key].exercises if e.forbid]
    honest = ("import math\nimport random\nimport numpy as np\nfrom functools import reduce\n"
              "from collections import defaultdict\nfrom typing import List\n"
              "_w = np.linalg.norm(np.ones(2))\n_h = getattr(np, 'float64', None)\n")
    own = {"1": "from chaingrad import Op, Tensor\n", "2": "from chaingrad import Tensor, nn\n"}
    for e in exercises:
        text = solution(e.assignment) + "\n" + honest + own.get(e.assignment, "")
        assert refusal(text, e) is None, (e.label(), refusal(text, e))


# Top-level code that replaces the course's helper which runs beside the student's code
# (assignment 4's child_mlp) with one that answers chaingrad's numbers: the MLP is not
# written, so the honest file earns 0 for 4.5.
PATCHED_HELPER = '''
class MLP:
    def __init__(self, n_in, sizes):
        raise NotImplementedError

{reach}

def _fake(student, n_in, sizes, weights, inputs):
    import numpy as np
    out = _a4.mlp_numpy(weights, n_in, sizes, np.array(inputs))[:, 0]
    return {{"count": len(weights), "outputs": [float(v) for v in out]}}


_a4.child_mlp = _fake
'''
REACHES = {"an import": "from chaingrad.lessons.exercises import assignment4 as _a4",
           "a dynamic import": "import importlib\n_a4 = importlib.import_module("
                               "'chaingrad.lessons.exercises.assignment4')",
           "an attribute": "import chaingrad.lessons.exercises.assignment4\n"
                           "_a4 = chaingrad.lessons.exercises.assignment4"}


@pytest.mark.parametrize("reach", REACHES)
def test_replacing_a_course_helper_in_the_child_earns_nothing(reach, tmp_path):
    text = solution("4").replace("class MLP:", "class _OwnMLP:")
    text += PATCHED_HELPER.format(reach=REACHES[reach])
    skip = [e.label() for e in ASSIGNMENTS["4"].exercises if e.label() != "4.5 MLP"]
    results = grade(tmp_path, text, skip=skip)
    assert results["4.5 MLP"].result != "pass", results["4.5 MLP"].message
    assert results["4.5 MLP"].message.startswith("refused: your file")


@pytest.mark.skipif(not ROOT, reason="as root each child is a user of its own, whose files "
                    "the grader can find")
def test_nothing_a_child_writes_to_the_shared_temporary_folders_outlives_it(tmp_path):
    # /tmp, /var/tmp and /dev/shm are writable by every user: a child (even a fresh user)
    # could leave files there for a later child (a classmate's) or fill the machine's
    # memory (/dev/shm is RAM). The grader removes what the child's user left.
    mark = f"chaingrad-test-{os.getpid()}-{tmp_path.name}"
    places = [Path(p) / mark for p in ("/tmp", "/var/tmp", "/dev/shm") if os.path.isdir(p)]
    text = solution("1") + "".join(
        f"\ntry:\n    import os\n    os.makedirs({str(p)!r} + '/in', exist_ok=True)\n"
        f"    open({str(p)!r} + '/in/x', 'w').write('x')\n"
        f"    open({str(p)!r} + '-file', 'w').write('x')\nexcept OSError:\n    pass\n"
        for p in places)
    path = tmp_path / "submission.py"
    path.write_text(text, encoding="utf-8")
    results = run_checks(path, ASSIGNMENTS, skip=[e.label() for e in
                                                  ASSIGNMENTS["1"].exercises][1:])
    assert results[0].result == "pass", results[0]
    left = [str(p) for p in places if p.exists() or Path(f"{p}-file").exists()]
    assert not left, left


def test_a_folder_closed_to_other_users_is_named_before_any_submission_runs(tmp_path,
                                                                            monkeypatch):
    """As root each child runs as its own user: chaingrad installed under a folder others
    may not enter (/root, mktemp -d) would make every submission fail to import the
    course's modules, blamed on the student. The grader says so first, naming the folder."""
    from chaingrad.lessons.exercises import session

    if not session._is_root():
        pytest.skip("only root gives each child a user of its own")
    import shutil
    import tempfile

    base = Path(tempfile.mkdtemp(dir="/tmp"))  # pytest's own folders are closed (700)
    try:
        base.chmod(0o755)
        closed = base / "closed"
        (closed / "venv").mkdir(parents=True)
        closed.chmod(0o700)
        sentence = session.closed_to_children([closed / "venv"])
        assert sentence and f"{closed} lets no other user in (mode 700)" in sentence
        assert "--sandbox" in sentence
        closed.chmod(0o755)
        assert session.closed_to_children([closed / "venv"]) is None
    finally:
        shutil.rmtree(base)
    monkeypatch.setattr(session, "closed_to_children", lambda places=None: "closed here")
    with pytest.raises(ValueError, match="closed here"):
        session.Session("x = 1\n", "student.py", {"cpu": 5}, sandbox=False)
