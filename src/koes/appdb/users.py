"""Users, grants, API tokens and recovery codes: storage only, plain values in and out.

The rules (who may do what, password policy, lockout, TOTP) live in :mod:`koes.privacy.roles`,
:mod:`koes.privacy.credentials` and the services; this module stores and reads. Every change takes
an ``event`` function that turns the change's result into its audit record: the change and the
record are written in one transaction (:func:`koes.appdb.audit.audited_change`).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from koes.appdb.audit import audited_change
from koes.appdb.database import AppDatabase, ConflictError
from koes.appdb.models import ApiToken, Grant, Organisation, RecoveryCode, User
from koes.appdb.sessions import revoke_sessions_in
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
class Credentials:
    """What a sign-in checks. Holds hashes and a sealed secret: never log or show it."""

    user: UserRow
    password_hash: str | None
    totp_secret: str | None  # sealed
    totp_confirmed: bool
    totp_last_step: int | None

    def __repr__(self) -> str:
        return f"Credentials(user={self.user.username!r}, …)"


@dataclass(frozen=True)
class Revocations:
    """A credential change and what it ended with it."""

    user: UserRow
    sessions: int  # web sessions revoked
    recovery_codes: int  # unused recovery codes invalidated


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


@dataclass(frozen=True)
class TokenRow:
    id: int
    user_id: int
    name: str
    prefix: str
    token_hash: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    expires_at: datetime
    scopes: tuple[str, ...]
    second_factor: bool


def _user(u: User) -> UserRow:
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


def _token(t: ApiToken) -> TokenRow:
    return TokenRow(
        t.id,
        t.user_id,
        t.name,
        t.prefix,
        t.token_hash,
        t.created_at,
        t.last_used_at,
        t.revoked_at,
        t.expires_at,
        tuple(t.scopes.split()),
        t.second_factor,
    )


def _credentials(u: User) -> Credentials:
    return Credentials(_user(u), u.password_hash, u.totp_secret, u.totp_confirmed, u.totp_last_step)


def _locked(session: Session, user_id: int) -> User:
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
        return _user(user) if user else None


def find_user(database: AppDatabase, username: str) -> UserRow | None:
    with database.session() as session:
        user = session.scalar(select(User).where(User.username == username))
        return _user(user) if user else None


def credentials(
    database: AppDatabase, *, username: str | None = None, user_id: int | None = None
) -> Credentials | None:
    with database.session() as session:
        if user_id is not None:
            user = session.get(User, user_id)
        else:
            user = session.scalar(select(User).where(User.username == username))
        return _credentials(user) if user else None


def list_users(database: AppDatabase, organisation: str | None = None) -> list[UserRow]:
    statement = select(User).order_by(User.organisation, User.username)
    if organisation is not None:
        statement = statement.where(User.organisation == organisation)
    with database.session() as session:
        return [_user(u) for u in session.scalars(statement)]


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
        return [(_grant(g), _user(u)) for g, u in session.execute(statement)]


def expiring_tokens(
    database: AppDatabase, now: datetime, until: datetime, organisation: str | None = None
) -> list[tuple[TokenRow, UserRow]]:
    """Unrevoked API tokens of active users still valid at ``now`` that expire before ``until``, soonest first."""
    statement = (
        select(ApiToken, User)
        .join(User, User.id == ApiToken.user_id)
        .where(
            ApiToken.revoked_at.is_(None),
            ApiToken.expires_at > now,
            ApiToken.expires_at <= until,
            User.active.is_(True),
        )
        .order_by(ApiToken.expires_at, ApiToken.id)
    )
    if organisation is not None:
        statement = statement.where(User.organisation == organisation)
    with database.session() as session:
        return [(_token(t), _user(u)) for t, u in session.execute(statement)]


def tokens_of(database: AppDatabase, user_id: int) -> list[TokenRow]:
    statement = select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.id)
    with database.session() as session:
        return [_token(t) for t in session.scalars(statement)]


def tokens_by_prefix(database: AppDatabase, prefix: str) -> list[TokenRow]:
    with database.session() as session:
        return [_token(t) for t in session.scalars(select(ApiToken).where(ApiToken.prefix == prefix))]


def get_token(database: AppDatabase, token_id: int) -> TokenRow | None:
    with database.session() as session:
        token = session.get(ApiToken, token_id)
        return _token(token) if token else None


def unused_recovery_codes(database: AppDatabase, user_id: int) -> int:
    statement = select(RecoveryCode.id).where(RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None))
    with database.session() as session:
        return len(session.scalars(statement).all())


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
        return _user(user)

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
        _locked(session, user_id)
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
        user = _locked(session, user_id)
        user.active, user.updated_at = active, at
        session.flush()
        return _user(user)

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
        user = _locked(session, user_id)
        if user.active:
            return Reactivation(_user(user), False, ())
        still_running = select(Grant).where(Grant.user_id == user_id, Grant.revoked_at.is_(None), Grant.expires_at > at)
        revoked = []
        for grant in session.scalars(still_running.order_by(Grant.id)):
            grant.revoked_at, grant.revoked_by = at, by
            revoked.append(grant)
        user.active, user.updated_at = True, at
        session.flush()
        return Reactivation(_user(user), True, tuple(_grant(g) for g in revoked))

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
        user = _locked(session, user_id)
        user.display_name, user.updated_at = display_name, at
        session.flush()
        return _user(user)

    return audited_change(database, change, event, "the name")


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
        user = _locked(session, user_id)
        user.failed_attempts += 1
        pause = lock_for(user.failed_attempts)
        if pause is not None:
            user.locked_until = at + pause
        session.flush()
        return _user(user)

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
        user = _locked(session, user_id)
        user.failed_attempts, user.locked_until = 0, None
        if new_password_hash is not None:
            user.password_hash = new_password_hash
        session.flush()
        return _user(user)

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
        user = _locked(session, user_id)
        user.password_hash, user.updated_at = password_hash, at
        user.failed_attempts, user.locked_until = 0, None
        session.flush()
        revoke_sessions_in(session, user_id, at)
        return _user(user)

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
        user = _locked(session, user_id)
        user.password_hash, user.updated_at = password_hash, at
        user.failed_attempts, user.locked_until = 0, None
        session.flush()
        return Revocations(_user(user), revoke_sessions_in(session, user_id, at), 0)

    return audited_change(database, change, event, "the password")


def reset_totp(
    database: AppDatabase, user_id: int, *, at: datetime, event: Callable[[Revocations], AuditEvent | None]
) -> Revocations:
    """Forget the user's TOTP secret (confirmed or pending), invalidate its unused recovery codes and
    revoke its sessions, in one transaction: its next sign-in enrols a new authenticator."""

    def change(session: Session) -> Revocations:
        user = _locked(session, user_id)
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
        return Revocations(_user(user), ended, int(getattr(codes, "rowcount", 0) or 0))

    return audited_change(database, change, event, "the TOTP reset")


def set_totp_secret(
    database: AppDatabase, user_id: int, sealed: str, *, at: datetime, event: Callable[[UserRow], AuditEvent | None]
) -> UserRow:
    """A new, unconfirmed TOTP secret (enrolment); the old one, if any, stops working."""

    def change(session: Session) -> UserRow:
        user = _locked(session, user_id)
        user.totp_secret, user.totp_confirmed, user.totp_last_step, user.updated_at = sealed, False, None, at
        session.flush()
        return _user(user)

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
        user = _locked(session, user_id)
        session.refresh(user)
        return _user(user)

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
        _locked(session, user_id)
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
        user = _locked(session, user_id)
        user.failed_attempts, user.locked_until = 0, None
        session.flush()
        return _user(user)

    return audited_change(database, change, event, "the recovery code")


def insert_token(
    database: AppDatabase,
    *,
    user_id: int,
    name: str,
    prefix: str,
    token_hash: str,
    at: datetime,
    expires_at: datetime,
    scopes: Collection[str],
    second_factor: bool,
    event: Callable[[TokenRow], AuditEvent | None],
) -> TokenRow:
    def change(session: Session) -> TokenRow:
        _locked(session, user_id)
        token = ApiToken(
            user_id=user_id,
            name=name,
            prefix=prefix,
            token_hash=token_hash,
            created_at=at,
            last_used_at=None,
            revoked_at=None,
            expires_at=expires_at,
            scopes=" ".join(scopes),
            second_factor=second_factor,
        )
        session.add(token)
        session.flush()
        return _token(token)

    return audited_change(database, change, event, "the API token")


def revoke_token(
    database: AppDatabase, token_id: int, *, at: datetime, event: Callable[[TokenRow], AuditEvent | None]
) -> TokenRow:
    def change(session: Session) -> TokenRow:
        token = session.get(ApiToken, token_id)
        if token is None:
            raise LookupError(f"no token {token_id}")
        if token.revoked_at is None:
            token.revoked_at = at
        session.flush()
        return _token(token)

    return audited_change(database, change, event, "the token revocation")


def touch_token(database: AppDatabase, token_id: int, at: datetime) -> None:
    """Note the token's use (no audit record: the access it serves writes its own)."""
    with database.writer("api-tokens") as connection:
        connection.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=at))
