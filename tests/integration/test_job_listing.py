"""Listing and retention of background jobs on a real app database (SQLite and PostgreSQL): who sees
which jobs, the sweep that deletes ended jobs after the retention (never a running one), and a
job's result that goes with its cohort."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cohort_files import write_csv
from cohort_support import copenhageners
from koes.privacy.access import Organisation, Principal
from koes.query.request import FieldProblem, RequestError
from koes.refdata import RefData
from koes.services.appdb import open_app_database
from koes.services.audit import AuditTrail
from koes.services.cohort_store import CohortService, UploadRequest
from koes.services.errors import NotFoundError
from koes.services.job_retention import expire_and_sweep
from koes.services.jobs import JobInfo, JobService, Progress
from koes.services.users import OPERATOR, UserService
from koes.services.warehouse import LoadResult
from koes.settings import Settings
from support import fast_passwords

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
ANNA = Principal("anna", Organisation("kommune", 101), frozenset({"individ"}))
BO = Principal("bo", Organisation("kommune", 101), frozenset({"individ"}))
ADMIN = Principal("lokaladmin", Organisation("kommune", 101), frozenset({"lokal_admin"}))
ANNA_751 = Principal("anna", Organisation("kommune", 751), frozenset({"individ"}))  # same name, other org
OTHER_ADMIN = Principal("admin751", Organisation("kommune", 751), frozenset({"lokal_admin"}))


class Clock:
    """A second passes at each look: jobs are ordered by when they were made."""

    def __init__(self) -> None:
        self.now = START
        self.lock = threading.Lock()

    def __call__(self) -> datetime:
        with self.lock:
            self.now += timedelta(seconds=1)
            return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def jobs(app_db_url: str, tmp_path: Path, refdata: RefData, clock: Clock) -> Iterator[JobService]:
    database = open_app_database(Settings(data_dir=tmp_path, app_db_url=app_db_url), refdata)
    service = JobService(database, AuditTrail(database), clock, retention=timedelta(hours=168))
    service.start()
    yield service
    service.stop()
    database.dispose()


def answer(progress: Progress) -> tuple[dict[str, object], object]:
    return {"members": 40}, None


def refused(progress: Progress) -> tuple[dict[str, object], object]:
    raise RequestError([FieldProblem("cohort", "too few persons", "cohort_too_small")])


def finished(jobs: JobService, principal: Principal, job_id: str) -> JobInfo:
    for _ in range(250):
        info = jobs.status(principal, job_id)
        if info.finished:
            return info
        time.sleep(0.02)
    raise AssertionError("the job did not finish")


def submitted(jobs: JobService, principal: Principal, subject: str, work=answer) -> str:  # type: ignore[no-untyped-def]
    job_id = jobs.submit(principal, "cohort_profile", subject, work).id
    finished(jobs, principal, job_id)
    return job_id


def test_a_user_lists_its_own_jobs_newest_first_and_a_local_administrator_its_organisations(
    jobs: JobService,
) -> None:
    first = submitted(jobs, ANNA, "test k1")
    of_bo = submitted(jobs, BO, "test k2")
    failed = submitted(jobs, ANNA, "test k1 kontakter", refused)
    elsewhere = submitted(jobs, ANNA_751, "test k9")

    mine = jobs.list(ANNA)
    assert [e.id for e in mine] == [failed, first]  # newest first; never bo's, never the other anna's
    assert [(e.state, e.result_kept, e.progress) for e in mine] == [("failed", False, 1), ("done", True, 100)]
    assert all(e.ended_at is not None and e.ended_at > e.created_at for e in mine)
    assert "result" not in mine[0].to_json()  # a listing shows no figures: they are read (and audited) one by one
    assert [e.id for e in jobs.list(BO)] == [of_bo]
    assert [e.id for e in jobs.list(ADMIN)] == [failed, of_bo, first]
    assert [e.id for e in jobs.list(OTHER_ADMIN)] == [elsewhere]
    assert [e.id for e in jobs.list(ANNA_751)] == [elsewhere]
    assert [e.id for e in jobs.list(ADMIN, limit=2)] == [failed, of_bo]

    listed = [r.event for r in jobs.trail.records() if r.event.action == "job.list"]
    assert [(e.user, e.organisation, e.summary) for e in listed[:2]] == [
        ("anna", "kommune:101", "2 jobs listed"),
        ("bo", "kommune:101", "1 jobs listed"),
    ]


def test_an_unfinished_job_is_listed_without_an_end(jobs: JobService) -> None:
    release = threading.Event()

    def slow(progress: Progress) -> tuple[dict[str, object], object]:
        progress(30)
        release.wait(5)
        return {"late": True}, None

    running = jobs.submit(ANNA, "cohort_series", "test k1", slow)
    for _ in range(250):
        if jobs.status(ANNA, running.id).progress == 30:
            break
        time.sleep(0.02)
    [entry] = jobs.list(ANNA)
    assert (entry.state, entry.progress, entry.ended_at, entry.result_kept) == ("running", 30, None, False)
    release.set()


def test_the_sweep_deletes_ended_jobs_after_the_retention_and_never_a_running_one(
    jobs: JobService, clock: Clock
) -> None:
    first, second = threading.Event(), threading.Event()

    def blocked_by(event: threading.Event):  # type: ignore[no-untyped-def]
        def work(progress: Progress) -> tuple[dict[str, object], object]:
            event.wait(10)
            return {"late": True}, None

        return work

    done = submitted(jobs, ANNA, "test k1")
    failed = submitted(jobs, BO, "test k2", refused)
    left = jobs.submit(ANNA, "cohort_profile", "test k3", blocked_by(first)).id
    restarted = JobService(jobs.database, jobs.trail, clock)  # a new process: the old one's job is interrupted
    assert restarted.start() == 1
    first.set()
    finished(jobs, ANNA, left)
    running = restarted.submit(ANNA, "cohort_profile", "test k4", blocked_by(second)).id
    for _ in range(250):
        if restarted.status(ANNA, running).state == "running":
            break
        time.sleep(0.02)

    assert restarted.sweep(START + timedelta(hours=167)).jobs_deleted == 0  # not yet: kept 168 hours
    assert {e.id for e in restarted.list(ADMIN)} == {done, failed, left, running}
    swept = restarted.sweep(clock.now + timedelta(days=30))
    assert swept.deleted == {"done": 1, "failed": 1, "interrupted": 1}
    assert [(e.id, e.state) for e in restarted.list(ADMIN)] == [(running, "running")]
    with pytest.raises(NotFoundError):
        restarted.get(ANNA, done)
    assert restarted.value(ANNA, done) is None

    [record] = [r.event for r in jobs.trail.records() if r.event.action == "job.sweep"]
    assert (record.user, record.organisation) == ("system", "kommune:101")
    assert record.summary == (
        "3 ended jobs deleted after 168 hours (done 1, failed 1, interrupted 1); 0 results of deleted cohorts deleted"
    )
    second.set()
    restarted.stop()


@pytest.fixture
def site(
    app_db_url: str, tmp_path: Path, refdata: RefData, small_load: LoadResult, small_settings: Settings, clock: Clock
) -> Iterator[tuple[CohortService, JobService, UserService]]:
    """A deployment's cohort store and jobs on one app database, over the small release."""
    settings = Settings(
        data_dir=tmp_path,
        warehouse_dir=small_settings.warehouse,
        pseudonym_key_file=small_settings.pseudonym_key,
        app_db_url=app_db_url,
        threads=1,
        memory_limit="1GB",
    )
    database = open_app_database(settings, refdata)
    trail = AuditTrail(database)
    users = UserService(trail, fast_passwords(), clock)
    jobs = JobService(database, trail, clock)
    jobs.start()
    yield CohortService(settings, trail, users, clock), jobs, users
    jobs.stop()
    database.dispose()


def _residents(extracts: Path, count: int) -> list[str]:
    return copenhageners(extracts)[:count]


def test_a_jobs_result_goes_with_its_cohort_deleted_or_expired(
    site: tuple[CohortService, JobService, UserService], small_extracts: Path, tmp_path: Path, clock: Clock
) -> None:
    cohorts, jobs, users = site
    created = users.create_user(OPERATOR, "anna", organisation="kommune:101")
    users.grant(OPERATOR, created.id, "individ")
    anna = users.principal_for(created.id)
    people = _residents(small_extracts, 60)
    kept = []
    for name, numbers in (("a.csv", people[:30]), ("b.csv", people[30:])):
        rows = [["CPR-nr."], *([f"{n[:6]}-{n[6:]}"] for n in numbers)]
        result = cohorts.upload(anna, write_csv(tmp_path / name, rows), UploadRequest(purpose="Opfølgning", days=2))
        assert result.cohort is not None
        kept.append(result.cohort.id)
    deleted, expiring = kept
    profile = submitted(jobs, anna, f"cohort {deleted}")
    upload = jobs.submit(anna, "cohort_upload", "cohort upload", lambda p: ({"cohort": {"id": expiring}}, None)).id
    finished(jobs, anna, upload)
    unrelated = submitted(jobs, anna, "test k1")  # a job of no cohort keeps its result
    assert [e.result_kept for e in jobs.list(anna)] == [True, True, True]

    cohorts.delete(anna, deleted)  # at once, by its owner: the result is gone at the next look
    assert jobs.get(anna, profile).result is None and jobs.value(anna, profile) is None
    clock.now += timedelta(days=3)  # the other cohort expires: the same turn takes its job's result
    expire_and_sweep(cohorts, jobs)
    assert cohorts.list(anna) == []
    assert jobs.get(anna, upload).result is None
    assert jobs.get(anna, unrelated).result == {"members": 40}
    assert [(e.id, e.state, e.result_kept) for e in jobs.list(anna)] == [
        (unrelated, "done", True),
        (upload, "done", False),
        (profile, "done", False),
    ]
    [sweep] = [r.event for r in jobs.trail.records() if r.event.action == "job.sweep"]
    assert sweep.summary.endswith("; 1 results of deleted cohorts deleted")
    assert not any(n in r.event.summary for r in jobs.trail.records() for n in people)
