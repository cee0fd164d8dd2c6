"""Lesson 4: the first neurons: McCulloch–Pitts, the perceptron, Hebbian learning, ADALINE."""

from chaingrad.lessons.runner import Lesson

TITLE = "The first neurons: McCulloch–Pitts, perceptron, Hebb, ADALINE"
MINUTES = 15


def run(lesson: Lesson) -> None:
    lesson.step("McCulloch–Pitts (1943): logic from a threshold")
    lesson.say("""
        Warren McCulloch, a neuroscientist, and Walter Pitts, a logician, modelled a
        neuron as a unit that adds its weighted inputs and **fires (1) when the sum
        reaches a threshold θ**, and stays silent (0) otherwise:

        **y = Θ(w₁x₁ + w₂x₂ + … − θ)**,   with `Θ(s) = 1` if `s ≥ 0`, else `0`.

        A positive weight is an *excitatory* synapse, a negative one *inhibitory*.
        Nothing is learned: the weights and θ are chosen by hand. With weights `(1, 1)`,
        `θ = 2` gives AND (both inputs must fire) and `θ = 1` gives OR; one inhibitory
        weight `−1` with `θ = 0` gives NOT.
    """)
    v = lesson.code("""
        from chaingrad.nn.classic import AND, NOT, OR

        for gate in (AND, OR):
            X, y = gate.truth_table()
            print(gate, " ", [f"{a:.0f}{b:.0f}→{out}" for (a, b), out in zip(X, y)])
        X, y = NOT.truth_table()
        print(NOT, " ", [f"{a:.0f}→{out}" for (a,), out in zip(X, y)])
    """)
    lesson.check("AND on 00, 01, 10, 11", v.AND.truth_table()[1].tolist(), [0, 0, 0, 1])
    lesson.check("OR on 00, 01, 10, 11", v.OR.truth_table()[1].tolist(), [0, 1, 1, 1])
    lesson.check("NOT on 0, 1", v.NOT.truth_table()[1].tolist(), [1, 0])
    lesson.say("""
        The course writes the threshold as one more weight: `y = f(wᵀx)` with an extra
        input `x₀ = −1` whose weight is θ, since `w·x − θ = w·x + θ·(−1)`. Learning the
        threshold is then the same as learning a weight, the **bias** `b = −θ`.
    """)

    lesson.step("Rosenblatt's perceptron (1958): learning from mistakes")
    lesson.say("""
        Frank Rosenblatt kept the threshold unit, `y = Θ(w·x + b)`, and let it **learn**
        its weights from examples. Show it the examples one at a time; when it answers
        wrongly, move the weights towards the right answer:

        **w ← w + η (t − y) x**,   **b ← b + η (t − y)**

        `t − y` is `+1` (it should have fired), `−1` (it should not have) or `0` (right:
        no change). Run the rule by hand on OR, from `w = (0, 0)`, `b = 0`, `η = 1`:
    """)
    v = lesson.code("""
        import numpy as np
        from chaingrad.nn import data

        X, t = data.or_gate()
        w, b = np.zeros(2), 0.0
        for epoch in range(1, 10):
            mistakes = 0
            for x, target in zip(X, t):
                y = int(w @ x + b >= 0)
                if y != target:
                    w, b = w + (target - y) * x, b + (target - y)
                    mistakes += 1
            print(f"epoch {epoch}: mistakes {mistakes}   w = {w}   b = {b:+.0f}")
            if mistakes == 0:
                break
    """)
    lesson.say("""
        Follow the first epoch by hand: at `(0,0)` the sum is `0`, so `Θ(0) = 1`, but OR
        says 0: `b` drops to `−1`. At `(0,1)` the sum is `−1`, so it answers 0 but
        should say 1: `w` gains `x = (0, 1)` and `b` returns to `0`. Two mistakes. Three
        more updates later, an epoch passes without mistakes: `w = (1, 1)`, `b = −1`.
    """)
    lesson.check("the rule by hand ends at w = (1, 1), b = −1", (*v.w.tolist(), v.b),
                 (1.0, 1.0, -1.0))

    lesson.step("The same rule in nn.classic.Perceptron")
    lesson.say("""
        `nn.classic.Perceptron` runs the same rule, keeps the number of mistakes of each
        epoch in `history`, and can say in words where it ended.
    """)
    v = lesson.code("""
        import textwrap
        from chaingrad.nn.classic import Perceptron

        perceptron = Perceptron(2)
        print("mistakes per epoch:", perceptron.fit(X, t))
        print(textwrap.fill(perceptron.explain(), 78))
    """)
    lesson.check("nn.classic.Perceptron makes the same mistakes: 2, 2, 1, 0",
                 v.perceptron.history, [2, 2, 1, 0])
    lesson.say("""
        The **perceptron convergence theorem**: if some straight line separates the two
        classes, this rule finds one after finitely many mistakes.
    """)

    lesson.step("A picture of the perceptron's line")
    lesson.say("""
        On noisy copies of the AND gate's four corners, the perceptron finds a line that
        puts the single class-1 corner on one side and the rest on the other. The
        picture colours the plane by the sum `w·x + b` and draws the line where it is 0.
    """)
    v = lesson.code("""
        from chaingrad.viz.plots import plot_decision_boundary

        X_noisy, t_noisy = data.and_gate(n=60, noise=0.12, seed=0)
        noisy = Perceptron(2, lr=0.1)
        noisy.fit(X_noisy, t_noisy, epochs=200)
        w, b = noisy.decision_boundary()
        print(f"{len(noisy.history)} epochs:"
              f" line {w[0]:.2f}·x₁ + {w[1]:.2f}·x₂ {b:+.2f} = 0")
        line = plot_decision_boundary(noisy.net, X_noisy, t_noisy,  # w·x + b
                                      out / "04_perceptron_and.svg", threshold=0.0,
                                      title="perceptron on a noisy AND gate")
        gap = np.abs(X_noisy @ w + b).min() / np.linalg.norm(w)
        print(f"the nearest point is {gap:.3f} from the line")
    """)
    lesson.check("noisy AND points on the wrong side of the line",
                 int((v.noisy.predict(v.X_noisy) != v.t_noisy).sum()), 0)
    lesson.file(v.line, "the straight line the perceptron learned")
    lesson.say("""
        Look at the class-0 point at the bottom right: the line nearly touches it.
        The perceptron stops at the *first* line that makes no mistake, however close
        it passes: nothing in its rule asks for a margin around the line.
    """)
    lesson.check("distance from the line to its nearest point (under 0.01)", v.gap,
                 at_most=0.01)

    lesson.step("Where the perceptron fails: XOR")
    lesson.say("""
        On XOR the rule never settles: whatever line it holds, some example is on the
        wrong side, and correcting it breaks another. Minsky and Papert's book
        *Perceptrons* (1969) made this limit famous. (The course's timeline dates it
        "late 59's": a typo for 1969.)
    """)
    v = lesson.code("""
        X_xor, t_xor = data.xor()
        stuck = Perceptron(2)
        print("mistakes per epoch:", stuck.fit(X_xor, t_xor, epochs=12))
        for line in stuck.explain().splitlines():
            print(textwrap.fill(line, 78))
    """)
    lesson.say("""
        Two counts, two moments: *mistakes per epoch* counts the wrong answers made
        *during* an epoch, while the weights change after each one; `explain()` tests
        the *final* weights on the four points once, and finds 2 wrong.
    """)
    lesson.check("mistakes in the last epoch (it never stops)", v.stuck.history[-1], 4)
    lesson.check("fewest mistakes in any epoch: no line gets all four right",
                 min(v.stuck.history), at_least=1)

    lesson.step("Hebbian learning (1949): fire together, wire together")
    lesson.say("""
        Donald Hebb proposed that a synapse grows stronger when the neurons on both sides
        are active together. In its simplest form, for an input `a` and the output `b`
        we want, **Δw = η · b · a**. With patterns written as `±1`, a single pass over
        the AND table stores it. Take the threshold as a weight on an extra input `−1`.

        By hand, with `η = 1`:
        `w = Σ b·a = −(−1,−1) − (−1,1) − (1,−1) + (1,1) = (2, 2)`, and the threshold
        collects `θ = −Σ b = −(−1 − 1 − 1 + 1) = 2`.
    """)
    v = lesson.code("""
        from chaingrad.nn.classic import Hebbian

        A = np.array([[-1, -1], [-1, 1], [1, -1], [1, 1]], dtype=float)
        B = np.array([[-1], [-1], [-1], [1]])           # AND with ±1
        hebb = Hebbian(2, 1, activation="sign", bias=True)
        hebb.fit(A, B, epochs=1, rule="hebb")
        print("w =", hebb.weights, "  θ =", hebb.threshold)
        print("answers:", hebb.predict(A).ravel(), "  wanted:", B.ravel())
    """)
    lesson.check("plain Hebb stores w = (2, 2)", v.hebb.weights.ravel().tolist(), [2.0, 2.0])
    lesson.check("and θ = 2", float(v.hebb.threshold[0]), 2.0)
    lesson.check("it answers AND", v.hebb.predict(v.A).ravel().tolist(), [-1, -1, -1, 1])
    lesson.say("""
        The course's version corrects only the units that answered wrongly:
        **Δwᵢⱼ = η (bᵢ − b̂ᵢ) aⱼ**, where `b̂` is what the network answered. When the
        answer is right, `b − b̂ = 0` and nothing changes. It is the perceptron rule
        again, for a whole layer of outputs at once.
    """)
    v = lesson.code("""
        course = Hebbian(2, 1, activation="sign", bias=True)
        wrong = course.fit(A, B, epochs=10, rule="course")
        print("wrong outputs per epoch:", wrong)
    """)
    lesson.check("the course's rule ends with no wrong outputs", v.course.history[-1], 0)

    lesson.step("ADALINE (1959): learning from the size of the error")
    lesson.say("""
        At Stanford, Bernard Widrow and Marcian Hoff built ADALINE (ADAptive LINear
        Element). Its many-unit version MADALINE, a filter that removes echoes on phone
        lines, was the first neural network applied to a real-world problem.

        ADALINE uses the **linear** output `o = w·x + b` while learning, and the error
        `E = ½ (t − o)²`. Their *delta rule*

        **Δw = η (t − o) x**

        learns from *how far* the output is from the target, not only from mistakes.
        It is gradient descent, exactly as in lesson 2: `∂E/∂w = −(t − o) x`, so
        `−η ∂E/∂w = η (t − o) x`. Let autograd confirm it on one example:
    """)
    v = lesson.code("""
        from chaingrad.autograd import Value

        x1, x2, target, eta = 1.0, -1.0, -1.0, 0.1
        w1, w2, bias = Value(0.3), Value(0.2), Value(0.1)
        o = w1 * x1 + w2 * x2 + bias
        E = 0.5 * (target - o) ** 2
        E.backward()
        delta = [eta * (target - o.data) * x for x in (x1, x2)]
        print("delta rule  η(t − o)x =", delta)
        print("autograd    −η ∂E/∂w  =", [-eta * w.grad for w in (w1, w2)])
    """)
    lesson.check("the delta rule is −η ∂E/∂w (o = 0.2, t − o = −1.2)",
                 [-v.eta * w.grad for w in (v.w1, v.w2)], [-0.12, 0.12], tol=1e-12)

    lesson.step("ADALINE on AND: the least-squares line")
    lesson.say("""
        Trained on AND with `±1` inputs and targets, ADALINE reaches the **least-squares**
        line. Because the four inputs are balanced, that line can be found by hand:
        `wⱼ = mean(t·xⱼ) = (1 + 1 − 1 + 1)/4 = 0.5` and `b = mean(t) = −0.5`.
    """)
    v = lesson.code("""
        from chaingrad.nn.classic import Adaline

        adaline = Adaline(2, lr=0.2)
        errors = adaline.fit(A, B.ravel(), epochs=60, mode="batch")
        print("w =", adaline.weights.round(4), "  b =", round(adaline.bias, 4))
        print("classes sgn(o):", adaline.classify(A))
    """)
    lesson.check("ADALINE's weights: least squares gives (0.5, 0.5)",
                 v.adaline.weights.tolist(), [0.5, 0.5], tol=1e-4)
    lesson.check("and b = −0.5", v.adaline.bias, -0.5, tol=1e-4)
    lesson.check("sgn(o) answers AND", v.adaline.classify(v.A).tolist(), [-1, -1, -1, 1])

    lesson.step("ADALINE's error, epoch by epoch")
    lesson.say("""
        `fit` returned the mean squared error of every epoch. Draw it:
    """)
    v = lesson.code("""
        from chaingrad.viz.plots import plot_history

        curve = plot_history({"loss": errors}, out / "04_adaline.svg",
                             title="ADALINE on AND: mean squared error per epoch")
    """)
    lesson.file(v.curve, "ADALINE's error falling smoothly, epoch by epoch")
    lesson.say("""
        The error does not reach 0: no line gives exactly ±1 at all four corners. It
        settles at the least-squares minimum. By hand, `o = 0.5x₁ + 0.5x₂ − 0.5` gives
        `−1.5, −0.5, −0.5, 0.5` against targets `−1, −1, −1, 1`: every error is `±0.5`,
        so the mean squared error is `0.25`. The signs are all right, and that is what
        `classify` uses.
    """)
    lesson.check("the mean squared error settles at 0.25", v.errors[-1], 0.25, tol=1e-6)
    lesson.say("""
        **What to remember:** McCulloch–Pitts units compute logic with hand-set weights;
        the perceptron learns them from mistakes; Hebb strengthens what fires together;
        ADALINE follows the gradient of the squared error, the idea that, with the chain
        rule, became backpropagation. And all of them draw a single straight line.
    """)
    lesson.say("**Practise it:** homework exercises 3.1 `perceptron_step`, 3.2 `train_perceptron`, 3.3 `adaline_step` and 3.4 `hebbian_step` (`chaingrad exercises start N` writes assignment N).")
