"""Roles as data (``roles.yaml``): what each role implies, which grants are valid, who may grant what.

Pure: no database, no clock of its own. The rules every other layer derives from:

- a user's rights are the union over the roles of its **valid** grants (:func:`valid_roles`): not
  revoked, not expired, started, and the user active. Anything else counts for nothing (default
  deny); an expired grant stops working at the first check after its expiry;
- :func:`permissions_of` gives the permissions of a set of roles (unknown role names give none);
- :func:`data_level` says what the roles show of the warehouse (none, aggregate, individual);
- :func:`may_grant` says whether an administrator holding some roles may grant (or revoke) a role:
  a system administrator any role, a local administrator a *delegable* role it holds itself;
- :func:`allowed` decides an API endpoint's :class:`Access` rule for a set of roles;
- :func:`scope_permissions` and :func:`scopes_for` read the API token scopes (``token_scopes``): a
  token's permissions are its user's, within the scopes chosen when it was made.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any, Protocol

import yaml

DATA_LEVELS = ("none", "aggregate", "individual")
SYSTEM_ADMIN = "system_admin"
LOCAL_ADMIN = "lokal_admin"
# The permission pairs that work on one organisation or on all of them.
ORG_SCOPED = {
    "manage_users": ("manage_users_own_org", "manage_users_all"),
    "view_audit": ("view_audit_own_org", "view_audit_all"),
}


class RolesError(ValueError):
    """roles.yaml breaks its own rules (unknown permission, bad data level …)."""


@dataclass(frozen=True)
class Role:
    name: str
    label: Mapping[str, str]
    description: str
    data: str  # none | aggregate | individual
    permissions: frozenset[str]
    totp_required: bool
    delegable: bool


@dataclass(frozen=True)
class TokenScope:
    """What an API token may be used for (``token_scopes`` in roles.yaml): a set of permissions."""

    name: str
    label: Mapping[str, str]
    permissions: frozenset[str]


@dataclass(frozen=True)
class RoleBook:
    version: int
    permissions: Mapping[str, str]  # name → description
    roles: Mapping[str, Role]
    token_scopes: Mapping[str, TokenScope] = field(default_factory=dict)


class GrantLike(Protocol):
    @property
    def role(self) -> str: ...
    @property
    def granted_at(self) -> datetime: ...
    @property
    def expires_at(self) -> datetime: ...
    @property
    def revoked_at(self) -> datetime | None: ...


@cache
def role_book() -> RoleBook:
    """The shipped roles (``koes/privacy/roles.yaml``), checked."""
    text = resources.files("koes.privacy").joinpath("roles.yaml").read_text(encoding="utf-8")
    return parse_roles(yaml.safe_load(text))


def parse_roles(data: Any) -> RoleBook:
    if not isinstance(data, dict):
        raise RolesError("roles.yaml must be a mapping")
    permissions = data.get("permissions")
    roles = data.get("roles")
    if not isinstance(permissions, dict) or not isinstance(roles, dict) or not roles:
        raise RolesError("roles.yaml needs `permissions` and `roles` mappings")
    problems: list[str] = []
    parsed: dict[str, Role] = {}
    for name, body in roles.items():
        if not isinstance(body, dict):
            problems.append(f"role {name}: not a mapping")
            continue
        granted = body.get("permissions", [])
        unknown = [p for p in granted if p not in permissions]
        if unknown:
            problems.append(f"role {name}: unknown permission(s) {', '.join(map(str, unknown))}")
        if body.get("data") not in DATA_LEVELS:
            problems.append(f"role {name}: data must be one of {', '.join(DATA_LEVELS)}")
        for flag in ("totp_required", "delegable"):
            if not isinstance(body.get(flag), bool):
                problems.append(f"role {name}: {flag} must be true or false")
        parsed[str(name)] = Role(
            name=str(name),
            label={str(k): str(v) for k, v in (body.get("label") or {}).items()},
            description=str(body.get("description", "")),
            data=str(body.get("data")),
            permissions=frozenset(str(p) for p in granted),
            totp_required=bool(body.get("totp_required")),
            delegable=bool(body.get("delegable")),
        )
    for pair in ORG_SCOPED.values():
        problems += [f"permission {p} is missing" for p in pair if p not in permissions]
    scopes = _token_scopes(data.get("token_scopes"), permissions, problems)
    if problems:
        raise RolesError("; ".join(problems))
    return RoleBook(int(data.get("version", 1)), {str(k): str(v) for k, v in permissions.items()}, parsed, scopes)


def _token_scopes(data: Any, permissions: Mapping[str, Any], problems: list[str]) -> dict[str, TokenScope]:
    """The API token scopes; when there are any, every permission belongs to exactly one of them."""
    if data is None:
        return {}
    if not isinstance(data, dict):
        problems.append("token_scopes must be a mapping")
        return {}
    scopes: dict[str, TokenScope] = {}
    for name, body in data.items():
        granted = body.get("permissions") if isinstance(body, dict) else None
        if not isinstance(granted, list) or not granted:
            problems.append(f"token scope {name}: needs a list of permissions")
            continue
        unknown = [p for p in granted if p not in permissions]
        if unknown:
            problems.append(f"token scope {name}: unknown permission(s) {', '.join(map(str, unknown))}")
        label = {str(k): str(v) for k, v in (body.get("label") or {}).items()}
        scopes[str(name)] = TokenScope(str(name), label, frozenset(str(p) for p in granted))
    for permission in permissions:
        holders = [s.name for s in scopes.values() if permission in s.permissions]
        if len(holders) != 1:
            problems.append(f"permission {permission} must be in exactly one token scope, not {len(holders)}")
    return scopes


def role_names() -> tuple[str, ...]:
    return tuple(role_book().roles)


def permission_names() -> tuple[str, ...]:
    return tuple(role_book().permissions)


def known(roles: Iterable[str]) -> frozenset[str]:
    """The roles of ``roles`` that exist (anything else is ignored: default deny)."""
    book = role_book().roles
    return frozenset(r for r in roles if r in book)


def permissions_of(roles: Iterable[str]) -> frozenset[str]:
    book = role_book().roles
    return frozenset(p for r in roles if r in book for p in book[r].permissions)


def token_scope_names() -> tuple[str, ...]:
    return tuple(role_book().token_scopes)


def scope_permissions(scopes: Iterable[str]) -> frozenset[str]:
    """The permissions an API token with these scopes may use (unknown scope names give none)."""
    book = role_book().token_scopes
    return frozenset(p for s in scopes if s in book for p in book[s].permissions)


def scopes_for(roles: Iterable[str]) -> tuple[str, ...]:
    """The token scopes in which these roles give something: what a token may be made for."""
    held = permissions_of(roles)
    return tuple(s.name for s in role_book().token_scopes.values() if s.permissions & held)


def data_level(roles: Iterable[str]) -> str:
    """``individual`` if any role shows individual-level data, else ``aggregate`` if any shows data, else ``none``."""
    levels = {role_book().roles[r].data for r in known(roles)}
    return next((level for level in reversed(DATA_LEVELS) if level in levels), "none")


def data_roles() -> tuple[str, ...]:
    """The roles that show any data."""
    return tuple(r.name for r in role_book().roles.values() if r.data != "none")


def totp_required(roles: Iterable[str]) -> bool:
    book = role_book().roles
    return any(book[r].totp_required for r in known(roles))


def valid_roles(grants: Iterable[GrantLike], now: datetime, *, active: bool = True) -> frozenset[str]:
    """The known roles of the grants that count at ``now``: started, not expired, not revoked; none if inactive."""
    if not active:
        return frozenset()
    return known(g.role for g in grants if is_valid(g, now))


def is_valid(grant: GrantLike, now: datetime) -> bool:
    revoked = grant.revoked_at is not None and grant.revoked_at <= now
    return grant.granted_at <= now < grant.expires_at and not revoked


def may_grant(actor_roles: Collection[str], role: str, *, same_organisation: bool) -> bool:
    """May an actor with (valid) ``actor_roles`` grant or revoke ``role`` for a user?

    A system administrator may grant any role anywhere; a local administrator only in its own
    organisation, only delegable roles, and only those it holds itself. Nobody else may.
    """
    book = role_book().roles
    if role not in book:
        return False
    held = known(actor_roles)
    if "manage_users_all" in permissions_of(held):
        return True
    if not same_organisation or "manage_users_own_org" not in permissions_of(held):
        return False
    return book[role].delegable and role in held


def grantable_roles(actor_roles: Collection[str]) -> tuple[str, ...]:
    """The roles an actor may grant in its own organisation (all of them for a system administrator)."""
    return tuple(r for r in role_names() if may_grant(actor_roles, r, same_organisation=True))


# --- API endpoints ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Access:
    """Who may call an endpoint.

    ``public``: anyone, without a token. ``signed_in``: any valid token of an active user (its own
    account: /me, its tokens). Otherwise one of ``permissions`` is needed; ``all_orgs`` names the
    permission that reaches every organisation (without it, the endpoint reaches the caller's own
    organisation only, and other organisations' resources answer 404). ``action`` is the audit
    action of a refusal.
    """

    kind: str  # public | signed_in | permission
    permissions: frozenset[str] = frozenset()
    all_orgs: str | None = None
    action: str = "access.denied"

    @property
    def org_scoped(self) -> bool:
        return self.all_orgs is not None


def public() -> Access:
    return Access("public")


def signed_in() -> Access:
    return Access("signed_in")


def needs(permission: str, *, action: str = "access.denied") -> Access:
    """One permission, wherever the caller's organisation is (data: the scope rewrite narrows it)."""
    if permission not in role_book().permissions:
        raise RolesError(f"unknown permission {permission!r}")
    return Access("permission", frozenset({permission}), None, action)


def needs_org(kind: str) -> Access:
    """``manage_users`` or ``view_audit``: the own-organisation permission or the all-organisations one."""
    own, everywhere = ORG_SCOPED[kind]
    return Access("permission", frozenset({own, everywhere}), everywhere)


def allowed(access: Access, roles: Iterable[str] | None) -> bool:
    """May a caller with ``roles`` (None: no valid token) reach the endpoint at all?"""
    if access.kind == "public":
        return True
    if roles is None:
        return False
    if access.kind == "signed_in":
        return True
    return bool(access.permissions & permissions_of(roles))


def reaches_all_orgs(access: Access, roles: Iterable[str]) -> bool:
    """Does the caller reach other organisations' resources through an organisation-scoped endpoint?"""
    return access.all_orgs is None or access.all_orgs in permissions_of(roles)
