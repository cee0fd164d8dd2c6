"""Colours and fonts shared by both engines, so a picture means the same on either."""

from __future__ import annotations

# kind -> (fill, border)
COLOURS = {
    "input": ("#dbeafe", "#2563eb"),
    "parameter": ("#dcfce7", "#16a34a"),
    "constant": ("#f3f4f6", "#9ca3af"),
    "intermediate": ("#ffffff", "#6b7280"),
    "output": ("#fef3c7", "#d97706"),
    "group": ("#ede9fe", "#7c3aed"),
}
BAD = ("#fee2e2", "#dc2626")  # a gradient the numerical check disagrees with

LEGEND = {
    "input": "input",
    "parameter": "parameter (weight)",
    "constant": "constant",
    "intermediate": "intermediate",
    "output": "output",
    "group": "collapsed group",
}

TEXT = "#111827"
MUTED = "#6b7280"
GRAD = "#b91c1c"  # every gradient is written in this colour
LOCAL = "#1d4ed8"  # local derivatives on edges
EDGE = "#6b7280"
FAINT = "#9ca3af"  # edges between collapsed boxes

FONT = "DejaVu Sans Mono, Menlo, Consolas, monospace"
FONT_SIZE = 12.0
CHAR_WIDTH = 0.602  # advance of a monospace character, in ems


def text_width(text: str, size: float = FONT_SIZE) -> float:
    return len(text) * CHAR_WIDTH * size
