"""An attacker with unlimited access asks 200+ related perturbed tables and solves them together.

The tables (``attack.universe.requests``): one region's municipalities by age group, by sex and by
both, with one sex or one age group as a filter, per year and over both years, the region's
totals with and without each of its municipalities, segments, comparisons, and the whole country
by region. Every published cell is an unknown named by the units it counts, bounded by what the
perturbation table lets it be; totals are related to their parts. The attacker then asks the LP
solver for every small cell's range (``attack.perturbed``).

Two draws of the noise (two pseudonymisation keys, ``attack.releases``) over the same extracts.
What must hold: no cell is ever shown with two values; no small true count (1–4) is pinned to one
value (with the largest noise D = 3 one draw in about three pinned a few admissions counts: a `<5`
cell is at least 1, and two totals that both drew the extreme noise closed the range; D = 5 makes
that noise about 200 times rarer); the attacker's best guesses are right about as often as
guessing each cell from the table alone (the baseline); and differencing a region with the region
minus one municipality is right no more often than independent noise on the two totals makes it
(P(noise₁ = noise₂)).
Run ``pytest tests/attack -s`` to print the measured figures (docs/attack-suite.md has them).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from attack.perturbed import Attack, Score, collect, difference, solve, summary
from attack.releases import load_with_key
from attack.tables import THRESHOLD
from attack.universe import EVENTS, PERSONS, REGION, requests
from koes.privacy.count_table import PTable, below_threshold
from koes.privacy.ptable import shipped_ptable

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("attack")]  # one worker builds each attack once


@pytest.fixture(scope="module")
def table() -> PTable:
    return shipped_ptable()


class Attacks:
    """Each draw's attack, built once (a load and 201 tables asked twice) and solved once per measure."""

    def __init__(self, extracts: Path, folders: pytest.TempPathFactory, table: PTable) -> None:
        self.extracts, self.folders, self.table = extracts, folders, table
        self.built: dict[str, Attack] = {}
        self.scores: dict[tuple[str, str], Score] = {}

    def attack(self, draw: str) -> Attack:
        if draw not in self.built:
            service = load_with_key(draw, self.extracts, self.folders)
            try:
                region = frozenset(m.code for m in service.municipalities().values() if m.region == REGION)
                self.built[draw] = collect(service, list(requests(region, tuple(sorted(region)))))
            finally:
                service.close()
        return self.built[draw]

    def score(self, draw: str, measure: str) -> Score:
        if (draw, measure) not in self.scores:
            attack = self.attack(draw)
            score = solve(attack, self.table, measure)
            print(
                json.dumps(
                    {"draw": draw} | summary({measure: score}, {measure: difference(attack, self.table, measure)})
                )
            )
            self.scores[(draw, measure)] = score
        return self.scores[(draw, measure)]


@pytest.fixture(scope="module")
def attacks(small_extracts: Path, tmp_path_factory: pytest.TempPathFactory, table: PTable) -> Attacks:
    return Attacks(small_extracts, tmp_path_factory, table)


DRAWS = ["draw-1", "draw-2"]
BOTH = [(d, m) for d in DRAWS for m in (PERSONS, EVENTS)]


@pytest.mark.parametrize("draw", DRAWS)
def test_the_attacker_asks_at_least_200_related_tables_and_never_sees_a_cell_twice_differently(
    attacks: Attacks, draw: str
) -> None:
    attack = attacks.attack(draw)
    assert attack.tables >= 200
    assert len(attack.shown) > 5000
    assert attack.conflicts == []  # the same units: the same value, whichever table shows them
    assert len(attack.pairs) > 500


@pytest.mark.parametrize(("draw", "measure"), BOTH)
def test_combining_the_tables_guesses_small_counts_about_as_well_as_the_baseline(
    attacks: Attacks, draw: str, measure: str
) -> None:
    score = attacks.score(draw, measure)
    assert score.small > 500  # the release has plenty of small cells to attack
    assert score.recovered_wrong == 0  # the attacker's model is sound: what it pins is the truth
    # The best guesses may gain a little from combining (the noise of related cells is
    # independent), but never much: at most 3 percentage points over the one-cell baseline, with
    # a binomial margin for the sample.
    margin = 3 * math.sqrt(score.baseline_rate * (1 - score.baseline_rate) / score.small)
    assert score.attacker_rate <= score.baseline_rate + 0.03 + margin, score


@pytest.mark.parametrize(("draw", "measure"), BOTH)
def test_combining_the_tables_recovers_no_small_count_exactly(attacks: Attacks, draw: str, measure: str) -> None:
    assert attacks.score(draw, measure).recovered == 0


@pytest.mark.parametrize(("draw", "measure"), BOTH)
def test_differencing_is_right_no_more_often_than_independent_noise_allows(
    attacks: Attacks, draw: str, measure: str
) -> None:
    attack, table = attacks.attack(draw), attacks.table
    expected = variance = 0.0
    small = 0
    for whole, rest, one in attack.pairs:
        if whole.measure != measure or not 1 <= attack.truth[one] <= 4:
            continue
        if not isinstance(attack.shown[whole], int) or not isinstance(attack.shown[rest], int):
            continue  # no difference to take
        small += 1
        p = _chance_of_the_truth(table, attack.truth[whole], attack.truth[rest], attack.truth[one])
        expected, variance = expected + p, variance + p * (1 - p)
    found = difference(attack, table, measure)
    print(json.dumps({"draw": draw, "measure": measure, "differencing": found.__dict__, "expected_hits": expected}))
    assert small > 100
    assert found.hits <= expected + 3 * math.sqrt(variance) + 1, (found, expected)


def _chance_of_the_truth(table: PTable, whole: int, rest: int, one: int) -> float:
    """P(shown whole − shown rest = one | both totals are shown as numbers), with independent noise.

    Conditioning matters for small totals: a total shown as `<5` gives no difference to take, and
    the pairs that remain have had the low noises of both totals cut away, so their noises agree
    more often than over the whole distribution."""
    a, b = table.distribution(whole), table.distribution(rest)
    shown_a = {v: p for v, p in a.items() if not below_threshold(whole + v, THRESHOLD)}
    shown_b = {v: p for v, p in b.items() if not below_threshold(rest + v, THRESHOLD)}
    shift = one - (whole - rest)  # persons: the parts may overlap
    both = sum(pa * shown_b.get(v - shift, 0.0) for v, pa in shown_a.items())
    return both / (sum(shown_a.values()) * sum(shown_b.values()))
