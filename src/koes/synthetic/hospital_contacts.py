"""Hospital contacts cut from stays, and turning their index arrays into Arrow columns.

Each stay's contact plan (:mod:`koes.synthetic.hospital_timeline`) becomes rows: contacts are
sorted by person and start and numbered with globally unique keys (dw_ek_kontakt). The
responsible specialty is the reason's, except that children are seen by paediatrics or child and
adolescent psychiatry and emergency contacts belong to emergency medicine.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from koes.synthetic.context import ChunkContext
from koes.synthetic.hospital_reasons import PSYCHIATRIC_SPECIALTY, REASON_SPECIALTY, SPECIALTIES, SPECIALTY_INDEX
from koes.synthetic.hospital_stays import Stays
from koes.synthetic.hospital_timeline import DAY, Role

Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]

KONTAKTTYPER = ("ALCA00", "ALCA03", "ALCA10")
PHYSICAL, VIRTUAL, HOME_VISIT = 0, 1, 2
CHILD_FROM_PAEDIATRICS = 15
ADULT_PSYCHIATRY_FROM = 18

# Somatic specialties whose patients under 15 are seen by paediatrics instead.
_MEDICAL_SPECIALTIES = frozenset(
    {
        "intern_medicin",
        "lungesygdomme",
        "kardiologi",
        "gastroenterologi",
        "endokrinologi",
        "nefrologi",
        "neurologi",
        "geriatri",
        "reumatologi",
    }
)
_MEDICAL: Bools = np.array([s in _MEDICAL_SPECIALTIES for s in SPECIALTIES])


@dataclass(frozen=True)
class Contacts:
    """Contacts cut from stays, sorted by person and start time, with their keys."""

    stay: Ints
    slot: Ints
    role: Ints
    start: Ints  # seconds
    end: Ints
    hospital: Ints
    specialty: Ints
    kont_type: Ints
    key: Ints  # dw_ek_kontakt

    def __len__(self) -> int:
        return len(self.stay)

    @property
    def psychiatric(self) -> Bools:
        return PSYCHIATRIC_SPECIALTY[self.specialty]

    @classmethod
    def of(cls, stays: Stays, ctx: ChunkContext) -> Contacts:
        n_contacts = (stays.roles >= 0).sum(axis=1)
        stay = np.repeat(np.arange(len(stays)), n_contacts)
        first = np.repeat(np.cumsum(n_contacts) - n_contacts, n_contacts)
        slot = np.arange(len(stay)) - first
        start = stays.start[stay] + stays.offsets[stay, slot, 0]
        order = stable_group_order(stays.person[stay], start)
        stay, slot, start = stay[order], slot[order], start[order]
        role = stays.roles[stay, slot]
        end = stays.start[stay] + stays.offsets[stay, slot, 1]
        transferred = role == Role.WARD_AFTER_TRANSFER
        hospital = np.where(transferred, stays.transfer_hospital[stay], stays.hospital[stay])
        kont_type = np.select(
            [role == Role.VIRTUAL, stays.home_visit[stay] & (role == Role.CLINIC)],
            [VIRTUAL, HOME_VISIT],
            PHYSICAL,
        )
        specialty = _specialty(role, stays.reason[stay], stays.age[stay])
        key = ctx.ids.allocate("kontakt", len(stay))
        return cls(stay, slot, role, start, end, hospital, specialty, kont_type, key)


def _specialty(role: Ints, reason: Ints, age: Ints) -> Ints:
    """Responsible specialty: the reason's, with children to paediatrics or child psychiatry
    and emergency contacts to emergency medicine."""
    base = REASON_SPECIALTY[reason]
    psychiatric = PSYCHIATRIC_SPECIALTY[base]
    psychiatry = np.where(
        age < ADULT_PSYCHIATRY_FROM,
        SPECIALTY_INDEX["boerne_ungdomspsykiatri"],
        SPECIALTY_INDEX["psykiatri"],
    )
    paediatrics = SPECIALTY_INDEX["paediatri"]
    child = (age < CHILD_FROM_PAEDIATRICS) & _MEDICAL[base]
    specialty = np.where(psychiatric, psychiatry, np.where(child, paediatrics, base))
    emergency = np.isin(role, (Role.EMERGENCY_BEFORE_ADMISSION, Role.EMERGENCY_VISIT))
    to_emergency = emergency & ~psychiatric & (specialty != paediatrics)
    return np.where(to_emergency, SPECIALTY_INDEX["akutmedicin"], specialty).astype(np.int64)


def arrow_strings(vocabulary: tuple[str, ...], idx: Ints) -> pa.Array:
    return pa.array(vocabulary, pa.string()).take(pa.array(idx, pa.int64()))


def arrow_timestamps(seconds: Ints) -> pa.Array:
    return pa.array(seconds.astype("datetime64[s]"))


def arrow_dates(seconds: Ints, null: Bools | None = None) -> pa.Array:
    days = (seconds // DAY).astype("datetime64[D]")
    return pa.array(days, pa.date32(), mask=null)


def stable_group_order(*columns: Ints) -> Ints:
    """Stable sort order by the columns (first = most significant), as one integer sort when the
    columns' ranges fit in 62 bits (they always do for a chunk), else by lexsort."""
    if len(columns[0]) == 0:
        return np.zeros(0, dtype=np.int64)
    lows = [int(c.min()) for c in columns]
    spans = [int(c.max()) - low + 1 for c, low in zip(columns, lows, strict=True)]
    if np.prod(np.array(spans, dtype=np.float64)) >= 2.0**62:
        return np.lexsort(columns[::-1])
    key = np.zeros(len(columns[0]), dtype=np.int64)
    for c, low, span in zip(columns, lows, spans, strict=True):
        key = key * span + (c - low)
    return np.argsort(key, kind="stable")
