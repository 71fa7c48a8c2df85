"""The geography a request chooses: regions "as it was" or "as of a date".

Regions change (``koes.domain.geography``): on 1 January 2027 Region Hovedstaden and Region
Sjælland became Region Østdanmark. A request that splits, filters or compares by region says
which regions it means:

* **as it was** (``"geography": "as_it_was"``): each event in the region its municipality
  belonged to on the event's date, so 2026 shows five regions and 2027 four;
* **as of a date** (``"geography": {"as_of": "2027-01-01"}``): the whole history re-mapped to
  the regions of that day, so 2024 and 2027 are compared within the same four regions.

Without a choice a request is read as of the last day of the release (``resolve``): the regions
of the newest data, which from 2027 are the four; the same data gives the same answer whatever
the day it is asked. Municipalities do not change here, so the municipality dimension and the
similar municipalities (nearest in population) are the same under both.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from koes.domain.geography import Geography

AS_IT_WAS = "as_it_was"


@dataclass(frozen=True, order=True)
class GeographyChoice:
    """``as_of`` None: as it was; else the day whose regions the whole history is mapped to."""

    as_of: date | None = None

    @property
    def as_it_was(self) -> bool:
        return self.as_of is None

    def to_json(self) -> str | dict[str, str]:
        return AS_IT_WAS if self.as_of is None else {"as_of": self.as_of.isoformat()}

    def label(self, language: str = "da") -> str:
        """What tables, exports and provenance say about the regions shown."""
        if self.as_of is None:
            return "Regioner som de var på hændelsens dato" if language == "da" else "Regions as they were on each date"
        day = self.as_of.isoformat()
        return f"Regioner pr. {day}" if language == "da" else f"Regions as of {day}"


AS_IT_WAS_CHOICE = GeographyChoice(None)


def parse_geography(value: object) -> tuple[GeographyChoice | None, str | None]:
    """The choice in a request, or a problem message (the field is optional: None is the default)."""
    if value is None:
        return None, None
    if value == AS_IT_WAS:
        return GeographyChoice(None), None
    if isinstance(value, Mapping) and set(value) == {"as_of"} and isinstance(value["as_of"], str):
        try:
            return GeographyChoice(date.fromisoformat(value["as_of"])), None
        except ValueError:
            pass
    return None, f'expected "{AS_IT_WAS}" or {{"as_of": "YYYY-MM-DD"}}, got {value!r}'


def resolve(choice: GeographyChoice | None, release_years: tuple[int, ...]) -> GeographyChoice:
    """The choice a plan uses: the request's, else the regions of the release's last day."""
    if choice is not None:
        return choice
    return GeographyChoice(date(max(release_years), 12, 31))


def region_year(choice: GeographyChoice) -> int | None:
    """The year whose regions an as-of choice maps to (None: each event's own year). Area changes
    take effect on 1 January, so the year of the day is enough."""
    return None if choice.as_of is None else choice.as_of.year


def regions_of(geography: Geography, choice: GeographyChoice, kommuner: frozenset[int], years: range) -> set[int]:
    """The regions the municipalities' events fall in over ``years`` under ``choice``."""
    days = [choice.as_of] if choice.as_of is not None else [date(y, 12, 31) for y in years]
    out: set[int] = set()
    for day in days:
        current = geography.regions_as_of(day)
        out |= {current[k] for k in kommuner if k in current}
    return out


@dataclass(frozen=True)
class RegionArea:
    """A municipality's own region under a choice: its members year by year (runs of equal sets)."""

    runs: tuple[tuple[int, int, frozenset[int]], ...]  # (first year, last year, municipalities)
    regions: tuple[int, ...]  # the region codes, in time order

    @property
    def kommuner(self) -> frozenset[int]:
        return frozenset().union(*(r[2] for r in self.runs))


def own_region(geography: Geography, choice: GeographyChoice, kommune: int, years: range) -> RegionArea:
    """The region ``kommune`` is compared with: as of a date one region over every year; as it was,
    the region it belonged to in each year (Region Hovedstaden in 2026, Region Østdanmark in 2027)."""
    if choice.as_of is not None:
        region = geography.region_of(kommune, choice.as_of)
        members = geography.municipalities_of(region, choice.as_of)
        return RegionArea(((years[0], years[-1], members),), (region,))
    runs: list[tuple[int, int, frozenset[int]]] = []
    regions: list[int] = []
    for year in years:
        day = date(year, 12, 31)
        region = geography.region_of(kommune, day)
        members = geography.municipalities_of(region, day)
        if region not in regions:
            regions.append(region)
        if runs and runs[-1][2] == members and runs[-1][1] == year - 1:
            runs[-1] = (runs[-1][0], year, members)
        else:
            runs.append((year, year, members))
    return RegionArea(tuple(runs), tuple(regions))


def map_regions(geography: Geography, choice: GeographyChoice, last_year: int) -> dict[int, frozenset[int]]:
    """The regions a map outlines (region code → municipalities): as of the chosen day, or, as
    they were, those of the period's last day (a map is one picture of one day's regions)."""
    day = choice.as_of or date(last_year, 12, 31)
    return {r.code: geography.municipalities_of(r.code, day) for r in geography.regions_on(day)}


def choice_json(choice: GeographyChoice | None) -> dict[str, Any]:
    return {} if choice is None else {"geography": choice.to_json()}
