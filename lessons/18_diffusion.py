"""Lesson 18: diffusion, drawn. Points of two moons are buried in Gaussian noise step by
step; a small MLP learns to predict the noise that was added, and running the steps
backwards turns fresh noise into new points on the moons. Then the same network in
PyTorch."""

import numpy as np

from chaingrad.lessons.runner import Lesson

TITLE = "Diffusion, drawn: from noise back to data, step by step"
MINUTES = 20


def run(lesson: Lesson) -> None:
    lesson.step("Burying data in noise, a little at a time")
    lesson.say("""
        A **diffusion model** learns to make data by learning to *undo noise*. First
        the easy direction, the **forward process**: take a data point `x₀` and, for
        `t = 1, …, T`, shrink it a little and add a little Gaussian noise:

        `x_t = √(1 − β_t)·x_{t−1} + √β_t·ε`,  with `ε ~ N(0, I)` fresh at each step.

        The **schedule** `β_1, …, β_T` says how much noise each step adds. We take
        `T = 50` steps with `β_t = 0.004·t` (from 0.004 to 0.2). The shrinking keeps
        the spread near 1: after enough steps nothing of `x₀` is left and `x_T` is
        plain `N(0, I)` noise. The data: 1,000 points on two moons, centred and
        stretched to about the size of that noise.
    """)
    v = lesson.code("""
        import numpy as np
        from chaingrad.nn import data

        moons, _ = data.moons(1000, noise=0.05, seed=0)
        X = 2 * (moons - [0.5, 0.25])              # x from -3 to 3, y -1.5 to 1.5
        T = 50
        beta = 0.004 * np.arange(T + 1)            # beta[t] for t = 1..T
        beta[0] = 0.0                              # t = 0 is the data itself
        print("β_1, β_2, β_50 =", beta[1], beta[2], beta[T])
    """)
    lesson.check("β_t = 0.004·t, so β_50 = 0.2", v.beta[50], 0.2, tol=1e-12)

    lesson.step("The schedule and how much signal is left")
    lesson.say("""
        Every step multiplies what is left of `x₀` by `√(1 − β_t)`. After `t` steps
        the signal has been multiplied by `√ᾱ_t`, where `ᾱ_t` (alpha-bar) is the
        product `ᾱ_t = (1 − β_1)(1 − β_2)⋯(1 − β_t)`. By hand:
        `ᾱ_1 = 0.996`, `ᾱ_2 = 0.996·0.992 = 0.988032`. Ten steps happen to leave
        `ᾱ_10 ≈ 0.8`, and after all fifty only `ᾱ_50 ≈ 0.004` remains.
    """)
    v = lesson.code("""
        from matplotlib.figure import Figure

        alpha_bar = np.cumprod(1 - beta)           # alpha_bar[0] = 1
        print(f"ᾱ_2 = {alpha_bar[2]:.6f}   ᾱ_10 = {alpha_bar[10]:.4f}"
              f"   ᾱ_50 = {alpha_bar[T]:.4f}")
        figure = Figure(figsize=(6, 3), layout="constrained")
        axes = figure.add_subplot()
        steps = np.arange(T + 1)
        axes.plot(steps[1:], beta[1:], label="β_t, the noise added at step t")
        axes.plot(steps, alpha_bar, label="ᾱ_t, the share of signal left")
        axes.set(xlabel="step t", ylim=(0, 1.05), title="the noise schedule")
        axes.legend()
        schedule = out / "18_schedule.svg"
        figure.savefig(schedule)
    """)
    lesson.check("ᾱ_2 = 0.996 · 0.992", v.alpha_bar[2], 0.988032, tol=1e-12)
    lesson.check("ᾱ_50, below 0.01: nothing of the data is left", v.alpha_bar[50], 0.0,
                 tol=0.01)
    lesson.file(v.schedule, "β_t rises in a straight line; ᾱ_t falls from 1 to 0")

    lesson.step("Jumping straight to step t")
    lesson.say("""
        Two steps of noise add up to one: the sum of two independent Gaussians is a
        Gaussian whose variance is the sum of theirs. So `x_t` can be drawn in **one
        jump** from `x₀`, with no loop:

        `x_t = √ᾱ_t·x₀ + √(1 − ᾱ_t)·ε`.

        By hand at `t = 10`, where `ᾱ_10 = 0.8`: the point `x₀ = (1, 0)` with the
        noise `ε = (0.5, −1)` lands at `(√0.8 + 0.5·√0.2, −√0.2) = (1.118, −0.447)`.
    """)
    v = lesson.code("""
        def noised(x0: np.ndarray, t: int | np.ndarray,
                   eps: np.ndarray) -> np.ndarray:
            \"\"\"q(x_t | x_0): the data after t steps of noise, in one jump.\"\"\"
            a = alpha_bar[t]
            x_t: np.ndarray = np.sqrt(a) * x0 + np.sqrt(1 - a) * eps
            return x_t

        x10 = noised(np.array([1.0, 0.0]), 10, np.array([0.5, -1.0]))
        print("x_10 =", x10.round(4))
    """)
    lesson.check("the first coordinate, √0.8 + 0.5·√0.2", v.x10[0],
                 np.sqrt(0.8) + 0.5 * np.sqrt(0.2), tol=1e-4)
    lesson.check("the second, −√0.2", v.x10[1], -np.sqrt(0.2), tol=1e-4)

    lesson.step("The jump and the loop agree")
    lesson.say("""
        Check the closed form against the loop it replaces: push 20,000 copies of
        the point `(1, 0)` through ten single steps, each with its own fresh noise.
        Their mean should be `√ᾱ_10·(1, 0) = (0.894, 0)` and the spread of each
        coordinate `√(1 − ᾱ_10) = 0.447`, as the jump says.
    """)
    v = lesson.code("""
        rng = np.random.default_rng(1)
        x = np.tile([1.0, 0.0], (20000, 1))
        for t in range(1, 11):
            eps = rng.normal(size=x.shape)
            x = np.sqrt(1 - beta[t]) * x + np.sqrt(beta[t]) * eps
        print("mean", x.mean(axis=0).round(3), "  std", x.std(axis=0).round(3))
    """)
    lesson.check("the loop's mean first coordinate, √0.8 = 0.894", v.x.mean(axis=0)[0],
                 np.sqrt(0.8), tol=0.01)
    lesson.check("the loop's spread, √0.2 = 0.447 (second coordinate)", v.x.std(axis=0)[1],
                 np.sqrt(0.2), tol=0.01)

    lesson.step("The data, noised")
    lesson.say("""
        The whole data set at five steps, each drawn with one jump. By `t = 25`
        (`ᾱ ≈ 0.26`) the moons are a blur; at `t = 50` it is plain noise.
    """)
    v = lesson.code("""
        shown = [0, 5, 10, 25, 50]

        def draw_row(axes: np.ndarray, clouds: dict[int, np.ndarray],
                     name: str) -> None:
            for axis, t in zip(axes, shown):
                axis.scatter(*clouds[t].T, s=2, color="tab:blue")
                axis.set(xlim=(-4, 4), ylim=(-4, 4), xticks=[], yticks=[],
                         aspect="equal", title=f"{name}t = {t}")

        rng = np.random.default_rng(2)
        forward = {t: noised(X, t, rng.normal(size=X.shape)) for t in shown}
        figure = Figure(figsize=(10, 2.3), layout="constrained")
        draw_row(figure.subplots(1, 5), forward, "")
        noising = out / "18_noising.png"
        figure.savefig(noising, dpi=80)
        print(f"spread at t = 50: {forward[50].std():.3f}")
    """)
    lesson.check("the spread of x_50: 1, the noise's, within 0.1",
                 v.forward[50].std(), 1.0, tol=0.1)
    lesson.file(v.noising, "the moons at t = 0, 5, 10, 25 and 50")

    lesson.step("A network that guesses the noise")
    lesson.say("""
        To run the process backwards we need, at every step, the noise that is in
        `x_t`. A network `ε̂(x_t, t)` learns to guess it. It must know `t` (at
        `t = 2` the noise is tiny, at `t = 45` it is nearly everything), so `t` goes
        in as a **time embedding**: `sin` and `cos` of `π·t/T` at frequencies
        1, 2, 4, 8, eight smooth numbers that tell steps apart. With `x_t` that
        makes 10 inputs; two hidden layers of 64 ReLU units, 2 outputs. Weights by
        hand: `10·64 + 64 + 64·64 + 64 + 64·2 + 2 = 4,994`.
    """)
    v = lesson.code("""
        from chaingrad import nn

        def embed(t: np.ndarray) -> np.ndarray:
            \"\"\"The time embedding: sin and cos of pi t / T, four frequencies.\"\"\"
            angle = np.pi * np.outer(t / T, [1, 2, 4, 8])
            return np.concatenate([np.sin(angle), np.cos(angle)], axis=1)

        def inputs(x: np.ndarray, t: np.ndarray) -> np.ndarray:
            return np.concatenate([x, embed(t)], axis=1)

        denoiser = nn.MLP(10, [64, 64, 2], activation="relu", seed=0)
        print("embedding of t = 0:", embed(np.array([0])).round(3))
        print("weights:", denoiser.num_parameters())
    """)
    lesson.check("10·64 + 64 + 64·64 + 64 + 64·2 + 2 weights", v.denoiser.num_parameters(),
                 4994)
    lesson.check("at t = 0 every sin is 0 and every cos 1 (sum of the embedding)",
                 v.embed(np.array([0])).sum(), 4.0)

    lesson.step("Training: the MSE between the noise and its guess")
    lesson.say("""
        One training step: pick 128 data points and a random `t` for each, draw the
        noise `ε`, jump to `x_t`, and ask the network for `ε̂(x_t, t)`. The loss is
        the **MSE between `ε` and `ε̂`**. Guessing 0 always would cost `E[ε²] = 1`.
        6,000 steps of Adam, the last quarter at a tenth of the rate; the step
        captured once, replayed (lesson 10).
    """)
    v = lesson.code("""
        import time
        from chaingrad import Tensor, capture
        from chaingrad.nn.compare import blas_threads

        def noise_loss(x_in: np.ndarray, eps: np.ndarray) -> Tensor:
            loss: Tensor = ((denoiser(x_in) - eps) ** 2).mean()
            return loss

        optimizer = nn.optim.Adam(denoiser.parameters(), lr=0.01)
        rng, losses = np.random.default_rng(3), []
        start = time.process_time()
        with blas_threads(1):              # small matrices: one thread is faster
            for step in range(6000):
                x0 = X[rng.integers(0, len(X), 128)]
                t = rng.integers(1, T + 1, 128)
                eps = rng.normal(size=x0.shape)
                x_t = noised(x0, t[:, None], eps)
                if step == 0:              # recorded once, then replayed
                    train_step = capture(noise_loss, inputs(x_t, t), eps)
                optimizer.zero_grad()
                losses.append(float(train_step(inputs(x_t, t), eps)))
                optimizer.step()
                if step == 4499:
                    optimizer.lr = 0.001
        seconds = time.process_time() - start
        print(f"loss: first step {losses[0]:.3f}, mean of the last 500 steps"
              f" {np.mean(losses[-500:]):.3f}  ({seconds:.0f} s of CPU)")
    """)
    lesson.check("mean loss of the last 500 steps: under 0.5 (0 costs 1)",
                 float(np.mean(v.losses[-500:])), 0.25, tol=0.25)

    lesson.step("Sampling: running the steps backwards")
    lesson.say("""
        Start from pure noise `x_T ~ N(0, I)` and walk back, `t = T, …, 1`
        (**DDPM**, Ho et al. 2020). At each step remove the noise the network sees,
        undo the shrinking, and add a little fresh noise (except at the last step):

        `x_{t−1} = (x_t − β_t/√(1 − ᾱ_t)·ε̂(x_t, t)) / √(1 − β_t) + √β_t·z`.

        `sample` keeps the points at every step, to draw them later.
    """)
    v = lesson.code("""
        from chaingrad import no_grad

        def sample(n: int, seed: int) -> dict[int, np.ndarray]:
            rng = np.random.default_rng(seed)
            x, kept = rng.normal(size=(n, 2)), {}
            for t in range(T, 0, -1):
                kept[t] = x
                with no_grad():
                    guess = denoiser(inputs(x, np.full(n, t))).numpy()
                x = x - beta[t] / np.sqrt(1 - alpha_bar[t]) * guess
                x = x / np.sqrt(1 - beta[t])
                if t > 1:
                    x = x + np.sqrt(beta[t]) * rng.normal(size=x.shape)
            kept[0] = x
            return kept

        reverse = sample(1000, seed=4)
        print("steps kept:", len(reverse), "  points at t = 0:", reverse[0].shape)
    """)
    lesson.check("the points kept at every t = 50, …, 0", len(v.reverse), 51)

    lesson.step("Are the samples on the moons?")
    lesson.say("""
        Measure each sample's distance to its nearest data point, and average. Pure
        noise scores about 0.3; a fresh draw of the moons themselves, with their
        own small noise, about 0.04. The samples should come close to the latter.
    """)
    v = lesson.code("""
        def to_data(points: np.ndarray) -> float:
            \"\"\"Mean distance from each point to its nearest data point.\"\"\"
            gaps = points[:, None, :] - X[None, :, :]
            return float(np.sqrt((gaps ** 2).sum(axis=2)).min(axis=1).mean())

        fresh, _ = data.moons(1000, noise=0.05, seed=5)
        scores = [to_data(reverse[T]), to_data(reverse[0]),
                  to_data(2 * (fresh - [0.5, 0.25]))]
        print("mean distance to the data: noise {:.3f}, samples {:.3f},"
              " fresh moons {:.3f}".format(*scores))
    """)
    lesson.check("samples' distance ÷ noise's distance: under 1/3",
                 v.scores[1] / v.scores[0], 0.0, tol=1 / 3)
    lesson.check("the samples' distance, within 0.05 of fresh moons'",
                 v.scores[1], v.scores[2], tol=0.05)

    lesson.step("The reverse process, drawn")
    lesson.say("""
        The same five steps as before: on top the moons noised forward, below 1,000
        samples on their way back from noise. If the network learned well, each
        step of the way back looks like the same step going forward: the spread of
        the points should match at every `t`. (A few samples end between the
        moons: the network is small and trained for seconds.)
    """)
    v = lesson.code("""
        figure = Figure(figsize=(10, 4.4), layout="constrained")
        rows = figure.subplots(2, 5)
        draw_row(rows[0], forward, "forward, ")
        draw_row(rows[1], reverse, "reverse, ")
        for axis in rows[1]:
            axis.collections[0].set_color("tab:orange")
        walk_back = out / "18_reverse.png"
        figure.savefig(walk_back, dpi=80)
        for t in shown:
            print(f"t = {t:2}: spread forward {forward[t].std():.3f}"
                  f"  reverse {reverse[t].std():.3f}")
        gap = max(abs(reverse[t].std() / forward[t].std() - 1) for t in shown)
    """)
    lesson.check("largest gap between the spreads, as a share: under 10%",
                 v.gap, 0.0, tol=0.1)
    lesson.file(v.walk_back, "top: data to noise; bottom: noise back to data")

    lesson.step("The denoiser's field of arrows")
    lesson.say("""
        What has the network learned? From its guess of the noise in `x` at step
        `t` follows its guess of the clean point, the jump formula solved for `x₀`:
        `x̂₀ = (x − √(1 − ᾱ_t)·ε̂(x, t)) / √ᾱ_t`. Draw an arrow from each point
        of a grid to its `x̂₀`. At `t = 5` (little noise) the arrows from far away
        end on or near the moons; in the hollow between the arcs, where few noised
        points fall at `t = 5`, many barely move. At `t = 15` the data
        were shrunk by `√ᾱ_15 = 0.78` and carry noise of spread 0.62, so the guess
        reaches farther: longer arrows, many ending at the moons' two far tips.
    """)
    v = lesson.code("""
        def clean_guess(x: np.ndarray, t: int) -> np.ndarray:
            with no_grad():
                guess = denoiser(inputs(x, np.full(len(x), t))).numpy()
            a = alpha_bar[t]
            x0: np.ndarray = (x - np.sqrt(1 - a) * guess) / np.sqrt(a)
            return x0

        grid = np.stack(np.meshgrid(np.linspace(-3.5, 3.5, 15),
                                    np.linspace(-2.5, 2.5, 11)), -1).reshape(-1, 2)
        figure = Figure(figsize=(10, 3.6), layout="constrained")
        for axis, t in zip(figure.subplots(1, 2), [5, 15]):
            arrows = clean_guess(grid, t) - grid
            axis.scatter(*X.T, s=1, color="tab:blue")
            axis.quiver(*grid.T, *arrows.T, color="tab:red", angles="xy",
                        scale_units="xy", scale=1, width=0.004)
            axis.set(aspect="equal", title=f"from x to x̂₀ at t = {t}")
        field = out / "18_field.png"
        figure.savefig(field, dpi=80)
        tips = clean_guess(grid, 5)
        print(f"mean distance to the data: grid {to_data(grid):.3f}, "
              f"arrow tips at t = 5 {to_data(tips):.3f}")
    """)
    lesson.check("arrow tips' distance ÷ grid's distance: under 1/2",
                 v.to_data(v.tips) / v.to_data(v.grid), 0.0, tol=0.5)
    lesson.file(v.field, "arrows from each point to the clean point the network guesses")

    lesson.step("The same network in PyTorch")
    lesson.say("""
        The course trains diffusion models in PyTorch. `nn.to_torch` gives the
        same network as a `torch.nn.Sequential` with the same weights. Fed the
        same noised points, it guesses the same noise and has the same loss;
        from here a PyTorch training loop is the one above, with `torch.randn`
        for `rng.normal`. PyTorch is optional (`pip install torch`): without it
        the code below only says so.
    """)
    v = lesson.code("""
        import importlib.util
        has_torch = importlib.util.find_spec("torch") is not None
        if not has_torch:
            print("PyTorch is not installed here (pip install torch)")
        else:
            import torch
            twin = nn.to_torch(denoiser)
            rng = np.random.default_rng(6)
            x0, t = X[:256], rng.integers(1, T + 1, 256)
            eps = rng.normal(size=x0.shape)
            batch = inputs(noised(x0, t[:, None], eps), t)
            ours = ((denoiser(batch) - eps) ** 2).mean().item()
            with torch.no_grad():
                guess = twin(torch.tensor(batch))
                theirs = ((guess - torch.tensor(eps)) ** 2).mean().item()
                gap = np.abs(guess.numpy() - denoiser(batch).numpy()).max()
            print(twin)
            print(f"loss: chaingrad {ours:.6f}   PyTorch {theirs:.6f}")
    """)
    if v.has_torch:
        lesson.check("the largest difference between the two networks' guesses", v.gap,
                     0.0, tol=1e-9)
        lesson.check("PyTorch's loss on the same batch equals ours", v.theirs, v.ours,
                     tol=1e-9)
    lesson.step("What to remember")
    lesson.say("""
        **What to remember:** the forward process buries data in noise with a fixed
        schedule, and `x_t = √ᾱ_t·x₀ + √(1 − ᾱ_t)·ε` jumps to any step at once. A
        network learns to guess `ε` from `x_t` and `t` (an MSE, nothing more), and
        sampling runs the steps backwards, removing the guessed noise each time.
    """)
    lesson.say("""
        **Practise it:** homework exercise 6.1 `noised` (the closed-form jump;
        `chaingrad exercises start 6` writes assignment 6).
    """)
