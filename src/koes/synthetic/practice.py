"""Sygesikringsregisteret (SSR): services from the practice sector, one row per settled service.

Each row is a service a provider was paid for by the region: general practice (speciale 80 and
out-of-hours 81), practising specialists and other providers (dentists, physiotherapists,
chiropractors, podiatrists, psychologists). ``speciale`` is the 2-digit specialty followed by the
4-digit service code; ``kontakt`` equals ``ydlant`` for services that are contacts and is 0 for
the rest (a blood sample is a service, not a contact).

The national volumes come from domain-notes §6: about 7,700 GP contacts and 10,600 practice-sector
contacts per 1,000 citizens a year, women 60 % of GP contacts, use rising steeply with age,
chronic conditions and frailty. ``SERVICES`` declares each service's national rate per 1,000
person-years, fee and who uses it; rates are scaled within the chunk so that the chunk (a random
sample of Denmark) reproduces the national rate, while the relative use by age, sex, conditions
and frailty decides who gets the services.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from koes.domain.codelists import SSR_SPECIALE, SSR_YDELSE
from koes.synthetic.context import ChunkContext
from koes.synthetic.demography import AgeSteps
from koes.synthetic.isoweek import (
    SATURDAY,
    SUNDAY,
    as_dates,
    day_numbers,
    settlement_week_code,
    weekday,
)
from koes.synthetic.population import Population

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]

REGISTER = "ssr_ydelser"
DAYS_PER_YEAR = 365.25

CORRECTION_SHARE = 0.005  # rows later cancelled by a negative correction row
SIKRINGSGRUPPE_2_SHARE = 0.02  # persons who chose direct access with co-payment
FIRST_VISIT_SHARE = 0.35  # specialist services billed at the (higher) first-visit fee
SETTLEMENT_LAG_DAYS = 15  # fees are settled in the week of the contact or up to 14 days later
CORRECTION_LAG_DAYS = (7, 57)  # a correction is settled one to eight weeks after the original
ADULT_FROM = 15  # women's higher use of general practice starts in the teens
# Persons differ in how readily they use the practice sector beyond what age and frailty explain:
# a gamma-distributed factor (mean 1; smaller shapes are more uneven) gives the non-users of a
# year. Men are more uneven than women: 76 % of men and 90 % of women aged 30–59 see their GP in
# a year (DST 2018), and 91 % of all citizens use the practice sector at all (5.3 of 5.81 M,
# DST 2018). The youngest children and the old have regular check-ups and chronic care.
GP_PROPENSITY_SHAPE_MEN = AgeSteps((0, 3, 18, 65, 80), (3.0, 0.9, 0.75, 1.4, 4.0))
GP_PROPENSITY_SHAPE_WOMEN = AgeSteps((0, 3, 15, 65, 80), (3.0, 1.1, 1.2, 2.0, 4.0))
OTHER_PROPENSITY_POWER = 0.6  # the same readiness drives other providers' use, a little less

# Relative use by age (1 ≈ an adult of 30–49); 0 where a service is not given at that age.
GP_AGE = AgeSteps((0, 3, 7, 18, 30, 50, 65, 75, 85), (1.7, 0.8, 0.5, 0.75, 0.85, 1.05, 1.4, 1.8, 2.2))
PHONE_AGE = AgeSteps((0, 3, 7, 18, 30, 50, 65, 75, 85), (1.6, 0.9, 0.6, 0.8, 0.9, 1.0, 1.2, 1.4, 1.6))
ONLINE_AGE = AgeSteps((0, 7, 18, 30, 50, 65, 75, 85), (0.8, 0.4, 1.1, 1.2, 1.1, 0.9, 0.6, 0.3))
VIDEO_AGE = AgeSteps((0, 18, 50, 65), (0.3, 1.0, 0.7, 0.3))
HOME_VISIT_AGE = AgeSteps((0, 18, 65, 75, 85), (0.02, 0.05, 0.3, 1.0, 3.0))
OUT_OF_HOURS_AGE = AgeSteps((0, 3, 7, 18, 30, 65, 80), (2.5, 1.2, 0.7, 1.0, 0.8, 1.0, 1.6))
BLOOD_SAMPLE_AGE = AgeSteps((0, 18, 30, 50, 65, 75), (0.1, 0.5, 0.8, 1.2, 1.8, 2.2))
CERVICAL_SCREENING_AGE = AgeSteps((0, 23, 65), (0.0, 1.0, 0.0))
TALK_THERAPY_AGE = AgeSteps((0, 15, 18, 40, 65), (0.0, 0.6, 1.0, 0.8, 0.2))
CHRONIC_REVIEW_AGE = AgeSteps((0, 18), (0.2, 1.0))
CHILDREN = AgeSteps((0, 16), (1.0, 0.0))
ADULTS = AgeSteps((0, 18), (0.0, 1.0))
OLDER_ADULTS = AgeSteps((0, 18, 40, 65), (0.0, 0.6, 1.0, 1.5))
EYE_AGE = AgeSteps((0, 7, 18, 50, 65, 75), (0.5, 0.3, 0.5, 1.0, 2.2, 3.0))
EAR_AGE = AgeSteps((0, 7, 18, 50, 65, 75), (1.8, 0.8, 0.7, 1.0, 1.4, 1.8))
SKIN_AGE = AgeSteps((0, 15, 30, 65), (0.6, 1.0, 0.9, 1.2))
CHILD_PSYCHIATRY_AGE = AgeSteps((0, 4, 18), (0.0, 1.0, 0.0))
GYNAECOLOGY_AGE = AgeSteps((0, 15, 20, 50, 70), (0.0, 0.5, 1.0, 0.7, 0.3))
# Children's and young people's dental care is municipal (børne- og ungdomstandpleje), not in SSR.
DENTIST_AGE = AgeSteps((0, 18, 26), (0.0, 1.0, 0.3))
PHYSIO_AGE = AgeSteps((0, 12, 18, 40, 65, 80), (0.05, 0.4, 0.8, 1.0, 1.3, 1.1))
CHIRO_AGE = AgeSteps((0, 18, 25, 70, 80), (0.0, 0.6, 1.0, 0.6, 0.2))
PSYCHOLOGIST_AGE = AgeSteps((0, 12, 18, 30, 45, 65), (0.0, 0.8, 1.2, 1.0, 0.6, 0.1))

CHRONIC = ("diabetes", "kol", "hjertesvigt", "astma")
PSYCHIATRIC = ("svaer_psykisk_lidelse",)
DIABETES = ("diabetes",)
DISABLING = ("kol", "hjertesvigt", "demens", "kraeft")  # qualify for free physiotherapy


@dataclass(frozen=True)
class Service:
    """A service (``speciale`` + ``ydelse``) with its national rate, fee and users."""

    speciale: str  # 2-digit SSR specialty
    ydelse: str  # 4-digit service code from SSR_YDELSE
    per_1000: float  # national services (sum of ydlant) a year per 1,000 person-years
    fee: int  # bruhon per service, whole kroner (public share)
    age: AgeSteps = ADULTS  # relative use by age
    female: float = 1.0  # use of women relative to men, from age 15
    sex: int | None = None  # only persons of this sex (1 male, 2 female)
    conditions: tuple[str, ...] = ()  # persons with any of these use the service more …
    boost: float = 1.0  # … this many times as much
    only_with_condition: bool = False  # … or only they use it
    frailty: float = 1.0  # power of individual frailty in the use (0: frailty plays no part)
    double_share: float = 0.02  # rows with ydlant 2 (a double service)
    first_fee: int | None = None  # specialists: the higher fee of a first visit
    per_visit: float = 0.0  # an add-on: billed this many times on average with each consultation
    # (ydelse 0101) of its specialty, the same day, instead of drawn on its own

    @property
    def add_on(self) -> bool:
        return self.per_visit > 0


SERVICES: tuple[Service, ...] = (
    # General practice, daytime (speciale 80).
    Service("80", "0101", 2900, 150, GP_AGE, female=1.55),
    Service("80", "0201", 1900, 30, PHONE_AGE, female=1.5),
    Service("80", "0105", 1700, 55, ONLINE_AGE, female=1.7, frailty=0.7),
    Service("80", "0125", 100, 150, VIDEO_AGE, female=1.5, frailty=0.5),
    Service("80", "0120", 150, 340, CHRONIC_REVIEW_AGE, conditions=CHRONIC, only_with_condition=True),
    Service("80", "0411", 50, 400, HOME_VISIT_AGE, frailty=1.5),
    Service("80", "0121", 20, 400, HOME_VISIT_AGE, frailty=1.5),
    Service("80", "6101", 130, 420, TALK_THERAPY_AGE, female=1.8, conditions=PSYCHIATRIC, boost=4),
    Service("80", "2101", 1500, 50, BLOOD_SAMPLE_AGE, female=1.3, conditions=CHRONIC, boost=2, double_share=0.25),
    Service("80", "2102", 65, 60, CERVICAL_SCREENING_AGE, sex=2, frailty=0.0),
    # Out-of-hours general practice (speciale 81, vagtlæge): telephone triage first.
    Service("81", "0201", 450, 140, OUT_OF_HOURS_AGE, female=1.2),
    Service("81", "0101", 250, 380, OUT_OF_HOURS_AGE, female=1.2),
    Service("81", "0411", 50, 700, HOME_VISIT_AGE, frailty=1.5),
    # Practising specialists: follow-up fee, and the higher fee of a first visit.
    Service("19", "0101", 260, 330, EYE_AGE, conditions=DIABETES, boost=2, frailty=0.5, first_fee=600),
    Service("21", "0101", 200, 300, EAR_AGE, frailty=0.5, first_fee=550),
    Service("04", "0101", 150, 280, SKIN_AGE, female=1.3, frailty=0.5, first_fee=500),
    Service("04", "0105", 20, 120, SKIN_AGE, female=1.3, frailty=0.5),
    Service("24", "0101", 90, 600, ADULTS, conditions=PSYCHIATRIC, boost=25, frailty=0.3, first_fee=900),
    Service("26", "0101", 15, 600, CHILD_PSYCHIATRY_AGE, frailty=0.3, first_fee=900),
    Service("07", "0101", 120, 320, GYNAECOLOGY_AGE, sex=2, frailty=0.5, first_fee=550),
    Service("25", "0101", 50, 350, CHILDREN, frailty=0.5, first_fee=600),
    Service("06", "0101", 40, 400, OLDER_ADULTS, female=1.8, first_fee=700),
    Service("08", "0101", 50, 380, OLDER_ADULTS, conditions=("diabetes", "hjertesvigt"), boost=3, first_fee=750),
    Service("20", "0101", 60, 350, OLDER_ADULTS, frailty=0.5, first_fee=650),
    Service("09", "0101", 40, 350, OLDER_ADULTS, frailty=0.5, first_fee=650),
    # Examinations and treatments specialists bill on top of a consultation (eye pressure, scans,
    # hearing tests, biopsies, ECG, injections …): a contact has one or more services.
    Service("19", "3001", 0, 250, double_share=0.0, per_visit=1.0),
    Service("21", "3001", 0, 220, double_share=0.0, per_visit=0.8),
    Service("04", "3001", 0, 200, double_share=0.0, per_visit=0.6),
    Service("24", "3001", 0, 300, double_share=0.0, per_visit=0.2),
    Service("26", "3001", 0, 300, double_share=0.0, per_visit=0.3),
    Service("07", "3001", 0, 250, double_share=0.0, per_visit=0.8),
    Service("25", "3001", 0, 200, double_share=0.0, per_visit=0.5),
    Service("06", "3001", 0, 300, double_share=0.0, per_visit=0.8),
    Service("08", "3001", 0, 350, double_share=0.0, per_visit=1.0),
    Service("20", "3001", 0, 300, double_share=0.0, per_visit=0.8),
    Service("09", "3001", 0, 350, double_share=0.0, per_visit=0.7),
    # Other providers.
    Service("50", "0101", 700, 200, DENTIST_AGE, frailty=0.2),
    Service("51", "0101", 450, 250, PHYSIO_AGE, female=1.4, frailty=0.7),
    Service("62", "0101", 130, 300, OLDER_ADULTS, conditions=DISABLING, boost=4, frailty=1.2),
    Service("53", "0101", 250, 110, CHIRO_AGE, frailty=0.3),
    Service("54", "0101", 80, 250, OLDER_ADULTS, conditions=DIABETES, only_with_condition=True),
    Service("63", "6101", 170, 650, PSYCHOLOGIST_AGE, female=2.0, conditions=PSYCHIATRIC, boost=3, frailty=0.3),
)

_CONTACT_CODES = frozenset(SSR_YDELSE.where(kontakt="1"))
OUT_OF_HOURS = "81"
CONSULTATION = "0101"
GENERAL_PRACTICE = "80"
GP_SPECIALTIES = frozenset(SSR_SPECIALE.where(group="almen_praksis"))
# Provider numbers (ydernr, 6 digits) are built as KKK·NNN from the provider's municipality:
# GP clinics are NNN = 000–099, out-of-hours services 981 in the region's first municipality,
# specialists and other providers NNN = slot (1–8) · 100 + specialty.
PERSONS_PER_GP_CLINIC = 10_000
MAX_GP_CLINICS = 99
PERSONS_PER_SPECIALIST_SLOT = 50_000
MAX_SPECIALIST_SLOTS = 8
OUT_OF_HOURS_NUMBER = 981


def generate_practice(pop: Population, ctx: ChunkContext) -> dict[str, pa.Table]:
    """SSR service rows of the persons of one chunk, for the days they are present."""
    rng = ctx.rng(REGISTER)
    facts = _PersonFacts.of(pop, rng)
    person, service = _draw_services(rng, facts)
    day = _service_days(rng, facts, person, service)
    person, service, day = _with_add_ons(rng, person, service, day)
    units = 1 + (rng.random(len(person)) < _SERVICE_MULTI_UNIT[service]).astype(np.int64)
    fee = _fees(rng, service) * units
    settled = day + rng.integers(0, SETTLEMENT_LAG_DAYS, len(person))
    provider = _provider_numbers(ctx, pop, person, day, service)
    rows = _Rows(person, service, provider, units, fee, day, settled).with_corrections(rng)
    sikgrup = (rng.random(len(pop)) < SIKRINGSGRUPPE_2_SHARE).astype(np.int64)
    return {REGISTER: _table(pop, rows, sikgrup)}


@dataclass(frozen=True)
class _PersonFacts:
    """What decides a person's use of services; age is taken at the middle of their presence."""

    pop: Population
    entry: Ints  # day numbers
    exit: Ints
    age: Ints
    female: Bools
    gp_propensity: Floats
    _frailty_powers: dict[float, Floats] = field(default_factory=dict)

    @classmethod
    def of(cls, pop: Population, rng: np.random.Generator) -> _PersonFacts:
        entry, exit_ = day_numbers(pop.entry), day_numbers(pop.exit)
        middle = as_dates(entry + np.maximum(exit_ - entry, 0) // 2)
        age = pop.age_on(np.arange(len(pop)), middle)
        shape = np.where(pop.sex == 2, GP_PROPENSITY_SHAPE_WOMEN.at(age), GP_PROPENSITY_SHAPE_MEN.at(age))
        propensity = rng.gamma(shape, 1 / shape)
        return cls(pop, entry, exit_, age, pop.sex == 2, propensity)

    def by_age(self, steps: AgeSteps) -> Floats:
        # One lookup per distinct age instead of a search per person.
        return steps.at(np.arange(int(self.age.max(initial=0)) + 1))[self.age]

    @property
    def person_years(self) -> Floats:
        return np.asarray(np.maximum(self.exit - self.entry + 1, 0) / DAYS_PER_YEAR, np.float64)

    def by_frailty(self, power: float) -> Floats:
        # Services share a few powers; each is computed once.
        if power not in self._frailty_powers:
            self._frailty_powers[power] = self.pop.frailty**power
        return self._frailty_powers[power]

    def has_any(self, conditions: tuple[str, ...]) -> Bools:
        found = np.zeros(len(self.age), dtype=bool)
        for name in conditions:
            found |= self.pop.has(name)
        return found


def _relative_use(s: Service, facts: _PersonFacts) -> Floats:
    """Each person's use of service ``s`` relative to the others (any scale)."""
    use = facts.by_age(s.age) * facts.by_frailty(s.frailty)
    use = use * np.where(facts.female & (facts.age >= ADULT_FROM), s.female, 1.0)
    if s.speciale in GP_SPECIALTIES:
        use = use * facts.gp_propensity
    else:
        use = use * facts.gp_propensity**OTHER_PROPENSITY_POWER
    if s.sex is not None:
        use = use * (facts.pop.sex == s.sex)
    if s.conditions:
        has = facts.has_any(s.conditions)
        use = use * (has if s.only_with_condition else np.where(has, s.boost, 1.0))
    return use


def _draw_services(rng: np.random.Generator, facts: _PersonFacts) -> tuple[Ints, Ints]:
    """(person, service index) of every service row, Poisson by each person's rate."""
    years = facts.person_years
    total_years = float(years.sum())
    persons: list[Ints] = [np.zeros(0, dtype=np.int64)]
    services: list[Ints] = [np.zeros(0, dtype=np.int64)]
    for k, s in enumerate(SERVICES):
        if s.add_on:
            continue
        use = _relative_use(s, facts)
        exposure = float((use * years).sum())
        if exposure <= 0:
            continue
        # Scale so the chunk meets the national rate; corrections cancel some rows later.
        rows_per_year = s.per_1000 / 1000 / (1 + s.double_share) / (1 - CORRECTION_SHARE)
        counts = rng.poisson(rows_per_year * total_years / exposure * use * years)
        persons.append(np.repeat(np.arange(len(years)), counts))
        services.append(np.full(int(counts.sum()), k, dtype=np.int64))
    return np.concatenate(persons), np.concatenate(services)


def _with_add_ons(rng: np.random.Generator, person: Ints, service: Ints, day: Ints) -> tuple[Ints, Ints, Ints]:
    """Add-on services with the consultations of their specialty: same person, same day."""
    persons, services, days = [person], [service], [day]
    for k, s in enumerate(SERVICES):
        if not s.add_on:
            continue
        visits = np.flatnonzero(_SERVICE_IS_CONSULTATION_OF[service] == k)
        parent = np.repeat(visits, rng.poisson(s.per_visit, len(visits)))
        persons.append(person[parent])
        services.append(np.full(len(parent), k, dtype=np.int64))
        days.append(day[parent])
    return np.concatenate(persons), np.concatenate(services), np.concatenate(days)


def _service_days(rng: np.random.Generator, facts: _PersonFacts, person: Ints, service: Ints) -> Ints:
    """A day the person is present; daytime providers' weekend days move to Friday or Monday."""
    first, last = facts.entry[person], facts.exit[person]
    day = first + (rng.random(len(person)) * (last - first + 1)).astype(np.int64)
    wd = weekday(day)
    moved = day + (wd == SUNDAY) - (wd == SATURDAY)
    # Out-of-hours services work weekends; a move must not leave the person's presence.
    keep = ~_SERVICE_DAYTIME[service] | (moved < first) | (moved > last)
    return np.where(keep, day, moved)


def _fees(rng: np.random.Generator, service: Ints) -> Ints:
    first_fee = _SERVICE_FIRST_FEE[service]
    first_visit = (rng.random(len(service)) < FIRST_VISIT_SHARE) & (first_fee > 0)
    return np.where(first_visit, first_fee, _SERVICE_FEE[service])


def _provider_numbers(ctx: ChunkContext, pop: Population, person: Ints, day: Ints, service: Ints) -> Ints:
    """ydernr: the person's own GP clinic, the region's out-of-hours service or a local provider."""
    places = _ProviderPlaces.of(ctx)
    kommune = _municipality_on(pop, person, day)
    kommune = np.where(kommune > 0, kommune, places.fallback)
    h = _person_hash(pop)[person]
    specialty = _SERVICE_SPECIALTY[service]
    local = np.where(
        specialty == int(GENERAL_PRACTICE),
        h % places.gp_clinics[kommune],
        (1 + (h // 7 + specialty) % places.specialist_slots[kommune]) * 100 + specialty,
    )
    return np.where(
        specialty == int(OUT_OF_HOURS),
        places.region_hub[kommune] * 1000 + OUT_OF_HOURS_NUMBER,
        kommune * 1000 + local,
    )


def _municipality_on(pop: Population, person: Ints, day: Ints) -> Ints:
    """Municipality of residence on each day; most persons never move, so look up only movers."""
    res = pop.residence
    periods = np.bincount(res.person, minlength=len(pop))
    only = np.zeros(len(pop), dtype=np.int64)
    single = np.flatnonzero(periods == 1)
    only[single] = res.kommune[np.searchsorted(res.person, single)]
    kommune = only[person]
    moved = np.flatnonzero(kommune == 0)
    kommune[moved] = pop.municipality_on(person[moved], as_dates(day[moved]))
    return kommune


@dataclass(frozen=True)
class _ProviderPlaces:
    """Per 3-digit kommunekode: number of GP clinics and specialist slots, and the region hub."""

    gp_clinics: Ints
    specialist_slots: Ints
    region_hub: Ints
    fallback: int

    @classmethod
    def of(cls, ctx: ChunkContext) -> _ProviderPlaces:
        size = 1000
        residents = ctx.refdata.population_in(ctx.start.year)
        gp = np.ones(size, dtype=np.int64)
        slots = np.ones(size, dtype=np.int64)
        hub = np.zeros(size, dtype=np.int64)
        first_in_region: dict[int, int] = {}
        for m in sorted(ctx.refdata.municipalities, key=lambda m: m.code):
            first_in_region.setdefault(m.region_code, m.code)
            n = residents.get(m.code, 0)
            gp[m.code] = min(max(n // PERSONS_PER_GP_CLINIC, 2), MAX_GP_CLINICS)
            slots[m.code] = min(max(n // PERSONS_PER_SPECIALIST_SLOT, 1), MAX_SPECIALIST_SLOTS)
            hub[m.code] = first_in_region[m.region_code]
        return cls(gp, slots, hub, fallback=min(first_in_region.values()))


def _person_hash(pop: Population) -> Ints:
    """A well-mixed non-negative integer per person from the CPR number (SplitMix64)."""
    pnr = pc.cast(pa.array(pop.pnr, pa.string()), pa.int64()).to_numpy()
    x: npt.NDArray[np.uint64] = pnr.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    x = x ^ (x >> np.uint64(31))
    return (x >> np.uint64(2)).astype(np.int64)


@dataclass(frozen=True)
class _Rows:
    person: Ints
    service: Ints
    provider: Ints  # ydernr
    units: Ints  # ydlant, negative on corrections
    fee: Ints  # bruhon
    day: Ints  # behandlingsdato
    settled: Ints  # a day in the settlement week

    def with_corrections(self, rng: np.random.Generator) -> _Rows:
        """Append a negative copy of a few rows, settled some weeks after the original."""
        pick = np.flatnonzero(rng.random(len(self.person)) < CORRECTION_SHARE)
        lag = rng.integers(*CORRECTION_LAG_DAYS, len(pick))
        return _Rows(
            np.concatenate([self.person, self.person[pick]]),
            np.concatenate([self.service, self.service[pick]]),
            np.concatenate([self.provider, self.provider[pick]]),
            np.concatenate([self.units, -self.units[pick]]),
            np.concatenate([self.fee, -self.fee[pick]]),
            np.concatenate([self.day, self.day[pick]]),
            np.concatenate([self.settled, self.settled[pick] + lag]),
        )


def _table(pop: Population, rows: _Rows, sikgrup: Ints) -> pa.Table:
    return pa.table(
        {
            "pnr": pop.pnr_column(rows.person),
            "ydernr": pc.cast(pa.array(rows.provider), pa.string()),
            "speciale": pa.array(_SERVICE_CODES, pa.string()).take(pa.array(rows.service)),
            "ydlant": pa.array(rows.units),
            "kontakt": pa.array(rows.units * _SERVICE_IS_CONTACT[rows.service]),
            "bruhon": pa.array(rows.fee.astype(np.float64)),
            "honuge": _settlement_weeks(rows.settled),
            "behandlingsdato": pa.array(rows.day.astype(np.int32), pa.date32()),
            "sikgrup": pa.array(["1", "2"], pa.string()).take(pa.array(sikgrup[rows.person])),
        }
    )


def _settlement_weeks(settled: Ints) -> pa.Array:
    """honuge (YYWW) of each settlement day, formatted once per distinct day."""
    if len(settled) == 0:
        return pa.array([], pa.string())
    first = int(settled.min())
    span = np.arange(first, int(settled.max()) + 1)
    words = pa.array([f"{w:04d}" for w in settlement_week_code(span).tolist()], pa.string())
    return words.take(pa.array(settled - first))


def _check_services() -> None:
    for s in SERVICES:
        if s.speciale not in SSR_SPECIALE or s.ydelse not in SSR_YDELSE:
            raise ValueError(f"SSR service {s.speciale}{s.ydelse} is not in the code lists")


_check_services()
_SERVICE_CODES = [s.speciale + s.ydelse for s in SERVICES]
_SERVICE_SPECIALTY = np.array([int(s.speciale) for s in SERVICES], dtype=np.int64)
_SERVICE_FEE = np.array([s.fee for s in SERVICES], dtype=np.int64)
_SERVICE_FIRST_FEE = np.array([s.first_fee or 0 for s in SERVICES], dtype=np.int64)
_SERVICE_MULTI_UNIT = np.array([s.double_share for s in SERVICES], dtype=np.float64)
_SERVICE_IS_CONTACT = np.array([s.ydelse in _CONTACT_CODES for s in SERVICES], dtype=np.int64)
_SERVICE_DAYTIME = np.array([s.speciale != OUT_OF_HOURS for s in SERVICES], dtype=bool)
_ADD_ON_OF = {s.speciale: k for k, s in enumerate(SERVICES) if s.add_on}
# For each service: the add-on billed with it (its specialty's, when it is a consultation), or -1.
_SERVICE_IS_CONSULTATION_OF = np.array(
    [_ADD_ON_OF.get(s.speciale, -1) if s.ydelse == CONSULTATION and not s.add_on else -1 for s in SERVICES],
    dtype=np.int64,
)
