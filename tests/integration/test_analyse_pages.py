"""The Analysis builder and saved analyses as pages (``/analyse``, ``/analyse/saved``), on the
small warehouse: the pivot is the service's answer, problems are named above the form, downloads
hold what the table holds (view-only left out), and saving, renaming, sharing and deleting follow
the organisation's rules, with CSRF and an audit record each. App database: SQLite and PostgreSQL.
"""

from __future__ import annotations

import csv
import html
import io
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from koes.privacy.access import Principal
from koes.services.users import OPERATOR, UserService
from koes.services.warehouse import LoadResult
from koes.settings import Settings
from koes.web.app import create_app
from koes.web.pages.common import SESSION_COOKIE
from support import fast_passwords, unique_name

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

PSYCHIATRY = "/analyse?perspective=psykiatri&measure=kontakter&row=kommune"
PSYCHIATRY_REQUEST = {"perspective": "psykiatri", "measures": ["kontakter"], "rows": ["kommune"]}


@dataclass
class Visitor:
    """One signed-in user of the app, with its own cookie jar."""

    client: TestClient
    principal: Principal
    username: str
    token: str
    csrf: str

    def get(self, url: str) -> Any:
        return self.client.get(url)

    def post(self, url: str, data: dict[str, str], csrf: bool = True) -> Any:
        body = {**data, "csrf": self.csrf} if csrf else data
        return self.client.post(url, data=body, follow_redirects=False)


@dataclass
class World:
    app: FastAPI
    client: TestClient

    def visitor(self, organisation: str = "kommune:101", role: str | None = "aggregeret") -> Visitor:
        users: UserService = self.app.state.users
        name = f"a-{unique_name()}"
        created = users.create_user(OPERATOR, name, organisation=organisation)
        if role:
            users.grant(OPERATOR, created.id, role)
        session = self.app.state.pages.sessions.start("signed_in", created.id, second_factor=True)
        stored = self.app.state.pages.sessions.find(session.token)
        assert stored is not None
        # a client of its own (its cookie jar); the lifespan runs once, in the fixture's client
        client = TestClient(self.app, raise_server_exceptions=False)
        client.cookies.set(SESSION_COOKIE, session.token)
        return Visitor(client, users.principal_for(created.id), name, session.token, stored.csrf_token)

    def records(self, username: str) -> list[Any]:
        return [e.event for e in self.app.state.audit.records() if e.event.user == username]


@pytest.fixture
def world(small_load: LoadResult, small_settings: Settings, app_db_url: str, tmp_path: Path) -> Iterator[World]:
    # The app's own analysis service, so it writes this app's audit trail.
    settings = replace(small_settings, data_dir=tmp_path, warehouse_dir=small_settings.warehouse, app_db_url=app_db_url)
    app = create_app(settings)
    app.state.users.passwords = fast_passwords()
    with TestClient(app, raise_server_exceptions=False) as client:
        yield World(app, client)


def pivot(page: str) -> list[list[str]]:
    """The pivot table's cells as text, header first."""
    table = page.split('class="data-table pivot"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", table, re.S)
    return [[html.unescape(c.strip()) for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", r, re.S)] for r in rows]


def service_table(world: World, raw: dict[str, Any], visitor: Visitor) -> list[list[str]]:
    """The same request answered by the service directly, formatted as the page formats it."""
    from koes.web import views

    result = world.app.state.service.run(raw, visitor.principal)
    table = views.table(result, "da", downloadable_only=False)
    return [table.header] + [[c.text for c in row] for row in table.rows]


def test_the_pivot_is_the_services_answer_with_hidden_cells_a_map_and_one_audit_record(world: World) -> None:
    anna = world.visitor()
    response = anna.get(PSYCHIATRY)
    assert response.status_code == 200
    page = response.text
    shown = pivot(page)
    assert shown == service_table(world, PSYCHIATRY_REQUEST, anna)
    assert shown[-1][0] == "I alt"  # the total line
    texts = [row[1] for row in shown[1:]]
    assert "<5" in texts or "x" in texts  # not vacuous: the small warehouse hides some municipalities
    assert len(re.findall(r'<path class="area[ "]', page)) == 98  # the map, since kommune is the one row dimension
    assert 'id="pivot-data"' in page  # the chart's data
    analyses = [e for e in world.records(anna.username) if e.action == "analysis"]
    assert len(analyses) == 2  # the page, and this test's own service call
    assert analyses[0].outcome == "ok"


def test_columns_totals_and_no_map_without_municipality_rows(world: World) -> None:
    anna = world.visitor()
    url = "/analyse?perspective=somatik&measure=indlaeggelser&measure=sengedage&row=koen&column=aar&from=2022&to=2023"
    page = anna.get(url).text
    shown = pivot(page)
    assert shown[0][1:] == [
        "2022: Indlæggelser",
        "2022: Sengedage",
        "2023: Indlæggelser",
        "2023: Sengedage",
        "I alt: Indlæggelser",
        "I alt: Sengedage",
    ]
    raw = {
        "perspective": "somatik",
        "measures": ["indlaeggelser", "sengedage"],
        "rows": ["koen"],
        "columns": ["aar"],
        "period": {"from": "2022", "to": "2023"},
    }
    assert shown == service_table(world, raw, anna)
    assert 'class="koes-map' not in page
    assert "Indlæggelser og sengedage efter køn og år, 2022–2023" in html.unescape(page)


def test_problems_are_named_above_the_form_and_the_form_keeps_the_choices(world: World) -> None:
    anna = world.visitor()
    page = anna.get("/analyse?perspective=befolkning&row=diagnosekapitel&from=2019").text
    assert 'class="data-table pivot"' not in page
    problems = re.findall(r"<li>(.*?)</li>", page.split('class="problems"', 1)[1].split("</ul>", 1)[0])
    assert any("2019" in p for p in problems), problems
    assert '<option value="diagnosekapitel" selected>' in page  # kept, so the problem can be fixed
    assert [e.outcome for e in world.records(anna.username) if e.action == "analysis"] == ["error"]


@pytest.mark.parametrize(
    ("query", "danish"),
    [
        ("perspective=somatik&from=2023&to=2022", "Fra-året ligger efter til-året."),
        ("perspective=somatik&row=kommune&compare=1&municipality=101", "Fjern bopælskommune og bopælsregion"),
        ("perspective=somatik&row=koen&column=koen", "»Køn« står både i rækker og kolonner"),
        ("perspective=befolkning&row=diagnosekapitel", "»Borgere« kan ikke opdeles efter Diagnosekapitel"),
        (
            "perspective=somatik&measure=indlaeggelser_pr_1000&column=maaned&segment=borgere_65",
            "Brug år i stedet for kvartal eller måned",
        ),
    ],
)
def test_problems_are_said_in_the_users_language(world: World, query: str, danish: str) -> None:
    anna = world.visitor()
    page = html.unescape(anna.get(f"/analyse?{query}").text)
    assert danish in page
    english = TestClient(world.app, raise_server_exceptions=False, cookies={"koes_lang": "en"})
    english.cookies.set(SESSION_COOKIE, anna.token)
    assert danish not in html.unescape(english.get(f"/analyse?{query}").text)


def test_a_filter_without_checkboxes_is_kept_by_the_form(world: World) -> None:
    anna = world.visitor()
    page = anna.get("/analyse?perspective=somatik&row=koen&f.diagnoseblok=E10-E14").text
    assert '<input type="hidden" name="f.diagnoseblok" value="E10-E14">' in page
    assert "Filter på Diagnoseblok: 1 valgt" in html.unescape(page)


def test_downloads_hold_the_table_and_leave_view_only_out(world: World) -> None:
    anna = world.visitor()
    page = anna.get(PSYCHIATRY).text
    link = html.unescape(re.search(r'href="(/analyse/export\?[^"]*format=csv)"', page)[1])  # type: ignore[index]
    response = anna.get(link)
    assert response.status_code == 200
    assert response.headers["content-disposition"].startswith("attachment")
    lines = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    table = pivot(page)
    # the rows of the file are the page's rows (numbers unformatted: 1.234 on the page is 1234 in the file)
    assert [line[0] for line in lines[1 : len(table)]] == [row[0] for row in table[1:]]
    assert [e.action for e in world.records(anna.username)][-1] == "export"

    view_only = anna.get("/analyse?perspective=somatik&row=diagnose").text
    assert 'class="data-table pivot"' in view_only  # shown …
    assert 'id="no-download"' in view_only and "/analyse/export" not in view_only  # … not downloadable
    refused = anna.get("/analyse/export?perspective=somatik&row=diagnose&format=csv")
    assert refused.status_code == 400
    assert "kan ikke hentes" in refused.text


def test_save_open_rename_share_and_delete(world: World) -> None:
    anna, colleague = world.visitor(), world.visitor()
    other_org = world.visitor("kommune:751")
    query = "perspective=psykiatri&measure=kontakter&row=kommune"
    saved = anna.post("/analyse/saved", {"name": "Psykiatri efter kommune", "query": query})
    assert saved.status_code == 303 and saved.headers["location"] == "/analyse/saved?done=saved"
    listing = anna.get("/analyse/saved").text
    assert "Psykiatri efter kommune" in listing
    analysis_id = int(re.search(r'data-id="(\d+)"', listing)[1])  # type: ignore[index]
    href = html.unescape(re.search(r'href="(/analyse\?[^"]*)" class="open"', listing)[1])  # type: ignore[index]
    opened = anna.get(href).text
    assert pivot(opened) == pivot(anna.get(PSYCHIATRY).text)
    assert "Psykiatri efter kommune" in opened and 'id="update-form"' in opened

    # not shared yet: colleagues see nothing; another organisation never does
    assert "Psykiatri efter kommune" not in colleague.get("/analyse/saved").text
    assert anna.post(f"/analyse/saved/{analysis_id}/share", {"shared": "1"}).headers["location"].endswith("shared")
    assert "Psykiatri efter kommune" in colleague.get("/analyse/saved").text
    assert "Psykiatri efter kommune" not in other_org.get("/analyse/saved").text
    assert colleague.post(f"/analyse/saved/{analysis_id}/rename", {"name": "Mit navn"}).status_code == 403
    assert other_org.post(f"/analyse/saved/{analysis_id}/delete", {}).status_code == 404

    assert anna.post(f"/analyse/saved/{analysis_id}/rename", {"name": "Kontakter"}).status_code == 303
    assert "Kontakter</a>" in anna.get("/analyse/saved").text
    duplicate = anna.post("/analyse/saved", {"name": "Kontakter", "query": query})
    assert "save_problem=conflict" in duplicate.headers["location"]
    assert "allerede en analyse med det navn" in anna.get(duplicate.headers["location"]).text
    assert anna.post(f"/analyse/saved/{analysis_id}/delete", {}).status_code == 303
    assert "Kontakter</a>" not in anna.get("/analyse/saved").text

    actions = [e.action for e in world.records(anna.username) if e.action.startswith("analysis.")]
    assert actions == ["analysis.save", "analysis.update", "analysis.update", "analysis.delete"]


def test_forms_need_the_csrf_token_and_pages_the_analysis_permission(world: World) -> None:
    anna = world.visitor()
    without = anna.post("/analyse/saved", {"name": "x", "query": "perspective=somatik"}, csrf=False)
    assert without.status_code == 403
    assert anna.get("/analyse/saved").text.count('data-id="') == 0
    nobody = world.visitor(role=None)
    for url in ("/analyse", "/analyse/saved", "/analyse/export?perspective=somatik"):
        assert nobody.get(url).status_code == 403
    signed_out = world.client.get("/analyse?perspective=somatik", follow_redirects=False)
    assert signed_out.status_code == 303 and signed_out.headers["location"].startswith("/login?next=")


def test_the_builder_chooses_the_geography_and_the_page_says_which(world: World) -> None:
    """The regions control: the default (the release's last day), as they were, or as of the
    release's first day; the chosen one is kept by the form and named under the figures."""
    anna = world.visitor()
    base = "/analyse?perspective=somatik&measure=indlaeggelser&row=region&from=2022&to=2023"
    page = anna.get(base + "&geography=as_it_was").text
    select = page.split('name="geography"', 1)[1].split("</select>", 1)[0]
    assert re.search(r'<option value="as_it_was"\s+selected', select)
    assert 'value="2022-01-01"' in select and "5 regioner" in select
    assert "Regioner som de var på hændelsens dato" in page
    assert "Regioner pr. 2023-12-31" in anna.get(base).text  # the default, named
    offered = re.findall(r'name="f\.region" value="(\d+)"', page)
    assert offered == ["1081", "1082", "1083", "1084", "1085"]  # no Region Østdanmark before 2027
    assert [r[0] for r in pivot(page)[1:-1]] == [
        "Region Nordjylland",
        "Region Midtjylland",
        "Region Syddanmark",
        "Region Hovedstaden",
        "Region Sjælland",
    ]


def test_a_user_of_a_ceased_region_sees_why_not_an_empty_page(world: World) -> None:
    from datetime import date

    world.app.state.service.today = lambda: date(2027, 1, 1)
    hanne = world.visitor("region:1084")
    response = hanne.get("/analyse?perspective=somatik&measure=indlaeggelser&row=koen")
    assert response.status_code == 403
    assert "Din organisation er ophørt" in response.text
    assert "Region Hovedstaden, ophørte 2026-12-31" in response.text and "Region Østdanmark" in response.text
    report = hanne.get("/standard/medfinansiering")
    assert report.status_code == 403 and "Region Hovedstaden, ophørte 2026-12-31" in report.text
    denied = [e for e in world.records(hanne.username) if e.outcome == "denied"]
    assert len(denied) == 2  # each refusal is audited
