"""Which row is the header and which column holds what, decided from the first rows of the file.

The first row with a CPR-shaped cell is the first data row; the row above it (if any) is the
header, and rows above that are a preamble (a title, a date) that is skipped and reported.
Columns are recognised by their header names (``columns.yaml``) and, where the header says
nothing, by their content: the CPR column is the one whose cells are CPR-shaped, an index-date
column the one whose cells are dates. A header cell inside a merged range takes the range's value.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources

import yaml

from koes.cohorts.cells import Cell, SourceRow, as_text, is_blank
from koes.cohorts.dates import is_date_like
from koes.cohorts.limits import UploadRefused
from koes.cohorts.normalise import looks_like_cpr
from koes.cohorts.xlsxfile import Merge
from koes.domain.cpr import mask_cpr

ROLES = ("cpr", "index_date", "group", "reference")
_NOT_NAME = re.compile(r"[^0-9a-zæøå]")
_CONTENT_SHARE = 0.5  # share of a sample column's non-empty cells that must look like CPR numbers
_DATE_SHARE = 0.8


@cache
def header_names() -> Mapping[str, frozenset[str]]:
    """Role → the normalised header names that mark it (``columns.yaml``)."""
    text = resources.files("koes.cohorts").joinpath("columns.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    return {role: frozenset(header_key(n) for n in data[role]) for role in ROLES}


def header_key(text: str) -> str:
    return _NOT_NAME.sub("", text.lower())


@dataclass(frozen=True)
class Layout:
    header_line: int | None
    preamble_lines: tuple[int, ...]
    headers: tuple[str, ...]  # per column; "" where there is no header (masked: no CPR number can pass)
    roles: Mapping[str, int]  # role → column (0-based)
    notes: tuple[str, ...] = ()  # message codes about the layout

    @property
    def cpr(self) -> int:
        return self.roles["cpr"]

    def ignored(self) -> tuple[int, ...]:
        used = set(self.roles.values())
        return tuple(i for i in range(len(self.headers)) if i not in used)


def column_letter(position: int) -> str:
    letters = ""
    n = position + 1
    while n:
        n, rest = divmod(n - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def find_layout(sample: Sequence[SourceRow], merges: Sequence[Merge] = ()) -> Layout:
    rows = [r for r in sample if not r.empty]
    if not rows:
        raise UploadRefused("file_no_rows")
    first_data = next((i for i, r in enumerate(rows) if any(looks_like_cpr(c) for c in r.cells)), None)
    named = next((i for i, r in enumerate(rows) if _named_column(r, merges, rows, "cpr") is not None), None)
    if first_data is None and named is None:
        raise UploadRefused("no_cpr_column")
    if named is not None and (first_data is None or named < first_data):
        header_index: int | None = named
    elif first_data:
        header_index = first_data - 1
    else:
        header_index = None
    header = rows[header_index] if header_index is not None else None
    data = rows[header_index + 1 :] if header_index is not None else rows
    width = max(len(r.cells) for r in rows)
    headers = tuple(_header_text(header, p, merges, rows) if header else "" for p in range(width))
    roles, notes = _roles(headers, data, width)
    preamble = tuple(r.line for r in rows[: header_index or 0])
    return Layout(header.line if header else None, preamble, headers, roles, tuple(notes))


def _header_text(header: SourceRow, position: int, merges: Sequence[Merge], rows: Sequence[SourceRow]) -> str:
    text = as_text(header.cell(position))
    if not text:
        for m in merges:
            if m.first_row <= header.line <= m.last_row and m.first_col <= position <= m.last_col:
                top = next((r for r in rows if r.line == m.first_row), None)
                text = as_text(top.cell(m.first_col)) if top else ""
                break
    return mask_cpr(text)[:80]


def _named_column(row: SourceRow, merges: Sequence[Merge], rows: Sequence[SourceRow], role: str) -> int | None:
    names = header_names()[role]
    for p in range(len(row.cells)):
        if header_key(_header_text(row, p, merges, rows)) in names:
            return p
    return None


def _share(data: Sequence[SourceRow], position: int, test: Callable[[Cell], bool]) -> float:
    """The share of a column's non-empty sample cells that pass ``test``."""
    filled = [c for c in (r.cell(position) for r in data) if not is_blank(c)]
    return sum(1 for c in filled if test(c)) / len(filled) if filled else 0.0


def _roles(headers: Sequence[str], data: Sequence[SourceRow], width: int) -> tuple[dict[str, int], list[str]]:
    names = header_names()
    by_name: dict[str, int] = {}
    for role in ROLES:
        found = [p for p, h in enumerate(headers) if header_key(h) in names[role]]
        if found:
            by_name[role] = found[0]
    notes: list[str] = []
    shares = {p: _share(data, p, looks_like_cpr) for p in range(width)}
    cpr_like = [p for p in range(width) if shares[p] >= _CONTENT_SHARE]
    roles: dict[str, int] = {}
    if "cpr" in by_name and (shares[by_name["cpr"]] >= _CONTENT_SHARE or not cpr_like):
        roles["cpr"] = by_name["cpr"]
    elif len(cpr_like) == 1:
        roles["cpr"] = cpr_like[0]
    elif len(cpr_like) > 1:
        raise UploadRefused("several_cpr_columns", columns=", ".join(column_letter(p) for p in cpr_like))
    else:
        raise UploadRefused("no_cpr_column")
    for role in ("index_date", "group", "reference"):
        if role in by_name and by_name[role] != roles["cpr"]:
            roles[role] = by_name[role]
    if "index_date" not in roles:
        taken = set(roles.values())
        dates = [p for p in range(width) if p not in taken and _share(data, p, is_date_like) >= _DATE_SHARE]
        if len(dates) == 1:
            roles["index_date"] = dates[0]
            notes.append("layout_index_date_by_content")
        elif len(dates) > 1:
            notes.append("layout_several_date_columns")
    if not any(headers):
        notes.append("layout_no_header")
    return roles, notes
