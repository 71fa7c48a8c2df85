"""LPR3 hospital contacts, course elements, diagnoses, procedures, DRG and discharge-ready periods.

Generation runs stay-first (domain-notes §1.4, §2.2): :mod:`koes.synthetic.hospital_stays` draws
each person's hospital stays — acute and planned admissions, births, emergency and planned
outpatient visits, psychiatry, 30-day readmissions, admissions that end in death and virtual
follow-ups — and this module cuts them into the contacts LPR3 reports and derives the rest:

* ``lpr_kontakter`` — one row per contact; an admission is usually an emergency contact followed
  by a ward contact (and sometimes a transferred ward contact); all contacts of a stay share its
  priority and action diagnosis, so the warehouse can take the stay's diagnosis from any of them.
* ``lpr_forloebselementer`` — contacts grouped by person, course label and hospital (each acute
  course on its own), so repeated visits for one condition share a course element.
* ``lpr_diagnoser`` — one A diagnosis per contact (= adiag) and 0–3 B diagnoses (the person's
  chronic conditions and other common comorbidity).
* ``lpr_procedurer`` — surgery on planned and surgical admissions, scans, endoscopies, chemo etc.
  on some outpatient contacts; the first is type "P", further ones "+".
* ``drg_kontakter`` — every somatic contact grouped (psychiatry is not DRG-grouped).
* ``faerdigbehandlede`` — discharge-ready periods at the end of some admissions.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from koes.synthetic.context import ChunkContext
from koes.synthetic.hospital_coding import contacts_with_procedure, diagnoses, drg, procedures
from koes.synthetic.hospital_contacts import (
    KONTAKTTYPER,
    Contacts,
    arrow_dates,
    arrow_strings,
    arrow_timestamps,
    stable_group_order,
)
from koes.synthetic.hospital_places import HospitalEras
from koes.synthetic.hospital_reasons import (
    CHRONIC_LABELS,
    CODES,
    FORLOEBSLABELS,
    LABEL_ACUTE,
    LABEL_OTHER,
    REASON_LABEL,
    SPECIALTIES,
)
from koes.synthetic.hospital_stays import Stays, generate_stays
from koes.synthetic.hospital_timeline import DAY
from koes.synthetic.population import Population

Ints = npt.NDArray[np.int64]

PRIORITETER = ("ATA1", "ATA3")
SEKTORER = ("somatik", "psykiatri")

OPEN_COURSE_SHARE = 0.5  # chronic courses still open at the end of the period
OPEN_COURSE_RECENT_DAYS = 180  # … if their last contact was this recent


def generate_hospital(pop: Population, ctx: ChunkContext) -> dict[str, pa.Table]:
    """The LPR3, DRG and færdigbehandlede extracts of one chunk's population."""
    places = HospitalEras.of(ctx.refdata)
    stays, person_codes = generate_stays(pop, ctx, places)
    contacts = Contacts.of(stays, ctx)
    rng = ctx.rng("hospital.details")
    pnr = pa.array(pop.pnr, pa.string())
    forloeb, courses = _courses(rng, stays, contacts, ctx, pnr, places)
    with_procedure = contacts_with_procedure(rng, stays, contacts)
    return {
        "lpr_forloebselementer": courses,
        "lpr_kontakter": _contact_table(stays, contacts, forloeb, pnr, places),
        "lpr_diagnoser": diagnoses(rng, stays, contacts, person_codes),
        "lpr_procedurer": procedures(rng, stays, contacts, with_procedure),
        "drg_kontakter": drg(rng, stays, contacts, with_procedure, ctx.start.year),
        "faerdigbehandlede": _discharge_ready(stays, contacts, pnr),
    }


# --- Tables ---------------------------------------------------------------------------------------


def _courses(
    rng: np.random.Generator,
    stays: Stays,
    contacts: Contacts,
    ctx: ChunkContext,
    pnr: pa.Array,
    places: HospitalEras,
) -> tuple[Ints, pa.Table]:
    """Course elements: one per person, label and hospital; acute courses (AFA06) one per stay.
    Returns each contact's course key and the table."""
    person = stays.person[contacts.stay]
    label = REASON_LABEL[stays.reason[contacts.stay]]
    label = np.where(label >= 0, label, np.where(stays.acute[contacts.stay], LABEL_ACUTE, LABEL_OTHER))
    own = np.where(label == LABEL_ACUTE, contacts.stay, -1)
    # Contacts are sorted by person and start, so a stable sort keeps each course's in time order.
    order = stable_group_order(person, label, contacts.hospital, own)
    keys = (person[order], label[order], contacts.hospital[order], own[order])
    new = np.ones(len(order), dtype=bool)
    new[1:] = np.any([k[1:] != k[:-1] for k in keys], axis=0)
    group_sorted = np.cumsum(new) - 1
    n = int(new.sum())
    ids = ctx.ids.allocate("forloeb", n)
    course = np.empty(len(order), dtype=np.int64)
    course[order] = group_sorted
    first = np.flatnonzero(new)
    last_end = np.maximum.reduceat(contacts.end[order], first) if n else np.zeros(0, dtype=np.int64)
    first_start = contacts.start[order][first]
    period_end = int(ctx.end64.astype(np.int64))
    recent = last_end // DAY >= period_end - OPEN_COURSE_RECENT_DAYS
    c_label = label[order][first]
    still_open = CHRONIC_LABELS[c_label] & recent & (rng.random(n) < OPEN_COURSE_SHARE)
    table = pa.table(
        {
            "dw_ek_forloeb": pa.array(ids, pa.int64()),
            "pnr": pnr.take(pa.array(person[order][first], pa.int64())),
            "forloebslabel": arrow_strings(FORLOEBSLABELS, c_label),
            "ansvarlig_inst": arrow_strings(places.ids, contacts.hospital[order][first]),
            "dato_start": arrow_dates(first_start),
            "dato_slut": arrow_dates(last_end, null=still_open),
        }
    )
    return ids[course], table


def _contact_table(stays: Stays, contacts: Contacts, forloeb: Ints, pnr: pa.Array, places: HospitalEras) -> pa.Table:
    s = contacts.stay
    return pa.table(
        {
            "dw_ek_kontakt": pa.array(contacts.key, pa.int64()),
            "dw_ek_forloeb": pa.array(forloeb, pa.int64()),
            "pnr": pnr.take(pa.array(stays.person[s], pa.int64())),
            "kont_starttidspunkt": arrow_timestamps(contacts.start),
            "kont_sluttidspunkt": arrow_timestamps(contacts.end),
            "kont_type": arrow_strings(KONTAKTTYPER, contacts.kont_type),
            "prioritet": arrow_strings(PRIORITETER, np.where(stays.acute[s], 0, 1)),
            "adiag": arrow_strings(CODES, stays.code[s]),
            "kont_ans_hovedspec": arrow_strings(SPECIALTIES, contacts.specialty),
            "kont_ans_inst": arrow_strings(places.ids, contacts.hospital),
        }
    )


def _discharge_ready(stays: Stays, contacts: Contacts, pnr: pa.Array) -> pa.Table:
    """A discharge-ready period ends each admission drawn with one: from fra_dato to the
    discharge date, on the admission's last (ward) contact."""
    n_contacts = (stays.roles >= 0).sum(axis=1)
    last = contacts.slot == n_contacts[contacts.stay] - 1
    ready = last & (stays.ready_days[contacts.stay] > 0)
    idx = np.flatnonzero(ready)
    s = contacts.stay[idx]
    discharge = contacts.end[idx] // DAY
    admitted = stays.start[s] // DAY
    days = np.minimum(stays.ready_days[s], discharge - admitted)
    idx, s, discharge, days = idx[days >= 1], s[days >= 1], discharge[days >= 1], days[days >= 1]
    psychiatric = contacts.psychiatric[idx]
    return pa.table(
        {
            "pnr": pnr.take(pa.array(stays.person[s], pa.int64())),
            "dw_ek_kontakt": pa.array(contacts.key[idx], pa.int64()),
            "sektor": arrow_strings(SEKTORER, psychiatric.astype(np.int64)),
            "fra_dato": arrow_dates((discharge - days) * DAY),
            "til_dato": arrow_dates(discharge * DAY),
        }
    )
