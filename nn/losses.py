"""Loss functions: how far the predictions are from the targets, as one number to minimise.

Every loss takes ``(prediction, target)`` in PyTorch's order and works on Tensors (a batch,
one example per row) and on Values or lists of Values (scalar networks). The mean over the
examples is taken unless ``reduction="sum"``.

    >>> loss = mse(model(X), y)       # X: (N, features), y: (N,) or (N, 1)
    >>> loss.backward()
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..autograd import Node, Op, Tensor, Value, grad
from ..autograd.dispatch import constant
from ..autograd.dispatch import tanh as tanh_
from ..autograd.tensor import keeps_its_array
from . import functional

if TYPE_CHECKING:  # for annotations only: a model is anything with .parameters()
    from .module import Module

# What a loss returns: a Value for a scalar network, a Tensor (one number) for a batch.
# Both have the operators, so mse(...) + l2_penalty(...) type-checks.
Loss = Value | Tensor

# ---------------------------------------------------------------- shared plumbing


def _as_pairs(prediction: Any, target: Any, loss: str) -> tuple[Any, Any, bool]:
    """(prediction, target, is_tensor) with the target shaped like the prediction."""
    if isinstance(prediction, Value) or (
        isinstance(prediction, (list, tuple)) and prediction and isinstance(prediction[0], Value)
    ):
        predictions = [prediction] if isinstance(prediction, Value) else list(prediction)
        targets = np.ravel(_target_array(target, np.float64, loss)).tolist()
        if len(targets) != len(predictions):
            raise ValueError(
                f"{loss}: {len(predictions)} predictions but {len(targets)} targets"
            )
        return predictions, targets, False
    if not isinstance(prediction, Tensor):
        try:
            prediction = Tensor(prediction)
        except (TypeError, ValueError):
            raise TypeError(f"{loss}: prediction must be a Tensor (or numbers), got "
                            f"{prediction!r:.60}") from None
    if prediction.size == 0:
        raise ValueError(f"{loss}: the prediction is empty (shape {prediction.shape}); a loss "
                         "needs at least one example")
    if (keeps_its_array(target) and target.shape == prediction.shape
            and target.dtype == prediction.dtype):
        return prediction, target, True  # the labels enter the graph as they are: no copy
    target = _target_array(target, prediction.dtype, loss)
    if target.shape != prediction.shape:
        # (N,) targets against (N, 1) predictions: the same numbers. Broadcasting them
        # would silently compare every prediction with every target, and reshaping (3, 2)
        # into (2, 3) would pair the wrong ones.
        if _without_ones(target.shape) != _without_ones(prediction.shape):
            raise ValueError(
                f"{loss}: prediction has shape {prediction.shape} but target has shape "
                f"{target.shape}; give one target per prediction, in the same layout"
            )
        target = target.reshape(prediction.shape)
    return prediction, target, True


def _target_array(target: Any, dtype: Any, loss: str) -> np.ndarray:
    """The target as an array of numbers, or a sentence naming the loss."""
    try:
        if target is None:
            raise TypeError
        raw = constant(target) if isinstance(target, Node) else getattr(target, "data", target)
        return np.asarray(raw, dtype=dtype)  # no copy of a Tensor's array: the op keeps one
    except (TypeError, ValueError):
        raise TypeError(f"{loss}: target must be numbers (an array, a list or a Tensor), got "
                        f"{target!r:.60}") from None


def _without_ones(shape: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(n for n in shape if n != 1)


def _numbers(x: Any) -> np.ndarray:
    """The numbers in a Tensor, a Value, a list of them or an array, read without a copy."""
    if isinstance(x, (list, tuple)):
        return np.asarray([constant(v) for v in x], dtype=float)
    return np.asarray(constant(x), dtype=float)


# Read as unsigned integers of the same width, the floats from +0.0 to 1.0 are exactly the
# integers from 0 to 1.0's bit pattern; negative numbers (sign bit set), numbers above 1,
# infinities and nan all read larger. So one reduction (the largest) checks a float array.
# (numpy's own integer scalars: numpy 1.x compares an uint64 with a Python int in float64)
_BITS_OF_ONE = {np.dtype(np.float64): (np.uint64, np.uint64(0x3FF0000000000000)),
                np.dtype(np.float32): (np.uint32, np.uint32(0x3F800000))}


def _within_0_1(values: np.ndarray) -> bool:
    """Every value in [0, 1] (nan is not): checked once per training step, so quickly."""
    if values.size == 0:
        return True
    bits = _BITS_OF_ONE.get(values.dtype)
    if bits is not None and np.maximum.reduce(values.view(bits[0]), axis=None) <= bits[1]:
        return True
    # two reductions decide the rest exactly (-0.0 among them; nan fails both comparisons)
    return bool(np.minimum.reduce(values, axis=None) >= 0.0
                and np.maximum.reduce(values, axis=None) <= 1.0)


def _outside_0_1(values: np.ndarray) -> tuple[float, int]:
    """The first value outside [0, 1] and how many are (nan counts as outside)."""
    outside = ~((values >= 0.0) & (values <= 1.0))
    first = values[tuple(np.argwhere(outside)[0])] if values.ndim else values
    return float(first), int(outside.sum())


def _check_labels(target: Any, loss: str) -> None:
    """Binary labels (or soft ones) lie in [0, 1]: 2 or -1 would give a made-up loss."""
    values = constant(target)  # a tensor's array, read without a copy
    if type(values) is not np.ndarray or values.dtype.kind not in "biuf":
        values = _numbers(target)  # lists, numbers, strings of digits
    if _within_0_1(values):  # the usual case, checked once per training step
        return
    first, count = _outside_0_1(values)
    raise ValueError(
        f"{loss}: the targets must be labels 0 or 1 (or probabilities in [0, 1]), got "
        f"{first:g} ({count} outside); map other labels first, "
        "such as y == 4 for the classes {2, 4}"
    )


def _reduce(terms: Any, is_tensor: bool, reduction: str, loss: str) -> Node:
    if reduction not in ("mean", "sum"):
        raise ValueError(f"{loss}: reduction must be 'mean' or 'sum', got {reduction!r}")
    if is_tensor:
        return terms.mean() if reduction == "mean" else terms.sum()
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    return total * (1.0 / len(terms)) if reduction == "mean" else total


def _elementwise(
    term: Callable[[Any, Any], Node], prediction: Any, target: Any, reduction: str, loss: str
) -> Node:
    """Apply term(p, t) to every example and reduce: on the whole tensor, or pair by pair."""
    prediction, target, is_tensor = _as_pairs(prediction, target, loss)
    if is_tensor:
        return _reduce(term(prediction, target), True, reduction, loss)
    terms = [term(p, t) for p, t in zip(prediction, target)]
    return _reduce(terms, False, reduction, loss)


def _clip(x: Node, low: float, high: float) -> Node:
    return Op.registry["clip"].apply(x, low=low, high=high)


# ---------------------------------------------------------------- regression


def mse(prediction: Any, target: Any, reduction: str = "mean") -> Loss:
    """Mean squared error: mean((ŷ - y)**2); d/dŷ = 2 (ŷ - y) / N."""
    return _elementwise(lambda p, t: (p - t) ** 2, prediction, target, reduction, "mse")


def mae(prediction: Any, target: Any, reduction: str = "mean") -> Loss:
    """Mean absolute error: mean(|ŷ - y|); d/dŷ = sign(ŷ - y) / N."""
    return _elementwise(lambda p, t: (p - t).abs(), prediction, target, reduction, "mae")


# ---------------------------------------------------------------- classification

BCE_EPSILON = 1e-7  # as Keras: log(0) never happens, and the loss stays below ~16.1


def bce(prediction: Any, target: Any, reduction: str = "mean", eps: float = BCE_EPSILON) -> Loss:
    """Binary cross-entropy on probabilities p in (0, 1), labels y in {0, 1}:
    mean(-(y log p + (1 - y) log(1 - p))); d/dp = (p - y) / (p (1 - p)) / N.

    p is clipped to [eps, 1 - eps] first. From logits, ``bce_with_logits`` is more accurate.
    A probability outside [0, 1] is refused: clipping it would give a made-up loss and a
    zero gradient.
    """
    if not (isinstance(eps, numbers.Real) and 0 < eps < 0.5):
        raise ValueError(f"bce: eps must be a number in (0, 0.5), got {eps!r:.40}; predictions "
                         "are clipped to [eps, 1 - eps]")
    _check_probabilities(prediction)
    _check_labels(target, "bce")

    def term(p: Node, t: Any) -> Node:
        p = _clip(p, eps, 1.0 - eps)
        return -(t * p.log() + (1.0 - t) * (1.0 - p).log())

    return _elementwise(term, prediction, target, reduction, "bce")


def _check_probabilities(prediction: Any) -> None:
    values = _numbers(prediction)
    if _within_0_1(values):
        return
    first, count = _outside_0_1(values)
    raise ValueError(
        f"bce: the predictions must be probabilities in [0, 1], got {first:g} "
        f"({count} outside); end the model with a sigmoid, or use "
        "bce_with_logits on the raw outputs"
    )


class BinaryCrossEntropyWithLogits(Op):
    """f(z, y) = ln(1 + e**z) - y z; df/dz = sigmoid(z) - y, df/dy = -z"""

    leaves_domain = True  # it can overflow
    name = "bce_with_logits"
    symbol = "bce"
    selective_backward = True  # the targets (usually data) rarely need a gradient

    def forward(z, y):
        if isinstance(z, np.ndarray) or isinstance(y, np.ndarray):
            return np.logaddexp(0.0, z) - y * z
        return max(z, 0.0) + math.log1p(math.exp(-abs(z))) - y * z  # never overflows

    def backward(grad_out, out, z, y, needs_grad=(True, True)):
        sigmoid = 0.5 * (1 + tanh_(0.5 * z))  # the same as 1 / (1 + e**-z), overflow-free
        return grad_out * (sigmoid - y), (-grad_out * z if needs_grad[1] else None)


class MeanBinaryCrossEntropyWithLogits(Op):
    """f(z, y) = mean(ln(1 + e**z) - y z) over N terms; df/dz = (sigmoid(z) - y) / N,
    df/dy = -z / N"""

    leaves_domain, elementwise = True, False  # it can overflow
    name = "bce_with_logits_mean"
    symbol = "bce"
    code = ("np.mean(np.logaddexp(0, {0}) - {1} * {0})",
            ("{g} / {0}.size * (0.5 * (1 + np.tanh(0.5 * {0})) - {1})", "-{g} / {0}.size * {0}"))
    on_values = False
    selective_backward = True

    def forward(z, y):
        return np.add.reduce(BinaryCrossEntropyWithLogits.forward(z, y), axis=None) / z.size

    def backward(grad_out, out, z, y, needs_grad=(True, True)):
        each = grad_out / z.size  # every term's share of the mean
        return BinaryCrossEntropyWithLogits.backward(each, out, z, y, needs_grad)


def bce_with_logits(logits: Any, target: Any, reduction: str = "mean") -> Loss:
    """bce(sigmoid(z), y) computed from the logit z without overflow: softplus(z) - y z;
    d/dz = (sigmoid(z) - y) / N.

    Each example's term is one op (``BinaryCrossEntropyWithLogits``): the same numbers as
    ``softplus(z) - z * y``, in fewer graph nodes, because training spends its time here.
    The mean over a batch of Tensors is one node too (``MeanBinaryCrossEntropyWithLogits``).
    """
    if reduction == "mean" and isinstance(logits, Tensor):  # a training step: read y once
        logits, target, _ = _as_pairs(logits, target, "bce_with_logits")
        _check_labels(target, "bce_with_logits")
        return MeanBinaryCrossEntropyWithLogits.apply(logits, target)
    _check_labels(target, "bce_with_logits")
    return _elementwise(
        BinaryCrossEntropyWithLogits.apply, logits, target, reduction, "bce_with_logits"
    )


def hinge(scores: Any, target: Any, reduction: str = "mean") -> Loss:
    """Hinge (max-margin) loss with labels y in {-1, +1}: mean(max(0, 1 - y s));
    d/ds = -y / N where y s < 1, else 0."""
    target_values = np.asarray(getattr(target, "data", target))
    if not np.all(np.isin(target_values, (-1.0, 1.0))):
        raise ValueError("hinge: labels must be -1 or +1 (map 0/1 labels with 2 y - 1)")
    return _elementwise(lambda s, t: (1.0 - s * t).relu(), scores, target, reduction, "hinge")


def cross_entropy(logits: Any, target: Any, reduction: str = "mean") -> Loss:
    """Cross-entropy from logits z (N, C): mean over examples of -log softmax(z)[label].

    ``target`` holds integer labels (N,) or one row of class probabilities per example
    (N, C), such as one-hot rows. d/dz = (softmax(z) - onehot(y)) / N; computed in one
    stable, fused op (``nn.functional.cross_entropy``). For a scalar network, ``logits`` is
    a list of C Values and ``target`` one integer label.
    """
    if isinstance(logits, (list, tuple)) and logits and isinstance(logits[0], Value):
        return _cross_entropy_values(list(logits), target)
    if reduction not in ("mean", "sum"):
        raise ValueError(f"cross_entropy: reduction must be 'mean' or 'sum', got {reduction!r}")
    mean = functional.cross_entropy(logits, target)
    if reduction == "sum":
        return mean * np.shape(getattr(logits, "data", logits))[0]
    return mean


def _cross_entropy_values(logits: list[Value], label: Any) -> Value:
    label = int(label)
    if not 0 <= label < len(logits):
        raise ValueError(f"cross_entropy: label {label} is not one of 0..{len(logits) - 1}")
    top = max(z.data for z in logits)
    total = sum(((z - top).exp() for z in logits), Value(0.0))
    return total.log() + top - logits[label]


# ---------------------------------------------------------------- penalties on the weights


def _parameters(parameters: Module | Iterable[Node], lam: Any, penalty: str) -> list[Node]:
    """The weights a penalty adds up, after checking what the user gave."""
    if not (isinstance(lam, numbers.Real) and not isinstance(lam, bool) and math.isfinite(lam)):
        raise TypeError(f"{penalty}: lam must be a number (the penalty's strength), got "
                        f"{lam!r:.40}")
    if _is_model(parameters):
        return parameters.parameters()
    if isinstance(parameters, (str, bytes)) or not hasattr(parameters, "__iter__"):
        raise TypeError(f"{penalty}: parameters must be a model or a list of Values or "
                        f"Tensors, got {parameters!r:.60}")
    return list(parameters)


def _total(terms: Iterable[Node]) -> Node:
    total: Any = 0.0
    for term in terms:
        total = term if isinstance(total, float) else total + term
    return total if isinstance(total, Node) else Value(0.0)


def _is_model(x: object) -> bool:
    """A Module, or anything else with .parameters() (this file comes before module.py)."""
    return callable(getattr(x, "parameters", None))


def l1_penalty(parameters: Module | Iterable[Node], lam: float = 1e-3) -> Loss:
    """λ Σ|w| over every weight (lasso: pushes weights to exactly 0); d/dw = λ sign(w)."""
    return lam * _total(p.abs() if p.scalar else p.abs().sum()
                        for p in _parameters(parameters, lam, "l1_penalty"))


def l2_penalty(parameters: Module | Iterable[Node], lam: float = 1e-3) -> Loss:
    """λ Σ w² over every weight (ridge, "weight decay"); d/dw = 2 λ w."""
    return lam * _total(p * p if p.scalar else (p * p).sum()
                        for p in _parameters(parameters, lam, "l2_penalty"))


def gradient_penalty(output: Node, wrt: Sequence[Node] | Module, lam: float = 1.0) -> Loss:
    """λ ‖∇_w ŷ‖²: the course's regularizer on how steeply the prediction ŷ moves with w.

    Its gradient needs the derivative of a derivative: ∇_w ŷ is computed with
    ``grad(..., create_graph=True)``, so it is itself a graph that backward can go
    through (double backpropagation). For a batch, ŷ is summed first.
    """
    inputs = wrt.parameters() if _is_model(wrt) else list(wrt)
    total = output if output.scalar or output.size == 1 else output.sum()
    gradients = grad(total, inputs, create_graph=True)
    return lam * _total(g * g if g.scalar else (g * g).sum() for g in gradients)


# ---------------------------------------------------------------- by name (for compile)

LOSSES: dict[str, Callable[..., Node]] = {
    "mse": mse,
    "mean_squared_error": mse,
    "mae": mae,
    "mean_absolute_error": mae,
    "bce": bce,
    "binary_crossentropy": bce,
    "bce_with_logits": bce_with_logits,
    "cross_entropy": cross_entropy,
    "categorical_crossentropy": cross_entropy,
    "sparse_categorical_crossentropy": cross_entropy,
    "hinge": hinge,
}


def get(loss: str | Callable[..., Node], caller: str = "get") -> Callable[..., Node]:
    """A loss function by name (Keras' names work too), or the function itself (``caller``
    names the function the user called, in the error)."""
    if callable(loss):
        return loss
    if not isinstance(loss, str) or loss not in LOSSES:
        raise ValueError(f"{caller}: unknown loss {loss!r}; choose one of {', '.join(LOSSES)}, "
                         "or give a function of (prediction, target)")
    return LOSSES[loss]
