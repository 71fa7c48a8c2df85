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
from datetime import datetime
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
KEPT_VALUES = 8  # answers held in memory for the page
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


class JobService:
    """The jobs of one app database and the worker threads that run them (``start``/``stop``)."""

    def __init__(self, database: AppDatabase, trail: AuditTrail, clock: Clock = utc_now, workers: int = 1) -> None:
        self.database = database
        self.trail = trail
        self.clock = clock
        self.workers = max(1, workers)
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
        if row is None or not _may_read(principal, row) or row.state != "done":
            return None
        with self._lock:
            return self._values.get(job_id)

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
