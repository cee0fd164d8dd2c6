"""The builtin engine: our own layout written out as SVG text (or drawn by matplotlib).

The picture is first described as a *scene*, a list of groups of rectangles, texts and
curves with absolute coordinates; :func:`scene_svg` writes it as SVG and
:func:`scene_matplotlib` draws it with matplotlib for PNG and PDF. Everything is
computed from the graph alone, so the output is byte-identical from run to run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape
from typing import Any

from . import style
from .labels import NodeLabel
from .layout import Layout, layered_layout

PAD_X = 8.0
LINE = 16.0  # height of one text line
TITLE = 20.0
SMALL = 10.5
COUNT_LABELS = 40  # label collapsed edges with their count up to this many edges
BOLD = ' font-weight="bold"'


@dataclass
class Text:
    x: float
    y: float  # baseline
    spans: list[tuple[str, str, bool]]  # (text, colour, bold)
    size: float = style.FONT_SIZE
    cls: str = ""
    anchor: str = "start"


@dataclass
class Rect:
    x: float
    y: float
    width: float
    height: float
    fill: str
    stroke: str
    stroke_width: float = 1.2
    dashed: bool = False
    rx: float = 6.0


@dataclass
class Curve:
    points: list[tuple[float, float]]
    colour: str = style.EDGE
    width: float = 1.2
    arrow: bool = True


@dataclass
class Line:
    x1: float
    y1: float
    x2: float
    y2: float
    colour: str


@dataclass
class Group:
    id: str
    cls: str
    items: list = field(default_factory=list)


@dataclass
class Scene:
    width: float
    height: float
    groups: list[Group]


# ------------------------------------------------------------------ building the scene


def box_size(label: NodeLabel) -> tuple[float, float]:
    title = _title_text(label)
    rows = label.info + label.data + label.grad + label.notes
    widest = max([style.text_width(title, 13.0)] + [style.text_width(r) for r in rows])
    return widest + 2 * PAD_X, TITLE + 6 + LINE * len(rows) + (4 if rows else -4)


def _title_text(label: NodeLabel) -> str:
    return f"{label.title} = {label.formula}" if label.formula else label.title


def label_size(lines: list[str]) -> tuple[float, float]:
    widest = max(style.text_width(line, SMALL) for line in lines)
    return widest + 8, 14.0 * len(lines) + 4


def build_scene(
    node_ids: list[str],
    labels: dict[str, NodeLabel],
    edges: list[tuple[str, str, int]],
    edge_texts: dict[tuple[str, str, int], list[str]],
    edge_counts: dict[tuple[str, str, int], int],
    rank: dict[str, int],
    legend: list[str],
    notes: list[str],
) -> Scene:
    """Lay out boxes and edges, then describe every shape of the picture."""
    sizes = {n: box_size(labels[n]) for n in node_ids}
    label_sizes = {e: label_size(t) for e, t in edge_texts.items() if t}
    # Edges between collapsed boxes come in dense bundles: give them room to fan out.
    gap = 140.0 if edge_counts else 46.0
    layout = layered_layout(node_ids, sizes, edges, label_sizes, rank, gap)
    legend_group, legend_height, legend_width = _legend(legend, notes)
    shift = legend_height + 6
    groups = [legend_group]
    groups += _edges(layout, edge_texts, edge_counts, shift)
    for n in node_ids:
        item = layout.items[n]
        groups.append(_node(n, labels[n], item.x - item.width / 2, item.y - item.height / 2 + shift,
                            item.width, item.height))
    return Scene(max(layout.width, legend_width), layout.height + shift, groups)


def _node(node_id: str, label: NodeLabel, x: float, y: float, w: float, h: float) -> Group:
    fill, border = style.BAD if label.bad else style.COLOURS[label.kind]
    width = 2.6 if label.bad or label.kind == "output" else 1.3
    group = Group(node_id, f"node {label.kind}" + (" bad" if label.bad else ""))
    group.items.append(Rect(x, y, w, h, fill, border, width, dashed=label.kind == "group"))
    spans = [(label.title, style.TEXT, True)]
    if label.formula:
        spans.append((f" = {label.formula}", style.MUTED, False))
    group.items.append(Text(x + PAD_X, y + 15, spans, 13.0, "title"))
    rows = [(r, "note") for r in label.info]
    rows += [(r, "data") for r in label.data] + [(r, "grad") for r in label.grad]
    rows += [(r, "note") for r in label.notes]
    if rows:
        group.items.append(Line(x, y + TITLE + 1, x + w, y + TITLE + 1, border))
    baseline = y + TITLE + 16
    for text, role in rows:
        if role == "note":
            colour = style.BAD[1] if label.bad and text.endswith("MISMATCH") else style.MUTED
            spans = [(text, colour, False)]
        else:
            head, rest = text[:5], text[5:]
            colour = style.GRAD if role == "grad" else style.TEXT
            spans = [(head, style.MUTED if role == "data" else style.GRAD, False),
                     (rest, colour, role == "grad")]
        group.items.append(Text(x + PAD_X, baseline, spans, style.FONT_SIZE, role))
        baseline += LINE
    return group


def _edges(layout: Layout, edge_texts, edge_counts, shift: float) -> list[Group]:
    groups = []
    labels = []
    for route in layout.routes:
        edge = (route.source, route.target, route.key)
        edge_id = f"e-{route.source}-{route.target}-{route.key}"
        points = [(x, y + shift) for x, y in route.points]
        count = edge_counts.get(edge)
        if count is None:
            groups.append(Group(edge_id, "edge", [Curve(points, style.EDGE, 1.2)]))
        else:  # between collapsed boxes: thin and light, so many of them stay legible
            groups.append(Group(edge_id, "edge", [Curve(points, style.FAINT, 0.9)]))
        texts = edge_texts.get(edge)
        if route.label and texts:
            item = layout.items[route.label]
            x, y = item.x - item.width / 2, item.y - item.height / 2 + shift
            group = Group(f"l-{route.source}-{route.target}-{route.key}", "edge-label")
            group.items.append(Rect(x, y, item.width, item.height, "#ffffff", "#d1d5db", 0.8,
                                    rx=4.0))
            for k, text in enumerate(texts):
                colour = style.LOCAL if k == 0 else style.GRAD
                group.items.append(Text(x + 4, y + 13 + 14 * k, [(text, colour, False)], SMALL,
                                        "local" if k == 0 else "sent"))
            labels.append(group)
        elif count is not None and count > 1 and len(edge_counts) <= COUNT_LABELS:
            k = len(points) // 2
            x = (points[k - 1][0] + points[k][0]) / 2
            y = (points[k - 1][1] + points[k][1]) / 2
            labels.append(Group(f"l-{route.source}-{route.target}-{route.key}", "edge-label",
                                [Text(x, y - 3, [(f"×{count}", style.MUTED, False)], SMALL,
                                      "count", "middle")]))
    return groups + labels


def _legend(kinds: list[str], notes: list[str]) -> tuple[Group, float, float]:
    group = Group("legend", "legend")
    x = 8.0
    for kind in kinds:
        fill, border = style.COLOURS[kind]
        text = style.LEGEND[kind]
        group.items.append(Rect(x, 8, 14, 14, fill, border, 1.3, dashed=kind == "group", rx=3))
        group.items.append(Text(x + 19, 19.5, [(text, style.TEXT, False)], 11.0))
        x += 19 + style.text_width(text, 11.0) + 16
    y = 38.0
    for note in notes:
        group.items.append(Text(8, y, [(note, style.MUTED, False)], 11.0))
        x = max(x, 16 + style.text_width(note, 11.0))
        y += 15
    return group, y - 8, x


# ------------------------------------------------------------------ writing SVG


def _f(v: float) -> str:
    text = f"{v:.1f}"
    return text[:-2] if text.endswith(".0") else text


def scene_svg(scene: Scene) -> str:
    """The scene as a standalone SVG document (every piece of text escaped)."""
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_f(scene.width)}" '
        f'height="{_f(scene.height)}" viewBox="0 0 {_f(scene.width)} {_f(scene.height)}" '
        f'font-family="{style.FONT}" font-size="{_f(style.FONT_SIZE)}">',
        f'<rect width="{_f(scene.width)}" height="{_f(scene.height)}" fill="#ffffff"/>',
    ]
    for group in scene.groups:
        out.append(f'<g id="{escape(group.id)}" class="{escape(group.cls)}">')
        out.extend(_svg_item(item) for item in group.items)
        out.append("</g>")
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _svg_item(item: Any) -> str:
    if isinstance(item, Rect):
        dash = ' stroke-dasharray="5 3"' if item.dashed else ""
        return (f'<rect x="{_f(item.x)}" y="{_f(item.y)}" width="{_f(item.width)}" '
                f'height="{_f(item.height)}" rx="{_f(item.rx)}" fill="{item.fill}" '
                f'stroke="{item.stroke}" stroke-width="{_f(item.stroke_width)}"{dash}/>')
    if isinstance(item, Line):
        return (f'<line x1="{_f(item.x1)}" y1="{_f(item.y1)}" x2="{_f(item.x2)}" '
                f'y2="{_f(item.y2)}" stroke="{item.colour}" stroke-width="0.8"/>')
    if isinstance(item, Text):
        spans = "".join(
            f'<tspan fill="{colour}"{BOLD if bold else ""}>{escape(text)}</tspan>'
            for text, colour, bold in item.spans
        )
        cls = f' class="{item.cls}"' if item.cls else ""
        anchor = f' text-anchor="{item.anchor}"' if item.anchor != "start" else ""
        return (f'<text x="{_f(item.x)}" y="{_f(item.y)}" font-size="{_f(item.size)}"'
                f'{anchor}{cls} xml:space="preserve">{spans}</text>')
    if isinstance(item, Curve):
        path = _bezier(item.points)
        arrow = ""
        if item.arrow:
            arrow = '<polygon points="' + " ".join(
                f"{_f(x)},{_f(y)}" for x, y in _arrowhead(item.points)
            ) + f'" fill="{item.colour}"/>'
        return (f'<path d="{path}" fill="none" stroke="{item.colour}" '
                f'stroke-width="{_f(item.width)}"/>{arrow}')
    raise TypeError(f"scene_svg: unknown item {type(item).__name__}")


def _segments(points: list[tuple[float, float]]):
    """Cubic pieces with horizontal tangents: smooth S-curves between columns."""
    for (x1, y1), (x2, y2) in zip(points, points[1:]):
        dx = (x2 - x1) / 2
        yield (x1 + dx, y1), (x2 - dx, y2), (x2, y2)


def _bezier(points: list[tuple[float, float]]) -> str:
    x, y = points[0]
    parts = [f"M{_f(x)},{_f(y)}"]
    for (ax, ay), (bx, by), (cx, cy) in _segments(points):
        parts.append(f"C{_f(ax)},{_f(ay)} {_f(bx)},{_f(by)} {_f(cx)},{_f(cy)}")
    return " ".join(parts)


def _arrowhead(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    (x1, _), (x2, y2) = points[-2], points[-1]
    direction = 1.0 if x2 >= x1 else -1.0
    return [(x2, y2), (x2 - 8 * direction, y2 - 3.5), (x2 - 8 * direction, y2 + 3.5)]


# ------------------------------------------------------------------ matplotlib (PNG, PDF)


def scene_matplotlib(scene: Scene, path: str, fmt: str) -> None:
    """Draw the scene with matplotlib (for PNG and PDF without any Graphviz)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure
    from matplotlib.patches import FancyBboxPatch, PathPatch, Polygon
    from matplotlib.path import Path

    dpi = 96.0
    scale = 2.0 if fmt == "png" else 1.0
    figure = Figure(figsize=(scene.width / dpi, scene.height / dpi), dpi=dpi * scale)
    axes = figure.add_axes((0, 0, 1, 1))
    axes.set_xlim(0, scene.width)
    axes.set_ylim(scene.height, 0)
    axes.axis("off")
    points_per_px = 72.0 / dpi
    for group in scene.groups:
        for item in group.items:
            if isinstance(item, Rect):
                axes.add_patch(FancyBboxPatch(
                    (item.x, item.y), item.width, item.height,
                    boxstyle=f"round,pad=0,rounding_size={item.rx}", facecolor=item.fill,
                    edgecolor=item.stroke, linewidth=item.stroke_width * points_per_px,
                    linestyle="--" if item.dashed else "-"))
            elif isinstance(item, Line):
                axes.plot([item.x1, item.x2], [item.y1, item.y2], color=item.colour,
                          linewidth=0.8 * points_per_px)
            elif isinstance(item, Curve):
                vertices = [item.points[0]]
                for a, b, c in _segments(item.points):
                    vertices += [a, b, c]
                codes = [Path.MOVETO] + [Path.CURVE4] * (len(vertices) - 1)
                axes.add_patch(PathPatch(Path(vertices, codes), facecolor="none",
                                         edgecolor=item.colour,
                                         linewidth=item.width * points_per_px))
                axes.add_patch(Polygon(_arrowhead(item.points), closed=True,
                                       facecolor=item.colour, edgecolor="none"))
            elif isinstance(item, Text):
                _draw_text(axes, item, points_per_px)
    figure.savefig(path, format=fmt, facecolor="white")


def _draw_text(axes: Any, item: Text, points_per_px: float) -> None:
    """Spans one after another; a monospace font makes each span's width predictable."""
    total = sum(style.text_width(text, item.size) for text, _, _ in item.spans)
    x = item.x - (total / 2 if item.anchor == "middle" else 0)
    for text, colour, bold in item.spans:
        axes.text(x, item.y, text, color=colour, fontsize=item.size * points_per_px,
                  fontfamily="DejaVu Sans Mono", fontweight="bold" if bold else "normal",
                  va="baseline", ha="left")
        x += style.text_width(text, item.size)
