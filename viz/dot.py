"""The Graphviz engine: the same boxes as DOT with HTML-like labels, laid out by ``dot``.

Every name goes through :func:`html.escape` before it enters a label, so a node named
``<script>`` or ``a"b&c`` is shown literally and cannot break the DOT or the SVG.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from html import escape

import graphviz

from . import style
from .builtin import COUNT_LABELS
from .labels import NodeLabel

COMMENT = re.compile(r"<!--.*?-->\n?", re.DOTALL)
DOT_ESCAPE = re.compile(r"\\(?=[NGELHTlnr])")
# dot's layout time grows steeply with the boxes and edges (x * x * ... * x: 50 factors
# 4 s, 60 factors 16 s, 100 over 15 minutes): past these limits, or when dot takes longer
# than SECONDS, draw uses the builtin renderer.
MAX_NODES = 150
MAX_EDGES = 100
SECONDS = 8.0


class GraphvizFailed(RuntimeError):
    """dot did not finish in time, or failed; the message says which, in one sentence."""


def _font(text: str, colour: str, bold: bool = False, size: float | None = None) -> str:
    # dot reads \N, \G, \E, \L... even in HTML labels as the node's id, the graph's
    # name, a line break; such a backslash is shown as the look-alike ⧵ instead.
    body = DOT_ESCAPE.sub("⧵", escape(text))
    if bold:
        body = f"<B>{body}</B>"
    size_attr = f' POINT-SIZE="{size:g}"' if size else ""
    return f'<FONT COLOR="{colour}"{size_attr}>{body}</FONT>'


def node_html(label: NodeLabel) -> str:
    """A box's text as a Graphviz HTML-like table, one left-aligned row per line."""
    # The space goes at the end of the name: SVG viewers drop the leading space of a
    # span Graphviz has already placed, which would print "q= x + y".
    title = _font(label.title + (" " if label.formula else ""), style.TEXT, bold=True, size=13)
    if label.formula:
        title += _font(f"= {label.formula}", style.MUTED, size=13)
    rows = [title] + [_font(text, style.MUTED) for text in label.info]
    for text in label.data:
        rows.append(_font(text[:5], style.MUTED) + _font(text[5:], style.TEXT))
    for text in label.grad:
        rows.append(_font(text[:5], style.GRAD) + _font(text[5:], style.GRAD, bold=True))
    for text in label.notes:
        colour = style.BAD[1] if label.bad and text.endswith("MISMATCH") else style.MUTED
        rows.append(_font(text, colour))
    cells = "".join(f'<TR><TD ALIGN="LEFT" BALIGN="LEFT">{row}</TD></TR>' for row in rows)
    return f'<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="1">{cells}</TABLE>>'


def edge_html(lines: list[str]) -> str:
    rows = "".join(
        f'<TR><TD>{_font(line, style.LOCAL if k == 0 else style.GRAD, size=10)}</TD></TR>'
        for k, line in enumerate(lines)
    )
    return f'<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="0">{rows}</TABLE>>'


def legend_html(kinds: list[str], notes: list[str]) -> str:
    """Colour swatches in one row, then the notes; both flush left."""
    widths = [round(style.text_width(style.LEGEND[k], 11) + 22) for k in kinds]
    cells = "".join(
        f'<TD BGCOLOR="{style.COLOURS[k][0]}" COLOR="{style.COLOURS[k][1]}" BORDER="1" '
        f'FIXEDSIZE="TRUE" WIDTH="{width}" HEIGHT="20">'
        f"{_font(style.LEGEND[k], style.TEXT, size=11)}</TD>"
        for k, width in zip(kinds, widths)
    )
    total = sum(widths) + 8 * (len(kinds) + 1)
    swatches = (f'<TABLE BORDER="0" CELLSPACING="8" CELLPADDING="0" FIXEDSIZE="TRUE" '
                f'WIDTH="{total}" HEIGHT="36"><TR>{cells}</TR></TABLE>')
    rows = f'<TR><TD ALIGN="LEFT">{swatches}</TD></TR>'
    for note in notes:
        rows += f'<TR><TD ALIGN="LEFT">{_font(note, style.MUTED, size=11)}</TD></TR>'
    return f'<<TABLE BORDER="0" CELLSPACING="0" CELLPADDING="1">{rows}</TABLE>>'


def build_digraph(
    node_ids: list[str],
    labels: dict[str, NodeLabel],
    edges: list[tuple[str, str, int]],
    edge_texts: dict[tuple[str, str, int], list[str]],
    edge_counts: dict[tuple[str, str, int], int],
    legend: list[str],
    notes: list[str],
) -> graphviz.Digraph:
    """A ``graphviz.Digraph``, left to right, with the same colours as the builtin engine."""
    digraph = graphviz.Digraph("chaingrad")
    digraph.attr(rankdir=_direction(node_ids, edges, bool(edge_texts)), labelloc="t",
                 labeljust="l", fontname=style.FONT,
                 label=legend_html(legend, notes), ordering="in", nodesep="0.25",
                 ranksep="1.6" if edge_counts else "0.3",
                 bgcolor="white")
    digraph.attr("node", shape="box", style="rounded,filled", fontname=style.FONT,
                 fontsize="12", margin="0.12,0.06")
    digraph.attr("edge", color=style.EDGE, arrowsize="0.7", fontname=style.FONT)
    for n in node_ids:
        label = labels[n]
        fill, border = style.BAD if label.bad else style.COLOURS[label.kind]
        thick = label.bad or label.kind == "output"
        digraph.node(
            n, label=node_html(label), fillcolor=fill, color=border,
            penwidth="2.2" if thick else "1.1",
            style="rounded,filled,dashed" if label.kind == "group" else "rounded,filled",
        )
    for edge in edges:
        u, v, key = edge
        attributes = {"id": f"e-{u}-{v}-{key}"}
        texts = edge_texts.get(edge)
        if texts:
            # The label is a small node on the edge itself: Graphviz places edge labels
            # wherever there is room, sometimes next to another edge.
            label_id = f"l-{u}-{v}-{key}"
            digraph.node(label_id, label=edge_html(texts), shape="box", style="rounded,filled",
                         fillcolor="white", color=style.FAINT, penwidth="0.6",
                         margin="0.04,0.02", height="0", width="0")
            digraph.edge(u, label_id, arrowhead="none", id=f"e-{u}-{v}-{key}-in")
            u = label_id
        count = edge_counts.get(edge)
        if count is not None:  # between collapsed boxes
            attributes["color"] = style.FAINT
            if count > 1 and len(edge_counts) <= COUNT_LABELS:
                attributes["label"] = f"×{count}"
                attributes["fontcolor"] = style.MUTED
                attributes["fontsize"] = "10"
        digraph.edge(u, v, **attributes)
    return digraph


def _direction(node_ids: list[str], edges: list[tuple[str, str, int]], labelled: bool) -> str:
    """Left to right; top to bottom for a long thin chain with labels (else far too wide)."""
    depth = dict.fromkeys(node_ids, 0)
    for u, v, _ in sorted(edges, key=lambda e: node_ids.index(e[1])):
        depth[v] = max(depth[v], depth[u] + 1)
    levels = max(depth.values(), default=0) + 1
    return "TB" if labelled and levels >= 6 and len(node_ids) <= 2 * levels else "LR"


def render(digraph: graphviz.Digraph, fmt: str, seconds: float | None = None) -> bytes:
    """Run ``dot``; for SVG, drop its comments so the output is the same from run to run.

    dot gets ``seconds`` (default ``SECONDS``) to finish and is killed after that, or when
    this program is interrupted (Ctrl-C) or itself killed, so no dot is left running.
    """
    seconds = SECONDS if seconds is None else seconds
    try:
        done = subprocess.run(
            ["dot", f"-T{fmt}"], input=digraph.source.encode("utf-8"), capture_output=True,
            timeout=seconds, preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
    except subprocess.TimeoutExpired:  # subprocess.run has killed dot already
        raise GraphvizFailed(f"Graphviz took longer than {seconds:g} s") from None
    except OSError as error:
        raise GraphvizFailed(f"Graphviz could not be started ({error.strerror})") from None
    if done.returncode != 0:
        said = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GraphvizFailed(f"Graphviz failed ({said[0][:200] if said else done.returncode})")
    data = done.stdout
    if fmt == "svg":
        data = COMMENT.sub("", data.decode("utf-8")).encode("utf-8")
    return data


def _die_with_parent() -> None:
    """In the dot child (Linux): be killed when the parent process dies, however it dies."""
    import ctypes
    import signal

    try:
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        if os.getppid() == 1:  # the parent died before prctl took effect
            os._exit(1)
    except Exception:  # never stop dot from running over this
        pass
