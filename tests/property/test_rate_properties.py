"""Coherent rates, for requests Hypothesis makes up over every perspective's persons and rates.

* A persons-per-1,000 figure never exceeds 1,000: in every cell the persons counted (once per time
  unit) are among the persons at risk, so the exact count never exceeds its denominator, and the
  published rate, exact or perturbed, never exceeds 1,000. Every persons measure of every
  perspective is a case, through its catalog rate or, where the catalog has none, a rate made
  here; Hypothesis draws its dimensions from the catalog's dimensions of the measure's sources,
  the period and any of the catalog's segments.
* A rate over time is per time unit: the total over several years (months) is events or persons
  over citizen-years (-months), so it lies between the rates of its years (months), and the
  result says which unit it is per; every rate over time of every perspective is a case. (A
  standardised rate is re-weighted over the strata that have citizens, which may differ from year
  to year; it is held to its unit only.)
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from koes.domain.cells import TOTAL
from koes.privacy.access import Organisation, Principal
from koes.query.request import RequestError
from koes.semantic.loader import default_catalog
from koes.semantic.model import AT_RISK, Catalog, DerivedKind, Label, Measure, TimeUnit, Unit
from koes.services.analysis import AnalysisService
from koes.settings import Settings
from support import assembled

AGGREGATE = Principal("analytiker", Organisation("kommune", 101), frozenset({"aggregeret"}))
EXACT = Principal("oracle", Organisation("national"), frozenset({"individ"}))
TIME = ["aar", "kvartal", "maaned"]
WHOLE_YEARS = [{"from": "2022", "to": "2023"}, {"from": "2023"}]
CUT = {"from": "2022-11", "to": "2023-04"}  # cuts through years and quarters: rates per month
PERIODS = [*WHOLE_YEARS, CUT]


def _with_persons_rates(catalog: Catalog) -> Catalog:
    """The catalog, plus a rate per 1,000 over each persons measure that has none of its own."""
    rated = {m.numerator for m in catalog.measures.values() if m.derived is DerivedKind.RATE}
    extra = {}
    for m in catalog.measures.values():
        if m.counts_persons and m.perspectives and m.id not in rated:
            label = Label(f"{m.label.da} pr. 1.000 borgere {{per}}", f"{m.label.en} per 1,000 citizens {{per}}")
            extra[f"{m.id}_pr_1000"] = Measure(
                f"{m.id}_pr_1000", label, "test", Unit.RATE, m.perspectives, derived=DerivedKind.RATE,
                numerator=m.id, label_template=label, decimals=1,
            )  # fmt: skip
    return dataclasses.replace(catalog, measures={**catalog.measures, **extra})


CATALOG = _with_persons_rates(default_catalog())
SEGMENTS = sorted(CATALOG.segments)
# Every perspective's persons rates and rates over time, read from the catalog: each is a case of
# its own, so none can go untried however Hypothesis draws.
PERSONS_RATES = sorted(
    (p, m.id)
    for p in CATALOG.perspectives
    for m in CATALOG.measures_of(p)
    if m.derived is DerivedKind.RATE and CATALOG.measures[m.numerator or ""].counts_persons
)
RATES = sorted((p, m.id) for p in CATALOG.perspectives for m in CATALOG.measures_of(p) if m.over_time)


def dimensions_of(measure_id: str) -> list[str]:
    """The dimensions (other than time) of every source the measure's numerator is read from."""
    numerator = CATALOG.measures[CATALOG.measures[measure_id].numerator or measure_id]
    found = {d.id for source in numerator.inputs for d in CATALOG.dimensions_in(CATALOG.sources[source])}
    return sorted(found - set(TIME))


def test_every_persons_measure_has_a_rate_here() -> None:
    persons = {m.id for m in CATALOG.measures.values() if m.counts_persons and m.perspectives}
    numerators = {CATALOG.measures[r].numerator for _, r in PERSONS_RATES}
    assert persons == numerators and len(persons) >= 7
    assert {p for p, _ in RATES} == {p for p in CATALOG.perspectives if CATALOG.measures_of(p)} - {"befolkning"}


@pytest.fixture(scope="module")
def exact_service(small_load: object, small_settings: Settings) -> AnalysisService:
    return AnalysisService(dataclasses.replace(small_settings, exact_bases=True), CATALOG)


@pytest.fixture(scope="module")
def perturbing_service(small_load: object, small_settings: Settings) -> AnalysisService:
    return AnalysisService(small_settings, CATALOG)


@st.composite
def persons_requests(draw: st.DrawFn, perspective: str, measure: str) -> dict[str, Any]:
    dims = draw(st.lists(st.sampled_from(dimensions_of(measure) + TIME), max_size=3, unique=True))
    split = draw(st.integers(0, len(dims)))
    request: dict[str, Any] = {
        "perspective": perspective,
        "measures": [measure],
        "rows": dims[:split],
        "columns": dims[split:],
        "period": draw(st.sampled_from(PERIODS)),
    }
    if draw(st.booleans()):
        request["segment"] = draw(st.sampled_from(SEGMENTS))
    return request


@st.composite
def series_requests(draw: st.DrawFn, perspective: str, measure: str) -> dict[str, Any]:
    request: dict[str, Any] = {
        "perspective": perspective,
        "measures": [measure],
        "rows": draw(st.lists(st.sampled_from(["kommune", "koen", "aldersgruppe"]), max_size=1)),
        "columns": [draw(st.sampled_from(TIME))],
        "period": draw(st.sampled_from(PERIODS)),
    }
    if draw(st.booleans()):
        request["segment"] = draw(st.sampled_from(SEGMENTS))
    return request


def _run(service: AnalysisService, request: dict[str, Any], principal: Principal) -> Any:
    try:
        return service.run(request, principal)
    except RequestError:
        assume(False)  # a combination the catalog cannot answer; it says so, which is tested elsewhere
        raise


@pytest.mark.slow
@pytest.mark.parametrize(("perspective", "measure_id"), PERSONS_RATES)
@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.filter_too_much],
)
@given(data=st.data())
def test_persons_per_1000_never_exceed_1000(
    exact_service: AnalysisService, perturbing_service: AnalysisService, perspective: str, measure_id: str, data: Any
) -> None:
    request = data.draw(persons_requests(perspective, measure_id), label="request")
    exact = _run(exact_service, request, EXACT)
    for block in assembled(exact_service, request, EXACT):
        for measure in exact.measures:
            counted, at_risk = block.aggregates[measure.numerator or ""], block.aggregates[AT_RISK]
            over = {c: (a.value, at_risk[c].value) for c, a in counted.items() if a.value > at_risk[c].value}
            assert not over, (measure.id, over)
    for result in (exact, _run(perturbing_service, request, AGGREGATE)):
        for block in result.blocks:
            for measure in result.measures:
                too_high = {c: v for c, v in block.values[measure.id].items() if v is not None and v > 1000 + 1e-9}
                assert not too_high, (measure.id, too_high)


@pytest.mark.slow
@pytest.mark.parametrize(("perspective", "measure_id"), RATES)
@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.filter_too_much],
)
@given(data=st.data())
def test_a_total_over_time_is_the_rate_per_time_unit(
    exact_service: AnalysisService, perspective: str, measure_id: str, data: Any
) -> None:
    request = data.draw(series_requests(perspective, measure_id), label="request")
    result = _run(exact_service, request, EXACT)
    (measure,) = result.measures
    (time,) = request["columns"]
    unit = TimeUnit.MONTH if time == "maaned" or request["period"] == CUT else TimeUnit(time)
    assert measure.time_unit is unit and unit.per.da in measure.label.da
    if measure.derived is DerivedKind.STANDARDISED_RATE:
        return
    for block in result.blocks:
        values = block.values[measure.id]
        for r in [*range(len(block.row_keys)), TOTAL]:
            parts = [values[(r, c)] for c in range(len(block.col_keys)) if values[(r, c)] is not None]
            total = values[(r, TOTAL)]
            if not parts or total is None:
                continue
            assert min(parts) - 1e-9 <= total <= max(parts) + 1e-9, (measure.id, r, parts, total)
