"""The process that runs one submission: it calls the student's code and answers with data.

Started by the grader as ``python -I -c <bootstrap> CONFIG`` in a private folder holding
only the submission. It limits itself (memory, CPU, file size, processes), drops to an
unprivileged user when started as root, loads the file, then answers requests read from
stdin, one JSON line each (see :mod:`.wire`), on its original stdout. Nothing here decides
a grade: everything this process says is treated by the grader as the student's own
answer, checked against the grader's reference.
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

PRINTED_LIMIT = 2000  # characters of the student's print() output kept per request
MAX_SEQUENCE = 100_000  # items of one list or tuple answered

# Modules imported before the student's code runs (and before this process gives up root:
# an unprivileged user may not be able to read the Python installation afterwards).
PREIMPORT = ("math", "cmath", "random", "itertools", "functools", "collections", "copy",
             "dataclasses", "typing", "json", "time", "statistics", "operator", "numbers",
             "fractions", "decimal", "re", "string", "textwrap", "enum", "abc", "heapq",
             "bisect", "warnings", "contextlib", "types", "numpy", "numpy.linalg",
             "numpy.random", "chaingrad", "chaingrad.nn", "chaingrad.autograd",
             "chaingrad.lessons.exercises.graphs",
             "scipy.linalg.blas")  # nn.optim's axpy, imported by the first optimizer made


class TimeLimit(BaseException):
    """The CPU budget of this request ran out (a student's ``except Exception`` can't eat it)."""


class Printed(io.TextIOBase):
    """Where print() goes during a request: the first PRINTED_LIMIT characters are kept."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        text = str(text)
        if self.size < PRINTED_LIMIT:
            self.parts.append(text[:PRINTED_LIMIT - self.size])
            self.size += len(self.parts[-1])
        return len(text)

    def text(self) -> str:
        return "".join(self.parts) + (" ..." if self.size >= PRINTED_LIMIT else "")


# ------------------------------------------------------------------ limits and user


def limit_self(config: dict) -> None:
    """Memory, CPU (a backstop: the grader measures CPU per exercise), file size, processes."""
    import resource

    def cap(name: str, value: int) -> None:
        kind = getattr(resource, name, None)
        if kind is None or value is None:
            return
        try:
            soft, hard = resource.getrlimit(kind)
            value = value if hard == resource.RLIM_INFINITY else min(value, hard)
            resource.setrlimit(kind, (value, value))
        except (ValueError, OSError):
            pass  # a limit the system refuses: the grader's own watch still applies

    cap("RLIMIT_AS", config.get("memory"))
    cap("RLIMIT_CPU", config.get("cpu"))
    cap("RLIMIT_FSIZE", config.get("file_size"))
    cap("RLIMIT_CORE", 0)
    cap("RLIMIT_NPROC", config.get("processes"))


def become(uid: int) -> None:
    """Give up root for a fresh unprivileged user (its own uid: leftovers are findable)."""
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)


# ------------------------------------------------------------------ encoding answers


class Child:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.module: Any = None
        self.handles: dict[int, Any] = {}
        self.backward_calls = 0

    # -- data out
    def encode(self, value: Any, depth: int = 0) -> Any:
        import numpy as np

        from ...autograd import Node
        from ...autograd.node import array_of
        from .wire import encode_array

        if depth > 20:
            return {"$opaque": "nested", "repr": "(nested too deeply)"}
        if value is None or type(value) in (bool, int, str):
            return value if type(value) is not str else value[:20_000]
        if isinstance(value, float):  # float.__float__: a subclass's own __float__ never runs
            return float.__float__(value)
        if isinstance(value, np.floating):
            return float(value)
        if isinstance(value, (np.integer, np.bool_)):
            return value.item()
        if isinstance(value, np.ndarray):
            plain = value.view(np.ndarray)
            if plain.dtype.kind in "biuf":
                return encode_array(plain)
            try:
                return encode_array(np.asarray(plain, dtype=float))
            except (TypeError, ValueError):
                return self.handle(value)
        if type(value) in (list, tuple):
            items = [self.encode(v, depth + 1) for v in value[:MAX_SEQUENCE]]
            return items if type(value) is list else {"$tuple": items}
        if type(value) is dict:
            return {"$dict": [[self.encode(k, depth + 1), self.encode(v, depth + 1)]
                              for k, v in list(value.items())[:MAX_SEQUENCE]]}
        if isinstance(value, Node):
            grad = value.grad
            return {"$node": type(value).__name__, "data": self.encode(array_of(value), depth + 1),
                    "grad": None if grad is None else self.encode(np.asarray(grad), depth + 1)}
        return self.handle(value)

    def handle(self, value: Any) -> dict:
        number = len(self.handles) + 1
        self.handles[number] = value
        return {"$handle": number, "type": type(value).__name__[:80]}

    # -- data in
    def decode(self, value: Any, readonly: bool) -> Any:
        from .wire import decode_array

        if isinstance(value, list):
            return [self.decode(v, readonly) for v in value]
        if not isinstance(value, dict):
            return value
        if "$array" in value:
            array = decode_array(value["$array"], [10**9])
            array.flags.writeable = not readonly
            return array
        if "$tuple" in value:
            return tuple(self.decode(v, readonly) for v in value["$tuple"])
        if "$dict" in value:
            return {self.decode(k, readonly): self.decode(v, readonly)
                    for k, v in value["$dict"]}
        if "$handle" in value:
            return self.handles[value["$handle"]]
        if "$build" in value:
            return self.build(value)
        raise ValueError("unknown value")

    def build(self, spec: dict) -> Any:
        """An object the grader described: a Tensor, a loss function, an MLP with weights."""
        import numpy as np

        from ... import Tensor, nn

        kind = spec["$build"]
        if kind == "tensor":
            return Tensor(self.decode(spec["data"], False),
                          requires_grad=bool(spec.get("requires_grad")))
        if kind == "loss":
            return getattr(nn.losses, str(spec["name"]))
        if kind == "model":
            model = nn.MLP(int(spec["n_in"]), [int(s) for s in spec["sizes"]],
                           activation=str(spec.get("activation", "tanh")))
            weights = self.decode(spec["weights"], False)
            grads = self.decode(spec.get("grads"), False)
            for k, p in enumerate(model.parameters()):
                p.data = np.array(weights[k], dtype=float)
                p.grad = None if grads is None else np.array(grads[k], dtype=float)
            return model
        raise ValueError(f"cannot build {kind!r}")

    # -- requests
    def resolve(self, target: Any, path: list) -> Any:
        obj = self.module if target is None else self.handles[target]
        for name in path:
            obj = getattr(obj, str(name))
        return obj

    def answer(self, request: dict) -> dict:
        op = request.get("op")
        if op == "load":
            return self.load()
        if op == "describe":
            return {"ok": self.encode(self.describe(request))}
        if op == "run":  # one of the course's own helpers, on the student's module
            module, name = str(request["function"]).split(":")
            if not module.startswith("chaingrad.lessons.exercises."):
                raise ValueError(f"not a course helper: {module}")
            function = getattr(importlib.import_module(module), name)
            readonly = bool(request.get("readonly"))
            args = [self.decode(a, readonly) for a in request.get("args", [])]
            kwargs = {str(k): self.decode(v, readonly) for k, v in
                      request.get("kwargs", {}).items()}
            return {"ok": self.encode(function(self.module, *args, **kwargs))}
        if op == "seed":
            from ... import nn

            nn.manual_seed(int(request["seed"]))
            return {"ok": None}
        if op == "build":
            return {"ok": self.handle(self.decode(request["spec"], False))}
        if op == "weights":
            model = self.handles[request["target"]]
            return {"ok": self.encode([p.data for p in model.parameters()])}
        if op == "layers":
            return {"ok": self.layers(self.handles[request["target"]])}
        readonly = bool(request.get("readonly"))
        if op == "get":
            return {"ok": self.encode(self.resolve(request.get("target"), request["path"]))}
        if op == "call":
            function = self.resolve(request.get("target"), request["path"])
            args = [self.decode(a, readonly) for a in request.get("args", [])]
            kwargs = {str(k): self.decode(v, readonly) for k, v in
                      request.get("kwargs", {}).items()}
            return {"ok": self.encode(function(*args, **kwargs))}
        raise ValueError(f"unknown request {op!r}")

    def describe(self, request: dict) -> dict:
        try:
            obj = self.resolve(request.get("target"), request["path"])
        except AttributeError:
            return {"kind": "missing"}
        kind = "class" if isinstance(obj, type) else "function" if callable(obj) else "other"
        bases = [f"{c.__module__}.{c.__qualname__}" for c in obj.__mro__] \
            if isinstance(obj, type) else []
        return {"kind": kind, "type": type(obj).__name__, "bases": bases}

    def layers(self, model: Any) -> list:
        """The model as layers the grader can rebuild: linear, activation, flatten, dropout."""
        from ... import nn
        from ...nn.activations import Activation

        out: list = []
        for layer in getattr(model, "layers", [model]):
            if isinstance(layer, nn.Linear):
                bias = None if layer.bias is None else layer.bias.data
                out.append(["linear", self.encode(layer.weight.data), self.encode(bias)])
            elif isinstance(layer, Activation):
                out.append(["activation", str(layer.function_name)])
            elif isinstance(layer, (nn.Flatten, nn.Dropout)):
                out.append([type(layer).__name__.lower()])
            else:
                out.append(["unknown", type(layer).__name__])
        return out

    def load(self) -> dict:
        spec = importlib.util.spec_from_file_location("submission", self.path)
        module = importlib.util.module_from_spec(spec)
        sys.modules["submission"] = module  # as an import would (a @dataclass needs it)
        spec.loader.exec_module(module)
        self.module = module
        names = {name: type(value).__name__ for name, value in vars(module).items()
                 if not name.startswith("_")}
        return {"ok": self.encode(names)}

    # -- errors
    def explain(self, error: BaseException) -> dict:
        """What the student's exception was, and where in their file (plain data)."""
        frames = []
        tb = error.__traceback__
        while tb is not None:
            code = tb.tb_frame.f_code
            if Path(code.co_filename).resolve() == self.path:
                frames.append([tb.tb_lineno, function_name(tb.tb_frame)])
            tb = tb.tb_next
        text = str(error) if not isinstance(error, (SystemExit, KeyboardInterrupt)) else ""
        if isinstance(error, SyntaxError):
            frames.append([error.lineno, "<module>"])
            text = str(error.msg)
        return {"type": type(error).__name__, "message": text[:500],
                "frames": frames[-8:],
                "not_implemented": isinstance(error, NotImplementedError),
                "time_limit": isinstance(error, TimeLimit),
                "readonly": isinstance(error, ValueError) and "read-only" in text}


def function_name(frame: Any) -> str:
    """``Class.method`` as Python 3.11's co_qualname says; on 3.10, found in the module."""
    code = frame.f_code
    if hasattr(code, "co_qualname"):
        return code.co_qualname
    for value in list(frame.f_globals.values()):
        if isinstance(value, type):
            for attribute in vars(value).values():
                function = getattr(attribute, "__func__", attribute)
                if getattr(function, "__code__", None) is code:
                    return f"{value.__name__}.{code.co_name}"
    return code.co_name


def _arm(seconds: float) -> None:
    """A CPU-time timer (ITIMER_PROF): TimeLimit where the student's code is at that moment."""
    if not hasattr(signal, "setitimer"):
        return
    signal.setitimer(signal.ITIMER_PROF, max(seconds, 0.0) if seconds else 0.0)


def _expire(signum: int, frame: Any) -> None:
    raise TimeLimit()


def _count_backward(child: Child) -> None:
    """Count calls of backward() (a by-hand exercise must not call it)."""
    from ...autograd import engine

    original = engine.backward

    def counted(*args: Any, **kwargs: Any) -> Any:
        child.backward_calls += 1
        return original(*args, **kwargs)

    engine.backward = counted
    operators = sys.modules.get("chaingrad.autograd.operators")
    if operators is not None and getattr(operators, "backward", None) is original:
        operators.backward = counted


def serve(child: Child, requests: Any, answers: Any) -> None:
    """Answer requests until the grader closes the pipe."""
    for line in requests:
        try:
            request = json.loads(line)
        except ValueError:
            return
        printed = Printed()
        saved = sys.stdout
        sys.stdout = printed
        child.backward_calls = 0
        _arm(float(request.get("cpu", 0) or 0))
        try:
            reply = child.answer(request)
        except BaseException as error:  # noqa: B036 (the student's code may raise anything)
            _arm(0)
            reply = {"raised": child.explain(error)}
        finally:
            _arm(0)
            sys.stdout = saved
        reply["printed"] = printed.text()
        reply["backward"] = child.backward_calls
        try:
            data = json.dumps(reply, separators=(",", ":"))
        except (TypeError, ValueError) as error:
            data = json.dumps({"raised": {"type": "GraderError", "message": str(error)[:200],
                                          "frames": []}})
        answers.write(data.encode("utf-8") + b"\n")
        answers.flush()


def main(argv: list[str] | None = None) -> None:
    config = json.loads((argv or sys.argv)[1])
    # Our channel: the original stdin and stdout. The student's fd 0 is empty and fd 1
    # joins stderr (which the grader reads, bounded), so a stray os.write(1) is harmless.
    requests = os.fdopen(os.dup(0), "rb")
    answers = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(2, 1)
    for name in PREIMPORT:
        try:
            __import__(name)
        except ImportError:
            pass
    limit_self(config)
    if config.get("uid") is not None:
        become(int(config["uid"]))
    signal.signal(signal.SIGPROF, _expire)
    child = Child(Path(config["file"]).resolve())
    _count_backward(child)
    threading.stack_size(0)
    answers.write(b'{"ready":true}\n')
    answers.flush()
    serve(child, requests, answers)
    os._exit(0)  # nothing the student registered with atexit runs after the last answer


if __name__ == "__main__":
    main()
