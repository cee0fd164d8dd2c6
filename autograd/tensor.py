"""Tensor: the array front-end, the same engine and registry over numpy arrays.

    >>> a = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True, name="a")
    >>> b = Tensor([1.0, -1.0, 2.0], requires_grad=True, name="b")
    >>> loss = ((a * b).sum(axis=1) ** 2).mean()
    >>> loss.backward()          # a.grad, b.grad: arrays shaped like a and b

float64 unless told otherwise; float32 stays float32 through backward. Elementwise ops
broadcast as numpy does; the engine sums gradients back to each input's shape.
"""

from __future__ import annotations

import functools
import math
import numbers
import operator
from collections.abc import Sequence
from typing import Any

import numpy as np

from .engine import ANOMALY, RECORD, modes, record_creation
from .node import DONE, LENT, LIVE, PRIVATE, Node, array_of
from .op import Op, OpError, OpIndexError, domain_reason, non_finite_reason, owned
from .operators import Operators
from .ops import (
    BroadcastTo,
    Clip,
    Concat,
    GetItem,
    MatMul,
    Max,
    Mean,
    Min,
    Pad,
    Reshape,
    Stack,
    Sum,
    Transpose,
    Where,
)

ArrayLike = Any
_FLOAT64 = np.dtype(np.float64)

class Tensor(Operators):
    """An array in the graph: ``data`` (numpy array), ``grad`` (array, None before backward)."""

    # saved: the arrays the op read (when it recorded a graph); _state: who else may hold
    # this tensor's array (PRIVATE, LENT, LIVE or DONE, see Tensor.data).
    __slots__ = ("requires_grad", "saved", "_state")
    scalar = False
    __array_ufunc__ = None  # numpy defers to Tensor's operators: np_array * tensor -> Tensor
    __hash__ = Node.__hash__  # == is elementwise below; hashing stays by identity
    # The stored array itself: Node's data slot under a second name, read and written as
    # quickly as any attribute. This file reads it; .data may hand out a copy (see there).
    _array = Node.__dict__["data"]

    def __init__(
        self,
        data: ArrayLike,
        requires_grad: bool = False,
        name: str | None = None,
        dtype: Any = None,
    ) -> None:
        if requires_grad is not False and requires_grad is not True and not isinstance(
                requires_grad, np.bool_) and requires_grad not in (0, 1):
            raise TypeError(f"Tensor: requires_grad must be True or False, got {requires_grad!r}")
        array = _as_array(data, dtype)
        if requires_grad and array.dtype.kind != "f":  # a gradient of 0.5 would become 0
            raise TypeError(
                f"Tensor: only float tensors can require gradients, got {array.dtype}; "
                "leave out dtype= (integers become float64) or pass a float dtype"
            )
        self._array = array
        self._state = PRIVATE
        # None before backward; `| Any` (typeshed's "Any trick") spares w.grad[0] a None check
        self.grad: np.ndarray | Any = None
        self.requires_grad = bool(requires_grad)
        self.parents: tuple[Tensor, ...] = ()
        self.operation: type[Op] | None = None
        self.params = None
        self.name = name

    @staticmethod
    def _apply(op: type[Op], inputs: Sequence, params: dict | None = None) -> Tensor:
        # The common case, every input already a Tensor, in one plain loop (the hot path).
        parents, datas, needs_grad = tuple(inputs), [], False
        for x in parents:
            if type(x) is not Tensor:  # numbers or arrays: lift them to constant leaves
                parents = _lift_all(inputs, op)
                datas = [p._array for p in parents]
                needs_grad = any([p.requires_grad for p in parents])
                break
            datas.append(x._array)
            needs_grad = needs_grad or x.requires_grad
        try:
            data = op.forward(*datas) if params is None else op.forward(*datas, **params)
            if op.leaves_domain and not _all_finite(data):  # x / 0, log(-1), 1e308 * 10
                _refuse_non_finite(op, datas, params, data)  # a sentence, as on Values
        except OpError:
            raise
        except RuntimeWarning:  # numpy's warnings made errors (simplefilter("error"))
            if not op.leaves_domain:
                raise
            data = _forward_in_domain(op, datas, params)  # our sentence is better
        except IndexError as error:  # an IndexError too, so that iteration ends
            raise OpIndexError(_shape_message(op, list(datas), params, error)) from None
        except (ArithmeticError, ValueError, TypeError) as error:
            raise OpError(_shape_message(op, list(datas), params, error)) from None
        except MemoryError as error:  # a broadcast too big, for instance
            shapes = " and ".join(str(tuple(np.shape(d))) for d in datas)
            raise OpError(f"{op.name}: the result for shapes {shapes} would not fit in "
                          f"memory ({error})") from None
        out = Tensor.__new__(Tensor)
        array = data if type(data) is np.ndarray else np.asarray(data)
        dtype = array.dtype
        if dtype is not datas[0].dtype and dtype != datas[0].dtype:  # rare: mixed, or numpy < 2
            array = _keep_precision(array, datas)
        out._array = array
        out.grad = None
        out.name = None
        mode = modes()
        if needs_grad and mode & RECORD:
            out.requires_grad = True
            out.parents, out.operation, out.params = parents, op, params
            out.saved = datas
            for parent in parents:  # their arrays are now part of this graph
                if parent._state & LENT:  # lent (or lent, then done): read-only for now
                    _make_read_only(parent._array)
                    parent._state = LIVE | LENT
                else:
                    parent._state = LIVE
            out._state = LIVE if array.base is not None else PRIVATE  # a view shares an input's
            if mode & ANOMALY:
                record_creation(out)
        else:
            out.requires_grad = False
            out.parents, out.operation, out.params = (), None, None
            out._state = PRIVATE
        return out

    # -- the values
    @property
    def data(self) -> np.ndarray:
        """The values, a numpy array; change them freely between training steps.

        ``w.data -= lr * w.grad`` writes in place, and a graph that read the old values
        then refuses backward (ValueChangedError) instead of giving wrong gradients:
        while a graph that read the array waits for backward, ``.data`` hands out a copy
        (copy on write), and an array handed out earlier is read-only until that backward.
        """
        array = self._array
        state = self._state
        if state & LIVE:  # a graph waits for backward: the caller gets its own copy
            array = array.copy()
            self._array = array
            self._state = LENT
            return array
        self._state = state | LENT
        owner = _owner(array)  # the tensor may hold a view of it (see mark_written)
        return array if owner is None else owner

    @data.setter
    def data(self, array: np.ndarray) -> None:
        current = getattr(self, "_array", None)  # None while copy.deepcopy rebuilds a tensor
        if type(array) is not np.ndarray:
            array = _as_array(array, None)
        elif current is not None and (
                array is current or np.may_share_memory(array, current)):  # w.data -= step
            if self._state != LENT:  # a graph may have read this array: tell it apart
                self.mark_written()
            self._state = LENT
            return
        self._array = array
        self._state = LENT  # the caller keeps a reference

    def writable_array(self) -> np.ndarray:
        """The stored array, to update in place and then call mark_written (as optimizers do)."""
        array = self._array
        if self._state == LIVE | LENT:  # lent, so read-only while a graph waits
            _make_writable(array)
            self._state = LENT
        return array

    def sub_(self, delta: ArrayLike) -> None:
        """``data -= delta`` in place, without copy on write (see mark_written)."""
        array = self.writable_array()
        array -= delta
        self.mark_written()

    def mark_written(self) -> None:
        """Say that the stored array was just written in place (as optimizers do).

        The tensor takes a new view of the same memory, so a graph that used the old
        values sees it was written, and refuses backward.
        """
        self._array = self._array.view()  # numpy gives a view of a view the same base
        self._state = self._state & LENT  # still lent if it was, else private

    def _array_to_update(self) -> np.ndarray:
        """writable_array and mark_written in one call, for an update about to be made in
        place (the optimizers, once per parameter and step): the new view shares the memory,
        so it may be taken before the write."""
        array = self._array
        state = self._state
        if state == LIVE | LENT:  # lent, so read-only while a graph waits
            _make_writable(array)
            state = LENT
        self._array = array = array.view()
        self._state = state & LENT
        return array

    def _backward_done(self) -> None:
        """backward ran through this tensor: a lent array may be written again (see data)."""
        state = self._state
        if state & LIVE:
            if state & LENT:  # it was lent before the forward pass: writable again, still lent
                _make_writable(self._array)
            self._state = DONE | (state & LENT)

    # -- shape and type
    @property
    def shape(self) -> tuple[int, ...]:
        return self._array.shape

    @property
    def dtype(self) -> np.dtype:
        return self._array.dtype

    @property
    def ndim(self) -> int:
        return self._array.ndim

    @property
    def size(self) -> int:
        return self._array.size

    @property
    def T(self) -> Tensor:
        """The transpose (axes reversed)."""
        return self.transpose()

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor (a single number) is undefined; "
                            "use .size for the number of elements or .item() for the number")
        return len(self._array)

    # -- linear algebra, reductions, shape
    def __matmul__(self, other: ArrayLike) -> Tensor:
        return self._apply(MatMul, (self, other))

    def __rmatmul__(self, other: ArrayLike) -> Tensor:
        return self._apply(MatMul, (other, self))

    def sum(
        self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False, **numpy: Any
    ) -> Tensor:
        """Sum over ``axis`` (all axes by default)."""
        _numpy_arguments("sum", numpy)
        if keepdims is not False and keepdims is not True:
            keepdims = _flag(keepdims, "sum", "keepdims")
        return self._apply(Sum, (self,), {"axis": _axis(axis, self, "sum"), "keepdims": keepdims})

    def mean(
        self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False, **numpy: Any
    ) -> Tensor:
        """Mean over ``axis`` (all axes by default)."""
        _numpy_arguments("mean", numpy)
        if keepdims is not False and keepdims is not True:
            keepdims = _flag(keepdims, "mean", "keepdims")
        return self._apply(Mean, (self,), {"axis": _axis(axis, self, "mean"), "keepdims": keepdims})

    def max(
        self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False, **numpy: Any
    ) -> Tensor:
        """Maximum over ``axis``; the gradient goes to the elements that attain it."""
        _numpy_arguments("max", numpy)
        if keepdims is not False and keepdims is not True:
            keepdims = _flag(keepdims, "max", "keepdims")
        return self._apply(Max, (self,), {"axis": _axis(axis, self, "max"), "keepdims": keepdims})

    def min(
        self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False, **numpy: Any
    ) -> Tensor:
        """Minimum over ``axis``; the gradient goes to the elements that attain it."""
        _numpy_arguments("min", numpy)
        if keepdims is not False and keepdims is not True:
            keepdims = _flag(keepdims, "min", "keepdims")
        return self._apply(Min, (self,), {"axis": _axis(axis, self, "min"), "keepdims": keepdims})

    def var(
        self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False, ddof: int = 0
    ) -> Tensor:
        """Variance: mean squared distance from the mean (``ddof=1`` for the sample variance)."""
        axis = _axis(axis, self, "var")
        axes = range(self.ndim) if axis is None else (axis,) if np.ndim(axis) == 0 else axis
        count = math.prod(self.shape[a] for a in axes)
        if count == 0:
            raise OpError(f"var: the tensor is empty (shape {self.shape}), so its variance is "
                          "not a number")
        if isinstance(ddof, bool) or not isinstance(ddof, numbers.Integral) or not \
                0 <= ddof < count:
            raise ValueError(f"var: ddof must be a whole number from 0 to {count - 1} (one "
                             f"less than the {count} elements averaged), got {ddof!r}")
        centred = self - self.mean(axis=axis, keepdims=True)
        return (centred * centred).sum(axis=axis, keepdims=keepdims) / (count - ddof)

    def reshape(self, *shape: int | Sequence[int]) -> Tensor:
        """The same elements in a new shape (one dimension may be -1)."""
        if len(shape) == 1 and not isinstance(shape[0], numbers.Integral):
            shape = shape[0]
        if isinstance(shape, (str, bytes)) or not all(
                isinstance(n, numbers.Integral) for n in _iterable(shape, "reshape", shape)):
            raise TypeError(f"reshape: the new shape must be whole numbers, e.g. reshape(2, 3) "
                            f"or reshape((2, 3)), got {shape!r}")
        return self._apply(Reshape, (self,), {"shape": tuple(int(n) for n in shape)})

    def transpose(self, *axes: int | Sequence[int]) -> Tensor:
        """Permute the axes (reverse them when none are given)."""
        if len(axes) == 1 and not isinstance(axes[0], numbers.Integral):
            axes = tuple(axes[0]) if axes[0] is not None else ()
        return self._apply(Transpose, (self,), {"axes": tuple(axes) or None})

    def flatten(self) -> Tensor:
        """All elements in one axis."""
        return self.reshape(-1)

    def broadcast_to(self, shape: Sequence[int]) -> Tensor:
        """Repeat along axes of size 1 (and new leading axes) to reach ``shape``."""
        return self._apply(BroadcastTo, (self,), {"shape": tuple(shape)})

    def clip(self, low: float | None, high: float | None) -> Tensor:
        """Limit values to [low, high]; no gradient flows where a limit was applied."""
        low = -np.inf if low is None else _bound(low, "low")
        high = np.inf if high is None else _bound(high, "high")
        return self._apply(Clip, (self,), {"low": low, "high": high})

    def __getitem__(self, index: Any) -> Tensor:
        return self._apply(GetItem, (self,), {"index": _index(index)})

    # -- comparisons: not differentiable, they give boolean tensors
    def __lt__(self, other: ArrayLike) -> Tensor:
        return _compare(self, other, "<")

    def __le__(self, other: ArrayLike) -> Tensor:
        return _compare(self, other, "<=")

    def __gt__(self, other: ArrayLike) -> Tensor:
        return _compare(self, other, ">")

    def __ge__(self, other: ArrayLike) -> Tensor:
        return _compare(self, other, ">=")

    def __eq__(self, other: object) -> Tensor:  # type: ignore[override]
        return _compare(self, other, "==")

    def __ne__(self, other: object) -> Tensor:  # type: ignore[override]
        return _compare(self, other, "!=")

    # -- Python's idioms: a one-element tensor is a number; a tensor iterates over its rows
    def __float__(self) -> float:
        return float(self._one_number("float"))

    def __int__(self) -> int:
        return int(self._one_number("int"))

    def __round__(self, ndigits: int | None = None) -> float | int:
        return round(self._one_number("round"), ndigits)

    def __format__(self, spec: str) -> str:
        """``f"{loss:.4f}"`` formats the number (every element, for a larger tensor)."""
        if not spec:
            return str(self)
        if self.size == 1:
            return format(self._array.item(), spec)
        return np.array2string(self._array, separator=", ",
                               formatter={"all": lambda x: format(x, spec)})

    def __iter__(self) -> Any:
        """The rows (t[0], t[1], ...), each a tensor in the graph, as in PyTorch."""
        if self.ndim == 0:
            raise TypeError("Tensor: a 0-d tensor (a single number) cannot be iterated; "
                            "use .item() for the number")
        return (self[i] for i in range(len(self._array)))

    def _one_number(self, caller: str) -> Any:
        if self.size != 1:
            raise TypeError(f"{caller}(): only a tensor with one element is a number; this "
                            f"one has shape {self.shape} (use .sum() or .mean() first, or "
                            "index one element)")
        return self._array.item()

    def __bool__(self) -> bool:
        if self.size != 1:  # as numpy: `if t:` or `t in list` needs a single element
            raise ValueError(
                f"Tensor: the truth value of a tensor of shape {self.shape} is ambiguous; "
                "use t.data.any() or t.data.all()"
            )
        return bool(self._array)

    # -- leaving the graph
    def item(self) -> float:
        """The single element as a Python number."""
        try:
            return self._array.item()
        except ValueError:
            raise ValueError(f"item: only a tensor with one element is a number; this one has "
                             f"shape {self.shape} (use .sum() or .mean() first, or index one "
                             "element)") from None

    def numpy(self) -> np.ndarray:
        """The data as a numpy array (shared, not copied)."""
        return self.data

    def detach(self) -> Tensor:
        """A new leaf with a copy of the values, with no history and no gradient."""
        return Tensor(self._array, name=self.name)

    def zero_grad(self) -> None:
        """Forget this tensor's gradient."""
        self.grad = None

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return self.data if dtype is None else self.data.astype(dtype)

    def __repr__(self) -> str:
        body = np.array2string(self._array, precision=4, separator=", ", threshold=20)
        extras = ""
        if self.dtype != np.float64:
            extras += f", dtype={self.dtype}"
        if self.requires_grad:
            extras += ", requires_grad=True"
        if self.name:
            extras += f", name={self.name!r}"
        return f"Tensor({body}{extras})"


# ---------------------------------------------------------------- module functions


def concat(tensors: Sequence[Tensor], axis: int = 0) -> Tensor:
    """Join tensors along an existing axis."""
    tensors = _sequence(tensors, "concat")
    try:
        return Tensor._apply(Concat, tensors, {"axis": axis})
    except OpError:
        if not tensors:
            raise
        ndims = {np.ndim(_raw(t)) for t in tensors}
        if ndims == {0}:
            raise OpError("concat: the inputs are single numbers (shape ()); concat needs "
                          "tensors with at least one axis (stack joins numbers)") from None
        _check_join_axis("concat", tensors, axis, min(ndims))
        raise


def stack(tensors: Sequence[Tensor], axis: int = 0) -> Tensor:
    """Join tensors along a new axis."""
    tensors = _sequence(tensors, "stack")
    try:
        return Tensor._apply(Stack, tensors, {"axis": axis})
    except OpError:
        if not tensors:
            raise
        _check_join_axis("stack", tensors, axis, min(np.ndim(_raw(t)) for t in tensors) + 1)
        raise


def _sequence(tensors: Any, caller: str) -> tuple:
    if isinstance(tensors, (list, tuple)):
        return tuple(tensors)
    if isinstance(tensors, (Node, np.ndarray, str, bytes)) or not hasattr(tensors, "__iter__"):
        raise TypeError(f"{caller}: expected a list of tensors, e.g. {caller}([a, b]), got "
                        f"{tensors!r:.60}")
    return tuple(tensors)


def _check_join_axis(caller: str, tensors: tuple, axis: Any, ndim: int) -> None:
    """After a failed join: a sentence for an axis that does not exist (else the op's own)."""
    shape = np.shape(_raw(tensors[0])) if tensors else ()
    if isinstance(axis, numbers.Integral) and not -ndim <= axis < ndim:
        raise OpError(f"{caller}: axis {axis} does not exist for tensors of shape {shape} "
                      f"(the axes are 0 to {ndim - 1}, or -1 to -{ndim} from the end)") from None


def where(condition: ArrayLike, x: ArrayLike, y: ArrayLike) -> Tensor:
    """Elementwise choice: x where condition holds, y elsewhere (condition has no gradient)."""
    if not isinstance(x, Tensor) and not isinstance(y, Tensor):
        try:
            x = Tensor(x)
        except (TypeError, ValueError):
            raise TypeError(f"where: x must be numbers, an array or a Tensor, got "
                            f"{x!r:.60}") from None
    condition = np.asarray(_raw(condition))
    if condition.dtype.kind not in "biuf":
        raise TypeError(f"where: the condition must be booleans (such as x > 0), got "
                        f"{condition.dtype} {condition!r:.40}")
    condition = owned(condition.astype(bool))
    return Tensor._apply(Where, (x, y), {"condition": condition})


def pad(x: Tensor, pad_width: Any) -> Tensor:
    """Surround x with zeros; ``pad_width`` as in numpy.pad (per axis: (before, after))."""
    return Tensor._apply(Pad, (x,), {"pad_width": _freeze(pad_width)})


# ---------------------------------------------------------------- helpers


def _as_array(data: ArrayLike, dtype: Any) -> np.ndarray:
    """data as a new array of numbers that nothing else holds (Tensor() copies, as np.array)."""
    if type(data) is np.ndarray and dtype is None and data.dtype.kind == "f":
        return data.copy()  # the usual case, a batch of data
    if isinstance(data, Node):
        data = array_of(data)
    try:
        array = np.asarray(data) if dtype is None else np.asarray(data, dtype=dtype)
    except TypeError:
        if dtype is None or _is_dtype(dtype):
            raise
        raise TypeError(f"Tensor: dtype {dtype!r} is not a number type numpy knows; use "
                        "float64, float32, int or bool") from None
    except ValueError as error:
        if "inhomogeneous" in str(error) or "sequence" in str(error):
            raise ValueError("Tensor: the rows have different lengths (a ragged list); every "
                             "row must have as many numbers as the others") from None
        raise ValueError(f"Tensor: cannot make an array of numbers from this ({error})") from None
    if dtype is not None and array.dtype.kind not in "biuf":  # str, object, complex
        raise TypeError(f"Tensor: dtype must be a real number type (float64, float32, int, "
                        f"bool), got {array.dtype}")
    if dtype is None:
        kind = array.dtype.kind  # f float, b bool, i/u integer
        if kind in "iu" or (kind == "b" and not isinstance(data, (np.ndarray, bool))):
            array = array.astype(np.float64)  # a boolean array (a mask) stays boolean
        elif kind not in "fb":
            if kind == "O" and any(isinstance(x, Node) for x in array.flat):
                raise TypeError("Tensor: the list holds Values or Tensors; make a Tensor of "
                                "their numbers, e.g. Tensor([v.data for v in values]), or join "
                                "tensors with stack")
            raise TypeError(
                f"Tensor: expected numbers, got an array of {array.dtype} "
                f"from {type(data).__name__}"
            )
    if array is data or not array.flags.owndata:  # it may share the caller's memory
        array = array.copy()
    return array


def _is_dtype(dtype: Any) -> bool:
    try:
        np.dtype(dtype)
    except TypeError:
        return False
    return True


def _lift_all(inputs: Sequence, op: type[Op]) -> tuple[Tensor, ...]:
    """The inputs with numbers and arrays lifted to constant leaves (see _lift)."""
    dtype = _FLOAT64  # when no input is a Tensor, as in stack([arrays])
    for x in inputs:
        if isinstance(x, Tensor):  # the first tensor's dtype
            dtype = x._array.dtype
            break
    return tuple([x if isinstance(x, Tensor) else _lift(x, dtype, op) for x in inputs])


def _constant(array: np.ndarray) -> Tensor:
    """A leaf without gradient for a float array, as Tensor(array) makes it, minus its checks."""
    leaf = Tensor.__new__(Tensor)
    leaf._array = array
    leaf.grad, leaf.name, leaf.requires_grad, leaf._state = None, None, False, PRIVATE
    leaf.parents, leaf.operation, leaf.params = (), None, None
    return leaf


def keeps_its_array(x: Any) -> bool:
    """Whether x is a Tensor without gradient whose array is its own: made by Tensor() or
    an op (not a view of another array) and never handed out by .data. A loss may then
    keep x itself as a constant input, as an op would keep a copy."""
    return (type(x) is Tensor and not x.requires_grad and x._state == PRIVATE
            and x._array.base is None)


def _lift(x: Any, dtype: np.dtype, op: type[Op]) -> Tensor:
    """Wrap a number or array as a constant leaf, in the other operand's float dtype.

    A constant never changes the precision of the graph: float32 stays float32 even next
    to a float64 numpy array. Next to a boolean tensor (a mask), constants are float64.
    """
    if isinstance(x, Node):
        raise TypeError(
            f"{op.name}: cannot mix a Tensor and a Value; use value.data to get the number"
        )
    float_dtype = dtype if dtype.kind == "f" else _FLOAT64
    if type(x) is np.ndarray and x.dtype == float_dtype:  # the usual case: a batch of data
        return _constant(x.copy())  # the graph keeps its own copy: the caller may change x
    if isinstance(x, numbers.Real):  # not complex: that is refused below, in a sentence
        return _constant(np.asarray(x, dtype=float_dtype))
    try:
        array = np.asarray(x)
    except Exception:
        array = None
    if array is None or array.dtype.kind not in "biuf":
        what = "complex " if array is not None and array.dtype.kind == "c" else ""
        raise TypeError(f"{op.name}: expected a real number, an array or a Tensor, got "
                        f"{what}{x!r}")
    if array.dtype.kind == "b" and dtype.kind == "b":
        return Tensor(array)  # mask with mask stays boolean
    return _constant(np.array(array, dtype=float_dtype))  # a copy: the graph keeps its own


def _forward_in_domain(op: type[Op], datas: list, params: dict | None) -> np.ndarray:
    """Run an op that can leave its domain, with numpy's warnings off: the overflow policy
    of Tensor._apply (see _refuse_non_finite), for callers that run ops themselves."""
    try:  # numpy's warnings from chaingrad's ops are silenced (see autograd/__init__)
        data = op.forward(*datas, **(params or {}))
    except RuntimeWarning:  # warnings made errors (simplefilter("error")): ours is better
        with np.errstate(all="ignore"):
            data = op.forward(*datas, **(params or {}))
    if not _all_finite(data):
        _refuse_non_finite(op, datas, params, data)
    return data


def _all_finite(data: Any) -> bool:
    """Whether every element is a finite number, checked after every op that can overflow.

    One number (a loss, a sum) is asked directly. For an array, the sum of the squares
    (one dot product) is nan or infinite when any element is, so a finite one proves them
    all finite; one that overflows from large finite elements proves nothing, and then
    each element is looked at.
    """
    if type(data) is not np.ndarray or data.ndim == 0:
        return math.isfinite(data)
    flat = data.ravel()
    try:
        return math.isfinite(flat.dot(flat)) or bool(np.isfinite(data).all())
    except RuntimeWarning:  # float16 squares overflowing, with warnings made errors
        return bool(np.isfinite(data).all())


def _refuse_non_finite(op: type[Op], datas: list, params: dict | None, data: Any) -> None:
    """The overflow policy, for a result with a nan or an infinity in it: an OpError with the
    op's sentence for the first element it made from finite inputs. nan or infinity given
    as input passes through (a -inf mask stays a mask): then this returns."""
    empty = next((d for d in datas if np.size(d) == 0), None)
    if empty is not None and not op.elementwise:  # the mean of nothing
        raise OpError(f"{op.name}: the tensor is empty (shape {tuple(np.shape(empty))}), so "
                      f"its {op.name} is not a number")
    shapes = [np.shape(d) for d in datas]
    if not op.elementwise or np.broadcast_shapes(*shapes) != np.shape(data):  # sum, @
        if not all(np.isfinite(d).all() for d in datas):
            return
        made = ~np.isfinite(data)
        result = np.asarray(data)[np.unravel_index(np.argmax(made), made.shape)]
        largest = max(float(np.max(np.abs(d), initial=0.0)) for d in datas)
        dtype = np.asarray(data).dtype
        reason = (f"the result overflows to {result} although every input is finite (the "
                  f"largest magnitude is {largest:.6g}; the largest {dtype} is about "
                  f"{np.finfo(dtype).max:.2g})")
    else:
        made = ~np.isfinite(data) & functools.reduce(np.logical_and,
                                                     [np.isfinite(d) for d in datas])
        if not made.any():
            return
        first = tuple(int(i) for i in np.argwhere(made)[0])
        scalars = [np.broadcast_to(d, np.shape(made))[first].item() for d in datas]
        reason = non_finite_reason(op, scalars, params, np.asarray(data)[first].item(),
                                   np.asarray(data).dtype)
    where_ = tuple(int(i) for i in np.argwhere(made)[0])
    detail = [f"at index {where_}"] if where_ else []
    if made.sum() > 1:
        detail.append(f"{int(made.sum())} of {made.size} elements")
    raise OpError(f"{op.name}: {reason}" + (f" ({', '.join(detail)})" if detail else ""))


def _owner(array: np.ndarray) -> np.ndarray | None:
    """The array that owns array's memory, when array is all of it (itself or a plain view)."""
    base = array.base
    if base is None:
        return array
    if (type(base) is np.ndarray and base.base is None and base.shape == array.shape
            and base.strides == array.strides and base.dtype == array.dtype):
        return base
    return None


def _make_read_only(array: np.ndarray) -> None:
    """Make array, and the array it views, read-only (a graph waits to read them)."""
    array.flags.writeable = False
    base = array.base
    if type(base) is np.ndarray:
        base.flags.writeable = False


def _make_writable(array: np.ndarray) -> None:
    """Undo _make_read_only: the array it views first (numpy requires it), then the array."""
    try:
        base = array.base
        if type(base) is np.ndarray:
            base.flags.writeable = True
        array.flags.writeable = True
    except ValueError:  # memory numpy may not write (a read-only buffer): leave it be
        pass


def _keep_precision(data: np.ndarray, datas: Sequence[np.ndarray]) -> np.ndarray:
    """The result in the float dtype its inputs' dtypes give (float32 for float32 inputs).

    numpy before 2.0 looks at the *values* of 0-d arrays: ``0.5 * x`` or ``x / n`` of a
    float32 0-d array comes back float64. Deciding from the dtypes alone, as numpy 2 does,
    keeps float32 float32 on every numpy the package supports, in this one place.
    """
    expected = np.result_type(*(d.dtype for d in datas))
    if data.dtype.kind == "f" and expected.kind == "f" and data.dtype != expected:
        return data.astype(expected)
    if data.dtype.kind == "f" and expected.kind == "b":  # exp of a mask: float64, not float16
        return data.astype(np.float64)
    return data


def _bound(limit: Any, which: str) -> Any:
    """clip's low or high: a number or an array of numbers (None, for no limit, is handled
    by clip)."""
    if isinstance(limit, numbers.Real):
        return limit
    try:
        kind = np.asarray(_raw(limit)).dtype.kind
    except (TypeError, ValueError):
        kind = "O"
    if kind not in "biuf":
        raise TypeError(f"clip: {which} must be a number, an array of numbers or None, "
                        f"got {limit!r:.60}")
    return limit


_COMPARE = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
            "==": operator.eq, "!=": operator.ne}


def _compare(tensor: Tensor, other: Any, symbol: str) -> Tensor:
    """tensor < other (and the others): a boolean tensor, outside the graph."""
    try:  # shapes first: numpy before 1.25 answers == and != of any two shapes with False
        np.broadcast_shapes(tensor.shape, np.shape(_raw(other)))
        return Tensor(np.asarray(_COMPARE[symbol](tensor._array, _raw(other))))
    except (TypeError, ValueError) as error:  # numpy's words: say it as a sentence
        if other is None or np.asarray(_raw(other)).dtype.kind not in "biuf":
            raise TypeError(f"{symbol}: expected a number, an array or a Tensor, got "
                            f"{other!r:.60}") from None
        raise OpError(f"{symbol}: shapes {tensor.shape} and {np.shape(_raw(other))} cannot be "
                      f"compared ({error})") from None


def _raw(x: Any) -> Any:
    return x._array if isinstance(x, Node) else x


def _axis(axis: Any, tensor: Tensor, caller: str) -> Any:
    """``axis`` checked against the tensor's dimensions: None, an int or a tuple of ints."""
    if axis is None:
        return None
    axes = (axis,) if isinstance(axis, numbers.Integral) else axis
    if isinstance(axes, (str, bytes)) or not all(
            isinstance(a, numbers.Integral) and not isinstance(a, bool)
            for a in _iterable(axes, caller, axis)):
        raise TypeError(f"{caller}: axis must be a whole number or a tuple of them, got {axis!r}")
    for a in axes:
        if not -tensor.ndim <= a < tensor.ndim:
            raise OpError(f"{caller}: axis {a} does not exist for a tensor of shape "
                          f"{tensor.shape} (its axes are 0 to {tensor.ndim - 1}, or -1 to "
                          f"-{tensor.ndim} from the end)")
    if len({a % tensor.ndim for a in axes}) != len(axes):
        raise OpError(f"{caller}: axis {axis!r} names the same axis twice")
    return int(axis) if isinstance(axis, numbers.Integral) else tuple(int(a) for a in axes)


def _flag(value: Any, caller: str, argument: str) -> bool:
    """A True/False argument given as numpy's bool, or a refusal that names it."""
    if isinstance(value, np.bool_):
        return bool(value)
    raise TypeError(f"{caller}: {argument} must be True or False, got {value!r}")


def _numpy_arguments(caller: str, given: dict) -> None:
    """np.sum(t) calls t.sum(axis=None, dtype=None, out=None): accept numpy's defaults."""
    for key, value in given.items():
        if key not in ("dtype", "out") or value is not None:
            raise TypeError(f"{caller}: unexpected argument {key}={value!r} (a Tensor's "
                            f"{caller} takes axis and keepdims)")


def _iterable(axes: Any, caller: str, axis: Any) -> Any:
    try:
        return list(axes)
    except TypeError:
        raise TypeError(
            f"{caller}: axis must be a whole number or a tuple of them, got {axis!r}") from None


def _index(index: Any) -> Any:
    """Tensors used as indices become plain arrays (an index has no gradient)."""
    if isinstance(index, tuple):
        return tuple(owned(_raw(i)) for i in index)
    if isinstance(index, list):
        return owned(np.asarray(index))
    return owned(_raw(index))


def _freeze(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    return value


def _shape_message(op: type[Op], datas: list, params: dict | None, error: Exception) -> str:
    """The error an op raises: its own sentence, else the shapes of all its inputs."""
    reason = domain_reason(op, datas, params)
    if reason is None and isinstance(error, TypeError) and any(
            np.asarray(d).dtype.kind == "b" for d in datas):  # numpy's words for masks
        reason = (f"{op.symbol} does not work on boolean tensors (masks); make numbers first, "
                  "e.g. Tensor(mask.data, dtype=float)")
    if reason is None and "zero-size array" in str(error):
        reason = f"the tensor is empty (shape {tuple(np.shape(datas[0]))}): it has no {op.name}"
    if reason is not None or len(datas) < 2:
        return f"{op.name}: {reason or error}"
    shapes = " and ".join(str(tuple(np.shape(d))) for d in datas)
    if "broadcast" in str(error):
        return f"{op.name}: shapes {shapes} cannot be broadcast together"
    return f"{op.name}: shapes {shapes} do not fit together ({error})"
