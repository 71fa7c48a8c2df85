"""The attacker's tables, and the cells in them named by the units they count.

A cell is fixed by what it counts: a measure, a segment, the years, the municipalities, the age
groups and the sexes it covers. The same cell in two tables (a margin here, an inner cell there,
a filtered table's total) is one unknown to the attacker, and must be one value to the reader.
Relations between cells follow from their sets: a set of municipalities is the sum of a partition
of it, a two-year period the sum of its years, both sexes the sum of each. Counts of events add
up exactly; counts of distinct persons only as inequalities (a person who moved, had a birthday or
was a patient in both years is in two parts and counted once in the whole), except over sex.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from attack.solver import System
from koes.domain.cells import TOTAL, CellKey
from koes.services.disclosure import ProtectedBlock

AGES = ("0-2", "3-17", "18-24", "25-44", "45-64", "65-74", "75-84", "85+")
SEXES = (1, 2)
PERIODS = ((2022,), (2023,), (2022, 2023))
SEGMENTS = ("borgere_65", "diabetes")
REGION = 1081  # Region Nordjylland: the attacked region (11 municipalities; small enough to solve in seconds)
PERSONS, EVENTS = "patienter", "indlaeggelser"


@dataclass(frozen=True)
class Cell:
    """The units a published number counts."""

    measure: str
    segment: str | None
    years: tuple[int, ...]
    kommuner: frozenset[int]
    ages: frozenset[str]
    sexes: frozenset[int]

    def but(self, **changes: Any) -> Cell:
        return dataclasses.replace(self, **changes)


def requests(region: frozenset[int], comparison: tuple[int, ...]) -> Iterator[dict[str, Any]]:
    """At least 200 related tables: margins, filters, complements, periods, region minus one
    municipality, segments and comparisons (for both measures at once)."""
    inside = sorted(region)
    for years in PERIODS:
        base = {
            "perspective": "somatik",
            "measures": [EVENTS, PERSONS],
            "period": {"from": str(years[0]), "to": str(years[-1])},
        }
        here = {**base, "filters": {"kommune": inside}}
        yield {**here, "rows": ["kommune"], "columns": ["aldersgruppe"]}
        yield {**here, "rows": ["kommune"], "columns": ["koen"]}
        yield {**here, "rows": ["kommune"], "columns": ["aldersgruppe", "koen"]}
        yield {**here, "rows": ["aldersgruppe"], "columns": ["koen"]}
        yield {**here, "rows": ["kommune"]}
        yield {**here, "rows": ["aldersgruppe"]}
        yield {**here, "rows": ["koen"]}
        for sex in SEXES:
            yield {
                **here,
                "filters": {"kommune": inside, "koen": [sex]},
                "rows": ["kommune"],
                "columns": ["aldersgruppe"],
            }
        for age in AGES:
            yield {
                **here,
                "filters": {"kommune": inside, "aldersgruppe": [age]},
                "rows": ["kommune"],
                "columns": ["koen"],
            }
        yield {**base, "rows": ["region"], "columns": ["aldersgruppe"]}
        yield {**base, "rows": ["region"], "columns": ["koen"]}
        for left_out in inside:
            rest = [k for k in inside if k != left_out]
            yield {**base, "filters": {"kommune": rest}, "rows": ["aldersgruppe"], "columns": ["koen"]}
            yield {**base, "filters": {"kommune": [left_out]}, "rows": ["aldersgruppe"], "columns": ["koen"]}
        for segment in SEGMENTS:
            yield {**here, "segment": segment, "rows": ["kommune"], "columns": ["koen"]}
            yield {**here, "segment": segment, "rows": ["kommune"], "columns": ["aldersgruppe"]}
        for age in AGES:  # the whole country, one age group at a time
            yield {**base, "filters": {"aldersgruppe": [age]}, "rows": ["region"], "columns": ["koen"]}
        for sex in SEXES:
            yield {**base, "filters": {"koen": [sex]}, "rows": ["region"], "columns": ["aldersgruppe"]}
        yield {**base, "rows": ["aldersgruppe"], "columns": ["koen"]}
        for municipality in comparison:
            yield {**base, "rows": ["aldersgruppe"], "comparison": {"municipality": municipality}}


def differencing_requests(region: frozenset[int]) -> Iterator[dict[str, Any]]:
    """The tables every differencing pair comes from: the region, the region without each of its
    municipalities and each municipality alone, by age group × sex (with margins), per period."""
    for request in requests(region, ()):
        by_age_and_sex = request.get("rows") == ["aldersgruppe"] and request.get("columns") == ["koen"]
        if by_age_and_sex and list(request.get("filters", {})) == ["kommune"]:
            yield request


def cells_of(
    block: ProtectedBlock,
    request: Mapping[str, Any],
    measure: str,
    regions: Mapping[int, frozenset[int]],
    everywhere: frozenset[int],
) -> dict[CellKey, Cell]:
    """Every cell of a published block, named by its units."""
    period = request["period"]
    years = tuple(range(int(period["from"]), int(period["to"]) + 1))
    filters = request.get("filters", {})
    kommuner = frozenset(filters.get("kommune", everywhere))
    if block.area is not None:
        kommuner &= block.area.kommuner
    start = Cell(
        measure,
        request.get("segment"),
        years,
        kommuner,
        frozenset(filters.get("aldersgruppe", AGES)),
        frozenset(filters.get("koen", SEXES)),
    )
    rows, cols = request.get("rows", []), request.get("columns", [])
    out: dict[CellKey, Cell] = {}
    for r, c in block.cells():
        cell = start
        for dims, keys, i in ((rows, block.row_keys, r), (cols, block.col_keys, c)):
            if i == TOTAL:
                continue
            for dim, value in zip(dims, keys[i], strict=True):
                cell = _narrow(cell, dim, value, regions)
        out[(r, c)] = cell
    return out


def _narrow(cell: Cell, dim: str, value: Any, regions: Mapping[int, frozenset[int]]) -> Cell:
    if dim == "kommune":
        return cell.but(kommuner=cell.kommuner & {value})
    if dim == "region":
        return cell.but(kommuner=cell.kommuner & regions[value])
    if dim == "aldersgruppe":
        return cell.but(ages=cell.ages & {value})
    if dim == "koen":
        return cell.but(sexes=cell.sexes & {value})
    raise ValueError(f"the attack does not read dimension {dim!r}")


def relate(system: System, cells: set[Cell]) -> int:
    """Every relation between the cells the attacker has seen; how many."""
    count = 0
    by_rest: dict[tuple[Any, ...], list[Cell]] = defaultdict(list)
    for cell in cells:
        by_rest[(cell.measure, cell.segment, cell.years, cell.ages, cell.sexes)].append(cell)
    for group in by_rest.values():  # municipalities: a set is the sum of parts that were published
        sets = {c.kommuner: c for c in group}
        rests = {c.kommuner - {k} for c in group for k in c.kommuner if len(c.kommuner) > 2}
        for whole in group:
            if len(whole.kommuner) < 2:
                continue
            singles = [sets.get(frozenset({k})) for k in whole.kommuner]
            # A set that is another minus one municipality is related through the bigger one.
            if all(singles) and whole.kommuner not in rests:
                count += _sum(system, whole, [s for s in singles if s is not None])
            for k in whole.kommuner:
                rest, single = sets.get(whole.kommuner - {k}), sets.get(frozenset({k}))
                if rest is not None and single is not None and len(whole.kommuner) > 2:
                    count += _sum(system, whole, [rest, single])
    for cell in cells:
        for field, values in (("ages", AGES), ("sexes", SEXES)):
            whole = getattr(cell, field)
            if len(whole) == len(values):
                parts = [cell.but(**{field: frozenset({v})}) for v in values]
                if all(p in cells for p in parts):
                    count += _sum(system, cell, parts, exact=field == "sexes")
        if len(cell.years) == 2:
            parts = [cell.but(years=(y,)) for y in cell.years]
            if all(p in cells for p in parts):
                count += _sum(system, cell, parts)
        if cell.segment is not None:
            everyone = cell.but(segment=None)
            if everyone in cells:  # a segment is a subset of the citizens
                system.relate({everyone: 1.0, cell: -1.0}, 0.0, float("inf"))
                count += 1
    return count


def _sum(system: System, whole: Cell, parts: list[Cell], *, exact: bool = False) -> int:
    terms = dict.fromkeys(parts, 1.0)
    terms[whole] = -1.0
    if whole.measure == EVENTS or exact:
        system.equal(terms)
        return 1
    system.relate(terms, 0.0, float("inf"))  # persons: the whole is at most the sum of its parts …
    for p in parts:
        system.relate({whole: 1.0, p: -1.0}, 0.0, float("inf"))  # … and at least each part
    return 1 + len(parts)
