"""Each data row checked and, when its CPR number is valid, turned into a member at once.

The CPR number is pseudonymised as soon as it is known to be valid; duplicates are found by
pseudonym, so no set of CPR numbers is ever built. Every refused row is recorded with its
line and reason; every kept row that needs a word (a restored leading zero, a modulus 11
failure, no index date) is noted by line.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import Enum

from koes.cohorts.cells import SourceRow, Unreadable, as_text, is_blank
from koes.cohorts.dates import read_date
from koes.cohorts.layout import Layout, column_letter
from koes.cohorts.limits import UploadLimits, UploadRefused
from koes.cohorts.normalise import normalise_cpr
from koes.cohorts.report import ReportBuilder, masked
from koes.domain.cpr import mask_cpr
from koes.privacy.pseudonymisation import Pseudonymiser


class Residence(Enum):
    """Where a member stands on the reference date of a release (set by ``linkage``)."""

    UNLINKED = "unlinked"
    RESIDENT = "resident"  # lives in the user's municipality: the user's own citizen
    NOT_RESIDENT = "not_resident"  # kept for aggregate figures only
    DECEASED = "deceased"  # died; last lived in the user's municipality
    EMIGRATED = "emigrated"  # emigrated; last lived in the user's municipality


@dataclass(frozen=True, slots=True)
class Member:
    """A kept row: the pseudonym, never the CPR number."""

    line: int
    pseudonym: str
    birth_date: date
    sex: str  # "1" male, "2" female (code list koen)
    index_date: date | None = None
    group: str | None = None
    reference: str | None = None
    residence: Residence = Residence.UNLINKED

    @property
    def aggregate_only(self) -> bool:
        """Members who are not the user's citizens on the reference date count only in aggregates."""
        return self.residence is not Residence.RESIDENT


class RowChecker:
    def __init__(
        self, layout: Layout, pseudonymiser: Pseudonymiser, today: date, limits: UploadLimits, report: ReportBuilder
    ) -> None:
        self.layout = layout
        self.pseudonymiser = pseudonymiser
        self.today = today
        self.limits = limits
        self.report = report
        self.members: list[Member] = []
        self.text_cells = 0
        self.groups: dict[str, int] = {}
        self._first_line: dict[str, int] = {}
        self._label_columns = [
            (i, layout.roles[role]) for i, role in enumerate(("group", "reference")) if role in layout.roles
        ]

    def check(self, row: SourceRow) -> None:
        cell = row.cell(self.layout.cpr)
        if is_blank(cell) and row.empty:
            self.report.empty_rows += 1
            return
        self.report.rows_read += 1
        if self.report.rows_read > self.limits.max_rows:
            raise UploadRefused("too_many_rows", limit=self.limits.max_rows)
        outcome = normalise_cpr(cell)
        self.text_cells += outcome.text
        if outcome.cpr is None:
            category = "impossible_date" if outcome.impossible_date else "invalid_form"
            self.report.refuse(row.line, category, outcome.problem or "cpr_empty", outcome.params, masked(cell))
            return
        cpr = outcome.cpr
        if cpr.birth_date > self.today:
            self.report.refuse(row.line, "future_birth_date", "future_birth_date")
            return
        pseudonym = self.pseudonymiser.pseudonym(cpr.digits)
        first = self._first_line.setdefault(pseudonym, row.line)
        if first != row.line:
            self.report.refuse(row.line, "duplicate", "duplicate", {"first_line": first})
            return
        usable, index_date = self._index_date(row, cpr.birth_date)
        if not usable:
            return
        labels = self._labels(row)
        if labels is None:
            return
        if outcome.restored_zero:
            self.report.note(row.line, "leading_zero_restored")
        if not cpr.mod11_ok:
            january = (cpr.birth_date.month, cpr.birth_date.day) == (1, 1)
            self.report.note(row.line, "mod11_1_january" if january else "mod11_other")
        group, reference = labels
        if group is not None:
            self.groups[group] = self.groups.get(group, 0) + 1
            if len(self.groups) > self.limits.max_groups:
                raise UploadRefused(
                    "too_many_groups",
                    groups=f"> {self.limits.max_groups}",
                    limit=self.limits.max_groups,
                    column=column_letter(self.layout.roles["group"]),
                )
        self.members.append(Member(row.line, pseudonym, cpr.birth_date, cpr.sex.koen, index_date, group, reference))

    def _index_date(self, row: SourceRow, birth: date) -> tuple[bool, date | None]:
        """Whether the row may be kept as far as its index date goes, and the date (None without one)."""
        position = self.layout.roles.get("index_date")
        if position is None:
            return True, None
        read = read_date(row.cell(position))
        if read.problem:
            self.report.refuse(row.line, "bad_index_date", read.problem)
            return False, None
        if read.value is None:
            self.report.note(row.line, "no_index_date")
            return True, None
        if read.value < birth:
            self.report.refuse(row.line, "bad_index_date", "date_before_birth")
            return False, None
        return True, read.value

    def _labels(self, row: SourceRow) -> tuple[str | None, str | None] | None:
        """The row's group and own reference; None when the row is refused for one of them."""
        found: list[str | None] = [None, None]
        for i, position in self._label_columns:
            cell = row.cell(position)
            if isinstance(cell, Unreadable):  # a formula without a value or an error: said, not dropped
                self.report.refuse(row.line, "bad_label", cell.code, {"value": cell.value})
                return None
            text = cell.strip() if type(cell) is str else as_text(cell)  # text cells are the usual case
            if not text:
                continue
            if len(text) >= 10 and mask_cpr(text) != text:
                # A label is kept with the cohort: a CPR number in it would be kept too.
                raise UploadRefused("label_holds_cpr", column=column_letter(position), line=row.line)
            if len(text) > self.limits.max_label_chars:
                self.report.refuse(row.line, "bad_label", "label_too_long", {"limit": self.limits.max_label_chars})
                return None
            found[i] = text
        return found[0], found[1]

    def finish(self) -> None:
        """Whole-file checks that need every row: no data at all, too much text in the CPR column."""
        if self.report.rows_read == 0:
            raise UploadRefused("file_no_data_rows")
        share = self.text_cells / self.report.rows_read
        if share > self.limits.max_mixed_share:
            raise UploadRefused(
                "cpr_column_mixed",
                percent=round(share * 100),
                limit_percent=round(self.limits.max_mixed_share * 100),
                column=column_letter(self.layout.cpr),
            )
