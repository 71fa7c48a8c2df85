"""Cohorts for analysis tests: uploaded from real files over the test warehouse, kept in memory.

``make_cohort`` writes a CSV of CPR numbers from the test extracts, runs the real check
(``check_cohort_file``: validate, pseudonymise, link) and keeps the members as a
``CohortPopulation``; ``InMemoryCohorts`` is the smallest cohort store the analysis can ask
(``CohortLookup``): a cohort is its owner's, or shared with named colleagues of its organisation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq

from cohort_files import write_csv
from koes.cohorts.guard import counted_too_close
from koes.cohorts.population import CohortPopulation
from koes.privacy.access import Organisation, Principal
from koes.query.request import RequestError
from koes.services.cohort_guard import too_close
from koes.services.cohort_population import CohortNotFoundError
from koes.services.cohorts import CheckRequest, check_cohort_file
from koes.settings import Settings

DAY = date(2023, 12, 31)  # the small release's last day


def residents_on(extracts: Path, day: date = DAY) -> dict[str, str | None]:
    """Each person's municipality on ``day`` (4 digits) from the CPR extract; None: nowhere."""
    periods = pq.read_table(extracts / "cpr_adresser.parquet").to_pylist()
    persons = pq.read_table(extracts / "cpr_personer.parquet").column("pnr").to_pylist()
    where: dict[str, str | None] = dict.fromkeys(persons)
    for p in periods:
        if p["fra_dato"] <= day and (p["til_dato"] is None or day < p["til_dato"]):
            where[p["pnr"]] = p["kommunekode"]
    return where


def copenhageners(extracts: Path) -> list[str]:
    """The persons of the CPR extract whose current address is in København (an open period in
    0101), sorted: the residents that cohort tests upload as the user's own citizens."""
    periods = pq.read_table(extracts / "cpr_adresser.parquet").to_pylist()
    return sorted({p["pnr"] for p in periods if p["kommunekode"] == "0101" and p["til_dato"] is None})


def make_cohort(
    settings: Settings,
    folder: Path,
    cpr_numbers: Sequence[str],
    *,
    cohort_id: str = "k1",
    municipality: int = 101,
    groups: Sequence[str | None] | None = None,
    index_dates: Sequence[date | None] | None = None,
    references: Sequence[str] | None = None,
    purpose: str = "Opfølgning på indsats",
    owner: str = "lokal",
) -> CohortPopulation:
    """Upload ``cpr_numbers`` (with optional groups, index dates and own references) through the real check."""
    header = ["CPR-nr.", "Indeksdato", "Gruppe", "Sagsnr"]
    rows = [header]
    for i, number in enumerate(cpr_numbers):
        day = index_dates[i] if index_dates is not None else None
        group = groups[i] if groups is not None else None
        reference = references[i] if references is not None else f"S-{i + 1:04d}"
        rows.append([f"{number[:6]}-{number[6:]}", day.strftime("%d-%m-%Y") if day else "", group or "", reference])
    path = write_csv(folder / f"{cohort_id}.csv", rows)
    check = check_cohort_file(settings, path, CheckRequest(municipality, today=date(2024, 6, 1)))
    now = datetime.now(UTC)
    return CohortPopulation(
        id=cohort_id,
        name=f"Kohorte {cohort_id}",
        owner=owner,
        organisation=f"kommune:{municipality}",
        purpose=purpose,
        created_at=now,
        expires_at=now + timedelta(days=90),
        members=check.members,
    )


@dataclass
class InMemoryCohorts:
    """A cohort store in memory: the owner and the colleagues it is shared with may use a cohort."""

    kept: dict[str, CohortPopulation] = field(default_factory=dict)
    shared: dict[str, set[str]] = field(default_factory=dict)
    min_difference: int = 5  # the setting cohort_min_difference's default

    def add(self, cohort: CohortPopulation, *shared_with: str) -> CohortPopulation:
        self.kept[cohort.id] = cohort
        self.shared[cohort.id] = set(shared_with)
        return cohort

    def cohorts(self, principal: Principal) -> list[CohortPopulation]:
        out = []
        for cohort_id in sorted(self.kept):
            try:
                out.append(self.population(principal, cohort_id))
            except CohortNotFoundError:
                continue
        return out

    def population(self, principal: Principal, cohort_id: str) -> CohortPopulation:
        cohort = self.kept.get(cohort_id)
        if (
            cohort is None
            or str(principal.organisation) != cohort.organisation
            or "individ" not in principal.roles
            or principal.user not in {cohort.owner, *self.shared[cohort_id]}
        ):
            raise CohortNotFoundError(cohort_id)
        return cohort

    def check_counted(self, cohort: CohortPopulation, picked: Sequence[str | None] | None) -> None:
        """The figures guard over the other kept cohorts of the organisation (no traces in memory)."""
        counted = {m.pseudonym for m in cohort.members if picked is None or m.group in picked}
        published: list[set[str]] = [{m.pseudonym for m in cohort.members}] if picked is not None else []
        for other in self.kept.values():
            if other.organisation == cohort.organisation and other.id != cohort.id:
                published.append({m.pseudonym for m in other.members})
                for group in {m.group for m in other.members}:
                    published.append({m.pseudonym for m in other.members if m.group == group})
        if counted_too_close(counted, published, (), (), b"", self.min_difference):
            raise RequestError([too_close(self.min_difference)])


def analyst(user: str = "lokal", municipality: int = 101, role: str = "individ") -> Principal:
    return Principal(user, Organisation("kommune", municipality), frozenset({role}))
