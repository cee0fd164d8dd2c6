"""A layered (Sugiyama-style) layout in pure Python: no Graphviz program needed.

The four classic steps, left to right (inputs on the left, the output on the right):

1. layers: each node one column right of its furthest-left parent (networkx's
   topological generations); leaves move next to their first use;
2. long edges become chains of invisible dummy nodes, one per column they cross, and an
   edge label becomes a node of its own in the column before the target, so labels get
   room like boxes do;
3. crossing reduction: each column is sorted by the barycenter (mean position) of its
   neighbours in the previous column, sweeping right and then left, keeping the best;
4. coordinates: each box moves as close as it can to the mean height of its neighbours
   while keeping its order and a gap (an isotonic regression per column).
"""

from __future__ import annotations

from dataclasses import dataclass, field

COLUMN_GAP = 46.0
ROW_GAP = 20.0
LABEL_GAP = 6.0
DUMMY_WIDTH = 12.0
SWEEPS = 8


@dataclass
class Placed:
    """One laid-out item: a box (kind "node"), an edge label ("label") or a bend ("dummy")."""

    id: str
    kind: str
    width: float
    height: float
    layer: int = 0
    x: float = 0.0  # centre
    y: float = 0.0  # centre


@dataclass
class Route:
    """An edge's path: points from source port to target port through its bends."""

    source: str
    target: str
    key: int
    points: list[tuple[float, float]] = field(default_factory=list)
    label: str | None = None  # the id of the label item on the path, if any


@dataclass
class Layout:
    items: dict[str, Placed]
    routes: list[Route]
    width: float
    height: float


def layered_layout(
    nodes: list[str],
    sizes: dict[str, tuple[float, float]],
    edges: list[tuple[str, str, int]],
    label_sizes: dict[tuple[str, str, int], tuple[float, float]],
    rank: dict[str, int],
    column_gap: float = COLUMN_GAP,
) -> Layout:
    """Place boxes of the given ``sizes`` and route ``edges`` (parent, child, key).

    ``rank`` is a forward order (parents before children); an edge against it is laid out
    reversed, so any graph, even one with cycles, gets a layout.
    """
    items = {n: Placed(n, "node", *sizes[n]) for n in nodes}
    layer = _layers(nodes, edges, rank)
    step = 2 if label_sizes else 1
    for n in nodes:
        items[n].layer = layer[n] * step
    chains = []  # per edge: list of item ids from (laid-out) source to target
    for number, (u, v, key) in enumerate(edges):
        a, b = (u, v) if rank[u] <= rank[v] else (v, u)
        chain = [a]
        size = label_sizes.get((u, v, key))
        for column in range(items[a].layer + 1, items[b].layer):
            if size is not None and column == items[b].layer - 1:
                item = Placed(f"label{number}", "label", *size, layer=column)
            else:
                item = Placed(f"dummy{number}.{column}", "dummy", DUMMY_WIDTH, 0.0, column)
            items[item.id] = item
            chain.append(item.id)
        chain.append(b)
        chains.append(chain)
    left, right = _neighbours(items, chains)
    columns = _order(items, chains, left, right, _preorder(nodes, edges, rank))
    _place(items, columns, left, right, column_gap)
    return _finish(items, columns, chains, edges, rank)


def _layers(nodes: list[str], edges: list[tuple[str, str, int]], rank: dict[str, int]):
    """Longest path from the sources; then each leaf sits just left of its first use."""
    forward = sorted(nodes, key=rank.__getitem__)
    parents: dict[str, list[str]] = {n: [] for n in nodes}
    children: dict[str, list[str]] = {n: [] for n in nodes}
    for u, v, _ in edges:
        if u == v:
            continue
        a, b = (u, v) if rank[u] < rank[v] else (v, u)
        parents[b].append(a)
        children[a].append(b)
    layer = {}
    for n in forward:
        layer[n] = 1 + max((layer[p] for p in parents[n]), default=-1)
    for n in forward:
        if not parents[n] and children[n]:
            layer[n] = min(layer[c] for c in children[n]) - 1
    return layer


def _preorder(nodes: list[str], edges: list[tuple[str, str, int]], rank: dict[str, int]):
    """Depth-first from the output, parents in argument order: first arguments on top."""
    parents: dict[str, list[tuple[int, int, str]]] = {n: [] for n in nodes}
    for u, v, key in edges:
        parents[v].append((key, rank[u], u))
    position: dict[str, int] = {}
    for start in sorted(nodes, key=lambda n: -rank[n]):
        stack = [start]
        while stack:
            n = stack.pop()
            if n in position:
                continue
            position[n] = len(position)
            stack.extend(u for _, _, u in sorted(parents[n], reverse=True) if u not in position)
    return position


def _neighbours(items: dict[str, Placed], chains: list[list[str]]):
    """For each item, the items one column to its left and to its right along the edges."""
    left: dict[str, list[str]] = {i: [] for i in items}
    right: dict[str, list[str]] = {i: [] for i in items}
    for chain in chains:
        for a, b in zip(chain, chain[1:]):
            right[a].append(b)
            left[b].append(a)
    return left, right


def _order(items: dict[str, Placed], chains: list[list[str]], left: dict[str, list[str]],
           right: dict[str, list[str]], rank: dict[str, int]):
    """Columns of item ids, sorted to reduce crossings (barycenter heuristic)."""
    depth = max(item.layer for item in items.values()) + 1
    # Start from the forward order; a bend or label sorts with the node its edge enters.
    start = {}
    for chain in chains:
        for i in chain[1:-1]:
            start[i] = (rank[chain[-1]], rank[chain[0]])
    for i, item in items.items():
        if item.kind == "node":
            start[i] = (rank[i], -1)
    columns: list[list[str]] = [[] for _ in range(depth)]
    for i in sorted(items, key=lambda i: (start[i], i)):
        columns[items[i].layer].append(i)
    best, best_crossings = [list(c) for c in columns], _crossings(columns, right)
    for sweep in range(SWEEPS):
        forward = sweep % 2 == 0
        indices = range(1, depth) if forward else range(depth - 2, -1, -1)
        for c in indices:
            neighbours = left if forward else right
            other = columns[c - 1] if forward else columns[c + 1]
            position = {i: p for p, i in enumerate(other)}
            current = {i: p for p, i in enumerate(columns[c])}
            columns[c].sort(key=lambda i: (_barycenter(neighbours[i], position, current[i]),
                                           current[i]))
        crossings = _crossings(columns, right)
        if crossings < best_crossings:
            best, best_crossings = [list(c) for c in columns], crossings
    return best


def _barycenter(neighbours: list[str], position: dict[str, int], own: int) -> float:
    if not neighbours:
        return float(own)
    return sum(position[n] for n in neighbours) / len(neighbours)


def _crossings(columns: list[list[str]], right: dict[str, list[str]]) -> int:
    """Edge crossings between neighbouring columns (inversions, counted with a Fenwick tree)."""
    total = 0
    for c in range(len(columns) - 1):
        below = {i: p for p, i in enumerate(columns[c + 1])}
        ends = [below[j] for i in columns[c] for j in sorted(right[i], key=below.__getitem__)]
        tree = [0] * (len(columns[c + 1]) + 1)
        for seen, end in enumerate(ends):
            k, smaller_or_equal = end + 1, 0
            while k > 0:
                smaller_or_equal += tree[k]
                k -= k & -k
            total += seen - smaller_or_equal
            k = end + 1
            while k < len(tree):
                tree[k] += 1
                k += k & -k
    return total


def _place(items: dict[str, Placed], columns: list[list[str]], left: dict[str, list[str]],
           right: dict[str, list[str]], column_gap: float):
    """x by column widths; y by repeated smoothing towards neighbours, keeping the order."""
    x = 0.0
    for column in columns:
        width = max((items[i].width for i in column), default=DUMMY_WIDTH)
        for i in column:
            items[i].x = x + width / 2
        x += width + column_gap
    for column in columns:
        y = 0.0
        for i in column:
            items[i].y = y + items[i].height / 2
            y += items[i].height + _gap(items[i])
    for sweep in range(SWEEPS):
        forward = sweep % 2 == 0
        order = columns if forward else columns[::-1]
        for column in order:
            targets = []
            for i in column:
                near = (left[i] or right[i]) if forward else (right[i] or left[i])
                if sweep >= SWEEPS - 2:
                    near = left[i] + right[i]
                ys = [items[n].y for n in near]
                targets.append(sum(ys) / len(ys) if ys else items[i].y)
            for i, y in zip(column, _fit_in_order([items[i] for i in column], targets)):
                items[i].y = y


def _gap(item: Placed) -> float:
    return ROW_GAP if item.kind == "node" else LABEL_GAP


def _fit_in_order(column: list[Placed], targets: list[float]) -> list[float]:
    """Centres as close as possible (least squares) to ``targets``, in order, not overlapping.

    With offsets s_i (the room items before i need), y_i = q_i + s_i and the constraint
    becomes q non-decreasing: isotonic regression, solved by pooling adjacent violators.
    """
    offsets, s = [], 0.0
    for k, item in enumerate(column):
        if k:
            previous = column[k - 1]
            s += previous.height / 2 + max(_gap(previous), _gap(item)) + item.height / 2
        offsets.append(s)
    blocks: list[list[float]] = []  # [mean, count]
    for target, offset in zip(targets, offsets):
        blocks.append([target - offset, 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            mean, count = blocks.pop()
            blocks[-1][0] = (blocks[-1][0] * blocks[-1][1] + mean * count) / (blocks[-1][1] + count)
            blocks[-1][1] += count
    q = [mean for mean, count in blocks for _ in range(int(count))]
    return [value + offset for value, offset in zip(q, offsets)]


def _finish(items, columns, chains, edges, rank) -> Layout:
    """Shift everything into view and turn each chain into a route with ports."""
    top = min(i.y - i.height / 2 for i in items.values())
    margin = 8.0
    for item in items.values():
        item.y += margin - top
        item.x += margin
    width = max(i.x + i.width / 2 for i in items.values()) + margin
    height = max(i.y + i.height / 2 for i in items.values()) + margin
    out_ports = _ports(chains, items, outgoing=True)
    in_ports = _ports(chains, items, outgoing=False)
    routes = []
    for number, ((u, v, key), chain) in enumerate(zip(edges, chains)):
        start, end = items[chain[0]], items[chain[-1]]
        points = [(start.x + start.width / 2, out_ports[number])]
        label = None
        for i in chain[1:-1]:
            item = items[i]
            if item.kind == "label":
                label = i
                points += [(item.x - item.width / 2, item.y), (item.x + item.width / 2, item.y)]
            else:
                points.append((item.x, item.y))
        points.append((end.x - end.width / 2, in_ports[number]))
        if chain[0] != u:  # laid out reversed: the edge really runs the other way
            points.reverse()
        routes.append(Route(u, v, key, points, label))
    return Layout(items, routes, width, height)


def _ports(chains, items, outgoing: bool) -> dict[int, float]:
    """Spread the edges leaving (or entering) a box along its side, sorted by height."""
    by_node: dict[str, list[tuple[float, int]]] = {}
    for number, chain in enumerate(chains):
        end, next_item = (chain[0], chain[1]) if outgoing else (chain[-1], chain[-2])
        by_node.setdefault(end, []).append((items[next_item].y, number))
    ports = {}
    for node, ends in by_node.items():
        item = items[node]
        ends.sort()
        span = min(item.height * 0.7, 14.0 * len(ends))
        for k, (_, number) in enumerate(ends):
            ports[number] = item.y - span / 2 + span * (k + 0.5) / len(ends)
    return ports
