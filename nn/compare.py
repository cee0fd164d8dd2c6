"""The course's comparison of classifiers on handwritten digits, redone on the 8x8 digits.

The course quotes test errors on MNIST: linear 10%, k-NN 3%, SVM 1%, deep 0.3%. Here the
same kinds of model learn the 8x8 UCI digits (1,438 training images, 359 test images,
``nn.data.digits``): a linear softmax classifier, k nearest neighbours (numpy, no
training at all), an MLP and a small CNN, all but k-NN trained on our engine.

    python -m chaingrad.nn.compare            # the table: test error and training seconds
    python -m chaingrad.nn.compare --seed 1

The run asks numpy's BLAS for one thread while it trains (``--threads`` changes it; the
count is put back afterwards): these matrices are small, and on a busy machine BLAS
threads spend more time waiting for each other than working (on 2 busy shared cores,
training ran up to five times slower with the default threads than with one).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from . import data
from .layers import MLP, Flatten, Sequential
from .models import DigitsCNN, LinearClassifier
from .module import Module

COURSE_MNIST = {"linear softmax": "10%", "k-NN": "3%", "MLP": "–", "CNN": "0.3% (deep)"}


@dataclass
class Result:
    """One row of the comparison."""

    model: str
    test_error: float  # fraction of the test images classified wrongly
    seconds: float  # training time (k-NN: time to classify the test set)
    settings: str


# ---------------------------------------------------------------- BLAS threads


def blas_threads(threads: int) -> AbstractContextManager:
    """Inside ``with blas_threads(n):`` numpy's BLAS uses n threads; 0 leaves them as they are.

    threadpoolctl finds the BLAS that numpy loaded (OpenBLAS, MKL, BLIS, Accelerate) and
    puts the previous thread count back at the end of the block, so a notebook that runs
    the comparison keeps all its threads afterwards.
    """
    if threads <= 0:
        return nullcontext()
    return threadpool_limits(limits=threads, user_api="blas")


# ---------------------------------------------------------------- k nearest neighbours


def knn_predict(
    X_train: np.ndarray, y_train: np.ndarray, X_test: np.ndarray, k: int = 3
) -> np.ndarray:
    """The majority label among the k training images closest (Euclidean) to each test image.

    Distances come from ||a - b||² = ||a||² + ||b||² - 2 a·b, one matrix product for all
    pairs. A tied vote goes to the tied label of the nearest neighbour.
    """
    X_train, X_test = np.asarray(X_train, float), np.asarray(X_test, float)
    X_train, X_test = X_train.reshape(len(X_train), -1), X_test.reshape(len(X_test), -1)
    y_train = np.asarray(y_train)
    if X_train.shape[1] != X_test.shape[1] or len(X_train) != len(y_train):
        raise ValueError(
            f"knn_predict: shapes do not fit: X_train {X_train.shape}, y_train "
            f"{y_train.shape}, X_test {X_test.shape}"
        )
    if not 1 <= k <= len(X_train):
        raise ValueError(f"knn_predict: k must be from 1 to {len(X_train)}, got {k}")
    squared = (
        (X_test**2).sum(axis=1)[:, None] + (X_train**2).sum(axis=1)[None, :]
        - 2.0 * X_test @ X_train.T
    )
    nearest = np.argsort(squared, axis=1, kind="stable")[:, :k]  # (n_test, k), closest first
    labels = y_train[nearest]
    classes = int(y_train.max()) + 1
    votes = (labels[:, :, None] == np.arange(classes)).sum(axis=1).astype(float)
    votes[np.arange(len(labels)), labels[:, 0]] += 0.5  # breaks ties, never outvotes
    return votes.argmax(axis=1)


# ---------------------------------------------------------------- trained models


def train(model: Module, X: np.ndarray, y: np.ndarray, epochs: int, lr: float,
          seed: int, batch_size: int = 32) -> float:
    """Train with Adam on the cross-entropy loss; returns the seconds it took."""
    model.compile(loss="cross_entropy", optimizer="adam", lr=lr)
    start = time.perf_counter()
    model.fit(X, y, epochs=epochs, batch_size=batch_size, verbose=0, seed=seed)
    return time.perf_counter() - start


def error_rate(model: Module, X: np.ndarray, y: np.ndarray) -> float:
    """The fraction of examples whose largest logit is not their label."""
    return float(np.mean(model.predict(X).argmax(axis=1) != y))


@dataclass
class Recipe:
    """How one model of the table is built and trained."""

    model: str
    build: Callable[[int], Module]
    epochs: int
    lr: float
    settings: str


RECIPES = [
    Recipe("linear softmax", lambda seed: LinearClassifier(64, 10, seed=seed), 30, 0.01,
           "64 -> 10, Adam lr 0.01, 30 epochs"),
    Recipe("MLP", lambda seed: Sequential(Flatten(), MLP(64, [256, 128, 10], "relu", seed=seed)),
           30, 0.001,
           "64 -> 256 -> 128 -> 10, relu, Adam lr 0.001, 30 epochs"),
    Recipe("CNN", lambda seed: DigitsCNN(seed=seed), 20, 0.002,
           "conv32-pool-conv64-pool-128-10 (relu), Adam lr 0.002, 20 epochs"),
]


def compare(seed: int = 0, k: int = 3, epochs_scale: float = 1.0) -> list[Result]:
    """Train every model of the table on the training split and measure its test error.

    ``epochs_scale`` shortens every training run (e.g. 0.2 for a quick look).
    """
    X, y = data.digits("train")
    X_test, y_test = data.digits("test")
    results = []
    start = time.perf_counter()
    predicted = knn_predict(X, y, X_test, k=k)
    results.append(Result("k-NN", float(np.mean(predicted != y_test)),
                          time.perf_counter() - start, f"k = {k}, Euclidean, no training"))
    for recipe in RECIPES:
        model = recipe.build(seed)
        epochs = max(1, round(recipe.epochs * epochs_scale))
        seconds = train(model, X, y, epochs, recipe.lr, seed)
        settings = recipe.settings.replace(f"{recipe.epochs} epochs", f"{epochs} epochs")
        results.append(Result(recipe.model, error_rate(model, X_test, y_test), seconds,
                              settings))
    order = ["linear softmax", "k-NN", "MLP", "CNN"]
    return sorted(results, key=lambda r: order.index(r.model))


def table(results: list[Result], test_size: int):
    """A rich table of the results, with the course's MNIST figures beside them."""
    from rich.table import Table

    out = Table(title=f"8x8 digits, {test_size} test images (course: MNIST, 10,000)",
                title_justify="left")
    out.add_column("model")
    out.add_column("test error", justify="right")
    out.add_column("wrong", justify="right")
    out.add_column("seconds", justify="right")
    out.add_column("course, MNIST", justify="right")
    for r in results:
        out.add_row(r.model, f"{100 * r.test_error:.1f}%", str(round(r.test_error * test_size)),
                    f"{r.seconds:.1f}", COURSE_MNIST.get(r.model, ""))
    return out


def show(results: list[Result], test_size: int) -> None:
    """Print :func:`table` (in Jupyter as HTML, its plain text without colour codes)."""
    from rich.console import Console

    console = Console()
    if console.is_jupyter:  # colour codes would stay in the notebook's text/plain
        console = Console(color_system=None)
    console.print(table(results, test_size))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The course's digits comparison.")
    parser.add_argument("--seed", type=int, default=0, help="seed of the weights and shuffles")
    parser.add_argument("-k", type=int, default=3, help="neighbours for k-NN (default 3)")
    parser.add_argument("--quick", action="store_true", help="a fifth of the epochs")
    parser.add_argument("--threads", type=int, default=1,
                        help="threads for numpy's BLAS (default 1; 0 leaves them as they are)")
    args = parser.parse_args(argv)
    from rich.console import Console

    with blas_threads(args.threads):
        results = compare(args.seed, args.k, 0.2 if args.quick else 1.0)
    console = Console()
    console.print(table(results, len(data.digits("test")[1])))
    console.print("seconds: training time (k-NN: classifying the test set, it has no training)")
    for r in results:
        console.print(f"{r.model}: {r.settings}", highlight=False)
    return 0


if __name__ == "__main__":
    import signal

    # chaingrad's quiet Ctrl-C while the command's imports ran is over: KeyboardInterrupt again
    signal.signal(signal.SIGINT, signal.default_int_handler)
    raise SystemExit(main())
