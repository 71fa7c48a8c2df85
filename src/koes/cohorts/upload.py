"""One uploaded file, from bytes to members and a report; the whole file or nothing.

``read_cohort_file`` streams the file once (twice for a CSV: the encoding pass first), keeps
the first rows to find the layout, then checks every row. Members carry pseudonyms only: the
CPR number of a row lives for the few lines that validate and pseudonymise it.
``link_members`` then links the members to a release. A refusal raises
:class:`~koes.cohorts.limits.UploadRefused` and leaves nothing behind.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from itertools import chain
from typing import Any, BinaryIO

from koes.cohorts import csvfile
from koes.cohorts.cells import SourceRow
from koes.cohorts.layout import Layout, column_letter, find_layout
from koes.cohorts.limits import UploadLimits
from koes.cohorts.linkage import LinkingEngine, link
from koes.cohorts.report import Linked, ReportBuilder, ValidationReport
from koes.cohorts.rows import Member, RowChecker
from koes.cohorts.source import FileKind, sniff
from koes.cohorts.xlsxfile import Merge, Workbook, XlsxReader
from koes.privacy.pseudonymisation import Pseudonymiser


@dataclass
class CheckedFile:
    """A file read and checked: its members, and what the report needs."""

    members: list[Member]
    source: dict[str, Any]
    layout: Layout
    builder: ReportBuilder
    groups: dict[str, int] = field(default_factory=dict)
    linked: Linked | None = None

    def report(self) -> ValidationReport:
        return self.builder.build(
            source=self.source,
            columns=_columns(self.layout),
            layout_notes=self.layout.notes,
            header_line=self.layout.header_line,
            preamble_lines=self.layout.preamble_lines,
            rows_kept=len(self.members),
            groups=self.groups,
            linked=self.linked,
        )


def read_cohort_file(
    stream: BinaryIO,
    *,
    pseudonymiser: Pseudonymiser,
    today: date,
    limits: UploadLimits | None = None,
    sheet: str | None = None,
) -> CheckedFile:
    """Read, check and pseudonymise; raises ``UploadRefused`` when the whole file is refused."""
    limits = limits or UploadLimits()
    kind = sniff(stream, limits)
    reader: XlsxReader | None = None
    workbook: Workbook | None = None
    merges: tuple[Merge, ...] = ()
    try:
        if kind is FileKind.XLSX:
            reader = XlsxReader(stream, limits)
            workbook = reader.open_sheet(sheet)
            rows = reader.rows(workbook)
            source = workbook.describe()
            merges = workbook.merges
        else:
            fmt = csvfile.detect_format(stream)
            rows = csvfile.read_rows(stream, fmt)
            source = fmt.describe()
        sample, rest = _sample(rows, limits.sample_rows)
        layout = find_layout(sample, merges)
        builder = ReportBuilder()
        checker = RowChecker(layout, pseudonymiser, today, limits, builder)
        skip_to = layout.header_line or 0
        for row in chain(sample, rest):
            if row.line > skip_to:
                checker.check(row)
        checker.finish()
    finally:
        if reader is not None:
            reader.close()
    kept = {m.line for m in checker.members}
    for line in sorted(set(workbook.formula_lines if workbook else ())):  # filled while the rows were read
        if line in kept:
            builder.note(line, "formula_value")
    return CheckedFile(checker.members, source, layout, builder, dict(sorted(checker.groups.items())))


def link_members(
    checked: CheckedFile, engine: LinkingEngine, municipality: int, reference_date: date, last_day: date | None = None
) -> CheckedFile:
    members, linked = link(checked.members, engine, municipality, reference_date, checked.builder, last_day)
    groups: dict[str, int] = {}
    for m in members:
        if m.group is not None:
            groups[m.group] = groups.get(m.group, 0) + 1
    return CheckedFile(members, checked.source, checked.layout, checked.builder, dict(sorted(groups.items())), linked)


def _sample(rows: Iterator[SourceRow], size: int) -> tuple[list[SourceRow], Iterator[SourceRow]]:
    """The first rows up to ``size`` with content (and the empty ones between them), and the rest."""
    sample: list[SourceRow] = []
    filled = 0
    for row in rows:
        sample.append(row)
        filled += not row.empty
        if filled >= size:
            break
    return sample, rows


def _columns(layout: Layout) -> list[dict[str, Any]]:
    role_of = {p: role for role, p in layout.roles.items()}
    return [
        {"position": p + 1, "letter": column_letter(p), "header": h, "role": role_of.get(p, "ignored")}
        for p, h in enumerate(layout.headers)
    ]
