"""Index dates: Danish ``dd-mm-åååå`` (also with ``.`` or ``/``), ISO ``åååå-mm-dd``, or an XLSX date cell."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from koes.cohorts.cells import Cell, Unreadable, is_blank

_DANISH = re.compile(r"([0-9]{1,2})([-./])([0-9]{1,2})\2([0-9]{4})(?:[ T][0-9:.]+)?")
_ISO = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})(?:[ T][0-9:.]+Z?)?")
_TWO_DIGIT_YEAR = re.compile(r"[0-9]{1,2}([-./])[0-9]{1,2}\1[0-9]{2}")


@dataclass(frozen=True, slots=True)
class DateCell:
    """``value`` when the cell is a date, ``problem`` (a message code) when it cannot be, both None when empty."""

    value: date | None = None
    problem: str | None = None


def read_date(cell: Cell) -> DateCell:
    if is_blank(cell):
        return DateCell()
    if isinstance(cell, date):
        return DateCell(cell)
    if isinstance(cell, Unreadable):
        return DateCell(problem=cell.code)
    if isinstance(cell, int | float):
        return DateCell(problem="date_number")
    return _read_text(str(cell).strip())


@lru_cache(maxsize=4096)
def _read_text(text: str) -> DateCell:
    """A date written as text; cached, since a cohort's index dates repeat (one per start of an effort)."""
    danish = _DANISH.fullmatch(text)
    if danish:
        return _make(int(danish.group(4)), int(danish.group(3)), int(danish.group(1)))
    iso = _ISO.fullmatch(text)
    if iso:
        return _make(int(iso.group(1)), int(iso.group(2)), int(iso.group(3)))
    if _TWO_DIGIT_YEAR.fullmatch(text):
        return DateCell(problem="date_two_digit_year")
    return DateCell(problem="date_unreadable")


def _make(year: int, month: int, day: int) -> DateCell:
    if year < 1900:
        return DateCell(problem="date_impossible")
    try:
        return DateCell(date(year, month, day))
    except ValueError:
        return DateCell(problem="date_impossible")


def is_date_like(cell: Cell) -> bool:
    """Whether a cell reads as a date: used to find an unnamed index-date column."""
    return read_date(cell).value is not None
