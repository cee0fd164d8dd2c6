"""Lesson 9: generalization. Train/validation/test, learning curves, overfitting, early
stopping, and replications from random initial weights."""

import math

from chaingrad.lessons.runner import Lesson

TITLE = "Generalization: overfitting, early stopping and replications"
MINUTES = 15


def run(lesson: Lesson) -> None:
    lesson.step("Three sets: train, validation, test")
    lesson.say("""
        A network is useful only if it works on examples it has **not** seen. To measure
        that, the course splits the data in three:

        * **training** data: the loss that `backward()` and the optimizer use;
        * **validation** data: measured during training, never used to compute weights;
          it tells us when to stop and which model to keep;
        * **test** data: used once, at the very end, to report how good the model is.

        There is no fixed recipe for the sizes (80/10/10, 60/20/20, 50/40/10 are all
        common). Here the data are 60 noisy points of `y = sin(x)` (noise of standard
        deviation `0.3`), and we keep the training set deliberately small, 30% = 18
        points, to make overfitting easy to see; validation and test get 21 points each.
    """)
    v = lesson.code("""
        import numpy as np
        from chaingrad import nn
        from chaingrad.nn import data

        X, y = data.curve(60, "sin", noise=0.3, seed=3)
        splits = data.train_val_test_split(X, y, fractions=(0.3, 0.35, 0.35),
                                           seed=0)
        (X_train, y_train), (X_val, y_val), (X_test, y_test) = splits
        print("train", X_train.shape, "  validation", X_val.shape,
              "  test", X_test.shape)
    """)
    lesson.check("0.3 · 60 = 18, 0.35 · 60 = 21, and the rest, 21",
                 [len(v.X_train), len(v.X_val), len(v.X_test)], [18, 21, 21])

    lesson.step("The noise sets a floor")
    lesson.say("""
        One number to keep in mind: the noise itself has variance `0.3² = 0.09`. Even the
        perfect model, `sin(x)`, has an MSE of about **0.09** on new points, because it
        cannot predict the noise. A training loss far below 0.09 means the network has
        learned the noise of its 18 points by heart.
    """)
    v = lesson.code("""
        def true_mse(X: np.ndarray, y: np.ndarray) -> float:
            \"\"\"The MSE of the true curve sin(x) on these points: their noise.\"\"\"
            return float(np.mean((np.sin(X) - y) ** 2))

        noise_train, perfect = true_mse(X_train, y_train), true_mse(X_val, y_val)
        print(f"MSE of sin(x): training points {noise_train:.3f},"
              f" validation points {perfect:.3f}")
    """)
    lesson.check("the true curve's validation MSE, near the noise variance 0.09",
                 v.perfect, 0.09, tol=0.04)
    lesson.say("""
        With so few points, each set's noise differs: these validation points happen to
        lie closer to the sine than the training points. Remember it for the curves.
    """)

    lesson.step("A model that is too big: overfitting")
    lesson.say("""
        Give those 18 points to a network with two hidden layers of 64 units:
        `1·64 + 64 + 64·64 + 64 + 64·1 + 1 = 4,353` weights, more than 200 per training
        point. We train it with Adam on the whole training set each epoch and record the
        validation loss after every epoch (`validation_data=`).
    """)
    v = lesson.code("""
        nn.manual_seed(0)
        big = nn.MLP(1, [64, 64, 1], activation="tanh")
        big.compile(loss="mse", optimizer="adam", lr=0.01)
        history = big.fit(X_train, y_train, epochs=400, batch_size=None,
                          validation_data=(X_val, y_val), verbose=0)
        train_curve = history.history["loss"]
        val_curve = history.history["val_loss"]
        best_epoch = int(np.argmin(val_curve))
        print(f"weights: {big.num_parameters()}")
        print(f"final: training MSE {train_curve[-1]:.4f}, "
              f"validation MSE {val_curve[-1]:.4f}")
        print(f"best validation MSE {min(val_curve):.4f} at epoch {best_epoch + 1}")
    """)
    lesson.check("4,353 weights", v.big.num_parameters(), 4353)
    lesson.check("final training MSE (below the noise, 0.09)", v.train_curve[-1],
                 at_most=0.09)
    lesson.check("final validation MSE (above the noise)", v.val_curve[-1], at_least=0.09)
    lesson.check("final validation MSE over its best (at least 1.5)",
                 v.val_curve[-1] / min(v.val_curve), at_least=1.5)

    lesson.step("Learning curves")
    v = lesson.code("""
        from chaingrad.viz.plots import plot_history

        curves = plot_history(history, out / "09_learning_curves.svg", log=True,
                              title="4,353 weights, 18 training points")
    """)
    lesson.file(v.curves, "training and validation loss, epoch by epoch (log scale)")
    lesson.check("epochs of the first 180 with validation below training (over 150)",
                 sum(val < train for val, train in zip(v.val_curve[:180], v.train_curve)),
                 at_least=151)
    lesson.say("""
        These are the course's **learning curves**. At first both fall together: the
        network is learning the sine. For a long while (to epoch ~175) validation even
        lies *below* training: the model is close to the sine, and the validation points
        are closer to it than the training points (MSE of sin(x) 0.080 against 0.106,
        step 2). Then the curves part: around epoch 180 the training loss drops below
        the noise (the network memorises its 18 points) while the validation loss
        climbs to over twice its best. From then on, more training makes the model
        **worse** on new data. That is **overfitting**. The dotted line marks the
        epoch with the lowest validation loss: with so few points it is an early,
        noisy dip, but every later epoch is worse.
    """)

    lesson.step("Early stopping")
    lesson.say("""
        The course's remedy: **stop learning early**. `nn.EarlyStopping` watches
        `val_loss` after every epoch and stops once it has not improved for `patience`
        epochs; with `restore_best_weights=True` the model goes back to the weights of
        its best epoch. The same network, from the same initial weights:
    """)
    v = lesson.code("""
        nn.manual_seed(0)
        stopped = nn.MLP(1, [64, 64, 1], activation="tanh")
        stopped.compile(loss="mse", optimizer="adam", lr=0.01)
        stopper = nn.EarlyStopping(monitor="val_loss", patience=30,
                                   restore_best_weights=True)
        short = stopped.fit(X_train, y_train, epochs=400, batch_size=None,
                            validation_data=(X_val, y_val), callbacks=[stopper],
                            verbose=0)
        print(f"stopped after {len(short.epoch)} epochs; "
              f"best epoch {stopper.best_epoch + 1}")
        print(f"validation MSE now: {stopped.evaluate(X_val, y_val):.4f}")
    """)
    lesson.check("epochs it ran (long before 400: under 200)", len(v.short.epoch),
                 at_most=199)
    lesson.check("epochs it ran after its best (at least the patience, 30)",
                 len(v.short.epoch) - (v.stopper.best_epoch + 1), at_least=30)
    lesson.check("restored: validation MSE, the smallest of its curve",
                 v.stopped.evaluate(v.X_val, v.y_val), min(v.short.history["val_loss"]),
                 tol=1e-12)

    lesson.step("The test set, used once")
    lesson.say("""
        Now, and only now, the test set: one number for each model, on 21 points neither
        has influenced in any way. (The early-stopped model *was* chosen with the
        validation set, so its validation loss is slightly optimistic; the test loss is
        the honest estimate. With only 21 points it is a noisy one too: more test data
        gives a surer answer.)
    """)
    v = lesson.code("""
        test_big = big.evaluate(X_test, y_test)
        test_stopped = stopped.evaluate(X_test, y_test)
        print(f"test MSE: trained 400 epochs {test_big:.4f}   "
              f"early-stopped {test_stopped:.4f}")
    """)
    lesson.check("test MSE early-stopped over 400 epochs' (below 1: better)",
                 v.test_stopped / v.test_big, at_most=1.0)

    lesson.step("The two fits, drawn")
    lesson.say("""
        Draw both models over the whole range, with the training and validation points.
    """)
    v = lesson.code("""
        from matplotlib.figure import Figure

        grid = np.linspace(-np.pi, np.pi, 300)[:, None]
        figure = Figure(figsize=(6, 4), layout="constrained")
        axes = figure.add_subplot()
        axes.plot(grid, np.sin(grid), color="grey", linestyle=":",
                  label="true curve sin(x)")
        axes.plot(grid, big.predict(grid), color="tab:red",
                  label="400 epochs (overfit)")
        axes.plot(grid, stopped.predict(grid), color="tab:green",
                  label="early stopping")
        axes.scatter(X_train, y_train, color="black", zorder=3,
                     label="training points")
        axes.scatter(X_val, y_val, color="tab:blue", marker="x",
                     label="validation points")
        axes.set(xlabel="x", ylabel="y",
                 title="the same network, trained too long or stopped")
        axes.legend(fontsize=8)
        fits = out / "09_fits.svg"
        figure.savefig(fits)
    """)
    lesson.file(v.fits, "the overfit curve (red) bends towards the black training points")
    lesson.say("""
        The red curve leaves the sine to chase the training points: it wiggles towards
        them, passing close to many (not all: 400 epochs did not finish the job), and
        swings away wherever there are none. The green one stays near the sine.
    """)
    lesson.check("overfit model's training MSE (below its points' noise 0.106)",
                 v.big.evaluate(v.X_train, v.y_train), at_most=v.noise_train)

    lesson.step("Replications: several starts from random weights")
    lesson.say("""
        The course warns that error functions can be highly nonlinear: training can get
        trapped in a **local minimum**, so *several replications of the learning process
        are necessary, from different random initial weights*.

        The smallest example is XOR (lesson 6) with only **2** hidden units: enough in
        principle, but some starting points lead nowhere. `nn.replicate` builds, trains
        and records a fresh model for each of `n` seeds.
    """)
    v = lesson.code("""
        X_xor, y_xor = data.xor()

        def build() -> nn.MLP:
            model = nn.MLP(2, [2, 1], activation="tanh",
                           output_activation="sigmoid")
            model.compile(loss="bce", optimizer="adam", lr=0.05,
                          metrics=["accuracy"])
            return model

        runs = nn.replicate(build, X_xor, y_xor, n=8, epochs=200, batch_size=None)
        rows = zip(runs.seeds, runs.final("loss"), runs.final("accuracy"))
        for seed, loss, accuracy in rows:
            print(f"seed {seed}:  BCE {loss:.4f}   accuracy {accuracy:.0%}")
    """)
    finals = v.runs.final("loss")
    solved = v.runs.final("accuracy") == 1.0
    lesson.check("replications that solve XOR, of 8 (some, not all)", int(solved.sum()),
                 at_least=1, at_most=7)

    lesson.step("Where the stuck runs are stuck")
    lesson.say("""
        The stuck runs are not just slow: their losses sit on values worked out by hand.

        * **½·log 2 ≈ 0.3466**: two points classified with certainty, and the network
          answers `p = ½` for the other two: `(0 + 0 + log 2 + log 2)/4`. Accuracy 50%.
        * **(2·log(3/2) + log 3)/4 ≈ 0.4774**: three points lumped together get their
          average label `p = ⅔` (two of them are 1s), the fourth is right:
          `(log(3/2) + log(3/2) + log 3 + 0)/4`. Accuracy 75%.

        These are the bottoms of the local minima: more epochs will not get out.
    """)
    plateaus = [0.5 * math.log(2), (2 * math.log(1.5) + math.log(3)) / 4]
    stuck = finals[~solved]
    lesson.check("a stuck run's largest distance to those values (under 0.005)",
                 max(min(abs(loss - p) for p in plateaus) for loss in stuck), at_most=0.005)
    v = lesson.code("""
        runs.summary()
        best = int(np.argmin(runs.final("loss")))
        print(f"keep the replication with the lowest loss: seed {runs.seeds[best]}")
    """)
    lesson.check("the best replication solved XOR", v.runs.final("accuracy")[v.best], 1.0)
    lesson.say("""
        **What to remember:** judge a model on data it has not trained on. Watch the
        validation curve, stop where it is lowest, keep the test set for the very end,
        and train several times from different random weights, keeping the best (by
        validation loss, in a real problem).
    """)
    lesson.say("**Practise it:** homework exercises 2.7 `split_data` and 2.8 `EarlyStopping` (`chaingrad exercises start N` writes assignment N).")
