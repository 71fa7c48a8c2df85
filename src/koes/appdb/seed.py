"""Organisations from reference data: the national authority, the 5 regions, the 98 municipalities.

Seeding is idempotent: missing organisations are added, names and regions brought up to date from
the reference data, nothing is deleted (users and grants will point at organisations).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from koes.appdb.database import AppDatabase, AppDatabaseError, describe_error
from koes.appdb.models import Organisation
from koes.refdata import RefData

NATIONAL_KEY = "national"
NATIONAL_NAME = "Sundhedsdatastyrelsen"  # the Danish Health Data Authority
SEED_LOCK = "seed-organisations"
_KIND_ORDER = {"national": 0, "region": 1, "kommune": 2}


@dataclass(frozen=True)
class OrganisationRow:
    key: str
    kind: str
    code: int | None
    name: str
    parent_region_code: int | None


@dataclass(frozen=True)
class SeedResult:
    added: int
    updated: int
    total: int


def organisation_rows(refdata: RefData) -> list[OrganisationRow]:
    rows = [OrganisationRow(NATIONAL_KEY, "national", None, NATIONAL_NAME, None)]
    rows += [OrganisationRow(f"region:{r.code}", "region", r.code, r.name, None) for r in refdata.regions]
    rows += [
        OrganisationRow(f"kommune:{m.code}", "kommune", m.code, m.name, m.region_code) for m in refdata.municipalities
    ]
    return rows


def seed_organisations(database: AppDatabase, refdata: RefData) -> SeedResult:
    wanted = organisation_rows(refdata)
    added = updated = 0
    try:
        with database.writer(SEED_LOCK) as connection, Session(bind=connection) as session:
            stored = {o.key: o for o in session.scalars(select(Organisation))}
            for row in wanted:
                current = stored.get(row.key)
                if current is None:
                    session.add(
                        Organisation(
                            key=row.key,
                            kind=row.kind,
                            code=row.code,
                            name=row.name,
                            parent_region_code=row.parent_region_code,
                        )
                    )
                    added += 1
                elif (current.name, current.parent_region_code) != (row.name, row.parent_region_code):
                    current.name, current.parent_region_code = row.name, row.parent_region_code
                    updated += 1
            session.flush()
            total = len(stored) + added
    except SQLAlchemyError as exc:
        raise AppDatabaseError(f"cannot seed the organisations: {describe_error(exc)}") from exc
    return SeedResult(added, updated, total)


def read_organisations(database: AppDatabase) -> list[OrganisationRow]:
    """Every organisation: the national authority, then regions, then municipalities, by code."""
    with database.session() as session:
        rows = [
            OrganisationRow(o.key, o.kind, o.code, o.name, o.parent_region_code)
            for o in session.scalars(select(Organisation))
        ]
    return sorted(rows, key=lambda r: (_KIND_ORDER.get(r.kind, 9), r.code or 0, r.key))
