"""Saved analyses: storage only, plain values in and out.

Who may see or change one is decided by :mod:`koes.services.saved`; its rule runs *inside* the
writing transaction here (``check``), so nothing can change between the check and the change. Every
change takes an ``event`` function that turns its result into the audit record, written in the same
transaction (:func:`koes.appdb.audit.audited_change`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from koes.appdb.audit import audited_change
from koes.appdb.database import AppDatabase, ConflictError
from koes.appdb.models import SavedAnalysis, User
from koes.privacy.audit import AuditEvent

NAME_TAKEN = "you already have a saved analysis with this name"


@dataclass(frozen=True)
class SavedRow:
    id: int
    organisation: str
    owner_id: int
    owner: str  # the owner's user name
    name: str
    request: str  # canonical JSON
    shared: bool
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class SavedChange:
    """An update: the row before and after (equal when nothing changed)."""

    before: SavedRow
    after: SavedRow


Check = Callable[[SavedRow], None]  # raises when the caller may not do this to the row


def _row(saved: SavedAnalysis, owner: str) -> SavedRow:
    return SavedRow(
        id=saved.id,
        organisation=saved.organisation,
        owner_id=saved.owner_id,
        owner=owner,
        name=saved.name,
        request=saved.request,
        shared=saved.shared,
        created_at=saved.created_at,
        updated_at=saved.updated_at,
    )


def _with_owner() -> Select[SavedAnalysis, str]:
    return select(SavedAnalysis, User.username).join(User, User.id == SavedAnalysis.owner_id)


def _fetch(session: Session, analysis_id: int) -> tuple[SavedAnalysis, SavedRow] | None:
    found = session.execute(_with_owner().where(SavedAnalysis.id == analysis_id)).first()
    return (found[0], _row(found[0], found[1])) if found else None


def _name_taken(session: Session, owner_id: int, name: str, other_than: int | None = None) -> bool:
    statement = select(SavedAnalysis.id).where(SavedAnalysis.owner_id == owner_id, SavedAnalysis.name == name)
    if other_than is not None:
        statement = statement.where(SavedAnalysis.id != other_than)
    return session.scalar(statement) is not None


# --- reading -----------------------------------------------------------------------------------


def get_saved(database: AppDatabase, analysis_id: int) -> SavedRow | None:
    with database.session() as session:
        found = _fetch(session, analysis_id)
        return found[1] if found else None


def visible_saved(database: AppDatabase, organisation: str, user_id: int | None) -> list[SavedRow]:
    """The organisation's shared analyses and the user's own, most recently changed first."""
    mine_or_shared = (
        SavedAnalysis.shared if user_id is None else or_(SavedAnalysis.shared, SavedAnalysis.owner_id == user_id)
    )
    statement = (
        _with_owner()
        .where(SavedAnalysis.organisation == organisation, mine_or_shared)
        .order_by(SavedAnalysis.updated_at.desc(), SavedAnalysis.id.desc())
    )
    with database.session() as session:
        return [_row(saved, owner) for saved, owner in session.execute(statement)]


# --- changes -----------------------------------------------------------------------------------


def insert_saved(
    database: AppDatabase,
    *,
    organisation: str,
    owner_id: int,
    name: str,
    request: str,
    shared: bool,
    at: datetime,
    event: Callable[[SavedRow], AuditEvent | None],
) -> SavedRow:
    def change(session: Session) -> SavedRow:
        owner = session.get(User, owner_id)
        if owner is None:
            raise LookupError(f"no user {owner_id}")
        # Writers queue on the audit chain lock, so this check cannot race another insert.
        if _name_taken(session, owner_id, name):
            raise ConflictError(NAME_TAKEN)
        saved = SavedAnalysis(
            organisation=organisation,
            owner_id=owner_id,
            name=name,
            request=request,
            shared=shared,
            created_at=at,
            updated_at=at,
        )
        session.add(saved)
        session.flush()
        return _row(saved, owner.username)

    return audited_change(database, change, event, "the saved analysis")


def update_saved(
    database: AppDatabase,
    analysis_id: int,
    *,
    check: Check,
    name: str | None,
    request: str | None,
    shared: bool | None,
    at: datetime,
    event: Callable[[SavedChange], AuditEvent | None],
) -> SavedChange:
    """Change what is given (None: keep); ``updated_at`` moves only if something changed."""

    def change(session: Session) -> SavedChange:
        saved, before = _checked(session, analysis_id, check)
        if name is not None and name != saved.name and _name_taken(session, saved.owner_id, name, saved.id):
            raise ConflictError(NAME_TAKEN)
        new = {"name": name, "request": request, "shared": shared}
        changes = {k: v for k, v in new.items() if v is not None and v != getattr(saved, k)}
        for key, value in changes.items():
            setattr(saved, key, value)
        if changes:
            saved.updated_at = at
        session.flush()
        return SavedChange(before, _row(saved, before.owner))

    return audited_change(database, change, event, "the saved analysis")


def delete_saved(
    database: AppDatabase, analysis_id: int, *, check: Check, event: Callable[[SavedRow], AuditEvent | None]
) -> SavedRow:
    def change(session: Session) -> SavedRow:
        saved, row = _checked(session, analysis_id, check)
        session.delete(saved)
        session.flush()
        return row

    return audited_change(database, change, event, "the deletion of the saved analysis")


def _checked(session: Session, analysis_id: int, check: Check) -> tuple[SavedAnalysis, SavedRow]:
    """The row, locked for the change, after the caller's rule accepted it."""
    found = _fetch(session, analysis_id)
    if found is None:
        raise LookupError(f"no saved analysis {analysis_id}")
    check(found[1])
    return found
