"""Published analysis results: protected blocks, labels and the provenance stamp.

This is the only shape that leaves the services: the JSON API, the CLI, exports and (later) the
web pages all render an ``AnalysisResult``. A suppressed cell is always explicit: its value is
``null`` with a status (``primary`` shows ``<5``, ``secondary`` and ``derived`` show ``x``), never
0 and never left out. A measure that no longer applies (co-financing after 2026) is as explicit:
status ``not_applicable``, shown as "ikke relevant efter 2026", not as 0.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from koes.domain.cells import TOTAL, CellKey
from koes.query.assemble import Number
from koes.query.plan import Plan
from koes.query.request import AnalysisRequest
from koes.semantic.members import label_of
from koes.semantic.model import Dimension, Measure, TimeUnit
from koes.services.disclosure import CellStatus, ProtectedBlock

TOTAL_LABEL = {"da": "I alt", "en": "Total"}
AREA_LABEL = {"da": "Område", "en": "Area"}
NOT_APPLICABLE = "not_applicable"
NOT_APPLICABLE_LABEL = {"da": "ikke relevant efter {year}", "en": "not applicable after {year}"}
YEAR_DIVISORS: dict[str, int] = {TimeUnit.YEAR: 1, TimeUnit.QUARTER: 10, TimeUnit.MONTH: 100}  # of a member to its year


@dataclass(frozen=True)
class Provenance:
    release_id: str
    extract_period: str
    rule_versions: Mapping[str, str]
    suppression_rule: str
    suppression_descriptions: Mapping[str, str]  # language → sentence
    engine: str
    generated_at: str
    scope: str
    exact: bool
    method: str = "suppression"  # perturbation | suppression (koes.services.disclosure)
    notes: Mapping[str, str] = field(default_factory=dict)  # language → what <5 and x mean
    geography: Mapping[str, str] = field(default_factory=dict)  # language → which regions (koes.query.geography)
    cofinancing: Mapping[str, str] = field(default_factory=dict)  # language → each year's co-financing rule

    def suppression_description(self, language: str = "da") -> str:
        return self.suppression_descriptions.get(language) or self.suppression_descriptions["da"]

    def note(self, language: str = "da") -> str:
        return self.notes.get(language) or self.notes.get("da", "")

    def to_json(self, language: str = "da") -> dict[str, Any]:
        return {
            "release_id": self.release_id,
            "extract_period": self.extract_period,
            "rule_versions": dict(self.rule_versions),
            "suppression_rule": self.suppression_rule,
            "suppression": self.suppression_description(language),
            "disclosure_method": self.method,
            "engine": self.engine,
            "generated_at": self.generated_at,
            "scope": self.scope,
            "exact_figures": self.exact,
            "geography": self.geography.get(language) or self.geography.get("da", ""),
            "cofinancing_rules": self.cofinancing.get(language) or self.cofinancing.get("da", ""),
        }


@dataclass(frozen=True)
class AnalysisResult:
    request: AnalysisRequest
    plan: Plan
    blocks: tuple[ProtectedBlock, ...]
    provenance: Provenance
    purpose: str | None = None  # the purpose of the request's cohort: recorded with every use

    @property
    def measures(self) -> tuple[Measure, ...]:
        return self.plan.measures

    @property
    def cells_suppressed(self) -> int:
        return sum(len(marks) for b in self.blocks for m, marks in b.hidden.items() if m in self.request.measures)

    @property
    def cells_returned(self) -> int:
        return sum(len(b.cells()) for b in self.blocks) * len(self.measures)

    def cell(self, block: ProtectedBlock, measure: Measure, key: CellKey, language: str = "da") -> dict[str, Any]:
        if measure.applies_until is not None and max(self._years(block, key)) > measure.applies_until:
            text = NOT_APPLICABLE_LABEL["en" if language == "en" else "da"].format(year=measure.applies_until)
            return {"value": None, "status": NOT_APPLICABLE, "display": text}
        status = block.status(measure.id, key)
        if status is not None:
            return {"value": None, "status": status, "display": display_hidden(status)}
        value = block.values[measure.id].get(key)
        out: dict[str, Any] = {"value": json_number(value), "status": "ok" if value is not None else "none"}
        interval = block.intervals.get(measure.id, {}).get(key)
        if interval is not None:
            out["ci95"] = [round(interval[0], 6), round(interval[1], 6)]
        return out

    def _years(self, block: ProtectedBlock, key: CellKey) -> set[int]:
        """The years a cell covers: its year, quarter or month, else the plan's period. A cell that
        reaches past a measure's last year is not applicable (its figure would mix the schemes)."""
        years = set(self.plan.period.years)
        r, c = key
        for dims, keys, index in ((self.plan.rows, block.row_keys, r), (self.plan.columns, block.col_keys, c)):
            if index == TOTAL:
                continue
            for dimension, value in zip(dims, keys[index], strict=True):
                divisor = YEAR_DIVISORS.get(dimension.id)
                if divisor is not None and value is not None:
                    years = {int(value) // divisor}
        return years

    def to_json(self, language: str = "da", *, downloadable_only: bool = False) -> dict[str, Any]:
        measures = [m for m in self.measures if m.downloadable or not downloadable_only]
        return {
            "request": self.request.to_json(),
            "language": language,
            "measures": [_measure_json(m, language) for m in measures],
            "rows": [_dimension_json(d, language) for d in self.plan.rows],
            "columns": [_dimension_json(d, language) for d in self.plan.columns],
            "blocks": [self._block_json(b, measures, language) for b in self.blocks],
            "suppression": {
                "cells_suppressed": self.cells_suppressed,
                "note": self.provenance.note(language),
                "rule": self.provenance.suppression_description(language),
            },
            "provenance": self.provenance.to_json(language),
        }

    def _block_json(self, block: ProtectedBlock, measures: list[Measure], language: str) -> dict[str, Any]:
        b = block
        area = b.area
        return {
            "area": None
            if area is None
            else {"id": area.id, "label": area.label_en if language == "en" else area.label_da},
            # Exact (individual-level rights over only the user's own citizens) or protected figures.
            "exact_figures": block.exact,
            "rows": _axis_json(self.plan.rows, b.row_keys, language),
            "columns": _axis_json(self.plan.columns, b.col_keys, language),
            "cells": self._cells_json(block, measures, language),
        }

    def _cells_json(self, block: ProtectedBlock, measures: list[Measure], language: str) -> list[dict[str, Any]]:
        """Every cell's ``cell`` for every measure: the lookups per measure hoisted out of the cells
        (a monthly table has tens of thousands of cells, and this is most of a response's time)."""
        columns = [(m.id, self._column(block, m, language)) for m in measures]
        return [
            {
                "row": "total" if r == TOTAL else r,
                "column": "total" if c == TOTAL else c,
                "values": {measure: column((r, c)) for measure, column in columns},
            }
            for r, c in block.cells()
        ]

    def _column(self, block: ProtectedBlock, measure: Measure, language: str) -> Callable[[CellKey], dict[str, Any]]:
        """``cell`` for one measure of ``block``, with what every cell looks up found once."""
        if measure.applies_until is not None or measure.id not in block.values:
            return lambda key: self.cell(block, measure, key, language)
        hidden = block.hidden.get(measure.id, {})
        values = block.values[measure.id]
        intervals = block.intervals.get(measure.id, {})

        def cell(key: CellKey) -> dict[str, Any]:
            status = hidden.get(key)
            if status is not None:
                return {"value": None, "status": status, "display": display_hidden(status)}
            value = values.get(key)
            out: dict[str, Any] = {"value": json_number(value), "status": "ok" if value is not None else "none"}
            interval = intervals.get(key)
            if interval is not None:
                out["ci95"] = [round(interval[0], 6), round(interval[1], 6)]
            return out

        return cell

    def table(self, language: str = "da", *, downloadable_only: bool = False) -> list[list[Any]]:
        """The pivot as a rectangle (header row first): what CSV, XLSX and the CLI print."""
        measures = [m for m in self.measures if m.downloadable or not downloadable_only]
        first = self.blocks[0]
        col_keys = [*range(len(first.col_keys)), TOTAL]
        header: list[Any] = []
        if self.plan.areas:
            header.append(AREA_LABEL[language])
        header += [d.label.get(language) for d in self.plan.rows]
        for c in col_keys:
            for m in measures:
                header.append(_column_title(self.plan.columns, first.col_keys, c, m, language))
        out = [header]
        for block in self.blocks:
            for r, labels in _row_labels(self.plan.rows, block.row_keys, language):
                line: list[Any] = []
                if self.plan.areas and block.area is not None:
                    area = block.area
                    line.append(area.label_en if language == "en" else area.label_da)
                line += labels
                for c in col_keys:
                    for m in measures:
                        cell = self.cell(block, m, (r, c), language)
                        line.append(cell["display"] if cell["status"] not in ("ok", "none") else cell["value"])
                out.append(line)
        return out


def display_hidden(status: str) -> str:
    return "<5" if status == CellStatus.PRIMARY else "x"


def json_number(value: Number | None) -> int | float | None:
    if value is None:
        return None
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else round(float(value), 6)
    if isinstance(value, float):
        return round(value, 6)
    return int(value)


def _measure_json(measure: Measure, language: str) -> dict[str, Any]:
    out = {
        "id": measure.id,
        "label": measure.label.get(language),
        "unit": measure.unit.value,
        "decimals": measure.decimals,
        "downloadable": measure.downloadable,
    }
    if measure.applies_until is not None:  # later cells are "not_applicable", not 0
        out["applies_until"] = measure.applies_until
    if measure.time_unit is not None:  # a rate over time: per citizen (or 1,000) and this unit
        out["time_unit"] = measure.time_unit.value
    return out


def _dimension_json(dimension: Dimension, language: str) -> dict[str, Any]:
    return {"id": dimension.id, "label": dimension.label.get(language), "downloadable": dimension.downloadable}


def _axis_json(dims: tuple[Dimension, ...], keys: tuple[tuple[Any, ...], ...], language: str) -> list[dict[str, Any]]:
    return [
        {"key": list(key), "labels": [label_of(d, v, language) for d, v in zip(dims, key, strict=True)]} for key in keys
    ]


def _row_labels(
    dims: tuple[Dimension, ...], keys: tuple[tuple[Any, ...], ...], language: str
) -> Iterator[tuple[int, list[str]]]:
    for i, key in enumerate(keys):
        yield i, [label_of(d, v, language) for d, v in zip(dims, key, strict=True)]
    yield TOTAL, [TOTAL_LABEL[language]] + [""] * (len(dims) - 1) if dims else []


def _column_title(
    dims: tuple[Dimension, ...], keys: tuple[tuple[Any, ...], ...], c: int, measure: Measure, language: str
) -> str:
    label = measure.label.get(language)
    if not dims:
        return label
    part = (
        TOTAL_LABEL[language]
        if c == TOTAL
        else " / ".join(label_of(d, v, language) for d, v in zip(dims, keys[c], strict=True))
    )
    return f"{part}: {label}"
