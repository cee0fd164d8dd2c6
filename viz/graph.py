"""Read a finished graph into networkx: the one structure every view of viz draws from.

viz is an outside reader: it looks only at the plain attributes every node carries
(``data grad name op parents params operation scalar requires_grad``) and never asks the
engine for anything else. Node identifiers come from the node's position in a fixed
traversal from the root (``n0`` is the root), never from ``id()``, so the same program
gives the same identifiers, and therefore the same picture, every time it runs.
``n0`` is the first node a student would evaluate by hand; the root comes last.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

import networkx as nx
import numpy as np

KINDS = ("input", "parameter", "constant", "intermediate", "output")
MAX_BOXES = 120  # a collapsed picture has at most this many boxes
DEPTH_BANDS = 12  # nodes no name places are summarised in about this many bands
LEAF_TITLES = {"input": "inputs", "constant": "constants", "parameter": "parameters"}
# Every view reads at most this many nodes, those nearest the output; the others are
# summarised in one box, so a million-node graph still gets an answer in seconds.
MAX_NODES = 20_000
EARLIER = "earlier"  # the id of that box


def require_node(root: Any, caller: str) -> None:
    """Refuse anything that is not a graph node, in one sentence naming ``caller``."""
    if not hasattr(root, "parents") or not hasattr(root, "data"):
        raise TypeError(
            f"{caller}: expected the Value or Tensor at the end of a computation (e.g. the loss), "
            f"got {type(root).__name__} {root!r:.40}; build it with autograd, e.g. "
            "f = (x + y) * z with x = Value(-2.0)")


def nearest(root: Any, limit: int) -> dict[int, Any]:
    """Up to ``limit`` nodes ``root`` depends on, nearest first (breadth-first), by id."""
    found = {id(root): root}
    queue = [root]
    for node in queue:
        for parent in node.parents:
            if id(parent) not in found:
                if len(found) == limit:
                    return found
                found[id(parent)] = parent
                queue.append(parent)
    return found


def count_nodes(root: Any) -> tuple[int, Counter]:
    """How many nodes ``root`` depends on (itself included), and how many of each op."""
    seen = {id(root)}
    operations: Counter = Counter()
    stack = [root]
    while stack:
        node = stack.pop()
        operations[node.operation] += 1
        for parent in node.parents:
            if id(parent) not in seen:
                seen.add(id(parent))
                stack.append(parent)
    ops: Counter = Counter()
    for operation, count in operations.items():
        ops[operation.symbol if operation is not None else "leaf"] += count
    return len(seen), ops


def traversal(root: Any, keep: dict[int, Any] | None = None) -> list:
    """Every node ``root`` depends on, in the order a student evaluates them by hand.

    Depth-first from the root, parents in argument order, each node listed after all its
    parents (post-order): for ``(x + y) * z`` that is x, y, x + y, z, the product.
    Iterative, so a million-node chain does not overflow the stack. With ``keep``, only
    those nodes (by id) are visited.
    """
    order = []
    done: set[int] = {id(root)}
    # Each entry keeps its node's parent list (filtered once) and how far it got, so a
    # node of 50,000 parents is read once, not once per parent.
    stack = [(root, _kept_parents(root, keep), 0)]
    while stack:
        node, parents, next_parent = stack.pop()
        while next_parent < len(parents) and id(parents[next_parent]) in done:
            next_parent += 1
        if next_parent < len(parents):
            stack.append((node, parents, next_parent + 1))
            parent = parents[next_parent]
            done.add(id(parent))  # claimed now so a second path does not push it again
            stack.append((parent, _kept_parents(parent, keep), 0))
        else:
            order.append(node)
    return order


def _kept_parents(node: Any, keep: dict[int, Any] | None) -> Any:
    return node.parents if keep is None else [p for p in node.parents if id(p) in keep]


MAX_NAME = 40  # characters of a name shown in any view


def display_name(given: Any) -> str:
    """A node's name as every view shows it: one line, printable, at most MAX_NAME long.

    Control characters (which break SVG, Graphviz and terminals) and lone surrogates
    become visible escapes such as ``\\x1b``; a long name is cut with "…".
    """
    text = " ".join(str(given).splitlines())
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")  # lone surrogates
    text = "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)
    return text if len(text) <= MAX_NAME else text[: MAX_NAME - 1] + "…"


def has_gradients(root: Any) -> bool:
    """Whether backward has filled the gradients (the root's gradient is set and non-zero)."""
    grad = root.grad
    if grad is None:
        return False
    return bool(np.any(np.asarray(grad) != 0))


def to_networkx(root: Any, parameters: Iterable[Any] | None = None,
                max_nodes: int | None = None) -> nx.MultiDiGraph:
    """The graph of ``root`` as an ``nx.MultiDiGraph``: edges run parent -> child.

    Node attributes: ``name`` (given or generated), ``given_name``, ``op`` (symbol),
    ``op_name``, ``data``, ``grad``, ``shape``, ``dtype``, ``scalar``, ``kind`` (one of
    input, parameter, constant, intermediate, output), ``order`` (position in forward
    order) and ``node`` (the graph node itself). Edges are keyed by argument index, so
    the two edges of ``x * x`` stay two; edge attribute ``index`` is that argument index.
    ``parameters`` (e.g. ``model.parameters()``) marks which leaves are weights.

    A graph of more than ``max_nodes`` (default ``MAX_NODES``) nodes is read only near the
    output: the ``max_nodes`` nodes nearest it, and one box (``kind="group"``, id
    ``"earlier"``) that stands for all the others; graph attributes ``total`` and
    ``earlier`` count them.
    """
    require_node(root, "to_networkx")
    max_nodes = MAX_NODES if max_nodes is None else max_nodes
    keep = nearest(root, max_nodes + 1)
    keep = None if len(keep) <= max_nodes else nearest(root, max(1, max_nodes))
    forward = traversal(root, keep)
    ids = {id(node): f"n{i}" for i, node in enumerate(forward)}
    weights = {id(p) for p in parameters} if parameters is not None else None
    graph = nx.MultiDiGraph(root=ids[id(root)], has_grad=has_gradients(root))
    if keep is not None:
        _add_earlier_box(graph, root, forward)
    unnamed = 0
    for position, node in enumerate(forward):
        given = node.name
        if given is None and node.operation is not None:
            unnamed += 1
            name = f"v{unnamed}"
        elif given is None:
            name = _number_text(node)
        else:
            name = display_name(given)
        data = node.data
        graph.add_node(
            ids[id(node)],
            name=name,
            given_name=given,
            op=node.op,
            op_name=node.operation.name if node.operation is not None else "",
            data=data,
            grad=node.grad,
            shape=() if node.scalar else tuple(data.shape),
            dtype="float" if node.scalar else str(data.dtype),
            scalar=bool(node.scalar),
            kind=_kind(node, node is root, weights),
            order=position,
            node=node,
        )
    for node in forward:
        child = ids[id(node)]
        for index, parent in enumerate(node.parents):
            graph.add_edge(ids.get(id(parent), EARLIER), child, key=index, index=index)
    return graph


def _add_earlier_box(graph: nx.MultiDiGraph, root: Any, shown: list) -> None:
    """The one box standing for every node not read: how many, and of which ops."""
    total, ops = count_nodes(root)
    for node in shown:
        ops[node.op or "leaf"] -= 1
    hidden = total - len(shown)
    graph.graph.update(total=total, earlier=hidden)
    graph.add_node(EARLIER, name=f"{hidden:,} earlier nodes", given_name=None, kind="group",
                   count=hidden, ops={op: n for op, n in ops.most_common() if n > 0},
                   order=-1, output=None)


def _kind(node: Any, is_root: bool, weights: set[int] | None) -> str:
    if is_root and node.operation is not None:
        return "output"
    if node.operation is not None:
        return "intermediate"
    if weights is not None and id(node) in weights:
        return "parameter"
    if node.name is None:
        return "constant" if node.scalar else "input"
    if node.scalar:
        # nn.scalar names its weights "L1.N3.w0": a dotted module path marks a parameter.
        return "parameter" if weights is None and "." in str(node.name) else "input"
    return "parameter" if node.requires_grad else "input"


def _number_text(node: Any) -> str:
    if node.scalar:
        return f"{node.data:.4g}"
    return "const" if node.data.size > 1 else f"{node.data.item():.4g}"


# ------------------------------------------------------------------ big graphs


def prefix_group(name: str | None) -> str | None:
    """The group of a dotted name: ``"L1.N3.w0"`` -> ``"L1.N3"``; None for a plain name."""
    if not name or "." not in name:
        return None
    return name.rsplit(".", 1)[0]


def module_prefix(depth: int) -> Callable[[str | None], str | None]:
    """A ``group_by`` that keeps a dotted name's first ``depth`` module parts.

    With parameters named by their path in a model (``blocks.0.attention.query.W``),
    ``module_prefix(2)`` puts everything of ``blocks.0`` in one box, ``module_prefix(3)``
    gives its attention, norms and MLP layers a box each.
    """

    def group(name: str | None) -> str | None:
        parent = prefix_group(name)
        return None if parent is None else ".".join(parent.split(".")[:depth])

    return group


def assign_groups(
    graph: nx.MultiDiGraph, named: dict[str, str | None] | None = None,
    group_of: Callable[[str | None], str | None] = prefix_group,
) -> dict[str, str | None]:
    """Give every node a group: from its name, else the most common among its neighbours.

    Going forward, an unnamed intermediate (a neuron's weighted sum, its activation) joins
    the group most of its parents belong to, i.e. the neuron whose weights it reads. Then,
    going backward, a node still without a group (an unnamed constant, an input) joins its
    users'. ``named`` gives the groups that names say (default: ``group_of(name)``).
    """
    forward = sorted(graph, key=lambda n: graph.nodes[n]["order"])
    if named is None:
        named = {n: group_of(graph.nodes[n]["given_name"]) for n in forward}
    groups = dict(named)
    for node_id in forward:
        if groups[node_id] is None:
            # A parent given a plain name ("y", a network's output) passes no group on: what
            # is computed from it (a loss) belongs to no neuron.
            voters = [p for p in graph.pred[node_id] if not _plain_name(graph, p)]
            groups[node_id] = _vote(groups, voters, majority=False)
    for node_id in reversed(forward):
        if groups[node_id] is None:
            groups[node_id] = _vote(groups, graph.succ[node_id], majority=True)
    return groups


def _plain_name(graph: nx.MultiDiGraph, node_id: str) -> bool:
    """Named by the user without a dotted path, and computed (not a leaf)."""
    name = graph.nodes[node_id]["given_name"]
    return bool(name) and "." not in name and bool(graph.pred[node_id])


def _vote(groups: dict[str, str | None], neighbours: Iterable[str], majority: bool):
    """The most common group among ``neighbours``; with ``majority`` only if over half."""
    votes = Counter(groups[n] for n in neighbours)
    votes.pop(None, None)
    if not votes:
        return None
    group, count = min(votes.items(), key=lambda item: (-item[1], item[0]))
    if majority and 2 * count <= sum(votes.values()):
        return None  # e.g. an input every neuron reads: it belongs to none of them
    return group


def collapse(graph: nx.MultiDiGraph, threshold: int = 500,
             group_of: Callable[[str | None], str | None] = prefix_group,
             max_boxes: int = MAX_BOXES) -> nx.MultiDiGraph:
    """A smaller graph of boxes when ``graph`` has more than ``threshold`` nodes.

    Nodes are grouped by name prefix (module / neuron, see :func:`assign_groups`); the
    nodes no name places are grouped by depth, in bands. While there are more than
    ``max_boxes`` boxes, the largest family of sibling groups is merged into its parent
    (``L1.N0 ... L1.N15`` -> ``L1``). The output node stays visible. A box has
    ``kind="group"``, ``count`` (hidden nodes), ``ops`` (how many of each op it hides) and
    ``output`` (the attributes of the one node whose value leaves the box, such as a
    neuron's activation, else None); edges between boxes carry ``count``.
    """
    if graph.number_of_nodes() <= threshold:
        return graph
    max_boxes = max(2, max_boxes)
    root = graph.graph["root"]
    named = {n: group_of(graph.nodes[n]["given_name"]) for n in graph}
    depth = _depths(graph, root)
    bands = max(1, min(DEPTH_BANDS, max_boxes // 4))
    band_size = max(1, -(-(max(depth.values()) + 1) // bands))
    while True:
        groups = assign_groups(graph, named)
        keys = {}
        for node_id in graph:
            if node_id in (root, EARLIER):
                keys[node_id] = node_id
            elif groups[node_id] is not None:
                keys[node_id] = "group:" + groups[node_id]
            elif not graph.pred[node_id]:
                keys[node_id] = "leaves:" + graph.nodes[node_id]["kind"]
            else:
                keys[node_id] = f"depth:{depth[node_id] // band_size}"
        if len(set(keys.values())) <= max_boxes:
            break
        families = Counter(prefix_group(g) for g in set(named.values()) if g is not None)
        if not families:
            band_size *= 2
            continue
        family = min(families.items(), key=lambda item: (-item[1], item[0] or ""))[0]
        named = {n: family if g is not None and prefix_group(g) == family else g
                 for n, g in named.items()}
    return _quotient(graph, keys, band_size, depth)


def _depths(graph: nx.MultiDiGraph, root: str) -> dict[str, int]:
    """Longest distance from each node to the root, in edges."""
    depth = {root: 0}
    for node_id in sorted(graph, key=lambda n: -graph.nodes[n]["order"])[1:]:
        depth[node_id] = 1 + max(depth[c] for c in graph.succ[node_id])
    return depth


def _quotient(graph: nx.MultiDiGraph, keys: dict[str, str], band_size: int,
              depth: dict[str, int]) -> nx.MultiDiGraph:
    members: dict[str, list[str]] = {}
    for node_id in sorted(graph, key=lambda n: graph.nodes[n]["order"]):
        members.setdefault(keys[node_id], []).append(node_id)
    # A box's place in forward order: deeper boxes (further from the output) come first.
    mean_depth = {key: sum(depth[n] for n in ids) / len(ids) for key, ids in members.items()}
    box_rank = {key: rank for rank, key in enumerate(sorted(
        members, key=lambda k: (-mean_depth[k], graph.nodes[members[k][0]]["order"])))}
    small = nx.MultiDiGraph(**graph.graph, collapsed=True, hidden=graph.number_of_nodes())
    box_ids = {}
    for number, (key, ids) in enumerate(sorted(members.items(), key=lambda kv: _first(graph, kv))):
        if key in graph:
            box_ids[key] = key
            small.add_node(key, **{**graph.nodes[key], "order": box_rank[key]})
            continue
        box = f"g{number}"
        box_ids[key] = box
        ops = Counter(graph.nodes[n]["op"] or graph.nodes[n]["kind"] for n in ids)
        if key.startswith("group:"):
            title = key[len("group:"):]
        elif key.startswith("leaves:"):
            title = LEAF_TITLES.get(key[len("leaves:"):], "leaves")
        else:
            band = int(key.split(":")[1])
            low, high = band * band_size, (band + 1) * band_size - 1
            title = f"depth {low}" if low == high else f"depth {low}-{high}"
        exits = [n for n in ids if any(keys[c] != key for c in graph.succ[n])]
        output = graph.nodes[exits[0]] if len(exits) == 1 else None
        small.add_node(
            box, name=display_name(title), kind="group", count=len(ids), ops=dict(ops),
            order=box_rank[key], output=output, attention=_attention_matrix(graph, ids),
        )
    weights: Counter = Counter()
    for parent, child in graph.edges():
        a, b = box_ids[keys[parent]], box_ids[keys[child]]
        if a != b:
            weights[a, b] += 1
    for (a, b), count in sorted(weights.items(), key=lambda item: (
            small.nodes[item[0][0]]["order"], small.nodes[item[0][1]]["order"])):
        small.add_edge(a, b, key=0, index=0, count=count)
    return small


ATTENTION_FITS = 10  # attention weights up to 10 x 10 are drawn as a matrix inside their box


def _attention_matrix(graph: nx.MultiDiGraph, ids: list[str]) -> np.ndarray | None:
    """The first head's attention weights among a box's nodes, when small enough to show.

    Attention weights are the softmax node named "attention" (or "<module>.attention"):
    shape (..., T, S), each row summing to 1. The first example's first head is shown.
    """
    for node_id in ids:
        attrs = graph.nodes[node_id]
        name = str(attrs.get("given_name") or "")
        if attrs["op_name"] != "softmax" or name.rsplit(".", 1)[-1] != "attention":
            continue
        data = np.asarray(attrs["data"])
        if data.ndim >= 2 and max(data.shape[-2:]) <= ATTENTION_FITS:
            return data.reshape(-1, *data.shape[-2:])[0]
    return None


def _first(graph: nx.MultiDiGraph, item: tuple[str, list[str]]) -> int:
    return graph.nodes[item[1][0]]["order"]
