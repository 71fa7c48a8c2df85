"""Safe synthetic CPR numbers, generated vectorised.

A synthetic person must never get a number that could belong to a real person. CPR-kontoret has
only issued numbers that fail modulus 11 for people born on 1 January (domain-notes §4), so a
number that fails modulus 11 on any other birth date is from the never-issued space. Every
number made here fails modulus 11, and 1 January birth dates are refused.

Otherwise the numbers are ordinary: the date part is the birth date, digit 7 gives the right
century with the year, and the parity of the last digit gives the sex, so ``parse_cpr`` reads
them back exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from koes.domain.cpr import MOD11_WEIGHTS, century

__all__ = ["FIRST_YEAR", "LAST_YEAR", "synthetic_cpr_numbers"]

# The century table covers births from 1858 (digit 7 in 5-8, YY 58) to 2057 (5-8, YY 57).
FIRST_YEAR = 1858
LAST_YEAR = 2057

# For each two-digit sequence (digits 8-9) and digit 7 there are five last digits of the wanted
# parity, of which at most one passes modulus 11; four slots are always free of it.
_SLOTS = 4
_TAIL = 100 * _SLOTS


def _digit7_table() -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Digit-7 values allowed for each birth year, read off the domain's century table.

    Returns:
        ``(allowed, count)``: ``allowed[y, i]`` is the i-th allowed digit for year
        ``FIRST_YEAR + y`` (padded with -1), ``count[y]`` how many there are.
    """
    n_years = LAST_YEAR - FIRST_YEAR + 1
    allowed = np.full((n_years, 10), -1, dtype=np.int64)
    count = np.zeros(n_years, dtype=np.int64)
    for row, year in enumerate(range(FIRST_YEAR, LAST_YEAR + 1)):
        yy = year % 100
        digits = [d for d in range(10) if century(d, yy) == year - yy]
        allowed[row, : len(digits)] = digits
        count[row] = len(digits)
    return allowed, count


_DIGIT7, _N_DIGIT7 = _digit7_table()
# Size of the number space per (birth date, sex) for each birth year.
_SPACE = _N_DIGIT7 * _TAIL
# Steps of the per-group affine permutation: coprime with every space size, so that
# rank -> (offset + rank * step) mod space is a bijection whatever the year.
_STEPS = np.array(
    [s for s in range(2, int(_SPACE.min())) if all(math.gcd(s, int(m)) == 1 for m in set(_SPACE))],
    dtype=np.int64,
)


def synthetic_cpr_numbers(
    birth: npt.NDArray[np.datetime64],
    male: npt.NDArray[np.bool_],
    rng: np.random.Generator,
) -> npt.NDArray[np.str_]:
    """Draw unique synthetic CPR numbers that fail modulus 11.

    Persons sharing a birth date and sex get distinct numbers by ranking them within their
    group and sending the ranks through a random affine permutation of that group's number
    space; everything is array arithmetic, no per-person Python.

    Args:
        birth: Birth dates (``datetime64``; converted to day precision), 1858-2057, none on
            1 January.
        male: True for men (odd last digit), False for women (even last digit); same length.
        rng: Source of randomness; the result depends only on its state and the inputs.

    Returns:
        10-character strings ``DDMMYYSSSS`` (no dash), unique within the call, in input order.

    Raises:
        ValueError: On mismatched or wrongly typed inputs, missing dates, dates outside
            1858-2057, any 1 January birth date, or more persons on one birth date and sex
            than the number space holds.
    """
    days = _check_inputs(birth, male)
    if days.size == 0:
        return np.empty(0, dtype="U10")
    groups = _group_by_date_and_sex(days, male)
    # Date arithmetic is done once per (birth date, sex) group, not once per person.
    year, month, day = _date_parts(groups.days)
    _refuse_unsafe_dates(year, month, day)
    space = _SPACE[year - FIRST_YEAR]
    _refuse_full_groups(groups.size, space)

    slot_index = _slot_indices(groups, space, rng)
    digit7 = _DIGIT7[(year - FIRST_YEAR)[groups.index], slot_index // _TAIL]
    seq89 = (slot_index // _SLOTS) % 100

    date_digits = _two_digit_columns(day, month, year % 100)
    weighted = (date_digits @ np.array(MOD11_WEIGHTS[:6], dtype=np.int64))[groups.index]
    weighted += 4 * digit7 + 3 * (seq89 // 10) + 2 * (seq89 % 10)
    last = _failing_last_digit(weighted, male, slot_index % _SLOTS)

    # Fill UCS-4 code points directly and view them as strings: no per-row formatting and no
    # bytes-to-str conversion pass.
    out = np.empty((days.size, 10), dtype=np.uint32)
    out[:, :6] = (date_digits + ord("0")).astype(np.uint32)[groups.index]
    for col, values in ((6, digit7), (7, seq89 // 10), (8, seq89 % 10), (9, last)):
        out[:, col] = values + ord("0")
    strings: npt.NDArray[np.str_] = out.view("U10").ravel()
    return strings


def _check_inputs(birth: npt.NDArray[np.datetime64], male: npt.NDArray[np.bool_]) -> npt.NDArray[np.int64]:
    """Validate the inputs and return the birth dates as days since 1970-01-01."""
    if not np.issubdtype(birth.dtype, np.datetime64):
        raise ValueError(f"birth must be datetime64, got {birth.dtype}")
    if male.dtype != np.bool_:
        raise ValueError(f"male must be bool, got {male.dtype}")
    if birth.ndim != 1 or birth.shape != male.shape:
        raise ValueError("birth and male must be 1-D arrays of the same length")
    as_days = birth.astype("datetime64[D]")
    if np.isnat(as_days).any():
        raise ValueError("birth contains missing dates (NaT)")
    return as_days.astype(np.int64)


@dataclass(frozen=True)
class _Groups:
    """Persons grouped by (birth date, sex).

    ``index[i]`` is person i's group and ``rank[i]`` their position in it (0, 1, ...);
    ``days`` and ``size`` are per group.
    """

    index: npt.NDArray[np.int64]
    rank: npt.NDArray[np.int64]
    days: npt.NDArray[np.int64]
    size: npt.NDArray[np.int64]


def _group_by_date_and_sex(days: npt.NDArray[np.int64], male: npt.NDArray[np.bool_]) -> _Groups:
    # One stable sort gives groups and ranks; ranks then follow input order within a group.
    key = days * 2 + male.astype(np.int64)
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    is_start = np.empty(key.size, dtype=bool)
    is_start[0] = True
    np.not_equal(sorted_key[1:], sorted_key[:-1], out=is_start[1:])
    starts = np.flatnonzero(is_start)
    group_sorted = np.cumsum(is_start) - 1
    index = np.empty_like(key)
    index[order] = group_sorted
    rank = np.empty_like(key)
    rank[order] = np.arange(key.size) - starts[group_sorted]
    size = np.diff(np.append(starts, key.size))
    return _Groups(index=index, rank=rank, days=sorted_key[starts] // 2, size=size)


def _date_parts(
    days: npt.NDArray[np.int64],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Calendar year, month and day of days since the epoch."""
    as_date = days.astype("datetime64[D]")
    months = as_date.astype("datetime64[M]")
    year = months.astype("datetime64[Y]").astype(np.int64) + 1970
    month = months.astype(np.int64) % 12 + 1
    day = (as_date - months.astype("datetime64[D]")).astype(np.int64) + 1
    return year, month, day


def _refuse_unsafe_dates(year: npt.NDArray[np.int64], month: npt.NDArray[np.int64], day: npt.NDArray[np.int64]) -> None:
    # Numbers failing modulus 11 have been issued for 1 January births, so a synthetic number
    # on that date could be a real person's.
    if np.any((month == 1) & (day == 1)):
        raise ValueError(
            "a birth date is 1 January: synthetic CPR numbers failing modulus 11 are only safe on other dates"
        )
    if np.any((year < FIRST_YEAR) | (year > LAST_YEAR)):
        raise ValueError(
            f"a birth date is outside {FIRST_YEAR}-{LAST_YEAR}, which the CPR century table cannot express"
        )


def _refuse_full_groups(size: npt.NDArray[np.int64], space: npt.NDArray[np.int64]) -> None:
    full = size > space
    if full.any():
        raise ValueError(
            f"{int(np.count_nonzero(full))} (birth date, sex) group(s) have more persons than "
            f"there are synthetic CPR numbers for them ({int(space.min())} or more per group)"
        )


def _slot_indices(groups: _Groups, space: npt.NDArray[np.int64], rng: np.random.Generator) -> npt.NDArray[np.int64]:
    """A distinct index into the number space of each person's (birth date, sex) group."""
    offset = rng.integers(0, space)
    step = _STEPS[rng.integers(0, _STEPS.size, size=space.size)]
    g = groups.index
    # rank < space and gcd(step, space) == 1, so distinct ranks give distinct indices.
    result: npt.NDArray[np.int64] = (offset[g] + groups.rank * step[g]) % space[g]
    return result


def _two_digit_columns(*values: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Tens and units of each two-digit value, as columns in order."""
    return np.stack([part for v in values for part in (v // 10, v % 10)], axis=1)


def _failing_last_digit(
    weighted: npt.NDArray[np.int64], male: npt.NDArray[np.bool_], slot: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    """The ``slot``-th last digit of the right parity that makes the number fail modulus 11.

    ``weighted`` is the modulus 11 weighted sum of the first nine digits.
    """
    passing = (-weighted) % 11  # the one last digit that would pass; 10 means none does
    parity = male.astype(np.int64)
    # Five candidates parity + 2k (k = 0..4). Skip the passing one if it is among them;
    # otherwise skip an arbitrary one so the four slots still spread over all five digits.
    passing_is_candidate = (passing <= 9) & (passing % 2 == parity)
    skipped = np.where(passing_is_candidate, (passing - parity) // 2, weighted % 5)
    k = (skipped + 1 + slot) % 5
    result: npt.NDArray[np.int64] = parity + 2 * k
    return result
