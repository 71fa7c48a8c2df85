"""Properties of CPR parsing: round trips over the whole century table, and no CPR in messages."""

from __future__ import annotations

import re
from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from koes.domain.cpr import Sex, format_cpr, mask_cpr, parse_cpr

FIRST_BIRTH = date(1858, 1, 1)
LAST_BIRTH = date(2057, 12, 31)


def expected_century(digit7: int, yy: int) -> int:
    """The table of domain-notes §4, written out independently of the code under test."""
    if digit7 <= 3:
        return 1900
    if digit7 in (4, 9):
        return 2000 if yy <= 36 else 1900
    return 2000 if yy <= 57 else 1800


def allowed_digit7(year: int) -> list[int]:
    yy = year % 100
    return [d for d in range(10) if expected_century(d, yy) + yy == year]


@st.composite
def cpr_texts(draw: st.DrawFn) -> tuple[str, date, Sex]:
    birth = draw(st.dates(min_value=FIRST_BIRTH, max_value=LAST_BIRTH))
    sex = draw(st.sampled_from(Sex))
    digit7 = draw(st.sampled_from(allowed_digit7(birth.year)))
    middle = draw(st.integers(0, 99))
    last = draw(st.sampled_from([1, 3, 5, 7, 9] if sex is Sex.MALE else [0, 2, 4, 6, 8]))
    dash = draw(st.sampled_from(["", "-"]))
    text = f"{birth:%d%m}{birth.year % 100:02d}{dash}{digit7}{middle:02d}{last}"
    return text, birth, sex


@given(cpr_texts(), st.booleans())
def test_parse_format_parse_round_trip(case: tuple[str, date, Sex], dash: bool) -> None:
    text, birth, sex = case
    first = parse_cpr(text)
    assert first.cpr is not None, first.problems
    assert (first.cpr.birth_date, first.cpr.sex) == (birth, sex)
    again = parse_cpr(format_cpr(first.cpr, dash=dash))
    assert again.cpr is not None
    assert again.cpr == first.cpr


@given(cpr_texts())
def test_surrounding_whitespace_is_ignored(case: tuple[str, date, Sex]) -> None:
    text, birth, _ = case
    parsed = parse_cpr(f"  {text}\t\n")
    assert parsed.cpr is not None
    assert parsed.cpr.birth_date == birth


@given(st.text(alphabet="0123456789- xA", max_size=16))
def test_problem_messages_never_repeat_the_input(text: str) -> None:
    result = parse_cpr(text)
    digits = "".join(ch for ch in text if ch.isdigit())
    for problem in result.problems:
        # At most four digits in a row (a year) may appear in a message; a CPR or its date
        # part never can.
        assert re.search(r"[0-9]{5}", problem) is None, problem
        if len(digits) >= 5:
            assert digits not in problem


@given(st.text(alphabet="0123456789-ab \n", max_size=60))
def test_masked_text_has_nothing_cpr_shaped_left(text: str) -> None:
    masked = mask_cpr(text)
    assert re.search(r"[0-9]{6}-?[0-9]{4}", masked) is None


@given(st.text(alphabet="abc -\n", max_size=40))
def test_masking_leaves_digit_free_text_alone(text: str) -> None:
    assert mask_cpr(text) == text
