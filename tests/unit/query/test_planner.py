"""Routing: the smallest source that answers the whole request, never a different answer."""

from __future__ import annotations

from typing import Any

import pytest

from koes.query.plan import Area
from koes.query.planner import PlanContext, available_dimensions, plan_request
from koes.query.request import RequestError, parse_request
from koes.semantic.model import Catalog


def plan(raw: dict[str, Any], catalog: Catalog, context: PlanContext) -> list[tuple[str, str]]:
    request = parse_request({"perspective": "somatik", **raw}, catalog)
    return [(q.role, q.source.id) for q in plan_request(request, catalog, context).queries]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            {"measures": ["indlaeggelser"], "rows": ["kommune"], "columns": ["aar"]},
            [("values", "person_year_hospital")],
        ),
        (
            {"measures": ["indlaeggelser"], "rows": ["region"], "filters": {"aldersgruppe": ["85+"]}},
            [("values", "person_year_hospital")],  # age at the events is part of the person-year grain
        ),
        (
            {"measures": ["indlaeggelser"], "rows": ["patienttype"]},
            [("values", "stays")],
        ),
        ({"measures": ["indlaeggelser"], "period": {"from": "2023-01", "to": "2023-06"}}, [("values", "stays")]),
        (
            {"measures": ["kontakter", "indlaeggelser"], "rows": ["diagnosekapitel"]},
            [("values", "contacts"), ("values", "stays")],
        ),
        (
            {"measures": ["indlaeggelser_pr_1000"], "rows": ["kommune"]},
            [("values", "person_year_hospital"), ("citizens", "population_month")],
        ),
        (
            {"measures": ["indlaeggelser_pr_1000"], "rows": ["kommune"], "segment": "diabetes"},
            [("values", "person_year_hospital"), ("citizens", "residents_year")],
        ),
        (
            {"measures": ["indlaeggelser_std"], "rows": ["region"]},
            [
                ("values", "person_year_hospital"),
                ("citizens", "population_month"),
                ("strata", "person_year_hospital"),
                ("citizen_strata", "population_month"),
            ],
        ),
        ({"measures": ["borgere"], "rows": ["aldersgruppe"]}, [("values", "population_month")]),
    ],
)
def test_routes(raw: dict[str, Any], expected: list[tuple[str, str]], catalog: Catalog, context: PlanContext) -> None:
    assert plan(raw, catalog, context) == expected


def test_margins_are_grouping_sets(catalog: Catalog, context: PlanContext) -> None:
    request = parse_request(
        {"perspective": "somatik", "measures": ["indlaeggelser"], "rows": ["kommune", "koen"], "columns": ["aar"]},
        catalog,
    )
    (query,) = plan_request(request, catalog, context).queries
    assert query.grouping_sets == (("kommune", "koen", "aar"), ("kommune", "koen"), ("aar",), ())


def test_rates_split_citizens_only_by_what_citizens_have(catalog: Catalog, context: PlanContext) -> None:
    request = parse_request(
        {"perspective": "somatik", "measures": ["indlaeggelser_pr_1000"], "rows": ["diagnosekapitel", "koen"]},
        catalog,
    )
    citizens = plan_request(request, catalog, context).queries[-1]
    assert [d.id for d in citizens.dimensions] == ["koen"]


@pytest.mark.parametrize(
    ("raw", "field", "text"),
    [
        ({"measures": ["recepter"], "rows": ["diagnosekapitel"]}, "measures", "not available by 'diagnosekapitel'"),
        ({"measures": ["indlaeggelser"], "period": {"from": "2019"}}, "period", "outside the release"),
        ({"measures": ["indlaeggelser_pr_1000"], "rows": ["maaned"], "segment": "diabetes"}, "rows", "per year"),
    ],
)
def test_unanswerable_requests_say_why(
    raw: dict[str, Any], field: str, text: str, catalog: Catalog, context: PlanContext
) -> None:
    perspective = "medicin" if raw["measures"] == ["recepter"] else "somatik"
    request = parse_request({"perspective": perspective, **raw}, catalog)
    with pytest.raises(RequestError) as caught:
        plan_request(request, catalog, context)
    (problem,) = caught.value.problems
    assert problem.field == field
    assert text in problem.message


def test_comparison_areas(catalog: Catalog, context: PlanContext) -> None:
    request = parse_request(
        {"perspective": "somatik", "measures": ["indlaeggelser_pr_1000"], "columns": ["aar"], "comparison": True},
        catalog,
    )
    planned = plan_request(request, catalog, context)
    areas: dict[str, Area] = {a.id: a for a in planned.areas}
    assert list(areas) == ["kommune", "region", "land", "lignende"]
    assert areas["kommune"].kommuner == {101}
    assert 101 in areas["region"].kommuner and len(areas["region"].kommuner) == 29
    assert len(areas["land"].kommuner) == 98
    assert len(areas["lignende"].kommuner) == catalog.similar.count and 101 not in areas["lignende"].kommuner
    assert {q.area.id for q in planned.queries if q.area} == set(areas)
    other = parse_request({**request.to_json(), "comparison": {"municipality": 751}}, catalog)
    assert plan_request(other, catalog, context).areas[0].kommuner == {751}


def test_every_dimension_the_builder_offers_can_be_planned(catalog: Catalog, context: PlanContext) -> None:
    """The Analysis builder offers ``available_dimensions``: each, for each measure alone, plans;
    and a dimension it does not offer is refused (so the list is not simply everything)."""
    refused = 0
    for perspective in catalog.perspectives.values():
        for measure in catalog.measures_of(perspective.id):
            offered = {d.id for d in available_dimensions((measure.id,), catalog)}
            assert "kommune" in offered, measure.id
            for dimension in catalog.dimensions:
                raw = {"perspective": perspective.id, "measures": [measure.id], "rows": [dimension]}
                if dimension in offered:
                    plan_request(parse_request(raw, catalog), catalog, context)
                else:  # refused when parsed (a cohort's groups without a cohort) or when planned
                    with pytest.raises(RequestError):
                        plan_request(parse_request(raw, catalog), catalog, context)
                    refused += 1
    assert refused > 0


def test_the_dimensions_of_several_measures_are_those_all_of_them_have(catalog: Catalog) -> None:
    both = {d.id for d in available_dimensions(("indlaeggelser", "borgere"), catalog)}
    assert both == {d.id for d in available_dimensions(("indlaeggelser",), catalog)} & {
        d.id for d in available_dimensions(("borgere",), catalog)
    }
    assert "diagnosekapitel" in {d.id for d in available_dimensions(("indlaeggelser",), catalog)}
    assert "diagnosekapitel" not in both
