"""Lesson 8: optimizers. GD, SGD and mini-batches; momentum and Nesterov; Adagrad, RMSprop,
Adam and Adamax raced on one loss surface."""

import numpy as np

from chaingrad.lessons.runner import Lesson

TITLE = "Optimizers: from gradient descent to Adam, on one loss surface"
MINUTES = 15


def run(lesson: Lesson) -> None:
    lesson.step("Three ways to use the data: GD, SGD, mini-batch")
    lesson.say("""
        Gradient descent repeats `w ← w − η·∇L(w)`. The course computes `∇L` three ways:

        * **gradient descent (GD)**: the loss over *all* `n` examples, then one update;
        * **stochastic GD (SGD)**: one example at a time, in random order;
        * **mini-batch**: random batches of `b` examples, one update per batch.

        One pass over all the data is an **epoch**. With `n = 32` examples, one epoch is
        `1` update for GD, `32/8 = 4` with batches of 8, and `32` for SGD.

        The model is a line `ŷ = w₁·x + w₂` fitted by MSE to 32 noisy points around
        `y = 2x + 1`. Its loss surface in the plane `(w₁, w₂)` is a bowl whose lowest point
        we can compute exactly (least squares, the "normal equations" `AᵀA w = Aᵀy`).
    """)
    v = lesson.code("""
        from typing import Any
        import numpy as np
        from chaingrad.autograd import Tensor
        from chaingrad.nn import data, losses, optim

        X, y = data.linear_regression(32, a=2.0, b=1.0, noise=0.5, seed=0)
        x, t = X[:, 0], y[:, 0]
        A = np.column_stack([x, np.ones_like(x)])
        best = np.linalg.solve(A.T @ A, A.T @ t)      # the bottom of the bowl
        print("lowest point (w₁, w₂) =", best.round(4))

        def full_loss(w1: Any, w2: Any) -> Any:
            \"\"\"MSE over all 32 points, for arrays of (w1, w2) (contours).\"\"\"
            return ((w1[..., None] * x + w2[..., None] - t) ** 2).mean(axis=-1)
    """)
    lesson.check("the lowest point is near the true line's (2, 1): its w₁",
                 v.best[0], 2.0, tol=0.25)

    lesson.step("Ten epochs each: 1, 8 or 32 examples per update")
    lesson.say("""
        `descend` runs plain gradient steps on batches of a given size, from the same
        start `(−2, 3)`, with `η = 0.2`, and keeps the path of `(w₁, w₂)`.
    """)
    v = lesson.code("""
        def descend(batch_size: int, epochs: int = 10, lr: float = 0.2,
                    start: tuple[float, float] = (-2.0, 3.0)) -> np.ndarray:
            \"\"\"Gradient steps on batches of batch_size; returns the path.\"\"\"
            w = Tensor(start, requires_grad=True, name="w")
            optimizer = optim.SGD([w], lr=lr)
            order = np.random.default_rng(0)
            path = [w.data.copy()]
            for epoch in range(epochs):
                for xb, tb in data.batches(x, t, batch_size, seed=order):
                    optimizer.zero_grad()
                    losses.mse(w[0] * xb + w[1], tb).backward()
                    optimizer.step()
                    path.append(w.data.copy())
            return np.array(path)

        paths = {"SGD, batches of 1": descend(1),
                 "mini-batches of 8": descend(8),
                 "GD, all 32 at once": descend(32)}
        for name, path in paths.items():
            distance = np.linalg.norm(path[-1] - best)
            print(f"{name:18} {len(path) - 1:4} updates,"
                  f" ends {distance:.3f} from the lowest point")
    """)
    updates = [len(path) - 1 for path in v.paths.values()]
    lesson.check("10 epochs = 320, 40 and 10 updates", updates, [320, 40, 10])
    lesson.say("""
        In the same 10 epochs (the same work: every example seen 10 times) GD made only 10
        careful steps and is still far away. Mini-batches made 40 cheaper, noisier steps
        and got close. SGD made 320 and arrived early, but it never settles: each single
        example pulls the line its own way, so it keeps jittering around the minimum.
    """)

    lesson.step("Does the loss ever go up? The three paths, drawn")
    lesson.say("""
        Measure the loss over *all* 32 points after every update. GD follows that very
        loss downhill; SGD and mini-batches follow a sample of it, which can point a
        little uphill.
    """)
    v = lesson.code("""
        curve = {name: full_loss(path[:, 0], path[:, 1])
                 for name, path in paths.items()}
        ups = {name: int((np.diff(values) > 0).sum())
               for name, values in curve.items()}
        for name, values in curve.items():
            print(f"{name:18} the full loss went UP in {ups[name]}"
                  f" of {len(values) - 1} updates")
    """)
    lesson.check("updates after which GD's full loss went up", v.ups["GD, all 32 at once"], 0)
    lesson.check("updates after which SGD's full loss went up (at least 1)",
                 v.ups["SGD, batches of 1"], at_least=1)
    v = lesson.code("""
        from chaingrad.viz.plots import plot_optimizer_paths

        picture = plot_optimizer_paths(full_loss, paths,
                                       out / "08_gd_sgd_minibatch.svg",
                                       title="10 epochs on the same 32 points",
                                       minimum=best)
    """)
    lesson.file(v.picture, "contours of the loss and the three paths (the course's GD/SGD figure)")

    lesson.step("Inertia: momentum and Nesterov")
    lesson.say("""
        The course's first improvement is **inertia** (momentum): keep part of the
        previous step,

        `Δw(t+1) = −η·∂E/∂w + α·Δw(t)`.

        (The course prints `α·Δw(t−1)`: a typo in the index, like those in lesson 3's
        table. The new step `Δw(t+1)` keeps part of the step just taken, `Δw(t)`.)

        Steps that agree add up (speed builds along a long valley); steps that alternate
        cancel (less zigzag). `nn.optim.SGD(momentum=α)` keeps a *velocity* `v ← αv + g`
        and steps `w ← w − ηv`, which is the same rule (`Δw = −ηv`).

        By hand on `E(w) = ½w²` (so `∂E/∂w = w`), from `w = 1` with `η = 0.1`, `α = 0.9`:

        * step 1: `Δw = −0.1 · 1 = −0.1`, so `w = 0.9`;
        * step 2: `Δw = −0.1 · 0.9 + 0.9 · (−0.1) = −0.18`, so `w = 0.72`
          (plain GD would give `0.81`).

        **Nesterov** momentum evaluates the push where the velocity is about to carry
        the weight, `w ← w − η(g + αv)`: step 1 gives `w = 1 − 0.1(1 + 0.9) = 0.81`;
        step 2, with `g = 0.81` and `v = 0.9 + 0.81 = 1.71`, gives
        `w = 0.81 − 0.1(0.81 + 0.9 · 1.71) = 0.5751`.
    """)

    lesson.step("Momentum and Nesterov, two steps checked")
    v = lesson.code("""
        from chaingrad.autograd import Value

        def two_steps(**options: Any) -> list[float]:
            w = Value(1.0, name="w")
            optimizer = optim.SGD([w], lr=0.1, **options)
            steps = []
            for _ in range(2):
                optimizer.zero_grad()
                (0.5 * w * w).backward()
                optimizer.step()
                steps.append(w.data)
            return steps

        print("plain GD:", two_steps())
        print("momentum:", two_steps(momentum=0.9))
        print("Nesterov:", two_steps(momentum=0.9, nesterov=True))
    """)
    lesson.check("momentum: w = 0.9, then 0.72", v.two_steps(momentum=0.9), [0.9, 0.72],
                 tol=1e-12)
    lesson.check("Nesterov: w = 0.81, then 0.5751",
                 v.two_steps(momentum=0.9, nesterov=True), [0.81, 0.5751], tol=1e-12)

    lesson.step("A long, narrow valley, and the largest safe learning rate")
    lesson.say("""
        Real loss surfaces are much steeper in some directions than in others. The
        simplest such surface is the elongated bowl

        **E(w₁, w₂) = ½ (w₁² + 20·w₂²)**,

        twenty times steeper across (`w₂`) than along (`w₁`). Here GD can be solved by
        hand: `∂E/∂w₁ = w₁` and `∂E/∂w₂ = 20 w₂`, so one step multiplies

        `w₁` by `(1 − η)` and `w₂` by `(1 − 20η)`.

        With `η = 0.09`, `w₂` is multiplied by `−0.8`: it flips sign every step (a zigzag
        across the valley) while `w₁` crawls along it (×0.91). With `η = 0.11` the factor
        is `−1.2`: every step overshoots further and GD **diverges**. The largest safe
        learning rate is `2 / (steepest curvature) = 2/20 = 0.1`: the steep direction
        limits the step, and the flat direction pays for it.
    """)

    lesson.step("GD in the valley: η = 0.09 and η = 0.11")
    lesson.say("""
        `race` runs an optimizer over the bowl from `(−4, 1)` and keeps its path.
    """)
    v = lesson.code("""
        from collections.abc import Callable

        def bowl(w1: Any, w2: Any) -> Any:
            return 0.5 * (w1 ** 2 + 20 * w2 ** 2)

        def race(make_optimizer: Callable[[list[Tensor]], optim.Optimizer],
                 steps: int = 60,
                 start: tuple[float, float] = (-4.0, 1.0)) -> np.ndarray:
            \"\"\"The path of an optimizer over the bowl.\"\"\"
            w = Tensor(start, requires_grad=True, name="w")
            optimizer = make_optimizer([w])
            path = [w.data.copy()]
            for _ in range(steps):
                optimizer.zero_grad()
                bowl(w[0], w[1]).backward()
                optimizer.step()
                path.append(w.data.copy())
            return np.array(path)

        careful = race(lambda w: optim.SGD(w, lr=0.09))
        reckless = race(lambda w: optim.SGD(w, lr=0.11), steps=20)
        print("η = 0.09, after 60 steps:", careful[-1])
        print("η = 0.11, after 20 steps:", reckless[-1])
    """)
    lesson.check("η = 0.09, 60 steps: w = (−4·0.91⁶⁰, (−0.8)⁶⁰)", v.careful[-1].tolist(),
                 [-4 * 0.91**60, (-0.8) ** 60], tol=1e-12)
    lesson.check("η = 0.11: w₂ after 20 steps = (−1.2)²⁰ ≈ 38.3 (diverging)", v.reckless[-1][1],
                 (-1.2) ** 20, tol=1e-9)

    lesson.step("Adaptive steps: Adagrad, RMSprop, Adam, Adamax")
    lesson.say("""
        The next family gives **every weight its own step size**, by dividing its
        gradient by a running measure of how large that weight's gradients have been:

        * **Adagrad**: `s ← s + g²`, `w ← w − η·g/√s` (all past gradients; steps shrink);
        * **RMSprop**: `s ← 0.99·s + 0.01·g²`, `w ← w − η·g/√s` (a moving average instead);
        * **Adam**: momentum `m ← 0.9m + 0.1g` *and* RMSprop's `v ← 0.999v + 0.001g²`, both
          corrected for starting at zero: `w ← w − η·m̂/√v̂`;
        * **Adamax**: Adam with the largest recent `|g|` in place of `√v`.

        In the bowl the steep direction has large gradients, so its steps are divided by
        a large number; the flat direction's by a small one. The first step shows it
        best. The gradient at the start `(−4, 1)` is `(−4, 20)`, but for Adagrad, Adam and
        Adamax `g/√(g²) = sign(g)`: **every coordinate moves by exactly η**, downhill,
        whatever the size of its gradient. RMSprop's average starts at zero and is not
        corrected, so `√s = √0.01·|g|` and its first step is `10η` in every coordinate.
    """)
    v = lesson.code("""
        first = {
            "Adagrad (η = 0.5)": lambda w: optim.Adagrad(w, lr=0.5),
            "RMSprop (η = 0.05)": lambda w: optim.RMSprop(w, lr=0.05),
            "Adam (η = 0.5)": lambda w: optim.Adam(w, lr=0.5),
            "Adamax (η = 0.5)": lambda w: optim.Adamax(w, lr=0.5),
        }
        moves = {name: race(make, steps=1)[-1] - (-4.0, 1.0)
                 for name, make in first.items()}
        for name, move in moves.items():
            print(f"{name:20} first step moves (w₁, w₂) by", move.round(6))
    """)
    lesson.check("optimizers whose first step is (+0.5, −0.5), of 4",
                 sum(bool(np.allclose(move, [0.5, -0.5], atol=1e-7))
                     for move in v.moves.values()), 4)

    lesson.step("The race on the same surface")
    lesson.say("""
        Now all seven, 60 steps each from `(−4, 1)`. The learning rates are chosen so
        that the first steps are comparable (GD at `η` close to its safe limit, momentum
        and Nesterov at `η = 0.06` with `α = 0.4`, the adaptive methods moving `0.5` at
        first). Different rates would give a different ranking: compare the *shapes* of
        the paths more than the finishing order.
    """)
    v = lesson.code("""
        contenders = {
            "GD": lambda w: optim.SGD(w, lr=0.09),
            "momentum": lambda w: optim.SGD(w, lr=0.06, momentum=0.4),
            "Nesterov": lambda w: optim.SGD(w, lr=0.06, momentum=0.4,
                                            nesterov=True),
            "Adagrad": lambda w: optim.Adagrad(w, lr=0.5),
            "RMSprop": lambda w: optim.RMSprop(w, lr=0.05),
            "Adam": lambda w: optim.Adam(w, lr=0.5),
            "Adamax": lambda w: optim.Adamax(w, lr=0.5),
        }
        routes = {name: race(make) for name, make in contenders.items()}
        for name, route in routes.items():
            print(f"{name:9} E after 60 steps = {bowl(*route[-1]):.2e}")
        start_loss = bowl(-4.0, 1.0)
    """)
    lesson.check("E at the start = ½(16 + 20) = 18", v.start_loss, 18.0)
    finals = [float(v.bowl(*route[-1])) for route in v.routes.values()]
    lesson.check("the highest final E over the start's 18 (at most 1/100)",
                 max(finals) / v.start_loss, at_most=0.01)

    lesson.step("The race, drawn: inertia")
    v = lesson.code("""
        view: dict[str, Any] = dict(
            xrange=(-4.5, 1.5), yrange=(-1, 1.2), minimum=(0, 0),
            title="E = ½(w₁² + 20 w₂²), 60 steps each")
        inertia = {name: routes[name] for name in ("GD", "momentum", "Nesterov")}
        inertia_picture = plot_optimizer_paths(
            bowl, inertia, out / "08_race_momentum.svg", **view)
        for name, route in inertia.items():
            swing = np.abs(route[5:, 1]).max()           # across the valley
            print(f"{name:9} widest |w₂| after step 5: {swing:.3f}"
                  f"   w₁ after 10 steps: {route[10, 0]:.2f}")
    """)
    lesson.file(v.inertia_picture, "GD, momentum and Nesterov over the contours of the bowl")
    lesson.say("""
        In this picture **GD** zigzags across the valley (`w₂` flips sign every step) and
        creeps along it. **Momentum** takes a smaller `η` (0.06) and starts slower, but
        after a few steps travels faster along the valley floor, because the steps along
        it add up, while the swings across cancel: from step 5 on they stay several
        times narrower than GD's. **Nesterov**, looking one step ahead, brakes before it
        overshoots and swings least.
    """)
    lesson.check("steps GD's w₂ flips sign, of 60 (a zigzag)",
                 int((np.diff(np.sign(v.routes["GD"][:, 1])) != 0).sum()), 60)
    gd, momentum = v.routes["GD"], v.routes["momentum"]
    lesson.check("momentum's widest |w₂| after step 5 over GD's (at most ½)",
                 np.abs(momentum[5:, 1]).max() / np.abs(gd[5:, 1]).max(), at_most=0.5)
    lesson.check("steps momentum is behind GD along the floor, of 60 (at most 5)",
                 int((np.abs(momentum[1:, 0]) > np.abs(gd[1:, 0])).sum()), at_most=5)

    lesson.step("The race, drawn: adaptive steps")
    v = lesson.code("""
        names = ("GD", "Adagrad", "RMSprop", "Adam", "Adamax")
        adaptive = {name: routes[name] for name in names}
        adaptive_picture = plot_optimizer_paths(
            bowl, adaptive, out / "08_race_adaptive.svg", **view)
    """)
    lesson.file(v.adaptive_picture, "GD and the four adaptive methods over the same contours")
    lesson.check("widest gap between Adagrad's and RMSprop's paths (under 0.07)",
                 float(np.abs(v.routes["Adagrad"] - v.routes["RMSprop"]).max()), at_most=0.07)
    lesson.say("""
        Here **Adagrad, RMSprop, Adam and Adamax** all start diagonally (equal steps in
        both coordinates, as computed by hand), so they never zigzag: they ignore how
        steep each direction is, which is what a badly scaled problem needs. Adam and
        Adamax also carry momentum, so they overshoot and circle in. On this simple bowl
        the tuned GD family finishes lower; on the bumpy, badly scaled surfaces of real
        networks, with thousands of weights and no time to tune a rate for each, the
        adaptive methods are the safer choice.

        (Adagrad's path shows through the gaps of RMSprop's dashed one: the two nearly
        coincide. At first RMSprop's
        average `0.01·Σg²` is just Adagrad's sum times 0.01, so RMSprop with `η = 0.05`
        takes Adagrad's steps with `η = 0.5`; they part only as old gradients fade
        from RMSprop's average.)
    """)
    lesson.say("""
        **What to remember:** the learning rate is limited by the steepest direction;
        momentum adds inertia; adaptive methods scale each weight's step by its own
        gradient history. Adam (momentum + RMSprop) is the usual first choice, and every
        one of them is a few lines of `nn/optim.py`.
    """)
    lesson.say("**Practise it:** homework exercises 2.1 `gradient_descent_step` and 2.2 `Momentum` (`chaingrad exercises start N` writes assignment N).")
