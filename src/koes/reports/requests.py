"""A report and the user's choices → the analysis requests behind its views.

Every view is an ordinary analysis request, so a report is scoped, protected and audited exactly
like an analysis. The views:

- ``table``: every measure of the variant by municipality, for the chosen year (the map draws the
  chosen measure from it, so map and table always show the same protected cells);
- ``series``: the chosen measure over time, for the municipality, its region, the country and
  similar municipalities (``trend``), or the municipality's months this year and last (``year_to_date``);
- ``comparison``: the chosen measure (its standardised twin when there is one) for the same areas;
- ``breakdown``: the chosen measure split by the variant's breakdown dimension, areas against each other;
- ``keyfigures``: every measure of the variant for the chosen year and the year before, for the same
  areas (the page's key-figure tiles: own municipality against region and country, change from last year).

Every view reads regions the way the user chose (``geography``: "as it was" or "as of a day",
``koes.query.geography``); without a choice the analysis default, the regions of the release's
last day, applies and the requests stay as they were before the choice existed.

Where areas are set against each other (the trend, the comparison, the breakdown), an amount in
kroner is compared per citizen (:func:`across_areas`): the totals of areas of different size are not
comparable. A monthly trend spans ``TREND_YEARS`` years (as many as the release holds), so a season
shows against the years before it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from koes.query.geography import AS_IT_WAS, parse_geography
from koes.query.request import FieldProblem, RequestError
from koes.reports.model import Report, SeriesKind, Variant
from koes.semantic.members import members
from koes.semantic.model import Catalog, DerivedKind, Unit

SEXES = (1, 2)
VIEWS = ("table", "series", "comparison", "breakdown", "keyfigures")
TREND_YEARS = 3  # a monthly trend shows this many years up to the chosen one


@dataclass(frozen=True)
class ReportChoices:
    """What the user picked on the page (or in the API's query string); None: the default."""

    year: int | None = None
    municipality: int | None = None
    sex: int | None = None
    age: str | None = None
    variant: str | None = None
    measure: str | None = None
    geography: str | None = None  # "as_it_was", or a day "2027-01-01" whose regions are used


@dataclass(frozen=True)
class ResolvedChoices:
    """Every choice settled and checked: what the views are built from and the page shows."""

    year: int
    municipality: int
    sex: int | None
    age: str | None
    variant: Variant
    measure: str
    # What areas are set against each other by: a kroner total's per-citizen measure (København's
    # 17 M beside the country's 162 M says nothing), else the measure itself (issue 18 item 4).
    across: str = ""
    # The key-figure tiles set the municipality beside its region and the country: every measure of
    # the variant as it compares across areas (across_areas), each once.
    compared: tuple[str, ...] = ()
    geography: str | None = None  # as in ReportChoices; None: the regions of the release's last day

    def to_json(self) -> dict[str, Any]:
        return {
            "year": self.year,
            "municipality": self.municipality,
            "sex": self.sex,
            "age": self.age,
            "variant": self.variant.id,
            "measure": self.measure,
            "geography": self.geography,
        }


def resolve(
    report: Report,
    choices: ReportChoices,
    catalog: Catalog,
    years: Sequence[int],
    municipalities: Sequence[int],
    home: int | None,
) -> ResolvedChoices:
    """Fill in the defaults (the latest year, the user's own municipality, the headline measure) and
    check every choice; all problems at once, each named by its query parameter."""
    problems: list[FieldProblem] = []
    variant = report.variant(choices.variant)
    if choices.variant is not None and choices.variant != variant.id:
        problems.append(_one_of("variant", choices.variant, [v.id for v in report.variants]))
    if choices.year is not None and choices.year not in years:
        problems.append(_one_of("year", choices.year, list(years)))
    if choices.municipality is not None and choices.municipality not in municipalities:
        problems.append(FieldProblem("municipality", f"{choices.municipality!r} is not a kommunekode"))
    if choices.sex is not None and choices.sex not in SEXES:
        problems.append(_one_of("sex", choices.sex, list(SEXES)))
    if choices.age is not None:
        ages = [m.value for m in members(catalog.dimensions[report.age], years)] if report.age else []
        if not ages:
            problems.append(FieldProblem("age", "this report has no age filter"))
        elif choices.age not in ages:
            problems.append(_one_of("age", choices.age, ages))
    if choices.measure is not None and choices.measure not in variant.measures:
        problems.append(_one_of("measure", choices.measure, list(variant.measures)))
    if choices.geography is not None and parse_geography(geography_request(choices.geography))[1]:
        problems.append(FieldProblem("geography", f'{choices.geography!r} is not "{AS_IT_WAS}" or a day YYYY-MM-DD'))
    if not years:
        problems.append(FieldProblem("year", "the release holds no years"))
    if problems:
        raise RequestError(problems)
    default_municipality = home if home is not None and home in municipalities else min(municipalities)
    return ResolvedChoices(
        year=choices.year if choices.year is not None else max(years),
        municipality=choices.municipality if choices.municipality is not None else default_municipality,
        sex=choices.sex,
        age=choices.age,
        variant=variant,
        measure=choices.measure or variant.headline,
        across=across_areas(choices.measure or variant.headline, variant.perspective, catalog),
        compared=tuple(dict.fromkeys(across_areas(m, variant.perspective, catalog) for m in variant.measures)),
        geography=choices.geography,
    )


def geography_request(choice: str) -> str | dict[str, str]:
    """A report's geography choice as an analysis request says it (koes.query.geography)."""
    return choice if choice == AS_IT_WAS else {"as_of": choice}


def across_areas(measure_id: str, perspective: str, catalog: Catalog) -> str:
    """The measure that compares areas of different size: an amount in kroner per citizen (the
    catalog's per-citizen measure of it, in ``perspective``), any other measure as it is."""
    if catalog.measures[measure_id].unit is not Unit.KR:
        return measure_id
    for m in catalog.measures.values():
        if m.derived is DerivedKind.PER_CITIZEN and m.numerator == measure_id and perspective in m.perspectives:
            return m.id
    return measure_id


def view_requests(report: Report, chosen: ResolvedChoices, years: Sequence[int]) -> dict[str, dict[str, Any]]:
    """The analysis request of each view (``breakdown`` only when the variant has one)."""
    variant, year = chosen.variant, str(chosen.year)
    base = _base(report, chosen)
    headline = chosen.measure
    across = chosen.across or headline
    out = {
        "table": {**base, "measures": list(variant.measures), "rows": ["kommune"], "period": _years(year, year)},
        "series": _series(report, chosen, base, years),
        "comparison": {
            **base,
            "measures": [variant.standardised.get(headline, across)],
            "comparison": {"municipality": chosen.municipality},
            "period": _years(year, year),
        },
        "keyfigures": {
            **base,
            "measures": list(chosen.compared or variant.measures),
            "columns": ["aar"],
            "comparison": {"municipality": chosen.municipality},
            "period": _years(str(chosen.year - 1 if chosen.year - 1 in years else chosen.year), year),
        },
    }
    if variant.breakdown is not None:
        out["breakdown"] = {
            **base,
            "measures": [across],
            "columns": [variant.breakdown],
            "comparison": {"municipality": chosen.municipality},
            "period": _years(year, year),
        }
    return out


def _base(report: Report, chosen: ResolvedChoices) -> dict[str, Any]:
    filters: dict[str, list[object]] = {k: list(v) for k, v in chosen.variant.filters.items()}
    if chosen.sex is not None:
        filters["koen"] = [chosen.sex]
    if chosen.age is not None and report.age is not None:
        filters[report.age] = [chosen.age]
    variant = chosen.variant
    base: dict[str, Any] = {"perspective": variant.perspective, "filters": filters, "segment": variant.segment}
    if chosen.geography is not None:
        base["geography"] = geography_request(chosen.geography)
    return base


def _series(report: Report, chosen: ResolvedChoices, base: Mapping[str, Any], years: Sequence[int]) -> dict[str, Any]:
    if report.series.kind == SeriesKind.YEAR_TO_DATE:
        first = chosen.year - 1 if chosen.year - 1 in years else chosen.year
        filters = {**base["filters"], "kommune": [chosen.municipality]}
        return {
            **base,
            "filters": filters,
            "measures": [chosen.measure],
            "columns": ["maaned"],
            "period": _years(str(first), str(chosen.year)),
        }
    first_year = min(years) if report.series.grain == "aar" else _trend_start(chosen.year, years)
    return {
        **base,
        "measures": [chosen.across or chosen.measure],
        "columns": [report.series.grain],
        "comparison": {"municipality": chosen.municipality},
        "period": _years(str(first_year), str(chosen.year)),
    }


def _trend_start(year: int, years: Sequence[int]) -> int:
    """The first year of a monthly trend: ``TREND_YEARS`` back from ``year``, within the release."""
    return max(min(years), year - TREND_YEARS + 1)


def _years(first: str, last: str) -> dict[str, str]:
    return {"from": first, "to": last}


def _one_of(name: str, value: object, allowed: Sequence[object]) -> FieldProblem:
    shown = ", ".join(str(a) for a in allowed[:20])
    return FieldProblem(name, f"{value!r} is not one of {shown}")
