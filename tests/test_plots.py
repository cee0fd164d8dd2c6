"""viz.plots: every plot writes a valid SVG or PNG, atomically, with deterministic SVG bytes."""

import subprocess
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from chaingrad.autograd import Value
from chaingrad.viz.plots import (
    plot_decision_boundary,
    plot_function,
    plot_history,
    plot_optimizer_paths,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
HISTORY = {"loss": [1.0, 0.5, 0.3], "val_loss": [1.1, 0.7, 0.6],
           "accuracy": [0.5, 0.8, 0.9], "val_accuracy": [0.5, 0.7, 0.75]}


def _svg_root(path):
    root = ET.parse(path).getroot()
    assert root.tag.endswith("svg")
    return root


def _points(n=40, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    return X, (X[:, 0] + X[:, 1] > 0).astype(float)


class History:
    """The shape of a Keras History: a .history dict."""

    def __init__(self, curves):
        self.history = curves


def test_history_svg_from_dict_and_history_object_are_identical(tmp_path):
    a = plot_history(HISTORY, tmp_path / "a.svg")
    b = plot_history(History(HISTORY), tmp_path / "b.svg")
    _svg_root(a)
    assert a.read_bytes() == b.read_bytes()
    assert "Date" not in a.read_text()  # no timestamp in the metadata


def test_history_draws_one_panel_per_metric(tmp_path):
    both = plot_history(HISTORY, tmp_path / "both.svg").read_text()
    loss_only = plot_history({"loss": [3.0, 2.0]}, tmp_path / "loss.svg").read_text()
    assert both.count('id="axes_') == 2
    assert loss_only.count('id="axes_') == 1


def test_history_rejects_empty_input(tmp_path):
    with pytest.raises(ValueError, match="plot_history"):
        plot_history({}, tmp_path / "x.svg")


def test_png_by_suffix(tmp_path):
    path = plot_history(HISTORY, tmp_path / "curves.png")
    assert path.read_bytes().startswith(PNG_SIGNATURE)


def test_unknown_suffix_is_refused_and_nothing_is_left_behind(tmp_path):
    with pytest.raises(ValueError, match=r"\.svg, \.png"):
        plot_history(HISTORY, tmp_path / "curves.txt")
    assert list(tmp_path.iterdir()) == []


def test_atomic_write_leaves_only_the_final_file(tmp_path):
    plot_function(np.tanh, None, tmp_path / "sub" / "tanh.svg")
    assert [p.name for p in (tmp_path / "sub").iterdir()] == ["tanh.svg"]


def test_svg_bytes_are_identical_across_processes(tmp_path):
    script = (
        "import sys, numpy as np; from chaingrad.viz.plots import plot_decision_boundary;"
        "rng = np.random.default_rng(1); X = rng.normal(size=(30, 2));"
        "y = (X[:, 0] > 0).astype(float);"
        "plot_decision_boundary(lambda g: 1 / (1 + np.exp(-4 * g[:, 0])), X, y, sys.argv[1])"
    )
    for name in ("one.svg", "two.svg"):
        subprocess.run([sys.executable, "-c", script, str(tmp_path / name)], check=True)
    assert (tmp_path / "one.svg").read_bytes() == (tmp_path / "two.svg").read_bytes()


def test_decision_boundary_from_a_plain_function(tmp_path):
    X, y = _points()
    path = plot_decision_boundary(lambda g: 1 / (1 + np.exp(-(g[:, 0] + g[:, 1]))), X, y,
                                  tmp_path / "f.svg", title="a line")
    _svg_root(path)
    text = path.read_text(encoding="utf-8")  # text is drawn as paths, labelled in comments
    assert "<!-- class 0 -->" in text and "<!-- class 1 -->" in text and "a line" in text


def test_decision_boundary_calls_a_scalar_model_point_by_point(tmp_path):
    class TinyScalarModel:
        """w·x as Values, one point at a time: the calling convention of nn.scalar.MLP."""

        def __init__(self):
            self.weights = [Value(1.0), Value(-1.0)]
            self.calls = 0

        def parameters(self):
            return self.weights

        def __call__(self, x):
            self.calls += 1
            return (self.weights[0] * x[0] + self.weights[1] * x[1]).tanh()

    model = TinyScalarModel()
    X = np.array([[1.0, -1.0], [-1.0, 1.0], [0.5, 0.0], [-0.5, 0.0]])
    y = np.array([1.0, -1.0, 1.0, -1.0])
    plot_decision_boundary(model, X, y, tmp_path / "scalar.png", resolution=10)
    assert model.calls == 100


def test_decision_boundary_with_class_scores_colours_by_argmax(tmp_path):
    X = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    y = np.array([0, 1, 2])
    scores = lambda g: np.stack([-np.abs(g - c).sum(1) for c in X], axis=1)  # noqa: E731
    assert plot_decision_boundary(scores, X, y, tmp_path / "three.png").exists()


def test_decision_boundary_checks_shapes(tmp_path):
    X, y = _points()
    with pytest.raises(ValueError, match=r"X must have shape \(N, 2\)"):
        plot_decision_boundary(lambda g: g[:, 0], X[:, :1], y, tmp_path / "bad.svg")
    with pytest.raises(ValueError, match="one row per point"):
        plot_decision_boundary(lambda g: g[:5, 0], X, y, tmp_path / "bad.svg")


def test_plot_function_accepts_numpy_value_and_autograd_derivative(tmp_path):
    numpy_tanh = plot_function(np.tanh, lambda x: 1 - np.tanh(x) ** 2, tmp_path / "a.svg")
    value_tanh = plot_function(lambda v: v.tanh(), lambda v: 1 - v.tanh() ** 2,
                               tmp_path / "b.svg")
    assert numpy_tanh.read_bytes() == value_tanh.read_bytes()
    with_autograd = plot_function(lambda v: v.tanh(), None, tmp_path / "c.svg",
                                  extra={"a textbook's f′": lambda x: 1 - x ** 2})
    _svg_root(with_autograd)


def test_autograd_derivative_matches_the_formula():
    from chaingrad.viz.plots import _autograd_derivative

    xs = np.linspace(-3, 3, 13)
    np.testing.assert_allclose(_autograd_derivative(lambda v: v.sigmoid(), xs),
                               np.exp(-xs) / (1 + np.exp(-xs)) ** 2, rtol=1e-12)


def test_optimizer_paths(tmp_path):
    def bowl(a, b):
        return (a - 1) ** 2 + 10 * (b + 0.5) ** 2

    walk = np.array([[-2.0, 1.5], [-1.0, 0.0], [0.5, -0.5], [1.0, -0.5]])
    path = plot_optimizer_paths(bowl, {"GD": walk, "other": walk * 0.9}, tmp_path / "o.svg")
    again = plot_optimizer_paths(bowl, {"GD": walk, "other": walk * 0.9}, tmp_path / "p.svg")
    assert path.read_bytes() == again.read_bytes()
    with pytest.raises(ValueError, match=r"path 'GD' has shape \(4,\)"):
        plot_optimizer_paths(bowl, {"GD": walk[:, 0]}, tmp_path / "q.svg")


def test_optimizer_paths_falls_back_to_point_by_point_loss(tmp_path):
    def scalar_only(a, b):
        return Value(float(a)) ** 2 + Value(float(b)) ** 2  # float() fails on arrays

    walk = np.array([[1.0, 1.0], [0.1, 0.1]])
    assert plot_optimizer_paths(scalar_only, {"GD": walk}, tmp_path / "s.png",
                                resolution=20).exists()


def test_plotting_leaves_pyplot_and_the_backend_alone(tmp_path):
    """A notebook's own plots keep working: no pyplot import, no backend switch."""
    script = (  # (matplotlib.get_backend() itself would import pyplot, so it is not asked)
        "import sys, numpy as np; from chaingrad.viz.plots import plot_function;"
        "plot_function(np.tanh, None, sys.argv[1]);"
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot was imported'"
    )
    subprocess.run([sys.executable, "-c", script, str(tmp_path / "t.png")], check=True)


# ------------------------------------------------------------------ inline, and for the lessons


def _bowl(w1, w2):
    return 0.5 * (np.asarray(w1) ** 2 + 20 * np.asarray(w2) ** 2)


def test_every_plot_without_a_path_returns_a_figure_that_jupyter_shows():
    from matplotlib.figure import Figure

    X, y = _points()
    figures = [
        plot_history(HISTORY),
        plot_decision_boundary(lambda p: (p[:, 0] > 0).astype(float), X, y),
        plot_function(np.tanh, None),
        plot_optimizer_paths(_bowl, {"GD": [[1.0, 1.0], [0.5, 0.2]]}),
    ]
    for figure in figures:
        assert isinstance(figure, Figure)
        assert figure._repr_png_().startswith(PNG_SIGNATURE)


def _legend(figure, panel=0):
    return [text.get_text() for text in figure.axes[panel].get_legend().get_texts()]


def test_history_marks_the_epoch_of_the_lowest_validation_loss():
    labels = _legend(plot_history({"loss": [3.0, 2.0, 1.0, 0.5], "val_loss": [3, 1, 2, 4]}))
    assert "lowest validation loss (epoch 2)" in labels


def test_test_data_is_labelled_test_and_marks_no_epoch():
    """Lesson 9's rule: a test set chooses nothing, so no "lowest validation loss" on it."""
    figure = plot_history({"loss": [3.0, 2.0, 1.0, 0.5], "val_loss": [3, 1, 2, 4]},
                          held_out="test")
    labels = _legend(figure)
    assert labels == ["training", "test"]
    assert not any("validation" in text for text in labels)


def test_one_panel_title_is_the_panel_title_centred_over_it():
    figure = plot_history({"loss": [3.0, 2.0, 1.0], "val_loss": [3, 2, 2.5]}, title="a run")
    assert figure.axes[0].get_title() == "a run"
    assert figure._suptitle is None  # no second, off-centre title above the panel
    several = plot_history({"loss": [3.0, 2.0], "accuracy": [0.5, 0.9]}, title="a run")
    assert several._suptitle.get_text() == "a run"
    assert [ax.get_title() for ax in several.axes] == ["loss", "accuracy"]


def test_log_loss_axis_has_a_tick_at_every_power_of_ten():
    figure = plot_history({"loss": list(np.geomspace(1.0, 1e-14, 50))}, log=True)
    ticks = [t for t in figure.axes[0].get_yticks() if 1e-14 <= t <= 1.0]
    assert np.allclose(np.log10(ticks), np.arange(-14, 1))


def test_optimizer_paths_legend_names_steps_end_and_lowest_point():
    figure = plot_optimizer_paths(_bowl, {"SGD, batches of 1": [[1.0, 1.0], [0.5, 0.2]]},
                                  minimum=(0.0, 0.0))
    labels = _legend(figure)
    assert "SGD, batches of 1: 1 steps" in labels
    assert "lowest point" in labels and any(label.startswith("end") for label in labels)


def test_optimizer_paths_that_coincide_both_show():
    """The earlier path is drawn wider, the later dashed: one cannot hide the other."""
    same = [[1.0, 1.0], [0.5, 0.5], [0.1, 0.1]]
    lines = plot_optimizer_paths(_bowl, {"first": same, "second": same}).axes[0].get_lines()
    first, second = lines[0], lines[2]  # each path is a line plus its end star
    assert first.get_linewidth() > second.get_linewidth()
    assert second.get_linestyle() != "-"


def test_decision_boundary_class_names_and_smooth_borders():
    X = np.array([[-1.0, 0.0], [1.0, 0.0], [0.0, 2.0]])
    prototypes = X.copy()

    def closeness(points):
        return -np.linalg.norm(points[:, None, :] - prototypes[None], axis=2)

    figure = plot_decision_boundary(closeness, X, np.array([0, 1, 2]),
                                    class_names={0: "won by unit 0", 1: "u1", 2: "u2"})
    assert _legend(figure) == ["won by unit 0", "u1", "u2"]
    # the regions' colours, then one border line per class where its score ties the best
    # other, then the three classes' points (matplotlib before 3.8 makes one collection per
    # contour level, later ones one per contour set: count by label, not by position)
    collections = figure.axes[0].collections
    assert [c.get_label() for c in collections[-3:]] == ["won by unit 0", "u1", "u2"]
    borders = [c for c in collections if c.get_label() == "_nolegend_"]
    assert len(borders) == 3
    border = np.concatenate([path.vertices for path in borders[0].get_paths()])
    assert len(border) > 10
    scores = closeness(border)  # on unit 0's border its score ties the best other's
    assert np.abs(scores[:, 0] - scores[:, 1:].max(axis=1)).max() < 5e-3  # a grid cell: 0.03


def test_side_by_side_panels_leave_room_for_the_right_ticks():
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    figure = plot_function(lambda r: r * r, None, xrange=(-3, 3))
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    left, right = figure.axes
    renderer = canvas.get_renderer()
    ticks_right = right.yaxis.get_tightbbox(renderer)
    assert ticks_right.x0 > left.get_window_extent().x1  # the labels clear the left panel


def _data_per_pixel(figure):
    """(units of w₁ per pixel) / (units of w₂ per pixel) of the figure's first axes."""
    figure.draw_without_rendering()
    ax = figure.axes[0]
    box = ax.get_window_extent()
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    return ((x1 - x0) / box.width) / ((y1 - y0) / box.height)


@pytest.mark.parametrize("ranges", [dict(xrange=(-4.5, 1.5), yrange=(-1, 1.2)), {},
                                    dict(xrange=(-1, 1), yrange=(-5, 5))])
def test_optimizer_paths_are_drawn_to_scale(ranges):
    """A loss surface over two weights: one unit is as long on both axes."""
    walk = np.array([[-4.0, 1.0], [-3.6, -0.8], [-3.3, 0.6], [0.0, 0.0]])
    figure = plot_optimizer_paths(_bowl, {"GD": walk}, **ranges)
    assert _data_per_pixel(figure) == pytest.approx(1.0, rel=0.01)


def test_plot_function_names_its_variable_and_both_curves():
    """Lesson 7 draws losses of r and p: the axes say r or p, not x and f(x)."""
    figure = plot_function(lambda q: -q.log(), lambda q: -1 / q, xrange=(0.02, 1.0),
                           variable="p", function="L", label="L = −log p",
                           derivative_label="L′ = −1/p")
    left, right = figure.axes[:2]
    assert (left.get_title(), right.get_title()) == ("L(p)", "L′(p)")
    assert left.get_xlabel() == right.get_xlabel() == "p"
    assert _legend(figure, 0) == ["L = −log p"] and _legend(figure, 1) == ["L′ = −1/p"]
