"""Background jobs on a real app database (SQLite and PostgreSQL): progress, result, who may read a
job, and a restart that marks unfinished jobs interrupted, never done."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from koes.privacy.access import Organisation, Principal
from koes.query.request import FieldProblem, RequestError
from koes.refdata import RefData
from koes.services.appdb import open_app_database
from koes.services.audit import AuditTrail
from koes.services.errors import NotFoundError
from koes.services.jobs import JobInfo, JobService, Progress
from koes.settings import Settings

ANNA = Principal("anna", Organisation("kommune", 101), frozenset({"individ"}))
BO = Principal("bo", Organisation("kommune", 101), frozenset({"individ"}))
ADMIN = Principal("lokaladmin", Organisation("kommune", 101), frozenset({"lokal_admin"}))
OTHER_ADMIN = Principal("admin751", Organisation("kommune", 751), frozenset({"lokal_admin"}))


@pytest.fixture
def jobs(app_db_url: str, tmp_path: Path, refdata: RefData) -> Iterator[JobService]:
    database = open_app_database(Settings(data_dir=tmp_path, app_db_url=app_db_url), refdata)
    service = JobService(database, AuditTrail(database))
    service.start()
    yield service
    service.stop()
    database.dispose()


def _finished(jobs: JobService, principal: Principal, job_id: str) -> JobInfo:
    for _ in range(200):
        info = jobs.get(principal, job_id)
        if info.finished:
            return info
        time.sleep(0.02)
    raise AssertionError("the job did not finish")


def test_a_job_reports_progress_and_keeps_its_result_for_its_owner(jobs: JobService) -> None:
    halfway, go_on = threading.Event(), threading.Event()

    def work(progress: Progress) -> tuple[dict[str, object], object]:
        progress(50)
        halfway.set()
        go_on.wait(5)
        return {"members": 12345}, "the object"

    started = jobs.submit(ANNA, "cohort_profile", "test k1", work)
    assert started.state == "queued" and started.result is None
    assert halfway.wait(5)
    running = jobs.get(ANNA, started.id)
    assert (running.state, running.progress, running.result) == ("running", 50, None)
    go_on.set()
    done = _finished(jobs, ANNA, started.id)
    assert (done.state, done.progress, done.result) == ("done", 100, {"members": 12345})
    assert jobs.value(ANNA, started.id) == "the object"
    reads = [r.event for r in jobs.trail.records() if r.event.action == "job.read"]
    assert reads and all(e.user == "anna" for e in reads)


def test_only_the_owner_and_its_local_administrator_read_a_job(jobs: JobService) -> None:
    started = jobs.submit(ANNA, "cohort_profile", "test k1", lambda progress: ({"n": 1}, None))
    assert _finished(jobs, ANNA, started.id).result == {"n": 1}
    assert jobs.get(ADMIN, started.id).result == {"n": 1}
    for stranger in (BO, OTHER_ADMIN):
        with pytest.raises(NotFoundError):
            jobs.get(stranger, started.id)
        assert jobs.value(stranger, started.id) is None
    with pytest.raises(NotFoundError):
        jobs.get(ANNA, "no-such-job")
    denied = [r.event for r in jobs.trail.records() if r.event.outcome == "denied"]
    assert {e.user for e in denied} >= {"bo", "admin751"}


def test_a_refused_request_fails_the_job_with_its_problems(jobs: JobService) -> None:
    def work(progress: Progress) -> tuple[dict[str, object], object]:
        raise RequestError([FieldProblem("cohort", "too few persons", "cohort_too_small")])

    failed = _finished(jobs, ANNA, jobs.submit(ANNA, "cohort_series", "test k1", work).id)
    assert failed.state == "failed" and failed.result is None
    assert failed.problem is not None and failed.problem["problems"][0]["code"] == "cohort_too_small"


def test_a_restart_marks_unfinished_jobs_interrupted_never_done(jobs: JobService) -> None:
    release = threading.Event()

    def slow(progress: Progress) -> tuple[dict[str, object], object]:
        release.wait(5)
        return {"late": True}, None

    running = jobs.submit(ANNA, "cohort_profile", "test k1", slow)
    queued = jobs.submit(ANNA, "cohort_profile", "test k2", slow)  # one worker: waits behind the first
    after_restart = JobService(jobs.database, jobs.trail)  # a new process on the same database
    assert after_restart.start() == 2
    release.set()
    time.sleep(0.2)  # the old worker finishes, but may no longer mark its job done
    for job_id in (running.id, queued.id):
        info = after_restart.get(ANNA, job_id)
        assert (info.state, info.result) == ("interrupted", None)
    interrupted = [r.event for r in jobs.trail.records() if r.event.action == "job.interrupt"]
    assert len(interrupted) == 2 and all(e.user == "system" for e in interrupted)
    after_restart.stop()
