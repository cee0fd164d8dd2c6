"""Read a finished graph into networkx: the one structure every view of viz draws from.

viz is an outside reader: it looks only at the plain attributes every node carries
(``data grad name op parents params operation scalar requires_grad``) and never asks the
engine for anything else. Node identifiers come from the node's position in a fixed
traversal from the root (``n0`` is the root), never from ``id()``, so the same program
gives the same identifiers, and therefore the same picture, every time it runs.
``n0`` is the first node a student would evaluate by hand; the root comes last.
A graph of micrograd-like objects (``data grad _prev _op``, optional ``label``) is read
through light views with those same attributes (see :func:`micrograd_view`).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import networkx as nx
import numpy as np

KINDS = ("input", "parameter", "constant", "intermediate", "output")
MAX_BOXES = 120  # a collapsed picture has at most this many boxes
DEPTH_BANDS = 12  # nodes no name places are summarised in about this many bands
ALONE = 12  # up to this many nodes that no name places are drawn as themselves, not boxed
LEAF_TITLES = {"input": "inputs", "constant": "constants", "parameter": "parameters"}
# Every view reads at most this many nodes, those nearest the output; the others are
# summarised in one box, so a million-node graph still gets an answer in seconds.
MAX_NODES = 20_000
EARLIER = "earlier"  # the id of that box
ENGINE_GRAPHS_ONLY = ("animate",)  # views that replay chaingrad's own backward pass


def require_node(root: Any, caller: str) -> None:
    """Refuse anything that is not a graph node, in one sentence naming ``caller``."""
    if is_micrograd_like(root):
        if caller in ENGINE_GRAPHS_ONLY:
            raise TypeError(f"{caller}: reads chaingrad's own graphs only (it replays the "
                            "engine's backward pass); draw, show, to_dot and to_networkx "
                            "also read this micrograd-like graph")
        return
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
    if is_micrograd_like(root):
        root, parameters = readable_micrograd(root, parameters)
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
            op=display_name(node.op),  # an op renamed after its definition too
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
    if node.name is None:  # a number or array the program wrote in: grey in every graph
        return "constant"
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
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 1:
        raise ValueError(f"module_prefix: depth must be a whole number of at least 1 (how "
                         f"many parts of a dotted name make a group), got {depth!r}")

    def group(name: str | None) -> str | None:
        parent = prefix_group(name)
        return None if parent is None else ".".join(parent.split(".")[:depth])

    return group


def assign_groups(
    graph: nx.MultiDiGraph, named: dict[str, str | None] | None = None,
    group_of: Callable[[str | None], str | None] = prefix_group,
) -> dict[str, str | None]:
    """Give every node a group (a module, a neuron), or None when none fits.

    A node whose name says its group (a parameter, a module's named output) is in it. An
    unnamed node computed before a named output belongs to the module of the first named
    output it feeds: the normalization that reads block 1's output is the final norm's
    first step, not block 1's last (a node that only combines the named outputs of
    several modules, such as token + position embeddings, joins none). Any other
    unnamed computed node (models that name only their weights) belongs to the module
    whose weights it reads, else to the latest module among its unnamed inputs: a
    neuron's weighted sum and its tanh join the neuron. A
    named node passes no group on this way: what is computed from a network's output
    ``y`` (a loss) is part of none of its modules. Last, a leaf still without a group (an
    input, a constant) joins its users' group when more than half of them are in one.
    ``named`` gives the groups that names say (default: ``group_of(name)``).

    Every group is entered only from earlier ones, so the boxes of a feed-forward model
    never have an edge from a later box back to an earlier one.
    """
    forward = sorted(graph, key=lambda n: graph.nodes[n]["order"])
    if named is None:
        named = {n: group_of(graph.nodes[n]["given_name"]) for n in forward}
    groups = dict(named)
    computed = {n for n in forward if graph.pred[n]}
    # The first named output each node feeds (forward order), found walking backward.
    feeds: dict[str, str | None] = {}
    for node_id in reversed(forward):
        targets = [c if named[c] is not None and c in computed else feeds[c]
                   for c in graph.succ[node_id]]
        targets = [t for t in targets if t is not None]
        feeds[node_id] = min(targets, key=lambda t: graph.nodes[t]["order"], default=None)
        if groups[node_id] is None and node_id in computed and feeds[node_id] is not None:
            if not _joins_outputs(graph, named, node_id, named[feeds[node_id]]):
                groups[node_id] = named[feeds[node_id]]
    # Nodes that feed no named output: the weights they read, else their latest input's.
    since: dict[str, int] = {}  # where a node's group entered the computation
    for node_id in forward:
        if groups[node_id] is not None or node_id not in computed:
            since[node_id] = graph.nodes[node_id]["order"]
            continue
        here = graph.nodes[node_id]["order"]
        candidates = []
        for parent in graph.pred[node_id]:
            if parent not in computed and named[parent] is not None:
                candidates.append((here, named[parent]))
            elif graph.nodes[parent]["given_name"] is None and groups[parent] is not None:
                candidates.append((since[parent], groups[parent]))
        if candidates:
            since[node_id], groups[node_id] = min(candidates, key=lambda c: (-c[0], c[1]))
        else:
            since[node_id] = here
    for node_id in reversed(forward):
        if groups[node_id] is None and node_id not in computed:
            groups[node_id] = _vote(groups, graph.succ[node_id], majority=True)
    return groups


def _joins_outputs(graph: nx.MultiDiGraph, named: dict[str, str | None], node_id: str,
                   feeds: str) -> bool:
    """Whether a node only combines named results of two or more other groups (token
    embedding + position embedding): the model's own glue, part of neither module nor
    of the one it feeds."""
    parents = {named[p] for p in graph.pred[node_id]}
    return None not in parents and len(parents) > 1 and feeds not in parents


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
        alone = sum(groups[n] is None for n in graph if n not in (root, EARLIER)) <= ALONE
        keys = {}
        for node_id in graph:
            if node_id in (root, EARLIER) or (alone and groups[node_id] is None):
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
    box_rank = _box_order(graph, keys, members, depth)
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
            steps = f"{low}" if low == high else f"{low}-{high}"
            title = f"{steps} steps before the output"
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


def _box_order(graph: nx.MultiDiGraph, keys: dict[str, str], members: dict[str, list[str]],
               depth: dict[str, int]) -> dict[str, int]:
    """Each box's place in forward order: every edge between boxes runs to a later box.

    Boxes are sorted topologically, ties by their first node in forward order. Groups
    named by hand could still form a cycle: then deeper boxes (further from the output)
    come first.
    """
    first = {key: graph.nodes[ids[0]]["order"] for key, ids in members.items()}
    between = nx.DiGraph()
    between.add_nodes_from(members)
    between.add_edges_from((keys[a], keys[b]) for a, b in graph.edges() if keys[a] != keys[b])
    try:
        ranked = list(nx.lexicographical_topological_sort(between, key=first.__getitem__))
    except nx.NetworkXUnfeasible:
        mean_depth = {key: sum(depth[n] for n in ids) / len(ids) for key, ids in members.items()}
        ranked = sorted(members, key=lambda k: (-mean_depth[k], first[k]))
    return {key: rank for rank, key in enumerate(ranked)}


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


# ------------------------------------------------------- micrograd-like graphs
# A graph made of objects shaped like micrograd's Value (``data``, ``grad``, ``_prev``: the
# inputs, a set or a tuple; ``_op``: a string; optional ``label``) is read through light
# views that carry the attributes above, so every view of viz draws it unchanged.

MICROGRAD_ATTRIBUTES = ("data", "grad", "_prev", "_op")


def is_micrograd_like(obj: Any) -> bool:
    """Whether ``obj`` looks like micrograd's Value (and is not a chaingrad node)."""
    return not hasattr(obj, "parents") and all(hasattr(obj, a) for a in MICROGRAD_ATTRIBUTES)


def micrograd_walk(root: Any, limit: int | None = None) -> list[tuple[Any, list[int]]]:
    """Every node ``root`` depends on as ``(node, positions of its inputs)``, inputs first.

    Iterative (a 10,000-node chain is fine) and keyed by identity, never by the nodes' own
    ``==`` or hash. Inputs kept in a tuple or list stay in that order; a set's members are
    ordered by what their subgraphs hold (op, numbers, label), so the same program gives
    the same order, and the same picture, every run. More than ``limit`` nodes, an input
    that is not in a set, tuple or list, or a cycle is a ValueError that says so.
    """
    inputs: dict[int, list] = {}
    order: list = []
    state: dict[int, int] = {}  # id -> 1 while its inputs are walked, 2 when done
    stack = [root]
    while stack:
        node = stack[-1]
        key = id(node)
        if state.get(key) is None:
            state[key] = 1
            inputs[key] = _inputs_of(node)
            if limit is not None and len(state) > limit:
                raise ValueError(f"the graph has more than {limit:,} nodes")
            for child in reversed(inputs[key]):
                if state.get(id(child)) == 1:
                    raise ValueError(f"the graph has a cycle: a node with data {node.data!r} "
                                     "is among its own inputs")
                if state.get(id(child)) is None:
                    stack.append(child)
        else:
            stack.pop()
            if state[key] == 1:
                state[key] = 2
                order.append(node)
    return _ordered(order, inputs)


def _inputs_of(node: Any) -> list:
    prev = node._prev
    if isinstance(prev, (set, frozenset)):
        return list(prev)  # ordered later, once every subgraph is known
    if isinstance(prev, (tuple, list)):
        return list(prev)
    raise ValueError(f"a node's _prev is a {type(prev).__name__}; expected a set or a tuple "
                     "of the Values it was computed from")


def _ordered(order: list, inputs: dict[int, list]) -> list[tuple[Any, list[int]]]:
    """Positions of each node's inputs, a set's members sorted by their subgraph's digest."""
    import hashlib

    position = {id(node): k for k, node in enumerate(order)}
    digest: dict[int, str] = {}
    walked = []
    for node in order:
        members = inputs[id(node)]
        if isinstance(node._prev, (set, frozenset)):
            members = sorted(members, key=lambda m: digest[id(m)])
        text = "|".join((str(node._op), repr(node.data), repr(node.grad),
                         str(getattr(node, "label", "")), *sorted(digest[id(m)] for m in members)))
        digest[id(node)] = hashlib.sha1(text.encode("utf-8", "backslashreplace")).hexdigest()
        walked.append((node, [position[id(m)] for m in members]))
    return walked


class LooseOp:
    """The op of a micrograd-like node: its name, and its rule when viz knows the op.

    ``forward(*inputs)`` and ``backward(grad_out, out, *inputs)`` (one gradient per input)
    exist for ``+ * - / **k tanh exp relu`` when they reproduce the node's data; otherwise
    they raise ValueError, and the picture shows no local derivatives for that node.
    """

    def __init__(self, text: str, rule: tuple | None) -> None:
        self.name = self.symbol = text
        self._rule = rule

    def forward(self, *inputs: float, **params: Any) -> float:
        if self._rule is None:
            raise ValueError(f"viz does not know the op {self.name!r}")
        return self._rule[0](*inputs)

    def backward(self, grad_out: float, out: float, *inputs: float, **params: Any) -> tuple:
        if self._rule is None:
            raise ValueError(f"viz does not know the op {self.name!r}")
        return tuple(grad_out * d for d in self._rule[1](out, *inputs))


def _product(values) -> float:
    result = 1.0
    for v in values:
        result *= v
    return result


def _pow_rule(k: float) -> tuple:
    return (lambda x: x ** k, lambda out, x: (k * x ** (k - 1),))


# op text -> (arity or None for any, commutative, forward, local derivatives(out, *inputs))
LOOSE_RULES: dict[str, tuple] = {
    "+": (None, True, lambda *xs: sum(xs), lambda out, *xs: (1.0,) * len(xs)),
    "*": (None, True, lambda *xs: _product(xs),
          lambda out, *xs: tuple(_product(xs[:i] + xs[i + 1:]) for i in range(len(xs)))),
    "-": (2, False, lambda a, b: a - b, lambda out, a, b: (1.0, -1.0)),
    "/": (2, False, lambda a, b: a / b, lambda out, a, b: (1.0 / b, -a / (b * b))),
    "neg": (1, True, lambda a: -a, lambda out, a: (-1.0,)),
    "tanh": (1, True, math.tanh, lambda out, a: (1.0 - out * out,)),
    "exp": (1, True, math.exp, lambda out, a: (out,)),
    "relu": (1, True, lambda a: a if a > 0 else 0.0, lambda out, a: (1.0 if out > 0 else 0.0,)),
}


def _loose_rule(text: str, inputs: list[float], data: float, unordered: bool) -> tuple | None:
    """The rule of op ``text`` if it applies to these inputs and gives ``data``, else None."""
    key = text.strip().lower()
    if key.startswith("**"):
        try:
            arity, commutative, *rule = (1, True, *_pow_rule(float(key[2:])))
        except ValueError:
            return None
    elif key in LOOSE_RULES:
        arity, commutative, *rule = LOOSE_RULES[key]
    else:
        return None
    if (arity is not None and len(inputs) != arity) or (unordered and not commutative):
        return None
    try:
        again = rule[0](*inputs)
        same = math.isclose(again, data, rel_tol=1e-9, abs_tol=1e-12)
    except (ArithmeticError, ValueError, TypeError):  # (-8) ** (1/3) is complex, for one
        return None
    return tuple(rule) if same else None


class LooseNode:
    """A micrograd-like node seen with the attributes viz reads (``source`` is the node)."""

    scalar = True
    requires_grad = True
    params = None

    def __init__(self, source: Any, parents: tuple) -> None:
        if len(parents) == 1 and isinstance(source._prev, (set, frozenset)) \
                and str(source._op) in ("+", "*"):
            parents = parents * 2  # micrograd keeps x * x's inputs in a set: {x}, used twice
        self.source = source
        self.data = _as_float(source.data, "data")
        self.grad = _as_float(source.grad, "grad") if source.grad is not None else 0.0
        label = getattr(source, "label", None)
        self.name = str(label) if label not in (None, "") else None
        self.parents = parents
        datas = [p.data for p in parents]
        if len(datas) == 1:
            self.saved_x = datas[0]
        elif len(datas) == 2:
            self.saved_x, self.saved_y = datas
        else:
            self.saved_x = tuple(datas)
        self.operation = None
        if parents:  # a computed node, even when the student left _op empty
            text = str(source._op) or "?"
            unordered = isinstance(source._prev, (set, frozenset))
            self.operation = LooseOp(text, _loose_rule(text, datas, self.data, unordered))
            if text.startswith("**") and self.operation._rule is not None:  # x ** 2
                self.params = {"exponent": float(text[2:])}
                self.operation.name, self.operation.symbol = "pow_constant", "**"

    @property
    def op(self) -> str:
        return self.operation.symbol if self.operation is not None else ""


def _as_float(value: Any, what: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"a node's {what} is {value!r:.40}, not a number") from None


def micrograd_view(root: Any, limit: int | None = None) -> tuple[LooseNode, dict[int, LooseNode]]:
    """The graph of a micrograd-like ``root`` as LooseNodes: (the root's view, id -> view)."""
    walked = micrograd_walk(root, limit)
    views: list[LooseNode] = []
    for node, positions in walked:
        views.append(LooseNode(node, tuple(views[k] for k in positions)))
    by_source = {id(node): view for (node, _), view in zip(walked, views)}
    return views[-1], by_source


def readable_micrograd(root: Any, parameters: Iterable[Any] | None = None,
                       ) -> tuple[LooseNode, list[LooseNode] | None]:
    """A micrograd-like root (and its parameters) as the views to_networkx reads."""
    view, by_source = micrograd_view(root)
    if parameters is not None:
        parameters = [by_source[id(p)] for p in parameters if id(p) in by_source]
    return view, parameters


def loose_backward_steps(root: LooseNode) -> Iterator[tuple[Any, Any, tuple]]:
    """The chain rule through a micrograd-like graph's views, as ``backward_steps`` gives it
    for chaingrad's: ``(node, gradient, ((parent, local, sent), ...))`` from the output
    back, in reverse topological order. The gradients are recomputed with viz's rules
    from the forward values (not read from ``.grad``); past an op viz has no rule for,
    ``local`` and ``sent`` are None and nothing is sent."""
    grads: dict[int, float] = {id(root): 1.0}
    for node in reversed(traversal(root)):
        grad = grads.get(id(node))
        received = []
        if node.operation is not None and grad is not None:
            try:
                local = node.operation.backward(1.0, node.data, *(p.data for p in node.parents))
            except (ValueError, ArithmeticError):
                local = (None,) * len(node.parents)
            for parent, d in zip(node.parents, local):
                sent = None if d is None else grad * d
                if sent is not None:
                    grads[id(parent)] = grads.get(id(parent), 0.0) + sent
                received.append((parent, d, sent))
        yield node, grad, tuple(received)
