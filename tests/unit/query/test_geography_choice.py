"""A request chooses its geography: regions as they were, or as of a date (the 2027 reform)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from koes.query.geography import GeographyChoice
from koes.query.members import listed
from koes.query.planner import PlanContext, plan_request
from koes.query.request import RequestError, parse_request
from koes.semantic.model import Catalog

KBH, ROSKILDE = 101, 265
OSTDANMARK = 1086


def _request(**extra: Any) -> dict[str, Any]:
    return {"perspective": "somatik", "measures": ["indlaeggelser"], "period": {"from": "2026", "to": "2027"}} | extra


def test_the_request_carries_the_choice_and_its_canonical_form(catalog: Catalog) -> None:
    as_it_was = parse_request(_request(geography="as_it_was"), catalog)
    as_of = parse_request(_request(geography={"as_of": "2027-01-01"}), catalog)
    plain = parse_request(_request(), catalog)
    assert as_it_was.geography == GeographyChoice(None)
    assert as_of.geography == GeographyChoice(date(2027, 1, 1))
    assert as_it_was.to_json()["geography"] == "as_it_was"
    assert as_of.to_json()["geography"] == {"as_of": "2027-01-01"}
    assert "geography" not in plain.to_json()  # an unchosen geography keeps the old cache keys
    assert len({as_it_was.canonical(), as_of.canonical(), plain.canonical()}) == 3


@pytest.mark.parametrize("bad", ["today", {"as_of": "2027-13-01"}, {"as_of": 2027}, {"at": "2027-01-01"}])
def test_a_bad_choice_is_a_problem_on_its_field(bad: object, catalog: Catalog) -> None:
    with pytest.raises(RequestError) as caught:
        parse_request(_request(geography=bad), catalog)
    assert [p.field for p in caught.value.problems] == ["geography"]


def test_default_is_the_regions_of_the_release_last_day(catalog: Catalog, reform_context: PlanContext) -> None:
    plan = plan_request(parse_request(_request(), catalog), catalog, reform_context)
    assert plan.geography == GeographyChoice(date(2028, 12, 31))


def test_region_members_follow_the_choice(catalog: Catalog, reform_context: PlanContext) -> None:
    region = catalog.dimensions["region"]
    everyone = frozenset(reform_context.municipalities)
    as_it_was = plan_request(parse_request(_request(geography="as_it_was"), catalog), catalog, reform_context)
    as_of = plan_request(parse_request(_request(), catalog), catalog, reform_context)
    before = plan_request(parse_request(_request(geography={"as_of": "2026-12-31"}), catalog), catalog, reform_context)
    assert listed(region, as_it_was, everyone) == (1081, 1082, 1083, 1084, 1085, OSTDANMARK)
    assert listed(region, as_of, everyone) == (1081, 1082, 1083, OSTDANMARK)
    assert listed(region, before, everyone) == (1081, 1082, 1083, 1084, 1085)


def test_own_region_as_it_was_changes_members_at_new_year(catalog: Catalog, reform_context: PlanContext) -> None:
    request = _request(geography="as_it_was", comparison={"municipality": ROSKILDE})
    plan = plan_request(parse_request(request, catalog), catalog, reform_context)
    region = next(a for a in plan.areas if a.id == "region")
    assert region.label_da == "Region Sjælland → Region Østdanmark"
    (y2026, y2027) = region.by_year
    assert y2026[:2] == (2026, 2026) and len(y2026[2]) == 17 and ROSKILDE in y2026[2] and KBH not in y2026[2]
    assert y2027[:2] == (2027, 2027) and len(y2027[2]) == 46 and KBH in y2027[2]
    assert region.kommuner == y2027[2]


def test_own_region_as_of_a_date_is_one_region(catalog: Catalog, reform_context: PlanContext) -> None:
    request = _request(geography={"as_of": "2027-06-30"}, comparison={"municipality": ROSKILDE})
    plan = plan_request(parse_request(request, catalog), catalog, reform_context)
    region = next(a for a in plan.areas if a.id == "region")
    assert (region.label_da, len(region.kommuner), region.by_year) == ("Region Østdanmark", 46, ())
    before = plan_request(
        parse_request(_request(geography={"as_of": "2026-06-30"}, comparison={"municipality": ROSKILDE}), catalog),
        catalog,
        reform_context,
    )
    assert [len(a.kommuner) for a in before.areas if a.id == "region"] == [17]


def test_similar_municipalities_do_not_depend_on_the_geography(catalog: Catalog, reform_context: PlanContext) -> None:
    areas = [
        plan_request(
            parse_request(_request(geography=g, comparison={"municipality": KBH}), catalog), catalog, reform_context
        ).areas
        for g in ("as_it_was", {"as_of": "2027-01-01"})
    ]
    similar = [next(a.kommuner for a in found if a.id == "lignende") for found in areas]
    assert similar[0] == similar[1]
