"""Assignment 1: backpropagation by hand and by code (lessons 1 to 3).

Local derivatives and the chain rule on f = (x + y) z, the activations of the course's
table written as ``Op`` subclasses, one neuron's gradient by the chain rule, and a
two-layer network's gradients by hand, each compared with ``backward()``.
"""

from __future__ import annotations

import math

import numpy as np

from chaingrad.autograd import Op, Tensor, Value

from .api import Wrong, as_number, assignment, close, exercise, expect, expect_close, number

assignment(1, "Backpropagation by hand and by code", intro="""
    Lessons 1 to 3 show the chain rule; here you write it. Each exercise below states its
    task, the formula from the course and one worked number you can check by hand.
""", imports="""
    import math

    import numpy as np

    from chaingrad import Op
""")


def _leaf_graph(build, student_grads: dict):
    """Build a graph with Values, backward() it, then put the student's gradients on the
    named leaves: the picture marks in red those that disagree with central differences."""
    leaves, root = build()
    root.backward()
    for name, value in student_grads.items():
        try:
            leaves[name].grad = float(as_number(value, name))
        except (TypeError, ValueError, Wrong):
            leaves[name].grad = float("nan")
    return root


def _f_graph(x, y, z):
    def build():
        vx, vy, vz = Value(x, name="x"), Value(y, name="y"), Value(z, name="z")
        q = vx + vy
        q.name = "q"
        f = q * vz
        f.name = "f"
        return {"x": vx, "y": vy, "z": vz}, f
    return build


POINTS_FXYZ = [(-2.0, 5.0, -4.0), (1.5, -0.5, 2.0), (3.0, 1.0, 0.25)]


@exercise(points=1, stub='''
def local_derivatives(x, y, z):
    """Local derivatives of the two nodes of f = (x + y) z, with q = x + y.

    Return the tuple (dq/dx, dq/dy, df/dq, df/dz). Each node knows only its own inputs:
    q = x + y gives dq/dx = 1, dq/dy = 1; f = q z gives df/dq = z, df/dz = q.
    Worked number: at x = -2, y = 5, z = -4 the answer is (1, 1, -4, 3).
    """
    raise NotImplementedError
''')
def local_derivatives(student):
    """Local derivatives of f = (x + y) z"""
    names = ("dq/dx", "dq/dy", "df/dq", "df/dz")
    for x, y, z in POINTS_FXYZ:
        got = student.local_derivatives(x, y, z)
        at = f"at (x, y, z) = ({number(x)}, {number(y)}, {number(z)})"
        expect(isinstance(got, (tuple, list)) and len(got) == 4,
               f"your local_derivatives {at} returned {got!r}; expected a tuple of four "
               "numbers (dq/dx, dq/dy, df/dq, df/dz).")
        wanted = (1.0, 1.0, z, x + y)
        if close(got, wanted):
            continue
        # The picture: the chain rule run with the student's local derivatives.
        try:
            dq_dx, dq_dy, df_dq, df_dz = (float(g) for g in got)
            chained = {"x": df_dq * dq_dx, "y": df_dq * dq_dy, "z": df_dz}
        except (TypeError, ValueError):
            chained = {}
        graph = _leaf_graph(_f_graph(x, y, z), chained)
        hint = None
        if close(got[2:], (x + y, z)):
            hint = ("You swapped df/dq and df/dz: a product's derivative with respect to one "
                    "input is the other input.")
        formulas = ("1", "1", "z", "q = x + y")
        for name, g, w, formula in zip(names, got, wanted, formulas):
            expect_close(g, w, f"your {name} {at}", formula, graph=graph, hint=hint)


@exercise(points=1, stub='''
def f_gradients(x, y, z):
    """The gradients of f = (x + y) z by the chain rule: return (df/dx, df/dy, df/dz).

    Start from df/df = 1 and multiply by local derivatives on the way back:
    df/dx = df/dq · dq/dx = z · 1,  df/dy = z · 1,  df/dz = q = x + y.
    Worked number (the course's example): at x = -2, y = 5, z = -4 the answer is (-4, -4, 3).
    """
    raise NotImplementedError
''')
def f_gradients(student):
    """The chain rule on f = (x + y) z"""
    for x, y, z in POINTS_FXYZ:
        got = student.f_gradients(x, y, z)
        at = f"at (x, y, z) = ({number(x)}, {number(y)}, {number(z)})"
        expect(isinstance(got, (tuple, list)) and len(got) == 3,
               f"your f_gradients {at} returned {got!r}; expected a tuple of three numbers "
               "(df/dx, df/dy, df/dz).")
        wanted = (z, z, x + y)
        if not close(got, wanted):
            graph = _leaf_graph(_f_graph(x, y, z), dict(zip("xyz", got)))
            for name, g, w, formula in zip(("df/dx", "df/dy", "df/dz"), got, wanted,
                                           ("df/dq · dq/dx = z · 1", "z · 1", "q = x + y")):
                expect_close(g, w, f"your {name} {at}", formula, graph=graph)


# ------------------------------------------------------------- activations as Ops


def _array_message(cls: str, method: str, error: Exception) -> str:
    return (f"your {cls}.{method} works on one number but not on a numpy array (it raised "
            f"{type(error).__name__}: {error}). Ops run on Tensors too: use np.exp, np.tanh, "
            "np.where(x < 0, ..., ...) instead of math.exp and if/else.")


def check_op(student, cls: str, f, df, f_text: str, df_text: str, xs: list[float]) -> None:
    """Check a student's one-input Op: forward, backward, grad_out, arrays, the engine."""
    op = getattr(student, cls)
    expect(isinstance(op, type) and issubclass(op, Op),
           f"your {cls} must be a class that subclasses Op: class {cls}(Op): ...")
    for x in xs:
        expect_close(op.forward(x), f(x), f"your {cls}.forward at x = {number(x)}", f_text)
    for x in xs:
        grads = op.backward(1.0, f(x), x)
        expect(isinstance(grads, (tuple, list)) and len(grads) == 1,
               f"your {cls}.backward at x = {number(x)} returned {grads!r}; it must return a "
               "tuple with one gradient per input, such as (grad_out * local,).")
        if not close(grads[0], df(x)):
            expect_close(grads[0], df(x), f"your {cls}.backward at x = {number(x)}", df_text,
                         graph=_op_graph(op, x))
    x = xs[0]
    scaled = op.backward(-2.0, f(x), x)[0]
    if not close(scaled, -2.0 * df(x)):
        expect_close(scaled, -2.0 * df(x),
                     f"your {cls}.backward with grad_out = -2 at x = {number(x)}",
                     f"grad_out · ({df_text})",
                     hint="Multiply the local derivative by grad_out: that is the chain rule.",
                     graph=_op_graph(op, x, upstream=-2.0))
    array = np.array(xs, dtype=float)
    try:
        forward = op.forward(array)
    except (TypeError, ValueError) as error:
        raise Wrong(_array_message(cls, "forward", error)) from None
    expect_close(forward, [f(v) for v in xs], f"your {cls}.forward at x = {number(array)}",
                 f_text)
    try:
        backward = op.backward(np.ones_like(array), forward, array)[0]
    except (TypeError, ValueError) as error:
        raise Wrong(_array_message(cls, "backward", error)) from None
    expect_close(backward, [df(v) for v in xs], f"your {cls}.backward at x = {number(array)}",
                 df_text)


def _op_graph(op, x: float, upstream: float = 1.0):
    """x → op(x) (→ upstream · op(x)): the student's backward gives x its gradient."""
    try:
        vx = Value(x, name="x")
        out = op.apply(vx)
        out.name = op.name
        if upstream != 1.0:
            out = out * upstream
            out.name = "out"
        out.backward()
        return out
    except Exception:
        return None


def sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x))


ELU_ALPHA = 1.0
SELU_LAMBDA, SELU_ALPHA = 1.0507, 1.67326  # as the course rounds them
SMELU_BETA = 1.0
XS = [0.5, -1.0, 2.0, -0.25, 0.0]


@exercise(points=2, stub='''
class Sigmoid(Op):
    """The logistic function as an op: f(x) = 1 / (1 + e^(-x)); f'(x) = f(x)(1 - f(x)).

    forward(x) gets a float or a numpy array (use np.exp). backward(grad_out, out, x) gets
    the upstream gradient, forward's result and the input, and returns a tuple with one
    gradient per input: (grad_out * local derivative,).
    Worked number: forward(0.5) = 0.6225 and backward(1.0, 0.6225, 0.5) = (0.2350,).
    """

    def forward(x):
        raise NotImplementedError

    def backward(grad_out, out, x):
        raise NotImplementedError
''')
def Sigmoid(student):  # noqa: N802 (the exercise is named after the student's class)
    """Sigmoid as an Op"""
    check_op(student, "Sigmoid", sigmoid, lambda x: sigmoid(x) * (1 - sigmoid(x)),
             "1 / (1 + e^(-x))", "σ(x)(1 − σ(x))", XS)


@exercise(points=1, stub='''
class Tanh(Op):
    """The hyperbolic tangent as an op: f(x) = tanh(x); f'(x) = 1 - f(x)^2.

    Worked number: forward(0.5) = 0.4621 and backward(1.0, 0.4621, 0.5) = (0.7864,).
    Tip: backward receives out = f(x), so 1 - out**2 needs no second tanh.
    """

    def forward(x):
        raise NotImplementedError

    def backward(grad_out, out, x):
        raise NotImplementedError
''')
def Tanh(student):  # noqa: N802
    """Tanh as an Op"""
    check_op(student, "Tanh", math.tanh, lambda x: 1 - math.tanh(x) ** 2,
             "tanh(x)", "1 − tanh(x)²", XS)


@exercise(points=1, stub='''
class Softplus(Op):
    """SoftPlus as an op: f(x) = ln(1 + e^x); f'(x) = 1 / (1 + e^(-x)), the logistic.

    Worked number: forward(0.5) = 0.9741 and backward(1.0, 0.9741, 0.5) = (0.6225,).
    """

    def forward(x):
        raise NotImplementedError

    def backward(grad_out, out, x):
        raise NotImplementedError
''')
def Softplus(student):  # noqa: N802
    """SoftPlus as an Op"""
    check_op(student, "Softplus", lambda x: math.log1p(math.exp(x)), sigmoid,
             "ln(1 + e^x)", "1 / (1 + e^(−x))", XS)


@exercise(points=1, stub='''
ALPHA = 1.0


class ELU(Op):
    """The exponential linear unit with alpha = ALPHA = 1:
    f(x) = alpha (e^x - 1) for x < 0, x for x >= 0;
    f'(x) = f(x) + alpha (= alpha e^x) for x < 0, 1 for x >= 0.

    On arrays, pick each branch with np.where(x < 0, left, right).
    Worked number: forward(-1.0) = -0.6321 and backward(1.0, -0.6321, -1.0) = (0.3679,).
    """

    def forward(x):
        raise NotImplementedError

    def backward(grad_out, out, x):
        raise NotImplementedError
''')
def ELU(student):  # noqa: N802
    """ELU as an Op"""
    check_op(student, "ELU",
             lambda x: ELU_ALPHA * (math.exp(x) - 1) if x < 0 else x,
             lambda x: ELU_ALPHA * math.exp(x) if x < 0 else 1.0,
             "α(eˣ − 1) for x < 0, x for x ≥ 0", "αeˣ for x < 0, 1 for x ≥ 0", XS)


@exercise(points=1, stub='''
LAMBDA, SELU_ALPHA = 1.0507, 1.67326


class SELU(Op):
    """The scaled exponential linear unit, with the course's lambda = 1.0507, alpha = 1.67326:
    f(x) = lambda alpha (e^x - 1) for x < 0, lambda x for x >= 0;
    f'(x) = lambda alpha e^x for x < 0, lambda for x >= 0.

    Worked number: forward(-1.0) = -1.1113 and backward(1.0, -1.1113, -1.0) = (0.6468,).
    """

    def forward(x):
        raise NotImplementedError

    def backward(grad_out, out, x):
        raise NotImplementedError
''')
def SELU(student):  # noqa: N802
    """SELU as an Op"""
    lam, alpha = SELU_LAMBDA, SELU_ALPHA
    check_op(student, "SELU",
             lambda x: lam * alpha * (math.exp(x) - 1) if x < 0 else lam * x,
             lambda x: lam * alpha * math.exp(x) if x < 0 else lam,
             "λα(eˣ − 1) for x < 0, λx for x ≥ 0", "λαeˣ for x < 0, λ for x ≥ 0", XS)


def _smelu(x, beta=SMELU_BETA):
    if x <= -beta:
        return 0.0
    if x >= beta:
        return x
    return (x + beta) ** 2 / (4 * beta)


def _smelu_derivative(x, beta=SMELU_BETA):
    if x <= -beta:
        return 0.0
    if x >= beta:
        return 1.0
    return (x + beta) / (2 * beta)


@exercise(points=1, stub='''
BETA = 1.0


class SmeLU(Op):
    """The smooth ReLU (2020) with beta = BETA = 1:
    f(x) = 0 for x <= -beta, (x + beta)^2 / (4 beta) for |x| <= beta, x for x >= beta;
    f'(x) = 0, (x + beta) / (2 beta), 1 on the same three pieces.

    Worked number: forward(0.5) = 0.5625 and backward(1.0, 0.5625, 0.5) = (0.75,).
    """

    def forward(x):
        raise NotImplementedError

    def backward(grad_out, out, x):
        raise NotImplementedError
''')
def SmeLU(student):  # noqa: N802
    """SmeLU as an Op"""
    check_op(student, "SmeLU", _smelu, _smelu_derivative,
             "0, (x + β)²/4β, x on x ≤ −β, |x| ≤ β, x ≥ β", "0, (x + β)/2β, 1",
             XS + [-1.5, 1.5])


# ------------------------------------------------------------ a neuron, a network

NEURON_POINTS = [(1.5, 0.8, -0.5, 1.0), (-1.0, 0.3, 0.2, 0.0), (2.0, -1.2, 0.5, 1.0)]


@exercise(points=2, stub='''
def neuron_gradients(x, w, b, target):
    """One neuron y = w x + b, Y = sigmoid(y), error E = 1/2 (target - Y)^2.

    Return (dE/dw, dE/db) by the chain rule, as in the course:
      dE/dw = dE/dY · dY/dy · dy/dw = (Y - target) · Y (1 - Y) · x
      dE/db = dE/dY · dY/dy · dy/db = (Y - target) · Y (1 - Y) · 1
    Worked number: x = 1.5, w = 0.8, b = -0.5, target = 1 give y = 0.7, Y = 0.6682 and
    (dE/dw, dE/db) = (-0.1104, -0.07357).
    """
    raise NotImplementedError
''')
def neuron_gradients(student):
    """A neuron's gradient by the chain rule"""
    for x, w, b, t in NEURON_POINTS:
        got = student.neuron_gradients(x, w, b, t)
        at = f"at x = {number(x)}, w = {number(w)}, b = {number(b)}, target = {number(t)}"
        expect(isinstance(got, (tuple, list)) and len(got) == 2,
               f"your neuron_gradients {at} returned {got!r}; expected (dE/dw, dE/db).")
        Y = sigmoid(w * x + b)
        local = (Y - t) * Y * (1 - Y)
        wanted = (local * x, local)
        if close(got, wanted):
            continue

        def build(x=x, w=w, b=b, t=t):
            vw, vb = Value(w, name="w"), Value(b, name="b")
            y = vw * x + vb
            y.name = "y"
            Y = y.sigmoid()
            Y.name = "Y"
            E = 0.5 * (t - Y) ** 2
            E.name = "E"
            return {"w": vw, "b": vb}, E

        graph = _leaf_graph(build, {"w": got[0], "b": got[1]})
        hint = None
        if close(got, ((Y - t) * x, Y - t)):
            hint = "You left out dY/dy = σ'(y) = Y(1 − Y), the activation's derivative."
        expect_close(got[0], wanted[0], f"your dE/dw {at}", "(Y − target)·Y(1 − Y)·x",
                     graph=graph, hint=hint)
        expect_close(got[1], wanted[1], f"your dE/db {at}", "(Y − target)·Y(1 − Y)",
                     graph=graph, hint=hint)


def _network(seed: int):
    rng = np.random.default_rng(seed)
    return (rng.normal(size=3), rng.normal(size=(4, 3)) * 0.7, rng.normal(size=4) * 0.3,
            rng.normal(size=4) * 0.7, float(rng.normal()) * 0.3, float(rng.normal()))


NETWORK_FORMULAS = {"b2": "y − target", "W2": "(y − target)·h",
                    "b1": "dE/dz = (y − target)·W2·(1 − h²)", "W1": "outer(dE/dz, x)"}


def _network_graph(x, W1, b1, W2, b2, t):
    """The network as a Tensor graph; returns (leaves by name, E)."""
    leaves = {"W1": Tensor(W1, requires_grad=True, name="W1"),
              "b1": Tensor(b1, requires_grad=True, name="b1"),
              "W2": Tensor(W2, requires_grad=True, name="W2"),
              "b2": Tensor(b2, requires_grad=True, name="b2")}
    z = leaves["W1"] @ Tensor(x, name="x") + leaves["b1"]
    z.name = "z"
    h = z.tanh()
    h.name = "h"
    y = (leaves["W2"] * h).sum() + leaves["b2"]
    y.name = "y"
    E = 0.5 * (y - t) ** 2
    E.name = "E"
    return leaves, E


@exercise(points=3, stub='''
def two_layer_gradients(x, W1, b1, W2, b2, target):
    """A two-layer network, by hand with numpy: z = W1 @ x + b1, h = tanh(z),
    y = W2 · h + b2 (one output), E = 1/2 (y - target)^2.
    Shapes: x (3,), W1 (4, 3), b1 (4,), W2 (4,), b2 a number.

    Return a dict {"W1": dE/dW1, "b1": dE/db1, "W2": dE/dW2, "b2": dE/db2}, each shaped
    like its weight. Backward, one layer at a time:
      dE/dy = y - target;      dE/dW2 = dE/dy · h;          dE/db2 = dE/dy
      dE/dh = dE/dy · W2;      dE/dz = dE/dh · (1 - h^2)    (tanh' = 1 - tanh^2)
      dE/dW1 = outer(dE/dz, x); dE/db1 = dE/dz
    Worked number: with x = [1, 0, 0], W1 = 0, b1 = 0, W2 = [1, 1, 1, 1], b2 = 0.5 and
    target = 0: y = 0.5, dE/db2 = 0.5, dE/dW2 = [0, 0, 0, 0], dE/db1 = [0.5, 0.5, 0.5, 0.5].
    """
    raise NotImplementedError
''')
def two_layer_gradients(student):
    """A two-layer network's gradients by hand, against backward()"""
    worked = (np.array([1.0, 0, 0]), np.zeros((4, 3)), np.zeros(4), np.ones(4), 0.5, 0.0)
    for inputs in (worked, _network(1), _network(2)):
        x, W1, b1, W2, b2, t = inputs
        got = student.two_layer_gradients(x.copy(), W1.copy(), b1.copy(), W2.copy(), b2, t)
        expect(isinstance(got, dict) and set(got) >= {"W1", "b1", "W2", "b2"},
               f"your two_layer_gradients returned {type(got).__name__}; expected a dict "
               'with the keys "W1", "b1", "W2" and "b2".')
        leaves, E = _network_graph(*inputs)
        E.backward()
        wanted = {name: leaf.grad for name, leaf in leaves.items()}
        wrong = [n for n in ("b2", "W2", "b1", "W1") if not close(got[n], wanted[n])]
        if not wrong:
            continue
        for name, leaf in leaves.items():  # the picture shows the student's gradients
            try:
                leaf.grad = np.asarray(got[name], dtype=float).reshape(leaf.shape)
            except (TypeError, ValueError):
                leaf.grad = np.full(leaf.shape, np.nan)
        first = wrong[0]
        expect_close(got[first], wanted[first],
                     f"your dE/d{first} at x = {number(x)}, target = {number(t)}",
                     NETWORK_FORMULAS[first], graph=E,
                     hint=f"Wrong: {' and '.join(wrong)}. Work backwards from the output and "
                          "fix the first of them: the ones after it use it.")
