"""Periods and age bands: exact age, age band schemes, year ranges and ISO weeks.

Age band schemes are data (``age_bands.yaml`` next to this module) so that a deployment can
declare its own; the code only parses and checks them.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "MAX_YEAR",
    "MIN_YEAR",
    "AgeBand",
    "AgeBandScheme",
    "YearRange",
    "age_on",
    "check_week_code",
    "is_week_code",
    "iso_week_code",
    "load_age_band_schemes",
    "parse_age_band",
    "parse_years",
    "week_monday",
    "weeks_in_iso_year",
]

# Years a user may ask about: registers start around 1990 (DREAM mid-1991) and nothing is
# planned beyond the century.
MIN_YEAR = 1990
MAX_YEAR = 2100

_SHIPPED_SCHEMES = "age_bands.yaml"


# --- age --------------------------------------------------------------------------------------


def age_on(birth: date, on: date) -> int:
    """Age in completed years on a given day.

    A person born on 29 February has their birthday on 1 March in years without 29 February, so
    they turn 18 on 1 March, not on 28 February. This falls out of comparing (month, day) pairs.

    Args:
        birth: Birth date.
        on: The day the age is wanted for.

    Returns:
        Completed years of age.

    Raises:
        ValueError: If ``on`` is before ``birth``.
    """
    if on < birth:
        raise ValueError("age asked for a day before the birth date")
    had_birthday = (on.month, on.day) >= (birth.month, birth.day)
    return on.year - birth.year - (0 if had_birthday else 1)


# --- age bands --------------------------------------------------------------------------------


@dataclass(frozen=True)
class AgeBand:
    """Ages ``lower`` to ``upper`` inclusive, in whole years; ``upper`` None means open-ended."""

    lower: int
    upper: int | None
    label: str

    def __post_init__(self) -> None:
        if self.lower < 0:
            raise ValueError(f"age band {self.label!r}: lower bound is negative")
        if self.upper is not None and self.upper < self.lower:
            raise ValueError(f"age band {self.label!r}: upper bound is below lower bound")

    def __contains__(self, age: object) -> bool:
        if not isinstance(age, int):
            return False
        return self.lower <= age and (self.upper is None or age <= self.upper)


_BAND = re.compile(r"\s*([0-9]{1,3})\s*(?:-\s*([0-9]{1,3})|(\+))\s*")


def parse_age_band(text: str) -> AgeBand:
    """Parse an age band written ``"18-24"`` (inclusive) or ``"85+"`` (open-ended).

    Args:
        text: The band as written in a scheme file.

    Returns:
        The band, labelled in the canonical form ``"18-24"`` / ``"85+"``.

    Raises:
        ValueError: If the text is not a band or its bounds are reversed.
    """
    match = _BAND.fullmatch(text)
    if match is None:
        raise ValueError(f"age band {text!r} is not written like '18-24' or '85+'")
    lower = int(match.group(1))
    if match.group(3):
        return AgeBand(lower, None, f"{lower}+")
    upper = int(match.group(2))
    return AgeBand(lower, upper, f"{lower}-{upper}")


@dataclass(frozen=True)
class AgeBandScheme:
    """A named set of age bands covering every age from 0 upwards without gaps or overlaps."""

    id: str
    label_da: str
    label_en: str
    bands: tuple[AgeBand, ...]

    def __post_init__(self) -> None:
        problems = _scheme_problems(self.bands)
        if problems:
            raise ValueError(f"age band scheme {self.id!r}: " + "; ".join(problems))

    @property
    def labels(self) -> tuple[str, ...]:
        """Band labels in order, e.g. for the axis of a table."""
        return tuple(b.label for b in self.bands)

    def band_of(self, age: int) -> AgeBand:
        """The band an age falls in.

        Args:
            age: Age in completed years.

        Returns:
            The band containing ``age``.

        Raises:
            ValueError: If ``age`` is negative.
        """
        if age < 0:
            raise ValueError("age is negative")
        # Bands are contiguous from 0 (checked on construction), so the last band whose lower
        # bound is <= age is the one.
        lowers = [b.lower for b in self.bands]
        return self.bands[bisect.bisect_right(lowers, age) - 1]


def _scheme_problems(bands: Sequence[AgeBand]) -> list[str]:
    """Every reason the bands do not run contiguously from 0 to an open end."""
    if not bands:
        return ["has no bands"]
    problems: list[str] = []
    if bands[0].lower != 0:
        problems.append(f"first band {bands[0].label!r} does not start at 0")
    for prev, band in itertools.pairwise(bands):
        if prev.upper is None:
            problems.append(f"band {prev.label!r} is open-ended but is not the last band")
            continue
        if band.lower > prev.upper + 1:
            problems.append(f"gap between {prev.label!r} and {band.label!r}")
        elif band.lower <= prev.upper:
            problems.append(f"{prev.label!r} and {band.label!r} overlap or are out of order")
    if bands[-1].upper is not None:
        problems.append(f"last band {bands[-1].label!r} is not open-ended")
    return problems


def load_age_band_schemes(path: Path | None = None) -> dict[str, AgeBandScheme]:
    """Read age band schemes from a YAML file.

    The file holds ``schemes:``, a list of mappings with ``id``, ``label_da``, ``label_en`` and
    ``bands`` (a list like ``["0-17", "18-64", "65+"]``).

    Args:
        path: The file to read; None reads the schemes shipped with KØS.

    Returns:
        Schemes by id, in file order.

    Raises:
        ValueError: Listing every problem in the file at once.
    """
    if path is None:
        text = resources.files("koes.domain").joinpath(_SHIPPED_SCHEMES).read_text(encoding="utf-8")
        source = _SHIPPED_SCHEMES
    else:
        text = path.read_text(encoding="utf-8")
        source = str(path)
    schemes, problems = _schemes_from_data(yaml.safe_load(text))
    if problems:
        raise ValueError(f"{source}: " + "; ".join(problems))
    return schemes


def _schemes_from_data(data: Any) -> tuple[dict[str, AgeBandScheme], list[str]]:
    """Build schemes from parsed YAML, collecting problems instead of stopping at the first."""
    if not isinstance(data, Mapping) or not isinstance(data.get("schemes"), list):
        return {}, ["expected a mapping with a list under 'schemes'"]
    schemes: dict[str, AgeBandScheme] = {}
    problems: list[str] = []
    for i, entry in enumerate(data["schemes"]):
        scheme, entry_problems = _scheme_from_entry(i, entry)
        problems.extend(entry_problems)
        if scheme is None:
            continue
        if scheme.id in schemes:
            problems.append(f"scheme id {scheme.id!r} is declared twice")
        schemes[scheme.id] = scheme
    return schemes, problems


def _scheme_from_entry(i: int, entry: Any) -> tuple[AgeBandScheme | None, list[str]]:
    where = f"scheme #{i + 1}"
    if not isinstance(entry, Mapping):
        return None, [f"{where} is not a mapping"]
    problems = [
        f"{where}: '{key}' is missing or not text"
        for key in ("id", "label_da", "label_en")
        if not isinstance(entry.get(key), str)
    ]
    raw_bands = entry.get("bands")
    if not isinstance(raw_bands, list):
        return None, [*problems, f"{where}: 'bands' is missing or not a list"]
    bands: list[AgeBand] = []
    for raw in raw_bands:
        try:
            bands.append(parse_age_band(str(raw)))
        except ValueError as exc:
            problems.append(f"{where}: {exc}")
    if problems:
        return None, problems
    try:
        return AgeBandScheme(entry["id"], entry["label_da"], entry["label_en"], tuple(bands)), []
    except ValueError as exc:
        return None, [str(exc)]


# --- year ranges ------------------------------------------------------------------------------


@dataclass(frozen=True)
class YearRange:
    """Calendar years ``first`` to ``last`` inclusive, within MIN_YEAR..MAX_YEAR."""

    first: int
    last: int

    def __post_init__(self) -> None:
        problems = [
            f"year {y} is outside {MIN_YEAR}-{MAX_YEAR}"
            for y in dict.fromkeys((self.first, self.last))
            if not MIN_YEAR <= y <= MAX_YEAR
        ]
        if self.last < self.first:
            problems.append(f"range is reversed: {self.first} comes after {self.last}")
        if problems:
            raise ValueError("; ".join(problems))

    def __str__(self) -> str:
        return str(self.first) if self.first == self.last else f"{self.first}-{self.last}"

    @property
    def start(self) -> date:
        """1 January of the first year."""
        return date(self.first, 1, 1)

    @property
    def end(self) -> date:
        """31 December of the last year (inclusive end)."""
        return date(self.last, 12, 31)

    @property
    def years(self) -> range:
        """The years in the range, in order."""
        return range(self.first, self.last + 1)


_YEARS = re.compile(r"([0-9]{4})(?:\s*[-–]\s*([0-9]{4}))?")


def parse_years(text: str) -> YearRange:
    """Parse ``"2023"`` or ``"2022-2024"`` into a year range.

    Args:
        text: A year or two years joined by a dash; surrounding whitespace is ignored.

    Returns:
        The year range.

    Raises:
        ValueError: If the text is not a year or range, the range is reversed, or a year is
            outside MIN_YEAR..MAX_YEAR.
    """
    match = _YEARS.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not a year like 2023 or a range like 2022-2024")
    first = int(match.group(1))
    last = int(match.group(2)) if match.group(2) else first
    return YearRange(first, last)


# --- ISO weeks (DREAM reports one benefit code per person per ISO week) ------------------------


def weeks_in_iso_year(year: int) -> int:
    """Number of ISO weeks (52 or 53) in an ISO year; 28 December always lies in the last one."""
    return date(year, 12, 28).isocalendar().week


# A week code is YYYYWW with a four-digit year, so a bare year (2020) is never taken for a code.
_WEEK_CODE_YEARS = range(1000, 10000)


def iso_week_code(d: date) -> int:
    """The ISO week of a day as ``YYYYWW``, using the ISO year (so 1 Jan 2021 is 202053).

    Args:
        d: A day in ISO year 1000 or later.

    Returns:
        ISO year times 100 plus ISO week number.

    Raises:
        ValueError: If the ISO year has fewer than four digits.
    """
    iso = d.isocalendar()
    if iso.year not in _WEEK_CODE_YEARS:
        raise ValueError(f"ISO year {iso.year} cannot be written as a YYYYWW week code")
    return iso.year * 100 + iso.week


def check_week_code(code: int) -> None:
    """Raise if ``code`` is not a real ISO week written ``YYYYWW``.

    Args:
        code: The week code.

    Raises:
        ValueError: If the year is not four digits, or the week is 0, above 53, or 53 in a
            year that has only 52 weeks.
    """
    year, week = divmod(code, 100)
    if year not in _WEEK_CODE_YEARS:
        raise ValueError(f"week code {code}: year must have four digits")
    last_week = weeks_in_iso_year(year)
    if not 1 <= week <= last_week:
        raise ValueError(f"week code {code}: ISO year {year} has weeks 1-{last_week}")


def is_week_code(code: int) -> bool:
    """Whether ``code`` is a real ISO week written ``YYYYWW`` (see :func:`check_week_code`)."""
    try:
        check_week_code(code)
    except ValueError:
        return False
    return True


def week_monday(code: int) -> date:
    """The Monday that starts an ISO week given as ``YYYYWW``.

    Args:
        code: The week code.

    Returns:
        The Monday of that week (possibly in the previous calendar year).

    Raises:
        ValueError: If the code is not a real ISO week.
    """
    check_week_code(code)
    year, week = divmod(code, 100)
    return date.fromisocalendar(year, week, 1)
