"""Web sessions: storage only (the rules — timeouts, rotation, CSRF — live in koes.services.sessions)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from koes.appdb.database import AppDatabase
from koes.appdb.models import WebSession


@dataclass(frozen=True)
class SessionRow:
    id: str  # SHA-256 of the cookie token
    user_id: int | None
    state: str
    csrf_token: str
    created_at: datetime
    last_seen_at: datetime
    revoked_at: datetime | None
    second_factor: bool = False

    def __repr__(self) -> str:
        return f"SessionRow(user_id={self.user_id!r}, state={self.state!r}, …)"


def _row(s: WebSession) -> SessionRow:
    return SessionRow(
        s.id, s.user_id, s.state, s.csrf_token, s.created_at, s.last_seen_at, s.revoked_at, s.second_factor
    )


def insert_session(
    database: AppDatabase,
    *,
    session_id: str,
    user_id: int | None,
    state: str,
    csrf_token: str,
    at: datetime,
    second_factor: bool = False,
) -> SessionRow:
    with database.session() as db:
        row = WebSession(
            id=session_id,
            user_id=user_id,
            state=state,
            csrf_token=csrf_token,
            created_at=at,
            last_seen_at=at,
            revoked_at=None,
            second_factor=second_factor,
        )
        db.add(row)
        db.flush()
        return _row(row)


def get_session(database: AppDatabase, session_id: str) -> SessionRow | None:
    with database.session() as db:
        row = db.scalar(select(WebSession).where(WebSession.id == session_id))
        return _row(row) if row is not None else None


def touch_session(database: AppDatabase, session_id: str, at: datetime) -> None:
    with database.session() as db:
        db.execute(
            update(WebSession)
            .where(WebSession.id == session_id, WebSession.revoked_at.is_(None))
            .values(last_seen_at=at)
        )


def revoke_session(database: AppDatabase, session_id: str, at: datetime) -> None:
    with database.session() as db:
        db.execute(
            update(WebSession).where(WebSession.id == session_id, WebSession.revoked_at.is_(None)).values(revoked_at=at)
        )


def revoke_sessions_of(database: AppDatabase, user_id: int, at: datetime) -> int:
    with database.session() as db:
        return revoke_sessions_in(db, user_id, at)


def revoke_sessions_in(db: Session, user_id: int, at: datetime) -> int:
    """Revoke every live session of a user inside the caller's transaction (a change that must end
    them together with itself, such as a new password); how many there were."""
    live = update(WebSession).where(WebSession.user_id == user_id, WebSession.revoked_at.is_(None))
    result = db.execute(live.values(revoked_at=at).execution_options(synchronize_session=False))
    return int(getattr(result, "rowcount", 0) or 0)


def delete_ended_sessions(database: AppDatabase, *, seen_before: datetime, created_before: datetime) -> int:
    """Delete the rows of sessions that can never be used again: revoked, idle since before
    ``seen_before`` or made before ``created_before``; how many. Live sessions are kept."""
    ended = or_(
        WebSession.revoked_at.is_not(None),
        WebSession.last_seen_at < seen_before,
        WebSession.created_at < created_before,
    )
    with database.session() as db:
        result = db.execute(delete(WebSession).where(ended).execution_options(synchronize_session=False))
        return int(getattr(result, "rowcount", 0) or 0)
