"""Hospital stays of a population: how many, when, why, how long and at which hospital.

Stays come first and contacts are cut from them afterwards (:mod:`koes.synthetic.hospital`),
because the warehouse measures stays (sygehusophold: physical contacts ≤ 4 hours apart) and
admissions (stays ≥ 12 hours), and those are what the national figures count. Each stay carries
a *contact plan*: up to three contacts (e.g. emergency department, ward, ward after a transfer)
with start and end offsets from the stay's start.

Rates: each stay kind has a national rate and a relative rate by age and sex; the level is set
so the national population structure (refdata) reproduces the national rate. A person's relative
risk (chronic conditions × frailty, more use before death) is normalised to mean 1 within
10-year age bands, so it decides *who* uses hospitals without changing *how much* an age group
does. Separate stays of one person are kept more than 4 hours apart so they never couple.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Self

import numpy as np
import numpy.typing as npt

from koes.refdata import RefData
from koes.synthetic.context import ChunkContext
from koes.synthetic.hospital_catalog import (
    BIRTH,
    DISCHARGE_READY_DEMENTIA_RR,
    DISCHARGE_READY_MAX_DAYS,
    DISCHARGE_READY_MEAN_DAYS,
    DISCHARGE_READY_PSYCHIATRIC,
    DISCHARGE_READY_PSYCHIATRIC_MAX_DAYS,
    DISCHARGE_READY_PSYCHIATRIC_MEAN_DAYS,
    DISCHARGE_READY_SOMATIC_65,
    DYING_RR,
    HOME_VISIT_GERIATRIC_FROM,
    HOME_VISIT_SHARE_GERIATRIC,
    HOME_VISIT_SHARE_PSYCHIATRY,
    HOSPITAL_USUAL_SHARE,
    PSYCH_ADMISSION,
    PSYCHIATRIC_PATIENT_SHARE,
    PSYCHIATRIC_PATIENT_SMI_RR,
    READMISSION_CHRONIC_RR,
    READMISSION_OLD_RR,
    READMISSION_PSYCHIATRIC,
    READMISSION_SAME_REASON,
    READMISSION_SOMATIC,
    READMISSION_WITHIN_DAYS,
    SOMATIC_ACUTE_ADMISSION,
    STAY_KINDS,
    TERMINAL_ADMISSION_SHARE,
    TERMINAL_LOS_DAYS,
    VIRTUAL_FOLLOW_UP_SHARE,
    Setting,
    StayKind,
)
from koes.synthetic.hospital_places import HospitalEras
from koes.synthetic.hospital_reasons import (
    CONDITION_INDEX,
    REASON_LOS_DAYS,
    REASON_PSYCHIATRIC,
    ReasonSampler,
    draw_codes,
    draw_person_codes,
)
from koes.synthetic.hospital_timeline import (
    DAY,
    HOUR,
    Role,
    admission_plan,
    hours,
    outpatient_plan,
    separate,
    virtual_plan,
    weekday_shift,
)
from koes.synthetic.population import Population

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]

MIN_ADMISSION_WARD = int(12.5 * HOUR)  # an admission's ward contact alone makes it ≥ 12 h
KIND_INDEX = {k.key: i for i, k in enumerate(STAY_KINDS)}
VIRTUAL_KIND = len(STAY_KINDS)  # virtual follow-up contacts are not stays, but planned alike
OLD = 65


@dataclass(frozen=True)
class Stays:
    person: Ints
    kind: Ints  # index into STAY_KINDS, or VIRTUAL_KIND
    acute: Bools
    age: Ints  # age at the start of the stay
    reason: Ints
    code: Ints  # action diagnosis (index into hospital_reasons.CODES)
    start: Ints  # seconds since 1970-01-01, local time
    roles: Ints  # (stays, MAX_CONTACTS) Role, -1 where no contact
    offsets: Ints  # (stays, MAX_CONTACTS, 2) contact start/end in seconds from the stay start
    ready_days: Ints  # days of a discharge-ready period at the end of an admission (0: none)
    home_visit: Bools  # the planned visit is a home visit (ALCA10)
    u_hospital: Floats  # uniform draw that picks the hospital
    hospital: Ints  # index into HospitalEras.ids
    transfer_hospital: Ints

    def __len__(self) -> int:
        return len(self.person)

    @property
    def duration(self) -> Ints:
        return np.asarray(self.offsets[:, :, 1].max(axis=1), dtype=np.int64)

    @property
    def end(self) -> Ints:
        return self.start + self.duration

    @property
    def admission(self) -> Bools:
        return np.asarray((self.roles == Role.WARD).any(axis=1), dtype=bool)

    @property
    def psychiatric(self) -> Bools:
        return REASON_PSYCHIATRIC[self.reason]

    def take(self, idx: Ints | Bools) -> Self:
        return dataclasses.replace(self, **{f.name: getattr(self, f.name)[idx] for f in dataclasses.fields(self)})

    @classmethod
    def concat(cls, parts: list[Self]) -> Self:
        names = [f.name for f in dataclasses.fields(cls)]
        return cls(**{n: np.concatenate([getattr(p, n) for p in parts]) for n in names})


@dataclass(frozen=True)
class PersonFacts:
    entry: Ints  # day numbers
    exit: Ints
    person_years: Floats
    age_mid: Ints
    sex: Ints
    conditions: Bools  # (persons, CONDITIONS)
    frailty: Floats
    dying: Bools  # dies within the period
    codes: Ints  # (persons, CONDITIONS) the person's own code per condition
    usual_u: Floats
    psychiatric_patient: Bools  # treated in psychiatry during the period

    @classmethod
    def of(cls, pop: Population, ctx: ChunkContext, rng: np.random.Generator) -> PersonFacts:
        entry = pop.entry.astype("datetime64[D]").astype(np.int64)
        exit_ = pop.exit.astype("datetime64[D]").astype(np.int64)
        mid = ((entry + exit_) // 2).astype("datetime64[D]")
        idx = np.arange(len(pop))
        conditions = np.zeros((len(pop), len(CONDITION_INDEX)), dtype=bool)
        for name, j in CONDITION_INDEX.items():
            if name in pop.conditions:
                conditions[:, j] = pop.conditions[name]
        sex = pop.sex.astype(np.int64)
        age_mid = pop.age_on(idx, mid)
        return cls(
            entry=entry,
            exit=exit_,
            person_years=(exit_ - entry + 1) / 365.25,
            age_mid=age_mid,
            sex=sex,
            conditions=conditions,
            frailty=pop.frailty.astype(np.float64),
            dying=(pop.status == "90") & (pop.exit <= ctx.end64),
            codes=draw_person_codes(rng, pop.sex),
            usual_u=rng.random(len(pop)),
            psychiatric_patient=_psychiatric_patients(
                rng, age_mid, conditions[:, CONDITION_INDEX["svaer_psykisk_lidelse"]]
            ),
        )

    @property
    def last_second(self) -> Ints:
        return (self.exit + 1) * DAY - 60


def _psychiatric_patients(rng: np.random.Generator, age: Ints, severe: Bools) -> Bools:
    """Who is treated in psychiatry in the period: the age's share, many more of the severely ill."""
    weight = np.where(severe, PSYCHIATRIC_PATIENT_SMI_RR, 1.0)
    band = np.searchsorted(np.asarray(PSYCHIATRIC_PATIENT_SHARE.ages), age, side="right") - 1
    mean = np.bincount(band, weight, minlength=len(PSYCHIATRIC_PATIENT_SHARE.ages)) / np.maximum(
        np.bincount(band, minlength=len(PSYCHIATRIC_PATIENT_SHARE.ages)), 1
    )
    chance = PSYCHIATRIC_PATIENT_SHARE.at(age) * weight / np.where(mean > 0, mean, 1.0)[band]
    return np.asarray(rng.random(len(age)) < chance, dtype=np.bool_)


def generate_stays(pop: Population, ctx: ChunkContext, places: HospitalEras) -> tuple[Stays, Ints]:
    """The period's stays of ``pop``, and each person's own code per chronic condition (-1 for
    conditions the person does not have), for secondary diagnoses."""
    facts = PersonFacts.of(pop, ctx, ctx.rng("hospital.persons"))
    rng = ctx.rng("hospital.stays")
    samplers = {k.key: ReasonSampler.of(k) for k in STAY_KINDS}
    primary = [
        _stays_of_kind(rng, pop, facts, kind, samplers[kind.key], ctx.refdata, ctx.start.year) for kind in STAY_KINDS
    ]
    stays = Stays.concat(primary)
    spawned = [
        _readmissions(rng, pop, facts, stays, samplers),
        _terminal_admissions(rng, pop, facts, samplers[SOMATIC_ACUTE_ADMISSION.key]),
        _virtual_follow_ups(rng, facts, stays),
    ]
    stays = Stays.concat([stays, *spawned])
    stays = _fit_in_presence(facts, stays)
    stays = _keep_apart(facts, stays)
    person_codes = np.where(facts.conditions, facts.codes, -1)
    return _place(pop, facts, stays, places, rng), person_codes


# --- How many -----------------------------------------------------------------------------------


def national_level(kind: StayKind, refdata: RefData, year: int) -> float:
    """Factor on the kind's age curve that makes the national population hit ``per_1000``."""
    groups = refdata.national_structure(year)
    people = weighted = 0.0
    for g in groups:
        if g.age_to is None:
            # The open top group, spread as the population generator spreads it (geometric).
            ages = np.arange(g.age_from, 106)
            w = 0.2 * 0.8 ** (ages - g.age_from)
        else:
            ages = np.arange(g.age_from, g.age_to + 1)
            w = np.ones(len(ages))
        shape = (kind.male if g.sex == "M" else kind.female).at(ages)
        people += g.population
        weighted += g.population * float((shape * w).sum() / w.sum())
    return kind.per_1000 / (weighted / people) if weighted > 0 else 0.0


def _relative_risk(rng: np.random.Generator, kind: StayKind, facts: PersonFacts) -> Floats:
    rr = facts.frailty**kind.frailty_power
    if kind.habit_shape > 0:
        rr = rr * rng.gamma(kind.habit_shape, 1 / kind.habit_shape, len(rr))
    for name, factor in kind.condition_rr.items():
        rr = np.where(facts.conditions[:, CONDITION_INDEX[name]], rr * factor, rr)
    if kind.patients_only:
        rr = rr * facts.psychiatric_patient
    if kind.acute_share >= 1.0:
        rr = np.where(facts.dying, rr * DYING_RR, rr)
    # Normalise within 10-year bands: relative risk decides who, not how much per age group.
    band = np.minimum(facts.age_mid // 10, 10)
    num = np.bincount(band, rr * facts.person_years, minlength=11)
    den = np.bincount(band, facts.person_years, minlength=11)
    mean = np.where(num > 0, num / np.maximum(den, 1e-12), 1.0)
    return np.asarray(rr / mean[band], dtype=np.float64)


def _stays_of_kind(
    rng: np.random.Generator,
    pop: Population,
    facts: PersonFacts,
    kind: StayKind,
    sampler: ReasonSampler,
    refdata: RefData,
    year: int,
) -> Stays:
    shape = np.where(facts.sex == 1, kind.male.at(facts.age_mid), kind.female.at(facts.age_mid))
    rate = national_level(kind, refdata, year) * shape * _relative_risk(rng, kind, facts)
    count = rng.poisson(rate * facts.person_years / 1000)
    person = np.repeat(np.arange(len(facts.sex)), count).astype(np.int64)
    acute = rng.random(len(person)) < kind.acute_share
    day = _stay_days(rng, facts, person, near_death=kind.acute_share >= 1.0)
    day = np.where(acute, day, weekday_shift(day))
    start = day * DAY + _time_of_day(rng, acute, kind.setting)
    return _new_stays(rng, pop, facts, KIND_INDEX[kind.key], person, acute, start, sampler)


def _stay_days(rng: np.random.Generator, facts: PersonFacts, person: Ints, near_death: bool) -> Ints:
    lo, hi = facts.entry[person], facts.exit[person]
    day = lo + np.floor(rng.random(len(person)) * (hi - lo + 1)).astype(np.int64)
    if near_death:
        # Half of a dying person's acute stays fall in the last months.
        late = facts.dying[person] & (rng.random(len(person)) < 0.5)
        before_death = hi - np.floor(rng.exponential(30.0, len(person))).astype(np.int64)
        day = np.where(late, np.maximum(before_death, lo), day)
    return day


def _time_of_day(rng: np.random.Generator, acute: Bools, setting: Setting) -> Ints:
    n = len(acute)
    daytime = rng.random(n) < 0.7
    acute_t = np.where(daytime, 8 * HOUR + rng.random(n) * 14 * HOUR, rng.random(n) * DAY)
    if setting is Setting.ADMISSION:
        planned_t = 7 * HOUR + rng.random(n) * 4 * HOUR
    else:
        planned_t = 8 * HOUR + rng.random(n) * 7.5 * HOUR
    return np.where(acute, acute_t, planned_t).astype(np.int64)


def _new_stays(
    rng: np.random.Generator,
    pop: Population,
    facts: PersonFacts,
    kind_index: int,
    person: Ints,
    acute: Bools,
    start: Ints,
    sampler: ReasonSampler,
) -> Stays:
    age = pop.age_on(person, (start // DAY).astype("datetime64[D]"))
    conditions = facts.conditions[person]
    reason = sampler.draw(rng, age, facts.sex[person], conditions)
    code = draw_codes(rng, reason, facts.codes[person])
    return _with_plan(rng, facts, kind_index, person, acute, age, reason, code, start)


# --- How long: the contact plan ------------------------------------------------------------------


def _with_plan(
    rng: np.random.Generator,
    facts: PersonFacts,
    kind_index: int,
    person: Ints,
    acute: Bools,
    age: Ints,
    reason: Ints,
    code: Ints,
    start: Ints,
    los_days: Floats | None = None,
) -> Stays:
    n = len(person)
    kind = STAY_KINDS[kind_index] if kind_index < len(STAY_KINDS) else None
    admission = kind is not None and kind.setting is Setting.ADMISSION
    no_days = np.zeros(n, dtype=np.int64)
    ready = _discharge_ready_days(rng, facts, person, age, reason) if admission else no_days
    median = REASON_LOS_DAYS[reason] if los_days is None else los_days
    sigma = kind.los_sigma if kind else 0.0
    ward = np.maximum(median * DAY * np.exp(sigma * rng.standard_normal(n)), MIN_ADMISSION_WARD)
    ward = ward.astype(np.int64) + ready.astype(np.int64) * DAY
    if kind_index == VIRTUAL_KIND:
        roles, offsets = virtual_plan(rng, n)
    elif admission:
        # Births go straight to the maternity ward.
        from_emergency = acute & (kind_index != KIND_INDEX[BIRTH.key])
        roles, offsets = admission_plan(rng, from_emergency, REASON_PSYCHIATRIC[reason], ward)
    else:
        roles, offsets = outpatient_plan(rng, acute)
    planned_visit = (roles[:, 0] == Role.CLINIC) & (roles[:, 1] < 0)
    home_share = np.where(REASON_PSYCHIATRIC[reason], HOME_VISIT_SHARE_PSYCHIATRY, 0.0)
    home_share = np.where(
        age >= HOME_VISIT_GERIATRIC_FROM, np.maximum(home_share, HOME_VISIT_SHARE_GERIATRIC), home_share
    )
    home_visit = planned_visit & ~acute & (rng.random(n) < home_share)
    zeros = np.zeros(n, dtype=np.int64)
    return Stays(
        person=person,
        kind=np.full(n, kind_index, dtype=np.int64),
        acute=acute,
        age=age,
        reason=reason,
        code=code,
        start=start.astype(np.int64),
        roles=roles,
        offsets=offsets,
        ready_days=ready.astype(np.int64),
        home_visit=home_visit,
        u_hospital=np.where(rng.random(n) < HOSPITAL_USUAL_SHARE, facts.usual_u[person], rng.random(n)),
        hospital=zeros,
        transfer_hospital=zeros.copy(),
    )


def _discharge_ready_days(rng: np.random.Generator, facts: PersonFacts, person: Ints, age: Ints, reason: Ints) -> Ints:
    psychiatric = REASON_PSYCHIATRIC[reason]
    dementia = facts.conditions[person, CONDITION_INDEX["demens"]]
    frail = np.sqrt(np.clip(facts.frailty[person], 0.25, 4.0))
    somatic_p = DISCHARGE_READY_SOMATIC_65 * np.where(dementia, DISCHARGE_READY_DEMENTIA_RR, 1.0)
    p = np.where(psychiatric, DISCHARGE_READY_PSYCHIATRIC, np.where(age >= OLD, somatic_p * frail, 0))
    ready = rng.random(len(person)) < p
    somatic_days = np.minimum(rng.geometric(1 / DISCHARGE_READY_MEAN_DAYS, len(person)), DISCHARGE_READY_MAX_DAYS)
    psychiatric_days = np.minimum(
        rng.geometric(1 / DISCHARGE_READY_PSYCHIATRIC_MEAN_DAYS, len(person)), DISCHARGE_READY_PSYCHIATRIC_MAX_DAYS
    )
    days = np.where(psychiatric, psychiatric_days, somatic_days)
    return np.where(ready, days, 0).astype(np.int64)


# --- Stays that follow from other stays --------------------------------------------------------


def _readmissions(
    rng: np.random.Generator,
    pop: Population,
    facts: PersonFacts,
    stays: Stays,
    samplers: dict[str, ReasonSampler],
) -> Stays:
    """Acute admissions within 30 days of a discharge, often for the same reason."""
    chronic = facts.conditions[:, CONDITION_INDEX["hjertesvigt"]] | facts.conditions[:, CONDITION_INDEX["kol"]]
    somatic_p = READMISSION_SOMATIC * np.where(stays.age >= OLD, READMISSION_OLD_RR, 1.0)
    somatic_p = somatic_p * np.where(chronic[stays.person], READMISSION_CHRONIC_RR, 1.0)
    psychiatric = stays.psychiatric
    p = np.where(psychiatric, READMISSION_PSYCHIATRIC, somatic_p)
    eligible = stays.admission & (stays.kind != KIND_INDEX[BIRTH.key])
    parents = stays.take(eligible & (rng.random(len(stays)) < p))
    delay = (0.5 + (READMISSION_WITHIN_DAYS - 1) * rng.random(len(parents)) ** 2) * DAY
    start = parents.end + delay.astype(np.int64)
    parts = []
    for kind, is_psych in ((SOMATIC_ACUTE_ADMISSION, False), (PSYCH_ADMISSION, True)):
        sel = np.flatnonzero(parents.psychiatric == is_psych)
        par = parents.take(sel)
        person, st = par.person, start[sel]
        age = pop.age_on(person, (st // DAY).astype("datetime64[D]"))
        fresh = samplers[kind.key].draw(rng, age, facts.sex[person], facts.conditions[person])
        same = rng.random(len(sel)) < READMISSION_SAME_REASON
        reason = np.where(same, par.reason, fresh)
        code = np.where(same, par.code, draw_codes(rng, reason, facts.codes[person]))
        acute = np.ones(len(sel), dtype=bool)
        parts.append(_with_plan(rng, facts, KIND_INDEX[kind.key], person, acute, age, reason, code, st))
    return Stays.concat(parts)


def _terminal_admissions(
    rng: np.random.Generator, pop: Population, facts: PersonFacts, sampler: ReasonSampler
) -> Stays:
    """Many deaths happen in hospital: an acute admission that ends on the day of death."""
    dying = np.flatnonzero(facts.dying & (rng.random(len(facts.sex)) < TERMINAL_ADMISSION_SHARE))
    n = len(dying)
    death = facts.exit[dying]
    age = pop.age_on(dying, death.astype("datetime64[D]"))
    reason = sampler.draw(rng, age, facts.sex[dying], facts.conditions[dying])
    code = draw_codes(rng, reason, facts.codes[dying])
    acute = np.ones(n, dtype=bool)
    los = np.full(n, TERMINAL_LOS_DAYS)
    kind = KIND_INDEX[SOMATIC_ACUTE_ADMISSION.key]
    no_start = np.zeros(n, dtype=np.int64)
    stays = _with_plan(rng, facts, kind, dying, acute, age, reason, code, no_start, los)
    end = death * DAY + hours(rng, 2, 22, n)
    return dataclasses.replace(stays, start=end - stays.duration)


def _virtual_follow_ups(rng: np.random.Generator, facts: PersonFacts, stays: Stays) -> Stays:
    """Virtual contacts (phone/video) follow planned outpatient visits at the same hospital."""
    planned_visit = (stays.roles[:, 0] == Role.CLINIC) & ~stays.acute
    parents = stays.take(planned_visit & (rng.random(len(stays)) < VIRTUAL_FOLLOW_UP_SHARE))
    n = len(parents)
    day = parents.start // DAY + 7 + np.floor(rng.random(n) * 84).astype(np.int64)
    start = weekday_shift(day) * DAY + hours(rng, 8, 16, n)
    acute = np.zeros(n, dtype=bool)
    follow = _with_plan(
        rng,
        facts,
        VIRTUAL_KIND,
        parents.person,
        acute,
        parents.age,
        parents.reason,
        parents.code,
        start,
    )
    return dataclasses.replace(follow, u_hospital=parents.u_hospital)


# --- Where in time: presence and separation ------------------------------------------------------


def _fit_in_presence(facts: PersonFacts, stays: Stays) -> Stays:
    """Stays that would run past the last day present (death, emigration, period end) start as
    many whole days earlier as needed (keeping the time of day); those that then start before
    the person was present are dropped."""
    overrun = stays.end - facts.last_second[stays.person]
    start = stays.start - np.where(overrun > 0, -(-overrun // DAY) * DAY, 0)
    stays = dataclasses.replace(stays, start=start)
    return stays.take(start >= facts.entry[stays.person] * DAY)


def _keep_apart(facts: PersonFacts, stays: Stays) -> Stays:
    """Separate each person's stays so they never couple; drop what no longer fits."""
    start = separate(stays.person, stays.start, stays.duration)
    keep = start + stays.duration <= facts.last_second[stays.person]
    return dataclasses.replace(stays, start=start).take(keep)


# --- Where in space ------------------------------------------------------------------------------


def _place(
    pop: Population,
    facts: PersonFacts,
    stays: Stays,
    places: HospitalEras,
    rng: np.random.Generator,
) -> Stays:
    """The hospital follows the municipality of residence on the day the stay starts."""
    day = (stays.start // DAY).astype("datetime64[D]")
    municipality = pop.municipality_on(stays.person, day)
    at_entry = pop.municipality_on(stays.person, facts.entry[stays.person].astype("datetime64[D]"))
    municipality = np.where(municipality > 0, municipality, at_entry)
    hospital = places.choose(municipality, stays.u_hospital, day)
    transfer = places.transfer_target(hospital, rng.random(len(stays)), day)
    return dataclasses.replace(stays, hospital=hospital, transfer_hospital=transfer)
