"""A student's graph as plain data and back: how the grader draws a graph it never held.

The student's ``Value`` objects live in the process that runs the submission; the grader
(the parent) must never hold them. So the child turns the student's graph into plain
lists and dicts (:func:`export_graph`), the parent checks that data and rebuilds light
micrograd-like objects from it (:func:`rebuild`), and ``viz.draw`` draws those.

:func:`evaluate` is the child's side of an exercise on the student's ``Value``: it builds
a formula the parent chose (``"(a + b) * c"``) from the student's class, runs their
``backward()``, and answers with numbers and the exported graph; :func:`reference` computes
the same formula with chaingrad's Value in the parent.
"""

from __future__ import annotations

import ast
import math
import operator
from typing import Any

from ...viz.graph import micrograd_walk

MAX_NODES = 2_000  # nodes of a student's graph sent back for a picture
MAX_TEXT = 40  # characters of an op or a label
FIELDS = ("data", "grad", "op", "label", "children")


# ------------------------------------------------------------------ child side


def export_graph(root: Any, limit: int = MAX_NODES) -> dict:
    """The graph of a micrograd-like ``root`` as plain data, inputs first, root last.

    ``{"nodes": [{"data", "grad", "op", "label", "children"}, ...]}``: ``children`` are
    the positions of a node's inputs, always smaller than its own (the list is a
    topological order). Iterative; more than ``limit`` nodes or a cycle is a ValueError.
    """
    nodes = []
    for node, children in micrograd_walk(root, limit):
        label = getattr(node, "label", None)
        nodes.append({
            "data": _number(node.data, "data"),
            "grad": _number(node.grad, "grad"),
            "op": str(node._op)[:MAX_TEXT],
            "label": str(label)[:MAX_TEXT] if label not in (None, "") else None,
            "children": list(children),
        })
    return {"nodes": nodes}


def _number(value: Any, what: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"a Value's {what} is {value!r:.40}, not a number") from None


# ------------------------------------------------------------------ parent side


class GraphNode:
    """One node of a rebuilt graph: micrograd's attributes, plain numbers only."""

    def __init__(self, data: float, grad: float, prev: tuple, op: str, label: str | None,
                 index: int) -> None:
        self.data, self.grad, self._prev, self._op = data, grad, prev, op
        self.label, self.index = label, index

    def __repr__(self) -> str:
        return f"GraphNode({self.label or self._op or 'leaf'}, data={self.data}, grad={self.grad})"


def rebuild(exported: Any, limit: int = MAX_NODES) -> list[GraphNode]:
    """The nodes of an exported graph as GraphNodes (the root is the last), after checking
    every field: anything else than :func:`export_graph`'s shape is a ValueError."""
    nodes = exported.get("nodes") if isinstance(exported, dict) else None
    if not isinstance(nodes, list) or not nodes:
        raise ValueError("the graph sent back is not a non-empty list of nodes")
    if len(nodes) > limit:
        raise ValueError(f"the graph sent back has {len(nodes)} nodes (at most {limit})")
    built: list[GraphNode] = []
    for index, node in enumerate(nodes):
        if not isinstance(node, dict) or set(node) != set(FIELDS):
            raise ValueError(f"node {index} of the graph sent back is not {FIELDS}")
        data, grad, op, label, children = (node[f] for f in FIELDS)
        for value in (data, grad):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"node {index} of the graph sent back has a non-number")
        if not isinstance(op, str) or not (label is None or isinstance(label, str)):
            raise ValueError(f"node {index} of the graph sent back has a bad op or label")
        if not isinstance(children, list) or not all(
                type(c) is int and 0 <= c < index for c in children):
            raise ValueError(f"node {index} of the graph sent back has inputs that do not "
                             "come before it")
        built.append(GraphNode(float(data), float(grad), tuple(built[c] for c in children),
                               op[:MAX_TEXT], label[:MAX_TEXT] if label else None, index))
    return built


# ------------------------------------------------------------------ formulas

BINARY = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}
OPERATORS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
             ast.Div: operator.truediv, ast.Pow: operator.pow}
METHODS = ("tanh", "exp", "relu")


def terms(formula: str) -> list[ast.expr]:
    """The subexpressions of ``formula`` that make a Value, inputs first (post-order).

    Only names, numbers, ``+ - * / **``, unary minus and ``.tanh() .exp() .relu()``; the
    formulas are the grader's own, so anything else is the grader's bug (ValueError).
    """
    tree = ast.parse(formula, mode="eval").body
    found: list[ast.expr] = []

    def visit(node: ast.expr) -> None:
        if isinstance(node, ast.BinOp) and type(node.op) in BINARY:
            visit(node.left)
            visit(node.right)
        elif isinstance(node, ast.UnaryOp) and isinstance(node.operand, ast.Constant):
            return  # a negative number such as -2
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            visit(node.operand)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr in METHODS and not node.args:
            visit(node.func.value)
        elif isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return  # a plain number: the student's Value wraps it
        elif not isinstance(node, ast.Name):
            raise ValueError(f"terms: {ast.unparse(node)!r} is not allowed in a formula")
        found.append(node)

    visit(tree)
    return found


def compute(formula: str, leaves: dict[str, Any]) -> list[tuple[ast.expr, Any]]:
    """Evaluate ``formula`` with these leaf objects: (term, its result) in :func:`terms`'
    order, the whole formula last."""
    results: dict[int, Any] = {}
    found = terms(formula)

    def value(node: ast.expr) -> Any:
        if id(node) not in results:  # a number: 2, or -2
            return ast.literal_eval(node)
        return results[id(node)]

    for node in found:
        if isinstance(node, ast.Name):
            out = leaves[node.id]
        elif isinstance(node, ast.BinOp):
            out = OPERATORS[type(node.op)](value(node.left), value(node.right))
        elif isinstance(node, ast.UnaryOp):
            out = -value(node.operand)
        else:
            out = getattr(value(node.func.value), node.func.attr)()
        results[id(node)] = out
    return [(node, results[id(node)]) for node in found]


def evaluate(student: Any, formula: str, values: dict[str, float], backward: bool = True,
             upstream: float | None = None, class_name: str = "Value") -> dict:
    """In the child: the formula with the student's Value, their backward(), as data.

    With ``upstream``, only the last op's rule runs: ``out.grad = upstream`` and one
    ``out._backward()``. Returns ``{"data": the result, "grads": {leaf: grad}, "graph":
    export_graph(result), "terms": [(text, position in the graph), ...]}``: each term of
    the formula (in :func:`terms`' order) and where the student's graph has it.
    """
    make = getattr(student, class_name)
    leaves = {}
    for name, number in values.items():
        leaves[name] = make(number)
        leaves[name].label = name
    results = compute(formula, leaves)
    root = results[-1][1]
    if upstream is not None:
        root.grad = upstream
        root._backward()
    elif backward:
        root.backward()
    walked = micrograd_walk(root, MAX_NODES)
    position = {id(node): k for k, (node, _) in enumerate(walked)}
    return {
        "data": _number(root.data, "data"),
        "grads": {name: _number(leaf.grad, "grad") for name, leaf in leaves.items()},
        "graph": export_graph(root),
        "terms": [(ast.unparse(t), position.get(id(out), -1)) for t, out in results],
    }


def reference(formula: str, values: dict[str, float]) -> dict:
    """In the parent: the same formula with chaingrad's Value: data, leaf gradients, and
    each term's (text, data, grad) in :func:`terms`' order."""
    from ... import Value

    leaves = {name: Value(number, name=name) for name, number in values.items()}
    results = compute(formula, leaves)
    root = results[-1][1]
    root.backward()
    return {
        "data": root.data,
        "grads": {name: leaf.grad for name, leaf in leaves.items()},
        "terms": [(ast.unparse(t), out.data, out.grad) for t, out in results],
    }


def wrong_nodes(answer: dict, expected: dict, tol: float = 1e-6) -> tuple[list[GraphNode], dict]:
    """Rebuild the student's graph; return (its nodes, {node: chaingrad's gradient}) for
    every term of the formula the student's graph holds: viz.draw(root, check=that)."""
    nodes = rebuild(answer["graph"])
    marks: dict[GraphNode, float] = {}
    places = answer.get("terms")
    if not isinstance(places, (list, tuple)) or len(places) != len(expected["terms"]):
        return nodes, marks
    for place, (_, _, grad) in zip(places, expected["terms"]):
        at = place[1] if isinstance(place, (list, tuple)) and len(place) == 2 else -1
        if type(at) is int and 0 <= at < len(nodes) and math.isfinite(grad):
            marks[nodes[at]] = grad
    return nodes, marks
