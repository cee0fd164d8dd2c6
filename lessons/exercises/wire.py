"""The data that crosses between the grader and the process running a submission.

One JSON object per line. Plain JSON carries None, bools, numbers (NaN and infinities as
Python's json writes them) and strings; the rest is tagged: ``{"$array": base64 .npy}``
(numeric or bool dtypes only, written and read with ``allow_pickle=False``),
``{"$tuple": [...]}``, ``{"$dict": [[key, value], ...]}``, ``{"$node": "Value", "data":
..., "grad": ...}`` (a chaingrad Value or Tensor, by its numbers), ``{"$handle": n, "type":
name}`` (an object that stays in the child), ``{"$opaque": type, "repr": text}`` (something
that cannot be sent). Never pickle: decoding runs no code and builds no foreign objects.
"""

from __future__ import annotations

import base64
import io
import json
from typing import Any

import numpy as np

MAX_LINE = 64 * 2**20  # bytes in one message
MAX_ELEMENTS = 20_000_000  # numbers in all arrays of one message
MAX_ITEMS = 200_000  # list, tuple and dict entries in one message
MAX_DEPTH = 32
MAX_TEXT = 20_000  # characters of one string
NUMERIC_KINDS = "biuf"  # bool, signed, unsigned, float


class BadMessage(ValueError):
    """What came over the pipe is not a message of this format (or too big)."""


def encode_array(array: np.ndarray) -> dict:
    out = io.BytesIO()
    np.save(out, np.ascontiguousarray(array), allow_pickle=False)
    return {"$array": base64.b64encode(out.getvalue()).decode("ascii")}


def decode_array(text: Any, budget: list[int]) -> np.ndarray:
    if not isinstance(text, str):
        raise BadMessage("an array that is not base64 text")
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
        array = np.load(io.BytesIO(raw), allow_pickle=False)
    except (ValueError, OSError, EOFError, UnicodeError) as error:
        raise BadMessage(f"an unreadable array ({error})") from None
    if not isinstance(array, np.ndarray) or array.dtype.kind not in NUMERIC_KINDS:
        raise BadMessage(f"an array of dtype {getattr(array, 'dtype', '?')}")
    budget[0] -= array.size
    if budget[0] < 0:
        raise BadMessage("arrays too large")
    return array


def dumps(message: dict) -> bytes:
    """One message as one line of bytes (ending in a newline)."""
    return (json.dumps(message, separators=(",", ":")) + "\n").encode("utf-8")


def loads(line: bytes) -> dict:
    """A line as a message: a JSON object, within the size limits (else BadMessage)."""
    if len(line) > MAX_LINE:
        raise BadMessage("a message over the size limit")
    try:
        message = json.loads(line.decode("utf-8"))
    except (ValueError, UnicodeError, RecursionError):
        raise BadMessage("a line that is not JSON") from None
    if not isinstance(message, dict):
        raise BadMessage("a JSON value that is not an object")
    return message


class Remote:
    """An object that lives in the child (a student's instance, a model the child built).

    Attribute reads and method calls go back to the child through the session that made
    it; the parent never holds the object itself."""

    def __init__(self, session: Any, handle: int, type_name: str, path: tuple = ()) -> None:
        self._session, self._handle, self._type, self._path = session, handle, type_name, path

    def __getattr__(self, name: str) -> Any:
        """A method stays a Remote (call it); any other attribute comes back as data."""
        if name.startswith("__") or name.startswith("_"):
            raise AttributeError(name)
        return self._session.attribute(self._handle, self._path + (name,), self._type)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._session.call(self._handle, self._path, args, kwargs)

    def get(self) -> Any:
        """The attribute's value, as data (``remote.best_epoch.get()``)."""
        return self._session.get(self._handle, self._path)

    def __repr__(self) -> str:
        if self._handle is None:
            return f"<your {'.'.join(self._path)}>"
        return f"<your {self._type}{''.join('.' + p for p in self._path)}>"


class NodeData:
    """A chaingrad Value or Tensor that came back: its kind and numbers."""

    def __init__(self, kind: str, data: Any, grad: Any) -> None:
        self.kind, self.data, self.grad = kind, data, grad

    def __repr__(self) -> str:
        return f"{self.kind}({self.data!r})"


class Opaque:
    """Something the child could not send as data: its type name and a short repr."""

    def __init__(self, type_name: str, text: str) -> None:
        self.type_name, self.text = type_name, text

    def __repr__(self) -> str:
        return self.text or f"<a {self.type_name}>"


def decode(value: Any, session: Any = None, budget: list[int] | None = None,
           depth: int = 0, items: list[int] | None = None) -> Any:
    """A decoded message value as parent-side data (validated; BadMessage if not valid)."""
    budget = [MAX_ELEMENTS] if budget is None else budget
    items = [MAX_ITEMS] if items is None else items
    if depth > MAX_DEPTH:
        raise BadMessage("nested too deeply")
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        return value[:MAX_TEXT]
    if isinstance(value, list):
        items[0] -= len(value)
        if items[0] < 0:
            raise BadMessage("too many items")
        return [decode(v, session, budget, depth + 1, items) for v in value]
    if not isinstance(value, dict) or len(value) > 3:
        raise BadMessage("an unknown value")
    if "$array" in value:
        return decode_array(value["$array"], budget)
    if "$tuple" in value and isinstance(value["$tuple"], list):
        return tuple(decode(value["$tuple"], session, budget, depth + 1, items))
    if "$dict" in value and isinstance(value["$dict"], list):
        pairs = decode(value["$dict"], session, budget, depth + 1, items)
        out = {}
        for pair in pairs:
            if not (isinstance(pair, list) and len(pair) == 2):
                raise BadMessage("a dict entry that is not a pair")
            key = pair[0]
            if not isinstance(key, (str, int, float, bool, type(None), tuple)):
                key = repr(key)
            out[key] = pair[1]
        return out
    if "$node" in value:
        kind = str(value["$node"])[:20]
        return NodeData(kind, decode(value.get("data"), session, budget, depth + 1, items),
                        decode(value.get("grad"), session, budget, depth + 1, items))
    if "$handle" in value and isinstance(value["$handle"], int):
        return Remote(session, value["$handle"], str(value.get("type", "object"))[:80])
    if "$opaque" in value:
        return Opaque(str(value["$opaque"])[:80], str(value.get("repr", ""))[:200])
    raise BadMessage("an unknown tag")
