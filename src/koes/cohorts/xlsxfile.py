"""XLSX workbooks read as a stream of rows, without a spreadsheet library and without evaluating anything.

An XLSX file is a zip of XML parts. Before any part is parsed, the archive's declared sizes are
checked (a zip bomb unpacks to gigabytes from kilobytes), and every part is read through a guard
that counts bytes and refuses document type declarations (XML entity bombs). The sheet is parsed
with ElementTree's incremental parser, one row at a time, so memory holds a row and the shared
strings, never the sheet.

Cells: numbers stay numbers (a CPR number saved as ``1,01E+09`` in Excel's display is the full
number in the file), text is text, a number with a date format is a date. A formula is never
calculated: its value saved by Excel is used, and a formula without one is an unreadable cell.
Merged cells hold their value in the top-left cell; the ranges are returned so that a header
spread over merged cells can be read (``layout``).
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import BinaryIO, Literal
from xml.etree.ElementTree import Element, ParseError, iterparse

from koes.cohorts.cells import Cell, SourceRow, Unreadable
from koes.cohorts.limits import UploadLimits, UploadRefused
from koes.cohorts.xlsxsheet import SheetTarget, column_index, parse_rows, parse_strings

_CHUNK = 64 * 1024
_FORBIDDEN = (b"<!DOCTYPE", b"<!ENTITY")
# Built-in number formats that show dates (ECMA-376 §18.8.30 and the East Asian ones Excel uses).
_BUILTIN_DATE_FORMATS = frozenset([*range(14, 23), *range(27, 37), *range(45, 48), *range(50, 59)])
_FORMAT_NOISE = re.compile(r'"[^"]*"|\[[^\]]*\]|\\.|_.|\*.')
_MERGE = re.compile(rb'<(?:\w+:)?mergeCell\s+ref="([A-Z]+)([0-9]+)(?::([A-Z]+)([0-9]+))?"')
_MERGE_ROWS = 1000  # merges starting below this row cannot be in the header; not collected
_MAX_MERGES = 10_000
_Event = Literal["start", "end"]


@dataclass(frozen=True)
class Merge:
    first_row: int
    first_col: int
    last_row: int
    last_col: int


@dataclass
class Workbook:
    """What the reader found: the sheet read, the sheets there are, and lines where formulas' saved values were used."""

    sheet: str
    sheets: tuple[str, ...]
    merges: tuple[Merge, ...] = ()
    formula_lines: list[int] = field(default_factory=list)

    def describe(self) -> dict[str, object]:
        return {"format": "xlsx", "sheet": self.sheet, "sheets": list(self.sheets), "merged_ranges": len(self.merges)}


class _Guard:
    """A part of the archive, read with a byte budget and without document type declarations."""

    def __init__(self, raw: BinaryIO, budget: list[int]) -> None:
        self._raw = raw
        self._budget = budget  # shared by all parts: [bytes left]
        self._tail = b""

    def read(self, size: int = _CHUNK) -> bytes:
        chunk = self._raw.read(size if size and size > 0 else _CHUNK)
        self._budget[0] -= len(chunk)
        if self._budget[0] < 0:
            raise UploadRefused("xlsx_expands_too_far")
        window = self._tail + chunk
        if any(token in window for token in _FORBIDDEN):
            raise UploadRefused("xlsx_broken")
        self._tail = chunk[-16:]
        return chunk


class XlsxReader:
    """One workbook; ``open_sheet`` then ``rows``. Raises :class:`UploadRefused` for anything unusable."""

    def __init__(self, stream: BinaryIO, limits: UploadLimits) -> None:
        try:
            self._zip = zipfile.ZipFile(stream)
        except (zipfile.BadZipFile, OSError):
            raise UploadRefused("file_broken_zip") from None
        self._limits = limits
        self._budget = [limits.max_expanded_bytes]
        self._check_archive()
        self._names = set(self._zip.namelist())
        self._sheets, self._date1904 = self._workbook()
        self._strings: list[str] = []
        self._date_styles: frozenset[int] = frozenset()

    def close(self) -> None:
        self._zip.close()

    def _check_archive(self) -> None:
        infos = self._zip.infolist()
        if len(infos) > self._limits.max_zip_entries:
            raise UploadRefused("xlsx_too_many_parts", parts=len(infos))
        total = sum(i.file_size for i in infos)
        if total > self._limits.max_expanded_bytes:
            raise UploadRefused(
                "xlsx_expands_too_far_declared",
                expanded_mb=f"{total / 2**20:.0f}",
                limit_mb=f"{self._limits.max_expanded_bytes / 2**20:.0f}",
            )
        for info in infos:
            if info.file_size > 2**20 and info.file_size > self._limits.max_compression_ratio * max(
                info.compress_size, 1
            ):
                raise UploadRefused("xlsx_zip_bomb")
        if any(i.flag_bits & 0x1 for i in infos):
            raise UploadRefused("file_ole")  # encrypted parts: a password-protected workbook

    def _part(self, name: str) -> _Guard:
        try:
            return _Guard(self._zip.open(name), self._budget)  # type: ignore[arg-type]
        except (KeyError, zipfile.BadZipFile, OSError, NotImplementedError):
            raise UploadRefused("xlsx_broken") from None

    def _events(self, name: str, events: tuple[_Event, ...] = ("end",)) -> Iterator[tuple[str, Element]]:
        try:
            yield from iterparse(self._part(name), events=events)
        except (ParseError, zipfile.BadZipFile, EOFError, OSError):
            raise UploadRefused("xlsx_broken") from None

    def _workbook(self) -> tuple[list[tuple[str, str, bool]], bool]:
        """(name, part, visible) of every worksheet in workbook order, and whether dates count from 1904."""
        targets = {}
        for _, el in self._events("xl/_rels/workbook.xml.rels"):
            if _local(el.tag) == "Relationship" and el.get("Type", "").endswith("/worksheet"):
                target = el.get("Target", "")
                targets[el.get("Id")] = target.lstrip("/") if target.startswith("/") else "xl/" + target
        sheets, date1904 = [], False
        for _, el in self._events("xl/workbook.xml"):
            tag = _local(el.tag)
            if tag == "workbookPr":
                date1904 = el.get("date1904", "0").lower() in ("1", "true")
            elif tag == "sheet":
                rel = next((v for k, v in el.attrib.items() if _local(k) == "id"), None)
                if rel in targets:
                    sheets.append((el.get("name", ""), targets[rel], el.get("state", "visible") == "visible"))
        if not sheets:
            raise UploadRefused("xlsx_no_sheet")
        return sheets, date1904

    def open_sheet(self, name: str | None) -> Workbook:
        names = tuple(s[0] for s in self._sheets)
        if name is None:
            chosen = next((s for s in self._sheets if s[2]), self._sheets[0])
        else:
            found = [s for s in self._sheets if s[0] == name] or [
                s for s in self._sheets if s[0].lower() == name.lower()
            ]
            if not found:
                raise UploadRefused("xlsx_sheet_missing", sheet=name, sheets=", ".join(names))
            chosen = found[0]
        if chosen[1] not in self._names:
            raise UploadRefused("xlsx_broken")
        self._part_name = chosen[1]
        self._strings = self._shared_strings()
        self._date_styles = self._styles()
        return Workbook(chosen[0], names, self._merges())

    def _shared_strings(self) -> list[str]:
        if "xl/sharedStrings.xml" not in self._names:
            return []
        return parse_strings(self._part("xl/sharedStrings.xml"))

    def _styles(self) -> frozenset[int]:
        """Indexes of the cell formats (``s`` of a cell) that show a date."""
        if "xl/styles.xml" not in self._names:
            return frozenset()
        custom: dict[int, str] = {}
        formats: list[int] = []
        in_cell_xfs = False
        for event, el in self._events("xl/styles.xml", ("start", "end")):
            tag = _local(el.tag)
            if tag == "cellXfs":
                in_cell_xfs = event == "start"
            elif event == "end" and tag == "numFmt":
                custom[int(el.get("numFmtId", "0"))] = el.get("formatCode", "")
            elif event == "end" and tag == "xf" and in_cell_xfs:
                formats.append(int(el.get("numFmtId", "0")))
        return frozenset(i for i, f in enumerate(formats) if _is_date_format(f, custom.get(f)))

    def _merges(self) -> tuple[Merge, ...]:
        """Merged ranges near the top; read from the raw part, since they follow the rows in the file."""
        found: list[Merge] = []
        guard = _Guard(self._zip.open(self._part_name), [self._limits.max_expanded_bytes])  # type: ignore[arg-type]
        carry = b""
        for chunk in iter(lambda: guard.read(1 << 20), b""):
            window = carry + chunk
            end = max(window.rfind(b"<"), 0)
            for m in _MERGE.finditer(window, 0, end):
                first_row = int(m.group(2))
                if first_row <= _MERGE_ROWS and len(found) < _MAX_MERGES:
                    last_col, last_row = (
                        (m.group(3).decode(), int(m.group(4))) if m.group(3) else (m.group(1).decode(), first_row)
                    )
                    found.append(Merge(first_row, column_index(m.group(1).decode()), last_row, column_index(last_col)))
            carry = window[end:]
        return tuple(found)

    def rows(self, workbook: Workbook) -> Iterator[SourceRow]:
        """Every row with a cell, as (Excel row number, cells by column)."""
        target = SheetTarget(self._cell, self._strings, self._date_styles)
        workbook.formula_lines = target.formula_lines  # filled as the rows stream past
        try:
            yield from parse_rows(self._part(self._part_name), target)
        except (zipfile.BadZipFile, EOFError, OSError):
            raise UploadRefused("xlsx_broken") from None

    def _cell(self, kind: str, style: str | None, v: str | None, inline: str | None, formula: bool) -> Cell:
        """A cell's value: shared or inline text, a number, a date, or why it cannot be read."""
        if formula and not v and kind != "inlineStr":
            return Unreadable("cell_formula_without_value")  # never calculated here
        if kind == "s":
            try:
                return self._strings[int(v or "")]
            except (ValueError, IndexError):
                return Unreadable("xlsx_broken")
        if kind == "inlineStr":
            return inline
        if kind == "str":
            return v or ""
        if kind == "b":
            return {"1": "TRUE", "0": "FALSE"}.get(v or "", v or "")
        if kind == "e":
            return Unreadable("cell_excel_error", (v or "")[:12])
        if v is None:
            return None
        if kind == "d":
            try:
                return date.fromisoformat(v[:10])
            except ValueError:
                return Unreadable("xlsx_broken")
        return self._number(v, int(style or 0))

    def _number(self, text: str, style: int) -> Cell:
        try:
            number: int | float = int(text) if text.isdigit() else float(text)
        except ValueError:
            return Unreadable("xlsx_broken")
        if isinstance(number, float) and number.is_integer() and abs(number) < 1e15:
            number = int(number)
        if style in self._date_styles:
            return _serial_date(number, self._date1904)
        return number


def _local(tag: str) -> str:
    """Tag or attribute name without its namespace (transitional and strict OOXML use different ones)."""
    return tag.rpartition("}")[2]


def _is_date_format(number_format: int, code: str | None) -> bool:
    if code is None:
        return number_format in _BUILTIN_DATE_FORMATS
    stripped = _FORMAT_NOISE.sub("", code).lower()
    return "d" in stripped or "y" in stripped


def _serial_date(serial: float, date1904: bool) -> Cell:
    """Excel's day number as a date (the 1900 system keeps Lotus's 29 February 1900)."""
    if serial < 0 or serial > 2_958_465:
        return Unreadable("date_impossible")
    days = int(serial)
    if date1904:
        return date(1904, 1, 1) + timedelta(days=days)
    if days == 60:
        return Unreadable("date_impossible")
    return date(1899, 12, 31 if days < 60 else 30) + timedelta(days=days)
