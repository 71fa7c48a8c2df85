"""An attacker with unlimited access asks 200+ related perturbed tables and solves them together.

The tables (``attack.universe.requests``): one region's municipalities by age group, by sex and by
both, with one sex or one age group as a filter, per year and over both years, the region's
totals with and without each of its municipalities, segments, comparisons, and the whole country
by region. Every published cell is an unknown named by the units it counts, bounded by what the
perturbation table lets it be; totals are related to their parts. The attacker then asks the LP
solver for every small cell's range (``attack.perturbed``).

What must hold: no cell is ever shown with two values; no small true count (1–4) is pinned to one
value; the attacker's best guesses are right about as often as guessing each cell from the table
alone (the baseline); and differencing a region with the region minus one municipality is right
no more often than independent noise on the two totals makes it (P(noise₁ = noise₂)).
Run ``pytest tests/attack -s`` to print the measured figures (docs/attack-suite.md has them).
"""

from __future__ import annotations

import json
import math

import pytest

from attack.perturbed import Attack, collect, difference, solve, summary
from attack.universe import EVENTS, PERSONS, REGION, requests
from koes.privacy.ptable import PTable, shipped_ptable
from koes.services.analysis import AnalysisService

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def table() -> PTable:
    return shipped_ptable()


@pytest.fixture(scope="module")
def attack(analysis: AnalysisService) -> Attack:
    region = frozenset(m.code for m in analysis.municipalities().values() if m.region == REGION)
    return collect(analysis, list(requests(region, tuple(sorted(region)))))


def test_the_attacker_asks_at_least_200_related_tables_and_never_sees_a_cell_twice_differently(attack: Attack) -> None:
    assert attack.tables >= 200
    assert len(attack.shown) > 5000
    assert attack.conflicts == []  # the same units: the same value, whichever table shows them
    assert len(attack.pairs) > 500


@pytest.mark.parametrize("measure", [PERSONS, EVENTS])
def test_combining_the_tables_recovers_no_small_count_and_guesses_no_better_than_the_baseline(
    attack: Attack, table: PTable, measure: str
) -> None:
    score = solve(attack, table, measure)
    differencing = difference(attack, table, measure)
    print(json.dumps(summary({measure: score}, {measure: differencing}), indent=1))
    assert score.small > 500  # the release has plenty of small cells to attack
    assert score.recovered == 0 and score.recovered_wrong == 0
    # The best guesses may gain a little from combining (the noise of related cells is
    # independent), but never much: at most 3 percentage points over the one-cell baseline, with
    # a binomial margin for the sample.
    margin = 3 * math.sqrt(score.baseline_rate * (1 - score.baseline_rate) / score.small)
    assert score.attacker_rate <= score.baseline_rate + 0.03 + margin, score


@pytest.mark.parametrize("measure", [PERSONS, EVENTS])
def test_differencing_is_right_no_more_often_than_independent_noise_allows(
    attack: Attack, table: PTable, measure: str
) -> None:
    expected = variance = 0.0
    small = 0
    for whole, rest, one in attack.pairs:
        if whole.measure != measure or not 1 <= attack.truth[one] <= 4:
            continue
        small += 1
        a, b = table.distribution(attack.truth[whole]), table.distribution(attack.truth[rest])
        shift = attack.truth[one] - (attack.truth[whole] - attack.truth[rest])  # persons: parts may overlap
        p = sum(pa * b.get(v - shift, 0.0) for v, pa in a.items())  # P(shown difference = the truth)
        expected, variance = expected + p, variance + p * (1 - p)
    found = difference(attack, table, measure)
    assert found.small == small > 100
    assert found.hits <= expected + 3 * math.sqrt(variance) + 1, (found, expected)
