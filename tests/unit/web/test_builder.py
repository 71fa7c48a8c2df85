"""The Analysis builder's address: any request becomes a URL and comes back the same request."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from hypothesis import given, settings
from hypothesis import strategies as st

from koes.query.request import parse_request
from koes.semantic.loader import default_catalog
from koes.semantic.members import members
from koes.web.builder import BuilderState, drill_down, fitted, from_query, from_request

CATALOG = default_catalog()
YEARS = (2022, 2023, 2024)
FILTERABLE = [d for d in CATALOG.dimensions.values() if 0 < len(members(d, YEARS)) <= 120]


@st.composite
def requests(draw: st.DrawFn) -> dict[str, Any]:
    perspective = draw(st.sampled_from(sorted(CATALOG.perspectives)))
    measure_ids = [m.id for m in CATALOG.measures_of(perspective)]
    measures = draw(st.lists(st.sampled_from(measure_ids), min_size=1, max_size=3, unique=True))
    dims = draw(st.lists(st.sampled_from(sorted(CATALOG.dimensions)), max_size=3, unique=True))
    cut = draw(st.integers(0, len(dims)))
    filters = {}
    for d in draw(st.lists(st.sampled_from(FILTERABLE), max_size=2, unique_by=lambda d: d.id)):
        values = [m.value for m in members(d, YEARS)]
        filters[d.id] = draw(st.lists(st.sampled_from(values), min_size=1, max_size=3, unique=True))
    raw: dict[str, Any] = {
        "perspective": perspective,
        "measures": measures,
        "rows": dims[:cut],
        "columns": dims[cut:],
        "filters": filters,
    }
    if draw(st.booleans()):
        raw["segment"] = draw(st.sampled_from(sorted(CATALOG.segments)))
    population = [d for d in dims + list(filters) if CATALOG.dimensions[d].members.kind == "population"]
    if bool(population) or draw(st.booleans()):  # a cohort's dimensions need the cohort
        raw["cohort"] = draw(st.sampled_from(["k1", "kohorte_2"]))
    first = draw(st.sampled_from(YEARS))
    if draw(st.booleans()):
        raw["period"] = {"from": str(first), "to": str(draw(st.sampled_from([y for y in YEARS if y >= first])))}
    if draw(st.booleans()) and not {"kommune", "region"} & set(dims):
        raw["comparison"] = draw(st.sampled_from([True, {"municipality": 751}]))
    if draw(st.booleans()):
        raw["geography"] = draw(st.sampled_from(["as_it_was", {"as_of": "2027-01-01"}]))
    return raw


@settings(max_examples=300, deadline=None)
@given(requests())
def test_a_request_survives_the_address(raw: dict[str, Any]) -> None:
    """request → builder state → URL → state → request: the same canonical request (a saved
    analysis opens as it was saved, a shared link shows what its sender saw)."""
    expected = parse_request(raw, CATALOG).canonical()
    state = from_request(parse_request(raw, CATALOG).to_json())
    again = from_query(parse_qsl(state.query()))
    assert again == state
    assert parse_request(again.to_request(CATALOG), CATALOG).canonical() == expected


def test_the_opening_analysis_is_admissions_by_municipality_in_the_latest_year() -> None:
    state = from_query([], latest_year=2024)
    assert state.to_request(CATALOG) == {
        "perspective": "somatik",
        "measures": ["indlaeggelser"],
        "rows": ["kommune"],
        "columns": [],
        "filters": {},
        "period": {"from": "2024", "to": "2024"},
    }


def test_empty_choices_are_not_chosen_and_repeats_count_once() -> None:
    state = from_query(
        [("perspective", "somatik"), ("row", ""), ("row", "koen"), ("row", "koen"), ("f.koen", "2"), ("segment", "")]
    )
    assert state.rows == ("koen",)
    assert state.filters == (("koen", ("2",)),)
    assert state.segment is None


def test_a_new_perspective_drops_the_old_measures_and_draws_its_first_measure() -> None:
    state = fitted(BuilderState("psykiatri", measures=("recepter",), chart="recepter"), CATALOG)
    assert state.measures == ()
    assert state.chart == CATALOG.perspectives["psykiatri"].default_measures[0]
    assert state.to_request(CATALOG)["measures"] == list(CATALOG.perspectives["psykiatri"].default_measures)


def test_a_comparison_without_a_municipality_uses_the_users_own() -> None:
    assert BuilderState("somatik", compare=True).to_request(CATALOG)["comparison"] is True
    named = BuilderState("somatik", compare=True, municipality="751").to_request(CATALOG)
    assert named["comparison"] == {"municipality": 751}


def test_the_geography_choice_is_in_the_address() -> None:
    state = from_query([("perspective", "somatik"), ("row", "region"), ("geography", "as_it_was")])
    assert state.to_request(CATALOG)["geography"] == "as_it_was"
    as_of = from_query([("perspective", "somatik"), ("geography", "2027-01-01")])
    assert as_of.to_request(CATALOG)["geography"] == {"as_of": "2027-01-01"}
    assert "geography" not in from_query([("perspective", "somatik"), ("geography", "")]).to_request(CATALOG)


def test_a_map_area_drills_down_to_that_municipality_keeping_the_other_choices() -> None:
    state = BuilderState(
        "somatik",
        measures=("indlaeggelser",),
        rows=("kommune",),
        filters=(("kommune", ("101", "751")), ("koen", ("2",))),
        first="2022",
        last="2024",
    )
    drilled = drill_down(state, 751)
    assert drilled.filters == (("koen", ("2",)), ("kommune", ("751",)))
    assert drilled.rows == ("aar",)  # nothing else breaks it down: year by year
    assert (drilled.measures, drilled.first, drilled.last) == (("indlaeggelser",), "2022", "2024")
    parse_request(drilled.to_request(CATALOG), CATALOG)  # an analysis the service accepts
    by_sex = drill_down(BuilderState("somatik", rows=("kommune", "koen")), 101)
    assert by_sex.rows == ("koen",) and by_sex.filters == (("kommune", ("101",)),)
