"""The individual-level table of a cohort: one row per member who is the user's own citizen.

For users with ``individual_rows`` only, and only the members living in the municipalities the
user holds individual-level rights for (``Scope.exact``) on the release's last day: others in the
cohort never appear here, however they were uploaded. A row holds the line of the uploaded file
and the user's own reference (how the user finds the person again), age and sex, and the person's
use in the year per register (``src/koes/cohorts/individuals.yaml``). Never a CPR number, a
pseudonym or a person id. Columns whose catalog element is view-only are shown on the page and
never downloaded (nor sent by the API). Every view and every download writes an audit record
(``individual_view``, ``individual_export``) with the cohort's purpose and the rows returned.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from importlib import resources
from typing import Any

import yaml

from koes.privacy.access import Principal
from koes.privacy.audit import AuditEvent
from koes.services.analysis import AnalysisService
from koes.services.cohort_population import MEMBERS, CohortNotFoundError
from koes.services.errors import ForbiddenError

PERMISSION = "individual_rows"


@dataclass(frozen=True)
class Column:
    id: str
    kind: str  # sum | flag | list
    column: str
    label: Mapping[str, str]
    downloadable: bool
    table: str = "person_year"


@dataclass(frozen=True)
class IndividualTable:
    cohort_id: str
    year: int
    reference_date: date
    columns: tuple[Column, ...]
    rows: tuple[Mapping[str, Any], ...]  # line, reference, age, sex, then the columns by id

    def header(self, language: str, *, downloadable_only: bool) -> list[str]:
        fixed = FIXED[language]
        return fixed + [c.label[language] for c in self.shown(downloadable_only)]

    def shown(self, downloadable_only: bool) -> list[Column]:
        return [c for c in self.columns if c.downloadable or not downloadable_only]

    def values(self, *, downloadable_only: bool) -> list[list[Any]]:
        keys = ["line", "reference", "age", "sex"] + [c.id for c in self.shown(downloadable_only)]
        return [[row.get(k) for k in keys] for row in self.rows]

    def to_json(self, language: str = "da") -> dict[str, Any]:
        """The downloadable form: view-only columns are left out."""
        return {
            "cohort": self.cohort_id,
            "year": self.year,
            "reference_date": self.reference_date.isoformat(),
            "header": self.header(language, downloadable_only=True),
            "rows": self.values(downloadable_only=True),
        }

    def to_csv(self, language: str = "da") -> str:
        out = io.StringIO()
        writer = csv.writer(out, delimiter=";" if language == "da" else ",")
        writer.writerow(self.header(language, downloadable_only=True))
        writer.writerows(self.values(downloadable_only=True))
        return "\ufeff" + out.getvalue()


FIXED = {
    "da": ["Linje i filen", "Egen reference", "Alder", "Køn"],
    "en": ["Line of the file", "Own reference", "Age", "Sex"],
}


@cache
def declared_columns() -> tuple[dict[str, Any], ...]:
    text = resources.files("koes.cohorts").joinpath("individuals.yaml").read_text(encoding="utf-8")
    return tuple(yaml.safe_load(text)["columns"])


def individual_table(
    service: AnalysisService, principal: Principal, cohort_id: str, *, download: bool = False
) -> IndividualTable:
    """The cohort's own citizens, one row each; audited (``individual_view`` or ``individual_export``)."""
    if not principal.may(PERMISSION):
        raise ForbiddenError("individual rows need the individ role", "individual_rows")
    if service.cohorts is None:
        raise CohortNotFoundError(cohort_id)
    cohort = service.cohorts.population(principal, cohort_id)
    scope = service.scope_of(principal)
    if not scope.exact:
        raise ForbiddenError("individual rows are for an organisation's own citizens", "individual_rows")
    year = max(service.years())
    day = date.fromisoformat(service.release().manifest()["extract_period"]["end"])
    columns = tuple(_column(c, service) for c in declared_columns())
    sql = _sql(columns, year, day, scope.exact)
    raw = service.population_engine().execute_with(sql, {MEMBERS: cohort.member_table()})
    rows = tuple(_row(r, columns, day) for r in raw)
    table = IndividualTable(cohort.id, year, day, columns, rows)
    _audit(service, principal, cohort.id, cohort.purpose, table, scope.fingerprint(), download)
    return table


def _column(raw: Mapping[str, Any], service: AnalysisService) -> Column:
    catalog = service.catalog
    element = catalog.dimensions[raw["dimension"]] if "dimension" in raw else catalog.measures[raw["measure"]]
    return Column(
        raw["id"], raw["kind"], raw["column"], dict(raw["label"]), element.downloadable, raw.get("table", "person_year")
    )


def _sql(columns: tuple[Column, ...], year: int, day: date, kommuner: frozenset[int]) -> str:
    # Every value below is ours (catalog-declared names, a year, a date, municipality codes): the
    # members themselves reach the engine as a registered table, never as SQL text.
    sums = [f"sum({c.column}) AS {c.id}" for c in columns if c.kind == "sum"]
    flags = [f"bool_or({c.column}) AS {c.id}" for c in columns if c.kind == "flag"]
    lists = [c for c in columns if c.kind == "list"]
    ctes = [
        f"m AS (SELECT u.line, u.reference, p.person_id, p.sex, p.birth_date FROM {MEMBERS} u "
        "JOIN persons p ON p.pseudonym = u.pseudonym)",
        f"r AS (SELECT person_id, kommunekode FROM residence WHERE fra <= DATE '{day.isoformat()}' "
        f"AND (til IS NULL OR til > DATE '{day.isoformat()}') AND person_id IN (SELECT person_id FROM m))",
        f"y AS (SELECT person_id, {', '.join(sums + flags)} FROM person_year WHERE year = {int(year)} "
        "AND person_id IN (SELECT person_id FROM m) GROUP BY person_id)",
    ]
    joins, selected = [], []
    for i, c in enumerate(lists):
        ctes.append(
            f"l{i} AS (SELECT person_id, string_agg(DISTINCT CAST({c.column} AS VARCHAR), ', ' "
            f"ORDER BY CAST({c.column} AS VARCHAR)) AS {c.id} FROM {c.table} WHERE year = {int(year)} "
            "AND admission AND person_id IN (SELECT person_id FROM m) GROUP BY person_id)"
        )
        joins.append(f"LEFT JOIN l{i} USING (person_id)")
        selected.append(f"l{i}.{c.id}")
    values = [f"y.{c.id}" for c in columns if c.kind in ("sum", "flag")] + selected
    own = ", ".join(str(int(k)) for k in sorted(kommuner))
    return (
        f"WITH {', '.join(ctes)} SELECT m.line, m.reference, m.sex, m.birth_date, {', '.join(values)} "
        f"FROM m JOIN r USING (person_id) LEFT JOIN y USING (person_id) {' '.join(joins)} "
        f"WHERE r.kommunekode IN ({own}) ORDER BY m.line"
    )


def _row(raw: Mapping[str, Any], columns: tuple[Column, ...], day: date) -> dict[str, Any]:
    born: date = raw["birth_date"]
    age = day.year - born.year - ((day.month, day.day) < (born.month, born.day))
    out: dict[str, Any] = {"line": raw["line"], "reference": raw["reference"], "age": age, "sex": raw["sex"]}
    for c in columns:
        value = raw.get(c.id)
        if c.kind == "sum":
            value = float(value or 0)
            value = int(value) if value.is_integer() else round(value, 2)
        elif c.kind == "flag":
            value = bool(value)
        out[c.id] = value
    return out


def _audit(
    service: AnalysisService,
    principal: Principal,
    cohort_id: str,
    purpose: str,
    table: IndividualTable,
    scope: str,
    download: bool,
) -> None:
    if service.audit is None:
        return
    action = "individual_export" if download else "individual_view"
    shown = len(table.shown(download)) + 4
    service.audit.record(
        AuditEvent(
            at=datetime.now(UTC),
            user=principal.user,
            organisation=str(principal.organisation),
            action=action,
            summary=f"cohort {cohort_id}: individual rows of own citizens, {table.year}",
            request_hash=hashlib.sha256(f"{action}|{cohort_id}|{table.year}".encode()).hexdigest(),
            scope=scope,
            rows_returned=len(table.rows),
            cells_returned=len(table.rows) * shown,
            purpose=purpose,
            release_id=service.release_id(),
        )
    )
