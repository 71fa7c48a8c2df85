"""Principals and their scope: which citizens' events a user may see, and how exactly.

An organisation is a municipality, a region or the national authority. Aggregate rights cover
all municipalities (suppressed figures, so users can compare themselves with others);
individual-level rights give exact figures only for the organisation's own citizens: its
municipality, or a region's municipalities. No role, no scope: default deny.

What a role shows is data (``roles.yaml``, :mod:`koes.privacy.roles`). A principal carries only
its *valid* roles: ``koes.services.users.principal_for`` leaves out expired and revoked grants and
gives an inactive user none. The API with ``api_auth = local`` and the CLI's ``koes query`` run as
one configured local principal (``KOES_LOCAL_ORG``, ``KOES_LOCAL_ROLE``); the scope rewrite is the
same one either way.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime

from koes.privacy import roles as role_data
from koes.query.scope import Scope

ROLES = role_data.data_roles()  # the roles that show data (aggregeret, individ)


@dataclass(frozen=True)
class Organisation:
    kind: str  # kommune | region | national
    code: int | None = None  # kommunekode or region code

    @classmethod
    def parse(cls, text: str) -> Organisation:
        """``national``, ``kommune:101`` or ``region:1084``."""
        kind, _, code = text.partition(":")
        if kind == "national" and not code:
            return cls("national")
        if kind in ("kommune", "region") and code.isdigit():
            return cls(kind, int(code))
        raise ValueError(f"organisation {text!r} is not 'national', 'kommune:<kode>' or 'region:<kode>'")

    def __str__(self) -> str:
        return self.kind if self.code is None else f"{self.kind}:{self.code}"


@dataclass(frozen=True)
class TokenLimits:
    """What an API token narrows its user's rights to: the scopes chosen when it was made
    (roles.yaml ``token_scopes``), until it expires."""

    token_id: int
    scopes: frozenset[str]
    expires_at: datetime


@dataclass(frozen=True)
class Principal:
    """Who is asking: a user name, its organisation and its valid roles (``user_id`` for app users).

    ``token`` is set for a caller known by an API token: its permissions are then those of its
    roles within the token's scopes. A signed-in web page and the command line have none."""

    user: str
    organisation: Organisation
    roles: frozenset[str]
    user_id: int | None = None
    token: TokenLimits | None = None

    @property
    def home_municipality(self) -> int | None:
        return self.organisation.code if self.organisation.kind == "kommune" else None

    @property
    def permissions(self) -> frozenset[str]:
        held = role_data.permissions_of(self.roles)
        return held if self.token is None else held & role_data.scope_permissions(self.token.scopes)

    def may(self, permission: str) -> bool:
        return permission in self.permissions


def scope_for(principal: Principal, regions: Mapping[int, Collection[int]]) -> Scope:
    """The principal's scope; ``regions`` maps a region code to its municipalities."""
    everyone = frozenset(k for members in regions.values() for k in members)
    level = role_data.data_level(principal.roles)
    if level == "none":
        return Scope(frozenset())
    exact = _own(principal.organisation, regions, everyone) if level == "individual" else frozenset()
    return Scope(everyone, exact, everywhere=True)


def _own(
    organisation: Organisation, regions: Mapping[int, Collection[int]], everyone: frozenset[int]
) -> frozenset[int]:
    if organisation.kind == "kommune" and organisation.code in everyone:
        return frozenset({organisation.code})
    if organisation.kind == "region" and organisation.code is not None and organisation.code in regions:
        return frozenset(regions[organisation.code])
    if organisation.kind == "national":
        return everyone
    return frozenset()
