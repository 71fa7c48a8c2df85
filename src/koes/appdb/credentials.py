"""Credentials: the password hash, lockout after failed sign-ins, the TOTP secret and its last
step, recovery codes. Storage only; the rules live in :mod:`koes.privacy.credentials` and the
services. Every change is written with its audit record in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from koes.appdb.audit import audited_change
from koes.appdb.database import AppDatabase
from koes.appdb.models import RecoveryCode, User
from koes.appdb.sessions import revoke_sessions_in
from koes.appdb.users import UserRow, locked_user, user_row
from koes.privacy.audit import AuditEvent


@dataclass(frozen=True)
class Revocations:
    """A credential change and what it ended with it."""

    user: UserRow
    sessions: int  # web sessions revoked
    recovery_codes: int  # unused recovery codes invalidated


@dataclass(frozen=True)
class Credentials:
    """What a sign-in checks. Holds hashes and a sealed secret: never log or show it."""

    user: UserRow
    password_hash: str | None
    totp_secret: str | None  # sealed
    totp_confirmed: bool
    totp_last_step: int | None

    def __repr__(self) -> str:
        return f"Credentials(user={self.user.username!r}, …)"


def _credentials(u: User) -> Credentials:
    return Credentials(user_row(u), u.password_hash, u.totp_secret, u.totp_confirmed, u.totp_last_step)


def credentials(
    database: AppDatabase, *, username: str | None = None, user_id: int | None = None
) -> Credentials | None:
    with database.session() as session:
        if user_id is not None:
            user = session.get(User, user_id)
        else:
            user = session.scalar(select(User).where(User.username == username))
        return _credentials(user) if user else None


def unused_recovery_codes(database: AppDatabase, user_id: int) -> int:
    statement = select(RecoveryCode.id).where(RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None))
    with database.session() as session:
        return len(session.scalars(statement).all())


def record_failure(
    database: AppDatabase,
    user_id: int,
    *,
    at: datetime,
    lock_for: Callable[[int], timedelta | None],
    event: Callable[[UserRow], AuditEvent | None],
) -> UserRow:
    """Count one more failed sign-in (password or second factor) and lock the account as ``lock_for`` says."""

    def change(session: Session) -> UserRow:
        user = locked_user(session, user_id)
        user.failed_attempts += 1
        pause = lock_for(user.failed_attempts)
        if pause is not None:
            user.locked_until = at + pause
        session.flush()
        return user_row(user)

    return audited_change(database, change, event, "the failed sign-in")


def record_success(
    database: AppDatabase,
    user_id: int,
    *,
    at: datetime,
    new_password_hash: str | None = None,
    event: Callable[[UserRow], AuditEvent | None],
) -> UserRow:
    """Reset the failure count (and replace an outdated password hash)."""

    def change(session: Session) -> UserRow:
        user = locked_user(session, user_id)
        user.failed_attempts, user.locked_until = 0, None
        if new_password_hash is not None:
            user.password_hash = new_password_hash
        session.flush()
        return user_row(user)

    return audited_change(database, change, event, "the sign-in")


def set_password_hash(
    database: AppDatabase,
    user_id: int,
    password_hash: str,
    *,
    at: datetime,
    event: Callable[[UserRow], AuditEvent | None],
) -> UserRow:
    """An administrator's new password for a user: failures reset, and the user's sessions revoked
    with it (a reset often follows a suspected compromise; a session must not outlive it)."""

    def change(session: Session) -> UserRow:
        user = locked_user(session, user_id)
        user.password_hash, user.updated_at = password_hash, at
        user.failed_attempts, user.locked_until = 0, None
        session.flush()
        revoke_sessions_in(session, user_id, at)
        return user_row(user)

    return audited_change(database, change, event, "the password")


def replace_password(
    database: AppDatabase,
    user_id: int,
    password_hash: str,
    *,
    at: datetime,
    event: Callable[[Revocations], AuditEvent | None],
) -> Revocations:
    """A user's own new password: failures reset and every session of the user revoked with it, so a
    session opened with the old password cannot outlive the change."""

    def change(session: Session) -> Revocations:
        user = locked_user(session, user_id)
        user.password_hash, user.updated_at = password_hash, at
        user.failed_attempts, user.locked_until = 0, None
        session.flush()
        return Revocations(user_row(user), revoke_sessions_in(session, user_id, at), 0)

    return audited_change(database, change, event, "the password")


def reset_totp(
    database: AppDatabase, user_id: int, *, at: datetime, event: Callable[[Revocations], AuditEvent | None]
) -> Revocations:
    """Forget the user's TOTP secret (confirmed or pending), invalidate its unused recovery codes and
    revoke its sessions, in one transaction: its next sign-in enrols a new authenticator."""

    def change(session: Session) -> Revocations:
        user = locked_user(session, user_id)
        user.totp_secret, user.totp_confirmed, user.totp_last_step = None, False, None
        user.updated_at = at
        session.flush()
        codes = session.execute(
            update(RecoveryCode)
            .where(RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None))
            .values(used_at=at)
            .execution_options(synchronize_session=False)
        )
        ended = revoke_sessions_in(session, user_id, at)
        return Revocations(user_row(user), ended, int(getattr(codes, "rowcount", 0) or 0))

    return audited_change(database, change, event, "the TOTP reset")


def set_totp_secret(
    database: AppDatabase, user_id: int, sealed: str, *, at: datetime, event: Callable[[UserRow], AuditEvent | None]
) -> UserRow:
    """A new, unconfirmed TOTP secret (enrolment); the old one, if any, stops working."""

    def change(session: Session) -> UserRow:
        user = locked_user(session, user_id)
        user.totp_secret, user.totp_confirmed, user.totp_last_step, user.updated_at = sealed, False, None, at
        session.flush()
        return user_row(user)

    return audited_change(database, change, event, "the TOTP enrolment")


def accept_totp_step(
    database: AppDatabase,
    user_id: int,
    step: int,
    *,
    at: datetime,
    confirm: bool,
    event: Callable[[UserRow | None], AuditEvent | None],
) -> UserRow | None:
    """Accept TOTP step ``step`` if it is later than the last accepted one (else None: a replay).

    One conditional UPDATE, so two requests with the same code cannot both succeed. A success
    also resets the failure count; with ``confirm`` it confirms the enrolment.
    """

    def change(session: Session) -> UserRow | None:
        values: dict[str, object] = {"totp_last_step": step, "failed_attempts": 0, "locked_until": None}
        if confirm:
            values |= {"totp_confirmed": True, "updated_at": at}
        done = session.execute(
            update(User)
            .where(User.id == user_id, or_(User.totp_last_step.is_(None), User.totp_last_step < step))
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if done.rowcount != 1:  # type: ignore[attr-defined]
            return None
        user = locked_user(session, user_id)
        session.refresh(user)
        return user_row(user)

    return audited_change(database, change, event, "the TOTP code")


def replace_recovery_codes(
    database: AppDatabase,
    user_id: int,
    hashes: Collection[str],
    *,
    at: datetime,
    event: Callable[[int], AuditEvent | None],
) -> int:
    """Replace the user's recovery codes (the old ones stop working); how many were stored."""

    def change(session: Session) -> int:
        locked_user(session, user_id)
        session.execute(
            update(RecoveryCode)
            .where(RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None))
            .values(used_at=at)
            .execution_options(synchronize_session=False)
        )
        session.add_all(RecoveryCode(user_id=user_id, code_hash=h, created_at=at, used_at=None) for h in hashes)
        return len(hashes)

    return audited_change(database, change, event, "the recovery codes")


def use_recovery_code(
    database: AppDatabase,
    user_id: int,
    code_hash: str,
    *,
    at: datetime,
    event: Callable[[UserRow | None], AuditEvent | None],
) -> UserRow | None:
    """Mark an unused code used (one conditional UPDATE: single use even under races); None if none matched."""

    def change(session: Session) -> UserRow | None:
        done = session.execute(
            update(RecoveryCode)
            .where(RecoveryCode.user_id == user_id, RecoveryCode.code_hash == code_hash, RecoveryCode.used_at.is_(None))
            .values(used_at=at)
            .execution_options(synchronize_session=False)
        )
        if done.rowcount != 1:  # type: ignore[attr-defined]
            return None
        user = locked_user(session, user_id)
        user.failed_attempts, user.locked_until = 0, None
        session.flush()
        return user_row(user)

    return audited_change(database, change, event, "the recovery code")
