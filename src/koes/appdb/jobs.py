"""Background jobs: storage only, plain values in and out (who may read one is the service's rule)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import delete, select, update

from koes.appdb.database import AppDatabase
from koes.appdb.models import Cohort, Job

UNFINISHED = ("queued", "running")


@dataclass(frozen=True)
class JobRow:
    id: str
    owner: str
    organisation: str
    kind: str
    subject: str
    state: str
    progress: int
    problem: str | None
    result: str | None  # JSON, once done
    created_at: datetime
    updated_at: datetime


def insert_job(database: AppDatabase, row: JobRow) -> None:
    with database.session() as session:
        session.add(Job(**vars(row)))


def get_job(database: AppDatabase, job_id: str) -> JobRow | None:
    with database.session() as session:
        job = session.get(Job, job_id)
        return None if job is None else _row(job)


def set_job(database: AppDatabase, job_id: str, at: datetime, **values: object) -> None:
    """Change a job's state, progress, problem or result; a finished job is never changed again."""
    with database.session() as session:
        session.execute(update(Job).where(Job.id == job_id, Job.state.in_(UNFINISHED)).values(updated_at=at, **values))


def interrupt_unfinished(database: AppDatabase, at: datetime) -> list[JobRow]:
    """Mark every queued or running job interrupted (at start-up: no worker runs them any more).
    Read first, then one UPDATE that changes only those still unfinished: on SQLite a transaction
    that reads and then writes could not wait for a worker writing its progress meanwhile."""
    with database.session() as session:
        unfinished = [_row(j) for j in session.scalars(select(Job).where(Job.state.in_(UNFINISHED)))]
    ids = [j.id for j in unfinished]
    if ids:
        with database.session() as session:
            session.execute(
                update(Job)
                .where(Job.id.in_(ids), Job.state.in_(UNFINISHED))
                .values(state="interrupted", updated_at=at)
                .execution_options(synchronize_session=False)
            )
    return [replace(j, state="interrupted", updated_at=at) for j in unfinished]


def list_jobs(database: AppDatabase, organisation: str, owner: str | None, limit: int) -> list[JobRow]:
    """The organisation's jobs (only ``owner``'s, unless None), newest first, at most ``limit``."""
    statement = select(Job).where(Job.organisation == organisation)
    if owner is not None:
        statement = statement.where(Job.owner == owner)
    with database.session() as session:
        return [_row(j) for j in session.scalars(statement.order_by(Job.created_at.desc(), Job.id).limit(limit))]


def delete_ended(database: AppDatabase, before: datetime) -> list[JobRow]:
    """Delete every ended job (done, failed, interrupted) that ended before ``before``, with its
    result; the jobs deleted. A queued or running job is never touched. Read, then delete by id
    (an ended job never changes again), for the same reason as :func:`interrupt_unfinished`."""
    ended = (Job.state.not_in(UNFINISHED), Job.updated_at < before)
    with database.session() as session:
        rows = [_row(j) for j in session.scalars(select(Job).where(*ended))]
    if rows:
        with database.session() as session:
            session.execute(
                delete(Job).where(Job.id.in_([r.id for r in rows]), *ended).execution_options(synchronize_session=False)
            )
    return rows


def kept_results(database: AppDatabase) -> list[JobRow]:
    """Every done job that still keeps its result."""
    with database.session() as session:
        return [_row(j) for j in session.scalars(select(Job).where(Job.state == "done", Job.result.is_not(None)))]


def forget_results(database: AppDatabase, job_ids: Collection[str]) -> int:
    """Delete the results of these done jobs (their cohort is gone); the job stays, as done, until
    its retention ends. How many results were deleted."""
    if not job_ids:
        return 0
    with database.session() as session:
        done = session.execute(
            update(Job)
            .where(Job.id.in_(list(job_ids)), Job.state == "done", Job.result.is_not(None))
            .values(result=None)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(done, "rowcount", 0) or 0)


def existing_cohorts(database: AppDatabase, cohort_ids: Collection[str]) -> set[str]:
    """Which of these cohorts still exist (the others expired or were deleted)."""
    if not cohort_ids:
        return set()
    with database.session() as session:
        return set(session.scalars(select(Cohort.id).where(Cohort.id.in_(list(cohort_ids)))))


def _row(job: Job) -> JobRow:
    return JobRow(
        id=job.id,
        owner=job.owner,
        organisation=job.organisation,
        kind=job.kind,
        subject=job.subject,
        state=job.state,
        progress=job.progress,
        problem=job.problem,
        result=job.result,
        created_at=job.created_at,
        updated_at=job.updated_at,
    )
