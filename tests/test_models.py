"""The ready-made models and the digits comparison: they learn what they should.

Short, seeded runs with loose bounds that an untrained or broken model fails (chance is
90% error on ten digits); the full-length figures come from ``python -m chaingrad.nn.compare``.
"""

import numpy as np
import pytest

from chaingrad import nn
from chaingrad.autograd import Tensor
from chaingrad.nn import compare
from chaingrad.nn.compare import error_rate, knn_predict, train
from chaingrad.nn.layers import Flatten, Sequential
from chaingrad.nn.models import Autoencoder, DigitsCNN, LinearClassifier, SequenceModel
from chaingrad.nn.recurrent import GRU, LSTM


@pytest.fixture(scope="module")
def digits():
    X, y = nn.data.digits("train")
    X_test, y_test = nn.data.digits("test")
    return X, y, X_test, y_test


def test_linear_classifier_learns_digits(digits):
    X, y, X_test, y_test = digits
    model = LinearClassifier(64, 10, seed=0)
    assert model.num_parameters() == 650
    assert error_rate(model, X_test, y_test) > 0.6  # untrained: near chance
    train(model, X, y, epochs=5, lr=0.02, seed=0)
    assert error_rate(model, X_test, y_test) < 0.12


def test_mlp_learns_digits(digits):
    X, y, X_test, y_test = digits
    model = Sequential(Flatten(), nn.MLP(64, [64, 10], "relu", seed=0))
    train(model, X, y, epochs=8, lr=0.01, seed=0)
    assert error_rate(model, X_test, y_test) < 0.08


def test_cnn_learns_digits(digits):
    X, y, X_test, y_test = digits
    model = DigitsCNN(channels=(16, 32), hidden=64, seed=0)  # narrower than the default: quick
    assert model.predict(X_test[:3]).shape == (3, 10)
    assert model.predict(X_test[:3].reshape(3, 64)).shape == (3, 10)  # flat rows work too
    train(model, X, y, epochs=3, lr=0.005, seed=0)
    assert error_rate(model, X_test, y_test) < 0.08


def test_cnn_layers_and_sizes():
    model = DigitsCNN(channels=(4, 6), hidden=16, seed=0)
    convs = [layer for layer in model if isinstance(layer, nn.conv.Conv2d)]
    assert [c.weight.shape for c in convs] == [(4, 1, 3, 3), (6, 4, 3, 3)]
    # 4*9+4 + 6*4*9+6 + (6*2*2)*16+16 + 16*10+10
    assert model.num_parameters() == 40 + 222 + 400 + 170
    out = model(Tensor(np.zeros((2, 8, 8))))
    assert out.shape == (2, 10)


def test_autoencoder_compresses_and_reconstructs_digits():
    X, _ = nn.data.digits("train", flatten=True)
    X_test, _ = nn.data.digits("test", flatten=True)
    model = Autoencoder(64, code=8, hidden=32, seed=0)
    codes = model.encode(Tensor(X_test[:5]))
    assert codes.shape == (5, 8)
    assert model.decode(codes).shape == (5, 64)
    model.compile(loss="mse", optimizer="adam", lr=0.01)
    model.fit(X, X, epochs=20, batch_size=32, verbose=0, seed=0)
    mean_image = np.mean((X_test - X.mean(axis=0)) ** 2)  # the best guess without a code
    reconstruction = np.mean((model.predict(X_test) - X_test) ** 2)
    assert reconstruction < 0.4 * mean_image, (reconstruction, mean_image)


def test_sequence_model_shapes():
    x = Tensor(np.zeros((3, 5, 2)))
    every_step = SequenceModel(LSTM(2, 4, seed=0), 3, seed=0)
    last_step = SequenceModel(GRU(2, 4, seed=0), 3, last_only=True, seed=0)
    assert every_step(x).shape == (3, 5, 3)
    assert last_step(x).shape == (3, 3)
    assert len(every_step.parameters()) == 3 + 2


# ---------------------------------------------------------------- k nearest neighbours


def test_knn_agrees_with_a_plain_loop():
    generator = np.random.default_rng(0)
    X_train = generator.normal(size=(40, 5))
    y_train = generator.integers(0, 4, 40)
    X_test = generator.normal(size=(15, 5))
    for k in (1, 3, 5):
        expected = []
        for row in X_test:  # the definition, one test point at a time
            distances = np.sqrt(((X_train - row) ** 2).sum(axis=1))
            nearest = np.argsort(distances, kind="stable")[:k]
            votes = np.bincount(y_train[nearest], minlength=4)
            tied = np.flatnonzero(votes == votes.max())
            expected.append(y_train[nearest[0]] if y_train[nearest[0]] in tied else tied[0])
        np.testing.assert_array_equal(knn_predict(X_train, y_train, X_test, k), expected)


def test_knn_breaks_a_tie_with_the_nearest_neighbour():
    X_train = np.array([[0.0], [1.0], [3.0], [4.0]])
    y_train = np.array([2, 0, 1, 1])
    # neighbours of 0.4 with k = 2: 0.0 (label 2) and 1.0 (label 0): tie, the nearer wins
    assert knn_predict(X_train, y_train, np.array([[0.4], [0.6]]), k=2).tolist() == [2, 0]
    # k = 3 adds 3.0 (label 1): still one vote each, still the nearest
    assert knn_predict(X_train, y_train, np.array([[0.4]]), k=3).tolist() == [2]
    assert knn_predict(X_train, y_train, np.array([[3.4]]), k=3).tolist() == [1]


def test_knn_on_digits(digits):
    X, y, X_test, y_test = digits
    assert knn_predict(X, y, X, k=1).tolist() == y.tolist()  # each image is its own neighbour
    assert np.mean(knn_predict(X, y, X_test, k=3) != y_test) < 0.04


def test_knn_errors():
    with pytest.raises(ValueError, match="knn_predict: shapes do not fit"):
        knn_predict(np.zeros((4, 2)), np.zeros(4, int), np.zeros((1, 3)))
    with pytest.raises(ValueError, match="knn_predict: k must be from 1 to 4"):
        knn_predict(np.zeros((4, 2)), np.zeros(4, int), np.zeros((1, 2)), k=5)


# ---------------------------------------------------------------- the comparison table


def test_compare_runs_every_model_and_prints_a_table(monkeypatch, capsys):
    results = compare.compare(seed=0, epochs_scale=0.05)  # 1-2 epochs each: a smoke run
    assert [r.model for r in results] == ["linear softmax", "k-NN", "MLP", "CNN"]
    for r in results:
        assert 0.0 <= r.test_error < 0.5 and r.seconds >= 0.0, r
    assert "1 epochs" in results[3].settings  # the settings say how long it really trained

    monkeypatch.setattr(compare, "compare", lambda seed, k, scale: results)
    assert compare.main(["--threads", "0"]) == 0
    printed = capsys.readouterr().out
    for r in results:
        assert r.model in printed and f"{100 * r.test_error:.1f}%" in printed
    assert "10%" in printed and "3%" in printed  # the course's MNIST figures beside ours



def _blas_thread_counts() -> list[int]:
    from threadpoolctl import threadpool_info

    return [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]


def test_the_comparison_puts_the_blas_threads_back(monkeypatch):
    """main() runs the models on fewer BLAS threads, then restores the caller's count."""
    before = _blas_thread_counts()
    if not before:
        pytest.skip("threadpoolctl finds no BLAS in this numpy")
    wanted = 2 if before[0] == 1 else 1  # a count different from the current one
    seen = []
    monkeypatch.setattr(compare, "compare", lambda seed, k, scale: seen.append(
        _blas_thread_counts()) or [])
    assert compare.main(["--threads", str(wanted)]) == 0
    assert seen == [[wanted] * len(before)]  # in force while the models train
    assert _blas_thread_counts() == before  # and put back afterwards
    with compare.blas_threads(0):  # 0 leaves them alone
        assert _blas_thread_counts() == before
