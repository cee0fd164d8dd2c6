"""chaingrad: an educational reverse-mode autodiff engine with a computational-graph visualizer.

    >>> from chaingrad import Value, viz
    >>> x, y, z = Value(-2.0, name="x"), Value(5.0, name="y"), Value(-4.0, name="z")
    >>> f = (x + y) * z
    >>> f.backward()
    >>> x.grad, y.grad, z.grad
    (-4.0, -4.0, 3.0)

The packages: ``chaingrad.autograd`` (the engine), ``chaingrad.nn`` (networks),
``chaingrad.viz`` (pictures) and ``chaingrad.lessons`` (the course). The engine's main names
are re-exported here; ``nn``, ``viz`` and ``lessons`` load when first used, so importing
the engine alone stays light.
"""

from __future__ import annotations

from ._interrupt import quiet_while_starting

quiet_while_starting()  # a chaingrad command only: Ctrl-C during the imports below exits quietly

import importlib  # noqa: E402
from pathlib import Path  # noqa: E402

__version__ = "0.3.0"

# Installed, the four packages sit inside this folder. In a source checkout they sit beside
# it (the repository's layout is fixed), so look there too.
_HERE = Path(__file__).resolve().parent
if not (_HERE / "autograd").is_dir() and (_HERE.parent / "autograd" / "__init__.py").is_file():
    __path__.append(str(_HERE.parent))

from .autograd import (  # noqa: E402  (needs the search path above)
    Op,
    Tensor,
    Value,
    ValueChangedError,
    backward_steps,
    capture,
    concat,
    detect_anomaly,
    enable_grad,
    grad,
    gradcheck,
    no_grad,
    stack,
    where,
)

_SUBPACKAGES = ("autograd", "nn", "viz", "lessons")

__all__ = [
    "Op",
    "Tensor",
    "Value",
    "ValueChangedError",
    "__version__",
    "backward_steps",
    "capture",
    "concat",
    "detect_anomaly",
    "enable_grad",
    "grad",
    "gradcheck",
    "no_grad",
    "stack",
    "where",
    *_SUBPACKAGES,
]


def __getattr__(name: str):
    """``chaingrad.nn`` and friends, imported the first time they are asked for."""
    if name in _SUBPACKAGES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'chaingrad' has no attribute {name!r}")
