"""Checks of perturbation tables shared by the unit and property tests (importable as ``ptable_support``).

Every check works from what the table *does* over all cell keys (vectorised lookups over the whole
key space), not from its own bookkeeping, so a bug in the intervals or the lookup shows.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from koes.privacy.count_table import PTable, count_support
from koes.privacy.magnitude import MagnitudeTable
from koes.privacy.ptable_params import PTableParams

FloatArray = npt.NDArray[np.float64]


def outcomes(table: PTable, originals: range) -> npt.NDArray[np.int64]:
    """Noise for every (original, key): shape (len(originals), 2**key_bits), by exhausting the keys."""
    keys = np.arange(2**table.key_bits, dtype=np.int64)
    grid_originals = np.repeat(np.array(originals, dtype=np.int64), len(keys))
    grid_keys = np.tile(keys, len(originals))
    noise = table.noise_array(grid_originals, grid_keys, table.key_bits)
    return noise.reshape(len(originals), len(keys))


def feasible_variance(support: list[int], variance: float) -> float:
    """The variance a mean-zero row on ``support`` should have: V, clipped to what is feasible."""
    v = np.array(support, dtype=np.float64)
    negatives, positives = v[v < 0], v[v > 0]
    if len(negatives) == 0 or len(positives) == 0:
        return 0.0
    highest = float(-v.min() * v.max())
    lowest = 0.0 if 0 in support else float(-negatives.max() * positives.min())
    return min(max(variance, lowest), highest)


def tiny_values(probabilities: list[float], key_bits: int) -> int:
    """How many probabilities are below one key value (those are given a whole key value)."""
    return sum(1 for p in probabilities if p * 2**key_bits < 1)


def check_count_table(table: PTable, params: PTableParams) -> None:
    """Every documented property of a generated count table, over all keys of rows 0 .. cap + 2."""
    d, js, bits = params.max_noise, params.blocked, params.key_bits
    cap = params.cap
    assert table.max_original == cap
    originals = range(cap + 3)
    noise = outcomes(table, originals)
    published = noise + np.array(originals)[:, None]
    # zero stays zero
    assert (noise[0] == 0).all()
    # no negative results, |v| <= D
    assert (published >= 0).all()
    assert (np.abs(noise) <= d).all()
    # 1 .. js never published for originals >= 1
    assert not ((published[1:] >= 1) & (published[1:] <= js)).any()
    # rows above the cap behave as the cap row
    assert (noise[cap + 1] == noise[cap]).all()
    assert (noise[cap + 2] == noise[cap]).all()
    quantum = 2.0**-bits
    for original in originals[1:]:
        row = noise[original].astype(np.float64)
        exact = [r.probability for r in table.rows if r.original == min(original, cap)]
        loose = 1 + 2 * tiny_values(exact, bits)
        mean = float(row.mean())
        # unbiased up to the key quantisation: each bound is off by at most half a key value
        assert abs(mean) <= loose * d * quantum + 1e-12, (original, mean)
        target = feasible_variance(count_support(min(original, cap), params), params.variance)
        variance = float(row.var())
        assert abs(variance - target) <= loose * d * d * quantum + 1e-9, (original, variance, target)
        if original >= cap:
            assert abs(variance - params.variance) <= loose * d * d * quantum + 1e-9
        # every noise of positive probability is reachable
        assert set(np.unique(noise[original]).tolist()) == {
            r.noise for r in table.rows if r.original == min(original, cap)
        }


def entropy_change(p: FloatArray, direction: FloatArray, step: float) -> float:
    """H(p + step·direction) - H(p), computed term by term (log1p) so small changes are exact enough."""
    moved = p + step * direction
    terms = step * direction * np.log(p) + moved * np.log1p(step * direction / p)
    return -float(terms.sum())


def check_max_entropy(support: list[int] | list[float], probabilities: list[float], variance: float) -> int:
    """Moving p along any direction that keeps sum, mean and variance lowers the entropy.

    Checks the constraints hold, then every basis direction of the constraints' null space and
    some random mixtures, both ways. Returns the number of directions checked (0 when the
    constraints fix p).
    """
    v = np.array(support, dtype=np.float64)
    p = np.array(probabilities, dtype=np.float64)
    assert (p > 0).all()
    assert math.isclose(float(p.sum()), 1.0, abs_tol=1e-9)
    assert abs(float(p @ v)) <= 1e-9
    assert math.isclose(float(p @ v**2), variance, abs_tol=1e-9)
    constraints = np.stack([np.ones_like(v), v, v**2])
    _, singular, vt = np.linalg.svd(constraints)
    rank = int((singular > 1e-10).sum())
    null = vt[rank:]
    rng = np.random.default_rng(0)
    directions = [*null, *(rng.normal(size=len(null)) @ null for _ in range(5 if len(null) else 0))]
    for direction in directions:
        assert np.abs(constraints @ direction).max() < 1e-9
        step = 1e-3 * float(p.min()) / float(np.abs(direction).max())
        assert entropy_change(p, direction, step) < 0
        assert entropy_change(p, direction, -step) < 0
    return len(directions)


def check_magnitude_table(table: MagnitudeTable) -> None:
    """E[m] = 0 and Var[m] = variance over all keys (up to quantisation), m on the grid, |m| <= 1."""
    params = table.params
    keys = np.arange(2**params.key_bits, dtype=np.int64)
    m = table.noise_array(keys, params.key_bits)
    assert (np.abs(m) <= 1).all()
    grid = m * params.grid
    assert np.allclose(grid, np.round(grid))
    quantum = 2.0**-params.key_bits
    loose = 1 + 2 * tiny_values([r.probability for r in table.rows], params.key_bits)
    assert abs(float(m.mean())) <= loose * quantum + 1e-12
    assert abs(float(m.var()) - params.variance) <= loose * quantum + 1e-9
    assert len(np.unique(m)) == len(table.rows)
