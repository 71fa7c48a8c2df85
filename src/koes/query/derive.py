"""Derived measures, computed from the numbers that are published: rates, shares, standardised rates.

Pure: no engine, no user. Disclosure control (``koes.services.disclosure``) hands over the
published value of every base measure per cell (``None`` where it is hidden) and the published
value per stratum of the numerators and citizens behind standardised rates. So a derived figure
never carries more than the figures it is computed from: a rate from a perturbed count is that
perturbed count divided by the public population, not a disguised exact count.

* a **rate** is the numerator per ``per`` citizens of the same cross-section and time unit, a
  **per-citizen** amount the numerator per citizen and time unit: the plan has rewritten each to
  divide events or amounts by citizen-time, and persons (once per time unit) by the persons at
  risk (``koes.query.planner``). A published persons count can exceed its persons at risk only by
  its noise; the rate is then shown as ``per`` (everyone), the most it can truly be;
* a **share** is the numerator as a percentage of the denominator measure;
* a **standardised rate** is directly standardised by sex and 5-year age group to the standard
  population's structure (``weights``), with a 95 % confidence interval from the Poisson variance
  of the stratum counts, re-weighted over the strata that have citizens so a cell without, say,
  children is not diluted. Stratum counts that carry noise add the noise's variance to their own
  (``noise_variance``), so the interval covers the perturbation as well as chance: in a small
  municipality the noise of 36 strata adds up, and the interval says so.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from koes.domain.cells import CellKey
from koes.query.assemble import Number, StandardWeights, Stratum
from koes.semantic.model import AT_RISK, CITIZENS, DerivedKind, Measure

Z95 = 1.959963984540054
Published = Mapping[str, Mapping[CellKey, Number | None]]  # base measure → cell → value (None: hidden)
PublishedStrata = Mapping[str, Mapping[CellKey, Mapping[Stratum, Number]]]  # measure → cell → stratum → value


@dataclass(frozen=True)
class Derived:
    values: dict[CellKey, Number | None]
    intervals: dict[CellKey, tuple[float, float]] = field(default_factory=dict)


def inputs_of(measure: Measure) -> tuple[str, ...]:
    """The base measures a derived measure is computed from (hidden if any of them is)."""
    assert measure.numerator is not None
    return (measure.numerator, measure.denominator or CITIZENS)


def derive(
    measure: Measure,
    cells: Iterable[CellKey],
    published: Published,
    strata: PublishedStrata,
    weights: StandardWeights,
    noise_variance: float = 0.0,
) -> Derived:
    if measure.derived is DerivedKind.STANDARDISED_RATE:
        return _standardised(measure, cells, strata, weights, noise_variance)
    numerator, other = (published.get(m, {}) for m in inputs_of(measure))
    factor = 100 if measure.derived is DerivedKind.SHARE else measure.per
    most = factor if measure.denominator == AT_RISK else math.inf
    values: dict[CellKey, Number | None] = {}
    for cell in cells:
        num, den = numerator.get(cell), other.get(cell)
        values[cell] = None if num is None or not den else min(float(num) / float(den) * factor, most)
    return Derived(values)


def _standardised(
    measure: Measure, cells: Iterable[CellKey], strata: PublishedStrata, weights: StandardWeights, noise: float
) -> Derived:
    assert measure.numerator is not None
    events, people = strata.get(measure.numerator, {}), strata.get(measure.denominator or CITIZENS, {})
    values: dict[CellKey, Number | None] = {}
    intervals: dict[CellKey, tuple[float, float]] = {}
    for cell in cells:
        found = _rate(weights, events.get(cell, {}), people.get(cell, {}), noise)
        if found is None:
            values[cell] = None
            continue
        rate, half = found
        values[cell] = rate * measure.per
        intervals[cell] = (max(0.0, rate - half) * measure.per, (rate + half) * measure.per)
    return Derived(values, intervals)


def _rate(
    weights: StandardWeights, events: Mapping[Stratum, Number], people: Mapping[Stratum, Number], noise: float
) -> tuple[float, float] | None:
    """The standardised rate per person and the half-width of its 95 % interval; None without citizens.

    ``noise`` is the variance of the perturbation of each stratum count (0 for exact figures)."""
    rate, variance, covered = 0.0, 0.0, 0.0
    for stratum, weight in weights.items():
        n = float(people.get(stratum, 0))
        if n <= 0:
            continue
        d = float(events.get(stratum, 0))
        rate += weight * d / n
        variance += weight * weight * (d + noise) / (n * n)
        covered += weight
    if covered <= 0:
        return None
    rate, variance = rate / covered, variance / (covered * covered)
    return rate, Z95 * math.sqrt(variance)
