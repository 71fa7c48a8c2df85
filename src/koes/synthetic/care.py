"""EOJ: municipal home care per month and nursing-home stays (domain-notes §2.7).

Nursing homes (plejebolig) house about 3.3 % of citizens 65+ at any time, mostly the very old
and persons with dementia; stays often began years before the period and end only when the
resident dies. Home care (hjemmepleje) reaches about 11 % of citizens 65+ (3 % of 65–74, 10 % of
75–84, 35 % of 85+, more with dementia and frailty) and a few younger persons with serious
illness. It is assessed (visiteret) and delivered in hours per month and service group, usually
for many months in a row; a person in a nursing home gets no home care. Rows are written for the
months a person lives at home in a municipality (residence at mid-month), which is also the
delivering municipality.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from koes.domain.codelists import PLEJE_YDELSESGRUPPE
from koes.synthetic import demography as demo
from koes.synthetic.context import ChunkContext
from koes.synthetic.demography import AgeSteps
from koes.synthetic.isoweek import as_dates, calendar_year, civil_day, day_numbers, year_month_day
from koes.synthetic.population import Population

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]

HOME_CARE = "eoj_hjemmepleje"
NURSING_HOME = "eoj_plejebolig"
DAYS_PER_YEAR = 365.25
OLD_AGE = 65

# Share of all persons of an age in a nursing home on a given day, and the yearly chance of
# moving in (a third of the places change hands each year, most when a resident dies).
NURSING_HOME_SHARE = AgeSteps((0, 65, 75, 85, 90), (0.0, 0.0068, 0.030, 0.102, 0.21))
NURSING_HOME_ADMISSIONS = AgeSteps((0, 65, 75, 85, 90), (0.0, 0.0026, 0.011, 0.038, 0.077))
NURSING_HOME_EARLIEST_AGE = 60  # no stay starts before the 60th birthday
STAY_BEFORE_PERIOD_YEARS = (2.3, 6.0)  # mean and longest time lived there before the period
DEMENTIA_NURSING_HOME_FACTOR = 4.0
DYING_NURSING_HOME_FACTOR = 3.0  # many residents die during the period
NURSING_HOME_FRAILTY_POWER = 0.5

# Share of all persons of an age receiving home care in a month.
HOME_CARE_SHARE = AgeSteps((0, 65, 75, 85), (0.0, 0.040, 0.155, 0.52))
YOUNG_HOME_CARE_SHARE = 0.02  # persons 18–64 with a serious condition
YOUNG_CONDITIONS = ("demens", "kraeft", "hjertesvigt", "kol", "svaer_psykisk_lidelse")
YOUNG_FROM_AGE = 18
DEMENTIA_HOME_CARE_FACTOR = 2.5
HOME_CARE_FRAILTY_POWER = 0.7
BEFORE_ADMISSION_FACTOR = 4.0  # home care usually precedes a move to a nursing home
MAX_HOME_CARE_CHANCE = 0.9
HOME_CARE_MEAN_MONTHS = 24  # a spell of home care lasts two years on average
RECIPIENT_MORTALITY_RR = 2.0  # home-care recipients die twice as often as others of their age
MONTHS_PER_YEAR = 12
MID_MONTH_OFFSET = 14  # residence on the 15th decides the month's municipality


@dataclass(frozen=True)
class ServiceGroup:
    """A home-care service group: who gets it and how many hours a month."""

    code: str  # PLEJE_YDELSESGRUPPE
    share: float  # share of home-care recipients who get it
    median_hours: float  # visiterede timer per month for a typical recipient
    dementia_share: float = 0.0  # extra share among persons with dementia
    very_old_share: float = 0.0  # extra share among persons 85+
    course_months: int | None = None  # given as a course of this many months, not ongoing


SERVICE_GROUPS: tuple[ServiceGroup, ...] = (
    ServiceGroup("praktisk_hjaelp", 0.80, 2.5),
    ServiceGroup("personlig_pleje", 0.45, 11.6, dementia_share=0.25, very_old_share=0.25),
    ServiceGroup("sygepleje", 0.40, 4.0, dementia_share=0.15, very_old_share=0.10),
    ServiceGroup("traening", 0.12, 6.0, course_months=3),  # rehabilitation after a setback
)
VERY_OLD_AGE = 85
NEED_SIGMA = 0.6  # spread of a recipient's need of care (lognormal, long-tailed)
DEMENTIA_NEED_FACTOR = 1.5  # persons with dementia need more hours
NEED_FRAILTY_POWER = 0.3
MONTH_SIGMA = 0.15  # month-to-month variation of assessed hours
HOURS_STEP = 0.25  # hours are assessed in quarter hours
DELIVERED_SHARE = (0.85, 1.0)  # delivered hours are a share of the assessed hours
MAX_HOURS = 744.0  # hours in a 31-day month

PERSONS_PER_DISTRICT = 15_000
DISTRICTS = (2, 12)  # fewest and most care districts of a municipality


def generate_care(pop: Population, ctx: ChunkContext) -> dict[str, pa.Table]:
    """Nursing-home stays and monthly home care of the persons of one chunk."""
    facts = _PersonFacts.of(pop, ctx)
    stays = _nursing_home_stays(ctx.rng(NURSING_HOME), facts)
    care = _home_care(ctx.rng(HOME_CARE), facts, stays)
    districts = _Districts.of(ctx)
    return {
        NURSING_HOME: _stay_table(pop, stays, districts),
        HOME_CARE: _home_care_table(pop, care, districts),
    }


@dataclass(frozen=True)
class _PersonFacts:
    pop: Population
    start: int  # first day of the period (day number)
    end: int  # last day of the period
    entry: Ints
    exit: Ints
    age: Ints  # at the middle of the person's presence
    age_at_start: Ints
    dies: Bools  # dies during the period

    @classmethod
    def of(cls, pop: Population, ctx: ChunkContext) -> _PersonFacts:
        start, end = (int(d) for d in day_numbers(np.array([ctx.start64, ctx.end64])))
        entry, exit_ = day_numbers(pop.entry), day_numbers(pop.exit)
        everyone = np.arange(len(pop))
        middle = as_dates(entry + np.maximum(exit_ - entry, 0) // 2)
        age = pop.age_on(everyone, middle)
        age_at_start = pop.age_on(everyone, np.full(len(pop), ctx.start64))
        return cls(pop, start, end, entry, exit_, age, age_at_start, pop.status == "90")

    def birthday(self, age: int) -> Ints:
        year, month, day = year_month_day(self.pop.birth)
        return civil_day(year + age, month, day)


def _relative_to_age_band(risk: Floats, steps: AgeSteps, age: Ints, among: Bools) -> Floats:
    """Scale ``risk`` to mean 1 within each age band of ``steps`` (among the given persons), so
    that risk factors shift who is affected without changing the share of each age band."""
    band = np.searchsorted(np.asarray(steps.ages), age, side="right") - 1
    total = np.bincount(band[among], weights=risk[among], minlength=len(steps.ages))
    count = np.bincount(band[among], minlength=len(steps.ages))
    mean = np.where(count > 0, total / np.maximum(count, 1), 1.0)
    return risk / np.where(mean > 0, mean, 1.0)[band]


# --- Nursing homes ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Stays:
    """Nursing-home stays, at most one per person; ``until`` is -1 for an open stay."""

    person: Ints
    since: Ints  # fra_dato (day number)
    until: Ints  # til_dato (day number), the day after the last day there; -1 when open


def _nursing_home_stays(rng: np.random.Generator, facts: _PersonFacts) -> _Stays:
    risk = _nursing_home_risk(facts)
    settled = _stays_before_period(rng, facts, risk)
    moving_in = _admissions(rng, facts, risk, already=settled[0])
    person = np.concatenate([settled[0], moving_in[0]])
    since = np.concatenate([settled[1], moving_in[1]])
    # Residents stay to the end: the stay closes the day after the last day present, unless
    # the person is still there when the period ends.
    gone = facts.pop.status[person] != "01"
    until = np.where(gone, facts.exit[person] + 1, -1)
    order = np.argsort(person, kind="stable")
    return _Stays(person[order], since[order], until[order])


def _nursing_home_risk(facts: _PersonFacts) -> Floats:
    pop = facts.pop
    frail = pop.frailty**NURSING_HOME_FRAILTY_POWER
    risk = np.where(pop.has("demens"), DEMENTIA_NURSING_HOME_FACTOR, 1.0) * frail
    risk = risk * np.where(facts.dies, DYING_NURSING_HOME_FACTOR, 1.0)
    return _relative_to_age_band(risk, NURSING_HOME_SHARE, facts.age, facts.age >= OLD_AGE)


def _stays_before_period(rng: np.random.Generator, facts: _PersonFacts, risk: Floats) -> tuple[Ints, Ints]:
    """Residents on the first day of the period, moved in some years before it."""
    at_start = facts.entry == facts.start
    chance = np.minimum(NURSING_HOME_SHARE.at(facts.age_at_start) * risk, 1.0) * at_start
    person = np.flatnonzero(rng.random(len(chance)) < chance)
    mean_years, max_years = STAY_BEFORE_PERIOD_YEARS
    years = np.minimum(rng.exponential(mean_years, len(person)), max_years)
    since = facts.start - 1 - (years * DAYS_PER_YEAR).astype(np.int64)
    earliest = facts.birthday(NURSING_HOME_EARLIEST_AGE)[person]
    return person, np.minimum(np.maximum(since, earliest), facts.start - 1)


def _admissions(rng: np.random.Generator, facts: _PersonFacts, risk: Floats, already: Ints) -> tuple[Ints, Ints]:
    """Persons moving in during the period, at a day drawn from a constant yearly hazard."""
    rate = NURSING_HOME_ADMISSIONS.at(facts.age) * risk
    first = np.maximum(facts.entry, facts.birthday(OLD_AGE))
    wait = rng.exponential(1.0, len(rate)) / np.maximum(rate, 1e-12) * DAYS_PER_YEAR
    day = first + np.minimum(wait, 1e6).astype(np.int64)
    moves = (rate > 0) & (day <= facts.exit)
    moves[already] = False
    person = np.flatnonzero(moves)
    return person, day[person]


# --- Home care -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Months:
    """First days and mid-month days of the months of the period."""

    first: Ints
    last: Ints
    middle: Ints

    @classmethod
    def of(cls, facts: _PersonFacts) -> _Months:
        year, month, _ = year_month_day(as_dates(np.array([facts.start, facts.end])))
        count = int((year[1] - year[0]) * 12 + month[1] - month[0] + 1)
        k = np.arange(count + 1) + int(month[0]) - 1  # months since January of the first year
        first = civil_day(int(year[0]) + k // 12, k % 12 + 1, np.ones(count + 1, dtype=np.int64))
        return cls(first[:-1], first[1:] - 1, first[:-1] + MID_MONTH_OFFSET)


@dataclass(frozen=True)
class _HomeCare:
    """Rows of home care: person, month (day number of the 1st), group and hours."""

    person: Ints
    month: Ints
    kommune: Ints
    group: Ints  # index into SERVICE_GROUPS
    assessed: Floats
    delivered: Floats


def _home_care(rng: np.random.Generator, facts: _PersonFacts, stays: _Stays) -> _HomeCare:
    months = _Months.of(facts)
    # Most persons are too young for home care in any month of the period.
    last_age = facts.pop.age_on(np.arange(len(facts.pop)), as_dates(np.minimum(facts.exit, facts.end)))
    candidates = np.flatnonzero((last_age >= OLD_AGE) | _serious(facts))
    chance = _home_care_chance(facts, stays, candidates, months)
    age = facts.pop.age_on(candidates, as_dates(np.full(len(candidates), facts.start)))
    receiving = _spells_of_care(rng, chance, demo.mortality(age) * RECIPIENT_MORTALITY_RR / MONTHS_PER_YEAR)
    row, k = np.nonzero(receiving)
    person, k = candidates[row], k.astype(np.int64)
    kommune = facts.pop.municipality_on(person, as_dates(months.middle[k])).astype(np.int64)
    at_home = (kommune > 0) & ~_in_nursing_home(stays, person, months.first[k], months.last[k])
    person, k, kommune = person[at_home], k[at_home], kommune[at_home]
    return _service_rows(rng, facts, person, k, months, kommune)


def _serious(facts: _PersonFacts) -> Bools:
    found = np.zeros(len(facts.pop), dtype=bool)
    for name in YOUNG_CONDITIONS:
        found |= facts.pop.has(name)
    return found


def _home_care_chance(facts: _PersonFacts, stays: _Stays, person: Ints, months: _Months) -> Floats:
    """Candidate × month: the chance of receiving home care that month while living at home.

    The age is the age that month, and a person's risk (dementia, frailty) counts relative to the
    others of the same age band *present that month*: as the frailest die, the survivors carry
    the band's share, so the number of recipients follows the population instead of dying out.
    """
    pop = facts.pop
    middle = months.middle[np.newaxis, :]
    age = pop.age_on(np.repeat(person, len(months.middle)), as_dates(np.tile(months.middle, len(person))))
    age = age.reshape(len(person), len(months.middle))
    present = (facts.entry[person, np.newaxis] <= middle) & (middle <= facts.exit[person, np.newaxis])
    risk = np.where(pop.has("demens")[person], DEMENTIA_HOME_CARE_FACTOR, 1.0) * pop.frailty[person] ** (
        HOME_CARE_FRAILTY_POWER
    )
    risk = np.broadcast_to(risk[:, np.newaxis], age.shape)
    band = np.searchsorted(np.asarray(HOME_CARE_SHARE.ages), age, side="right") - 1
    relative = np.ones(age.shape)
    for k in range(age.shape[1]):
        among = present[:, k] & (age[:, k] >= OLD_AGE)
        relative[:, k] = _band_relative(risk[:, k], band[:, k], among)
    # The share is of everybody of the age; nursing-home residents are not at home.
    at_home = 1.0 - NURSING_HOME_SHARE.at(age)
    chance = HOME_CARE_SHARE.at(age) * relative / at_home
    young = (age >= YOUNG_FROM_AGE) & (age < OLD_AGE) & _serious(facts)[person, np.newaxis]
    chance = np.where(young, YOUNG_HOME_CARE_SHARE, chance)
    moving_in = np.zeros(len(pop), dtype=bool)
    moving_in[stays.person[stays.since >= facts.start]] = True
    chance = np.where(moving_in[person, np.newaxis], chance * BEFORE_ADMISSION_FACTOR, chance)
    return np.where(present, np.minimum(chance, MAX_HOME_CARE_CHANCE), 0.0)


def _band_relative(risk: Floats, band: Ints, among: Bools) -> Floats:
    """``risk`` over its mean in each band, among the chosen persons (1 where a band has none)."""
    total = np.bincount(band[among], weights=risk[among], minlength=int(band.max(initial=0)) + 1)
    count = np.bincount(band[among], minlength=len(total))
    mean = np.where(count > 0, total / np.maximum(count, 1), 1.0)
    return np.asarray(risk / np.where(mean > 0, mean, 1.0)[band], dtype=np.float64)


def _spells_of_care(rng: np.random.Generator, chance: Floats, deaths: Floats) -> Bools:
    """Person × month: in care or not, a two-state chain that follows each month's ``chance``.

    Care stops with probability 1/HOME_CARE_MEAN_MONTHS a month, or when the person dies
    (``deaths``: each person's monthly chance of dying while in care), and starts at the rate
    that keeps the share of the living in care at that month's chance.
    """
    stop = 1.0 / HOME_CARE_MEAN_MONTHS
    # Recipients also leave by dying; starts make up for both, so the share stays at the chance.
    refill = stop + deaths
    state = np.zeros(chance.shape, dtype=bool)
    if chance.size == 0:
        return state
    current = rng.random(len(chance)) < chance[:, 0]
    for k in range(chance.shape[1]):
        if k:
            start = np.minimum(chance[:, k] * refill / (1.0 - chance[:, k]), 1.0)
            u = rng.random(len(chance))
            current = np.where(current, u >= stop, u < start)
        state[:, k] = current & (chance[:, k] > 0)
    return state


def _in_nursing_home(stays: _Stays, person: Ints, first: Ints, last: Ints) -> Bools:
    """Whether the person lives in a nursing home on any day of the month first … last."""
    if len(stays.person) == 0:
        return np.zeros(len(person), dtype=bool)
    pos = np.minimum(np.searchsorted(stays.person, person), len(stays.person) - 1)
    found = stays.person[pos] == person
    until = np.where(stays.until[pos] < 0, np.iinfo(np.int64).max, stays.until[pos])
    return np.asarray(found & (stays.since[pos] <= last) & (until > first), dtype=np.bool_)


def _service_rows(
    rng: np.random.Generator,
    facts: _PersonFacts,
    person: Ints,
    k: Ints,
    months: _Months,
    kommune: Ints,
) -> _HomeCare:
    """One row per service group the person receives in each month of care."""
    pop = facts.pop
    n = len(pop)
    need = rng.lognormal(0.0, NEED_SIGMA, n) * np.where(pop.has("demens"), DEMENTIA_NEED_FACTOR, 1.0)
    need = need * pop.frailty**NEED_FRAILTY_POWER
    course_start = rng.integers(0, len(months.first), n)  # first month of a course
    gets = _groups_received(rng, facts)
    parts: list[_HomeCare] = []
    for g, group in enumerate(SERVICE_GROUPS):
        sel = gets[person, g]
        if group.course_months is not None:
            since_start = k - course_start[person]
            sel &= (since_start >= 0) & (since_start < group.course_months)
        who, month = person[sel], k[sel]
        typical = group.median_hours * need[who]
        hours = typical * rng.lognormal(0.0, MONTH_SIGMA, len(who))
        assessed = np.clip(np.round(hours / HOURS_STEP) * HOURS_STEP, HOURS_STEP, MAX_HOURS)
        delivered = np.round(assessed * rng.uniform(*DELIVERED_SHARE, len(who)), 2)
        group_index = np.full(len(who), g, dtype=np.int64)
        parts.append(_HomeCare(who, months.first[month], kommune[sel], group_index, assessed, delivered))
    return _HomeCare(
        np.concatenate([p.person for p in parts]),
        np.concatenate([p.month for p in parts]),
        np.concatenate([p.kommune for p in parts]),
        np.concatenate([p.group for p in parts]),
        np.concatenate([p.assessed for p in parts]),
        np.concatenate([p.delivered for p in parts]),
    )


def _groups_received(rng: np.random.Generator, facts: _PersonFacts) -> Bools:
    """Person × service group: which groups each person receives when in care (at least one)."""
    demens = facts.pop.has("demens")
    very_old = facts.age >= VERY_OLD_AGE
    u = rng.random((len(demens), len(SERVICE_GROUPS)))
    gets = np.zeros_like(u, dtype=bool)
    for g, group in enumerate(SERVICE_GROUPS):
        share = group.share + group.dementia_share * demens + group.very_old_share * very_old
        gets[:, g] = u[:, g] < share
    gets[:, 0] |= ~gets.any(axis=1)  # nobody is assessed for nothing: practical help at least
    return gets


# --- Districts and tables ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Districts:
    """Number of care districts of each municipality (3-digit kommunekode) and year."""

    counts: dict[int, Ints]  # year -> districts per kommunekode (index 0–999)
    years: tuple[int, ...]

    @classmethod
    def of(cls, ctx: ChunkContext) -> _Districts:
        lo, hi = DISTRICTS
        counts = {}
        for year in ctx.years:
            per_kommune = np.full(1000, lo, dtype=np.int64)
            for code, residents in ctx.refdata.population_in(year).items():
                per_kommune[code] = max(lo, min(hi, residents // PERSONS_PER_DISTRICT))
            counts[year] = per_kommune
        return cls(counts, ctx.years)

    def number(self, pop: Population, person: Ints, kommune: Ints, day: Ints) -> Ints:
        """District 1 … k of each person at an address: fixed per person and municipality."""
        year = np.clip(calendar_year(day), self.years[0], self.years[-1])
        k = np.zeros(len(person), dtype=np.int64)
        for y in self.years:
            k = np.where(year == y, self.counts[y][kommune], k)
        return 1 + _mix(_pnr_numbers(pop)[person] * 1000 + kommune) % np.maximum(k, 1)


def _pnr_numbers(pop: Population) -> Ints:
    return np.asarray(pc.cast(pa.array(pop.pnr, pa.string()), pa.int64()).to_numpy(), np.int64)


def _mix(x: Ints) -> Ints:
    """A well-mixed non-negative integer of each value (SplitMix64 finaliser)."""
    z = x.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return ((z ^ (z >> np.uint64(31))) >> np.uint64(2)).astype(np.int64)


_KOMMUNEKODER = pa.array([f"{k:04d}" for k in range(1000)], pa.string())


def _kommunekode(kommune: Ints) -> pa.Array:
    return _KOMMUNEKODER.take(pa.array(kommune))


def _district_codes(kommune: Ints, number: Ints) -> pa.Array:
    """'KKKK-NN', formatted once per distinct district."""
    districts, row = np.unique(kommune * 100 + number, return_inverse=True)
    words = [f"{d // 100:04d}-{d % 100:02d}" for d in districts.tolist()]
    return pa.array(words, pa.string()).take(pa.array(row.astype(np.int64)))


def _stay_table(pop: Population, stays: _Stays, districts: _Districts) -> pa.Table:
    first_day_there = np.maximum(stays.since, day_numbers(pop.entry)[stays.person])
    kommune = pop.municipality_on(stays.person, as_dates(first_day_there)).astype(np.int64)
    number = districts.number(pop, stays.person, kommune, first_day_there)
    until = pa.array(as_dates(np.where(stays.until < 0, 0, stays.until)), mask=stays.until < 0)
    return pa.table(
        {
            "pnr": pop.pnr_column(stays.person),
            "kommunekode": _kommunekode(kommune),
            "plejedistrikt": _district_codes(kommune, number),
            "fra_dato": pa.array(as_dates(stays.since)),
            "til_dato": until,
        }
    )


def _home_care_table(pop: Population, care: _HomeCare, districts: _Districts) -> pa.Table:
    number = districts.number(pop, care.person, care.kommune, care.month)
    groups = [g.code for g in SERVICE_GROUPS]
    return pa.table(
        {
            "pnr": pop.pnr_column(care.person),
            "kommunekode": _kommunekode(care.kommune),
            "plejedistrikt": _district_codes(care.kommune, number),
            "maaned": pa.array(as_dates(care.month)),
            "ydelsesgruppe": pa.array(groups, pa.string()).take(pa.array(care.group)),
            "visiterede_timer": pa.array(care.assessed),
            "leverede_timer": pa.array(care.delivered),
        }
    )


def _check_groups() -> None:
    unknown = {g.code for g in SERVICE_GROUPS} - set(PLEJE_YDELSESGRUPPE.values)
    if unknown:
        raise ValueError(f"home-care service groups not in the code list: {sorted(unknown)}")


_check_groups()
