"""Tests for nn.classic: each classic network learns (or fails) as the course says."""

import numpy as np
import pytest

from chaingrad.nn import classic, data


def _bits(X):
    return [tuple(int(v) for v in row) for row in X]


# -------------------------------------------------------------- McCulloch–Pitts


@pytest.mark.parametrize("neuron, rule", [
    (classic.AND, lambda a, b: a & b),
    (classic.OR, lambda a, b: a | b),
    (classic.NAND, lambda a, b: 1 - (a & b)),
])
def test_mcculloch_pitts_two_input_gates(neuron, rule):
    X, y = neuron.truth_table()
    assert _bits(X) == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert y.tolist() == [rule(a, b) for a, b in _bits(X)]


def test_mcculloch_pitts_not_and_three_input_gates():
    X, y = classic.NOT.truth_table()
    assert _bits(X) == [(0,), (1,)] and y.tolist() == [1, 0]
    majority = classic.McCullochPitts([1, 1, 1], threshold=2)
    X, y = majority.truth_table()
    assert len(X) == 8 and y.tolist() == [int(sum(row) >= 2) for row in _bits(X)]
    # an inhibitory input (negative weight) vetoes the others
    veto = classic.McCullochPitts([1, 1, -2], threshold=1)
    assert veto([[1, 1, 1], [1, 0, 0], [0, 1, 1]]).tolist() == [0, 1, 0]


def test_xor_needs_two_layers_of_threshold_units():
    X, y = data.xor()
    assert np.array_equal(classic.xor_network(X), y)


def test_mcculloch_pitts_rejects_wrong_input_width():
    with pytest.raises(ValueError, match=r"McCullochPitts.predict: .* shape \(n, 2\)"):
        classic.AND.predict(np.zeros((4, 3)))


# ------------------------------------------------------------------- Perceptron


def test_perceptron_rule_by_hand():
    p = classic.Perceptron(2, lr=0.5)
    # w = 0, b = 0: net 0 -> output Θ(0) = 1, target 0: w += 0.5*(0-1)*x, b += 0.5*(0-1)
    assert p.fit([[1.0, 2.0]], [0]) == [1, 0]
    w, b = p.decision_boundary()
    assert w.tolist() == [-0.5, -1.0] and b == -0.5


@pytest.mark.parametrize("gate", [data.and_gate, data.or_gate, data.nand])
def test_perceptron_learns_separable_gates(gate):
    X, y = gate()
    p = classic.Perceptron(2)
    history = p.fit(X, y, epochs=100)
    assert history[-1] == 0 and np.array_equal(p.predict(X), y)
    assert p.explain().startswith("Converged")


@pytest.mark.parametrize("shuffle, init", [(False, "zeros"), (True, "random")])
def test_perceptron_converges_on_separable_blobs(shuffle, init):
    X, y = data.blobs(200, centers=[[-2.0, 1.0], [2.0, -1.0]], std=0.6, seed=1)
    assert classic.linearly_separable(X[:100], y[:100])
    p = classic.Perceptron(2, lr=0.1, init=init, seed=0)
    history = p.fit(X, y, epochs=200, shuffle=shuffle)
    assert history[-1] == 0 and len(history) < 200
    assert np.array_equal(p.predict(X), y)


def test_perceptron_mistakes_obey_novikoff_bound():
    # labelled by a known unit vector u (bias folded in as a constant input 1), margin >= 0.1
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(400, 2))
    augmented = np.column_stack([X, np.ones(len(X))])
    u = np.array([1.0, -2.0, 0.3])
    u /= np.linalg.norm(u)
    keep = np.abs(augmented @ u) >= 0.1
    X, augmented = X[keep], augmented[keep]
    y = (augmented @ u > 0).astype(int)
    radius, margin = np.linalg.norm(augmented, axis=1).max(), np.abs(augmented @ u).min()
    history = classic.Perceptron(2).fit(X, y, epochs=1000)
    assert history[-1] == 0
    assert sum(history) <= (radius / margin) ** 2


def test_perceptron_fails_on_xor_and_says_why():
    X, y = data.xor()
    p = classic.Perceptron(2)
    history = p.fit(X, y, epochs=100)
    assert len(history) == 100 and min(history) > 0
    assert np.sum(p.predict(X) != y) >= 1
    reason = p.explain()
    assert "Not converged" in reason and "cycle" in reason
    assert "No line separates the classes" in reason and "(0.5, 0.5)" in reason


def test_perceptron_bad_arguments():
    p = classic.Perceptron(2)
    with pytest.raises(ValueError, match="labels must be 0 or 1"):
        p.fit([[0, 0], [1, 1]], [-1, 1])
    with pytest.raises(ValueError, match="expected 2 targets"):
        p.fit([[0, 0], [1, 1]], [0, 1, 1])
    with pytest.raises(ValueError, match="epochs must be a positive integer"):
        p.fit([[0, 0], [1, 1]], [0, 1], epochs=0)
    with pytest.raises(ValueError, match="init"):
        classic.Perceptron(2, init="ones")
    assert "not been trained" in p.explain()


# ------------------------------------------------------------ linear separability


def test_why_not_separable_finds_the_reason():
    X, y = data.xor()
    assert "meet at (0.5, 0.5)" in classic.why_not_separable(X, y)
    triangle = np.array([[0, 0], [4, 0], [2, 3], [2, 1.0]])
    reason = classic.why_not_separable(triangle, [0, 0, 0, 1])
    assert "point (2, 1) lies inside the triangle" in reason
    same_point = classic.why_not_separable([[1, 1], [1, 1], [5, 5]], [0, 1, 1])
    assert same_point is not None
    X, y = data.and_gate()
    assert classic.why_not_separable(X, y) is None and classic.linearly_separable(X, y)
    X, y = data.circles(40, noise=0.0, seed=0)
    assert not classic.linearly_separable(X, y)


def test_why_not_separable_rejects_bad_input():
    with pytest.raises(ValueError, match="exactly two classes"):
        classic.why_not_separable(np.zeros((3, 2)), [0, 1, 2])
    with pytest.raises(ValueError, match="max_points"):
        classic.why_not_separable(*data.blobs(120, centers=2, seed=0))


# ----------------------------------------------------------------------- ADALINE


def _regression_problem():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    t = X @ np.array([1.5, -2.0, 0.5]) + 0.3 + rng.normal(0, 0.3, size=200)
    design = np.column_stack([X, np.ones(len(X))])
    solution = np.linalg.lstsq(design, t, rcond=None)[0]
    return X, t, solution


def test_adaline_delta_rule_by_hand():
    a = classic.Adaline(1, lr=0.1)
    a.fit([[2.0]], [1.0], epochs=1)  # o = 0, error 1: w += 0.1*1*2, b += 0.1*1
    assert a.weights.tolist() == pytest.approx([0.2]) and a.bias == pytest.approx(0.1)
    batch = classic.Adaline(1, lr=0.1)
    batch.fit([[1.0], [3.0]], [1.0, 0.0], epochs=1, mode="batch")
    # errors (1, 0): w += 0.1 * mean(1*1, 0*3), b += 0.1 * mean(1, 0)
    assert batch.weights.tolist() == pytest.approx([0.05]) and batch.bias == pytest.approx(0.05)


def test_adaline_batch_reaches_least_squares():
    X, t, solution = _regression_problem()
    a = classic.Adaline(3, lr=0.2)
    history = a.fit(X, t, epochs=300, mode="batch")
    assert np.allclose(np.r_[a.weights, a.bias], solution, atol=1e-8)
    assert all(later <= earlier + 1e-12 for earlier, later in zip(history, history[1:]))


def test_adaline_online_lms_gets_close_to_least_squares():
    X, t, solution = _regression_problem()
    a = classic.Adaline(3, lr=0.01, seed=0)
    history = a.fit(X, t[:, None], epochs=50, mode="online")
    assert np.allclose(np.r_[a.weights, a.bias], solution, atol=0.05)
    best = np.mean((np.column_stack([X, np.ones(len(X))]) @ solution - t) ** 2)
    assert history[-1] < 1.05 * best


def test_adaline_classifies_plus_minus_one():
    X, y = data.blobs(200, centers=[[-2.0, 0.0], [2.0, 0.5]], std=0.6, seed=2)
    targets = 2 * y - 1
    a = classic.Adaline(2, lr=0.05, seed=0)
    a.fit(X, targets, epochs=20)
    assert np.mean(a.classify(X) == targets) > 0.98
    with pytest.raises(ValueError, match="mode"):
        a.fit(X, targets, mode="minibatch")


# ---------------------------------------------------------------------- Hebbian


def test_plain_hebb_stores_orthogonal_associations_exactly():
    hadamard = np.array([[1]])
    for _ in range(3):
        hadamard = np.block([[hadamard, hadamard], [hadamard, -hadamard]])
    A = hadamard[1:5]  # four orthogonal ±1 patterns of length 8
    B = np.random.default_rng(0).choice([-1, 1], size=(4, 3))
    net = classic.Hebbian(8, 3, lr=1 / 8)
    net.fit(A, B, rule="hebb")
    assert np.allclose(A @ net.weights.T, B)  # W a^p = b^p: no crosstalk
    assert np.array_equal(net.predict(A), B)


def test_course_rule_fixes_what_plain_hebb_gets_wrong():
    rng = np.random.default_rng(0)
    A = np.where(rng.random((8, 12)) < 0.8, 1, -1)  # correlated inputs
    B = rng.choice([-1, 1], size=(8, 4))
    assert np.linalg.matrix_rank(A) == 8  # independent, so each output is learnable
    hebb = classic.Hebbian(12, 4, lr=1 / 12)
    hebb.fit(A, B, rule="hebb")
    assert np.sum(hebb.predict(A) != B) > 0  # crosstalk between the patterns
    course = classic.Hebbian(12, 4, lr=0.1)
    history = course.fit(A, B, epochs=100, rule="course")
    assert history[-1] == 0 and np.array_equal(course.predict(A), B)


def test_course_rule_changes_only_wrong_output_units():
    net = classic.Hebbian(3, 2, lr=0.5)
    net.weights = np.array([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    a = np.array([1.0, -1.0, 1.0])
    # both units output sgn(1) = 1; unit 0 should be 1 (right), unit 1 should be -1 (wrong)
    change = net.update(a, [1, -1], rule="course")
    assert np.array_equal(change[0], np.zeros(3))
    assert np.allclose(change[1], 0.5 * (-1 - 1) * a)
    assert np.array_equal(net.predict(a)[0], [1, -1])


def test_course_rule_with_threshold_learns_and_but_not_xor():
    X, y = data.and_gate()
    net = classic.Hebbian(2, 1, lr=0.5, activation="step", bias=True)
    assert net.fit(X, y, epochs=50)[-1] == 0
    X, y = data.xor()
    net = classic.Hebbian(2, 1, lr=0.5, activation="step", bias=True)
    assert min(net.fit(X, y, epochs=50)) > 0


def test_hebbian_bad_arguments():
    net = classic.Hebbian(2, 1)
    with pytest.raises(ValueError, match="rule"):
        net.update([1, 1], [1], rule="oja")
    with pytest.raises(ValueError, match=r"targets of shape \(4, 1\)"):
        net.fit(np.ones((4, 2)), np.ones((4, 2)))
    with pytest.raises(ValueError, match="activation"):
        classic.Hebbian(2, 1, activation="tanh")


# ---------------------------------------------------------------------- Hopfield


def _memory(n_patterns=3, n_units=100, seed=1):
    patterns = np.random.default_rng(seed).choice([-1, 1], size=(n_patterns, n_units))
    return classic.Hopfield(n_units).store(patterns), patterns


def _flip(pattern, fraction, seed):
    rng = np.random.default_rng(seed)
    noisy = pattern.copy()
    flip = rng.choice(len(pattern), size=int(fraction * len(pattern)), replace=False)
    noisy[flip] *= -1
    return noisy


def test_hopfield_weights_symmetric_zero_diagonal_and_patterns_stable():
    net, patterns = _memory()
    assert np.array_equal(net.weights, net.weights.T) and np.all(np.diag(net.weights) == 0)
    for p in patterns:
        assert np.array_equal(net.recall(p, seed=0), p)
        assert np.array_equal(net.recall(-p, seed=0), -p)  # the mirror image is stored too


@pytest.mark.parametrize("fraction", [0.10, 0.15])
def test_hopfield_recalls_from_noisy_patterns(fraction):
    net, patterns = _memory()
    for k, p in enumerate(patterns):
        for trial in range(3):
            noisy = _flip(p, fraction, seed=10 * k + trial)
            assert np.array_equal(net.recall(noisy, seed=trial), p)
    noisy = np.stack([_flip(p, fraction, seed=99) for p in patterns])
    assert np.array_equal(net.predict(noisy, seed=0), patterns)


def test_hopfield_energy_never_increases():
    net, patterns = _memory(n_patterns=5)
    start = _flip(patterns[0], 0.3, seed=4)
    energies = [net.energy(start)]
    changes = 0
    for _unit, state, energy in net.steps(start, seed=0):
        assert energy == pytest.approx(net.energy(state))
        assert energy <= energies[-1] + 1e-12
        changes += energy < energies[-1] - 1e-12
        energies.append(energy)
    assert changes > 0 and energies[-1] < energies[0]


def test_hopfield_forgets_beyond_capacity():
    net, patterns = _memory(n_patterns=40)  # 0.4 N, far above 0.138 N
    stable = [np.array_equal(net.recall(p, seed=0), p) for p in patterns]
    assert np.mean(stable) < 0.5 and net.capacity == pytest.approx(13.8)


def test_hopfield_rejects_non_binary_states():
    with pytest.raises(ValueError, match="only -1 and \\+1"):
        classic.Hopfield(3).store([[1, 0, -1]])
    with pytest.raises(ValueError, match=r"shape \(n, 3\)"):
        classic.Hopfield(3).recall([1, -1])


# ---------------------------------------------------------- competitive learning


def _purity(clusters, labels):
    return sum(np.bincount(labels[clusters == k]).max() for k in np.unique(clusters)) / len(labels)


def test_winner_takes_all_clusters_blobs_without_labels():
    centers = np.array([[-3.0, 0.0], [3.0, 0.0], [0.0, 4.0]])
    X, y = data.blobs(300, centers=centers, std=0.6, seed=0)
    layer = classic.CompetitiveLayer(3, 2, lr=0.05, seed=0)
    layer.fit(X, epochs=10)
    assert _purity(layer.predict(X), y) > 0.95
    nearest = np.linalg.norm(centers[:, None] - layer.weights[None], axis=2).min(axis=1)
    assert np.all(nearest < 0.4)


def test_only_the_winner_moves():
    layer = classic.CompetitiveLayer(2, 2, lr=0.25, seed=0)
    layer.weights = np.array([[0.0, 0.0], [10.0, 10.0]])
    layer.fit([[2.0, 4.0], [2.0, 4.0]], epochs=1)
    # the first prototype wins twice: 0 -> 0.25*x -> 0.25*x + 0.25*(x - 0.25*x)
    assert np.allclose(layer.weights[0], (1 - 0.75**2) * np.array([2.0, 4.0]))
    assert np.array_equal(layer.weights[1], [10.0, 10.0])


def test_competitive_layer_errors():
    layer = classic.CompetitiveLayer(3, 2)
    with pytest.raises(RuntimeError, match="fit"):
        layer.predict([[0.0, 0.0]])
    with pytest.raises(ValueError, match="at least 3 samples"):
        layer.fit([[0.0, 0.0], [1.0, 1.0]])


def test_kohonen_line_orders_itself_on_an_interval():
    x = np.random.default_rng(0).uniform(0, 1, size=(300, 1))
    som = classic.Kohonen(10, 1, seed=0)
    history = som.fit(x, epochs=10)
    steps = np.diff(som.weights[:, 0])
    assert np.all(steps > 0) or np.all(steps < 0)  # neighbours on the line are neighbours in x
    assert history[-1] < 0.5 * history[0]
    assert som.weights.min() < 0.15 and som.weights.max() > 0.85


def test_kohonen_grid_keeps_neighbours_close():
    X = np.random.default_rng(1).uniform(0, 1, size=(400, 2))
    som = classic.Kohonen((5, 5), 2, seed=0)
    som.fit(X, epochs=10)
    grid = som.weights.reshape(5, 5, 2)
    adjacent = np.concatenate([np.linalg.norm(np.diff(grid, axis=0), axis=2).ravel(),
                               np.linalg.norm(np.diff(grid, axis=1), axis=2).ravel()])
    all_pairs = np.linalg.norm(som.weights[:, None] - som.weights[None], axis=2)
    assert adjacent.mean() < 0.5 * all_pairs[np.triu_indices(25, 1)].mean()
    assert som.predict(X).max() < 25 and len(np.unique(som.predict(X))) >= 20
    with pytest.raises(ValueError, match="shape"):
        classic.Kohonen((2, 2, 2), 2)
