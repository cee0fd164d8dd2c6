"""``animate``: one self-contained HTML page stepping through forward and backward.

The page holds the builtin engine's SVG inline, one ``<li class="frame">`` per step
(first the forward pass, one node at a time, then the backward pass in the order of
``autograd.backward_steps``) and a few lines of JavaScript that show one frame at a time,
highlight its node and edges, and hide values not computed yet. Nothing is loaded from
the network.
"""

from __future__ import annotations

import os
from html import escape
from pathlib import Path
from typing import Any, overload

from ..autograd.files import check_path, write_atomic
from . import builtin
from .draw import picture
from .graph import has_gradients, nearest, require_node
from .labels import array_lines, formula, number

MAX_STEPS = 500  # nodes; stepping through more is not useful

STYLE = """
body { font-family: DejaVu Sans, Helvetica, Arial, sans-serif; margin: 18px; color: #111827; }
h1 { font-size: 20px; margin: 0 0 10px 0; }
#controls { margin: 8px 0; display: flex; gap: 10px; align-items: center; }
button { font-size: 15px; padding: 4px 14px; cursor: pointer; }
#frames { list-style: none; padding: 0; margin: 6px 0 12px 0; min-height: 3.2em; }
.frame { display: none; font-size: 16px; font-family: DejaVu Sans Mono, Menlo, monospace; }
.frame.current { display: block; }
.phase { font-weight: bold; margin-right: 8px; }
.forward .phase { color: #2563eb; }
.backward .phase { color: #b91c1c; }
#graph { overflow: auto; border: 1px solid #e5e7eb; }
.node { transition: opacity 0.2s; }
.node.pending { opacity: 0.3; }
.node.pending .data { visibility: hidden; }
.node.no-grad .grad, .edge-label.no-grad .sent, .edge-label.no-local .local { visibility: hidden; }
.edge-label.no-local rect { visibility: hidden; }
.node.active rect { stroke: #e11d48; stroke-width: 4; }
.edge.active path { stroke: #e11d48; stroke-width: 3; }
.edge.active polygon { fill: #e11d48; }
"""

SCRIPT = """
(function () {
  var frames = Array.prototype.slice.call(document.querySelectorAll('.frame'));
  var forwardAt = {}, backwardAt = {};
  frames.forEach(function (frame, i) {
    var table = frame.dataset.phase === 'forward' ? forwardAt : backwardAt;
    table[frame.dataset.node] = i;
  });
  function reached(table, id, k) { return id in table && table[id] <= k; }
  var current = 0;
  function show(k) {
    current = Math.max(0, Math.min(frames.length - 1, k));
    var frame = frames[current];
    var active = (frame.dataset.edges || '').split(' ');
    frames.forEach(function (f, i) { f.classList.toggle('current', i === current); });
    document.querySelectorAll('#graph .node').forEach(function (g) {
      g.classList.toggle('pending', !reached(forwardAt, g.id, current));
      g.classList.toggle('no-grad', !reached(backwardAt, g.id, current));
      g.classList.toggle('active', g.id === frame.dataset.node);
    });
    document.querySelectorAll('#graph .edge').forEach(function (g) {
      g.classList.toggle('active', active.indexOf(g.id) >= 0);
    });
    document.querySelectorAll('#graph .edge-label').forEach(function (g) {
      var child = g.id.split('-')[2];
      var done = reached(backwardAt, child, current);
      g.classList.toggle('no-local', !done);
      g.classList.toggle('no-grad', !done);
    });
    document.getElementById('counter').textContent =
      'step ' + (current + 1) + ' of ' + frames.length;
  }
  document.getElementById('previous').onclick = function () { show(current - 1); };
  document.getElementById('next').onclick = function () { show(current + 1); };
  document.addEventListener('keydown', function (event) {
    if (event.key === 'ArrowRight' || event.key === 'ArrowDown') { show(current + 1); }
    if (event.key === 'ArrowLeft' || event.key === 'ArrowUp') { show(current - 1); }
  });
  show(0);
})();
"""


def _value(data: Any, scalar: bool) -> str:
    return number(data) if scalar else " ".join(array_lines(data))


def frames(root: Any, pic: Any) -> list[tuple[str, str, list[str], str]]:
    """(phase, node id, active edge ids, sentence) for every step, forward then backward."""
    from ..autograd import backward_steps

    graph = pic.graph
    ids = {id(graph.nodes[n]["node"]): n for n in graph}
    steps = []
    for node_id in pic.node_ids:
        attrs = graph.nodes[node_id]
        value = _value(attrs["data"], attrs["scalar"])
        made = formula(graph, node_id)
        incoming = [f"e-{u}-{v}-{k}" for u, v, k in graph.in_edges(node_id, keys=True)]
        if made:
            text = f"{attrs['name']} = {made} = {value}"
        else:
            text = f"{attrs['name']} = {value}  ({attrs['kind']})"
        steps.append(("forward", node_id, sorted(incoming), text))
    top = graph.nodes[graph.graph["root"]]["name"]
    for number_, step in enumerate(backward_steps(root)):
        node_id = ids[id(step.node)]
        name = graph.nodes[node_id]["name"]
        scalar = graph.nodes[node_id]["scalar"]
        grad = _value(step.grad, scalar) if step.grad is not None else "0"
        text = f"∂{top}/∂{name} = {grad}" + ("  (the seed)" if number_ == 0 else "")
        edges = []
        sends = []
        for parent, local, sent in step.received:
            parent_id = ids[id(parent)]
            parent_name = graph.nodes[parent_id]["name"]
            for u, v, k in graph.in_edges(node_id, keys=True):
                if u == parent_id:
                    edges.append(f"e-{u}-{v}-{k}")
            if local is not None:
                sends.append(f"{parent_name} gets {grad} × {number(local)} = {number(sent)}")
            else:
                sends.append(f"{parent_name} gets {' '.join(array_lines(sent))}")
        if sends:
            text += ";  " + ",  ".join(sends)
        elif not graph.nodes[node_id]["op"]:
            text += "  (a leaf: its gradient is complete)"
        steps.append(("backward", node_id, sorted(set(edges)), text))
    return steps


class Stepper:
    """The step-by-step page, shown inline by Jupyter; ``save(path)`` writes it."""

    def __init__(self, page: str, height: int = 520) -> None:
        self.page, self.height = page, height

    def _repr_html_(self) -> str:
        # An iframe keeps the page's element ids and script apart from the notebook's.
        return (f'<iframe srcdoc="{escape(self.page, quote=True)}" style="width: 100%; '
                f'height: {self.height}px; border: 1px solid #e5e7eb"></iframe>')

    def save(self, path: str | os.PathLike) -> Path:
        return write_atomic(Path(path), self.page.encode("utf-8"))

    def __str__(self) -> str:
        return self.page

    def __repr__(self) -> str:  # what a plain REPL echoes (Jupyter shows the page)
        return (f"<Stepper: an HTML page of {len(self.page):,} characters; "
                ".save('steps.html') writes it, or run this in Jupyter to see it>")


@overload
def animate(root: Any, path: str | os.PathLike[str], *,
            edge_labels: bool | None = None, title: str | None = None) -> Path: ...


@overload
def animate(root: Any, path: None = None, *,
            edge_labels: bool | None = None, title: str | None = None) -> Stepper: ...


def animate(root: Any, path: str | os.PathLike | None = None, *,
            edge_labels: bool | None = None, title: str | None = None) -> Path | Stepper:
    """Write an HTML page that steps through the forward and backward pass of ``root``.

    Call ``root.backward()`` first. Use the buttons or the arrow keys to step. Without a
    path, return a ``Stepper`` that Jupyter shows inline.
    """
    require_node(root, "animate")
    if path is not None:
        check_path(path, "animate")
    if not has_gradients(root):
        raise ValueError("animate: the graph has no gradients yet; call backward() on it first")
    size = len(nearest(root, MAX_STEPS + 1))
    if size > MAX_STEPS:
        raise ValueError(f"animate: the graph has more than {MAX_STEPS} nodes; stepping "
                         f"through more than {MAX_STEPS} is not useful. Draw it with "
                         "viz.draw instead, or animate a smaller example.")
    pic = picture(root, edge_labels=edge_labels, collapse_threshold=10**9)
    scene = builtin.build_scene(pic.node_ids, pic.labels, pic.edges, pic.edge_texts,
                                pic.edge_counts, pic.rank, pic.legend, pic.notes)
    svg = builtin.scene_svg(scene).split("\n", 1)[1]  # inline: no XML declaration
    items = []
    for phase, node_id, edges, text in frames(root, pic):
        label = "forward" if phase == "forward" else "backward"
        items.append(f'<li class="frame {phase}" data-phase="{phase}" data-node="{node_id}" '
                     f'data-edges="{" ".join(edges)}"><span class="phase">{label}</span>'
                     f"{escape(text)}</li>")
    heading = escape(title or "Forward pass, then backward pass, one node at a time")
    page = "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{heading}</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<h1>{heading}</h1>",
        '<div id="controls"><button id="previous">◀ previous</button>'
        '<button id="next">next ▶</button><span id="counter"></span>'
        "<span>(or use the arrow keys)</span></div>",
        '<ol id="frames">', *items, "</ol>",
        f'<div id="graph">{svg}</div>',
        f"<script>{SCRIPT}</script>",
        "</body></html>",
    ])
    stepper = Stepper(page, height=min(900, 200 + int(scene.height)))
    return stepper if path is None else stepper.save(path)
