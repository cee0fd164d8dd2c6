"""What each box and edge says, as plain text lines shared by every renderer.

Numbers are rounded to four significant digits (``-12``, ``0.7616``, ``1.2e-05``);
tensors show shape and dtype, their values when they have at most 12 elements, and
min / mean / max and the norm otherwise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

SMALL_TENSOR = 12
INFIX = {"+", "-", "*", "/", "**", "@"}


def number(x: float) -> str:
    """A number the way a student writes it: 4 significant digits, no trailing zeros."""
    x = float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if x == 0:
        return "0"
    text = f"{x:.4g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        text = f"{mantissa}e{int(exponent)}"
    return text


def array_lines(values: np.ndarray) -> list[str]:
    """A small array as aligned rows (``[1, -1, 2]``), a big one as a one-line summary."""
    values = np.asarray(values, dtype=float)
    if values.size > SMALL_TENSOR:
        norm = float(np.sqrt(np.sum(values * values)))
        return [
            f"min {number(values.min())}  mean {number(values.mean())}  "
            f"max {number(values.max())}",
            f"norm {number(norm)}",
        ]
    if values.ndim == 0:
        return [number(values)]
    if values.ndim == 2 and values.shape[1] == 1 and values.shape[0] > 1:
        return ["[" + ", ".join(number(v) for v in values[:, 0]) + "]ᵀ"]  # a column, on its side
    if values.ndim == 1:
        return ["[" + ", ".join(number(v) for v in values) + "]"]
    rows = values.reshape(-1, values.shape[-1])
    cells = [[number(v) for v in row] for row in rows]
    width = max((len(c) for row in cells for c in row), default=1)
    lines = ["[" + ", ".join(c.rjust(width) for c in row) + "]" for row in cells]
    return lines


def shape_text(shape: tuple) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def formula(graph: Any, node_id: str) -> str:
    """How a node was computed, from its parents' names: ``x + y``, ``tanh(n)``."""
    attrs = graph.nodes[node_id]
    op = attrs["op"]
    if not op:
        return ""
    edges = sorted(graph.in_edges(node_id, keys=True), key=lambda edge: edge[2])
    if graph.graph.get("collapsed"):
        return ""  # its parents are boxes: node_label says which op instead
    parents = [graph.nodes[p]["name"] for p, _, _ in edges]
    if attrs["op_name"] == "pow_constant":
        exponent = (attrs["node"].params or {}).get("exponent")
        return f"{parents[0]} ** {number(exponent)}" if exponent is not None else f"{parents[0]} **"
    if attrs["op_name"] == "getitem" and len(parents) == 1:
        text = f"{parents[0]}[{index_text((attrs['node'].params or {}).get('index'))}]"
        return text if len(text) <= 28 else f"{parents[0]}[…]"
    if op in INFIX and len(parents) == 2:
        return f"{parents[0]} {op} {parents[1]}"
    if op == "-" and len(parents) == 1:
        return f"-{parents[0]}"
    text = f"{op}(" + ", ".join(parents) + ")"
    if len(text) > 28:
        text = f"{op}({len(parents)} inputs)"
    return text


def index_text(index: Any) -> str:
    """An index as it was written: ``2``, ``0, 1:3``, ``::2``, ``[0, 2]`` (an array), ``mask``."""
    parts = index if isinstance(index, tuple) else (index,)
    texts = []
    for part in parts:
        if isinstance(part, slice):
            ends = [part.start, part.stop] + ([part.step] if part.step is not None else [])
            texts.append(":".join("" if end is None else str(end) for end in ends))
        elif part is Ellipsis:
            texts.append("...")
        elif part is None:
            texts.append("None")
        elif np.ndim(part) == 0:
            texts.append(str(np.asarray(part).item()))
        elif np.asarray(part).dtype == bool:  # a mask: which elements it keeps is in the data
            texts.append("mask")
        else:  # an array of indices
            values = np.asarray(part)
            texts.append(str(values.tolist()) if values.size <= 4 else f"{values.size} indices")
    return ", ".join(texts)


@dataclass
class NodeLabel:
    """The text of one box: a title, an optional formula, and value lines by role."""

    title: str
    formula: str = ""
    info: list[str] = field(default_factory=list)  # shape and dtype, under the title
    data: list[str] = field(default_factory=list)
    grad: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    kind: str = "intermediate"
    bad: bool = False  # the gradient check disagreed


def node_label(graph: Any, node_id: str, show_grad: bool, sums: dict | None = None,
               check: dict | None = None) -> NodeLabel:
    """The text of one box; ``sums`` maps node -> what each use sent (for ``grad = 2 + 3``)."""
    attrs = graph.nodes[node_id]
    if attrs["kind"] == "group":
        return _group_label(attrs, show_grad)
    label = NodeLabel(title=attrs["name"], formula=formula(graph, node_id), kind=attrs["kind"])
    if attrs["kind"] == "constant":
        show_grad = False  # a constant is never learned: its gradient would only confuse
    if attrs["op"] and not label.formula:
        label.info.append(f"op {attrs['op']}")
    if attrs["scalar"]:
        label.data = [f"data {number(attrs['data'])}"]
        if show_grad:
            parts = (sums or {}).get(node_id)
            total = number(attrs["grad"])
            if parts and len(parts) > 1:
                terms = " + ".join(f"({p})" if p.startswith("-") else p
                                   for p in (number(s) for s in parts))
                label.grad = [f"grad {terms} = {total}"]
            else:
                label.grad = [f"grad {total}"]
    else:
        label.info.append(f"shape {shape_text(attrs['shape'])} {attrs['dtype']}")
        label.data = _prefixed("data", array_lines(attrs["data"]))
        if show_grad and attrs["grad"] is not None:
            label.grad = _prefixed("grad", array_lines(attrs["grad"]))
    if check and node_id in check:
        numeric, ok, *word = check[node_id]  # word: what the number is, "numeric" or "expected"
        label.bad = not ok
        mark = "ok" if ok else "MISMATCH"
        label.notes.append(f"{word[0] if word else 'numeric'} {numeric}  {mark}")
    return label


def _prefixed(word: str, lines: list[str]) -> list[str]:
    pad = " " * (len(word) + 1)
    return [(f"{word} " if i == 0 else pad) + line for i, line in enumerate(lines)]


def _group_label(attrs: dict, show_grad: bool) -> NodeLabel:
    ops = sorted(attrs["ops"].items(), key=lambda item: (-item[1], item[0]))
    plural = {"input": "inputs", "parameter": "parameters", "constant": "constants"}
    parts = [f"{count} {plural.get(op, op) if count > 1 else op}" for op, count in ops[:5]]
    if len(ops) > 5:
        parts.append(f"{sum(c for _, c in ops[5:])} other")
    label = NodeLabel(
        title=attrs["name"],
        notes=[f"{attrs['count']} node{'s' if attrs['count'] != 1 else ''} hidden",
               ", ".join(parts)],
        kind="group",
    )
    matrix = attrs.get("attention")
    if matrix is not None:  # the attention weights: row t = how much token t takes from each
        rows = [" ".join(f"{v:.2f}" for v in row) for row in matrix]
        label.data = _prefixed("data", ["attention weights, head 0:", *rows])
        return label
    output = attrs.get("output")
    if output is not None and output["scalar"]:  # e.g. the neuron's activation
        label.data = [f"data {number(output['data'])}  (output {output['name']})"]
        if show_grad and output["kind"] != "constant":
            label.grad = [f"grad {number(output['grad'])}"]
    return label


def edge_derivatives(graph: Any) -> dict[tuple[str, str, int], tuple[float, float | None]]:
    """(local derivative, gradient sent) for every scalar edge: the chain rule per edge.

    The local derivative d child / d parent comes from the op's backward rule with
    upstream gradient 1; the gradient sent is ``child.grad * local``.
    """
    from ..autograd import local_derivatives

    result = {}
    show_grad = graph.graph.get("has_grad", False)
    for child in graph:
        attrs = graph.nodes[child]
        if attrs.get("kind") == "group" or not attrs["scalar"] or not attrs["op"]:
            continue
        try:
            local = local_derivatives(attrs["node"])
        except (ArithmeticError, ValueError):
            continue  # e.g. a kink or a domain edge: no local derivative to show
        if local is None:
            continue
        for parent, _, index in graph.in_edges(child, keys=True):
            d = float(local[index])
            result[parent, child, index] = (d, d * float(attrs["grad"]) if show_grad else None)
    return result


def gradient_sums(graph: Any, derivatives: dict) -> dict[str, list[float]]:
    """For each node used more than once, what each use sent back (in forward order)."""
    sums: dict[str, list[float]] = {}
    for node_id in graph:
        out = sorted(graph.out_edges(node_id, keys=True),
                     key=lambda e: (graph.nodes[e[1]]["order"], e[2]))
        if len(out) > 1:
            sent = [derivatives.get(edge, (None, None))[1] for edge in out]
            if all(s is not None for s in sent):
                sums[node_id] = sent
    return sums


def edge_label(graph: Any, edge: tuple[str, str, int], derivatives: dict) -> list[str]:
    """``dq/dx = 1`` and ``-4 × 1 = -4``: the local derivative and what is sent back."""
    parent, child, _ = edge
    if edge not in derivatives or graph.nodes[parent]["kind"] == "constant":
        return []  # no ∂y/∂1.5: nothing changes a constant
    local, sent = derivatives[edge]
    child_name = graph.nodes[child]["name"]
    parent_name = graph.nodes[parent]["name"]
    lines = [f"∂{child_name}/∂{parent_name} = {number(local)}"]
    if sent is not None:
        upstream = number(graph.nodes[child]["grad"])
        lines.append(f"{upstream} × {number(local)} = {number(sent)}")
    return lines
