"""Kept cohorts: storage only, plain values in and out.

Who may keep, see, share or delete a cohort is decided by :mod:`koes.services.cohort_store`; its
rules run *inside* the writing transaction here (``check``, ``guard``), under the audit chain lock,
so nothing can change between a check and the change, and two uploads cannot pass the
differencing guard side by side. Every change writes its audit record in the same transaction
(:func:`koes.appdb.audit.audited_change`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, and_, delete, false, func, or_, select
from sqlalchemy.orm import Session, aliased

from koes.appdb.audit import audited_change
from koes.appdb.database import AppDatabase
from koes.appdb.models import Cohort, CohortMember, CohortShare, CohortTrace, User
from koes.cohorts.guard import Trace
from koes.cohorts.rows import Member
from koes.privacy.audit import AuditEvent

INSERT_BATCH = 5000


@dataclass(frozen=True)
class CohortRow:
    id: str
    organisation: str
    owner_id: int
    owner: str  # the owner's user name
    name: str
    purpose: str
    created_at: datetime
    expires_at: datetime
    size: int
    release_id: str
    report: str  # JSON
    shared_with: tuple[str, ...]  # user names, sorted
    shared_ids: tuple[int, ...]


@dataclass(frozen=True)
class NewCohort:
    id: str
    organisation: str
    owner_id: int
    name: str
    purpose: str
    created_at: datetime
    expires_at: datetime
    release_id: str
    report: str


Check = Callable[[CohortRow], None]  # raises when the caller may not do this to the row


@dataclass(frozen=True)
class Overlap:
    """A live cohort of the organisation beside the new one: its size and how many members they share."""

    cohort_id: str
    size: int
    shared: int


Guard = Callable[[list[Overlap], list[Trace]], None]  # the live cohorts and the traces; raises to refuse


@dataclass(frozen=True)
class GroupOverlap:
    """A group of another live cohort of the organisation (``group`` None: the members without a
    group): its size and how many of them are among the persons a cohort's figures count."""

    cohort_id: str
    group: str | None
    size: int
    shared: int


# --- reading -----------------------------------------------------------------------------------


def get_cohort(database: AppDatabase, cohort_id: str) -> CohortRow | None:
    with database.session() as session:
        return _fetch(session, cohort_id)


def visible_cohorts(
    database: AppDatabase, organisation: str, user_id: int | None, *, all_of_org: bool
) -> list[CohortRow]:
    """The organisation's cohorts the user owns or that are shared with it (all of them with
    ``all_of_org``), newest first."""
    statement = select(Cohort.id).where(Cohort.organisation == organisation)
    if not all_of_org:
        shared = select(CohortShare.cohort_id).where(CohortShare.user_id == user_id)
        statement = statement.where(or_(Cohort.owner_id == user_id, Cohort.id.in_(shared)))
    statement = statement.order_by(Cohort.created_at.desc(), Cohort.id)
    with database.session() as session:
        rows = [_fetch(session, i) for i in session.scalars(statement)]
        return [r for r in rows if r is not None]


def members_of(database: AppDatabase, cohort_id: str) -> list[Member]:
    """The members in file order, read as plain rows (ORM objects would triple the time of 100,000)."""
    m = CohortMember
    columns = (m.line, m.pseudonym, m.birth_date, m.sex, m.index_date, m.gruppe, m.reference)
    statement = select(*columns).where(m.cohort_id == cohort_id).order_by(m.line)
    with database.session() as session:
        return [
            Member(line=r[0], pseudonym=r[1], birth_date=r[2], sex=r[3], index_date=r[4], group=r[5], reference=r[6])
            for r in session.execute(statement)
        ]


def group_overlaps(
    database: AppDatabase, organisation: str, cohort_id: str, picked: Sequence[str | None] | None
) -> list[GroupOverlap]:
    """Every group of every other cohort of the organisation, with the number of its members that
    are in ``cohort_id``'s groups ``picked`` (None: the whole cohort), counted by the database."""
    other, own = aliased(CohortMember), aliased(CohortMember)
    joined = and_(own.cohort_id == cohort_id, own.pseudonym == other.pseudonym)
    if picked is not None:
        named = [g for g in picked if g is not None]
        choices: list[ColumnElement[bool]] = [own.gruppe.in_(named)] if named else []
        if None in picked:
            choices.append(own.gruppe.is_(None))
        joined = and_(joined, or_(false(), *choices))
    statement = (
        select(other.cohort_id, other.gruppe, func.count(), func.count(own.pseudonym))
        .select_from(other)
        .join(Cohort, Cohort.id == other.cohort_id)
        .outerjoin(own, joined)
        .where(Cohort.organisation == organisation, other.cohort_id != cohort_id)
        .group_by(other.cohort_id, other.gruppe)
        .order_by(other.cohort_id)
    )
    with database.session() as session:
        return [GroupOverlap(c, g, int(size), int(shared)) for c, g, size, shared in session.execute(statement)]


def recent_traces(database: AppDatabase, organisation: str, since: datetime) -> list[Trace]:
    """The traces of the organisation's cohorts deleted since ``since``."""
    with database.session() as session:
        return _traces(session, organisation, since)


def expired_ids(database: AppDatabase, now: datetime) -> list[str]:
    with database.session() as session:
        return list(session.scalars(select(Cohort.id).where(Cohort.expires_at <= now).order_by(Cohort.expires_at)))


# --- changes -----------------------------------------------------------------------------------


def insert_cohort(
    database: AppDatabase,
    cohort: NewCohort,
    members: Sequence[Member],
    *,
    guard: Guard,
    traces_since: datetime,
    event: Callable[[CohortRow], AuditEvent | None],
) -> CohortRow:
    """Keep a cohort and its members, after ``guard`` accepted it against the organisation's live
    cohorts and the traces of those deleted since ``traces_since``; all or nothing. The members are
    inserted first, so that the database counts the overlaps (no other cohort's members are read
    into memory); a refusal rolls the insert back."""

    def change(session: Session) -> CohortRow:
        session.add(Cohort(**vars(cohort), size=len(members)))
        session.flush()
        _insert_members(session, cohort.id, members)
        guard(_overlaps(session, cohort.organisation, cohort.id), _traces(session, cohort.organisation, traces_since))
        row = _fetch(session, cohort.id)
        assert row is not None
        return row

    return audited_change(database, change, event, "the cohort")


def share_cohort(
    database: AppDatabase,
    cohort_id: str,
    *,
    check: Check,
    user_ids: Sequence[int],
    by: str,
    at: datetime,
    event: Callable[[tuple[CohortRow, CohortRow]], AuditEvent | None],
) -> tuple[CohortRow, CohortRow]:
    """Share with the users not yet shared with; the row before and after."""

    def change(session: Session) -> tuple[CohortRow, CohortRow]:
        before = _checked(session, cohort_id, check)
        for user_id in sorted(set(user_ids) - set(before.shared_ids)):
            session.add(CohortShare(cohort_id=cohort_id, user_id=user_id, shared_by=by, shared_at=at))
        session.flush()
        after = _fetch(session, cohort_id)
        assert after is not None
        return before, after

    return audited_change(database, change, event, "the sharing of the cohort")


def delete_cohort(
    database: AppDatabase,
    cohort_id: str,
    *,
    check: Check,
    trace: Callable[[list[str]], Trace],
    at: datetime,
    forget_at: datetime,
    event: Callable[[CohortRow], AuditEvent | None],
) -> CohortRow:
    """Delete a cohort, its members and shares; keep only its trace (``trace`` of its pseudonyms)."""

    def change(session: Session) -> CohortRow:
        row = _checked(session, cohort_id, check)
        pseudonyms = list(session.scalars(select(CohortMember.pseudonym).where(CohortMember.cohort_id == cohort_id)))
        kept = trace(pseudonyms)
        session.add(
            CohortTrace(
                cohort_id=cohort_id,
                organisation=row.organisation,
                size=kept.size,
                salt=kept.salt,
                digest=kept.digest,
                hashes=kept.hashes,
                bloom=kept.bloom,
                deleted_at=at,
                forget_at=forget_at,
            )
        )
        # Explicitly, not by ON DELETE CASCADE alone: SQLite enforces it only with foreign keys on.
        session.execute(delete(CohortMember).where(CohortMember.cohort_id == cohort_id))
        session.execute(delete(CohortShare).where(CohortShare.cohort_id == cohort_id))
        session.execute(delete(Cohort).where(Cohort.id == cohort_id))
        return row

    return audited_change(database, change, event, "the deletion of the cohort")


def forget_traces(database: AppDatabase, now: datetime) -> int:
    """Drop the traces whose time is up; how many."""
    with database.session() as session:
        result = session.execute(delete(CohortTrace).where(CohortTrace.forget_at <= now))
        return int(getattr(result, "rowcount", 0) or 0)


# --- helpers -----------------------------------------------------------------------------------


_MEMBER_COLUMNS = ("cohort_id", "line", "pseudonym", "birth_date", "sex", "index_date", "gruppe", "reference")


def _insert_members(session: Session, cohort_id: str, members: Sequence[Member]) -> None:
    """The members by the driver's own ``executemany``, in batches: SQLAlchemy's parameter handling
    per row would double the time of a 100,000-person cohort. Dates go as ISO text on SQLite (what
    SQLAlchemy's ``Date`` stores there) and as dates on PostgreSQL."""
    connection = session.connection()
    sqlite = connection.dialect.name == "sqlite"
    mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    statement = (
        f"INSERT INTO cohort_members ({', '.join(_MEMBER_COLUMNS)}) VALUES ({', '.join([mark] * len(_MEMBER_COLUMNS))})"
    )

    def day(value: date | None) -> object:
        return value.isoformat() if sqlite and value is not None else value

    for start in range(0, len(members), INSERT_BATCH):
        batch = members[start : start + INSERT_BATCH]
        rows = [
            (cohort_id, m.line, m.pseudonym, day(m.birth_date), m.sex, day(m.index_date), m.group, m.reference)
            for m in batch
        ]
        connection.exec_driver_sql(statement, rows)


def _fetch(session: Session, cohort_id: str) -> CohortRow | None:
    found = session.execute(
        select(Cohort, User.username).join(User, User.id == Cohort.owner_id).where(Cohort.id == cohort_id)
    ).first()
    if found is None:
        return None
    cohort, owner = found
    shares = session.execute(
        select(User.id, User.username)
        .join(CohortShare, CohortShare.user_id == User.id)
        .where(CohortShare.cohort_id == cohort_id)
        .order_by(User.username)
    ).all()
    return CohortRow(
        id=cohort.id,
        organisation=cohort.organisation,
        owner_id=cohort.owner_id,
        owner=owner,
        name=cohort.name,
        purpose=cohort.purpose,
        created_at=cohort.created_at,
        expires_at=cohort.expires_at,
        size=cohort.size,
        release_id=cohort.release_id,
        report=cohort.report,
        shared_with=tuple(name for _, name in shares),
        shared_ids=tuple(user_id for user_id, _ in shares),
    )


def _checked(session: Session, cohort_id: str, check: Check) -> CohortRow:
    row = _fetch(session, cohort_id)
    if row is None:
        raise LookupError(f"no cohort {cohort_id}")
    check(row)
    return row


def _overlaps(session: Session, organisation: str, new_id: str) -> list[Overlap]:
    """Every other cohort of the organisation with the number of members it shares with ``new_id``,
    counted by the database (each member looked up by the (cohort, pseudonym) key)."""
    old, new = aliased(CohortMember), aliased(CohortMember)
    statement = (
        select(Cohort.id, Cohort.size, func.count(new.pseudonym))
        .select_from(Cohort)
        .outerjoin(old, old.cohort_id == Cohort.id)
        .outerjoin(new, and_(new.cohort_id == new_id, new.pseudonym == old.pseudonym))
        .where(Cohort.organisation == organisation, Cohort.id != new_id)
        .group_by(Cohort.id, Cohort.size)
        .order_by(Cohort.id)
    )
    return [Overlap(cohort_id, size, int(shared)) for cohort_id, size, shared in session.execute(statement)]


def _traces(session: Session, organisation: str, since: datetime) -> list[Trace]:
    statement = select(CohortTrace).where(CohortTrace.organisation == organisation, CohortTrace.deleted_at >= since)
    return [Trace(t.size, t.salt, t.digest, t.hashes, bytes(t.bloom)) for t in session.scalars(statement)]
