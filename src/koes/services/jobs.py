"""Background jobs: long work (a large cohort's profile or before-and-after series) run by a small
pool of worker threads the app owns, with its progress and result kept in the app database.

- **Who.** A job belongs to the user who asked. Only that user, or a local administrator of the
  same organisation, reads it; anyone else gets *not found*, exactly as for an id that does not
  exist, and the refusal is audited. Reading a finished job's result is audited (``job.read``);
  a look at an unfinished job's progress shows no data and is not.
- **What.** The work is a service call that runs the one path (scope, disclosure control, its own
  audit record with the cohort's purpose); the job keeps its answer as JSON, so a user can leave
  and come back, over the API (``GET /api/v1/jobs/{id}``) or the page. The answer as a Python
  object is also held in memory for the page, for the last few jobs only.
- **Restart.** A job is run by this process only. At start-up every job left queued or running is
  marked ``interrupted`` (never ``done``), recorded as ``job.interrupt``; so is every unfinished
  job when the app stops.
- **Listing.** :meth:`JobService.list` gives a user its own jobs (a local administrator: its
  organisation's), newest first, without their results; recorded as ``job.list``.
- **Retention.** :meth:`JobService.sweep` deletes ended jobs and their results ``retention`` after
  they ended, and the result of a job whose cohort is gone at once (a result holds the cohort's
  figures); :mod:`koes.services.job_retention` runs it with the cohorts' expiry.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from koes.appdb import jobs as store
from koes.appdb.database import AppDatabase
from koes.appdb.jobs import JobRow
from koes.privacy.access import Principal
from koes.privacy.audit import AuditEvent, request_hash
from koes.query.request import RequestError
from koes.services.audit import AuditTrail, safe_text
from koes.services.errors import Clock, NotFoundError, utc_now
from koes.services.refusals import audits_refusals

ADMIN_PERMISSION = "manage_users_own_org"
ENDED = ("done", "failed", "interrupted")
KEPT_VALUES = 8  # answers held in memory for the page
LISTED = 200  # the newest jobs a listing shows (the sweep keeps the table small anyway)
RETENTION = timedelta(hours=168)
SYSTEM = "system"  # the user of the records written when jobs are interrupted
log = logging.getLogger(__name__)

Progress = Callable[[int], None]  # percent done, 0–100
# The work: given a progress callback, the answer as JSON and as the object the page renders.
Work = Callable[[Progress], tuple[dict[str, Any], object]]


@dataclass(frozen=True)
class JobInfo:
    id: str
    kind: str
    subject: str
    state: str  # queued | running | done | failed | interrupted
    progress: int
    problem: dict[str, Any] | None
    result: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime

    @property
    def finished(self) -> bool:
        return self.state not in store.UNFINISHED

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "subject": self.subject,
            "state": self.state,
            "progress": self.progress,
            "problem": self.problem,
            "result": self.result,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }


@dataclass(frozen=True)
class JobEntry:
    """A job as a listing shows it: no result, only whether it is still kept."""

    id: str
    kind: str
    subject: str
    owner: str
    state: str
    progress: int
    created_at: datetime
    ended_at: datetime | None  # None while queued or running
    result_kept: bool
    cohort: str | None  # the cohort it is of (:func:`cohort_of`), if any

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "subject": self.subject,
            "owner": self.owner,
            "state": self.state,
            "progress": self.progress,
            "created_at": self.created_at.isoformat(),
            "ended_at": None if self.ended_at is None else self.ended_at.isoformat(),
            "result_kept": self.result_kept,
            "cohort": self.cohort,
        }


@dataclass(frozen=True)
class JobSweep:
    """What one sweep deleted: ended jobs by state, and results whose cohort is gone."""

    deleted: dict[str, int]
    results_forgotten: int

    @property
    def jobs_deleted(self) -> int:
        return sum(self.deleted.values())


class JobService:
    """The jobs of one app database and the worker threads that run them (``start``/``stop``)."""

    def __init__(
        self,
        database: AppDatabase,
        trail: AuditTrail,
        clock: Clock = utc_now,
        workers: int = 1,
        retention: timedelta = RETENTION,
        stored_cohorts: bool = True,
    ) -> None:
        """``stored_cohorts``: the cohorts jobs are of live in this app database (a deployment's
        store); False for an app given its own cohort lookup (tests), whose jobs' results are then
        tied to no cohort here."""
        self.database = database
        self.trail = trail
        self.clock = clock
        self.workers = max(1, workers)
        self.retention = retention
        self.stored_cohorts = stored_cohorts
        self._pool: ThreadPoolExecutor | None = None
        self._values: OrderedDict[str, object] = OrderedDict()
        self._lock = threading.Lock()

    # --- life ----------------------------------------------------------------------------------
    def start(self) -> int:
        """Mark the jobs a previous run left unfinished interrupted, then start the workers; how many."""
        count = self._interrupt("left unfinished by the previous run")
        with self._lock:
            self._pool = self._pool or ThreadPoolExecutor(self.workers, thread_name_prefix="koes-job")
        return count

    def stop(self) -> None:
        """Stop taking work; what is queued or still running ends as interrupted, never as done."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
        self._interrupt("the app stopped")

    def _interrupt(self, why: str) -> int:
        jobs = store.interrupt_unfinished(self.database, self.clock())
        for job in jobs:
            summary = f"job {job.kind} {job.id} ({job.subject}) interrupted: {why}"
            self.trail.record(self._event(job, "job.interrupt", summary, SYSTEM, job.organisation))
        return len(jobs)

    # --- submit and run ------------------------------------------------------------------------
    def submit(self, principal: Principal, kind: str, subject: str, work: Work) -> JobInfo:
        """Queue ``work`` as a job of ``principal``'s; its id and state at once."""
        now = self.clock()
        row = JobRow(
            id=secrets.token_urlsafe(18),
            owner=principal.user,
            organisation=str(principal.organisation),
            kind=kind,
            subject=subject,
            state="queued",
            progress=0,
            problem=None,
            result=None,
            created_at=now,
            updated_at=now,
        )
        store.insert_job(self.database, row)
        with self._lock:
            if self._pool is None:  # an app used without its lifespan (tests): workers on first use
                self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="koes-job")
            self._pool.submit(self._run, row.id, work)
        return _info(row)

    def _run(self, job_id: str, work: Work) -> None:
        store.set_job(self.database, job_id, self.clock(), state="running", progress=1)

        def progress(percent: int) -> None:
            store.set_job(self.database, job_id, self.clock(), progress=min(99, max(1, int(percent))))

        try:
            answer, value = work(progress)
        except RequestError as error:
            problems = [
                {"field": p.field, "code": p.code, "message": p.message, "params": dict(p.params)}
                for p in error.problems
            ]
            self._fail(job_id, {"code": "invalid_request", "message": str(error), "problems": problems})
            return
        except NotFoundError:
            self._fail(job_id, {"code": "not_found", "message": "the cohort does not exist for you"})
            return
        except Exception:
            log.exception("background job %s failed", job_id)
            self._fail(job_id, {"code": "error", "message": "the job failed; try again or ask the administrator"})
            return
        with self._lock:
            self._values[job_id] = value
            while len(self._values) > KEPT_VALUES:
                self._values.popitem(last=False)
        store.set_job(self.database, job_id, self.clock(), state="done", progress=100, result=json.dumps(answer))

    def _fail(self, job_id: str, problem: dict[str, Any]) -> None:
        store.set_job(self.database, job_id, self.clock(), state="failed", problem=json.dumps(problem))

    # --- reading -------------------------------------------------------------------------------
    @audits_refusals("access.denied", "read job {job_id}")
    def get(self, principal: Principal, job_id: str) -> JobInfo:
        """The job for its owner or a local administrator of its organisation; a finished job's
        result is recorded as read (``job.read``)."""
        row = store.get_job(self.database, job_id)
        if row is None or not _may_read(principal, row):
            raise NotFoundError("no such job")
        if self._orphans([row]):  # its cohort is gone: so is the result, now rather than at the next sweep
            self._forget([row.id])
            row = replace(row, result=None)
        info = _info(row)
        if info.result is not None:
            summary = f"job {row.kind} {row.id} ({row.subject}) read"
            self.trail.record(self._event(row, "job.read", summary, principal.user, str(principal.organisation)))
        return info

    @audits_refusals("access.denied", "follow job {job_id}")
    def status(self, principal: Principal, job_id: str) -> JobInfo:
        """The job's state and progress, without its result (a waiting page's poll: not a data access)."""
        row = store.get_job(self.database, job_id)
        if row is None or not _may_read(principal, row):
            raise NotFoundError("no such job")
        return replace(_info(row), result=None)

    def value(self, principal: Principal, job_id: str) -> object | None:
        """The finished job's answer as an object, while this process holds it (for the page)."""
        row = store.get_job(self.database, job_id)
        if row is None or not _may_read(principal, row) or row.state != "done" or row.result is None:
            return None
        if self._orphans([row]):
            self._forget([row.id])
            return None
        with self._lock:
            return self._values.get(job_id)

    # --- retention -----------------------------------------------------------------------------
    def sweep(self, now: datetime | None = None) -> JobSweep:
        """Delete ended jobs (with their results) ``retention`` after they ended, and the results of
        done jobs whose cohort expired or was deleted; one ``job.sweep`` record per organisation
        touched, with counts. A queued or running job is never touched."""
        at = now or self.clock()
        deleted = store.delete_ended(self.database, at - self.retention)
        orphans = self._orphans(store.kept_results(self.database))
        forgotten = self._forget([r.id for r in orphans])
        self._forget_values([r.id for r in deleted])
        for organisation in sorted({r.organisation for r in [*deleted, *orphans]}):
            gone = [r for r in deleted if r.organisation == organisation]
            states = ", ".join(f"{s} {sum(r.state == s for r in gone)}" for s in ENDED)
            lost = sum(r.organisation == organisation for r in orphans)
            summary = (
                f"{len(gone)} ended jobs deleted after {_hours(self.retention)} hours ({states}); "
                f"{lost} results of deleted cohorts deleted"
            )
            self.trail.record(self._sweep_event(at, organisation, summary))
        counts = {s: sum(r.state == s for r in deleted) for s in ENDED}
        return JobSweep(counts, forgotten)

    def _orphans(self, rows: list[JobRow]) -> list[JobRow]:
        """The done jobs of these that keep a result of a cohort that no longer exists."""
        if not self.stored_cohorts:
            return []
        cohorts = {r.id: cohort_of(r) for r in rows if r.state == "done" and r.result is not None}
        alive = store.existing_cohorts(self.database, {c for c in cohorts.values() if c is not None})
        return [r for r in rows if r.id in cohorts and cohorts[r.id] is not None and cohorts[r.id] not in alive]

    def _forget(self, job_ids: list[str]) -> int:
        self._forget_values(job_ids)
        return store.forget_results(self.database, job_ids)

    def _forget_values(self, job_ids: list[str]) -> None:
        with self._lock:
            for job_id in job_ids:
                self._values.pop(job_id, None)

    def _sweep_event(self, at: datetime, organisation: str, summary: str) -> AuditEvent:
        return AuditEvent(
            at=at,
            user=SYSTEM,
            organisation=organisation,
            action="job.sweep",
            summary=safe_text(summary),
            request_hash=request_hash(f"job-sweep|{organisation}|{at.isoformat()}"),
            scope="",
        )

    def _event(self, row: JobRow, action: str, summary: str, user: str, organisation: str) -> AuditEvent:
        return AuditEvent(
            at=self.clock(),
            user=user,
            organisation=organisation,
            action=action,
            summary=safe_text(summary),
            request_hash=request_hash(f"job|{row.id}"),
            scope="",
        )

    # Last: inside the class body, the name ``list`` means this method from here on.
    def list(self, principal: Principal, limit: int = LISTED) -> list[JobEntry]:
        """The caller's own jobs, newest first (a local administrator: every job of its
        organisation), at most ``limit`` (never over :data:`LISTED`); recorded as ``job.list``.
        Results are not included: each is read, and audited, by :meth:`get`."""
        owner = None if principal.may(ADMIN_PERMISSION) else principal.user
        rows = store.list_jobs(self.database, str(principal.organisation), owner, max(1, min(limit, LISTED)))
        rows = [r for r in rows if _may_read(principal, r)]  # the same rule as ``get``, row by row
        orphans = {r.id for r in self._orphans(rows)}
        self.trail.record(
            AuditEvent(
                at=self.clock(),
                user=principal.user,
                organisation=str(principal.organisation),
                action="job.list",
                summary=f"{len(rows)} jobs listed",
                request_hash=request_hash(f"job-list|{principal.user}"),
                scope="",
            )
        )
        return [_entry(r, kept=r.result is not None and r.id not in orphans) for r in rows]


def cohort_of(row: JobRow) -> str | None:
    """The cohort a job's result is of: named by its subject (``cohort <id> …``), or, for an
    upload, the cohort the upload kept (in its result); None when there is none."""
    words = row.subject.split()
    if len(words) >= 2 and words[0] == "cohort" and words[1] != "upload":
        return words[1]
    if row.result is None:
        return None
    kept = json.loads(row.result).get("cohort")
    return str(kept["id"]) if isinstance(kept, dict) and kept.get("id") else None


def _hours(span: timedelta) -> str:
    return f"{span.total_seconds() / 3600:g}"


def _entry(row: JobRow, kept: bool) -> JobEntry:
    return JobEntry(
        id=row.id,
        kind=row.kind,
        subject=row.subject,
        owner=row.owner,
        state=row.state,
        progress=row.progress,
        created_at=row.created_at,
        ended_at=None if row.state in store.UNFINISHED else row.updated_at,
        result_kept=kept and row.state == "done",
        cohort=cohort_of(row),
    )


def _may_read(principal: Principal, row: JobRow) -> bool:
    if str(principal.organisation) != row.organisation:
        return False
    return principal.user == row.owner or principal.may(ADMIN_PERMISSION)


def _info(row: JobRow) -> JobInfo:
    return JobInfo(
        id=row.id,
        kind=row.kind,
        subject=row.subject,
        state=row.state,
        progress=row.progress,
        problem=None if row.problem is None else json.loads(row.problem),
        result=None if row.result is None else json.loads(row.result),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
