"""Lesson 7: loss functions (MSE, MAE, BCE, cross-entropy), L1/L2 penalties and a gradient
penalty that needs second derivatives."""

import math

import numpy as np

from chaingrad.lessons.runner import Lesson

TITLE = "Loss functions: measuring the error, and penalties on the weights"
MINUTES = 15


def run(lesson: Lesson) -> None:
    lesson.step("Regression: mean squared and mean absolute error")
    lesson.say("""
        The **loss** turns all the differences between the predictions `ŷᵢ` and the
        targets `yᵢ` into one number that training makes small. For regression the
        course gives two:

        * **MSE** `= (1/n) Σ (yᵢ − ŷᵢ)²`  (mean squared error),
        * **MAE** `= (1/n) Σ |yᵢ − ŷᵢ|`  (mean absolute error).

        (Lesson 2's `E = ½ Σ (Y_obs − Y)²` is the same idea: a sum instead of a mean, and
        a ½ that cancels the 2 of the derivative.) Take three predictions
        `ŷ = (2, 0, 4)` for targets `y = (1, 1, 1)`: the residuals `ŷ − y` are
        `(1, −1, 3)`. By hand, MSE `= (1 + 1 + 9)/3 = 11/3` and MAE `= (1 + 1 + 3)/3 = 5/3`.
    """)
    v = lesson.code("""
        import numpy as np
        from chaingrad.autograd import Tensor
        from chaingrad.nn import losses

        y = np.array([1.0, 1.0, 1.0])
        y_hat = Tensor([2.0, 0.0, 4.0], requires_grad=True, name="ŷ")
        mse = losses.mse(y_hat, y)
        mse.backward()
        print("MSE =", mse.item(), "  dMSE/dŷ =", y_hat.grad)
    """)
    lesson.check("MSE = 11/3", v.mse.item(), 11 / 3)
    lesson.say("""
        The derivative of `(ŷᵢ − yᵢ)²/n` is `2(ŷᵢ − yᵢ)/n`: here `(2/3, −2/3, 2)`. The
        **biggest error pulls hardest**: the third prediction gets a gradient three times
        the others'.
    """)
    lesson.check("dMSE/dŷ = 2(ŷ − y)/3", v.y_hat.grad, np.array([2 / 3, -2 / 3, 2.0]))

    lesson.step("Regression: mean absolute error")
    lesson.say("""
        The same three predictions with MAE: the slope of `|r|` is `sign(r)`.
    """)
    v = lesson.code("""
        y_hat.zero_grad()
        mae = losses.mae(y_hat, y)
        mae.backward()
        print("MAE =", mae.item(), "  dMAE/dŷ =", y_hat.grad)
    """)
    lesson.say("""
        The derivative of `|ŷᵢ − yᵢ|/n` is `sign(ŷᵢ − yᵢ)/n`: every example pulls with
        the same strength `1/3`, whatever the size of its error.
    """)
    lesson.check("MAE = 5/3", v.mae.item(), 5 / 3)
    lesson.check("dMAE/dŷ = sign(ŷ − y)/3", v.y_hat.grad, np.array([1 / 3, -1 / 3, 1 / 3]))

    lesson.step("Outliers: MSE follows the mean, MAE the median")
    lesson.say("""
        That difference decides what a model learns. Fit a single number `c` to the data
        `1, 2, 3, 4, 100` (the 100 is an outlier, maybe a typing error). By hand: the `c`
        with the smallest MSE is the **mean**, `110/5 = 22` (set `d/dc Σ(c − yᵢ)² = 0`);
        the `c` with the smallest MAE is the **median**, `3` (there the signs balance:
        as many points above as below). Gradient descent finds both.
    """)
    v = lesson.code("""
        from collections.abc import Callable

        from chaingrad.nn import optim

        data = np.array([1.0, 2.0, 3.0, 4.0, 100.0])

        def fit_constant(loss: Callable[..., losses.Loss], lr: float,
                         steps: int = 400) -> float:
            c = Tensor(0.0, requires_grad=True, name="c")
            optimizer = optim.SGD([c], lr=lr)
            for _ in range(steps):
                optimizer.zero_grad()
                loss(c * np.ones(5), data).backward()
                optimizer.step()
            return c.item()

        c_mse = fit_constant(losses.mse, lr=0.4)
        c_mae = fit_constant(losses.mae, lr=0.5)
        print(f"c with MSE: {c_mse:.4f}     c with MAE: {c_mae:.4f}")
    """)
    lesson.check("MSE's best constant is the mean, 22", v.c_mse, 22.0, tol=1e-6)
    lesson.check("MAE's best constant is the median, 3 (within a step of 0.1)", v.c_mae, 3.0,
                 tol=0.1)

    lesson.step("Why: the slopes of r² and |r|")
    lesson.say("""
        One bad point dragged the MSE answer from about 2.5 to 22; MAE barely noticed.
        Squaring makes large errors dominate: the slope of `r²` is `2r`, so the outlier
        pulls 97 times harder than the point at distance 1. `|r|` pulls every point
        with the same strength. That is good when large errors are real and bad when
        they are mistakes in the data.
    """)
    v = lesson.code("""
        from chaingrad.viz.plots import plot_function

        shapes = plot_function(
            lambda r: r * r, None, out / "07_squared_vs_absolute.svg",
            xrange=(-3, 3), extra={"slope of |r|: sign(r)": np.sign},
            variable="r", function="L", label="L = r²",
            title="squared error r² and its slope 2r, next to the slope of |r|")
    """)
    lesson.file(v.shapes, "left: r²; right: its slope 2r (grows with r) and sign(r) (does not)")

    lesson.step("Classification: binary cross-entropy")
    lesson.say("""
        When the model outputs a probability `p` that the label is 1, the course uses the
        **binary cross-entropy** `L = −(1/n) Σ [ yᵢ·log pᵢ + (1 − yᵢ)·log(1 − pᵢ) ]`.
        Only one of the two terms is alive for each example: `−log p` when `y = 1`,
        `−log(1 − p)` when `y = 0`. For `p = (0.9, 0.2, 0.6)` and `y = (1, 0, 0)`:
        `L = −(log 0.9 + log 0.8 + log 0.4)/3 ≈ (0.1054 + 0.2231 + 0.9163)/3 ≈ 0.4149`.
        The third example (60% sure of the wrong class) costs the most.
    """)
    v = lesson.code("""
        p = Tensor([0.9, 0.2, 0.6], requires_grad=True, name="p")
        labels = np.array([1.0, 0.0, 0.0])
        bce = losses.bce(p, labels)
        bce.backward()
        print("BCE =", round(bce.item(), 4), "   dBCE/dp =", p.grad)
        sure_and_wrong = losses.bce(Tensor([0.01]), [1.0]).item()
        print("one confident mistake, p = 0.01 for y = 1:", sure_and_wrong)
    """)
    expected = -(math.log(0.9) + math.log(0.8) + math.log(0.4)) / 3
    lesson.check("BCE = −(log 0.9 + log 0.8 + log 0.4)/3", v.bce.item(), expected)
    lesson.say("""
        Its derivative is `(p − y) / (p(1 − p)) / n`: for the first example
        `(0.9 − 1)/(0.9 · 0.1)/3 = −0.3704`. A confident mistake (`p = 0.01` when
        `y = 1`) costs `−log 0.01 ≈ 4.6`, and the loss grows without bound as `p → 0`:
        cross-entropy refuses to let the model be sure and wrong.
    """)
    lesson.check("dBCE/dp = (p − y)/(p(1 − p))/3", v.p.grad,
                 (v.p.data - v.labels) / (v.p.data * (1 - v.p.data)) / 3)
    v = lesson.code("""
        log_loss = plot_function(
            lambda q: -q.log(), lambda q: -1 / q, out / "07_bce.svg",
            xrange=(0.02, 1.0), variable="p", function="L", label="L = −log p",
            derivative_label="L′ = −1/p",
            title="BCE for y = 1: −log p and its slope −1/p")
    """)
    lesson.file(v.log_loss, "the cost −log p of one example with label 1, and its slope")

    lesson.step("Several classes: softmax and cross-entropy")
    lesson.say("""
        With `C` classes the network outputs `C` raw scores (**logits**) `zⱼ`. The
        **softmax** `pⱼ = e^zⱼ / Σₖ e^zₖ` turns them into probabilities, and the
        **categorical cross-entropy** is `−Σⱼ yⱼ log pⱼ = −log p_label` for a one-hot `y`.

        For `z = (2, 1, 0)` and label 0, by hand:
        `−log(e² / (e² + e + 1)) = log(e² + e + 1) − 2 ≈ 0.4076`.
        Its gradient is beautifully simple: `∂L/∂zⱼ = pⱼ − yⱼ`, the probabilities minus
        the one-hot label.
    """)
    v = lesson.code("""
        z = Tensor([[2.0, 1.0, 0.0]], requires_grad=True, name="z")
        ce = losses.cross_entropy(z, np.array([0]))
        ce.backward()
        softmax = np.exp(z.data) / np.exp(z.data).sum()
        print("cross-entropy =", round(ce.item(), 4))
        print("z.grad       =", z.grad)
        print("softmax − y  =", softmax - [1, 0, 0])
    """)
    lesson.check("CE = log(e² + e + 1) − 2", v.ce.item(), math.log(math.e**2 + math.e + 1) - 2)
    lesson.check("∂CE/∂z = softmax(z) − one-hot(label)", v.z.grad[0],
                 (v.softmax - [1.0, 0.0, 0.0])[0])
    lesson.say("""
        `losses.cross_entropy` takes the logits, not the probabilities, so it can compute
        `log softmax` in a way that never overflows: `e^1000` is infinite in floating
        point, but subtracting the largest logit first changes nothing mathematically.
    """)
    v = lesson.code("""
        huge = losses.cross_entropy(Tensor([[1000.0, 0.0]]), np.array([1]))
        print("logits (1000, 0), label 1:", huge.item())
    """)
    lesson.check("CE for logits (1000, 0) and label 1 is exactly 1000 (no overflow)",
                 v.huge.item(), 1000.0)

    lesson.step("Penalties on the weights: L2 (ridge) and L1 (lasso)")
    lesson.say("""
        The course adds a **regularization** term to the error,
        `E(w) = Σ (yₚ − ŷₚ)² + λ Σ wᵢⱼ²`, and in the second deck
        `λ₁ Σ |wᵢⱼ|` as well. Both punish large weights, which makes a network smoother
        and less eager to fit noise (lesson 9). Their derivatives are `2λw` (L2) and
        `λ·sign(w)` (L1).

        Watch what they do to one weight whose data alone wants `w = 3`:
        `E(w) = (w − 3)² + penalty`. Setting the derivative to zero by hand:

        * L2: `2(w − 3) + 2λw = 0`, so **`w = 3/(1 + λ)`**: shrunk, but never zero;
        * L1: `2(w − 3) + λ = 0`, so **`w = 3 − λ/2`**, and for `λ ≥ 6` **exactly 0**.
    """)

    lesson.step("L2 and L1 on one weight, by gradient descent")
    lesson.say("""
        Minimise `(w − 3)² + penalty` from `w = 0` for four values of `λ`:
    """)
    v = lesson.code("""
        from chaingrad.autograd import Value

        def best_weight(penalty: Callable[..., losses.Loss], lam: float) -> float:
            w = Value(0.0, name="w")
            optimizer = optim.SGD([w], lr=0.05)
            for _ in range(300):
                optimizer.zero_grad()
                E = (w - 3) ** 2 + penalty([w], lam)
                E.backward()
                optimizer.step()
            return w.data

        print("   λ     w with L2    w with L1")
        lambdas = [0.0, 0.5, 2.0, 6.0]
        l2_weights = [best_weight(losses.l2_penalty, lam) for lam in lambdas]
        l1_weights = [best_weight(losses.l1_penalty, lam) for lam in lambdas]
        for lam, a, b in zip(lambdas, l2_weights, l1_weights):
            print(f"{lam:4}   {a:10.4f}   {b:10.4f}")
    """)
    lesson.check("L2: w = 3/(1 + λ)", v.l2_weights, [3 / (1 + lam) for lam in v.lambdas],
                 tol=1e-6)
    lesson.check("L1: w = max(0, 3 − λ/2)", v.l1_weights,
                 [max(0.0, 3 - lam / 2) for lam in v.lambdas], tol=1e-6)
    lesson.say("""
        L2 scales every weight down in proportion; L1 subtracts a fixed amount and stops
        at zero, so it **switches weights off**: useful to find which inputs matter.
        (For `λ > 6` plain gradient descent hovers within a step of 0, because `sign(w)`
        jumps there; specialised L1 solvers set such weights to exactly 0.)
    """)

    lesson.step("A gradient penalty: the derivative of a derivative")
    lesson.say("""
        The second deck's loss has one more term: `λ₂ ‖∇_w ŷ‖²`, the squared size of the
        prediction's gradient with respect to the weights. It asks for a model whose
        output does not swing wildly when a weight moves. To train with it we need its
        derivative with respect to `w`: the derivative of an expression that **already
        contains a derivative**, a second derivative.

        The engine can do this because its backward rules are written with the same
        operations as the forward pass. `autograd.grad(ŷ, [w], create_graph=True)`
        returns `∂ŷ/∂w` as a **new graph**, which we can square and backpropagate through
        ("double backpropagation").

        A case to do by hand: `ŷ = w²·x` with `w = 1.5`, `x = 2`, `λ = 0.1`.

        * `∂ŷ/∂w = 2wx = 6`,
        * penalty `= λ(2wx)² = 4λx²w² = 0.1 · 36 = 3.6`,
        * its derivative `d/dw (4λx²w²) = 8λx²w = 8 · 0.1 · 4 · 1.5 = 4.8`.
    """)
    v = lesson.code("""
        from chaingrad.autograd import grad

        w = Value(1.5, name="w")
        x, lam = 2.0, 0.1
        y_hat = w ** 2 * x
        dy_dw, = grad(y_hat, [w], create_graph=True)   # a Value with its own graph
        penalty = lam * dy_dw ** 2
        penalty.backward()
        print(f"∂ŷ/∂w = {dy_dw.data}   penalty = {penalty.data:.4f}"
              f"   d penalty/dw = {w.grad:.4f}")
    """)
    lesson.check("∂ŷ/∂w = 2wx = 6", v.dy_dw.data, 6.0)
    lesson.check("penalty = λ(2wx)² = 3.6", v.penalty.data, 3.6, tol=1e-12)
    lesson.check("d penalty/dw = 8λx²w = 4.8", v.w.grad, 4.8, tol=1e-12)

    lesson.step("The gradient penalty inside a loss")
    lesson.say("""
        `nn.losses.gradient_penalty(ŷ, weights, lam)` does these three lines for any
        model. Add it to an MAE term, as in the course's formula:
    """)
    v = lesson.code("""
        w = Value(1.5, name="w")
        y_hat = w ** 2 * x
        y_hat.name = "ŷ"
        penalty = losses.gradient_penalty(y_hat, [w], lam=0.1)
        penalty.name = "λ‖∇ŷ‖²"
        loss = losses.mae(y_hat, [5.0]) + penalty
        loss.name = "loss"
        loss.backward()
        print(f"loss = {loss.data:.4f}    dloss/dw = {w.grad:.4f}")
    """)
    lesson.say("""
        By hand: `ŷ = 1.5² · 2 = 4.5`, so the MAE term is `|4.5 − 5| = 0.5` with slope
        `−1 · ∂ŷ/∂w = −6`; the penalty adds `3.6` and slope `4.8`. Total: `4.1` and
        `−1.2`.
    """)
    lesson.check("loss = 0.5 + 3.6", v.loss.data, 4.1, tol=1e-12)
    lesson.check("dloss/dw = −6 + 4.8", v.w.grad, -1.2, tol=1e-12)

    lesson.step("The gradient penalty, drawn")
    lesson.say("""
        Draw the loss: the nodes of the derivative `∂ŷ/∂w` sit inside it like any
        other operation.
    """)
    v = lesson.code("""
        from chaingrad import viz
        from chaingrad.autograd import topological_order

        graph = viz.draw(loss, out / "07_gradient_penalty.svg")
        sixes = [node for node in topological_order(loss) if node.data == 6.0]
        print("nodes whose data is 6:", len(sixes))
    """)
    lesson.file(v.graph, "the loss graph, with the derivative ∂ŷ/∂w built into it")
    lesson.say("""
        In the picture, find the node whose data is **6**: that is `∂ŷ/∂w = 2wx`, built
        from `w ** 1` (the backward rule of `w ** 2` is `2 · w ** 1`). It is squared and
        scaled by `0.1` into the penalty, and `w` receives gradient along both routes:
        `−6` through the MAE and `+4.8` through the penalty.
    """)
    lesson.check("one node holds ∂ŷ/∂w = 6", len(v.sixes), 1)
    lesson.say("""
        **What to remember:** MSE (chases large errors) and MAE (robust) for numbers,
        cross-entropy for classes (gradient `p − y`), and penalties `λΣw²`, `λΣ|w|`,
        `λ‖∇ŷ‖²` that keep the model simple. The engine differentiates them all.
    """)
    lesson.say("**Practise it:** homework exercises 2.3 `mse_and_gradient` and 2.4 `bce_and_gradient` (`chaingrad exercises start N` writes assignment N).")
