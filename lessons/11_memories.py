"""Lesson 11: memories and competition. A Hopfield network recalls letters from noise;
a winner-takes-all layer finds clusters without labels."""

import numpy as np

from chaingrad.lessons.runner import Lesson

TITLE = "Memories and competition: Hopfield recall and winner-takes-all"
MINUTES = 12


def run(lesson: Lesson) -> None:
    lesson.step("Three letters as patterns of ±1")
    lesson.say("""
        The course's third family of problems is **autoassociative**: the network is
        given input–input pairs `(x, x)` and learns `x = f(x + ε)`: shown a damaged
        pattern, it returns the clean one. A **Hopfield network** (1982) does this with a
        single layer of units connected to each other, and stores patterns with
        **Hebbian** learning (lesson 4).

        Our patterns are three 7×7 letters. Each of the `N = 49` pixels is a unit with
        state `+1` (ink, `#`) or `−1` (paper, `.`).
    """)
    v = lesson.code("""
        import numpy as np
        from chaingrad.nn.classic import Hopfield

        letters = '''
        #######  ##.....  .#####.
        #######  ##.....  ##...##
        ...#...  ##.....  #.....#
        ...#...  ##.....  #.....#
        ...#...  ##.....  #.....#
        ...#...  #######  ##...##
        ...#...  #######  .#####.
        '''
        rows = [line.split() for line in letters.strip().splitlines()]
        patterns = np.array([[1 if c == "#" else -1 for row in rows for c in row[k]]
                             for k in range(3)])
        print("shape:", patterns.shape)
    """)
    lesson.check("3 patterns of 49 units", list(v.patterns.shape), [3, 49])
    lesson.check("units that are neither +1 nor −1", int((abs(v.patterns) != 1).sum()), 0)

    lesson.step("The letters, drawn with characters")
    v = lesson.code("""
        def pixels(state: np.ndarray, r: int) -> str:
            \"\"\"Row r of a 7×7 state: ██ for +1, · for −1.\"\"\"
            return "".join("██" if state[7 * r + c] > 0 else "· " for c in range(7))

        def show(*states: np.ndarray) -> None:
            \"\"\"Print 7×7 states side by side.\"\"\"
            for r in range(7):
                print("    ".join(pixels(state, r) for state in states))

        show(*patterns)
    """)
    lesson.check("ink pixels: T 7+7+5, L 5·2+2·7, O 5+4+3·2+4+5",
                 [int((p > 0).sum()) for p in v.patterns], [19, 24, 24])

    lesson.step("Storing: the Hebbian rule")
    lesson.say("""
        Storing is one formula, no iterations: **w_ij = (1/N) Σ_p ξᵢᵖ ξⱼᵖ**, with
        `w_ii = 0`. Two pixels that agree in a pattern (both ink or both paper)
        strengthen their connection; two that disagree weaken it. "Cells that fire
        together wire together."

        By hand for the first two pixels of the top row: in **T** both are ink
        (`+1·+1`), in **L** both are ink (`+1·+1`), in **O** the first is paper and the
        second ink (`−1·+1`). So `w₀₁ = (1 + 1 − 1)/49 = 1/49`.
    """)
    v = lesson.code("""
        memory = Hopfield(49).store(patterns)
        W = memory.weights
        print(f"w01 = {W[0, 1]:.5f} = 1/49 = {1 / 49:.5f}")
        print("symmetric:", np.allclose(W, W.T),
              "   zero diagonal:", not np.diag(W).any())
    """)
    lesson.check("w₀₁ = 1/49", v.W[0, 1], 1 / 49, tol=1e-12)
    lesson.check("largest |w_ij − w_ji|: W is symmetric", float(abs(v.W - v.W.T).max()), 0.0)
    lesson.check("and its diagonal is zero: largest |w_ii|", float(abs(v.W.diagonal()).max()),
                 0.0)

    lesson.step("Recall from noise")
    lesson.say("""
        To recall, start from a damaged pattern and update one unit at a time:
        `sᵢ ← sgn(Σⱼ wᵢⱼ sⱼ)`: each pixel takes the side that its connections vote for.
        Repeat until a whole sweep changes nothing.

        Why does it stop? Each update can only lower (or keep) the **energy**
        `E(s) = −½ Σᵢⱼ wᵢⱼ sᵢ sⱼ`, which is bounded below, and the stored patterns sit at
        the bottoms of its valleys. Flip 10 of the 49 pixels of the T (20%) and let the
        network slide downhill.
    """)
    v = lesson.code("""
        rng = np.random.default_rng(0)
        noisy = patterns[0].copy()
        flipped = rng.choice(49, size=10, replace=False)
        noisy[flipped] *= -1
        recalled = memory.recall(noisy, seed=0)
        steps = memory.steps(noisy, seed=0)
        energies = [memory.energy(noisy)] + [energy for _, _, energy in steps]
        show(patterns[0], noisy, recalled)
        print(f"wrong pixels: {int((noisy != patterns[0]).sum())} → "
              f"{int((recalled != patterns[0]).sum())}")
        stored_energy = memory.energy(patterns[0])
        print(f"energy: {energies[0]:.2f} → {energies[-1]:.2f}"
              f"   (T itself: {stored_energy:.2f})")
    """)
    lesson.check("the T is recalled exactly: 0 wrong pixels",
                 int((v.recalled != v.patterns[0]).sum()), 0)
    lesson.check("largest change of the energy in one update (never up: ≤ 0)",
                 float(np.diff(v.energies).max()), at_most=1e-12)

    lesson.step("Fixed points, and all three letters recalled")
    lesson.say("""
        A stored pattern is a **fixed point**: presented clean, nothing changes, because
        every pixel already agrees with the vote of its connections.
    """)
    v = lesson.code("""
        fixed = [bool(np.array_equal(memory.recall(p, seed=0), p))
                 for p in patterns]
        print("T, L, O stay as they are:", fixed)
    """)
    lesson.check("letters (of 3) that are fixed points", sum(v.fixed), 3)
    v = lesson.code("""
        from matplotlib.figure import Figure

        figure = Figure(figsize=(6, 6), layout="constrained")
        grid = figure.subplots(3, 3)
        for k in range(3):  # the T damaged as above, L and O likewise
            damaged = noisy.copy() if k == 0 else patterns[k].copy()
            if k:
                damaged[rng.choice(49, size=10, replace=False)] *= -1
            for column, (state, label) in enumerate(
                    [(patterns[k], "stored"), (damaged, "10 pixels flipped"),
                     (memory.recall(damaged, seed=k), "recalled")]):
                axes = grid[k, column]
                axes.imshow(state.reshape(7, 7), cmap="Greys", vmin=-1, vmax=1)
                axes.set_title(label, fontsize=9)
                axes.set(xticks=[], yticks=[])
        picture = out / "11_hopfield.png"
        figure.savefig(picture, dpi=100)
    """)
    lesson.file(v.picture, "each letter: stored, damaged, and what the network recalled")

    lesson.step("How much can it remember?")
    lesson.say("""
        A Hopfield network's memory is small: about **0.138·N** random patterns, here
        `0.138 · 49 ≈ 6.8`. Store many more and the valleys merge: the stored patterns
        stop being fixed points, and recall lands in mixtures of them ("spurious"
        memories). Store 3, then 15, random patterns and count how many are still fixed
        points.
    """)
    v = lesson.code("""
        random_rng = np.random.default_rng(1)
        kept = {}
        for count in (3, 15):
            stored = random_rng.choice([-1, 1], size=(count, 49))
            crowded = Hopfield(49).store(stored)
            kept[count] = sum(np.array_equal(crowded.recall(p, seed=0), p)
                              for p in stored)
            print(f"{count:2} patterns stored: {kept[count]} still fixed points")
        capacity = memory.capacity
    """)
    lesson.check("capacity = 0.138 · 49", v.capacity, 0.138 * 49, tol=1e-12)
    lesson.check("3 random patterns (below capacity): all 3 kept", int(v.kept[3]), 3)
    lesson.check("15 random patterns (twice the capacity): kept, under 15",
                 int(v.kept[15]), at_most=14)

    lesson.step("Competition: the winner takes all")
    lesson.say("""
        The course's **competitive networks** solve an *unsupervised* problem: only
        inputs `x₁, …, xₙ`, no labels, and the network organises them into clusters.
        Each of `k` units holds a prototype `w_k`. For each input, the unit whose
        prototype is nearest **wins**, and only the winner learns, a step towards the
        input:

        **w_winner ← w_winner + η (x − w_winner)**

        By hand: a prototype at `(0, 0)`, an input at `(1, 2)`, `η = 0.1`: the prototype
        moves to `(0.1, 0.2)`, a tenth of the way.
    """)
    v = lesson.code("""
        prototypes = np.array([[0.0, 0.0], [5.0, 5.0]])
        x = np.array([1.0, 2.0])
        winner = np.argmin(np.linalg.norm(prototypes - x, axis=1))
        prototypes[winner] += 0.1 * (x - prototypes[winner])
        print("winner:", winner, "  prototypes now:", prototypes.tolist())
    """)
    lesson.check("unit 0 wins and moves to (0.1, 0.2)", v.prototypes[0].tolist(), [0.1, 0.2],
                 tol=1e-12)

    lesson.step("Clusters without labels")
    lesson.say("""
        Repeated over the data, each prototype drifts to the middle of the inputs it
        wins. `nn.classic.CompetitiveLayer` does exactly this. Here are 150 points in
        three clouds; the network is *not* told which cloud a point came from.
    """)
    v = lesson.code("""
        from chaingrad.nn import data
        from chaingrad.nn.classic import CompetitiveLayer

        X, _ = data.blobs(150, centers=[[-2, 0], [2, 0], [0, 3]], std=0.5, seed=0)
        layer = CompetitiveLayer(3, 2, lr=0.05, seed=0)
        layer.fit(X, epochs=10)
        clusters = layer.predict(X)
        centres = np.array([X[clusters == k].mean(axis=0) for k in range(3)])
        print("prototypes:\\n", layer.weights.round(2))
        print("mean of the points each unit wins:\\n", centres.round(2))
    """)
    lesson.check("largest prototype-to-mean distance (under 0.2)",
                 float(np.linalg.norm(v.layer.weights - v.centres, axis=1).max()),
                 at_most=0.2)
    lesson.check("the three units split the points 50/50/50",
                 sorted(np.bincount(v.clusters).tolist()), [50, 50, 50])

    lesson.step("Each unit's score")
    lesson.say("""
        A point goes to the nearest prototype, so score each unit by *minus its
        distance*: the highest score wins, and the borders are where two scores tie.
    """)
    v = lesson.code("""
        def closeness(points: np.ndarray) -> np.ndarray:
            \"\"\"Minus the distance from each point to each prototype.\"\"\"
            gaps = points[:, None, :] - layer.weights[None, :, :]
            distances: np.ndarray = np.linalg.norm(gaps, axis=2)
            return -distances

        scores = closeness(X)
        print("the first point's scores:", scores[0].round(2),
              "  highest: unit", scores[0].argmax(), "  winner:", clusters[0])
    """)
    lesson.check("points whose highest score is not their winning unit",
                 int((v.scores.argmax(axis=1) != v.clusters).sum()), 0)

    lesson.step("Each unit's region")
    lesson.say("""
        `plot_decision_boundary` colours the plane by the unit with the highest score.
        The prototypes are added as crosses on the figure the plot returns.
    """)
    v = lesson.code("""
        from chaingrad.viz.plots import plot_decision_boundary

        figure = plot_decision_boundary(
            closeness, X, clusters, title="winner-takes-all: each unit's region",
            class_names={k: f"won by unit {k}" for k in range(3)})
        axes = figure.axes[0]
        axes.set_aspect("equal")  # borders at right angles, as they are
        axes.scatter(layer.weights[:, 0], layer.weights[:, 1], marker="X", s=150,
                     c="black", edgecolors="white", label="prototypes", zorder=4)
        axes.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0))
        regions = out / "11_winner_takes_all.svg"
        figure.savefig(regions)
    """)
    lesson.file(v.regions, "the points coloured by their winning unit, and each unit's region")
    lesson.say("""
        Each region holds the points nearer to one prototype than to the others: the
        borders are straight lines halfway between prototypes. Which unit gets which
        cloud depends only on where the prototypes started.
    """)
    halfway = v.closeness(v.layer.weights[:2].mean(axis=0, keepdims=True))[0]
    lesson.check("halfway between prototypes 0 and 1, their scores differ by",
                 float(halfway[0] - halfway[1]), 0.0, tol=1e-12)
    lesson.say("""
        **What to remember:** a Hopfield network stores patterns in its weights with
        one Hebbian formula and recalls them by sliding downhill in energy, robust to
        noise but with a small capacity (≈ 0.138 N). A competitive layer learns without
        labels: the winner moves towards each input, and the prototypes become the
        centres of the clusters.
    """)
    lesson.say("**Practise it:** homework exercises 3.5 `hopfield_store`, 3.6 `hopfield_recall` and 3.7 `winner_takes_all` (`chaingrad exercises start N` writes assignment N).")

