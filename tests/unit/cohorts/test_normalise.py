"""CPR cells as analysts' files hold them: every accepted writing gives the same ten digits."""

from __future__ import annotations

from datetime import date

import pytest

from koes.cohorts.cells import Unreadable
from koes.cohorts.normalise import looks_like_cpr, normalise_cpr

# 010190-1234 would be a real-looking number; tests use numbers from the never-issued space
# (failing modulus 11 on a date other than 1 January), as the synthetic generator does.
DIGITS = "0302901235"


@pytest.mark.parametrize(
    "cell",
    [
        "030290-1235",
        "0302901235",
        " 030290-1235 ",
        "030290 1235",
        "030290\u00a01235",  # non-breaking space
        "03 02 90 12 35",
        "030290\u20131235",  # en dash
        "030290\u22121235",  # minus sign
        '="0302901235"',  # Excel's way of keeping text
        "'0302901235",
        "0302901235.0",
    ],
)
def test_accepted_writings_give_the_digits(cell: str) -> None:
    outcome = normalise_cpr(cell)
    assert outcome.cpr is not None and outcome.cpr.digits == DIGITS
    assert not outcome.restored_zero


@pytest.mark.parametrize("cell", [302901235, 302901235.0, "302901235", "302901235,0"])
def test_a_lost_leading_zero_is_restored_and_said(cell: object) -> None:
    outcome = normalise_cpr(cell)  # type: ignore[arg-type]
    assert outcome.cpr is not None and outcome.cpr.digits == DIGITS
    assert outcome.restored_zero


def test_a_ten_digit_number_cell_is_read_whole() -> None:
    # Excel shows 1,21E+09; the file holds the whole number.
    outcome = normalise_cpr(1210901234.0)
    assert outcome.cpr is not None and outcome.cpr.digits == "1210901234"
    assert outcome.cpr.birth_date == date(1990, 10, 12)


def test_nine_digits_without_a_valid_padded_date_are_refused() -> None:
    # 0 + 991301234 gives day 09, month 91.
    outcome = normalise_cpr("991301234")
    assert outcome.cpr is None and outcome.problem == "cpr_nine_digits"
    assert looks_like_cpr("991301234")


@pytest.mark.parametrize(
    ("cell", "problem", "text"),
    [
        (None, "cpr_empty", False),
        ("", "cpr_empty", False),
        ("Jens Hansen", "cpr_letters", True),
        ("1,01E+09", "cpr_scientific", False),
        ("1.01E+09", "cpr_scientific", False),
        ("03029-01235", "cpr_dash", False),
        ("03029012", "cpr_digit_count", False),
        (30290123.5, "cpr_decimal", False),
        (date(2020, 1, 1), "cpr_date_cell", True),
        (Unreadable("cell_formula_without_value"), "cell_formula_without_value", False),
        (-5, "cpr_digit_count", False),
    ],
)
def test_other_cells_are_refused_with_a_reason(cell: object, problem: str, text: bool) -> None:
    outcome = normalise_cpr(cell)  # type: ignore[arg-type]
    assert outcome.cpr is None
    assert outcome.problem == problem
    assert outcome.text is text


@pytest.mark.parametrize(
    ("cell", "problem", "params"),
    [
        ("0313901235", "cpr_month", {"month": 13}),
        ("3202901235", "cpr_day", {"day": 32}),
        ("3002901235", "cpr_day_in_month", {"day": 30, "month": 2, "year": 1990}),
    ],
)
def test_impossible_dates_are_told_apart_from_bad_forms(cell: str, problem: str, params: dict[str, int]) -> None:
    outcome = normalise_cpr(cell)
    assert (outcome.problem, outcome.params, outcome.impossible_date) == (problem, params, True)
    assert looks_like_cpr(cell)


def test_modulus_11_is_a_note_not_a_refusal() -> None:
    outcome = normalise_cpr(DIGITS)
    assert outcome.cpr is not None and not outcome.cpr.mod11_ok
