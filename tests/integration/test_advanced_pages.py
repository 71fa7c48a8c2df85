"""The Advanced page (``/avanceret``) on the small release: the upload form, the validation report
shown first, the list with share and delete, CSRF, the download, both languages; SQLite and
PostgreSQL app databases."""

from __future__ import annotations

import re
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from cohort_support import copenhageners
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

PURPOSE = "Opfølgning på faldforebyggelse"


@dataclass
class Visitor:
    client: TestClient
    username: str
    csrf: str

    def upload(self, people: list[str], csrf: bool = True, **fields: str) -> Any:
        rows = "CPR-nr.;Gruppe\r\n" + "".join(f"{n[:6]}{n[6:]};g{i % 2}\r\n" for i, n in enumerate(people))
        rows += "12345;g1\r\n"  # too few digits: refused with its line
        data = {"purpose": PURPOSE, **fields, **({"csrf": self.csrf} if csrf else {})}
        files = {"file": ("fald.csv", rows.encode("cp1252"), "text/csv")}
        return self.client.post("/avanceret", data=data, files=files, follow_redirects=False)

    def post(self, url: str, data: dict[str, str]) -> Any:
        return self.client.post(url, data={**data, "csrf": self.csrf}, follow_redirects=False)


@dataclass
class World:
    app: FastAPI

    def visitor(self, organisation: str = "kommune:101", *roles: str) -> Visitor:
        users: UserService = self.app.state.users
        name = f"a-{unique_name()}"
        created = users.create_user(OPERATOR, name, organisation=organisation)
        for role in roles or ("individ",):
            users.grant(OPERATOR, created.id, role)
        session = self.app.state.pages.sessions.start("signed_in", created.id, second_factor=True)
        stored = self.app.state.pages.sessions.find(session.token)
        assert stored is not None
        client = TestClient(self.app, raise_server_exceptions=False)
        client.cookies.set(SESSION_COOKIE, session.token)
        return Visitor(client, name, stored.csrf_token)


@pytest.fixture(scope="module")
def people(small_extracts: Path) -> list[str]:
    return copenhageners(small_extracts)[:40]


@pytest.fixture
def world(small_load: LoadResult, small_settings: Settings, app_db_url: str, tmp_path: Path) -> Iterator[World]:
    settings = replace(
        small_settings,
        data_dir=tmp_path,
        warehouse_dir=small_settings.warehouse,
        pseudonym_key_file=small_settings.pseudonym_key,
        app_db_url=app_db_url,
    )
    app = create_app(settings)
    app.state.users.passwords = fast_passwords()
    with TestClient(app, raise_server_exceptions=False):
        yield World(app)


def _ids(page: str) -> list[str]:
    return re.findall(r'<tr data-id="([^"]+)"', page)


def test_the_start_page_links_the_route_and_the_page_shows_the_form(world: World) -> None:
    anna = world.visitor()
    start = anna.client.get("/").text
    assert 'href="/avanceret"' in start
    page = anna.client.get("/avanceret")
    assert page.status_code == 200
    assert 'enctype="multipart/form-data"' in page.text and 'id="no-cohorts"' in page.text
    assert "<script" not in page.text.split("<main", 1)[-1] and "style=" not in page.text
    anna.client.cookies.set(LANG_COOKIE, "en")
    english = anna.client.get("/avanceret")
    assert "Upload a CPR population" in english.text and "Your cohorts" in english.text


def test_an_upload_shows_the_report_first_and_lists_the_cohort(world: World, people: list[str]) -> None:
    anna = world.visitor()
    response = anna.upload(people[:30])
    assert response.status_code == 201, response.text[:2000]
    page = response.text
    main = page.split("<main", 1)[1]
    assert main.index('id="report"') < main.index('id="upload-form"') < main.index('id="cohort-table"')
    assert 'id="upload-kept"' in page and "Rækker læst" in page
    assert re.search(r"<td class=\"num\">32</td>", page)  # the refused line, by number
    assert not any(n in page for n in people)
    ids = _ids(page)
    assert len(ids) == 1 and f'href="/avanceret/{ids[0]}"' in page
    download = anna.client.get(f"/avanceret/rapport/{ids[0]}.csv")
    assert download.status_code == 200 and download.text.startswith("\ufeff") and ";32;" in download.text

    again = anna.client.get("/avanceret")
    assert _ids(again.text) == ids and 'id="report"' not in again.text


def test_the_guard_and_missing_fields_show_on_the_page_and_keep_nothing(world: World, people: list[str]) -> None:
    anna, bo = world.visitor(), world.visitor()
    assert anna.upload(people[:30]).status_code == 201
    close = bo.upload(people[:31])
    assert close.status_code == 409 and 'id="upload-refused"' in close.text and "færre end 5" in close.text
    assert 'id="report"' in close.text and _ids(close.text) == []
    empty = bo.upload(people[:20], purpose="")
    assert empty.status_code == 400 and "Skriv formålet" in empty.text
    assert bo.upload(people[:20], csrf=False).status_code == 403


def test_share_and_delete_from_the_list(world: World, people: list[str]) -> None:
    anna, bo = world.visitor(), world.visitor()
    viewer = world.visitor("kommune:101", "aggregeret")
    cohort_id = _ids(anna.upload(people[:30]).text)[0]
    assert viewer.client.get("/avanceret").status_code == 403
    bad = anna.post(f"/avanceret/kohorter/{cohort_id}/share", {"users": viewer.username})
    assert bad.headers["location"] == "/avanceret?problem=share"
    shared = anna.post(f"/avanceret/kohorter/{cohort_id}/share", {"users": bo.username})
    assert shared.headers["location"] == "/avanceret?done=shared"
    assert _ids(bo.client.get("/avanceret").text) == [cohort_id]
    assert bo.post(f"/avanceret/kohorter/{cohort_id}/delete", {}).status_code == 403
    assert anna.post(f"/avanceret/kohorter/{cohort_id}/delete", {}).headers["location"] == "/avanceret?done=deleted"
    assert _ids(anna.client.get("/avanceret").text) == []
    other = world.visitor("kommune:751")
    assert other.post(f"/avanceret/kohorter/{cohort_id}/delete", {}).status_code == 404


def test_the_local_administrator_sees_the_organisations_cohorts_and_may_only_delete(
    world: World, people: list[str]
) -> None:
    anna = world.visitor()
    admin = world.visitor("kommune:101", "lokal_admin")
    cohort_id = _ids(anna.upload(people[:30]).text)[0]
    page = admin.client.get("/avanceret")
    assert page.status_code == 200 and _ids(page.text) == [cohort_id]
    assert 'id="upload-form"' not in page.text and "/share" not in page.text
    assert admin.client.get(f"/avanceret/rapport/{cohort_id}.csv").status_code == 403  # no individ: no report
    deleted = admin.post(f"/avanceret/kohorter/{cohort_id}/delete", {})
    assert deleted.headers["location"] == "/avanceret?done=deleted"
    assert _ids(anna.client.get("/avanceret").text) == []


def test_a_region_or_the_national_authority_holding_individ_is_told_why_it_cannot_upload(world: World) -> None:
    for organisation in ("region:1084", "national"):
        visitor = world.visitor(organisation)
        page = visitor.client.get("/avanceret")
        assert page.status_code == 200
        assert 'id="upload-form"' not in page.text and 'id="upload-municipalities-only"' in page.text
        assert "Kun brugere i en kommune kan uploade en kohorte" in page.text
    municipal = world.visitor().client.get("/avanceret").text
    assert 'id="upload-form"' in municipal and 'id="upload-municipalities-only"' not in municipal


def test_a_large_upload_on_the_page_runs_as_a_job_and_shows_its_report(
    small_load: LoadResult, small_settings: Settings, app_db_url: str, tmp_path: Path, people: list[str]
) -> None:
    """With ``cohort_job_upload_kb`` 0 every file is large: the page follows a job to the same report."""
    settings = replace(
        small_settings,
        data_dir=tmp_path,
        warehouse_dir=small_settings.warehouse,
        pseudonym_key_file=small_settings.pseudonym_key,
        app_db_url=app_db_url,
        cohort_job_upload_kb=0,
    )
    app = create_app(settings)
    app.state.users.passwords = fast_passwords()
    with TestClient(app, raise_server_exceptions=False):
        anna = World(app).visitor()
        started = anna.upload(people[:30])
        assert started.status_code == 303, started.text[:500]
        where = started.headers["location"]
        assert _until_ended(anna, where) == "done"
        page = anna.client.get(where)
        assert page.status_code == 201 and 'id="upload-kept"' in page.text and "Rækker læst" in page.text
        assert re.search(r"<td class=\"num\">32</td>", page.text) and not any(n in page.text for n in people)
        assert len(_ids(page.text)) == 1
        refused = anna.upload(people[:20], purpose="")  # a missing purpose: the job fails and the page says why
        assert _until_ended(anna, refused.headers["location"]) == "failed"
        failed = anna.client.get(refused.headers["location"])
        assert failed.status_code == 400 and "Skriv formålet" in failed.text
        assert World(app).visitor().client.get(where).status_code == 404  # not the job's owner


def _until_ended(visitor: Visitor, where: str) -> str:
    job_id = where.split("job=", 1)[1]
    for _ in range(400):
        state = str(visitor.client.get(f"/jobber/{job_id}").json()["state"])
        if state not in ("queued", "running"):
            return state
        time.sleep(0.05)
    raise AssertionError("the job did not end")
