"""Hospital figures from the LPR3, DRG and færdigbehandlede extracts, by the eSundhed rules.

Stays couple a person's physical contacts (ALCA00, ALCA10) that overlap or start at most 4 hours
after the latest end so far; an admission is a stay of at least 12 hours, acute when its first
contact is ATA1. A stay's sector and action diagnosis are those of its longest contact; bed days
are calendar days from admission to discharge, at least 1. Stays count in the year they start,
except discharges (and their bed days), which count in the year they end, as SDS counts them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from koes.domain.codelists import HOVEDSPECIALE
from koes.domain.preventable import MIN_AGE, preventable_group
from koes.synthetic.tally import Persons, Tally, days_of, in_set, integers, strings, year_of
from koes.synthetic.tally_cofinancing import Cofinancing

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]

COUPLING_GAP_SECONDS = 4 * 3600
ADMISSION_SECONDS = 12 * 3600
DAY_SECONDS = 86_400
PHYSICAL_CONTACT_TYPES = ("ALCA00", "ALCA10")
ACUTE = "ATA1"
PSYCHIATRIC_SPECIALTIES = HOVEDSPECIALE.where(sector="psykiatri")
SYMPTOM_CHAPTERS = ("DR", "DZ")  # symptoms and findings; contact for observation or other reasons

CONTACT_COLUMNS = [
    "dw_ek_kontakt",
    "pnr",
    "kont_starttidspunkt",
    "kont_sluttidspunkt",
    "kont_type",
    "prioritet",
    "adiag",
    "kont_ans_hovedspec",
]


def couple_stays(person: Ints, start: Ints, end: Ints) -> Ints:
    """Stay number of each physical contact (inputs sorted by person, then start; seconds).

    A contact opens a new stay when it starts more than 4 hours after the latest end so far in
    the person's current stay; overlapping or close contacts join it.
    """
    if len(person) == 0:
        return np.zeros(0, dtype=np.int64)
    # Offsetting each person's times by a large multiple makes one running maximum per person.
    offset = (np.r_[0, np.cumsum(person[1:] != person[:-1])]).astype(np.int64) * (1 << 40)
    running_end = np.maximum.accumulate(end + offset)
    new_stay = np.ones(len(person), dtype=bool)
    new_stay[1:] = (start[1:] + offset[1:]) > running_end[:-1] + COUPLING_GAP_SECONDS
    return np.cumsum(new_stay) - 1


@dataclass(frozen=True)
class _Contacts:
    key: Ints
    person: Ints
    start: Ints  # seconds
    end: Ints
    physical: Bools
    acute: Bools
    psychiatric: Bools
    adiag: npt.NDArray[np.str_]
    drg: Floats  # DRG tariff, 0 where not grouped

    @classmethod
    def of(cls, persons: Persons, contacts: pa.Table, drg: pa.Table) -> _Contacts:
        key = integers(contacts["dw_ek_kontakt"])
        drg_pos = pc.index_in(contacts["dw_ek_kontakt"], value_set=drg["dw_ek_kontakt"].combine_chunks())
        takst = pc.fill_null(pc.take(drg["takst"].combine_chunks(), drg_pos), 0.0)
        return cls(
            key=key,
            person=persons.index(contacts["pnr"]),
            start=integers(contacts["kont_starttidspunkt"]),
            end=integers(contacts["kont_sluttidspunkt"]),
            physical=in_set(contacts["kont_type"], PHYSICAL_CONTACT_TYPES),
            acute=in_set(contacts["prioritet"], (ACUTE,)),
            psychiatric=in_set(contacts["kont_ans_hovedspec"], PSYCHIATRIC_SPECIALTIES),
            adiag=strings(contacts["adiag"]),
            drg=np.asarray(takst.to_numpy(zero_copy_only=False), dtype=np.float64),
        )

    def take(self, idx: Ints) -> _Contacts:
        return dataclasses.replace(self, **{f.name: getattr(self, f.name)[idx] for f in dataclasses.fields(self)})


@dataclass(frozen=True)
class _Stays:
    person: Ints
    start: Ints
    end: Ints
    admission: Bools
    acute: Bools
    psychiatric: Bools  # sector of the longest contact
    adiag: npt.NDArray[np.str_]
    drg: Floats  # DRG tariffs of the stay's somatic contacts
    any_psychiatric: Bools

    @property
    def bed_days(self) -> Ints:
        days = self.end // DAY_SECONDS - self.start // DAY_SECONDS
        return np.where(self.admission, np.maximum(days, 1), 0)

    @classmethod
    def of(cls, c: _Contacts) -> _Stays:
        c = c.take(np.lexsort((c.key, c.start, c.person)))
        stay = couple_stays(c.person, c.start, c.end)
        first = np.flatnonzero(np.r_[True, stay[1:] != stay[:-1]]) if len(stay) else np.zeros(0, np.int64)
        start = c.start[first]
        end = np.maximum.reduceat(c.end, first) if len(first) else np.zeros(0, np.int64)
        n = len(first)
        longest = np.lexsort((c.key, c.start, -(c.end - c.start), stay))
        head = longest[np.r_[True, stay[longest][1:] != stay[longest][:-1]]] if n else longest
        return cls(
            person=c.person[first],
            start=start,
            end=end,
            admission=(end - start) >= ADMISSION_SECONDS,
            acute=c.acute[first],
            psychiatric=c.psychiatric[head],
            adiag=c.adiag[head],
            drg=np.bincount(stay, weights=np.where(c.psychiatric, 0.0, c.drg), minlength=n).astype(np.float64),
            any_psychiatric=np.bincount(stay, weights=c.psychiatric, minlength=n) > 0,
        )


def add_hospital(
    tally: Tally,
    persons: Persons,
    contacts: pa.Table,
    drg: pa.Table,
    ready: pa.Table,
    cofinancing: Cofinancing,
) -> None:
    c = _Contacts.of(persons, contacts, drg)
    physical = c.take(np.flatnonzero(c.physical))
    stays = _Stays.of(physical)
    start_year = year_of(stays.start // DAY_SECONDS)
    _stay_counts(tally, persons, stays, start_year)
    _psychiatry(tally, physical, stays, start_year)
    _stay_cofinancing(tally, persons, stays, start_year, cofinancing)
    _virtual_cofinancing(tally, persons, c.take(np.flatnonzero(~c.physical)), cofinancing)
    _discharge_ready(tally, ready)


def _stay_counts(tally: Tally, persons: Persons, stays: _Stays, year: Ints) -> None:
    symptom = np.char.startswith(stays.adiag.astype(str), SYMPTOM_CHAPTERS[0]) | np.char.startswith(
        stays.adiag.astype(str), SYMPTOM_CHAPTERS[1]
    )
    tally.count("admissions", year[stays.admission])
    tally.count("outpatient_stays", year[~stays.admission])
    tally.count("admissions_symptom", year[stays.admission & symptom])
    tally.count("outpatient_symptom", year[~stays.admission & symptom])
    candidate = np.flatnonzero(stays.admission & stays.acute)
    age = persons.age_on(stays.person[candidate], stays.start[candidate] // DAY_SECONDS)
    grouped = np.fromiter(
        (preventable_group(code) is not None for code in stays.adiag[candidate].tolist()), bool, len(candidate)
    )
    tally.count("preventable_65", year[candidate[(age >= MIN_AGE) & grouped]])


def _psychiatry(tally: Tally, physical: _Contacts, stays: _Stays, year: Ints) -> None:
    psych = np.flatnonzero(physical.psychiatric)
    tally.distinct("psych_patients", year_of(physical.start[psych] // DAY_SECONDS), physical.person[psych])
    admitted = stays.admission & stays.psychiatric
    tally.count("psych_admissions", year[admitted])
    end_year = year_of(stays.end // DAY_SECONDS)
    tally.count("psych_discharges", end_year[admitted])
    tally.count("psych_bed_days", end_year[admitted], stays.bed_days[admitted])


def _stay_cofinancing(tally: Tally, persons: Persons, stays: _Stays, year: Ints, cof: Cofinancing) -> None:
    day = stays.start // DAY_SECONDS
    age = persons.age_on(stays.person, day)
    bed_day = cof.psychiatric_tariff("sengedag", year) * stays.bed_days
    visit = cof.psychiatric_tariff("besoeg", year)
    value = stays.drg + np.where(stays.any_psychiatric, np.where(stays.admission, bed_day, visit), 0.0)
    for psychiatric, name in ((False, "kmf_somatic"), (True, "kmf_psychiatric")):
        for admitted, kind in ((True, "indlagt"), (False, "ambulant")):
            sel = np.flatnonzero((stays.psychiatric == psychiatric) & (stays.admission == admitted))
            sector = f"{'psykiatri' if psychiatric else 'somatik'}_{kind}"
            tally.count(name, year[sel], cof.amount(sector, day[sel], age[sel], value[sel]))


def _virtual_cofinancing(tally: Tally, persons: Persons, virtual: _Contacts, cof: Cofinancing) -> None:
    """A virtual contact is its own outpatient visit (the warehouse's rule)."""
    day = virtual.start // DAY_SECONDS
    year = year_of(day)
    age = persons.age_on(virtual.person, day)
    value = np.where(virtual.psychiatric, cof.psychiatric_tariff("besoeg", year), virtual.drg)
    for psychiatric, name, sector in ((False, "kmf_somatic", "somatik"), (True, "kmf_psychiatric", "psykiatri")):
        sel = np.flatnonzero(virtual.psychiatric == psychiatric)
        tally.count(name, year[sel], cof.amount(f"{sector}_ambulant", day[sel], age[sel], value[sel]))


def _discharge_ready(tally: Tally, ready: pa.Table) -> None:
    """Psychiatric discharge-ready days in each year they fall in; periods by their last year."""
    psych = in_set(ready["sektor"], ("psykiatri",))
    fra, til = days_of(ready["fra_dato"])[psych], days_of(ready["til_dato"])[psych]
    for year in tally.years:
        y0 = int(np.datetime64(f"{year}-01-01", "D").astype(np.int64))
        y1 = int(np.datetime64(f"{year + 1}-01-01", "D").astype(np.int64))
        tally.put("psych_ready_days", year, float(np.clip(np.minimum(til, y1) - np.maximum(fra, y0), 0, None).sum()))
    tally.count("psych_ready_periods", year_of(til - 1))
