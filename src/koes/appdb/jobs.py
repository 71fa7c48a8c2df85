"""Background jobs: storage only, plain values in and out (who may read one is the service's rule)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import select, update

from koes.appdb.database import AppDatabase
from koes.appdb.models import Job

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
