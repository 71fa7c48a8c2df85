"""Before and after the index date: a cohort's monthly use aligned at each person's own month 0.

One analysis of the catalog per measure, through the one path (scope, disclosure control), split
by ``kohortemaaned`` (the calendar month of the event counted from the person's index month) and,
when the file gave groups, ``kohortegruppe``: one ``cohort_series`` audit record for the page,
with the cohort's purpose. The published counts are divided by the members who could be seen in
each month (their index month plus the month lies within the release), counted from the user's
own list, so the series is per member and month and a late index date does not look like a drop.

The group-vs-group difference is a difference in differences: the change from the months before
(-N … -1) to the months after (1 … N) per member-month, in one group minus in the other, with a
95 % interval treating each published count as Poisson (its variance is the count).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from koes.cohorts.population import CohortPopulation
from koes.cohorts.standardise import Z
from koes.domain.cells import TOTAL
from koes.privacy.access import Principal
from koes.services.analysis import AnalysisService
from koes.services.cohort_population import CohortNotFoundError
from koes.services.results import AnalysisResult

MONTH = "kohortemaaned"
GROUP = "kohortegruppe"
MAX_MONTHS = 36
ALL = "alle"  # the series of the whole cohort (no groups given)
MEASURES = {  # measure id → perspective: what a follow-up of an effort usually looks at
    "kontakter": "somatik",
    "laegekontakter": "sygesikring",
    "recepter": "medicin",
}


@dataclass(frozen=True)
class Point:
    month: int
    count: float | None  # published; None where hidden
    status: str
    members: int  # members seen in this month
    per_100: float | None  # per 100 members and month


@dataclass(frozen=True)
class Difference:
    first: str
    second: str
    value: float  # (after - before) in ``first`` minus the same in ``second``, per 100 members and month
    low: float
    high: float


@dataclass(frozen=True)
class Series:
    cohort_id: str
    measure: str
    label: str
    months: int
    lines: Mapping[str, tuple[Point, ...]]  # group (or ALL) → points from -months to months
    difference: Difference | None
    result: AnalysisResult

    def to_json(self) -> dict[str, Any]:
        return {
            "cohort": self.cohort_id,
            "measure": self.measure,
            "label": self.label,
            "months": self.months,
            "lines": {
                g: [
                    {"month": p.month, "count": p.count, "status": p.status, "members": p.members, "per_100": p.per_100}
                    for p in points
                ]
                for g, points in self.lines.items()
            },
            "difference": None
            if self.difference is None
            else {
                "groups": [self.difference.first, self.difference.second],
                "value": self.difference.value,
                "interval": [self.difference.low, self.difference.high],
            },
            "provenance": self.result.provenance.to_json(),
        }


def cohort_series(
    service: AnalysisService,
    principal: Principal,
    cohort_id: str,
    measure: str = "kontakter",
    months: int | None = None,
    language: str = "da",
    progress: Callable[[int], None] | None = None,
) -> Series:
    """The before-and-after series of one measure (``MEASURES``) for ``principal``'s cohort;
    ``progress`` hears how far it has come (a background job's)."""
    if measure not in MEASURES:
        raise ValueError(f"measure must be one of {', '.join(MEASURES)}")
    span = min(max(months or service.settings.cohort_months, 1), MAX_MONTHS)
    if service.cohorts is None:
        raise CohortNotFoundError(cohort_id)
    cohort = service.cohorts.population(principal, cohort_id)
    years = service.years()
    grouped = bool(cohort.groups)
    raw: dict[str, Any] = {
        "perspective": MEASURES[measure],
        "measures": [measure],
        "rows": [MONTH],
        "columns": [GROUP] if grouped else [],
        "filters": {MONTH: list(range(-span, span + 1))},
        "cohort": cohort_id,
        "period": {"from": str(min(years)), "to": str(max(years))},
    }
    raws = {"series": raw}
    if grouped:  # the months before and after pooled: totals large enough to publish
        for side, months_of_side in (("before", range(-span, 0)), ("after", range(1, span + 1))):
            raws[side] = {**raw, "rows": [], "filters": {MONTH: list(months_of_side)}}
    summary = f"cohort before/after {cohort_id} {measure} ±{span} months"
    results = service.run_views(raws, principal, summary, language, "cohort_series", progress)
    seen = _members_seen(cohort, span, min(years), max(years))
    lines = _lines(results["series"], measure, seen, grouped)
    label = service.catalog.measures[measure].label.get(language)
    difference = _difference(results, measure, seen) if grouped else None
    return Series(cohort_id, measure, label, span, lines, difference, results["series"])


def _members_seen(cohort: CohortPopulation, span: int, first: int, last: int) -> dict[str, dict[int, int]]:
    """Per group (and ALL), the members whose month ``t`` after their index month lies in the release."""
    out: dict[str, dict[int, int]] = {}
    for member in cohort.members:
        if member.index_date is None:
            continue
        index = member.index_date.year * 12 + member.index_date.month
        for t in range(-span, span + 1):
            if first * 12 + 1 <= index + t <= last * 12 + 12:
                for group in (ALL, member.group):
                    if group is not None:
                        out.setdefault(group, {}).setdefault(t, 0)
                        out[group][t] += 1
    return out


def _lines(
    result: AnalysisResult, measure: str, seen: Mapping[str, Mapping[int, int]], grouped: bool
) -> dict[str, tuple[Point, ...]]:
    block = result.blocks[0]
    columns = [(c, str(key[0])) for c, key in enumerate(block.col_keys)] if grouped else [(TOTAL, ALL)]
    lines: dict[str, tuple[Point, ...]] = {}
    for c, group in columns:
        points = []
        for r, row in enumerate(block.row_keys):
            month = int(row[0])
            status = block.status(measure, (r, c)) or "ok"
            value = block.values[measure].get((r, c))
            count = None if status != "ok" else float(value or 0)
            members = seen.get(group, {}).get(month, 0)
            per_100 = 100 * count / members if count is not None and members else None
            points.append(Point(month, count, status, members, per_100))
        lines[group] = tuple(points)
    return lines


def _difference(
    results: Mapping[str, AnalysisResult], measure: str, seen: Mapping[str, Mapping[int, int]]
) -> Difference | None:
    """The difference in differences of the first two groups, from the pooled published counts
    before and after; None when one of them is hidden (a hidden count has no value to difference)."""
    changes: dict[str, tuple[float, float]] = {}
    for side in ("before", "after"):
        block = results[side].blocks[0]
        for c, key in enumerate(block.col_keys[:2]):
            group = str(key[0])
            if block.status(measure, (TOTAL, c)) is not None:
                return None
            count = float(block.values[measure].get((TOTAL, c)) or 0)
            exposure = sum(n for t, n in seen.get(group, {}).items() if (t < 0) == (side == "before") and t != 0)
            if not exposure:
                return None
            rate, variance = 100 * count / exposure, (100 / exposure) ** 2 * count
            before = changes.get(group, (0.0, 0.0))
            sign = -1 if side == "before" else 1
            changes[group] = (before[0] + sign * rate, before[1] + variance)
    if len(changes) != 2:
        return None
    (first, (a, va)), (second, (b, vb)) = changes.items()
    spread = Z * math.sqrt(va + vb)
    return Difference(first, second, a - b, a - b - spread, a - b + spread)
