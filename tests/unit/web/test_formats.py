"""Numbers and days as the pages write them, in Danish and English."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from koes.web.formats import danish_key, day, in_sentence, moment, number


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


def test_danish_order_puts_aeoeaa_last_and_aa_as_aa() -> None:
    """Issue 18 item 9: Tønder before Tårnby; Aabenraa, Aalborg and Aarhus sort as å, after Ærø."""
    names = ["Aarhus", "Tårnby", "Ærø", "Aalborg", "Tønder", "Albertslund", "Aabenraa", "Odense", "Høje-Taastrup"]
    assert sorted(names, key=danish_key) == [
        "Albertslund",
        "Høje-Taastrup",
        "Odense",
        "Tønder",
        "Tårnby",
        "Ærø",
        "Aabenraa",
        "Aalborg",
        "Aarhus",
    ]
    assert sorted(["ærø", "Ærø"], key=danish_key) == ["Ærø", "ærø"]  # case only breaks ties


def test_moment_is_danish_local_time_not_utc() -> None:
    """Issue 18 item 9: "Beregnet 2026-12-04T16:56:28+00:00" reads as 17:56 in Copenhagen (winter), 18:56 in summer."""
    assert moment("2026-12-04T16:56:28+00:00") == "04-12-2026 17:56"
    assert moment("2026-12-04T16:56:28+00:00", "en") == "2026-12-04 17:56"
    assert moment(datetime(2026, 7, 1, 16, 56, tzinfo=UTC)) == "01-07-2026 18:56"


def test_in_sentence_keeps_abbreviations() -> None:
    """Issue 18 item 9: "fordelt på aldersgruppe (køs)"."""
    assert in_sentence("Aldersgruppe (KØS)") == "aldersgruppe (KØS)"
    assert in_sentence("ATC-hovedgruppe") == "ATC-hovedgruppe"
    assert in_sentence("DRG/takstværdi (kr.)") == "DRG/takstværdi (kr.)"
    assert in_sentence("Age group (KØS)") == "age group (KØS)"
