"""How often differencing may be right while the noise does its work: the differencing criterion.

The attacker subtracts the published region minus one municipality (the *rest*) from the published
region (the *whole*) and reads the difference as the municipality's count (the *one*). A hit is a
difference equal to the one's true count.

The pairs come in clusters: a region's municipalities give up to 11 pairs with the same whole,
and the whole has one noise draw. A whole that drew +2 needs +2 from every rest of its cluster, and
they miss together; a whole that drew 0 lets them hit together. Counted as independent pairs, the
hits would spread more than their variance says, and a bound built on it would fail at random.

So the criterion conditions on the wholes. Their published values are known to the attacker and
fixed; given them, a pair hits when its rest was published as exactly whole − one, and only the
rest's noise decides that (``chance``). Why that makes the sum of the pairs' p·(1 − p) the variance
of the hits: a cell key is the sum of its units' record keys modulo 2**bits, and record keys behave
as independent uniform draws (a keyed hash). Two different sets of units then have independent
uniform keys (one holds a unit the other lacks, whose key is in one sum only), also given the
wholes' keys; every rest is in one pair only (a rest is its whole minus one municipality:
``allowance`` checks it), so the hits are pairwise independent and their covariances vanish. They
are not independent beyond pairs (a two-year rest's key is the sum of its years'), so the normal
tail behind "three standard deviations" is the one remaining approximation.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

from attack.perturbed import Attack
from attack.tables import THRESHOLD
from koes.privacy.ptable import PTable, below_threshold

# The hits are a count with an expectation of tens and chances of 0.1–0.3 a pair: skewed to the
# right. Beyond the normal 3σ bound such a count (or a Poisson one, the most skewed) lies up to
# 0.78 % of the time instead of the normal 0.135 %; one more count keeps it under 0.23 % for
# expectations from 8 to 500 (tests/unit/privacy/test_differencing_criterion.py checks it).
CONTINUITY = 1.0


def chance(table: PTable, whole: int, rest: int, one: int) -> float:
    """P(the rest is published as ``whole − one`` | it is published as a number), over its noise.

    ``whole`` is the whole's published value, ``rest`` and ``one`` are true counts. A rest shown
    as ``<5`` gives no difference to take, so the noises that would show it so are left out."""
    shown = {v: p for v, p in table.distribution(rest).items() if not below_threshold(rest + v, THRESHOLD)}
    return shown.get(whole - one - rest, 0.0) / sum(shown.values())


@dataclass(frozen=True)
class Allowance:
    """The differencing hits of one measure, and how many the noise allows given the wholes."""

    pairs: int  # pairs whose one has a true count 1 .. 4 and whose whole and rest are numbers
    clusters: int  # distinct wholes among them
    hits: int
    expected: float  # the sum of the pairs' chances, given their wholes
    variance: float  # the sum of p·(1 − p)

    @property
    def bound(self) -> float:
        """The most hits the noise allows: one-sided, three standard deviations, one count for skew."""
        return self.expected + 3 * math.sqrt(self.variance) + CONTINUITY

    @property
    def holds(self) -> bool:
        return self.hits <= self.bound


def allowance(attack: Attack, table: PTable, measure: str) -> Allowance:
    """Count the hits of the differencing pairs of ``measure`` and what the noise allows of them."""
    pairs = [
        (whole, rest, one)
        for whole, rest, one in attack.pairs
        if whole.measure == measure
        and 1 <= attack.truth[one] <= 4
        and isinstance(attack.shown[whole], int)
        and isinstance(attack.shown[rest], int)
    ]
    shared = [rest for rest, n in Counter(rest for _, rest, _ in pairs).items() if n > 1]
    if shared:  # the variance below would miss their covariance: cluster on the rests as well
        raise ValueError(f"{len(shared)} rests are in more than one pair, e.g. {shared[0]}")
    hits, expected, variance = 0, 0.0, 0.0
    for whole, rest, one in pairs:
        shown_whole, shown_rest = attack.shown[whole], attack.shown[rest]
        assert isinstance(shown_whole, int) and isinstance(shown_rest, int)
        hits += shown_whole - shown_rest == attack.truth[one]
        # A whole no larger than its rest holds the same persons (they were counted in the rest
        # too): one cell key, one noise, a difference of 0, never the one's count.
        same = attack.truth[whole] == attack.truth[rest]
        p = 0.0 if same else chance(table, shown_whole, attack.truth[rest], attack.truth[one])
        expected, variance = expected + p, variance + p * (1 - p)
    return Allowance(len(pairs), len({whole for whole, _, _ in pairs}), hits, expected, variance)
