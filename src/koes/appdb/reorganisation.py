"""Organisations that change: a new region added, a user moved to another organisation. Storage
only; each change is written with its audit record in one transaction (``audited_change``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from koes.appdb.audit import audited_change
from koes.appdb.database import AppDatabase, ConflictError
from koes.appdb.models import Organisation, User
from koes.appdb.seed import OrganisationRow
from koes.appdb.users import UserRow, locked_user, user_row
from koes.privacy.audit import AuditEvent


def insert_organisation(
    database: AppDatabase, row: OrganisationRow, event: Callable[[OrganisationRow], AuditEvent | None]
) -> OrganisationRow:
    """Add an organisation; one with the same key is a conflict (nothing is replaced)."""

    def change(session: Session) -> OrganisationRow:
        if session.scalar(select(Organisation.id).where(Organisation.key == row.key)) is not None:
            raise ConflictError(f"organisation {row.key} exists")
        session.add(
            Organisation(
                key=row.key, kind=row.kind, code=row.code, name=row.name, parent_region_code=row.parent_region_code
            )
        )
        return row

    return audited_change(database, change, event, "the organisation")


def users_of(database: AppDatabase, organisation: str) -> list[int]:
    """The ids of an organisation's users (active or not), by id."""
    with database.session() as session:
        return list(session.scalars(select(User.id).where(User.organisation == organisation).order_by(User.id)))


def move_user(
    database: AppDatabase,
    user_id: int,
    organisation: str,
    *,
    at: datetime,
    event: Callable[[tuple[UserRow, str]], AuditEvent | None],
) -> tuple[UserRow, str]:
    """Move a user to ``organisation`` (its grants go with it); returns the user and where it was."""

    def change(session: Session) -> tuple[UserRow, str]:
        if session.scalar(select(Organisation.id).where(Organisation.key == organisation)) is None:
            raise LookupError("no such organisation")
        user = locked_user(session, user_id)
        before = user.organisation
        user.organisation, user.updated_at = organisation, at
        session.flush()
        return user_row(user), before

    return audited_change(database, change, event, "the move")
