"""The Keras-style workflow: compile, fit, evaluate, predict, callbacks, replications."""

import re

import numpy as np
import pytest

from chaingrad import nn
from chaingrad.autograd import Tensor
from chaingrad.nn import data, losses, optim
from chaingrad.nn.training import EarlyStopping, accuracy, replicate

X, Y = data.moons(200, noise=0.1, seed=0)
Y = Y.astype(float)


def _classifier(seed=0):
    return nn.MLP(2, [8, 1], activation="tanh", output_activation="sigmoid", seed=seed)


def test_fit_learns_moons_and_records_every_epoch():
    model = _classifier()
    model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy", "mae"],
                  lr=0.05)
    history = model.fit(X, Y, epochs=40, batch_size=16, validation_split=0.25, verbose=0,
                        seed=1)
    assert set(history.history) == {"loss", "accuracy", "mae", "val_loss", "val_accuracy",
                                    "val_mae"}
    assert all(len(values) == 40 for values in history.history.values())
    assert history.epoch == list(range(40))
    assert history.params["samples"] == 150
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    assert history.history["val_accuracy"][-1] > 0.85
    # The last val_* numbers are the final model evaluated on the held-out last quarter.
    loss, acc, mae = model.evaluate(X[150:], Y[150:])
    assert loss == pytest.approx(history.history["val_loss"][-1], abs=1e-12)
    assert acc == history.history["val_accuracy"][-1]
    assert mae == pytest.approx(history.history["val_mae"][-1], abs=1e-12)


def test_fit_is_the_loop_a_student_writes():
    model, twin = _classifier(seed=3), _classifier(seed=3)
    model.compile(loss="bce", optimizer=optim.SGD(model, lr=0.1, momentum=0.5))
    history = model.fit(X, Y, epochs=3, batch_size=32, verbose=0, seed=7)

    optimizer = optim.SGD(twin, lr=0.1, momentum=0.5)
    generator = np.random.default_rng(7)
    epoch_losses = []
    for _ in range(3):
        total = 0.0
        for xb, yb in data.batches(X, Y, 32, shuffle=True, seed=generator):
            optimizer.zero_grad()
            loss = losses.bce(twin(Tensor(xb)), yb)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(xb)
        epoch_losses.append(total / len(X))
    for ours, theirs in zip(model.parameters(), twin.parameters()):
        assert np.array_equal(ours.data, theirs.data)
    assert history.history["loss"] == pytest.approx(epoch_losses, abs=1e-14)


def test_same_seed_same_history():
    histories = []
    for _ in range(2):
        model = _classifier(seed=5)
        model.compile(loss="bce", optimizer="rmsprop", lr=0.01)
        histories.append(model.fit(X, Y, epochs=3, batch_size=10, verbose=0, seed=11).history)
    assert histories[0] == histories[1]


def test_evaluate_and_predict():
    model = _classifier()
    model.compile(loss="bce", optimizer="sgd")
    prediction = model.predict(X)
    assert prediction.shape == (200, 1)
    assert np.array_equal(prediction, model(Tensor(X)).data)
    assert model.evaluate(X, Y) == pytest.approx(losses.bce(Tensor(prediction), Y).item())
    model.compile(loss="bce", optimizer="sgd", metrics=["accuracy"])
    scores = model.evaluate(X, Y, return_dict=True)
    assert scores["accuracy"] == accuracy(prediction, Y)


def test_predict_runs_in_evaluation_mode_and_restores_training():
    model = nn.Sequential(nn.Linear(2, 4, seed=0), nn.Dropout(0.5), nn.Linear(4, 1, seed=1))
    first, second = model.predict(X), model.predict(X)
    assert np.array_equal(first, second)  # no dropout at prediction
    assert model.training


def test_verbose_modes(capsys):
    model = _classifier()
    model.compile(loss="bce", optimizer="adam")
    model.fit(X, Y, epochs=2, verbose=0)
    assert capsys.readouterr().out == ""
    model.fit(X, Y, epochs=2, verbose=2)
    out = capsys.readouterr().out
    assert re.search(r"Epoch 1/2  loss \d\.\d{4}\nEpoch 2/2  loss \d\.\d{4}", out)
    model.fit(X, Y, epochs=1, verbose=1)
    assert re.search(r"Epoch 1/1  loss \d\.\d{4}", capsys.readouterr().out)


def test_accuracy_reads_probabilities_logits_margins_and_classes():
    assert accuracy(np.array([[0.9], [0.2], [0.6]]), np.array([1, 0, 0])) == pytest.approx(2 / 3)
    assert accuracy(np.array([0.3, -2.0]), np.array([1, -1])) == 1.0  # ±1 labels: sign
    assert accuracy(np.array([[1.0, 3.0], [2.0, 0.0]]), np.array([1, 1])) == 0.5
    assert accuracy(np.array([[1.0, 3.0], [2.0, 0.0]]), np.eye(2)[[1, 0]]) == 1.0
    model = nn.MLP(2, [1], activation="tanh", seed=0)
    model.compile(loss="bce_with_logits", optimizer="sgd", metrics=["accuracy"])
    logits = model.predict(X)
    expected = np.mean((logits.ravel() >= 0) == (Y > 0))  # logits: threshold 0, not 0.5
    assert model.evaluate(X, Y)[1] == pytest.approx(expected)


def test_early_stopping_patience_and_best_weights():
    model = nn.Linear(1, 1, seed=0)
    stopper = EarlyStopping(monitor="val_loss", patience=1, restore_best_weights=True)
    stopper.on_train_begin(model)
    model.stop_training = False
    for epoch, value in enumerate([1.0, 0.5, 0.7, 0.6]):
        model.weight.data[...] = epoch
        stopper.on_epoch_end(model, epoch, {"loss": 0.0, "val_loss": value})
        if model.stop_training:
            break
    # patience=1: the first epoch without improvement (epoch 2) ends training, as in Keras.
    assert (epoch, stopper.best_epoch, stopper.stopped_epoch) == (2, 1, 2)
    stopper.on_train_end(model)
    assert model.weight.data.item() == 1.0  # the weights of epoch 1
    with pytest.raises(ValueError, match="'val_accuracy' is not measured.*loss"):
        EarlyStopping(monitor="val_accuracy").on_epoch_end(model, 0, {"loss": 1.0})


def test_early_stopping_ends_fit():
    model = _classifier()
    model.compile(loss="bce", optimizer="sgd", lr=0.0)  # nothing changes, nothing improves
    history = model.fit(X, Y, epochs=20, verbose=0,
                        callbacks=[EarlyStopping(monitor="loss", patience=2, min_delta=1e-9)])
    assert len(history.history["loss"]) == 3  # the first epoch, then two without improvement


def test_scalar_networks_fit_too():
    model = nn.scalar.MLP(2, [4, 1], activation="tanh", seed=0)
    labels = 2 * Y[:40] - 1
    model.compile(loss="hinge", optimizer="gd", lr=0.1, metrics=["accuracy"])
    history = model.fit(X[:40], labels, epochs=15, verbose=0)
    assert history.params["batch_size"] == 40  # GD: the whole data set per step
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert model.predict(X[:3]).shape == (3, 1)


def test_replications_report_the_spread():
    def build():
        model = _classifier(seed=None)  # nn.manual_seed decides the initial weights
        model.compile(loss="bce", optimizer="adam", lr=0.02)
        return model

    study = replicate(build, X, Y, n=3, epochs=3, batch_size=32, seed=10)
    assert study.seeds == [10, 11, 12]
    finals = study.final("loss")
    spread = study.spread("loss")
    assert spread["min"] == finals.min() and spread["max"] == finals.max()
    assert spread["mean"] == pytest.approx(finals.mean()) and spread["std"] > 0
    again = replicate(build, X, Y, n=3, epochs=3, batch_size=32, seed=10)
    assert np.array_equal(again.final("loss"), finals)


def test_clear_errors():
    model = _classifier()
    with pytest.raises(RuntimeError, match="not compiled yet.*model.compile"):
        model.fit(X, Y)
    with pytest.raises(ValueError, match="unknown loss 'crossentropy'; choose one of mse"):
        model.compile(loss="crossentropy")
    with pytest.raises(ValueError, match="unknown optimizer 'adadelta'; choose one of gd"):
        model.compile(optimizer="adadelta")
    with pytest.raises(ValueError, match="unknown metric 'f1'"):
        model.compile(metrics=["f1"])
    model.compile(loss="bce", optimizer="sgd")
    with pytest.raises(ValueError, match="X has 200 rows but y has 150"):
        model.fit(X, Y[:150])
    with pytest.raises(ValueError, match="expected inputs with 2 features"):
        model.fit(np.ones((10, 3)), np.ones(10), verbose=0)
    with pytest.raises(ValueError, match="validation_split must be in"):
        model.fit(X, Y, validation_split=1.5)


def test_compile_takes_keras_learning_rate_as_well_as_lr():
    """compile(learning_rate=...) is Keras's spelling of lr=; it reaches the optimizer."""
    by_keras, by_torch = _classifier(), _classifier()
    by_keras.compile(loss="bce", optimizer="sgd", learning_rate=0.25)
    by_torch.compile(loss="bce", optimizer="sgd", lr=0.25)
    assert by_keras._compiled.optimizer.lr == by_torch._compiled.optimizer.lr == 0.25
    first = by_keras.fit(X, Y, epochs=2, verbose=0, seed=3).history["loss"]
    second = by_torch.fit(X, Y, epochs=2, verbose=0, seed=3).history["loss"]
    assert first == second


def test_compile_with_both_lr_and_learning_rate_says_to_give_one():
    model = _classifier()
    with pytest.raises(TypeError, match=r"^compile: give the learning rate once, as lr= or as "
                                        r"learning_rate="):
        model.compile(loss="bce", optimizer="sgd", lr=0.1, learning_rate=0.1)
    with pytest.raises(ValueError, match="apply only to an optimizer given by name"):
        model.compile(loss="bce", optimizer=optim.SGD(model, lr=0.1), learning_rate=0.1)


def test_fit_verbose_auto_is_a_progress_bar_as_in_keras(capsys):
    model = _classifier()
    model.compile(loss="bce", optimizer="adam")
    model.fit(X, Y, epochs=1, verbose="auto")
    assert re.search(r"Epoch 1/1  loss \d\.\d{4}", capsys.readouterr().out)


@pytest.mark.parametrize("verbose", [3, -1, "silent", None, 1.5])
def test_fit_with_a_bad_verbose_says_which_values_work(verbose):
    model = _classifier()
    model.compile(loss="bce", optimizer="adam")
    with pytest.raises(ValueError, match=r'^fit: verbose must be 0 \(silent\), 1 .* or "auto"'):
        model.fit(X, Y, epochs=1, verbose=verbose)
