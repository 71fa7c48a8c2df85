"""The Standard reports over the JSON API: the catalogue, every report answered and protected,
one audit record per report shown, downloads, and clear answers to unknown reports and bad choices."""

from __future__ import annotations

import csv
import io
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import pytest
from fastapi import FastAPI

from koes.reports.loader import default_reports
from koes.services import reports as reports_module
from koes.services.reports import ReportService
from koes.services.users import OPERATOR, UserService
from koes.services.warehouse import LoadResult
from koes.settings import Settings
from koes.web.app import create_app
from support import bearer, fast_passwords, unique_name

with warnings.catch_warnings():  # Starlette prefers httpx2 to httpx; either drives the TestClient
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

URL = "/api/v1/reports"


@dataclass
class World:
    client: TestClient
    app: FastAPI
    token: str
    username: str

    def get(self, url: str) -> Any:
        return self.client.get(url, headers=bearer(self.token))

    def report_records(self) -> list[Any]:
        trail = self.app.state.audit
        return [
            e.event for e in trail.records() if e.event.user == self.username and e.event.action in ("report", "export")
        ]


@pytest.fixture(scope="module")
def world(
    small_load: LoadResult, small_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    # The app's own analysis service: it writes the audit trail (the shared fixture's does not).
    data_dir = tmp_path_factory.mktemp("reports-api")
    app = create_app(replace(small_settings, data_dir=data_dir, warehouse_dir=small_settings.warehouse))
    users: UserService = app.state.users
    users.passwords = fast_passwords()
    name = f"r-{unique_name()}"
    created = users.create_user(OPERATOR, name, organisation="kommune:751")
    users.grant(OPERATOR, created.id, "aggregeret")
    token = app.state.tokens.create_for(OPERATOR, created.id, "test").secret
    with TestClient(app) as client:
        yield World(client, app, token, name)


def test_the_catalogue_lists_every_report_in_both_languages(world: World) -> None:
    da = world.get(URL).json()["reports"]
    en = world.get(f"{URL}?lang=en").json()["reports"]
    assert [r["id"] for r in da] == list(default_reports().reports) and len(da) >= 10
    assert da[0]["title"] == "Nøgletal" and en[0]["title"] == "Key figures"


@pytest.mark.parametrize("report_id", list(default_reports().reports))
def test_every_report_answers_protected_views_and_one_audit_record(world: World, report_id: str) -> None:
    before = len(world.report_records())
    response = world.get(f"{URL}/{report_id}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["choices"]["municipality"] == 751  # the caller's own municipality
    assert {"table", "series", "comparison"} <= set(body["views"])
    for view in body["views"].values():
        for block in view["blocks"]:
            for cell in block["cells"]:
                for value in cell["values"].values():
                    if value["status"] == "primary":
                        assert value["value"] is None and value["display"] == "<5"
    table = body["views"]["table"]
    assert [d["id"] for d in table["rows"]] == ["kommune"]
    records = world.report_records()[before:]
    assert len(records) == 1  # one page, one record, however many queries behind it
    assert records[0].action == "report" and report_id in records[0].summary
    assert records[0].cells_suppressed == body["suppression"]["cells_suppressed"]


def test_unknown_reports_and_bad_choices_are_clear_and_audited(world: World) -> None:
    before = len(world.report_records())
    missing = world.get(f"{URL}/nope")
    assert missing.status_code == 404 and missing.json()["error"]["message"] == "no report has this id"
    bad = world.get(f"{URL}/noegletal?year=1999&sex=7&measure=recepter&age=010190-1234")
    assert bad.status_code == 400
    assert {p["field"] for p in bad.json()["error"]["problems"]} == {"year", "sex", "measure", "age"}
    assert "010190" not in bad.text  # a CPR number typed into a choice is never echoed
    records = world.report_records()[before:]
    assert [(r.outcome, r.summary.split(";")[0]) for r in records] == [
        ("error", "report nope"),
        ("error", "report noegletal"),
    ]
    assert all("010190" not in r.summary for r in records)


def test_the_table_downloads_as_csv_with_the_same_cells(world: World) -> None:
    shown = world.get(f"{URL}/genindlaeggelser?variant=psykiatri").json()["views"]["table"]
    response = world.get(f"{URL}/genindlaeggelser/export?variant=psykiatri&format=csv&delimiter=;")
    assert response.status_code == 200
    assert response.headers["content-disposition"].startswith('attachment; filename="genindlaeggelser-')
    lines = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    hidden_in_file = sum(1 for line in lines for v in line if v in ("<5", "x"))
    hidden_shown = sum(
        1 for c in shown["blocks"][0]["cells"] for v in c["values"].values() if v["status"] not in ("ok", "none")
    )
    assert hidden_in_file == hidden_shown > 0
    assert world.report_records()[-1].action == "export"


def test_a_report_seen_before_is_sent_as_before_or_not_modified_and_each_access_is_audited(world: World) -> None:
    url = f"{URL}/noegletal"
    first = world.get(url)
    etag = first.headers["etag"]
    assert first.status_code == 200 and etag.startswith('"') and first.headers["cache-control"] == "no-store"
    before = len(world.report_records())
    unchanged = world.client.get(url, headers={**bearer(world.token), "If-None-Match": etag})
    assert unchanged.status_code == 304 and unchanged.content == b"" and unchanged.headers["etag"] == etag
    again = world.get(url)
    assert again.status_code == 200 and again.content == first.content and again.headers["etag"] == etag
    records = world.report_records()[before:]
    assert [(r.action, r.outcome) for r in records] == [("report", "ok"), ("report", "ok")]  # the 304 too
    assert records[0].cells_suppressed == first.json()["suppression"]["cells_suppressed"]
    english = world.client.get(f"{url}?lang=en", headers={**bearer(world.token), "If-None-Match": etag})
    assert english.status_code == 200 and english.headers["etag"] != etag


def test_an_entity_tag_never_answers_for_another_scope(world: World) -> None:
    """A user with exact figures for København (another scope) sends the aggregate user's tag: full answer."""
    users: UserService = world.app.state.users
    exact = users.create_user(OPERATOR, f"r-{unique_name()}", organisation="kommune:101")
    users.grant(OPERATOR, exact.id, "individ")
    token = world.app.state.tokens.create_for(OPERATOR, exact.id, "test").secret
    url = f"{URL}/noegletal?municipality=101"
    theirs = world.get(url)
    mine = world.client.get(url, headers={**bearer(token), "If-None-Match": theirs.headers["etag"]})
    assert mine.status_code == 200 and mine.headers["etag"] != theirs.headers["etag"]
    assert mine.json()["provenance"]["scope"] != theirs.json()["provenance"]["scope"]


def test_the_kept_report_bodies_stay_within_their_byte_budget(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    service: ReportService = world.app.state.reports
    monkeypatch.setattr(reports_module, "BODY_BUDGET", 1)  # every new page pushes out the older ones
    first = world.get(f"{URL}/medicin?lang=en")  # pages no other test asks for: new bodies, kept now
    second = world.get(f"{URL}/aeldre?lang=en")
    assert first.status_code == second.status_code == 200
    assert service.kept() == (1, len(second.content))
    conditional = {**bearer(world.token), "If-None-Match": first.headers["etag"]}
    again = world.client.get(f"{URL}/medicin?lang=en", headers=conditional)
    assert again.status_code == 304  # made again from the protected results, the same bytes and tag
