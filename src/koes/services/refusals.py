"""Every refusal is audited: one ``denied`` record for each 403, and for each 404 that hides what the
caller may not reach.

The permission gates (the API's :func:`koes.web.auth.authorise`, the pages'
:func:`koes.web.pages.common.refused`) record a caller whose roles lack the permission. The rules
inside the services refuse by raising :class:`ForbiddenError` (a local administrator granting
``system_admin``, ``lokal_admin`` or a role it lacks; anyone granting itself a role or deactivating
itself …) or :class:`NotFoundError` (another organisation's user, grant, token or saved analysis,
answered exactly like an id that does not exist). Each service method that carries such a rule is
wrapped with :func:`audits_refusals`: the refusal is recorded before the error travels on, once,
by the outermost wrapped method (the operation the caller asked for, not a check it made on the
way), however many wrapped methods it passes through.

A "not found" answered to a caller who reaches every organisation (``hides`` false) is a plain
absence and no refusal. A record of a "not found" does not say whether the id exists elsewhere: a
local administrator reads its own organisation's records and must not learn there what the 404
hid. The ids themselves are in the summary, so an enumeration of ids shows as a run of such
records.
"""

from __future__ import annotations

import functools
import inspect
import json
from collections.abc import Callable
from contextvars import ContextVar
from datetime import datetime
from typing import Any, ParamSpec, Protocol, TypeVar

from koes.privacy.access import Principal
from koes.privacy.audit import AuditEvent, request_hash
from koes.services.audit import AuditTrail, safe_text

__all__ = ["RefusalError", "audits_refusals", "record_refusal", "recorded", "refusal_event"]

P = ParamSpec("P")
T = TypeVar("T")
NOT_FOUND = "not found (no such id, or not one the caller may reach)"
_RECORDED = "_koes_refusal_recorded"
_depth: ContextVar[int] = ContextVar("koes_refusal_depth", default=0)  # wrapped methods running now


class RefusalError(Exception):
    """What the services raise to refuse (``ForbiddenError`` and ``NotFoundError`` derive from it)."""


class HasTrail(Protocol):
    trail: AuditTrail
    clock: Callable[[], datetime]


def refusal_event(actor: Principal, action: str, attempt: str, error: BaseException, at: datetime) -> AuditEvent:
    """The ``denied`` record of ``actor``'s ``attempt`` (``action``: the attempted change, or
    ``access.denied`` for a reading)."""
    why = NOT_FOUND if isinstance(error, LookupError) else (str(error) or "refused")
    summary = safe_text(f"{attempt}: refused, {why}")
    change = json.dumps({"action": action, "attempt": attempt, "why": why}, sort_keys=True, ensure_ascii=False)
    return AuditEvent(
        at=at,
        user=actor.user,
        organisation=str(actor.organisation),
        action=action,
        summary=summary,
        request_hash=request_hash(change),
        scope="",
        outcome="denied",
    )


def recorded(error: BaseException) -> bool:
    """Has this refusal been written to the audit trail already?"""
    return bool(getattr(error, _RECORDED, False))


def record_refusal(
    trail: AuditTrail, actor: Principal, action: str, attempt: str, error: BaseException, at: datetime
) -> None:
    """Write the refusal's record, unless an inner method did already."""
    if recorded(error):
        return
    trail.record(refusal_event(actor, action, attempt, error, at))
    setattr(error, _RECORDED, True)


def audits_refusals(action: str, attempt: str) -> Callable[[Callable[P, T]], Callable[P, T]]:
    """Record every :class:`RefusalError` of the wrapped service method (its first argument after ``self``
    is the acting principal). ``attempt`` is a readable line with the method's arguments by name,
    e.g. ``"grant {role} to user #{user_id}"`` (an argument that is None reads "all")."""

    def wrap(method: Callable[P, T]) -> Callable[P, T]:
        signature = inspect.signature(method)

        @functools.wraps(method)
        def wrapped(*args: P.args, **kwargs: P.kwargs) -> T:
            outermost = _depth.get() == 0
            token = _depth.set(_depth.get() + 1)
            try:
                return method(*args, **kwargs)
            except RefusalError as error:
                if outermost:
                    _record(signature.bind(*args, **kwargs), action, attempt, error)
                raise
            finally:
                _depth.reset(token)

        return wrapped

    return wrap


def _record(bound: inspect.BoundArguments, action: str, attempt: str, error: BaseException) -> None:
    bound.apply_defaults()
    arguments: dict[str, Any] = dict(bound.arguments)
    service: HasTrail = arguments.pop("self")
    actor = next(iter(arguments.values()), None)
    if isinstance(error, LookupError) and not getattr(error, "hides", True):
        return  # a plain absence for a caller who reaches everything: nothing was refused
    if isinstance(actor, Principal):
        shown = {name: "all" if value is None else value for name, value in arguments.items()}
        record_refusal(service.trail, actor, action, attempt.format_map(shown), error, service.clock())
