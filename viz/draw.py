"""``draw``: a graph's picture, with the Graphviz program or without it.

Both engines draw the same boxes from the same :class:`Picture` (names, values,
gradients, edge labels, legend); they differ only in who places them.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, overload

import networkx as nx

from ..autograd.files import check_path, write_atomic
from . import builtin
from .graph import KINDS, collapse, prefix_group, require_node, to_networkx
from .labels import NodeLabel, edge_derivatives, edge_label, gradient_sums, node_label

ENGINES = ("auto", "graphviz", "builtin")
FORMATS = ("svg", "png", "pdf")
EDGE_LABEL_LIMIT = 100  # above this many nodes, edge labels are off unless asked for


class EngineNotice(UserWarning):
    """draw(engine="auto") fell back to the builtin renderer because dot is missing."""


_told_about_fallback = False


@dataclass
class Picture:
    """Everything a renderer needs: boxes, edges and their texts, the legend."""

    graph: nx.MultiDiGraph
    node_ids: list[str]
    labels: dict[str, NodeLabel]
    edges: list[tuple[str, str, int]]
    edge_texts: dict[tuple[str, str, int], list[str]]
    edge_counts: dict[tuple[str, str, int], int]
    legend: list[str]
    notes: list[str]

    @property
    def rank(self) -> dict[str, int]:
        return {n: self.graph.nodes[n]["order"] for n in self.node_ids}


def picture(
    root: Any,
    edge_labels: bool | None = None,
    check: bool | Mapping[Any, Any] = False,
    collapse_threshold: int = 500,
    parameters: Iterable[Any] | None = None,
    group_by: Callable[[str | None], str | None] = prefix_group,
) -> Picture:
    """Read the graph of ``root`` and decide what every box and edge says."""
    full = to_networkx(root, parameters)
    show_grad = full.graph["has_grad"]
    checked = None
    if isinstance(check, Mapping):
        from .check import expected_gradients

        checked = expected_gradients(full, check)
    elif check:
        from .check import numeric_gradients

        checked = numeric_gradients(full)
    graph = collapse(full, collapse_threshold, group_by)
    collapsed = graph.graph.get("collapsed", False)
    if edge_labels is None:
        edge_labels = graph.number_of_nodes() <= EDGE_LABEL_LIMIT
    derivatives = {} if collapsed else edge_derivatives(graph)
    sums = gradient_sums(graph, derivatives) if show_grad else {}
    node_ids = sorted(graph, key=lambda n: graph.nodes[n]["order"])
    labels = {n: node_label(graph, n, show_grad, sums, checked) for n in node_ids}
    edges = sorted(graph.edges(keys=True),
                   key=lambda e: (graph.nodes[e[1]]["order"], e[2], graph.nodes[e[0]]["order"]))
    edge_texts = {}
    if edge_labels and not collapsed:
        edge_texts = {e: edge_label(graph, e, derivatives) for e in edges}
    counts = {(u, v, k): d["count"] for u, v, k, d in graph.edges(keys=True, data=True)
              if "count" in d}
    present = {graph.nodes[n]["kind"] for n in node_ids}
    legend = [k for k in (*KINDS, "group") if k in present]
    edge_texts = {e: text for e, text in edge_texts.items() if text}
    return Picture(graph, node_ids, labels, edges, edge_texts, counts, legend,
                   _notes(full, graph, show_grad, bool(edge_texts), check))


def _notes(full, graph, show_grad: bool, has_edge_texts: bool, check: bool) -> list[str]:
    root_name = full.nodes[full.graph["root"]]["name"]
    notes = []
    if show_grad:
        notes.append(f"data: forward value   grad: ∂{root_name}/∂node (a node used twice "
                     "adds what each use sends back)")
    else:
        notes.append(f"data: forward value   (call {root_name}.backward() to see gradients)")
    if has_edge_texts and show_grad:
        notes.append("edge: local derivative ∂child/∂parent, then upstream grad × local = "
                     "grad sent back")
    elif has_edge_texts:
        notes.append("edge: local derivative ∂child/∂parent")
    if full.graph.get("earlier"):
        shown = full.number_of_nodes() - 1
        notes.append(f"a big graph: {full.graph['total']:,} nodes; only the {shown:,} nearest "
                     f"the output are read, the other {full.graph['earlier']:,} are one box "
                     "(draw an intermediate node to see further back)")
    if graph.graph.get("collapsed"):
        groups = sum(1 for _, kind in graph.nodes(data="kind") if kind == "group")
        notes.append(f"{full.number_of_nodes()} nodes drawn as {groups} boxes "
                     f"and {graph.number_of_nodes() - groups} single nodes")
    if isinstance(check, Mapping):
        notes.append("check: gradients compared with the expected ones; red = mismatch")
    elif check:
        notes.append("check: leaf gradients compared with central differences; red = mismatch")
    return notes


# ------------------------------------------------------------------ output


class Drawing:
    """An SVG drawing that Jupyter shows inline; ``save(path)`` writes it."""

    def __init__(self, svg: str) -> None:
        self.svg = svg

    def _repr_svg_(self) -> str:
        return self.svg

    def save(self, path: str | os.PathLike) -> Path:
        return write_atomic(Path(path), self.svg.encode("utf-8"))

    def __str__(self) -> str:
        return self.svg

    def __repr__(self) -> str:  # what a plain REPL echoes (Jupyter shows the picture)
        return (f"<Drawing: an SVG of {len(self.svg):,} characters; .save('graph.svg') "
                "writes it, or run this in Jupyter to see it>")


def dot_available() -> bool:
    return shutil.which("dot") is not None


def choose_engine(engine: str) -> str:
    """"auto" -> "graphviz" when the dot program is on PATH, else "builtin" (said once)."""
    global _told_about_fallback
    if engine not in ENGINES:
        raise ValueError(f"draw: unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    if engine != "auto":
        if engine == "graphviz" and not dot_available():
            raise RuntimeError(
                "draw: engine='graphviz' needs the Graphviz program 'dot' on PATH, and it is "
                "not there. Use engine='builtin' (no Graphviz needed) or install Graphviz."
            )
        return engine
    if dot_available():
        return "graphviz"
    if not _told_about_fallback:
        _told_about_fallback = True
        warnings.warn("draw: the Graphviz program 'dot' is not on PATH; using chaingrad's "
                      "builtin renderer instead", EngineNotice, stacklevel=3)
    return "builtin"


def render(pic: Picture, engine: str, fmt: str) -> bytes:
    """The picture as SVG, PNG or PDF bytes with the chosen (concrete) engine."""
    if engine == "graphviz":
        from . import dot

        if len(pic.node_ids) > dot.MAX_NODES or len(pic.edges) > dot.MAX_EDGES:
            _note(f"{len(pic.node_ids)} boxes and {len(pic.edges)} arrows are more than "
                  f"Graphviz lays out quickly ({dot.MAX_NODES} and {dot.MAX_EDGES})")
        else:
            digraph = dot.build_digraph(pic.node_ids, pic.labels, pic.edges, pic.edge_texts,
                                        pic.edge_counts, pic.legend, pic.notes)
            try:
                return dot.render(digraph, fmt)
            except dot.GraphvizFailed as error:
                _note(str(error))
    scene = builtin.build_scene(pic.node_ids, pic.labels, pic.edges, pic.edge_texts,
                                pic.edge_counts, pic.rank, pic.legend, pic.notes)
    if fmt == "svg":
        return builtin.scene_svg(scene).encode("utf-8")
    return _builtin_raster(scene, fmt)


def _note(reason: str) -> None:
    """One line on stderr when draw falls back from Graphviz to the builtin renderer."""
    print(f"draw: {reason}; drawn with the builtin renderer instead", file=sys.stderr)


def _builtin_raster(scene: builtin.Scene, fmt: str) -> bytes:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        try:
            import cairosvg
        except ImportError:
            raise RuntimeError(
                f"draw: the builtin engine writes {fmt.upper()} with matplotlib or cairosvg, "
                "and neither is installed. Save as .svg, install matplotlib, or use "
                "engine='graphviz'."
            ) from None
        svg = builtin.scene_svg(scene).encode("utf-8")
        convert = cairosvg.svg2png if fmt == "png" else cairosvg.svg2pdf
        return convert(bytestring=svg)
    with tempfile.TemporaryDirectory() as folder:
        target = os.path.join(folder, f"picture.{fmt}")
        builtin.scene_matplotlib(scene, target, fmt)
        with open(target, "rb") as file:
            return file.read()


@overload
def draw(
    root: Any,
    path: str | os.PathLike[str],
    engine: str = "auto",
    *,
    edge_labels: bool | None = None,
    check: bool | Mapping[Any, Any] = False,
    collapse_threshold: int = 500,
    parameters: Iterable[Any] | None = None,
    group_by: Callable[[str | None], str | None] = prefix_group,
) -> Path: ...


@overload
def draw(
    root: Any,
    path: None = None,
    engine: str = "auto",
    *,
    edge_labels: bool | None = None,
    check: bool | Mapping[Any, Any] = False,
    collapse_threshold: int = 500,
    parameters: Iterable[Any] | None = None,
    group_by: Callable[[str | None], str | None] = prefix_group,
) -> Drawing: ...


def draw(
    root: Any,
    path: str | os.PathLike | None = None,
    engine: str = "auto",
    *,
    edge_labels: bool | None = None,
    check: bool | Mapping[Any, Any] = False,
    collapse_threshold: int = 500,
    parameters: Iterable[Any] | None = None,
    group_by: Callable[[str | None], str | None] = prefix_group,
) -> Path | Drawing:
    """Draw the graph of ``root``: every node's name, op, value and gradient.

    ``path`` ending in .svg, .png or .pdf is written (atomically) and returned; without a
    path you get a :class:`Drawing` that Jupyter shows inline. ``engine`` is "graphviz",
    "builtin" (no Graphviz needed) or "auto". ``edge_labels`` shows the chain rule on
    every edge (default: on up to 100 nodes). ``check=True`` compares every leaf's
    gradient with central differences and paints mismatches red; ``check={node:
    expected gradient}`` compares those nodes' gradients with the given ones instead.
    Graphs with more than ``collapse_threshold`` nodes are collapsed into boxes named by
    ``group_by`` (default: the name without its last dotted part, so "L1.N3.w0" joins the
    box "L1.N3"; for a model named with ``nn.name_parameters``, ``viz.module_prefix(2)``
    gives one box per module, and a box holding attention weights shows them as a small
    matrix).
    ``parameters`` (e.g. ``model.parameters()``) says which leaves are weights.
    ``root`` may also be a micrograd-like Value (``data grad _prev _op``, optional ``label``).
    """
    require_node(root, "draw")
    fmt = "svg"
    if path is not None:
        check_path(path, "draw")
        fmt = Path(path).suffix.lower().lstrip(".")
        if fmt not in FORMATS:
            raise ValueError(f"draw: cannot write {os.fspath(path)!r}; use a path ending in "
                             ".svg, .png or .pdf")
    concrete = choose_engine(engine)
    pic = picture(root, edge_labels, check, collapse_threshold, parameters, group_by)
    data = render(pic, concrete, fmt)
    if path is None:
        return Drawing(data.decode("utf-8"))
    return write_atomic(Path(path), data)
