"""Assignment 3: the classic networks and the Keras workflow (lessons 4, 6, 10, 11).

The perceptron rule (and why it never converges on XOR), the Hebbian and ADALINE updates,
a Hopfield memory that recalls patterns from noise, winner-takes-all, and an MLP on the
handwritten digits with compile / fit / evaluate.
"""

from __future__ import annotations

import numpy as np

from chaingrad import Tensor

from .api import (
    assignment,
    cases,
    close,
    exercise,
    expect,
    expect_close,
    number,
    rebuild_model,
)

assignment(3, "The classic networks and the Keras workflow", intro="""
    Lessons 4, 6, 10 and 11 show the networks of the course's history, from the perceptron
    to Hopfield's memory, and the Keras-style workflow; here you write their learning
    rules yourself and train a network on the digits.
""", imports="""
    import numpy as np

    from chaingrad import nn
""")

AND = (np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float), np.array([0, 0, 0, 1.0]))
XOR = (AND[0], np.array([0, 1, 1, 0.0]))


def _step(z):
    return np.where(np.asarray(z) >= 0, 1.0, 0.0)


def _sign(z):
    return np.where(np.asarray(z) >= 0, 1.0, -1.0)


@exercise(points=1, readonly=True, stub='''
def perceptron_step(w, x, target, lr):
    """Rosenblatt's perceptron rule for one example. x already starts with x0 = -1 (so
    w[0] is the threshold θ): the output is y = step(w · x) (1 if w · x >= 0, else 0),
    and the new weights are  w + lr (target - y) x  (unchanged when y is right).
    Return the new weights (a new array; leave w as it is).
    Worked number: w = [0, 0, 0], x = [-1, 1, 1], target = 0, lr = 1: w · x = 0 gives
    y = 1, so the new weights are [0, 0, 0] + (0 - 1) [-1, 1, 1] = [1, -1, -1].
    """
    raise NotImplementedError
''')
def perceptron_step(student):
    """The perceptron rule"""
    public = [(np.zeros(3), np.array([-1.0, 1, 1]), 0.0, 1.0),
              (np.array([0.5, 1.0, -1.0]), np.array([-1.0, 0, 1]), 1.0, 0.5),
              (np.array([0.2, 1.0, 1.0]), np.array([-1.0, 1, 0]), 1.0, 0.5)]
    hidden = {"a wrong answer with target 1": lambda rng: (
                  -rng.uniform(0.5, 2, 4), np.r_[-1.0, rng.uniform(0.5, 2, 3)], 1.0, 0.5),
              "a right answer (no change)": lambda rng: (
                  np.r_[-1.0, rng.uniform(0.5, 2, 3)], np.r_[-1.0, rng.uniform(0.5, 2, 3)],
                  1.0, 0.5)}
    answers = [(w, x, t, lr, student.perceptron_step(w, x, t, lr)) for w, x, t, lr in public]
    variants = [  # (the rule a typical mistake follows, what to say), checked on every case
        (lambda w, x, t, lr: w + lr * (t - (1.0 if w @ x > 0 else 0.0)) * x,
         "At w · x = 0 the output is 1: step(0) = 1, so compare with >=, not >."),
        (lambda w, x, t, lr: w + lr * (t - w @ x) * x,
         "The perceptron learns from step(w·x), not from w·x (that is ADALINE)."),
        (lambda w, x, t, lr: w - lr * (t - float(_step(w @ x))) * x,
         "You moved the weights the wrong way: w + lr (target − y) x."),
    ]
    hint = next((said for rule, said in variants
                 if all(close(got, rule(w, x, t, lr)) for w, x, t, lr, got in answers)), None)
    for w, x, t, lr, got in answers:
        _expect_perceptron(got, w, x, t, lr, hint)
    for w, x, t, lr in cases([], hidden):
        _expect_perceptron(student.perceptron_step(w, x, t, lr), w, x, t, lr, None)


def _expect_perceptron(got, w, x, t, lr, hint) -> None:
    y = float(_step(w @ x))
    expect_close(got, w + lr * (t - y) * x,
                 f"your perceptron_step(w = {number(w)}, x = {number(x)}, target = "
                 f"{number(t)}, lr = {number(lr)})", f"w + lr (target − y) x with y = {y:g}",
                 hint=hint)


@exercise(points=2, stub='''
def train_perceptron(X, y, lr=1.0, max_epochs=100):
    """Train a perceptron on the rows of X (without the -1 column: add it) and labels y
    (0 or 1), one example at a time with perceptron_step, starting from w = 0.
    Return (w, converged): converged is True when one whole epoch made no mistake, and
    False when max_epochs passed without such an epoch: XOR is not linearly separable,
    so there the rule never converges, and your loop must stop anyway.
    Worked number: AND converges (for instance to w = [3, 2, 1]: 2 x1 + x2 >= 3).
    """
    raise NotImplementedError
''')
def train_perceptron(student):
    """Perceptron training, and XOR that never converges"""
    X, y = AND
    got = student.train_perceptron(X.copy(), y.copy(), 1.0, 100)
    expect(isinstance(got, (tuple, list)) and len(got) == 2,
           f"your train_perceptron returned {got!r}; expected (w, converged).")
    w, converged = got
    expect(bool(converged) is True, "your train_perceptron says AND did not converge; AND is "
           "linearly separable, so an epoch without mistakes must come (within 100 epochs).")
    w = np.asarray(w, dtype=float)
    expect(w.shape == (3,), f"your train_perceptron returned weights of shape {w.shape}; "
           "expected 3 numbers: the threshold weight (for x0 = -1) and one per input.")
    answers = _step(np.c_[-np.ones(4), X] @ w)
    expect(np.array_equal(answers, y), f"your perceptron trained on AND answers "
           f"{answers.astype(int).tolist()} for the inputs {X.astype(int).tolist()}; expected "
           f"{y.astype(int).tolist()} (the output is step(w · [-1, x1, x2])).")
    separable = {"another function a line separates (OR, NAND or NOR)": lambda rng: [
        [0, 1, 1, 1.0], [1, 1, 1, 0.0], [1, 0, 0, 0.0]][int(rng.integers(3))]}
    for target in cases([], separable):
        got = student.train_perceptron(X, np.array(target), 1.0, 100)
        expect(isinstance(got, (tuple, list)) and len(got) == 2 and bool(got[1]) is True,
               "your train_perceptron did not converge on a linearly separable function.")
        w = np.asarray(got[0], dtype=float)
        expect(w.shape == (3,) and np.array_equal(_step(np.c_[-np.ones(4), X] @ w), target),
               "your trained perceptron answers a linearly separable function wrongly.")
    X, y = XOR
    w, converged = student.train_perceptron(X.copy(), y.copy(), 1.0, 50)
    expect(bool(converged) is False, "your train_perceptron says XOR converged; no straight "
           "line separates XOR, so an epoch without mistakes never comes: converged must be "
           "False.")


@exercise(points=1, stub='''
def adaline_step(w, x, target, lr):
    """The ADALINE (Widrow-Hoff, delta) rule for one example: the output is linear,
    y = w · x (no threshold while learning), and the new weights are
        w + lr (target - y) x
    which is gradient descent on E = 1/2 (target - w · x)^2. Return the new weights.
    Worked number: w = [0.5, -0.5], x = [1, 2], target = 1, lr = 0.1: y = -0.5, so the
    new weights are [0.5, -0.5] + 0.1 · 1.5 · [1, 2] = [0.65, -0.2].
    """
    raise NotImplementedError
''')
def adaline_step(student):
    """The ADALINE (Widrow–Hoff) rule"""
    public = [(np.array([0.5, -0.5]), np.array([1.0, 2.0]), 1.0, 0.1),
              (np.array([0.2, 0.1, -0.3]), np.array([-1.0, 0.5, 2.0]), -1.0, 0.05)]
    hidden = {"5 weights": lambda rng: (rng.normal(size=5), rng.normal(size=5),
                                        float(rng.choice([-1.0, 1.0])), 0.1)}
    for w, x, t, lr in cases(public, hidden):
        got = student.adaline_step(w, x, t, lr)
        hint = None
        thresholded = [w + lr * (t - f(w @ x)) * x for f in (_sign, _step)]
        if any(close(got, wrong) for wrong in thresholded):
            hint = "ADALINE learns from the linear output w·x, not the thresholded one."
        expect_close(got, w + lr * (t - w @ x) * x,
                     f"your adaline_step(w = {number(w)}, x = {number(x)}, target = "
                     f"{number(t)}, lr = {number(lr)})", "w + lr (target − w·x) x", hint=hint)


@exercise(points=1, stub='''
def hebbian_step(W, a, b, lr):
    """The course's Hebbian rule for one pattern pair (a, b) of +1/-1 values: the layer
    answers b_hat = sign(W a) (sign(0) = +1), and each weight changes by
        Δw_ij = lr (b_i - b_hat_i) a_j
    so only the output units that answered wrongly learn. W has one row per output.
    Return the new W (use np.outer for the table of b_i a_j products).
    Worked number: W = [[0, 0]], a = [1, -1], b = [-1], lr = 1: b_hat = sign(0) = 1, so
    ΔW = (-1 - 1) [[1, -1]] and the new W = [[-2, 2]].
    """
    raise NotImplementedError
''')
def hebbian_step(student):
    """The Hebbian rule"""
    public = [(np.zeros((1, 2)), np.array([1.0, -1.0]), np.array([-1.0]), 1.0),
              (np.array([[0.5, -1.0, 0.0], [1.0, 1.0, 1.0]]), np.array([1.0, 1.0, -1.0]),
               np.array([1.0, -1.0]), 0.5)]
    hidden = {"a 3 x 4 layer": lambda rng: (rng.normal(size=(3, 4)), rng.choice([-1.0, 1.0], 4),
                                            rng.choice([-1.0, 1.0], 3), 0.5)}
    for W, a, b, lr in cases(public, hidden):
        got = student.hebbian_step(W, a, b, lr)
        b_hat = _sign(W @ a)
        hint = None
        if close(got, W + lr * np.outer(b, a)):
            hint = ("That is plain Hebb (Δw = lr b a); the course's rule corrects only the "
                    "wrong outputs: lr (b − b_hat) a.")
        expect_close(got, W + lr * np.outer(b - b_hat, a),
                     f"your hebbian_step(W = {number(W)}, a = {number(a)}, b = {number(b)}, "
                     f"lr = {number(lr)})", "W + lr outer(b − sign(W a), a)", hint=hint)


def _patterns(n_units: int, count: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).choice([-1.0, 1.0], size=(count, n_units))


def _hopfield_weights(patterns):
    n = patterns.shape[1]
    W = patterns.T @ patterns / n
    np.fill_diagonal(W, 0.0)
    return W


@exercise(points=1, stub='''
def hopfield_store(patterns):
    """Store +1/-1 patterns (the rows, N units each) in a Hopfield memory with the
    Hebbian rule:  W = (1/N) Σ_p ξ^p ξ^pᵀ, then w_ii = 0 (no unit feeds itself).
    Return W, an N x N array.
    Worked number: the one pattern [1, -1, 1] gives
    W = (1/3) [[0, -1, 1], [-1, 0, -1], [1, -1, 0]].
    """
    raise NotImplementedError
''')
def hopfield_store(student):
    """Hopfield storage"""
    hidden = {"3 patterns of 10 units": lambda rng: rng.choice([-1.0, 1.0], size=(3, 10))}
    for patterns in cases([np.array([[1.0, -1.0, 1.0]]), _patterns(8, 2, 0)], hidden):
        got = student.hopfield_store(patterns)
        expected = _hopfield_weights(patterns)
        hint = None
        n = patterns.shape[1]
        if close(got, expected + np.eye(n) * len(patterns) / n):
            hint = "Set the diagonal to zero: np.fill_diagonal(W, 0)."
        elif close(got, expected * n):
            hint = "Divide by N, the number of units."
        expect_close(got, expected, f"your hopfield_store of the patterns {number(patterns)}",
                     "(1/N) Σ ξξᵀ with a zero diagonal", hint=hint)


@exercise(points=2, stub='''
def hopfield_recall(W, state, max_sweeps=100):
    """Recall from a noisy +1/-1 state, updating one unit at a time (asynchronously):
    for i = 0, 1, ..., N-1 in turn, h = W[i] · s and s_i = sign(h) (leave s_i as it is when
    h = 0). Repeat such sweeps until a whole sweep changes nothing, or max_sweeps.
    Return the final state (a new array).
    Worked number: with W from hopfield_store([[1, -1, 1]]), the state [1, 1, 1] becomes
    [1, -1, 1]: unit 1 sees h = (-1 · 1 + -1 · 1) / 3 < 0 and flips.
    """
    raise NotImplementedError
''')
def hopfield_recall(student):
    """Hopfield recall from noise"""
    W = _hopfield_weights(np.array([[1.0, -1.0, 1.0]]))
    got = student.hopfield_recall(W, np.array([1.0, 1.0, 1.0]))
    expect_close(got, [1, -1, 1], "your hopfield_recall of [1, 1, 1] with the pattern "
                 "[1, -1, 1] stored", "the stored pattern")
    for seed in cases([1], {"3 other stored patterns": _recallable_seed}):
        _check_recall(student, seed)


def _recallable_seed(rng) -> int:
    """A seed whose three patterns the course's rule recalls from their noisy copies."""
    while True:
        seed = int(rng.integers(3, 2**31))
        patterns, noisy = _noisy_patterns(seed)
        W = _hopfield_weights(patterns)
        if all(np.array_equal(_recall(W, n), p) for p, n in zip(patterns, noisy)):
            return seed


def _recall(W, state, max_sweeps=100):
    s = state.copy()
    for _ in range(max_sweeps):
        changed = False
        for i in range(len(s)):
            h = W[i] @ s
            if h != 0 and np.sign(h) != s[i]:
                s[i], changed = np.sign(h), True
        if not changed:
            break
    return s


def _noisy_patterns(seed: int):
    patterns = _patterns(64, 3, seed)
    rng = np.random.default_rng(seed + 1)
    noisy = []
    for pattern in patterns:
        copy = pattern.copy()
        copy[rng.choice(64, 6, replace=False)] *= -1
        noisy.append(copy)
    return patterns, noisy


def _check_recall(student, seed: int) -> None:
    patterns, noisy_copies = _noisy_patterns(seed)
    W = _hopfield_weights(patterns)
    for pattern, noisy in zip(patterns, noisy_copies):
        got = np.asarray(student.hopfield_recall(W, noisy), dtype=float)
        wrong = int(np.sum(got != pattern)) if got.shape == pattern.shape else -1
        expect(wrong == 0, f"your hopfield_recall of one of 3 stored 64-unit patterns with 6 "
               f"units flipped ended {wrong} units away from it (expected 0): update one unit "
               "at a time, sweep after sweep, until nothing changes.")
        stable = _sign(W @ got)
        expect(np.array_equal(stable, got), "your hopfield_recall stopped in a state that is "
               "not stable: some unit would still flip. Sweep until a sweep changes nothing.")


@exercise(points=1, stub='''
def winner_takes_all(W, x, lr):
    """One step of competitive learning. Each row of W is one unit's weight vector; the
    unit nearest to x wins: k = argmin_k ||x - W[k]||. Only the winner learns:
        W[k] = W[k] + lr (x - W[k])
    Return (k, new W) and leave the other rows as they are.
    Worked number: W = [[0, 0], [1, 1]], x = [0.9, 0.8], lr = 0.5: unit 1 wins and moves
    to [0.95, 0.9].
    """
    raise NotImplementedError
''')
def winner_takes_all(student):
    """Winner takes all"""
    public = [(np.array([[0.0, 0.0], [1.0, 1.0]]), np.array([0.9, 0.8]), 0.5),
              (np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]]), np.array([-0.2, -0.5]), 0.25)]
    hidden = {"5 units in 3 dimensions": lambda rng: (rng.normal(size=(5, 3)),
                                                      rng.normal(size=3), 0.3)}
    for W, x, lr in cases(public, hidden):
        got = student.winner_takes_all(W, x, lr)
        expect(isinstance(got, (tuple, list)) and len(got) == 2,
               f"your winner_takes_all returned {got!r}; expected (k, new W).")
        k = int(np.argmin(np.linalg.norm(W - x, axis=1)))
        at = f"W = {number(W)}, x = {number(x)}"
        expect(int(got[0]) == k, f"your winner_takes_all at {at} chose unit {got[0]}; expected "
               f"unit {k}, the nearest: argmin ||x − W[k]||.")
        expected = W.copy()
        expected[k] += lr * (x - W[k])
        hint = ("Only the winner learns: leave the other rows as they are."
                if close(got[1], W + lr * (x - W)) else None)
        expect_close(got[1], expected, f"your winner_takes_all at {at}, lr = {number(lr)}",
                     "W[k] + lr (x − W[k]) for the winner only", hint=hint)


@exercise(points=3, cost=4, stub='''
def train_digits(X_train, y_train):
    """The Keras workflow on the 8x8 handwritten digits: build an MLP with nn.MLP
    (64 inputs, a hidden layer or two, 10 outputs), compile it with a loss for 10
    classes ("cross_entropy", from the outputs as logits), an optimizer and a learning
    rate, fit it on the training images (rows of 64 pixels in [0, 1]) and labels 0..9,
    and return the fitted model. Keep it quick: a few seconds of training at most.
    The check evaluates it on 359 test images it never saw: the test error must be
    below 8% (at least 92% right).
    Worked number: nn.MLP(64, [32, 10], activation="relu") with "adam", lr = 0.01,
    10 epochs and batches of 64 reaches about 95% in under a second.
    """
    raise NotImplementedError
''')
def train_digits(student):
    """An MLP on the digits with compile / fit / evaluate"""
    from chaingrad import nn

    X, y = nn.data.digits("train", flatten=True)
    X_test, y_test = nn.data.digits("test", flatten=True)
    student.seed(0)
    model = student.train_digits(X, y)
    expect(model is not None and hasattr(model, "predict"),
           f"your train_digits returned {model!r}; expected the fitted model.")
    # The grader runs the network itself, from its layers and weights: the student's
    # process never sees the test images.
    outputs = rebuild_model(student.layers_of(model))(Tensor(X_test)).data
    expect(outputs.shape == (len(X_test), 10), f"your model's outputs for {len(X_test)} test "
           f"images have the shape {outputs.shape}; expected ({len(X_test)}, 10), one score "
           "per digit.")
    error = float(np.mean(outputs.argmax(axis=1) != y_test))
    expect(error < 0.08, f"your model's test error is {error:.1%}; expected below 8%. Train "
           "longer, or with a larger hidden layer or a larger learning rate.")
