"""API tokens: made by a user for itself (or by an administrator for a user), shown once, stored hashed.

A token is ``koes_`` followed by 32 random bytes (base64url). The database keeps its SHA-256 and
its first 13 characters (the *prefix*, to find the row and to name the token in a list), never the
token. :meth:`TokenService.authenticate` finds the rows with the presented token's prefix and
compares the hashes in constant time.

A token has the rights of its user **at the time of use**, narrowed three ways (issue 17.6):

- it **expires**: ``Settings.token_days`` (30) after it was made unless its maker chooses fewer or
  more days, never more than ``Settings.token_max_days`` (90); a token made with a token ends no
  later than the token that made it, so no token renews itself for ever;
- it has **scopes**, chosen when it is made (roles.yaml ``token_scopes``: ``analyses``, ``exports``,
  ``cohorts``, ``administration``): its permissions are its user's within them. Without a choice,
  the scopes the user's roles give at that moment; a token made with a token has at most its scopes;
- it carries the roles that need TOTP (``individ``, the administrator roles) only if it was made
  in a web session that passed TOTP (``/account/tokens``) or by an administrator. A user holding
  such a role cannot make a token otherwise at all (a 403, audited): its exact figures never hang
  on a password alone.

The principal is built afresh from the user's valid grants on every call, so a deactivated user's
tokens stop at once (no principal: 401), an expired token too, and an expired grant stops giving
its rights at once (403 where it was needed). Its use is audited as the user's: every record names
the user and its organisation, exactly as for a signed-in page.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from koes.appdb import tokens as token_store
from koes.appdb import users as store
from koes.appdb.tokens import TokenRow
from koes.appdb.users import UserRow
from koes.domain.cpr import mask_cpr
from koes.privacy import roles as role_data
from koes.privacy.access import Principal, TokenLimits
from koes.privacy.credentials import PREFIX_LENGTH, looks_like_token, new_token, same_hash, token_hash
from koes.query.request import FieldProblem
from koes.services.audit import AuditTrail
from koes.services.errors import Clock, ForbiddenError, InvalidInputError, NotFoundError, utc_now
from koes.services.refusals import audits_refusals
from koes.services.user_records import admin_event
from koes.services.users import UserService
from koes.settings import Settings

MAX_NAME = 100
TOUCH_EVERY = timedelta(minutes=1)  # last_used_at is written at most once a minute per token


@dataclass(frozen=True)
class TokenPolicy:
    """How long tokens last: ``default_days`` unless chosen, at most ``max_days``."""

    default_days: int = 30
    max_days: int = 90

    def __post_init__(self) -> None:
        if not 1 <= self.default_days <= self.max_days:
            raise ValueError(
                f"API token days: the default ({self.default_days}) must be between 1 and the maximum ({self.max_days})"
            )

    @classmethod
    def from_settings(cls, settings: Settings) -> TokenPolicy:
        return cls(settings.token_days, settings.token_max_days)


@dataclass(frozen=True)
class TokenInfo:
    id: int
    user_id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    expires_at: datetime
    scopes: tuple[str, ...]
    second_factor: bool  # carries the roles that need TOTP (made after TOTP, or by an administrator)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "prefix": self.prefix,
            "created_at": self.created_at.isoformat(),
            "last_used_at": self.last_used_at.isoformat() if self.last_used_at else None,
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
            "expires_at": self.expires_at.isoformat(),
            "scopes": list(self.scopes),
            "second_factor": self.second_factor,
        }


@dataclass(frozen=True)
class ExpiringToken:
    """A token on the recertification list: whose it is, and when it ends."""

    info: TokenInfo
    username: str
    organisation: str

    def to_json(self) -> dict[str, Any]:
        return {**self.info.to_json(), "user_id": self.info.user_id, "username": self.username,
                "organisation": self.organisation}  # fmt: skip


@dataclass(frozen=True)
class CreatedToken:
    info: TokenInfo
    secret: str  # shown once; only its hash is stored

    def __repr__(self) -> str:
        return f"CreatedToken(info={self.info!r}, secret=…)"

    def to_json(self) -> dict[str, Any]:
        return {**self.info.to_json(), "token": self.secret}


@dataclass(frozen=True)
class _Asked:
    name: str
    scopes: tuple[str, ...]
    days: int


def _info(row: TokenRow) -> TokenInfo:
    return TokenInfo(
        row.id,
        row.user_id,
        row.name,
        row.prefix,
        row.created_at,
        row.last_used_at,
        row.revoked_at,
        row.expires_at,
        row.scopes,
        row.second_factor,
    )


class TokenService:
    def __init__(
        self,
        trail: AuditTrail,
        users: UserService | None = None,
        clock: Clock | None = None,
        policy: TokenPolicy | None = None,
    ) -> None:
        self.trail = trail
        self.database = trail.database
        self.users = users or UserService(trail, clock=clock or utc_now)
        self.clock = clock or self.users.clock
        self.policy = policy or TokenPolicy()

    @audits_refusals("token.create", "create an API token")
    def create(
        self,
        principal: Principal,
        name: str = "api",
        *,
        scopes: Collection[str] | None = None,
        days: int | None = None,
        second_factor: bool = False,
    ) -> CreatedToken:
        """A new token for the caller itself. ``second_factor``: the caller is a web session that
        passed TOTP (only then may a user whose roles need TOTP make one)."""
        if principal.user_id is None:
            raise ForbiddenError("only a stored user has API tokens")
        roles = self.users.principal_for(principal.user_id).roles  # all valid roles, second factor or not
        if role_data.totp_required(roles) and not (second_factor and principal.token is None):
            raise ForbiddenError(
                "your roles need a second factor: make API tokens on the web page /account/tokens after signing in "
                "with your code, or ask an administrator",
                "token_totp",
            )
        asked = self._checked(name, roles, scopes, days, principal.token)
        return self._create(principal, principal.user_id, asked, second_factor, principal.token)

    @audits_refusals("token.create", "create an API token for user #{user_id}")
    def create_for(
        self,
        actor: Principal,
        user_id: int,
        name: str = "api",
        *,
        scopes: Collection[str] | None = None,
        days: int | None = None,
    ) -> CreatedToken:
        """A new token for a user the actor manages (an administrator, or the operator at the command
        line). An administrator vouches for the user: the token carries its roles that need TOTP. It
        sees the secret, so it makes tokens only for users whose every role it may grant itself."""
        target = self.users.user(actor, user_id)  # 404 unless the actor manages the user
        if actor.user_id is not None and actor.user_id == user_id:
            raise ForbiddenError("make your own tokens on your account page, not as an administrator", "token_self")
        # The administrator learns the secret: the token may carry only roles it could grant itself.
        same = target.organisation == str(actor.organisation)
        beyond = sorted(r for r in target.roles if not role_data.may_grant(actor.roles, r, same_organisation=same))
        if beyond:
            raise ForbiddenError(
                f"the user holds {', '.join(beyond)}, which your roles do not let you grant: no token from you",
                "token_roles",
            )
        asked = self._checked(name, target.roles, scopes, days, None)
        return self._create(actor, user_id, asked, True, actor.token)

    def _checked(
        self,
        name: str,
        roles: frozenset[str],
        scopes: Collection[str] | None,
        days: int | None,
        token: TokenLimits | None,
    ) -> _Asked:
        """What a new token is asked to be, checked: every problem of the name, the scopes and the days at once."""
        problems: list[FieldProblem] = []
        clean = " ".join(name.split())
        if not clean or len(clean) > MAX_NAME or "\x00" in clean or not _storable(clean):
            problems.append(FieldProblem("name", f"1–{MAX_NAME} characters", "token_name"))
        if mask_cpr(clean) != clean:
            problems.append(FieldProblem("name", "must not contain a CPR-shaped number", "token_name_cpr"))
        chosen = self._scopes(roles, scopes, token, problems)
        count = self.policy.default_days if days is None else days
        if isinstance(count, bool) or not 1 <= count <= self.policy.max_days:
            problems.append(
                FieldProblem(
                    "days",
                    f"a whole number of days from 1 to {self.policy.max_days}",
                    "token_days",
                    (("max", str(self.policy.max_days)),),
                )
            )
        if problems:
            raise InvalidInputError(problems)
        if token is not None and not set(chosen) <= token.scopes:
            raise ForbiddenError("a token cannot make a token with scopes it has not got", "token_scopes")
        return _Asked(clean, chosen, count)

    @staticmethod
    def _scopes(
        roles: frozenset[str], scopes: Collection[str] | None, token: TokenLimits | None, problems: list[FieldProblem]
    ) -> tuple[str, ...]:
        """The scopes a new token gets: the ones asked for, each known and useful to the user's roles;
        by default every scope the roles give (within the making token's, if a token makes it)."""
        usable = role_data.scopes_for(roles)
        known = role_data.token_scope_names()
        if scopes is None:  # by default; a user without roles gets a token for /me only
            return tuple(s for s in usable if token is None or s in token.scopes)
        chosen = list(dict.fromkeys(scopes))
        problems += [
            FieldProblem("scopes", f"{s!r} is not one of {', '.join(known)}", "token_scope_unknown")
            for s in chosen
            if s not in known
        ]
        problems += [
            FieldProblem("scopes", f"your roles give nothing in the scope {s}", "token_scope_useless")
            for s in chosen
            if s in known and s not in usable
        ]
        if not chosen:
            problems.append(FieldProblem("scopes", "choose at least one scope", "token_scope_none"))
        return tuple(s for s in known if s in chosen)

    def _create(
        self, actor: Principal, user_id: int, asked: _Asked, second_factor: bool, token: TokenLimits | None
    ) -> CreatedToken:
        """Store the token (it ends no later than the token that made it, if one did)."""
        user = store.get_user(self.database, user_id)
        if user is None:
            raise NotFoundError("no such user")
        if not user.active:
            raise ForbiddenError("the user is deactivated")
        now = self.clock()
        expires_at = now + timedelta(days=asked.days)
        if token is not None:
            expires_at = min(expires_at, token.expires_at)
        fresh = new_token()
        row = token_store.insert_token(
            self.database,
            user_id=user_id,
            name=asked.name,
            prefix=fresh.prefix,
            token_hash=fresh.digest,
            at=now,
            expires_at=expires_at,
            scopes=asked.scopes,
            second_factor=second_factor,
            event=lambda t: admin_event(actor, "token.create", now, _created_text(t, user), t.id),
        )
        return CreatedToken(_info(row), fresh.secret)

    @audits_refusals("access.denied", "read the recertification list")
    def expiring(self, actor: Principal, within_days: int = 30) -> list[ExpiringToken]:
        """Unrevoked tokens of the users ``actor`` manages that end within ``within_days`` days,
        soonest first: the recertification list's tokens (renew them or let them lapse)."""
        organisation = self.users.managed_organisation(actor)
        now = self.clock()
        rows = token_store.expiring_tokens(self.database, now, now + timedelta(days=within_days), organisation)
        return [ExpiringToken(_info(t), u.username, u.organisation) for t, u in rows]

    @audits_refusals("token.revoke", "revoke API token #{token_id}")
    def revoke(self, principal: Principal, token_id: int) -> TokenInfo:
        """Revoke one of the caller's own tokens (another user's token is not found)."""
        row = token_store.get_token(self.database, token_id)
        if row is None or principal.user_id is None or row.user_id != principal.user_id:
            raise NotFoundError("no such token")
        return self._revoke(principal, row)

    @audits_refusals("token.revoke", "revoke API token #{token_id}")
    def revoke_for(self, actor: Principal, token_id: int, user_id: int | None = None) -> TokenInfo:
        """Revoke a token of a user the actor manages (of ``user_id``, when given: else not found)."""
        row = token_store.get_token(self.database, token_id)
        if row is None or (user_id is not None and row.user_id != user_id):
            raise NotFoundError("no such token")
        self.users.user(actor, row.user_id)
        return self._revoke(actor, row)

    def _revoke(self, actor: Principal, row: TokenRow) -> TokenInfo:
        if row.revoked_at is not None:
            return _info(row)
        now = self.clock()
        done = token_store.revoke_token(
            self.database,
            row.id,
            at=now,
            event=lambda t: admin_event(actor, "token.revoke", now, f"API token #{t.id} revoked", t.id),
        )
        return _info(done)

    def authenticate(self, secret: str) -> Principal | None:
        """The principal a presented token stands for now, or None (unknown, revoked, expired, inactive user)."""
        if not looks_like_token(secret):
            return None
        digest = token_hash(secret)
        match = None
        for row in token_store.tokens_by_prefix(self.database, secret[:PREFIX_LENGTH]):
            if same_hash(row.token_hash, digest) and match is None:
                match = row
        now = self.clock()
        if match is None or match.revoked_at is not None or match.expires_at <= now:
            return None
        user = store.get_user(self.database, match.user_id)
        if user is None or not user.active:
            return None
        if match.last_used_at is None or now - match.last_used_at >= TOUCH_EVERY:
            token_store.touch_token(self.database, match.id, now)
        principal = self.users.principal_for(user.id, second_factor=match.second_factor)
        limits = TokenLimits(match.id, frozenset(match.scopes), match.expires_at)
        return dataclasses.replace(principal, token=limits)

    # Last: inside the class body, the name ``list`` means this method from here on.
    def list(self, principal: Principal) -> list[TokenInfo]:
        """The caller's own tokens, oldest first (never the tokens themselves)."""
        if principal.user_id is None:
            return []
        return [_info(t) for t in token_store.tokens_of(self.database, principal.user_id)]


def _storable(text: str) -> bool:
    """No lone surrogate (JSON's ``"\\ud800"`` decodes to one, and no database takes it)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _created_text(token: TokenRow, user: UserRow) -> str:
    how = "carries the roles that need TOTP" if token.second_factor else "without the roles that need TOTP"
    return (
        f"API token #{token.id} created for {user.username}: scopes {', '.join(token.scopes)}; "
        f"until {token.expires_at.date().isoformat()}; {how}"
    )
