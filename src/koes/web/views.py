"""Protected analysis results as the pages show them: tables, chart series and map areas.

Everything here reads an ``AnalysisResult`` (already scoped and suppressed) and only formats it,
so a table, its chart and its map always show the same cells: a hidden cell is ``<5`` or ``x`` in
the table (``skjult`` for an amount in kroner, the reason on hover), a gap in a chart (never a
zero) and a hatched area on the map.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from koes.domain.cells import TOTAL
from koes.semantic.members import label_of
from koes.semantic.model import TIME_DIMENSIONS, Dimension, Measure
from koes.services.disclosure import ProtectedBlock
from koes.services.export import KRONER  # hidden amounts say "skjult", as in the downloads
from koes.services.results import AnalysisResult
from koes.web.formats import number
from koes.web.i18n import Translator
from koes.web.maps import AreaValue

NONE_TEXT = "–"


@dataclass(frozen=True)
class Cell:
    text: str
    hidden: bool = False
    why: str = ""  # why a hidden cell is hidden (the table shows it on hover)


def hidden_text(display: str, measure: Measure, lang: str) -> str:
    """What a hidden cell shows: ``<5`` or ``x`` for counts, ``skjult``/``hidden`` for amounts in kroner."""
    return Translator(lang)("hidden.amount") if measure.unit in KRONER else display


def hidden_reason(display: str, lang: str) -> str:
    """Why: too few citizens behind it (``<5``), or hidden so that another hidden cell cannot be worked out."""
    return Translator(lang)("hidden.primary" if display == "<5" else "hidden.secondary")


@dataclass(frozen=True)
class Table:
    header: list[str]
    rows: list[list[Cell]]
    label_columns: int  # the leading columns that name a row (area, row dimensions)
    total_rows: frozenset[int] = field(default_factory=frozenset)


@dataclass(frozen=True)
class Shown:
    """One cell of one measure, ready for a page: the number (None when hidden or empty) and its text."""

    value: float | None
    text: str
    hidden: bool
    ci95: tuple[float, float] | None = None


def shown(result: AnalysisResult, block: ProtectedBlock, measure: Measure, key: tuple[int, int], lang: str) -> Shown:
    cell = result.cell(block, measure, key, lang)
    if cell["status"] == "ok":
        interval = cell.get("ci95")
        return Shown(
            float(cell["value"]),
            number(cell["value"], measure.decimals, lang),
            False,
            (interval[0], interval[1]) if interval else None,
        )
    if cell["status"] == "none":
        return Shown(None, NONE_TEXT, False)
    return Shown(None, hidden_text(str(cell["display"]), measure, lang), True)


def table(result: AnalysisResult, lang: str, *, downloadable_only: bool = True) -> Table:
    """The pivot as ``result.table`` lays it out (what CSV and XLSX hold), numbers in the page's format.
    The Analysis builder shows view-only measures too (``downloadable_only=False``): seen, not exported."""
    rect = result.table(lang, downloadable_only=downloadable_only)
    measures = [m for m in result.measures if m.downloadable or not downloadable_only]
    labels = (1 if result.plan.areas else 0) + len(result.plan.rows)
    rows = []
    for line in rect[1:]:
        cells = [Cell(str(v)) for v in line[:labels]]
        for j, value in enumerate(line[labels:]):
            measure = measures[j % len(measures)]
            if isinstance(value, int | float):
                cells.append(Cell(number(value, measure.decimals, lang)))
            elif value is None:
                cells.append(Cell(NONE_TEXT))
            else:
                cells.append(Cell(hidden_text(str(value), measure, lang), True, hidden_reason(str(value), lang)))
        rows.append(cells)
    return Table([str(h) for h in rect[0]], rows, labels, _total_lines(result))


def _total_lines(result: AnalysisResult) -> frozenset[int]:
    """Which lines of ``result.table`` are totals: each block's last line, when there are row dimensions."""
    if not result.plan.rows:
        return frozenset()
    out, start = set(), 0
    for block in result.blocks:
        start += len(block.row_keys) + 1
        out.add(start - 1)
    return frozenset(out)


def map_areas(result: AnalysisResult, measure: Measure, lang: str) -> dict[int, AreaValue]:
    """The municipalities of a result with ``kommune`` as its one row dimension."""
    block = result.blocks[0]
    out = {}
    for r, key in enumerate(block.row_keys):
        s = shown(result, block, measure, (r, TOTAL), lang)
        out[int(key[0])] = AreaValue(s.value, s.text, s.hidden)
    return out


def series_by_area(result: AnalysisResult, measure: Measure, lang: str) -> dict[str, Any]:
    """A line per area (or one line without areas) over the result's column members."""
    traces = []
    columns = result.plan.columns
    for block in result.blocks:
        b = block
        x = [_key_label(columns, key, lang) for key in b.col_keys]
        cells = [shown(result, block, measure, (TOTAL, c), lang) for c in range(len(b.col_keys))]
        traces.append(_trace(_area_name(block, lang, measure), x, cells))
    return {"kind": "line", "traces": traces}


def year_to_date(result: AnalysisResult, measure: Measure, lang: str) -> dict[str, Any]:
    """Running totals by month, one line per year: a hidden month stops its year's line there."""
    block = result.blocks[0]
    by_year: dict[int, list[Shown]] = {}
    for c, key in enumerate(block.col_keys):
        month = int(key[0])
        by_year.setdefault(month // 100, []).append(shown(result, block, measure, (TOTAL, c), lang))
    traces = []
    for year, cells in sorted(by_year.items()):
        running, total, broken = [], 0.0, False
        for cell in cells:
            broken = broken or cell.value is None
            total += cell.value or 0.0
            value = None if broken else total
            text = cell.text if broken else number(total, measure.decimals, lang)
            running.append(Shown(value, text, cell.hidden))
        traces.append(_trace(str(year), [f"{i + 1:02d}" for i in range(len(running))], running))
    return {"kind": "line", "traces": traces}


def comparison(result: AnalysisResult, measure: Measure, lang: str) -> dict[str, Any]:
    """One bar per area; standardised rates carry their 95 % interval."""
    names, cells = [], []
    for block in result.blocks:
        names.append(_area_name(block, lang, measure))
        cells.append(shown(result, block, measure, (TOTAL, TOTAL), lang))
    return {"kind": "bar", "traces": [_trace(measure.label.get(lang), names, cells)], "highlight_first": True}


def breakdown(result: AnalysisResult, measure: Measure, lang: str) -> dict[str, Any]:
    """Grouped bars: the breakdown's members along the axis, one colour per area."""
    chart = series_by_area(result, measure, lang)
    return {"kind": "bar", "traces": chart["traces"]}


def pivot_chart(result: AnalysisResult, measure: Measure, lang: str, most: int = 12) -> dict[str, Any]:
    """The Analysis builder's chart of one measure: areas compared (with a comparison); else one
    line (time across) or bar group per row member over the column members, or one bar per row
    member. At most ``most`` traces (the first rows, in display order); the table holds them all."""
    if result.plan.areas:
        return series_by_area(result, measure, lang) if result.plan.columns else comparison(result, measure, lang)
    block = result.blocks[0]
    b = block
    rows, columns = result.plan.rows, result.plan.columns
    kind = "line" if columns and columns[0].id in TIME_DIMENSIONS else "bar"
    row_names = [_key_label(rows, key, lang) for key in b.row_keys]
    if not columns:
        cells = [shown(result, block, measure, (r, TOTAL), lang) for r in range(len(b.row_keys))]
        x = row_names or [measure.label.get(lang)]
        return {"kind": "bar", "traces": [_trace(measure.label.get(lang), x, cells or [_total(result, measure, lang)])]}
    x = [_key_label(columns, key, lang) for key in b.col_keys]
    lines = list(enumerate(row_names))[:most] if rows else [(TOTAL, measure.label.get(lang))]
    traces = [
        _trace(name, x, [shown(result, block, measure, (r, c), lang) for c in range(len(b.col_keys))])
        for r, name in lines
    ]
    return {"kind": kind, "traces": traces}


def _total(result: AnalysisResult, measure: Measure, lang: str) -> Shown:
    return shown(result, result.blocks[0], measure, (TOTAL, TOTAL), lang)


def _key_label(dims: tuple[Dimension, ...], key: tuple[Any, ...], lang: str) -> str:
    return " / ".join(label_of(d, v, lang) for d, v in zip(dims, key, strict=True))


def _area_name(block: ProtectedBlock, lang: str, measure: Measure) -> str:
    area = block.area
    if area is None:
        return measure.label.get(lang)
    return area.label_en if lang == "en" else area.label_da


def _trace(name: str, x: list[str], cells: list[Shown]) -> dict[str, Any]:
    trace: dict[str, Any] = {
        "name": name,
        "x": x,
        "y": [c.value for c in cells],
        "text": [c.text for c in cells],
    }
    if any(c.ci95 for c in cells):
        trace["ci"] = [list(c.ci95) if c.ci95 else None for c in cells]
    return trace


def measure_of(result: AnalysisResult, measure_id: str) -> Measure:
    for m in result.measures:
        if m.id == measure_id:
            return m
    raise KeyError(measure_id)
