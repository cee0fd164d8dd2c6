"""A Keras-style workflow for any Module: compile, fit, evaluate, predict, callbacks.

    >>> model = nn.MLP(2, [16, 16, 1], output_activation="sigmoid")
    >>> model.compile(loss="bce", optimizer="adam", metrics=["accuracy"])
    >>> history = model.fit(X, y, epochs=100, batch_size=32, validation_split=0.2)
    >>> history.history["val_accuracy"][-1]

``fit`` is the loop a student would write by hand (zero_grad, forward, loss, backward,
step, once per mini-batch), plus bookkeeping: per-epoch averages of the loss and metrics,
validation, a progress bar and callbacks.
"""

from __future__ import annotations

import numbers
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np

from ..autograd import Node, Tensor, Value, no_grad
from ..autograd import capture as capture_step
from . import data, losses, optim
from .seeding import manual_seed, rng

if TYPE_CHECKING:  # for annotations only: module.py imports this file (Module.fit is fit)
    from .module import Module

# ---------------------------------------------------------------- metrics


def accuracy(
    prediction: np.ndarray, target: np.ndarray, threshold: float | None = None
) -> float:
    """The fraction of examples whose predicted class is right.

    Several outputs per example: the largest one is the class (targets are labels or
    one-hot rows). One output: class 1 when it is >= threshold (by default 0.5 for 0/1
    labels, as for probabilities; 0 for -1/+1 labels, where the prediction is -1 or +1).
    """
    prediction, target = np.asarray(prediction), np.asarray(target)
    if prediction.ndim == 2 and prediction.shape[1] > 1:
        predicted = prediction.argmax(axis=1)
        labels = target.argmax(axis=1) if target.shape == prediction.shape else target.ravel()
    else:
        prediction, labels = prediction.ravel(), target.ravel()
        if np.any(labels < 0):
            predicted = np.where(prediction >= (threshold or 0.0), 1.0, -1.0)
        else:
            threshold = 0.5 if threshold is None else threshold
            predicted = (prediction >= threshold).astype(float)
    return float(np.mean(predicted == labels))


def mean_absolute_error(prediction: np.ndarray, target: np.ndarray) -> float:
    """mean |ŷ - y|"""
    prediction = np.asarray(prediction)
    return float(np.mean(np.abs(prediction - np.asarray(target).reshape(prediction.shape))))


def mean_squared_error(prediction: np.ndarray, target: np.ndarray) -> float:
    """mean (ŷ - y)**2"""
    prediction = np.asarray(prediction)
    return float(np.mean((prediction - np.asarray(target).reshape(prediction.shape)) ** 2))


def root_mean_squared_error(prediction: np.ndarray, target: np.ndarray) -> float:
    """sqrt(mean (ŷ - y)**2)"""
    return float(np.sqrt(mean_squared_error(prediction, target)))


METRICS: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "accuracy": accuracy,
    "acc": accuracy,
    "mae": mean_absolute_error,
    "mse": mean_squared_error,
    "rmse": root_mean_squared_error,
}


def _metric(metric: str | Callable, loss: Callable) -> tuple[str, Callable]:
    if callable(metric):
        return metric.__name__, metric
    if not isinstance(metric, str) or metric not in METRICS:
        raise ValueError(f"compile: unknown metric {metric!r}; choose one of "
                         f"{', '.join(METRICS)}, or give a function")
    function = METRICS[metric]
    if function is accuracy:  # logits and margins split at 0; others are decided by the labels
        threshold = 0.0 if loss in (losses.bce_with_logits, losses.hinge) else None
        return metric, partial(accuracy, threshold=threshold)
    return metric, function


def _for_labels(metrics: list[tuple[str, Callable]], y: np.ndarray) -> list[tuple[str, Callable]]:
    """Fix accuracy's threshold from all the labels (-1/+1 labels: 0), not batch by batch."""
    if not np.any(y < 0):
        return metrics
    return [
        (name, partial(accuracy, threshold=0.0))
        if isinstance(f, partial) and f.func is accuracy and f.keywords["threshold"] is None
        else (name, f)
        for name, f in metrics
    ]


# ---------------------------------------------------------------- history and callbacks


@dataclass
class History:
    """What ``fit`` returns: ``history[name]`` is a list with one number per epoch."""

    history: dict[str, list[float]] = field(default_factory=dict)
    epoch: list[int] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        last = ", ".join(f"{k}={v[-1]:.4g}" for k, v in self.history.items() if v)
        return f"History({len(self.epoch)} epochs: {last})"


class Callback:
    """Hooks into ``fit``. Override the methods you need; set ``model.stop_training = True``
    to stop after the current epoch."""

    def on_train_begin(self, model: Module) -> None:
        pass

    def on_epoch_end(self, model: Module, epoch: int, logs: dict[str, float]) -> None:
        pass

    def on_train_end(self, model: Module) -> None:
        pass


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience``
    epochs; with ``restore_best_weights`` the model ends with the weights of its best epoch.

    ``mode`` is "min" (losses) or "max" (accuracies); "auto" picks "max" for names with
    "acc" in them.
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        patience: int = 0,
        min_delta: float = 0.0,
        restore_best_weights: bool = False,
        mode: str = "auto",
    ) -> None:
        if isinstance(patience, bool) or not isinstance(patience, (int, np.integer)) or \
                patience < 0:
            raise ValueError(f"EarlyStopping: patience must be a whole number of epochs >= 0, "
                             f"got {patience!r:.40}")
        if not isinstance(monitor, str):
            raise TypeError(f"EarlyStopping: monitor must be a name such as 'val_loss', got "
                            f"{monitor!r:.40}")
        if not isinstance(min_delta, numbers.Real) or isinstance(min_delta, bool):
            raise TypeError(f"EarlyStopping: min_delta must be a number, got {min_delta!r:.40}")
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"EarlyStopping: mode must be 'auto', 'min' or 'max', got {mode!r}")
        if mode == "auto":
            mode = "max" if "acc" in monitor else "min"
        self.monitor, self.patience, self.min_delta = monitor, patience, abs(min_delta)
        self.restore_best_weights, self.mode = restore_best_weights, mode

    def on_train_begin(self, model: Module) -> None:
        self.best = np.inf if self.mode == "min" else -np.inf
        self.best_epoch = -1
        self.best_weights: dict[str, np.ndarray] | None = None
        self.wait = 0
        self.stopped_epoch: int | None = None

    def _improved(self, value: float) -> bool:
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def on_epoch_end(self, model: Module, epoch: int, logs: dict[str, float]) -> None:
        if self.monitor not in logs:
            raise ValueError(
                f"EarlyStopping: {self.monitor!r} is not measured (available: "
                f"{', '.join(logs)}); pass validation data to fit or monitor='loss'"
            )
        value = logs[self.monitor]
        if self._improved(value):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights:
                self.best_weights = model.state_dict()
            return
        self.wait += 1
        if self.wait >= self.patience:  # as Keras: stop after `patience` epochs without gain
            model.stop_training = True
            self.stopped_epoch = epoch

    def on_train_end(self, model: Module) -> None:
        if self.restore_best_weights and self.best_weights is not None:
            model.load_state_dict(self.best_weights)

    def summary(self) -> str:
        """One sentence on why training stopped early ("" when it ran to the end)."""
        if self.stopped_epoch is None:
            return ""
        kept = (", whose weights were restored" if self.restore_best_weights
                else "; the model keeps the last epoch's weights")
        return (f"Early stopping after epoch {self.stopped_epoch + 1}: {self.monitor} did not "
                f"improve for {self.patience} epochs; the best was epoch "
                f"{self.best_epoch + 1}{kept}.")


# ---------------------------------------------------------------- compile


@dataclass
class Compiled:
    """The settings ``compile`` stores on a model."""

    loss: Callable[..., Node]
    optimizer: optim.Optimizer
    metrics: list[tuple[str, Callable]]


def compile(
    model: Module,
    loss: str | Callable[..., Node] = "mse",
    optimizer: str | optim.Optimizer = "adam",
    metrics: Sequence[str | Callable] = (),
    **optimizer_options: Any,
) -> None:
    """Choose the loss, the optimizer (``lr=`` and other options go to it when it is given
    by name; ``learning_rate=``, Keras's name, is the same as ``lr=``) and the metrics
    that ``fit`` and ``evaluate`` report."""
    if "learning_rate" in optimizer_options:
        if "lr" in optimizer_options:
            raise TypeError(
                "compile: give the learning rate once, as lr= or as learning_rate= (the same "
                "setting), not both"
            )
        optimizer_options["lr"] = optimizer_options.pop("learning_rate")
    loss_function = losses.get(loss, "compile")
    if isinstance(optimizer, optim.Optimizer):
        if optimizer_options:
            raise ValueError(
                f"compile: options {sorted(optimizer_options)} apply only to an optimizer "
                "given by name; set them on the optimizer object instead"
            )
    else:
        optimizer = optim.get(optimizer, model.parameters(), "compile", **optimizer_options)
    if isinstance(metrics, str) or callable(metrics):
        metrics = [metrics]
    if not isinstance(metrics, (list, tuple)):
        raise TypeError(f"compile: metrics must be a list, e.g. metrics=['accuracy'], got "
                        f"{metrics!r:.60}")
    model._compiled = Compiled(
        loss_function, optimizer, [_metric(m, loss_function) for m in metrics]
    )


def _verbosity(verbose: Any) -> int:
    """fit's verbose as 0, 1 or 2; Keras's "auto" is 1 (a progress bar)."""
    if isinstance(verbose, str) and verbose == "auto":
        return 1
    if isinstance(verbose, (int, np.integer)) and 0 <= verbose <= 2:
        return int(verbose)
    raise ValueError(
        "fit: verbose must be 0 (silent), 1 (a progress bar), 2 (one line per epoch) or "
        f'"auto" (1, as in Keras), got {verbose!r}'
    )


def _compiled(model: Module, caller: str) -> Compiled:
    settings = getattr(model, "_compiled", None)
    if settings is None:
        raise RuntimeError(
            f"{caller}: the model is not compiled yet; call "
            "model.compile(loss='mse', optimizer='adam') first"
        )
    return settings


# ---------------------------------------------------------------- running the model


def _is_scalar(model: Module) -> bool:
    parameters = model.parameters()
    return bool(parameters) and parameters[0].scalar


def _forward(model: Module, X: np.ndarray, scalar: bool) -> Any:
    """The model's output for a batch: a Tensor, or (scalar networks) a list per example."""
    if scalar:
        return [model([float(v) for v in row]) for row in X.reshape(len(X), -1)]
    return model(Tensor(X))


def _loss(settings: Compiled, output: Any, y: np.ndarray, scalar: bool) -> Node:
    loss = _raw_loss(settings, output, y, scalar)
    if not isinstance(loss, Node):
        name = getattr(settings.loss, "__name__", type(settings.loss).__name__)
        raise TypeError(
            f"fit: the loss {name} returned {type(loss).__name__} {loss!r:.40}, not a Value or "
            "Tensor; a loss must be built from the prediction with chaingrad ops (not float() "
            "or numpy) so that backward can reach the weights"
        )
    return loss


def _raw_loss(settings: Compiled, output: Any, y: np.ndarray, scalar: bool) -> Any:
    if not scalar or isinstance(output[0], Value):
        return settings.loss(output, y)
    # A scalar network with several outputs: a list of Values per example.
    if settings.loss is losses.cross_entropy:
        per_example = [settings.loss(out, label) for out, label in zip(output, y)]
        return sum(per_example[1:], per_example[0]) * (1.0 / len(per_example))
    return settings.loss([v for out in output for v in out], np.ravel(y))


def _numbers(output: Any) -> np.ndarray:
    """The output as a numpy array (for metrics and predict)."""
    if isinstance(output, Node):
        return output.data
    rows = [[v.data for v in out] if isinstance(out, list) else [out.data] for out in output]
    return np.array(rows)


def _is_count(n: Any) -> bool:
    """Whether ``n`` is a whole number of at least 1 (True and 2.0 are not)."""
    return isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n >= 1


def _numbers_of(X: Any, caller: str) -> np.ndarray:
    """X as an array of floats, or a sentence naming the function the user called."""
    try:
        return np.asarray(getattr(X, "data", X), dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{caller}: X must hold numbers, one row per example, got "
                         f"{type(X).__name__} {X!r:.40}") from None


def _check_callbacks(callbacks: Any) -> list:
    if isinstance(callbacks, Callback) or not isinstance(callbacks, (list, tuple)):
        raise TypeError(f"fit: callbacks must be a list, e.g. callbacks=[nn.EarlyStopping()], "
                        f"got {callbacks!r:.60}")
    for callback in callbacks:
        if not all(callable(getattr(callback, hook, None))
                   for hook in ("on_train_begin", "on_epoch_end", "on_train_end")):
            raise TypeError(f"fit: callbacks must be Callback objects, such as "
                            f"nn.EarlyStopping(...), got {type(callback).__name__} "
                            f"{callback!r:.40}")
    return list(callbacks)


def _check_data(X: Any, y: Any, caller: str) -> tuple[np.ndarray, np.ndarray]:
    X = _numbers_of(X, caller)
    y = np.asarray(getattr(y, "data", y))
    if X.ndim == 0 or y.ndim == 0:
        raise ValueError(f"{caller}: X and y need one row per example, got shapes "
                         f"{X.shape} and {y.shape}")
    if len(X) != len(y):
        raise ValueError(f"{caller}: X has {len(X)} rows but y has {len(y)}; "
                         "they need one row per example")
    if len(X) == 0:
        raise ValueError(f"{caller}: no examples (X is empty)")
    if y.dtype.kind not in "biuf":
        raise ValueError(f"{caller}: y must hold numbers, got {y.dtype}")
    for label, values in (("X", X), ("y", y)):
        broken = ~np.isfinite(values)
        if broken.any():  # one NaN would silently turn every weight into NaN
            row = int(np.argwhere(broken)[0][0])
            raise ValueError(f"{caller}: {label} holds NaN or infinity ({int(broken.sum())} "
                             f"values, the first in row {row}); clean or drop those rows")
    return X, y


# ---------------------------------------------------------------- fit


def fit(
    model: Module,
    X: Any,
    y: Any,
    epochs: int = 1,
    batch_size: int | None = 32,
    validation_split: float = 0.0,
    validation_data: tuple[Any, Any] | None = None,
    shuffle: bool = True,
    callbacks: Iterable[Callback] = (),
    verbose: int | str = 1,
    seed: int | None = None,
    capture: bool = False,
) -> History:
    """Train for ``epochs`` passes over (X, y) in mini-batches; returns a History.

    ``validation_split`` keeps that fraction of the rows (the last ones, as Keras does)
    out of training to measure ``val_loss`` and ``val_<metric>`` after every epoch.
    ``seed`` fixes the shuffling. ``verbose``: 0 silent, 1 a progress bar per epoch,
    2 one line per epoch, ``"auto"`` 1 (as in Keras). With a ``GD`` optimizer every step
    uses all rows.

    ``capture=True`` records the first batch's forward and backward once
    (``chaingrad.capture``) and replays that program for every batch: the same numbers, bit
    for bit, without building a graph per step (about twice as fast on small networks).
    The epoch lines say "captured", and ``history.params["capture"]`` holds the captured
    step (``print(history.params["capture"])`` shows its program). Models with randomness
    or side effects in training mode (dropout, batch norm) are refused with a sentence.
    The program is compared with the model again (and captured again if it changed) after
    each epoch's callbacks and validation, and every 100 steps when an optimizer or a
    metric of your own runs between steps; otherwise only chaingrad's code runs there.
    """
    settings = _compiled(model, "fit")
    verbose = _verbosity(verbose)
    if not _is_count(epochs):
        raise ValueError(f"fit: epochs must be a whole number of at least 1, got {epochs!r}")
    if batch_size is not None and not _is_count(batch_size):
        raise ValueError(f"fit: batch_size must be a whole number of at least 1 (or None for "
                         f"all rows at once), got {batch_size!r}")
    X, y = _check_data(X, y, "fit")
    if not isinstance(validation_split, numbers.Real):
        raise TypeError(f"fit: validation_split must be a number in [0, 1), got "
                        f"{validation_split!r:.40}")
    if not 0.0 <= validation_split < 1.0:
        raise ValueError(f"fit: validation_split must be in [0, 1), got {validation_split}")
    if validation_data is not None and validation_split:
        raise ValueError("fit: give validation_data or validation_split, not both")
    if validation_split:
        cut = len(X) - int(round(len(X) * validation_split))
        if cut <= 0 or cut == len(X):
            raise ValueError(
                f"fit: validation_split={validation_split} of {len(X)} rows leaves no rows "
                "for training or none for validation"
            )
        validation_data = (X[cut:], y[cut:])
        X, y = X[:cut], y[:cut]
    if validation_data is not None:
        if not isinstance(validation_data, (list, tuple)) or len(validation_data) != 2:
            raise TypeError(f"fit: validation_data must be a pair (X, y), e.g. "
                            f"validation_data=(X_val, y_val), got {validation_data!r:.60}")
        validation_data = _check_data(*validation_data, "fit (validation_data)")
    if getattr(settings.optimizer, "full_batch", False) or batch_size is None:
        batch_size = len(X)
    if seed is not None and not _is_count(seed) and seed != 0 and not isinstance(
            seed, np.random.Generator):
        raise ValueError(f"fit: seed must be a whole number >= 0 (or None), got {seed!r}")
    generator = rng(seed)  # a fresh generator for a seed, else the shared one

    history = History(params={"epochs": epochs, "batch_size": batch_size, "samples": len(X)})
    callbacks = _check_callbacks(callbacks)
    scalar = _is_scalar(model)
    if capture and scalar:
        raise ValueError("fit: capture=True replays Tensor graphs; this model's weights are "
                         "Values (nn.scalar), so train it without capture")
    captured = None
    optimizer = settings.optimizer
    model.stop_training = False
    model.train()
    for callback in callbacks:
        callback.on_train_begin(model)
    metrics = _for_labels(settings.metrics, y)
    steps = -(-len(X) // batch_size)
    with _Progress(verbose, epochs, steps, "captured" if capture else "") as progress:
        for epoch in range(epochs):
            progress.start_epoch(epoch)
            totals: dict[str, float] = {"loss": 0.0, **{name: 0.0 for name, _ in metrics}}
            for xb, yb in data.batches(X, y, batch_size, shuffle=shuffle, seed=generator):
                optimizer.zero_grad()
                if capture:
                    if captured is None:
                        step = partial(_step, model, settings, bool(metrics))
                        checks = 100 if _your_code_each_step(model, settings, metrics) else 0
                        captured = history.params["capture"] = capture_step(
                            step, xb, yb, check_every=checks)
                    loss_value, *predicted = captured(xb, yb)
                else:
                    output = _forward(model, xb, scalar)
                    loss = _loss(settings, output, yb, scalar)
                    loss.backward()
                    loss_value = loss.data
                optimizer.step()
                weight = len(xb)
                totals["loss"] += float(loss_value) * weight
                if metrics:
                    predicted = predicted[0] if capture else _numbers(output)
                    for name, metric in metrics:
                        totals[name] += metric(predicted, yb) * weight
                progress.advance(totals, weight)
            logs = {name: total / len(X) for name, total in totals.items()}
            if validation_data is not None:
                scores = _scores(model, settings, *validation_data, scalar=scalar)
                logs.update({f"val_{name}": value for name, value in scores.items()})
            for name, value in logs.items():
                history.history.setdefault(name, []).append(value)
            history.epoch.append(epoch)
            progress.end_epoch(logs)
            for callback in callbacks:
                callback.on_epoch_end(model, epoch, logs)
            if captured is not None and (callbacks or validation_data is not None):
                captured.recheck()  # your code ran: the next steps compare fn first
            if model.stop_training:
                break
    for callback in callbacks:
        callback.on_train_end(model)
        said = getattr(callback, "summary", lambda: "")()
        if said and verbose:
            from rich.console import Console

            console = Console()
            if console.is_jupyter:  # colour codes would stay in the notebook's text/plain
                console = Console(color_system=None)
            console.print(said, highlight=False)
    return history


def _your_code_each_step(model: Module, settings: Compiled, metrics: list) -> bool:
    """Whether code from outside chaingrad runs in or between fit's steps: a module, loss,
    optimizer or metric of your own may keep Python state that a replay cannot see (a
    counter, a schedule), so a captured step is then compared with the model every 100
    steps, as chaingrad.capture does by default. chaingrad's own parts keep none."""
    if any(not _ours(type(module)) for module in model.modules()):
        return True
    if not _ours(getattr(settings.loss, "func", settings.loss)):
        return True
    if not _ours(type(settings.optimizer)):
        return True
    return any(getattr(f, "func", f) not in METRICS.values() for _, f in metrics)


def _ours(code: Any) -> bool:
    return (getattr(code, "__module__", None) or "").startswith("chaingrad.")


def _step(model: Module, settings: Compiled, with_output: bool, xb: np.ndarray,
          yb: np.ndarray) -> tuple:
    """One batch's (loss,), or (loss, the model's output) for the metrics: the function
    fit(capture=True) captures (a replay returns a copy of each output it is asked for)."""
    output = _forward(model, xb, scalar=False)
    loss = _loss(settings, output, yb, scalar=False)
    return (loss, output) if with_output else (loss,)


def _scores(
    model: Module, settings: Compiled, X: np.ndarray, y: np.ndarray, scalar: bool
) -> dict[str, float]:
    """Loss and metrics on (X, y) in evaluation mode, without recording a graph."""
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            output = _forward(model, X, scalar)
            scores = {"loss": float(_loss(settings, output, y, scalar).data)}
            predicted = _numbers(output)
            for name, metric in _for_labels(settings.metrics, y):
                scores[name] = metric(predicted, y)
    finally:
        model.train(was_training)
    return scores


def evaluate(model: Module, X: Any, y: Any, return_dict: bool = False) -> Any:
    """The loss on (X, y), or [loss, metric...] when metrics were compiled (as Keras);
    ``return_dict=True`` gives {"loss": ..., "accuracy": ...}."""
    settings = _compiled(model, "evaluate")
    X, y = _check_data(X, y, "evaluate")
    scores = _scores(model, settings, X, y, scalar=_is_scalar(model))
    if return_dict:
        return scores
    return scores["loss"] if len(scores) == 1 else list(scores.values())


def predict(model: Module, X: Any) -> np.ndarray:
    """The model's outputs for X as a numpy array (evaluation mode, no graph recorded)."""
    X = _numbers_of(X, "predict")
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            return _numbers(_forward(model, X, _is_scalar(model)))
    finally:
        model.train(was_training)


# ---------------------------------------------------------------- the progress bar


class _Progress:
    """A rich progress bar per epoch with the running loss and metrics (verbose=1), one
    line per epoch (verbose=2), or nothing (verbose=0)."""

    def __init__(self, verbose: int, epochs: int, steps: int, note: str = "") -> None:
        self.verbose, self.epochs, self.steps, self.note = verbose, epochs, steps, note
        self.progress: Any = None

    def __enter__(self) -> _Progress:
        if self.verbose == 1 and _in_notebook():  # rich's live bar there needs ipywidgets
            self.progress = _NotebookBar(self.epochs, self.steps)
        elif self.verbose == 1:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )
            from rich.table import Column

            # Counters keep their width; on a narrow terminal only the metrics are cut.
            def fixed(width: int) -> Column:
                return Column(min_width=width, no_wrap=True)

            counter = 2 * len(str(self.steps)) + 1
            label = len("Epoch ") + 2 * len(str(self.epochs)) + 1
            self.progress = Progress(
                TextColumn("Epoch {task.fields[epoch]}", table_column=fixed(label)),
                BarColumn(bar_width=12, table_column=fixed(12)),
                MofNCompleteColumn(table_column=fixed(counter)),
                TimeElapsedColumn(table_column=fixed(7)),
                TextColumn("{task.fields[logs]}",
                           table_column=Column(no_wrap=True, overflow="ellipsis")),
            )
            self.progress.start()
        elif self.verbose >= 2:
            from rich.console import Console

            self.console = Console()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.stop()

    def start_epoch(self, epoch: int) -> None:
        self.epoch, self.seen, self.shown_at = epoch, 0, 0.0
        self.started = time.monotonic()
        if self.progress is not None:
            label = f"{epoch + 1}/{self.epochs}"
            self.task = self.progress.add_task("", total=self.steps, epoch=label, logs="")

    def advance(self, totals: dict[str, float], weight: int) -> None:
        if self.progress is None:
            return
        self.seen += weight
        now = time.monotonic()
        fields = {}
        if now - self.shown_at > 0.1:  # refreshing the text every batch would cost time
            self.shown_at = now
            fields["logs"] = _short({k: v / self.seen for k, v in totals.items()})
        self.progress.update(self.task, advance=1, **fields)

    def end_epoch(self, logs: dict[str, float]) -> None:
        # The finished epoch becomes one full line; the bar lives only while it runs.
        line = f"Epoch {self.epoch + 1}/{self.epochs}  {_short(logs)}"
        if self.note:  # how the steps ran (captured), so a switch is never invisible
            line += f"  {self.note}"
        if self.progress is not None:
            self.progress.remove_task(self.task)
            seconds = time.monotonic() - self.started
            self.progress.console.print(f"{line}  [dim]{seconds:.1f} s[/dim]", highlight=False)
        elif self.verbose >= 2:
            self.console.print(line, highlight=False)


def _in_notebook() -> bool:
    from rich.console import Console

    return Console().is_jupyter


class _NotebookBar:
    """The epoch's bar in a notebook: one output line, updated in place (IPython's display
    handles), then replaced by the epoch's summary; no ipywidgets needed. It answers the
    calls _Progress makes to rich's Progress."""

    WIDTH = 20

    def __init__(self, epochs: int, steps: int) -> None:
        self.steps, self.done, self.label, self.logs = steps, 0, "", ""
        self.handle: Any = None
        self.console = self  # _Progress prints the finished epoch with console.print

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass

    def add_task(self, description: str, total: int, epoch: str, logs: str) -> int:
        from IPython.display import Pretty, display

        self.done, self.label, self.logs = 0, epoch, logs
        self.handle = display(Pretty(self._bar()), display_id=True)
        return 0

    def update(self, task: int, advance: int = 0, logs: str | None = None) -> None:
        self.done += advance
        if logs is not None or self.done == self.steps:  # at most every 0.1 s, and the end
            self.logs = self.logs if logs is None else logs
            self._show(self._bar())

    def remove_task(self, task: int) -> None:
        pass

    def print(self, text: str, highlight: bool = False) -> None:
        from rich.text import Text

        self._show(Text.from_markup(text).plain)

    def _bar(self) -> str:
        filled = self.WIDTH * self.done // max(self.steps, 1)
        return (f"Epoch {self.label} [{'=' * filled}{' ' * (self.WIDTH - filled)}] "
                f"{self.done}/{self.steps}  {self.logs}")

    def _show(self, text: str) -> None:
        from IPython.display import Pretty

        if self.handle is not None:
            self.handle.update(Pretty(text))


def _short(logs: dict[str, float]) -> str:
    """The metrics in few columns, so an epoch's line fits an 80-column terminal."""
    return "  ".join(
        f"{name.replace('accuracy', 'acc')} {value:.4f}" for name, value in logs.items()
    )


# ---------------------------------------------------------------- replications


@dataclass
class Replications:
    """Several trainings of one architecture from different random initial weights."""

    histories: list[History]
    seeds: list[int]

    def final(self, name: str = "loss") -> np.ndarray:
        """The last epoch's value of ``name`` in each replication."""
        return np.array([h.history[name][-1] for h in self.histories])

    def spread(self, name: str = "loss") -> dict[str, float]:
        """Mean, standard deviation, minimum and maximum of the final ``name``."""
        values = self.final(name)
        return {"mean": float(values.mean()), "std": float(values.std()),
                "min": float(values.min()), "max": float(values.max())}

    def summary(self) -> None:
        """Print the spread of every recorded quantity as a table."""
        from rich.console import Console
        from rich.table import Table

        table = Table(title=f"{len(self.histories)} replications")
        for column in ("", "mean", "std", "min", "max"):
            table.add_column(column, justify="right")
        for name in self.histories[0].history:
            spread = self.spread(name)
            table.add_row(name, *(f"{spread[k]:.4g}" for k in ("mean", "std", "min", "max")))
        console = Console()
        if console.is_jupyter:  # colour codes would stay in the notebook's text/plain
            console = Console(color_system=None)
        console.print(table)


def replicate(
    build_model: Callable[[], Module],
    X: Any,
    y: Any,
    n: int = 5,
    seed: int = 0,
    **fit_options: Any,
) -> Replications:
    """Train ``n`` fresh models from ``build_model()`` (it must compile them) and collect
    their histories: the course's "several replications of the learning process".

    Replication i runs after ``nn.manual_seed(seed + i)``, so each starts from other
    random weights, and the whole study is reproducible.
    """
    if n < 1:
        raise ValueError(f"replicate: n must be at least 1, got {n}")
    fit_options.setdefault("verbose", 0)
    histories, seeds = [], []
    for i in range(n):
        manual_seed(seed + i)
        model = build_model()
        if not callable(getattr(model, "fit", None)):  # a Module (module.py imports this file)
            raise TypeError(f"replicate: build_model() must return a Module, got {model!r}")
        histories.append(fit(model, X, y, seed=seed + i, **fit_options))
        seeds.append(seed + i)
    return Replications(histories, seeds)
