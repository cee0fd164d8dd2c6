"""A visual gradient check: each leaf's gradient against central differences.

The graph is re-evaluated by running each op's forward again on its parents' values
(``node.operation.forward(*parent datas, **params)``), with one input nudged by ±h.
Only the nodes downstream of that input are recomputed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import networkx as nx
import numpy as np

from .labels import number

MAX_ELEMENTS = 24  # elements checked per tensor leaf (evenly spaced)


def numeric_gradients(graph: nx.MultiDiGraph, h: float = 1e-6, rtol: float = 1e-4,
                      atol: float = 1e-6) -> dict[str, tuple[str, bool]]:
    """Leaf id -> (the numeric gradient as text, whether it agrees with ``.grad``).

    A leaf's gradient that cannot be estimated (every difference leaves the op's domain,
    as at sqrt(0)) is left out. A graph of Values is checked in one pass (see
    _scalar_differences); tensor leaves are nudged one element at a time.
    """
    root = graph.graph["root"]
    forward = sorted(graph, key=lambda n: graph.nodes[n]["order"])
    leaves = [n for n in forward if _checkable(graph.nodes[n])]
    if all(graph.nodes[n].get("scalar", True) for n in forward):
        return _scalar_results(graph, forward, leaves, h, rtol, atol)
    results = {}
    for leaf in leaves:
        attrs = graph.nodes[leaf]
        downstream = nx.descendants(graph, leaf)
        order = [n for n in forward if n in downstream]
        data = attrs["data"]
        flat = np.linspace(0, data.size - 1, min(data.size, MAX_ELEMENTS)).astype(int)
        worst = 0.0
        ok = True
        for k in np.unique(flat):
            index = np.unravel_index(k, data.shape)
            numeric = _difference(graph, leaf, index, order, root, h)
            if numeric is None:
                continue
            analytic = float(np.asarray(attrs["grad"])[index])
            error = abs(numeric - analytic)
            worst = max(worst, error)
            ok &= bool(error <= atol + rtol * max(abs(numeric), abs(analytic)))
        results[leaf] = (f"max error {number(worst)}", ok)
    return results


def _checkable(attrs: dict) -> bool:
    """A leaf with a gradient (not a constant, not the box of earlier nodes)."""
    if attrs.get("kind") in ("constant", "group") or attrs.get("op", "") or (
            attrs.get("grad") is None):
        return False
    return attrs["scalar"] or attrs["node"].requires_grad


def _scalar_results(graph, forward: list[str], leaves: list[str], h: float, rtol: float,
                    atol: float) -> dict[str, tuple[str, bool]]:
    numeric = _scalar_differences(graph, forward, h)
    results = {}
    for leaf in leaves:
        if leaf not in numeric:
            continue
        estimate, analytic = numeric[leaf], float(graph.nodes[leaf]["grad"])
        ok = abs(estimate - analytic) <= atol + rtol * max(abs(estimate), abs(analytic))
        results[leaf] = (number(estimate), bool(ok))
    return results


def _scalar_differences(graph, forward: list[str], h: float) -> dict[str, float]:
    """Every leaf's d root / d leaf, from each op's own derivatives by central differences.

    Each op is run again with one input nudged by ±h: its local derivative, estimated
    without its backward rule. The chain rule then multiplies them along every path, from
    the root back, once per edge: linear in the size of the graph, where nudging every
    leaf through the whole graph would take leaves × nodes evaluations. A wrong backward
    rule shows as a leaf whose .grad disagrees. A local derivative that cannot be
    estimated (sqrt at 0) leaves the leaves below it out.
    """
    adjoint: dict[str, float | None] = {graph.graph["root"]: 1.0}
    for node_id in reversed(forward):
        upstream = adjoint.get(node_id)
        node = graph.nodes[node_id].get("node")
        if upstream is None or node is None or node.operation is None:
            continue
        inputs = [parent.data for parent in node.parents]
        ids = _parent_ids(graph, node_id, len(inputs))
        for position, parent_id in enumerate(ids):
            local = _local_derivative(node, inputs, position, h)
            if parent_id in adjoint and adjoint[parent_id] is None:
                continue
            if local is None:
                adjoint[parent_id] = None  # unknown: every path through it is unknown
            else:
                adjoint[parent_id] = (adjoint.get(parent_id) or 0.0) + upstream * local
    return {n: g for n, g in adjoint.items() if g is not None}


def _parent_ids(graph, node_id: str, count: int) -> list[str]:
    ids = [""] * count
    for parent, _, index in graph.in_edges(node_id, keys=True):
        ids[index] = parent
    return ids


def _local_derivative(node: Any, inputs: list, position: int, h: float) -> float | None:
    """d node / d input ``position`` by central differences, one-sided at a domain edge."""
    def run(shift: float) -> float:
        nudged = list(inputs)
        nudged[position] = inputs[position] + shift
        return float(node.operation.forward(*nudged, **(node.params or {})))

    size = abs(float(inputs[position]))
    h = h * max(1.0, size)  # relative to the input: 1e-6 is lost in rounding next to 1e6
    near = size * 1e-4  # a step that stays inside the domain (sqrt near 0)
    steps = [(h, -h)] + ([(near, -near)] if 0 < near < h else []) + [(h, 0.0), (0.0, -h)]
    for (a, b) in steps:  # central, smaller central, then one-sided
        try:
            value = (run(a) - run(b)) / (a - b)
        except (ArithmeticError, ValueError, TypeError):
            continue
        if np.isfinite(value):
            return value
    return None


def _difference(graph, leaf: str, index, order: list[str], root: str, h: float) -> float | None:
    """(f(x + h) - f(x - h)) / 2h for one element of a tensor leaf: with a smaller step, or
    one-sided, at a domain edge (sqrt near 0); None when f cannot be evaluated there."""
    data = graph.nodes[leaf]["data"]
    near = abs(float(np.asarray(data)[index])) * 1e-4
    steps = [(h, -h)] + ([(near, -near)] if 0 < near < h else []) + [(h, 0.0), (0.0, -h)]
    for a, b in steps:
        values = []
        for shift in (a, b):
            nudged = np.array(data, dtype=float, copy=True)
            nudged[index] += shift
            try:
                with np.errstate(all="ignore"):
                    values.append(_evaluate(graph, {leaf: nudged}, order, root))
            except (ArithmeticError, ValueError, TypeError):
                break
        if len(values) == 2 and np.all(np.isfinite(values[0])) and np.all(
                np.isfinite(values[1])):
            return float(np.sum(values[0] - values[1]) / (a - b))
    return None


def _evaluate(graph, changed: dict, order: list[str], root: str) -> Any:
    """Recompute the nodes in ``order`` (parents first) and return the root's value."""
    for node_id in order:
        node = graph.nodes[node_id]["node"]
        ids = _parent_ids(graph, node_id, len(node.parents))
        inputs = [changed[p] if p in changed else parent.data
                  for p, parent in zip(ids, node.parents)]
        changed[node_id] = node.operation.forward(*inputs, **(node.params or {}))
    return changed.get(root, graph.nodes[root]["data"])


def expected_gradients(graph: nx.MultiDiGraph, expected: Mapping[Any, Any], rtol: float = 1e-6,
                       atol: float = 1e-6) -> dict[str, tuple[str, bool, str]]:
    """Node id -> (the expected gradient as text, whether ``.grad`` agrees, "expected").

    ``expected`` maps graph nodes (chaingrad nodes, or the micrograd-like objects the graph
    was read from) to the gradient they should have, e.g. a reference engine's.
    """
    wanted = {id(node): value for node, value in expected.items()}
    results = {}
    for node_id, attrs in graph.nodes(data=True):
        node = attrs.get("node")
        key = id(getattr(node, "source", node))
        if key not in wanted and id(node) not in wanted:
            continue
        value = wanted.get(key, wanted.get(id(node)))
        ok = bool(np.allclose(attrs["grad"], value, rtol=rtol, atol=atol))
        text = number(value) if np.ndim(value) == 0 else f"shape {np.shape(value)}"
        results[node_id] = (text, ok, "expected")
    return results
