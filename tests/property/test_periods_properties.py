"""Properties of ISO week codes, age and year ranges."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from koes.domain.periods import (
    YearRange,
    age_on,
    is_week_code,
    iso_week_code,
    load_age_band_schemes,
    parse_years,
    week_monday,
)

SCHEMES = load_age_band_schemes()
# Week codes need a four-digit ISO year.
FIRST_CODED_DAY = date(1000, 1, 1)


@given(st.dates(min_value=FIRST_CODED_DAY))
def test_week_code_of_a_day_leads_back_to_the_monday_of_its_week(day: date) -> None:
    code = iso_week_code(day)
    assert is_week_code(code)
    monday = week_monday(code)
    assert monday.weekday() == 0
    assert monday <= day < monday + timedelta(days=7)


@given(st.dates(min_value=FIRST_CODED_DAY, max_value=date(9999, 12, 24)))
def test_week_code_round_trips_through_its_monday(day: date) -> None:
    code = iso_week_code(day)
    assert iso_week_code(week_monday(code)) == code


@given(st.dates(min_value=FIRST_CODED_DAY, max_value=date(9999, 12, 24)))
def test_consecutive_weeks_have_consecutive_or_year_wrapping_codes(day: date) -> None:
    this, following = iso_week_code(day), iso_week_code(day + timedelta(days=7))
    assert following == this + 1 or (following % 100 == 1 and following // 100 == this // 100 + 1)


@given(st.dates(), st.dates())
def test_age_grows_by_one_each_birthday(a: date, b: date) -> None:
    birth, on = min(a, b), max(a, b)
    age = age_on(birth, on)
    assert age >= 0
    # Compared with the naive year difference, the age is the same or one less.
    assert on.year - birth.year - age in (0, 1)


@given(st.integers(0, 150), st.sampled_from(sorted(SCHEMES)))
def test_band_of_contains_the_age(age: int, scheme_id: str) -> None:
    band = SCHEMES[scheme_id].band_of(age)
    assert band.lower <= age
    assert band.upper is None or age <= band.upper


@given(st.integers(1990, 2100), st.integers(1990, 2100))
def test_year_range_text_round_trips(a: int, b: int) -> None:
    years = YearRange(min(a, b), max(a, b))
    assert parse_years(str(years)) == years
    assert years.start <= years.end
    assert len(years.years) == years.last - years.first + 1
