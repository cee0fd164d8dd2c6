"""Ordinary mistakes a student makes: each gives one clear sentence naming the function."""

from __future__ import annotations

import numpy as np
import pytest

from chaingrad import nn, viz
from chaingrad.autograd import Tensor, Value
from chaingrad.lessons.__main__ import main as lessons_main


@pytest.mark.parametrize("show", ["draw", "to_dot", "to_networkx", "show", "explain"])
@pytest.mark.parametrize("root", [3.0, None, np.ones(3)])
def test_viz_refuses_what_is_not_a_graph_node(show, root):
    with pytest.raises(TypeError, match=rf"^{show}: expected the Value or Tensor"):
        getattr(viz, show)(root)


def test_animate_refuses_a_number(tmp_path):
    with pytest.raises(TypeError, match=r"^animate: expected the Value or Tensor.*got float"):
        viz.animate(2.5, tmp_path / "a.html")


def test_show_cuts_a_deep_chain_instead_of_indenting_off_the_screen():
    x = Tensor(np.ones(2), requires_grad=True, name="x")
    f = x
    for _ in range(50):
        f = f * 1.0
    f = f.sum()
    f.backward()
    lines = viz.terminal.show_tree(f, max_depth=5)
    from rich.console import Console

    console = Console(width=100, record=True, file=open("/dev/null", "w"))
    console.print(lines)
    text = console.export_text()
    assert "too deep: draw big graphs with viz.draw" in text
    assert max(len(line) for line in text.splitlines()) <= 100
    assert " x " not in text  # the leaf 50 levels down is not reached


@pytest.mark.parametrize("n_in, n_out", [(2.5, 3), (0, 3), (2, 0), (True, 3), ("2", 3)])
def test_linear_sizes_must_be_whole_numbers(n_in, n_out):
    with pytest.raises(ValueError, match=r"^Linear: sizes must be whole numbers"):
        nn.Linear(n_in, n_out)


@pytest.mark.parametrize("make", [nn.MLP, nn.scalar.MLP])
def test_mlp_sizes_must_be_a_list(make):
    with pytest.raises(ValueError, match=r"^MLP: give the layer sizes as a list.*got 4"):
        make(2, 4)


def test_mlp_sizes_must_be_whole_numbers():
    with pytest.raises(ValueError, match=r"^MLP: sizes must be whole numbers.*1\.5"):
        nn.MLP(2, [1.5, 1])


@pytest.mark.parametrize("bad", [[1.0, 2.0, 3.0], [[1.0, 2.0]], Value(1.0)])
def test_scalar_mlp_names_the_inputs_it_expects(bad):
    model = nn.scalar.MLP(2, [3, 1], seed=0)
    with pytest.raises(ValueError, match=r"^MLP: expected a list of 2 inputs"):
        model(bad)


def test_scalar_mlp_takes_a_list_tuple_or_array():
    model = nn.scalar.MLP(2, [3, 1], seed=0)
    expected = model([1.0, 2.0]).data
    assert model((Value(1.0), Value(2.0))).data == expected
    assert model(np.array([1.0, 2.0])).data == expected


@pytest.mark.parametrize("options, message", [
    ({"epochs": 0}, r"^fit: epochs must be a whole number of at least 1, got 0"),
    ({"epochs": 2.5}, r"^fit: epochs must be a whole number"),
    ({"batch_size": 0}, r"^fit: batch_size must be a whole number of at least 1"),
    ({"batch_size": -3}, r"^fit: batch_size must be a whole number"),
])
def test_fit_checks_epochs_and_batch_size(options, message):
    model = nn.MLP(2, [3, 1], seed=0)
    model.compile(loss="mse", optimizer="sgd", lr=0.1)
    X, y = np.zeros((6, 2)), np.zeros((6, 1))
    with pytest.raises(ValueError, match=message):
        model.fit(X, y, verbose=0, **{"epochs": 1, **options})


def test_fit_with_batch_size_none_uses_all_rows():
    model = nn.MLP(2, [3, 1], seed=0)
    model.compile(loss="mse", optimizer="sgd", lr=0.1)
    history = model.fit(np.zeros((6, 2)), np.zeros((6, 1)), epochs=1, batch_size=None, verbose=0)
    assert history.params["batch_size"] == 6


@pytest.mark.parametrize("number", ["abc", "1.5", "99", "0"])
def test_lessons_unknown_number_is_a_sentence(number, capsys):
    assert lessons_main([number, "--auto"]) == 2
    out = capsys.readouterr().out
    assert f"There is no lesson {number}" in out
    assert "Traceback" not in out


def test_lessons_accepts_a_leading_zero(tmp_path, monkeypatch):
    entries = {}
    from chaingrad.lessons import __main__ as entry_point

    monkeypatch.setattr(entry_point, "run_lesson",
                        lambda entry, out, auto, console, start:
                        entries.setdefault("n", entry.number))
    assert lessons_main(["01", "--out", str(tmp_path)]) == 1
    assert entries["n"] == 1


@pytest.mark.parametrize("below", ["", "sub"])
def test_lessons_out_that_is_a_file(tmp_path, capsys, below):
    blocker = tmp_path / "afile"
    blocker.write_text("not a folder")
    out = blocker / below if below else blocker
    assert lessons_main(["1", "--auto", "--out", str(out)]) == 2
    text = " ".join(capsys.readouterr().out.split())  # rich wraps long lines
    assert "is a file, not a folder" in text
    assert "Traceback" not in text
    assert blocker.read_text() == "not a folder"


def test_plot_function_names_the_true_derivative_in_the_legend(tmp_path):
    from chaingrad.nn import activations as act

    path = viz.plot_function(act.softsign, act.softsign.derivative, tmp_path / "s.svg",
                             extra={"printed": lambda x: 1 - act.softsign(x) ** 2},
                             derivative_label="true f′ = 1 / (1 + |x|)²")
    text = path.read_text()
    assert "true f′ = 1 / (1 + |x|)²" in text and "as given" not in text


def test_lesson_code_wider_than_the_terminal_is_printed_without_a_frame(tmp_path):
    import io

    from rich.console import Console

    from chaingrad.lessons.runner import Lesson

    wide = "x = 1  # " + "a" * 70  # 79 characters: fits 80 columns only without the frame
    for width, framed in ((100, True), (80, False)):
        console = Console(width=width, file=io.StringIO(), color_system=None)
        Lesson(1, "t", tmp_path, auto=True, console=console).code(wide)
        text = console.file.getvalue()
        assert wide in text
        assert ("╭" in text) == framed


def test_dot_labels_keep_the_space_between_name_and_formula():
    # SVG viewers drop a leading space in a span Graphviz placed, printing "q= x + y".
    x, y = Value(-2.0, name="x"), Value(5.0, name="y")
    q = x + y
    q.name = "q"
    source = str(viz.to_dot(q))
    assert ">= x + y<" in source and ">q <" in source
    assert "> = x + y<" not in source


@pytest.mark.parametrize("column", [0, 1])
def test_fit_refuses_nan_in_the_data(column):
    model = nn.MLP(2, [3, 1], seed=0)
    model.compile(loss="mse", optimizer="sgd", lr=0.1)
    X, y = np.zeros((5, 2)), np.zeros((5, 1))
    X[3, column] = np.nan
    with pytest.raises(ValueError, match=r"^fit: X holds NaN or infinity .*first in row 3"):
        model.fit(X, y, epochs=1, verbose=0)
    y[2, 0] = np.inf
    with pytest.raises(ValueError, match=r"^evaluate: y holds NaN or infinity .*row 2"):
        model.evaluate(np.zeros((5, 2)), y)


@pytest.mark.parametrize("lr", ["0.01", None, True])
def test_optimizer_lr_must_be_a_number(lr):
    with pytest.raises(ValueError, match=r"^Adam: lr must be a number, got"):
        nn.optim.Adam(nn.Linear(2, 1).parameters(), lr=lr)


def test_save_to_a_folder_names_a_file_to_use_instead(tmp_path):
    with pytest.raises(ValueError, match=r"^save: .* is a folder; give a file name"):
        nn.Linear(2, 1).save(tmp_path)
    assert list(tmp_path.iterdir()) == []  # no temporary file left behind


@pytest.mark.parametrize("verbose", [0, 2])
def test_fit_says_when_early_stopping_ended_training(verbose, capsys):
    model = nn.MLP(1, [1], seed=0)
    model.compile(loss="mse", optimizer="sgd", lr=0.0)  # lr 0: the loss never improves
    X, y = np.linspace(-1, 1, 8)[:, None], np.zeros((8, 1))
    stopper = nn.EarlyStopping(monitor="loss", patience=2, restore_best_weights=True)
    # shuffle=False: a shuffled batch sums its rows in another order each epoch, and on
    # some numpy versions the last bit of the loss then "improves" by chance.
    history = model.fit(X, y, epochs=10, batch_size=None, callbacks=[stopper], verbose=verbose,
                        shuffle=False)
    assert len(history.epoch) == 3
    text = " ".join(capsys.readouterr().out.split())
    said = ("Early stopping after epoch 3: loss did not improve for 2 epochs; the best was "
            "epoch 1, whose weights were restored.")
    assert (said in text) == bool(verbose)
