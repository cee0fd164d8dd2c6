"""The playground's data sets and input features, in TensorFlow Playground's square.

Points live in the square [-6, 6]²; a classification label is +1 (blue) or -1 (orange),
a regression target lies in [-1, 1]. ``noise`` (0 to 0.5) is the share of the square's
half-width by which the points are shaken. Every function takes a ``seed`` so that a
set-up, and the script that "Show code" writes for it, give the same points.
"""

from __future__ import annotations

import numpy as np

RADIUS = 6.0  # the square the surface is drawn on is [-RADIUS, RADIUS]²

CLASSIFICATION = ("circle", "xor", "gauss", "spiral", "moons")
REGRESSION = ("plane", "gaussians")

# name -> function of (x1, x2) arrays; the order is the order of the page's checkboxes
FEATURES = {
    "x1": lambda x1, x2: x1,
    "x2": lambda x1, x2: x2,
    "x1²": lambda x1, x2: x1 * x1,
    "x2²": lambda x1, x2: x2 * x2,
    "x1·x2": lambda x1, x2: x1 * x2,
    "sin x1": lambda x1, x2: np.sin(x1),
    "sin x2": lambda x1, x2: np.sin(x2),
}


def features(points: np.ndarray, names: list[str] | tuple[str, ...]) -> np.ndarray:
    """The chosen feature columns of (n, 2) points: an (n, len(names)) array."""
    x1, x2 = points[:, 0], points[:, 1]
    return np.column_stack([FEATURES[name](x1, x2) for name in names])


def circle(n: int, noise: float, rng: np.random.Generator):
    """Blue inside a disc of radius 2.5, orange on a ring from 3.5 to 5."""
    half = n // 2
    radius = np.concatenate([rng.uniform(0, 2.5, half), rng.uniform(3.5, 5.0, n - half)])
    angle = rng.uniform(0, 2 * np.pi, n)
    points = np.column_stack([radius * np.cos(angle), radius * np.sin(angle)])
    points += rng.uniform(-5, 5, points.shape) * noise
    labels = np.where(np.hypot(points[:, 0], points[:, 1]) < 3.0, 1.0, -1.0)
    return points, labels


def xor(n: int, noise: float, rng: np.random.Generator):
    """Four quadrants: blue where x1 and x2 have the same sign, orange elsewhere."""
    points = rng.uniform(-5, 5, (n, 2))
    points += np.where(points > 0, 0.3, -0.3)  # keep a small gap along the axes
    labels = np.where(points[:, 0] * points[:, 1] >= 0, 1.0, -1.0)
    points += rng.uniform(-5, 5, points.shape) * noise
    return points, labels


def gauss(n: int, noise: float, rng: np.random.Generator):
    """Two round clouds: blue around (2, 2), orange around (-2, -2); noise widens them."""
    spread = 0.5 + 3.5 * noise  # from tight clouds to overlapping ones
    half = n // 2
    centres = np.concatenate([np.tile([2.0, 2.0], (half, 1)), np.tile([-2.0, -2.0], (n - half, 1))])
    points = centres + rng.normal(0, spread, (n, 2))
    labels = np.concatenate([np.ones(half), -np.ones(n - half)])
    return points, labels


def spiral(n: int, noise: float, rng: np.random.Generator):
    """Two interleaved spiral arms, each turning almost twice around the origin."""
    half = n // 2
    arm = np.concatenate([np.zeros(half), np.ones(n - half)])
    t = np.concatenate([np.linspace(0, 1, half), np.linspace(0, 1, n - half)])
    radius = 5 * t
    angle = 1.75 * t * 2 * np.pi + np.pi * arm
    points = np.column_stack([radius * np.sin(angle), radius * np.cos(angle)])
    points += rng.uniform(-1, 1, points.shape) * noise  # TF: at most ±0.5 at noise 0.5
    labels = np.where(arm == 0, 1.0, -1.0)
    return points, labels


def moons(n: int, noise: float, rng: np.random.Generator):
    """Two interleaving half circles: blue the upper arc, orange the lower one."""
    half = n // 2
    angle = rng.uniform(0, np.pi, n)
    upper = np.column_stack([np.cos(angle), np.sin(angle)])
    lower = np.column_stack([1 - np.cos(angle), 0.5 - np.sin(angle)])
    is_upper = np.arange(n) < half
    points = np.where(is_upper[:, None], upper, lower)
    points = (points - [0.5, 0.25]) * 3.4  # centre the pair in the square
    points += rng.normal(0, 1, points.shape) * noise * 2
    labels = np.where(is_upper, 1.0, -1.0)
    return points, labels


def plane(n: int, noise: float, rng: np.random.Generator):
    """Regression: the target rises evenly along x1 + x2, from -1 to 1."""
    points = rng.uniform(-5, 5, (n, 2))
    target = (points[:, 0] + points[:, 1]) / 10
    target += rng.uniform(-1, 1, n) * noise
    return points, np.clip(target, -1, 1)


def gaussians(n: int, noise: float, rng: np.random.Generator):
    """Regression: six bumps, some up and some down; the target is the nearest bump's."""
    centres = np.array([[-4, 2.5], [0, 2.5], [4, 2.5], [-4, -2.5], [0, -2.5], [4, -2.5]])
    heights = np.array([-1.0, -0.4, 1.0, 0.6, 1.0, -0.8])
    points = rng.uniform(-5, 5, (n, 2))
    distance = np.linalg.norm(points[:, None, :] - centres[None], axis=2)
    nearest = distance.argmin(axis=1)
    target = heights[nearest] * np.exp(-distance.min(axis=1) ** 2 / 4)
    target += rng.uniform(-1, 1, n) * noise
    return points, np.clip(target, -1, 1)


GENERATORS = {"circle": circle, "xor": xor, "gauss": gauss, "spiral": spiral, "moons": moons,
              "plane": plane, "gaussians": gaussians}


def dataset(name: str, n: int = 500, noise: float = 0.0, train_share: float = 0.5,
            seed: int = 0):
    """(train points, train labels, test points, test labels) of the data set ``name``."""
    if name not in GENERATORS:
        raise ValueError(f"dataset: unknown data set {name!r}; choose one of "
                         f"{', '.join(GENERATORS)}")
    rng = np.random.default_rng(seed)
    points, labels = GENERATORS[name](n, noise, rng)
    order = rng.permutation(n)
    points, labels = points[order], labels[order]
    cut = int(round(n * train_share))
    return points[:cut], labels[:cut], points[cut:], labels[cut:]
