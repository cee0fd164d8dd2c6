"""viz: pictures of a computational graph, read from the nodes' plain attributes.

    >>> from chaingrad import Value, viz
    >>> x, y, z = Value(-2.0, name="x"), Value(5.0, name="y"), Value(-4.0, name="z")
    >>> f = (x + y) * z
    >>> f.backward()
    >>> viz.draw(f, "f.svg")          # doctest: +SKIP

``draw`` writes SVG/PNG/PDF with Graphviz or with the builtin renderer (no Graphviz
needed); ``to_networkx`` and ``to_dot`` give the graph as data; ``show`` and ``explain``
print it in the terminal; ``animate`` writes a step-by-step HTML page. In Jupyter,
``draw`` and ``animate`` without a path and the plots without a path display inline,
and ``show``/``explain`` display once.
"""

from __future__ import annotations

import inspect
from typing import Any

from .animate import animate
from .draw import Drawing, EngineNotice, draw
from .graph import module_prefix, to_networkx
from .terminal import explain, show


def to_dot(root: Any, **options: Any):
    """The graph as a ``graphviz.Digraph`` (``str()`` of it is the DOT source)."""
    from .dot import build_digraph
    from .draw import picture
    from .graph import require_node

    require_node(root, "to_dot")
    known = list(inspect.signature(picture).parameters)[1:]
    for option in options:
        if option not in known:
            raise TypeError(f"to_dot: unknown option {option!r}; the options are "
                            f"{', '.join(known)}")
    pic = picture(root, **options)
    return build_digraph(pic.node_ids, pic.labels, pic.edges, pic.edge_texts, pic.edge_counts,
                         pic.legend, pic.notes)


_PLOTS = ("plot_history", "plot_decision_boundary", "plot_function", "plot_optimizer_paths")


def __getattr__(name: str) -> Any:
    # The plots live in viz.plots and load matplotlib only when first used.
    if name in _PLOTS:
        from . import plots

        return getattr(plots, name)
    raise AttributeError(f"module 'viz' has no attribute {name!r}")


__all__ = ["Drawing", "EngineNotice", "animate", "draw", "explain", "module_prefix", "show",
           "to_dot", "to_networkx", *_PLOTS]
