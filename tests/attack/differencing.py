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
rest's noise decides that (``chance``). The hits' expectation is the sum of those chances. Their
variance: a cell key is the sum of its units' record keys modulo 2**bits, and record keys behave
as independent uniform draws (a keyed hash), so two different sets of units have independent
uniform keys (one holds a unit the other lacks, whose key is in one sum only). Given its whole, a
rest's key is the whole's less the key of the units only the one holds. Two pairs whose ones hold
different units are therefore independent given the wholes, and add p·(1 − p) each. Two pairs
whose ones hold the *same* units (men aged 85+ in a municipality, and both sexes aged 85+ there,
when all of them are men: nested cells with equal counts) share that key and may hit together;
such a group adds (Σ √(p·(1 − p)))², the variance if they always hit together (the most it can
be). Every rest must be in one pair only (a rest is its whole minus one municipality:
``allowance`` checks it). Beyond pairs the hits are not independent (a two-year rest's key is the
sum of its years'), so the normal tail behind "three standard deviations" is the one remaining
approximation.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from attack.perturbed import Attack
from attack.tables import THRESHOLD
from attack.universe import Cell
from koes.privacy.count_table import PTable, below_threshold

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
    linked: int  # pairs whose one holds the same units as another pair's one
    hits: int
    expected: float  # the sum of the pairs' chances, given their wholes
    variance: float  # the sum of p·(1 − p), pairs whose ones hold the same units taken together

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
    hits, chances = 0, []
    for whole, rest, one in pairs:
        shown_whole, shown_rest = attack.shown[whole], attack.shown[rest]
        assert isinstance(shown_whole, int) and isinstance(shown_rest, int)
        hits += shown_whole - shown_rest == attack.truth[one]
        # A whole no larger than its rest holds the same persons (they were counted in the rest
        # too): one cell key, one noise, a difference of 0, never the one's count.
        same = attack.truth[whole] == attack.truth[rest]
        chances.append(0.0 if same else chance(table, shown_whole, attack.truth[rest], attack.truth[one]))
    groups = _same_units([one for _, _, one in pairs], attack.truth)
    variance = sum(sum(math.sqrt(chances[i] * (1 - chances[i])) for i in g) ** 2 for g in groups)
    linked = sum(len(g) for g in groups if len(g) > 1)
    return Allowance(len(pairs), len({whole for whole, _, _ in pairs}), linked, hits, sum(chances), variance)


def _same_units(ones: list[Cell], truth: Mapping[Cell, int]) -> list[list[int]]:
    """Group the ones (by index) that hold the same units: a cell within another, of the same count."""
    parent = list(range(len(ones)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, a in enumerate(ones):
        for j in range(i):
            b = ones[j]
            if truth[a] == truth[b] and (_within(a, b) or _within(b, a)):
                parent[root(i)] = root(j)
    groups: dict[int, list[int]] = {}
    for i in range(len(ones)):
        groups.setdefault(root(i), []).append(i)
    return list(groups.values())


def _within(a: Cell, b: Cell) -> bool:
    """Whether every unit ``a`` counts is counted by ``b``."""
    same = (a.measure, a.segment) == (b.measure, b.segment)
    return (
        same and a.kommuner <= b.kommuner and a.ages <= b.ages and a.sexes <= b.sexes and set(a.years) <= set(b.years)
    )
