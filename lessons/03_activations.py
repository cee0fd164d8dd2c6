"""Lesson 3: the course's table of activation functions, checked with the engine."""

from chaingrad.lessons.runner import Lesson

TITLE = "Activation functions: derivatives checked, and a textbook table corrected"
MINUTES = 15


def run(lesson: Lesson) -> None:
    lesson.step("Why a nonlinear activation?")
    lesson.say("""
        A neuron computes a weighted sum and passes it through an **activation function**
        `f`. If `f` were linear, a network of any depth would still be one linear map
        (a linear function of a linear function is linear) and could only draw straight
        boundaries. The activation is what lets layers build curved ones.

        Backpropagation multiplies by `f′` at every neuron, so each activation comes with
        its derivative. `nn.activations` has every function of the course's table; each
        works on `Value`s and `Tensor`s, and has its derivative written out by hand as
        `f.derivative`. Start with the logistic sigmoid at `x = 0`: by hand
        `σ(0) = 1/(1 + 1) = ½` and `σ′(0) = σ(0)(1 − σ(0)) = ¼`.
    """)
    v = lesson.code("""
        from chaingrad.autograd import Value
        from chaingrad.nn import activations as act

        x = Value(0.0)
        y = act.sigmoid(x)
        y.backward()
        print("σ(0) =", y.data, "  autograd σ′(0) =", x.grad,
              "  by hand σ′(0) =", act.sigmoid.derivative(0.0))
        names = list(act.FUNCTIONS)
        for first in range(0, len(names), 6):
            print("the table:" if first == 0 else "          ",
                  ", ".join(names[first:first + 6]))
    """)
    lesson.check("σ(0) = ½, then σ′(0) = ¼ by autograd and by hand",
                 (v.y.data, v.x.grad, float(v.act.sigmoid.derivative(0.0))),
                 (0.5, 0.25, 0.25))

    lesson.step("Every hand-written derivative against autograd")
    lesson.say("""
        `¼` is the **largest** slope the sigmoid ever has. A gradient passing back through
        ten sigmoid layers is multiplied by at most `¼` ten times: less than one
        millionth. This is the *vanishing gradient* the course mentions, and why ReLU
        (slope 1 for every positive input) took over.

        Autograd differentiates the *formula* of each function op by op; the hand-written
        derivative is a separate formula. If both agree at many points, both are very
        likely right. Test each function at a few points away from `0`, where several of
        them have a kink.
    """)
    v = lesson.code("""
        points = [-2.0, -0.5, 0.3, 1.7]
        worst = {}
        for name, f in act.FUNCTIONS.items():
            gaps = []
            for p in points:
                x = Value(p)
                f(x).backward()                          # autograd's slope
                gaps.append(abs(x.grad - float(f.derivative(p))))  # vs by hand
            worst[name] = max(gaps)
        rows = [f"{name:>16}: largest gap {gap:.1e}" for name, gap in worst.items()]
        for left in range(0, len(rows), 2):
            print("   ".join(rows[left:left + 2]))
    """)
    lesson.check("derivatives (of 17) off autograd's by more than 1e-12",
                 sum(gap > 1e-12 for gap in v.worst.values()), 0)

    lesson.step("Pictures: each function and its slope")
    lesson.say("""
        `plot_function(f, None, path)` draws `f` on the left and, on the right, the slope
        autograd finds at every point (orange). `extra=` adds the hand-written derivative
        as a dashed red curve: where it lies exactly on the orange one, the two agree
        everywhere on the plot, not only at four points.
    """)
    v = lesson.code("""
        from chaingrad.viz.plots import plot_function

        pictures = {}
        for name in ("sigmoid", "tanh", "relu", "elu", "smelu"):
            f = act.get(name)
            path = out / f"03_{name}.svg"
            pictures[name] = plot_function(f, None, path, title=name,
                                           extra={"by hand": f.derivative})
    """)
    for name, path in v.pictures.items():
        lesson.file(path, f"{name} and its derivative")
    lesson.say("""
        Look at the slopes: the sigmoid's never exceeds ¼ and the tanh's never exceeds 1,
        and both fade to 0 for large inputs (a saturated neuron stops learning); ReLU's is
        0 or 1; ELU and SmeLU (smooth ReLU) round off ReLU's corner.
    """)

    lesson.step("The course's table, as printed")
    lesson.say("""
        Textbooks and slides contain typos, and a formula with a typo looks just as
        convincing as a correct one. Here the course's table is typed in **exactly as
        printed** (its SELU constants rounded, as in the table; soft exponential with
        `α = ±0.5`, PReLU/RReLU with `α = 0.25`).
    """)
    v = lesson.code("""
        import math
        from collections.abc import Callable
        Formula = Callable[[float], float]    # a function of one number
        lam, alpha = 1.0507, 1.67326          # SELU's constants as printed
        a = 0.25                              # PReLU / RReLU slope

        def selu_printed(x: float) -> float:
            return lam * (alpha * (math.exp(x) - 1) if x < 0 else x)

        def softexp_printed(x: float, al: float) -> float:
            if al < 0:
                return -math.log(1 - al * (x + al)) / al
            return (math.exp(al * x) - 1) / al + al

        printed: dict[str, tuple[Formula, Formula]] = {  # (f, f′) as printed
            "tanh": (lambda x: 2 / (1 + math.exp(2 * x)) - 1,
                     lambda x: 1 - (2 / (1 + math.exp(2 * x)) - 1) ** 2),
            "softsign": (lambda x: x / (1 + abs(x)),
                         lambda x: 1 - (x / (1 + abs(x))) ** 2),
            "softplus": (lambda x: math.log(1 + math.exp(x)),
                         lambda x: 1 / (1 + math.exp(-x))),
            "soft exponential α=+0.5": (lambda x: softexp_printed(x, 0.5),
                                        lambda x: math.exp(0.5 * x)),
            "soft exponential α=−0.5": (lambda x: softexp_printed(x, -0.5),
                                        lambda x: 1 / (1 - (-0.5) * (x + (-0.5)))),
        }
        len(printed)
    """)
    lesson.check("five rows typed in so far", len(v.printed), 5)

    lesson.step("The course's table, as printed (the other six rows)")
    lesson.say("""
        The rest of the table, again exactly as printed:
    """)
    v = lesson.code("""
        def logistic(x: float) -> float:
            return 1 / (1 + math.exp(-x))

        printed.update({
            "sinusoid": (math.sin, math.cos),
            "sinc": (lambda x: math.sin(x) / x,
                     lambda x: math.cos(x) / x - math.sin(x) / x ** 2),
            "selu": (selu_printed,
                     lambda x: lam * (selu_printed(x) + alpha if x < 0 else 1)),
            "relu": (lambda x: 0.0 if x < 0 else x,
                     lambda x: 0.0 if x < 0 else 1.0),
            "prelu / rrelu": (lambda x: a * x if x < 0 else x,
                              lambda x: a if x < 0 else 1.0),
            "logistic": (logistic,
                         lambda x: logistic(x) * (1 - logistic(x))),
        })
        len(printed)
    """)
    lesson.check("eleven rows typed in", len(v.printed), 11)

    lesson.step("Checking the table row by row with autograd")
    lesson.say("""
        For each row compare the printed `f` with the engine's correct function, and the
        printed `f′` with **autograd's derivative of the correct function**, at four
        points (inside soft exponential's domain, which for `α = −0.5` is `x > −1.5`).
        A row passes when they agree to 4 digits (the table rounds SELU's constants).
    """)
    v = lesson.code("""
        correct: dict[str, Callable[[Value], Value]] = {
            "tanh": act.tanh, "softsign": act.softsign, "softplus": act.softplus,
            "soft exponential α=+0.5": lambda x: act.soft_exponential(x, 0.5),
            "soft exponential α=−0.5": lambda x: act.soft_exponential(x, -0.5),
            "sinusoid": act.sinusoid, "sinc": act.sinc, "selu": act.selu,
            "relu": act.relu, "prelu / rrelu": lambda x: act.prelu(x, a),
            "logistic": act.sigmoid,
        }
        first_miss: dict[tuple[str, str], tuple[float, float, float]] = {}
        for row, (f_printed, df_printed) in printed.items():
            for p in (-1.0, -0.4, 0.3, 1.7):
                x = Value(p)
                y = correct[row](x)
                y.backward()
                for part, said, true in (("f", f_printed(p), y.data),
                                         ("f′", df_printed(p), x.grad)):
                    if not math.isclose(said, true, rel_tol=1e-4, abs_tol=1e-4):
                        first_miss.setdefault((row, part), (p, said, true))
        for (row, part), (p, said, true) in first_miss.items():
            print(f"✗ {row} {part} at x = {p:+}:"
                  f" printed {said:+.4f}, true {true:+.4f}")
        wrong = sorted(first_miss)
    """)
    lesson.check("wrong formulas the engine finds in the table", len(v.wrong), 3)
    lesson.check("of SELU's f′, softsign's f′ and tanh's f, found among them",
                 sum(pair in v.wrong for pair in [("selu", "f′"), ("softsign", "f′"),
                                                  ("tanh", "f")]), 3)

    lesson.step("What went wrong in each row")
    lesson.say("""
        **tanh, f.** The printed `2/(1 + e^(2x)) − 1` gives `−0.7616` at `x = 1`, while
        `tanh(1) = +0.7616`: it is `tanh(−x)`, a minus sign lost from the exponent. The
        correct form is `2/(1 + e^(−2x)) − 1`. (Its `f′ = 1 − f²` survives: squaring
        hides the sign.)

        **softsign, f′.** `1 − f(x)²` is *tanh's* rule copied into the next row. The
        quotient rule on `x/(1 + |x|)` gives `((1 + |x|) − x·sign(x)) / (1 + |x|)²
        = 1/(1 + |x|)²`. At `x = 2`: printed `1 − (2/3)² = 5/9 ≈ 0.556`, true
        `1/9 ≈ 0.111`, five times smaller.

        **SELU, f′ for x < 0.** With `f(x) = λα(eˣ − 1)`, `f′(x) = λαeˣ = f(x) + λα`.
        The printed `λ(f(x) + α) = λf(x) + λα` multiplies `f` by `λ` a second time. It is
        right only if `f` inside the bracket means the function *before* the factor `λ`,
        a reading the table does not say. At `x = −1`: true `0.6468`, printed `0.5904`.
    """)
    v = lesson.code("""
        f_tanh, _ = printed["tanh"]
        print(f"printed tanh at 1: {f_tanh(1.0):.4f}"
              f"   −tanh(1): {-math.tanh(1):.4f}")
        two = Value(2.0);  act.softsign(two).backward()
        print(f"softsign′(2): autograd {two.grad:.4f}"
              f"   printed {printed['softsign'][1](2.0):.4f}   1/9 = {1 / 9:.4f}")
        minus_one = Value(-1.0);  act.selu(minus_one).backward()
        print(f"selu′(−1):    autograd {minus_one.grad:.4f}"
              f"   printed {printed['selu'][1](-1.0):.4f}")
    """)
    lesson.check("printed tanh(x) + tanh(x), largest over the four points",
                 max(abs(v.f_tanh(p) + v.math.tanh(p)) for p in v.points), 0.0, tol=1e-12)
    lesson.check("softsign′(2) = 1/(1 + 2)² = 1/9", v.two.grad, 1 / 9, tol=1e-12)
    lesson.check("selu′(−1) = λα/e ≈ 0.6468", v.minus_one.grad, 0.646768603, tol=1e-8)

    lesson.step("The softsign mistake, drawn")
    lesson.say("""
        The orange band is softsign's true slope; the dashed curve is the course's
        printed `f′`. They meet only at `x = 0`.
    """)
    v = lesson.code("""
        softsign_picture = plot_function(
            act.softsign, act.softsign.derivative,
            out / "03_softsign_vs_course.svg",
            title="softsign: the true f′ and the course's printed f′ = 1 − f²",
            extra={"course's printed f′ = 1 − f²": printed["softsign"][1]},
            derivative_label="true f′ = 1 / (1 + |x|)²")
    """)
    lesson.file(v.softsign_picture, "softsign′ (orange) against the table's formula (dashed)")
    lesson.check("at x = 2 the printed f′ is 5 times the true one: (5/9) / (1/9)",
                 v.printed["softsign"][1](2.0) / float(v.act.softsign.derivative(2.0)), 5.0,
                 tol=1e-12)

    lesson.step("Two rows that are right, with fine print")
    lesson.say("""
        **ReLU at x = 0.** The table says `f′(0) = 1`; the engine (like PyTorch) uses 0.
        Neither is an error: ReLU has a corner at 0, so it has no derivative there, and
        any slope between 0 and 1 is a valid choice. It is a *convention*.

        **sinc's range.** The table says sinc never goes below `≈ −0.217234`. The engine
        can confirm it: the minimum is where `sinc′(x) = 0`, so walk downhill from
        `x = 4` using autograd's slope.
    """)
    v = lesson.code("""
        x0 = 4.0
        for _ in range(200):
            x = Value(x0)
            act.sinc(x).backward()
            x0 -= 2.0 * x.grad        # gradient descent on sinc itself
        print(f"minimum at x = {x0:.4f}: sinc = {act.sinc(Value(x0)).data:.6f}")
    """)
    lesson.check("the smallest value of sinc is ≈ −0.217234",
                 v.act.sinc(v.Value(v.x0)).data, -0.217234, tol=1e-6)
    lesson.say("""
        **What to remember:** every activation has a derivative backpropagation
        multiplies by; saturating functions (sigmoid, tanh) have small slopes, ReLU and
        its relatives keep slope 1. And a formula can be checked: the engine's
        derivative of the correct function is a referee no typo can fool.
    """)
    lesson.say("**Practise it:** homework exercises 1.3 `Sigmoid`, 1.4 `Tanh`, 1.5 `Softplus`, 1.6 `ELU`, 1.7 `SELU` and 1.8 `SmeLU` (`chaingrad exercises start N` writes assignment N).")

