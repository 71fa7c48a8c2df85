"""The analysis request: what a user asks for, checked against the catalog field by field.

A request arrives as JSON (API, CLI, saved analysis, Standard report). ``parse_request`` returns
an immutable ``AnalysisRequest`` or raises ``RequestError`` listing every problem with the field
it concerns (``measures[1]``, ``filters.kommune[0]``), so a client can point at what to fix.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from koes.domain.cpr import mask_cpr
from koes.query.geography import GeographyChoice, choice_json, parse_geography
from koes.semantic.model import POPULATION_MEMBERS, Catalog, Dimension

PERIOD = re.compile(r"^(\d{4})(?:-(\d{2}))?$")
KNOWN_FIELDS = frozenset(
    {"perspective", "measures", "rows", "columns", "filters", "segment", "period", "comparison", "geography", "cohort"}
)
COMPARISON_DIMENSIONS = frozenset({"kommune", "region"})
# A population's id (a cohort's): letters, digits, "-" and "_", so it is safe in logs, URLs and keys.
POPULATION_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass(frozen=True)
class FieldProblem:
    """One problem of a request, with the field it concerns. ``code`` and ``params`` (ids, never
    values a user typed) let a page say it in the user's language (``problem.<code>`` in the web
    messages); ``message`` is the English text the API and the CLI show."""

    field: str
    message: str
    code: str = ""
    params: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        # Messages quote what the user sent; a CPR number typed into a filter must not be echoed back
        # (or reach a log or the audit trail through the message).
        object.__setattr__(self, "field", mask_cpr(self.field))
        object.__setattr__(self, "message", mask_cpr(self.message))

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class RequestError(ValueError):
    def __init__(self, problems: Sequence[FieldProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(str(p) for p in self.problems))


@dataclass(frozen=True, order=True)
class Period:
    """Inclusive, as year * 100 + month keys: 2023 → 202301..202312."""

    first: int
    last: int

    @property
    def whole_years(self) -> bool:
        return self.first % 100 == 1 and self.last % 100 == 12

    @property
    def years(self) -> range:
        return range(self.first // 100, self.last // 100 + 1)

    def __str__(self) -> str:
        if self.whole_years:
            a, b = self.first // 100, self.last // 100
            return str(a) if a == b else f"{a}–{b}"
        return f"{self.first // 100}-{self.first % 100:02d}–{self.last // 100}-{self.last % 100:02d}"


@dataclass(frozen=True)
class AnalysisRequest:
    perspective: str
    measures: tuple[str, ...]
    rows: tuple[str, ...] = ()
    columns: tuple[str, ...] = ()
    filters: tuple[tuple[str, tuple[Any, ...]], ...] = ()
    segment: str | None = None
    period: Period | None = None
    comparison: bool = False
    comparison_municipality: int | None = None
    geography: GeographyChoice | None = None  # None: the regions of the release's last day
    # A population given beside the release (a cohort, by id): only its persons count.
    cohort: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def dimensions(self) -> tuple[str, ...]:
        return self.rows + self.columns

    def filter_values(self, dimension: str) -> tuple[Any, ...] | None:
        return dict(self.filters).get(dimension)

    def to_json(self) -> dict[str, Any]:
        """The canonical JSON form (sorted filters): equal requests give equal text and cache keys."""
        out: dict[str, Any] = {
            "perspective": self.perspective,
            "measures": list(self.measures),
            "rows": list(self.rows),
            "columns": list(self.columns),
            "filters": {k: list(v) for k, v in self.filters},
            "segment": self.segment,
            "period": _period_json(self.period),
            "comparison": (
                {"municipality": self.comparison_municipality} if self.comparison_municipality else self.comparison
            ),
        }
        # Only when chosen: a request without a choice keeps the canonical text (and cache key) it had.
        out.update(choice_json(self.geography))
        if self.cohort is not None:  # absent otherwise: the canonical text of other requests is unchanged
            out["cohort"] = self.cohort
        return out

    def canonical(self) -> str:
        return json.dumps(self.to_json(), sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _period_json(period: Period | None) -> dict[str, str] | None:
    if period is None:
        return None
    if period.whole_years:
        return {"from": str(period.first // 100), "to": str(period.last // 100)}
    return {
        "from": f"{period.first // 100}-{period.first % 100:02d}",
        "to": f"{period.last // 100}-{period.last % 100:02d}",
    }


def parse_request(raw: object, catalog: Catalog) -> AnalysisRequest:
    problems: list[FieldProblem] = []
    if not isinstance(raw, Mapping):
        raise RequestError([FieldProblem("request", "expected a JSON object")])
    for key in sorted(set(raw) - KNOWN_FIELDS):
        problems.append(FieldProblem(key, f"unknown field; known fields are {', '.join(sorted(KNOWN_FIELDS))}"))
    perspective = _perspective(raw.get("perspective"), catalog, problems)
    measures = _measures(raw.get("measures"), perspective, catalog, problems)
    rows = _dimension_list(raw.get("rows", []), "rows", catalog, problems)
    columns = _dimension_list(raw.get("columns", []), "columns", catalog, problems)
    for repeated in sorted(set(rows) & set(columns)):
        problems.append(
            FieldProblem(
                "columns",
                f"dimension {repeated!r} is already in rows",
                "repeated_dimension",
                (("dimension", repeated),),
            )
        )
    filters = _filters(raw.get("filters", {}), catalog, problems)
    segment = _segment(raw.get("segment"), catalog, problems)
    period = _period(raw.get("period"), problems)
    comparison, municipality = _comparison(raw.get("comparison", False), problems)
    geography, geography_problem = parse_geography(raw.get("geography"))
    if geography_problem is not None:
        problems.append(FieldProblem("geography", geography_problem, "geography"))
    cohort = _cohort(raw.get("cohort"), problems)
    _population_dimensions(rows + columns + tuple(d for d, _ in filters), cohort, catalog, problems)
    if comparison and COMPARISON_DIMENSIONS & set(rows + columns):
        problems.append(
            FieldProblem(
                "comparison",
                "a comparison places areas in the rows; remove kommune/region from rows and columns",
                "comparison_areas",
            )
        )
    if problems:
        raise RequestError(problems)
    return AnalysisRequest(
        perspective=perspective or "",
        measures=measures,
        rows=rows,
        columns=columns,
        filters=filters,
        segment=segment,
        period=period,
        comparison=comparison,
        comparison_municipality=municipality,
        geography=geography,
        cohort=cohort,
    )


def _perspective(value: object, catalog: Catalog, problems: list[FieldProblem]) -> str | None:
    if value not in catalog.perspectives:
        known = ", ".join(catalog.perspectives)
        problems.append(FieldProblem("perspective", f"unknown perspective {value!r}; choose one of {known}"))
        return None
    return str(value)


def _measures(
    value: object, perspective: str | None, catalog: Catalog, problems: list[FieldProblem]
) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        problems.append(FieldProblem("measures", "give a non-empty list of measure ids"))
        return ()
    out: list[str] = []
    for i, item in enumerate(value):
        measure = catalog.measures.get(item) if isinstance(item, str) else None
        if measure is None:
            problems.append(FieldProblem(f"measures[{i}]", f"unknown measure {item!r}"))
        elif perspective is not None and perspective not in measure.perspectives:
            problems.append(FieldProblem(f"measures[{i}]", f"measure {item!r} is not in perspective {perspective!r}"))
        elif item in out:
            problems.append(FieldProblem(f"measures[{i}]", f"measure {item!r} is listed twice"))
        else:
            out.append(item)
    return tuple(out)


def _dimension_list(value: object, name: str, catalog: Catalog, problems: list[FieldProblem]) -> tuple[str, ...]:
    if not isinstance(value, list):
        problems.append(FieldProblem(name, "expected a list of dimension ids"))
        return ()
    out: list[str] = []
    for i, item in enumerate(value):
        if not isinstance(item, str) or item not in catalog.dimensions:
            problems.append(FieldProblem(f"{name}[{i}]", f"unknown dimension {item!r}"))
        elif item in out:
            problems.append(FieldProblem(f"{name}[{i}]", f"dimension {item!r} is listed twice"))
        else:
            out.append(item)
    return tuple(out)


def _filters(value: object, catalog: Catalog, problems: list[FieldProblem]) -> tuple[tuple[str, tuple[Any, ...]], ...]:
    if not isinstance(value, Mapping):
        problems.append(FieldProblem("filters", "expected an object: dimension id → list of values"))
        return ()
    out: list[tuple[str, tuple[Any, ...]]] = []
    for key in sorted(value):
        dimension = catalog.dimensions.get(key)
        if dimension is None:
            problems.append(FieldProblem(f"filters.{key}", f"unknown dimension {key!r}"))
            continue
        values = value[key]
        if not isinstance(values, list) or not values:
            problems.append(FieldProblem(f"filters.{key}", "expected a non-empty list of values"))
            continue
        typed = [_typed(dimension, v, f"filters.{key}[{i}]", problems) for i, v in enumerate(values)]
        out.append((key, tuple(sorted({v for v in typed if v is not None}, key=str))))
    return tuple(out)


def _typed(dimension: Dimension, value: object, where: str, problems: list[FieldProblem]) -> Any:
    if dimension.value_type == "int":
        if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).lstrip("-").isdigit():
            problems.append(FieldProblem(where, f"{value!r} is not a whole number"))
            return None
        return int(value)
    if dimension.value_type == "bool":
        if value in (True, "true"):
            return True
        if value in (False, "false"):
            return False
        problems.append(FieldProblem(where, f"{value!r} is not true or false"))
        return None
    if not isinstance(value, str | int) or isinstance(value, bool):
        problems.append(FieldProblem(where, f"{value!r} is not a text value"))
        return None
    return str(value)


def _segment(value: object, catalog: Catalog, problems: list[FieldProblem]) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or value not in catalog.segments:
        problems.append(FieldProblem("segment", f"unknown segment {value!r}"))
        return None
    return value


def _period(value: object, problems: list[FieldProblem]) -> Period | None:
    if value is None:
        return None
    if not isinstance(value, Mapping) or "from" not in value:
        problems.append(FieldProblem("period", 'expected {"from": "2023", "to": "2024"} (years or YYYY-MM)'))
        return None
    first = _period_key(value["from"], "period.from", start=True, problems=problems)
    if "to" not in value and first is None:
        return None  # one problem is enough: `to` defaults to `from`
    last = _period_key(value.get("to", value["from"]), "period.to", start=False, problems=problems)
    if first is None or last is None:
        return None
    if first > last:
        problems.append(FieldProblem("period", "`from` is after `to`", "period_order"))
        return None
    return Period(first, last)


def _period_key(value: object, where: str, *, start: bool, problems: list[FieldProblem]) -> int | None:
    match = PERIOD.match(str(value)) if isinstance(value, str | int) and not isinstance(value, bool) else None
    if match is None:
        problems.append(FieldProblem(where, f"{value!r} is not a year (2023) or a month (2023-06)"))
        return None
    year, month = int(match[1]), match[2]
    if not 1900 <= year <= 2100:
        problems.append(FieldProblem(where, f"year {year} is out of range"))
        return None
    if month is None:
        return year * 100 + (1 if start else 12)
    if not 1 <= int(month) <= 12:
        problems.append(FieldProblem(where, f"month {month} is not 01–12"))
        return None
    return year * 100 + int(month)


def _comparison(value: object, problems: list[FieldProblem]) -> tuple[bool, int | None]:
    if isinstance(value, bool):
        return value, None
    if isinstance(value, Mapping) and set(value) <= {"municipality"}:
        code = value.get("municipality")
        if isinstance(code, int) and not isinstance(code, bool):
            return True, code
    problems.append(FieldProblem("comparison", 'expected true, false or {"municipality": <kommunekode>}'))
    return False, None


def _cohort(value: object, problems: list[FieldProblem]) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not POPULATION_ID.match(value):
        problems.append(FieldProblem("cohort", "expected a cohort id (letters, digits, '-' and '_')", "cohort_id"))
        return None
    return value


def _population_dimensions(
    used: tuple[str, ...], cohort: str | None, catalog: Catalog, problems: list[FieldProblem]
) -> None:
    """A dimension whose members come from a population (a cohort's groups) needs one."""
    if cohort is not None:
        return
    for dimension_id in dict.fromkeys(used):
        dimension = catalog.dimensions.get(dimension_id)
        if dimension is not None and dimension.members.kind == POPULATION_MEMBERS:
            problems.append(
                FieldProblem(
                    dimension_id,
                    f'dimension {dimension_id!r} needs a cohort: give "cohort": <id>',
                    "population_dimension",
                    (("dimension", dimension_id),),
                )
            )
