"""One child process running one submission, seen from the grader: start it (private
folder, isolated Python, limits, a user or a process space of its own), send it requests,
read its answers within CPU and size budgets, and end it with everything it started.

:class:`Student` is what a check calls: ``student.f(x)`` becomes a request to the child.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import random
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .api import ChildGone, StudentError, Wrong
from .wire import MAX_LINE, BadMessage, Remote, decode, dumps, encode_array, loads

STARTUP_SECONDS = 60.0  # wall seconds for the child to start (Python, numpy, chaingrad)
GRACE_SECONDS = 0.5  # CPU seconds past a budget before the child is killed
MEMORY_BYTES = 2 * 2**30
FILE_BYTES = 16 * 2**20
PROCESSES = 32  # processes (and threads) a child may start
CHILD_MARKER = "CHAINGRAD_GRADING_CHILD"  # in every child's environment (finds leftovers)
DROP_USER = True  # as root, run each child as a fresh unprivileged user (tests turn it off)
STDERR_KEPT = 8192  # bytes of a child's stderr kept (the end of it)


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def closed_to_children(places: list[Path] | None = None) -> str | None:
    """As root, each child runs as a user of its own and imports chaingrad (and numpy) as it
    goes: a sentence naming the first folder above them that other users may not enter
    (such as /root, or a folder made by mktemp -d), where every submission would fail to
    import the course's modules; None when they can reach them, or when not root."""
    if not (_is_root() and DROP_USER):
        return None
    if places is None:  # chaingrad's folder, the environment's, numpy's
        places = [Path(__file__).resolve().parents[2], Path(sys.prefix).resolve(),
                  Path(np.__file__).resolve().parent]
    for place in places:
        for folder in (place, *place.parents):
            try:
                mode = folder.stat().st_mode
            except OSError:
                continue
            if not mode & 0o001:  # others may not pass through it
                return (f"the graded code runs as a user of its own, and {folder} lets no "
                        f"other user in (mode {mode & 0o777:o}), so no submission could "
                        f"import chaingrad from {place}: install chaingrad where every user "
                        "can read it, run as a user who is not root, or grade with --sandbox")
    return None


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
        candidates.append(_bwrap_prefix())
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


def _bwrap_prefix() -> list[str]:
    """bubblewrap showing the child only the system, Python, numpy, chaingrad's own
    packages (read-only) and its own folder: no other file of this machine (a classmate's
    submission, the reference solutions, the reports), no network, its own process space,
    an unprivileged user."""
    readable = {"/usr", "/etc", sys.base_prefix, sys.prefix}
    readable |= {p for p in sys.path if p.endswith(("site-packages", "dist-packages"))}
    package = Path(__file__).resolve().parents[2]
    readable |= {str(package / part) for part in ("chaingrad", "autograd", "nn", "viz",
                                                   "lessons")}
    command = ["bwrap", "--unshare-all", "--die-with-parent", "--new-session",
               "--uid", "65534", "--gid", "65534", "--proc", "/proc", "--dev", "/dev",
               "--tmpfs", "/tmp"]
    for path in sorted(readable):
        real = os.path.realpath(path)
        if os.path.isdir(real):
            command += ["--ro-bind", real, real]
            if real != path:
                command += ["--ro-bind", real, path]
    for link in ("/bin", "/lib", "/lib64", "/sbin"):
        if os.path.islink(link):
            command += ["--symlink", os.readlink(link), link]
        elif os.path.isdir(link):
            command += ["--ro-bind", link, link]
    return command + ["--bind", "{folder}", "{folder}", "--chdir", "{folder}", "--"]


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


# The child finds chaingrad as installed; only a checkout that was never installed needs its
# folder on the path (which would also make the folder's tests/ importable: not otherwise).
BOOT = ("import sys, importlib.util\n"
        "if importlib.util.find_spec('chaingrad') is None: sys.path.append({root!r})\n"
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
        if _is_root() and DROP_USER and not sandbox:
            closed = closed_to_children()
            if closed:  # every child would fail to import chaingrad: say so, once
                shutil.rmtree(self.folder, ignore_errors=True)
                raise ValueError(closed)
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
        env = {CHILD_MARKER: "1", "PATH": "/usr/bin:/bin", "HOME": self.folder,
               "TMPDIR": self.folder,
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
        """End the child and every process it left (by session, user and orphanhood), and
        wait until they are gone."""
        if self.process.poll() is None:
            self.kill()
        self.process.wait()
        with _live_lock:
            _live.discard(self.process.pid)
            _sessions.discard(self)
        for _ in range(200):
            leftovers = _session_members(self.process.pid) + _adopted_children()
            if self.uid is not None:
                leftovers += _processes_of(self.uid)
            alive = [pid for pid in set(leftovers) if _state(pid) not in (None, "Z")]
            for pid in set(leftovers):
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
                with contextlib.suppress(OSError):
                    os.waitpid(pid, os.WNOHANG)  # an adopted orphan is ours to reap
            if not alive:
                break
            time.sleep(0.01)
        for stream in (self.process.stdin, self.process.stdout):
            with contextlib.suppress(OSError):
                stream.close()
        self.reader.join(timeout=2)
        shutil.rmtree(self.folder, ignore_errors=True)
        if self.uid is not None:
            _remove_files_of(self.uid)


SHARED_FOLDERS = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock", "/var/lock")


def _remove_files_of(uid: int) -> None:
    """What a child's own user left in the folders every user may write (files to pass to
    a later child, or /dev/shm filled with the machine's memory): the user is the child's
    alone and its processes are gone, so all of it goes."""
    for folder in SHARED_FOLDERS:
        with contextlib.suppress(OSError), os.scandir(folder) as entries:
            for entry in entries:
                with contextlib.suppress(OSError):
                    if entry.stat(follow_symlinks=False).st_uid != uid:
                        continue
                    if entry.is_dir(follow_symlinks=False):
                        shutil.rmtree(entry.path, ignore_errors=True)
                    else:
                        os.unlink(entry.path)


def _stat_fields(pid: int) -> list[bytes] | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _state(pid: int) -> str | None:
    fields = _stat_fields(pid)
    return fields[0].decode() if fields else None


def _session_members(sid: int) -> list[int]:
    """The processes of a session (the child's: it was started in one of its own)."""
    found = []
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else []:
        if entry.isdigit():
            fields = _stat_fields(int(entry))
            if fields and len(fields) > 3 and int(fields[3]) == sid:
                found.append(int(entry))
    return found


def _adopted_children() -> list[int]:
    """Processes a child left that became ours (we are their subreaper): they carry the
    child's marker in their command line or environment."""
    with _live_lock:
        candidates = _our_children() - _live
    return [pid for pid in candidates if _cmdline_has(pid, "chaingrad.lessons.exercises.child")
            or _environ_has(pid, f"{CHILD_MARKER}=1")]


def _environ_has(pid: int, text: str) -> bool:
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            return text.encode() in f.read().split(b"\0")
    except OSError:
        return False


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


def stop_all() -> None:
    """Kill every child running now, with everything it started."""
    with _live_lock:
        running = list(_sessions)
    for session in running:
        session.kill("stopped")
