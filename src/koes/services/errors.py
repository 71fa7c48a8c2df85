"""What a service refuses with, and the clock every service reads the time from.

:class:`NotFoundError` and :class:`ForbiddenError` are refusals (audited where
:func:`~koes.services.refusals.audits_refusals` wraps the operation); :class:`InvalidInputError`
carries every problem by field; :class:`ConflictError` is a change that contradicts what is
stored. The web layer maps them to 404, 403, 400 and 409 (``koes.web.errors``), the CLI to exit
codes. A :data:`Clock` is injected so that tests can set the time.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from koes.appdb.database import ConflictError
from koes.query.request import RequestError
from koes.services.refusals import RefusalError

__all__ = ["Clock", "ConflictError", "ForbiddenError", "InvalidInputError", "NotFoundError", "utc_now"]

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class NotFoundError(RefusalError, LookupError):
    """Nothing there for this caller: it does not exist, or it belongs to an organisation the caller cannot reach.

    ``hides`` is false when the caller reaches every organisation (a system administrator, the
    operator): then "not found" is a plain absence, hides nothing and is no refusal to audit."""

    def __init__(self, message: str, *, hides: bool = True) -> None:
        super().__init__(message)
        self.hides = hides


class ForbiddenError(RefusalError, PermissionError):
    """The caller's roles do not allow this (the message says which rule, never another organisation's data).

    ``code`` names the rule (``grant_self``, ``grant_role`` …) so a page can say it in the user's
    language; the message is the English text the API and the CLI show."""

    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(message)
        self.code = code


class InvalidInputError(RequestError):
    """Bad input, every problem by field (the password's problems all at once)."""
