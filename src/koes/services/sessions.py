"""Web sessions, kept server-side in the app database.

The browser holds a random token (cookie ``koes_session``); the database keeps only its SHA-256,
with the user, the sign-in state, a CSRF token and the times. A session ends when it is revoked
(sign-out, rotation), after ``session_idle_minutes`` without a request, or ``session_absolute_hours``
after it was made. Every step of a sign-in makes a **new** session and revokes the one before
(rotation), so a token seen before the sign-in is worthless after it.

States: ``anonymous`` (a sign-in form was shown: the session only carries its CSRF token),
``password_ok`` (the password was right; a second factor or TOTP enrolment is still due) and
``signed_in``.

Ended sessions are useless rows: :meth:`SessionService.purge` deletes them (revoked, idle or too old,
exactly the sessions :meth:`SessionService.find` would refuse). The web app runs it at start-up and
every :data:`PURGE_EVERY` (:func:`start_session_sweeper`); ``koes sessions purge`` runs it by hand.
Only session rows go: sign-ins and refusals are in the audit trail, which this never touches.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from koes.appdb import sessions as store
from koes.appdb.sessions import SessionRow
from koes.services.audit import AuditTrail
from koes.services.errors import Clock, utc_now
from koes.settings import Settings

log = logging.getLogger(__name__)

STATES = ("anonymous", "password_ok", "signed_in")
TOUCH_EVERY = timedelta(seconds=30)  # last_seen_at is written at most this often per session
# Every visit to the sign-in page makes an (anonymous) session: without a sweep the table only grows.
PURGE_EVERY = timedelta(minutes=15)


@dataclass(frozen=True)
class WebSession:
    token_hash: str
    user_id: int | None
    state: str
    csrf_token: str
    created_at: datetime
    last_seen_at: datetime
    second_factor: bool = False  # the sign-in passed TOTP, a recovery code or the broker's MFA

    def __repr__(self) -> str:
        return f"WebSession(user_id={self.user_id!r}, state={self.state!r}, …)"

    def csrf_ok(self, presented: str | None) -> bool:
        return bool(presented) and hmac.compare_digest(self.csrf_token.encode(), (presented or "").encode())


@dataclass(frozen=True)
class NewSession:
    session: WebSession
    token: str  # for the cookie; only its hash is stored

    def __repr__(self) -> str:
        return f"NewSession({self.session!r}, token=…)"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _session(row: SessionRow) -> WebSession:
    return WebSession(
        row.id, row.user_id, row.state, row.csrf_token, row.created_at, row.last_seen_at, row.second_factor
    )


class SessionService:
    def __init__(self, trail: AuditTrail, settings: Settings, clock: Clock = utc_now) -> None:
        self.database = trail.database
        self.clock = clock
        self.idle = timedelta(minutes=settings.session_idle_minutes)
        self.absolute = timedelta(hours=settings.session_absolute_hours)

    def start(
        self,
        state: str = "anonymous",
        user_id: int | None = None,
        *,
        replaces: str | None = None,
        second_factor: bool = False,
    ) -> NewSession:
        """A new session (revoking the one it replaces, if any: rotation). ``second_factor``: the
        sign-in passed one, so the user's roles that need TOTP count in this session."""
        if state not in STATES:
            raise ValueError(f"unknown session state {state!r}")
        if (state == "anonymous") != (user_id is None):
            raise ValueError("an anonymous session has no user, any other has one")
        now = self.clock()
        if replaces is not None:
            self.end(replaces)
        token = secrets.token_urlsafe(32)
        row = store.insert_session(
            self.database,
            session_id=_hash(token),
            user_id=user_id,
            state=state,
            csrf_token=secrets.token_urlsafe(32),
            at=now,
            second_factor=second_factor and state == "signed_in",
        )
        return NewSession(_session(row), token)

    def find(self, token: str | None) -> WebSession | None:
        """The live session of a cookie token, or None (unknown, revoked, idle or too old)."""
        if not token or len(token) > 200:
            return None
        row = store.get_session(self.database, _hash(token))
        if row is None or row.revoked_at is not None:
            return None
        now = self.clock()
        if now - row.last_seen_at > self.idle or now - row.created_at > self.absolute:
            store.revoke_session(self.database, row.id, now)
            return None
        if now - row.last_seen_at >= TOUCH_EVERY:
            store.touch_session(self.database, row.id, now)
        return _session(row)

    def end(self, token_hash: str) -> None:
        """Revoke one session (sign-out, or the old session of a rotation)."""
        store.revoke_session(self.database, token_hash, self.clock())

    def end_all(self, user_id: int) -> int:
        """Revoke every session of a user (say, after deactivation); how many there were."""
        return store.revoke_sessions_of(self.database, user_id, self.clock())

    def purge(self) -> int:
        """Delete the rows of every ended session (revoked, idle or past the absolute limit); how many."""
        now = self.clock()
        return store.delete_ended_sessions(
            self.database, seen_before=now - self.idle, created_before=now - self.absolute
        )


def start_session_sweeper(
    sessions: SessionService, stop: threading.Event, every: timedelta = PURGE_EVERY
) -> threading.Thread:
    """Purge ended sessions now and then every ``every``, in a daemon thread, until ``stop`` is set.

    A failed sweep is logged and tried again at the next turn: it must never take the app down."""

    def sweep() -> None:
        while not stop.is_set():
            try:
                count = sessions.purge()
                if count:
                    log.info("deleted %d ended session(s)", count)
            except Exception:
                log.warning("purging ended sessions failed", exc_info=True)
            stop.wait(every.total_seconds())

    thread = threading.Thread(target=sweep, name="koes-session-sweeper", daemon=True)
    thread.start()
    return thread
