"""The validation report: what was read, what is kept, what is refused and why, by line number.

Rows in = rows kept + rows refused; the report checks this when it is made. It names lines,
columns and masked forms of cells, never a CPR number: masked forms keep a cell's shape (``#``
for a digit, ``x`` for a letter) and nothing else.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from koes.cohorts.cells import Cell, Unreadable, as_text
from koes.cohorts.messages import message

REFUSALS = (
    "invalid_form",
    "impossible_date",
    "future_birth_date",
    "duplicate",
    "bad_index_date",
    "bad_label",
    "not_found",
)
NOTES = (
    "leading_zero_restored",
    "mod11_1_january",
    "mod11_other",
    "formula_value",
    "no_index_date",
    "index_date_after_release",
    "deceased",
    "emigrated",
    "not_resident",
)
SHOWN_LINES = 20  # lines listed per heading in the text form; the JSON form lists all
_MASK_KEEP = frozenset(" -+./,:;")
_MASK_CHARS = 16


def masked(cell: Cell) -> str:
    """A cell's shape without its content: digits ``#``, letters ``x``, a few separators kept, the rest ``?``."""
    if isinstance(cell, Unreadable):
        return ""
    text = as_text(cell)
    shape = "".join("#" if ch.isdigit() else "x" if ch.isalpha() else ch if ch in _MASK_KEEP else "?" for ch in text)
    return shape if len(shape) <= _MASK_CHARS else shape[:_MASK_CHARS] + "…"


@dataclass(frozen=True)
class Refusal:
    line: int
    category: str  # one of REFUSALS
    code: str  # the reason's message code
    params: Mapping[str, Any] = field(default_factory=dict)
    masked: str = ""

    def reason(self, language: str) -> str:
        return message(self.code, language, **self.params)


@dataclass(frozen=True)
class Linked:
    release_id: str
    reference_date: str
    municipality: int
    own_citizens: int


@dataclass
class ReportBuilder:
    """Collects findings while rows stream past; :meth:`build` checks the accounting."""

    refused: list[Refusal] = field(default_factory=list)
    notes: dict[str, list[int]] = field(default_factory=lambda: {n: [] for n in NOTES})
    rows_read: int = 0
    empty_rows: int = 0

    def refuse(
        self, line: int, category: str, code: str, params: Mapping[str, Any] | None = None, shape: str = ""
    ) -> None:
        if category not in REFUSALS:
            raise ValueError(f"unknown refusal category {category!r}")
        self.refused.append(Refusal(line, category, code, dict(params or {}), shape))

    def note(self, line: int, category: str) -> None:
        self.notes[category].append(line)

    def build(
        self,
        *,
        source: Mapping[str, Any],
        columns: Sequence[Mapping[str, Any]],
        layout_notes: Sequence[str],
        header_line: int | None,
        preamble_lines: Sequence[int],
        rows_kept: int,
        groups: Mapping[str, int],
        linked: Linked | None,
    ) -> ValidationReport:
        refused_lines = {r.line for r in self.refused}  # a note on a row refused later (not found) no longer applies
        return ValidationReport(
            source=dict(source),
            columns=tuple(dict(c) for c in columns),
            layout_notes=tuple(layout_notes),
            header_line=header_line,
            preamble_lines=tuple(preamble_lines),
            empty_rows=self.empty_rows,
            rows_read=self.rows_read,
            rows_kept=rows_kept,
            refused=tuple(sorted(self.refused, key=lambda r: r.line)),
            notes={k: tuple(sorted(n for n in v if n not in refused_lines)) for k, v in self.notes.items()},
            groups=dict(groups),
            linked=linked,
        )


@dataclass(frozen=True)
class ValidationReport:
    source: Mapping[str, Any]
    columns: tuple[Mapping[str, Any], ...]
    layout_notes: tuple[str, ...]
    header_line: int | None
    preamble_lines: tuple[int, ...]
    empty_rows: int
    rows_read: int
    rows_kept: int
    refused: tuple[Refusal, ...]
    notes: Mapping[str, tuple[int, ...]]
    groups: Mapping[str, int]
    linked: Linked | None

    def __post_init__(self) -> None:
        if self.rows_read != self.rows_kept + len(self.refused):
            raise ValueError(f"rows read ({self.rows_read}) ≠ kept ({self.rows_kept}) + refused ({len(self.refused)})")
        if len({r.line for r in self.refused}) != len(self.refused):
            raise ValueError("a row is refused twice")

    @property
    def rows_refused(self) -> int:
        return len(self.refused)

    def refused_by_category(self) -> dict[str, int]:
        counts = Counter(r.category for r in self.refused)
        return {c: counts.get(c, 0) for c in REFUSALS}

    def to_json(self, language: str = "da") -> dict[str, Any]:
        """The downloadable form: every refused line with its reason, every note's lines."""
        return {
            "title": message("title", language),
            "language": language,
            "source": dict(self.source),
            "columns": [dict(c) for c in self.columns],
            "layout_notes": [{"code": n, "text": message(n, language)} for n in self.layout_notes],
            "header_line": self.header_line,
            "preamble_lines": list(self.preamble_lines),
            "empty_rows": self.empty_rows,
            "rows_read": self.rows_read,
            "rows_kept": self.rows_kept,
            "rows_refused": self.rows_refused,
            "refused_by_category": self.refused_by_category(),
            "refused": [
                {
                    "line": r.line,
                    "category": r.category,
                    "code": r.code,
                    "reason": r.reason(language),
                    "masked": r.masked,
                }
                for r in self.refused
            ],
            "notes": {
                k: {"text": message(k, language), "count": len(v), "lines": list(v)} for k, v in self.notes.items()
            },
            "groups": dict(self.groups),
            "linked": None
            if self.linked is None
            else {
                "release_id": self.linked.release_id,
                "reference_date": self.linked.reference_date,
                "municipality": self.linked.municipality,
                "own_citizens": self.linked.own_citizens,
            },
            "note": message("nothing_kept", language),
        }

    def to_text(self, language: str = "da") -> list[str]:
        """The readable form, for the command line: counts, then refused lines by reason, then notes."""

        def m(code: str, **params: Any) -> str:
            return message(code, language, **params)

        out = [m("title"), "", _source_text(self.source, language)]
        if self.header_line is not None:
            out.append(f"{m('header_line')} {self.header_line}")
        if self.preamble_lines:
            out.append(f"{m('preamble')}: {_lines(self.preamble_lines, language)}")
        out.append(f"{m('columns')}:")
        for c in self.columns:
            role = m(f"role_{c['role']}")
            header = f' "{c["header"]}"' if c["header"] else ""
            out.append(f"  {c['letter']}{header}: {role}")
        out += [f"  ({m(n)})" for n in self.layout_notes]
        out += ["", f"{m('rows_read')}: {self.rows_read:,}", f"{m('rows_kept')}: {self.rows_kept:,}"]
        if self.linked is not None:
            out.append(f"  {m('own_citizens')}: {self.linked.own_citizens:,}")
        out.append(f"{m('rows_refused')}: {self.rows_refused:,}")
        if self.empty_rows:
            out.append(f"{m('empty_rows')}: {self.empty_rows:,}")
        out.append(
            m(
                "linked",
                release=self.linked.release_id,
                date=self.linked.reference_date,
                municipality=self.linked.municipality,
            )
            if self.linked
            else m("not_linked")
        )
        if self.refused:
            out += ["", m("refused_heading") + ":"]
            for category in REFUSALS:
                rows = [r for r in self.refused if r.category == category]
                if rows:
                    out.append(f"  {m('heading_' + category)} ({len(rows):,}):")
                    out += [f"    {reason}: {_lines(lines, language)}" for reason, lines in _by_reason(rows, language)]
        noted = [(k, v) for k, v in self.notes.items() if v]
        if noted:
            out += ["", m("notes_heading") + ":"]
            out += [f"  {m(k)} ({len(v):,}): {_lines(v, language)}" for k, v in noted]
        if self.groups:
            out += ["", m("groups_heading") + ": " + ", ".join(f"{g} {n:,}" for g, n in self.groups.items())]
        out += ["", m("nothing_kept")]
        return out


def _source_text(source: Mapping[str, Any], language: str) -> str:
    if source.get("format") == "xlsx":
        sheets = ", ".join(f'"{s}"' for s in source.get("sheets", []))
        return message("source_xlsx", language, sheet=source.get("sheet", ""), sheets=sheets)
    delimiter = message(f"delimiter_{source.get('delimiter', 'none')}", language)
    return message("source_csv", language, encoding=source.get("encoding", ""), delimiter=delimiter)


def _by_reason(rows: Sequence[Refusal], language: str) -> list[tuple[str, list[int]]]:
    grouped: dict[str, list[int]] = {}
    for r in rows:
        shape = f" ({message('masked', language)} {r.masked})" if r.masked and r.category == "invalid_form" else ""
        grouped.setdefault(r.reason(language) + shape, []).append(r.line)
    return sorted(grouped.items(), key=lambda item: item[1][0])


def _lines(lines: Sequence[int], language: str) -> str:
    shown = ", ".join(str(n) for n in lines[:SHOWN_LINES])
    rest = len(lines) - SHOWN_LINES
    return f"{message('lines', language)} {shown}" + (f" {message('more', language, count=rest)}" if rest > 0 else "")
