"""nn.Module: the base class of every model, and the random generator models draw from.

A module is any object with a ``forward`` method. Its parameters are found by walking its
attributes (sub-modules, parameters, and lists, tuples or dicts of them), so a student
writes only ``__init__`` and ``forward``::

    class Affine(nn.Module):
        def __init__(self):
            self.w = Value(0.5, name="w")
            self.b = Value(0.0, name="b")

        def forward(self, x):
            return self.w * x + self.b
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from autograd import Node

# ---------------------------------------------------------------- seeding

_generator = np.random.default_rng()


def manual_seed(seed: int) -> None:
    """Seed the generator that every model, dropout mask and shuffle uses by default."""
    global _generator
    _generator = np.random.default_rng(seed)


def rng(seed: int | np.random.Generator | None = None) -> np.random.Generator:
    """A generator: a fresh one for an integer seed, the shared one (see manual_seed) for None."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        return _generator
    return np.random.default_rng(seed)


# ---------------------------------------------------------------- the module


def is_parameter(x: object) -> bool:
    """A parameter: a leaf node that takes a gradient (a Value, or a Tensor with requires_grad)."""
    return isinstance(x, Node) and x.operation is None and x.requires_grad


class Module:
    """Base class of models: ``model(x)`` calls ``model.forward(x)``."""

    training: bool = True  # a class default, so subclasses need not call super().__init__()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    # -- parameters

    def named_parameters(self) -> Iterator[tuple[str, Node]]:
        """(dotted path, parameter) pairs, in the order the attributes were set, each once."""
        seen: set[int] = set()
        for path, node in _walk(self, ""):
            if id(node) not in seen:
                seen.add(id(node))
                yield path, node

    def parameters(self) -> list[Node]:
        """Every parameter of this module and its sub-modules, each once, in a fixed order."""
        return [node for _, node in self.named_parameters()]

    def modules(self) -> Iterator[Module]:
        """This module and every sub-module below it, depth first."""
        yield self
        for child in _children(self):
            yield from child.modules()

    def zero_grad(self) -> None:
        """Reset every parameter's gradient (before the next backward)."""
        for p in self.parameters():
            p.zero_grad()

    def num_parameters(self) -> int:
        """How many numbers the parameters hold in total."""
        return sum(1 if p.scalar else p.data.size for p in self.parameters())

    # -- training and evaluation mode

    def train(self, mode: bool = True) -> Module:
        """Training mode (dropout and rrelu draw random numbers); returns the module."""
        for module in self.modules():
            module.training = mode
        return self

    def eval(self) -> Module:
        """Evaluation mode: deterministic layers; returns the module."""
        return self.train(False)


def _walk(value: Any, path: str) -> Iterator[tuple[str, Node]]:
    """Every parameter reachable from value, with its dotted path."""
    if is_parameter(value):
        yield path, value
    elif isinstance(value, Module):
        for key, attribute in vars(value).items():
            yield from _walk(attribute, f"{path}.{key}" if path else key)
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from _walk(item, f"{path}.{index}" if path else str(index))
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(item, f"{path}.{key}" if path else str(key))


def _children(module: Module) -> Iterator[Module]:
    """The modules directly held by module (in attributes, lists, tuples or dicts)."""
    stack = list(reversed(list(vars(module).values())))
    while stack:
        value = stack.pop()
        if isinstance(value, Module):
            yield value
        elif isinstance(value, (list, tuple)):
            stack.extend(reversed(value))
        elif isinstance(value, dict):
            stack.extend(reversed(list(value.values())))
