"""The grader: run each exercise's check on a student's file and say what happened.

A grade is decided only in this process, where no student code runs. Each submission
runs in a child process of its own (:mod:`.child`): a private temporary folder holding a
copy of the file only, isolated Python (nothing beside the file is importable), a
scrubbed environment, its own session, memory / CPU / file-size / process limits, and an
unprivileged user of its own when the grader runs as root. The checks run here: each
``student.f(x)`` in a check is a request to the child, which calls the student's code on
the inputs the check chose and answers with plain data (:mod:`.wire`; never pickle). The
check compares that data with its own reference; the points come from this process's own
list of exercises.

Time is CPU time, measured here from the child's /proc entry: one budget for the file's
top-level code, one per exercise (``--timeout`` × the exercise's cost). A crash, a kill or
an exit in exercise k fails k with a sentence; the next exercise gets a fresh child.
"""

from __future__ import annotations

import ast
import contextlib
import ctypes
import importlib
import importlib.util
import json
import os
import random
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import zlib
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import api
from .api import ASSIGNMENTS, Assignment, ChildGone, Exercise, StudentError, Wrong
from .wire import MAX_LINE, BadMessage, Remote, decode, dumps, encode_array, loads

BUILTIN = ("assignment1", "assignment2", "assignment3", "assignment4", "assignment5",
           "assignment6")
DEFAULT_TIMEOUT = 3.0  # CPU seconds per exercise (times the exercise's cost)
LOAD_SECONDS = 5.0  # CPU seconds for a file's top-level code (or --timeout if larger)
STARTUP_SECONDS = 60.0  # wall seconds for the child to start (Python, numpy, chaingrad)
GRACE_SECONDS = 0.5  # CPU seconds past a budget before the child is killed
MEMORY_BYTES = 2 * 2**30
FILE_BYTES = 16 * 2**20
PROCESSES = 32  # processes (and threads) a child may start
DROP_USER = True  # as root, run each child as a fresh unprivileged user (tests turn it off)
STDERR_KEPT = 8192  # bytes of a child's stderr kept (the end of it)
ASSIGNMENT_LINE = re.compile(r"""^ASSIGNMENT\s*=\s*['"]?(\w+)""", re.MULTILINE)


@dataclass
class Result:
    """One exercise of one file: pass, fail or error, with points and a sentence."""

    file: str
    exercise: str
    result: str  # "pass", "fail" or "error"
    points: float
    max_points: float
    message: str = ""
    picture: str = ""
    output: str = ""  # what the student's code printed during the check (the start of it)
    hidden: str = ""  # the kind of hidden case that failed ("" when none did)
    hidden_cases: int = 0  # how many hidden cases the exercise checked
    seed: int = 0  # the run's seed (--seed re-grades exactly)


# ------------------------------------------------------------------ which exercises


def builtin_assignments() -> dict[str, Assignment]:
    """The course's assignments (imported on first use)."""
    keys = []
    for name in BUILTIN:
        if importlib.util.find_spec(f"{__package__}.{name}") is not None:
            importlib.import_module(f"{__package__}.{name}")
            keys.append(name.removeprefix("assignment"))
    return {key: ASSIGNMENTS[key] for key in keys if key in ASSIGNMENTS}


_loaded: dict[Path, dict[str, Assignment]] = {}
_loading = threading.Lock()


def load_exercise_file(path: str | os.PathLike) -> dict[str, Assignment]:
    """Import an instructor's file of @exercise definitions (once); return its assignments."""
    path = Path(path).resolve()
    with _loading:
        if path not in _loaded:
            _loaded[path] = _import_exercises(path)
        return _loaded[path]


def _import_exercises(path: Path) -> dict[str, Assignment]:
    before = {key: len(a.exercises) for key, a in ASSIGNMENTS.items()}
    spec = importlib.util.spec_from_file_location(f"exercises_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise ValueError(f"cannot load exercises from {str(path)!r}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    api._current["key"] = path.stem  # exercises without an assignment= belong to the file
    try:
        spec.loader.exec_module(module)
    except SyntaxError as error:
        raise ValueError(f"{str(path)!r}, line {error.lineno}: {error.msg}") from None
    except Exception as error:
        line = next((f", line {frame.lineno}" for frame in reversed(
            traceback.extract_tb(error.__traceback__)) if Path(frame.filename) == path), "")
        raise ValueError(f"{str(path)!r}{line}: {type(error).__name__}: {error}") from None
    finally:
        api._current.pop("key", None)
    made = {key: a for key, a in ASSIGNMENTS.items() if len(a.exercises) > before.get(key, 0)}
    if not made:
        raise ValueError(f"{str(path)!r} defines no exercises (use the @exercise decorator)")
    for a in made.values():
        a.source = a.source or path.name
    return made


def _tree(text: str | None) -> ast.Module | None:
    if text is None:
        return None
    try:
        return ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def declared_assignment(path: str | os.PathLike | None = None,
                        text: str | None = None) -> str | None:
    """The ``ASSIGNMENT = ...`` a stub file declares, read without running the file."""
    if text is None:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, ValueError):
            return None
    tree = _tree(text)
    for node in getattr(tree, "body", []):
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and getattr(node.targets[0], "id", None) == "ASSIGNMENT"
                and isinstance(node.value, ast.Constant)):
            return str(node.value.value)
    if tree is None:  # Python cannot read the file: look for the line itself
        found = ASSIGNMENT_LINE.search(text)
        return found.group(1) if found else None
    return None


def defined_names(text: str) -> set[str]:
    """The names a file defines at its top level (read, not run)."""
    names: set[str] = set()
    for node in getattr(_tree(text), "body", []):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names


def choose_assignment(path: str | os.PathLike | None, assignments: dict[str, Assignment],
                      text: str | None = None) -> Assignment | None:
    """The assignment a file answers: its ASSIGNMENT line, else the one whose names it
    defines, else the only one there is."""
    key = declared_assignment(path, text)
    if key in assignments:
        return assignments[key]
    if len(assignments) == 1:
        return next(iter(assignments.values()))
    if text is not None:
        names = defined_names(text)
        overlap = {k: sum(e.name in names for e in a.exercises) for k, a in assignments.items()}
        best = max(overlap, key=overlap.get)
        if overlap[best]:
            return assignments[best]
    return None


# --------------------------------------------------- what the source says (never run)


CHAINGRAD_ROOTS = ("chaingrad",)
SAFE_ROOTS = ("np", "numpy", "math", "self", "cls", "random")


def _definition(tree: ast.Module, name: str) -> list[ast.AST]:
    """The top-level definition of ``name`` and the top-level functions and classes it
    uses, by name, transitively (the helpers an answer calls)."""
    defs = {n.name: n for n in tree.body
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    found, todo = [], [name]
    while todo:
        current = todo.pop()
        node = defs.pop(current, None)
        if node is None:
            continue
        found.append(node)
        todo += [n.id for n in ast.walk(node) if isinstance(n, ast.Name) and n.id in defs]
    return found


def refusal(text: str, exercise: Exercise) -> str | None:
    """Why the source of an answer breaks the exercise's rules (None when it does not)."""
    if not (exercise.by_hand or exercise.forbid):
        return None
    tree = _tree(text)
    if tree is None:
        return None
    nodes = [n for d in _definition(tree, exercise.name) for n in ast.walk(d)]
    if exercise.by_hand:
        for node in nodes:
            if isinstance(node, ast.Attribute) and node.attr in ("backward", "backward_steps"):
                return (f"refused: your {exercise.name} calls backward() (line {node.lineno}); "
                        "this exercise asks for the gradient by hand, with the chain rule.")
    if not exercise.forbid:
        return None
    from_chaingrad = {(a.asname or a.name) for n in ast.walk(tree)
                      if isinstance(n, ast.ImportFrom) and (n.module or "").startswith("chaingrad")
                      for a in n.names}
    from_chaingrad |= {(a.asname or a.name).split(".")[0] for n in ast.walk(tree)
                       if isinstance(n, ast.Import) for a in n.names
                       if a.name.startswith("chaingrad")}
    forbidden = set(exercise.forbid)
    if any(isinstance(n, (ast.Import, ast.ImportFrom)) and any(
            a.name == "gc" for a in n.names) or getattr(n, "module", None) == "gc"
           for n in ast.walk(tree)):
        return (f"refused: your file imports gc, which can reach chaingrad's own "
                f"{', '.join(sorted(forbidden))}; {exercise.name} must be your own code.")
    for node in nodes:
        used = None
        if isinstance(node, ast.Name) and node.id in forbidden & from_chaingrad:
            used = node.id
        elif isinstance(node, ast.Attribute) and (node.attr in forbidden or
                                                  node.attr == "registry"):
            root = node.value
            while isinstance(root, ast.Attribute):
                root = root.value
            if not (isinstance(root, ast.Name) and root.id in SAFE_ROOTS):
                used = node.attr
        if used:
            return (f"refused: your {exercise.name} uses chaingrad's own {used} (line "
                    f"{node.lineno}); the exercise asks you to write it yourself.")
    return None


# ------------------------------------------------------------- the child, from here


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


_sandbox_checked: dict[str, Any] = {}


def sandbox_prefix() -> list[str]:
    """The command that wraps a child in a sandbox (bubblewrap, else unshare), or a
    ValueError saying why there is none on this machine."""
    if "sandbox" not in _sandbox_checked:
        _sandbox_checked["sandbox"] = _find_sandbox(network=False)
    prefix = _sandbox_checked["sandbox"]
    if isinstance(prefix, str):
        raise ValueError(prefix)
    return prefix


def namespace_prefix() -> list[str]:
    """Without root (no user of its own for the child), a child still gets its own process
    space when the system allows it: it cannot see, signal or pause the grader or its
    classmates, and everything it starts dies with it. [] where that is not possible."""
    if "namespace" not in _sandbox_checked:
        found = _find_sandbox(network=True, bubblewrap=False)
        _sandbox_checked["namespace"] = found if isinstance(found, list) else []
    return _sandbox_checked["namespace"]


def _find_sandbox(network: bool, bubblewrap: bool = True) -> list[str] | str:
    candidates = []
    if bubblewrap and shutil.which("bwrap"):
        candidates.append(["bwrap", "--unshare-all", "--die-with-parent", "--ro-bind", "/",
                           "/", "--dev", "/dev", "--proc", "/proc", "--bind", "{folder}",
                           "{folder}", "--chdir", "{folder}", "--"])
    if shutil.which("unshare"):
        user = [] if _is_root() else ["--user", "--map-root-user"]
        net = [] if network else ["--net"]
        candidates.append(["unshare", *user, "--pid", "--fork", *net, "--mount-proc",
                           "--kill-child", "--"])
    for prefix in candidates:
        test = [p.replace("{folder}", tempfile.gettempdir()) for p in prefix] + ["true"]
        try:
            if subprocess.run(test, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, timeout=20).returncode == 0:
                return prefix
        except (OSError, subprocess.SubprocessError):
            continue
    return ("--sandbox needs bubblewrap (bwrap) or unshare with namespaces, and neither "
            "works on this machine; grade without --sandbox, or in a container")


_live: set[int] = set()  # the pids of children running now (for the orphan sweep)
_sessions: set = set()  # the sessions running now (Ctrl-C kills them all)
_live_lock = threading.Lock()


def _become_subreaper() -> None:
    """Orphans of our children become ours (Linux), so a daemonised leftover is found."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER


def _our_children() -> set[int]:
    found: set[int] = set()
    try:
        for task in os.listdir(f"/proc/{os.getpid()}/task"):
            with open(f"/proc/{os.getpid()}/task/{task}/children") as f:
                found.update(int(p) for p in f.read().split())
    except OSError:
        pass
    return found


def _processes_of(uid: int) -> list[int]:
    pids = []
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else []:
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/status") as f:
                    for line in f:
                        if line.startswith("Uid:"):
                            if int(line.split()[1]) == uid:
                                pids.append(int(entry))
                            break
            except (OSError, ValueError):
                continue
    return pids


def _count_processes(uid: int) -> int:
    return len(_processes_of(uid))


TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system, with reaped children) of a process, from /proc."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return sum(int(x) for x in fields[11:15]) / TICKS


BOOT = ("import sys; sys.path.append({root!r}); "
        "from chaingrad.lessons.exercises.child import main; main()")


class Session:
    """One child process running one submission, and the pipe to it."""

    def __init__(self, text: str, name: str, config: dict, sandbox: bool) -> None:
        self.folder = tempfile.mkdtemp(prefix="chaingrad-check-")
        self.uid = None
        self.sandbox = sandbox
        self.stderr = bytearray()
        self.buffer = b""
        self.cpu_end = float("inf")
        self.wall_end = float("inf")
        self.budget = 0.0
        self.printed: list[str] = []
        self.backward_calls = 0
        self.readonly = False
        self.killed_for: str | None = None
        self.python_pid: int | None = None
        path = Path(self.folder) / name
        path.write_text(text, encoding="utf-8")
        if _is_root() and DROP_USER:
            self.uid = random.randrange(2_000_000, 3_000_000)
            try:
                for p in (self.folder, path):
                    os.chown(p, self.uid, self.uid)
            except OSError:  # "root" in a user namespace: no other user to become
                self.uid = None
        os.chmod(self.folder, 0o700)
        processes = PROCESSES if self.uid is not None else \
            _count_processes(os.getuid()) + PROCESSES
        child_config = {"file": str(path), "memory": MEMORY_BYTES, "cpu": config["cpu"],
                        "file_size": FILE_BYTES, "processes": processes, "uid": self.uid}
        root = str(Path(__file__).resolve().parents[2])
        command = [sys.executable, "-I", "-X", "utf8", "-c", BOOT.format(root=root),
                   json.dumps(child_config)]
        prefix = sandbox_prefix() if sandbox else [] if self.uid is not None else \
            namespace_prefix()
        self.wrapped = bool(prefix)
        command = [p.replace("{folder}", self.folder) for p in prefix] + command
        env = {"PATH": "/usr/bin:/bin", "HOME": self.folder, "TMPDIR": self.folder,
               "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "OMP_NUM_THREADS": "1",
               "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
        _become_subreaper()
        with _live_lock:  # (the orphan sweep must never see this child before it is live)
            self.process = subprocess.Popen(
                command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                cwd=self.folder, env=env, start_new_session=True)
            _live.add(self.process.pid)
            _sessions.add(self)
        self.reader = threading.Thread(target=self._read_stderr, daemon=True)
        self.reader.start()
        self.wall_end = time.monotonic() + STARTUP_SECONDS
        self.cpu_end = float("inf")
        self._receive()  # {"ready": true}
        self.python_pid = self._find_python()

    def _find_python(self) -> int:
        """The pid whose CPU we measure: the child, or the one inside the sandbox."""
        pid = self.process.pid
        for _ in range(3):
            if not self.wrapped:
                return pid
            try:
                with open(f"/proc/{pid}/task/{pid}/children") as f:
                    inner = [int(p) for p in f.read().split()]
            except OSError:
                return pid
            if not inner:
                return pid
            pid = inner[0]
            if os.path.basename(os.readlink(f"/proc/{pid}/exe")).startswith("python"):
                return pid
        return pid

    def _read_stderr(self) -> None:
        """Read all of stderr, keep its end: a child writing gigabytes costs a few kB."""
        stream = self.process.stderr
        while True:
            chunk = stream.read1(65536) if hasattr(stream, "read1") else stream.read(65536)
            if not chunk:
                return
            self.stderr += chunk
            if len(self.stderr) > STDERR_KEPT:
                del self.stderr[:-STDERR_KEPT]

    def cpu(self) -> float:
        value = _cpu_seconds(self.python_pid or self.process.pid)
        return value if value is not None else 0.0

    def begin(self, budget: float, wall: float) -> None:
        """Start a budget: ``budget`` CPU seconds from now, and a wall-clock cap."""
        self.budget = budget
        self.cpu_end = self.cpu() + budget
        self.wall_end = min(time.monotonic() + wall, self.file_wall_end)
        self.printed, self.backward_calls = [], 0

    file_wall_end = float("inf")

    # -- the pipe
    def _send(self, message: dict) -> None:
        try:
            self.process.stdin.write(dumps(message))
            self.process.stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            raise ChildGone(self._why_gone()) from None

    def _receive(self) -> dict:
        fd = self.process.stdout.fileno()
        while b"\n" not in self.buffer:
            ready, _, _ = select.select([fd], [], [], 0.05)
            if ready:
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    self.process.wait()
                    raise ChildGone(self._why_gone())
                self.buffer += chunk
                if len(self.buffer) > MAX_LINE:
                    self.kill("size")
                    raise ChildGone(self._why_gone())
            elif self.cpu() > self.cpu_end + GRACE_SECONDS:
                self.kill("cpu")
                raise ChildGone(self._why_gone())
            elif time.monotonic() > self.wall_end:
                self.kill("wall")
                raise ChildGone(self._why_gone())
        line, self.buffer = self.buffer.split(b"\n", 1)
        try:
            return loads(line)
        except BadMessage as error:
            self.kill("garbled")
            raise ChildGone(f"the process running your code answered something that is not "
                            f"an answer ({error}); it was stopped.") from None

    def request(self, message: dict) -> Any:
        """Send a request, wait for the answer (within the budgets), decode it as data."""
        remaining = self.cpu_end - self.cpu()
        if remaining <= 0:
            self.kill("cpu")
            raise ChildGone(self._why_gone())
        message["cpu"] = remaining if remaining != float("inf") else 0
        self._send(message)
        answer = self._receive()
        printed = answer.get("printed")
        if isinstance(printed, str) and sum(map(len, self.printed)) < 2000:
            self.printed.append(printed[:2000])
        if isinstance(answer.get("backward"), int):
            self.backward_calls += answer["backward"]
        if "raised" in answer:
            raise StudentError(_clean_details(answer["raised"]))
        if "ok" not in answer:
            self.kill("garbled")
            raise ChildGone("the process running your code gave an answer without a value; "
                            "it was stopped.")
        try:
            return decode(answer["ok"], self)
        except BadMessage as error:
            raise Wrong(f"your code returned something the grader cannot use ({error}).") \
                from None

    # -- what the checks call (through Remote and Student)
    def call(self, handle: int | None, path: tuple, args: tuple, kwargs: dict) -> Any:
        readonly = self.readonly
        return self.request({"op": "call", "target": handle, "path": list(path),
                             "args": [_encode(a) for a in args], "readonly": readonly,
                             "kwargs": {str(k): _encode(v) for k, v in kwargs.items()}})

    def get(self, handle: int | None, path: tuple) -> Any:
        return self.request({"op": "get", "target": handle, "path": list(path)})

    def attribute(self, handle: int | None, path: tuple, type_name: str) -> Any:
        """A callable stays a Remote; anything else comes back as data."""
        info = self.request({"op": "describe", "target": handle, "path": list(path)})
        if not isinstance(info, dict) or info.get("kind") == "missing":
            raise AttributeError(path[-1])
        if info.get("kind") in ("class", "function"):
            return Remote(self, handle, type_name, path)
        return self.get(handle, path)

    # -- the end
    def _why_gone(self) -> str:
        reason = self.killed_for
        if reason == "cpu":
            return (f"stopped after {self.budget:g} s of CPU time: the code did not finish (an "
                    "endless loop, or too slow: if it is right but slow, try --timeout "
                    f"{max(10, 3 * self.budget):g}).")
        if reason == "wall":
            return ("stopped: it ran too long by the clock without using the CPU (waiting or "
                    "sleeping?), or the file used up its overall time.")
        if reason == "size":
            return f"stopped: it sent more than {MAX_LINE >> 20} MB in one answer."
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=2)
        code = self.process.returncode
        tail = bytes(self.stderr).decode("utf-8", "replace").strip().splitlines()
        last = f" (its last words: {tail[-1][:200]})" if tail else ""
        if code is not None and code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            why = {"SIGSEGV": "a crash (segmentation fault)", "SIGKILL": "it was killed "
                   "(out of memory, or by another process)", "SIGXCPU": "it used up the "
                   "whole file's CPU time", "SIGXFSZ": "it wrote a file larger than "
                   f"{FILE_BYTES >> 20} MB", "SIGABRT": "it aborted"}.get(name, name)
            return f"the process running your code ended by {name}: {why}.{last}"
        return (f"your code ended the process that ran it (exit code {code}: os._exit, or a "
                f"crash) before it answered.{last}")

    def kill(self, reason: str | None = None) -> None:
        if reason and self.killed_for is None:
            self.killed_for = reason
        with contextlib.suppress(OSError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            self.process.kill()

    def close(self) -> None:
        """End the child and every process it left (by session, user and orphanhood)."""
        if self.process.poll() is None:
            self.kill()
        self.process.wait()
        if self.uid is not None:
            for _ in range(5):
                leftovers = _processes_of(self.uid)
                if not leftovers:
                    break
                for pid in leftovers:
                    with contextlib.suppress(OSError):
                        os.kill(pid, signal.SIGKILL)
                time.sleep(0.01)
        with _live_lock:
            _live.discard(self.process.pid)
            _sessions.discard(self)
            orphans = _our_children() - _live
        for pid in orphans:  # adopted leftovers (we are their subreaper)
            if _cmdline_has(pid, "chaingrad.lessons.exercises.child"):
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
                with contextlib.suppress(OSError):
                    os.waitpid(pid, os.WNOHANG)
        for stream in (self.process.stdin, self.process.stdout):
            with contextlib.suppress(OSError):
                stream.close()
        self.reader.join(timeout=2)
        shutil.rmtree(self.folder, ignore_errors=True)


def _cmdline_has(pid: int, text: str) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return text.encode() in f.read()
    except OSError:
        return False


def _clean_details(raw: Any) -> dict:
    """The child's description of an exception, as bounded plain data."""
    raw = raw if isinstance(raw, dict) else {}
    frames = []
    for frame in raw.get("frames", [])[:8] if isinstance(raw.get("frames"), list) else []:
        if isinstance(frame, list) and len(frame) == 2 and isinstance(frame[0], int):
            frames.append((frame[0], str(frame[1])[:80]))
    return {"type": str(raw.get("type", "Exception"))[:80],
            "message": str(raw.get("message", ""))[:500], "frames": frames,
            "not_implemented": raw.get("not_implemented") is True,
            "time_limit": raw.get("time_limit") is True, "readonly": raw.get("readonly") is True}


def _encode(value: Any) -> Any:
    """A check's argument as wire data (a Remote goes back as its handle)."""
    if isinstance(value, Remote):
        if value._path:
            raise TypeError("pass a student's object, not one of its methods")
        return {"$handle": value._handle}
    if isinstance(value, Build):
        return {"$build": value.kind, **{k: _encode(v) for k, v in value.fields.items()}}
    if isinstance(value, np.ndarray):
        return encode_array(value)
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list,)):
        return [_encode(v) for v in value]
    if isinstance(value, tuple):
        return {"$tuple": [_encode(v) for v in value]}
    if isinstance(value, dict):
        return {"$dict": [[_encode(k), _encode(v)] for k, v in value.items()]}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"a check cannot send a {type(value).__name__} to the student's code")


class Build:
    """An object the child builds from a description (a Tensor, a loss, a model)."""

    def __init__(self, kind: str, **fields: Any) -> None:
        self.kind, self.fields = kind, fields


class Student:
    """What a check calls: ``student.f(x)`` runs the student's ``f`` in the child."""

    def __init__(self, session: Session, names: dict) -> None:
        self._session = session
        self._names = names

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return self._session.attribute(None, (name,), "module")

    def defines(self, name: str) -> bool:
        """Whether the student's file defines ``name`` (after running its top level)."""
        return name in self._names

    def describe(self, name: str) -> dict:
        """{"kind": "class" | "function" | "other" | "missing", "type", "bases"}."""
        info = self._session.request({"op": "describe", "target": None, "path": [name]})
        return info if isinstance(info, dict) else {"kind": "other"}

    def build_tensor(self, data: Any, requires_grad: bool = False) -> Build:
        """A chaingrad Tensor of ``data``, built in the child when passed."""
        return Build("tensor", data=np.asarray(data, dtype=float), requires_grad=requires_grad)

    def build_loss(self, name: str) -> Build:
        """chaingrad's loss ``nn.losses.<name>``, built in the child when passed."""
        return Build("loss", name=name)

    def build_model(self, n_in: int, sizes: list, weights: list, grads: list | None = None,
                    activation: str = "tanh") -> Remote:
        """An nn.MLP with exactly these weights (and gradients), made in the child: pass it
        to the student's code, then read ``weights_of`` it."""
        spec = Build("model", n_in=n_in, sizes=list(sizes), activation=activation,
                     weights=[np.asarray(w, dtype=float) for w in weights],
                     grads=None if grads is None else [np.asarray(g, dtype=float)
                                                       for g in grads])
        return self._session.request({"op": "build", "spec": _encode(spec)})

    def run(self, function: Callable, *args: Any, **kwargs: Any) -> Any:
        """``function(student_module, *args, **kwargs)`` run in the child: a function of the
        course's own modules (``chaingrad.lessons.exercises.*``) that works on the student's
        objects there (builds their graphs, calls their backward) and returns plain data."""
        module, name = getattr(function, "__module__", ""), getattr(function, "__qualname__", "")
        if not module.startswith(f"{__package__}.") or "<" in name:
            raise TypeError(f"student.run: {module}.{name} is not a module-level function of "
                            f"{__package__}")
        return self._session.request({
            "op": "run", "function": f"{module}:{name}", "readonly": self._session.readonly,
            "args": [_encode(a) for a in args],
            "kwargs": {str(k): _encode(v) for k, v in kwargs.items()}})

    def seed(self, seed: int) -> None:
        """Seed chaingrad's random numbers in the child (nn.manual_seed)."""
        self._session.request({"op": "seed", "seed": int(seed)})

    def weights_of(self, model: Remote) -> list:
        """The model's parameters (as arrays), read in the child."""
        return self._session.request({"op": "weights", "target": model._handle})

    def layers_of(self, model: Remote) -> list:
        """The model's layers as data, for :func:`api.rebuild_model`."""
        if not isinstance(model, Remote) or model._path:
            raise Wrong(f"your code returned {model!r}; expected a model.")
        return self._session.request({"op": "layers", "target": model._handle})


# ------------------------------------------------------------------ the sentences


def _where(frames: list) -> str:
    if not frames:
        return ""
    line, name = frames[-1]
    place = "top level" if name == "<module>" else f"in {name}"
    text = f" at line {line} of your file ({place})"
    outer = [f"{n} (line {ln})" for ln, n in frames[:-1] if n != "<module>"]
    if outer:
        text += f", called from {' ← '.join(reversed(outer))}"
    return text


def explain(details: dict, limit: float, hidden: str | None = None) -> tuple[str, str]:
    """(result, sentence) for an exception the student's code raised in a check."""
    frames = details["frames"]
    where = _where(frames)
    if details["time_limit"]:
        return "error", (f"stopped after {limit:g} s of CPU time{where}: the code did "
                         "not finish (an endless loop, or too slow: if it is right but slow, "
                         f"try --timeout {max(10, 3 * limit):g}).")
    if details["not_implemented"] and frames:
        line, name = frames[-1]
        return "fail", (f"not written yet: {name} still raises NotImplementedError (line "
                        f"{line}); its docstring has the formula and a worked number.")
    if details["readonly"]:
        return "fail", (f"your code changed an input array in place{where}; this exercise "
                        "says not to: compute a new array (w - lr * grad) instead of w -= ...")
    if hidden:
        return "error", f"your code raised {details['type']} on a hidden case ({hidden}){where}."
    kind = details["type"]
    if kind == "SystemExit":
        return "error", f"your code called exit(){where}; return a value instead."
    if kind == "KeyboardInterrupt":
        return "error", f"your code raised KeyboardInterrupt{where}."
    if kind == "MemoryError":
        return "error", (f"your code ran out of memory{where} (the limit is "
                         f"{MEMORY_BYTES >> 30} GB).")
    what = f"{kind}: {details['message']}".rstrip(": ")
    return "error", f"your code raised {what}{where}."


def _hidden_sentence(wrong: Wrong, kind: str) -> str:
    text = (f"wrong on a hidden case ({kind}); the grader does not show its numbers, and the "
            "public cases above it pass.")
    if wrong.formula:
        text += f" Expected {wrong.formula}."
    if wrong.hint:
        text += f" {wrong.hint}"
    return text


def _draw(graph: Any, pictures: Path, stem: str, exercise: Exercise,
          edge_labels: bool | None, marks: Any = None) -> str:
    """Draw the graph with the student's gradients, wrong ones marked; "" if it can't.

    The picture is written to a fresh temporary name and renamed into place: a symlink
    planted at the picture's name is replaced, never followed."""
    try:
        from chaingrad import viz

        pictures.mkdir(parents=True, exist_ok=True)
        target = pictures / f"{stem}_{exercise.label().replace(' ', '_')}.svg"
        handle, temporary = tempfile.mkstemp(suffix=".svg", dir=pictures, prefix=".drawing-")
        os.close(handle)
        try:
            viz.draw(graph, temporary, check=True if marks is None else marks,
                     edge_labels=edge_labels)
            os.replace(temporary, target)
        finally:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
        return str(target)
    except Exception as error:  # a picture is a bonus: never lose the verdict over it
        return f"(no picture: {type(error).__name__}: {error})"


# ------------------------------------------------------------------ grading a file


def read_source(path: str | os.PathLike) -> tuple[str | None, str]:
    """(the file's text, "") or (None, a sentence saying why it cannot be read)."""
    try:
        raw = Path(path).read_bytes()
    except OSError as error:
        return None, f"the grader cannot read your file ({error.strerror})."
    return decode_source(raw)


def decode_source(raw: bytes) -> tuple[str | None, str]:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in raw[:4096]:
        return None, ("your file is not UTF-8 text (it looks like UTF-16): save it as UTF-8 "
                      "(in most editors: Save with encoding, UTF-8).")
    try:
        return raw.decode("utf-8-sig"), ""
    except UnicodeDecodeError as error:
        line = raw[:error.start].count(b"\n") + 1
        return None, (f"your file is not UTF-8 text (line {line} has a byte UTF-8 cannot "
                      "read): save it as UTF-8.")


def _syntax_problem(text: str) -> str | None:
    try:
        compile(text, "your file", "exec", dont_inherit=True)
    except SyntaxError as error:
        where = f"line {error.lineno}" if error.lineno else "your file"
        return f"Python cannot read {where}: {error.msg}."
    except (ValueError, RecursionError, MemoryError) as error:
        return f"Python cannot read your file: {error}."
    return None


def wall_cap(assignment: Assignment | None, timeout: float) -> float:
    """The overall wall-clock seconds one file may take."""
    total = max(LOAD_SECONDS, timeout) + sum(timeout * e.cost for e in
                                             (assignment.exercises if assignment else []))
    return 4 * total + 30


def new_seed() -> int:
    return random.SystemRandom().randrange(2**31)


def grade_source(text: str | None, shown: str, assignments: dict[str, Assignment],
                 timeout: float = DEFAULT_TIMEOUT, pictures: str | os.PathLike | None = None,
                 seed: int | None = None, sandbox: bool = False,
                 report: Callable[[Result], None] = lambda r: None,
                 unreadable: str = "", picture_stem: str | None = None,
                 skip: Iterable[str] = (), stop: threading.Event | None = None
                 ) -> list[Result]:
    """Grade one submission's text (``shown`` is its name in the results)."""
    seed = new_seed() if seed is None else int(seed)
    skip = set(skip)
    assignment = choose_assignment(shown, assignments, text) if text is not None else \
        (next(iter(assignments.values())) if len(assignments) == 1 else None)
    results: list[Result] = []

    def emit(result: Result) -> None:
        result.seed = seed
        results.append(result)
        report(result)

    problem = unreadable or (_syntax_problem(text) if text is not None else "")
    if assignment is None:
        names = ", ".join(sorted(assignments))
        emit(Result(shown, "(file)", "error", 0.0, 0.0, problem or (
            f"cannot tell which assignment this file answers ({names}): add a line such as "
            "ASSIGNMENT = 1, as the stub file has")))
        return results
    todo = [e for e in assignment.exercises if e.label() not in skip]
    if problem:
        message = problem if unreadable else f"your file could not be loaded: {problem}"
        for e in todo:
            emit(Result(shown, e.label(), "error", 0.0, e.points, message))
        return results
    name = re.sub(r"[^\w.-]", "_", Path(shown).name) or "submission.py"
    name = name if name.endswith(".py") else name + ".py"
    stem = picture_stem or Path(shown).stem
    file_wall_end = time.monotonic() + wall_cap(assignment, timeout)
    load_budget = max(LOAD_SECONDS, timeout)
    backstop = int(load_budget + sum(timeout * e.cost for e in todo) + 10)
    session: Session | None = None
    names: dict = {}
    try:
        for index, e in enumerate(todo):
            if stop is not None and stop.is_set():
                break
            if time.monotonic() > file_wall_end:
                for rest in todo[index:]:
                    emit(Result(shown, rest.label(), "error", 0.0, rest.points,
                                "not graded: the file used up the grader's time for one file."))
                break
            if session is None:
                try:
                    session = Session(text, name, {"cpu": backstop}, sandbox)
                    session.file_wall_end = file_wall_end
                    session.begin(load_budget, 20 * load_budget + 10)
                    names = session.request({"op": "load"})
                    names = names if isinstance(names, dict) else {}
                except (StudentError, ChildGone, Wrong) as error:
                    message = _load_failure(error, load_budget)
                    for rest in todo[index:]:
                        emit(Result(shown, rest.label(), "error", 0.0, rest.points, message))
                    break
            result = _grade_one(e, session, names, text, shown, timeout, pictures, stem, seed)
            emit(result)
            if session.process.poll() is not None or session.killed_for:
                session.close()
                session = None
    finally:
        if session is not None:
            session.close()
    return results


def _load_failure(error: BaseException, budget: float) -> str:
    if isinstance(error, StudentError):
        details = error.details
        if details["time_limit"]:
            why = (f"its top-level code used more than {budget:g} s of CPU time (an endless "
                   "loop, or training at the top level? Put it in a function).")
        elif details["type"] == "SystemExit":
            why = "it calls exit() while loading."
        else:
            why = "it " + explain(details, budget)[1].removeprefix("your code ")
        return f"your file could not be loaded: {why}"
    if isinstance(error, ChildGone):
        return f"your file could not be loaded: {error.sentence}"
    return f"your file could not be loaded: {error}"


def _grade_one(e: Exercise, session: Session, names: dict, text: str, shown: str,
               timeout: float, pictures: Any, stem: str, seed: int) -> Result:
    def result(kind: str, message: str = "", picture: str = "", hidden: str = "") -> Result:
        points = e.points if kind == "pass" else 0.0
        return Result(shown, e.label(), kind, points, e.points, message, picture,
                      "".join(session.printed)[:2000], hidden, api.hidden_count(), seed)

    api.start_exercise(e.label(), seed)
    if e.name not in names:
        return result("fail", f"your file defines no {e.name}: keep the name the stub gave it.")
    refused = refusal(text, e)
    if refused:
        return result("fail", refused)
    limit = timeout * e.cost
    session.begin(limit, 20 * limit + 10)
    session.readonly = e.readonly
    try:
        e.check(Student(session, names))
    except Wrong as wrong:
        kind = api.current_hidden()
        if kind:
            return result("fail", _hidden_sentence(wrong, kind), hidden=kind)
        picture = ""
        if pictures is not None and wrong.graph is not None:
            picture = _draw(wrong.graph, Path(pictures), stem, e, wrong.edge_labels,
                            wrong.marks)
        return result("fail", wrong.message, picture)
    except StudentError as error:
        kind = api.current_hidden()
        verdict, message = explain(error.details, limit, kind)
        return result(verdict, message, hidden=kind or "")
    except ChildGone as gone:
        return result("error", gone.sentence, hidden=api.current_hidden() or "")
    except Exception as error:  # the check could not use what came back
        return result("error", f"the grader could not check what your code returned "
                      f"({type(error).__name__}: {error}).")
    finally:
        session.readonly = False
    if e.by_hand and session.backward_calls:
        return result("fail", f"refused: your {e.name} called backward(); this exercise asks "
                      "for the gradient by hand, with the chain rule.")
    return result("pass")


# ------------------------------------------------------------- the public entry points


def run_checks(path: str | os.PathLike, assignments: dict[str, Assignment],
               timeout: float = DEFAULT_TIMEOUT, pictures: str | os.PathLike | None = None,
               report: Callable[[Result], None] = lambda r: None,
               skip: Iterable[str] = (), seed: int | None = None,
               sandbox: bool = False) -> list[Result]:
    """Grade one file with these assignments (the checks here, the student's code in a
    child), passing each result to ``report`` as it comes."""
    text, unreadable = read_source(path)
    return grade_source(text, str(path), assignments, timeout, pictures, seed, sandbox,
                        report, unreadable, skip=skip)


def grade_file(path: str | os.PathLike, exercise_files: Iterable[str] = (),
               timeout: float = DEFAULT_TIMEOUT, pictures: str | os.PathLike | None = None,
               *, seed: int | None = None, source: str | bytes | None = None,
               sandbox: bool = False, picture_stem: str | None = None,
               report: Callable[[Result], None] = lambda r: None,
               stop: threading.Event | None = None) -> list[Result]:
    """Grade one file (or ``source``, its text or bytes, shown under ``path``)."""
    if source is None:
        text, unreadable = read_source(path)
    elif isinstance(source, bytes):
        text, unreadable = decode_source(source)
    else:
        text, unreadable = source, ""
    return grade_source(text, str(Path(path).resolve()) if source is None else str(path),
                        _assignments(exercise_files), timeout, pictures, seed, sandbox,
                        report, unreadable, picture_stem, stop=stop)


def grade_files(paths: Iterable[str | os.PathLike], exercise_files: Iterable[str] = (),
                timeout: float = DEFAULT_TIMEOUT, pictures: str | os.PathLike | None = None,
                jobs: int | None = None, *, seed: int | None = None,
                sources: dict | None = None, sandbox: bool = False,
                on_file: Callable[[str, list[Result]], None] | None = None
                ) -> dict[str, list[Result]]:
    """Grade many files, ``jobs`` at a time; file -> its results, in the order given.

    Every file is read before any submission runs (a submission that rewrites a
    classmate's file changes nothing). ``on_file(path, results)`` is called as soon as
    each file is graded, never twice at once."""
    paths = [str(p) for p in paths]
    exercise_files = [str(Path(f).resolve()) for f in exercise_files]
    _assignments(exercise_files)  # an instructor's file that fails, fails here
    seed = new_seed() if seed is None else int(seed)
    given = dict(sources or {})
    snapshot = {p: given[p] if p in given else Path(p).read_bytes()
                if Path(p).is_file() and os.access(p, os.R_OK) else None for p in paths}
    stems = [Path(p).stem for p in paths]
    unique = {p: (s if stems.count(s) == 1 else f"{s}-{zlib.crc32(p.encode()):08x}")
              for p, s in zip(paths, stems)}
    lock = threading.Lock()
    stop = threading.Event()

    def one(path: str) -> list[Result]:
        if stop.is_set():
            return []
        source = snapshot[path]
        if source is None:
            results = grade_source(None, path, _assignments(exercise_files), timeout,
                                   pictures, seed, sandbox, unreadable=read_source(path)[1]
                                   or "the grader cannot read your file.")
        else:
            results = grade_file(path, exercise_files, timeout, pictures, seed=seed,
                                 source=source, sandbox=sandbox, picture_stem=unique[path],
                                 stop=stop)
        if stop.is_set():
            return results
        if on_file is not None:
            with lock:
                on_file(path, results)
        return results

    jobs = jobs or max(1, min(4, os.cpu_count() or 1))
    graded: dict[str, list[Result]] = {}
    pool = ThreadPoolExecutor(max_workers=jobs)
    try:
        futures = {pool.submit(one, p): p for p in paths}
        for future in as_completed(futures):
            graded[futures[future]] = future.result()
    except BaseException:  # Ctrl-C (or a bug): stop every child now, start no new one
        stop.set()
        pool.shutdown(wait=False, cancel_futures=True)
        stop_all()
        raise
    pool.shutdown()
    return {p: graded[p] for p in paths}


def stop_all() -> None:
    """Kill every child running now, with everything it started."""
    with _live_lock:
        running = list(_sessions)
    for session in running:
        session.kill("stopped")


def _assignments(exercise_files: Iterable[str]) -> dict[str, Assignment]:
    exercise_files = list(exercise_files)
    if not exercise_files:
        return builtin_assignments()
    chosen: dict[str, Assignment] = {}
    for f in exercise_files:
        chosen.update(load_exercise_file(f))
    return chosen
