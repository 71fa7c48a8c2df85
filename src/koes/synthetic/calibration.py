"""How the generated data compare with published national volumes.

Each chunk's tables are tallied as they are generated (persons never cross chunks, so per-chunk
counts add up exactly); the result goes into ``generation.json`` and ``docs/synthetic-data.md``.
Stays and admissions use the eSundhed definitions (domain-notes §1.4): physical attendances
coupled when ≤ 4 hours apart; an admission is a stay of ≥ 12 hours.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from koes.domain.preventable import MIN_AGE, preventable_group
from koes.synthetic.population import Population, age_in_years

COUPLING_GAP_SECONDS = 4 * 3600
ADMISSION_SECONDS = 12 * 3600
PHYSICAL_CONTACT_TYPES = ("ALCA00", "ALCA10")
GP_SPECIALTIES = ("80", "81")


@dataclass(frozen=True)
class Target:
    id: str
    label: str
    per_1000: float  # national figure per 1,000 citizens (or per 1,000 citizens 65+) a year
    denominator: str  # "citizens" or "citizens_65"
    source: str


TARGETS: tuple[Target, ...] = (
    Target(
        "admissions",
        "Indlæggelser (ophold ≥ 12 t)",
        133.6,
        "citizens",
        "DST 2022: 792,000 admissions / 5.93 M citizens",
    ),
    Target(
        "outpatient_stays",
        "Ambulante sygehusophold",
        2065.0,
        "citizens",
        "DST 2022: 12,246,000 outpatient stays / 5.93 M citizens",
    ),
    Target(
        "gp_contacts",
        "Kontakter til almen praksis",
        7700.0,
        "citizens",
        "DST/SDS: ≈ 41 M GP contacts a year 2009–19, +10 % from 2020, / 5.85 M citizens",
    ),
    Target(
        "practice_contacts",
        "Kontakter i praksissektoren",
        10600.0,
        "citizens",
        "DST 2022: 10.6 practice-sector contacts per person",
    ),
    Target(
        "prescriptions",
        "Receptindløsninger",
        10100.0,
        "citizens",
        "≈ 50–70 M prescription redemptions a year (midpoint 60 M) / 5.93 M citizens [I]",
    ),
    Target(
        "preventable_65",
        "Forebyggelige indlæggelser 65+",
        59.5,
        "citizens_65",
        "DI 2024: ≈ 72,000 preventable admissions 2023 / 1.23 M citizens 65+ (BEFOLK2 2024)",
    ),
)


@dataclass
class CalibrationTally:
    """Numerators and person-year denominators summed over chunks."""

    counts: dict[str, float] = field(default_factory=dict)
    person_years: float = 0.0
    person_years_65: float = 0.0

    def add(self, pop: Population, tables: Mapping[str, pa.Table], years: tuple[int, ...]) -> None:
        py_all, py_65 = _person_years(pop, years)
        self.person_years += py_all
        self.person_years_65 += py_65
        for key, value in _chunk_counts(pop, tables).items():
            self.counts[key] = self.counts.get(key, 0.0) + value

    def table(self) -> list[dict[str, object]]:
        rows: list[dict[str, object]] = []
        for t in TARGETS:
            denom = self.person_years if t.denominator == "citizens" else self.person_years_65
            generated = 1000 * self.counts.get(t.id, 0.0) / denom if denom else 0.0
            rows.append(
                {
                    "measure": t.id,
                    "label": t.label,
                    "generated_per_1000": round(generated, 1),
                    "national_per_1000": t.per_1000,
                    "ratio": round(generated / t.per_1000, 3),
                    "denominator": t.denominator,
                    "source": t.source,
                }
            )
        return rows


def _person_years(pop: Population, years: tuple[int, ...]) -> tuple[float, float]:
    total = total_65 = 0.0
    for year in years:
        y0, y1 = np.datetime64(f"{year}-01-01"), np.datetime64(f"{year}-12-31")
        lo, hi = np.maximum(pop.entry, y0), np.minimum(pop.exit, y1)
        days = np.clip((hi - lo).astype(np.int64) + 1, 0, None)
        old = age_in_years(pop.birth, np.full(len(pop), np.datetime64(f"{year}-07-01"))) >= MIN_AGE
        total += days.sum() / 365.25
        total_65 += days[old].sum() / 365.25
    return float(total), float(total_65)


def _chunk_counts(pop: Population, tables: Mapping[str, pa.Table]) -> dict[str, float]:
    counts: dict[str, float] = {}
    if "lpr_kontakter" in tables:
        counts.update(_stay_counts(pop, tables["lpr_kontakter"]))
    if "ssr_ydelser" in tables:
        ssr = tables["ssr_ydelser"]
        kontakt = ssr["kontakt"].to_numpy(zero_copy_only=False)
        gp = pc.is_in(pc.utf8_slice_codeunits(ssr["speciale"], 0, 2), pa.array(GP_SPECIALTIES))
        counts["practice_contacts"] = float(kontakt.sum())
        counts["gp_contacts"] = float(kontakt[gp.to_numpy(zero_copy_only=False)].sum())
    if "lms_ekspeditioner" in tables:
        apk = tables["lms_ekspeditioner"]["apk"].to_numpy(zero_copy_only=False)
        counts["prescriptions"] = float((apk > 0).sum())
    return counts


def couple_stays(person: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
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


def _stay_counts(pop: Population, contacts: pa.Table) -> dict[str, float]:
    physical = pc.is_in(contacts["kont_type"], pa.array(PHYSICAL_CONTACT_TYPES))
    c = contacts.filter(physical)
    pnr = c["pnr"].to_numpy(zero_copy_only=False)
    start = c["kont_starttidspunkt"].cast(pa.int64()).to_numpy(zero_copy_only=False)
    end = c["kont_sluttidspunkt"].cast(pa.int64()).to_numpy(zero_copy_only=False)
    order = np.lexsort((start, pnr))
    pnr, start, end = pnr[order], start[order], end[order]
    acute = c["prioritet"].to_numpy(zero_copy_only=False)[order] == "ATA1"
    adiag = c["adiag"].to_numpy(zero_copy_only=False)[order]
    stay = couple_stays(_person_codes(pnr), start, end)
    n = int(stay[-1]) + 1 if len(stay) else 0
    first = np.r_[True, stay[1:] != stay[:-1]] if n else np.zeros(0, dtype=bool)
    stay_start = start[first]
    stay_end = np.maximum.reduceat(end, np.flatnonzero(first)) if n else np.zeros(0, dtype=np.int64)
    admission = (stay_end - stay_start) >= ADMISSION_SECONDS
    counts = {"admissions": float(admission.sum()), "outpatient_stays": float((~admission).sum())}
    counts["preventable_65"] = float(
        _preventable(pop, pnr[first], stay_start, acute[first], adiag[first], admission).sum()
    )
    return counts


def _person_codes(pnr: np.ndarray) -> np.ndarray:
    return np.unique(pnr, return_inverse=True)[1].astype(np.int64)


def _preventable(
    pop: Population,
    pnr: np.ndarray,
    start_seconds: np.ndarray,
    acute: np.ndarray,
    adiag: np.ndarray,
    admission: np.ndarray,
) -> np.ndarray:
    result = np.zeros(len(pnr), dtype=bool)
    # Only acute admissions can count; look those few up instead of every stay.
    cand = np.flatnonzero(admission & acute)
    if len(cand) == 0:
        return result
    sorter = np.argsort(pop.pnr)
    person = sorter[np.searchsorted(pop.pnr, pnr[cand], sorter=sorter)]
    day = start_seconds[cand].astype("datetime64[s]").astype("datetime64[D]")
    old = pop.age_on(person, day) >= MIN_AGE
    grouped = np.fromiter(
        (preventable_group(code) is not None for code in adiag[cand].tolist()),
        dtype=bool,
        count=len(cand),
    )
    result[cand] = old & grouped
    return result
