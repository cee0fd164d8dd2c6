"""capture: record one training step as a flat program, then replay it without a graph.

    >>> step = capture(lambda x, y: bce_with_logits(model(x), y), X[:32], y[:32])
    >>> loss = step(xb, yb)          # forward and backward; every parameter's .grad is filled
    >>> print(step)                  # the program, as straight-line numpy

Eager mode builds a graph node per op, every step, and orders it before backward: about
3 µs of Python per node. A captured step is the same ops, found once, in a list: calling
it runs each op's forward and then each op's backward rule from the registry, in the order
eager backward() uses, on plain numpy arrays. No node is created and no order computed,
and the numbers are the same, bit for bit, as eager's (the same functions on the same
arrays in the same order).

What a replay does, exactly as eager ``fn(*inputs).backward()`` would:
  - returns the loss (a 0-d numpy array), or ``(loss, *extras)`` when fn returned a tuple
    (extras: arrays of tensors fn computed, such as the model's output);
  - adds each parameter's gradient into its ``.grad`` (None becomes the gradient, an
    existing array is added to: zero the gradients between steps, as with backward());
  - reads the parameters' current arrays at every call, so optimizers, which update them
    in place or assign ``.data``, work unchanged. Interior nodes get no ``.grad`` (there
    are none);
  - writes its values and gradients into arrays made once, at capture, and gives the
    parameters' ``.grad`` those arrays: the usual loop (zero_grad, step, optimizer.step)
    allocates nothing of the step's size. An array that something still holds when the
    next call starts (a ``.grad`` you kept, or did not zero) stays yours, unchanged; the
    program makes itself a new one. The returned loss and extras are always fresh.

When a program may no longer be the function (the rules; never a stale replay in silence):
  1. Shapes and dtypes: the inputs' shapes and dtypes (and the values of numbers passed
     as inputs) pick the program. Anything new captures a new program (kept beside the
     others: fit's smaller last batch has its own).
  2. Decisions on values: while capturing, every conversion of a tensor to a Python value
     (``bool(t)``, ``if t > 0``, ``t.item()``) is recorded as a guard, and re-checked at
     that point of every replay. A guard that comes out differently captures again, on
     these inputs, before anything is computed from the old path. ``if t > 0`` changes
     only when the decision does; ``t.item()`` whenever the number does (capture cannot
     see what Python does with it), so most steps capture again and a warning says so.
  3. Values that leave the graph: reading ``.data`` (or ``numpy()``) of a tensor computed
     in fn or of a parameter, and computing with it outside the graph, is refused at
     capture with a sentence: the program could not follow those numbers.
  4. Constants: capture runs fn twice, on the example inputs and on inputs changed (rows
     rolled, or values shifted). A constant of the graph that is the same in both is part
     of the program; one that follows an input (targets reshaped or cast by a loss) is
     read from that input at every replay; any other constant that changes (random
     numbers such as a dropout mask, a value computed with numpy from the inputs) is
     refused. A graph of another structure the second time is refused too.
  5. What no rule sees: Python state outside fn's inputs that changes between calls (a
     global that fn reads, a counter), or a constant computed from the inputs that the
     changed inputs leave equal. Every ``check_every`` calls (default 100) the step is
     captured afresh from fn and compared with the program; a difference raises
     CaptureError. ``check_every=0`` turns that off. After changing such state on
     purpose (a setting, a layer frozen), call ``step.recheck()``: each program is then
     compared with fn at its next call, and captured again if fn no longer gives it.
Side effects of fn outside the graph (printing, a BatchNorm's running averages) happen at
capture only; layers that have them read ``.data`` and are refused by rule 3.
"""

from __future__ import annotations

import inspect
import math
import re
import sys
import textwrap
import threading
import traceback
import warnings
from collections import deque
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from typing import Any

import numpy as np

from .engine import _fit_to_tensor, enable_grad, topological_order
from .node import Node
from .op import Op, OpError
from .tensor import Tensor, _forward_in_domain, _keep_precision, _shape_message


class CaptureError(RuntimeError):
    """capture cannot turn this function into a program it could replay faithfully."""


class CaptureWarning(UserWarning):
    """A captured step had to capture again on most calls (a guard that keeps changing)."""


# ------------------------------------------------------------------ watching a trace
#
# While fn runs under capture, a few Tensor methods report to the trace: .data (values
# leaving the graph), item() and bool() (Python decisions), and the comparisons (whose
# boolean result a decision reads). They are wrapped only while some capture is tracing,
# and report only to the thread (or asyncio task) that is tracing.

_tracing: ContextVar[_Trace | None] = ContextVar("chaingrad_capture", default=None)
_wrap_lock = threading.Lock()
_wrapped_for = [0]  # how many traces are running, in all threads
_originals: dict[str, Any] = {}
_COMPARISONS = {"__lt__": np.less, "__le__": np.less_equal, "__gt__": np.greater,
                "__ge__": np.greater_equal, "__eq__": np.equal, "__ne__": np.not_equal}


def _reporting(name: str, original: Callable) -> Callable:
    def method(self, *args):
        result = original(self, *args)
        trace = _tracing.get()
        if trace is not None:
            trace.saw(self, name, args, result)
        return result

    method.__name__ = name
    method.__doc__ = original.__doc__
    return method


def _wrap_tensor() -> None:
    with _wrap_lock:
        _wrapped_for[0] += 1
        if _wrapped_for[0] > 1:
            return
        data = Tensor.__dict__["data"]
        _originals["data"] = data
        Tensor.data = property(_reporting("data", data.fget), data.fset, None, data.__doc__)
        for name in ("item", "__bool__", *_COMPARISONS):
            _originals[name] = Tensor.__dict__[name]
            setattr(Tensor, name, _reporting(name, _originals[name]))


def _unwrap_tensor() -> None:
    with _wrap_lock:
        _wrapped_for[0] -= 1
        if _wrapped_for[0] == 0:
            for name, original in _originals.items():
                setattr(Tensor, name, original)
            _originals.clear()


def _where_in_user_code() -> str:
    """The first line outside chaingrad's own files: where a student's code did it."""
    for frame in reversed(traceback.extract_stack()[:-2]):
        path = frame.filename.replace("\\", "/")
        if not any(f"/{part}/" in path for part in ("autograd", "nn")):
            return f"{frame.filename.rsplit('/', 1)[-1]}:{frame.lineno}"
    return "inside chaingrad"


class _Trace:
    """One run of fn with the graph recorded and the conversions to Python noted.

    ``watch=False`` records the graph only, for ``matches``, which compares graphs and not
    conversions: Tensor's methods are then left as they are (no wrapping and unwrapping).
    """

    def __init__(self, fn: Callable, args: list, watch: bool = True) -> None:
        self.args = args
        self.reads: list[tuple[Tensor, str]] = []  # (tensor, where) for each .data read
        self.decisions: list[tuple[Tensor, Any, str, Any, str]] = []
        self.compared: dict[int, tuple[Tensor, Tensor, str, Any]] = {}
        if not watch:
            with enable_grad():
                self.result = fn(*args)
            return
        token = _tracing.set(self)
        _wrap_tensor()
        try:
            with enable_grad():
                self.result = fn(*args)
        finally:
            _unwrap_tensor()
            _tracing.reset(token)

    def saw(self, tensor: Tensor, name: str, args: tuple, result: Any) -> None:
        if name == "data":
            self.reads.append((tensor, _where_in_user_code()))
        elif name in _COMPARISONS:
            other = args[0]
            other = other._array if isinstance(other, Node) else other
            self.compared[id(result)] = (result, tensor, name, other)  # keeps result alive
        else:  # item() or bool(): a Python value the rest of fn may decide on
            source, comparison, other = tensor, None, None
            if id(tensor) in self.compared:
                _, source, comparison, other = self.compared[id(tensor)]
            self.decisions.append((source, comparison, other, name, result))
            self.decisions[-1] += (_where_in_user_code(),)


# ------------------------------------------------------------------ the graph of a trace


class _Graph:
    """A trace's graph as lists: leaves and op nodes in forward order, and its structure."""

    def __init__(self, trace: _Trace) -> None:
        result = trace.result
        outputs = tuple(result) if isinstance(result, (tuple, list)) else (result,)
        if not outputs or not isinstance(outputs[0], Tensor):
            got = type(outputs[0]).__name__ if outputs else "an empty tuple"
            raise CaptureError(f"capture: fn must return a loss Tensor (or a tuple whose "
                               f"first item is the loss), got {got}")
        loss = outputs[0]
        if loss.size != 1:
            raise CaptureError(f"capture: fn's loss has shape {loss.shape}; backward needs a "
                               "single number (reduce it with .sum() or .mean())")
        if loss.operation is None:
            raise CaptureError("capture: fn's loss was made by no op that needs a gradient "
                               "(no parameter with requires_grad reaches it), so there is "
                               "nothing to capture")
        self.loss, self.extras = loss, outputs[1:]
        self.backward_order = topological_order(loss, leaves=False)  # eager's own order
        self.ops = self.backward_order[::-1]
        self.slot: dict[Node, int] = {}
        self.leaves: list[Node] = []
        for node in self.ops:
            for parent in node.parents:
                if parent.operation is None and parent not in self.slot:
                    self.slot[parent] = len(self.leaves)
                    self.leaves.append(parent)
        for node in self.ops:
            self.slot[node] = len(self.slot)
        for position, extra in enumerate(self.extras, start=1):
            if not isinstance(extra, Tensor) or extra not in self.slot:
                raise CaptureError(
                    f"capture: item {position} of fn's result is not a tensor the loss was "
                    "computed from; return only the loss and tensors on its way (such as "
                    "the model's output)")

    def structure(self) -> list:
        """What must match between two traces: ops, their inputs, parameters and shapes."""
        return [(node.operation, tuple(self.slot[p] for p in node.parents),
                 _shape_of_params(node.params), node.shape, node.dtype) for node in self.ops]


def _shape_of_params(params: dict | None) -> Any:
    """An op's parameters with arrays replaced by their shape and dtype (to compare)."""
    def plain(value: Any) -> Any:
        if isinstance(value, np.ndarray):
            return ("array", value.shape, value.dtype.str)
        if isinstance(value, tuple):
            return tuple(plain(v) for v in value)
        return value
    return tuple((key, plain(value)) for key, value in (params or {}).items())


def _arrays_in(params: dict | None) -> list[tuple[str, int | None, np.ndarray]]:
    """(key, position in a tuple or None, array) for every array among an op's parameters."""
    found = []
    for key, value in (params or {}).items():
        if isinstance(value, np.ndarray):
            found.append((key, None, value))
        elif isinstance(value, tuple):
            found += [(key, i, v) for i, v in enumerate(value) if isinstance(v, np.ndarray)]
    return found


# ------------------------------------------------------------------ constants and inputs


def _follows(constant: np.ndarray, source: np.ndarray) -> bool:
    """Whether constant holds source's values, reshaped and cast (as losses do to targets)."""
    if constant is source:
        return True
    if constant.size != source.size or source.dtype.kind not in "biuf":
        return False
    with np.errstate(all="ignore"):
        derived = source.reshape(constant.shape).astype(constant.dtype, copy=False)
    return bool(np.array_equal(constant, derived, equal_nan=constant.dtype.kind == "f"))


def _view_in(constant: np.ndarray, source: np.ndarray) -> tuple | None:
    """(offset, shape, strides) when constant is a view into source's memory (a slice)."""
    if constant is source or not source.flags.c_contiguous or constant.dtype != source.dtype:
        return None
    origin = source
    if not np.may_share_memory(constant, source):  # a view of a copy of source, maybe
        origin = constant.base  # (Tensor(array) copies: a model slicing its input)
        if not (isinstance(origin, np.ndarray) and origin.flags.c_contiguous
                and origin.dtype == source.dtype and origin.size == source.size
                and np.array_equal(origin.reshape(-1), source.reshape(-1))):
            return None
    start = origin.__array_interface__["data"][0]
    offset = constant.__array_interface__["data"][0] - start
    view = _read_view(source, (offset, constant.shape, constant.strides))
    return (offset, constant.shape, constant.strides) if view is not None and _same(
        view, constant) else None


def _read_view(source: np.ndarray, recipe: tuple) -> np.ndarray | None:
    """The same slice of another array of source's shape (C-contiguous), or None."""
    offset, shape, strides = recipe
    if not source.flags.c_contiguous or offset % source.itemsize:
        return None
    last = offset + sum((n - 1) * st for n, st in zip(shape, strides)) + source.itemsize
    if any(st < 0 for st in strides) or last > source.nbytes:
        return None
    return np.ndarray(shape, source.dtype, buffer=source, offset=offset, strides=strides)


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and a.dtype == b.dtype and bool(
        np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))


def _changed(array: np.ndarray, attempt: int) -> np.ndarray | None:
    """Other values for an input, of the same shape and dtype (None: no more to try).

    Fractions are first nudged by a tiny amount, which changes every value but seldom a
    decision fn takes on them; whole numbers (labels, tokens) are first rolled along their
    rows, so class labels stay valid labels; then values are shifted by +1 or -1.
    """
    if array.size == 0:
        return array.copy() if attempt == 0 else None
    if array.dtype.kind == "b":
        return ~array if attempt == 0 else None
    whole = array.dtype.kind != "f" or bool(np.all(array == np.round(array)))
    ways = ["roll", "up", "down"] if whole else ["nudge", "roll", "up", "down"]
    if attempt >= len(ways):
        return None
    way = ways[attempt]
    if way == "nudge":
        return (array * (1 + 2.0**-20) + 2.0**-20).astype(array.dtype)
    if way == "roll":
        for axis in (0, -1):
            if array.ndim and array.shape[axis] > 1:
                rolled = np.roll(array, 1, axis=axis)
                if not _same(rolled, array):
                    return rolled
        way = "up"
    return (array + (1 if way == "up" else -1)).astype(array.dtype)


# ------------------------------------------------------------------ the program


class _Input:
    """How a replay gets one array: an input (maybe reshaped or cast), or a live tensor."""

    def __init__(self, slot: int, k: int | None = None, shape: Any = None, dtype: Any = None,
                 view: tuple | None = None) -> None:
        self.slot, self.k, self.shape, self.dtype, self.view = slot, k, shape, dtype, view

    def read(self, arrays: Sequence[np.ndarray]) -> np.ndarray:
        array = arrays[self.k]
        if self.view is not None:  # a slice of the input (an RNN's time step)
            return _read_view(np.ascontiguousarray(array), self.view)
        if self.shape is not None:
            array = array.reshape(self.shape).astype(self.dtype, copy=False)
        return array


class _Stale(Exception):
    """A guard came out differently on this replay."""


class Program:
    """One captured step for one signature of inputs: slots, forward and backward lists."""

    def __init__(self, fn: Callable, inputs: list, names: dict[int, str]) -> None:
        self.fn = fn
        arrays = [_array_of_input(x) for x in inputs]
        first = _Trace(fn, inputs)
        graph = _Graph(first)
        self._refuse_escapes(first, graph, inputs)
        second = self._second_trace(fn, inputs, graph)
        self.graph = graph
        self.count = len(graph.slot)
        self.live: list[tuple[int, Tensor]] = []  # parameters and buffers, read each call
        self.from_inputs: list[_Input] = []
        self.baked: dict[int, np.ndarray] = {}
        self.baked_params: dict[tuple, np.ndarray] = {}  # arrays among ops' parameters
        self.grad_targets: list[tuple[int, int | None, Tensor | None]] = []
        self.fitted: set[tuple[int, int]] = set()  # (op slot, input): broadcasting undone
        self.facts: set[tuple] = set()  # what the example's replay met, for the fast code
        self._classify_leaves(graph, second, inputs, arrays)
        self.op_params = [self._params_of(i, node, second, arrays)
                          for i, node in enumerate(graph.ops)]
        self.guards = self._guards(first, graph, inputs)
        self.forward_steps = [self._forward_step(i, node) for i, node in enumerate(graph.ops)]
        self.backward_steps = [self._backward_step(node) for node in graph.backward_order]
        self.loss_slot = graph.slot[graph.loss]
        self.extra_slots = [graph.slot[x] for x in graph.extras]
        self.returns_tuple = isinstance(first.result, (tuple, list))
        self.has_tensors = any(isinstance(x, Tensor) for x in inputs)  # as every input's key
        self.structure = graph.structure()
        self.names = self._names(graph, inputs, names)
        self._check_against_eager(graph, inputs, arrays)
        # The trace's nodes are not needed any more: keep only what replay and print use.
        self.ops = [(node.operation, tuple(graph.slot[p] for p in node.parents), node.params,
                     node.shape, node.dtype) for node in graph.ops]
        self.backward_order = [graph.slot[node] for node in graph.backward_order]
        self.leaf_shapes = {graph.slot[leaf]: (leaf.shape, leaf.dtype) for leaf in graph.leaves}
        self.requires = {graph.slot[leaf] for leaf in graph.leaves if leaf.requires_grad}
        del self.graph

    # -- capture: refusals and the second trace

    @staticmethod
    def _refuse_escapes(trace: _Trace, graph: _Graph, inputs: list) -> None:
        for tensor, where in trace.reads:
            if tensor in graph.slot and (tensor.operation is not None or tensor.requires_grad):
                if any(tensor is x for x in inputs):
                    continue  # an input's own values: the constants check follows them
                what = f"'{tensor.name}'" if tensor.name else (
                    f"the result of '{tensor.operation.name}'" if tensor.operation
                    else f"a parameter of shape {tensor.shape}")
                raise CaptureError(
                    f"capture: fn reads the values of {what} (.data, at {where}) and computes "
                    "with them outside the graph; a replay could not follow those numbers. "
                    "Use tensor ops instead, or leave that part out of the captured function")

    @staticmethod
    def _second_trace(fn: Callable, inputs: list, graph: _Graph) -> _Graph:
        """fn again on other values of the same shapes: its constants must be explained."""
        error, other_graph = None, False
        for attempt in range(4):
            arrays = [_changed(_array_of_input(x), attempt) if _is_array_input(x) else x
                      for x in inputs]
            if all(a is None for a, x in zip(arrays, inputs) if _is_array_input(x)):
                break
            changed = [x if not _is_array_input(x) else _with_values(
                x, a if a is not None else _array_of_input(x)) for x, a in zip(inputs, arrays)]
            try:
                second = _Graph(_Trace(fn, changed))
            except (OpError, ValueError, IndexError, CaptureError) as caught:
                error = caught
                continue
            if second.structure() != graph.structure():
                other_graph = True  # a decision went the other way: try other values
                continue
            second.args = changed
            return second
        if other_graph:
            raise CaptureError(
                "capture: fn builds a different graph whenever the inputs hold other values "
                "(a Python decision on the numbers that capture could not see?), so no "
                "single program stands for it; keep such decisions out of the function")
        raise CaptureError(f"capture: fn failed on inputs of the same shapes with other "
                           f"values, so capture cannot tell its constants from its inputs "
                           f"({error})")

    def _classify_leaves(self, graph: _Graph, second: _Graph, inputs: list,
                         arrays: list) -> None:
        changed_arrays = [_array_of_input(x) for x in second.args]
        for leaf, other in zip(graph.leaves, second.leaves):
            slot = graph.slot[leaf]
            k = next((k for k, x in enumerate(inputs) if x is leaf), None)
            if k is not None:
                self.from_inputs.append(_Input(slot, k))
                if leaf.requires_grad:
                    self.grad_targets.append((slot, k, None))
                continue
            if other is leaf:  # the same tensor both times: a parameter or a buffer
                self.live.append((slot, leaf))
                if leaf.requires_grad:
                    self.grad_targets.append((slot, None, leaf))
                continue
            where = self._where(graph, leaf)
            self._constant(slot, leaf._array, other._array, arrays, changed_arrays, where)

    def _constant(self, slot: Any, value: np.ndarray, other: np.ndarray, arrays: list,
                  changed: list, where: str) -> None:
        for k, (a, b) in enumerate(zip(arrays, changed)):
            view = None
            if a is not None and value is not a and value.size != a.size:  # a slice of a
                view = _view_in(value, a)
            if view is not None:
                again = _read_view(b, view)
                if again is not None and _same(again, other):
                    self.from_inputs.append(_Input(slot, k, view=view))
                    return
            if a is None or not _follows(value, a) or not _follows(other, b):
                continue
            identity = value is a or (value.shape == a.shape and value.dtype == a.dtype
                                      and np.may_share_memory(value, a))  # a's own memory
            if _same(a, b) and not identity:
                continue  # the input did not change, so this proves nothing
            shape = None if identity else value.shape
            self.from_inputs.append(_Input(slot, k, shape, None if identity else value.dtype))
            return
        if _same(value, other):
            if isinstance(slot, int):  # kept, not copied: a change made in place is followed
                self.baked[slot] = value
            else:  # the op's parameters keep it; remembered to compare (check_every)
                self.baked_params[slot] = value
            return
        raise CaptureError(
            f"capture: {where} is a constant that changes from call to call (random numbers "
            "such as a dropout mask, a value computed with numpy from the inputs, or the "
            "output of a frozen layer, whose ops record no graph when its weights need no "
            "gradient), so a replay would repeat a stale copy of it. Make it an input of fn, "
            "build it with tensor ops, turn dropout off (model.eval()), or train a model with "
            "frozen first layers without capture")

    @staticmethod
    def _where(graph: _Graph, leaf: Node) -> str:
        for node in graph.ops:
            for n, parent in enumerate(node.parents):
                if parent is leaf:
                    return f"input {n} of '{node.operation.name}'"
        return "a leaf"  # pragma: no cover

    def _params_of(self, i: int, node: Node, second: _Graph, arrays: list) -> Any:
        """The op's parameters: fixed, or a function of the inputs when one follows them."""
        params = node.params
        found = _arrays_in(params)
        if not found:
            return params
        others = _arrays_in(second.ops[i].params)
        changed = [_array_of_input(x) for x in second.args]
        recipes = []
        for (key, position, value), (_, _, other) in zip(found, others):
            before = len(self.from_inputs)
            self._constant((i, key, position), value, other, arrays, changed,
                           f"the parameter {key} of '{node.operation.name}'")
            if len(self.from_inputs) > before:
                recipes.append(self.from_inputs.pop())
        if not recipes:
            return params
        return (params, recipes)  # rebuilt at each replay from the inputs

    def _guards(self, trace: _Trace, graph: _Graph, inputs: list) -> dict[int, list]:
        """Decisions fn took on values, to re-check at each replay right after their slot."""
        guards: dict[int, list] = {}
        for source, comparison, other, kind, value, where in trace.decisions:
            if source not in graph.slot:
                if source.operation is None and not source.requires_grad and not any(
                        source is x for x in inputs):
                    continue  # a constant of fn's own: it cannot change
                raise CaptureError(
                    f"capture: fn decides on a value that is not part of the loss's graph "
                    f"({kind}() at {where}), so a replay could not check that decision; "
                    "compute it from the graph's tensors or outside the captured function")
            guards.setdefault(graph.slot[source], []).append(
                (_COMPARISONS.get(comparison), other, kind, value, where))
        # a guard on a leaf is checked before the ops run: put it on the first op
        return guards

    # -- replay

    def _forward_step(self, i: int, node: Node) -> Callable:
        op, params = node.operation, self.op_params[i]
        ins = tuple(self.graph.slot[p] for p in node.parents)
        out = self.graph.slot[node]
        checks = self.guards.get(out)
        forward, facts = op.forward, self.facts
        recipes = None
        if isinstance(params, tuple):
            params, recipes = params

        def run(values: list, arrays: list) -> None:
            datas = [values[j] for j in ins]
            given = params
            if recipes is not None:
                given = _rebuilt(params, recipes, arrays)
            try:
                if op.leaves_domain:
                    data = _forward_in_domain(op, datas, given)
                else:
                    data = forward(*datas) if given is None else forward(*datas, **given)
            except OpError:
                raise
            except (ArithmeticError, ValueError, TypeError, IndexError) as error:
                raise OpError(_shape_message(op, datas, given, error)) from None
            if type(data) is not np.ndarray:
                data = np.asarray(data)
                facts.add(("asarray", out))
            if data.dtype != datas[0].dtype:
                data = _keep_precision(data, datas)
                facts.add(("keep", out))
            values[out] = data
            if checks is not None:
                _check(checks, data)

        return run

    def _backward_step(self, node: Node) -> Callable:
        op = node.operation
        graph = self.graph
        ins = tuple(graph.slot[p] for p in node.parents)
        out = graph.slot[node]
        wanted = [p.requires_grad for p in node.parents]
        params = node.params or {}
        if op.selective_backward:
            params = {**params, "needs_grad": tuple(wanted)}
        recipes = None
        node_params = self.op_params[out - len(graph.leaves)]
        if isinstance(node_params, tuple):
            node_params, recipes = node_params
        extra = {"needs_grad": tuple(wanted)} if op.selective_backward else {}
        backward, fitted, facts = op.backward, self.fitted, self.facts
        targets = [(n, slot) for n, (slot, want) in enumerate(zip(ins, wanted)) if want]

        def run(values: list, grads: list, arrays: list) -> None:
            grad_out = grads[out]
            if grad_out is None:
                facts.add(("no gradient", out))
                return
            given = params if recipes is None else {
                **_rebuilt(node_params, recipes, arrays), **extra}
            datas = [values[j] for j in ins]
            sent = backward(grad_out, values[out], *datas, **given)
            if len(sent) != len(ins):
                raise RuntimeError(f"{op.name}: backward returned {len(sent)} gradients for "
                                   f"{len(ins)} inputs (it must return one per input)")
            for n, slot in targets:  # eager's own accumulation, in eager's order
                grad = sent[n]
                if grad is None:
                    facts.add(("none sent", out, n))
                    continue
                data = datas[n]
                if type(grad) is not np.ndarray or grad.shape != data.shape or (
                        grad.dtype != data.dtype):
                    grad = _fit_to_tensor(grad, data, op, n)
                    fitted.add((out, n))
                previous = grads[slot]
                grads[slot] = grad if previous is None else previous + grad

        return run

    def run(self, arrays: list) -> tuple[list, list]:
        """Forward then backward on these input arrays: (values, gradients) by slot."""
        values = [None] * self.count
        for slot, tensor in self.live:
            values[slot] = tensor._array
        for entry in self.from_inputs:
            values[entry.slot] = entry.read(arrays)
        for slot, array in self.baked.items():
            values[slot] = array
        for slot, checks in self.guards.items():
            if values[slot] is not None:  # a decision on a leaf (an input's values)
                _check(checks, values[slot])
        for step in self.forward_steps:
            step(values, arrays)
        grads = [None] * self.count
        loss = values[self.loss_slot]
        grads[self.loss_slot] = np.array(1, dtype=loss.dtype).reshape(loss.shape)
        for step in self.backward_steps:
            step(values, grads, arrays)
        return values, grads

    def verify(self, fn: Callable, inputs: list, arrays: list) -> None:
        """check_every: fn traced again on these inputs must give this program, or
        CaptureError (calls since the last check may have used the old program)."""
        if not self.matches(fn, inputs, arrays):
            raise CaptureError(
                "capture: the function no longer gives the program being replayed (a "
                "constant, the graph or which parameters require gradients changed: a global "
                "it reads, a setting changed between calls, a layer frozen?). Calls since the "
                "last check (check_every) may have used the old program; capture the step "
                "again after such a change, or call step.recheck() right after it")

    def matches(self, fn: Callable, inputs: list, arrays: list) -> bool:
        """Whether fn traced again on these inputs gives this program.

        One eager forward: the same ops with the same inputs and parameters, the same
        tensors where the program reads live ones, the same of them requiring gradients
        (a layer frozen since would still get one), and every constant the same or read
        from the inputs as the program reads it.
        """
        trace = _Trace(fn, inputs, watch=False)
        graph = _Graph(trace)
        leaves = {slot: leaf for leaf, slot in graph.slot.items() if leaf.operation is None}
        same = graph.structure() == self.structure and len(leaves) == len(self.leaf_shapes)
        same = same and {slot for slot, leaf in leaves.items() if leaf.requires_grad} == (
            self.requires)
        for slot, tensor in self.live if same else ():
            same = same and leaves[slot] is tensor
        for entry in self.from_inputs if same else ():
            if isinstance(entry.slot, int):
                same = same and _same(leaves[entry.slot]._array, entry.read(arrays))
        for slot, value in self.baked.items() if same else ():
            same = same and _same(leaves[slot]._array, value)
        for (i, key, position), value in self.baked_params.items() if same else ():
            found = graph.ops[i].params[key]
            same = same and _same(found if position is None else found[position], value)
        recipes = [entry for params in self.op_params if isinstance(params, tuple)
                   for entry in params[1]]
        for entry in recipes if same else ():  # arrays among parameters that follow inputs
            i, key, position = entry.slot
            found = graph.ops[i].params[key]
            same = same and _same(found if position is None else found[position],
                                  entry.read(arrays))
        return same

    def _check_against_eager(self, graph: _Graph, inputs: list, arrays: list) -> None:
        """Replay the example once and compare with eager backward(), bit for bit.

        Both the step-by-step ``run`` and the compiled function are compared; the
        gradients the tensors held before are put back afterwards. The compiled function
        writes into kept arrays (see _INTO) when it can; if that ever differed from eager,
        the program would do without them (each rule then makes its own arrays).
        """
        targets = [graph.leaves[slot] for slot, _, _ in self.grad_targets]
        saved = [t.grad for t in targets]
        try:
            for t in targets:
                t.grad = None
            graph.loss.backward()
            eager = [t.grad for t in targets]
            for t in targets:
                t.grad = None
            values, grads = self.run(arrays)
            same = _same(values[self.loss_slot], graph.loss._array) and all(
                (e is None and grads[slot] is None) or (
                    e is not None and grads[slot] is not None and _same(e, grads[slot]))
                for e, (slot, _, _) in zip(eager, self.grad_targets))
            for kept in (True, False):
                self.replay = self._compile(arrays, kept)
                loss, _, returned = self.replay(arrays)
                returned = iter(returned)
                fast = [next(returned) if tensor is None else tensor.grad
                        for _, _, tensor in self.grad_targets]
                for t in targets:
                    t.grad = None
                if _same(loss, graph.loss._array) and all(
                        (e is None and f is None) or (
                            e is not None and f is not None and _same(e, f))
                        for e, f in zip(eager, fast)):
                    break
            else:
                same = False
        finally:
            for t, grad in zip(targets, saved):
                t.grad = grad
        if not same:  # pragma: no cover - a bug in capture, never the student's
            raise CaptureError("capture: the replayed step differs from eager backward() on "
                               "the example inputs; please report this")

    def _compile(self, examples: list, kept: bool = True) -> Callable:
        """The program as one Python function: each op's rule called on local variables.

        The same calls as the step-by-step ``run`` (and as eager), in the same order, minus
        the bookkeeping that the example's replay showed to be unneeded for these shapes
        (undoing broadcasting where no gradient needed it, converting numpy scalars).
        With ``kept``, the commonest rules write into arrays made once (_INTO) instead.
        """
        graph, facts = self.graph, self.facts
        first_op = len(graph.leaves)
        space: dict[str, Any] = {"_check": _check, "_rebuilt": _rebuilt, "_fit": _fit_to_tensor,
                                 "_domain": _forward_in_domain, "_keep": _keep_precision,
                                 "_asarray": np.asarray, "_seed": _seed_like, "np": np,
                                 "_renew": _renew, "_mean": _mean, "__name__": __name__,
                                 "_isfinite": math.isfinite}
        arrays_kept = _Kept(space, self.loss_slot, graph.loss)
        lines = ["def replay(arrays):"]
        for slot, tensor in self.live:
            space[f"T{slot}"] = tensor
            lines.append(f"    v{slot} = T{slot}._array")
        for entry in self.from_inputs:
            if isinstance(entry.slot, int):
                example = examples[entry.k]
                if entry.view is None and (entry.shape is None or (
                        entry.shape == example.shape and entry.dtype == example.dtype)):
                    lines.append(f"    v{entry.slot} = arrays[{entry.k}]")  # as it is
                else:
                    space[f"I{entry.slot}"] = entry
                    lines.append(f"    v{entry.slot} = I{entry.slot}.read(arrays)")
        for slot, array in self.baked.items():
            space[f"C{slot}"] = array
            lines.append(f"    v{slot} = C{slot}")
        for slot, checks in self.guards.items():
            space[f"K{slot}"] = checks
            if slot < first_op:
                lines.append(f"    _check(K{slot}, v{slot})")
        for i, node in enumerate(graph.ops):
            out, op = first_op + i, node.operation
            args = ", ".join(f"v{graph.slot[p]}" for p in node.parents)
            params = self.op_params[i]
            space[f"OP{out}"], space[f"F{out}"] = op, op.forward
            into = _INTO.get(op.name) if kept else None
            if into is not None and into.fits(node, params):
                ins = [graph.slot[p] for p in node.parents]
                reads = self._param_reads(out, params, space, examples)
                lines += into.forward(out, ins, reads, node, arrays_kept)
            else:
                given = ""
                if isinstance(params, tuple):
                    space[f"PP{out}"], space[f"R{out}"] = params
                    lines.append(f"    P{out} = _rebuilt(PP{out}, R{out}, arrays)")
                    given = f"P{out}"
                elif params is not None:
                    space[f"P{out}"] = params
                    given = f"P{out}"
                if op.leaves_domain:
                    lines.append(f"    v{out} = _domain(OP{out}, [{args}], {given or None})")
                else:
                    lines.append(f"    v{out} = F{out}({args}{', **' + given if given else ''})")
            if ("asarray", out) in facts:
                lines.append(f"    v{out} = _asarray(v{out})")
            if ("keep", out) in facts:
                lines.append(f"    v{out} = _keep(v{out}, [{args}])")
            if out in self.guards:
                lines.append(f"    _check(K{out}, v{out})")
        lines.append(f"    g{self.loss_slot} = _seed(v{self.loss_slot})")
        written: set[int] = set()
        targets = {slot for slot, _, _ in self.grad_targets}
        for node in graph.backward_order:
            out, op = graph.slot[node], node.operation
            if ("no gradient", out) in facts:
                continue
            ins = [graph.slot[p] for p in node.parents]
            wanted = tuple(p.requires_grad for p in node.parents)
            params = self.op_params[out - first_op]
            space[f"B{out}"] = op.backward
            into = _INTO.get(op.name) if kept else None
            if into is not None and into.fits(node, params):
                sent = into.backward(out, ins, wanted, node, arrays_kept)
                lines += sent[0]
                sent = sent[1]
            else:
                lines += self._backward_call(out, op, ins, wanted, params, space)
                sent = [f"s[{n}]" for n in range(len(ins))]
            for n, (j, want) in enumerate(zip(ins, wanted)):
                if not want or ("none sent", out, n) in facts:
                    continue
                grad = sent[n]
                if j in targets:  # this gradient leaves the replay (a .grad): watch it
                    arrays_kept.hand(grad)
                if (out, n) in self.fitted:
                    grad = f"_fit({grad}, v{j}, OP{out}, {n})"
                if j not in written:
                    lines.append(f"    g{j} = {grad}")
                elif kept:  # g + grad, into an array of its own (gradients add up there)
                    shape, dtype = self._shape_and_dtype(j)
                    name = arrays_kept.new(f"A{j}", shape, dtype)
                    lines.append(f"    g{j} = np.add(g{j}, {grad}, out={name})")
                    if j in targets:
                        arrays_kept.hand(name)
                else:
                    lines.append(f"    g{j} = g{j} + {grad}")
                written.add(j)
        for slot, _, tensor in self.grad_targets:  # as backward(): None, or add to it
            if tensor is not None and slot in written:
                lines.append(f"    T{slot}.grad = g{slot} if T{slot}.grad is None else "
                             f"T{slot}.grad + g{slot}")
        returned = ", ".join(f"g{slot}" if slot in written else "None"
                             for slot, _, tensor in self.grad_targets if tensor is None)
        def fresh(slot: int) -> str:  # never hand out a kept array (or a view of one)
            made = not arrays_kept.arrays or slot in arrays_kept.fresh
            return f"v{slot}" if made else f"v{slot}.copy()"

        extras = ", ".join(fresh(graph.slot[x]) for x in graph.extras)
        lines.append(f"    return {fresh(self.loss_slot)}, ({extras}{',' if extras else ''}), "
                     f"({returned}{',' if returned else ''})")
        seed = f"    g{self.loss_slot} = _seed(v{self.loss_slot})"
        if not any(re.search(rf"\bg{self.loss_slot}\b", line) for line in lines if line != seed):
            lines.remove(seed)  # the loss's kept form divided the seed once, at capture
        lines[1:1] = arrays_kept.prologue()
        self.kept = len(arrays_kept.arrays)  # arrays the replay writes into (0: none)
        self.source = "\n".join(_release_early(lines))
        exec(compile(self.source, "<captured step>", "exec"), space)  # our own text, no input
        return space["replay"]

    def _backward_call(self, out: int, op: type[Op], ins: list[int], wanted: tuple,
                       params: Any, space: dict) -> list[str]:
        """The line calling the op's own backward rule: s = B(g, out, *inputs, **params)."""
        args = "".join(f", v{j}" for j in ins)
        extra = {"needs_grad": wanted} if op.selective_backward else {}
        lines = []
        if isinstance(params, tuple):
            space[f"QQ{out}"], space[f"R{out}"], space[f"X{out}"] = params[0], params[1], extra
            lines.append(f"    Q{out} = {{**_rebuilt(QQ{out}, R{out}, arrays), **X{out}}}")
            given = f", **Q{out}"
        elif params or extra:
            space[f"Q{out}"] = {**(params or {}), **extra}
            given = f", **Q{out}"
        else:
            given = ""
        return lines + [f"    s = B{out}(g{out}, v{out}{args}{given})"]

    def _param_reads(self, out: int, params: Any, space: dict, examples: list) -> dict:
        """An expression per parameter of op ``out`` for a kept form: a constant of the
        program, or this call's input when the parameter follows one (a loss's targets)."""
        recipes = {}
        if isinstance(params, tuple):
            params, found = params
            recipes = {entry.slot[1]: entry for entry in found if entry.slot[2] is None}
        reads = {}
        for key, value in (params or {}).items():
            entry = recipes.get(key)
            if entry is None:
                space[f"C{out}_{key}"] = value
                reads[key] = f"C{out}_{key}"
            elif entry.view is None and (entry.shape is None or (
                    entry.shape == examples[entry.k].shape
                    and entry.dtype == examples[entry.k].dtype)):
                reads[key] = f"arrays[{entry.k}]"  # the input as it is
            else:
                space[f"I{out}_{key}"] = entry
                reads[key] = f"I{out}_{key}.read(arrays)"
        return reads

    def _shape_and_dtype(self, slot: int) -> tuple:
        graph = self.graph
        first_op = len(graph.leaves)
        node = graph.leaves[slot] if slot < first_op else graph.ops[slot - first_op]
        return node.shape, node.dtype

    # -- names for print

    def _names(self, graph: _Graph, inputs: list, known: dict[int, str]) -> dict[int, str]:
        names: dict[int, str] = {}
        used: set[str] = set()

        def claim(slot: int, name: str) -> None:
            name = "".join(c if c.isalnum() or c == "_" else "_" for c in name) or "t"
            if name[0].isdigit():
                name = "t" + name
            base, n = name, 1
            while name in used:
                n += 1
                name = f"{base}_{n}"
            used.add(name)
            names[slot] = name

        for entry in self.from_inputs:
            if isinstance(entry.slot, int):
                claim(entry.slot, known.get(-1 - entry.k, f"input{entry.k}"))
        for slot, tensor in self.live:
            claim(slot, tensor.name or known.get(id(tensor)) or f"param{slot}")
        for slot in self.baked:
            if isinstance(slot, int):
                claim(slot, f"const{slot}")
        counts: dict[str, int] = {}
        for node in graph.ops:
            stem = _STEMS.get(node.operation.name, node.operation.name)
            counts[stem] = counts.get(stem, 0) + 1
            claim(graph.slot[node], f"{stem}{counts[stem]}")
        return names


# The course's letters for the values a network computes: z = x @ W + b, h = f(z).
_STEMS = {"linear": "z", "matmul": "z", "tanh": "h", "sigmoid": "h", "relu": "h",
          "bce_with_logits_mean": "loss", "cross_entropy": "loss"}


def _release_early(lines: list[str]) -> list[str]:
    """Delete each value and gradient after its last use, so numpy can reuse its memory
    during the step (eager keeps the whole graph until the step ends)."""
    last: dict[str, int] = {}
    for i, line in enumerate(lines[1:-1], start=1):
        for name in re.findall(r"\b[vgs]\d*\b", line):
            last[name] = i
    returned = set(re.findall(r"\b[vg]\d+\b", lines[-1]))
    ending: dict[int, list[str]] = {}
    for name, i in last.items():
        if name not in returned and name != "s":
            ending.setdefault(i, []).append(name)
    out = []
    for i, line in enumerate(lines):
        out.append(line)
        if i in ending:
            out.append(f"    del {', '.join(sorted(ending[i]))}")
    return out


def _seed_like(loss: np.ndarray) -> np.ndarray:
    """backward()'s seed: 1 in the loss's shape and dtype."""
    return np.array(1, dtype=loss.dtype).reshape(loss.shape)


def _check(checks: list, value: np.ndarray) -> None:
    for comparison, other, kind, recorded, where in checks:
        seen = value if comparison is None else comparison(value, other)
        now = seen.item() if kind == "item" else bool(seen)
        if now != recorded and not (now != now and recorded != recorded):
            raise _Stale(f"{kind}() at {where} gave {now!r} instead of {recorded!r}")


def _rebuilt(params: dict, recipes: list, arrays: list) -> dict:
    """An op's parameters with the arrays that follow inputs read from this call's inputs."""
    given = dict(params)
    for entry in recipes:
        _, key, position = entry.slot
        array = entry.read(arrays)
        if position is None:
            given[key] = array
        else:
            parts = list(given[key])
            parts[position] = array
            given[key] = tuple(parts)
    return given


# ------------------------------------------------------------------ kept arrays
#
# Eager mode makes a new array for every value and every gradient, every step. A replay
# needs the same arrays at every call, so the commonest rules below write into arrays made
# once at capture (numpy's out=), with the same numpy calls on the same operands as the
# op's own rule, so the same numbers, bit for bit (capture compares them with eager on the
# example, and does without kept arrays if they ever differed; numpy's out is given by
# position, which costs less than the keyword on small arrays). Other ops run their own
# rule. The rule for who owns a kept array: the program, unless something outside it still
# holds the array when the next replay starts (a parameter's .grad not zeroed, a gradient
# the user kept, a view of it): then the holder keeps it and the program makes a new one
# (_renew). A replay returns the loss and fn's extra results as fresh arrays. The kept
# arrays are the program's: one captured step is not for two threads at the same time.


class _Kept:
    """The arrays a compiled replay writes into, made once; space["KEPT"] holds them."""

    def __init__(self, space: dict, loss_slot: int, loss: Node) -> None:
        self.arrays: list[np.ndarray] = []
        self.names: list[str] = []
        self.fresh: set[int] = set()  # values made anew at every call (a loss's number)
        self.handed: set[str] | None = set()  # kept arrays given to a .grad (None: any)
        self.space = space
        self.loss_slot, self.loss = loss_slot, loss
        space["KEPT"] = self.arrays

    def new(self, name: str, shape: tuple, dtype: Any) -> str:
        if name not in self.names:
            self.arrays.append(np.empty(shape, dtype))
            self.names.append(name)
        return name

    def share(self, out: int, n: int) -> str:
        """g / n for op out's gradient g: a constant when out is the loss, whose gradient
        is backward's seed, 1 (the same division eager does, done once)."""
        if out != self.loss_slot:
            return f"g{out} / {n}"
        one = _seed_like(np.zeros(self.loss.shape, self.loss.dtype))
        self.space[f"SHARE{out}"] = one / n
        return f"SHARE{out}"

    def rows(self, n: int) -> None:
        """ROWS{n}: np.arange(n), the row numbers that pick each row's label."""
        self.space[f"ROWS{n}"] = np.arange(n)

    def hand(self, expression: str) -> None:
        """Note a gradient the replay hands out (to a .grad): a kept array, which someone may
        still hold at the next call, or another rule's result (a view of any kept array?)."""
        if self.handed is not None:
            if expression in self.names:
                self.handed.add(expression)
            else:
                self.handed = None  # not known: watch them all

    def prologue(self) -> list[str]:
        """The replay's first lines: renew the arrays someone holds, then name them.

        Only the arrays handed out can be held outside: the others are the program's own,
        read by the kept forms alone (the loss and extras it returns are copies or new).
        """
        if not self.arrays:
            return []
        unpack = f"    {', '.join(self.names)}, = KEPT"
        if self.handed is None:
            return ["    _renew(KEPT)", unpack]
        if not self.handed:
            return [unpack]
        self.space["WATCHED"] = [self.names.index(name) for name in sorted(self.handed)]
        return ["    _renew(KEPT, WATCHED)", unpack]


# How many references sys.getrefcount sees for an array that only a list holds.
_ALONE = max(map(sys.getrefcount, [np.empty(0)]))


def _renew(arrays: list, watched: list[int] | None = None) -> None:
    """Give each kept array that something else still holds to its holder: make a new one.
    ``watched``: the positions of the only arrays that can be held (None: all of them)."""
    if watched is None:
        if max(map(sys.getrefcount, arrays)) > _ALONE:
            _renew(arrays, list(range(len(arrays))))
        return
    for k in watched:
        if sys.getrefcount(arrays[k]) > _ALONE:
            arrays[k] = np.empty_like(arrays[k])


def _floats(node: Node, *, params: bool = False) -> bool:
    """Whether an op's inputs and result are arrays of one dtype, float32 or float64 (the
    kept forms are written for those), and it has no parameters (unless ``params``)."""
    dtype = node.dtype
    return dtype in (np.float32, np.float64) and (params or node.params is None) and all(
        p.dtype == dtype for p in node.parents)


def _mean(values: np.ndarray) -> Any:
    """values.mean() of floats, as numpy computes it: the sum, divided by the count in
    float64, rounded to the sum's type. Python's float division is that float64 division,
    without the cost of numpy's Python wrapper and of its arithmetic on scalars."""
    total = np.add.reduce(values, None)
    return total.dtype.type(float(total) / values.size)


class _Linear:
    """linear: x @ W + b; G @ W.T, x.T @ G, G.sum(axis=0) (x a matrix)."""

    @staticmethod
    def fits(node: Node, params: Any) -> bool:
        x, w, b = node.parents
        return _floats(node) and x.ndim == 2 and w.ndim == 2 and b.ndim == 1

    @staticmethod
    def forward(out: int, ins: list, reads: dict, node: Node, kept: _Kept) -> list[str]:
        x, w, b = ins
        o = kept.new(f"O{out}", node.shape, node.dtype)
        # eager's overflow check, written out: if the sum of the squares (one dot product)
        # is finite, every element is (a nan or an infinity would make it nan or infinite);
        # if not, eager's own check runs (_domain: its sentence, or eager's value when an
        # input was not finite, or when large finite squares overflowed)
        return [f"    np.matmul(v{x}, v{w}, {o})",
                f"    np.add({o}, v{b}, {o})",
                f"    f{out} = {o}.ravel()",
                f"    v{out} = {o} if _isfinite(f{out}.dot(f{out})) else "
                f"_domain(OP{out}, [v{x}, v{w}, v{b}], None)"]

    @staticmethod
    def backward(out: int, ins: list, wanted: tuple, node: Node, kept: _Kept) -> tuple:
        x, w, b = ins
        names = [kept.new(f"G{out}_{n}", p.shape, p.dtype) if want else None
                 for n, (p, want) in enumerate(zip(node.parents, wanted))]
        lines = []
        if wanted[0]:
            lines.append(f"    np.matmul(g{out}, v{w}.T, {names[0]})")
        if wanted[1]:
            lines.append(f"    np.matmul(v{x}.T, g{out}, {names[1]})")
        if wanted[2]:
            lines.append(f"    np.add.reduce(g{out}, 0, None, {names[2]})")
        return lines, names


class _Relu:
    """relu: np.maximum(x, 0); G * (x > 0)."""

    @staticmethod
    def fits(node: Node, params: Any) -> bool:
        return _floats(node)

    @staticmethod
    def forward(out: int, ins: list, reads: dict, node: Node, kept: _Kept) -> list[str]:
        o = kept.new(f"O{out}", node.shape, node.dtype)
        return [f"    v{out} = np.maximum(v{ins[0]}, 0, out={o})"]

    @staticmethod
    def backward(out: int, ins: list, wanted: tuple, node: Node, kept: _Kept) -> tuple:
        mask = kept.new(f"M{out}", node.shape, bool)
        grad = kept.new(f"G{out}_0", node.shape, node.dtype)
        # numpy would cast the mask to 1.0 and 0.0 in a buffer it makes at every call:
        # cast it into the gradient's array first, then multiply in place.
        return [f"    np.greater(v{ins[0]}, 0, {mask})",
                f"    np.copyto({grad}, {mask})",
                f"    np.multiply(g{out}, {grad}, {grad})"], [grad]


class _Tanh:
    """tanh: np.tanh(x); G * (1 - out * out)."""

    fits = _Relu.fits

    @staticmethod
    def forward(out: int, ins: list, reads: dict, node: Node, kept: _Kept) -> list[str]:
        o = kept.new(f"O{out}", node.shape, node.dtype)
        return [f"    v{out} = np.tanh(v{ins[0]}, {o})"]

    @staticmethod
    def backward(out: int, ins: list, wanted: tuple, node: Node, kept: _Kept) -> tuple:
        grad = kept.new(f"G{out}_0", node.shape, node.dtype)
        return [f"    np.multiply(v{out}, v{out}, {grad})",
                f"    np.subtract(1, {grad}, {grad})",
                f"    np.multiply(g{out}, {grad}, {grad})"], [grad]


class _CrossEntropy:
    """cross_entropy with class indices: the softmax's exponentials are computed once, in
    forward, and backward divides them by their row sums (eager's Softmax computes the
    same exponentials again)."""

    @staticmethod
    def fits(node: Node, params: Any) -> bool:
        logits = node.parents[0]
        target = node.params.get("target") if node.params else None
        return (_floats(node, params=True) and logits.ndim == 2 and len(node.params) == 1
                and isinstance(target, np.ndarray) and target.ndim == 1
                and target.dtype.kind in "iu")

    @staticmethod
    def forward(out: int, ins: list, reads: dict, node: Node, kept: _Kept) -> list[str]:
        z = ins[0]
        n, classes = node.parents[0].shape
        dtype = node.dtype
        top, shifted = kept.new(f"M{out}", (n, 1), dtype), kept.new(f"S{out}", (n, classes), dtype)
        e, total = kept.new(f"E{out}", (n, classes), dtype), kept.new(f"Z{out}", (n,), dtype)
        kept.rows(n)
        kept.fresh.add(out)  # _mean makes a new number (or _domain a new array)
        return [f"    np.maximum.reduce(v{z}, 1, None, {top}, True)",
                f"    np.subtract(v{z}, {top}, {shifted})  # shifted: the largest is 0",
                f"    t{out} = {reads['target']}",
                f"    np.exp({shifted}, {e})",
                f"    np.add.reduce({e}, 1, None, {total})",
                f"    v{out} = _mean(np.log({total}) - {shifted}[ROWS{n}, t{out}])",
                f"    if not _isfinite(v{out}):",
                f"        v{out} = _domain(OP{out}, [v{z}], {{'target': t{out}}})"]

    @staticmethod
    def backward(out: int, ins: list, wanted: tuple, node: Node, kept: _Kept) -> tuple:
        n = node.parents[0].shape[0]
        e, total = f"E{out}", f"Z{out}"
        return [f"    np.divide({e}, {total}.reshape(-1, 1), {e})  # softmax",
                f"    {e}[ROWS{n}, t{out}] -= 1",
                f"    np.multiply({e}, {kept.share(out, n)}, {e})"], [e]


class _MeanBce:
    """bce_with_logits_mean: mean(logaddexp(0, z) - y z); (sigmoid(z) - y) G / N (no dy)."""

    @staticmethod
    def fits(node: Node, params: Any) -> bool:
        z, y = node.parents
        return _floats(node) and z.shape == y.shape and not y.requires_grad

    @staticmethod
    def forward(out: int, ins: list, reads: dict, node: Node, kept: _Kept) -> list[str]:
        z, y = ins
        shape, dtype = node.parents[0].shape, node.dtype
        each, product = kept.new(f"O{out}", shape, dtype), kept.new(f"P{out}", shape, dtype)
        size = node.parents[0].size
        # eager's sum / size is numpy's scalar arithmetic; its type, found once, and
        # Python's float division give the same number for less (see _mean)
        kept.space[f"DT{out}"] = type(np.add.reduce(np.zeros(1, dtype), None) / size)
        kept.fresh.add(out)  # DT makes a new number (or _domain a new array)
        return [f"    np.logaddexp(0.0, v{z}, {each})",
                f"    np.subtract({each}, np.multiply(v{y}, v{z}, {product}), {each})",
                f"    v{out} = DT{out}(float(np.add.reduce({each}, None)) / {size})",
                f"    if not _isfinite(v{out}):",
                f"        v{out} = _domain(OP{out}, [v{z}, v{y}], None)"]

    @staticmethod
    def backward(out: int, ins: list, wanted: tuple, node: Node, kept: _Kept) -> tuple:
        z, y = ins
        grad = kept.new(f"G{out}_0", node.parents[0].shape, node.dtype)
        size = node.parents[0].size
        return [f"    np.multiply(0.5, v{z}, {grad})  # sigmoid, as 0.5 (1 + tanh(z / 2))",
                f"    np.tanh({grad}, {grad})",
                f"    np.add(1, {grad}, {grad})",
                f"    np.multiply(0.5, {grad}, {grad})",
                f"    np.subtract({grad}, v{y}, {grad})",
                f"    np.multiply({kept.share(out, size)}, {grad}, {grad})"], [grad, None]


# The ops with a kept form, by name: their rules above, in numpy's out= form.
_INTO: dict[str, Any] = {"linear": _Linear, "relu": _Relu, "tanh": _Tanh,
                         "cross_entropy": _CrossEntropy, "bce_with_logits_mean": _MeanBce}


# ------------------------------------------------------------------ inputs


def _is_array_input(x: Any) -> bool:
    return isinstance(x, (Tensor, np.ndarray))


def _array_of_input(x: Any) -> np.ndarray | None:
    if isinstance(x, Tensor):
        return x._array
    return x if isinstance(x, np.ndarray) else None


def _with_values(x: Any, array: np.ndarray) -> Any:
    if isinstance(x, Tensor):
        return Tensor(array, requires_grad=x.requires_grad, name=x.name)
    return array


def _signature(inputs: Sequence) -> tuple:
    key = []
    for position, x in enumerate(inputs):
        if type(x) is np.ndarray:  # the usual case first: a batch of data
            key.append((x.shape, x.dtype))
        elif isinstance(x, Tensor):
            key.append(("tensor", x.shape, x.dtype, x.requires_grad))
        elif isinstance(x, np.ndarray):
            key.append((x.shape, x.dtype))
        elif isinstance(x, (bool, int, float, str, type(None))):
            key.append(("value", type(x).__name__, x))  # a new number: a new program
        elif isinstance(x, Node):
            raise CaptureError(f"capture: input {position} is a Value; capture replays "
                               "Tensor graphs (use nn.MLP and Tensors, not nn.scalar)")
        else:
            raise CaptureError(
                f"capture: input {position} is a {type(x).__name__}; pass numpy arrays, "
                "Tensors or plain numbers (a program needs to know its inputs' shapes)")
    return tuple(key)


def _known_names(fn: Callable) -> dict[int, str]:
    """Names for print: fn's argument names, and parameter paths of modules fn can reach."""
    names: dict[int, str] = {}
    try:
        arguments = [p.name for p in inspect.signature(fn).parameters.values()
                     if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        arguments = []
    for k, name in enumerate(arguments):
        names[-1 - k] = name
    reachable = [getattr(fn, "__self__", None), *getattr(fn, "args", ())]  # a partial's too
    reachable += [cell.cell_contents for cell in (getattr(fn, "__closure__", None) or ())
                  if _cell_is_set(cell)]
    code = getattr(fn, "__code__", None)
    if code is not None:
        module_globals = getattr(fn, "__globals__", {})
        reachable += [module_globals.get(name) for name in code.co_names]
    for holder in reachable:
        named = getattr(holder, "named_parameters", None)
        if callable(named):
            try:
                for path, p in named():
                    names.setdefault(id(p), path.replace(".", "_"))
            except Exception:  # naming is a courtesy; never let it fail a capture
                continue
    return names


def _cell_is_set(cell: Any) -> bool:
    try:
        _ = cell.cell_contents
    except ValueError:
        return False
    return True


# ------------------------------------------------------------------ the public object


class Captured:
    """A captured step: call it like fn; print it to read the program it became.

    ``fn`` is the function captured (call it for an eager step); ``captures`` counts the
    programs made and ``reasons`` says why each one after the first was; ``programs``
    holds one per signature of inputs.
    """

    def __init__(self, fn: Callable, example_inputs: tuple, check_every: int = 100,
                 keep: int = 8) -> None:
        if not callable(fn):
            raise TypeError(f"capture: fn must be a function, got {type(fn).__name__}")
        if not isinstance(check_every, int) or check_every < 0:
            raise ValueError(f"capture: check_every must be a whole number >= 0 (0: never), "
                             f"got {check_every!r}")
        self.fn, self.check_every, self.keep = fn, check_every, keep
        self.programs: dict[tuple, Program] = {}
        self.captures = 0        # programs made (the first one included)
        self.replays = 0         # calls answered by a program
        self.reasons: list[str] = []  # why each capture after the first happened
        self._calls = 0
        self._captured_at: deque[int] = deque(maxlen=8)  # the last calls that captured
        self._warned = False
        self._suspect: set[Program] = set()  # programs to compare with fn first (recheck)
        self._names = _known_names(fn)
        self._last: Program | None = None
        self._capture(list(example_inputs), _signature(example_inputs))

    def _capture(self, inputs: list, key: tuple) -> Program:
        program = Program(self.fn, inputs, self._names)
        self.captures += 1
        if key not in self.programs and len(self.programs) >= self.keep:
            del self.programs[next(iter(self.programs))]  # the oldest signature goes
        self.programs[key] = self._last = program
        return program

    def __call__(self, *inputs: Any) -> Any:
        """fn(*inputs) and its backward, replayed by the program for these inputs' shapes
        and dtypes (captured first when there is none, or again when a decision changed)."""
        key = _signature(inputs)
        self._calls += 1
        program = self.programs.get(key)
        reason = None
        if program is None:
            reason = "new input shapes or dtypes: " + _describe_key(key)
        elif self._suspect and program in self._suspect:
            reason = self._rechecked(program, inputs)
        if reason is not None:
            self.reasons.append(reason)
            program = self._capture(list(inputs), key)
        arrays = self._arrays(program, inputs)
        if reason is None and self.check_every and self._calls % self.check_every == 0:
            program.verify(self.fn, list(inputs), arrays)
        try:
            loss, extras, grads = program.replay(arrays)
        except _Stale as stale:
            reason = f"a decision changed: {stale}"
            self.reasons.append(reason)
            program = self._capture(list(inputs), key)
            loss, extras, grads = program.replay(arrays)
        if reason is not None:
            self._note()
        self.replays += 1
        self._last, self._last_arrays = program, arrays
        if grads:  # inputs that require gradients (the parameters' are filled already)
            ks = [k for _, k, tensor in program.grad_targets if tensor is None]
            for k, grad in zip(ks, grads):
                if grad is not None:
                    target = inputs[k]
                    target.grad = grad if target.grad is None else target.grad + grad
        return (loss, *extras) if program.returns_tuple else loss

    def recheck(self) -> None:
        """Compare each program with fn again at its next call, and capture it again if fn
        no longer gives it. Call this after changing what fn reads (a setting, a layer
        frozen or replaced), as fit does after each epoch's callbacks and validation."""
        self._suspect = set(self.programs.values())

    def _rechecked(self, program: Program, inputs: tuple) -> str | None:
        """Why program must be captured again since recheck(), or None if fn still gives it."""
        self._suspect.discard(program)
        if program.matches(self.fn, list(inputs), self._arrays(program, inputs)):
            return None
        return "fn gives another program since recheck() (a setting changed, a layer frozen?)"

    @staticmethod
    def _arrays(program: Program, inputs: tuple) -> Sequence:
        """The arrays the program reads: the inputs themselves, or the tensors' arrays."""
        return [_array_of_input(x) for x in inputs] if program.has_tensors else inputs

    def _note(self) -> None:
        """Remember that this call captured; warn once if 8 of the last 10 calls did."""
        self._captured_at.append(self._calls)
        recent = self._calls >= 10 and len(self._captured_at) == 8 and (
            self._captured_at[0] > self._calls - 10)
        if recent and not self._warned:
            self._warned = True
            warnings.warn(
                "capture: most calls had to capture again (" + self.reasons[-1] + "); "
                "such a step runs slower than eager. Keep decisions on values (item(), "
                "if t > 0) out of the captured function", CaptureWarning, stacklevel=3)

    # -- reading the program

    @property
    def program(self) -> Program:
        """The program of the latest call (or of the example inputs)."""
        assert self._last is not None
        return self._last

    @property
    def code(self) -> str:
        """The latest program as straight-line Python over numpy, one line per op."""
        return program_code(self.program)

    def __str__(self) -> str:
        """The code, each line kept to 79 columns by shortening its comment (…)."""
        return "\n".join(_fit_line(line, 79) for line in self.code.splitlines())

    def graph(self) -> ProgramNode:
        """The latest program as a graph to draw (``viz.draw(step.graph(), "step.svg")``).

        Each op is a node holding its values and gradients for the latest call's inputs
        and the parameters as they are now (before the first call, none); leaves are the
        inputs, parameters and constants.
        """
        program = self.program
        values = grads = [None] * program.count
        arrays = getattr(self, "_last_arrays", None)
        if arrays is not None:
            values, grads = program.run(arrays)
        nodes: dict[int, ProgramNode] = {}
        first_op = program.count - len(program.ops)
        for slot in range(program.count):
            op = program.ops[slot - first_op] if slot >= first_op else None
            parents = tuple(nodes[p] for p in op[1]) if op else ()
            nodes[slot] = ProgramNode(_name_of(program, slot), op[0] if op else None, parents,
                                      values[slot], grads[slot],
                                      bool(op) or slot in program.requires)
        return nodes[program.loss_slot]

    def __repr__(self) -> str:
        program = self.program
        return (f"<captured step: {len(program.ops)} ops forward, {len(program.backward_order)} "
                f"backward; {self.captures} capture(s), {self.replays} replay(s)>")


class ProgramNode:
    """A value of a captured program, with the plain attributes viz reads from a node."""

    def __init__(self, name: str, operation: type[Op] | None, parents: tuple, data: Any,
                 grad: Any, requires_grad: bool) -> None:
        self.name, self.operation, self.parents = name, operation, parents
        self.op = operation.symbol if operation is not None else ""
        self.data = np.zeros(0) if data is None else data
        self.grad, self.requires_grad = grad, requires_grad
        self.params, self.scalar = None, False

    def __repr__(self) -> str:
        return f"ProgramNode({self.name})"


def _describe_key(key: tuple) -> str:
    """The shapes and dtypes (or values) of a call's inputs, for step.reasons."""
    parts = []
    for k in key:
        if k[0] == "value":
            parts.append(repr(k[2]))
        else:
            shape, dtype = (k[1], k[2]) if k[0] == "tensor" else k
            parts.append(f"{shape} {dtype}")
    return ", ".join(parts)


def capture(fn: Callable, *example_inputs: Any, check_every: int = 100) -> Captured:
    """Record one forward and backward of ``fn`` as a flat program, to replay on new inputs.

    ``fn(*inputs)`` returns a scalar loss Tensor (or ``(loss, *tensors)``) built from the
    inputs and the parameters it reaches. ``step = capture(fn, *example_inputs)``; then
    ``step(*inputs)`` runs forward and backward with no graph built, returns the loss as a
    numpy array and adds the gradients into the parameters' ``.grad``, bit for bit as
    ``fn(*inputs).backward()``. ``print(step)`` shows the program. See the module's
    docstring for when it captures again or refuses.
    """
    return Captured(fn, example_inputs, check_every=check_every)


# ------------------------------------------------------------------ the program as code


def program_code(program: Program) -> str:
    """Straight-line Python over numpy for a program: forward, then backward."""
    names = program.names

    def listed(slots: list[int]) -> str:
        return ", ".join(f"{names[slot]} {program.leaf_shapes[slot][0]}" for slot in slots)

    inputs = [e.slot for e in program.from_inputs if isinstance(e.slot, int)]
    dtypes = sorted({str(program.leaf_shapes[slot][1]) for slot in program.leaf_shapes})
    lines = textwrap.wrap(f"# inputs {listed(inputs)}; {', '.join(dtypes)}", 79,
                          subsequent_indent="#   ", break_on_hyphens=False)
    if program.live:
        lines += textwrap.wrap(f"# parameters {listed([slot for slot, _ in program.live])}",
                               79, subsequent_indent="#   ", break_on_hyphens=False)
    if program.fitted:
        lines.append("# unbroadcast(g, shape): g summed down to shape (numpy broadcast it)")
    for slot, value in program.baked.items():
        if isinstance(slot, int):
            lines.append(f"{names[slot]} = {_literal(value)}  # a constant")
    first_op = program.count - len(program.ops)
    for i, (op, ins, params, _, _) in enumerate(program.ops):
        out = names[first_op + i]
        args = [_name_of(program, s) for s in ins]
        lines.append(f"{out} = {_forward_code(op, args, params)}  # {_formula(op)}")
    loss = names[program.loss_slot]
    lines.append(f"d{loss} = 1.0  # backward, from d{loss}/d{loss} = 1")
    written: set[int] = set()
    for slot in program.backward_order:
        i = slot - first_op
        op, ins, params, _, _ = program.ops[i]
        args = [_name_of(program, s) for s in ins]
        expressions = _backward_code(op, args, params, f"d{names[slot]}", names[slot])
        derivatives = _derivatives(op, len(ins))
        for n, parent in enumerate(ins):
            if parent not in program.requires and parent < first_op:
                continue
            expression = expressions[n] if expressions else None
            if expression is None:
                continue
            if (slot, n) in program.fitted:
                expression = f"unbroadcast({expression}, {_shape_text(program, parent)})"
            target = f"d{_name_of(program, parent)}"
            if parent in written:
                expression = f"{target} + {expression}"
            written.add(parent)
            lines.append(f"{target} = {expression}  # {derivatives[n]}")
    return "\n".join(lines)


def _fit_line(line: str, width: int) -> str:
    if len(line) <= width or "  # " not in line:
        return line
    code, comment = line.split("  # ", 1)
    room = width - len(code) - 4
    return f"{code}  # {comment[:room - 1]}…" if room > 8 else code


def _name_of(program: Program, slot: int) -> str:
    return program.names.get(slot) or f"t{slot}"


def _shape_text(program: Program, slot: int) -> str:
    first_op = program.count - len(program.ops)
    shape = program.leaf_shapes[slot][0] if slot < first_op else program.ops[slot - first_op][3]
    return str(tuple(shape))


def _literal(value: np.ndarray) -> str:
    if value.ndim == 0:
        return repr(value.item())
    return f"np.array(...)  # shape {value.shape}"


def _doc(op: type[Op]) -> str:
    """The op's docstring up to its first blank line, as one line."""
    text = (op.__doc__ or "").strip().split("\n\n")[0]
    return " ".join(text.split())


def _label(op: type[Op]) -> str:
    """The op's short word (its symbol when that is a word: bce, σ), else its name."""
    return op.symbol if op.symbol.isidentifier() else op.name


def _formula(op: type[Op]) -> str:
    formula = _doc(op).split(";")[0].strip()
    return f"{_label(op)}: {formula}" if formula else _label(op)


def _derivatives(op: type[Op], count: int) -> list[str]:
    parts = _doc(op).split(";", 1)
    text = parts[1].strip() if len(parts) > 1 else ""
    pieces = [p.strip() for p in text.replace(", d", "\0d").split("\0")] if text else []
    if len(pieces) != count:
        pieces = [text or "its backward rule"] * count
    return [f"{_label(op)}': {piece}" for piece in pieces]


def _params_text(params: dict | None) -> dict[str, str]:
    text = {}
    for key, value in (params or {}).items():
        text[key] = (f"<array {value.shape}>" if isinstance(value, np.ndarray) else repr(value))
    return text


def _forward_code(op: type[Op], args: list[str], params: dict | None) -> str:
    template = getattr(op, "code", None)
    shown = _params_text(params)
    if template:
        try:
            return template[0].format(*args, **shown)
        except (IndexError, KeyError):
            pass
    extra = [f"{key}={value}" for key, value in shown.items()]
    return f"{op.__name__}.forward({', '.join(args + extra)})"


def _backward_code(op: type[Op], args: list[str], params: dict | None, grad: str,
                   out: str) -> list[str | None]:
    template = getattr(op, "code", None)
    shown = _params_text(params)
    if template and len(template) > 1 and len(template[1]) == len(args):
        try:
            return [t.format(*args, g=grad, out=out, **shown) for t in template[1]]
        except (IndexError, KeyError):
            pass
    extra = [f"{key}={value}" for key, value in shown.items()]
    call = f"{op.__name__}.backward({', '.join([grad, out, *args, *extra])})"
    return [f"{call}[{n}]" for n in range(len(args))]

