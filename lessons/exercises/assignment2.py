"""Assignment 2: learning (lessons 2, 5 to 9).

Gradient descent with and without momentum, MSE and binary cross-entropy by hand, one
training step and a training loop from scratch (XOR, then moons), a train/validation/test
split and early stopping.
"""

from __future__ import annotations

import numpy as np

from chaingrad.autograd import Tensor

from .api import api_seed, assignment, cases, close, exercise, expect, expect_close, number, plain

assignment(2, "Learning: gradient descent, losses, training loops", intro="""
    Lessons 2 and 5 to 9 train networks with chaingrad's optimizers and fit(); here you
    write those pieces yourself. Each exercise states its task, the formula from the
    course and one worked number you can check by hand.
""", imports="""
    import numpy as np

    from chaingrad import Tensor, no_grad, nn
""")


@exercise(points=1, readonly=True, forbid=("SGD", "optim"), stub='''
def gradient_descent_step(w, grad, lr):
    """One step of gradient descent: return the new weights w + Δw with Δw = -lr · dE/dw.

    w and grad are numbers or numpy arrays of the same shape; do not change w in place.
    Worked number: w = 1.0, grad = 0.5, lr = 0.1 give 0.95.
    """
    raise NotImplementedError
''')
def gradient_descent_step(student):
    """Gradient descent without momentum"""
    public = [(1.0, 0.5, 0.1), (np.array([1.0, -2.0]), np.array([0.5, -4.0]), 0.25)]
    hidden = {"an array of 7 weights": lambda rng: (rng.normal(size=7), rng.normal(size=7),
                                                    float(rng.uniform(0.01, 1))),
              "a 3 x 2 matrix of weights": lambda rng: (rng.normal(size=(3, 2)),
                                                        rng.normal(size=(3, 2)), 0.5),
              "a negative gradient": lambda rng: (float(rng.normal()),
                                                  float(-rng.uniform(0.1, 5)), 0.1)}
    for w, g, lr in cases(public, hidden):
        got = student.gradient_descent_step(w, g, lr)
        hint = "You stepped uphill: Δw = −η·dE/dw." if close(got, w + lr * g) else None
        expect_close(got, w - lr * g,
                     f"your gradient_descent_step(w = {number(w)}, grad = {number(g)}, "
                     f"lr = {number(lr)})", "w − lr·grad", hint=hint)


@exercise(points=2, forbid=("SGD", "optim", "Adam"), stub='''
class Momentum:
    """Gradient descent with momentum, as in the course:
        Δw(t+1) = -lr · dE/dw + alpha · Δw(t),    w(t+1) = w(t) + Δw(t+1)
    Δw(t) is the previous *step* (keep it in self.delta; it starts at 0).

    step(w, grad) returns the new weights and remembers the step it took.
    Worked number: lr = 0.1, alpha = 0.9, w = 1.0 and the gradient 0.5 twice:
    first Δw = -0.05 (w = 0.95), then Δw = -0.05 + 0.9 · (-0.05) = -0.095 (w = 0.855).
    """

    def __init__(self, lr, alpha):
        self.lr = lr
        self.alpha = alpha
        self.delta = 0.0

    def step(self, w, grad):
        raise NotImplementedError
''')
def Momentum(student):  # noqa: N802 (named after the student's class)
    """Gradient descent with momentum"""
    grads = [0.5, 0.5, -0.2, 1.0]
    lr, alpha = 0.1, 0.9
    variants = {
        "right": lambda g, prev_g, d: -lr * g + alpha * d,
        "gradient": lambda g, prev_g, d: -lr * g + alpha * prev_g,
        "scaled gradient": lambda g, prev_g, d: -lr * (g + alpha * prev_g),
        "uphill": lambda g, prev_g, d: lr * g + alpha * d,
        "no memory": lambda g, prev_g, d: -lr * g,
    }
    paths = {name: _path(rule, grads) for name, rule in variants.items()}
    got = _momentum_path(student, lr, alpha, grads)
    if close(got, paths["right"]):
        _check_momentum_arrays(student)
        hidden = {"a random sequence of 6 gradients": lambda rng: list(rng.normal(size=6))}
        for more in cases([], hidden):
            expect_close(_momentum_path(student, 0.05, 0.8, more),
                         _path(lambda g, prev_g, d: -0.05 * g + 0.8 * d, more),
                         "your Momentum took w through", "w + Δw each step", verb="")
        return
    hints = {
        "gradient": "You added alpha times the previous gradient; momentum adds alpha times "
                    "the previous step Δw(t) (which already contains −lr).",
        "scaled gradient": "You applied the momentum to the gradient (alpha × the previous "
                           "gradient); it belongs to the step: alpha × Δw(t).",
        "uphill": "You stepped uphill: the gradient term is −lr·dE/dw.",
        "no memory": "Your steps ignore the previous step: remember Δw in self.delta.",
    }
    hint = next((h for name, h in hints.items() if close(got, paths[name])), None)
    expect_close(got, paths["right"], f"your Momentum(lr=0.1, alpha=0.9), from w = 1 with the "
                 f"gradients {number(grads)}, took w through", "w + Δw each step", hint=hint,
                 verb="")


def _momentum_path(student, lr, alpha, grads):
    optimizer = student.Momentum(lr, alpha)
    w, got = 1.0, []
    for g in grads:
        w = optimizer.step(w, float(g))
        got.append(plain(w))
    return got


def _path(rule, grads):
    w, delta, previous, path = 1.0, 0.0, 0.0, []
    for g in grads:
        delta = rule(g, previous, delta)
        previous = g
        w = w + delta
        path.append(w)
    return path


def _check_momentum_arrays(student):
    optimizer = student.Momentum(0.5, 0.5)
    w = np.array([1.0, 2.0])
    w = optimizer.step(w, np.array([1.0, -1.0]))
    w = optimizer.step(w, np.array([1.0, -1.0]))
    expect_close(w, [-0.25, 3.25], "your Momentum(lr=0.5, alpha=0.5), from the array "
                 "w = [1, 2] with the gradient [1, -1] twice, went to", "w + Δw each step",
                 verb="")


def _loss_graph(loss_fn, prediction, target, student_gradient):
    """The loss as a graph of the prediction, the student's gradient on the prediction."""
    p = Tensor(prediction, requires_grad=True, name="prediction")
    loss = loss_fn(p, target)
    loss.name = "loss"
    loss.backward()
    try:
        p.grad = np.asarray(student_gradient, dtype=float).reshape(p.shape)
    except (TypeError, ValueError):
        p.grad = np.full(p.shape, np.nan)
    return loss


def _check_loss(student, name, loss_fn, public, hidden, loss_formula, gradient_formula, hints):
    function = getattr(student, name)
    for prediction, target in cases(public, hidden):
        got = function(prediction, target)
        at = f"at prediction = {number(prediction)}, target = {number(target)}"
        expect(isinstance(got, (tuple, list)) and len(got) == 2,
               f"your {name} {at} returned {got!r}; expected (loss, gradient).")
        p = Tensor(prediction, requires_grad=True)
        loss = loss_fn(p, target)
        loss.backward()
        hint = next((h for wrong, h in hints if close(got[0], wrong(prediction, target))), None)
        expect_close(got[0], loss.item(), f"your {name} loss {at}", loss_formula, hint=hint)
        if not close(got[1], p.grad):
            hint = next((h for wrong, h in hints if close(got[1], wrong(prediction, target))),
                        None)
            expect_close(got[1], p.grad, f"your {name} gradient {at}", gradient_formula,
                         graph=_loss_graph(loss_fn, prediction, target, got[1]), hint=hint)


@exercise(points=1, by_hand=True, forbid=("mse", "losses"), stub='''
def mse_and_gradient(prediction, target):
    """Mean squared error and its gradient, by hand with numpy (arrays of n numbers):
        loss = (1/n) Σ (prediction - target)^2,    dloss/dprediction = 2 (prediction - target) / n
    Return (loss, gradient); the gradient is an array shaped like prediction.
    Worked number: prediction = [0.5, 2.0], target = [1.0, 1.0] give (0.625, [-0.5, 1.0]).
    """
    raise NotImplementedError
''')
def mse_and_gradient(student):
    """MSE and its gradient by hand"""
    from chaingrad.nn import losses

    public = [(np.array([0.5, 2.0]), np.array([1.0, 1.0])),
             (np.array([0.1, -0.4, 1.3, 0.0]), np.array([0.0, 1.0, 1.0, -2.0]))]
    hints = [(lambda p, t: 2 * (p - t), "Divide by n: the loss is a mean."),
             (lambda p, t: (p - t) / len(p), "The derivative of a square brings a factor 2."),
             (lambda p, t: np.sum((p - t) ** 2), "The loss is a mean: divide the sum by n.")]
    hidden = {"9 predictions": lambda rng: (rng.normal(size=9), rng.normal(size=9)),
              "one prediction": lambda rng: (rng.normal(size=1), rng.normal(size=1))}
    _check_loss(student, "mse_and_gradient", losses.mse, public, hidden,
                "(1/n) Σ (prediction − target)²", "2 (prediction − target) / n", hints)


@exercise(points=1, by_hand=True, forbid=("bce", "losses"), stub='''
def bce_and_gradient(p, y):
    """Binary cross-entropy and its gradient, by hand with numpy (p: probabilities in
    (0, 1), y: labels 0 or 1, arrays of n numbers):
        loss = -(1/n) Σ [y ln p + (1 - y) ln(1 - p)],    dloss/dp = (p - y) / (p (1 - p)) / n
    Return (loss, gradient).
    Worked number: p = [0.8, 0.3], y = [1, 0] give (0.2899, [-0.625, 0.7143]).
    """
    raise NotImplementedError
''')
def bce_and_gradient(student):
    """Binary cross-entropy and its gradient by hand"""
    from chaingrad.nn import losses

    public = [(np.array([0.8, 0.3]), np.array([1.0, 0.0])),
             (np.array([0.1, 0.6, 0.95]), np.array([0.0, 0.0, 1.0]))]
    hints = [(lambda p, y: (p - y) / (p * (1 - p)), "Divide by n: the loss is a mean."),
             (lambda p, y: np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)),
              "Cross-entropy has a minus sign in front: −(1/n) Σ ...")]
    hidden = {"7 probabilities": lambda rng: (rng.uniform(0.05, 0.95, 7),
                                              rng.integers(0, 2, 7).astype(float)),
              "all labels 1": lambda rng: (rng.uniform(0.05, 0.95, 4), np.ones(4))}
    _check_loss(student, "bce_and_gradient", losses.bce, public, hidden,
                "−(1/n) Σ [y ln p + (1 − y) ln(1 − p)]", "(p − y) / (p(1 − p)) / n", hints)


# ------------------------------------------------------------------ training


def _model(seed: int, sizes=(8, 1)):
    from chaingrad import nn

    nn.manual_seed(seed)
    return nn.MLP(2, list(sizes), activation="tanh")


def _weights(model):
    """All the model's weights in one flat array."""
    return np.concatenate([np.ravel(p.data) for p in model.parameters()])


def _reference_step(model, loss_fn, X, y, lr, zero=True):
    if zero:
        model.zero_grad()
    loss = loss_fn(model(Tensor(X)), y)
    loss.backward()
    for p in model.parameters():
        p.data = p.data - lr * p.grad
    return loss.item()


STALE = 0.25  # a gradient left over from an earlier backward


def _stale(model):
    for p in model.parameters():
        p.grad = np.full(p.shape, STALE)


@exercise(points=2, forbid=("SGD", "optim", "Adam", "fit"), stub='''
def training_step(model, loss_fn, X, y, lr):
    """One step of training, from scratch (no optimizer object):
      1. set every gradient to zero: model.zero_grad()   (gradients add up otherwise)
      2. forward: prediction = model(Tensor(X))
      3. loss = loss_fn(prediction, y)
      4. backward: loss.backward()
      5. step: for each p in model.parameters(): p.data -= lr * p.grad
    Return the loss as a float (loss.item()), the loss before the step.
    Worked number: a model whose one weight w = 1 predicts w·x; with x = 2, y = 1, the MSE
    loss is (2 - 1)^2 = 1, dloss/dw = 2 (2 - 1) · 2 = 4, and lr = 0.1 leaves w = 0.6.
    """
    raise NotImplementedError
''')
def training_step(student):
    """One training step: zero_grad, forward, loss, backward, step"""
    from chaingrad import nn

    X, y = nn.data.xor()
    public = [(0, X, y.astype(float), 0.5)]
    hidden = {"another network on 6 random points": lambda rng: (
        int(rng.integers(1, 2**31)), rng.normal(size=(6, 2)), rng.uniform(0, 1, 6), 0.3)}
    for seed, X, y, lr in cases(public, hidden):
        _check_training_step(student, seed, X, y, lr)


def _in_child(student, model, stale=True):
    """The grader's model, made again in the child with the same weights (and stale grads)."""
    weights = [p.data for p in model.parameters()]
    grads = [np.full(p.shape, STALE) for p in model.parameters()] if stale else None
    return student.build_model(2, [p.shape[-1] for p in model.parameters()][1::2],
                               weights, grads)


def _flat(arrays) -> np.ndarray:
    expect(isinstance(arrays, list) and all(isinstance(a, np.ndarray) for a in arrays),
           "the model's weights are no longer arrays after your code ran.")
    return np.concatenate([np.ravel(a).astype(float) for a in arrays])


def _check_training_step(student, seed, X, y, lr):
    from chaingrad import nn

    model, reference = _model(seed), _model(seed)
    _stale(reference)
    theirs = _in_child(student, model)
    got = plain(student.training_step(theirs, student.build_loss("mse"), X, y, lr))
    expected = _reference_step(reference, nn.losses.mse, X, y, lr)
    expect_close(got, expected, f"your training_step on {'XOR' if len(X) == 4 else 'the data'}"
                 f" (MSE, lr = {number(lr)}) returned the loss",
                 "mse(model(X), y) before the step")
    after = _flat(student.weights_of(theirs))
    expect(after.shape == _weights(reference).shape, "your training_step changed the shape "
           "of the model's weights.")
    if close(after, _weights(reference)):
        return
    stale, uphill, untouched = _model(seed), _model(seed), _model(seed)
    _stale(stale)
    _reference_step(stale, nn.losses.mse, X, y, lr, zero=False)
    _reference_step(uphill, nn.losses.mse, X, y, -lr)
    hint = None
    if close(after, _weights(stale)):
        hint = ("Your step used an old gradient plus the new one: call model.zero_grad() "
                "before loss.backward(), or gradients add up from step to step.")
    elif close(after, _weights(uphill)):
        hint = "You stepped uphill: p.data -= lr * p.grad."
    elif close(after, _weights(untouched)):
        hint = "The weights did not change: subtract lr * p.grad from each p.data."
    expect_close(after[0], _weights(reference)[0],
                 "after your training_step the first weight is",
                 "w − lr·dE/dw with this step's gradient", hint=hint, verb="")


@exercise(points=3, cost=3, forbid=("SGD", "optim", "Adam", "fit"), stub='''
def train(model, loss_fn, X, y, epochs, lr):
    """A training loop from scratch: `epochs` times, one step on the whole data set
    (zero the gradients, forward, loss, backward, step, as in training_step).
    Return the list of the epochs' losses (floats, one per epoch).

    The check trains a 2-8-1 tanh network on XOR (MSE, 300 epochs, lr = 0.2): all four
    answers must be right. Then a 2-16-16-1 network on 300 moons (binary cross-entropy
    from logits, 300 epochs, lr = 0.5): at least 95% right on 300 moons it never saw
    (the grader draws them, and runs your trained network itself).
    Worked number: the first loss on XOR is the untrained network's MSE, about 0.3 to 0.6.
    """
    raise NotImplementedError
''')
def train(student):
    """A training loop from scratch: XOR, then moons"""
    from chaingrad import nn

    X, y = nn.data.xor()
    y = y.astype(float)
    reference = _model(0)
    got = plain(student.train(_in_child(student, _model(0), stale=False),
                              student.build_loss("mse"), X, y, 3, 0.2))
    expect(isinstance(got, (list, tuple)) and len(got) == 3,
           f"your train(..., epochs=3) returned {got!r}; expected a list of 3 losses.")
    expected = [_reference_step(reference, nn.losses.mse, X, y, 0.2) for _ in range(3)]
    if not close(got, expected):
        stale = _model(0)
        wrong = [_reference_step(stale, nn.losses.mse, X, y, 0.2, zero=False) for _ in range(3)]
        hint = ("Your loop never zeroes the gradients, so each step adds the new gradient to "
                "all the old ones: call model.zero_grad() before loss.backward()."
                if close(got, wrong) else None)
        expect_close(got, expected, "your train on XOR for 3 epochs (lr = 0.2) returned the "
                     "losses", "one full-batch step per epoch", hint=hint, verb="")
    trained = _trained(student, _model(0), X, y, nn.losses.mse, "mse", 300, 0.2)
    answers = (trained(Tensor(X)).data.ravel() > 0.5).astype(int)
    expect(np.array_equal(answers, y.astype(int)),
           f"after 300 epochs on XOR your network answers {answers.tolist()} for the inputs "
           f"{X.astype(int).tolist()}; expected {y.astype(int).tolist()}.")
    # Moons: trained in the child on one draw, judged here on another it never saw.
    rng = np.random.default_rng([api_seed(), 26])
    X, y = nn.data.moons(300, noise=0.1, seed=int(rng.integers(2**31)))
    X_new, y_new = nn.data.moons(300, noise=0.1, seed=int(rng.integers(2**31)))
    trained = _trained(student, _model(0, (16, 16, 1)), X, y.astype(float),
                       nn.losses.bce_with_logits, "bce_with_logits", 300, 0.5)
    accuracy = float(np.mean((trained(Tensor(X_new)).data.ravel() > 0).astype(int) == y_new))
    expect(accuracy >= 0.95, f"after 300 epochs on moons your network is right on "
           f"{accuracy:.1%} of new points; expected at least 95%.")


def _trained(student, model, X, y, loss_fn, loss_name, epochs, lr):
    """Train a copy of ``model`` with the student's train in the child; the grader's own
    model with the weights that came back."""
    theirs = _in_child(student, model, stale=False)
    student.train(theirs, student.build_loss(loss_name), X, y, epochs, lr)
    weights = student.weights_of(theirs)
    mine = list(model.parameters())
    expect(isinstance(weights, list) and len(weights) == len(mine) and all(
        isinstance(w, np.ndarray) and w.shape == p.shape for w, p in zip(weights, mine)),
        "after your train the model's weights no longer have their shapes.")
    for p, w in zip(mine, weights):
        p.data = np.asarray(w, dtype=float)
    return model


# ------------------------------------------------------------ generalization


@exercise(points=1, stub='''
def split_data(X, y, fractions=(0.6, 0.2, 0.2), seed=0):
    """Split the rows of X and y at random into train, validation and test parts:
    return ((X_train, y_train), (X_val, y_val), (X_test, y_test)).

    Shuffle the row numbers once (np.random.default_rng(seed).permutation(len(X))), then
    cut: the first round(fractions[0] · n) rows train, the next round(fractions[1] · n)
    validate, the rest test. Each row lands in exactly one part, with its own label.
    Worked number: 10 rows and (0.6, 0.2, 0.2) give parts of 6, 2 and 2 rows.
    """
    raise NotImplementedError
''')
def split_data(student):
    """Train, validation and test sets"""
    public = [(10, (0.6, 0.2, 0.2), 3), (50, (0.8, 0.1, 0.1), 3)]
    hidden = {"another size and seed": lambda rng: (int(rng.integers(20, 80)),
                                                    (0.7, 0.15, 0.15), int(rng.integers(99)))}
    for n, fractions, seed in cases(public, hidden):
        X = np.arange(2 * n, dtype=float).reshape(n, 2)
        y = np.arange(n)
        got = student.split_data(X, y, fractions, seed=seed)
        expect(isinstance(got, (tuple, list)) and len(got) == 3
               and all(len(part) == 2 for part in got),
               "your split_data must return three (X, y) pairs: train, validation, test.")
        sizes = [len(part[1]) for part in got]
        want = [round(fractions[0] * n), round(fractions[1] * n)]
        want.append(n - sum(want))
        expect(sizes == want, f"your split_data of {n} rows with fractions {fractions} gave "
               f"parts of {sizes} rows; expected {want}.")
        rows = np.concatenate([np.asarray(part[1]) for part in got])
        expect(sorted(rows.tolist()) == list(range(n)),
               f"your split_data of {n} rows loses or repeats rows: every row must land in "
               "exactly one part.")
        for part_X, part_y in got:
            expect(np.array_equal(np.asarray(part_X)[:, 0], 2 * np.asarray(part_y)),
                   "your split_data separates rows from their labels: shuffle X and y with "
                   "the same permutation.")
        expect(rows.tolist() != list(range(n)), "your split_data keeps the rows in order: "
               "shuffle them first, or the parts are not alike.")
        again = student.split_data(X, y, fractions, seed=seed)
        expect(np.array_equal(np.concatenate([np.asarray(p[1]) for p in again]), rows),
               "your split_data gives a different split for the same seed: use "
               "np.random.default_rng(seed).")


@exercise(points=2, stub='''
class EarlyStopping:
    """Stop training when the validation loss has not improved for `patience` epochs.

    update(epoch, val_loss) is called after every epoch (epochs count 0, 1, 2, ...). It
    remembers the best (lowest) loss so far in self.best_loss and its epoch in
    self.best_epoch, and returns True when training should stop: when `patience` epochs
    in a row have passed without a new best. Only a lower loss is a new best: a loss equal
    to the best so far is no improvement (it counts towards the patience).
    Worked number: patience = 2 and the losses 1.0, 0.8, 0.85, 0.7, 0.75, 0.76 give
    False, False, False, False, False, True; best_epoch = 3, best_loss = 0.7.
    """

    def __init__(self, patience):
        self.patience = patience
        self.best_loss = float("inf")
        self.best_epoch = None

    def update(self, epoch, val_loss):
        raise NotImplementedError
''')
def EarlyStopping(student):  # noqa: N802
    """Early stopping on the validation loss"""
    public = [(2, [1.0, 0.8, 0.85, 0.7, 0.75, 0.76]),
              (3, [0.9, 0.95, 0.97, 0.5, 0.6, 0.55, 0.4]),
              (1, [0.5, 0.5])]
    hidden = {"a longer run of losses": lambda rng: (
        int(rng.integers(1, 4)), [float(v) for v in np.round(rng.uniform(0.2, 1, 12), 1)])}
    for patience, losses in cases(public, hidden):
        stop_at, best = _early_stopping(patience, losses)
        stopper = student.EarlyStopping(patience)
        seen = losses if stop_at is None else losses[:stop_at + 1]  # training stops there
        answers = [bool(stopper.update(epoch, loss)) for epoch, loss in enumerate(seen)]
        expected = [epoch == stop_at for epoch in range(len(seen))]
        expect(answers == expected,
               f"your EarlyStopping(patience={patience}) with the validation losses "
               f"{losses} answered {answers}; expected {expected}"
               + (f" (stop at epoch {stop_at}: {patience} epochs without a new best)."
                  if stop_at is not None else " (it never has to stop)."))
        expect(stopper.best_epoch == best and close(stopper.best_loss, losses[best]),
               f"your EarlyStopping(patience={patience}) with the losses {losses} kept "
               f"best_epoch = {stopper.best_epoch}, best_loss = {stopper.best_loss}; "
               f"expected {best} and {losses[best]} (a loss equal to the best is no "
               "improvement).")


def _early_stopping(patience: int, losses: list) -> tuple:
    """(the epoch it stops at or None, the best epoch by then): the reference rule."""
    best, waited = 0, 0
    for epoch, loss in enumerate(losses):
        if epoch == 0 or loss < losses[best]:
            best, waited = epoch, 0
        else:
            waited += 1
            if waited >= patience:
                return epoch, best
    return None, best
