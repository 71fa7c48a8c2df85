"""Derived measures from published numbers: rates and standardised rates with their intervals."""

from __future__ import annotations

import math

import pytest

from koes.domain.cells import TOTAL
from koes.query.derive import Z95, derive
from koes.semantic.model import CITIZENS, DerivedKind, Label, Measure, Unit

CELL = (TOTAL, TOTAL)
WEIGHTS = {(1, "0-4"): 0.25, (2, "0-4"): 0.25, (1, "85+"): 0.25, (2, "85+"): 0.25}


def _measure(kind: DerivedKind) -> Measure:
    return Measure("m", Label("m", "m"), "", Unit.RATE, ("somatik",), derived=kind, numerator="events")


def test_a_rate_is_the_published_count_over_the_public_population() -> None:
    published = {"events": {CELL: 7}, CITIZENS: {CELL: 350}}
    derived = derive(_measure(DerivedKind.RATE), [CELL], published, {}, {})
    assert derived.values[CELL] == pytest.approx(20.0)
    hidden = derive(_measure(DerivedKind.RATE), [CELL], {"events": {CELL: None}, CITIZENS: {CELL: 350}}, {}, {})
    assert hidden.values[CELL] is None


def test_the_standardised_interval_includes_the_noise_variance() -> None:
    events = {(1, "0-4"): 2, (2, "0-4"): 0, (1, "85+"): 9, (2, "85+"): 12}
    people = {(1, "0-4"): 100, (2, "0-4"): 100, (1, "85+"): 50, (2, "85+"): 60}
    strata = {"events": {CELL: events}, CITIZENS: {CELL: people}}
    measure = _measure(DerivedKind.STANDARDISED_RATE)
    exact = derive(measure, [CELL], {}, strata, WEIGHTS)
    noisy = derive(measure, [CELL], {}, strata, WEIGHTS, noise_variance=1.5)
    assert exact.values[CELL] == noisy.values[CELL]  # the noise widens the interval, not the rate
    rate = sum(w * events[s] / people[s] for s, w in WEIGHTS.items())
    assert exact.values[CELL] == pytest.approx(rate * 1000)

    def half(variance_of: dict[tuple[int, str], float]) -> float:
        return Z95 * math.sqrt(sum(w * w * variance_of[s] / people[s] ** 2 for s, w in WEIGHTS.items())) * 1000

    low, high = exact.intervals[CELL]
    assert low == pytest.approx(max(0.0, 2 * rate * 1000 - high))
    assert high - rate * 1000 == pytest.approx(half({s: events[s] for s in WEIGHTS}))
    _, high = noisy.intervals[CELL]
    assert high - rate * 1000 == pytest.approx(half({s: events[s] + 1.5 for s in WEIGHTS}))
