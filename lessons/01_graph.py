"""Lesson 1: backpropagation on the course's first example, f = (x + y) z."""

from chaingrad.lessons.runner import Lesson

TITLE = "Backpropagation on one small graph: f = (x + y)·z"
MINUTES = 15


def run(lesson: Lesson) -> None:
    lesson.step("A function is a graph of small operations")
    lesson.say("""
        A neural network learns by asking, for every weight: *if this number grew a little,
        how much would the error grow?* That number is a **derivative**, and
        **backpropagation** computes all of them in one sweep backwards through the
        computation. We start with the course's own example:

        **f(x, y, z) = (x + y) · z**   at   **x = −2, y = 5, z = −4**

        A computer performs it as two operations; name the result in between:
        `q = x + y`, then `f = q · z`. Each operation becomes a **node** of a graph, with arrows from its inputs to its
        result. In chaingrad every number is a `Value` that remembers which operation
        made it and from which inputs.
    """)
    v = lesson.code("""
        from chaingrad.autograd import Value

        x = Value(-2.0, name="x")
        y = Value(5.0, name="y")
        z = Value(-4.0, name="z")
        q = x + y;  q.name = "q"
        f = q * z;  f.name = "f"
        print(f"q = {q.data}    f = {f.data}")
        print(f"f was made by {f.op!r} from", [parent.name for parent in f.parents])
    """)
    lesson.say("""
        This is the **forward pass**: values flow from the inputs to the output.
        By hand: `q = −2 + 5 = 3` and `f = 3 · (−4) = −12`.
    """)
    lesson.check("q = x + y = −2 + 5", v.q.data, 3.0)
    lesson.check("f = q · z = 3 · (−4)", v.f.data, -12.0)

    lesson.step("Local derivatives: what each node knows about itself")
    lesson.say("""
        We want **∂f/∂x, ∂f/∂y and ∂f/∂z**. No node knows them. Each node knows only how
        its own output changes when one of its own inputs changes: its **local
        derivative**, one per incoming arrow.

        * Addition, `q = x + y`:  `∂q/∂x = 1`,  `∂q/∂y = 1`.
        * Multiplication, `f = q · z`:  `∂f/∂q = z = −4`,  `∂f/∂z = q = 3`.
          A product's derivative with respect to one input is *the other input*.

        The engine can tell us each node's local derivatives:
    """)
    v = lesson.code("""
        from chaingrad.autograd import local_derivatives

        local_q, local_f = local_derivatives(q), local_derivatives(f)
        print("q = x + y:  (∂q/∂x, ∂q/∂y) =", local_q)
        print("f = q · z:  (∂f/∂q, ∂f/∂z) =", local_f)
    """)
    lesson.check("∂q/∂x and ∂q/∂y of an addition", v.local_q, (1.0, 1.0))
    lesson.check("∂f/∂q = z and ∂f/∂z = q", v.local_f, (-4.0, 3.0))

    lesson.step("Backward by hand: the chain rule")
    lesson.say("""
        Start at the output with **∂f/∂f = 1** (f changes exactly as much as f) and walk
        the graph backwards. At each node, multiply the gradient that arrived from above
        (**upstream**) by the local derivative of each arrow going down: that product is
        the **chain rule**,

        **∂f/∂x = ∂f/∂q · ∂q/∂x**

        Do it with the numbers:

        1. at `f`:  `∂f/∂q = 1 · z = −4`  and  `∂f/∂z = 1 · q = 3`
        2. at `q`:  `∂f/∂x = ∂f/∂q · 1 = −4`  and  `∂f/∂y = ∂f/∂q · 1 = −4`

        The same in plain Python floats, no engine involved:
    """)
    v = lesson.code("""
        df_df = 1.0
        df_dq = df_df * z.data      # upstream 1 × local ∂f/∂q = z
        df_dz = df_df * q.data      # upstream 1 × local ∂f/∂z = q
        df_dx = df_dq * 1.0         # upstream ∂f/∂q × local ∂q/∂x = 1
        df_dy = df_dq * 1.0         # upstream ∂f/∂q × local ∂q/∂y = 1
        print(f"∂f/∂x = {df_dx}  ∂f/∂y = {df_dy}  ∂f/∂z = {df_dz}  ∂f/∂q = {df_dq}")
    """)
    lesson.check("∂f/∂z = q", v.df_dz, 3.0)
    lesson.check("∂f/∂q = z", v.df_dq, -4.0)
    lesson.check("∂f/∂x = ∂f/∂q · ∂q/∂x = (−4)(1)", v.df_dx, -4.0)
    lesson.check("∂f/∂y = ∂f/∂q · ∂q/∂y = (−4)(1)", v.df_dy, -4.0)
    lesson.say("""
        Two patterns to remember: an **addition passes the gradient unchanged** to all
        its inputs, and a **multiplication sends each input the upstream gradient times
        the other input**.
    """)

    lesson.step("What a gradient means: nudge an input")
    lesson.say("""
        `∂f/∂x = −4` is a promise: raise `x` by a small `h` and `f` changes by about
        `−4 · h`. Check it by recomputing `f` with `x + h`, using no derivatives at all:
    """)
    v = lesson.code("""
        h = 0.001
        f_nudged = ((x.data + h) + y.data) * z.data
        print(f"f(x + h) = {f_nudged:.6f}, a change of {f_nudged - f.data:+.6f}")
        (f_nudged - f.data) / h
    """)
    lesson.check("(f(x + h) − f(x)) / h ≈ ∂f/∂x", (v.f_nudged - v.f.data) / v.h, -4.0, tol=1e-6)

    lesson.step("The engine does the same: f.backward()")
    lesson.say("""
        `f.backward()` performs exactly the walk you just did by hand: it seeds
        `∂f/∂f = 1`, visits the nodes from the output back to the inputs, and stores
        each node's gradient in its `.grad` (intermediate nodes such as `q` included).
    """)
    v = lesson.code("""
        f.backward()
        for node in (f, q, x, y, z):
            print(f"{node.name}: data = {node.data:5.1f}   grad = {node.grad:4.1f}")
    """)
    lesson.check("x.grad equals ∂f/∂x by hand", v.x.grad, v.df_dx)
    lesson.check("y.grad equals ∂f/∂y by hand", v.y.grad, v.df_dy)
    lesson.check("z.grad equals ∂f/∂z by hand", v.z.grad, v.df_dz)
    lesson.check("q.grad equals ∂f/∂q by hand", v.q.grad, v.df_dq)
    lesson.say("""
        `autograd.backward_steps(f)` replays the backward pass one node at a time:
        the node's gradient, and what each arrow sends down (upstream × local).
    """)
    v = lesson.code("""
        from chaingrad.autograd import backward_steps

        sent = []
        for step in backward_steps(f):
            for parent, local, given in step.received:
                print(f"at {step.node.name}: upstream {step.grad:g}"
                      f" × local {local:g} = {given:g}  →  {parent.name}")
                sent.append(given)
    """)
    lesson.check("what f sends to q and z, then q to x and y", v.sent, [-4.0, 3.0, -4.0, -4.0])

    lesson.step("The picture: values, gradients and the chain rule on every arrow")
    lesson.say("""
        `viz.draw` writes the graph as an SVG picture. Every box shows a node's name, its
        operation, its forward value (**data**) and its gradient (**grad**). Every arrow
        shows the local derivative and the product the chain rule sends along it. A
        legend explains the colours. `viz.explain` prints the same chain rule as a table.
    """)
    v = lesson.code("""
        from chaingrad import viz

        viz.explain(f)
        picture = viz.draw(f, out / "01_graph.svg")
    """)
    lesson.file(v.picture, "the graph of f = (x + y)·z with values, gradients and the chain rule")
    drawn = v.picture.read_text(encoding="utf-8").replace("−", "-")
    lesson.check("of f's value -12 and the label ∂f/∂z, the picture shows",
                 sum(word in drawn for word in ("-12", "∂f/∂z")), 2)

    lesson.step("Step through it in your browser")
    lesson.say("""
        `viz.animate` writes one self-contained web page that replays the computation:
        first the forward pass, node by node, then the backward pass, lighting up the
        arrows along which each node sends its gradient. Open it in a web browser and use
        the buttons or the ← → keys. It needs no internet connection.
    """)
    v = lesson.code("""
        page = viz.animate(f, out / "01_backprop.html")
    """)
    lesson.file(v.page, "forward then backward, one step per click (← → keys)")
    lesson.check("scripts the page fetches from the web (it is self-contained)",
                 v.page.read_text(encoding="utf-8").count("<script src="), 0)

    lesson.step("A value used twice: gradients add up")
    lesson.say("""
        When a value feeds several operations, each use sends a gradient back, and the
        value's gradient is their **sum**. Take `g = u · u + u` at `u = 3`. By hand,
        `dg/du = 2u + 1 = 7`: the multiplication sends `3` along each of its two arrows
        (upstream 1 × the other input, 3), and the addition sends `1`: `3 + 3 + 1 = 7`.
    """)
    v = lesson.code("""
        u = Value(3.0, name="u")
        g = u * u + u;  g.name = "g"
        g.backward()
        print("u.grad =", u.grad)
        reuse = viz.draw(g, out / "01_reuse.svg")
    """)
    lesson.check("dg/du = 2u + 1 = 7", v.u.grad, 7.0)
    lesson.file(v.reuse, "u's gradient as the sum of what each use sent back")
    lesson.say("""
        Gradients also add up across calls of `backward()`. That is why training
        **sets the gradients to zero** before each new backward pass through the same
        weights: otherwise the new gradients are added to the old ones. (Calling
        `backward()` twice on the same graph makes the engine warn you.)

        **What to remember:** forward computes values; backward starts from 1 at the
        output and multiplies by local derivatives along every path, adding where paths
        meet. That is all backpropagation is, in a network of any size.
    """)

    lesson.step("Why the order matters: every use before passing on")
    lesson.say("""
        A node may pass its gradient down only once it is **complete**: every use has
        sent its share. Take `a = x + 1`, `b = 2a`, `f = a · b` at `x = 3` (`a = 4`,
        `b = 8`, `f = 2a² = 32`), so `∂f/∂x = 4a = 16`. A naive walk, depth-first from
        the output, reaches `a` straight from `f` and passes `a`'s gradient on before
        `b` has sent its share:
    """)
    v = lesson.code("""
        from chaingrad.autograd import local_derivatives, topological_order

        x = Value(3.0, name="x")
        a = x + 1;  a.name = "a"
        b = 2 * a;  b.name = "b"
        f = a * b;  f.name = "f"

        def walk(order: list[Value]) -> float:
            grad = {id(f): 1.0}
            for node in order:
                pairs = zip(node.parents, local_derivatives(node) or ())
                for parent, local in pairs:
                    sent = grad.get(id(node), 0.0) * local
                    grad[id(parent)] = grad.get(id(parent), 0.0) + sent
            return grad[id(x)]

        naive = walk([f, a, b])   # depth-first: a before b has sent its share
        right = walk(topological_order(f))  # f, b, a: every use first
        print(f"naive: {naive}   topological: {right}")
    """)
    lesson.check("the naive order misses b's share: ∂f/∂x = 8", v.naive, 8.0)
    lesson.check("reverse topological order: ∂f/∂x = 4a = 16", v.right, 16.0)

    lesson.step("The order backward() uses, drawn")
    lesson.say("""
        `topological_order(f)` lists every node **before** the nodes it is computed
        from (outputs first): `f, b, a, x` (and the constants 2 and 1). Walking it, a node is reached only after
        every node that uses it, so its gradient is complete when it passes it on. The
        engine computes this order without recursion (a chain of a million nodes
        works) and `backward()` walks it. In the picture, `a`'s gradient is the sum of
        its two uses: `8` from `f` and `2 · 4 = 8` from `b`.
    """)
    v = lesson.code("""
        f.backward()
        print("order:", [n.name for n in topological_order(f) if n.name])
        order = viz.draw(f, out / "01_order.svg")
    """)
    lesson.file(v.order, "a's gradient 8 + 8 = 16: both uses summed before it goes on")
    lesson.check("f.backward() agrees: x.grad = 16", v.x.grad, 16.0)
    lesson.say("""
        **Practise it:** homework exercises 1.1 `local_derivatives` and 1.2
        `f_gradients`; in assignment 4 you write this engine yourself: a `Value`, the
        topological order, `backward()` and a network that learns (`chaingrad exercises
        start N` writes assignment N).
    """)

