"""Tests for nn.data: generators, splitting, batching, standardization, digits."""

import numpy as np
import pytest

from chaingrad.nn import data

CLASSIFIERS = [data.moons, data.circles, data.spirals, data.blobs]


# ------------------------------------------------------------------- generators


@pytest.mark.parametrize("make", CLASSIFIERS)
def test_classification_shapes_dtypes_and_balance(make):
    X, y = make(n=101, seed=0)
    assert X.shape == (101, 2) and X.dtype == np.float64
    assert y.shape == (101,) and y.dtype == np.int64
    counts = np.bincount(y)
    assert counts.max() - counts.min() <= 1


@pytest.mark.parametrize("make", CLASSIFIERS + [data.linear_regression, data.curve])
def test_same_seed_same_data_other_seed_other_data(make):
    X1, y1 = make(n=50, seed=3)
    X2, y2 = make(n=50, seed=3)
    X3, _ = make(n=50, seed=4)
    assert np.array_equal(X1, X2) and np.array_equal(y1, y2)
    assert not np.array_equal(X1, X3)


@pytest.mark.parametrize("make", CLASSIFIERS + [data.linear_regression, data.curve, data.xor])
@pytest.mark.parametrize("n", [0, -5])
def test_bad_n_is_a_clear_error(make, n):
    with pytest.raises(ValueError, match=f"{make.__name__}: n must be at least"):
        make(n=n)


@pytest.mark.parametrize("make", [data.moons, data.circles, data.curve, data.and_gate])
def test_negative_noise_is_an_error(make):
    with pytest.raises(ValueError, match="noise must be"):
        make(n=10, noise=-0.1)


@pytest.mark.parametrize("gate, rule", [
    (data.and_gate, lambda a, b: a & b),
    (data.or_gate, lambda a, b: a | b),
    (data.xor, lambda a, b: a ^ b),
    (data.nand, lambda a, b: 1 - (a & b)),
])
def test_logic_gates_match_python_operators(gate, rule):
    X, y = gate()
    assert X.shape == (4, 2) and y.dtype == np.int64
    assert [tuple(row) for row in X.astype(int)] == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert list(y) == [rule(int(a), int(b)) for a, b in X]


def test_noisy_logic_keeps_labels_near_their_corner():
    X, y = data.logic("xor", n=400, noise=0.1, seed=0)
    corners = np.rint(X).clip(0, 1).astype(int)
    agree = np.mean(y == (corners[:, 0] ^ corners[:, 1]))
    assert agree > 0.99 and np.bincount(y).tolist() == [200, 200]
    assert 0.08 < np.std(X - np.array([[0, 0], [0, 1], [1, 0], [1, 1]])[np.arange(400) % 4]) < 0.12
    with pytest.raises(ValueError, match="unknown gate"):
        data.logic("implies")


def test_noiseless_moons_lie_on_their_arcs():
    X, y = data.moons(200, noise=0.0, seed=1)
    upper, lower = X[y == 0], X[y == 1]
    assert np.allclose(np.hypot(*upper.T), 1.0) and np.all(upper[:, 1] >= 0)
    assert np.allclose(np.hypot(lower[:, 0] - 1, lower[:, 1] - 0.5), 1.0)
    assert np.all(lower[:, 1] <= 0.5)


def test_noiseless_circles_have_two_radii():
    X, y = data.circles(200, noise=0.0, factor=0.3, seed=1)
    radius = np.hypot(*X.T)
    assert np.allclose(radius[y == 0], 1.0) and np.allclose(radius[y == 1], 0.3)
    with pytest.raises(ValueError, match="factor"):
        data.circles(10, factor=1.5)


def test_noiseless_spiral_points_sit_on_their_arm():
    arms, turns = 3, 1.25
    X, y = data.spirals(300, arms=arms, noise=0.0, turns=turns, seed=2)
    r = np.hypot(*X.T)
    expected = 2 * np.pi * (turns * r + y / arms)
    # same direction as the arm's angle at this radius
    assert np.allclose(X[:, 0], r * np.cos(expected)) and np.allclose(X[:, 1], r * np.sin(expected))
    assert set(np.unique(y)) == {0, 1, 2}


def test_blobs_gather_around_their_centers():
    centers = [[-4.0, 0.0], [4.0, 1.0]]
    X, y = data.blobs(2000, centers=centers, std=0.5, seed=0)
    for k, c in enumerate(centers):
        assert np.allclose(X[y == k].mean(axis=0), c, atol=0.1)
        assert np.allclose(X[y == k].std(axis=0), 0.5, atol=0.05)
    X4, y4 = data.blobs(400, centers=4, noise=0.2, seed=0)
    assert set(np.unique(y4)) == {0, 1, 2, 3} and np.all(np.abs(X4) < 4.5)
    with pytest.raises(ValueError, match="shape"):
        data.blobs(10, centers=[1.0, 2.0, 3.0])


def test_linear_regression_recovers_slope_intercept_and_noise():
    X, y = data.linear_regression(2000, a=-1.5, b=0.7, noise=0.2, seed=0)
    assert X.shape == (2000, 1) and y.shape == (2000, 1) and np.all(np.diff(X[:, 0]) >= 0)
    design = np.column_stack([X[:, 0], np.ones(len(X))])
    (a, b), *_ = np.linalg.lstsq(design, y[:, 0], rcond=None)
    assert abs(a + 1.5) < 0.03 and abs(b - 0.7) < 0.02
    assert abs(np.std(y[:, 0] - design @ [a, b]) - 0.2) < 0.02


def test_curve_without_noise_is_the_function():
    X, y = data.curve(50, "sin", noise=0.0, seed=0)
    assert np.allclose(y[:, 0], np.sin(X[:, 0])) and X.min() >= -np.pi and X.max() <= np.pi
    X, y = data.curve(50, lambda x: 1 / (1 + x**2), noise=0.0, low=0, high=2, seed=0)
    assert np.allclose(y[:, 0], 1 / (1 + X[:, 0] ** 2))
    with pytest.raises(ValueError, match="unknown curve"):
        data.curve(10, "tan")
    with pytest.raises(ValueError, match="low < high"):
        data.curve(10, low=1, high=1)


# ----------------------------------------------------------------------- splits


def test_split_partitions_rows_and_keeps_pairs():
    X = np.arange(200).reshape(100, 2).astype(float)
    y = np.arange(100)
    parts = data.train_val_test_split(X, y, seed=0)
    assert [len(p[1]) for p in parts] == [80, 10, 10]
    for Xp, yp in parts:
        assert np.array_equal(Xp[:, 0], 2 * yp)  # rows still paired with their labels
    assert sorted(np.concatenate([p[1] for p in parts])) == list(range(100))
    assert not np.array_equal(parts[0][1], np.arange(80))  # shuffled


def test_split_reproducible_unshuffled_and_two_way():
    X, y = data.moons(57, seed=0)
    a = data.train_val_test_split(X, y, seed=5)
    b = data.train_val_test_split(X, y, seed=5)
    assert all(np.array_equal(p[0], q[0]) for p, q in zip(a, b))
    (_, y_tr), (_, y_te) = data.train_val_test_split(X, y, (0.7, 0.3), shuffle=False)
    assert np.array_equal(np.concatenate([y_tr, y_te]), y) and len(y_tr) == 40


@pytest.mark.parametrize("fractions", [(0.8, 0.1), (0.5, 0.6, -0.1), (1.0,), (0.7, 0.2, 0.2)])
def test_split_rejects_bad_fractions(fractions):
    X, y = data.blobs(20, seed=0)
    with pytest.raises(ValueError, match="train_val_test_split: fractions"):
        data.train_val_test_split(X, y, fractions)


def test_split_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="10 rows but y has 9"):
        data.train_val_test_split(np.zeros((10, 2)), np.zeros(9))


def test_batches_cover_every_row_once():
    X = np.arange(23.0)[:, None]
    y = np.arange(23)
    got = list(data.batches(X, y, batch_size=5, seed=0))
    assert [len(b[1]) for b in got] == [5, 5, 5, 5, 3]
    seen = np.concatenate([b[1] for b in got])
    assert sorted(seen) == list(range(23)) and not np.array_equal(seen, y)
    assert all(np.array_equal(bx[:, 0], by) for bx, by in got)
    in_order = np.concatenate(list(data.batches(X, batch_size=4, shuffle=False)))
    assert np.array_equal(in_order, X)
    assert [len(b) for b in data.batches(X, batch_size=10, drop_last=True)] == [10, 10]


def test_batches_follow_the_seeds_permutation_in_order():
    X = np.arange(23.0)[:, None]
    y = np.arange(23) * 10
    order = np.random.default_rng(5).permutation(23)
    got = list(data.batches(X, y, batch_size=5, seed=5))
    for k, (bx, by) in enumerate(got):
        rows = order[5 * k:5 * k + 5]
        assert np.array_equal(bx, X[rows]) and np.array_equal(by, y[rows])


@pytest.mark.parametrize("shuffle", [True, False])
def test_a_batch_changed_in_place_leaves_the_data_alone(shuffle):
    X, y = np.arange(12.0).reshape(6, 2), np.arange(6.0)
    for bx, by in data.batches(X, y, batch_size=4, shuffle=shuffle, seed=0):
        bx *= -1
        by += 100
    assert np.array_equal(X, np.arange(12.0).reshape(6, 2)) and np.array_equal(y, np.arange(6.0))


def test_batches_with_one_generator_differ_each_epoch():
    rng = np.random.default_rng(0)
    y = np.arange(10)
    first = np.concatenate([b for _, b in data.batches(y, y, 3, seed=rng)])
    second = np.concatenate([b for _, b in data.batches(y, y, 3, seed=rng)])
    assert not np.array_equal(first, second)


@pytest.mark.parametrize("size, error", [(0, ValueError), (-2, ValueError), (2.5, TypeError)])
def test_batches_rejects_bad_batch_size(size, error):
    with pytest.raises(error, match="batches: batch_size"):
        next(data.batches(np.zeros((4, 2)), batch_size=size))


# ---------------------------------------------------------------- preprocessing


def test_standardizer_uses_training_statistics():
    rng = np.random.default_rng(0)
    train = rng.normal([3.0, -2.0], [2.0, 0.5], size=(500, 2))
    test = rng.normal([4.0, -2.0], [2.0, 0.5], size=(100, 2))
    scaler, train_s, test_s = data.standardize(train, test)
    assert np.allclose(train_s.mean(axis=0), 0) and np.allclose(train_s.std(axis=0), 1)
    # the test set is shifted with the *training* mean, so its own mean is not zero
    assert train_s.mean(axis=0)[0] != pytest.approx(test_s.mean(axis=0)[0], abs=0.2)
    assert np.allclose(scaler.inverse_transform(test_s), test)


def test_standardizer_constant_column_and_errors():
    X = np.column_stack([np.full(5, 7.0), np.arange(5.0)])
    Z = data.Standardizer().fit_transform(X)
    assert np.all(Z[:, 0] == 0) and np.all(np.isfinite(Z))
    with pytest.raises(RuntimeError, match="fit"):
        data.Standardizer().transform(X)
    with pytest.raises(ValueError, match="shape"):
        data.Standardizer().fit(X).transform(np.zeros((3, 3)))


def test_one_hot_round_trips_and_rejects_bad_labels():
    labels = np.array([2, 0, 1, 2, 4])
    encoded = data.one_hot(labels)
    assert encoded.shape == (5, 5) and encoded.dtype == np.float64
    assert np.array_equal(encoded.argmax(axis=1), labels) and np.all(encoded.sum(axis=1) == 1)
    assert data.one_hot([1, 0], n_classes=3).shape == (2, 3)
    with pytest.raises(ValueError, match="0..2"):
        data.one_hot([0, 3], n_classes=3)
    with pytest.raises(ValueError, match="whole numbers"):
        data.one_hot([0.5, 1.0])


# ----------------------------------------------------------------------- digits


def test_digits_counts_and_fixed_stratified_split():
    images, labels = data.digits("all", normalize=False)
    assert images.shape == (1797, 8, 8) and labels.dtype == np.int64
    # class counts of the UCI optical-digits test set, as published
    assert np.bincount(labels).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    assert images.min() == 0 and images.max() == 16 and np.all(images == np.round(images))
    _, y_tr = data.digits("train")
    _, y_te = data.digits("test")
    assert (len(y_tr), len(y_te)) == (1438, 359)
    fraction = np.bincount(y_te) / np.bincount(labels)
    assert np.all((fraction > 0.19) & (fraction < 0.21))


def test_digits_split_is_disjoint_and_complete():
    raw = data._load_digits_file()
    train, test = raw["train_idx"].astype(int), raw["test_idx"].astype(int)
    assert len(np.intersect1d(train, test)) == 0
    assert np.array_equal(np.union1d(train, test), np.arange(1797))


def test_digits_normalized_flattened_and_learnable():
    X_tr, y_tr = data.digits("train", flatten=True)
    X_te, y_te = data.digits("test", flatten=True)
    assert X_tr.shape == (1438, 64) and X_tr.dtype == np.float64
    assert X_tr.min() == 0.0 and X_tr.max() == 1.0
    # nearest class mean: images and labels must line up for this to beat 85%
    means = np.stack([X_tr[y_tr == c].mean(axis=0) for c in range(10)])
    predicted = np.argmin(((X_te[:, None, :] - means) ** 2).sum(axis=2), axis=1)
    assert np.mean(predicted == y_te) > 0.85
    with pytest.raises(ValueError, match="split"):
        data.digits("validation")


def test_digits_returns_copies():
    images, _ = data.digits("all")
    images[:] = -1
    assert data.digits("all")[0].min() == 0.0
