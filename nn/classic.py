"""The classic networks of the course, from before backpropagation, in plain numpy.

* ``McCullochPitts``: a fixed threshold unit (1943); ready-made ``AND``, ``OR``, ``NOT``, ``NAND``.
* ``Perceptron``: Rosenblatt's learning rule (1958); ``why_not_separable`` tells why XOR fails.
* ``Adaline``: Widrow and Hoff's delta rule, least mean squares (1960).
* ``Hebbian``: plain Hebb (1949) and the course's error-correcting variant.
* ``Hopfield``: an autoassociative memory (1982) with an energy that never increases.
* ``CompetitiveLayer`` (winner takes all) and ``Kohonen`` (self-organizing map).

Conventions: inputs ``X`` are float arrays of shape (n, n_inputs), one sample per row;
``step`` is the course's Heaviside Θ (1 if z >= 0 else 0) and ``sign`` its sgn
(-1 if z < 0 else 1). Every model has ``predict``; anything random takes a ``seed``.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import combinations
from typing import Any

import numpy as np

__all__ = [
    "AND",
    "NAND",
    "NOT",
    "OR",
    "Adaline",
    "CompetitiveLayer",
    "Hebbian",
    "Hopfield",
    "Kohonen",
    "McCullochPitts",
    "Perceptron",
    "linearly_separable",
    "sign",
    "step",
    "why_not_separable",
    "xor_network",
]


def step(z: np.ndarray) -> np.ndarray:
    """Heaviside step Θ(z) = 1 if z >= 0 else 0, as int64."""
    return (np.asarray(z) >= 0).astype(np.int64)


def sign(z: np.ndarray) -> np.ndarray:
    """sgn(z) = 1 if z >= 0 else -1 (the course's convention: sgn(0) = 1), as int64."""
    return np.where(np.asarray(z) >= 0, 1, -1).astype(np.int64)


def _inputs(where: str, X, n_inputs: int) -> np.ndarray:
    """X as a float64 (n, n_inputs) array; a single sample (n_inputs,) becomes one row."""
    X = np.asarray(X, dtype=np.float64)
    if X.ndim == 1:
        X = X[None, :]
    if X.ndim != 2 or X.shape[1] != n_inputs:
        raise ValueError(f"{where}: expected inputs of shape (n, {n_inputs}), got {X.shape}")
    return X


def _targets(where: str, y, n: int) -> np.ndarray:
    y = np.asarray(y, dtype=np.float64)
    if y.ndim == 2 and y.shape[1] == 1:  # a column (n, 1), as the regression datasets give
        y = y[:, 0]
    if y.shape != (n,):
        raise ValueError(f"{where}: expected {n} targets of shape ({n},), got {y.shape}")
    return y


def _initial_weights(where: str, init: str, size, seed) -> np.ndarray:
    if init == "zeros":
        return np.zeros(size)
    if init == "random":
        return np.random.default_rng(seed).normal(0.0, 0.1, size=size)
    raise ValueError(f"{where}: init must be 'zeros' or 'random', got {init!r}")


def _check_epochs(where: str, epochs: int) -> None:
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 1:
        raise ValueError(f"{where}: epochs must be a positive integer, got {epochs!r}")


# ------------------------------------------------------------------ McCulloch–Pitts


class McCullochPitts:
    """McCulloch–Pitts neuron (1943): y = Θ(Σ_j w_j x_j − θ), i.e. 1 when Σ w x >= θ.

    The weights and the threshold θ are set by hand; nothing is learned. A positive
    weight is an excitatory synapse, a negative one an inhibitory synapse.
    """

    def __init__(self, weights, threshold: float, name: str | None = None) -> None:
        self.weights = np.atleast_1d(np.asarray(weights, dtype=np.float64))
        if self.weights.ndim != 1:
            raise ValueError(f"McCullochPitts: weights must be 1-D, got {self.weights.shape}")
        self.threshold = float(threshold)
        self.name = name

    @property
    def n_inputs(self) -> int:
        return len(self.weights)

    def predict(self, X) -> np.ndarray:
        """Outputs 0/1 (int64, shape (n,)) for binary inputs X of shape (n, n_inputs)."""
        X = _inputs("McCullochPitts.predict", X, self.n_inputs)
        return step(X @ self.weights - self.threshold)

    __call__ = predict

    def truth_table(self) -> tuple[np.ndarray, np.ndarray]:
        """Every binary input (2**n_inputs rows, in counting order) and the neuron's output."""
        n = self.n_inputs
        X = np.array([[(row >> (n - 1 - j)) & 1 for j in range(n)] for row in range(2**n)],
                     dtype=np.float64)
        return X, self.predict(X)

    def __repr__(self) -> str:
        label = f"{self.name}: " if self.name else ""
        return f"McCullochPitts({label}w={self.weights.tolist()}, θ={self.threshold:g})"


AND = McCullochPitts([1, 1], threshold=2, name="AND")
OR = McCullochPitts([1, 1], threshold=1, name="OR")
NOT = McCullochPitts([-1], threshold=0, name="NOT")
NAND = McCullochPitts([-1, -1], threshold=-1, name="NAND")


def xor_network(X) -> np.ndarray:
    """XOR from two layers of McCulloch–Pitts neurons: XOR(a, b) = AND(OR(a, b), NAND(a, b)).

    One threshold unit cannot compute XOR; a hidden layer of two can.
    """
    X = _inputs("xor_network", X, 2)
    hidden = np.column_stack([OR.predict(X), NAND.predict(X)])
    return AND.predict(hidden)


# ----------------------------------------------------------------------- Perceptron


class Perceptron:
    """Rosenblatt's perceptron (1958): y = Θ(w·x + b), labels 0/1.

    Learning rule, one sample at a time: w ← w + η (t − y) x and b ← b + η (t − y).
    It only changes the weights on a mistake (t − y = ±1). If some line (plane) separates
    the two classes, the rule stops making mistakes after finitely many updates (the
    perceptron convergence theorem); if none does, as for XOR, it never stops.
    The bias b plays the role of −θ (the course's extra input x0 = −1).
    """

    def __init__(self, n_inputs: int, lr: float = 1.0, init: str = "zeros",
                 seed: int | None = None) -> None:
        self.n_inputs = n_inputs
        self.lr = lr
        self.seed = seed
        self.weights = _initial_weights("Perceptron", init, n_inputs, seed)
        self.bias = 0.0
        self.history: list[int] = []  # mistakes per epoch of the last fit
        self._snapshots: list[tuple[np.ndarray, float]] = []
        self._shuffled = False
        self._data: tuple[np.ndarray, np.ndarray] | None = None

    def net(self, X) -> np.ndarray:
        """The weighted sum w·x + b for each row of X."""
        return _inputs("Perceptron.net", X, self.n_inputs) @ self.weights + self.bias

    def predict(self, X) -> np.ndarray:
        """Class 0/1 (int64) for each row of X."""
        return step(self.net(X))

    def fit(self, X, y, epochs: int = 100, shuffle: bool = False) -> list[int]:
        """Apply the rule to every sample, epoch after epoch; return mistakes per epoch.

        Stops after the first epoch without a mistake (then every sample is classified
        right). With ``shuffle`` the samples come in a new random order each epoch.
        Training continues from the current weights; make a new Perceptron to start over.
        """
        X = _inputs("Perceptron.fit", X, self.n_inputs)
        t = _targets("Perceptron.fit", y, len(X))
        if not np.all(np.isin(t, (0, 1))):
            raise ValueError("Perceptron.fit: labels must be 0 or 1 "
                             "(for ±1 labels use (t + 1) // 2)")
        _check_epochs("Perceptron.fit", epochs)
        rng = np.random.default_rng(self.seed)
        self.history, self._snapshots = [], []
        self._shuffled, self._data = shuffle, (X, t)
        for _ in range(epochs):
            mistakes = 0
            order = rng.permutation(len(X)) if shuffle else range(len(X))
            for i in order:
                error = t[i] - step(X[i] @ self.weights + self.bias)
                if error != 0:
                    self.weights = self.weights + self.lr * error * X[i]
                    self.bias += self.lr * error
                    mistakes += 1
            self.history.append(mistakes)
            self._snapshots.append((self.weights.copy(), self.bias))
            if mistakes == 0:
                break
        return self.history

    def decision_boundary(self) -> tuple[np.ndarray, float]:
        """(w, b) of the separating line w·x + b = 0; class 1 lies where w·x + b >= 0."""
        return self.weights.copy(), self.bias

    def explain(self) -> str:
        """A sentence on how the last ``fit`` ended, and why it failed when it did."""
        if not self.history:
            return "The perceptron has not been trained yet: call fit(X, y)."
        epochs = len(self.history)
        if self.history[-1] == 0:
            return (f"Converged after {epochs} epochs: the line w·x + b = 0 with "
                    f"w = {np.round(self.weights, 4).tolist()}, b = {self.bias:.4g} "
                    "puts every sample on its class's side.")
        X, t = self._data
        wrong = int(np.sum(self.predict(X) != t))
        lines = [f"Not converged: after {epochs} epochs {wrong} of {len(X)} samples are "
                 "still misclassified."]
        cycle = self._cycle()
        if cycle is not None:
            first, again = cycle
            lines.append(f"The weights after epoch {again} equal those after epoch {first}: "
                         "the rule is going round a cycle and will repeat the same mistakes "
                         "forever.")
        if self.n_inputs == 2 and len(X) <= 100:
            reason = why_not_separable(X, t)
            if reason is not None:
                lines.append(reason)
        return "\n".join(lines)

    def _cycle(self) -> tuple[int, int] | None:
        """Epochs (i, j), i < j, ending with identical weights; only meaningful in fixed order."""
        if self._shuffled:
            return None
        for j, (w_j, b_j) in enumerate(self._snapshots):
            for i in range(j):
                w_i, b_i = self._snapshots[i]
                if b_i == b_j and np.array_equal(w_i, w_j):
                    return i + 1, j + 1
        return None


# --------------------------------------------------------- linear separability in 2-D


def _cross(o: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """z-component of (a − o) × (b − o): > 0 when o→a→b turns left, 0 when collinear."""
    return ((a[..., 0] - o[..., 0]) * (b[..., 1] - o[..., 1])
            - (a[..., 1] - o[..., 1]) * (b[..., 0] - o[..., 0]))


def _fmt(p: np.ndarray) -> str:
    return "(" + ", ".join(f"{v:.3g}" for v in p) + ")"


def _segments(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both ends of every segment between two points of a set, a point with itself included."""
    i, j = np.triu_indices(len(points))
    return points[i], points[j]


def _crossing_segments(P: np.ndarray, Q: np.ndarray):
    """A segment of P's points that meets a segment of Q's points (ends included), or None."""
    q1, q2 = _segments(Q)
    for p1, p2 in zip(*_segments(P)):
        d1, d2 = _cross(q1, q2, p1), _cross(q1, q2, p2)  # sides of p1, p2 of each Q line
        d3, d4 = _cross(p1, p2, q1), _cross(p1, p2, q2)  # sides of q1, q2 of the P line
        boxes_overlap = np.all((np.maximum(p1, p2) >= np.minimum(q1, q2))
                               & (np.maximum(q1, q2) >= np.minimum(p1, p2)), axis=1)
        meet = (d1 * d2 <= 0) & (d3 * d4 <= 0) & boxes_overlap
        if meet.any():
            k = int(np.argmax(meet))
            return p1, p2, q1[k], q2[k]
    return None


def _point_in_triangle(P: np.ndarray, Q: np.ndarray):
    """A point of P inside a triangle of three of Q's points (edges included), or None."""
    if len(Q) < 3:
        return None
    a, b, c = (Q[list(idx)] for idx in zip(*combinations(range(len(Q)), 3)))
    area = _cross(a, b, c)
    a, b, c, area = (v[None] for v in (a, b, c, area))
    p = P[:, None, :]
    s1, s2, s3 = _cross(a, b, p), _cross(b, c, p), _cross(c, a, p)
    inside = (area != 0) & (((s1 >= 0) & (s2 >= 0) & (s3 >= 0))
                            | ((s1 <= 0) & (s2 <= 0) & (s3 <= 0)))
    if not inside.any():
        return None
    i, k = np.unravel_index(np.argmax(inside), inside.shape)
    return P[i], a[0, k], b[0, k], c[0, k]


def why_not_separable(X, y, max_points: int = 100) -> str | None:
    """Why no straight line separates two classes of 2-D points, or None if one does.

    A line separates the classes exactly when no small group of points forbids it
    (Kirchberger's theorem: in the plane, groups of at most four points suffice):
    either a segment between two points of one class meets a segment between two points
    of the other (XOR's diagonals cross at (0.5, 0.5)), or a point of one class lies in a
    triangle of the other. Any line has a whole segment or triangle on the side of its
    corners, so that shared point would have to be on both sides at once. Exhaustive,
    so only for up to ``max_points`` points.
    """
    X = _inputs("why_not_separable", X, 2)
    y = np.asarray(y).reshape(-1)
    classes = np.unique(y)
    if len(y) != len(X) or len(classes) != 2:
        raise ValueError("why_not_separable: need one label per point and exactly two classes, "
                         f"got {len(y)} labels for {len(X)} points, classes {classes.tolist()}")
    if len(X) > max_points:
        raise ValueError(f"why_not_separable: {len(X)} points is more than max_points="
                         f"{max_points} for the exhaustive check")
    P, Q = X[y == classes[0]], X[y == classes[1]]
    name_p, name_q = (f"class {_fmt_label(c)}" for c in classes)
    found = _crossing_segments(P, Q)
    if found is not None:
        p1, p2, q1, q2 = found
        return (f"No line separates the classes: the {name_p} segment {_fmt(p1)}–{_fmt(p2)} "
                f"and the {name_q} segment {_fmt(q1)}–{_fmt(q2)} meet"
                f"{_meeting_point(p1, p2, q1, q2)}. A line with both ends of a segment on one "
                "side has the whole segment there, so the meeting point would have to be on "
                "both sides at once.")
    for inner, outer, inner_name, outer_name in ((P, Q, name_p, name_q), (Q, P, name_q, name_p)):
        found = _point_in_triangle(inner, outer)
        if found is not None:
            p, a, b, c = found
            return (f"No line separates the classes: the {inner_name} point {_fmt(p)} lies "
                    f"inside the triangle of {outer_name} points {_fmt(a)}, {_fmt(b)}, "
                    f"{_fmt(c)}. A line with the three corners on one side has the whole "
                    "triangle there, that point included.")
    return None


def _fmt_label(label) -> str:
    return str(int(label)) if float(label).is_integer() else str(label)


def _meeting_point(p1, p2, q1, q2) -> str:
    r, s = p2 - p1, q2 - q1
    denominator = r[0] * s[1] - r[1] * s[0]
    if denominator == 0:  # parallel: they overlap or touch along a line
        return ""
    u = ((q1 - p1)[0] * s[1] - (q1 - p1)[1] * s[0]) / denominator
    return f" at {_fmt(p1 + u * r)}"


def linearly_separable(X, y) -> bool:
    """True when some straight line separates the two classes of 2-D points X."""
    return why_not_separable(X, y) is None


# -------------------------------------------------------------------------- ADALINE


class Adaline:
    """ADALINE (Widrow and Hoff, 1960): linear output o = w·x + b, trained by the delta rule.

    Delta (Widrow–Hoff, least mean squares) rule: Δw = η (t − o) x and Δb = η (t − o),
    gradient descent on E = ½ Σ (t − o)². Unlike the perceptron it learns from the size
    of the error, not only from mistakes, and converges (for small enough η) to the
    least-squares solution. For classes ±1, ``classify`` returns sgn(o).
    """

    def __init__(self, n_inputs: int, lr: float = 0.01, init: str = "zeros",
                 seed: int | None = None) -> None:
        self.n_inputs = n_inputs
        self.lr = lr
        self.seed = seed
        self.weights = _initial_weights("Adaline", init, n_inputs, seed)
        self.bias = 0.0
        self.history: list[float] = []  # mean squared error after each epoch

    def predict(self, X) -> np.ndarray:
        """The linear output o = w·x + b for each row of X, shape (n,)."""
        return _inputs("Adaline.predict", X, self.n_inputs) @ self.weights + self.bias

    def classify(self, X) -> np.ndarray:
        """sgn(w·x + b): class +1 or −1 (int64)."""
        return sign(self.predict(X))

    def fit(self, X, y, epochs: int = 50, mode: str = "online",
            shuffle: bool = True) -> list[float]:
        """Train for ``epochs``; return the mean squared error after each epoch.

        ``mode="online"``: update after every sample (the original LMS rule).
        ``mode="batch"``: one update per epoch with the average of the per-sample changes,
        Δw = η mean((t − o) x): plain gradient descent on the mean squared error.
        """
        X = _inputs("Adaline.fit", X, self.n_inputs)
        t = _targets("Adaline.fit", y, len(X))
        _check_epochs("Adaline.fit", epochs)
        if mode not in ("online", "batch"):
            raise ValueError(f"Adaline.fit: mode must be 'online' or 'batch', got {mode!r}")
        rng = np.random.default_rng(self.seed)
        self.history = []
        for _ in range(epochs):
            if mode == "batch":
                error = t - (X @ self.weights + self.bias)
                self.weights = self.weights + self.lr * (error @ X) / len(X)
                self.bias += self.lr * error.mean()
            else:
                for i in rng.permutation(len(X)) if shuffle else range(len(X)):
                    error = t[i] - (X[i] @ self.weights + self.bias)
                    self.weights = self.weights + self.lr * error * X[i]
                    self.bias += self.lr * error
            self.history.append(float(np.mean((t - self.predict(X)) ** 2)))
        return self.history

    def decision_boundary(self) -> tuple[np.ndarray, float]:
        """(w, b) of the line w·x + b = 0 where the output changes sign."""
        return self.weights.copy(), self.bias


# -------------------------------------------------------------------------- Hebbian


class Hebbian:
    """One layer of threshold units b̂ = f(W a − θ) trained by Hebbian rules (Hebb, 1949).

    Patterns (a^p, b^p) are presented one at a time. Two rules:

    * ``rule="hebb"``, plain Hebb, "units that fire together wire together":
      Δw_ij = η b_i a_j, with b the desired output. One pass stores W = η Σ_p b^p a^pᵀ;
      recall is exact when the inputs a^p are orthogonal, otherwise they interfere.
    * ``rule="course"``, the course's supervised variant: Δw_ij = η (b_i − b̂_i) a_j,
      so only output units that answered wrongly change their weights.

    ``activation`` is "sign" (patterns of ±1) or "step" (patterns of 0/1). With
    ``bias=True`` each unit also learns a threshold θ, as a weight on an extra input −1.
    """

    def __init__(self, n_inputs: int, n_outputs: int, lr: float = 1.0,
                 activation: str = "sign", bias: bool = False) -> None:
        if activation not in ("sign", "step"):
            raise ValueError(f"Hebbian: activation must be 'sign' or 'step', got {activation!r}")
        self.n_inputs, self.n_outputs = n_inputs, n_outputs
        self.lr = lr
        self.activation = activation
        self.bias = bias
        self.weights = np.zeros((n_outputs, n_inputs))
        self.threshold = np.zeros(n_outputs)
        self.history: list[int] = []  # wrong output units per epoch of the last fit

    def _f(self, z: np.ndarray) -> np.ndarray:
        return sign(z) if self.activation == "sign" else step(z)

    def predict(self, A) -> np.ndarray:
        """Outputs b̂ = f(W a − θ) for each row of A, shape (n, n_outputs), int64."""
        A = _inputs("Hebbian.predict", A, self.n_inputs)
        return self._f(A @ self.weights.T - self.threshold)

    def update(self, a, b, rule: str = "course") -> np.ndarray:
        """Apply one rule to one pattern (a, b); return the change ΔW that was made."""
        a = _inputs("Hebbian.update", a, self.n_inputs)[0]
        b = np.asarray(b, dtype=np.float64).reshape(self.n_outputs)
        if rule == "hebb":
            signal = b
        elif rule == "course":
            signal = b - self.predict(a)[0]
        else:
            raise ValueError(f"Hebbian.update: rule must be 'hebb' or 'course', got {rule!r}")
        change = self.lr * np.outer(signal, a)
        self.weights = self.weights + change
        if self.bias:
            self.threshold = self.threshold - self.lr * signal  # its input is −1
        return change

    def fit(self, A, B, epochs: int = 1, rule: str = "course") -> list[int]:
        """Present every pattern in order, ``epochs`` times; return wrong outputs per epoch.

        A mistake is counted when a pattern is shown, before its update. With
        ``rule="course"`` training stops after the first epoch without mistakes.
        """
        A = _inputs("Hebbian.fit", A, self.n_inputs)
        B = np.asarray(B, dtype=np.float64).reshape(len(A), -1)
        if B.shape != (len(A), self.n_outputs):
            raise ValueError(f"Hebbian.fit: expected targets of shape ({len(A)}, "
                             f"{self.n_outputs}), got {np.shape(B)}")
        _check_epochs("Hebbian.fit", epochs)
        self.history = []
        for _ in range(epochs):
            mistakes = 0
            for a, b in zip(A, B):
                mistakes += int(np.sum(self.predict(a)[0] != b))
                self.update(a, b, rule)
            self.history.append(mistakes)
            if rule == "course" and mistakes == 0:
                break
        return self.history


# -------------------------------------------------------------------------- Hopfield


class Hopfield:
    """Hopfield network (1982): an autoassociative memory of ±1 patterns.

    Storing (Hebbian rule): W = (1/N) Σ_p ξ^p ξ^pᵀ with w_ii = 0, for N units.
    Recall (asynchronous): pick one unit i at a time and set s_i ← sgn(Σ_j w_ij s_j)
    (unchanged when the sum is 0), until a whole sweep changes nothing.
    Energy E(s) = −½ sᵀ W s. Because W is symmetric with a zero diagonal, no single-unit
    update can raise E, so recall slides downhill into a stored pattern (or a spurious
    minimum when too many patterns are stored: about 0.138 N at most).
    """

    def __init__(self, n_units: int) -> None:
        self.n_units = n_units
        self.weights = np.zeros((n_units, n_units))
        self.n_patterns = 0

    def _states(self, where: str, S) -> np.ndarray:
        S = _inputs(where, S, self.n_units)
        if not np.all(np.isin(S, (-1, 1))):
            raise ValueError(f"{where}: states and patterns must contain only -1 and +1")
        return S

    def store(self, patterns) -> Hopfield:
        """Add ±1 patterns (rows) to the memory with the Hebbian rule; returns self."""
        patterns = self._states("Hopfield.store", patterns)
        self.weights = self.weights + patterns.T @ patterns / self.n_units
        np.fill_diagonal(self.weights, 0.0)
        self.n_patterns += len(patterns)
        return self

    @property
    def capacity(self) -> float:
        """About how many random patterns N units can store and recall: 0.138 N."""
        return 0.138 * self.n_units

    def energy(self, state) -> float:
        """E(s) = −½ sᵀ W s."""
        s = self._states("Hopfield.energy", state)[0]
        return float(-0.5 * s @ self.weights @ s)

    def steps(self, state, max_sweeps: int = 100, seed: int | None = None) -> Iterator:
        """Run recall one unit at a time, yielding (unit, state, energy) after each update.

        Units are visited in a fresh random order every sweep; it stops after a sweep
        that changes nothing (a stable state) or after ``max_sweeps`` sweeps.
        """
        s = self._states("Hopfield.steps", state)[0].copy()
        rng = np.random.default_rng(seed)
        for _ in range(max_sweeps):
            changed = False
            for i in rng.permutation(self.n_units):
                field = self.weights[i] @ s
                if field != 0 and np.sign(field) != s[i]:
                    s[i] = -s[i]
                    changed = True
                yield int(i), s.copy(), float(-0.5 * s @ self.weights @ s)
            if not changed:
                return

    def recall(self, state, max_sweeps: int = 100, seed: int | None = None) -> np.ndarray:
        """The state recall settles in, starting from ``state`` (a ±1 vector)."""
        final = self._states("Hopfield.recall", state)[0]
        for _, final, _ in self.steps(final, max_sweeps, seed):  # noqa: B007, B020
            pass
        return final.astype(np.int64)

    def predict(self, S, seed: int | None = None) -> np.ndarray:
        """Recall each row of S; shape (n, n_units)."""
        S = self._states("Hopfield.predict", S)
        return np.array([self.recall(s, seed=seed) for s in S], dtype=np.int64)


# ------------------------------------------------------------- competitive learning


def _spread_samples(X: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """k rows of X far apart: a random first row, then each time the row farthest away."""
    chosen = [int(rng.integers(len(X)))]
    distance = np.linalg.norm(X - X[chosen[0]], axis=1)
    for _ in range(k - 1):
        chosen.append(int(np.argmax(distance)))
        distance = np.minimum(distance, np.linalg.norm(X - X[chosen[-1]], axis=1))
    return X[chosen].copy()


class CompetitiveLayer:
    """Competitive learning, winner takes all: clusters data without labels.

    Each of the k units has a weight vector (a prototype) w_k. For an input x the unit
    nearest to it wins, k* = argmin_k ||x − w_k||, and only the winner learns:
    w_k* ← w_k* + η (x − w_k*), a step towards x. Each prototype drifts to the centre of
    the inputs it wins. The prototypes start at k training samples far apart from each
    other, so that no unit starts where it can never win (a "dead" unit).
    """

    def __init__(self, n_units: int, n_inputs: int, lr: float = 0.1,
                 seed: int | None = None) -> None:
        self.n_units, self.n_inputs = n_units, n_inputs
        self.lr = lr
        self.seed = seed
        # None before fit; `| Any` (typeshed's "Any trick") spares layer.weights a check
        self.weights: np.ndarray | Any = None
        self.history: list[float] = []  # mean distance to the winner after each epoch

    def _check_fitted(self, where: str) -> None:
        if self.weights is None:
            raise RuntimeError(f"{where}: call fit(X) first")

    def predict(self, X) -> np.ndarray:
        """Index of the winning unit for each row of X (int64)."""
        self._check_fitted("CompetitiveLayer.predict")
        X = _inputs("CompetitiveLayer.predict", X, self.n_inputs)
        distance = np.linalg.norm(X[:, None, :] - self.weights[None, :, :], axis=2)
        return np.argmin(distance, axis=1)

    def quantization_error(self, X) -> float:
        """Mean distance from each sample to its winning prototype."""
        X = _inputs("CompetitiveLayer.quantization_error", X, self.n_inputs)
        return float(np.mean(np.linalg.norm(X - self.weights[self.predict(X)], axis=1)))

    def fit(self, X, epochs: int = 20) -> list[float]:
        """Present the samples in random order, ``epochs`` times; return the error per epoch."""
        X = _inputs("CompetitiveLayer.fit", X, self.n_inputs)
        _check_epochs("CompetitiveLayer.fit", epochs)
        if len(X) < self.n_units:
            raise ValueError(f"CompetitiveLayer.fit: need at least {self.n_units} samples "
                             f"for {self.n_units} units, got {len(X)}")
        rng = np.random.default_rng(self.seed)
        if self.weights is None:
            self.weights = _spread_samples(X, self.n_units, rng)
        self.history = []
        for _ in range(epochs):
            for x in X[rng.permutation(len(X))]:
                winner = np.argmin(np.linalg.norm(self.weights - x, axis=1))
                self.weights[winner] += self.lr * (x - self.weights[winner])
            self.history.append(self.quantization_error(X))
        return self.history


class Kohonen:
    """Kohonen's self-organizing map (SOM): competitive units arranged on a line or grid.

    The winner c = argmin_k ||x − w_k|| and its neighbours on the grid all learn:
    w_k ← w_k + η(t) h_kc (x − w_k), with h_kc = exp(−d(k, c)² / (2 σ(t)²)) and d the
    distance between units k and c *on the grid*. The rate η(t) and the neighbourhood
    width σ(t) shrink over training (geometrically, from ``lr`` to ``lr_final`` and from
    ``sigma`` to ``sigma_final``), so units near each other on the grid end up with
    prototypes near each other in input space: the map keeps the data's topology.
    """

    def __init__(self, shape: int | tuple[int, ...], n_inputs: int, lr: float = 0.5,
                 sigma: float | None = None, lr_final: float = 0.01, sigma_final: float = 0.5,
                 seed: int | None = None) -> None:
        self.shape = (shape,) if isinstance(shape, int) else tuple(shape)
        if len(self.shape) not in (1, 2) or min(self.shape) < 1:
            raise ValueError(f"Kohonen: shape must be n or (rows, cols), got {shape!r}")
        self.n_inputs = n_inputs
        self.lr, self.lr_final = lr, lr_final
        self.sigma = max(self.shape) / 2 if sigma is None else sigma
        self.sigma_final = sigma_final
        self.seed = seed
        # position of every unit on the grid, in the order of the rows of weights
        self.positions = np.array(list(np.ndindex(*self.shape)), dtype=np.float64)
        self.weights: np.ndarray | Any = None  # None before fit (the "Any trick", as above)
        self.history: list[float] = []  # quantization error after each epoch

    @property
    def n_units(self) -> int:
        return len(self.positions)

    def predict(self, X) -> np.ndarray:
        """Index of the winning unit for each row of X (row-major position on the grid)."""
        if self.weights is None:
            raise RuntimeError("Kohonen.predict: call fit(X) first")
        X = _inputs("Kohonen.predict", X, self.n_inputs)
        distance = np.linalg.norm(X[:, None, :] - self.weights[None, :, :], axis=2)
        return np.argmin(distance, axis=1)

    def quantization_error(self, X) -> float:
        """Mean distance from each sample to its winning prototype."""
        X = _inputs("Kohonen.quantization_error", X, self.n_inputs)
        return float(np.mean(np.linalg.norm(X - self.weights[self.predict(X)], axis=1)))

    def fit(self, X, epochs: int = 20) -> list[float]:
        """Present the samples in random order, ``epochs`` times; return the error per epoch."""
        X = _inputs("Kohonen.fit", X, self.n_inputs)
        _check_epochs("Kohonen.fit", epochs)
        rng = np.random.default_rng(self.seed)
        if self.weights is None:
            self.weights = X[rng.integers(len(X), size=self.n_units)].copy()
        total, t = epochs * len(X), 0
        self.history = []
        for _ in range(epochs):
            for x in X[rng.permutation(len(X))]:
                progress = t / total
                lr = self.lr * (self.lr_final / self.lr) ** progress
                sigma = self.sigma * (self.sigma_final / self.sigma) ** progress
                winner = np.argmin(np.linalg.norm(self.weights - x, axis=1))
                grid_distance = np.linalg.norm(self.positions - self.positions[winner], axis=1)
                h = np.exp(-grid_distance**2 / (2 * sigma**2))
                self.weights += lr * h[:, None] * (x - self.weights)
                t += 1
            self.history.append(self.quantization_error(X))
        return self.history
