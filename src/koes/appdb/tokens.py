"""API tokens: stored by hash with a lookup prefix, scopes, expiry, revocation and last use.
Storage only; the rules live in :mod:`koes.services.tokens`. Every change is written with its audit
record in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from koes.appdb.audit import audited_change
from koes.appdb.database import AppDatabase
from koes.appdb.models import ApiToken, User
from koes.appdb.users import UserRow, locked_user, user_row
from koes.privacy.audit import AuditEvent


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
        return [(_token(t), user_row(u)) for t, u in session.execute(statement)]


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
        locked_user(session, user_id)
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
