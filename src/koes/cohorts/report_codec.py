"""A validation report kept with its cohort: to plain JSON and back, in no language.

Kept as codes and parameters (not as text), so the report can be shown again in Danish or English
and downloaded. It holds line numbers, reasons and masked shapes, never a CPR number.
"""

from __future__ import annotations

import json
from typing import Any

from koes.cohorts.report import Linked, Refusal, ValidationReport

VERSION = 1


def dump_report(report: ValidationReport) -> str:
    record: dict[str, Any] = {
        "v": VERSION,
        "source": dict(report.source),
        "columns": [dict(c) for c in report.columns],
        "layout_notes": list(report.layout_notes),
        "header_line": report.header_line,
        "preamble_lines": list(report.preamble_lines),
        "empty_rows": report.empty_rows,
        "rows_read": report.rows_read,
        "rows_kept": report.rows_kept,
        "refused": [[r.line, r.category, r.code, dict(r.params), r.masked] for r in report.refused],
        "notes": {k: list(v) for k, v in report.notes.items()},
        "groups": dict(report.groups),
        "linked": None if report.linked is None else vars(report.linked),
    }
    return json.dumps(record, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def load_report(text: str) -> ValidationReport:
    record = json.loads(text)
    if record.get("v") != VERSION:
        raise ValueError(f"a kept validation report of version {record.get('v')!r}, not {VERSION}")
    linked = record["linked"]
    return ValidationReport(
        source=record["source"],
        columns=tuple(record["columns"]),
        layout_notes=tuple(record["layout_notes"]),
        header_line=record["header_line"],
        preamble_lines=tuple(record["preamble_lines"]),
        empty_rows=record["empty_rows"],
        rows_read=record["rows_read"],
        rows_kept=record["rows_kept"],
        refused=tuple(
            Refusal(line, category, code, params, shape) for line, category, code, params, shape in record["refused"]
        ),
        notes={k: tuple(v) for k, v in record["notes"].items()},
        groups=record["groups"],
        linked=None if linked is None else Linked(**linked),
    )
