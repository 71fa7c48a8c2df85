"""A cell of the CPR column → ten digits, or the reason it is not a CPR number.

Analysts' files write CPR numbers in many ways: with or without the dash, with spaces or
non-breaking spaces, with typographic dashes, as Excel numbers that lost their leading zero
(``101901234`` for ``0101901234``), as ``="0101901234"`` (Excel's trick for keeping text), or
as ``1010901234.0``. All of these are normalised here. A lost leading zero is restored only when
the padded number has a valid birth date, and the caller says so in the report.

Nothing here returns or raises with the cell's content: outcomes carry codes and numbers only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from operator import mul
from typing import Any

from koes.cohorts.cells import Cell, Unreadable
from koes.domain.cpr import MOD11_WEIGHTS, Cpr, Sex, century

# Every kind of space a spreadsheet or a word processor puts in a number, and every dash.
_DROP = " \t\r\n\u00a0\u2002\u2003\u2007\u2008\u2009\u200a\u200b\u202f\u205f\u3000\ufeff"
_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"
_TRANSLATE: dict[int, str | None] = {**dict.fromkeys(map(ord, _DROP)), **{ord(d): "-" for d in _DASHES}}

# Most cells are written plainly: tried first, before any cleaning.
_PLAIN = re.compile(r"([0-9]{6})-?([0-9]{4})")
_TEN = re.compile(r"[0-9]{10}")
_DASHED = re.compile(r"([0-9]{6})-([0-9]{4})")
_NINE = re.compile(r"[0-9]{9}")
_TRAILING_ZEROS = re.compile(r"([0-9]{9,10})[.,]0+")
_SCIENTIFIC = re.compile(r"[0-9]+(?:[.,][0-9]+)?[eE][+-]?[0-9]+")
_EXCEL_TEXT = re.compile(r'="(.*)"')
_DIGITS_AND_DASHES = re.compile(r"[0-9-]+")


@dataclass(frozen=True, slots=True)
class CprCell:
    """The outcome for one cell: ``cpr`` when it is a valid CPR number, else a problem.

    ``problem`` is a message code; ``params`` fill the message. ``impossible_date`` tells a
    CPR-shaped number whose date does not exist from one that is not CPR-shaped at all;
    ``text`` marks content that is no attempt at a number (words, dates, errors): the share of
    such cells decides whether the column holds CPR numbers at all.
    """

    cpr: Cpr | None = None
    restored_zero: bool = False
    problem: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    impossible_date: bool = False
    text: bool = False


def normalise_text(text: str) -> str:
    """Spaces of every kind removed and typographic dashes made ``-``; an Excel text wrapper removed."""
    cleaned = text.translate(_TRANSLATE)
    wrapped = _EXCEL_TEXT.fullmatch(cleaned)
    if wrapped:
        cleaned = wrapped.group(1)
    return cleaned.removeprefix("'")


def normalise_cpr(cell: Cell) -> CprCell:
    """Read a CPR number from a cell of any kind a reader gives."""
    if cell is None:
        return CprCell(problem="cpr_empty")
    if isinstance(cell, Unreadable):
        return CprCell(problem=cell.code, params={"value": cell.value})
    if isinstance(cell, bool):  # never produced by the readers; a bool is an int to Python
        return CprCell(problem="cpr_letters", text=True)
    if isinstance(cell, float):
        if not cell.is_integer():
            return CprCell(problem="cpr_decimal")
        return _from_number(int(cell))
    if isinstance(cell, int):
        return _from_number(cell)
    if isinstance(cell, date):
        return CprCell(problem="cpr_date_cell", text=True)
    return _from_text(cell)


def _from_number(number: int) -> CprCell:
    if number <= 0:
        return CprCell(problem="cpr_digit_count", params={"digits": len(str(abs(number)))})
    return _from_digits(str(number))


def _from_text(text: str) -> CprCell:
    plain = _PLAIN.fullmatch(text)
    if plain:
        return _checked(plain.group(1) + plain.group(2))
    cleaned = normalise_text(text)
    if not cleaned:
        return CprCell(problem="cpr_empty")
    dashed = _DASHED.fullmatch(cleaned)
    if dashed:
        return _checked(dashed.group(1) + dashed.group(2))
    zeros = _TRAILING_ZEROS.fullmatch(cleaned)
    if zeros:
        cleaned = zeros.group(1)
    if _TEN.fullmatch(cleaned) or _NINE.fullmatch(cleaned):
        return _from_digits(cleaned)
    if _SCIENTIFIC.fullmatch(cleaned):
        return CprCell(problem="cpr_scientific")
    if not _DIGITS_AND_DASHES.fullmatch(cleaned):
        return CprCell(problem="cpr_letters", text=True)
    digits = cleaned.replace("-", "")
    if len(digits) == 10:
        return CprCell(problem="cpr_dash")
    return CprCell(problem="cpr_digit_count", params={"digits": len(digits)})


def _from_digits(digits: str) -> CprCell:
    if len(digits) == 10:
        return _checked(digits)
    if len(digits) == 9:
        restored = _valid("0" + digits)
        if restored is not None:
            return CprCell(cpr=restored, restored_zero=True)
        return CprCell(problem="cpr_nine_digits")
    return CprCell(problem="cpr_digit_count", params={"digits": len(digits)})


def _checked(digits: str) -> CprCell:
    cpr = _valid(digits)
    if cpr is not None:
        return CprCell(cpr=cpr)
    code, params = date_problem(digits)
    return CprCell(problem=code, params=params, impossible_date=True)


def _valid(digits: str) -> Cpr | None:
    """The CPR number of ten digits when its date exists: the reading of ``domain.cpr.parse_cpr`` (a
    property test holds them equal), made from the domain's century table and modulus 11 without
    parsing the text again: an upload checks 100,000 numbers at once."""
    birth = _birth_date(digits[:7])
    if birth is None:
        return None
    # No notes: the domain's are English text for logs; the report words its own from mod11_ok.
    return Cpr(digits, birth, Sex.MALE if digits[9] in "13579" else Sex.FEMALE, _mod11_ok(digits))


# The weighted sum over ASCII codes, less what the code of "0" adds at every weight: the domain's
# modulus 11 rule (domain.cpr.mod11_ok; a property test holds them equal) at a third of the cost.
_ZERO_CODES = ord("0") * sum(MOD11_WEIGHTS)


def _mod11_ok(digits: str) -> bool:
    total: int = sum(map(mul, MOD11_WEIGHTS, digits.encode("ascii")))
    return (total - _ZERO_CODES) % 11 == 0


@lru_cache(maxsize=1 << 17)  # 100 years of days times the century digit: an upload repeats many birth dates
def _birth_date(first7: str) -> date | None:
    day, month, yy = int(first7[0:2]), int(first7[2:4]), int(first7[4:6])
    try:
        return date(century(int(first7[6]), yy) + yy, month, day)
    except ValueError:
        return None


def date_problem(digits: str) -> tuple[str, dict[str, Any]]:
    """Why the first seven digits give no birth date: a message code and its numbers (never the digits)."""
    day, month, yy, digit7 = int(digits[0:2]), int(digits[2:4]), int(digits[4:6]), int(digits[6])
    if not 1 <= month <= 12:
        return "cpr_month", {"month": month}
    if not 1 <= day <= 31:
        return "cpr_day", {"day": day}
    try:
        year = century(digit7, yy) + yy
    except ValueError:
        return "cpr_century", {}
    return "cpr_day_in_month", {"day": day, "month": month, "year": year}


def looks_like_cpr(cell: Cell) -> bool:
    """Whether a cell is CPR-shaped (valid or not): used to find the CPR column and the first data row."""
    outcome = normalise_cpr(cell)
    return outcome.cpr is not None or outcome.impossible_date or outcome.problem == "cpr_nine_digits"
