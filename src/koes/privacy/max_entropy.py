"""The maximum-entropy distribution on a support with mean zero and a given variance.

The rows of both perturbation tables are such distributions (see :mod:`koes.privacy.ptable` for the
method and its edge cases); their probabilities become half-open intervals of the cell key.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from koes.privacy.ptable_params import PROBABILITY_DIGITS, FloatArray


class InfeasibleError(ValueError):
    """No distribution on the support has mean zero."""


def _point_mass(support: FloatArray) -> FloatArray:
    p: FloatArray = (support == 0).astype(np.float64)
    return p


def _two_point(support: FloatArray, low: float, high: float) -> FloatArray:
    """Mean-zero mass on low < 0 < high."""
    p = np.zeros(len(support))
    p[support == low] = high / (high - low)
    p[support == high] = -low / (high - low)
    return p


def max_entropy(support: Sequence[float], variance: float, *, tolerance: float = 1e-13) -> FloatArray:
    """The maximum-entropy distribution on ``support`` with mean 0 and the variance closest to ``variance``.

    In the interior of the feasible variances the solution is ``p(v) ∝ exp(a·v + b·v²)``; (a, b)
    minimise the convex dual ``log Σ exp(a·v + b·v²) - b·variance``, found by Newton steps
    halved until the dual decreases (Armijo), on v scaled to [-1, 1] for conditioning. Outside,
    the two-point distribution of the nearest feasible variance (see the module docstring).
    Raises :class:`InfeasibleError` when no mean-zero distribution exists (all of the support on one
    side of 0) and ``RuntimeError`` if Newton does not converge.
    """
    v = np.asarray(sorted(support), dtype=np.float64)
    if len(v) == 0 or len(np.unique(v)) != len(v):
        raise ValueError("support must be non-empty and without repeats")
    negatives, positives = v[v < 0], v[v > 0]
    if len(negatives) == 0 or len(positives) == 0:
        if 0.0 in v:
            return _point_mass(v)  # the only mean-zero choice
        raise InfeasibleError(f"no mean-zero distribution on {v.tolist()}")
    highest = float(-v[0] * v[-1])
    lowest = 0.0 if 0.0 in v else float(-negatives[-1] * positives[0])
    if variance >= highest:
        return _two_point(v, float(v[0]), float(v[-1]))
    if variance <= lowest:
        if lowest == 0.0:
            return _point_mass(v)
        return _two_point(v, float(negatives[-1]), float(positives[0]))
    return _newton(v, variance, tolerance)


def _newton(v: FloatArray, variance: float, tolerance: float) -> FloatArray:
    scale = float(np.abs(v).max())
    s = v / scale
    features = np.stack([s, s * s], axis=1)
    target = np.array([0.0, variance / scale**2])

    def dual(theta: FloatArray) -> float:
        z = features @ theta
        top = float(z.max())
        return top + math.log(float(np.exp(z - top).sum())) - float(theta @ target)

    theta = np.zeros(2)
    for _ in range(200):
        z = features @ theta
        weights = np.exp(z - z.max())
        p = weights / weights.sum()
        moments = p @ features
        gradient = moments - target
        if float(np.abs(gradient).max()) < tolerance:
            solution: FloatArray = p
            return solution
        centred = features - moments
        hessian = (centred * p[:, None]).T @ centred
        step = -np.linalg.solve(hessian + 1e-15 * np.eye(2), gradient)
        t, start, slope = 1.0, dual(theta), float(gradient @ step)
        # Damping only far from the solution: once the Newton decrement (-slope) is tiny the dual's
        # changes are below float resolution, a line search would stall, and full steps converge.
        while -slope > 1e-10 and dual(theta + t * step) > start + 1e-4 * t * slope and t > 1e-12:
            t /= 2
        theta = theta + t * step
    raise RuntimeError(f"maximum entropy did not converge on {v.tolist()} with variance {variance}")


def round_probability(p: float) -> float:
    return float(f"{p:.{PROBABILITY_DIGITS}g}")


def key_bounds(probabilities: Sequence[float], key_bits: int) -> list[int]:
    """Upper bounds of the half-open key intervals: rounded cumulative sums, each interval ≥ 1 key."""
    total = 2**key_bits
    p = np.asarray(probabilities, dtype=np.float64)
    cumulative = np.cumsum(p) / p.sum()
    bounds = [math.floor(float(c) * total + 0.5) for c in cumulative[:-1]] + [total]
    for k in range(len(bounds) - 1):  # every value owns a key: push bounds up …
        bounds[k] = max(bounds[k], (bounds[k - 1] if k else 0) + 1)
    for k in range(len(bounds) - 2, -1, -1):  # … and back down from the top
        bounds[k] = min(bounds[k], bounds[k + 1] - 1)
    return bounds
