"""Organisations from reference data: the national authority, every region, the 98 municipalities.

The regions are every region the versioned geography declares (``koes.domain.geography``), those
that ceased or will cease and those that begin later included: from 2027 Region Hovedstaden and
Region Sjælland (until 31 December 2026) and Region Østdanmark (from 1 January 2027), so the
national authority can move the old regions' users without creating the new region by hand. When
a region is valid comes from the geography, not from the database. A municipality's region is the
one it belongs to on the day of seeding; seeding at each start-up moves it at the new year.

Seeding is idempotent: missing organisations are added, names and regions brought up to date from
the reference data, nothing is deleted (users and grants will point at organisations).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

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


def organisation_rows(refdata: RefData, today: date) -> list[OrganisationRow]:
    """The organisations the reference data declares, a municipality under its region of ``today``."""
    rows = [OrganisationRow(NATIONAL_KEY, "national", None, NATIONAL_NAME, None)]
    rows += [OrganisationRow(f"region:{code}", "region", code, name, None) for code, name in _regions(refdata)]
    rows += [
        OrganisationRow(
            f"kommune:{m.code}", "kommune", m.code, m.name, _region_on(refdata, m.code, m.region_code, today)
        )
        for m in refdata.municipalities
    ]
    return rows


def _regions(refdata: RefData) -> list[tuple[int, str]]:
    """Every region of the versioned geography (past, present and declared), else the shipped five."""
    if refdata.geography.regions:
        return sorted((r.code, r.name_da) for r in refdata.geography.regions)
    return [(r.code, r.name) for r in refdata.regions]


def _region_on(refdata: RefData, kommunekode: int, shipped: int, today: date) -> int:
    try:
        return refdata.geography.region_of(kommunekode, today)
    except KeyError:  # a day the geography does not cover (or none declared): the shipped region
        return shipped


def seed_organisations(database: AppDatabase, refdata: RefData, today: date | None = None) -> SeedResult:
    """Add the missing organisations and bring names and municipalities' regions up to date as of
    ``today`` (default: the current UTC day)."""
    wanted = organisation_rows(refdata, today or datetime.now(UTC).date())
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
