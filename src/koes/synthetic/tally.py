"""Yearly tallies of raw extracts, and the persons they are counted against.

A :class:`Tally` holds named numbers per calendar year (``admissions`` in 2023, ``person_years``
in 2023 …). The published-figure table (:mod:`koes.synthetic.calibration`) combines them; the
register modules (``tally_hospital``, ``tally_practice``, ``tally_care``) fill them from the
extracts. :class:`Persons` is what those modules share: every person as an integer index, with
sex, birth date and residence history, so ages and municipalities are looked up on any day.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from koes.synthetic.isoweek import calendar_year, civil_day, new_year
from koes.synthetic.population import age_in_years

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]

DAYS_PER_YEAR = 365.25
OPEN_END = np.iinfo(np.int64).max // 4  # til_dato of a current address, as a day number
MID_YEAR = (7, 1)  # ages and residents "in a year" are taken on 1 July


@dataclass
class Tally:
    """Named yearly numbers of one extract set, restricted to the years of its period."""

    years: tuple[int, ...]
    values: dict[str, dict[int, float]] = field(default_factory=dict)

    def count(self, name: str, year: Ints, weight: Floats | Ints | None = None) -> None:
        """Add each event's weight (1 when none) to ``name`` in the event's year."""
        first = self.years[0]
        idx = np.asarray(year, dtype=np.int64) - first
        keep = (idx >= 0) & (idx < len(self.years))
        w = None if weight is None else np.asarray(weight, dtype=np.float64)[keep]
        sums = np.bincount(idx[keep], weights=w, minlength=len(self.years))
        row = self.values.setdefault(name, dict.fromkeys(self.years, 0.0))
        for k, y in enumerate(self.years):
            row[y] += float(sums[k])

    def distinct(self, name: str, year: Ints, person: Ints) -> None:
        """Add the number of distinct persons among the events of each year."""
        pairs = np.unique(np.asarray(year, dtype=np.int64) * (1 << 32) + np.asarray(person, dtype=np.int64))
        self.count(name, pairs >> 32)

    def put(self, name: str, year: int, value: float) -> None:
        if year in self.years:
            self.values.setdefault(name, dict.fromkeys(self.years, 0.0))[year] += value

    def get(self, name: str) -> dict[int, float]:
        if name not in self.values:
            raise KeyError(f"no tally named {name!r}")
        return self.values[name]

    def merge(self, other: Tally) -> None:
        """Add another tally of the same years (e.g. a further chunk of persons)."""
        for name, row in other.values.items():
            for y, v in row.items():
                self.put(name, y, v)


@dataclass(frozen=True)
class Persons:
    """Every person of an extract set; ``index`` turns CPR numbers into positions."""

    pnr: pa.Array  # sorted, unique
    male: Bools
    birth: Ints  # day numbers
    residence: Residence

    @classmethod
    def of(cls, personer: pa.Table, adresser: pa.Table) -> Persons:
        order = pc.sort_indices(personer["pnr"])
        p = personer.take(order)
        pnr = p["pnr"].combine_chunks()
        male = np.asarray(p["koen"].to_numpy(zero_copy_only=False) == "1", dtype=np.bool_)
        birth = _day_numbers(p["foed_dato"])
        person = _index(pnr, adresser["pnr"])
        kommune = pc.cast(adresser["kommunekode"], pa.int64()).to_numpy(zero_copy_only=False)
        fra = _day_numbers(adresser["fra_dato"])
        til = _day_numbers(adresser["til_dato"], missing=OPEN_END)
        return cls(pnr, male, birth, Residence.of(person, kommune, fra, til))

    def __len__(self) -> int:
        return len(self.pnr)

    def index(self, pnr: pa.ChunkedArray | pa.Array) -> Ints:
        """Position of each CPR number; a number not among the persons is an error."""
        return _index(self.pnr, pnr)

    def age_on(self, person: Ints, day: Ints) -> Ints:
        birth = self.birth[person].astype("datetime64[D]")
        return age_in_years(birth, np.asarray(day, dtype=np.int64).astype("datetime64[D]"))


@dataclass(frozen=True)
class Residence:
    """Address periods sorted by (person, fra): resident in ``kommune`` on ``fra <= day < til``."""

    person: Ints
    kommune: Ints
    fra: Ints
    til: Ints

    @classmethod
    def of(cls, person: Ints, kommune: Ints, fra: Ints, til: Ints) -> Residence:
        order = np.lexsort((fra, person))
        return cls(person[order], kommune[order], fra[order], til[order])

    def municipality_on(self, person: Ints, day: Ints) -> Ints:
        """Kommunekode of residence on each day; 0 where the person was not resident."""
        span = np.int64(1 << 24)
        keys = self.person * span + self.fra
        pos = np.searchsorted(keys, person * span + day, side="right") - 1
        valid = pos >= 0
        pos = np.clip(pos, 0, None)
        inside = valid & (self.person[pos] == person) & (day < self.til[pos])
        return np.where(inside, self.kommune[pos], 0)

    def days_in(self, year: int, period: Bools | None = None) -> Floats:
        """Days each address period (or the chosen ones) lies in ``year``."""
        y0, y1 = int(new_year(np.array([year]))[0]), int(new_year(np.array([year + 1]))[0])
        days = np.clip(np.minimum(self.til, y1) - np.maximum(self.fra, y0), 0, None).astype(np.float64)
        return days if period is None else np.where(period, days, 0.0)


def mid_year(year: int) -> int:
    """Day number of 1 July of ``year``."""
    month, day = MID_YEAR
    return int(civil_day(np.array([year]), np.array([month]), np.array([day]))[0])


def resident_on(persons: Persons, day: int) -> tuple[Ints, Ints]:
    """Persons resident on ``day`` and their municipality."""
    r = persons.residence
    on = (r.fra <= day) & (day < r.til)
    return r.person[on], r.kommune[on]


def add_population(tally: Tally, persons: Persons) -> None:
    """Person-years (all, 65+, København) and residents on 1 July by age group and sex."""
    r = persons.residence
    for year in tally.years:
        old = persons.age_on(r.person, np.full(len(r.person), mid_year(year))) >= 65
        days = r.days_in(year)
        tally.put("person_years", year, float(days.sum()) / DAYS_PER_YEAR)
        tally.put("person_years_65", year, float(days[old].sum()) / DAYS_PER_YEAR)
        tally.put("person_years_kbh", year, float(days[r.kommune == 101].sum()) / DAYS_PER_YEAR)
        person, _ = resident_on(persons, mid_year(year))
        age = persons.age_on(person, np.full(len(person), mid_year(year)))
        male = persons.male[person]
        middle_aged = (age >= 30) & (age <= 59)
        tally.put("residents", year, float(len(person)))
        tally.put("residents_65", year, float((age >= 65).sum()))
        tally.put("residents_30_59_men", year, float((middle_aged & male).sum()))
        tally.put("residents_30_59_women", year, float((middle_aged & ~male).sum()))


def year_of(days: Ints) -> Ints:
    return calendar_year(np.asarray(days, dtype=np.int64))


def _index(sorted_pnr: pa.Array, pnr: pa.ChunkedArray | pa.Array) -> Ints:
    found = pc.index_in(pnr, value_set=sorted_pnr)
    if found.null_count:
        raise ValueError(f"{found.null_count} rows name a person who is not in cpr_personer")
    return np.asarray(found.to_numpy(zero_copy_only=False), dtype=np.int64)


def _day_numbers(column: pa.ChunkedArray | pa.Array, missing: int | None = None) -> Ints:
    days = pc.cast(pc.cast(column, pa.int32()), pa.int64())
    if missing is not None:
        days = pc.fill_null(days, missing)
    return np.asarray(days.to_numpy(zero_copy_only=False), dtype=np.int64)


def integers(column: pa.ChunkedArray | pa.Array) -> Ints:
    """Integers, or timestamps as seconds since 1970."""
    return np.asarray(pc.cast(column, pa.int64()).to_numpy(zero_copy_only=False), dtype=np.int64)


def days_of(column: pa.ChunkedArray | pa.Array, missing: int | None = None) -> Ints:
    """Dates as day numbers; nulls become ``missing`` (an error when it is None)."""
    return _day_numbers(column, missing)


def strings(column: pa.ChunkedArray | pa.Array) -> npt.NDArray[np.str_]:
    return np.asarray(column.to_numpy(zero_copy_only=False), dtype=str)


def in_set(column: pa.ChunkedArray | pa.Array, values: Iterable[str]) -> Bools:
    return np.asarray(pc.is_in(column, value_set=pa.array(list(values), pa.string())).to_numpy(), dtype=np.bool_)
