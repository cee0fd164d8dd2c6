"""Assignment 4: your own engine (a scalar autograd, micrograd-sized).

The student writes a ``Value`` class whose ops build the graph, each op's local backward
rule, an iterative topological order, ``backward()``, then ``Neuron``, ``Layer``, ``MLP``
and a training loop that learns the moons. Every check compares with chaingrad on the same
expression; where a gradient is wrong, the picture is the student's own graph with the
nodes whose gradient disagrees with chaingrad's in red.

The functions whose names start with ``child_`` run beside the student's code (they build
expressions with the student's class and answer with plain data, see :mod:`.graphs`); the
checks compare that data with chaingrad's answer.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import graphs
from .api import Wrong, api_seed, assignment, cases, close, exercise, expect, expect_close, number

assignment(4, "Your own engine", intro="""
    Lessons 1 and 10 show chaingrad's engine at work; here you write one yourself, the
    size of micrograd: a Value that remembers how it was computed, the derivative rule of
    each op, the order of the backward pass, backward(), and a small network that learns
    the moons. Every check builds the same expression with chaingrad: when a gradient
    differs, the picture (chaingrad check --pictures DIR) is YOUR graph with the wrong
    nodes in red.
""", imports="""
    import math
    import random
""")

CHAIN = 10_000  # nodes in the chain that a recursive topological sort cannot handle
MOONS_ACCURACY = 0.85  # stated in the stub of train_moons
OWN_ENGINE = ("Value", "topological_order", "backward_steps")  # chaingrad's, not allowed
# The network and its training too: chaingrad's own nn and optimizers are not the answer,
# and the rule keeps a file from reaching (and replacing) the helpers that run beside it.
OWN_NETWORK = OWN_ENGINE + ("nn", "MLP", "Neuron", "Layer", "optim", "SGD", "Adam", "fit")


def in_child(student: Any, function: Any, *args: Any) -> Any:
    """``function(student_module, *args)`` run where the student's code runs (the child):
    it builds expressions with their classes and answers plain data only."""
    answer = student.run(function, *args)
    expect(isinstance(answer, dict), f"your code sent back {answer!r:.60} where the grader "
           "expected its own summary of your graph; did your code change the grader's?")
    return answer


def _values(rng: np.random.Generator, names: str, low: float = -2.0, high: float = 2.0):
    return {n: float(np.round(rng.uniform(low, high), 3)) for n in names}


def _wrong(said: str, hint: str, answer: dict, expected: dict,
           message: str | None = None) -> Wrong:
    """A Wrong whose picture is the student's own graph, with the nodes whose gradient
    disagrees with chaingrad's (on the same formula) in red. ``hint`` (no numbers) is
    what a hidden case shows; ``message`` (default: said + hint) what a public one does."""
    message = message or f"{said} {hint}".strip()
    try:
        nodes, marks = graphs.wrong_nodes(answer, expected)
    except (ValueError, KeyError, TypeError) as error:  # unreadable: the sentence holds
        return Wrong(f"{message} (No picture: {error}.)", hint=hint)
    return Wrong(message, nodes[-1], hint=hint or None, marks=marks)


def _first_wrong(answer: dict, expected: dict, tol: float = 1e-6) -> tuple[str, str]:
    """The term nearest the output whose gradient differs: (where, with its numbers)."""
    nodes = graphs.rebuild(answer["graph"])
    wrong = [(at, text, grad) for (text, at), (_, _, grad) in zip(answer["terms"],
                                                                 expected["terms"])
             if 0 <= at < len(nodes) and not close(nodes[at].grad, grad, tol)]
    if not wrong:
        return "", ""
    # The graph lists inputs before their users: the latest wrong node is the one nearest
    # the output, whose users all have the right gradient.
    at, text, grad = max(wrong)
    return (f"The first wrong gradient, from the output back, is at {text}.",
            f": {number(nodes[at].grad)} instead of {number(grad)}.")


# ------------------------------------------------------------------ 4.1 forward


def child_forward(student: Any, formula: str, values: dict) -> dict:
    """In the child: the formula with the student's Value, no backward; a TypeError (such
    as ``2 * a`` without __rmul__) comes back as data, for its hint."""
    try:
        return graphs.evaluate(student, formula, values, backward=False)
    except TypeError as error:
        if "unsupported operand" in str(error):
            return {"error": str(error)}
        raise


REVERSED = {"+": "__radd__", "-": "__rsub__", "*": "__rmul__", "/": "__rtruediv__"}


@exercise(points=2, name="Value", forbid=OWN_ENGINE, stub='''
class Value:
    """A number that remembers how it was computed: one node of the graph.

    data      the number (a float)
    grad      d(output)/d(this node), 0.0 until backward() fills it
    _prev     the Values it was computed from, a tuple in argument order (() for an input)
    _op       the op's name: "+", "*", "**2" (the exponent in the name), "tanh", "exp",
              "relu" ("" for an input)
    label     a name for pictures ("a", "b"); chaingrad's viz draws any such graph
    _backward a function that sends this node's grad to its _prev (exercise 4.2)

    Task: each op returns a NEW Value with the result, its inputs and its name, e.g.
        out = Value(self.data * other.data, (self, other), "*")
    A Python number on either side is wrapped in a Value first (2 * a, a + 1, 1 - a).
    Subtraction and division go through the others:  a - b = a + (-b),  -a = a * -1,
    a / b = a * b**-1. Python calls __rmul__ for 2 * a (int.__mul__ does not know your
    Value), so define __radd__, __rmul__, __rsub__ and __rtruediv__ too.
    Worked number: a = Value(2.0), b = Value(-3.0): (a * b + 1).data == -5.0, and
    (a * b)._prev == (a, b), (a * b)._op == "*"; (2 * a).data == 4.0.
    """

    def __init__(self, data, _prev=(), _op="", label=""):
        self.data = float(data)
        self.grad = 0.0
        self._prev = tuple(_prev)
        self._op = _op
        self.label = label
        self._backward = lambda: None

    def __repr__(self):
        return f"Value(data={self.data}, grad={self.grad})"

    def __add__(self, other):
        """self + other; d/dself = 1, d/dother = 1."""
        raise NotImplementedError

    def __mul__(self, other):
        """self * other; d/dself = other, d/dother = self."""
        raise NotImplementedError

    def __pow__(self, k):
        """self ** k for a Python number k (name "**k"); d/dself = k self^(k-1)."""
        raise NotImplementedError

    def tanh(self):
        """t = tanh(self); d/dself = 1 - t^2 (the OUTPUT t, not the input)."""
        raise NotImplementedError

    def exp(self):
        """e = exp(self); d/dself = e."""
        raise NotImplementedError

    def relu(self):
        """max(0, self); d/dself = 1 where the output is positive, else 0."""
        raise NotImplementedError

    def __neg__(self):          # -self
        raise NotImplementedError

    def __sub__(self, other):   # self - other
        raise NotImplementedError

    def __truediv__(self, other):   # self / other
        raise NotImplementedError

    def __radd__(self, other):  # other + self, when other is a number
        raise NotImplementedError

    def __rmul__(self, other):  # other * self
        raise NotImplementedError

    def __rsub__(self, other):  # other - self
        raise NotImplementedError

    def __rtruediv__(self, other):  # other / self
        raise NotImplementedError

    def backward(self):
        """Exercise 4.4 (see below)."""
        raise NotImplementedError
''')
def value_forward(student):
    """Value: the ops build the graph"""
    public = [("a + b", {"a": 2.0, "b": -3.0}), ("a * b + 1", {"a": 2.0, "b": -3.0}),
              ("a ** 3", {"a": -1.5}), ("a - b", {"a": 0.5, "b": 2.0}),
              ("a / b", {"a": 3.0, "b": -4.0}), ("-a", {"a": 1.25}),
              ("a.tanh()", {"a": 0.5}), ("a.exp()", {"a": -1.0}), ("a.relu()", {"a": -0.5}),
              ("b.relu()", {"b": 0.75}), ("2 * a", {"a": 2.0}), ("a + 1", {"a": 2.0}),
              ("1 - a", {"a": 2.0}), ("3 / a", {"a": -2.0})]
    hidden = {"a formula of three Values": lambda rng: (
        "(a * b - c) / (c ** 2 + 1) + (2 - a).tanh() * b.exp() + (a * c).relu()",
        _values(rng, "abc"))}
    for formula, values in cases(public, hidden=hidden):
        at = ", ".join(f"{k} = {number(v)}" for k, v in values.items())
        got = in_child(student, child_forward, formula, values)
        if "error" in got:
            op = next((o for o in REVERSED if f" {o} " in formula), "*")
            raise Wrong(f"{formula} at {at} fails: {got['error']}. Python first asks the "
                        f"number's own {op} (which does not know your Value), then your "
                        f"Value's {REVERSED[op]}: define it (for * simply return self * "
                        "other).")
        expected = graphs.reference(formula, values)
        expect_close(got["data"], expected["data"], f"({formula}).data at {at}", formula,
                     verb="is")
        if formula in ("a + b", "a * b + 1", "a ** 3"):
            _expect_inputs(got, formula)


def _expect_inputs(got: dict, formula: str) -> None:
    """The output's _prev holds its inputs (in order) and _op names the op."""
    nodes = graphs.rebuild(got["graph"])
    root = nodes[-1]
    op = {"a + b": "+", "a * b + 1": "+", "a ** 3": "**3"}[formula]
    expect(root._op.replace(".0", "") == op, f"({formula})._op is {root._op!r}; "
           f"expected {op!r}, the name of the op that made it.")
    inputs = [p.label or number(p.data) for p in root._prev]
    wanted = {"a + b": ["a", "b"], "a * b + 1": [None, "1"], "a ** 3": ["a"]}[formula]
    if formula == "a * b + 1":  # the product, then the wrapped 1
        ok = len(root._prev) == 2 and root._prev[0]._op == "*" and root._prev[1].data == 1.0
    else:
        ok = inputs == wanted
    expect(ok, f"({formula})._prev holds {inputs}; expected the Values it was computed from, "
           f"in order: {wanted if formula != 'a * b + 1' else ['a * b', '1 (wrapped)']}.")


# ------------------------------------------------------------------ 4.2 local rules


def child_local(student: Any, formula: str, values: dict, upstream: float) -> dict:
    """In the child: one op, out.grad = upstream, ONE call of out._backward(); as data."""
    return graphs.evaluate(student, formula, values, upstream=upstream)


LOCAL_RULES = {"+": "d(a+b)/da = 1, d(a+b)/db = 1", "*": "d(ab)/da = b, d(ab)/db = a",
               "**": "d(a^k)/da = k a^(k-1)", "tanh": "dtanh(a)/da = 1 - tanh(a)^2",
               "exp": "d exp(a)/da = exp(a)", "relu": "drelu(a)/da = 1 if a > 0 else 0"}


@exercise(points=2, name="Value", forbid=OWN_ENGINE, title="Value: each op's _backward", stub='''
# Exercise 4.2 lives in your Value class above: each op sets out._backward.
#
# Task: inside each op, after making `out`, define a function that sends out.grad to the
# inputs by the chain rule (local derivative times out.grad) and keep it in out._backward:
#
#     def _backward():
#         self.grad += other.data * out.grad
#         other.grad += self.data * out.grad
#     out._backward = _backward
#
# ADD (+=), never assign: in a + a both inputs are the same node, and it must receive
# from both uses. tanh's derivative is 1 - t^2 with t the OUTPUT (out.data).
# Worked number: a = Value(3.0); out = a * a; out.grad = 1.0; out._backward() leaves
# a.grad == 6.0 (3 from each use). For t = a.tanh() at a = 0.5: a.grad == 1 - 0.4621^2
# == 0.7864 after t.grad = 1.0 and t._backward().
''')
def value_backward_rules(student):
    """Value: each op's _backward"""
    public = [("a + b", {"a": 2.0, "b": -3.0}, 1.0), ("a * b", {"a": 2.0, "b": -3.0}, -2.0),
              ("a + a", {"a": 1.5}, 1.0), ("a * a", {"a": 3.0}, 1.0),
              ("a ** 3", {"a": -1.5}, 0.5), ("a.tanh()", {"a": 0.5}, 1.0),
              ("a.exp()", {"a": -1.0}, 2.0), ("a.relu()", {"a": -0.5}, 1.0),
              ("a.relu()", {"a": 0.75}, 3.0)]
    hidden = [(f"a {op}", lambda rng, f=f: (f, _values(rng, "ab"), float(rng.uniform(-2, 2))))
              for op, f in (("product", "a * b"), ("tanh", "a.tanh()"), ("square", "a * a"))]
    for formula, values, upstream in cases(public, hidden=hidden):
        got = in_child(student, child_local, formula, values, upstream)
        expected = graphs.reference(formula, values)
        scale = {name: upstream for name in values}
        for name in values:
            want = expected["grads"][name] * scale[name]
            if close(got["grads"].get(name), want):
                continue
            at = ", ".join(f"{k} = {number(v)}" for k, v in values.items())
            said = (f"after out = {formula} at {at}, out.grad = {number(upstream)} and one "
                    f"out._backward(), {name}.grad is {number(got['grads'].get(name))}; "
                    f"expected {number(want)}.")
            hint = _local_hint(formula, values, upstream, got["grads"].get(name), want)
            terms = [(t, d, g * upstream) for t, d, g in expected["terms"]]
            raise _wrong(said, hint, got, {**expected, "terms": terms})


def _local_hint(formula: str, values: dict, upstream: float, got: Any, want: float) -> str:
    a = values.get("a", 0.0)
    if formula in ("a + a", "a * a") and close(got, want / 2):
        return ("The node is used twice and received only one use: write += in _backward "
                "(self.grad += ...), never =, so both uses add up.")
    if formula == "a.tanh()" and close(got, (1 - a * a) * upstream):
        return ("That is 1 − a² with the input a; tanh's derivative is 1 − t² with t = "
                "tanh(a), the output (out.data).")
    op = next((o for o in LOCAL_RULES if o in formula), "+")
    return f"The local rule: {LOCAL_RULES[op]}, times out.grad."


# ------------------------------------------------------------------ 4.3 topological order


def _diamonds(levels: int) -> list[graphs.GraphNode]:
    """x -> (y1, z1) -> w1 -> (y2, z2) -> w2 ...: every w is reached along two paths."""
    x = graphs.GraphNode(0.5, 0.0, (), "", "x", 0)
    nodes = [x]
    for k in range(levels):
        y = graphs.GraphNode(0.0, 0.0, (nodes[-1],), "tanh", f"y{k}", len(nodes))
        z = graphs.GraphNode(0.0, 0.0, (nodes[-1],), "exp", f"z{k}", len(nodes) + 1)
        w = graphs.GraphNode(0.0, 0.0, (y, z), "*", f"w{k}", len(nodes) + 2)
        nodes += [y, z, w]
    return nodes


def _chain(length: int) -> list[graphs.GraphNode]:
    nodes = [graphs.GraphNode(1.0, 0.0, (), "", "x", 0)]
    for k in range(1, length):
        nodes.append(graphs.GraphNode(1.0, 0.0, (nodes[-1],), "*", None, k))
    return nodes


def child_order(student: Any, shape: str, size: int) -> dict:
    """In the child: the student's topological_order on a graph of plain nodes (not
    their Value, so this exercise stands alone); positions, or the RecursionError."""
    nodes = _diamonds(size) if shape == "diamonds" else _chain(size)
    try:
        order = student.topological_order(nodes[-1])
    except RecursionError:
        return {"error": "RecursionError"}
    position = {id(n): n.index for n in nodes}
    if not isinstance(order, (list, tuple)):
        return {"error": f"it returned a {type(order).__name__}, not a list"}
    return {"order": [position.get(id(n), -1) for n in order[:4 * len(nodes)]],
            "length": len(order)}


@exercise(points=2, forbid=OWN_ENGINE, stub='''
def topological_order(root):
    """Task: return every node root depends on, each AFTER all of its inputs (_prev),
    root last.

    Each node exactly once (keep a set of the nodes already seen). backward() walks this
    list in reverse, so a node's grad is complete (every use added) before it is passed on.
    Iterative, not recursive: Python stops a recursion about 1000 calls deep
    (RecursionError), and a chain of 10,000 nodes (x * c * c * ... * c) must work.
    Use a stack of (node, iterator over its _prev) pairs: look at the top; push its next
    unseen input; when it has none left, pop it and append it to the order.
    Worked number: for y = (x.tanh() * x.exp()), the order is [x, tanh, exp, y] or
    [x, exp, tanh, y]: x first (once, although two nodes use it), y last.
    """
    raise NotImplementedError
''')
def topological_order(student):
    """An iterative topological order"""
    for shape, size in cases([("diamonds", 1), ("diamonds", 3)],
                             hidden={"more diamonds": lambda rng: ("diamonds",
                                                                   int(rng.integers(4, 9)))}):
        got = in_child(student, child_order, shape, size)
        count = 3 * size + 1
        what = f"your topological_order on {size} diamond{'s' if size > 1 else ''} " \
               f"({count} nodes; each diamond is x → tanh, exp → their product)"
        expect("error" not in got, f"{what}: {got.get('error')}.")
        order = got["order"]
        twice = len(order) - len(set(order))
        expect(twice == 0, f"{what} lists {got['length']} nodes, {twice} of them more than "
               "once; a node is visited twice when two nodes use it: remember the nodes "
               "already seen (a set) and skip them.")
        expect(sorted(order) == list(range(count)), f"{what} lists {len(order)} of the "
               f"{count} nodes; it must list every node root depends on, root included.")
        late = _input_after_use(order, _diamonds(size))
        expect(late is None, f"{what} puts {late} after a node that uses it; each node must "
               "come after all of its inputs (append a node when its inputs are done).")
    got = in_child(student, child_order, "chain", CHAIN)
    if got.get("error") == "RecursionError":
        raise Wrong(f"your topological_order on a chain of {CHAIN:,} nodes raised "
                    "RecursionError: a recursive sort calls itself once per node, and Python "
                    "stops at about 1000 nested calls. Keep your own stack of nodes instead.")
    expect("error" not in got, f"your topological_order on a chain: {got.get('error')}.")
    expect(got["order"] == list(range(CHAIN)), f"your topological_order on a chain of "
           f"{CHAIN:,} nodes is not the chain from its first node to the root.")


def _input_after_use(order: list[int], nodes: list) -> str | None:
    where = {k: i for i, k in enumerate(order)}
    for node in nodes:
        for parent in node._prev:
            if where[parent.index] > where[node.index]:
                return parent.label
    return None


# ------------------------------------------------------------------ 4.4 backward


def child_backward(student: Any, formula: str, values: dict) -> dict:
    return graphs.evaluate(student, formula, values, backward=True)


def child_chain(student: Any, length: int, factor: float) -> dict:
    """In the child: x * factor * factor ... (length multiplications), backward; x.grad."""
    x = student.Value(0.5)
    y = x
    for _ in range(length):
        y = y * factor
    try:
        y.backward()
    except RecursionError:
        return {"error": "RecursionError"}
    return {"grad": graphs._number(x.grad, "grad")}


@exercise(points=2, name="Value", forbid=OWN_ENGINE, title="Value.backward()", stub='''
# Exercise 4.4 lives in your Value class above: write its backward().
#
#     def backward(self):
#         """Fill .grad of every node self depends on: d self / d node."""
#
# Task: take topological_order(self) (exercise 4.3), set self.grad = 1.0 (d self/d self),
# then call node._backward() for each node in REVERSE order: the output first, and each
# node only after every node that uses it has added its share to node.grad.
# Worked number: a = Value(2.0), b = Value(-3.0), c = Value(4.0); f = (a + b) * c;
# f.backward() gives a.grad == 4.0, b.grad == 4.0, c.grad == -1.0.
''')
def value_backward(student):
    """Value.backward()"""
    public = [("(a + b) * c", {"a": 2.0, "b": -3.0, "c": 4.0}),
              ("(a + b) * a", {"a": 1.5, "b": -0.5}),
              ("a * b + b * c", {"a": 1.5, "b": -2.0, "c": 0.5}),
              ("(a * b).tanh() + a", {"a": 0.5, "b": -1.0}),
              ("a / b - c ** 2", {"a": 3.0, "b": -2.0, "c": 1.5}),
              ("(a - b).relu() * c.exp()", {"a": 2.0, "b": 0.5, "c": -1.0})]
    hidden = {"a formula with fan-out": lambda rng: (
        "(a * b + a).tanh() * (b - c) + (a * c).exp() / (b * b + 1)", _values(rng, "abc"))}
    for formula, values in cases(public, hidden=hidden):
        got = in_child(student, child_backward, formula, values)
        expected = graphs.reference(formula, values)
        at = ", ".join(f"{k} = {number(v)}" for k, v in values.items())
        for name in values:
            mine, want = got["grads"][name], expected["grads"][name]
            if close(mine, want):
                continue
            hint = _backward_hint(got, expected, mine, want)
            where, numbers = _first_wrong(got, expected)
            said = (f"after f = {formula} at {at} and f.backward(), {name}.grad is "
                    f"{number(mine)}; expected {number(want)}.")
            raise _wrong(said, f"{where} {hint}".strip(), got, expected,
                         message=f"{said} {where[:-1]}{numbers} {hint}".strip())
    factor = 1.0001
    got = in_child(student, child_chain, CHAIN, factor)
    expect(got.get("error") != "RecursionError", f"backward() on a chain of {CHAIN:,} "
           "multiplications raised RecursionError: its topological order must not recurse "
           "(exercise 4.3).")
    expect_close(got.get("grad"), factor ** CHAIN, f"after y = x * {factor} * ... ({CHAIN:,} "
                 "times) and y.backward(), x.grad", f"{factor}^{CHAIN}", tol=1e-9, verb="is")


def _backward_hint(got: dict, expected: dict, mine: float, want: float) -> str:
    if all(close(g, 0.0) for g in got["grads"].values()):
        return ("Every gradient is 0: start with self.grad = 1.0, then call the _backward of "
                "each node in reverse topological order.")
    if close(mine, 2 * want) and not close(want, 0.0):
        return ("That is twice the answer: is a node visited twice (its _backward called "
                "twice)?")
    return ("A node's grad must be complete (every use added) before its _backward passes "
            "it on; each op's _backward adds (+=) its share.")


# ------------------------------------------------------------------ 4.5 the network


def child_mlp(student: Any, n_in: int, sizes: list, weights: list, inputs: list) -> dict:
    """In the child: the student's MLP(n_in, sizes) with these weights (in parameters()
    order), its outputs for the inputs, as numbers."""
    model = student.MLP(n_in, list(sizes))
    parameters = list(model.parameters())
    if len(parameters) != len(weights):
        return {"count": len(parameters)}
    for p, w in zip(parameters, weights):
        p.data = w
    outputs = []
    for x in inputs:
        out = model([student.Value(v) for v in x])
        outputs.append(graphs._number(getattr(out, "data", out), "output"))
    return {"count": len(parameters), "outputs": outputs}


def mlp_numpy(weights: list, n_in: int, sizes: list, x: np.ndarray) -> np.ndarray:
    """The reference network: per layer, per neuron its weights then its bias; tanh on
    every layer but the last, which is linear. ``x`` is (n, n_in); returns (n, out)."""
    at = 0
    h = np.asarray(x, dtype=float)
    ins = [n_in, *sizes[:-1]]
    for k, (a, b) in enumerate(zip(ins, sizes)):
        block = np.asarray(weights[at:at + b * (a + 1)], dtype=float).reshape(b, a + 1)
        at += b * (a + 1)
        h = h @ block[:, :a].T + block[:, a]
        if k < len(sizes) - 1:
            h = np.tanh(h)
    return h


def parameter_count(n_in: int, sizes: list) -> int:
    return sum(b * (a + 1) for a, b in zip([n_in, *sizes[:-1]], sizes))


@exercise(points=2, name="MLP", title="Neuron, Layer, MLP", forbid=OWN_NETWORK, stub='''
class Neuron:
    """Task (Neuron, Layer, MLP): one neuron has n_in weights w (Values, random in [-1, 1]: random.uniform), a bias b
    (Value 0.0) and an activation, "tanh" or "linear".
    neuron(x) for a list x of n_in Values or numbers: act = b + Σ w_i x_i, then tanh(act)
    (or act itself when linear). parameters(): the list w + [b], in that order.
    Worked number: w = [0.5, -1.0], b = 0.25, x = [2.0, 1.0]: act = 0.25 + 1 - 1 = 0.25,
    tanh(0.25) = 0.2449.
    """

    def __init__(self, n_in, activation="tanh"):
        raise NotImplementedError

    def __call__(self, x):
        raise NotImplementedError

    def parameters(self):
        raise NotImplementedError


class Layer:
    """n_out neurons reading the same n_in inputs (keep them in self.neurons).
    layer(x) is the list of their outputs (one Value alone when n_out == 1);
    parameters() is every neuron's parameters, neuron after neuron.
    """

    def __init__(self, n_in, n_out, activation="tanh"):
        raise NotImplementedError

    def __call__(self, x):
        raise NotImplementedError

    def parameters(self):
        raise NotImplementedError


class MLP:
    """Layers of the given sizes (keep them in self.layers): MLP(2, [8, 1]) is 2 inputs,
    8 tanh neurons, then 1 linear output neuron (the last layer is linear, the others tanh).
    mlp(x) feeds x through the layers in turn. parameters(): layer after layer.
    Worked number: MLP(2, [3, 1]) has 3·(2+1) + 1·(3+1) = 13 parameters.
    """

    def __init__(self, n_in, sizes):
        raise NotImplementedError

    def __call__(self, x):
        raise NotImplementedError

    def parameters(self):
        raise NotImplementedError
''')
def mlp(student):
    """Neuron, Layer, MLP"""
    public = [(2, [3, 1], 0), (3, [4, 2, 1], 1)]
    hidden = {"another network": lambda rng: (int(rng.integers(1, 4)),
                                             [int(rng.integers(2, 5)), 1], int(rng.integers(99)))}
    for n_in, sizes, seed in cases(public, hidden=hidden):
        rng = np.random.default_rng(seed)
        count = parameter_count(n_in, sizes)
        weights = [float(w) for w in np.round(rng.uniform(-1, 1, count), 3)]
        inputs = [[float(v) for v in row] for row in np.round(rng.uniform(-2, 2, (3, n_in)), 2)]
        got = in_child(student, child_mlp, n_in, sizes, weights, inputs)
        shape = " + ".join(f"{b}·({a}+1)" for a, b in zip([n_in, *sizes[:-1]], sizes))
        expect(got["count"] == count, f"your MLP({n_in}, {sizes}).parameters() has "
               f"{got['count']} Values; expected {shape} = {count} (each neuron's weights, "
               "then its bias).")
        want = mlp_numpy(weights, n_in, sizes, np.array(inputs))[:, 0]
        if not close(got["outputs"], want):
            hint = None
            every_tanh = np.tanh(mlp_numpy(weights, n_in, sizes, np.array(inputs)))[:, 0]
            if close(got["outputs"], every_tanh):
                hint = "The last layer is linear: no tanh on the output neuron."
            expect_close(got["outputs"], want, f"your MLP({n_in}, {sizes}) with weights set in "
                         f"parameters() order, on the inputs {number(np.array(inputs))},",
                         "b + Σ w x per neuron, tanh except on the last layer", hint=hint,
                         verb="gave")


# ------------------------------------------------------------------ 4.6 one training step


def child_steps(student: Any, weights: list, xs: list, ys: list, lr: float) -> dict:
    """In the child: two calls of train_step on an MLP(2, [3, 1]) with these weights."""
    model = student.MLP(2, [3, 1])
    parameters = list(model.parameters())
    for p, w in zip(parameters, weights):
        p.data = w
        p.grad = 0.0
    after, losses = [], []
    for _ in range(2):
        losses.append(graphs._number(student.train_step(model, xs, ys, lr), "loss"))
        after.append([graphs._number(p.data, "data") for p in parameters])
    return {"losses": losses, "weights": after}


def reference_steps(weights: list, xs: list, ys: list, lr: float, zero: bool = True):
    """Two steps of gradient descent on the mean squared error, with chaingrad's Values
    (``zero=False``: the gradients of the first step kept and added to: the usual bug)."""
    from chaingrad import Value

    w = [Value(v) for v in weights]
    losses, after = [], []
    for _ in range(2):
        total = Value(0.0)
        for x, y in zip(xs, ys):
            total = total + (_forward_values(w, x) - y) ** 2
        loss = total / len(xs)
        kept = [p.grad for p in w]
        for p in w:
            p.grad = 0.0
        loss.backward()
        for p, old in zip(w, kept):
            step = p.grad + (0.0 if zero else old)
            p.grad = step
            p.data -= lr * step
        losses.append(loss.data)
        after.append([p.data for p in w])
    return losses, after


def _forward_values(w: list, x: list):
    """MLP(2, [3, 1]) on chaingrad Values, weights in parameters() order."""
    hidden = []
    for j in range(3):
        wj = w[3 * j:3 * j + 3]
        hidden.append((wj[2] + wj[0] * x[0] + wj[1] * x[1]).tanh())
    out = w[9:13]
    return out[3] + out[0] * hidden[0] + out[1] * hidden[1] + out[2] * hidden[2]


@exercise(points=1, forbid=OWN_NETWORK, stub='''
def train_step(model, xs, ys, lr):
    """Task: one step of gradient descent on the mean squared error of model on the examples:
        loss = (1/n) Σ (model(x) - y)^2
    then set every parameter's grad to 0 (gradients ADD UP in backward, so the last
    step's would still be there), loss.backward(), and p.data -= lr * p.grad for each
    parameter p. Return loss.data (the loss before the step).
    Worked number: a model whose output is always 0.5 on xs = [[0, 0]], ys = [1.0] has
    loss (0.5 - 1)^2 = 0.25.
    """
    raise NotImplementedError
''')
def train_step(student):
    """One training step"""
    rng = np.random.default_rng(4)
    weights = [float(v) for v in np.round(rng.uniform(-1, 1, 13), 3)]
    xs = [[0.5, -1.0], [1.5, 0.25], [-0.5, 0.75]]
    ys = [1.0, -1.0, 0.5]
    lr = 0.1
    got = in_child(student, child_steps, weights, xs, ys, lr)
    losses, after = reference_steps(weights, xs, ys, lr)
    expect_close(got["losses"][0], losses[0], "your train_step's first loss",
                 "(1/n) Σ (model(x) − y)²")
    expect_close(got["weights"][0], after[0], "the weights after your first train_step",
                 "w − lr · dloss/dw", verb="are")
    hint = None
    if close(got["weights"][1], reference_steps(weights, xs, ys, lr, zero=False)[1][1]):
        hint = ("The second step used the first step's gradients too: set every p.grad = 0 "
                "before loss.backward(), since backward adds to .grad.")
    expect_close(got["weights"][1], after[1], "the weights after your second train_step",
                 "w − lr · dloss/dw", hint=hint, verb="are")


# ------------------------------------------------------------------ 4.7 the moons


def child_train(student: Any, X: np.ndarray, y: np.ndarray) -> dict:
    """In the child: the student's train_moons, and the trained weights as numbers."""
    model = student.train_moons(X, y)
    layers = []
    for layer in model.layers:
        layers.append([[graphs._number(w.data, "weight") for w in neuron.w]
                       + [graphs._number(neuron.b.data, "bias")] for neuron in layer.neurons])
    return {"layers": layers}


def predict(layers: list, X: np.ndarray) -> np.ndarray:
    """The network the student trained, evaluated here: tanh layers, a linear last one."""
    h = np.asarray(X, dtype=float)
    expect(isinstance(layers, list) and layers, "your trained MLP has no layers the grader "
           "can read: keep them in self.layers, each Layer's neurons in self.neurons.")
    for k, layer in enumerate(layers):
        try:
            block = np.asarray(layer, dtype=float)
        except (TypeError, ValueError):
            block = np.zeros(0)
        if block.ndim != 2 or block.shape[1] != h.shape[1] + 1:
            raise Wrong(f"your trained MLP's layer {k + 1} has weights of shape "
                        f"{block.shape}; expected one row per neuron of {h.shape[1]} "
                        "weights and a bias.")
        h = h @ block[:, :-1].T + block[:, -1]
        if k < len(layers) - 1:
            h = np.tanh(h)
    return h[:, 0]


@exercise(points=2, cost=6, forbid=OWN_NETWORK, stub='''
def train_moons(X, y):
    """Task: train an MLP of yours on the moons and return it.

    X is a numpy array (n, 2) of points, y their labels, -1 or +1 (about 60 points).
    Make MLP(2, [8, 1]) (random.seed(0) first, so every run is the same), then repeat
    train_step on all the points (lists of numbers: [list(row) for row in X]) about 100
    times with lr = 0.2. The grader evaluates the returned model's weights itself, on 400
    points of the same moons your code never sees: a point is +1 where the output is > 0,
    and at least 85% of them must be right. Keep it small: it has a time limit.
    Worked number: the untrained MLP is right on about 50% (a coin); after 100 steps,
    about 93%.
    """
    raise NotImplementedError
''')
def train_moons(student):
    """The moons with your own engine"""
    from chaingrad.nn.data import moons

    rng = np.random.default_rng([api_seed(), 4])  # new moons every run; only here
    train_seed, test_seed = (int(v) for v in rng.integers(1000, 10**6, 2))
    X, y = moons(60, noise=0.1, seed=train_seed)
    got = in_child(student, child_train, X, 2.0 * y - 1.0)
    X_test, y_test = moons(400, noise=0.1, seed=test_seed)
    accuracy = float(np.mean((predict(got.get("layers"), X_test) > 0) == (y_test == 1)))
    expect(math.isfinite(accuracy) and accuracy >= MOONS_ACCURACY,
           f"your trained MLP is right on {accuracy:.0%} of 400 new moons points; expected "
           f"at least {MOONS_ACCURACY:.0%}. Check train_step, lr (about 0.2) and the number "
           "of steps (about 100).")
