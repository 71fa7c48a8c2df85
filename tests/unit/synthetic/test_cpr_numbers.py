"""Synthetic CPR numbers: safe (fail modulus 11, never 1 January), unique and readable back."""

from __future__ import annotations

from datetime import date

import numpy as np
import numpy.typing as npt
import pytest

from koes.domain.cpr import Sex, mod11_ok, parse_cpr
from koes.synthetic.cpr_numbers import synthetic_cpr_numbers

FIRST = np.datetime64("1858-01-02")
LAST = np.datetime64("2057-12-31")


def _random_births(
    rng: np.random.Generator, n: int, first: np.datetime64 = FIRST, last: np.datetime64 = LAST
) -> npt.NDArray[np.datetime64]:
    days = rng.integers(first.astype(np.int64), last.astype(np.int64) + 1, size=n)
    births = days.astype("datetime64[D]")
    # Callers never pass 1 January; move those to 2 January.
    new_year = births == births.astype("datetime64[Y]").astype("datetime64[D]")
    result: npt.NDArray[np.datetime64] = np.where(new_year, births + 1, births)
    return result


def _check_parse_back(
    numbers: npt.NDArray[np.str_], births: npt.NDArray[np.datetime64], male: npt.NDArray[np.bool_]
) -> None:
    for number, birth, is_male in zip(numbers.tolist(), births.tolist(), male.tolist(), strict=True):
        parsed = parse_cpr(number)
        assert parsed.cpr is not None, parsed.problems
        assert parsed.cpr.birth_date == birth
        assert parsed.cpr.sex is (Sex.MALE if is_male else Sex.FEMALE)
        assert not parsed.cpr.mod11_ok


def test_numbers_parse_back_to_birth_date_and_sex_and_fail_mod11() -> None:
    rng = np.random.default_rng(1)
    births = _random_births(rng, 20_000)
    male = rng.random(births.size) < 0.5
    numbers = synthetic_cpr_numbers(births, male, np.random.default_rng(2))
    assert numbers.shape == births.shape
    assert numbers.dtype == np.dtype("U10")
    assert all(len(n) == 10 and n.isdigit() for n in numbers.tolist())
    assert len(np.unique(numbers)) == numbers.size
    _check_parse_back(numbers, births, male)
    assert not any(mod11_ok(n) for n in numbers.tolist())


def test_century_edges_of_the_table() -> None:
    births = np.array(
        ["1858-01-02", "1899-12-31", "1900-01-02", "1936-12-31", "1937-01-02", "1957-06-30",
         "1958-07-01", "1999-12-31", "2000-01-02", "2036-12-31", "2037-01-02", "2057-12-31"],
        dtype="datetime64[D]",
    )  # fmt: skip
    for male_value in (True, False):
        male = np.full(births.size, male_value)
        numbers = synthetic_cpr_numbers(births, male, np.random.default_rng(3))
        _check_parse_back(numbers, births, male)


def test_crowded_birth_date_stays_unique_up_to_capacity() -> None:
    # 1910 allows digit 7 in 0-3 only: 4 * 100 * 4 = 1600 numbers per sex and date.
    births = np.full(3200, np.datetime64("1910-05-17"))
    male = np.arange(3200) % 2 == 0
    numbers = synthetic_cpr_numbers(births, male, np.random.default_rng(4))
    assert len(np.unique(numbers)) == 3200
    _check_parse_back(numbers[::97], births[::97], male[::97])


def test_too_many_persons_on_one_date_raises() -> None:
    births = np.full(1601, np.datetime64("1910-05-17"))
    with pytest.raises(ValueError, match="more persons than"):
        synthetic_cpr_numbers(births, np.ones(1601, dtype=bool), np.random.default_rng(5))


def test_same_ddmmyy_in_different_centuries_stays_unique() -> None:
    # 1910 and 2010 both write "170510"; 1860 and 1960 both write "170560". Only digit 7
    # tells them apart, so the numbers must still be unique across the pair.
    births = np.array(["1910-05-17"] * 800 + ["2010-05-17"] * 800, dtype="datetime64[D]")
    births_b = np.array(["1860-05-17"] * 800 + ["1960-05-17"] * 800, dtype="datetime64[D]")
    for b in (births, births_b):
        male = np.ones(b.size, dtype=bool)
        numbers = synthetic_cpr_numbers(b, male, np.random.default_rng(6))
        assert len(np.unique(numbers)) == b.size
        assert len({n[:6] for n in numbers.tolist()}) == 1
        _check_parse_back(numbers[::53], b[::53], male[::53])


def test_1_january_is_refused() -> None:
    births = np.array(["1980-03-04", "1985-01-01"], dtype="datetime64[D]")
    with pytest.raises(ValueError, match="1 January"):
        synthetic_cpr_numbers(births, np.array([True, False]), np.random.default_rng(7))


@pytest.mark.parametrize("day", ["1857-12-31", "2058-01-02", "1800-06-01"])
def test_dates_outside_the_century_table_are_refused(day: str) -> None:
    births = np.array([day], dtype="datetime64[D]")
    with pytest.raises(ValueError, match="1858-2057"):
        synthetic_cpr_numbers(births, np.array([True]), np.random.default_rng(8))


def test_bad_inputs_are_refused() -> None:
    rng = np.random.default_rng(9)
    births = np.array(["1980-03-04", "1981-03-04"], dtype="datetime64[D]")
    with pytest.raises(ValueError, match="same length"):
        synthetic_cpr_numbers(births, np.array([True]), rng)
    with pytest.raises(ValueError, match="bool"):
        synthetic_cpr_numbers(births, np.array([1, 0]), rng)
    with pytest.raises(ValueError, match="datetime64"):
        synthetic_cpr_numbers(np.array([1, 2]), np.array([True, False]), rng)
    with pytest.raises(ValueError, match="NaT"):
        synthetic_cpr_numbers(np.array(["1980-03-04", "NaT"], dtype="datetime64[D]"), np.array([True, False]), rng)


def test_empty_input_gives_empty_output() -> None:
    numbers = synthetic_cpr_numbers(
        np.array([], dtype="datetime64[D]"), np.array([], dtype=bool), np.random.default_rng(10)
    )
    assert numbers.shape == (0,)


def test_deterministic_given_the_rng_state_and_random_across_states() -> None:
    births = _random_births(np.random.default_rng(11), 5_000)
    male = np.random.default_rng(12).random(births.size) < 0.5
    first = synthetic_cpr_numbers(births, male, np.random.default_rng(13))
    again = synthetic_cpr_numbers(births, male, np.random.default_rng(13))
    other = synthetic_cpr_numbers(births, male, np.random.default_rng(14))
    assert np.array_equal(first, again)
    assert np.mean(first != other) > 0.9


def test_last_digits_cover_all_ten_values() -> None:
    births = _random_births(np.random.default_rng(15), 20_000)
    male = np.random.default_rng(16).random(births.size) < 0.5
    numbers = synthetic_cpr_numbers(births, male, np.random.default_rng(17))
    last = np.array([int(n[9]) for n in numbers.tolist()])
    counts = np.bincount(last, minlength=10)
    assert (counts > 0.05 * births.size).all(), counts


def test_coarser_datetime_units_are_read_as_days() -> None:
    births = np.array(["1980-03-04T12:30"], dtype="datetime64[m]")
    numbers = synthetic_cpr_numbers(births, np.array([False]), np.random.default_rng(18))
    parsed = parse_cpr(numbers[0])
    assert parsed.cpr is not None
    assert parsed.cpr.birth_date == date(1980, 3, 4)


@pytest.mark.slow
def test_national_scale_is_unique() -> None:
    rng = np.random.default_rng(19)
    births = _random_births(rng, 6_000_000, np.datetime64("1915-01-01"), np.datetime64("2025-12-31"))
    male = rng.random(births.size) < 0.5
    numbers = synthetic_cpr_numbers(births, male, rng)
    # Compare as integers (read from the UCS-4 code points): far cheaper than sorting strings.
    # All numbers are 10 characters, so distinct strings give distinct integers.
    digits = numbers.view(np.uint32).reshape(-1, 10).astype(np.int64) - ord("0")
    as_int = np.sort(digits @ (10 ** np.arange(9, -1, -1, dtype=np.int64)))
    assert not (as_int[1:] == as_int[:-1]).any()
    _check_parse_back(numbers[::6000], births[::6000], male[::6000])
