"""Clinical coding of contacts: diagnoses (A and B), procedures and DRG groups with tariffs.

* every contact has one A diagnosis, the stay's action diagnosis, and 0–3 B diagnoses: the
  person's chronic conditions (their own codes) and other common comorbidity;
* the ward contact of admissions for reasons with surgery or other procedures carries them, as
  does a reason-given share of outpatient visits; the first procedure is "P", further ones "+";
* every somatic contact is DRG-grouped (psychiatry is not): the ward contact of an admission gets
  the inpatient group, the emergency contact before it an emergency group, visits an outpatient
  group (a procedure group when a procedure was done), virtual contacts a virtual group.
  Tariffs are indexed +2 %/year from the first year of the period.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from koes.synthetic.hospital_catalog import (
    DISPROVED_SHARE,
    DRG_AFTER_TRANSFER,
    DRG_EMERGENCY,
    DRG_EMERGENCY_BEFORE_ADMISSION,
    DRG_HOME_VISIT,
    DRG_VIRTUAL,
    DRG_VIRTUAL_COMPLEX_SHARE,
    OTHER_SECONDARY_CODES_ADULT,
    OTHER_SECONDARY_CODES_CHILD,
    PROCEDURE_ADDONS,
    SECONDARY_ADULT_FROM,
    TARIFF_INDEX_PER_YEAR,
)
from koes.synthetic.hospital_contacts import (
    HOME_VISIT,
    Contacts,
    arrow_strings,
    arrow_timestamps,
    stable_group_order,
)
from koes.synthetic.hospital_reasons import (
    CANCER_SURGERY_BY_CODE,
    CODE_INDEX,
    CODES,
    DRG_CODES,
    DRG_INDEX,
    DRG_TARIFF,
    PROCEDURE_INDEX,
    PROCEDURES,
    REASON_DRG_INPATIENT,
    REASON_DRG_OUTPATIENT,
    REASON_DRG_PROCEDURE,
    REASON_PROCEDURE_SHARE,
    REASON_PROCEDURES,
)
from koes.synthetic.hospital_stays import Stays
from koes.synthetic.hospital_timeline import HOUR, Role

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]

JA_NEJ = ("Nej", "Ja")

# Chance that a contact lists each of the person's chronic conditions, and how many other
# secondary diagnoses it has (probabilities of 0, 1, 2), by role.
_CHRONIC_LISTED = {
    Role.EMERGENCY_BEFORE_ADMISSION: 0.4,
    Role.WARD: 0.75,
    Role.WARD_AFTER_TRANSFER: 0.75,
    Role.EMERGENCY_VISIT: 0.35,
    Role.CLINIC: 0.45,
    Role.VIRTUAL: 0.2,
}
_OTHER_SECONDARY = {
    Role.EMERGENCY_BEFORE_ADMISSION: (0.4, 0.4, 0.2),
    Role.WARD: (0.1, 0.4, 0.5),
    Role.WARD_AFTER_TRANSFER: (0.15, 0.4, 0.45),
    Role.EMERGENCY_VISIT: (0.3, 0.4, 0.3),
    Role.CLINIC: (0.25, 0.45, 0.3),
    Role.VIRTUAL: (0.6, 0.3, 0.1),
}
MAX_SECONDARY = 3
_CHILD_POOL = np.array([CODE_INDEX[c] for c in OTHER_SECONDARY_CODES_CHILD], dtype=np.int64)
_ADULT_POOL = np.array([CODE_INDEX[c] for c in OTHER_SECONDARY_CODES_ADULT], dtype=np.int64)

# Number of additional procedure codes (0, 1, 2) after the primary one.
ADDITIONAL_PROCEDURES_WARD = (0.3, 0.4, 0.3)
ADDITIONAL_PROCEDURES_VISIT = (0.7, 0.3, 0.0)
_ADDONS = np.array([PROCEDURE_INDEX[p] for p in PROCEDURE_ADDONS], dtype=np.int64)


def diagnoses(rng: np.random.Generator, stays: Stays, contacts: Contacts, person_codes: Ints) -> pa.Table:
    """One A diagnosis per contact (the stay's action diagnosis) plus up to three B diagnoses."""
    n = len(contacts)
    adiag = stays.code[contacts.stay]
    b_contact, b_code = _secondary_diagnoses(rng, stays, contacts, person_codes, adiag)
    contact = np.concatenate([np.arange(n), b_contact])
    code = np.concatenate([adiag, b_code])
    b_type = np.r_[np.zeros(n, dtype=np.int64), np.ones(len(b_contact), dtype=np.int64)]
    disproved = (b_type == 1) & (rng.random(len(contact)) < DISPROVED_SHARE)
    order = stable_group_order(contact, b_type)
    return pa.table(
        {
            "dw_ek_kontakt": pa.array(contacts.key[contact[order]], pa.int64()),
            "diag_kode": arrow_strings(CODES, code[order]),
            "diag_kode_type": arrow_strings(("A", "B"), b_type[order]),
            "senere_afkraeftet": arrow_strings(JA_NEJ, disproved[order].astype(np.int64)),
        }
    )


def _secondary_diagnoses(
    rng: np.random.Generator, stays: Stays, contacts: Contacts, person_codes: Ints, adiag: Ints
) -> tuple[Ints, Ints]:
    """(contact, code) of B diagnoses: the person's chronic conditions that the contact lists
    first, then other comorbidity; never the action diagnosis again, never a code twice, at most
    three per contact."""
    n = len(contacts)
    own = person_codes[stays.person[contacts.stay]]
    listed = _by_role(contacts.role, _CHRONIC_LISTED)
    parts: list[tuple[Ints, Ints, Ints]] = []
    for j in range(own.shape[1]):
        sel = np.flatnonzero((own[:, j] >= 0) & (rng.random(n) < listed))
        parts.append((sel, own[sel, j], np.zeros(len(sel), dtype=np.int64)))
    others = _other_count(rng, contacts.role)
    child = stays.age[contacts.stay] < SECONDARY_ADULT_FROM
    for rank in (1, 2):
        sel = np.flatnonzero(others >= rank)
        pick_child = _CHILD_POOL[rng.integers(0, len(_CHILD_POOL), len(sel))]
        pick_adult = _ADULT_POOL[rng.integers(0, len(_ADULT_POOL), len(sel))]
        parts.append((sel, np.where(child[sel], pick_child, pick_adult), np.full(len(sel), rank)))
    contact, code, rank_ = (np.concatenate([p[k] for p in parts]).astype(np.int64) for k in range(3))
    keep = code != adiag[contact]
    contact, code, rank_ = contact[keep], code[keep], rank_[keep]
    # Unique (contact, code), keeping the first-ranked; then the first three per contact.
    order = stable_group_order(contact, code, rank_)
    contact, code, rank_ = contact[order], code[order], rank_[order]
    first = np.r_[True, (contact[1:] != contact[:-1]) | (code[1:] != code[:-1])]
    contact, code, rank_ = contact[first], code[first], rank_[first]
    order = stable_group_order(contact, rank_)
    contact, code = contact[order], code[order]
    within = np.arange(len(contact)) - np.searchsorted(contact, contact)
    return contact[within < MAX_SECONDARY], code[within < MAX_SECONDARY]


def _by_role(role: Ints, values: dict[Role, float]) -> Floats:
    table = np.zeros(len(Role))
    for r, v in values.items():
        table[r] = v
    return np.asarray(table[role], dtype=np.float64)


def _other_count(rng: np.random.Generator, role: Ints) -> Ints:
    cum = np.zeros((len(Role), 3))
    for r, probs in _OTHER_SECONDARY.items():
        cum[r] = np.cumsum(probs)
    u = rng.random(len(role))
    return np.asarray((u[:, None] >= cum[role][:, :2]).sum(axis=1), dtype=np.int64)


def contacts_with_procedure(rng: np.random.Generator, stays: Stays, contacts: Contacts) -> Bools:
    """Contacts with procedures: the ward contact of admissions for reasons with surgery or
    other procedures, and a reason-given share of outpatient visits (not home visits)."""
    reason = stays.reason[contacts.stay]
    has_candidates = REASON_PROCEDURES[2][reason] > 0
    on_ward = contacts.role == Role.WARD
    visit = np.isin(contacts.role, (Role.CLINIC, Role.EMERGENCY_VISIT))
    visit_p = REASON_PROCEDURE_SHARE[reason]
    done = has_candidates & (on_ward | (visit & (rng.random(len(contacts)) < visit_p)))
    return np.asarray(done & (contacts.kont_type != HOME_VISIT), dtype=bool)


def procedures(rng: np.random.Generator, stays: Stays, contacts: Contacts, with_procedure: Bools) -> pa.Table:
    """The first procedure of a contact is type "P", 0–2 additional codes follow as "+"."""
    s = contacts.stay
    reason = stays.reason[s]
    flat, starts, counts = REASON_PROCEDURES
    on_ward = contacts.role == Role.WARD
    idx = np.flatnonzero(with_procedure)
    r = reason[idx]
    pick = starts[r] + np.floor(rng.random(len(idx)) * counts[r]).astype(np.int64)
    primary = flat[np.minimum(pick, len(flat) - 1)]
    site_surgery = CANCER_SURGERY_BY_CODE[stays.code[s[idx]]]
    primary = np.where(on_ward[idx] & (site_surgery >= 0), site_surgery, primary)
    n_add = np.where(
        on_ward[idx],
        rng.choice(3, size=len(idx), p=ADDITIONAL_PROCEDURES_WARD),
        rng.choice(3, size=len(idx), p=ADDITIONAL_PROCEDURES_VISIT),
    )
    addons = _ADDONS
    # Two different additional codes: the second is a non-zero step away from the first.
    a1 = rng.integers(0, len(addons), len(idx))
    a2 = (a1 + 1 + rng.integers(0, len(addons) - 1, len(idx))) % len(addons)
    start, end = contacts.start[idx], contacts.end[idx]
    window = np.minimum(end - start, 36 * HOUR)
    when = start + (rng.random(len(idx)) * window).astype(np.int64)
    later = np.minimum(when + (rng.random(len(idx)) * HOUR).astype(np.int64), end)
    rows_contact = np.concatenate([idx, idx[n_add >= 1], idx[n_add >= 2]])
    rows_code = np.concatenate([primary, addons[a1][n_add >= 1], addons[a2][n_add >= 2]])
    rows_type = np.r_[np.zeros(len(idx)), np.ones(int((n_add >= 1).sum()) + int((n_add >= 2).sum()))]
    rows_when = np.concatenate([when, later[n_add >= 1], later[n_add >= 2]])
    order = stable_group_order(rows_contact, rows_type.astype(np.int64))
    return pa.table(
        {
            "dw_ek_kontakt": pa.array(contacts.key[rows_contact[order]], pa.int64()),
            "procedurekode": arrow_strings(PROCEDURES, rows_code[order]),
            "proceduretype": arrow_strings(("P", "+"), rows_type[order].astype(np.int64)),
            "dato_start": arrow_timestamps(rows_when[order]),
        }
    )


def drg(
    rng: np.random.Generator,
    stays: Stays,
    contacts: Contacts,
    with_procedure: Bools,
    first_year: int,
) -> pa.Table:
    """DRG group and tariff of every somatic contact, indexed +2 %/year from the first year."""
    somatic = np.flatnonzero(~contacts.psychiatric)
    role = contacts.role[somatic]
    reason = stays.reason[contacts.stay[somatic]]
    virtual = np.where(
        rng.random(len(somatic)) < DRG_VIRTUAL_COMPLEX_SHARE,
        DRG_INDEX[DRG_VIRTUAL[1]],
        DRG_INDEX[DRG_VIRTUAL[0]],
    )
    group = np.select(
        [
            role == Role.EMERGENCY_BEFORE_ADMISSION,
            role == Role.WARD,
            role == Role.WARD_AFTER_TRANSFER,
            role == Role.EMERGENCY_VISIT,
            role == Role.VIRTUAL,
            contacts.kont_type[somatic] == HOME_VISIT,
        ],
        [
            DRG_INDEX[DRG_EMERGENCY_BEFORE_ADMISSION],
            REASON_DRG_INPATIENT[reason],
            DRG_INDEX[DRG_AFTER_TRANSFER],
            DRG_INDEX[DRG_EMERGENCY],
            virtual,
            DRG_INDEX[DRG_HOME_VISIT],
        ],
        REASON_DRG_OUTPATIENT[reason],
    )
    procedure_visit = with_procedure[somatic] & (role == Role.CLINIC)
    group = np.where(procedure_visit, REASON_DRG_PROCEDURE[reason], group)
    year = contacts.start[somatic].astype("datetime64[s]").astype("datetime64[Y]").astype(np.int64) + 1970
    tariff = np.round(DRG_TARIFF[group] * (1 + TARIFF_INDEX_PER_YEAR) ** (year - first_year))
    return pa.table(
        {
            "dw_ek_kontakt": pa.array(contacts.key[somatic], pa.int64()),
            "drg_kode": arrow_strings(DRG_CODES, group),
            "takst": pa.array(tariff, pa.float64()),
            "takst_aar": pa.array(year, pa.int64()),
        }
    )
