"""CPR numbers: parsing, century rule, modulus 11, formatting and masking.

A CPR number is ``DDMMYY-SSSS``: birth date without century, then a four-digit sequence number
whose first digit (digit 7 of the number) fixes the century together with ``YY`` and whose last
digit gives the sex (odd = male). See ``shared/domain-notes.md`` §4.

Security rule: no message produced here ever contains the number it is about. Problems describe
what is wrong, never the value, because these messages end up in validation reports and logs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from enum import Enum

__all__ = [
    "CENTURY_RULES",
    "MASK",
    "MOD11_WEIGHTS",
    "CenturyRule",
    "Cpr",
    "CprParse",
    "Sex",
    "century",
    "format_cpr",
    "mask_cpr",
    "mod11_ok",
    "parse_cpr",
]


class Sex(Enum):
    """Sex as given by the last digit of the CPR number."""

    MALE = "male"
    FEMALE = "female"

    @property
    def koen(self) -> str:
        """The code used for sex in CPR extracts (code list ``koen``): "1" male, "2" female."""
        return "1" if self is Sex.MALE else "2"


@dataclass(frozen=True)
class CenturyRule:
    """A row of the century table: these digit-7 values with YY in this range mean this century."""

    digits: frozenset[int]
    first_yy: int
    last_yy: int
    century: int


# The century table of CPR-kontoret (domain-notes §4), as data. Every (digit 7, YY) pair is covered
# by exactly one rule; a test checks that, so that editing the table cannot leave gaps or overlaps.
CENTURY_RULES: tuple[CenturyRule, ...] = (
    CenturyRule(frozenset({0, 1, 2, 3}), 0, 99, 1900),
    CenturyRule(frozenset({4, 9}), 0, 36, 2000),
    CenturyRule(frozenset({4, 9}), 37, 99, 1900),
    CenturyRule(frozenset({5, 6, 7, 8}), 0, 57, 2000),
    CenturyRule(frozenset({5, 6, 7, 8}), 58, 99, 1800),
)

MOD11_WEIGHTS: tuple[int, ...] = (4, 3, 2, 7, 6, 5, 4, 3, 2, 1)

MASK = "XXXXXX-XXXX"

# ASCII digits only: str.isdigit() would also accept superscripts and other scripts' digits.
_SHAPE = re.compile(r"([0-9]{6})-?([0-9]{4})")
# Deliberately no word boundaries: a CPR glued to other digits in a log line is still masked.
_CPR_ANYWHERE = re.compile(r"[0-9]{6}-?[0-9]{4}")

_NOTE_MOD11_FAILS = "fails the modulus 11 check; accepted, since numbers issued from 2007 on may fail it"
_NOTE_MOD11_NOT_1_JANUARY = (
    "fails modulus 11 on a birth date other than 1 January; no such numbers are known to have "
    "been issued, so this may be a synthetic or mistyped number"
)


@dataclass(frozen=True)
class Cpr:
    """A CPR number that passed validation.

    ``digits`` is left out of ``repr`` so that logging a ``Cpr`` does not log the number.
    """

    digits: str = field(repr=False)
    birth_date: date
    sex: Sex
    mod11_ok: bool
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if len(self.digits) != 10 or not self.digits.isascii() or not self.digits.isdigit():
            raise ValueError("Cpr.digits must be exactly 10 ASCII digits")


@dataclass(frozen=True)
class CprParse:
    """Outcome of :func:`parse_cpr`: either a valid ``cpr`` or a non-empty list of ``problems``."""

    cpr: Cpr | None
    problems: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if (self.cpr is None) == (not self.problems):
            raise ValueError("CprParse holds either a Cpr or problems, not both and not neither")

    @property
    def ok(self) -> bool:
        """True if the text was a valid CPR number."""
        return self.cpr is not None


def century(digit7: int, yy: int) -> int:
    """Century (1800, 1900 or 2000) of a birth year from digit 7 and the two-digit year.

    Args:
        digit7: The seventh digit of the CPR number (first digit of the sequence number), 0-9.
        yy: The year without century, 0-99.

    Returns:
        The century to add to ``yy``.

    Raises:
        ValueError: If an argument is out of range or no rule of the century table applies.
    """
    if not 0 <= digit7 <= 9:
        raise ValueError(f"digit 7 must be 0-9, got {digit7}")
    if not 0 <= yy <= 99:
        raise ValueError(f"two-digit year must be 0-99, got {yy}")
    for rule in CENTURY_RULES:
        if digit7 in rule.digits and rule.first_yy <= yy <= rule.last_yy:
            return rule.century
    raise ValueError("digit 7 and year give no century")


def mod11_ok(digits: str) -> bool:
    """Whether a 10-digit CPR number passes the modulus 11 check.

    Passing is not a validity rule: numbers issued since 2007 may fail it. Use the result as a
    note, never as a reason to reject.

    Args:
        digits: Exactly 10 ASCII digits, no dash.

    Returns:
        True if the weighted digit sum (weights 4,3,2,7,6,5,4,3,2,1) is divisible by 11.

    Raises:
        ValueError: If ``digits`` is not 10 ASCII digits.
    """
    if len(digits) != 10 or not digits.isascii() or not digits.isdigit():
        raise ValueError("modulus 11 needs exactly 10 digits")
    return sum(w * int(d) for w, d in zip(MOD11_WEIGHTS, digits, strict=True)) % 11 == 0


def parse_cpr(text: str) -> CprParse:
    """Parse and validate a CPR number written ``DDMMYY-SSSS`` or ``DDMMYYSSSS``.

    Surrounding whitespace is ignored. A number failing modulus 11 is accepted with a note.

    Args:
        text: The text to parse.

    Returns:
        A ``CprParse`` holding either the ``Cpr`` or every problem found. Problem messages never
        contain the number itself.
    """
    stripped = text.strip()
    match = _SHAPE.fullmatch(stripped)
    if match is None:
        return CprParse(None, (_shape_problem(stripped),))
    digits = match.group(1) + match.group(2)
    birth, problems = _birth_date(digits)
    if birth is None:
        return CprParse(None, problems)
    passes = mod11_ok(digits)
    return CprParse(
        Cpr(
            digits=digits,
            birth_date=birth,
            sex=Sex.MALE if int(digits[9]) % 2 == 1 else Sex.FEMALE,
            mod11_ok=passes,
            notes=_mod11_notes(passes, birth),
        )
    )


def _shape_problem(stripped: str) -> str:
    """Describe why text is not CPR-shaped, without repeating the text."""
    if not stripped:
        return "empty"
    if any(not ("0" <= ch <= "9" or ch == "-") for ch in stripped):
        return "contains characters other than digits and a dash"
    n_digits = sum(ch != "-" for ch in stripped)
    if n_digits != 10:
        return f"not 10 digits (has {n_digits})"
    return "the only dash allowed is between the 6-digit date and the 4-digit sequence number"


def _birth_date(digits: str) -> tuple[date | None, tuple[str, ...]]:
    """Birth date from the first 7 digits, or every problem that prevents one."""
    day, month, yy, digit7 = int(digits[0:2]), int(digits[2:4]), int(digits[4:6]), int(digits[6])
    try:
        year = century(digit7, yy) + yy
    except ValueError:
        return None, ("digit 7 and year give no century",)
    problems: list[str] = []
    if not 1 <= month <= 12:
        problems.append(f"month {month:02d} does not exist")
    if not 1 <= day <= 31:
        problems.append(f"day {day:02d} does not exist in any month")
    if problems:
        return None, tuple(problems)
    try:
        return date(year, month, day), ()
    except ValueError:
        return None, (f"day {day:02d} does not exist in month {month:02d} of {year}",)


def _mod11_notes(passes: bool, birth: date) -> tuple[str, ...]:
    if passes:
        return ()
    if (birth.month, birth.day) == (1, 1):
        return (_NOTE_MOD11_FAILS,)
    return (_NOTE_MOD11_FAILS, _NOTE_MOD11_NOT_1_JANUARY)


def format_cpr(cpr: Cpr, dash: bool = True) -> str:
    """Write a CPR number as ``DDMMYY-SSSS`` (or ``DDMMYYSSSS`` with ``dash=False``).

    Args:
        cpr: A parsed CPR number.
        dash: Whether to put a dash between date and sequence number.

    Returns:
        The formatted number.
    """
    return f"{cpr.digits[:6]}-{cpr.digits[6:]}" if dash else cpr.digits


def mask_cpr(text: str) -> str:
    """Replace every CPR-shaped substring (6 digits, optional dash, 4 digits) with ``XXXXXX-XXXX``.

    Meant for scrubbing free text such as log lines. It errs on the side of masking: any run of
    ten digits is masked, even inside a longer number, and no date or modulus check is made.

    Args:
        text: Free text.

    Returns:
        The text with CPR-shaped substrings masked.
    """
    return _CPR_ANYWHERE.sub(MASK, text)
