"""Index tables over the hospital catalogue, and drawing reasons and diagnoses for stays.

The catalogue (:mod:`koes.synthetic.hospital_catalog`) is written for people; this module turns
it into arrays once at import, so the generator can draw reasons and codes for hundreds of
thousands of stays with a handful of vectorised operations.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from koes.domain.codelists import HOVEDSPECIALE
from koes.synthetic.hospital_catalog import (
    CANCER_SURGERY,
    CONDITIONS,
    DRG_GROUPS,
    MIX_AGES,
    OTHER_SECONDARY_CODES_ADULT,
    OTHER_SECONDARY_CODES_CHILD,
    PERSON_CODES,
    PROCEDURE_ADDONS,
    REASONS,
    StayKind,
)

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]

# --- Vocabularies: every code is an index into one of these tuples until the table is built.

CODES: tuple[str, ...] = tuple(
    sorted(
        {c for r in REASONS for c in r.codes}
        | {code for options in PERSON_CODES.values() for code, _, _ in options}
        | set(OTHER_SECONDARY_CODES_ADULT)
        | set(OTHER_SECONDARY_CODES_CHILD)
    )
)
CODE_INDEX: dict[str, int] = {c: i for i, c in enumerate(CODES)}

PROCEDURES: tuple[str, ...] = tuple(
    sorted({p for r in REASONS for p in r.procedures} | set(CANCER_SURGERY.values()) | set(PROCEDURE_ADDONS))
)
PROCEDURE_INDEX: dict[str, int] = {p: i for i, p in enumerate(PROCEDURES)}

SPECIALTIES: tuple[str, ...] = HOVEDSPECIALE.values
SPECIALTY_INDEX: dict[str, int] = {s: i for i, s in enumerate(SPECIALTIES)}
PSYCHIATRIC_SPECIALTY: Bools = np.array([HOVEDSPECIALE.get(s).attrs.get("sector") == "psykiatri" for s in SPECIALTIES])

DRG_CODES: tuple[str, ...] = tuple(g.code for g in DRG_GROUPS)
DRG_INDEX: dict[str, int] = {g: i for i, g in enumerate(DRG_CODES)}
DRG_TARIFF: Floats = np.array([g.tariff for g in DRG_GROUPS], dtype=np.float64)

REASON_INDEX: dict[str, int] = {r.key: i for i, r in enumerate(REASONS)}
CONDITION_INDEX: dict[str, int] = {c: i for i, c in enumerate(CONDITIONS)}


def _index_array(values: list[int]) -> Ints:
    return np.array(values, dtype=np.int64)


# Per-reason attributes as arrays (index = reason number).
REASON_SPECIALTY = _index_array([SPECIALTY_INDEX[r.specialty] for r in REASONS])
REASON_PSYCHIATRIC: Bools = PSYCHIATRIC_SPECIALTY[REASON_SPECIALTY]
REASON_LOS_DAYS: Floats = np.array([r.los_days for r in REASONS], dtype=np.float64)
REASON_DRG_INPATIENT = _index_array([DRG_INDEX[r.drg_inpatient] for r in REASONS])
REASON_DRG_OUTPATIENT = _index_array([DRG_INDEX[r.drg_outpatient] for r in REASONS])
REASON_DRG_PROCEDURE = _index_array([DRG_INDEX[r.drg_procedure or r.drg_outpatient] for r in REASONS])
REASON_PROCEDURE_SHARE: Floats = np.array([r.outpatient_procedure_share for r in REASONS], dtype=np.float64)
REASON_PERSON_CONDITION = _index_array([CONDITION_INDEX[r.person_code] if r.person_code else -1 for r in REASONS])
REASON_SEX = _index_array([r.sex or 0 for r in REASONS])


def _flat(lists: list[list[int]]) -> tuple[Ints, Ints, Ints]:
    """Ragged lists as (flat values, start of each list, length of each list)."""
    counts = _index_array([len(x) for x in lists])
    starts = np.r_[0, np.cumsum(counts)[:-1]].astype(np.int64)
    flat = _index_array([v for x in lists for v in x])
    return flat, starts, counts


_REASON_CODES = _flat([[CODE_INDEX[c] for c in r.codes] for r in REASONS])
REASON_PROCEDURES = _flat([[PROCEDURE_INDEX[p] for p in r.procedures] for r in REASONS])
CANCER_SURGERY_BY_CODE: Ints = np.full(len(CODES), -1, dtype=np.int64)
for _code, _proc in CANCER_SURGERY.items():
    CANCER_SURGERY_BY_CODE[CODE_INDEX[_code]] = PROCEDURE_INDEX[_proc]

FORLOEBSLABELS: tuple[str, ...] = ("AFA00", "AFA01", "AFA02", "AFA03", "AFA04", "AFA05", "AFA06", "AFA10")
LABEL_INDEX: dict[str, int] = {label: i for i, label in enumerate(FORLOEBSLABELS)}
LABEL_OTHER, LABEL_ACUTE = LABEL_INDEX["AFA00"], LABEL_INDEX["AFA06"]
REASON_LABEL = _index_array([LABEL_INDEX[r.label] if r.label else -1 for r in REASONS])
CHRONIC_LABELS: Bools = np.array([lab not in ("AFA00", "AFA06") for lab in FORLOEBSLABELS])


def mix_band(age: Ints) -> Ints:
    return (np.searchsorted(np.asarray(MIX_AGES), age, side="right") - 1).astype(np.int64)


def draw_person_codes(rng: np.random.Generator, sex: npt.NDArray[np.int8]) -> Ints:
    """Each person's own code per condition (persons × conditions): the cancer site, the
    psychiatric diagnosis, the diabetes type … a person keeps in every contact."""
    n = len(sex)
    out = np.zeros((n, len(CONDITIONS)), dtype=np.int64)
    female = sex == 2
    for j, condition in enumerate(CONDITIONS):
        options = PERSON_CODES[condition]
        codes = _index_array([CODE_INDEX[c] for c, _, _ in options])
        for is_female, column in ((False, 1), (True, 2)):
            w = np.array([opt[column] for opt in options], dtype=np.float64)
            sel = np.flatnonzero(female == is_female)
            out[sel, j] = codes[rng.choice(len(codes), size=len(sel), p=w / w.sum())]
    return out


def draw_codes(rng: np.random.Generator, reason: Ints, person_codes: Ints) -> Ints:
    """Action diagnosis (code index) of each stay: one of the reason's codes, or the person's
    own code for reasons tied to a condition (``person_codes`` holds the stays' persons' rows)."""
    flat, starts, counts = _REASON_CODES
    n_codes = counts[reason]
    pick = starts[reason] + np.floor(rng.random(len(reason)) * np.maximum(n_codes, 1))
    generic = flat[np.minimum(pick.astype(np.int64), len(flat) - 1)]
    cond = REASON_PERSON_CONDITION[reason]
    own = person_codes[np.arange(len(reason)), np.maximum(cond, 0)]
    return np.where(cond >= 0, own, generic)


@dataclass(frozen=True)
class ReasonSampler:
    """Draws the reason for stays of one kind.

    A stay of a person with chronic conditions is caused by one of them with probability
    1 - 1/RR (RR = the product of the kind's relative risks of the person's conditions: the
    excess use is what the conditions cause); the condition is chosen in proportion to log RR and
    the reason from its ``condition_mix``. Other stays draw from the ``base_mix`` of the age band
    and sex.
    """

    base_cum: Floats  # (bands, 2 sexes, reasons) cumulative probabilities
    log_rr: Floats  # (conditions,) log relative risk of conditions that have a mix
    condition_reasons: tuple[Ints, ...]
    condition_cum: tuple[Floats, ...]

    @classmethod
    def of(cls, kind: StayKind) -> ReasonSampler:
        n_bands, n_reasons = len(MIX_AGES), len(REASONS)
        weights = np.zeros((n_bands, 2, n_reasons))
        for key, row in kind.base_mix:
            r = REASON_INDEX[key]
            for s in (1, 2):
                if REASON_SEX[r] in (0, s):
                    weights[:, s - 1, r] = row
        # A band without any reason falls back to the sex's whole mix, then to any reason; such
        # bands have no stays (e.g. births of men) but keep the table well defined.
        for b in range(n_bands):
            for s in range(2):
                if weights[b, s].sum() == 0:
                    weights[b, s] = weights[:, s].sum(axis=0)
                if weights[b, s].sum() == 0:
                    weights[b, s] = 1.0
        totals = weights.sum(axis=2, keepdims=True)
        base_cum = np.cumsum(weights / totals, axis=2)
        log_rr = np.zeros(len(CONDITIONS))
        reasons: list[Ints] = []
        cums: list[Floats] = []
        for j, condition in enumerate(CONDITIONS):
            mix = kind.condition_mix.get(condition, ())
            if mix:
                log_rr[j] = np.log(kind.condition_rr.get(condition, 1.0))
            w = np.array([x[1] for x in mix] or [1.0], dtype=np.float64)
            reasons.append(_index_array([REASON_INDEX[x[0]] for x in mix] or [0]))
            cums.append(np.cumsum(w / w.sum()))
        return cls(base_cum, log_rr, tuple(reasons), tuple(cums))

    def draw(self, rng: np.random.Generator, age: Ints, sex: Ints, conditions: Bools) -> Ints:
        n = len(age)
        log_w = conditions * self.log_rr  # (n, conditions)
        total = log_w.sum(axis=1)
        attributed = rng.random(n) < 1.0 - np.exp(-total)
        which = np.argmax(np.cumsum(log_w, axis=1) > (rng.random(n) * total)[:, None], axis=1).astype(np.int64)
        u = rng.random(n)
        reason = np.zeros(n, dtype=np.int64)
        band = mix_band(age)
        base = ~attributed
        for b in range(self.base_cum.shape[0]):
            for s in (1, 2):
                sel = np.flatnonzero(base & (band == b) & (sex == s))
                cum = self.base_cum[b, s - 1]
                reason[sel] = np.minimum(np.searchsorted(cum, u[sel], side="right"), len(cum) - 1)
        for j in range(len(CONDITIONS)):
            sel = np.flatnonzero(attributed & (which == j))
            cum = self.condition_cum[j]
            pick = np.minimum(np.searchsorted(cum, u[sel], side="right"), len(cum) - 1)
            reason[sel] = self.condition_reasons[j][pick]
        return reason
