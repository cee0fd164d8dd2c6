"""Assignment 1: backpropagation by hand and by code (lessons 1 to 3).

Local derivatives and the chain rule on f = (x + y) z, the activations of the course's
table written as ``Op`` subclasses, one neuron's gradient by the chain rule, and a
two-layer network's gradients by hand, each compared with ``backward()``.
"""

from __future__ import annotations

import math

import numpy as np

from chaingrad.autograd import Op, Tensor, Value

from .api import (
    StudentError,
    Wrong,
    as_number,
    assignment,
    cases,
    close,
    exercise,
    expect,
    expect_close,
    number,
    shape_of,
)

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


def _signed(rng, low, high, size):
    return tuple(float(v) for v in rng.uniform(low, high, size) * rng.choice([-1, 1], size))


HIDDEN_FXYZ = {"negative x, y and z": lambda rng: tuple(float(v) for v in -rng.uniform(0.5, 5, 3)),
               "z = 0": lambda rng: (*_signed(rng, 0.5, 5, 2), 0.0),
               "large numbers": lambda rng: _signed(rng, 10, 100, 3)}


@exercise(points=1, by_hand=True, stub='''
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
    for x, y, z in cases(POINTS_FXYZ, HIDDEN_FXYZ):
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
        try:
            for name, g, w, formula in zip(names, got, wanted, formulas):
                expect_close(g, w, f"your {name} {at}", formula, graph=graph, hint=hint)
        except Wrong as wrong:
            # The leaves carry what your local derivatives give; the edges would show the
            # right local derivatives beside them, which contradicts the leaves: leave them out.
            wrong.edge_labels = False
            raise


@exercise(points=1, by_hand=True, stub='''
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
    for x, y, z in cases(POINTS_FXYZ, HIDDEN_FXYZ):
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


OP_BASE = f"{Op.__module__}.{Op.__qualname__}"
HIDDEN_X = {"a large positive x": lambda rng: float(rng.uniform(3, 8)),
            "a large negative x": lambda rng: float(-rng.uniform(3, 8)),
            "an x near 0": lambda rng: float(rng.uniform(-0.1, 0.1))}


def check_op(student, cls: str, f, df, f_text: str, df_text: str, xs: list[float],
             graph=None) -> None:
    """Check a student's one-input Op: forward, backward, grad_out, arrays.

    ``graph(x)`` builds x → f(x) with the engine's own ops, for the picture."""
    kind = student.describe(cls)
    expect(kind.get("kind") == "class" and OP_BASE in kind.get("bases", []),
           f"your {cls} must be a class that subclasses Op: class {cls}(Op): ...")
    op = getattr(student, cls)
    for x in cases(xs, HIDDEN_X):
        expect_close(op.forward(x), f(x), f"your {cls}.forward at x = {number(x)}", f_text)
    for x in cases(xs, HIDDEN_X):
        grads = op.backward(1.0, f(x), x)
        expect(isinstance(grads, (tuple, list)) and len(grads) == 1,
               f"your {cls}.backward at x = {number(x)} returned {grads!r}; it must return a "
               "tuple with one gradient per input, such as (grad_out * local,).")
        if not close(grads[0], df(x)):
            expect_close(grads[0], df(x), f"your {cls}.backward at x = {number(x)}", df_text,
                         graph=_op_graph(graph, x, grads[0]))
    x = xs[0]
    scaled = op.backward(-2.0, f(x), x)
    scaled = scaled[0] if isinstance(scaled, (tuple, list)) and scaled else scaled
    if not close(scaled, -2.0 * df(x)):
        expect_close(scaled, -2.0 * df(x),
                     f"your {cls}.backward with grad_out = -2 at x = {number(x)}",
                     f"grad_out · ({df_text})",
                     hint="Multiply the local derivative by grad_out: that is the chain rule.",
                     graph=_op_graph(graph, x, scaled, upstream=-2.0))
    array = np.array(xs, dtype=float)
    try:
        forward = op.forward(array)
    except StudentError as error:
        _array_problem(cls, "forward", error)
    expect_close(forward, [f(v) for v in xs], f"your {cls}.forward at x = {number(array)}",
                 f_text)
    try:
        backward = op.backward(np.ones_like(array), np.array([f(v) for v in xs]), array)
    except StudentError as error:
        _array_problem(cls, "backward", error)
    backward = backward[0] if isinstance(backward, (tuple, list)) and backward else backward
    expect_close(backward, [df(v) for v in xs], f"your {cls}.backward at x = {number(array)}",
                 df_text)


def _array_problem(cls: str, method: str, error: StudentError) -> None:
    """A student's op that fails on arrays: say how to fix it (or let the error through)."""
    details = error.details
    if details["type"] in ("TypeError", "ValueError") and not details["time_limit"]:
        raise Wrong(_array_message(cls, method, details)) from None
    raise error


def _array_message(cls: str, method: str, details: dict) -> str:
    return (f"your {cls}.{method} works on one number but not on a numpy array (it raised "
            f"{details['type']}: {details['message']}). Ops run on Tensors too: use np.exp, "
            "np.tanh, np.where(x < 0, ..., ...) instead of math.exp and if/else.")


def _op_graph(graph, x: float, student_grad, upstream: float = 1.0):
    """x → f(x) (→ upstream · f(x)) with the engine's ops; x carries the student's gradient."""
    if graph is None:
        return None
    try:
        vx = Value(x, name="x")
        out = graph(vx)
        out.name = "out"
        if upstream != 1.0:
            out = out * upstream
            out.name = "upstream · out"
        out.backward()
        try:
            vx.grad = float(as_number(student_grad, "x"))
        except (TypeError, ValueError, Wrong):
            vx.grad = float("nan")
        return out
    except Exception:
        return None


def sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x))


ELU_ALPHA = 1.0
SELU_LAMBDA, SELU_ALPHA = 1.0507, 1.67326  # as the course rounds them
SMELU_BETA = 1.0
XS = [0.5, -1.0, 2.0, -0.25, 0.0]


@exercise(points=2, forbid=("sigmoid", "Sigmoid"), stub='''
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
             "1 / (1 + e^(-x))", "σ(x)(1 − σ(x))", XS, lambda x: x.sigmoid())


@exercise(points=1, forbid=("tanh", "Tanh"), stub='''
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
             "tanh(x)", "1 − tanh(x)²", XS, lambda x: x.tanh())


@exercise(points=1, forbid=("softplus", "Softplus", "SoftplusOp"), stub='''
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
             "ln(1 + e^x)", "1 / (1 + e^(−x))", XS, lambda x: (x.exp() + 1).log())


@exercise(points=1, forbid=("elu", "ELU"), stub='''
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
             "α(eˣ − 1) for x < 0, x for x ≥ 0", "αeˣ for x < 0, 1 for x ≥ 0", XS,
             lambda x: ELU_ALPHA * (x.exp() - 1) if x.data < 0 else x * 1.0)


@exercise(points=1, forbid=("selu", "SELU"), stub='''
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
             "λα(eˣ − 1) for x < 0, λx for x ≥ 0", "λαeˣ for x < 0, λ for x ≥ 0", XS,
             lambda x: lam * alpha * (x.exp() - 1) if x.data < 0 else lam * x)


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


@exercise(points=1, forbid=("smelu", "SmeLU"), stub='''
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
             XS + [-1.5, 1.5], _smelu_graph)


def _smelu_graph(x, beta=SMELU_BETA):
    if x.data <= -beta:
        return x * 0.0
    if x.data >= beta:
        return x * 1.0
    return (x + beta) ** 2 / (4 * beta)


# ------------------------------------------------------------ a neuron, a network

NEURON_POINTS = [(1.5, 0.8, -0.5, 1.0), (-1.0, 0.3, 0.2, 0.0), (2.0, -1.2, 0.5, 1.0)]


@exercise(points=2, by_hand=True, stub='''
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
    hidden = {"a negative input x": lambda rng: (float(-rng.uniform(0.5, 3)),
                                                 *_signed(rng, 0.1, 2, 2), 1.0),
              "target 0": lambda rng: (*_signed(rng, 0.5, 3, 3), 0.0)}
    for x, w, b, t in cases(NEURON_POINTS, hidden):
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


@exercise(points=3, by_hand=True, stub='''
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
    hidden = {"a random network": lambda rng: _network(int(rng.integers(3, 2**31)))}
    for inputs in cases([worked, _network(1), _network(2)], hidden):
        x, W1, b1, W2, b2, t = inputs
        got = student.two_layer_gradients(x.copy(), W1.copy(), b1.copy(), W2.copy(), b2, t)
        _expect_gradient_dict(got)
        leaves, E = _network_graph(*inputs)
        E.backward()
        wanted = {name: leaf.grad for name, leaf in leaves.items()}
        for name in ("b2", "W2", "b1", "W1"):  # a wrong shape is said as a shape
            shape = shape_of(got[name])
            expect(shape == np.shape(wanted[name]) or (shape == (1,) and name == "b2"),
                   f"your dE/d{name} has the shape {shape}; expected {np.shape(wanted[name])}, "
                   f"the shape of {name}." if shape is not None else
                   f"your dE/d{name} is {got[name]!r}, which is not numbers.")
        wrong = [n for n in ("b2", "W2", "b1", "W1") if not close(got[n], wanted[n])
                 and not (n == "b2" and close(np.ravel(got[n]), [wanted[n]]))]
        if not wrong:
            continue
        for name, leaf in leaves.items():  # the picture shows the student's gradients
            leaf.grad = np.asarray(got[name], dtype=float).reshape(leaf.shape)
        first = wrong[0]
        expect_close(got[first], wanted[first],
                     f"your dE/d{first} at x = {number(x)}, target = {number(t)}",
                     NETWORK_FORMULAS[first], graph=E,
                     hint=f"Wrong: {' and '.join(wrong)}. Work backwards from the output and "
                          "fix the first of them: the ones after it use it.")


def _expect_gradient_dict(got) -> None:
    """A dict with exactly the keys W1, b1, W2, b2, or a sentence naming what is off."""
    keys = ("W1", "b1", "W2", "b2")
    expect(isinstance(got, dict), f"your two_layer_gradients returned {got!r}; expected a "
           'dict with the keys "W1", "b1", "W2" and "b2".')
    missing = [k for k in keys if k not in got]
    extra = [repr(k) for k in got if k not in keys]
    if missing:
        said = ", ".join(repr(k) for k in missing)
        also = f" (it has {', '.join(extra)} instead: the keys are the weights' names)" \
            if extra else ""
        raise Wrong(f"your two_layer_gradients returned a dict without the key"
                    f"{'s' if len(missing) > 1 else ''} {said}{also}.")
