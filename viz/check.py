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
    """Leaf id -> (the numeric gradient as text, whether it agrees with ``.grad``)."""
    root = graph.graph["root"]
    results = {}
    forward = sorted(graph, key=lambda n: graph.nodes[n]["order"])
    for leaf in forward:
        attrs = graph.nodes[leaf]
        if attrs["op"] or attrs["kind"] == "constant" or attrs["grad"] is None:
            continue
        if not attrs["scalar"] and not attrs["node"].requires_grad:
            continue
        downstream = nx.descendants(graph, leaf)
        order = [n for n in forward if n in downstream]
        if attrs["scalar"]:
            try:
                numeric = _difference(graph, leaf, None, order, root, h)
            except ValueError:  # an op of a micrograd-like graph viz has no rule for
                continue
            analytic = float(attrs["grad"])
            ok = bool(abs(numeric - analytic) <= atol + rtol * max(abs(numeric), abs(analytic)))
            results[leaf] = (number(numeric), ok)
            continue
        data = attrs["data"]
        flat = np.linspace(0, data.size - 1, min(data.size, MAX_ELEMENTS)).astype(int)
        worst = 0.0
        ok = True
        for k in np.unique(flat):
            index = np.unravel_index(k, data.shape)
            numeric = _difference(graph, leaf, index, order, root, h)
            analytic = float(np.asarray(attrs["grad"])[index])
            error = abs(numeric - analytic)
            worst = max(worst, error)
            ok &= bool(error <= atol + rtol * max(abs(numeric), abs(analytic)))
        results[leaf] = (f"max error {number(worst)}", ok)
    return results


def _difference(graph, leaf: str, index, order: list[str], root: str, h: float) -> float:
    """(f(x + h) - f(x - h)) / 2h for the leaf (one element of it when ``index`` is given)."""
    values = []
    for sign in (1.0, -1.0):
        data = graph.nodes[leaf]["data"]
        if index is None:
            nudged: Any = data + sign * h
        else:
            nudged = np.array(data, dtype=float, copy=True)
            nudged[index] += sign * h
        values.append(_evaluate(graph, {leaf: nudged}, order, root))
    return float(np.sum(values[0] - values[1]) / (2 * h))


def _evaluate(graph, changed: dict, order: list[str], root: str) -> Any:
    """Recompute the nodes in ``order`` (parents first) and return the root's value."""
    for node_id in order:
        node = graph.nodes[node_id]["node"]
        inputs = []
        for parent, _, _ in sorted(graph.in_edges(node_id, keys=True), key=lambda e: e[2]):
            inputs.append(changed.get(parent, graph.nodes[parent]["data"]))
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
