"""DREAM: public transfer payments, one benefit code per person and ISO week, stored as spells.

DREAM gives every person one code a week, the highest-priority benefit received (domain-notes
§2.6). The generator builds exactly that: long-term benefits (state pension from 67, early
retirement, disability pension, flexible job, student grant) cover every week of their age band
for the persons who receive them; episodes (sickness benefit, unemployment, social assistance,
rehabilitation) come and go with a start and a length. All are painted on a person × week grid
in order of priority, so a later (higher) benefit overwrites an earlier one in the same week, and
runs of equal weeks are written as spells clipped to the weeks the person is present in the
period. Codes and benefit types are those of ``DREAM_YDELSE``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from koes.domain.codelists import DREAM_YDELSE
from koes.synthetic.context import ChunkContext
from koes.synthetic.demography import AgeSteps
from koes.synthetic.isoweek import (
    as_dates,
    civil_day,
    day_numbers,
    period_weeks,
    week_code_of_index,
    week_index,
    year_month_day,
)
from koes.synthetic.population import Population

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]

REGISTER = "dream_forloeb"
WEEKS_PER_YEAR = 52.18
MAX_GRID_CELLS = 8_000_000  # persons × weeks painted at a time, to bound memory
NO_BENEFIT = 0

STATE_PENSION = "998"
STATE_PENSION_AGE = 67
NO_AGE_LIMIT = 200


@dataclass(frozen=True)
class LongTermBenefit:
    """A benefit held in every week of an age band by a share of the persons of that age."""

    codes: tuple[str, ...]  # codes of the benefit, drawn per person by ``code_shares``
    code_shares: tuple[float, ...]
    from_age: int  # paid from this birthday …
    to_age: int  # … until the week before this one
    share: AgeSteps  # share of persons receiving it, by age at the middle of their presence
    condition: str | None = None  # persons with this condition receive it …
    condition_factor: float = 1.0  # … this many times as often


@dataclass(frozen=True)
class Episode:
    """A benefit received in spells of some weeks, by persons without a long-term benefit.

    Its level is given either as the share of the persons of the age band on it in an average
    week (``share_in_a_week``) or as spells starting per person and year (``starts_per_year``).
    """

    code: str
    from_age: int
    to_age: int
    min_weeks: int
    max_weeks: int
    share_in_a_week: float = 0.0
    starts_per_year: float = 0.0
    median_weeks: float | None = None  # lognormal lengths (else uniform in min … max)
    frailty_power: float = 0.0  # frail persons are on it more often
    for_flexjob: bool = False  # also received by persons in a flexible job

    @property
    def mean_weeks(self) -> float:
        if self.median_weeks is None:
            return (self.min_weeks + self.max_weeks) / 2
        return self.median_weeks * float(np.exp(EPISODE_LENGTH_SIGMA**2 / 2))

    @property
    def starts_per_week(self) -> float:
        if self.starts_per_year:
            return self.starts_per_year / WEEKS_PER_YEAR
        # In a steady state, the share on the benefit is starts per week × mean length.
        return self.share_in_a_week / self.mean_weeks


EPISODE_LENGTH_SIGMA = 0.9  # spread of lognormal spell lengths

# Long-term benefits, mutually exclusive per person (a person holds at most one of them). Shares
# are calibrated to Statistics Denmark's full-time recipients in 2023 (AUH01: førtidspension
# 233,700, efterløn 34,100, SU 287,000; AUKS01: fleksjob 87,500); see published_figures.yaml.
DISABILITY_PENSION = LongTermBenefit(
    ("781", "783"),
    (0.7, 0.3),
    18,
    STATE_PENSION_AGE,
    AgeSteps((0, 18, 30, 40, 50, 60, 67), (0.0, 0.014, 0.028, 0.063, 0.091, 0.112, 0.0)),
    condition="svaer_psykisk_lidelse",
    condition_factor=5.0,
)
FLEXIBLE_JOB = LongTermBenefit(("771",), (1.0,), 30, STATE_PENSION_AGE, AgeSteps((0, 29, 67), (0.0, 0.032, 0.0)))
EARLY_RETIREMENT = LongTermBenefit(("621",), (1.0,), 62, STATE_PENSION_AGE, AgeSteps((0, 61, 67), (0.0, 0.103, 0.0)))
STUDENT_GRANT = LongTermBenefit(("651",), (1.0,), 18, 28, AgeSteps((0, 17, 20, 25, 28), (0.0, 0.36, 0.48, 0.32, 0.0)))
LONG_TERM: tuple[LongTermBenefit, ...] = (
    DISABILITY_PENSION,
    FLEXIBLE_JOB,
    EARLY_RETIREMENT,
    STUDENT_GRANT,
)

# Episodes in order of priority, lowest first: sickness benefit overwrites unemployment, which
# overwrites social assistance (DREAM's priority rule). Levels are calibrated to 2023: net
# unemployment 72,200 and sickness benefit 76,700 full-time (AUH01), 92,700 persons on social
# assistance benefits in June (KYS01); see published_figures.yaml.
REHABILITATION = Episode("760", 18, STATE_PENSION_AGE, 26, 104, share_in_a_week=0.0048)
SOCIAL_ASSISTANCE = Episode("130", 18, 65, 8, 78, share_in_a_week=0.0296, frailty_power=0.5)
UNEMPLOYMENT = Episode("111", 18, STATE_PENSION_AGE, 4, 30, share_in_a_week=0.0206)
SICKNESS_BENEFIT = Episode(
    "890",
    18,
    STATE_PENSION_AGE,
    1,
    52,
    starts_per_year=0.123,
    median_weeks=6.0,
    frailty_power=0.8,
    for_flexjob=True,
)
EPISODES: tuple[Episode, ...] = (REHABILITATION, SOCIAL_ASSISTANCE, UNEMPLOYMENT, SICKNESS_BENEFIT)
# A spell of the first code that starts in a week of the second is written with the third:
# sickness benefit that starts while unemployed has its own code.
STARTS_WHILE = {"890": ("111", "893")}

_CODES: tuple[str, ...] = DREAM_YDELSE.values
_CODE_NUMBER = {code: k + 1 for k, code in enumerate(_CODES)}  # 0 is "no benefit"


def generate_employment(pop: Population, ctx: ChunkContext) -> dict[str, pa.Table]:
    """DREAM spells of the persons of one chunk, in the weeks they are present in the period."""
    rng = ctx.rng(REGISTER)
    weeks = _Weeks.of(pop, ctx)
    holder = _long_term_holders(rng, pop, weeks)
    plan = _long_term_spells(rng, weeks, holder)
    plan += [_episodes(rng, pop, weeks, holder, e) for e in EPISODES]
    return {REGISTER: _table(pop, weeks, _runs(plan, len(pop), weeks))}


@dataclass(frozen=True)
class _Weeks:
    """The week indices of the period and of each person's presence in it."""

    first: int  # first week of the period
    last: int
    present_from: Ints  # first week the person is present in the period
    present_to: Ints  # last week (< present_from when never present)
    birth: tuple[Ints, Ints, Ints]  # year, month, day
    age: Ints  # age at the middle of the person's presence
    _birthday_weeks: dict[int, Ints] = field(default_factory=dict)

    @classmethod
    def of(cls, pop: Population, ctx: ChunkContext) -> _Weeks:
        first, last = period_weeks(ctx.start64, ctx.end64)
        entry, exit_ = day_numbers(pop.entry), day_numbers(pop.exit)
        middle = as_dates(entry + np.maximum(exit_ - entry, 0) // 2)
        age = pop.age_on(np.arange(len(pop)), middle)
        present_from = np.maximum(week_index(entry), first)
        present_to = np.minimum(week_index(exit_), last)
        birth = year_month_day(pop.birth)
        return cls(first, last, present_from, present_to, birth, age)

    @property
    def count(self) -> int:
        return self.last - self.first + 1

    def birthday_week(self, age: int) -> Ints:
        """Week of each person's ``age``-th birthday (29 February counts as 1 March)."""
        if age not in self._birthday_weeks:
            year, month, day = self.birth
            self._birthday_weeks[age] = week_index(civil_day(year + age, month, day))
        return self._birthday_weeks[age]

    def band(self, from_age: int, to_age: int) -> tuple[Ints, Ints]:
        """First and last week each person is present and aged ``from_age`` ≤ age < ``to_age``."""
        lo = np.maximum(self.present_from, self.birthday_week(from_age))
        hi = np.minimum(self.present_to, self.birthday_week(to_age) - 1)
        return lo, hi

    def in_band(self, from_age: int, to_age: int) -> Bools:
        lo, hi = self.band(from_age, to_age)
        return lo <= hi


@dataclass(frozen=True)
class _Spells:
    """Spells of one benefit code, in week indices."""

    code: str
    person: Ints
    first: Ints
    last: Ints


@dataclass(frozen=True)
class _Runs:
    """Runs of equal weeks read back from the grid: the DREAM spells."""

    person: Ints
    code: Ints  # 1 + index into _CODES
    first: Ints
    last: Ints


def _runs(plan: list[_Spells], n_persons: int, weeks: _Weeks) -> _Runs:
    """Paint the spells on the person × week grid in order of priority and read back runs."""
    block = max(1, MAX_GRID_CELLS // weeks.count)
    empty = np.zeros(0, dtype=np.int64)
    found = [_Runs(empty, empty, empty, empty)]
    for start in range(0, n_persons, block):
        stop = min(start + block, n_persons)
        grid = np.zeros((stop - start, weeks.count), dtype=np.int16)
        for spells in plan:
            sel = (spells.person >= start) & (spells.person < stop) & (spells.first <= spells.last)
            row = spells.person[sel] - start
            first, last = spells.first[sel] - weeks.first, spells.last[sel] - weeks.first
            code = np.full(len(row), _CODE_NUMBER[spells.code], dtype=np.int16)
            if spells.code in STARTS_WHILE:
                during, then = STARTS_WHILE[spells.code]
                code[grid[row, first] == _CODE_NUMBER[during]] = _CODE_NUMBER[then]
            _paint(grid, row, first, last, code)
        found.append(_read_runs(grid, start, weeks.first))
    return _Runs(
        np.concatenate([r.person for r in found]),
        np.concatenate([r.code for r in found]),
        np.concatenate([r.first for r in found]),
        np.concatenate([r.last for r in found]),
    )


def _long_term_spells(rng: np.random.Generator, weeks: _Weeks, holder: Ints) -> list[_Spells]:
    """Each holder's benefit over its whole age band, and the state pension from 67 for all."""
    plan = []
    for k, benefit in enumerate(LONG_TERM):
        who = np.flatnonzero(holder == k)
        lo, hi = weeks.band(benefit.from_age, benefit.to_age)
        pick = rng.choice(len(benefit.codes), size=len(who), p=np.asarray(benefit.code_shares))
        for j, code in enumerate(benefit.codes):
            sel = who[pick == j]
            plan.append(_Spells(code, sel, lo[sel], hi[sel]))
    lo, hi = weeks.band(STATE_PENSION_AGE, NO_AGE_LIMIT)
    plan.append(_Spells(STATE_PENSION, np.arange(len(holder)), lo, hi))
    return plan


def _long_term_holders(rng: np.random.Generator, pop: Population, weeks: _Weeks) -> Ints:
    """Index into LONG_TERM of the benefit each person holds, -1 for none.

    The benefits take disjoint slices of one uniform draw, so nobody holds two.
    """
    u = rng.random(len(pop))
    holder = np.full(len(pop), -1, dtype=np.int64)
    floor = np.zeros(len(pop))
    for k, benefit in enumerate(LONG_TERM):
        chance = benefit.share.at(weeks.age) * weeks.in_band(benefit.from_age, benefit.to_age)
        if benefit.condition is not None:
            chance = chance * np.where(pop.has(benefit.condition), benefit.condition_factor, 1.0)
        chance = np.minimum(chance, 1.0 - floor)
        holder = np.where((u >= floor) & (u < floor + chance), k, holder)
        floor = floor + chance
    return holder


def _episodes(rng: np.random.Generator, pop: Population, weeks: _Weeks, holder: Ints, e: Episode) -> _Spells:
    """Spells of one episodic benefit, started at random over the period and the weeks before."""
    lo, hi = weeks.band(e.from_age, e.to_age)
    in_band = lo <= hi
    flexjob = holder == LONG_TERM.index(FLEXIBLE_JOB)
    eligible = in_band & ((holder < 0) | (flexjob & e.for_flexjob))
    weight = np.where(eligible, pop.frailty**e.frailty_power, 0.0)
    # Persons holding a long-term benefit cannot receive it: the others make up the band's level.
    weight = weight * in_band.sum() / max(float(weight.sum()), 1e-9)
    window = weeks.count + e.max_weeks - 1  # spells starting this early can still reach the period
    count = rng.poisson(e.starts_per_week * window * weight)
    person = np.repeat(np.arange(len(pop)), count)
    start = weeks.first - e.max_weeks + 1 + rng.integers(0, window, len(person))
    first = np.maximum(start, lo[person])
    last = np.minimum(start + _lengths(rng, e, len(person)) - 1, hi[person])
    keep = first <= last
    return _Spells(e.code, person[keep], first[keep], last[keep])


def _lengths(rng: np.random.Generator, e: Episode, n: int) -> Ints:
    if e.median_weeks is None:
        return rng.integers(e.min_weeks, e.max_weeks + 1, n)
    weeks = rng.lognormal(np.log(e.median_weeks), EPISODE_LENGTH_SIGMA, n)
    return np.clip(np.round(weeks), e.min_weeks, e.max_weeks).astype(np.int64)


def _paint(grid: npt.NDArray[np.int16], row: Ints, first: Ints, last: Ints, code: npt.NDArray[np.int16]) -> None:
    """Set columns first … last of each row to its code."""
    length = np.maximum(last - first + 1, 0)
    offset = np.arange(int(length.sum())) - np.repeat(np.cumsum(length) - length, length)
    cells = np.repeat(row * grid.shape[1] + first, length) + offset
    grid.reshape(-1)[cells] = np.repeat(code, length)


def _read_runs(grid: npt.NDArray[np.int16], row_offset: int, first_week: int) -> _Runs:
    """Runs of equal, non-empty weeks in each row of the grid."""
    cols = grid.shape[1]
    starts = grid != NO_BENEFIT
    starts[:, 1:] &= grid[:, 1:] != grid[:, :-1]
    ends = grid != NO_BENEFIT
    ends[:, :-1] &= grid[:, :-1] != grid[:, 1:]
    start_cell, end_cell = np.flatnonzero(starts), np.flatnonzero(ends)
    return _Runs(
        start_cell // cols + row_offset,
        grid.reshape(-1)[start_cell].astype(np.int64),
        start_cell % cols + first_week,
        end_cell % cols + first_week,
    )


def _table(pop: Population, weeks: _Weeks, runs: _Runs) -> pa.Table:
    week_codes = week_code_of_index(np.arange(weeks.first, weeks.last + 1))
    return pa.table(
        {
            "pnr": pa.array(pop.pnr, pa.string()).take(pa.array(runs.person)),
            "ydelseskode": pa.array(("", *_CODES), pa.string()).take(pa.array(runs.code)),
            "fra_uge": pa.array(week_codes[runs.first - weeks.first]),
            "til_uge": pa.array(week_codes[runs.last - weeks.first]),
        }
    )
