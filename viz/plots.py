"""Plots for lessons and homework: learning curves, decision boundaries, activations, optimizers.

Every function draws on its own matplotlib ``Figure`` (no pyplot, no window, no display
needed, and no change to the backend a notebook uses for its own plots) and
saves by suffix: ``.svg`` or ``.png`` (or ``.pdf``). Without a path it returns the
``Figure``, which Jupyter shows inline (as a PNG). Files are written to a temporary name
and renamed, so a half-written plot never appears. SVG output is deterministic: the same
call writes the same bytes (no date, fixed element ids), so plots can be diffed and graded.

    >>> plot_function(np.tanh, lambda x: 1 - np.tanh(x) ** 2, "tanh.svg")  # doctest: +SKIP
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, overload

import numpy as np
from matplotlib import colormaps, rc_context
from matplotlib.colors import LinearSegmentedColormap
from matplotlib.figure import Figure
from matplotlib.ticker import LogLocator, MaxNLocator

from ..autograd.files import check_path, write_atomic

# TensorFlow Playground's colours: orange for the negative class, blue for the positive.
ORANGE, BLUE = "#f59322", "#0877bd"
PLAYGROUND = LinearSegmentedColormap.from_list("playground", [ORANGE, "#e8eaeb", BLUE])
_STYLE = {"svg.hashsalt": "chaingrad", "svg.fonttype": "path", "font.size": 10}


# ------------------------------------------------------------------ saving


class InlineFigure(Figure):
    """A matplotlib Figure that Jupyter shows inline, with or without pyplot imported."""

    def _repr_png_(self) -> bytes:
        buffer = io.BytesIO()
        with rc_context(_STYLE):
            self.savefig(buffer, format="png", bbox_inches="tight", dpi=100)
        return buffer.getvalue()


def _save(fig: Figure, path: str | os.PathLike | None, who: str) -> Path | Figure:
    """Write ``fig`` to ``path`` atomically (temporary file, then rename); return the path.

    Without a path, return the figure itself (Jupyter displays it inline).
    """
    if path is None:
        return fig
    check_path(path, who)
    path = Path(path)
    suffix = path.suffix.lower().lstrip(".")
    if suffix not in {"svg", "png", "pdf"}:
        raise ValueError(f"{who}: cannot save to {str(path)!r}; use a .svg, .png or .pdf name")
    # Fixed metadata makes the bytes depend only on the picture.
    metadata = {"svg": {"Date": None}, "pdf": {"CreationDate": None}, "png": {"Software": None}}

    def save(file):
        with rc_context(_STYLE):
            fig.savefig(file, format=suffix, metadata=metadata[suffix],
                        bbox_inches="tight", dpi=120)

    return write_atomic(path, save)


def _figure(ncols: int = 1, width: float = 5.0, height: float = 4.0):
    with rc_context(_STYLE):
        fig = InlineFigure(figsize=(width * ncols, height), layout="constrained")
        if ncols > 1:  # room for the right panel's tick labels, clear of the left panel
            fig.get_layout_engine().set(wspace=0.12)
        return fig, fig.subplots(1, ncols, squeeze=False)


def _as_array(result: Any) -> np.ndarray:
    """Numbers from a float, a Value, a Tensor, an array or a list of any of these."""
    if hasattr(result, "data") and not isinstance(result, np.ndarray):
        return np.asarray(result.data, dtype=float)
    if isinstance(result, (list, tuple)):
        return np.array([_as_array(item) for item in result], dtype=float)
    return np.asarray(result, dtype=float)


# ------------------------------------------------------------------ learning curves


@overload
def plot_history(
    history: Any, path: str | os.PathLike[str], title: str | None = None,
    log: bool = False, held_out: str = "validation",
) -> Path: ...


@overload
def plot_history(
    history: Any, path: None = None, title: str | None = None,
    log: bool = False, held_out: str = "validation",
) -> Figure: ...


def plot_history(
    history: Any, path: str | os.PathLike | None = None, title: str | None = None,
    log: bool = False, held_out: str = "validation",
) -> Path | Figure:
    """Learning curves: loss and val_loss in one panel, then one panel per metric.

    ``history`` is a Keras-like History (with a ``.history`` dict) or a dict of lists, such
    as ``{"loss": [...], "val_loss": [...], "accuracy": [...], "val_accuracy": [...]}``.
    ``log=True`` draws the loss on a logarithmic axis. With a validation loss, a dotted
    line marks the epoch where it was lowest (the one early stopping would keep).
    ``held_out="test"`` says the ``val_`` curves are test data: they are labelled "test"
    and nothing is marked on them (a test set chooses nothing). With one panel the title
    is the panel's own; with several it stands above them all.
    """
    curves: Mapping[str, Sequence[float]] = getattr(history, "history", history)
    if not isinstance(curves, Mapping) or not curves:
        raise ValueError("plot_history: expected a History or a non-empty dict of lists, "
                         f"got {type(history).__name__}")
    for key, values in curves.items():
        try:
            if isinstance(values, (str, bytes)):
                raise TypeError
            _as_array(list(values))
        except (TypeError, ValueError):
            raise ValueError(f"plot_history: {key!r} must be a list of numbers (one per "
                             f"epoch), got {values!r:.40}") from None
    panels = [name for name in curves if not name.startswith("val_")]
    panels += [name[4:] for name in curves if name.startswith("val_") and name[4:] not in curves]
    panels.sort(key=lambda name: name != "loss")  # loss first, metrics after
    fig, axes = _figure(len(panels), width=4.6, height=3.4)
    for ax, name in zip(axes[0], panels):
        drawn = 0
        for key, label, style in ((name, "training", "-"), ("val_" + name, held_out, "--")):
            if key in curves:
                values = _as_array(list(curves[key]))
                ax.plot(np.arange(1, len(values) + 1), values, style, label=label, linewidth=1.8)
                drawn += 1
        if (name == "loss" and held_out == "validation" and "val_loss" in curves
                and len(curves["val_loss"]) > 1):
            best = int(np.argmin(_as_array(list(curves["val_loss"])))) + 1
            ax.axvline(best, color="#555555", linestyle=":", linewidth=1.2,
                       label=f"lowest validation loss (epoch {best})")
            drawn += 1
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(title if title and len(panels) == 1 else name)
        if log and name == "loss":
            ax.set_yscale("log")
            # a tick and a grid line at every power of ten, however many decades there are
            ax.yaxis.set_major_locator(LogLocator(base=10, numticks=100))
            ax.set_ylabel("loss (log scale)")
        ax.grid(alpha=0.3)
        if drawn > 1:
            ax.legend(loc="best")  # where it hides the fewest points
    if title and len(panels) > 1:
        fig.suptitle(title)
    return _save(fig, path, "plot_history")


# ------------------------------------------------------------------ decision boundary


def _predict_grid(model: Any, grid: np.ndarray) -> np.ndarray:
    """The model's output at each row of ``grid`` (shape (N, 2)), as an array of N rows."""
    from ..autograd import Tensor, no_grad

    with no_grad():
        if _is_scalar_model(model):  # every weight a Value: one point at a time
            out = [model([float(a), float(b)]) for a, b in grid]
        elif hasattr(model, "predict"):  # a Keras-like model
            out = model.predict(grid)
        elif hasattr(model, "parameters"):  # a tensor module without predict
            out = model(Tensor(grid))
        else:  # a plain function of an (N, 2) array
            out = model(grid)
    values = _as_array(out)
    if values.shape[0] != grid.shape[0]:
        raise ValueError(f"plot_decision_boundary: the model returned shape {values.shape} "
                         f"for {grid.shape[0]} points; expected one row per point")
    return values.reshape(grid.shape[0], -1)


def _is_scalar_model(model: Any) -> bool:
    parameters = getattr(model, "parameters", None)
    if not callable(parameters):
        return False
    first = next(iter(parameters()), None)
    return bool(getattr(first, "scalar", False))


@overload
def plot_decision_boundary(
    model: Any,
    X: np.ndarray,
    y: np.ndarray,
    path: str | os.PathLike[str],
    title: str | None = None,
    resolution: int = 120,
    threshold: float | None = None,
    axis_labels: tuple[str, str] = ("$x_1$", "$x_2$"),
    class_names: Mapping[Any, str] | None = None,
) -> Path: ...


@overload
def plot_decision_boundary(
    model: Any,
    X: np.ndarray,
    y: np.ndarray,
    path: None = None,
    title: str | None = None,
    resolution: int = 120,
    threshold: float | None = None,
    axis_labels: tuple[str, str] = ("$x_1$", "$x_2$"),
    class_names: Mapping[Any, str] | None = None,
) -> Figure: ...


def plot_decision_boundary(
    model: Any,
    X: np.ndarray,
    y: np.ndarray,
    path: str | os.PathLike | None = None,
    title: str | None = None,
    resolution: int = 120,
    threshold: float | None = None,
    axis_labels: tuple[str, str] = ("$x_1$", "$x_2$"),
    class_names: Mapping[Any, str] | None = None,
) -> Path | Figure:
    """Data points over the regions a 2-D classifier predicts (as in TensorFlow Playground).

    ``model`` is a scalar model (``nn.scalar.MLP``, called on one point at a time), a
    tensor model, or a plain function of an (N, 2) array. One output per point is a
    score: the boundary is drawn where it crosses ``threshold`` (default 0.5 when the
    labels are 0/1, 0 when they are -1/+1); give ``threshold`` for raw scores such as
    w·x + b, and the colours then span the scores' own range. Several outputs per point
    are class scores; each region is coloured by its arg-max class, and the borders are
    drawn where the top two scores tie (straight and smooth when the scores are smooth,
    e.g. minus the distance to each prototype). ``class_names`` maps a label to its name
    in the legend (default "class 0", "class 1", ...).
    """
    if not callable(model) and not hasattr(model, "predict"):
        raise TypeError(f"plot_decision_boundary: model must be a model or a function of an "
                        f"(N, 2) array, got {type(model).__name__} {model!r:.40}")
    _check_count("plot_decision_boundary", "resolution", resolution, least=2)
    X = np.asarray(X, dtype=float)
    y = np.asarray(y).reshape(-1)
    if X.ndim != 2 or X.shape[1] != 2 or len(X) != len(y):
        raise ValueError(f"plot_decision_boundary: X must have shape (N, 2) and y shape (N,); "
                         f"got X {X.shape} and y {y.shape}")
    (x0, y0), (x1, y1) = X.min(axis=0), X.max(axis=0)
    pad_x, pad_y = 0.1 * (x1 - x0 or 1.0), 0.1 * (y1 - y0 or 1.0)
    gx, gy = np.meshgrid(np.linspace(x0 - pad_x, x1 + pad_x, resolution),
                         np.linspace(y0 - pad_y, y1 + pad_y, resolution))
    scores = _predict_grid(model, np.column_stack([gx.ravel(), gy.ravel()]))
    fig, axes = _figure(width=6.0, height=4.6)
    ax = axes[0, 0]
    classes = np.unique(y)
    if scores.shape[1] == 1:
        low, high = (0.0, 1.0) if classes.min() >= 0 else (-1.0, 1.0)
        threshold_given = threshold is not None
        threshold = (low + high) / 2 if threshold is None else threshold
        surface = scores[:, 0].reshape(gx.shape)
        # Colours centred on the boundary: the labels' range for probabilities, the
        # scores' own range when the caller gave a threshold for raw scores.
        span = max(high - threshold, threshold - low)
        if threshold_given:
            span = float(np.abs(surface - threshold).max()) or 1.0
        ax.imshow(surface, extent=(gx[0, 0], gx[0, -1], gy[0, 0], gy[-1, 0]), origin="lower",
                  cmap=PLAYGROUND, vmin=threshold - span, vmax=threshold + span, alpha=0.45,
                  aspect="auto", interpolation="bilinear")
        if surface.min() < threshold < surface.max():
            ax.contour(gx, gy, surface, levels=[threshold], colors="#333333", linewidths=1.5)
        colours = {c: (BLUE if c > threshold else ORANGE) for c in classes}
    else:
        regions = scores.argmax(axis=1).reshape(gx.shape)
        palette = colormaps["tab10"]
        ax.contourf(gx, gy, regions, levels=np.arange(scores.shape[1] + 1) - 0.5,
                    colors=[palette(i) for i in range(scores.shape[1])], alpha=0.3)
        for j in range(scores.shape[1]):  # class j's border: its score ties the best other
            others = np.delete(scores, j, axis=1).max(axis=1)
            margin = (scores[:, j] - others).reshape(gx.shape)
            if margin.min() < 0 < margin.max():
                ax.contour(gx, gy, margin, levels=[0.0], colors="#333333", linewidths=1.2)
        colours = {c: palette(int(c) % 10) for c in classes}
    for c in classes:
        mask = y == c
        name = (class_names or {}).get(c, (class_names or {}).get(int(c), f"class {c:g}"))
        ax.scatter(X[mask, 0], X[mask, 1], s=30, color=colours[c], edgecolors="white",
                   linewidths=1.0, label=name, zorder=3)
    ax.set_xlabel(axis_labels[0])
    ax.set_ylabel(axis_labels[1])
    # Beside the plot, not on it: inside, "best" still hid points in a corner.
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0)
    if title:
        ax.set_title(title)
    return _save(fig, path, "plot_decision_boundary")


# ------------------------------------------------------------------ activation functions


def _evaluate(fn: Callable, xs: np.ndarray, name: str = "fn") -> np.ndarray:
    """fn at every x: on the array at once, else on a Tensor, else one Value at a time
    (``name`` is the argument fn was given as, for plot_function's errors)."""
    from ..autograd import Tensor, Value

    for make_input in (lambda: xs, lambda: Tensor(xs)):
        try:
            values = _as_array(fn(make_input()))
        except (TypeError, AttributeError, ValueError):
            continue
        if values.shape == xs.shape:
            return values
    result: Any = None
    try:
        values = np.array([_as_array(result := fn(Value(float(x)))) for x in xs])
    except (TypeError, AttributeError, ValueError):
        values = None
    if values is None or values.shape != xs.shape:
        raise ValueError(f"plot_function: {name} returned {result!r:.40} for one x; it must "
                         "return one number per x (on a numpy array, a Tensor or a Value)")
    return values


def _autograd_derivative(fn: Callable, xs: np.ndarray) -> np.ndarray:
    """d fn / dx at every x, by the engine: one Value per point."""
    from ..autograd import Value

    derivative = []
    for x in xs:
        node = Value(float(x))
        out = fn(node)
        if not hasattr(out, "backward"):
            raise TypeError(f"plot_function: with derivative=None the engine differentiates fn, "
                            f"but fn returned {type(out).__name__} for a Value; build fn from "
                            "chaingrad's operations or give derivative=")
        out.backward()
        derivative.append(node.grad)
    return np.array(derivative)


def _check_function_arguments(fn: Any, derivative: Any, xrange: Any) -> None:
    """plot_function's arguments, checked before anything is computed."""
    if not callable(fn):
        raise TypeError(f"plot_function: fn must be a function of x, such as np.tanh, got "
                        f"{type(fn).__name__} {fn!r:.40}")
    if derivative is not None and not callable(derivative):
        raise TypeError(f"plot_function: derivative must be a function or None (the engine "
                        f"then computes it), got {type(derivative).__name__} "
                        f"{derivative!r:.40}")
    try:
        low, high = (float(v) for v in xrange)
        ordered = bool(np.isfinite(low) and np.isfinite(high) and low < high)
    except (TypeError, ValueError):
        ordered = False
    if isinstance(xrange, (str, bytes)) or not ordered:
        raise ValueError(f"plot_function: xrange must be two numbers, low < high, such as "
                         f"(-5, 5), got {xrange!r:.40}")


def _check_count(who: str, name: str, value: object, least: int) -> None:
    """A number of points, levels...: a whole number of at least ``least``, or a sentence."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < least:
        raise ValueError(f"{who}: {name} must be a whole number of at least {least}, "
                         f"got {value!r:.40}")


@overload
def plot_function(
    fn: Callable,
    derivative: Callable | None,
    path: str | os.PathLike[str],
    xrange: tuple[float, float] = (-5.0, 5.0),
    title: str | None = None,
    extra: Mapping[str, Callable] | None = None,
    points: int = 401,
    derivative_label: str | None = None,
    variable: str = "x",
    function: str = "f",
    label: str | None = None,
) -> Path: ...


@overload
def plot_function(
    fn: Callable,
    derivative: Callable | None,
    path: None = None,
    xrange: tuple[float, float] = (-5.0, 5.0),
    title: str | None = None,
    extra: Mapping[str, Callable] | None = None,
    points: int = 401,
    derivative_label: str | None = None,
    variable: str = "x",
    function: str = "f",
    label: str | None = None,
) -> Figure: ...


def plot_function(
    fn: Callable,
    derivative: Callable | None,
    path: str | os.PathLike | None = None,
    xrange: tuple[float, float] = (-5.0, 5.0),
    title: str | None = None,
    extra: Mapping[str, Callable] | None = None,
    points: int = 401,
    derivative_label: str | None = None,
    variable: str = "x",
    function: str = "f",
    label: str | None = None,
) -> Path | Figure:
    """An activation f and its derivative f' side by side on ``xrange``.

    ``fn`` and ``derivative`` may work on numpy arrays, Tensors or Values. With
    ``derivative=None`` the engine computes f' itself. ``extra`` adds labelled dashed
    curves to the derivative panel (for example a textbook's formula, to compare);
    ``derivative_label`` names the solid f' curve in the legend and ``label`` the f
    curve. ``variable`` and ``function`` name the axes and panels: ``variable="p",
    function="L"`` gives L(p) and L′(p) over p.
    """
    _check_function_arguments(fn, derivative, xrange)
    _check_count("plot_function", "points", points, least=2)
    xs = np.linspace(xrange[0], xrange[1], points)
    ys = _evaluate(fn, xs)
    called, slope_called = f"{function}({variable})", f"{function}′({variable})"
    if derivative is None:
        slopes, slope_label = _autograd_derivative(fn, xs), f"{slope_called} (autograd)"
    else:
        slopes, slope_label = _evaluate(derivative, xs, "derivative"), slope_called
    slope_label = derivative_label or slope_label
    fig, axes = _figure(2, width=4.2, height=3.2)
    left, right = axes[0]
    left.plot(xs, ys, color=BLUE, linewidth=2, label=label)
    left.set_title(called)
    if label:
        left.legend(loc="best", fontsize=8)
    # Under compared curves f' is a wide pale band, so a dashed curve on top of it
    # (a formula that agrees) leaves both visible.
    band = {"linewidth": 5, "alpha": 0.5} if extra else {"linewidth": 2}
    right.plot(xs, slopes, color=ORANGE, label=slope_label, **band)
    right.set_title(slope_called)
    for label, curve in (extra or {}).items():
        right.plot(xs, _evaluate(curve, xs), "--", color="#c0392b", linewidth=1.5, label=label)
    if extra:  # compared curves cross near the peak: the legend goes under the panel
        right.legend(loc="upper center", bbox_to_anchor=(0.5, -0.24), fontsize=8)
    elif derivative is None or derivative_label:
        right.legend(loc="best", fontsize=8)
    for ax in (left, right):
        ax.axhline(0, color="#888888", linewidth=0.6)
        ax.axvline(0, color="#888888", linewidth=0.6)
        ax.grid(alpha=0.3)
        ax.set_xlabel(variable)
    if title:
        fig.suptitle(title)
    return _save(fig, path, "plot_function")


# ------------------------------------------------------------------ optimizers


@overload
def plot_optimizer_paths(
    loss_fn: Callable,
    paths: Mapping[str, Any],
    path: str | os.PathLike[str],
    xrange: tuple[float, float] | None = None,
    yrange: tuple[float, float] | None = None,
    title: str | None = None,
    levels: int = 25,
    resolution: int = 200,
    minimum: Sequence[float] | np.ndarray | None = None,
) -> Path: ...


@overload
def plot_optimizer_paths(
    loss_fn: Callable,
    paths: Mapping[str, Any],
    path: None = None,
    xrange: tuple[float, float] | None = None,
    yrange: tuple[float, float] | None = None,
    title: str | None = None,
    levels: int = 25,
    resolution: int = 200,
    minimum: Sequence[float] | np.ndarray | None = None,
) -> Figure: ...


def plot_optimizer_paths(
    loss_fn: Callable,
    paths: Mapping[str, Any],
    path: str | os.PathLike | None = None,
    xrange: tuple[float, float] | None = None,
    yrange: tuple[float, float] | None = None,
    title: str | None = None,
    levels: int = 25,
    resolution: int = 200,
    minimum: Sequence[float] | np.ndarray | None = None,
) -> Path | Figure:
    """Contours of a 2-D loss surface with each optimizer's path of points drawn on it.

    ``loss_fn(w1, w2)`` takes two numpy arrays of the same shape (or two floats) and
    returns the loss; ``paths`` maps a name to an array of points, shape (steps, 2).
    The ranges default to the paths' extent plus a margin. ``minimum`` marks the lowest
    point. Each path ends in a star; earlier paths are drawn wider, so a path that
    follows another closely still shows. Both axes have the same scale, so gradient
    steps cross the contours at right angles as they do on the surface.
    """
    if not callable(loss_fn):
        raise TypeError(f"plot_optimizer_paths: loss_fn must be a function of (w1, w2), got "
                        f"{type(loss_fn).__name__} {loss_fn!r:.40}")
    if not isinstance(paths, Mapping):
        raise TypeError(f"plot_optimizer_paths: paths must be a dict of name -> points of "
                        f"shape (steps, 2), e.g. {{'sgd': points}}, got {paths!r:.40}")
    _check_count("plot_optimizer_paths", "levels", levels, least=1)
    _check_count("plot_optimizer_paths", "resolution", resolution, least=2)
    walks = {name: np.asarray(_as_array(points), dtype=float) for name, points in paths.items()}
    for name, points in walks.items():
        if points.ndim != 2 or points.shape[1] != 2:
            raise ValueError(f"plot_optimizer_paths: path {name!r} has shape {points.shape}; "
                             "expected (steps, 2)")
    every = np.concatenate(list(walks.values())) if walks else np.zeros((1, 2))
    low, high = every.min(axis=0), every.max(axis=0)
    margin = 0.15 * np.maximum(high - low, 1e-3) + 0.1
    xrange = xrange or (low[0] - margin[0], high[0] + margin[0])
    yrange = yrange or (low[1] - margin[1], high[1] + margin[1])
    gx, gy = np.meshgrid(np.linspace(*xrange, resolution), np.linspace(*yrange, resolution))
    try:
        surface = _as_array(loss_fn(gx, gy))
    except (TypeError, AttributeError, ValueError):
        surface = np.vectorize(lambda a, b: float(_as_array(loss_fn(a, b))))(gx, gy)
    surface = np.broadcast_to(surface, gx.shape)
    fig, axes = _figure(width=7.4, height=4.8)
    ax = axes[0, 0]
    if surface.min() > 0:  # log-spaced levels show both the valley floor and the walls
        contour_levels = np.geomspace(surface.min(), surface.max(), levels)
    else:
        contour_levels = np.linspace(surface.min(), surface.max(), levels)
    ax.contour(gx, gy, surface, levels=np.unique(contour_levels), cmap="viridis", linewidths=0.8,
               alpha=0.7)
    palette = colormaps["tab10"]
    styles = ["-", "--", "-.", ":"]
    for index, (name, points) in enumerate(walks.items()):
        colour = palette(index % 10)
        width = 1.2 + 3.0 * (len(walks) - 1 - index) / max(1, len(walks) - 1)
        # Solid paths show each step as a dot; dashed ones leave gaps to see through.
        ax.plot(points[:, 0], points[:, 1], styles[index % len(styles)],
                marker="o" if index % len(styles) == 0 else None,
                color=colour, markersize=2.0, linewidth=width, alpha=0.9,
                label=f"{name}: {len(points) - 1} steps")
        ax.plot(*points[-1], "*", color=colour, markersize=11, markeredgecolor="black",
                markeredgewidth=0.5)
    if walks:
        start = next(iter(walks.values()))[0]
        ax.plot(*start, "s", color="black", markersize=6, label="start")
        ax.plot([], [], "*", color="white", markersize=11, markeredgecolor="black",
                markeredgewidth=0.8, label="end (in the path's colour)")
    if minimum is not None:
        ax.plot(*minimum, "X", color="black", markersize=9, markeredgecolor="white",
                label="lowest point", zorder=5)
    if walks or minimum is not None:
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0,
                  fontsize=8)
    ax.set_xlim(*xrange)
    ax.set_ylim(*yrange)
    ax.set_aspect("equal", adjustable="box")  # to scale: a round bowl looks round
    ax.set_xlabel("$w_1$")
    ax.set_ylabel("$w_2$")
    if title:
        ax.set_title(title)
    return _save(fig, path, "plot_optimizer_paths")
