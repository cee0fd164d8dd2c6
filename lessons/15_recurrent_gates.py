"""Lesson 15: recurrent gates. The Jordan net, the LSTM and GRU cells drawn gate by gate,
and the vanishing gradient measured through time against the Elman net."""

import math

from chaingrad.lessons.runner import Lesson

TITLE = "Recurrent gates: Jordan, LSTM, GRU and gradients through time"
MINUTES = 20


def run(lesson: Lesson) -> None:
    lesson.step("The Jordan network: the output is fed back")
    lesson.say("""
        The course names two recurrent nets: **Elman and Jordan**, "multilayer networks
        with hidden/output delayed lines". Lesson 12's Elman net delays its *hidden*
        state; a **Jordan net** delays its *output*, which comes back as an input of
        the next step (`nn.Jordan`, one `nn.JordanCell` per step):

        **h_t = tanh(x_t·W_x + y_{t−1}·W_y + b),   y_t = h_t·W_o + b_o**

        One unit, with weights chosen so the numbers can be followed by hand:
        `W_x = 1`, `W_y = 0.5`, `W_o = 2`, both biases 0.
    """)
    v = lesson.code("""
        import numpy as np
        from chaingrad import nn, viz
        from chaingrad.autograd import Tensor

        jordan = nn.Jordan(1, 1, 1)        # 1 input, 1 hidden unit, 1 output
        cell = jordan.cell
        cell.weight_x.data[...], cell.weight_y.data[...] = 1.0, 0.5
        cell.weight_out.data[...] = 2.0
        cell.bias.data[...], cell.bias_out.data[...] = 0.0, 0.0
        y0 = cell.initial_state(1)         # no output before step 1: 0
        y0.name = "y₀"
        print("W_x, W_y, W_o:", cell.weight_x.item(), cell.weight_y.item(),
              cell.weight_out.item(), "  y₀:", y0.item())
    """)
    lesson.check("before step 1 there is no output yet: y₀", v.y0.item(), 0.0)

    lesson.step("Two Jordan steps by hand")
    lesson.say("""
        With the inputs `x = (1, 0)` and `y₀ = 0`:

        * `h₁ = tanh(1) = 0.7616`, so `y₁ = 2·0.7616 = 1.5232`;
        * `h₂ = tanh(0 + 0.5·1.5232) = tanh(0.7616) = 0.6420`, so `y₂ = 1.2840`.
    """)
    v = lesson.code("""
        x1, x2 = Tensor([[1.0]], name="x₁"), Tensor([[0.0]], name="x₂")
        y1 = cell(x1, y0)                  # one step at a time, by hand
        y2 = cell(x2, y1)
        y1.name, y2.name = "y₁", "y₂"
        print(f"y₁ = {y1.item():.4f}   y₂ = {y2.item():.4f}")
        outputs, _ = jordan(Tensor([[[1.0], [0.0]]]))   # the layer, in one go
        print("the layer nn.Jordan:", outputs.data.ravel().round(4))
    """)
    lesson.check("y₁ = 2·tanh(1)", v.y1.item(), 2 * math.tanh(1.0), tol=1e-12)
    lesson.check("y₂ = 2·tanh(0.5·y₁) = 2·tanh(tanh 1)", v.y2.item(),
                 2 * math.tanh(math.tanh(1.0)), tol=1e-12)
    lesson.check("the layer's y₂ is the same number", v.outputs.data[0, 1, 0],
                 v.y2.item(), tol=1e-12)

    lesson.step("Backpropagation through the fed-back output")
    lesson.say("""
        Time step 1 reaches time step 2 only through `y₁`. With `x₂ = 0`, the chain
        rule gives

        `∂y₂/∂W_y = W_o · (1 − h₂²) · y₁ = 2 · (1 − 0.6420²) · 1.5232 = 1.7907`

        and nothing more: `W_y` also multiplies `y₀` at time step 1, but `y₀ = 0`, so
        that use sends back `0` (the accumulation rule adds `1.7907 + 0`).
    """)
    v = lesson.code("""
        y2.backward()
        print(f"∂y₂/∂W_y = {cell.weight_y.grad.item():.4f}")
        unrolled = viz.draw(y2, out / "15_jordan_unrolled.svg",
                            parameters=jordan.parameters(), edge_labels=False)
    """)
    h2 = math.tanh(math.tanh(1.0))
    lesson.check("∂y₂/∂W_y = 2·(1 − h₂²)·y₁", v.cell.weight_y.grad.item(),
                 2 * (1 - h2**2) * 2 * math.tanh(1.0), tol=1e-12)
    lesson.file(v.unrolled, "two Jordan steps: y₁ leaves step 1 and enters step 2")
    lesson.say("""
        In the picture, each weight has two arrows out, one per step, and its gradient
        is the sum of both. The box `y₁` has one arrow out, into `y₁ @ W_y` of step 2:
        the delayed output line, the only way from step 1 to step 2. A Jordan net's
        memory is only as wide as its output: here one number.
    """)
    lesson.check("the memory between steps has as many numbers as the output",
                 v.y1.data.size, 1)

    lesson.step("The LSTM cell: a memory and three gates")
    lesson.say("""
        The course dates the **LSTM** to 1997 ("proposed by Schmidhuber Hochreiter";
        the paper is Hochreiter and Schmidhuber's). Besides `h` it carries a memory
        `c`, and **gates**, numbers in (0, 1) from a sigmoid, that scale what flows:

        * `i = σ(·)` input gate, `f = σ(·)` forget gate, `o = σ(·)` output gate, and
          a candidate `g = tanh(·)`, where each `(·)` is `x·W_x + h·W_h + b` with
          its own columns of the weights;
        * `c_t = f·c_{t−1} + i·g`  (keep a part of the old memory, write a part of
          the new);
        * `h_t = o·tanh(c_t)`.

        We write one step with one unit by hand and compare with `nn.LSTMCell`.
    """)
    v = lesson.code("""
        nn.manual_seed(0)
        lstm = nn.LSTMCell(1, 1)                  # columns: i, f, g, o
        W_x, W_h, b = lstm.weight_x, lstm.weight_h, lstm.bias
        x = Tensor([[1.0]], name="x₁")
        h0, c0 = Tensor([[0.3]], name="h₀"), Tensor([[0.5]], name="c₀")
        a = x @ W_x + h0 @ W_h + b                # the four sums side by side
        i, f = a[:, 0:1].sigmoid(), a[:, 1:2].sigmoid()
        g, o = a[:, 2:3].tanh(), a[:, 3:4].sigmoid()
        print(f"i = {i.item():.4f}  f = {f.item():.4f}  g = {g.item():.4f}"
              f"  o = {o.item():.4f}")
    """)
    lesson.check("the forget gate f = σ(a's second column)", v.f.item(),
                 1 / (1 + math.exp(-v.a.data[0, 1])), tol=1e-12)

    lesson.step("The LSTM's new memory and output")
    lesson.say("""
        The gates then keep part of the old memory, write part of the candidate, and
        let part of the memory out:
    """)
    v = lesson.code("""
        c1 = f * c0 + i * g
        h1 = o * c1.tanh()
        for node, name in [(a, "a"), (i, "i"), (f, "f"), (g, "g"), (o, "o"),
                           (c1, "c₁"), (h1, "h₁")]:
            node.name = name
        print(f"c₁ = {c1.item():.4f}   h₁ = {h1.item():.4f}")
        library_h, library_c = lstm(x, (h0, c0))
    """)
    lesson.check("c₁ = f·c₀ + i·g from the printed gates", v.c1.item(),
                 v.f.item() * 0.5 + v.i.item() * v.g.item(), tol=1e-12)
    lesson.check("h₁ = o·tanh(c₁)", v.h1.item(), v.o.item() * math.tanh(v.c1.item()),
                 tol=1e-12)
    lesson.check("nn.LSTMCell gives the same h₁ (difference)",
                 abs(v.library_h.item() - v.h1.item()), 0.0, tol=1e-15)

    lesson.step("The LSTM step drawn, and its memory line")
    v = lesson.code("""
        h1.backward()
        lstm_picture = viz.draw(h1, out / "15_lstm_step.svg",
                                parameters=lstm.parameters(), edge_labels=False)
    """)
    lesson.file(v.lstm_picture, "one LSTM step: the sums a, the gates i f g o, c₁, h₁")
    lesson.say("""
        In the picture, `a` is split four ways (`[](a)` takes one column): three
        sigmoids give the gates `i`, `f`, `o`, a tanh gives `g`. The memory line is
        `c₀` into `f * c₀`, plus `i * g`, giving `c₁`. The gradients shown are
        `∂h₁/∂node`.

        Along that line, `c₁ = f·c₀ + i·g` is a product and a sum, so the local
        derivative is **∂c₁/∂c₀ = f**: no weight matrix, no tanh slope. To read it,
        we run the library's cell again with `c₀` as a leaf that wants a gradient.
    """)
    v = lesson.code("""
        c_before = Tensor([[0.5]], requires_grad=True)   # c₀ again
        _, c_after = lstm(x, (h0, c_before))
        c_after.backward()
        print(f"∂c₁/∂c₀ = {c_before.grad.item():.4f}   f = {f.item():.4f}")
    """)
    lesson.check("∂c₁/∂c₀ = f", v.c_before.grad.item(), v.f.item(), tol=1e-12)

    lesson.step("The GRU: two gates, one state")
    lesson.say("""
        The **GRU** (Cho et al., 2014; the course's contents call it "GRE") merges the
        memory into `h` and uses two gates, reset `r` and update `z`:

        * `r = σ(·)`, `z = σ(·)`, candidate `n = tanh(x·W_xn + b_n + r·(h·W_hn + b_hn))`
        * `h_t = (1 − z)·n + z·h_{t−1}`: where `z` is near 1, the old state is kept.
    """)
    v = lesson.code("""
        gru = nn.GRUCell(1, 1)                    # columns: r, z, n
        from_x = x @ gru.weight_x + gru.bias
        from_h = h0 @ gru.weight_h
        r = (from_x[:, 0:1] + from_h[:, 0:1]).sigmoid()
        z = (from_x[:, 1:2] + from_h[:, 1:2]).sigmoid()
        old = from_h[:, 2:3] + gru.bias_hn        # what n reads from h₀
        n = (from_x[:, 2:3] + r * old).tanh()
        h1_gru = (1 - z) * n + z * h0
        for node, name in [(from_x, "from x"), (from_h, "from h"), (r, "r"),
                           (z, "z"), (old, "old"), (n, "n"), (h1_gru, "h₁")]:
            node.name = name
        h1_gru.backward()
        print(f"r = {r.item():.4f}  z = {z.item():.4f}  n = {n.item():.4f}"
              f"  h₁ = {h1_gru.item():.4f}")
        library_h = gru(x, h0)
        gru_picture = viz.draw(h1_gru, out / "15_gru_step.svg",
                               parameters=gru.parameters(), edge_labels=False)
    """)
    lesson.check("h₁ = (1 − z)·n + z·h₀ from the printed numbers, h₀ = 0.3",
                 v.h1_gru.item(), (1 - v.z.item()) * v.n.item() + v.z.item() * 0.3,
                 tol=1e-12)
    lesson.check("nn.GRUCell gives the same h₁ (difference)",
                 abs(v.library_h.item() - v.h1_gru.item()), 0.0, tol=1e-15)
    lesson.file(v.gru_picture, "one GRU step: gates r and z, candidate n, the blend h₁")
    lesson.say("""
        In the picture, `z` has two arrows out: into `1 - z`, which scales the
        candidate `n`, and into `z * h₀`, which keeps the old state. `r` has one:
        into `r * old`, the part of the candidate that reads `h₀`.
    """)

    lesson.step("Gradients through time, measured")
    lesson.say("""
        Lesson 12 showed the vanishing gradient with one unit. Now the four nets side
        by side: 8 units (Jordan: 8 hidden units, 1 output), 16 random sequences of
        the **same length, 30 steps**, loss `L` = the sum of the last state. For each
        step `t` we measure `‖∂L/∂h_t‖` (Jordan: `‖∂L/∂y_t‖`, its fed-back state),
        divided by its value at `t = 30`: the part of the gradient that survives
        back to step `t`. All start as PyTorch does (uniform weights).
    """)
    v = lesson.code("""
        Cell = nn.RNNCell | nn.JordanCell | nn.LSTMCell | nn.GRUCell

        def surviving(cell: Cell, steps: int = 30) -> np.ndarray:
            \"\"\"‖∂L/∂state_t‖ for t = 1..steps, over its value at the last step.\"\"\"
            rng = np.random.default_rng(0)
            x = Tensor(rng.normal(size=(16, steps, 1)))
            state, states = cell.initial_state(16), []
            for t in range(steps):
                state = cell(x[:, t], state)
                states.append(state[0] if isinstance(state, tuple) else state)
            states[-1].sum().backward()
            norms = np.array([np.linalg.norm(s.grad) for s in states])
            return norms / float(norms[-1])

        nn.manual_seed(0)
        cells: dict[str, Cell] = {
            "Elman": nn.RNNCell(1, 8), "Jordan": nn.JordanCell(1, 8, 1),
            "LSTM, default": nn.LSTMCell(1, 8), "GRU, default": nn.GRUCell(1, 8)}
        survived = {name: surviving(cell) for name, cell in cells.items()}
        for name, part in survived.items():
            print(f"{name:13}  at t = 20: {part[19]:.1e}   at t = 1: {part[0]:.1e}")
    """)
    first = {name: part[0] for name, part in v.survived.items()}
    most = max(first.values())
    lesson.check("the most any net keeps over 29 steps (under 1e-4)", most,
                 at_most=1e-4)
    lesson.check("the Jordan net, with its 1-number memory, keeps the least",
                 first["Jordan"], min(first.values()))

    lesson.step("Gates that remember")
    lesson.say("""
        So gates alone do not stop the vanishing: at the start, `f ≈ σ(0) = ½` halves
        the memory at every step. What gates give is a **knob**. A net that needs the
        past can learn `f ≈ 1` (LSTM) or `z ≈ 1` (GRU), and then the memory line
        multiplies the gradient by about 1 per step: no matrix, no tanh slope. In an
        Elman net the factor `(1 − h_t²)·W_h` would have to stay near 1 at every
        step, for every input, between vanishing and exploding, and nothing in the
        net adapts it step by step.

        To see it, we set the gate biases to 3 (so `σ(3) = 0.95`), as a trained net
        that remembers would have them. (A forget-gate bias of 1 or more is also a
        common way to *start* an LSTM.)
    """)
    v = lesson.code("""
        nn.manual_seed(0)
        remember_lstm, remember_gru = nn.LSTMCell(1, 8), nn.GRUCell(1, 8)
        remember_lstm.bias.data[8:16] = 3.0       # columns 8-15: the forget gate f
        remember_gru.bias.data[8:16] = 3.0        # columns 8-15: the update gate z
        survived["LSTM, f ≈ 0.95"] = surviving(remember_lstm)
        survived["GRU, z ≈ 0.95"] = surviving(remember_gru)
        for name in ["Elman", "LSTM, f ≈ 0.95", "GRU, z ≈ 0.95"]:
            print(f"{name:15} at t = 1: {survived[name][0]:.1e}")
        print(f"0.95 per step, 29 steps: σ(3)²⁹ = {(1/(1+np.exp(-3)))**29:.3f}")
    """)
    elman_first = v.survived["Elman"][0]
    kept = min(v.survived["LSTM, f ≈ 0.95"][0], v.survived["GRU, z ≈ 0.95"][0])
    lesson.check("gated nets over Elman at t = 1, the smaller (over 1,000)",
                 kept / elman_first, at_least=1000)
    gru_first, expected = v.survived["GRU, z ≈ 0.95"][0], (1 / (1 + math.exp(-3))) ** 29
    lesson.check(f"the GRU keeps over σ(3)²⁹ = {expected:.3f} (0.5 to 2)",
                 gru_first / expected, at_least=0.5, at_most=2)

    lesson.step("The picture: gradient against time")
    v = lesson.code("""
        from matplotlib.figure import Figure
        figure = Figure(figsize=(7.5, 4.5), layout="constrained")
        axes = figure.add_subplot()
        steps = np.arange(1, 31)
        for (name, part), marker in zip(survived.items(), "os^vDx"):
            style = "-" if "0.95" in name else "--"
            axes.semilogy(steps, part, style, marker=marker, markersize=4,
                          markerfacecolor="none", label=name)
        axes.set(xlabel="time step t (the loss is computed at t = 30)",
                 ylabel="‖∂L/∂h_t‖ / ‖∂L/∂h_30‖",
                 title="How much gradient reaches step t (30 steps, 8 units)")
        axes.grid(alpha=0.3)
        axes.legend(loc="lower right", fontsize=8)
        curves = out / "15_gradient_through_time.svg"
        figure.savefig(curves)
        per_step = survived["Elman"][0] ** (1 / 29)  # 29 steps back to t = 1
    """)
    lesson.file(v.curves, "the gradient's norm against t, one line per net (log scale)")
    lesson.say("""
        The dashed lines are nearly straight on the log scale: the same factor at
        every step, `per_step` for Elman (the default LSTM's triangles nearly cover
        its circles). The solid lines, gates set to remember, stay within two powers
        of ten.
    """)
    lesson.check("the share of the gradient Elman keeps per step (under 1)", v.per_step,
                 at_most=1)
    lowest = min(v.survived["LSTM, f ≈ 0.95"].min(), v.survived["GRU, z ≈ 0.95"].min())
    lesson.check("the solid lines' lowest point (over 0.01)", lowest, at_least=0.01)
    lesson.say("""
        **What to remember:** backprop through the unrolled graph multiplies the
        gradient, step by step back, by each step's local derivative. In an Elman or
        Jordan net that is a weight times a slope: the gradient fades geometrically.
        The LSTM's `c` and the GRU's `h` add a path whose factor is a gate, which the
        net can learn to hold near 1.
    """)
