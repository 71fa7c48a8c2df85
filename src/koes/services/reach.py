"""Whom an administrator reaches: its own organisation, or every one (``roles.yaml``'s org-scoped permissions).

``kind`` is an org-scoped permission pair of :data:`koes.privacy.roles.ORG_SCOPED` (``manage_users``,
``view_audit``): the first member reaches the actor's own organisation, the second every one. What
lies beyond the actor's reach is *not found* (never forbidden), so an administrator cannot learn
that another organisation's user exists.
"""

from __future__ import annotations

from koes.privacy import roles as role_data
from koes.privacy.access import Organisation, Principal
from koes.query.request import FieldProblem
from koes.services.errors import ForbiddenError, InvalidInputError, NotFoundError


def require(actor: Principal, kind: str) -> None:
    """ForbiddenError unless the actor holds ``kind`` for its own organisation or every one."""
    if not set(role_data.ORG_SCOPED[kind]) & actor.permissions:
        raise ForbiddenError(f"your roles do not include {kind.replace('_', ' ')}")


def reaches_all(actor: Principal, kind: str) -> bool:
    return role_data.ORG_SCOPED[kind][1] in actor.permissions


def may_reach(actor: Principal, kind: str, organisation: str) -> bool:
    own, everywhere = role_data.ORG_SCOPED[kind]
    return everywhere in actor.permissions or (own in actor.permissions and organisation == str(actor.organisation))


def reach(actor: Principal, kind: str, organisation: str) -> None:
    """NotFoundError unless the actor reaches ``organisation``."""
    if not may_reach(actor, kind, organisation):
        raise not_found(actor, kind, "no such organisation")


def not_found(actor: Principal, kind: str, message: str) -> NotFoundError:
    """A 404 for ``actor``: a refusal to audit unless it reaches every organisation."""
    return NotFoundError(message, hides=not reaches_all(actor, kind))


def organisation_key(text: str) -> str:
    """The organisation's canonical key; InvalidInputError naming the accepted forms."""
    try:
        return str(Organisation.parse(text))
    except ValueError as exc:
        raise InvalidInputError([FieldProblem("organisation", str(exc), "user_organisation")]) from None
