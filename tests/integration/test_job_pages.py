"""The jobs listing on the page (``/avanceret/jobber``) and in the API (``GET /api/v1/jobs``), on
the small release: a user's own jobs with a link to each kept result, a local administrator's
organisation's, never another user's; SQLite and PostgreSQL app databases."""

from __future__ import annotations

import re
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from cohort_support import copenhageners
from koes.appdb.jobs import JobRow, insert_job
from koes.privacy.access import Organisation, Principal
from koes.refdata import RefData
from koes.services.appdb import open_app_database
from koes.services.users import OPERATOR, UserService
from koes.services.warehouse import LoadResult
from koes.settings import Settings
from koes.web.app import create_app
from koes.web.i18n import LANG_COOKIE
from koes.web.pages.common import SESSION_COOKIE
from support import fast_passwords, unique_name

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient


@dataclass
class Visitor:
    client: TestClient
    username: str
    csrf: str
    token: str

    def upload(self, people: list[str]) -> str:
        """A large upload (every file is, here): the job's id, once it has ended."""
        rows = "CPR-nr.\r\n" + "".join(f"{n}\r\n" for n in people)
        files = {"file": ("liste.csv", rows.encode(), "text/csv")}
        data = {"purpose": "Opfølgning", "csrf": self.csrf}
        started = self.client.post("/avanceret", data=data, files=files, follow_redirects=False)
        assert started.status_code == 303, started.text[:300]
        job_id = str(started.headers["location"]).split("job=", 1)[1]
        for _ in range(400):
            if self.client.get(f"/jobber/{job_id}").json()["state"] not in ("queued", "running"):
                return job_id
            time.sleep(0.05)
        raise AssertionError("the job did not end")

    def api_jobs(self) -> list[dict[str, Any]]:
        answer = self.client.get("/api/v1/jobs", headers={"Authorization": f"Bearer {self.token}"})
        assert answer.status_code == 200, answer.text
        return list(answer.json()["jobs"])


@dataclass
class World:
    app: FastAPI

    def visitor(self, *roles: str) -> Visitor:
        users: UserService = self.app.state.users
        name = f"j-{unique_name()}"
        created = users.create_user(OPERATOR, name, organisation="kommune:101")
        for role in roles or ("individ",):
            users.grant(OPERATOR, created.id, role)
        session = self.app.state.pages.sessions.start("signed_in", created.id, second_factor=True)
        stored = self.app.state.pages.sessions.find(session.token)
        assert stored is not None
        token = self.app.state.tokens.create_for(OPERATOR, created.id).secret
        client = TestClient(self.app, raise_server_exceptions=False)
        client.cookies.set(SESSION_COOKIE, session.token)
        return Visitor(client, name, stored.csrf_token, token)


@pytest.fixture(scope="module")
def people(small_extracts: Path) -> list[str]:
    return copenhageners(small_extracts)[:80]


@pytest.fixture
def world(small_load: LoadResult, small_settings: Settings, app_db_url: str, tmp_path: Path) -> Iterator[World]:
    settings = replace(
        small_settings,
        data_dir=tmp_path,
        warehouse_dir=small_settings.warehouse,
        pseudonym_key_file=small_settings.pseudonym_key,
        app_db_url=app_db_url,
        cohort_job_upload_kb=0,  # every upload is a job
    )
    app = create_app(settings)
    app.state.users.passwords = fast_passwords()
    with TestClient(app, raise_server_exceptions=False):
        yield World(app)


def _rows(page: str) -> list[str]:
    return re.findall(r'<tr data-id="([^"]+)"', page)


def test_a_user_sees_its_own_jobs_and_a_link_to_each_kept_result(world: World, people: list[str]) -> None:
    anna, bo = world.visitor(), world.visitor()
    admin = world.visitor("lokal_admin")
    first = anna.upload(people[:30])
    of_bo = bo.upload(people[30:60])

    page = anna.client.get("/avanceret/jobber")
    assert page.status_code == 200 and "Baggrundsjob" in page.text and 'aria-current="page"' in page.text
    assert _rows(page.text) == [first]  # never bo's
    link = re.search(r'<a href="([^"]+)" class="result">', page.text)
    assert link is not None and link.group(1) == f"/avanceret?job={first}"
    assert anna.client.get(link.group(1)).status_code == 201  # the report, as after the upload
    assert not any(n in page.text for n in people)
    assert re.search(r"<td>liste[^<]*</td>", page.text)  # the cohort the upload kept, by its name
    assert [j["id"] for j in anna.api_jobs()] == [first]
    assert [j["id"] for j in bo.api_jobs()] == [of_bo]
    assert _rows(bo.client.get("/avanceret/jobber").text) == [of_bo]
    assert _rows(admin.client.get("/avanceret/jobber").text) == [of_bo, first]  # the organisation's, newest first
    assert [j["id"] for j in admin.api_jobs()] == [of_bo, first]
    anna.client.cookies.set(LANG_COOKIE, "en")
    english = anna.client.get("/avanceret/jobber")
    assert "Background jobs" in english.text and "See the result" in english.text
    anna.client.cookies.set(LANG_COOKIE, "da")
    assert "/avanceret/jobber" in anna.client.get("/avanceret").text

    # the cohort deleted: its upload's result (the report) goes with it, and the link too
    cohort = re.search(r'<tr data-id="([^"]+)"', anna.client.get("/avanceret").text)
    assert cohort is not None
    deleted = anna.client.post(
        f"/avanceret/kohorter/{cohort.group(1)}/delete", data={"csrf": anna.csrf}, follow_redirects=False
    )
    assert deleted.status_code == 303
    after = anna.client.get("/avanceret/jobber").text
    assert _rows(after) == [first] and 'class="result"' not in after and "Slettet" in after
    assert anna.client.get(f"/avanceret?job={first}").status_code == 404
    assert anna.api_jobs()[0]["result_kept"] is False


def test_a_user_without_the_routes_roles_is_refused(world: World) -> None:
    analyst = world.visitor("aggregeret")
    assert analyst.client.get("/avanceret/jobber").status_code == 403


def test_koes_serve_sweeps_old_jobs_at_start_up(
    small_load: LoadResult, small_settings: Settings, app_db_url: str, tmp_path: Path, refdata: RefData
) -> None:
    """An ended job older than ``job_retention_hours`` is gone once the app has started; a recent
    one stays, and so does one the previous run left running (interrupted now, ended just now)."""
    settings = replace(
        small_settings,
        data_dir=tmp_path,
        warehouse_dir=small_settings.warehouse,
        pseudonym_key_file=small_settings.pseudonym_key,
        app_db_url=app_db_url,
        job_retention_hours=24,
    )
    now = datetime.now(UTC)
    database = open_app_database(settings, refdata)
    for job_id, state, hours in (("old", "done", 25), ("recent", "failed", 23), ("left", "running", 48)):
        at = now - timedelta(hours=hours)
        insert_job(
            database, JobRow(job_id, "anna", "kommune:101", "cohort_profile", "test", state, 50, None, None, at, at)
        )
    database.dispose()
    app = create_app(settings)
    with TestClient(app, raise_server_exceptions=False):
        admin = Principal("admin", Organisation("kommune", 101), frozenset({"lokal_admin"}))
        listed = {(e.id, e.state) for e in app.state.jobs.list(admin)}
        sweeps = [r.event.summary for r in app.state.audit.records() if r.event.action == "job.sweep"]
    assert listed == {("recent", "failed"), ("left", "interrupted")}
    assert sweeps == [
        "1 ended jobs deleted after 24 hours (done 1, failed 0, interrupted 0); 0 results of deleted cohorts deleted"
    ]
