"""The random generator every model, dropout mask and shuffle draws from by default."""

from __future__ import annotations

import numpy as np

_generator = np.random.default_rng()


def manual_seed(seed: int) -> None:
    """Seed the generator that every model, dropout mask and shuffle uses by default."""
    global _generator
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise TypeError(f"manual_seed: seed must be a whole number >= 0, got {seed!r:.40}")
    _generator = np.random.default_rng(seed)


def rng(seed: int | np.random.Generator | None = None) -> np.random.Generator:
    """A generator: a fresh one for an integer seed, the shared one (see manual_seed) for None."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        return _generator
    return np.random.default_rng(seed)
