"""API tokens: created by a user for itself (or by the operator for a user), shown once, stored hashed.

A token is ``koes_`` followed by 32 random bytes (base64url). The database keeps its SHA-256 and
its first 13 characters (the *prefix*, to find the row and to name the token in a list), never the
token. :meth:`TokenService.authenticate` finds the rows with the presented token's prefix and
compares the hashes in constant time. A token has exactly the rights of its user **at the time of
use**: the principal is built afresh from the user's valid grants on every call, so a deactivated
user's tokens stop at once (no principal: 401) and an expired grant stops giving its rights at once
(403 where it was needed).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from koes.appdb import users as store
from koes.appdb.users import TokenRow
from koes.domain.cpr import mask_cpr
from koes.privacy.access import Principal
from koes.privacy.credentials import PREFIX_LENGTH, looks_like_token, new_token, same_hash, token_hash
from koes.query.request import FieldProblem
from koes.services.audit import AuditTrail
from koes.services.refusals import audits_refusals
from koes.services.users import (
    Clock,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
    UserService,
    admin_event,
    utc_now,
)

MAX_NAME = 100
TOUCH_EVERY = timedelta(minutes=1)  # last_used_at is written at most once a minute per token


@dataclass(frozen=True)
class TokenInfo:
    id: int
    user_id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "prefix": self.prefix,
            "created_at": self.created_at.isoformat(),
            "last_used_at": self.last_used_at.isoformat() if self.last_used_at else None,
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
        }


@dataclass(frozen=True)
class CreatedToken:
    info: TokenInfo
    secret: str  # shown once; only its hash is stored

    def __repr__(self) -> str:
        return f"CreatedToken(info={self.info!r}, secret=…)"

    def to_json(self) -> dict[str, Any]:
        return {**self.info.to_json(), "token": self.secret}


def _info(row: TokenRow) -> TokenInfo:
    return TokenInfo(row.id, row.user_id, row.name, row.prefix, row.created_at, row.last_used_at, row.revoked_at)


class TokenService:
    def __init__(self, trail: AuditTrail, users: UserService | None = None, clock: Clock | None = None) -> None:
        self.trail = trail
        self.database = trail.database
        self.users = users or UserService(trail, clock=clock or utc_now)
        self.clock = clock or self.users.clock

    @audits_refusals("token.create", "create an API token")
    def create(self, principal: Principal, name: str = "api") -> CreatedToken:
        """A new token for the caller itself (any signed-in, stored user)."""
        if principal.user_id is None:
            raise ForbiddenError("only a stored user has API tokens")
        return self._create(principal, principal.user_id, name)

    @audits_refusals("token.create", "create an API token for user #{user_id}")
    def create_for(self, actor: Principal, user_id: int, name: str = "api") -> CreatedToken:
        """A new token for a user the actor manages (the operator at the command line, an administrator)."""
        self.users.user(actor, user_id)  # 404 unless the actor manages the user
        return self._create(actor, user_id, name)

    def _create(self, actor: Principal, user_id: int, name: str) -> CreatedToken:
        name = " ".join(name.split())
        if not name or len(name) > MAX_NAME:
            raise InvalidInputError([FieldProblem("name", f"1–{MAX_NAME} characters")])
        if mask_cpr(name) != name:
            raise InvalidInputError([FieldProblem("name", "must not contain a CPR-shaped number")])
        user = store.get_user(self.database, user_id)
        if user is None:
            raise NotFoundError("no such user")
        if not user.active:
            raise ForbiddenError("the user is deactivated")
        fresh = new_token()
        now = self.clock()
        row = store.insert_token(
            self.database,
            user_id=user_id,
            name=name,
            prefix=fresh.prefix,
            token_hash=fresh.digest,
            at=now,
            event=lambda t: admin_event(
                actor, "token.create", now, f"API token #{t.id} created for {user.username}", t.id
            ),
        )
        return CreatedToken(_info(row), fresh.secret)

    def list(self, principal: Principal) -> list[TokenInfo]:
        if principal.user_id is None:
            return []
        return [_info(t) for t in store.tokens_of(self.database, principal.user_id)]

    @audits_refusals("token.revoke", "revoke API token #{token_id}")
    def revoke(self, principal: Principal, token_id: int) -> TokenInfo:
        """Revoke one of the caller's own tokens (another user's token is not found)."""
        row = store.get_token(self.database, token_id)
        if row is None or principal.user_id is None or row.user_id != principal.user_id:
            raise NotFoundError("no such token")
        return self._revoke(principal, row)

    @audits_refusals("token.revoke", "revoke API token #{token_id}")
    def revoke_for(self, actor: Principal, token_id: int) -> TokenInfo:
        """Revoke a token of a user the actor manages."""
        row = store.get_token(self.database, token_id)
        if row is None:
            raise NotFoundError("no such token")
        self.users.user(actor, row.user_id)
        return self._revoke(actor, row)

    def _revoke(self, actor: Principal, row: TokenRow) -> TokenInfo:
        if row.revoked_at is not None:
            return _info(row)
        now = self.clock()
        done = store.revoke_token(
            self.database,
            row.id,
            at=now,
            event=lambda t: admin_event(actor, "token.revoke", now, f"API token #{t.id} revoked", t.id),
        )
        return _info(done)

    def authenticate(self, secret: str) -> Principal | None:
        """The principal a presented token stands for now, or None (unknown, revoked, inactive user)."""
        if not looks_like_token(secret):
            return None
        digest = token_hash(secret)
        match = None
        for row in store.tokens_by_prefix(self.database, secret[:PREFIX_LENGTH]):
            if same_hash(row.token_hash, digest) and match is None:
                match = row
        if match is None or match.revoked_at is not None:
            return None
        user = store.get_user(self.database, match.user_id)
        if user is None or not user.active:
            return None
        now = self.clock()
        if match.last_used_at is None or now - match.last_used_at >= TOUCH_EVERY:
            store.touch_token(self.database, match.id, now)
        return self.users.principal_for(user.id)
