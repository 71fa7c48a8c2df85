"""Users, grants and organisations: storage only, plain values in and out.

Credentials (password, lockout, TOTP, recovery codes) are in :mod:`koes.appdb.credentials`, API
tokens in :mod:`koes.appdb.tokens`.

The rules (who may do what, password policy, lockout, TOTP) live in :mod:`koes.privacy.roles`,
:mod:`koes.privacy.credentials` and the services; this module stores and reads. Every change takes
an ``event`` function that turns the change's result into its audit record: the change and the
record are written in one transaction (:func:`koes.appdb.audit.audited_change`).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from koes.appdb.audit import audited_change
from koes.appdb.database import AppDatabase, ConflictError
from koes.appdb.models import Grant, Organisation, User
from koes.privacy.audit import AuditEvent


@dataclass(frozen=True)
class UserRow:
    id: int
    username: str
    display_name: str
    organisation: str
    active: bool
    has_password: bool
    totp_enrolled: bool  # a confirmed TOTP secret
    failed_attempts: int
    locked_until: datetime | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Reactivation:
    """A reactivation and the grants it revoked; ``changed`` False: the user was active, nothing changed."""

    user: UserRow
    changed: bool
    revoked: tuple[GrantRow, ...]


@dataclass(frozen=True)
class GrantRow:
    id: int
    user_id: int
    role: str
    granted_by: str
    granted_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    revoked_by: str | None


def user_row(u: User) -> UserRow:
    return UserRow(
        id=u.id,
        username=u.username,
        display_name=u.display_name,
        organisation=u.organisation,
        active=u.active,
        has_password=u.password_hash is not None,
        totp_enrolled=u.totp_confirmed,
        failed_attempts=u.failed_attempts,
        locked_until=u.locked_until,
        created_at=u.created_at,
        updated_at=u.updated_at,
    )


def _grant(g: Grant) -> GrantRow:
    return GrantRow(g.id, g.user_id, g.role, g.granted_by, g.granted_at, g.expires_at, g.revoked_at, g.revoked_by)


def locked_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise LookupError(f"no user {user_id}")
    return user


# --- reading -----------------------------------------------------------------------------------


def organisation_exists(database: AppDatabase, key: str) -> bool:
    with database.session() as session:
        return session.scalar(select(Organisation.id).where(Organisation.key == key)) is not None


def organisations_with_active_users(database: AppDatabase) -> set[str]:
    with database.session() as session:
        return set(session.scalars(select(User.organisation).where(User.active.is_(True)).distinct()))


def get_user(database: AppDatabase, user_id: int) -> UserRow | None:
    with database.session() as session:
        user = session.get(User, user_id)
        return user_row(user) if user else None


def find_user(database: AppDatabase, username: str) -> UserRow | None:
    with database.session() as session:
        user = session.scalar(select(User).where(User.username == username))
        return user_row(user) if user else None


def list_users(database: AppDatabase, organisation: str | None = None) -> list[UserRow]:
    statement = select(User).order_by(User.organisation, User.username)
    if organisation is not None:
        statement = statement.where(User.organisation == organisation)
    with database.session() as session:
        return [user_row(u) for u in session.scalars(statement)]


def grants_of(database: AppDatabase, user_ids: Collection[int]) -> dict[int, list[GrantRow]]:
    """Every grant (revoked and expired ones too) of the users, oldest first."""
    found: dict[int, list[GrantRow]] = {i: [] for i in user_ids}
    if not user_ids:
        return found
    statement = select(Grant).where(Grant.user_id.in_(list(user_ids))).order_by(Grant.granted_at, Grant.id)
    with database.session() as session:
        for g in session.scalars(statement):
            found[g.user_id].append(_grant(g))
    return found


def get_grant(database: AppDatabase, grant_id: int) -> GrantRow | None:
    with database.session() as session:
        grant = session.get(Grant, grant_id)
        return _grant(grant) if grant else None


def expiring_grants(
    database: AppDatabase, now: datetime, until: datetime, organisation: str | None = None
) -> list[tuple[GrantRow, UserRow]]:
    """Unrevoked grants of active users still valid at ``now`` that expire before ``until``, soonest first."""
    statement = (
        select(Grant, User)
        .join(User, User.id == Grant.user_id)
        .where(Grant.revoked_at.is_(None), Grant.expires_at > now, Grant.expires_at <= until, User.active.is_(True))
        .order_by(Grant.expires_at, Grant.id)
    )
    if organisation is not None:
        statement = statement.where(User.organisation == organisation)
    with database.session() as session:
        return [(_grant(g), user_row(u)) for g, u in session.execute(statement)]


# --- changing (each with its audit record, in one transaction) ---------------------------------


def insert_user(
    database: AppDatabase,
    *,
    username: str,
    display_name: str,
    organisation: str,
    password_hash: str | None,
    at: datetime,
    event: Callable[[UserRow], AuditEvent | None],
) -> UserRow:
    def change(session: Session) -> UserRow:
        if session.scalar(select(User.id).where(User.username == username)) is not None:
            raise ConflictError("a user with this name exists")
        if session.scalar(select(Organisation.id).where(Organisation.key == organisation)) is None:
            raise LookupError("no such organisation")
        user = User(
            username=username,
            display_name=display_name,
            organisation=organisation,
            password_hash=password_hash,
            totp_secret=None,
            totp_confirmed=False,
            totp_last_step=None,
            active=True,
            failed_attempts=0,
            locked_until=None,
            created_at=at,
            updated_at=at,
        )
        session.add(user)
        session.flush()
        return user_row(user)

    return audited_change(database, change, event, "the new user")


def insert_grant(
    database: AppDatabase,
    *,
    user_id: int,
    role: str,
    granted_by: str,
    granted_at: datetime,
    expires_at: datetime,
    event: Callable[[GrantRow], AuditEvent | None],
) -> GrantRow:
    def change(session: Session) -> GrantRow:
        locked_user(session, user_id)
        grant = Grant(
            user_id=user_id,
            role=role,
            granted_by=granted_by,
            granted_at=granted_at,
            expires_at=expires_at,
            revoked_at=None,
            revoked_by=None,
        )
        session.add(grant)
        session.flush()
        return _grant(grant)

    return audited_change(database, change, event, "the grant")


def revoke_grants(
    database: AppDatabase,
    grant_ids: Collection[int],
    *,
    at: datetime,
    by: str,
    event: Callable[[list[GrantRow]], AuditEvent | None],
) -> list[GrantRow]:
    """Revoke the grants not revoked yet; the ones revoked now."""

    def change(session: Session) -> list[GrantRow]:
        revoked = []
        for grant in session.scalars(select(Grant).where(Grant.id.in_(list(grant_ids)), Grant.revoked_at.is_(None))):
            grant.revoked_at, grant.revoked_by = at, by
            revoked.append(grant)
        session.flush()
        return [_grant(g) for g in revoked]

    return audited_change(database, change, event, "the revocation")


def set_active(
    database: AppDatabase, user_id: int, active: bool, *, at: datetime, event: Callable[[UserRow], AuditEvent | None]
) -> UserRow:
    def change(session: Session) -> UserRow:
        user = locked_user(session, user_id)
        user.active, user.updated_at = active, at
        session.flush()
        return user_row(user)

    return audited_change(database, change, event, "the user")


def reactivate_user(
    database: AppDatabase,
    user_id: int,
    *,
    at: datetime,
    by: str,
    event: Callable[[Reactivation], AuditEvent | None],
) -> Reactivation:
    """Make a deactivated user active again, with no grant in force.

    Deactivation leaves the grants as they were, for the record: they stop counting only because
    the user is inactive. So that reactivation brings no right back silently, every grant of the
    user that is neither revoked nor expired at ``at`` is revoked (at ``at``, by ``by``) in the same
    transaction; expired and revoked grants stay as they are. An active user is left alone (checked
    under the lock, so a grant made after a concurrent reactivation is never revoked by this one).
    """

    def change(session: Session) -> Reactivation:
        user = locked_user(session, user_id)
        if user.active:
            return Reactivation(user_row(user), False, ())
        still_running = select(Grant).where(Grant.user_id == user_id, Grant.revoked_at.is_(None), Grant.expires_at > at)
        revoked = []
        for grant in session.scalars(still_running.order_by(Grant.id)):
            grant.revoked_at, grant.revoked_by = at, by
            revoked.append(grant)
        user.active, user.updated_at = True, at
        session.flush()
        return Reactivation(user_row(user), True, tuple(_grant(g) for g in revoked))

    return audited_change(database, change, event, "the reactivation")


def set_display_name(
    database: AppDatabase,
    user_id: int,
    display_name: str,
    *,
    at: datetime,
    event: Callable[[UserRow], AuditEvent | None],
) -> UserRow:
    """A user's new display name (an administrator's correction)."""

    def change(session: Session) -> UserRow:
        user = locked_user(session, user_id)
        user.display_name, user.updated_at = display_name, at
        session.flush()
        return user_row(user)

    return audited_change(database, change, event, "the name")
