"""Lesson 2: one neuron, its error, and gradient descent derived with the chain rule."""

import math

from chaingrad.lessons.runner import Lesson

TITLE = "One neuron learns: gradient descent derived with the chain rule"
MINUTES = 12


def run(lesson: Lesson) -> None:
    lesson.step("One neuron, one example")
    lesson.say("""
        An artificial neuron multiplies its input by a **weight** `w`, adds a **bias** `b`
        and passes the sum through a nonlinear **activation function** `f`. The course writes

        * `y = w·x + b` (the weighted input),
        * `Y = f(y)` (what the neuron answers),
        * `E = ½ Σ (Y_obs − Y)²` (the error: half the squared distance to the observed answer).

        Take one example, `x = 1.5` with observed answer `Y_obs = 1`, a neuron that starts
        at `w = 0.8`, `b = −0.5`, and the logistic sigmoid `f(y) = 1 / (1 + e^(−y))`.
    """)
    v = lesson.code("""
        from chaingrad.autograd import Value

        x, Y_obs = 1.5, 1.0
        w, b = Value(0.8, name="w"), Value(-0.5, name="b")
        y = w * x + b          # weighted input
        Y = y.sigmoid()        # the neuron's answer
        E = 0.5 * (Y_obs - Y) ** 2
        print(f"y = {y.data:.5f}   Y = {Y.data:.5f}   E = {E.data:.5f}")
    """)
    lesson.say("By hand: `y = 0.8 · 1.5 − 0.5 = 0.7`, and `σ(0.7) = 1 / (1 + e^−0.7) ≈ 0.66819`.")
    lesson.check("y = 0.8 · 1.5 − 0.5", v.y.data, 0.7)
    lesson.check("Y = σ(0.7)", v.Y.data, 1 / (1 + math.exp(-0.7)))
    lesson.check("E = ½ (1 − 0.66819)²", v.E.data, 0.5 * (1 - 1 / (1 + math.exp(-0.7))) ** 2)

    lesson.step("Which way should w move? The chain rule")
    lesson.say("""
        Learning means changing `w` and `b` so that `E` gets smaller. The derivative
        `dE/dw` says how fast `E` grows when `w` grows, so we step the other way:

        `Δw = −η · dE/dw`,  `Δb = −η · dE/db`,  with a small **learning rate** `η`.

        `E` depends on `w` only through `Y`, which depends on `w` through `y`. The chain
        rule multiplies the three local derivatives along that path:

        `dE/dw = dE/dY · dY/dy · dy/dw`    and    `dE/db = dE/dY · dY/dy · dy/db`

        Each factor is easy on its own:

        * `dE/dY = Y − Y_obs` (the derivative of `½(Y_obs − Y)²`),
        * `dY/dy = f′(y)`, and for the sigmoid `f′(y) = f(y)(1 − f(y)) = Y(1 − Y)`,
        * `dy/dw = x` and `dy/db = 1`.
    """)
    v = lesson.code("""
        dE_dY = Y.data - Y_obs                 # Y − Y_obs
        dY_dy = Y.data * (1 - Y.data)          # f'(y) for the sigmoid
        dy_dw, dy_db = x, 1.0
        dE_dw = dE_dY * dY_dy * dy_dw
        dE_db = dE_dY * dY_dy * dy_db
        print(f"dE/dw = ({dE_dY:.5f}) · ({dY_dy:.5f}) · ({dy_dw}) = {dE_dw:.5f}")
        print(f"dE/db = ({dE_dY:.5f}) · ({dY_dy:.5f}) · ({dy_db}) = {dE_db:.5f}")
    """)
    lesson.say("""
        Both derivatives are negative: making `w` or `b` larger makes the error smaller
        (the neuron answers 0.668 but should answer 1, so it must fire more).
    """)
    lesson.check("dE/dw by hand ≈ −0.33181 · 0.22171 · 1.5", v.dE_dw, -0.1103505636, tol=1e-8)
    lesson.check("dE/db by hand ≈ −0.33181 · 0.22171 · 1", v.dE_db, -0.0735670424, tol=1e-8)

    lesson.step("The engine finds the same numbers")
    lesson.say("""
        `E.backward()` applies exactly this chain rule, node by node, from `E` back to the
        leaves `w` and `b`. It needs no formula for the whole neuron: only each operation's
        own local derivative.
    """)
    v = lesson.code("""
        E.backward()
        print(f"w.grad = {w.grad:.10f}    by hand {dE_dw:.10f}")
        print(f"b.grad = {b.grad:.10f}    by hand {dE_db:.10f}")
    """)
    lesson.check("w.grad equals dE/dw by hand", v.w.grad, v.dE_dw, tol=1e-12)
    lesson.check("b.grad equals dE/db by hand", v.b.grad, v.dE_db, tol=1e-12)
    lesson.say("""
        The same neuron drawn as a graph. Follow the arrows back from `E` to `w`: the
        gradient reaching `Y` is `dE/dY = −0.3318` (built from the small steps `½·`,
        squaring and `1 − Y`), the arrow from `y` to `Y` carries `σ′(y) = 0.2217`, and
        the arrow from `w` carries `x = 1.5`: the three factors of the chain rule.
    """)
    v = lesson.code("""
        from chaingrad import viz

        y.name, Y.name, E.name = "y", "Y", "E"
        neuron = viz.draw(E, out / "02_neuron_graph.svg")
    """)
    lesson.file(v.neuron, "the neuron and its error, with every local derivative")

    lesson.step("One step of gradient descent")
    lesson.say("""
        With `η = 1`: `Δw = −1 · (−0.11035) = +0.11035` and `Δb = +0.07357`.
        Compute the error again with the new weights: it must be smaller.
    """)
    v = lesson.code("""
        import math

        eta = 1.0
        w_new = w.data - eta * w.grad
        b_new = b.data - eta * b.grad
        Y_new = 1 / (1 + math.exp(-(w_new * x + b_new)))
        E_new = 0.5 * (Y_obs - Y_new) ** 2
        print(f"w: {w.data} → {w_new:.5f}    b: {b.data} → {b_new:.5f}")
        print(f"E: {E.data:.5f} → {E_new:.5f}")
    """)
    lesson.check("w after the step = 0.8 + 0.11035", v.w_new, 0.9103505636, tol=1e-8)
    lesson.check("the error after the step over the error before (below 1)",
                 v.E_new / v.E.data, at_most=1.0)

    lesson.step("Learning from data: many steps, many examples")
    lesson.say("""
        Now five examples, made by a "true" neuron with `w = 2` and `b = −1`. The error is
        the sum over all examples, `E = ½ Σ (Y_obs − Y)²`, so `dE/dw` is the sum of the
        examples' contributions. Starting from `w = b = 0`, repeat:
        forward, zero the old gradients, backward, step. Because gradients **add up** in
        the engine (a node's gradient is the sum of what each use sends back), the old
        ones must be set to zero before each backward.
    """)
    v = lesson.code("""
        xs = [-2.0, -1.0, 0.0, 1.0, 2.0]
        data = [(x, 1 / (1 + math.exp(-(2 * x - 1)))) for x in xs]
        w, b = Value(0.0, name="w"), Value(0.0, name="b")
        eta, losses = 2.0, []
        for epoch in range(300):
            E = sum((0.5 * (Y_obs - (w * x + b).sigmoid()) ** 2
                     for x, Y_obs in data), start=Value(0.0))
            w.grad = b.grad = 0.0
            E.backward()
            w.data -= eta * w.grad
            b.data -= eta * b.grad
            losses.append(E.data)
            if epoch in (0, 10, 50, 100, 299):
                print(f"epoch {epoch:3d}  E = {E.data:.2e}"
                      f"  w = {w.data:+.4f}  b = {b.data:+.4f}")
    """)
    lesson.say("""
        The error falls fast at first and then slowly: near the minimum the gradient,
        and so each step, gets small. The weights approach the true `w = 2`, `b = −1`.
    """)
    lesson.check("the first error over the last (at least 1,000)", v.losses[0] / v.losses[-1],
                 at_least=1000)
    lesson.check("learned w ≈ 2", v.w.data, 2.0, tol=0.01)
    lesson.check("learned b ≈ −1", v.b.data, -1.0, tol=0.01)

    lesson.step("The learning curve")
    v = lesson.code("""
        from chaingrad.viz.plots import plot_history
        curve = plot_history({"loss": losses}, out / "02_learning_curve.svg",
                             title="one neuron, gradient descent (η = 2)", log=True)
    """)
    lesson.file(v.curve, "the error E after each step of gradient descent")
    lesson.say("""
        The vertical axis is logarithmic: each grid line (10⁰, 10⁻¹, 10⁻², …) is ten times
        smaller than the one above. A straight descending line means the error shrinks by the same factor at
        every step.
    """)
    lesson.say("""
        **What to remember:** `Δw = −η · dE/dw`, and `dE/dw` is a product of local
        derivatives along the path from `w` to `E` (the chain rule). `backward()`
        computes that product for every weight at once.
    """)
    lesson.say("**Practise it:** homework exercises 1.9 `neuron_gradients` and 2.1 `gradient_descent_step` (`chaingrad exercises start N` writes assignment N).")

