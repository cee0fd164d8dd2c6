"""nn: neural networks built on autograd: modules, scalar networks (every weight a Value)."""

from . import scalar
from .module import Module, manual_seed

__all__ = ["Module", "manual_seed", "scalar"]
