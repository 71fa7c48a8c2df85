"""CPR parsing, century table, modulus 11, formatting and masking."""

from __future__ import annotations

import dataclasses
import itertools
from datetime import date

import pytest

from koes.domain.cpr import (
    CENTURY_RULES,
    MASK,
    Cpr,
    CprParse,
    Sex,
    century,
    format_cpr,
    mask_cpr,
    mod11_ok,
    parse_cpr,
)

# The textbook example number: passes modulus 11 (weighted sum 154 = 14 * 11), born 1961, male.
VALID_MOD11 = "070761-4285"


def _weighted_sum(digits: str) -> int:
    return sum(w * int(d) for w, d in zip((4, 3, 2, 7, 6, 5, 4, 3, 2, 1), digits, strict=True))


def _first_failing(prefix7: str) -> str:
    """A 10-digit number with the given first seven digits that fails modulus 11."""
    for tail in range(1000):
        digits = f"{prefix7}{tail:03d}"
        if _weighted_sum(digits) % 11 != 0:
            return digits
    raise AssertionError("unreachable: most numbers fail modulus 11")


def _accepted(text: str) -> Cpr:
    result = parse_cpr(text)
    assert result.ok, result.problems
    assert result.cpr is not None
    return result.cpr


def _rejected(text: str) -> tuple[str, ...]:
    result = parse_cpr(text)
    assert not result.ok
    assert result.cpr is None
    assert result.problems
    return result.problems


# --- accepted numbers -------------------------------------------------------------------------


def test_textbook_number_is_valid_male_1961_and_passes_mod11() -> None:
    cpr = _accepted(VALID_MOD11)
    assert cpr.digits == "0707614285"
    assert cpr.birth_date == date(1961, 7, 7)
    assert cpr.sex is Sex.MALE
    assert cpr.mod11_ok
    assert cpr.notes == ()


@pytest.mark.parametrize("text", ["0707614285", " 070761-4285", "070761-4285\n", "\t0707614285  "])
def test_with_or_without_dash_and_surrounding_whitespace(text: str) -> None:
    assert _accepted(text).digits == "0707614285"


def test_even_last_digit_is_female() -> None:
    assert _accepted("070761-4284").sex is Sex.FEMALE
    assert Sex.FEMALE.koen == "2"
    assert Sex.MALE.koen == "1"


def test_1_january_number_failing_mod11_is_accepted_with_a_note() -> None:
    # A number for 1 January 1965 (digit 7 in 0-3 -> 1900s) built to fail modulus 11, like
    # those CPR-kontoret has issued since 2007.
    digits = _first_failing("0101651")
    assert _weighted_sum(digits) % 11 != 0
    cpr = _accepted(digits)
    assert cpr.birth_date == date(1965, 1, 1)
    assert not cpr.mod11_ok
    assert len(cpr.notes) == 1
    assert "modulus 11" in cpr.notes[0]


def test_mod11_failure_on_other_dates_is_accepted_but_flagged_as_unissued() -> None:
    digits = _first_failing("1503801")
    cpr = _accepted(digits)
    assert not cpr.mod11_ok
    assert len(cpr.notes) == 2
    assert "1 January" in cpr.notes[1]


def test_leap_day_exists_in_leap_year() -> None:
    assert _accepted("290224-1234").birth_date == date(1924, 2, 29)
    # 2000 is a leap year (divisible by 400): digit 7 = 4 and YY 00 -> 2000.
    assert _accepted("290200-4234").birth_date == date(2000, 2, 29)


# --- century table ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("digit7", "yy", "expected"),
    [
        (0, 0, 1900),
        (3, 99, 1900),
        (4, 0, 2000),
        (4, 36, 2000),
        (4, 37, 1900),
        (4, 99, 1900),
        (9, 36, 2000),
        (9, 37, 1900),
        (5, 0, 2000),
        (5, 57, 2000),
        (5, 58, 1800),
        (8, 57, 2000),
        (8, 58, 1800),
        (8, 99, 1800),
    ],
)
def test_century_table_edges(digit7: int, yy: int, expected: int) -> None:
    assert century(digit7, yy) == expected


def test_century_rules_cover_every_digit_and_year_exactly_once() -> None:
    for digit7, yy in itertools.product(range(10), range(100)):
        matching = [r for r in CENTURY_RULES if digit7 in r.digits and r.first_yy <= yy <= r.last_yy]
        assert len(matching) == 1, (digit7, yy)


@pytest.mark.parametrize(("digit7", "yy"), [(-1, 0), (10, 0), (0, -1), (0, 100)])
def test_century_rejects_out_of_range_arguments(digit7: int, yy: int) -> None:
    with pytest.raises(ValueError):
        century(digit7, yy)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("010136-4001", date(2036, 1, 1)),
        ("020137-4001", date(1937, 1, 2)),
        ("020136-9001", date(2036, 1, 2)),
        ("020137-9001", date(1937, 1, 2)),
        ("020157-5001", date(2057, 1, 2)),
        ("020158-5001", date(1858, 1, 2)),
        ("311299-8001", date(1899, 12, 31)),
        ("311299-3001", date(1999, 12, 31)),
    ],
)
def test_parse_applies_century_table(text: str, expected: date) -> None:
    assert _accepted(text).birth_date == expected


# --- rejected numbers -------------------------------------------------------------------------


def test_day_31_in_april_is_rejected_with_a_reason() -> None:
    assert _rejected("310487-1234") == ("day 31 does not exist in month 04 of 1987",)


def test_29_february_in_a_non_leap_year_is_rejected() -> None:
    assert _rejected("290223-1234") == ("day 29 does not exist in month 02 of 1923",)
    # 1900 is not a leap year although divisible by 4.
    assert _rejected("290200-1234") == ("day 29 does not exist in month 02 of 1900",)


def test_month_and_day_problems_are_all_listed() -> None:
    assert _rejected("001387-1234") == (
        "month 13 does not exist",
        "day 00 does not exist in any month",
    )


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("070761-428", "not 10 digits (has 9)"),
        ("07076142851", "not 10 digits (has 11)"),
        ("070761-42851", "not 10 digits (has 11)"),
        ("07O761-4285", "contains characters other than digits and a dash"),
        ("070761 4285", "contains characters other than digits and a dash"),
        ("０７０７６１４２８５", "contains characters other than digits and a dash"),
        ("0707-614285", "the only dash allowed is between the 6-digit date and the 4-digit sequence number"),
        ("070761--4285", "the only dash allowed is between the 6-digit date and the 4-digit sequence number"),
    ],
)
def test_malformed_text_is_rejected(text: str, problem: str) -> None:
    assert _rejected(text) == (problem,)


@pytest.mark.parametrize(
    "text",
    ["310487-1234", "290223-1234", "001387-1234", "0707-614285", "070761-42851", "07O761-4285"],
)
def test_problem_messages_never_contain_the_number(text: str) -> None:
    digits = "".join(ch for ch in text if ch.isdigit())
    for problem in _rejected(text):
        assert digits not in problem
        assert digits[:6] not in problem
        assert text.strip() not in problem


# --- result types -----------------------------------------------------------------------------


def test_cpr_repr_does_not_show_the_digits() -> None:
    cpr = _accepted(VALID_MOD11)
    assert "0707614285" not in repr(cpr)
    assert "0707614285" not in repr(parse_cpr(VALID_MOD11))


def test_cpr_is_frozen() -> None:
    cpr = _accepted(VALID_MOD11)
    with pytest.raises(dataclasses.FrozenInstanceError):
        cpr.digits = "0000000000"  # type: ignore[misc]


def test_cpr_parse_holds_exactly_one_of_cpr_and_problems() -> None:
    cpr = _accepted(VALID_MOD11)
    with pytest.raises(ValueError):
        CprParse(None, ())
    with pytest.raises(ValueError):
        CprParse(cpr, ("a problem",))


def test_cpr_rejects_malformed_digits_without_echoing_them() -> None:
    with pytest.raises(ValueError) as info:
        Cpr("07076142", date(1961, 7, 7), Sex.MALE, mod11_ok=False)
    assert "07076142" not in str(info.value)


# --- helpers ----------------------------------------------------------------------------------


def test_format_cpr_with_and_without_dash() -> None:
    cpr = _accepted("0707614285")
    assert format_cpr(cpr) == "070761-4285"
    assert format_cpr(cpr, dash=False) == "0707614285"


def test_mod11_ok() -> None:
    assert mod11_ok("0707614285")
    assert not mod11_ok("0707614284")
    with pytest.raises(ValueError) as info:
        mod11_ok("070761-4285")
    assert "070761" not in str(info.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("patient 070761-4285 seen", f"patient {MASK} seen"),
        ("0707614285", MASK),
        ("a=0707614285,b=310487-1234", f"a={MASK},b={MASK}"),
        ("no numbers here", "no numbers here"),
        ("short 12345-6789 and 123456789", "short 12345-6789 and 123456789"),
        ("in a longer run 070761428512", f"in a longer run {MASK}12"),
    ],
)
def test_mask_cpr(text: str, expected: str) -> None:
    assert mask_cpr(text) == expected
