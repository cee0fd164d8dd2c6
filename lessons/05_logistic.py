"""Lesson 5: logistic regression, a straight decision boundary c = w1·x + w2·y + q."""

import math

from chaingrad.lessons.runner import Lesson

TITLE = "Logistic regression: a straight line between two classes"
MINUTES = 12


def run(lesson: Lesson) -> None:
    lesson.step("Two clouds of points")
    lesson.say("""
        A classifier answers *which class?* for each point of the plane. Here are 100
        points in two classes, drawn around the centres `(−1, 1)` (class 0) and `(1, −1)`
        (class 1). The clouds overlap a little, so no line can be perfect.
    """)
    v = lesson.code("""
        import numpy as np
        from chaingrad.nn import data

        X, t = data.blobs(100, centers=[[-1, 1], [1, -1]], std=0.8, seed=1)
        sizes = np.bincount(t)
        print("X:", X.shape, "  labels t:", t.shape, "  class sizes:", sizes)
        print(X[:3].round(2), t[:3])
    """)
    lesson.check("points in class 0 and in class 1", v.sizes.tolist(), [50, 50])

    lesson.step("The model: a weighted sum, then a sigmoid")
    lesson.say("""
        Logistic regression is a single neuron with a sigmoid. For a point `(x, y)` it
        computes the course's linear score

        **c = w₁·x + w₂·y + q**

        and turns it into a probability of class 1, `p = σ(c) = 1 / (1 + e^(−c))`.
        It answers class 1 when `p > ½`, that is when `c > 0`. So the **decision
        boundary** is the set of points where `c = 0`: a straight line, because `c` is
        linear in `x` and `y`.

        With tensors, all 100 scores are one matrix product, `c = X @ w + q`. We start
        from `w = (0, 0)` and `q = 0`, so every point gets `p = σ(0) = ½`.
    """)
    v = lesson.code("""
        from chaingrad.autograd import Tensor

        w = Tensor([0.0, 0.0], requires_grad=True, name="w")
        q = Tensor(0.0, requires_grad=True, name="q")
        p = (Tensor(X) @ w + q).sigmoid()
        p.data[:5]
    """)
    lesson.check("points (of 100) whose p is not ½", int((v.p.data != 0.5).sum()), 0)

    lesson.step("How wrong is it? Binary cross-entropy")
    lesson.say("""
        For probabilities the course uses the **binary cross-entropy**, here averaged
        over the `n` points:

        **L = −(1/n) Σ [ tᵢ·log pᵢ + (1 − tᵢ)·log(1 − pᵢ) ]**

        It punishes a confident wrong answer hard (`log p → −∞` as `p → 0`). At the start
        every `pᵢ = ½`, so by hand `L = −log ½ = log 2 ≈ 0.6931`.

        The chain rule through `log` and `σ` simplifies beautifully: `σ′ = p(1 − p)`
        cancels the `1/p` and `1/(1 − p)` from the logarithms, leaving
        `∂L/∂cᵢ = (pᵢ − tᵢ)/n`. Then, since `∂cᵢ/∂w = (xᵢ, yᵢ)` and `∂cᵢ/∂q = 1`:

        **∂L/∂w = Xᵀ(p − t)/n**,   **∂L/∂q = mean(p − t)**
    """)
    v = lesson.code("""
        L = -(t * p.log() + (1 - t) * (1 - p).log()).mean()
        L.backward()
        print("L =", L.item())
        print("autograd:  w.grad =", w.grad, "  q.grad =", q.grad)
        print("formula:   Xᵀ(p − t)/n =", X.T @ (p.data - t) / len(t),
              "  mean(p − t) =", (p.data - t).mean())
    """)
    lesson.check("L = log 2 at the start", v.L.item(), math.log(2))
    lesson.check("∂L/∂w = Xᵀ(p − t)/n", v.w.grad.tolist(),
                 (v.X.T @ (v.p.data - v.t) / 100).tolist(), tol=1e-12)
    lesson.check("∂L/∂q = mean(p − t) = 0 (balanced classes)", float(v.q.grad), 0.0, tol=1e-12)

    lesson.step("Gradient descent")
    lesson.say("""
        Repeat: forward (scores, probabilities, loss), zero the gradients, backward, and
        step every parameter against its gradient. `Tensor(X)` needs no gradient (it is
        data), so only `w` and `q` change.
    """)
    v = lesson.code("""
        eta, losses = 1.0, []
        for epoch in range(300):
            p = (Tensor(X) @ w + q).sigmoid()
            L = -(t * p.log() + (1 - t) * (1 - p).log()).mean()
            w.zero_grad();  q.zero_grad()
            L.backward()
            w.data -= eta * w.grad
            q.data -= eta * q.grad
            losses.append(L.item())
        accuracy = ((p.data > 0.5) == t).mean()
        w1, w2, q0 = *w.data, q.item()
        print(f"loss {losses[0]:.4f} → {losses[-1]:.4f}   accuracy {accuracy:.0%}")
        print(f"c = {w1:.3f}·x {w2:+.3f}·y {q0:+.3f}")
    """)
    lesson.say("""
        The course's own data gave `c = 1.28·x − 0.815·y + 0.384`; ours has its own
        numbers, but the same form. Our clouds sit on either side of the line `y = x`, so
        expect `w₁ > 0`, `w₂ < 0` and `q` near 0.
    """)
    lesson.check("the first loss over the last (at least 3)", v.losses[0] / v.losses[-1],
                 at_least=3)
    lesson.check("share of the points on the right side (at least 0.9)", v.accuracy,
                 at_least=0.9)
    lesson.check("w₁, positive", v.w1, at_least=0.0)
    lesson.check("w₂, negative", v.w2, at_most=0.0)

    lesson.step("Draw the boundary")
    lesson.say("""
        The boundary `c = 0` crosses the vertical axis (`x = 0`) at `y = −q / w₂`. By
        hand, at that point `c = w₁·0 + w₂·(−q/w₂) + q = 0`, so `p = ½` exactly.
        The picture colours each region by the model's probability (orange for class 0,
        blue for class 1, pale near ½) and draws the line `p = ½`.
    """)
    v = lesson.code("""
        from chaingrad.viz.plots import plot_decision_boundary

        def model(points: np.ndarray) -> np.ndarray:
            return (Tensor(points) @ w + q).sigmoid().data

        crossing = np.array([[0.0, -q0 / w2]])
        print("p on the boundary at x = 0:", model(crossing))
        plot = plot_decision_boundary(model, X, t, out / "05_logistic_boundary.svg",
                                      title=f"c = {w1:.2f}·x {w2:+.2f}·y {q0:+.2f}",
                                      axis_labels=("x", "y"))
    """)
    lesson.check("p = ½ where the line crosses x = 0", v.model(v.crossing)[0], 0.5, tol=1e-12)
    lesson.file(v.plot, "the two classes, the probability regions and the line c = 0")
    lesson.say("""
        **What to remember:** one neuron with a sigmoid is a linear classifier: whatever
        the weights, its boundary is a straight line. Next lesson shows a problem no
        straight line can solve, and what fixes it.
    """)
    lesson.say("**Practise it:** homework exercises 2.4 `bce_and_gradient` and 2.5 `training_step` (`chaingrad exercises start N` writes assignment N).")
