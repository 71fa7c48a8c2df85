"""Organisations: the national authority, the regions and the municipalities (from reference data)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from koes.appdb.database import AppDatabase
from koes.appdb.seed import read_organisations
from koes.appdb.users import organisations_with_active_users
from koes.privacy.access import Organisation


@dataclass(frozen=True)
class OrganisationInfo:
    key: str  # "national", "region:1084", "kommune:101": the form principals and audit records use
    kind: str  # national | region | kommune
    code: int | None
    name: str
    region: int | None  # a municipality's region code

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def list_organisations(database: AppDatabase) -> list[OrganisationInfo]:
    """Every organisation: the national authority, then the regions, then the municipalities, by code."""
    return [OrganisationInfo(r.key, r.kind, r.code, r.name, r.parent_region_code) for r in read_organisations(database)]


def organisations_in_use(database: AppDatabase) -> list[Organisation]:
    """Every organisation with an active user: whose default report views are worth pre-warming."""
    return [Organisation.parse(key) for key in sorted(organisations_with_active_users(database))]
