"""Reverse mode: the topological order, backward, grad, backward_steps, no_grad, anomalies.

The order is found without recursion (STYLE: count children, release at zero), so a chain
of a million nodes backpropagates under Python's default recursion limit. A node is
released only when every one of its uses has sent its gradient back, so each gradient is
complete before it is passed on: the order a student would follow by hand.
"""

from __future__ import annotations

import functools
import inspect
import threading
import traceback
import warnings
from collections.abc import Iterator, Sequence
from contextlib import ContextDecorator
from contextvars import ContextVar
from operator import attrgetter, is_
from typing import Any, NamedTuple, TypeVar, overload

import numpy as np

from .dispatch import sum_to_shape
from .node import LENT, Node, array_of

# Grad mode and anomaly mode belong to the running thread (and asyncio task), as in
# PyTorch: a context variable gives each thread its own value, starting from the
# default, and each asyncio task a copy of its creator's. An evaluator thread inside
# no_grad() then leaves a training thread's graph alone. Both switches share one
# variable, read once per op: RECORD (ops record the graph) and ANOMALY (nodes also
# remember the line that made them).
RECORD, ANOMALY = 1, 2
_modes: ContextVar[int] = ContextVar("chaingrad_modes", default=RECORD)
modes = _modes.get  # a C function: as quick as reading an attribute
_requires_grad = attrgetter("requires_grad")
_NO_PARAMS: dict = {}  # an op's parameters when it has none (read only: ** copies it)

SameKind = TypeVar("SameKind", bound=Node)  # a graph's nodes are all of its root's kind


class GradientAccumulationWarning(UserWarning):
    """backward() ran again on a graph whose gradients were never reset."""


# ------------------------------------------------------------------ context managers


class _ModeType(type):
    """``with no_grad:`` (without the parentheses) gets a sentence, not Python's own."""

    def __enter__(cls) -> None:
        raise TypeError(f"{cls.__name__} is used with parentheses: with {cls.__name__}():")

    def __exit__(cls, *exc: object) -> None:  # pragma: no cover (never entered)
        pass


class _Mode(ContextDecorator, metaclass=_ModeType):
    """Set one mode inside a block, then restore it.

    The previous settings are kept on a stack per thread, so one instance can be nested
    in itself; used as a decorator, each call gets a fresh instance.
    """

    switch = RECORD
    value = False

    def __init__(self, *given: Any) -> None:
        if given:  # no_grad(model), no_grad(True): it switches gradients off, for a block
            name = type(self).__name__
            raise TypeError(f"{name}: takes no arguments, got {given[0]!r:.40}; write "
                            f"`with {name}():` around the code, or @{name}() above a function")
        self._previous = threading.local()

    def _recreate_cm(self) -> _Mode:
        return type(self)()

    def __call__(self, function: Any) -> Any:
        """As a decorator; on a generator function, the mode holds each time it resumes."""
        if not inspect.isgeneratorfunction(function):
            return super().__call__(function)
        mode = type(self)

        @functools.wraps(function)
        def generator(*args: Any, **kwargs: Any) -> Any:
            inner = function(*args, **kwargs)
            with mode():
                request = next(inner)  # StopIteration ends this generator too
            while True:
                try:
                    sent = yield request
                except GeneratorExit:
                    with mode():
                        inner.close()
                    raise
                except BaseException as error:  # thrown in: pass it on, inside the mode
                    with mode():
                        request = inner.throw(error)
                else:
                    with mode():
                        try:
                            request = inner.send(sent)
                        except StopIteration as stop:
                            return stop.value

        return generator

    def __enter__(self) -> _Mode:
        stack = self._previous.__dict__.setdefault("stack", [])
        previous = _modes.get()
        stack.append(previous)
        _modes.set(previous | self.switch if self.value else previous & ~self.switch)
        return self

    def __exit__(self, *exc: object) -> None:
        _modes.set(self._previous.stack.pop())


class no_grad(_Mode):
    """Inside ``with no_grad():`` ops record no graph (for evaluation and weight updates).

    The setting belongs to the thread (and asyncio task) that enters the block.
    """

    switch, value = RECORD, False


class enable_grad(_Mode):
    """Turn graph recording back on inside a ``no_grad`` block."""

    switch, value = RECORD, True


def is_grad_enabled() -> bool:
    """Whether ops currently record the graph (in this thread or asyncio task)."""
    return bool(_modes.get() & RECORD)


# Where each node was made, by id(node), inside detect_anomaly: only a line of text per
# node, so nodes are freed as usual. A node made later may take a freed id, and then
# overwrites its entry, so the table stays as small as the graphs alive at once.
_created_at: ContextVar[dict | None] = ContextVar("chaingrad_created_at", default=None)
_lines: dict[tuple[str, int], str] = {}


class detect_anomaly(_Mode):
    """Trace NaN or inf in backward to the op that made it.

    Inside the block every new node remembers the line of your code that created it, and
    backward stops at the first gradient that is not finite, naming the op, the node and
    that line. Like no_grad, it applies to the thread that enters it.
    """

    switch, value = ANOMALY, True

    def __enter__(self) -> detect_anomaly:
        super().__enter__()
        outermost = _created_at.get() is None
        self._previous.stack.append(_created_at.set({}) if outermost else None)
        return self

    def __exit__(self, *exc: object) -> None:
        token = self._previous.stack.pop()
        if token is not None:
            _created_at.reset(token)
        super().__exit__(*exc)


def record_creation(node: Node) -> None:
    """Remember where a node was made (anomaly mode only): the first frame outside autograd."""
    table = _created_at.get()
    if table is None:
        return
    for frame in reversed(traceback.extract_stack()[:-1]):
        if "/autograd/" not in frame.filename.replace("\\", "/"):
            key = (frame.filename, frame.lineno)
            line = _lines.get(key)
            if line is None:
                line = _lines[key] = f"{frame.filename}:{frame.lineno}: {frame.line}"
            table[id(node)] = line
            return


# ------------------------------------------------------------------ graph traversal


def topological_order(root: SameKind, leaves: bool = True) -> list[SameKind]:
    """Every node ``root`` depends on, outputs first: each node before all of its parents.

    Kahn's algorithm: count how many uses each node has inside the graph, then release a
    node once all its uses are processed. Nodes that need no gradient (such as input
    data) are left out; so are leaves when ``leaves=False``, because backward only needs
    to order the nodes that pass gradients on.
    """
    uses: dict[Node, int] = {root: 0}
    stack = [root]
    while stack:
        node = stack.pop()
        for parent in node.parents:
            if parent.operation is None and not (leaves and parent.requires_grad):
                continue  # a leaf passes nothing on; interior nodes always need gradients
            count = uses.get(parent)
            if count is None:
                uses[parent] = 1
                stack.append(parent)
            else:
                uses[parent] = count + 1
    order = []
    ready = [root]
    while ready:
        node = ready.pop()
        order.append(node)
        for parent in node.parents:
            remaining = uses.get(parent)
            if remaining == 1:
                ready.append(parent)
            elif remaining is not None:
                uses[parent] = remaining - 1
    return order


def _seed(root: Node, grad: Any, caller: str = "backward") -> Any:
    """The gradient of root with respect to itself: 1 for a scalar, or the given ``grad``
    (``caller`` is the function the user called: backward, or grad with grad_outputs)."""
    if caller != "backward":
        try:
            return _seed(root, grad)
        except (TypeError, ValueError) as error:
            message = str(error).replace("backward: ", f"{caller}: ", 1)
            message = message.replace("this tensor", "this output").replace(
                "backward()", f"{caller}()").replace("grad=", "grad_outputs=")
            raise type(error)(message) from None
    if root.scalar:
        if grad is None:
            return 1.0
        try:
            return float(getattr(grad, "data", grad))
        except (TypeError, ValueError):
            raise TypeError(f"backward: grad must be a single number for a Value, got "
                            f"{type(grad).__name__} {grad!r:.40}") from None
    data = array_of(root)
    if grad is None:
        if data.size != 1:
            raise ValueError(
                f"backward: this tensor has shape {root.shape}; backward() needs a scalar "
                "(a single number, such as a loss). Reduce it first (e.g. .sum() or .mean()) "
                f"or pass grad= an array of shape {root.shape}."
            )
        seed = np.array(1, dtype=data.dtype)  # ones_like, at a third of its cost
        return seed if data.ndim == 0 else seed.reshape(data.shape)
    try:
        grad = np.asarray(getattr(grad, "data", grad), dtype=data.dtype)
    except (TypeError, ValueError):
        raise TypeError(f"backward: grad must be numbers shaped like the tensor {data.shape}, "
                        f"got {type(grad).__name__} {grad!r:.40}") from None
    if grad.shape != root.shape:
        raise ValueError(f"backward: grad has shape {grad.shape}, the tensor has {root.shape}")
    return grad


# ------------------------------------------------------------------ values changed after use

class ValueChangedError(RuntimeError):
    """backward found that a value the graph used was changed afterwards."""


def check_unchanged(node: Node) -> None:
    """Raise if one of node's parents holds a different value from the one node used.

    Each op keeps the values it read (``node.saved``). A changed ``.data`` would make
    the gradients silently wrong: those of the old values mixed with the new ones.
    """
    for index, (parent, used) in enumerate(zip(node.parents, saved_values(node))):
        now = array_of(parent)
        if now is used or _same_values(now, used):
            continue
        raise ValueChangedError(
            f"backward: {_describe(parent, used)} (input {index} of '{node.operation.name}'"
            f"{_called(node)}) was changed after '{node.operation.name}' used it, so its "
            "gradients would be wrong. Change .data only after backward (as optimizers do "
            "between steps), or run the forward pass again; to keep a value that must not "
            "be tracked, use .detach()."
        )


def saved_values(node: Node) -> tuple:
    """The parents' values as node's op read them.

    A Tensor keeps them in ``saved``; a Value in ``saved_x`` and ``saved_y`` (floats in
    slots cost less than a tuple per node), or all of them in ``saved_x`` for more inputs.
    """
    if not node.scalar:
        return node.saved
    count = len(node.parents)
    if count == 1:
        return (node.saved_x,)
    return (node.saved_x, node.saved_y) if count == 2 else node.saved_x


def _describe(node: Node, used: Any) -> str:
    """A changed node in words: its name, the op that made it, or what kind of leaf it is."""
    if node.name:
        return f"'{node.name}'"
    if node.operation is not None:
        return f"the result of '{node.operation.name}'"
    if node.scalar:
        return f"a Value (used as {used:.6g}, now {array_of(node):.6g})"
    return f"a tensor of shape {used.shape}"


def _called(node: Node) -> str:
    return f", named '{node.name}'" if node.name else ""


def _same_values(now: Any, used: Any) -> bool:
    if isinstance(used, np.ndarray):
        return (
            isinstance(now, np.ndarray) and now.shape == used.shape and now.dtype == used.dtype
            and not np.may_share_memory(now, used)  # another view of it: written by sub_
            and bool(np.array_equal(now, used, equal_nan=used.dtype.kind in "fc"))
        )
    return now == used or (now != now and used != used)  # nan stays nan


# ------------------------------------------------------------------ the backward pass


def _propagate(order: list[Node], grads: dict, create_graph: bool, record: bool = False,
               lent: list | None = None):
    """Send each node's complete gradient to its parents, in topological order.

    ``grads`` maps node -> gradient and is filled in place. With ``record`` this yields,
    per node, what each parent received (for ``backward_steps``). ``lent`` (from backward)
    gathers the constant inputs whose arrays .data handed out, to release at the end.
    """
    anomaly = _modes.get() & ANOMALY
    for node in order:
        grad_out = grads.get(node)
        operation = node.operation
        if operation is None or grad_out is None:
            if record:
                yield node, grad_out, ()
            continue
        parents = node.parents
        saved = saved_values(node) if node.scalar else node.saved
        if not all(map(is_, map(array_of, parents), saved)):  # at C speed: the usual case
            check_unchanged(node)  # a parent holds another array: compare the values
        if create_graph:
            inputs, out = parents, node
        else:
            inputs, out = saved, array_of(node)
        params = node.params or _NO_PARAMS
        if operation.selective_backward:  # it can skip gradients no input needs
            params = {**params, "needs_grad": tuple(map(_requires_grad, parents))}
        try:
            sent = operation.backward(grad_out, out, *inputs, **params)
        except (ArithmeticError, ValueError) as error:  # such as sqrt'(0) = 1 / 0 on floats
            if create_graph and node.scalar:  # name the op whose derivative failed
                raise type(error)(f"{operation.name}: its derivative has no finite value "
                                  f"here, so create_graph cannot record it ({error})") from None
            if not node.scalar or create_graph:
                raise
            sent = _backward_in_numpy(node, grad_out)
        if len(sent) != len(parents):
            raise _wrong_count(operation, sent, parents)
        received = [] if record else None
        for index, (parent, grad) in enumerate(zip(parents, sent)):
            if grad is None or not parent.requires_grad:
                if lent is not None and parent.operation is None and not parent.scalar and (
                        parent._state & LENT):
                    lent.append(parent)
                continue
            if not parent.scalar:
                data = inputs[index] if not create_graph else array_of(parent)
                if type(grad) is not np.ndarray or grad.shape != data.shape or (
                    grad.dtype is not data.dtype and grad.dtype != data.dtype
                ):  # the usual case, a matching array, needs no call
                    grad = _fit_to_tensor(grad, data, operation, index)
            if anomaly:
                _check_finite(node, index, grad)
            previous = grads.get(parent)
            grads[parent] = grad if previous is None else previous + grad
            if received is not None:
                received.append((index, parent, grad))
        if received is not None:
            yield node, grad_out, tuple(received)


def _backward_scalars(root: Node, seed: float) -> None:
    """backward() for a graph of Values: the rules on plain floats, adding into ``.grad``.

    Gradients left in interior nodes by an earlier call are set aside while this pass
    runs (so they are not sent on a second time) and added back at the end; leaves
    simply accumulate, as in PyTorch. This loop runs once per node of every scalar
    graph, so it unpacks one- and two-input ops by hand instead of building lists.
    """
    if root.operation is None:  # a leaf: its gradient is the seed, nothing to send on
        root.grad += seed
        return
    order = topological_order(root, leaves=False)  # every node in it has an op
    earlier = {node: node.grad for node in order if node.grad}
    for node in earlier:
        node.grad = 0.0
    root.grad = seed
    for node in order:
        operation = node.operation
        parents = node.parents
        count = len(parents) if node.params is None else 0  # 0: the general case below
        try:
            if count == 2:
                a, b = parents
                x, y = node.saved_x, node.saved_y
                if a.data is not x or b.data is not y:
                    check_unchanged(node)
                grad_a, grad_b = operation.backward(node.grad, node.data, x, y)
                a.grad += grad_a
                b.grad += grad_b
                continue
            elif count == 1:
                a = parents[0]
                x = node.saved_x
                if a.data is not x:
                    check_unchanged(node)
                (grad_a,) = operation.backward(node.grad, node.data, x)
                a.grad += grad_a
                continue
            else:
                inputs = tuple([parent.data for parent in parents])
                saved = node.saved_x if count > 2 else saved_values(node)  # Dot: a tuple
                if inputs != saved:  # tuple == compares identity first: C speed
                    check_unchanged(node)
                sent = operation.backward(node.grad, node.data, *inputs, **(node.params or {}))
        except (ArithmeticError, ValueError):  # such as sqrt'(0) = 1 / 0, or a wrong count
            sent = _backward_in_numpy(node, node.grad)
        if len(sent) != len(parents):
            raise _wrong_count(operation, sent, parents)
        for parent, grad in zip(parents, sent):
            parent.grad += grad
    for node, grad in earlier.items():
        node.grad += grad


def _backward_in_numpy(node: Node, grad_out: float) -> tuple:
    """Rerun a scalar rule that raised on floats with 0-d numpy arrays: inf or nan instead.

    Python's floats raise where numpy gives inf (``1 / 0.0``) or nan (``0 * inf``), so a
    Value's gradient becomes what the same graph of Tensors (and PyTorch) gives.
    """
    numbers = (grad_out, node.data, *saved_values(node))
    grad_out, out, *inputs = (np.asarray(x, dtype=np.float64) for x in numbers)
    with np.errstate(all="ignore"):
        sent = node.operation.backward(grad_out, out, *inputs, **(node.params or {}))
    return tuple(float(g) for g in sent)


def _wrong_count(operation: Any, sent: tuple, parents: tuple) -> RuntimeError:
    return RuntimeError(
        f"{operation.name}: backward returned {len(sent)} gradients "
        f"for {len(parents)} inputs (it must return one per input)"
    )


def _fit_to_tensor(grad: Any, data: Any, operation: Any, index: int) -> Any:
    """Undo broadcasting (the only place it is done) and keep the parent's dtype."""
    shape = data.shape
    if len(getattr(grad, "shape", ())) >= len(shape):  # arrays and nodes have a shape
        grad = sum_to_shape(grad, shape)
    if getattr(grad, "shape", ()) != shape:  # a bug in the rule, not broadcasting
        raise RuntimeError(
            f"{operation.name}: backward returned a gradient of shape "
            f"{getattr(grad, 'shape', ())} for input {index}, of shape {shape}"
        )
    if isinstance(grad, Node):
        return grad
    if not isinstance(grad, np.ndarray) or grad.dtype != data.dtype:
        grad = np.asarray(grad, dtype=data.dtype)
    return grad


def _check_finite(node: Node, index: int, grad: Any) -> None:
    values = np.asarray(getattr(grad, "data", grad))
    if np.all(np.isfinite(values)):
        return
    where = (_created_at.get() or {}).get(id(node))
    created = f"\n  the node was created at {where}" if where else ""
    label = f" '{node.name}'" if node.name else ""
    raise FloatingPointError(
        f"anomaly: the backward of '{node.operation.name}'{label} produced a non-finite "
        f"gradient (nan or inf) for its input {index}{created}"
    )


def backward(root: Node, grad: Any = None) -> None:
    """Accumulate d root / d node into ``node.grad`` for every node root depends on."""
    if not root.requires_grad:  # nothing to differentiate: PyTorch raises too
        raise RuntimeError(
            "backward: this tensor does not depend on anything that requires gradients, so "
            "no gradient would be computed. Make the weights with Tensor(..., "
            "requires_grad=True), and build the loss outside no_grad()."
        )
    if root.grad is not None and _already_has_gradient(root):
        warnings.warn(
            "backward() was called again on a graph whose gradients were not reset, so the "
            "new gradients are being added to the old ones. If you did not mean to "
            "accumulate, set the gradients to zero first (model.zero_grad()).",
            GradientAccumulationWarning,
            stacklevel=3,
        )
    if root.scalar and not _modes.get() & ANOMALY:
        _backward_scalars(root, _seed(root, grad))
        return
    order = topological_order(root, leaves=False)
    grads = {root: _seed(root, grad)}
    lent: list[Node] = []
    for _ in _propagate(order, grads, create_graph=False, lent=lent):
        pass
    for node, g in grads.items():
        if node.scalar:
            node.grad += g
        else:
            node.grad = g if node.grad is None else node.grad + g
            if node.operation is None and node._state:  # a parameter a graph read
                node._backward_done()
    for constant in lent:  # the graph is done with them: their arrays are writable again
        constant._backward_done()


def _already_has_gradient(root: Node) -> bool:
    """True when root was backpropagated before and its inputs were not zeroed since."""
    if not _nonzero(root.grad):
        return False  # the usual case: a fresh graph, checked in O(1)
    return any(_nonzero(node.grad) for node in topological_order(root) if node.is_leaf)


def _nonzero(g: Any) -> bool:
    if g is None:
        return False
    return bool(np.any(g != 0)) if isinstance(g, np.ndarray) else g != 0


GradOf = TypeVar("GradOf", bound=Node)  # grad(f, x) is of x's kind: a Value or a Tensor


@overload
def grad(outputs: Node | Sequence[Node], inputs: GradOf, *, grad_outputs: Any = None,
         create_graph: bool = False) -> GradOf: ...


@overload
def grad(outputs: Node | Sequence[Node], inputs: Sequence[GradOf], *, grad_outputs: Any = None,
         create_graph: bool = False) -> list[GradOf]: ...


def grad(
    outputs: Node | Sequence[Node],
    inputs: Node | Sequence[Node],
    *,
    grad_outputs: Any = None,
    create_graph: bool = False,
) -> Any:
    """The gradients of ``outputs`` with respect to ``inputs``, leaving ``.grad`` untouched.

    Each gradient is a node of its input's front-end: a Value for a Value, a Tensor (of the
    input's dtype) for a Tensor, as in PyTorch. Without ``create_graph`` it is a constant
    (a leaf with no history); with ``create_graph=True`` it is a node of a new graph, so
    it can be differentiated again (second and higher derivatives). Several outputs add
    up, each seeded with its entry of ``grad_outputs`` (default 1, as for backward).
    Returns one gradient per input (a single one when ``inputs`` is a single node); an
    input the outputs do not depend on gets zero.
    """
    single = isinstance(inputs, Node)
    inputs = [inputs] if single else _nodes(inputs, "inputs")
    if isinstance(outputs, Node):  # one output: grad_outputs is its seed, even a list
        outputs, grad_outputs = [outputs], [grad_outputs]
    outputs = _nodes(outputs, "outputs")
    if grad_outputs is None or isinstance(grad_outputs, (Node, np.ndarray, float, int)):
        grad_outputs = [grad_outputs] * len(outputs)
    elif len(grad_outputs) != len(outputs):
        raise ValueError(
            f"grad: {len(outputs)} outputs but {len(grad_outputs)} grad_outputs (one per output)"
        )
    grads: dict = {}
    mode = _modes.get()  # record the gradients' own graph only when asked
    previous_mode = _modes.set(mode | RECORD if create_graph else mode & ~RECORD)
    try:
        for output, seed in zip(outputs, grad_outputs):
            seed_value = _seed(output, seed, "grad")
            if create_graph:
                seed_value = _as_node(output, seed_value)
            partial = {output: seed_value}
            for _ in _propagate(topological_order(output), partial, create_graph):
                pass
            for node, g in partial.items():
                grads[node] = g if node not in grads else grads[node] + g
    finally:
        _modes.reset(previous_mode)
    results = [_gradient_node(x, grads.get(x)) for x in inputs]
    return results[0] if single else results


def _nodes(given: Any, what: str) -> list:
    """grad's outputs or inputs as a list of nodes, or a sentence saying what is wrong."""
    try:
        nodes = list(given)
    except TypeError:
        nodes = [given]
    for position, node in enumerate(nodes):
        if not isinstance(node, Node):
            raise TypeError(
                f"grad: {what} must be Values or Tensors (nodes of a graph), got "
                f"{type(node).__name__} {node!r:.40}"
                + (f" at position {position}" if len(nodes) > 1 else "")
            )
    return nodes


def _as_node(like: Node, value: Any) -> Node:
    """Wrap a seed gradient as a constant node of the same front-end as ``like``."""
    if like.scalar:
        return like.__class__(value)
    return like.__class__(value, dtype=like.data.dtype)


def _gradient_node(like: Node, gradient: Any) -> Node:
    """The gradient for ``like`` as a node of its front-end (zero when there is none)."""
    if gradient is None:
        gradient = 0.0 if like.scalar else np.zeros_like(like.data)
    return gradient if isinstance(gradient, Node) else _as_node(like, gradient)


class Step(NamedTuple):
    """One step of the backward pass: a node, its complete gradient, what each parent got.

    ``received`` holds ``(parent, local, sent)`` per edge: the local derivative
    d node / d parent (for scalars; None for tensors) and the gradient sent, which is
    ``grad * local`` by the chain rule.
    """

    node: Node
    grad: Any
    received: tuple


def backward_steps(root: Node, grad: Any = None) -> Iterator[Step]:
    """Yield the backward pass one node at a time, in the order backward() visits them.

    It does not change ``.grad``: call ``backward()`` for that. Lessons and ``viz.animate``
    step through it.
    """
    order = topological_order(root)
    grads = {root: _seed(root, grad)}
    for node, node_grad, received in _propagate(order, grads, False, record=True):
        local = local_derivatives(node)
        yield Step(node, node_grad, tuple(
            (parent, local[index] if local else None, sent) for index, parent, sent in received
        ))


def local_derivatives(node: Node) -> tuple | None:
    """d node / d parent for each edge of a scalar node (its backward rule at grad_out = 1).

    None for leaves and tensors (a tensor's local derivative is a Jacobian matrix).
    """
    if not node.scalar or node.operation is None:
        return None
    datas = saved_values(node)
    try:
        return tuple(node.operation.backward(1.0, node.data, *datas, **(node.params or {})))
    except (ArithmeticError, ValueError):  # such as sqrt'(0) = 1 / 0 on floats
        return _backward_in_numpy(node, 1.0)
