"""Lesson 6: XOR, the problem one layer cannot solve, solved by a hidden layer."""

from chaingrad.lessons.runner import Lesson

TITLE = "XOR: why one layer cannot, and how a hidden layer does"
MINUTES = 15


def run(lesson: Lesson) -> None:
    lesson.step("The XOR problem")
    lesson.say("""
        *Exclusive or* answers 1 when exactly one of its two inputs is 1. In 1969 Minsky
        and Papert showed that the perceptron, a single layer of neurons, cannot compute
        it, and interest in neural networks collapsed for more than a decade. (The
        course's timeline says "late 59's" for their book *Perceptrons*: it is 1969.)
    """)
    v = lesson.code("""
        from chaingrad.nn import data

        X, t = data.xor()
        for (a, b), target in zip(X, t):
            print(f"x₁ = {a:.0f}   x₂ = {b:.0f}   →   XOR = {target}")
    """)
    lesson.check("the XOR truth table", v.t.tolist(), [0, 1, 1, 0])

    lesson.step("Why no single neuron can do it")
    lesson.say("""
        A neuron with the course's step function, `Θ(s) = 0` if `s < 0`, else `1`, answers
        1 when `w₁x₁ + w₂x₂ + b ≥ 0`. Its boundary `w₁x₁ + w₂x₂ + b = 0` is a **straight
        line**. XOR wants `(0,1)` and `(1,0)` on one side and `(0,0)` and `(1,1)` on the
        other: the two pairs sit on crossing diagonals of the square. Write down what
        the four rows demand:

        * `(0,0) → 0`:  `b < 0`
        * `(1,0) → 1`:  `w₁ + b ≥ 0`
        * `(0,1) → 1`:  `w₂ + b ≥ 0`
        * `(1,1) → 0`:  `w₁ + w₂ + b < 0`

        Add the two middle lines: `w₁ + w₂ + 2b ≥ 0`, so `w₁ + w₂ + b ≥ −b > 0`, which
        contradicts the last line. **No weights exist.** The computer agrees: try every
        weight on a grid from −2 to 2 and count how many rows each neuron gets right.
    """)
    v = lesson.code("""
        import itertools
        import numpy as np

        grid = np.linspace(-2, 2, 21)
        best = 0
        for w1, w2, b in itertools.product(grid, grid, grid):
            answers = (w1 * X[:, 0] + w2 * X[:, 1] + b >= 0).astype(int)
            best = max(best, int((answers == t).sum()))
        print(f"best single neuron: {best} of 4 rows right")
    """)
    lesson.check("at most 3 of the 4 rows, whatever the weights", v.best, 3)

    lesson.step("A hidden layer makes new features")
    lesson.say("""
        Two neurons in a **hidden layer** can each draw one line, and an output neuron
        can combine their answers. With the same step function (`Θ(s) = 0` if `s < 0`,
        else `1`, as in lesson 4):

        * `h₁ = Θ(x₁ + x₂ − 0.5)` is **OR** (at least one input is 1),
        * `h₂ = Θ(x₁ + x₂ − 1.5)` is **AND** (both are 1),
        * `y = Θ(h₁ − h₂ − 0.5)`: *OR but not AND*, which is exactly XOR.

        In the new coordinates `(h₁, h₂)` the problem has become linearly separable.
    """)
    v = lesson.code("""
        def step(s: np.ndarray) -> np.ndarray:
            return (s >= 0).astype(int)   # Θ(s): 0 if s < 0, else 1

        h1 = step(X[:, 0] + X[:, 1] - 0.5)
        h2 = step(X[:, 0] + X[:, 1] - 1.5)
        y = step(h1 - h2 - 0.5)
        print("h₁ (OR) =", h1, "  h₂ (AND) =", h2, "  y =", y)
    """)
    lesson.check("the hand-built two-layer network computes XOR", v.y.tolist(), [0, 1, 1, 0])

    lesson.step("Learning the hidden layer with backpropagation")
    lesson.say("""
        We did not have to invent `h₁` and `h₂`: gradient descent finds hidden features
        by itself. `nn.scalar.MLP(2, [4, 1])` has 2 inputs, a hidden layer of 4 `tanh`
        neurons and one linear output neuron; every weight is a `Value`. The error is
        `E = Σ (y − t)²` over the four rows, and each step is `w ← w − η·∂E/∂w`.
    """)
    v = lesson.code("""
        from chaingrad.nn.scalar import MLP

        model = MLP(2, [4, 1], seed=0)
        eta, losses = 0.1, []
        for epoch in range(400):
            E = sum((model(list(x)) - float(target)) ** 2
                    for x, target in zip(X, t))
            model.zero_grad()
            E.backward()
            for w in model.parameters():
                w.data -= eta * w.grad
            losses.append(E.data)
        outputs = [model(list(x)).data for x in X]
        print(f"E: {losses[0]:.3f} → {losses[-1]:.4f}")
        print("outputs:", [round(o, 3) for o in outputs])
        print("answers:", [int(o > 0.5) for o in outputs])
    """)
    lesson.check("the network answers XOR on all four rows",
                 [int(o > 0.5) for o in v.outputs], [0, 1, 1, 0])
    lesson.check("the last error (below 0.05)", v.losses[-1], at_most=0.05)
    lesson.check("the model has 4·(2 + 1) + (4 + 1) = 17 weights", len(v.model.parameters()), 17)

    lesson.step("The whole network as one graph")
    lesson.say("""
        For one input, `(1, 0)`, the network and its error `(y − 1)²` are a graph of
        about forty `Value`s. Each hidden neuron is a weighted sum `Σw·x` (one node),
        plus its bias, through `tanh`. After `backward()`, every weight shows how the
        error would change if it grew: the drawing shows all of it, chain rule included.
    """)
    v = lesson.code("""
        from chaingrad import viz

        model.zero_grad()
        y = model([1.0, 0.0]);  y.name = "y"
        E1 = (y - 1.0) ** 2;    E1.name = "E"
        E1.backward()
        full = viz.draw(E1, out / "06_xor_graph.svg", parameters=model.parameters())
    """)
    lesson.file(v.full, "every node of the 2-4-1 network for the input (1, 0)")
    lesson.say("""
        That picture is big even for five neurons. Grouping the nodes by the neuron
        they belong to (their names start with `L<layer>.N<neuron>`) gives the view a
        textbook draws: four hidden neurons feeding one output neuron. Each box says
        how many nodes it hides, and of which kind, and the value that leaves it: the
        output neuron's box shows the network's answer `y`, and the error's own steps
        (`y − 1`, then squared) come after it.
    """)
    v = lesson.code("""
        neurons = viz.draw(E1, out / "06_xor_neurons.svg",
                           parameters=model.parameters(), collapse_threshold=10)
    """)
    lesson.file(v.neurons, "the same graph, one box per neuron")
    lesson.check("boxes for hidden neurons in the collapsed drawing",
                 sum(f"L1.N{j}" in v.neurons.read_text(encoding="utf-8") for j in range(4)),
                 4)

    lesson.step("The decision boundary")
    lesson.say("""
        Where does the trained network answer 1? Blue where it says 1, orange where
        it says 0. The hidden layer draws two nearly parallel lines (the hand-built
        network's OR and AND lines, learned): the band between them holds `(0,1)` and
        `(1,0)`, with `(0,0)` and `(1,1)` on either side. Noisy copies of the corners
        show how it treats points it never saw.
    """)
    v = lesson.code("""
        from chaingrad.viz.plots import plot_decision_boundary

        X_noisy, t_noisy = data.xor(n=40, noise=0.12, seed=3)
        picture = plot_decision_boundary(model, X_noisy, t_noisy,
                                         out / "06_xor_boundary.svg",
                                         title="2-4-1 network on XOR",
                                         resolution=60)
        correct = [int(model(list(x)).data > 0.5) == target
                   for x, target in zip(X_noisy, t_noisy)]
        print(f"{sum(correct)} of {len(correct)} noisy points on the right side")
    """)
    lesson.file(v.picture, "the band between two lines that a hidden layer makes possible")
    lesson.check("noisy points right, of 40 (at least 36)", sum(v.correct), at_least=36)
    lesson.say("""
        **What to remember:** one layer draws one straight line. A hidden layer computes
        new features in which the problem becomes linear, and backpropagation finds those
        features by itself: the chain rule reaches the hidden weights through the output
        neuron.
    """)
    lesson.say("**Practise it:** homework exercises 1.10 `two_layer_gradients`, 2.6 `train` and 3.2 `train_perceptron` (`chaingrad exercises start N` writes assignment N).")
