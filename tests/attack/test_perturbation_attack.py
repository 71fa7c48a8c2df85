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
minus one municipality is right no more often than the noise of the region-minus-one totals allows,
given the region totals as published (``attack.differencing``: pairs that share a region total
share its noise, so the criterion conditions on it). The same differencing on the same data
published exactly (cell suppression, the configured alternative) must fail that criterion: it
can tell a protected release from an unprotected one.
Run ``pytest tests/attack -s`` to print the measured figures (docs/attack-suite.md has them).
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import pytest

from attack.differencing import Allowance, allowance
from attack.perturbed import Attack, Score, collect, difference, solve, summary
from attack.releases import load_with_key
from attack.universe import EVENTS, PERSONS, REGION, differencing_requests, requests
from koes.privacy.count_table import PTable
from koes.privacy.ptable import shipped_ptable
from koes.services.analysis import AnalysisService
from koes.settings import Settings

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("attack")]  # one worker builds each attack once


@pytest.fixture(scope="module")
def table() -> PTable:
    return shipped_ptable()


class Attacks:
    """Each draw's attack, built once (a load and 201 tables asked twice) and solved once per measure;
    and the differencing on the first draw's data published exactly (cell suppression)."""

    def __init__(self, extracts: Path, folders: pytest.TempPathFactory, table: PTable) -> None:
        self.extracts, self.folders, self.table = extracts, folders, table
        self.built: dict[str, Attack] = {}
        self.settings: dict[str, Settings] = {}
        self.scores: dict[tuple[str, str], Score] = {}
        self.exact: Attack | None = None

    def attack(self, draw: str) -> Attack:
        if draw not in self.built:
            service = load_with_key(draw, self.extracts, self.folders)
            self.settings[draw] = service.settings
            try:
                self.built[draw] = collect(service, list(requests(_region(service), tuple(sorted(_region(service))))))
            finally:
                service.close()
        return self.built[draw]

    def unperturbed(self) -> Attack:
        """The differencing tables of the first draw's warehouse, published without noise."""
        if self.exact is None:
            self.attack(DRAWS[0])  # its warehouse stays on disk
            settings = dataclasses.replace(self.settings[DRAWS[0]], disclosure_method="suppression")
            service = AnalysisService(settings)
            try:
                self.exact = collect(service, list(differencing_requests(_region(service))))
            finally:
                service.close()
        return self.exact

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


def _region(service: AnalysisService) -> frozenset[int]:
    return frozenset(m.code for m in service.municipalities().values() if m.region == REGION)


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
def test_differencing_is_right_no_more_often_than_the_noise_allows_given_the_region_totals(
    attacks: Attacks, draw: str, measure: str
) -> None:
    found = allowance(attacks.attack(draw), attacks.table, measure)
    _report(draw, measure, found)
    assert found.pairs > 100 and found.clusters * 3 < found.pairs  # many pairs, sharing few region totals
    assert found.holds, found


@pytest.mark.parametrize("measure", [PERSONS, EVENTS])
def test_the_differencing_criterion_flags_the_same_release_published_without_noise(
    attacks: Attacks, measure: str
) -> None:
    exact = attacks.unperturbed()
    assert exact.tables < 100 and len(exact.pairs) == len(attacks.attack(DRAWS[0]).pairs)  # the same pairs
    found = allowance(exact, attacks.table, measure)
    _report("unperturbed", measure, found)
    assert found.pairs > 100
    assert not found.holds, found


def _report(draw: str, measure: str, found: Allowance) -> None:
    print(json.dumps({"draw": draw, "measure": measure, "differencing": found.__dict__, "bound": found.bound}))
