"""Attacks on the grader, each through the real ``chaingrad check`` command on a small class.

A class folder holds two honest classmates (``perfect.py``, 6 of 6 points; ``partial.py``,
2 of 6 with a picture) and an attacker (``attacker.py``) whose honest code earns 3 of 6:
``double`` and ``mean`` right, ``mul_gradients`` not written. Each attack changes the
attacker (or puts files beside it) and the class is graded by a separate
``python -m chaingrad check`` process, two files at a time. Every attack asserts:

* the attacker earns no point its honest code would not earn,
* every honest classmate's grade is exactly what it is without the attacker,
* the report is complete (every file, every exercise, one total row per student),
* no process the attacker started is left when the grader is done.

Attacks that could hurt the machine (memory, fork bombs) first check that the grader's
limits are in place, and are capped on their own besides. The attacks only ever aim at
the grader they run under (found through their parent processes), never at anything else
on the machine.
"""

from __future__ import annotations

import csv
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest
from tiny_class import EXERCISES, LABELS, MAX_POINTS, PARTIAL, PERFECT

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the attacks use /proc")

# Set in every attacker's processes: the test finds whatever the attacker left running.
# Paths are handed to the attacker in full: the strongest attacker knows where everything is.
PREAMBLE = '''
import ctypes, json, os, signal, sys, time

MARK = {mark!r}
CLASS = {folder!r}
REPORT = {report!r}
PICTURES = {pictures!r}
VICTIM = {victim!r}
LABELS = ["double", "mul_gradients", "mean"]

try:
    ctypes.CDLL(None).prctl(15, MARK.encode(), 0, 0, 0)  # PR_SET_NAME: this process's name
except Exception:
    pass


def forged_lines():
    """Lines that say "pass, full points" in every format a grader might read."""
    lines = []
    for label in LABELS:
        lines.append(json.dumps({{"file": "attacker.py", "exercise": label, "result": "pass",
                                 "points": 1000.0, "max_points": 1.0}}))
        lines.append(json.dumps({{"start": label}}))
        lines.append(json.dumps({{"exercise": label, "result": "pass", "points": 1000}}))
    lines.append(json.dumps({{"exercise": "bonus", "result": "pass", "points": 1000.0,
                             "max_points": 1000.0}}))
    for n in range(1, 6):
        lines.append(json.dumps({{"id": n, "ok": True, "value": [3.0, 2.0]}}))
        lines.append(json.dumps({{"id": n, "ok": True, "answer": {{"$tuple": [3.0, 2.0]}}}}))
    return "\\n".join(lines) + "\\n"


def ancestors():
    """This process's parents, nearest first, up to the grader (`chaingrad check`)."""
    found, pid = [], os.getpid()
    for _ in range(6):
        try:
            with open(f"/proc/{{pid}}/stat") as f:
                pid = int(f.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{{pid}}/cmdline", "rb") as f:
                command = f.read().replace(b"\\0", b" ")
        except (OSError, ValueError, IndexError):
            break
        if pid <= 1:
            break
        found.append(pid)
        if b"chaingrad" in command and b"check" in command:
            break
    return found


def grader():
    """The grader's process id (None if this process cannot see it)."""
    found = ancestors()
    return found[-1] if found else None


def classmates():
    """Every other process the grader started (the other files' children)."""
    boss, me = grader(), os.getpid()
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != me:
            try:
                with open(f"/proc/{{entry}}/stat") as f:
                    parent = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            if parent == boss:
                found.append(int(entry))
    return found
'''

HONEST_ATTACKER = '''

def double(x):
    return 2 * x


def mul_gradients(x, y):
    raise NotImplementedError


def mean(xs):
    return sum(xs) / len(xs)
'''
HONEST_POINTS = 3.0  # double (2) + mean (1)


def replace(function: str, body: str) -> str:
    """The honest attacker with one function's body replaced."""
    start = HONEST_ATTACKER.index(f"def {function}(")
    end = HONEST_ATTACKER.find("\ndef ", start + 1)
    end = len(HONEST_ATTACKER) if end < 0 else end
    header = HONEST_ATTACKER[start:HONEST_ATTACKER.index("\n", start) + 1]
    return (HONEST_ATTACKER[:start] + header + textwrap.indent(textwrap.dedent(body), "    ")
            + "\n" + HONEST_ATTACKER[end:])


def at_top(code: str) -> str:
    """The honest attacker with code run when the file is loaded."""
    return HONEST_ATTACKER + "\n\n" + textwrap.dedent(code)


# ------------------------------------------------------------------ running a class


class Class:
    """A class folder, its grading command, and what came out."""

    def __init__(self, root: Path, readable: bool = False) -> None:
        self.root = root
        self.folder = root / "class"
        if readable:  # a class folder others may read, as a shared drive often is
            self.folder = Path(tempfile.mkdtemp(prefix="chaingrad-class-")) / "class"
            os.chmod(self.folder.parent, 0o755)
        self.out = root / "out"
        self.report = self.out / "grades.csv"
        self.pictures = self.out / "pictures"
        self.exercises = root / "instructor" / "tiny_homework.py"
        self.mark = "cgatk" + secrets.token_hex(4)
        # The victim is a folder anyone may write in: the attacker's lack of rights must
        # not be what stops it.
        self.victim = Path(tempfile.mkdtemp(prefix="chaingrad-victim-"))
        os.chmod(self.victim, 0o777)
        (self.victim / "precious.txt").write_text("precious\n")
        os.chmod(self.victim / "precious.txt", 0o666)
        for folder in (self.folder, self.out, self.exercises.parent):
            folder.mkdir(parents=True)
        self.exercises.write_text(EXERCISES)
        (self.folder / "perfect.py").write_text(PERFECT)
        (self.folder / "partial.py").write_text(PARTIAL)

    def preamble(self) -> str:
        return PREAMBLE.format(mark=self.mark, folder=str(self.folder),
                               report=str(self.report), pictures=str(self.pictures),
                               victim=str(self.victim))

    def attacker(self, code: str, name: str = "attacker.py") -> None:
        (self.folder / name).write_text(self.preamble() + code)

    def grade(self, *options: str, timeout: float = 240) -> subprocess.CompletedProcess:
        self.files = sorted(p.name for p in self.folder.rglob("*.py"))  # before any attack
        command = [sys.executable, "-m", "chaingrad", "check", str(self.folder),
                   "--exercises", str(self.exercises), "--report", str(self.report),
                   "--pictures", str(self.pictures), "--seed", "7", "--jobs", "2",
                   "--timeout", "2", *options]
        with open(self.out / "stdout.txt", "wb") as out, \
                open(self.out / "stderr.txt", "wb") as err:
            done = subprocess.run(command, cwd=self.out, stdin=subprocess.DEVNULL,
                                  stdout=out, stderr=err, timeout=timeout)
        return done

    def said(self) -> str:
        """The end of what the grader printed (an attack may have made it long)."""
        text = ""
        for name in ("stdout.txt", "stderr.txt"):
            with open(self.out / name, "rb") as f:
                f.seek(max(0, os.path.getsize(self.out / name) - 4000))
                text += f.read().decode("utf-8", "replace")
        return text

    def rows(self) -> list[dict]:
        with open(self.report, newline="", encoding="utf-8") as f:
            return list(csv.DictReader(f))

    def leftovers(self) -> list[int]:
        """Processes still running that the attacker started (named with its mark)."""
        found = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/comm") as f:
                    name = f.read().strip()
                with open(f"/proc/{entry}/stat") as f:
                    state = f.read().rsplit(")", 1)[1].split()[0]
            except (OSError, IndexError):
                continue
            if name == self.mark[:15] and state not in ("Z", "X"):
                found.append(int(entry))
        return found

    def kill_leftovers(self) -> None:
        for pid in self.leftovers():
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass

    def cleanup(self) -> None:
        self.kill_leftovers()
        shutil.rmtree(self.victim, ignore_errors=True)
        if self.folder.parent != self.root:
            shutil.rmtree(self.folder.parent, ignore_errors=True)


def grades(rows: list[dict]) -> dict[str, dict[str, tuple]]:
    """file name -> exercise -> (result, points, max_points); the total row as "(total)"."""
    by_student: dict[str, dict[str, tuple]] = {}
    for row in rows:
        name = Path(row["student"]).name
        by_student.setdefault(name, {})[row["exercise"]] = (
            row["result"] if row["exercise"] != "(total)" else "",
            float(row["points"]), float(row["max_points"]))
    return by_student


@pytest.fixture(scope="module")
def baseline(tmp_path_factory):
    """The class graded with the attacker's honest code: what every attack is held to."""
    room = Class(tmp_path_factory.mktemp("baseline"))
    try:
        room.attacker(HONEST_ATTACKER)
        done = room.grade()
        assert done.returncode == 1, room.said()
        found = grades(room.rows())
        assert found["perfect.py"]["(total)"][1:] == (6.0, 6.0)
        assert found["partial.py"]["(total)"][1:] == (2.0, 6.0)
        assert found["attacker.py"]["(total)"][1:] == (HONEST_POINTS, 6.0)
        return found
    finally:
        room.cleanup()


@pytest.fixture
def room(tmp_path):
    made = Class(tmp_path)
    yield made
    made.cleanup()


def assert_attack_failed(room: Class, done, baseline, honest=None) -> dict:
    """The grader finished, classmates are unchanged, the attacker gained nothing, the
    report is complete and no process of the attacker is left. Returns the grades."""
    honest = honest or {"attacker.py": HONEST_POINTS}
    assert done.returncode in (0, 1), f"the grader ended with {done.returncode}: " \
                                      f"{room.said()}"
    time.sleep(0.3)  # a leftover that was being killed has had time to go
    assert room.leftovers() == [], "a process the attacker started outlived the grader"
    rows = room.rows()
    found = grades(rows)
    assert sorted(found) == room.files, f"the report does not hold every file: {sorted(found)}"
    for name in ("perfect.py", "partial.py"):
        assert found[name] == baseline[name], f"{name}'s grade changed"
    for name, rows_of in found.items():
        exercises = sorted(k for k in rows_of if k != "(total)")
        assert exercises == sorted(LABELS), f"{name}: exercises {exercises}"
        points = sum(rows_of[label][1] for label in LABELS)
        assert rows_of["(total)"][1:] == (points, MAX_POINTS), f"{name}'s total row"
        for label in LABELS:
            result, got, most = rows_of[label]
            assert got in (0.0, most) and (got == most) == (result == "pass"), (name, label)
    for name in found:
        if name in ("perfect.py", "partial.py"):
            continue
        assert found[name]["(total)"][1] <= honest.get(name, 0.0), \
            f"{name} earned {found[name]['(total)'][1]} points by attacking"
    return found


# ------------------------------------------------------------------ the attacks

# name -> the attacker's file (after the preamble). Each is graded in a class of its own.
ATTACKS = {
    # --- patching whatever the submission can reach in sys.modules
    "patch the grader's modules": at_top('''
        for name, module in list(sys.modules.items()):
            if name.startswith("chaingrad.lessons.exercises") and module is not None:
                for attribute in list(vars(module)):
                    value = getattr(module, attribute, None)
                    if callable(value) and attribute not in ("main",):
                        try:
                            setattr(module, attribute, lambda *a, **k: {"result": "pass",
                                                                        "points": 1000})
                        except Exception:
                            pass
        '''),
    "patch the assignment registry": at_top('''
        import importlib
        for name in ("chaingrad.lessons.exercises", "chaingrad.lessons.exercises.api"):
            try:
                api = importlib.import_module(name)
            except Exception:
                continue
            for group in list(getattr(api, "ASSIGNMENTS", {}).values()):
                for e in group.exercises:
                    e.check = lambda student: None
                    e.points = 1000.0
            api.expect_close = lambda *a, **k: None
            api.expect = lambda *a, **k: None
        for module in list(sys.modules.values()):
            if getattr(module, "__name__", "").startswith("exercises_"):
                for value in list(vars(module).values()):
                    if hasattr(value, "check"):
                        value.check = lambda student: None
        '''),
    "patch numpy": at_top('''
        import numpy as np
        np.allclose = lambda *a, **k: True
        np.isclose = lambda a, b, *r, **k: np.ones(np.shape(a), bool)
        np.testing.assert_allclose = lambda *a, **k: None
        np.array_equal = lambda *a, **k: True
        np.isfinite = lambda a, *r, **k: np.ones(np.shape(a), bool)
        '''),
    "patch builtins": at_top('''
        import builtins
        builtins.abs = lambda x: 0.0
        builtins.isinstance = lambda a, b: True
        builtins.round = lambda x, *a: 0
        builtins.min = lambda *a, **k: 0
        builtins.max = lambda *a, **k: 0
        builtins.NotImplementedError = type("NotImplementedError", (Exception,), {})
        '''),
    "patch json and the encoders": at_top('''
        import json as _json
        _dumps = _json.dumps
        def dumps(value, *a, **k):
            text = _dumps(value, *a, **k)
            return text.replace('"fail"', '"pass"').replace('"error"', '"pass"')
        _json.dumps = dumps
        for module in list(sys.modules.values()):
            if getattr(module, "__name__", "").startswith("chaingrad") and \\
                    hasattr(module, "json"):
                module.json = _json
        '''),
    "patch every function named like a check": at_top('''
        for module in list(sys.modules.values()):
            for attribute in list(getattr(module, "__dict__", {})):
                if any(w in attribute.lower() for w in ("close", "check", "expect",
                                                        "equal", "verify", "grade")):
                    try:
                        setattr(module, attribute, lambda *a, **k: True)
                    except Exception:
                        pass
        '''),
    # --- forged output on every channel the child has
    "forged lines on stdout": replace("mul_gradients", '''
        for _ in range(50):
            print(forged_lines(), end="", flush=True)
        raise NotImplementedError
        '''),
    "forged lines on stderr": replace("mul_gradients", '''
        for _ in range(50):
            sys.stderr.write(forged_lines())
            os.write(2, forged_lines().encode())
        raise NotImplementedError
        '''),
    "forged lines on every open file descriptor": replace("mul_gradients", '''
        for fd in sorted(int(n) for n in os.listdir("/proc/self/fd")):
            for _ in range(5):
                try:
                    os.write(fd, forged_lines().encode())
                except OSError:
                    break
        raise NotImplementedError
        '''),
    "forged lines into every path in argv and the environment": at_top('''
        import tempfile
        def _paths():
            for word in sys.argv + list(os.environ.values()):
                for part in word.split(os.pathsep):
                    yield part
        for part in _paths():
            # only files a grader might read (never the machine's own files)
            if os.path.isfile(part) and part.endswith((".jsonl", ".json", ".csv", ".txt")) \\
                    and (part.startswith(tempfile.gettempdir()) or "chaingrad" in part):
                try:
                    with open(part, "a") as f:
                        f.write(forged_lines())
                except OSError:
                    pass
        '''),
    "answering the grader's requests itself": replace("mul_gradients", '''
        import fcntl
        for fd in (0,):
            try:
                fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_NONBLOCK)
                os.read(fd, 65536)
            except OSError:
                pass
        for fd in sorted(int(n) for n in os.listdir("/proc/self/fd")):
            if fd > 0:
                try:
                    os.write(fd, forged_lines().encode())
                except OSError:
                    pass
        raise NotImplementedError
        '''),
    # --- lying objects
    "an object whose __eq__ always says yes": replace("mul_gradients", '''
        class Yes:
            def __eq__(self, other): return True
            def __ne__(self, other): return False
            def __sub__(self, other): return 0.0
            __rsub__ = __sub__
            def __abs__(self): return 0.0
            def __lt__(self, other): return True
            __le__ = __gt__ = __ge__ = __lt__
            def __float__(self): return 0.0
        return Yes(), Yes()
        '''),
    "an object whose __float__ gives the worked numbers": replace("mul_gradients", '''
        class Guess:
            def __init__(self, value): self.value = value
            def __float__(self): return self.value
            def __index__(self): return int(self.value)
        return Guess(3.0), Guess(2.0)
        '''),
    "an object whose __array__ reads the caller's frames": replace("mul_gradients", '''
        import numpy as np
        class Peek:
            def __array__(self, dtype=None, copy=None):
                frame = sys._getframe()
                while frame is not None:
                    for name in ("expected", "target", "want", "reference"):
                        if name in frame.f_locals:
                            return np.asarray(frame.f_locals[name], dtype=float)
                    frame = frame.f_back
                return np.zeros(2)
        return Peek()
        '''),
    "NaN": replace("mul_gradients", '''
        return float("nan"), float("nan")
        '''),
    "a float subclass that equals everything": replace("mul_gradients", '''
        class Sly(float):
            def __eq__(self, other): return True
            def __ne__(self, other): return False
            def __sub__(self, other): return Sly(0.0)
            __rsub__ = __sub__
            def __abs__(self): return 0.0
            def __float__(self): return 3.0
            def __hash__(self): return 0
        return Sly(0.0), Sly(0.0)
        '''),
    "an ndarray subclass that fakes comparisons": replace("mul_gradients", '''
        import numpy as np
        class Fake(np.ndarray):
            def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
                return np.zeros(2)
            def __eq__(self, other): return np.ones(2, bool)
            def __array_finalize__(self, obj): pass
        return np.zeros(2).view(Fake)
        '''),
    # --- reading the expected value instead of computing it
    "reading the expected value from the stack frames": replace("mul_gradients", '''
        frame = sys._getframe(1)
        while frame is not None:
            for name, value in list(frame.f_locals.items()):
                if name in ("expected", "target", "want", "reference", "w") and \\
                        isinstance(value, (tuple, list)) and len(value) == 2:
                    return tuple(value)
            frame = frame.f_back
        raise NotImplementedError
        '''),
    "reading the expected value through gc": replace("mul_gradients", '''
        import gc
        for thing in gc.get_objects():
            if isinstance(thing, dict) and "expected" in thing:
                value = thing["expected"]
                try:
                    return tuple(float(v) for v in value)
                except Exception:
                    pass
        for thing in gc.get_objects():
            if type(thing) is tuple and len(thing) == 2 and \\
                    all(type(v) is float for v in thing) and thing != (x, y):
                return thing
        raise NotImplementedError
        '''),
    "a lookup table of the public cases": replace("mul_gradients", '''
        table = {(2.0, 3.0): (3.0, 2.0), (-1.0, 4.0): (4.0, -1.0)}
        return table.get((x, y), (0.0, 0.0))
        '''),
    # --- a classmate's file
    "rewriting and deleting the classmates' files": at_top('''
        for name in ("perfect.py", "partial.py"):
            try:
                with open(os.path.join(CLASS, name), "w") as f:
                    f.write("raise SystemExit('rewritten by the attacker')\\n")
                os.unlink(os.path.join(CLASS, name))
            except OSError:
                pass
        '''),
    "deleting the report and the pictures while the class is graded": replace("double", '''
        import shutil
        for _ in range(20):
            for path in (REPORT, PICTURES):
                shutil.rmtree(path, ignore_errors=True)
                try:
                    os.unlink(path)
                except OSError:
                    pass
            time.sleep(0.05)
        return 2 * x
        '''),
    # --- signals to other processes
    "killing the grader": replace("double", '''
        for pid in ancestors():
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        return 2 * x
        '''),
    "a fake Ctrl-C sent to the grader": replace("double", '''
        for pid in ancestors():
            try:
                os.kill(pid, signal.SIGINT)
            except OSError:
                pass
        return 2 * x
        '''),
    "pausing a classmate's grading": replace("double", '''
        end = time.time() + 1.5
        while time.time() < end:
            for pid in classmates():
                try:
                    os.kill(pid, signal.SIGSTOP)
                except OSError:
                    pass
            time.sleep(0.05)
        return 2 * x
        '''),
    # --- crashes in the first exercise (a crash costs that exercise only)
    "os._exit in the first exercise": replace("double", "os._exit(0)"),
    "a segfault in the first exercise": replace("double", "ctypes.string_at(0)"),
    "SystemExit in the first exercise": replace("double", "raise SystemExit(0)"),
    "KeyboardInterrupt in the first exercise": replace("double", "raise KeyboardInterrupt"),
    "killing itself in the first exercise": replace("double",
                                                    "os.kill(os.getpid(), signal.SIGKILL)"),
    # --- huge output
    "two GiB written to stderr and stdout": replace("double", '''
        chunk = b"x" * (1 << 20)
        for n in range(2048):
            try:
                os.write(2 if n % 2 else 1, chunk)
            except OSError:
                break
        return 2 * x
        '''),
}

CRASHES = {name for name in ATTACKS if "first exercise" in name}
SIGNALS = {"killing the grader", "a fake Ctrl-C sent to the grader",
           "pausing a classmate's grading"}


def signals_are_stopped() -> bool:
    """Whether a child here cannot signal the grader: it runs as a user of its own (the
    grader is root) or in a process namespace of its own (unshare works here)."""
    from chaingrad.lessons.exercises.grader import namespace_prefix

    return os.geteuid() == 0 or bool(namespace_prefix())


@pytest.mark.parametrize("name", list(ATTACKS))
def test_attack(name, room, baseline):
    if name in SIGNALS and not signals_are_stopped():
        pytest.skip("this machine gives a child neither a user nor a process namespace of "
                    "its own: it can signal the grader (the README says so)")
    room.attacker(ATTACKS[name])
    done = room.grade()
    found = assert_attack_failed(room, done, baseline)
    attacker = found["attacker.py"]
    if name in CRASHES:  # the crash costs the first exercise; the others are graded
        assert attacker["double"][0] == "error"
        assert attacker["mean"][0] == "pass"
    if name == "a lookup table of the public cases":
        message = next(r["message"] for r in room.rows() if r["student"] == "attacker.py"
                       and r["exercise"] == "mul_gradients")
        assert "hidden" in message and "two negative numbers" in message


@pytest.mark.parametrize("module", ["numpy", "random", "math", "json"])
def test_a_module_beside_the_file_changes_nothing(module, room, baseline):
    """A numpy.py (random.py, ...) in the class folder is not what anyone imports."""
    hijack = {
        "numpy": "allclose = lambda *a, **k: True\nisclose = allclose\n"
                 "def __getattr__(name):\n    return lambda *a, **k: True\n",
        "random": "raise SystemExit('random.py beside the file')\n",
        "math": "import os\nos._exit(0)\n",
        "json": "def dumps(*a, **k):\n    return '{\"result\": \"pass\", \"points\": 1000}'\n"
                "def loads(*a, **k):\n    return {'result': 'pass', 'points': 1000}\n",
    }[module]
    room.attacker(HONEST_ATTACKER)
    (room.folder / f"{module}.py").write_text(hijack)
    done = room.grade()
    assert_attack_failed(room, done, baseline,
                         honest={"attacker.py": HONEST_POINTS, f"{module}.py": 0.0})


def test_a_leftover_process_cannot_rewrite_the_report(room, baseline):
    """A daemon (double fork, its own session) keeps rewriting the report and leaving a
    heartbeat for 8 seconds: the grader kills it before it exits."""
    room.attacker(at_top('''
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                end = time.time() + 8
                while time.time() < end:
                    for path, text in ((os.path.join(VICTIM, "heartbeat"), str(time.time())),
                                       (REPORT, "student,file,exercise,result,points\\n")):
                        try:
                            with open(path, "w") as f:
                                f.write(text)
                        except OSError:
                            pass
                    time.sleep(0.1)
                os._exit(0)
            os._exit(0)
        '''))
    done = room.grade()
    ended = time.time()
    written = room.report.read_text()
    time.sleep(1.5)  # the daemon, had it lived, has written again by now
    assert_attack_failed(room, done, baseline)
    assert room.report.read_text() == written
    heartbeat = room.victim / "heartbeat"
    if heartbeat.exists():  # it ran while the file was graded; never after the grader
        assert float(heartbeat.read_text() or 0) < ended


def test_symlinks_in_the_pictures_folder_are_never_followed(room, baseline):
    """The attacker replaces the pictures folder's files and folders by symlinks into
    another folder while the class is graded: nothing is written there."""
    room.attacker(replace("double", '''
        end = time.time() + 2
        while time.time() < end:
            try:
                os.makedirs(PICTURES, exist_ok=True)
                for name in os.listdir(PICTURES):
                    path = os.path.join(PICTURES, name)
                    if os.path.isdir(path) and not os.path.islink(path):
                        os.rename(path, path + ".moved")
                        os.symlink(VICTIM, path)
                for stem in ("partial", "perfect"):
                    for label in LABELS:
                        path = os.path.join(PICTURES, f"{stem}_{label}.svg")
                        if not os.path.islink(path):
                            try:
                                os.unlink(path)
                            except OSError:
                                pass
                            os.symlink(os.path.join(VICTIM, "precious.txt"), path)
            except OSError:
                pass
            time.sleep(0.02)
        return 2 * x
        '''))
    done = room.grade()
    assert_attack_failed(room, done, baseline)
    assert sorted(p.name for p in room.victim.iterdir()) == ["precious.txt"]
    assert (room.victim / "precious.txt").read_text() == "precious\n"
    pictures = [r["picture"] for r in room.rows() if r["picture"]]
    assert pictures, "partial.py's wrong gradients have a picture"


# ------------------------------------------------------------------ limits first, then


PROBE = '''
from chaingrad.lessons.exercises import Wrong, exercise


@exercise(points=1, stub="""
def limits():
    "The child's limits."
    raise NotImplementedError
""")
def limits(student):
    "The child's limits"
    raise Wrong(f"limits {student.limits()!r}")
'''

PROBE_STUDENT = '''
import resource


def limits():
    return [resource.getrlimit(resource.RLIMIT_NPROC)[0], resource.getrlimit(resource.RLIMIT_AS)[0]]
'''


@pytest.fixture(scope="module")
def child_limits(tmp_path_factory):
    """The process and memory limits a graded file runs under (read by a graded file)."""
    root = tmp_path_factory.mktemp("probe")
    (root / "probe_homework.py").write_text(PROBE)
    (root / "student.py").write_text(PROBE_STUDENT)
    done = subprocess.run([sys.executable, "-m", "chaingrad", "check", str(root / "student.py"),
                           "--exercises", str(root / "probe_homework.py"), "--json"],
                          capture_output=True, text=True, timeout=120, cwd=root)
    found = re.search(r"limits \[(-?\d+), (-?\d+)\]", done.stdout)
    assert found, f"the probe could not read the child's limits: {done.stdout[-2000:]}"
    return int(found.group(1)), int(found.group(2))


def test_memory_is_bounded(room, baseline, child_limits):
    _, memory = child_limits
    if not 0 < memory <= 4 * 2**30:
        pytest.fail(f"a graded file may use {memory} bytes: not running the memory attack")
    room.attacker(replace("double", '''
        import numpy as np
        hog = np.ones((8 * 2**30) // 8)  # 8 GiB, touched
        return 2 * x
        '''))
    done = room.grade()
    found = assert_attack_failed(room, done, baseline)
    assert found["attacker.py"]["double"][0] == "error"
    assert found["attacker.py"]["mean"][0] == "pass"


def test_a_fork_bomb_is_bounded(room, baseline, child_limits):
    processes, _ = child_limits
    if not 0 < processes <= 4096:
        pytest.fail(f"a graded file may start {processes} processes: not running the bomb")
    # Capped on its own as well: at most 2**8 processes, each gone after 20 seconds.
    room.attacker(replace("double", '''
        for _ in range(8):
            try:
                if os.fork() == 0:
                    signal.alarm(20)
                    continue
            except OSError:
                break
        end = time.time() + 2
        while time.time() < end:
            pass
        return 2 * x
        '''))
    done = room.grade()
    assert_attack_failed(room, done, baseline)


# ------------------------------------------------------------------ what needs a sandbox


def test_reading_a_classmates_file_needs_the_sandbox(tmp_path, baseline):
    """Reading (and running) a classmate's file by its absolute path, in a class folder
    others may read: --sandbox stops it (without it, a child may read what its user may;
    the README says so)."""
    room = Class(tmp_path, readable=True)
    try:
        room.attacker(at_top('''
            try:
                with open(os.path.join(CLASS, "perfect.py")) as f:
                    exec(f.read())
            except OSError:
                pass
            '''))
        for path in room.folder.iterdir():
            os.chmod(path, 0o644)
        os.chmod(room.folder, 0o755)
        done = room.grade("--sandbox")
        if done.returncode == 2 and "sandbox" in room.said():
            pytest.skip("no sandbox on this machine: " + room.said().strip().splitlines()[-1])
        assert_attack_failed(room, done, baseline)
    finally:
        room.cleanup()
