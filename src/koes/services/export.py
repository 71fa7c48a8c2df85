"""Downloads of an analysis result: CSV (UTF-8 with BOM, ``,`` or ``;``) and XLSX.

Exports obey the same rules as the JSON API: view-only measures are left out, a view-only
dimension in the rows or columns refuses the whole download (naming the field), and suppressed
cells are written as their display text (``<5``, ``x``), never as 0 or an empty cell. Every file
carries the provenance stamp and the suppression note, so a number keeps its context after it
has left KØS.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from koes.query.request import FieldProblem, RequestError, parse_request
from koes.semantic.definitions import definition
from koes.semantic.loader import default_catalog
from koes.semantic.members import label_of
from koes.semantic.model import Catalog, Measure, Unit
from koes.services.results import AnalysisResult

FORMATS = ("csv", "xlsx")
DELIMITERS = (",", ";")
SHOWN, FULL = "shown", "full"
PRECISIONS = (SHOWN, FULL)
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
TABLE_SHEET = "Tabel"
ABOUT_SHEET = "Om tallene"
# A hidden amount says so in words, as on the pages: "<5" next to kroner reads as "under 5 kroner".
KRONER = frozenset({Unit.KR, Unit.KR_PER_CITIZEN})
VIEW_ONLY = "dimension {id!r} is view-only: it can be shown but not downloaded"

_ABOUT_TITLES: dict[str, dict[str, str]] = {
    "da": {
        "title": "Om tallene",
        "population": "Population",
        "everyone": "Alle borgere",
        "cohort": "Kohorte",
        "definition": "Definition",
        "perspective": "Perspektiv",
        "period": "Periode",
        "release": "Udgivelse",
        "extract_period": "Udtræksperiode",
        "geography": "Geografi",
        "cofinancing": "Medfinansieringsregler",
        "rule_versions": "Regelversioner",
        "suppression_rule": "Diskretionering",
        "suppression": "Regel",
        "cells_suppressed": "Skjulte celler",
        "note": "Tegn",
        "exact_figures": "Eksakte tal",
        "engine": "Motor",
        "scope": "Adgang (fingeraftryk)",
        "generated_at": "Dannet",
        "left_out": "Udeladt (kun visning)",
        "hidden_amount": "skjult",
        "hidden_amount_note": "Et skjult beløb i kroner står som »skjult« (af samme grunde som <5 og x).",
        "yes": "ja",
        "no": "nej",
    },
    "en": {
        "title": "About the figures",
        "population": "Population",
        "everyone": "All citizens",
        "cohort": "Cohort",
        "definition": "Definition",
        "perspective": "Perspective",
        "period": "Period",
        "release": "Release",
        "extract_period": "Extract period",
        "geography": "Geography",
        "cofinancing": "Co-financing rules",
        "rule_versions": "Rule versions",
        "suppression_rule": "Disclosure control",
        "suppression": "Rule",
        "cells_suppressed": "Hidden cells",
        "note": "Signs",
        "exact_figures": "Exact figures",
        "engine": "Engine",
        "scope": "Access (fingerprint)",
        "generated_at": "Generated",
        "left_out": "Left out (view only)",
        "hidden_amount": "hidden",
        "hidden_amount_note": "A hidden amount in kroner reads “hidden” (for the same reasons as <5 and x).",
        "yes": "yes",
        "no": "no",
    },
}


@dataclass(frozen=True)
class Export:
    content: bytes
    media_type: str
    filename: str


def check_downloadable(raw: object, catalog: Catalog) -> None:
    """Refuse, before anything runs, a request whose rows or columns hold a view-only dimension.

    Raises ``RequestError`` (every problem with its field): the request's own problems first, as
    ``AnalysisService.run`` would report them, then each view-only dimension (``rows[0]``).
    """
    request = parse_request(raw, catalog)
    problems = [
        FieldProblem(f"{axis}[{i}]", VIEW_ONLY.format(id=dimension_id))
        for axis, ids in (("rows", request.rows), ("columns", request.columns))
        for i, dimension_id in enumerate(ids)
        if not catalog.dimensions[dimension_id].downloadable
    ]
    if not any(catalog.measures[m].downloadable for m in request.measures):
        problems.append(FieldProblem("measures", "every requested measure is view-only: nothing can be downloaded"))
    if problems:
        raise RequestError(problems)


def result_problems(result: AnalysisResult) -> list[FieldProblem]:
    """The same check on a result (for callers that hold a result, not a request)."""
    problems = [
        FieldProblem(f"{axis}[{i}]", VIEW_ONLY.format(id=d.id))
        for axis, dims in (("rows", result.plan.rows), ("columns", result.plan.columns))
        for i, d in enumerate(dims)
        if not d.downloadable
    ]
    if not downloadable_measures(result):
        problems.append(FieldProblem("measures", "every requested measure is view-only: nothing can be downloaded"))
    return problems


def downloadable_measures(result: AnalysisResult) -> list[Measure]:
    return [m for m in result.measures if m.downloadable]


def export(
    result: AnalysisResult,
    fmt: str,
    language: str = "da",
    delimiter: str = ",",
    precision: str = FULL,
    heading: Sequence[tuple[str, str]] = (),
) -> Export:
    """The result as a file; raises ``RequestError`` when it holds anything view-only. ``precision``
    ``shown`` writes each CSV number with its measure's decimals, as the page shows it (``132,3``,
    not ``132,272852``); ``full`` as computed (an XLSX holds full values formatted as shown)."""
    if fmt not in FORMATS:
        raise RequestError([FieldProblem("format", f"{fmt!r} is not one of {', '.join(FORMATS)}")])
    if precision not in PRECISIONS:
        raise RequestError([FieldProblem("precision", f"{precision!r} is not one of {', '.join(PRECISIONS)}")])
    if fmt == "csv":
        content = to_csv(result, language, delimiter, precision, heading)
    else:
        content = to_xlsx(result, language, heading)
    return Export(content, MEDIA_TYPES[fmt], filename(result, fmt))


def filename(result: AnalysisResult, fmt: str) -> str:
    release = _safe(result.provenance.release_id)
    return f"koes-analyse-{release}-{_safe(result.request.perspective)}.{fmt}"


def table(result: AnalysisResult, language: str = "da") -> list[list[Any]]:
    """The downloadable table (header row first); raises ``RequestError`` on view-only content."""
    problems = result_problems(result)
    if problems:
        raise RequestError(problems)
    rows = result.table(language, downloadable_only=True)
    measures = downloadable_measures(result)
    labels = (1 if result.plan.areas else 0) + len(result.plan.rows)
    word = _ABOUT_TITLES["en" if language == "en" else "da"]["hidden_amount"]
    amounts = [j for j in range(labels, len(rows[0])) if measures[(j - labels) % len(measures)].unit in KRONER]
    for line in rows[1:]:
        for j in amounts:
            if isinstance(line[j], str):  # a hidden cell's mark ("<5", "x"); numbers and empty cells stay
                line[j] = word
    return rows


def population_text(result: AnalysisResult, language: str = "da", catalog: Catalog | None = None) -> str:
    """Whom the figures cover, in words: the citizen group (segment), the cohort and every filter
    with its members' labels ("Borgere 65+; Køn: Kvinder; Aldersgruppe: 65+ år"), or all citizens."""
    t = _ABOUT_TITLES["en" if language == "en" else "da"]
    catalog = catalog or default_catalog()
    request = result.request
    parts = []
    if request.segment:
        segment = catalog.segments.get(request.segment)
        parts.append(segment.label.get(language) if segment else request.segment)
    if request.cohort:
        parts.append(f"{t['cohort']} {request.cohort}")
    for dimension_id, values in request.filters:
        dimension = catalog.dimensions.get(dimension_id)
        if dimension is None:
            parts.append(f"{dimension_id}: {', '.join(str(v) for v in values)}")
            continue
        names = ", ".join(label_of(dimension, v, language) for v in values)
        parts.append(f"{dimension.label.get(language)}: {names}")
    return "; ".join(parts) if parts else t["everyone"]


def about(
    result: AnalysisResult,
    language: str = "da",
    heading: Sequence[tuple[str, str]] = (),
    catalog: Catalog | None = None,
) -> list[tuple[str, str]]:
    """What the figures are, then the provenance stamp and the suppression note, as (title, text)
    lines: ``heading`` (a report's name and variant), the population, each measure's definition."""
    t = _ABOUT_TITLES["en" if language == "en" else "da"]
    p = result.provenance
    left_out = [m.label.get(language) for m in result.measures if not m.downloadable]
    lines = [
        *heading,
        (t["population"], population_text(result, language, catalog)),
        *(
            (f"{t['definition']}: {m.label.get(language)}", definition(m, language))
            for m in downloadable_measures(result)
        ),
        (t["perspective"], result.request.perspective),
        (t["period"], str(result.plan.period)),
        (t["release"], p.release_id),
        (t["extract_period"], p.extract_period),
        (t["geography"], p.geography.get(language) or p.geography.get("da", "")),
        (t["cofinancing"], p.cofinancing.get(language) or p.cofinancing.get("da", "")),
        (t["rule_versions"], ", ".join(f"{k} {v}" for k, v in sorted(p.rule_versions.items()))),
        (t["suppression_rule"], p.suppression_rule),
        (t["suppression"], p.suppression_description(language)),
        (t["cells_suppressed"], str(result.cells_suppressed)),
        (t["note"], p.note(language)),
        (t["exact_figures"], t["yes"] if p.exact else t["no"]),
        (t["engine"], p.engine),
        (t["scope"], p.scope),
        (t["generated_at"], p.generated_at),
    ]
    if any(m.unit in KRONER for m in downloadable_measures(result)):
        lines.append((t["hidden_amount"], t["hidden_amount_note"]))
    if left_out:
        lines.append((t["left_out"], ", ".join(left_out)))
    return lines


def to_csv(
    result: AnalysisResult,
    language: str = "da",
    delimiter: str = ",",
    precision: str = FULL,
    heading: Sequence[tuple[str, str]] = (),
) -> bytes:
    """UTF-8 with BOM (so Excel reads æøå); with ``;`` numbers get decimal commas."""
    if delimiter not in DELIMITERS:
        raise RequestError([FieldProblem("delimiter", f"{delimiter!r} is not one of {' '.join(DELIMITERS)}")])
    rows = table(result, language)
    decimal = "," if delimiter == ";" else "."
    labels = (1 if result.plan.areas else 0) + len(result.plan.rows)
    measures = downloadable_measures(result)
    places: list[int | None] = [None] * labels
    places += [
        measures[j % len(measures)].decimals if precision == SHOWN else None for j in range(len(rows[0]) - labels)
    ]
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(rows[0])
    for line in rows[1:]:
        writer.writerow([number_text(v, decimal, d) for v, d in zip(line, places, strict=True)])
    writer.writerow([])
    writer.writerow([_ABOUT_TITLES["en" if language == "en" else "da"]["title"]])
    for title, text in about(result, language, heading):
        writer.writerow([title, text])
    return out.getvalue().encode("utf-8-sig")


def to_xlsx(result: AnalysisResult, language: str = "da", heading: Sequence[tuple[str, str]] = ()) -> bytes:
    """The table on sheet "Tabel" (bold, frozen header), provenance on sheet "Om tallene"."""
    rows = table(result, language)
    measures = downloadable_measures(result)
    labels = (1 if result.plan.areas else 0) + len(result.plan.rows)
    book = Workbook()
    sheet = book.active
    assert isinstance(sheet, Worksheet)  # a new workbook has one worksheet
    sheet.title = TABLE_SHEET
    for line in rows:
        sheet.append(list(line))
    bold = Font(bold=True)
    for cell in sheet[1]:
        cell.font = bold
    sheet.freeze_panes = "A2"
    for j in range(labels, len(rows[0])):
        measure = measures[(j - labels) % len(measures)]
        number_format = "#,##0" if measure.decimals == 0 else "#,##0." + "0" * measure.decimals
        for (cell,) in sheet.iter_rows(min_row=2, min_col=j + 1, max_col=j + 1):
            if isinstance(cell.value, int | float):
                cell.number_format = number_format
    _widths(sheet, rows)
    notes = book.create_sheet(ABOUT_SHEET)
    notes.append([_ABOUT_TITLES["en" if language == "en" else "da"]["title"]])
    notes["A1"].font = bold
    for title, text in about(result, language, heading):
        notes.append([title, text])
    notes.column_dimensions["A"].width = 24
    notes.column_dimensions["B"].width = 100
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _widths(sheet: Worksheet, rows: Sequence[Sequence[Any]]) -> None:
    for j in range(len(rows[0])):
        longest = max(len(str(line[j])) if line[j] is not None else 0 for line in rows)
        sheet.column_dimensions[get_column_letter(j + 1)].width = min(max(10, longest + 2), 60)


def number_text(value: Any, decimal: str = ".", decimals: int | None = None) -> str:
    """A table value as CSV text: no exponent, ``decimal`` as the separator; with ``decimals`` exactly
    that many places (what the page shows), else at most 6."""
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if decimals is not None:
        text = f"{value:.{decimals}f}"
        return (text.lstrip("-") if float(text) == 0 else text).replace(".", decimal)  # no "-0,0"
    if isinstance(value, int):
        return str(value)
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    if text in ("-0", ""):
        text = "0"
    return text.replace(".", decimal)


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text) or "x"
