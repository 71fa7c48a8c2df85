"""The audit table: append one sealed entry under the chain lock; read entries back in order.

The chain rules (canonical JSON, hashes, verification) are in :mod:`koes.privacy.audit`; this
module only stores and reads. ``append`` refuses an event that breaks those rules (a CPR number
in any text, an unknown action …) before it touches the database.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Connection, Select, func, insert, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from koes.appdb.database import AppDatabase, AppDatabaseError, describe_error
from koes.appdb.models import AuditRecord
from koes.metrics import AUDIT_WRITE_FAILURES, audit_appended
from koes.privacy.audit import GENESIS, AuditEntry, AuditEvent, check_event, seal

CHAIN_LOCK = "audit-chain"
BATCH = 1000
T = TypeVar("T")


@dataclass(frozen=True)
class AuditFilter:
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive
    organisation: str | None = None
    action: str | None = None
    user: str | None = None
    outcome: str | None = None


def append(database: AppDatabase, event: AuditEvent) -> AuditEntry:
    """Store ``event`` as the next entry of the chain and return it (with its id and hashes).

    Reading the head and inserting the new entry happen in one writer transaction, so concurrent
    writers (threads, processes, app servers on one PostgreSQL) queue up and the chain never forks.
    """
    check_event(event)
    try:
        with database.writer(CHAIN_LOCK) as connection:
            entry = _append_on(connection, event)
    except SQLAlchemyError as exc:
        AUDIT_WRITE_FAILURES.inc()
        raise AppDatabaseError(f"cannot write the audit record: {describe_error(exc)}") from exc
    return entry


def audited_change(
    database: AppDatabase,
    change: Callable[[Session], T],
    event: Callable[[T], AuditEvent | None],
    what: str = "the change",
) -> T:
    """Make ``change`` and append its audit record in **one** transaction: both happen or neither.

    ``change`` runs in an ORM session under the chain lock and returns a plain value; ``event``
    turns that value into the audit record (None: nothing to record). A refused event (a CPR
    number in its text …) rolls the change back. Exceptions raised by ``change`` itself (a rule of
    the caller's) pass through unchanged, after the rollback.
    """
    try:
        with database.writer(CHAIN_LOCK) as connection:
            with Session(bind=connection) as session:
                result = change(session)
                session.flush()
            record = event(result)
            if record is not None:
                check_event(record)
                _append_on(connection, record)
    except SQLAlchemyError as exc:
        AUDIT_WRITE_FAILURES.inc()
        raise AppDatabaseError(f"cannot store {what}: {describe_error(exc)}") from exc
    return result


def _append_on(connection: Connection, event: AuditEvent) -> AuditEntry:
    """Seal ``event`` after the head and insert it; the caller holds the chain lock."""
    head = connection.execute(
        select(AuditRecord.id, AuditRecord.record_hash).order_by(AuditRecord.id.desc()).limit(1)
    ).first()
    entry = seal(head.id + 1, event, head.record_hash) if head else seal(1, event, GENESIS)
    connection.execute(insert(AuditRecord).values(**_values(entry)))
    audit_appended(event.action)
    return entry


def entries(database: AppDatabase, where: AuditFilter | None = None) -> Iterator[AuditEntry]:
    """Entries in chain order (ascending id), read in batches."""
    statement = _filtered(select(AuditRecord), where or AuditFilter()).order_by(AuditRecord.id)
    with database.session() as session:
        for record in session.scalars(statement.execution_options(yield_per=BATCH)):
            yield to_entry(record)


def latest(database: AppDatabase, where: AuditFilter | None, limit: int, offset: int = 0) -> list[AuditEntry]:
    """The last ``limit`` entries matching ``where`` (after skipping the newest ``offset``), newest first."""
    statement = _filtered(select(AuditRecord), where or AuditFilter()).order_by(AuditRecord.id.desc())
    statement = statement.limit(limit).offset(offset)
    with database.session() as session:
        return [to_entry(record) for record in session.scalars(statement)]


def count(database: AppDatabase, where: AuditFilter | None = None) -> int:
    statement = _filtered(select(func.count()).select_from(AuditRecord), where or AuditFilter())
    with database.session() as session:
        return int(session.scalar(statement) or 0)


def to_entry(record: AuditRecord) -> AuditEntry:
    event = AuditEvent(
        at=record.at,
        user=record.user,
        organisation=record.organisation,
        action=record.action,
        summary=record.summary,
        request_hash=record.request_hash,
        scope=record.scope,
        rows_returned=record.rows_returned,
        cells_returned=record.cells_returned,
        cells_suppressed=record.cells_suppressed,
        purpose=record.purpose,
        release_id=record.release_id,
        outcome=record.outcome,
    )
    return AuditEntry(record.id, event, record.prev_hash, record.record_hash)


def _values(entry: AuditEntry) -> dict[str, Any]:
    e = entry.event
    return {
        "id": entry.id,
        "at": e.at,
        "user_name": e.user,  # the column behind AuditRecord.user
        "organisation": e.organisation,
        "action": e.action,
        "summary": e.summary,
        "request_hash": e.request_hash,
        "scope": e.scope,
        "rows_returned": e.rows_returned,
        "cells_returned": e.cells_returned,
        "cells_suppressed": e.cells_suppressed,
        "purpose": e.purpose,
        "release_id": e.release_id,
        "outcome": e.outcome,
        "prev_hash": entry.prev_hash,
        "record_hash": entry.record_hash,
    }


def _filtered(statement: Select[Any], where: AuditFilter) -> Select[Any]:
    if where.since is not None:
        statement = statement.where(AuditRecord.at >= where.since)
    if where.until is not None:
        statement = statement.where(AuditRecord.at < where.until)
    if where.organisation is not None:
        statement = statement.where(AuditRecord.organisation == where.organisation)
    if where.action is not None:
        statement = statement.where(AuditRecord.action == where.action)
    if where.user is not None:
        statement = statement.where(AuditRecord.user == where.user)
    if where.outcome is not None:
        statement = statement.where(AuditRecord.outcome == where.outcome)
    return statement
