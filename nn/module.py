"""nn.Module: the base class of every model.

A module is any object with a ``forward`` method. Its parameters are found by walking its
attributes (sub-modules, parameters, and lists, tuples or dicts of them), so a student
writes only ``__init__`` and ``forward``::

    class Affine(nn.Module):
        def __init__(self):
            self.w = Value(0.5, name="w")
            self.b = Value(0.0, name="b")

        def forward(self, x):
            return self.w * x + self.b
"""

from __future__ import annotations

import ast
import math
import os
import re
import zipfile
import zlib
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..autograd import Node
from ..autograd.files import check_path, write_atomic
from . import training as workflow  # Module.fit and co. are nn.training's functions
from .seeding import manual_seed, rng  # noqa: F401  (models import rng from here)

# ---------------------------------------------------------------- the module


def is_parameter(x: object) -> bool:
    """A parameter: a leaf node that takes a gradient (a Value, or a Tensor with requires_grad)."""
    return isinstance(x, Node) and x.operation is None and x.requires_grad


class Module:
    """Base class of models: ``model(x)`` calls ``model.forward(x)``."""

    training: bool = True  # a class default, so subclasses need not call super().__init__()
    graph_name: str = ""  # the module's path in a model, once nn.name_parameters has run
    buffers: tuple[str, ...] = ()  # array attributes saved with the weights (running stats)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        out = self.forward(*args, **kwargs)
        if self.graph_name and isinstance(out, Node) and out.name is None:
            out.name = f"{self.graph_name}.out"  # set by nn.name_parameters: drawn in its box
        return out

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    # -- parameters

    def named_parameters(self) -> Iterator[tuple[str, Node]]:
        """(dotted path, parameter) pairs, in the order the attributes were set, each once."""
        seen: set[int] = set()
        for path, node in _walk(self, ""):
            if id(node) not in seen:
                seen.add(id(node))
                yield path, node

    def parameters(self) -> list[Node]:
        """Every parameter of this module and its sub-modules, each once, in a fixed order."""
        return [node for _, node in self.named_parameters()]

    def modules(self) -> Iterator[Module]:
        """This module and every sub-module below it, depth first."""
        yield self
        for child in _children(self):
            yield from child.modules()

    def zero_grad(self) -> None:
        """Reset every parameter's gradient (before the next backward)."""
        for p in self.parameters():
            p.zero_grad()

    def num_parameters(self) -> int:
        """How many numbers the parameters hold in total."""
        return sum(1 if p.scalar else p.data.size for p in self.parameters())

    # -- saving and loading weights

    def state_dict(self) -> dict[str, np.ndarray]:
        """A copy of every parameter (and buffer) as a numpy array, keyed by its dotted path."""
        state = {path: np.array(p.data) for path, p in self.named_parameters()}
        return {**state, **_buffer_state(self)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Copy the arrays of ``state`` into the parameters, in place (optimizers keep working).

        Every entry is checked first (names, shapes, real numbers, finite values); only
        when all of them fit is the model changed, all at once. A failed load leaves the
        model exactly as it was. Buffers (running statistics) are loaded too when present:
        weights saved before a model had buffers leave them as they are.
        """
        if not isinstance(state, Mapping):
            raise TypeError(f"load_state_dict: expected a dict of arrays (from state_dict() or "
                            f"nn.load), got {type(state).__name__} {state!r:.40}")
        own = dict(self.named_parameters())
        buffers = _buffer_state(self)
        _check_names(type(self).__name__, own, state, optional=buffers)
        values = {key: _checked_value(key, state[key], _parameter_shape(p))
                  for key, p in own.items()}
        buffer_values = {key: _checked_value(key, state[key], array.shape)
                         for key, array in buffers.items() if key in state}
        for key, p in own.items():
            if p.scalar:
                p.data = float(values[key])
            else:
                p.data[...] = values[key]
        _load_buffers(self, buffer_values)

    def save(self, path: str | os.PathLike) -> Path:
        """Write the weights to a .npz file (atomically: a temporary file, then a rename)."""
        return save(self.state_dict(), path)

    def load(self, path: str | os.PathLike) -> Module:
        """Read weights written by ``save`` into this model; returns the model.

        The file's entries are checked against the model from their headers (names,
        shapes, float type) before any data is read, so a file that does not fit is
        refused without reading it; then all values are checked, then assigned at once.
        """
        shapes = {key: _parameter_shape(p) for key, p in self.named_parameters()}
        buffers = {key: array.shape for key, array in _buffer_state(self).items()}
        self.load_state_dict(_read_weights(path, shapes, type(self).__name__, buffers=buffers))
        return self

    # -- the Keras-style workflow (see nn.training)

    def compile(
        self,
        loss: Any = "mse",
        optimizer: Any = "adam",
        metrics: Any = (),
        **optimizer_options: Any,
    ) -> None:
        """Choose the loss, the optimizer and the metrics for ``fit`` (by name or object)."""
        workflow.compile(self, loss, optimizer, metrics, **optimizer_options)

    def fit(self, X: Any, y: Any, epochs: int = 1, batch_size: int | None = 32,
            **options: Any) -> workflow.History:
        """Train on (X, y); returns a History (see ``nn.training.fit`` for the options)."""
        return workflow.fit(self, X, y, epochs=epochs, batch_size=batch_size, **options)

    def evaluate(self, X: Any, y: Any, return_dict: bool = False) -> Any:
        """The loss on (X, y), or [loss, metric...] when metrics were compiled."""
        return workflow.evaluate(self, X, y, return_dict=return_dict)

    def predict(self, X: Any) -> np.ndarray:
        """The model's outputs for X as a numpy array (evaluation mode)."""
        return workflow.predict(self, X)

    # -- a table of the layers

    def summary(self, input_shape: tuple[int, ...] | None = None) -> None:
        """Print a table of the layers, their output shapes and parameter counts (as Keras).

        ``input_shape`` is one example's shape, e.g. ``(2,)``; by default it is read from
        the first layer's number of inputs.
        """
        from rich.console import Console
        from rich.table import Table

        table = Table(title=f"{type(self).__name__}", title_justify="left")
        table.add_column("Layer (type)")
        table.add_column("Output shape")
        table.add_column("Param #", justify="right")
        for name, layer, shape in _layer_shapes(self, input_shape):
            shown = "?" if shape is None else str(("None", *shape)).replace("'", "")
            table.add_row(f"{name} ({type(layer).__name__})", shown, f"{layer.num_parameters():,}")
        console = Console()
        if console.is_jupyter:  # colour codes would stay in the notebook's text/plain
            console = Console(color_system=None)
        console.print(table)
        console.print(f"Total params: {self.num_parameters():,}")

    # -- training and evaluation mode

    def train(self, mode: bool = True) -> Module:
        """Training mode (dropout and rrelu draw random numbers); returns the module."""
        for module in self.modules():
            module.training = mode
        return self

    def eval(self) -> Module:
        """Evaluation mode: deterministic layers; returns the module."""
        return self.train(False)


def _walk(value: Any, path: str) -> Iterator[tuple[str, Node]]:
    """Every parameter reachable from value, with its dotted path."""
    if is_parameter(value):
        yield path, value
    elif isinstance(value, Module):
        for key, attribute in vars(value).items():
            yield from _walk(attribute, f"{path}.{key}" if path else key)
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from _walk(item, f"{path}.{index}" if path else str(index))
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(item, f"{path}.{key}" if path else str(key))


def _named_modules(value: Any, path: str) -> Iterator[tuple[str, Module]]:
    """Every module reachable from value, with its dotted path."""
    if isinstance(value, Module):
        yield path, value
        items = vars(value).items()
    elif isinstance(value, (list, tuple)):
        items = ((str(i), item) for i, item in enumerate(value))
    elif isinstance(value, dict):
        items = ((str(k), item) for k, item in value.items())
    else:
        return
    for key, item in items:
        yield from _named_modules(item, f"{path}.{key}" if path else key)


def _buffer_state(module: Module) -> dict[str, np.ndarray]:
    """The buffers (e.g. batch norm's running statistics) of every sub-module, by path."""
    state = {}
    for path, sub in _named_modules(module, ""):
        for name in sub.buffers:
            value = getattr(sub, name, None)
            if value is not None:
                state[f"{path}.{name}" if path else name] = np.array(value)
    return state


def _load_buffers(module: Module, values: dict[str, np.ndarray]) -> None:
    """Copy the (already checked) buffer arrays in ``values`` into place, by path."""
    for path, sub in _named_modules(module, ""):
        for name in sub.buffers:
            key = f"{path}.{name}" if path else name
            if key in values:
                getattr(sub, name)[...] = values[key]


def _children(module: Module) -> Iterator[Module]:
    """The modules directly held by module (in attributes, lists, tuples or dicts)."""
    stack = list(reversed(list(vars(module).values())))
    while stack:
        value = stack.pop()
        if isinstance(value, Module):
            yield value
        elif isinstance(value, (list, tuple)):
            stack.extend(reversed(value))
        elif isinstance(value, dict):
            stack.extend(reversed(list(value.values())))


# ---------------------------------------------------------------- weight files


# A bare nn.load (no model to compare shapes with) reads at most this many bytes of
# weights, so a small file claiming a huge array is refused before memory is taken.
LOAD_LIMIT_BYTES = 2**30


def save(state: dict[str, np.ndarray], path: str | os.PathLike) -> Path:
    """Write a state dict to ``path`` as .npz: a temporary file in the same folder, then a rename.

    A crash half-way leaves the old file intact, never a half-written one. Only arrays of
    real numbers are written (an object array would be stored pickled: refused). A
    symbolic link is followed: the file it points to is replaced.
    """
    check_path(path, "save")
    if not isinstance(state, Mapping):
        raise TypeError(f"save: expected a dict of arrays, such as model.state_dict(), got "
                        f"{type(state).__name__}; call model.save(path), or "
                        "nn.save(model.state_dict(), path)")
    if Path(path).is_dir():
        raise ValueError(f"save: {os.fspath(path)!r} is a folder; give a file name, e.g. "
                         f"{os.fspath(Path(path) / 'model.npz')!r}")
    arrays = {}
    for key, value in state.items():
        array = np.asarray(value)
        if array.dtype.kind not in "fiub":
            raise ValueError(
                f"save: '{key}' holds {_kind(array.dtype)}; weights must be real numbers "
                "(an array of Python objects would be stored pickled, which load refuses)"
            )
        arrays[str(key)] = array
    return write_atomic(path, lambda file: np.savez(file, **arrays))


def load(path: str | os.PathLike, max_bytes: int = LOAD_LIMIT_BYTES) -> dict[str, np.ndarray]:
    """Read a weights file written by ``save`` as a dict of arrays.

    Pickle is never allowed, so a weights file from a stranger cannot run code. Each
    entry's header is read before its data: an entry that is not real floating-point
    numbers, or entries adding up to more than ``max_bytes`` (1 GiB by default), are
    refused before any memory is taken for them; values must be finite.
    """
    return _read_weights(path, None, "load", max_bytes)


def _read_weights(
    path: str | os.PathLike, shapes: dict[str, tuple] | None, who: str,
    max_bytes: int = LOAD_LIMIT_BYTES, buffers: dict[str, tuple] | None = None,
) -> dict[str, np.ndarray]:
    """The arrays of a .npz file, checked from their headers first.

    ``shapes``: the model's parameters, all required; ``buffers``: the shapes of its
    buffers, which a file may hold or not. Two passes, each linear: every entry's header
    (names from the archive's directory, then kind, shape and the running total against
    ``max_bytes``), then every entry's data, so a file that does not fit is refused before
    any array is made (the first pass keeps at most 1 KB an entry: small entries whole).
    """
    expected = {**(buffers or {}), **(shapes or {})}
    check_path(path, "load")
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"load: {str(path)!r} is a folder; give the weights file in it, "
                                f"e.g. {str(path / 'model.npz')!r}")
    if not path.is_file():
        raise FileNotFoundError(f"load: there is no file {str(path)!r}")
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        with open(path, "rb") as file:
            single = file.read(6) == b"\x93NUMPY"
        reason = "it holds a single array, not named weights" if single else "not a zip archive"
        raise ValueError(_not_weights(path, reason)) from None
    except (OSError, EOFError) as error:
        raise ValueError(_not_weights(path, error)) from None
    with archive:
        members = _members(archive, path)
        if shapes is not None:
            _check_names(who, shapes, members, optional=buffers or {})
        headers = {}
        total = 0
        for key, member in members.items():
            header = headers[key] = _entry(archive, member, path, key, _read_header)
            shape, _, dtype = header[:3]
            _check_header(path, key, shape, dtype)
            if shapes is not None and shape != expected[key]:
                raise ValueError(f"load: '{_short(key)}' has shape {shape} in {str(path)!r} "
                                 f"but {expected[key]} in {who}")
            total += math.prod(shape) * dtype.itemsize
            if shapes is None and total > max_bytes:
                raise ValueError(
                    f"load: {str(path)!r} holds more than {max_bytes:,} bytes of weights "
                    f"(at '{_short(key)}', of shape {shape}); pass max_bytes= to allow more"
                )
        arrays = {key: _small_array(path, key, headers[key]) if headers[key][4] is not None
                  else _entry(archive, member, path, key, _read_data, headers[key])
                  for key, member in members.items()}
    for key, array in arrays.items():
        _check_finite(key, array, f"in {str(path)!r}")
    return arrays


def _entry(archive: zipfile.ZipFile, member: zipfile.ZipInfo, path: Path, key: str,
           read: Callable, *args: Any) -> Any:
    """``read(file, path, key, *args)`` on one entry, a damaged archive said in a sentence."""
    try:
        with archive.open(member) as file:
            return read(file, path, key, *args)
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error, NotImplementedError,
            RuntimeError) as error:  # RuntimeError: an encrypted entry
        raise ValueError(_not_weights(path, f"at '{_short(key)}': {error}")) from None


def _members(archive: zipfile.ZipFile, path: Path) -> dict[str, zipfile.ZipInfo]:
    """Each entry's name -> its zip member, from the archive's directory (nothing opened)."""
    members = {}
    for info in archive.infolist():
        if not info.filename.endswith(".npy"):
            raise ValueError(_not_weights(path, f"it holds {_short(info.filename)!r}, "
                                                "not an array"))
        members[info.filename[: -len(".npy")]] = info
    return members


# The header numpy writes, e.g. {'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }:
# read with a pattern (literal_eval is most of the time of a file of many small entries);
# anything else goes through literal_eval and the same checks.
_NUMPY_HEADER = re.compile(
    r"\{'descr': '([<>|=]?[a-zA-Z]\d*)', 'fortran_order': (True|False), "
    r"'shape': \(((?:\d+, )*\d+,?)?\), \} *\n?"
)
_MAX_HEADER = 10_000  # numpy's own limit for a header read without allow_pickle
_HEAD = 1024  # the first read of an entry: its header, and all of a small entry


def _read_header(file: Any, path: Path, key: str) -> tuple:
    """(shape, fortran order, dtype, where the data starts, the whole entry if it is small).

    The first read takes up to _HEAD bytes: a whole small entry (its zip checksum then
    checked), kept so that its data needs no second opening; at most _HEAD bytes an entry.
    """

    def damaged(reason: str) -> ValueError:
        return ValueError(f"load: '{_short(key)}' in {str(path)!r} is not an array written by "
                          f"save(), or it is damaged ({reason})")

    head = file.read(_HEAD)  # numpy's headers are 128 bytes: one read for all of it
    if len(head) < 8 or head[:6] != b"\x93NUMPY":
        raise damaged("the entry ends before its header" if len(head) < 8
                      else "it does not start as a .npy array does")
    version = (head[6], head[7])
    if version not in ((1, 0), (2, 0), (3, 0)):
        raise damaged(f"unknown .npy version {version[0]}.{version[1]}")
    start = 10 if version == (1, 0) else 12
    if len(head) < start:
        raise damaged("the entry ends before its header")
    size = int.from_bytes(head[8:start], "little")
    if size > _MAX_HEADER:
        raise damaged(f"a header of {size:,} bytes, more than the {_MAX_HEADER:,} allowed")
    if len(head) < start + size:
        head += file.read(start + size - len(head))
    raw = head[start: start + size]
    if len(raw) < size:
        raise damaged(f"the entry ends inside its header: {len(raw)} of {size} bytes")
    text = raw.decode("utf-8" if version == (3, 0) else "latin1", errors="replace")
    match = _NUMPY_HEADER.fullmatch(text)
    if match:
        descr, fortran = match[1], match[2] == "True"
        shape = tuple(int(n) for n in (match[3] or "").replace(",", " ").split())
    else:
        descr, fortran, shape = _parse_header(text, damaged)
    if not isinstance(descr, str):
        raise damaged("its header describes records, not numbers")
    try:
        dtype = np.dtype(descr)
    except (TypeError, ValueError):
        raise damaged(f"its header names an unknown type {_short(descr)!r}") from None
    if any(n < 0 for n in shape):
        raise damaged(f"its header claims a negative size, shape {shape}")
    if any(n >= 2**62 for n in shape):
        raise damaged(f"its header claims an impossible size, shape {_short(str(shape))}")
    return shape, fortran, dtype, start + size, head if len(head) < _HEAD else None


def _parse_header(text: str, damaged: Callable[[str], ValueError]) -> tuple[Any, bool, tuple]:
    """A header numpy did not write itself: literal_eval, then the same checks as numpy's."""
    try:
        header = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        raise damaged("its header cannot be read") from None
    if not isinstance(header, dict) or set(header) != {"descr", "fortran_order", "shape"}:
        raise damaged("its header is not the dictionary of descr, fortran_order and shape")
    shape, fortran = header["shape"], header["fortran_order"]
    if not isinstance(fortran, bool):
        raise damaged(f"fortran_order is {_short(repr(fortran))}, not True or False")
    if not (isinstance(shape, tuple)
            and all(isinstance(n, int) and not isinstance(n, bool) for n in shape)):
        raise damaged(f"its shape {_short(repr(shape))} is not whole numbers")
    return header["descr"], fortran, shape


def _read_data(file: Any, path: Path, key: str, header: tuple) -> np.ndarray:
    """An entry's array: exactly as many bytes after its header as its shape asks for."""
    shape, fortran, dtype, start, _ = header
    count = math.prod(shape)
    nbytes = count * dtype.itemsize
    if nbytes <= 1 << 20:  # not large: one read, then a copy of its own
        return _small_array(path, key, (*header[:4], file.read(start + nbytes + 1)))
    file.read(start)  # large: straight into the array, a megabyte at a time, no second copy
    flat = np.empty(count, dtype)
    view = memoryview(flat).cast("B")
    got = 0
    while got < nbytes and (read := file.readinto(view[got: got + (1 << 20)])):
        got += read
    _check_size(path, key, shape, nbytes, got + len(file.read(1)))
    return flat.reshape(shape[::-1]).T if fortran else flat.reshape(shape)


def _small_array(path: Path, key: str, header: tuple) -> np.ndarray:
    """The array of an entry read whole (``header[4]``: its bytes)."""
    shape, fortran, dtype, start, data = header
    count = math.prod(shape)
    _check_size(path, key, shape, count * dtype.itemsize, len(data) - start)
    flat = np.frombuffer(data, dtype, count, start).copy()
    return flat.reshape(shape[::-1]).T if fortran else flat.reshape(shape)


def _check_size(path: Path, key: str, shape: tuple, nbytes: int, got: int) -> None:
    if got != nbytes:
        what = f"only {max(got, 0):,}" if got < nbytes else "more than that"
        raise ValueError(f"load: '{_short(key)}' in {str(path)!r} is damaged: its shape "
                         f"{shape} needs {nbytes:,} bytes and it holds {what}")


def _check_header(path: Path, key: str, shape: tuple, dtype: np.dtype) -> None:
    if dtype.kind != "f":
        raise ValueError(
            f"load: '{_short(key)}' in {str(path)!r} holds {_kind(dtype)}; weights must be "
            "real floating-point numbers"
        )


def _not_weights(path: Path, reason: object) -> str:
    return (f"load: {str(path)!r} is not a weights file written by save(), or it is damaged "
            f"({reason})")


def _kind(dtype: np.dtype) -> str:
    """What an array holds, in words."""
    kinds = {"c": "complex numbers", "O": "Python objects", "U": "text", "S": "bytes",
             "V": "raw records", "M": "dates", "m": "time spans", "b": "booleans",
             "i": "integers", "u": "integers", "f": "floating-point numbers"}
    return f"{kinds.get(dtype.kind, 'values')} ({dtype})"


def _check_names(who: str, own: dict, state: dict, optional: dict | None = None) -> None:
    """Every name of ``own`` in ``state``, and nothing else there but ``optional`` names."""
    missing = [key for key in own if key not in state]
    unexpected = [key for key in state if key not in own and key not in (optional or {})]
    if missing or unexpected:
        raise ValueError(
            f"load_state_dict: the weights do not fit {who}: "
            f"missing {_names(missing)}, unexpected {_names(unexpected)}"
        )


def _names(keys: list, shown: int = 5) -> str:
    """A few names, then how many more: a file of 100,000 names gives a short sentence."""
    if not keys:
        return "nothing"
    listed = "[" + ", ".join(repr(_short(str(key))) for key in keys[:shown]) + "]"
    return listed + (f" and {len(keys) - shown:,} more" if len(keys) > shown else "")


def _short(text: str, width: int = 60) -> str:
    """A name cut to ``width`` characters, so a hostile file cannot make a huge message."""
    return text if len(text) <= width else text[: width - 1] + "…"


def _parameter_shape(p: Node) -> tuple:
    return () if p.scalar else p.shape


def _checked_value(key: str, value: Any, expected: tuple) -> np.ndarray:
    """``value`` as an array of shape ``expected``, or a ValueError saying why not."""
    try:
        array = np.asarray(value)
    except (ValueError, TypeError) as error:  # ragged lists and the like
        raise ValueError(f"load_state_dict: '{key}' is not an array of numbers ({error})") from None
    if array.dtype.kind not in "fiu":
        raise ValueError(
            f"load_state_dict: '{key}' holds {_kind(array.dtype)}; weights must be real numbers"
        )
    if array.shape != expected:
        raise ValueError(
            f"load_state_dict: '{key}' has shape {array.shape} in the weights "
            f"but {expected} in the model"
        )
    _check_finite(key, array, "in the weights")
    return array


def _check_finite(key: str, array: np.ndarray, where: str) -> None:
    finite = np.isfinite(array)
    if not finite.all():
        position = tuple(int(i) for i in np.argwhere(~finite)[0])
        at = f" at {position}" if position else ""
        raise ValueError(
            f"load: '{_short(key)}' {where} holds {array[position]!r}{at}; weights must be finite "
            "numbers (the model that saved them had diverged?)"
        )


# ---------------------------------------------------------------- summary helpers


def _layer_shapes(module: Module, input_shape: tuple[int, ...] | None):
    """(name, layer, output shape or None) for each layer, found by running zeros through."""
    layers = getattr(module, "layers", None)
    if not isinstance(layers, list) or not all(isinstance(m, Module) for m in layers):
        layers = list(_children(module)) or [module]
    if input_shape is not None:
        input_shape = (input_shape,) if isinstance(input_shape, (int, np.integer)) else input_shape
        if isinstance(input_shape, (str, bytes)) or not all(
                isinstance(n, (int, np.integer)) and n >= 1 for n in input_shape):
            raise ValueError(f"summary: input_shape must be a tuple of sizes, one example's "
                             f"shape such as (2,), got {input_shape!r:.40}")
    shape = tuple(input_shape) if input_shape is not None else _first_input_shape(module)
    x: Any = None if shape is None else _zeros(module, shape)
    rows = []
    from ..autograd import no_grad

    was_training = module.training
    module.eval()
    try:
        for index, layer in enumerate(layers):
            if x is not None:
                try:
                    with no_grad():
                        x = layer(x)
                except Exception:  # a layer that cannot run on zeros: show "?" from here on
                    x = None
            rows.append((str(index), layer, None if x is None else _shape_of(x)))
    finally:
        module.train(was_training)
    return rows


def _first_input_shape(module: Module) -> tuple[int, ...] | None:
    for sub in module.modules():
        if hasattr(sub, "n_in"):
            return (sub.n_in,)
    return None


def _zeros(module: Module, shape: tuple[int, ...]) -> Any:
    from ..autograd import Tensor

    if any(p.scalar for p in module.parameters()):
        return [0.0] * int(np.prod(shape))  # scalar networks read a list of numbers
    return Tensor(np.zeros((1, *shape)))


def _shape_of(x: Any) -> tuple[int, ...]:
    if isinstance(x, Node) and not x.scalar:
        return tuple(x.shape[1:])
    if isinstance(x, (list, tuple)):
        return (len(x),)
    return (1,)
