"""Vectorised calendar arithmetic on day numbers: weekdays, ISO 8601 weeks and years.

Generators handle dates as *day numbers* (int64 days since 1 January 1970), which numpy
computes on much faster than on ``datetime64``, and convert only when writing. Registers count
time in ISO weeks: DREAM holds one benefit code per week (written ``YYYYWW``) and SSR settles fees
by week (written ``YYWW``). Spells are simplest as intervals of a plain week *index* (Monday-based
weeks counted from the Monday before 1 January 1970), converted to ISO year and week on output.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Days = npt.NDArray[np.datetime64]
Ints = npt.NDArray[np.int64]

# 1 January 1970 was a Thursday: with Monday = 0 its weekday is 3.
_EPOCH_WEEKDAY = 3
THURSDAY, SATURDAY, SUNDAY = 3, 5, 6
# Proleptic Gregorian calendar in 400-year eras (H. Hinnant, "chrono-compatible low-level date
# algorithms"): days from 0000-03-01 to 1970-01-01, and days per era.
_EPOCH_SHIFT = 719_468
_ERA_DAYS = 146_097


def day_numbers(days: Days) -> Ints:
    """Days since 1 January 1970 of each date (NaT is not allowed)."""
    return days.astype("datetime64[D]").astype(np.int64)


def as_dates(numbers: Ints) -> Days:
    return np.asarray(numbers, dtype=np.int64).astype("datetime64[D]")


def weekday(days: Ints) -> Ints:
    """Day of the week of each day number, Monday = 0 … Sunday = 6."""
    return (days + _EPOCH_WEEKDAY) % 7


def week_index(days: Ints) -> Ints:
    """Number of the Monday-based week holding each day (week 0 starts Monday 29 Dec 1969)."""
    return (days + _EPOCH_WEEKDAY) // 7


def week_monday(index: Ints) -> Ints:
    """Day number of the Monday that starts each week index."""
    return index * 7 - _EPOCH_WEEKDAY


def calendar_year(days: Ints) -> Ints:
    """Gregorian year of each day number."""
    z = days + _EPOCH_SHIFT
    era = z // _ERA_DAYS
    doe = z - era * _ERA_DAYS  # day of era, 0–146096
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365  # year of era (March-based)
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    march_based_month = (5 * doy + 2) // 153  # 0 = March … 10 = January, 11 = February
    return np.asarray(yoe + era * 400 + (march_based_month >= 10), dtype=np.int64)


def new_year(year: Ints) -> Ints:
    """Day number of 1 January of each year."""
    y = year - 1  # January counts in the previous March-based year
    era = y // 400
    yoe = y - era * 400
    doe = yoe * 365 + yoe // 4 - yoe // 100 + 306  # 1 January is day 306 of its March-based year
    return np.asarray(era * _ERA_DAYS + doe - _EPOCH_SHIFT, dtype=np.int64)


def is_leap_year(year: Ints) -> npt.NDArray[np.bool_]:
    return np.asarray((year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0)), dtype=np.bool_)


_DAYS_BEFORE_MONTH = np.array([0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334])


def civil_day(year: Ints, month: Ints, day: Ints) -> Ints:
    """Day number of each (year, month, day); 29 February of a common year gives 1 March."""
    leap_day = (month > 2) & is_leap_year(year)
    days = new_year(year) + _DAYS_BEFORE_MONTH[month - 1] + leap_day + day - 1
    return np.asarray(days, dtype=np.int64)


def year_month_day(days: Days) -> tuple[Ints, Ints, Ints]:
    """Year, month (1–12) and day of month (1–31) of each date."""
    months = days.astype("datetime64[M]")
    month_start = months.astype("datetime64[D]")
    day = (days.astype("datetime64[D]") - month_start).astype(np.int64) + 1
    month_number = months.astype(np.int64)
    return month_number // 12 + 1970, month_number % 12 + 1, day


def iso_year_week(days: Ints) -> tuple[Ints, Ints]:
    """ISO year and ISO week (1–53) of each day number."""
    # A week belongs to the ISO year of its Thursday.
    thursday = days - weekday(days) + THURSDAY
    year = calendar_year(thursday)
    return year, (thursday - new_year(year)) // 7 + 1


def iso_week_code(days: Ints) -> Ints:
    """ISO week of each day number written as the integer YYYYWW (DREAM's layout)."""
    year, week = iso_year_week(days)
    return year * 100 + week


def settlement_week_code(days: Ints) -> Ints:
    """ISO week of each day number written as the integer YYWW (SSR's ``honuge``)."""
    year, week = iso_year_week(days)
    return (year % 100) * 100 + week


def week_code_of_index(index: Ints) -> Ints:
    """YYYYWW of each week index."""
    return iso_week_code(week_monday(index))


def index_of_week_code(code: Ints) -> Ints:
    """Week index of each YYYYWW code (the code is assumed to be a valid ISO week)."""
    year, week = code // 100, code % 100
    # Week 1 is the week holding 4 January.
    return week_index(new_year(year) + 3) + week - 1


def weeks_in_iso_year(year: Ints) -> Ints:
    """52 or 53: 28 December always lies in the last ISO week of its year."""
    return iso_year_week(new_year(year + 1) - 4)[1]


def period_weeks(start: np.datetime64, end: np.datetime64) -> tuple[int, int]:
    """First and last week index of a period: the weeks whose Thursday lies inside it.

    This is how ISO assigns weeks to years, so a calendar-year period gets exactly the weeks
    YYYY01 … YYYY52/53 of that ISO year.
    """
    first, last = day_numbers(np.array([start, end]))
    return int(week_index(first + 3)), int(week_index(last - 3))
