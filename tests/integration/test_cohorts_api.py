"""The cohorts API (/api/v1/cohorts) on SQLite and PostgreSQL app databases: upload (multipart, in
memory only), the report in the answer and as a CSV download, the guard's 409, list, read, share,
delete; and no CPR number in any answer, address or audit record."""

from __future__ import annotations

import csv
import io
import tempfile
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from cohort_support import copenhageners
from koes.services.analysis import AnalysisService
from koes.services.audit import AuditTrail
from koes.services.users import OPERATOR, UserService
from koes.services.warehouse import LoadResult
from koes.settings import Settings
from koes.web.app import create_app
from support import SettableClock, bearer, fast_passwords, unique_name

with warnings.catch_warnings():  # Starlette prefers httpx2 to httpx; either drives the TestClient
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

URL = "/api/v1/cohorts"
OWN, OTHER = "kommune:101", "kommune:751"
PURPOSE = "Opfølgning på hjemmeplejeindsats"


@dataclass
class World:
    client: TestClient
    app: FastAPI
    users: UserService
    people: list[str]

    def user(self, org: str = OWN, role: str = "individ") -> tuple[str, str]:
        created = self.users.create_user(OPERATOR, f"u-{unique_name()}", organisation=org)
        self.users.grant(OPERATOR, created.id, role)
        return created.username, self.app.state.tokens.create_for(OPERATOR, created.id, "test").secret

    def upload(self, token: str, people: list[str], **fields: str) -> Any:
        rows = "CPR-nr.;Gruppe\r\n" + "".join(
            f"{n[:6]}-{n[6:]};{'a' if i % 2 else 'b'}\r\n" for i, n in enumerate(people)
        )
        rows += "311390-1234;a\r\n"  # an impossible date: refused with its line
        files = {"file": ("borgere 2025.csv", rows.encode(), "text/csv")}
        data = {"purpose": PURPOSE, **fields}
        return self.client.post(URL, files=files, data=data, headers=bearer(token))


@pytest.fixture(scope="module")
def people(small_extracts: Path) -> list[str]:
    return copenhageners(small_extracts)[:60]


@pytest.fixture
def world(
    small_load: LoadResult, small_settings: Settings, analysis: AnalysisService, app_db_url: str, people: list[str]
) -> Iterator[World]:
    app = create_app(replace(small_settings, app_db_url=app_db_url), analysis)
    users = app.state.users
    users.passwords = fast_passwords()
    with TestClient(app) as client:
        yield World(client, app, users, people)


def _no_cpr(text: str, people: list[str]) -> bool:
    return not any(n in text or f"{n[:6]}-{n[6:]}" in text for n in people) and "311390" not in text


def test_upload_answers_the_report_and_the_kept_cohort(world: World) -> None:
    _, token = world.user()
    response = world.upload(token, world.people[:30], expiry_days="30")
    assert response.status_code == 201, response.text
    body = response.json()
    cohort, report = body["cohort"], body["report"]
    assert body["refusal"] is None
    assert (cohort["name"], cohort["size"], cohort["purpose"]) == ("borgere 2025", 30, PURPOSE)
    assert (report["rows_read"], report["rows_kept"], report["rows_refused"]) == (31, 30, 1)
    assert report["refused"][0]["line"] == 32 and report["refused"][0]["category"] == "impossible_date"
    assert "gemt" in report["note"]  # kept, and said so (the check alone says "nothing kept")
    assert _no_cpr(response.text, world.people)

    listed = world.client.get(URL, headers=bearer(token)).json()["cohorts"]
    assert [c["id"] for c in listed] == [cohort["id"]]
    one = world.client.get(f"{URL}/{cohort['id']}", headers=bearer(token)).json()
    assert one["report"]["rows_refused"] == 1 and one["report"]["refused_by_category"]["impossible_date"] == 1

    download = world.client.get(f"{URL}/{cohort['id']}/report?lang=en", headers=bearer(token))
    assert download.status_code == 200 and download.headers["content-type"].startswith("text/csv")
    assert "attachment" in download.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(download.text.lstrip("\ufeff")), delimiter=";"))
    assert rows[5][:3] == ["refused", "32", "impossible_date"]  # after the header and four counts
    assert _no_cpr(download.text, world.people)

    assert world.client.delete(f"{URL}/{cohort['id']}", headers=bearer(token)).status_code == 204
    assert world.client.get(f"{URL}/{cohort['id']}", headers=bearer(token)).status_code == 404
    trail = AuditTrail(world.users.database)
    audit = "\n".join(f"{r.event.summary} {r.event.purpose}" for r in trail.records())
    assert _no_cpr(audit, world.people)
    assert [r.event.action for r in trail.records() if r.event.action.startswith("cohort")] == [
        "cohort_upload",
        "cohort.delete",
    ]


def test_the_guard_answers_409_with_the_report_and_keeps_nothing(world: World) -> None:
    _, anna = world.user()
    _, bo = world.user()
    assert world.upload(anna, world.people[:40]).status_code == 201
    refused = world.upload(bo, world.people[:41])
    assert refused.status_code == 409
    body = refused.json()
    assert body["cohort"] is None and body["refusal"]["code"] == "too_close"
    assert body["report"]["rows_kept"] == 41
    assert world.client.get(URL, headers=bearer(bo)).json()["cohorts"] == []


def test_bad_uploads_are_400_with_every_problem(world: World) -> None:
    _, token = world.user()
    missing = world.client.post(URL, data={"expiry_days": "x"}, files={"x": ("a", b"")}, headers=bearer(token))
    assert missing.status_code == 400
    fields = sorted(p["field"] for p in missing.json()["error"]["problems"])
    assert fields == ["expiry_days", "file", "purpose", "x"]
    too_long = world.upload(token, world.people[:10], expiry_days="400")
    assert too_long.status_code == 400 and [p["field"] for p in too_long.json()["error"]["problems"]] == ["expiry_days"]
    empty = world.client.post(URL, files={"file": ("a.csv", b"")}, data={"purpose": PURPOSE}, headers=bearer(token))
    assert empty.status_code == 400 and "tom" in empty.json()["error"]["message"].lower()
    json_body = world.client.post(URL, json={"purpose": PURPOSE}, headers=bearer(token))
    assert json_body.status_code == 400


def test_an_upload_is_never_written_to_disk(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    rolled: list[int] = []
    original = tempfile.SpooledTemporaryFile.rollover

    def spy(self: Any) -> None:
        rolled.append(1)
        original(self)

    monkeypatch.setattr(tempfile.SpooledTemporaryFile, "rollover", spy)
    _, token = world.user()
    filler = "".join(f"{n[:6]}-{n[6:]};{'x' * 60}\r\n" for n in world.people[:50]) * 1
    big = ("CPR-nr.;Note\r\n" + filler + ";\r\n" * 600_000).encode()  # over 1 MiB: Starlette would spool it
    assert len(big) > 1024 * 1024
    response = world.client.post(URL, files={"file": ("k.csv", big)}, data={"purpose": PURPOSE}, headers=bearer(token))
    assert response.status_code in (201, 202, 409, 422), response.text  # 202: a job holds it, in memory
    assert rolled == []


def test_colleagues_share_and_other_organisations_never_see(world: World) -> None:
    _, anna = world.user()
    bo_name, bo = world.user()
    _, ulla = world.user(OTHER)
    cohort = world.upload(anna, world.people[:20]).json()["cohort"]
    assert world.client.get(f"{URL}/{cohort['id']}", headers=bearer(bo)).status_code == 404
    assert world.client.get(f"{URL}/{cohort['id']}", headers=bearer(ulla)).status_code == 404
    shared = world.client.post(f"{URL}/{cohort['id']}/shares", json={"users": [bo_name]}, headers=bearer(anna))
    assert shared.status_code == 200 and shared.json()["shared_with"] == [bo_name]
    assert world.client.get(f"{URL}/{cohort['id']}", headers=bearer(bo)).status_code == 200
    assert world.client.delete(f"{URL}/{cohort['id']}", headers=bearer(bo)).status_code == 403
    bad = world.client.post(f"{URL}/{cohort['id']}/shares", json={"users": "bo"}, headers=bearer(anna))
    assert bad.status_code == 400
    assert world.client.get(f"{URL}/not-a-cohort-id-at-all", headers=bearer(anna)).status_code == 404


def test_koes_serve_deletes_expired_cohorts_at_start_up(
    small_load: LoadResult, small_settings: Settings, analysis: AnalysisService, app_db_url: str, people: list[str]
) -> None:
    clock = SettableClock()
    settings = replace(small_settings, app_db_url=app_db_url)
    app = create_app(settings, analysis, clock=clock)
    app.state.users.passwords = fast_passwords()
    with TestClient(app) as client:
        world = World(client, app, app.state.users, people)
        name, token = world.user()
        assert world.upload(token, people[:20], expiry_days="1").status_code == 201
    clock.now += timedelta(days=2)
    again = create_app(settings, analysis, clock=clock)
    with TestClient(again):
        records = AuditTrail(again.state.users.database).records()
        assert [(r.event.action, r.event.user) for r in records if r.event.action == "cohort.expire"] == [
            ("cohort.expire", "system")
        ]
        owner = again.state.users.principal_for(again.state.users.user_by_name(OPERATOR, name).id)
        assert again.state.cohorts.list(owner) == []


def test_a_large_upload_is_checked_and_kept_by_a_job_followed_to_its_answer(
    small_settings: Settings, analysis: AnalysisService, app_db_url: str, people: list[str]
) -> None:
    """With ``cohort_job_upload_kb`` 0 every file is large: 202, and the job's result is the answer."""
    app = create_app(replace(small_settings, app_db_url=app_db_url, cohort_job_upload_kb=0), analysis)
    app.state.users.passwords = fast_passwords()
    with TestClient(app) as client:
        world = World(client, app, app.state.users, people)
        owner, token = world.user()
        started = world.upload(token, people[:30])
        assert started.status_code == 202, started.text
        job: dict[str, Any] = started.json()["job"]
        for _ in range(400):
            job = client.get(started.json()["href"], headers=bearer(token)).json()
            if job["state"] not in ("queued", "running"):
                break
            time.sleep(0.05)
        assert job["state"] == "done", job
        assert job["result"]["status"] == 201 and job["result"]["cohort"]["size"] == 30
        assert job["result"]["report"]["rows_refused"] == 1
        assert _no_cpr(str(job), people)
        _, colleague = world.user()
        assert client.get(started.json()["href"], headers=bearer(colleague)).status_code == 404
        listed = client.get(URL, headers=bearer(token)).json()["cohorts"]
        assert [c["owner"] for c in listed] == [owner]
