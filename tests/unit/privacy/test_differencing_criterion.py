"""The differencing criterion of the attack suite (``attack.differencing``) is sound.

Its chance of a hit is what the shipped perturbation table does over every cell key; its bound
keeps false alarms near the one-sided 3σ level though the hits are a skewed count; and
conditioning on the shared region totals is what keeps them there: counting the pairs of a
cluster as independent raises false alarms several-fold on releases that are perturbed as they
should be.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import binom, norm, poisson

from attack.differencing import CONTINUITY, Allowance, chance
from attack.tables import THRESHOLD
from koes.privacy.count_table import PTable, below_threshold
from koes.privacy.ptable import shipped_ptable

NORMAL = float(norm.sf(3))  # 0.135 %: the one-sided 3σ level


@pytest.fixture(scope="module")
def table() -> PTable:
    return shipped_ptable()


@pytest.mark.parametrize("rest", [3, 5, 9, 40])
@pytest.mark.parametrize("gap", [-6, -1, 0, 2])
def test_the_chance_of_a_hit_is_the_share_of_cell_keys_that_give_it(table: PTable, rest: int, gap: int) -> None:
    assert table.params is not None
    bits = table.params.key_bits
    published = table.perturb_array(np.full(2**bits, rest), np.arange(2**bits), bits)
    shown = published[[not below_threshold(int(p), THRESHOLD) for p in published]]
    one = 2
    whole = rest + one + gap  # the rest must be published as rest + gap for a hit
    assert chance(table, whole, rest, one) == pytest.approx(np.mean(shown == rest + gap), abs=2 / 2**bits)


def _bound(expected: float, variance: float) -> int:
    return math.floor(Allowance(0, 0, 0, 0, expected, variance).bound)


def test_one_count_for_skew_keeps_false_alarms_near_the_3_sigma_level() -> None:
    """Poisson (rare hits: the most skewed) and binomial counts with the chances seen in the attack."""
    lambdas = range(8, 501)
    over = [poisson.sf(_bound(lam, lam), lam) for lam in lambdas]
    without = [poisson.sf(math.floor(lam + 3 * math.sqrt(lam)), lam) for lam in lambdas]
    for p in (0.1, 0.2, 0.33):
        ns = range(30, 1501)
        over += [binom.sf(_bound(n * p, n * p * (1 - p)), n, p) for n in ns]
        without += [binom.sf(math.floor(n * p + 3 * math.sqrt(n * p * (1 - p))), n, p) for n in ns]
    assert CONTINUITY == 1
    print(f"tails: with the allowance {max(over):.4%}, without {max(without):.4%}")
    assert max(over) < 2 * NORMAL
    assert max(without) > 4 * NORMAL  # the allowance is needed


def test_conditioning_on_the_shared_totals_keeps_false_alarms_rare(table: PTable) -> None:
    """Simulated releases perturbed as they should be: 30 region totals of 11 pairs each, events
    (whole = rest + one), large rests. A pair hits when the rest drew the whole's noise."""
    assert table.params is not None
    bits, rest = table.params.key_bits, 1000
    rng = np.random.default_rng(14)
    releases, clusters, size = 20_000, 30, 11
    whole_noise = table.noise_array(
        np.full((releases, clusters), rest), rng.integers(0, 2**bits, (releases, clusters)), bits
    )
    rest_noise = table.noise_array(
        np.full((releases, clusters, size), rest), rng.integers(0, 2**bits, (releases, clusters, size)), bits
    )
    hits = (rest_noise == whole_noise[:, :, None]).sum(axis=(1, 2))
    # Conditioned: each pair's chance given its whole's published value (one = 1: whole = rest + 1 + noise).
    given = {v: chance(table, rest + 1 + v, rest, 1) for v in table.distribution(rest)}
    p = np.vectorize(given.__getitem__)(whole_noise)
    conditioned = hits > (size * p).sum(axis=1) + 3 * np.sqrt((size * p * (1 - p)).sum(axis=1)) + CONTINUITY
    # As if independent: every pair has the unconditional chance P(noise₁ = noise₂).
    q = sum(v**2 for v in table.distribution(rest).values())
    n = clusters * size
    independent = hits > n * q + 3 * math.sqrt(n * q * (1 - q)) + CONTINUITY
    print(f"false alarms: conditioned {conditioned.mean():.4%}, as if independent {independent.mean():.4%}")
    assert conditioned.mean() < 2 * NORMAL
    assert independent.mean() > 3 * conditioned.mean()
