"""Small datasets for the lessons, plus splitting, batching and standardization.

Everything here is plain numpy. Every generator takes ``n`` (number of samples),
``noise`` (standard deviation of the Gaussian noise added) and ``seed`` (an int, a
``numpy.random.Generator`` or None), and returns ``(X, y)``:

* classification: ``X`` float64 of shape ``(n, 2)``, ``y`` int64 class labels of shape ``(n,)``;
* regression: ``X`` float64 of shape ``(n, 1)``, ``y`` float64 of shape ``(n, 1)`` (a column,
  like a model's output, so ``y_pred - y`` never broadcasts to ``(n, n)`` by accident).

The same seed always gives the same data.

The digits (``digits()``) are the UCI "Optical Recognition of Handwritten Digits" 8x8 images
by E. Alpaydin and C. Kaynak (1998), licensed CC BY 4.0, as shipped with scikit-learn.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

Seed = int | np.random.Generator | None
Pair = tuple[np.ndarray, np.ndarray]  # what the generators return: (X, y)

__all__ = [
    "Standardizer",
    "and_gate",
    "batches",
    "blobs",
    "circles",
    "curve",
    "digits",
    "linear_regression",
    "logic",
    "moons",
    "nand",
    "one_hot",
    "or_gate",
    "spirals",
    "standardize",
    "train_val_test_split",
    "xor",
]


# ---------------------------------------------------------------------------- checks


def _rng(seed: Seed) -> np.random.Generator:
    """A numpy Generator from an int seed, an existing Generator, or None (fresh entropy)."""
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)


def _check_n(func: str, n: int, minimum: int = 1) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"{func}: n must be an integer, got {n!r}")
    if n < minimum:
        raise ValueError(f"{func}: n must be at least {minimum}, got {n}")
    return int(n)


def _check_noise(func: str, noise: float) -> float:
    if not np.isfinite(noise) or noise < 0:
        raise ValueError(f"{func}: noise must be a finite number >= 0, got {noise!r}")
    return float(noise)


def _shuffled(rng: np.random.Generator, X: np.ndarray, y: np.ndarray) -> Pair:
    order = rng.permutation(len(X))
    return X[order], y[order]


# ------------------------------------------------------------------------ logic gates

_TRUTH_TABLES = {
    "and": (0, 0, 0, 1),
    "or": (0, 1, 1, 1),
    "xor": (0, 1, 1, 0),
    "nand": (1, 1, 1, 0),
    "nor": (1, 0, 0, 0),
    "xnor": (1, 0, 0, 1),
}


def logic(name: str, n: int = 4, noise: float = 0.0, seed: Seed = None) -> Pair:
    """A two-input logic gate: inputs (0,0), (0,1), (1,0), (1,1) and the gate's output.

    ``n=4, noise=0`` gives the bare truth table, in that row order. A larger ``n`` repeats
    the four corners in turn (so the classes stay balanced) and ``noise`` adds Gaussian
    jitter to the inputs. Names: and, or, xor, nand, nor, xnor.
    Returns ``X`` float64 (n, 2) and ``y`` int64 (n,) in {0, 1}.
    """
    return _gate("logic", name, n, noise, seed)


def _gate(func: str, name: str, n: int, noise: float, seed: Seed) -> Pair:
    key = name.lower()
    if key not in _TRUTH_TABLES:
        raise ValueError(f"{func}: unknown gate {name!r}; choose one of {sorted(_TRUTH_TABLES)}")
    n = _check_n(func, n)
    noise = _check_noise(func, noise)
    corners = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    outputs = np.array(_TRUTH_TABLES[key], dtype=np.int64)
    rows = np.arange(n) % 4
    X = corners[rows]
    if noise > 0:
        X = X + _rng(seed).normal(0.0, noise, size=X.shape)
    return X, outputs[rows]


def and_gate(n: int = 4, noise: float = 0.0, seed: Seed = None) -> Pair:
    """AND: y = 1 only for (1, 1). See ``logic``."""
    return _gate("and_gate", "and", n, noise, seed)


def or_gate(n: int = 4, noise: float = 0.0, seed: Seed = None) -> Pair:
    """OR: y = 0 only for (0, 0). See ``logic``."""
    return _gate("or_gate", "or", n, noise, seed)


def xor(n: int = 4, noise: float = 0.0, seed: Seed = None) -> Pair:
    """XOR: y = 1 when exactly one input is 1; no straight line separates it. See ``logic``."""
    return _gate("xor", "xor", n, noise, seed)


def nand(n: int = 4, noise: float = 0.0, seed: Seed = None) -> Pair:
    """NAND: y = 0 only for (1, 1). See ``logic``."""
    return _gate("nand", "nand", n, noise, seed)


# ---------------------------------------------------------------- 2-D classification


def moons(n: int = 200, noise: float = 0.1, seed: Seed = None) -> Pair:
    """Two interleaving half circles: class 0 the upper arc, class 1 the lower, shifted one.

    Returns ``X`` float64 (n, 2) and ``y`` int64 (n,), rows in random order.
    """
    n = _check_n("moons", n, minimum=2)
    noise = _check_noise("moons", noise)
    rng = _rng(seed)
    y = np.arange(n) % 2
    angle = rng.uniform(0.0, np.pi, size=n)
    upper = np.column_stack([np.cos(angle), np.sin(angle)])
    lower = np.column_stack([1.0 - np.cos(angle), 0.5 - np.sin(angle)])
    X = np.where(y[:, None] == 0, upper, lower)
    X = X + rng.normal(0.0, noise, size=X.shape)
    return _shuffled(rng, X, y.astype(np.int64))


def circles(n: int = 200, noise: float = 0.05, factor: float = 0.5,
            seed: Seed = None) -> Pair:
    """Two concentric circles: class 0 radius 1, class 1 radius ``factor`` (0 < factor < 1).

    Returns ``X`` float64 (n, 2) and ``y`` int64 (n,), rows in random order.
    """
    n = _check_n("circles", n, minimum=2)
    noise = _check_noise("circles", noise)
    if not 0 < factor < 1:
        raise ValueError(f"circles: factor must be between 0 and 1, got {factor!r}")
    rng = _rng(seed)
    y = np.arange(n) % 2
    angle = rng.uniform(0.0, 2 * np.pi, size=n)
    radius = np.where(y == 0, 1.0, factor)
    X = radius[:, None] * np.column_stack([np.cos(angle), np.sin(angle)])
    X = X + rng.normal(0.0, noise, size=X.shape)
    return _shuffled(rng, X, y.astype(np.int64))


def spirals(n: int = 300, arms: int = 2, noise: float = 0.05, turns: float = 1.0,
            seed: Seed = None) -> Pair:
    """``arms`` interleaved spirals from the origin out to radius 1, one class per arm.

    Arm k is r = t, angle = 2*pi*(turns*t + k/arms) for t in [0, 1].
    Returns ``X`` float64 (n, 2) and ``y`` int64 (n,) in 0..arms-1, rows in random order.
    """
    n = _check_n("spirals", n, minimum=1)
    noise = _check_noise("spirals", noise)
    if isinstance(arms, bool) or not isinstance(arms, (int, np.integer)) or arms < 1:
        raise ValueError(f"spirals: arms must be a positive integer, got {arms!r}")
    rng = _rng(seed)
    y = np.arange(n) % arms
    t = rng.uniform(0.0, 1.0, size=n)
    angle = 2 * np.pi * (turns * t + y / arms)
    X = t[:, None] * np.column_stack([np.cos(angle), np.sin(angle)])
    X = X + rng.normal(0.0, noise, size=X.shape)
    return _shuffled(rng, X, y.astype(np.int64))


def blobs(n: int = 300, centers: int | Sequence[Sequence[float]] = 3, std: float = 0.5,
          seed: Seed = None, noise: float | None = None) -> Pair:
    """Gaussian clusters, one class per center, with standard deviation ``std``.

    ``centers`` is a number k (the centers are then spread evenly on a circle of
    radius 3) or an array of shape (k, 2). ``noise`` is another name for ``std``.
    Returns ``X`` float64 (n, 2) and ``y`` int64 (n,) in 0..k-1, rows in random order.
    """
    n = _check_n("blobs", n)
    if noise is not None:
        std = noise
    std = _check_noise("blobs", std)
    if isinstance(centers, (int, np.integer)) and not isinstance(centers, bool):
        if centers < 1:
            raise ValueError(f"blobs: centers must be at least 1, got {centers}")
        angle = 2 * np.pi * np.arange(centers) / centers
        points = 3.0 * np.column_stack([np.cos(angle), np.sin(angle)])
    else:
        points = np.asarray(centers, dtype=np.float64)
        if points.ndim != 2 or points.shape[1] != 2 or len(points) == 0:
            raise ValueError(f"blobs: centers must have shape (k, 2), got {points.shape}")
    rng = _rng(seed)
    y = np.arange(n) % len(points)
    X = points[y] + rng.normal(0.0, std, size=(n, 2))
    return _shuffled(rng, X, y.astype(np.int64))


# ------------------------------------------------------------------------- regression


def linear_regression(n: int = 100, a: float = 2.0, b: float = 1.0, noise: float = 0.1,
                      low: float = -1.0, high: float = 1.0, seed: Seed = None) -> Pair:
    """Points on the line y = a*x + b plus Gaussian noise, x uniform in [low, high].

    Returns ``X`` float64 (n, 1) sorted by x, and ``y`` float64 (n, 1).
    """
    return _sample_curve("linear_regression", n, lambda x: a * x + b, noise, low, high, seed)


_CURVES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "sin": np.sin,
    "square": np.square,
    "cubic": lambda x: x**3,
    "gaussian": lambda x: np.exp(-(x**2)),
    "abs": np.abs,
}


def curve(n: int = 100, fn: str | Callable[[np.ndarray], np.ndarray] = "sin",
          noise: float = 0.1, low: float = -np.pi, high: float = np.pi,
          seed: Seed = None) -> Pair:
    """Points on a nonlinear curve y = fn(x) plus Gaussian noise, x uniform in [low, high].

    ``fn`` is a callable on arrays or one of "sin", "square", "cubic", "gaussian", "abs".
    Returns ``X`` float64 (n, 1) sorted by x, and ``y`` float64 (n, 1).
    """
    return _sample_curve("curve", n, fn, noise, low, high, seed)


def _sample_curve(func, n, fn, noise, low, high, seed) -> Pair:
    n = _check_n(func, n)
    noise = _check_noise(func, noise)
    if not low < high:
        raise ValueError(f"{func}: need low < high, got low={low!r}, high={high!r}")
    if isinstance(fn, str):
        if fn not in _CURVES:
            raise ValueError(f"{func}: unknown curve {fn!r}; choose one of {sorted(_CURVES)}")
        fn = _CURVES[fn]
    rng = _rng(seed)
    x = np.sort(rng.uniform(low, high, size=n))
    y = np.asarray(fn(x), dtype=np.float64) + rng.normal(0.0, noise, size=n)
    return x[:, None], y[:, None]


# ---------------------------------------------------------------------------- digits

_DIGITS_FILE = Path(__file__).with_name("datasets") / "digits.npz"


@lru_cache(maxsize=1)
def _load_digits_file():
    with np.load(_DIGITS_FILE, allow_pickle=False) as f:
        return {key: f[key] for key in ("images", "labels", "train_idx", "test_idx")}


def digits(split: str = "train", normalize: bool = True, flatten: bool = False) -> Pair:
    """The 8x8 handwritten digits (1,797 images of 0..9), with a fixed train/test split.

    ``split``: "train" (1,438 images), "test" (359) or "all" (1,797). The split is
    stratified (20% of each digit in test), drawn once with seed 0 and stored in the
    data file, so it never changes. Returns ``images`` float64 (n, 8, 8), or (n, 64) with
    ``flatten=True``, scaled to [0, 1] when ``normalize`` (raw pixel counts 0..16
    otherwise), and ``labels`` int64 (n,).

    Data: UCI "Optical Recognition of Handwritten Digits" by E. Alpaydin and C. Kaynak
    (1998), CC BY 4.0, https://doi.org/10.24432/C50P49, the copy bundled with
    scikit-learn. Each pixel counts the inked pixels in a 4x4 block of a 32x32 bitmap.
    """
    data = _load_digits_file()
    if split == "all":
        index = np.arange(len(data["labels"]))
    elif split in ("train", "test"):
        index = data[f"{split}_idx"].astype(np.int64)
    else:
        raise ValueError(f"digits: split must be 'train', 'test' or 'all', got {split!r}")
    images = data["images"][index].astype(np.float64)
    if normalize:
        images /= 16.0
    if flatten:
        images = images.reshape(len(images), 64)
    return images, data["labels"][index].astype(np.int64)


# ------------------------------------------------------------ splitting and batching


def train_val_test_split(X: np.ndarray, y: np.ndarray,
                         fractions: Sequence[float] = (0.8, 0.1, 0.1),
                         seed: Seed = None, shuffle: bool = True):
    """Split rows of X and y into parts of the given fractions (default 80/10/10).

    Returns one ``(X_part, y_part)`` pair per fraction:
    ``(X_tr, y_tr), (X_val, y_val), (X_te, y_te) = train_val_test_split(X, y)``.
    Two fractions, e.g. (0.8, 0.2), give a train/test split. Sizes are rounded and the
    last part takes what is left, so every row lands in exactly one part.
    """
    X, y = np.asarray(X), np.asarray(y)
    if len(X) != len(y):
        raise ValueError(f"train_val_test_split: X has {len(X)} rows but y has {len(y)}")
    try:
        fractions = tuple(float(f) for f in fractions)
    except TypeError:
        raise TypeError(
            "train_val_test_split: fractions is one argument, a tuple such as (0.8, 0.2) or "
            f"(0.8, 0.1, 0.1), got {fractions!r}; the next arguments are seed and shuffle"
        ) from None
    except ValueError:
        raise ValueError(f"train_val_test_split: fractions must be numbers, got {fractions!r}"
                         ) from None
    if len(fractions) < 2 or any(not np.isfinite(f) or f < 0 for f in fractions):
        raise ValueError("train_val_test_split: fractions must be two or more numbers >= 0, "
                         f"got {fractions}")
    if abs(sum(fractions) - 1.0) > 1e-9:
        raise ValueError(f"train_val_test_split: fractions must sum to 1, got {fractions} "
                         f"(sum {sum(fractions):g})")
    n = len(X)
    order = _rng(seed).permutation(n) if shuffle else np.arange(n)
    sizes = [round(f * n) for f in fractions[:-1]]
    if sum(sizes) > n:  # rounding up can overshoot by one; take it from the largest part
        sizes[int(np.argmax(sizes))] -= sum(sizes) - n
    cuts = np.cumsum(sizes)
    return tuple((X[part], y[part]) for part in np.split(order, cuts))


def batches(X: np.ndarray, y: np.ndarray | None = None, batch_size: int = 32,
            shuffle: bool = True, seed: Seed = None,
            drop_last: bool = False) -> Iterator:
    """Yield mini-batches ``(X_batch, y_batch)`` (or ``X_batch`` when y is None).

    One pass over the data is one epoch. The last batch is smaller when ``batch_size``
    does not divide n, unless ``drop_last``. Pass a ``numpy.random.Generator`` as
    ``seed`` to get a new order each epoch from one reproducible stream. The batches are
    slices of a copy of the rows in the epoch's order, made when the epoch starts: changing
    a batch in place never changes X or y.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
        raise TypeError(f"batches: batch_size must be an integer, got {batch_size!r}")
    if batch_size < 1:
        raise ValueError(f"batches: batch_size must be at least 1, got {batch_size}")
    X = np.asarray(X)
    if y is not None:
        y = np.asarray(y)
        if len(y) != len(X):
            raise ValueError(f"batches: X has {len(X)} rows but y has {len(y)}")
    n = len(X)
    order = _rng(seed).permutation(n) if shuffle else np.arange(n)
    # One gather per epoch, then slices of it: gathering each batch's rows costs more
    # than the step's arithmetic on a small network.
    X = X[order]
    y = None if y is None else y[order]
    stop = n - n % batch_size if drop_last else n
    for start in range(0, stop, batch_size):
        end = start + batch_size
        yield X[start:end] if y is None else (X[start:end], y[start:end])


# ----------------------------------------------------------------- preprocessing


class Standardizer:
    """Rescale each feature (column) to mean 0 and standard deviation 1: (x - mean) / std.

    Fit on the training set only, then transform every split with the same numbers, so
    no information leaks from validation or test data. A constant feature (std 0) is
    only centred (its std is taken as 1), instead of dividing by zero.
    """

    def __init__(self) -> None:
        self.mean: np.ndarray | None = None
        self.std: np.ndarray | None = None

    def fit(self, X: np.ndarray) -> Standardizer:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim == 0 or len(X) == 0:
            raise ValueError(f"Standardizer.fit: need at least one row, got shape {X.shape}")
        self.mean = X.mean(axis=0)
        std = X.std(axis=0)
        self.std = np.where(std > 0, std, 1.0)
        return self

    def _check_fitted(self, method: str, X: np.ndarray) -> None:
        if self.mean is None:
            raise RuntimeError(f"Standardizer.{method}: call fit(X_train) first")
        if X.shape[1:] != self.mean.shape:
            raise ValueError(f"Standardizer.{method}: fitted on features of shape "
                             f"{self.mean.shape}, got rows of shape {X.shape[1:]}")

    def transform(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        self._check_fitted("transform", X)
        return (X - self.mean) / self.std

    def inverse_transform(self, Z: np.ndarray) -> np.ndarray:
        Z = np.asarray(Z, dtype=np.float64)
        self._check_fitted("inverse_transform", Z)
        return Z * self.std + self.mean

    def fit_transform(self, X: np.ndarray) -> np.ndarray:
        return self.fit(X).transform(X)


def standardize(train: np.ndarray, *others: np.ndarray):
    """Fit a Standardizer on ``train`` and apply it to ``train`` and every other array.

    ``scaler, X_tr, X_val, X_te = standardize(X_tr, X_val, X_te)``; ``scaler.mean`` and
    ``scaler.std`` hold the training statistics.
    """
    scaler = Standardizer().fit(train)
    return (scaler, scaler.transform(train), *(scaler.transform(X) for X in others))


def one_hot(labels: np.ndarray, n_classes: int | None = None) -> np.ndarray:
    """Integer labels (n,) to a float64 matrix (n, n_classes) with a single 1 per row.

    ``n_classes`` defaults to max(labels) + 1.
    """
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"one_hot: labels must be 1-D, got shape {labels.shape}")
    if labels.size and not np.all(np.equal(np.mod(labels, 1), 0)):
        raise ValueError("one_hot: labels must be whole numbers")
    labels = labels.astype(np.int64)
    if n_classes is None:
        n_classes = int(labels.max()) + 1 if labels.size else 0
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(f"one_hot: labels must lie in 0..{n_classes - 1}, "
                         f"got values from {labels.min()} to {labels.max()}")
    encoded = np.zeros((len(labels), n_classes))
    encoded[np.arange(len(labels)), labels] = 1.0
    return encoded
