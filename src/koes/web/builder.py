"""The Analysis builder's state in the address: a GET form ↔ an analysis request.

The builder is a plain GET form, so everything an analysis is (perspective, measures, rows,
columns, filters, segment, period, comparison and the measure drawn) lives in the URL: a link can
be bookmarked, shared with a colleague, reloaded and saved. The parameters:

``perspective``, ``measure``\\*, ``row``\\*, ``column``\\*, ``f.<dimension>``\\*, ``segment``, ``cohort``,
``from``, ``to`` (years), ``compare`` (``1``), ``municipality`` (kommunekode), ``geography``
(``as_it_was`` or a day, ``2027-01-01``: the regions as of that day; empty: the default) and
``chart`` (\\*: may repeat). An empty value means "not chosen" (the form's "none" options). Values stay
text here; :func:`koes.query.request.parse_request` checks them and names what is wrong.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode

from koes.privacy.echo import mask_text
from koes.query.geography import AS_IT_WAS
from koes.semantic.model import Catalog

FILTER_PREFIX = "f."
DEFAULT_PERSPECTIVE = "somatik"
DEFAULT_ROWS = ("kommune",)


@dataclass(frozen=True)
class BuilderState:
    perspective: str
    measures: tuple[str, ...] = ()
    rows: tuple[str, ...] = ()
    columns: tuple[str, ...] = ()
    filters: tuple[tuple[str, tuple[str, ...]], ...] = ()
    segment: str | None = None
    first: str | None = None  # a year (or YYYY-MM from a request saved through the API)
    last: str | None = None
    compare: bool = False
    municipality: str | None = None
    chart: str | None = None
    geography: str | None = None  # "as_it_was", a day "2027-01-01" (as of it), None: the default
    cohort: str | None = None  # the population is this cohort's persons (Advanced)

    def filter_values(self, dimension: str) -> tuple[str, ...]:
        return dict(self.filters).get(dimension, ())

    def measures_or_default(self, catalog: Catalog) -> tuple[str, ...]:
        perspective = catalog.perspectives.get(self.perspective)
        if self.measures or perspective is None:
            return self.measures
        return perspective.default_measures

    def to_request(self, catalog: Catalog) -> dict[str, Any]:
        """The analysis request (JSON form) this state asks for; no measure: the perspective's default."""
        raw: dict[str, Any] = {
            "perspective": self.perspective,
            "measures": list(self.measures_or_default(catalog)),
            "rows": list(self.rows),
            "columns": list(self.columns),
            "filters": {d: list(v) for d, v in self.filters},
        }
        if self.segment:
            raw["segment"] = self.segment
        if self.cohort:
            raw["cohort"] = self.cohort
        if self.first or self.last:
            raw["period"] = {"from": self.first or self.last, "to": self.last or self.first}
        if self.compare:
            code = self.municipality
            raw["comparison"] = {"municipality": int(code)} if code and code.isdigit() else True
        if self.geography:
            raw["geography"] = self.geography if self.geography == AS_IT_WAS else {"as_of": self.geography}
        return raw

    def query(self, **extra: str) -> str:
        """The URL query of this state (plus ``extra`` parameters such as ``format``)."""
        pairs: list[tuple[str, str]] = [("perspective", self.perspective)]
        pairs += [("measure", m) for m in self.measures]
        pairs += [("row", d) for d in self.rows]
        pairs += [("column", d) for d in self.columns]
        pairs += [(FILTER_PREFIX + d, v) for d, values in self.filters for v in values]
        optional = {
            "segment": self.segment,
            "cohort": self.cohort,
            "from": self.first,
            "to": self.last,
            "compare": "1" if self.compare else None,
            "municipality": self.municipality if self.compare else None,
            "chart": self.chart,
            "geography": self.geography,
        }
        pairs += [(k, v) for k, v in optional.items() if v]
        pairs += list(extra.items())
        return urlencode(pairs)


def from_query(items: Iterable[tuple[str, str]], latest_year: int | None = None) -> BuilderState:
    """The state of a builder address. Without a perspective, the opening analysis: somatic
    admissions by municipality in the latest year."""
    multi: dict[str, list[str]] = {}
    for key, value in items:
        if value.strip():
            # Masked as read: the state is echoed (links, hidden fields, problem texts), and a
            # CPR-shaped value is never a member, a year or an id anyway.
            multi.setdefault(mask_text(key), []).append(mask_text(value.strip()))

    def one(key: str) -> str | None:
        return multi.get(key, [None])[0]

    def many(key: str) -> tuple[str, ...]:
        return tuple(dict.fromkeys(multi.get(key, [])))

    perspective = one("perspective")
    if perspective is None:
        year = str(latest_year) if latest_year else None
        return BuilderState(DEFAULT_PERSPECTIVE, rows=DEFAULT_ROWS, first=year, last=year)
    filters = tuple(
        sorted((k[len(FILTER_PREFIX) :], many(k)) for k in multi if k.startswith(FILTER_PREFIX) and len(k) > 2)
    )
    return BuilderState(
        perspective=perspective,
        measures=many("measure"),
        rows=many("row"),
        columns=many("column"),
        filters=filters,
        segment=one("segment"),
        first=one("from"),
        last=one("to"),
        compare=one("compare") in ("1", "on", "true"),
        municipality=one("municipality"),
        chart=one("chart"),
        geography=one("geography"),
        cohort=one("cohort"),
    )


def from_request(raw: Mapping[str, Any]) -> BuilderState:
    """The builder state of a (canonical) analysis request, e.g. a saved analysis being opened."""
    period = raw.get("period") or {}
    comparison = raw.get("comparison") or False
    municipality = comparison.get("municipality") if isinstance(comparison, Mapping) else None
    filters = raw.get("filters") or {}
    geography = raw.get("geography")
    return BuilderState(
        perspective=str(raw["perspective"]),
        measures=tuple(raw.get("measures") or ()),
        rows=tuple(raw.get("rows") or ()),
        columns=tuple(raw.get("columns") or ()),
        filters=tuple(sorted((d, tuple(_text(v) for v in values)) for d, values in filters.items())),
        segment=raw.get("segment"),
        first=period.get("from"),
        last=period.get("to"),
        compare=bool(comparison),
        municipality=str(municipality) if municipality is not None else None,
        geography=str(geography["as_of"]) if isinstance(geography, Mapping) else geography,
        cohort=raw.get("cohort"),
    )


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def fitted(state: BuilderState, catalog: Catalog) -> BuilderState:
    """Measures of another perspective are dropped: the form keeps the old perspective's ticked
    measures when the perspective changes, and the page then shows the new perspective's default
    rather than an error. The chart measure must be one of the measures shown."""
    perspective = state.perspective
    measures = tuple(
        m for m in state.measures if m in catalog.measures and perspective in catalog.measures[m].perspectives
    )
    state = replace(state, measures=measures)
    shown = state.measures_or_default(catalog)
    chart = state.chart if state.chart in shown else (shown[0] if shown else None)
    return replace(state, chart=chart)


MUNICIPALITY = "kommune"
DRILL_ROWS = ("aar",)  # a municipality alone, with no other breakdown, is shown year by year


def drill_down(state: BuilderState, code: int) -> BuilderState:
    """The same analysis for one municipality (a map area's link): filtered to it, without the
    municipality among the rows; years as the rows when nothing else would break it down."""
    filters = tuple(sorted([*((d, v) for d, v in state.filters if d != MUNICIPALITY), (MUNICIPALITY, (str(code),))]))
    rows = tuple(d for d in state.rows if d != MUNICIPALITY)
    if not rows and not state.columns:
        rows = DRILL_ROWS
    return replace(state, rows=rows, filters=filters, compare=False, municipality=None)
