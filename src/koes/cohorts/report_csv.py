"""The validation report as a CSV download: one row per finding, for Danish Excel by default.

UTF-8 with a byte order mark and ``;`` (what Danish Excel opens as columns), like every other
download of KØS. The rows: the counts first (``summary``), then each refused line with its
category, reason and masked shape, then each noted line. Never a CPR number: the report never
held one.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from koes.cohorts.messages import message
from koes.cohorts.report import ValidationReport

HEADER = {
    "da": ["afsnit", "linje", "kategori", "grund", "maskeret form", "antal"],
    "en": ["section", "line", "category", "reason", "masked form", "count"],
}


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def report_csv(report: ValidationReport, language: str = "da", delimiter: str = ";") -> str:
    out = io.StringIO()
    writer = _Writer(csv.writer(out, delimiter=delimiter, lineterminator="\r\n"))
    writer.writerow(HEADER[language])
    for code, count in (
        ("rows_read", report.rows_read),
        ("rows_kept", report.rows_kept),
        ("rows_refused", report.rows_refused),
    ):
        writer.writerow(["summary", "", code, message(code, language), "", count])
    if report.linked is not None:
        writer.writerow(
            ["summary", "", "own_citizens", message("own_citizens", language), "", report.linked.own_citizens]
        )
    for r in report.refused:
        writer.writerow(["refused", r.line, r.category, r.reason(language), r.masked, ""])
    for category, lines in report.notes.items():
        for line in lines:
            writer.writerow(["note", line, category, message(category, language), "", ""])
    return "\ufeff" + out.getvalue()


class _Writer:
    """Text that Excel would read as a formula (a masked ``-###`` or a header the user wrote) gets a
    leading apostrophe: the file is opened, never evaluated."""

    def __init__(self, writer: Any) -> None:
        self.writer = writer

    def writerow(self, row: Sequence[object]) -> None:
        self.writer.writerow([f"'{v}" if isinstance(v, str) and v.startswith(FORMULA_START) else v for v in row])
