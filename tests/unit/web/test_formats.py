"""Numbers and days as the pages write them, in Danish and English."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from koes.web.formats import day, number


@pytest.mark.parametrize(
    ("value", "decimals", "danish", "english"),
    [
        (0, 0, "0", "0"),
        (999, 0, "999", "999"),
        (1234, 0, "1.234", "1,234"),
        (1234567, 0, "1.234.567", "1,234,567"),
        (-1234567, 0, "-1.234.567", "-1,234,567"),
        (1234.5, 1, "1.234,5", "1,234.5"),
        (0.125, 2, "0,12", "0.12"),  # half to even, as Python rounds
        (2.5, 0, "2", "2"),
        (1234567.891, 2, "1.234.567,89", "1,234,567.89"),
        (-0.04, 1, "0,0", "0.0"),  # no sign on a zero
    ],
)
def test_number(value: float, decimals: int, danish: str, english: str) -> None:
    assert number(value, decimals, "da") == danish
    assert number(value, decimals, lang="en") == english


def test_number_defaults_to_danish_whole_numbers() -> None:
    assert number(1234567) == "1.234.567"
    assert number(1234.6) == "1.235"


def test_day() -> None:
    assert day(date(2024, 1, 5)) == "05-01-2024"
    assert day(date(2024, 12, 31), "da") == "31-12-2024"
    assert day(date(2024, 12, 31), lang="en") == "2024-12-31"
    assert day(datetime(2023, 7, 1, 23, 59)) == "01-07-2023"
