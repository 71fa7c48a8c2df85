"""The saved-analyses API (/api/v1/analyses) on SQLite and PostgreSQL app databases.

Create, list, read, rename, share, delete; every bad body answered 400 with each problem by field;
and tampering: another organisation's id and a colleague's unshared analysis are not found (the
same answer as an id that does not exist), a colleague's shared one is readable but not changeable.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import pytest
from fastapi import FastAPI

from koes.privacy.access import Principal
from koes.services.analysis import AnalysisService
from koes.services.audit import AuditTrail
from koes.services.users import OPERATOR, UserService
from koes.services.warehouse import LoadResult
from koes.settings import Settings
from koes.web.app import create_app
from support import bearer, fast_passwords, unique_name

with warnings.catch_warnings():  # Starlette prefers httpx2 to httpx; either drives the TestClient
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

URL = "/api/v1/analyses"
OWN, OTHER = "kommune:101", "kommune:751"
REQUEST: dict[str, Any] = {"perspective": "somatik", "measures": ["indlaeggelser"], "rows": ["koen"]}


@dataclass
class World:
    client: TestClient
    app: FastAPI
    users: UserService

    def user(self, org: str = OWN, role: str = "aggregeret") -> tuple[Principal, str]:
        created = self.users.create_user(OPERATOR, f"u-{unique_name()}", organisation=org)
        self.users.grant(OPERATOR, created.id, role)
        token = self.app.state.tokens.create_for(OPERATOR, created.id, "test").secret
        return self.users.principal_for(created.id), token

    def call(self, method: str, url: str, token: str, body: Any = None) -> Any:
        return self.client.request(method, url, json=body, headers=bearer(token))

    def save(self, token: str, name: str, shared: bool = False) -> dict[str, Any]:
        response = self.call("POST", URL, token, {"name": name, "request": REQUEST, "shared": shared})
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body


@pytest.fixture
def world(
    small_load: LoadResult, small_settings: Settings, analysis: AnalysisService, app_db_url: str
) -> Iterator[World]:
    app = create_app(replace(small_settings, app_db_url=app_db_url), analysis)
    users = app.state.users
    users.passwords = fast_passwords()
    with TestClient(app) as client:
        yield World(client, app, users)


def _fields(response: Any) -> list[str]:
    return [p["field"] for p in response.json()["error"]["problems"]]


def test_create_list_get_rename_share_and_delete(world: World) -> None:
    anna, token = world.user()
    created = world.call("POST", URL, token, {"name": " Indlæggelser efter køn ", "request": REQUEST})
    assert created.status_code == 201, created.text
    saved = created.json()
    assert saved["name"] == "Indlæggelser efter køn" and saved["shared"] is False and saved["editable"] is True
    assert saved["owner"] == anna.user and saved["organisation"] == OWN
    assert saved["request"] == {**REQUEST, "columns": [], "filters": {}, "segment": None, "period": None,
                                "comparison": False}  # fmt: skip
    item = f"{URL}/{saved['id']}"
    assert world.call("GET", item, token).json() == saved
    assert [s["id"] for s in world.call("GET", URL, token).json()["analyses"]] == [saved["id"]]

    renamed = world.call("PATCH", item, token, {"name": "Nyt navn"})
    assert renamed.status_code == 200 and renamed.json()["name"] == "Nyt navn"
    shared = world.call("PATCH", item, token, {"shared": True})
    assert shared.status_code == 200 and shared.json()["shared"] is True
    replaced = world.call("PATCH", item, token, {"request": {**REQUEST, "rows": [], "columns": ["koen"]}})
    assert replaced.json()["request"]["columns"] == ["koen"] and replaced.json()["name"] == "Nyt navn"

    deleted = world.call("DELETE", item, token)
    assert deleted.status_code == 204 and deleted.content == b""
    assert world.call("GET", item, token).status_code == 404
    assert world.call("GET", URL, token).json() == {"analyses": []}
    records = [r.event for r in AuditTrail(world.users.database).records() if r.event.user == anna.user]
    assert [(e.action, e.outcome) for e in records] == [
        ("analysis.save", "ok"),
        ("analysis.update", "ok"),
        ("analysis.update", "ok"),
        ("analysis.update", "ok"),
        ("analysis.delete", "ok"),
        ("access.denied", "denied"),  # the GET after the delete: not found, recorded as refused
    ]


def test_bad_bodies_name_every_problem(world: World) -> None:
    _, token = world.user()
    bad_request = {"perspective": "somatik", "measures": ["nope"]}
    cases: list[tuple[str, str, Any, list[str]]] = [
        ("POST", URL, {}, ["name", "request"]),
        ("POST", URL, {"name": "", "request": bad_request}, ["name", "request.measures[0]"]),
        ("POST", URL, {"name": 7, "request": REQUEST, "shared": "yes", "x": 1}, ["x", "name", "shared"]),
        ("POST", URL, {"name": "a", "request": None}, ["request"]),
        ("POST", URL, {"name": "a", "request": [1]}, ["request"]),
        ("POST", URL, [1, 2], ["body"]),
    ]
    saved = world.save(token, "Mit")
    item = f"{URL}/{saved['id']}"
    cases += [
        ("PATCH", item, {}, ["body"]),
        ("PATCH", item, {"name": None, "shared": None}, ["name", "shared"]),
        ("PATCH", item, {"request": {"perspective": "nope", "measures": ["indlaeggelser"]}}, ["request.perspective"]),
    ]
    for method, url, body, fields in cases:
        response = world.call(method, url, token, body)
        assert response.status_code == 400, (method, body, response.text)
        assert response.json()["error"]["code"] == "bad_request" and _fields(response) == fields, (body, fields)
    text = world.client.post(URL, content=b"name=x", headers={**bearer(token), "Content-Type": "text/plain"})
    assert text.status_code == 400 and _fields(text) == ["body"]
    for bad_id in ("0", "-1", "abc", str(2**64)):
        assert world.call("GET", f"{URL}/{bad_id}", token).status_code == 400
    taken = world.call("POST", URL, token, {"name": "Mit", "request": REQUEST})
    assert taken.status_code == 409 and taken.json()["error"]["code"] == "conflict"
    assert world.call("GET", item, token).json() == saved  # nothing was changed by the bad calls


def test_tampering_never_reaches_what_is_not_yours(world: World) -> None:
    _, mine = world.user()
    _, colleague = world.user()
    _, elsewhere = world.user(OTHER)
    theirs = world.save(elsewhere, "Aarhus", shared=True)
    private = world.save(colleague, "Privat")
    shared = world.save(colleague, "Delt", shared=True)
    absent = f"{URL}/{10**9}"
    not_found = world.call("GET", absent, mine).json()
    for target in (theirs, private):
        item = f"{URL}/{target['id']}"
        for method, body in (("GET", None), ("PATCH", {"name": "Mit nu"}), ("DELETE", None)):
            response = world.call(method, item, mine, body)
            assert response.status_code == 404, (method, target["name"], response.text)
            assert response.json() == world.call(method, absent, mine, body).json() == not_found  # nothing leaks

    item = f"{URL}/{shared['id']}"
    seen = world.call("GET", item, mine)
    assert seen.status_code == 200 and seen.json() == {**shared, "editable": False}
    changes: list[tuple[str, dict[str, Any] | None]] = [
        ("PATCH", {"name": "Overtaget"}),
        ("PATCH", {"shared": False}),
        ("DELETE", None),
    ]
    for method, change in changes:
        response = world.call(method, item, mine, change)
        assert response.status_code == 403 and response.json()["error"]["code"] == "forbidden", method
    listed = world.call("GET", URL, mine).json()["analyses"]
    assert [s["name"] for s in listed] == ["Delt"]
    assert world.call("GET", item, colleague).json() == shared  # unchanged


def test_the_analysis_permission_is_needed(world: World) -> None:
    _, admin = world.user(role="lokal_admin")
    _, analyst = world.user()
    saved = world.save(analyst, "Mit", shared=True)
    for method, url, body in (
        ("GET", URL, None),
        ("POST", URL, {"name": "x", "request": REQUEST}),
        ("GET", f"{URL}/{saved['id']}", None),
        ("PATCH", f"{URL}/{saved['id']}", {"name": "y"}),
        ("DELETE", f"{URL}/{saved['id']}", None),
    ):
        assert world.call(method, url, admin, body).status_code == 403, (method, url)
        assert world.client.request(method, url, json=body).status_code == 401


def test_openapi_documents_the_saved_analyses(world: World) -> None:
    spec = world.client.get("/api/v1/openapi.json").json()
    collection, item = spec["paths"][URL], spec["paths"][f"{URL}/{{analysis_id}}"]
    assert set(collection) == {"get", "post"} and set(item) == {"get", "patch", "delete"}
    body = collection["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["required"] == ["name", "request"] and body["additionalProperties"] is False
    assert set(collection["post"]["responses"]) >= {"201", "400", "401", "403", "409"}
    assert set(item["delete"]["responses"]) >= {"204", "401", "403", "404"}
    assert all(op["security"] == [{"bearer": []}] for op in [*collection.values(), *item.values()])
