"""Lægemiddelstatistikregisteret (LMS): prescription medicine redeemed at pharmacies.

One row per redemption (ekspedition) of a product: ATC code, product number (varenummer),
packages, retail price and public subsidy (domain-notes §2.5). Persons with a chronic condition
redeem its drugs at regular intervals; common drugs are used by age and sex (statins and blood
pressure drugs for the old, contraceptives for young women, antibiotics for children and the
old), acute drugs sporadically. The table ``DRUGS`` declares each product with its users and
how often they redeem it; it is calibrated to about 10,100 redemptions per 1,000 person-years and
about 70 % of persons redeeming something in a year (§6: > 4 M of 5.9 M persons).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from koes.synthetic import demography as demo
from koes.synthetic.context import ChunkContext
from koes.synthetic.demography import AgeSteps
from koes.synthetic.isoweek import SUNDAY, as_dates, day_numbers, new_year, weekday
from koes.synthetic.population import Population

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]

REGISTER = "lms_ekspeditioner"
DAYS_PER_YEAR = 365.25
RETURN_SHARE = 0.003  # redemptions later returned to the pharmacy (negative row)
RETURN_LAG_DAYS = 8  # a return comes back within a week
INTERVAL_JITTER = 0.12  # spread of the days between regular redemptions, share of the interval
MAX_USER_SHARE = 0.95
USER_MORTALITY_RR = 1.5  # users of long-term drugs die more often than others of their age


def shares_by_age(spec: str) -> AgeSteps:
    """Share of persons using a drug in a year, written "age:share …" from each age up (0 below
    the first age)."""
    steps = [(int(a), float(v)) for a, v in (item.split(":") for item in spec.split())]
    if steps[0][0] > 0:
        steps.insert(0, (0, 0.0))
    return AgeSteps(tuple(a for a, _ in steps), tuple(v for _, v in steps))


@dataclass(frozen=True)
class Drug:
    """A product with its price and subsidy, who uses it and how often they redeem it."""

    atc: str  # ATC level 5
    vnr: str  # varenummer, 6 digits
    price: float  # retail price per package incl. VAT (kr.)
    subsidy: float  # share of the price paid by the region
    users: AgeSteps  # share of persons (of the sex, with the condition) using it in a year
    per_year: float  # redemptions a year per user
    regular: bool  # redeemed at regular intervals (long-term) or now and then (as needed)
    conditions: tuple[str, ...] = ()  # only persons with one of these conditions use it
    sex: int | None = None  # only persons of this sex (1 male, 2 female)
    female: float = 1.0  # women's use relative to men's
    frailty_power: float = 0.5  # how strongly individual frailty raises the chance of use
    extra_pack_share: float = 0.1  # redemptions of two packages instead of one


def for_condition(
    atc: str,
    vnr: str,
    price: float,
    subsidy: float,
    conditions: str,
    share: float,
    per_year: float,
    regular: bool = True,
    sex: int | None = None,
) -> Drug:
    """A drug for persons with a condition: the condition, not frailty, decides who uses it."""
    users = AgeSteps((0,), (share,))
    names = tuple(conditions.split())
    return Drug(atc, vnr, price, subsidy, users, per_year, regular, names, sex, frailty_power=0.0)


def long_term(
    atc: str,
    vnr: str,
    price: float,
    subsidy: float,
    users: str,
    per_year: float,
    *,
    female: float = 1.0,
    sex: int | None = None,
) -> Drug:
    """A drug redeemed at regular intervals by its users (``users`` as in shares_by_age)."""
    return Drug(atc, vnr, price, subsidy, shares_by_age(users), per_year, True, sex=sex, female=female)


def as_needed(
    atc: str, vnr: str, price: float, subsidy: float, users: str, per_year: float, *, sex: int | None = None
) -> Drug:
    """A drug redeemed now and then: at least once by each user of the year, more by chance."""
    return Drug(atc, vnr, price, subsidy, shares_by_age(users), per_year, False, sex=sex)


DRUGS: tuple[Drug, ...] = (
    # Chronic conditions: share of the persons with the condition, redemptions a year.
    for_condition("A10BA02", "102345", 62, 0.75, "diabetes", 0.75, 6),
    for_condition("A10BJ06", "104127", 920, 0.75, "diabetes", 0.30, 8),
    for_condition("A10AE04", "106589", 480, 0.80, "diabetes", 0.25, 6),
    for_condition("R03AK06", "112233", 350, 0.70, "kol astma", 0.40, 6),
    for_condition("R03BB04", "114501", 410, 0.70, "kol", 0.55, 6),
    for_condition("R03AC02", "116274", 95, 0.60, "kol astma", 0.55, 3, regular=False),
    for_condition("C03CA01", "121043", 70, 0.60, "hjertesvigt", 0.70, 6),
    for_condition("C07AB07", "123310", 80, 0.60, "hjertesvigt", 0.80, 5),
    for_condition("C09AA05", "125678", 75, 0.60, "hjertesvigt", 0.60, 5),
    for_condition("N06DA02", "131905", 120, 0.60, "demens", 0.55, 6),
    for_condition("N06DX01", "133462", 210, 0.60, "demens", 0.25, 6),
    for_condition("N05AH03", "141187", 150, 0.75, "svaer_psykisk_lidelse", 0.30, 8),
    for_condition("N05AH04", "143356", 200, 0.70, "svaer_psykisk_lidelse", 0.30, 8),
    for_condition("N06AB04", "145820", 60, 0.60, "svaer_psykisk_lidelse", 0.35, 6),
    for_condition("N05AN01", "147091", 100, 0.75, "svaer_psykisk_lidelse", 0.08, 6),
    for_condition("L02BA01", "151276", 250, 0.85, "kraeft", 0.25, 4, sex=2),
    for_condition("L04AX04", "153448", 2500, 0.85, "kraeft", 0.03, 12),
    # Common long-term drugs: share of users by age ("age:share" from that age up), a year.
    long_term("C10AA05", "161530", 60, 0.50, "40:.04 50:.12 60:.25 70:.38 80:.42", 5),
    long_term("C10AA01", "161712", 45, 0.50, "50:.02 65:.05 80:.06", 5),
    long_term("B01AC06", "162718", 40, 0.50, "50:.02 60:.05 70:.12 80:.20", 4),
    long_term("B01AF02", "166281", 900, 0.75, "60:.03 70:.08 80:.16", 6),
    long_term("C08CA01", "163904", 50, 0.50, "40:.02 50:.07 60:.15 70:.25 80:.30", 5),
    long_term("C09CA01", "165092", 55, 0.50, "40:.03 50:.07 60:.14 70:.22", 5),
    long_term("C07AB02", "165310", 50, 0.50, "50:.03 60:.06 70:.12 80:.20", 5),
    long_term("C03AB01", "165534", 45, 0.50, "50:.03 65:.07 80:.12", 5),
    long_term("A02BC02", "167455", 85, 0.40, "18:.03 40:.07 60:.12 75:.18", 4),
    long_term("A06AD65", "167801", 90, 0.30, "0:.02 5:.01 18:.02 65:.08 80:.20", 5),
    long_term("A11CC05", "167932", 50, 0.00, "50:.03 65:.08 80:.18", 3),
    long_term("H03AA01", "168627", 75, 0.55, "0:.0005 20:.005 40:.012 60:.02", 4, female=5.0),
    long_term("N06AB10", "169802", 60, 0.50, "15:.02 18:.04 30:.045 65:.05 80:.08", 5, female=1.8),
    long_term("N06AB06", "169915", 55, 0.50, "15:.015 18:.03", 5, female=1.8),
    long_term("N06AX11", "170134", 50, 0.50, "18:.01 65:.03 80:.07", 5),
    long_term("N05BA04", "170356", 40, 0.00, "18:.01 65:.02 80:.04", 4),
    long_term("N03AX16", "170578", 150, 0.50, "30:.01 50:.02 70:.025", 5),
    long_term("N06BA04", "170790", 400, 0.60, "6:.03 12:.04 18:.03 30:.015 45:0", 8, female=0.6),
    long_term("M04AA01", "170912", 60, 0.50, "40:.005 60:.02 75:.04", 4, female=0.3),
    long_term("S01EE01", "171034", 110, 0.60, "50:.01 65:.04 80:.08", 4),
    long_term("G03AA07", "171078", 120, 0.00, "15:.25 18:.30 25:.20 35:.10 46:0", 4, sex=2),
    long_term("G03CA03", "171256", 130, 0.40, "45:.06 70:0", 4, sex=2),
    long_term("G04CA02", "171478", 90, 0.50, "50:.03 65:.10 80:.20", 4, sex=1),
    # Acute and as-needed drugs: share of users by age, redemptions a year per user.
    as_needed("N02BE01", "181254", 70, 0.50, "0:.01 18:.03 50:.07 65:.16 80:.38", 5),
    as_needed("M01AE01", "182436", 50, 0.40, "0:.01 12:.07 18:.11 50:.09 70:.05", 1.5),
    as_needed("N02AX02", "183619", 80, 0.50, "30:.02 60:.04 80:.07", 2),
    as_needed("N02AA05", "183802", 120, 0.50, "40:.01 65:.03 80:.07", 3),
    as_needed("J01CE02", "184792", 60, 0.55, "0:.35 2:.28 7:.14 18:.13 65:.15 80:.18", 1.4),
    as_needed("J01CA04", "185974", 70, 0.55, "0:.20 2:.10 7:.04 18:.05 65:.08", 1.3),
    as_needed("J01CA08", "187153", 90, 0.55, "0:.01 15:.08 65:.15", 1.4, sex=2),
    as_needed("J01FA06", "187334", 85, 0.55, "0:.02 18:.03", 1.1),
    as_needed("H02AB06", "187516", 50, 0.50, "0:.005 18:.02 65:.05", 2),
    as_needed("A02BC01", "188336", 80, 0.40, "0:.002 18:.04 40:.05 60:.06", 2),
    as_needed("N05CF01", "189517", 60, 0.00, "30:.03 50:.05 70:.08", 3),
    as_needed("D07AC01", "191698", 80, 0.40, "0:.06 2:.04 18:.05 65:.06", 1.5),
    as_needed("D06AX01", "191873", 55, 0.40, "0:.05 18:.03", 1.2),
    as_needed("R06AX27", "192873", 100, 0.00, "0:.03 5:.08 18:.07 50:.04", 2),
    as_needed("R01AD09", "194055", 120, 0.00, "0:.02 5:.06 18:.07 60:.04", 1.5),
    as_needed("S01AA01", "195236", 40, 0.50, "0:.08 5:.03 18:.03 65:.05", 1.2),
    as_needed("J05AB11", "195418", 150, 0.40, "0:.002 18:.01", 1.2),
)

# Older users redeem long-term drugs more often than ``per_year``: smaller packages while doses
# are adjusted, several prescribers, and dose-dispensing (every 14 days) for many from about 75.
REGULAR_FREQUENCY_BY_AGE = AgeSteps((0, 18, 50, 65, 75, 85), (0.94, 1.22, 1.69, 1.79, 2.07, 2.35))


def generate_medicine(pop: Population, ctx: ChunkContext) -> dict[str, pa.Table]:
    """LMS redemptions of the persons of one chunk, on days they are present."""
    rng = ctx.rng(REGISTER)
    facts = _PersonFacts.of(pop, ctx)
    person, drug, day = _redemptions(rng, facts)
    day = _pharmacy_days(day, facts.entry[person], facts.exit[person])
    packages = 1 + (rng.random(len(person)) < _DRUG_EXTRA_PACK[drug]).astype(np.int64)
    rows = _Rows(person, drug, day, packages).with_returns(rng, facts)
    return {REGISTER: _table(pop, rows)}


@dataclass(frozen=True)
class _PersonFacts:
    pop: Population
    entry: Ints  # day numbers
    exit: Ints
    age: Ints  # at the middle of the person's presence
    years: list[tuple[int, int]]  # first and last day of each calendar year of the period
    _frailty_powers: dict[float, Floats] = field(default_factory=dict)

    @classmethod
    def of(cls, pop: Population, ctx: ChunkContext) -> _PersonFacts:
        entry, exit_ = day_numbers(pop.entry), day_numbers(pop.exit)
        middle = as_dates(entry + np.maximum(exit_ - entry, 0) // 2)
        start, end = (int(d) for d in day_numbers(np.array([ctx.start64, ctx.end64])))
        bounds = new_year(np.arange(ctx.start.year, ctx.end.year + 2))
        years = [(max(int(lo), start), min(int(hi) - 1, end)) for lo, hi in pairwise(bounds)]
        return cls(pop, entry, exit_, pop.age_on(np.arange(len(pop)), middle), years)

    def by_frailty(self, power: float) -> Floats:
        # Drugs share a few powers; each is computed once.
        if power not in self._frailty_powers:
            self._frailty_powers[power] = self.pop.frailty**power
        return self._frailty_powers[power]

    def at_age(self, steps: AgeSteps) -> Floats:
        # One lookup per distinct age instead of a search per person.
        return steps.at(np.arange(int(self.age.max(initial=0)) + 1))[self.age]


def _user_chance(d: Drug, facts: _PersonFacts) -> Floats:
    """Chance that each person uses drug ``d`` during the year."""
    pop = facts.pop
    chance = facts.at_age(d.users) * facts.by_frailty(d.frailty_power)
    chance = chance * np.where(pop.sex == 2, d.female, 1.0)
    if d.sex is not None:
        chance = chance * (pop.sex == d.sex)
    if d.conditions:
        has = np.zeros(len(pop), dtype=bool)
        for name in d.conditions:
            has |= pop.has(name)
        chance = chance * has
    return np.minimum(chance, MAX_USER_SHARE)


def _redemptions(rng: np.random.Generator, facts: _PersonFacts) -> tuple[Ints, Ints, Ints]:
    """(person, drug index, day number) of every redemption."""
    persons: list[Ints] = [np.zeros(0, dtype=np.int64)]
    days: list[Ints] = [np.zeros(0, dtype=np.int64)]
    drugs: list[Ints] = [np.zeros(0, dtype=np.int64)]
    for k, d in enumerate(DRUGS):
        chance = _user_chance(d, facts)
        if d.regular:
            users, since = _regular_users(rng, facts, chance)
            per_year = d.per_year * facts.at_age(REGULAR_FREQUENCY_BY_AGE)[users]
            person, day = _regular_redemptions(rng, facts, users, since, per_year)
        else:
            person, day = _sporadic_redemptions(rng, facts, chance, d.per_year)
        persons.append(person)
        days.append(day)
        drugs.append(np.full(len(person), k, dtype=np.int64))
    return np.concatenate(persons), np.concatenate(drugs), np.concatenate(days)


def _regular_users(rng: np.random.Generator, facts: _PersonFacts, chance: Floats) -> tuple[Ints, Ints]:
    """Users of a long-term drug and the day each is a user from.

    A share ``chance`` uses it when entering the period; the others start at the rate that
    replaces users who die, so the share of users holds over the years instead of dying out.
    """
    n = len(chance)
    from_entry = rng.random(n) < chance
    dying = demo.mortality(facts.age) * USER_MORTALITY_RR
    rate = chance * dying / np.maximum(1.0 - chance, 1e-9)  # starts a year among non-users
    wait = rng.exponential(1.0, n) / np.maximum(rate, 1e-12) * DAYS_PER_YEAR
    since = facts.entry + np.minimum(wait, 1e6).astype(np.int64)
    users = np.flatnonzero(from_entry | ((rate > 0) & (since <= facts.exit)))
    return users, np.where(from_entry[users], facts.entry[users], since[users])


def _regular_redemptions(
    rng: np.random.Generator, facts: _PersonFacts, users: Ints, since: Ints, per_year: Floats
) -> tuple[Ints, Ints]:
    """Redemptions every ``365 / per_year`` days from a random phase, from ``since`` while present."""
    interval = DAYS_PER_YEAR / per_year
    first, last = since, facts.exit[users]
    phase = rng.random(len(users)) * interval
    count = np.maximum(np.floor((last - first - phase) / interval).astype(np.int64) + 1, 0)
    person = np.repeat(users, count)
    nth = np.arange(len(person)) - np.repeat(np.cumsum(count) - count, count)
    jitter = rng.normal(0.0, INTERVAL_JITTER * np.repeat(interval, count))
    offset = np.repeat(phase, count) + nth * np.repeat(interval, count) + jitter
    start = np.repeat(first, count)
    day = start + np.round(offset).astype(np.int64)
    return person, np.clip(day, start, facts.exit[person])


def _sporadic_redemptions(
    rng: np.random.Generator, facts: _PersonFacts, chance: Floats, per_year: float
) -> tuple[Ints, Ints]:
    """Year by year: users redeem at least once, more by chance, on random days of presence."""
    persons: list[Ints] = [np.zeros(0, dtype=np.int64)]
    days: list[Ints] = [np.zeros(0, dtype=np.int64)]
    for year_first, year_last in facts.years:
        first = np.maximum(facts.entry, year_first)
        span = np.maximum(np.minimum(facts.exit, year_last) - first + 1, 0)
        # Persons present for part of the year are users (and redeem) in proportion.
        share_of_year = span / (year_last - year_first + 1)
        users = np.flatnonzero(rng.random(len(chance)) < chance * share_of_year)
        count = 1 + rng.poisson((per_year - 1) * share_of_year[users])
        person = np.repeat(users, count)
        offset = (rng.random(len(person)) * span[person]).astype(np.int64)
        persons.append(person)
        days.append(first[person] + offset)
    return np.concatenate(persons), np.concatenate(days)


def _pharmacy_days(day: Ints, first: Ints, last: Ints) -> Ints:
    """Pharmacies are mostly closed on Sundays: move to Monday, or Saturday at the end."""
    sunday = weekday(day) == SUNDAY
    moved = np.where(day + 1 <= last, day + 1, day - 1)
    return np.where(sunday & (moved >= first), moved, day)


@dataclass(frozen=True)
class _Rows:
    person: Ints
    drug: Ints
    day: Ints  # eksd
    packages: Ints  # apk, negative on returns

    def with_returns(self, rng: np.random.Generator, facts: _PersonFacts) -> _Rows:
        """Append a negative copy of a few redemptions, dated up to a week later."""
        pick = np.flatnonzero(rng.random(len(self.person)) < RETURN_SHARE)
        later = self.day[pick] + rng.integers(0, RETURN_LAG_DAYS, len(pick))
        returned = np.minimum(later, facts.exit[self.person[pick]])
        return _Rows(
            np.concatenate([self.person, self.person[pick]]),
            np.concatenate([self.drug, self.drug[pick]]),
            np.concatenate([self.day, returned]),
            np.concatenate([self.packages, -self.packages[pick]]),
        )


def _table(pop: Population, rows: _Rows) -> pa.Table:
    price = np.round(_DRUG_PRICE[rows.drug] * rows.packages, 2)
    subsidy = np.round(_DRUG_SUBSIDY[rows.drug] * price, 2)
    drug = pa.array(rows.drug)
    return pa.table(
        {
            "pnr": pop.pnr_column(rows.person),
            "eksd": pa.array(rows.day.astype(np.int32), pa.date32()),
            "atc": pa.array([d.atc for d in DRUGS], pa.string()).take(drug),
            "vnr": pa.array([d.vnr for d in DRUGS], pa.string()).take(drug),
            "apk": pa.array(rows.packages),
            "pris": pa.array(price),
            "tilskud": pa.array(subsidy),
        }
    )


_DRUG_PRICE = np.array([d.price for d in DRUGS], dtype=np.float64)
_DRUG_SUBSIDY = np.array([d.subsidy for d in DRUGS], dtype=np.float64)
_DRUG_EXTRA_PACK = np.array([d.extra_pack_share for d in DRUGS], dtype=np.float64)
