"""autograd: a small reverse-mode automatic differentiation engine.

``Value`` holds a Python float, ``Tensor`` a numpy array; both are nodes of the same
graph, built by the ops in one registry (``Op.registry``). Call ``.backward()`` on a result
and every node it depends on gets its ``.grad``.

Imports only numpy and the standard library. Each file imports only the files before it,
so they read top to bottom in this order: node (what a node records), op (what an op is),
dispatch (helpers for backward rules), ops (every op), engine (reverse mode), operators
(``x + y`` and ``backward()``), value and tensor (the two front-ends), gradcheck.
"""

import warnings

from .engine import (
    GradientAccumulationWarning,
    Step,
    ValueChangedError,
    backward_steps,
    detect_anomaly,
    enable_grad,
    grad,
    is_grad_enabled,
    local_derivatives,
    no_grad,
    topological_order,
)
from .gradcheck import GradcheckError, gradcheck
from .node import Node
from .op import Op, OpError
from .tensor import Tensor, concat, pad, stack, where
from .value import Value

# An op that overflows (or divides by zero, or leaves its domain) raises an OpError that
# names it; numpy's own RuntimeWarning about the same line would only repeat it.
warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"chaingrad\.(autograd|nn)\.")

__all__ = [
    "GradcheckError",
    "GradientAccumulationWarning",
    "Node",
    "Op",
    "OpError",
    "Step",
    "Tensor",
    "Value",
    "ValueChangedError",
    "backward_steps",
    "concat",
    "detect_anomaly",
    "enable_grad",
    "grad",
    "gradcheck",
    "is_grad_enabled",
    "local_derivatives",
    "no_grad",
    "pad",
    "stack",
    "topological_order",
    "where",
]
