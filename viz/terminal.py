"""The graph in the terminal: a rich tree (``show``) and the chain rule in numbers (``explain``)."""

from __future__ import annotations

from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table
from rich.tree import Tree

from .graph import (
    LooseNode,
    count_nodes,
    has_gradients,
    is_micrograd_like,
    loose_backward_steps,
    micrograd_view,
    require_node,
    to_networkx,
)
from .labels import formula, number, shape_text

MAX_LINES = 200
MAX_DEPTH = 8
MAX_ROWS = 200  # explain prints at most this many steps of the chain rule


class _ShownOnce:
    """In Jupyter, printing already displayed it: the returned object must not again."""

    printed_in_jupyter = False

    def _ipython_display_(self) -> None:
        if not self.printed_in_jupyter:
            _print(self, Console())
        self.printed_in_jupyter = False  # displayed on a later request


def _check_console(console: Any, caller: str) -> None:
    if console is not None and not isinstance(console, Console):
        raise TypeError(f"{caller}: console must be a rich Console or None (the terminal), got "
                        f"{type(console).__name__} {console!r:.40}")


def _print(renderable: Any, console: Console) -> bool:
    """Print ``renderable``; True when that displayed it in Jupyter. There rich shows HTML
    (in colour) beside a plain text, which would keep terminal colour codes unless the
    console has no colour system."""
    if console.is_jupyter and console.color_system is not None:
        console = Console(color_system=None, width=console.width)
    console.print(renderable)
    return console.is_jupyter


class GraphTree(_ShownOnce, Tree):
    """What ``show`` returns: a rich Tree."""

    def __repr__(self) -> str:  # a plain REPL echoes the result after it was printed
        return "(the graph, printed above)"


class ChainRuleTable(_ShownOnce, Table):
    """What ``explain`` returns: a rich Table."""

    def __repr__(self) -> str:
        return f"(the chain rule, {self.row_count} rows, printed above)"


def _value(data: Any, scalar: bool) -> str:
    """A number, or a tensor in one short line: its values when few, else a summary."""
    if scalar:
        return number(data)
    values = np.asarray(data, dtype=float)
    if values.size <= 6:
        return shape_text(values.shape) + " [" + ", ".join(number(v) for v in values.flat) + "]"
    return (f"{shape_text(values.shape)} mean {number(values.mean())} "
            f"norm {number(float(np.sqrt(np.sum(values * values))))}")


def _line(graph, node_id: str, show_grad: bool) -> str:
    attrs = graph.nodes[node_id]
    text = f"[bold]{_escape(attrs['name'])}[/bold]"
    made = formula(graph, node_id)
    if made:
        text += f" = [dim]{_escape(made)}[/dim]"
    text += f"  data [cyan]{_escape(_value(attrs['data'], attrs['scalar']))}[/cyan]"
    if show_grad and attrs["grad"] is not None:
        text += f"  grad [red]{_escape(_value(attrs['grad'], attrs['scalar']))}[/red]"
    return text


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def show_tree(root: Any, max_lines: int = MAX_LINES, max_depth: int = MAX_DEPTH) -> Tree:
    """The graph as a rich Tree: the output at the top, each node's parents under it.

    A node reached a second time is shown once more by name only (``x (see above)``),
    so shared nodes do not repeat whole subtrees; past ``max_lines`` lines or ``max_depth``
    levels (deeper trees no longer fit a terminal's width) the tree is cut.
    """
    graph = to_networkx(root)
    show_grad = graph.graph["has_grad"]
    start = graph.graph["root"]
    tree = GraphTree(_line(graph, start, show_grad))
    seen = {start}
    lines = 1
    stack = [(p, tree, 1) for p in _parents(graph, start)[::-1]]
    while stack:
        node_id, branch, depth = stack.pop()
        if lines >= max_lines:
            branch.add("[dim]… (cut: draw big graphs with viz.draw)[/dim]")
            break
        lines += 1
        if node_id in seen:
            branch.add(f"{_escape(graph.nodes[node_id]['name'])} [dim](see above)[/dim]")
            continue
        if depth > max_depth and _parents(graph, node_id):
            branch.add(f"[dim]… {_escape(graph.nodes[node_id]['name'])} and the nodes before "
                       "it (too deep: draw big graphs with viz.draw)[/dim]")
            continue
        seen.add(node_id)
        below = branch.add(_line(graph, node_id, show_grad))
        stack.extend((p, below, depth + 1) for p in _parents(graph, node_id)[::-1])
    return tree


def _parents(graph, node_id: str) -> list[str]:
    return [p for p, _, _ in sorted(graph.in_edges(node_id, keys=True), key=lambda e: e[2])]


def show(root: Any, console: Console | None = None) -> Tree:
    """Print the graph of ``root`` as a tree, values in cyan and gradients in red.

    In Jupyter it is displayed once: the returned tree does not display a second time.
    """
    require_node(root, "show")
    _check_console(console, "show")
    tree = show_tree(root)
    tree.printed_in_jupyter = _print(tree, console or Console())
    return tree


def chain_rule_rows(root: Any, max_rows: int | None = None) -> list[tuple[str, str, str]]:
    """One row per edge in backward order: (node, what it receives, the chain rule in numbers).

    For ``f = (x + y) * z`` the row for x reads
    ``∂f/∂x = ∂f/∂q · ∂q/∂x = (-4)(1) = -4``. A node used several times gets one row per
    use (``+=``), then a row with the sum. With ``max_rows``, the rows stop there, and a
    last row says how many steps are left.
    """
    from ..autograd import backward_steps

    if max_rows is not None and (isinstance(max_rows, bool) or not isinstance(max_rows, int)
                                 or max_rows < 1):
        raise ValueError(f"explain: max_rows must be a whole number >= 1, got {max_rows!r}")
    if is_micrograd_like(root):  # read once, so the steps and the graph share the views
        root = micrograd_view(root)[0]
    walk = (loose_backward_steps(root) if isinstance(root, LooseNode)
            else (tuple(step) for step in backward_steps(root)))
    graph = to_networkx(root)
    ids = {id(graph.nodes[n]["node"]): n for n in graph if "node" in graph.nodes[n]}
    names = {key: graph.nodes[n]["name"] for key, n in ids.items()}
    top = graph.nodes[graph.graph["root"]]["name"]
    uses = {n: graph.out_degree(n) for n in graph}
    received: dict[str, list[Any]] = {}
    rows = [(top, "seed", f"∂{top}/∂{top} = 1")]
    if not root.scalar and root.data.size != 1:
        raise ValueError(f"explain: the output has shape {tuple(root.data.shape)}; the chain "
                         "rule starts from a single number (a loss): reduce it first, e.g. "
                         ".sum() or .mean()")
    steps, stopped = 0, False
    limit = max_rows if max_rows is not None else float("inf")
    for node, grad, received_here in walk:
        steps += 1
        if len(rows) >= limit:
            stopped = True
            break
        node_name = names.get(id(node), "…")
        for parent, local, sent in received_here:
            if len(rows) >= limit:  # a node of many parents stops here too
                stopped = True
                break
            if sent is None:
                continue  # an op of a micrograd-like graph that viz has no rule for
            parent_id = ids.get(id(parent), "earlier")
            parent_name = names.get(id(parent), "(an earlier node)")
            received.setdefault(parent_id, []).append(sent)
            many = uses.get(parent_id, 1) > 1
            sign = "+=" if many else "="
            d_parent, d_node = f"∂{top}/∂{parent_name}", f"∂{top}/∂{node_name}"
            local_name = f"∂{node_name}/∂{parent_name}"
            if node_name == top:  # not "∂f/∂q = ∂f/∂f · ∂f/∂q": the seed 1 times the local
                d_node, local_name = "1", f"(local {local_name})"
            if local is not None:
                text = (f"{d_parent} {sign} {d_node} · {local_name} = "
                        f"({_value(grad, True)})({number(local)}) = {number(sent)}")
            else:
                text = (f"{d_parent} {sign} {d_node} · {local_name} "
                        f"(vector-Jacobian product) = {_value(sent, False)}")
            rows.append((parent_name, f"from {node_name}", text))
            if many and len(received[parent_id]) == uses[parent_id]:
                parts = received[parent_id]
                if parent.scalar:
                    total = sum(parts)
                    terms = " + ".join(f"({number(p)})" for p in parts)
                    rows.append((parent_name, "total", f"{d_parent} = {terms} = {number(total)}"))
    if stopped:
        rows = rows[:max_rows]
        left = count_nodes(root)[0] - steps + 1  # at most: constants are not visited
        rows.append(("…", "", f"about {left:,} more steps not shown; "
                              "explain(root, max_rows=...) shows more"))
    return rows


def explain(root: Any, console: Console | None = None, max_rows: int = MAX_ROWS) -> Table:
    """Print the chain rule node by node, with numbers, as a rich table (once in Jupyter).

    At most ``max_rows`` rows: a big graph ends with how many steps were left out.
    """
    require_node(root, "explain")
    _check_console(console, "explain")
    if not has_gradients(root):
        note = "(gradients not computed yet: the numbers below come from backward_steps)"
    else:
        note = ""
    table = ChainRuleTable(title="The chain rule, node by node (backward order)",
                           caption=note or None)
    table.add_column("node", style="bold")
    table.add_column("gets", style="dim")
    table.add_column("chain rule")
    for name, source, text in chain_rule_rows(root, max_rows):
        table.add_row(_escape(name), _escape(source),
                      f"[red]{_escape(text)}[/red]" if source == "total" else _escape(text))
    table.printed_in_jupyter = _print(table, console or Console())
    return table
