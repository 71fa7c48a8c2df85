"""Versioned geography: the shipped regions and memberships, and the questions asked of them."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from koes.domain.geography import OPEN_END, Geography, Membership, geography_problems
from koes.refdata import RefData, load_refdata

EVE = date(2026, 12, 31)
NEW_YEAR = date(2027, 1, 1)


@pytest.fixture(scope="module")
def ref() -> RefData:
    return load_refdata()


def test_shipped_geography_has_no_problems(ref: RefData) -> None:
    assert geography_problems(ref.geography, (m.code for m in ref.municipalities)) == []


def test_same_municipality_changes_region_at_new_year_2027(ref: RefData) -> None:
    geo = ref.geography
    assert geo.region_of(101, EVE) == 1084  # København: Region Hovedstaden on 31 December 2026
    assert geo.region_of(101, NEW_YEAR) == 1086  # and Region Østdanmark the next day
    assert geo.region_of(265, EVE) == 1085  # Roskilde: Region Sjælland
    assert geo.region_of(265, NEW_YEAR) == 1086
    assert geo.region_of(851, EVE) == geo.region_of(851, NEW_YEAR) == 1081  # Aalborg: unchanged


def test_five_regions_before_and_four_after(ref: RefData) -> None:
    geo = ref.geography
    assert [r.name_da for r in geo.regions_on(EVE)] == [
        "Region Nordjylland",
        "Region Midtjylland",
        "Region Syddanmark",
        "Region Hovedstaden",
        "Region Sjælland",
    ]
    after = geo.regions_on(NEW_YEAR)
    assert [r.code for r in after] == [1081, 1082, 1083, 1086]
    assert len(geo.municipalities_of(1086, NEW_YEAR)) == 46
    assert geo.municipalities_of(1086, EVE) == frozenset()
    assert geo.municipalities_of(1084, EVE) | geo.municipalities_of(1085, EVE) == geo.municipalities_of(1086, NEW_YEAR)
    assert sum(len(geo.municipalities_of(r.code, NEW_YEAR)) for r in after) == 98


def test_ostdanmark_code_is_marked_provisional(ref: RefData) -> None:
    east = ref.geography.region(1086)
    assert east.name_da == "Region Østdanmark"
    assert east.provisional_code
    assert not any(r.provisional_code for r in ref.geography.regions if r.code != 1086)


def test_year_spans_clip_to_the_requested_years(ref: RefData) -> None:
    spans = ref.geography.spans_of(101, 2025, 2028)
    assert [(s.region_code, s.first_year, s.last_year) for s in spans] == [(1084, 2025, 2026), (1086, 2027, 2028)]


def test_every_problem_is_reported_at_once(ref: RefData) -> None:
    geo = ref.geography
    broken = [m for m in geo.memberships if not (m.kommunekode == 101 and m.region_code == 1086)]
    broken.append(Membership(101, 1086, date(2027, 7, 1), OPEN_END))  # mid-year, and a half-year gap
    broken.append(Membership(999, 1081, date(2007, 1, 1), OPEN_END))  # not a municipality
    broken.append(Membership(147, 1099, date(2007, 1, 1), OPEN_END))  # no such region, and an overlap
    problems = geography_problems(
        dataclasses.replace(geo, memberships=tuple(broken)), (m.code for m in ref.municipalities)
    )
    text = "\n".join(problems)
    assert "not on 1 January" in text
    assert "municipality 101: gap or overlap between 2026-12-31 and 2027-07-01" in text
    assert "municipality 999: has a region but is not a municipality" in text
    assert "region 1099" in text and "no such region" in text
    assert "municipality 147: gap or overlap" in text


def test_empty_geography_reports_each_municipality() -> None:
    problems = geography_problems(Geography((), ()), [101, 147])
    assert problems == ["municipality 101: belongs to no region", "municipality 147: belongs to no region"]
