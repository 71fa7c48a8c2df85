"""The "Regioner" choice of the Standard reports (issue 20), on the small warehouse (2022–2023):
the page offers it and keeps it, every view follows it and says which, and the downloads, the
drill-down links and the API carry it. App database: SQLite and PostgreSQL."""

from __future__ import annotations

import html
import re
import warnings
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from koes.services.users import OPERATOR, UserService
from koes.services.warehouse import LoadResult
from koes.settings import Settings
from koes.web.app import create_app
from koes.web.pages.common import SESSION_COOKIE
from support import api_token, bearer, fast_passwords, unique_name

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

AS_IT_WAS = "Regioner som de var på hændelsens dato"
DEFAULT = "Regioner pr. 2023-12-31"  # the release's last day


@pytest.fixture
def client(small_load: LoadResult, small_settings: Settings, app_db_url: str, tmp_path: Path) -> Iterator[TestClient]:
    """A signed-in analyst of København."""
    settings = replace(small_settings, data_dir=tmp_path, warehouse_dir=small_settings.warehouse, app_db_url=app_db_url)
    app = create_app(settings)
    app.state.users.passwords = fast_passwords()
    with TestClient(app, raise_server_exceptions=False) as client:
        users: UserService = app.state.users
        created = users.create_user(OPERATOR, f"a-{unique_name()}", organisation="kommune:101")
        users.grant(OPERATOR, created.id, "aggregeret")
        session = app.state.pages.sessions.start("signed_in", created.id, second_factor=True)
        client.cookies.set(SESSION_COOKIE, session.token)
        yield client


def _select(page: str) -> str:
    return page.split('name="geography"', 1)[1].split("</select>", 1)[0]


def test_a_report_page_chooses_the_regions_and_every_part_says_which(client: TestClient) -> None:
    page = client.get("/standard/noegletal?geography=as_it_was")
    assert page.status_code == 200
    text = html.unescape(page.text)
    select = _select(text)
    assert re.search(r'<option value="as_it_was"\s+selected', select)
    assert 'value="2022-01-01"' in select and "5 regioner" in select
    assert AS_IT_WAS in text and DEFAULT not in text
    downloads = re.findall(r'href="(/standard/noegletal/export\?[^"]+)"', text)
    assert downloads and all("geography=as_it_was" in d for d in downloads)
    drill_down = re.findall(r'href="(/standard/noegletal\?[^"]+municipality=[^"]+)"', text)
    assert drill_down and all("geography=as_it_was" in d for d in drill_down)
    exported = client.get(downloads[0])
    assert exported.status_code == 200 and AS_IT_WAS in exported.content.decode("utf-8-sig")


def test_without_a_choice_the_page_names_the_default_and_a_bad_choice_is_refused(client: TestClient) -> None:
    text = html.unescape(client.get("/standard/noegletal").text)
    assert re.search(r'<option value=""\s+selected', _select(text))
    assert DEFAULT in text and AS_IT_WAS not in text
    as_of = html.unescape(client.get("/standard/noegletal?geography=2022-01-01").text)
    assert re.search(r'<option value="2022-01-01"\s+selected', _select(as_of)) and "Regioner pr. 2022-01-01" in as_of
    assert client.get("/standard/noegletal?geography=sidste-aar").status_code == 400


def test_the_api_takes_the_same_choice(small_load: LoadResult, small_settings: Settings) -> None:
    token = api_token(small_settings, ["aggregeret"], "kommune:101")
    with TestClient(create_app(small_settings), headers=bearer(token)) as api:
        chosen = api.get("/api/v1/reports/noegletal", params={"geography": "as_it_was", "lang": "en"})
        default = api.get("/api/v1/reports/noegletal", params={"lang": "en"})
        bad = api.get("/api/v1/reports/noegletal", params={"geography": "yesterday"})
    assert chosen.status_code == 200 and chosen.json()["choices"]["geography"] == "as_it_was"
    assert chosen.json()["provenance"]["geography"] == "Regions as they were on each date"
    for view in chosen.json()["views"].values():
        assert view["provenance"]["geography"] == "Regions as they were on each date"
    assert default.json()["choices"]["geography"] is None
    assert default.json()["provenance"]["geography"] == "Regions as of 2023-12-31"
    assert bad.status_code == 400 and "geography" in bad.text
