"""Lesson 14: diagnosis. Reading learning curves from real runs, bias and variance,
choosing K in k-NN, parameters against hyper-parameters, and the output layer's
activation and loss for each kind of task."""

import math

import numpy as np

from chaingrad.lessons.runner import Lesson

TITLE = "Diagnosis: learning curves, bias and variance, choosing K, the output layer"
MINUTES = 25


def run(lesson: Lesson) -> None:
    lesson.step("Two noisy circles, split three ways")
    lesson.say("""
        Learning curves (training and validation loss, epoch by epoch) tell whether
        a model is too simple, too flexible, or trained with a wrong learning rate.
        Four real runs will show it, on two noisy **circles** (label 1 inside, 0
        outside). Three runs train on 60 points, the fourth on ten times more, and
        all four are judged on the same 100 validation points.
    """)
    v = lesson.code("""
        import numpy as np
        from chaingrad import nn
        from chaingrad.nn import data

        X, y = data.circles(760, noise=0.2, seed=1)
        X_small, y_small = X[:60], y[:60]          # a small training set
        X_val, y_val = X[60:160], y[60:160]        # validation, for every run
        X_large, y_large = X[160:], y[160:]        # ten times more training data
        print("labels 1 (inside) among the validation points:", int(y_val.sum()))
    """)
    lesson.check("small training, validation and large training sets",
                 [len(v.X_small), len(v.X_val), len(v.X_large)], [60, 100, 600])

    lesson.step("Four training runs to read")
    lesson.say("""
        Each run is an MLP with a sigmoid output and the BCE loss, trained for 300
        epochs on all its rows at once:
    """)
    v = lesson.code("""
        def train(sizes: list[int], X: np.ndarray, y: np.ndarray,
                  optimizer: str, lr: float) -> dict[str, list[float]]:
            \"\"\"300 epochs, all rows per step; returns the History's dict.\"\"\"
            nn.manual_seed(0)
            model = nn.MLP(2, sizes, output_activation="sigmoid")
            model.compile(loss="bce", optimizer=optimizer, lr=lr)
            return model.fit(X, y, epochs=300, batch_size=None,
                             validation_data=(X_val, y_val), verbose=0).history

        print("training four models (a few seconds) ...")
        runs = {
            "underfitting": train([1], X_small, y_small, "adam", 0.05),
            "overfitting": train([64, 64, 1], X_small, y_small, "adam", 0.01),
            "learning rate too high": train([8, 1], X_small, y_small, "sgd", 10.0),
            "good fit": train([8, 1], X_large, y_large, "adam", 0.03),
        }
        for name, curves in runs.items():
            print(f"{name:23} last epoch: training {curves['loss'][-1]:.3f}"
                  f"   validation {curves['val_loss'][-1]:.3f}")
    """)
    lesson.check("four runs of 300 epochs each",
                 sum(len(curves["loss"]) for curves in v.runs.values()), 1200)

    lesson.step("The gallery of learning curves")
    lesson.say("""
        The four set-ups: **underfitting**, `MLP(2, [1])`, a single sigmoid neuron
        (3 weights, a straight boundary, for circles!); **overfitting**, two hidden
        layers of 64 (4,417 weights) on the 60 points; **learning rate too high**,
        8 hidden units and plain gradient descent with `η = 10`; **good fit**, the
        same 8 hidden units (33 weights) with Adam, on the 600 points.
    """)
    v = lesson.code("""
        from matplotlib.figure import Figure

        figure = Figure(figsize=(10, 7), layout="constrained")
        panels = dict(zip(runs, figure.subplots(2, 2).ravel()))
        for name, axes in panels.items():
            curves = runs[name]
            epochs = np.arange(1, 301)
            axes.semilogy(epochs, curves["loss"], label="training")
            axes.semilogy(epochs, curves["val_loss"], "--", label="validation")
            axes.axhline(np.log(2), color="grey", linestyle=":", zorder=0,
                         label="log 2 (answer ½ everywhere)")
            axes.set(xlabel="epoch", ylabel="BCE loss (log scale)", ylim=(1e-3, 30))
            axes.set_title(f"{name}: last training {curves['loss'][-1]:.3f}, "
                           f"validation {curves['val_loss'][-1]:.3f}", fontsize=10)
        best = int(np.argmin(runs["overfitting"]["val_loss"])) + 1
        panels["overfitting"].axvline(best, color="tab:red", linewidth=0.8,
                                      label=f"best validation, epoch {best}")
        for axes in panels.values():
            axes.legend(fontsize=8, loc="lower left")
        gallery = out / "14_learning_curves_gallery.svg"
        figure.savefig(gallery)
    """)
    lesson.file(v.gallery, "four runs, four shapes of learning curves (log scale)")
    lesson.say("""
        The grey dotted line is `log 2 ≈ 0.693`: the BCE of a model that answers
        `p = ½` for every point, knowing nothing.
    """)
    under = v.runs["underfitting"]
    lesson.check("underfitting: final training loss over log 2 (0.95 to 1.05)",
                 under["loss"][-1] / math.log(2), at_least=0.95, at_most=1.05)

    lesson.step("Reading the four shapes")
    lesson.say("""
        * **Underfitting** (top left): both curves flatten early, **high and close
          together**. More epochs will not help: the model is too simple. A line
          cannot separate a circle from its ring, so it stays near "knowing nothing".
        * **Overfitting** (top right): training loss keeps falling towards 0 while
          validation loss reaches its lowest point (red line) and then **climbs**:
          the network learns the 60 points by heart. Stop early (lesson 9), use a
          smaller model or more data.
        * **Learning rate too high** (bottom left): within a few epochs the loss
          **jumps up**, far above log 2, and stays: the first steps overshoot so
          far that the units saturate (the hidden tanh units end at ±1, every
          answer is a sure 0 or 1), the gradients all but vanish, and the net is
          stuck, confidently wrong on many points. Lower `η`.
        * **Good fit** (bottom right): both curves fall together and level off
          close to each other, well below log 2.
    """)
    curves = v.runs["overfitting"]
    lowest, last = min(curves["val_loss"]), curves["val_loss"][-1]
    lesson.check("overfitting: final over lowest validation loss (over 1.5)",
                 last / lowest, at_least=1.5)
    lesson.check("overfitting: final training loss (under 0.01)", curves["loss"][-1],
                 at_most=0.01)
    high = v.runs["learning rate too high"]["loss"]
    lesson.check("too high: largest training loss over log 2 (over 10)",
                 max(high) / math.log(2), at_least=10)
    good = v.runs["good fit"]
    gap = abs(good["val_loss"][-1] - good["loss"][-1])
    lesson.check("good fit: final training and validation apart by (under 0.05)", gap,
                 at_most=0.05)
    lesson.check("good fit: the larger final loss (under log 2 / 2 = 0.347)",
                 max(good["loss"][-1], good["val_loss"][-1]), at_most=math.log(2) / 2)

    lesson.step("Bias and variance")
    lesson.say("""
        The course asks for models that *generalize well to new unseen samples
        (bias–variance trading)*. Imagine drawing many training sets from the same
        source and training one model on each. At a point `x` with true value
        `f(x)` and noise of variance `σ²`, the expected squared error splits in three:

        **E[(y − ŷ)²] = (E[ŷ] − f)² + Var[ŷ] + σ²  =  bias² + variance + noise**

        * **bias**: how far the *average* model is from the truth (too simple);
        * **variance**: how much the model changes from one training set to the
          next (too flexible: it follows the noise);
        * **noise**: what no model can predict.

        We measure all three with the simplest model that has a knob: **k nearest
        neighbours** for regression, which predicts the mean `y` of the `K`
        training points closest to `x`. The data are lesson 9's: `y = sin(x)` plus
        noise of `σ = 0.3` (so `σ² = 0.09`), 30 points per training set.
    """)
    v = lesson.code("""
        def knn_regress(x_train: np.ndarray, y_train: np.ndarray,
                        x: np.ndarray, k: int) -> np.ndarray:
            \"\"\"The mean y of the k training points nearest to each x.\"\"\"
            distances = np.abs(x[:, None] - x_train[None, :])
            nearest = np.argsort(distances, axis=1)[:, :k]
            means: np.ndarray = y_train[nearest].mean(axis=1)
            return means

        guess = knn_regress(np.array([0.0, 1.0, 2.0]), np.array([0.0, 10.0, 20.0]),
                            np.array([0.9]), k=2)[0]
        guess
    """)
    lesson.check("K = 2 at x = 0.9 averages the y of x = 1 and x = 0: (10 + 0)/2",
                 v.guess, 5.0)

    lesson.step("Bias and variance, measured")
    v = lesson.code("""
        grid = np.linspace(-np.pi, np.pi, 100)     # where we look
        truth = np.sin(grid)
        rng = np.random.default_rng(0)
        parts = {}
        for k in [1, 2, 4, 8, 16, 30]:
            sets = [data.curve(30, "sin", noise=0.3, seed=s) for s in range(200)]
            guesses = np.array([knn_regress(x_s.ravel(), y_s.ravel(), grid, k)
                                for x_s, y_s in sets])   # (200 sets, 100 points)
            bias2 = np.mean((guesses.mean(axis=0) - truth) ** 2)
            variance = np.mean(guesses.var(axis=0))
            new_y = truth + rng.normal(0, 0.3, guesses.shape)   # unseen points
            test = np.mean((guesses - new_y) ** 2)
            parts[k] = (bias2, variance, test)
            print(f"K = {k:2}: bias² {bias2:.3f}  variance {variance:.3f}  "
                  f"sum + 0.09 = {bias2 + variance + 0.09:.3f}  test {test:.3f}")
    """)
    worst = max(abs(b + var + 0.09 - t) / t for b, var, t in v.parts.values())
    lesson.check("largest gap of bias² + variance + 0.09 to test MSE (< 0.03)",
                 worst, at_most=0.03)
    lesson.say("""
        By hand: with `K = 1` the guess is one noisy neighbour, so the variance is
        about `σ²` and the test error about `2σ² = 0.18`. With `K = 30` the guess is
        the mean of all points, about 0, so the bias² is the mean of `sin²`, `½`.
    """)
    lesson.check("K = 1: test MSE over 2σ² = 0.18 (0.9 to 1.1)", v.parts[1][2] / 0.18,
                 at_least=0.9, at_most=1.1)
    lesson.check("K = 30: bias² over ½ (0.95 to 1.05)", v.parts[30][0] / 0.5,
                 at_least=0.95, at_most=1.05)

    lesson.step("The bias–variance picture")
    v = lesson.code("""
        ks = list(parts)
        bias2, variance, test = (np.array(c) for c in zip(*parts.values()))
        figure = Figure(figsize=(7, 4.2), layout="constrained")
        axes = figure.add_subplot()
        axes.plot(ks, bias2, "o-", label="bias²")
        axes.plot(ks, variance, "s-", label="variance")
        axes.plot(ks, bias2 + variance + 0.09, "-", color="black",
                  label="bias² + variance + noise (0.09)")
        axes.plot(ks, test, "x", color="tab:red", markersize=10,
                  label="test MSE, measured on new points")
        axes.axhline(0.09, color="grey", linestyle=":", label="noise σ² = 0.09")
        axes.set(xscale="log", xticks=ks, xticklabels=[str(k) for k in ks],
                 xlabel="K (number of neighbours averaged)", ylabel="MSE",
                 title="k-NN regression of sin(x), 200 training sets of 30")
        axes.legend(fontsize=8, loc="upper center")
        trade = out / "14_bias_variance.svg"
        figure.savefig(trade)
        best_k = ks[int(np.argmin(test))]
        print(f"lowest test MSE at K = {best_k}")
    """)
    lesson.file(v.trade, "bias² and variance against K; their sum is U-shaped")
    lesson.check("the best K: neither the smallest nor the largest (2 to 29)", v.best_k,
                 at_least=2, at_most=29)
    lesson.say("""
        Small `K` is the flexible model: low bias, high variance (0.10 at `K = 1`).
        Large `K` is the rigid one: low variance (0.02 at `K = 30`), high bias. The
        best `K` sits between, where the sum is lowest: that is the trade.
    """)

    lesson.step("Choosing K in k-NN")
    lesson.say("""
        The course: *k-NN depends on a single parameter (K) to be tuned
        (generalization depends on K)*, and *increasing model complexity can result
        in overfitting*. Back to classification (`nn.compare.knn_predict`: the
        majority label of the K nearest points), on new circles: 300 points to
        train, 300 to validate, 300 to test. With `K = 1` every training point is
        its own nearest neighbour, so the **training error is 0**, a perfect score
        that says nothing about new points.
    """)
    v = lesson.code("""
        from chaingrad.nn.compare import knn_predict

        X, y = data.circles(900, noise=0.2, seed=2)
        y = y.ravel().astype(int)
        X_train, y_train = X[:300], y[:300]
        X_val, y_val = X[300:600], y[300:600]
        X_test, y_test = X[600:], y[600:]

        def error(k: int, X: np.ndarray, y: np.ndarray) -> float:
            return float(np.mean(knn_predict(X_train, y_train, X, k) != y))

        ks = [1, 3, 5, 9, 13, 19, 29, 45, 69, 99, 149, 199]
        train_errors = [error(k, X_train, y_train) for k in ks]
        val_errors = [error(k, X_val, y_val) for k in ks]
        chosen = ks[int(np.argmin(val_errors))]
        print(f"K = 1: training error {train_errors[0]:.0%}, "
              f"validation error {val_errors[0]:.1%}")
        print(f"lowest validation error {min(val_errors):.1%} at K = {chosen}")
        test_error = error(chosen, X_test, y_test)
        print(f"test error of K = {chosen}: {test_error:.1%}")
    """)
    lesson.check("K = 1 fits the training set perfectly: training error",
                 v.train_errors[0], 0.0)
    lesson.check(f"K = 1's validation error minus K = {v.chosen}'s (above 0)",
                 v.val_errors[0] - min(v.val_errors), at_least=1e-9)

    lesson.step("The K picture")
    v = lesson.code("""
        figure = Figure(figsize=(7, 4.2), layout="constrained")
        axes = figure.add_subplot()
        axes.plot(ks, train_errors, "o-", label="training error")
        axes.plot(ks, val_errors, "s--", label="validation error")
        axes.axvline(chosen, color="tab:green", linewidth=0.8,
                     label=f"chosen by validation: K = {chosen}")
        axes.plot([chosen], [test_error], "*", color="tab:red", markersize=20,
                  markerfacecolor="none", markeredgewidth=1.8, zorder=5,
                  label=f"its test error, {test_error:.1%}")    # on top
        axes.annotate("test", (chosen, test_error), xytext=(10, -16),
                      textcoords="offset points", color="tab:red")
        axes.set(xscale="log", xticks=ks, xticklabels=[str(k) for k in ks],
                 xlabel="K (← more flexible · more rigid →)",
                 ylabel="fraction misclassified",
                 title="k-NN on circles: 300 training points")
        axes.legend(fontsize=8, loc="upper left")
        choose_k = out / "14_choose_k.svg"
        figure.savefig(choose_k)
        ones = knn_predict(X_train, y_train, X_val, 199).mean()
        print(f"K = 199 answers class 1 for {ones:.0%} of the validation points")
    """)
    lesson.file(v.choose_k, "training and validation error against K; the chosen K")
    lesson.say("""
        Reading right to left, K falls and the model grows more flexible: the
        training error falls to 0 at `K = 1`, while the validation error falls, then
        rises again: overfitting, as in the gallery's top right. At the far right,
        two thirds of the training set vote on every point and the answer is the
        same everywhere: underfitting, as top left. The test set is used once, for
        the chosen `K` (the hollow star).
    """)
    lesson.check("K = 199: share of validation points wrong (near ½: 0.4 to 0.6)",
                 v.val_errors[-1], at_least=0.4, at_most=0.6)
    lesson.check("K = 199 gives one answer everywhere: fraction of class 1", v.ones, 1.0)

    lesson.step("Parameters and hyper-parameters")
    lesson.say("""
        The course's summary separates two kinds of numbers:

        * **parameters**: the weights and biases, learned by gradient descent;
        * **hyper-parameters**: chosen by us, not learnable by gradient descent:
          the number, type and size of the layers, the activations, the loss, the
          optimizer and its settings, the learning rate, the batch size, the
          number of epochs, and k-NN's `K`.

        `backward()` gives a gradient to every parameter and to nothing else; a
        hyper-parameter is chosen on the **validation** set (as `K` just was), never
        on the training set (`K = 1` would always win) and never on the test set.
        By hand, the good-fit model `MLP(2, [8, 1])` has `2·8 + 8` weights and
        biases in its hidden layer and `8·1 + 1` in its output layer: **33**.
    """)
    v = lesson.code("""
        nn.manual_seed(0)
        model = nn.MLP(2, [8, 1], output_activation="sigmoid")
        model.compile(loss="bce", optimizer="adam", lr=0.03)   # 3 hyper-parameters
        loss = nn.losses.bce(model(X_small), y_small)
        loss.backward()
        for p in model.parameters():
            print(f"{p.name:9} shape {str(p.data.shape):7} gradient {p.grad.shape}")
        print("parameters:", model.num_parameters())
    """)
    lesson.check("33 parameters", v.model.num_parameters(), 33)
    lesson.check("every parameter received a gradient (count of the 4 tensors)",
                 sum(p.grad is not None for p in v.model.parameters()), 4)

    lesson.step("The output layer: activation and loss for the task")
    lesson.say("""
        The course: *the activation function of the output layer must be set
        depending on the problem*, and so must the loss:

        | task | output activation | loss |
        |---|---|---|
        | regression, `y` any real number | linear (none) | MSE (or MAE) |
        | two classes, `y` in {0, 1} | sigmoid | binary cross-entropy |
        | K classes, `y` one of K labels | softmax | categorical cross-entropy |

        Each pair fits. First, the output has the right range: any number; a
        probability; K probabilities that add up to 1. The softmax of two rows of
        scores `s` (the output layer's input), for N = 2 examples and K = 3:
    """)
    v = lesson.code("""
        from collections.abc import Callable

        from chaingrad.autograd import Tensor
        from chaingrad.nn import functional, losses

        s = np.array([[2.0, -1.0, 0.5], [0.0, 1.0, -2.0]])   # N = 2 examples
        softmax = functional.softmax(Tensor(s)).data
        print(softmax.round(3))
    """)
    lesson.check("each softmax row adds up to 1 (both rows)", v.softmax.sum(axis=1),
                 np.ones(2), tol=1e-12)

    lesson.step("The gradient at the output: prediction − target")
    lesson.say("""
        Second, the gradient at the output's input `s` comes out as
        **prediction − target** (over N; times 2 for the MSE).
        (`nn.losses.cross_entropy` takes the scores `s` and applies the softmax
        itself, in one stable step, as PyTorch does.)
    """)
    v = lesson.code("""
        def gradient(loss: Callable[..., losses.Loss], scores: np.ndarray,
                     target: np.ndarray) -> np.ndarray:
            s = Tensor(scores, requires_grad=True)
            loss(s, target).backward()
            return s.grad

        y = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])     # targets
        regression = gradient(losses.mse, s, y)
        binary = gradient(lambda s, y: losses.bce(s.sigmoid(), y), s, y)
        labels = np.array([0, 2])                            # K = 3 classes
        classes = gradient(losses.cross_entropy, s, labels)
    """)
    sigmoid = 1 / (1 + np.exp(-v.s))
    one_hot = np.eye(3)[v.labels]
    gaps = [np.abs(v.regression - 2 * (v.s - v.y) / 6).max(),
            np.abs(v.binary - (sigmoid - v.y) / 6).max(),
            np.abs(v.classes - (v.softmax - one_hot) / 2).max()]
    lesson.check("linear + MSE: ∂L/∂s = 2(ŷ − y)/6; largest difference", gaps[0], 0.0,
                 tol=1e-12)
    lesson.check("sigmoid + BCE: ∂L/∂s = (p − y)/6; largest difference", gaps[1], 0.0,
                 tol=1e-6)
    lesson.check("softmax + CE: ∂L/∂s = (softmax − one-hot)/2; largest difference",
                 gaps[2], 0.0, tol=1e-12)

    lesson.step("What a wrong pair costs")
    lesson.say("""
        Two mistakes to check by hand:
        * **a sigmoid output for regression**: the output never leaves (0, 1).
          For targets of `3`, the MSE can never fall below `(3 − 1)² = 4`.
        * **the MSE after a sigmoid, for classification**: a confident wrong answer,
          score `s = −8` for a label `1`, gets the gradient `2(p − 1)·p(1 − p)`,
          nearly 0, so it is hardly corrected. The BCE gives `p − 1 ≈ −1`.
    """)
    v = lesson.code("""
        wrong = nn.MLP(1, [8, 1], output_activation="sigmoid")
        wrong.compile(loss="mse", optimizer="adam", lr=0.05)
        inputs, targets = np.linspace(0, 1, 20)[:, None], np.full((20, 1), 3.0)
        stuck = wrong.fit(inputs, targets, epochs=100, verbose=0).history["loss"]
        print(f"sigmoid output, targets 3: MSE after 100 epochs {stuck[-1]:.3f}")
        wrong_s, one = np.array([[-8.0]]), np.ones((1, 1))    # sure, and wrong
        with_mse = gradient(lambda s, y: losses.mse(s.sigmoid(), y), wrong_s, one)
        with_bce = gradient(lambda s, y: losses.bce(s.sigmoid(), y), wrong_s, one)
        print(f"∂L/∂s at s = −8, label 1:  MSE {with_mse.item():.6f}"
              f"   BCE {with_bce.item():.4f}")
    """)
    lesson.check("the sigmoid model's final MSE (stays above 4)", v.stuck[-1], at_least=4)
    lesson.check("BCE's gradient over MSE's (over 1,000)",
                 v.with_bce.item() / v.with_mse.item(), at_least=1000)
    lesson.say("""
        **What to remember:** read the learning curves first: high and together is
        underfitting, apart and climbing is overfitting, jumping up is a learning rate
        too high. Choose hyper-parameters such as `K` on the validation set. Match the
        output layer to the task: linear + MSE, sigmoid + BCE, softmax + CE.
    """)
    lesson.say("**Practise it:** homework exercises 2.7 `split_data` and 2.8 `EarlyStopping` (`chaingrad exercises start N` writes assignment N).")
