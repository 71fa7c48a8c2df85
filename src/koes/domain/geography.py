"""Versioned geography: regions and which municipalities belong to them, each with a validity period.

Areas change: the 2007 reform made 98 municipalities and 5 regions, and on 1 January 2027 Region
Hovedstaden and Region Sjælland merge into Region Østdanmark. A region is declared once with the
days it exists; a membership says that a municipality belonged to a region from one day to
another. The two questions every other part asks are "which region was municipality K in on
day D" (``region_of``) and "which regions were there on day D" (``regions_on``).

Danish area reforms take effect on 1 January, and the warehouse keys events by year: every
validity period starts on 1 January and ends on 31 December (``problems`` says so where one does
not), so a membership is also a span of whole years (``year_spans``) that SQL can join on.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

OPEN_END = date(9999, 12, 31)  # the last day of a period that has not ended


@dataclass(frozen=True)
class RegionVersion:
    """A region as declared: its code, names, and the days it exists."""

    code: int
    name_da: str
    name_en: str
    dst_code: int
    valid_from: date
    valid_to: date  # OPEN_END while the region exists
    provisional_code: bool  # the code is a placeholder until the official one is published

    def valid_on(self, day: date) -> bool:
        return self.valid_from <= day <= self.valid_to


@dataclass(frozen=True)
class Membership:
    """Municipality ``kommunekode`` belonged to region ``region_code`` from ``valid_from`` to ``valid_to``."""

    kommunekode: int
    region_code: int
    valid_from: date
    valid_to: date

    def valid_on(self, day: date) -> bool:
        return self.valid_from <= day <= self.valid_to


@dataclass(frozen=True)
class YearSpan:
    """A membership as whole years (``last_year`` 9999 while open): what the release's
    ``dim_region_membership`` holds and the SQL joins on."""

    kommunekode: int
    region_code: int
    first_year: int
    last_year: int


@dataclass(frozen=True)
class Geography:
    regions: tuple[RegionVersion, ...]
    memberships: tuple[Membership, ...]

    def region(self, code: int) -> RegionVersion:
        for r in self.regions:
            if r.code == code:
                return r
        raise KeyError(f"no region with code {code}")

    def region_of(self, kommunekode: int, day: date) -> int:
        """The region municipality ``kommunekode`` belonged to on ``day``."""
        for m in self.memberships:
            if m.kommunekode == kommunekode and m.valid_on(day):
                return m.region_code
        raise KeyError(f"municipality {kommunekode} belonged to no region on {day}")

    def regions_on(self, day: date) -> tuple[RegionVersion, ...]:
        """The regions that existed on ``day``, by code."""
        return tuple(sorted((r for r in self.regions if r.valid_on(day)), key=lambda r: r.code))

    def municipalities_of(self, region_code: int, day: date) -> frozenset[int]:
        """The municipalities that belonged to ``region_code`` on ``day`` (none if it did not exist)."""
        return frozenset(m.kommunekode for m in self.memberships if m.region_code == region_code and m.valid_on(day))

    def regions_as_of(self, day: date) -> dict[int, int]:
        """Every municipality's region on ``day`` (kommunekode → region code)."""
        return {m.kommunekode: m.region_code for m in self.memberships if m.valid_on(day)}

    def spans_of(self, kommunekode: int, first_year: int, last_year: int) -> tuple[YearSpan, ...]:
        """The municipality's memberships that overlap the years, clipped to them, in time order."""
        out = []
        for s in sorted(self.year_spans(), key=lambda s: s.first_year):
            if s.kommunekode == kommunekode and s.first_year <= last_year and s.last_year >= first_year:
                first, last = max(s.first_year, first_year), min(s.last_year, last_year)
                out.append(YearSpan(kommunekode, s.region_code, first, last))
        return tuple(out)

    def year_spans(self) -> tuple[YearSpan, ...]:
        return tuple(
            YearSpan(m.kommunekode, m.region_code, m.valid_from.year, m.valid_to.year) for m in self.memberships
        )

    def changes_between(self, first: date, last: date) -> bool:
        """Whether any municipality changed region between the two days (inclusive)."""
        return any(first < m.valid_from <= last or first <= m.valid_to < last for m in self.memberships)


def geography_problems(geography: Geography, kommunekoder: Iterable[int]) -> list[str]:
    """Every problem of the declaration at once: whole-year periods, known regions, memberships
    within their region's life, and every municipality in exactly one region on every day from
    the first membership on, without gaps."""
    problems: list[str] = []
    codes = [r.code for r in geography.regions]
    for code in sorted({c for c in codes if codes.count(c) > 1}):
        problems.append(f"region {code}: declared more than once")
    regions = {r.code: r for r in geography.regions}
    for r in geography.regions:
        problems += _period_problems(f"region {r.code}", r.valid_from, r.valid_to)
    for m in geography.memberships:
        where = f"municipality {m.kommunekode} in region {m.region_code} from {m.valid_from}"
        problems += _period_problems(where, m.valid_from, m.valid_to)
        region = regions.get(m.region_code)
        if region is None:
            problems.append(f"{where}: no such region")
        elif m.valid_from < region.valid_from or m.valid_to > region.valid_to:
            problems.append(f"{where}: outside the region's life ({region.valid_from} to {region.valid_to})")
    start = min((m.valid_from for m in geography.memberships), default=OPEN_END)
    known = set(kommunekoder)
    for code in sorted(known | {m.kommunekode for m in geography.memberships}):
        if code not in known:
            problems.append(f"municipality {code}: has a region but is not a municipality")
            continue
        periods = sorted((m.valid_from, m.valid_to) for m in geography.memberships if m.kommunekode == code)
        problems += _coverage_problems(code, periods, start)
    return problems


def _period_problems(where: str, first: date, last: date) -> list[str]:
    out = []
    if (first.month, first.day) != (1, 1):
        out.append(f"{where}: starts {first}, not on 1 January (area changes take effect then)")
    if last != OPEN_END and (last.month, last.day) != (12, 31):
        out.append(f"{where}: ends {last}, not on 31 December")
    if last < first:
        out.append(f"{where}: ends {last} before it starts")
    return out


def _coverage_problems(code: int, periods: list[tuple[date, date]], start: date) -> list[str]:
    if not periods:
        return [f"municipality {code}: belongs to no region"]
    out = []
    if periods[0][0] != start:
        out.append(f"municipality {code}: no region from {start} to {periods[0][0]}")
    for (_, end), (next_start, _) in itertools.pairwise(periods):
        if (next_start - end).days != 1:
            out.append(f"municipality {code}: gap or overlap between {end} and {next_start}")
    if periods[-1][1] != OPEN_END:
        out.append(f"municipality {code}: belongs to no region after {periods[-1][1]}")
    return out
