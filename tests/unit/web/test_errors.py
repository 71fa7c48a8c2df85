"""The web app's error envelope, security headers, docs and OpenAPI, without a warehouse.

A stub service stands in where a failure has to be provoked (an engine error, no grant); the
routes, handlers and middleware are the real ones.
"""

from __future__ import annotations

import asyncio
import logging
import warnings
from pathlib import Path
from typing import Any

import pytest

from koes.engines.base import EngineError
from koes.privacy.access import Principal
from koes.query.scope import ScopeDeniedError
from koes.services.analysis import AnalysisService
from koes.services.results import AnalysisResult
from koes.settings import ApiAuth, Settings
from koes.web.app import create_app
from koes.web.errors import SECURITY_HEADERS

with warnings.catch_warnings():  # Starlette prefers httpx2 to httpx; either drives the TestClient
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

REQUEST = {"perspective": "somatik", "measures": ["indlaeggelser"], "rows": ["koen"]}
SECRET = "2412-secret-value"


class StubService(AnalysisService):
    """The real service, except that ``run`` raises what a test needs (and notes its thread)."""

    def __init__(self, settings: Settings, error: Exception) -> None:
        super().__init__(settings)
        self.error = error
        self.ran_on_event_loop: bool | None = None

    def run(
        self, raw: object, principal: Principal, language: str = "da", action: str = "analysis", check: Any = None
    ) -> AnalysisResult:
        try:
            asyncio.get_running_loop()
            self.ran_on_event_loop = True
        except RuntimeError:
            self.ran_on_event_loop = False
        raise self.error


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # The local principal answers every call: these tests are about errors, not tokens (see test_auth.py).
    return Settings(data_dir=tmp_path, threads=1, memory_limit="1GB", api_auth=ApiAuth.LOCAL)


@pytest.fixture
def client(settings: Settings) -> TestClient:
    return TestClient(create_app(settings), raise_server_exceptions=False)


def _stubbed(settings: Settings, error: Exception) -> tuple[TestClient, StubService]:
    service = StubService(settings, error)
    return TestClient(create_app(settings, service), raise_server_exceptions=False), service


def _error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    error: dict[str, Any] = body["error"]
    assert set(error) == {"status", "code", "message", "problems"}
    assert error["status"] == status
    assert error["code"] == code
    assert error["message"]
    return error


def _assert_security_headers(response: Any) -> None:
    for name, value in SECURITY_HEADERS:
        assert response.headers[name] == value


# --- statuses --------------------------------------------------------------------------------


def test_unknown_route_is_a_404_envelope(client: TestClient) -> None:
    response = client.get("/api/v1/nothing-here?x=1")
    assert _error(response, 404, "not_found")["problems"] == []
    _assert_security_headers(response)
    assert client.get("/not-the-api").status_code == 404


def test_wrong_method_is_a_405_envelope_with_allow(client: TestClient) -> None:
    response = client.get("/api/v1/analysis")
    _error(response, 405, "method_not_allowed")
    assert response.headers["allow"] == "POST"
    _error(client.delete("/api/v1/catalog"), 405, "method_not_allowed")


def test_no_release_is_a_503_envelope_without_the_path(client: TestClient, settings: Settings) -> None:
    error = _error(client.post("/api/v1/analysis", json=REQUEST), 503, "no_release")
    assert str(settings.warehouse) not in error["message"]
    _error(client.post("/api/v1/analysis/export", json=REQUEST), 503, "no_release")


def test_the_catalog_answers_without_a_release(client: TestClient) -> None:
    body = client.get("/api/v1/catalog").json()
    assert body["release"] is None
    assert body["years"] == []
    assert len(body["perspectives"]) == 7
    year = next(d for d in body["dimensions"] if d["id"] == "aar")
    assert year["members"] == []


def test_no_grant_is_a_403_envelope(settings: Settings) -> None:
    client, _ = _stubbed(settings, ScopeDeniedError("no grant gives access to data"))
    _error(client.post("/api/v1/analysis", json=REQUEST), 403, "forbidden")


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/api/v1/catalog?lang=fr", "lang"),
        ("/api/v1/analysis?lang=de", "lang"),
        ("/api/v1/analysis/export?format=pdf", "format"),
        ("/api/v1/analysis/export?delimiter=|", "delimiter"),
    ],
)
def test_bad_query_parameters_are_400_not_422(client: TestClient, path: str, field: str) -> None:
    method = client.get if "catalog" in path else client.post
    response = method(path, **({} if "catalog" in path else {"json": REQUEST}))
    error = _error(response, 400, "bad_request")
    assert [p["field"] for p in error["problems"]] == [field]


@pytest.mark.parametrize(
    ("content", "content_type", "message"),
    [
        (b'{"perspective": "somatik",', "application/json", "not valid JSON"),
        (b"", "application/json", "not valid JSON"),
        (b"\xff\xfe\xfa", "application/json", "not valid JSON"),
        (b"[" * 100_000, "application/json", "nested too deeply"),
        (b"perspective=somatik", "application/x-www-form-urlencoded", "Content-Type"),
        (b'{"perspective": "somatik"}', "text/plain", "Content-Type"),
    ],
)
def test_a_body_that_is_not_json_is_a_400_on_the_body(
    client: TestClient, content: bytes, content_type: str, message: str
) -> None:
    for path in ("/api/v1/analysis", "/api/v1/analysis/export"):
        response = client.post(path, content=content, headers={"Content-Type": content_type})
        error = _error(response, 400, "bad_request")
        assert [p["field"] for p in error["problems"]] == ["body"]
        assert message in error["problems"][0]["message"]


def test_a_body_that_is_not_an_object_names_the_request(client: TestClient) -> None:
    error = _error(client.post("/api/v1/analysis", json=[1, 2]), 400, "bad_request")
    assert [p["field"] for p in error["problems"]] == ["request"]


def test_an_oversized_body_is_refused(client: TestClient) -> None:
    body = b'{"perspective": "' + b"x" * 300_000 + b'"}'
    response = client.post("/api/v1/analysis", content=body, headers={"Content-Type": "application/json"})
    _error(response, 413, "payload_too_large")


# --- nothing unexpected leaks ----------------------------------------------------------------


@pytest.mark.parametrize("error", [EngineError(f"the query failed: {SECRET}"), RuntimeError(SECRET), KeyError(SECRET)])
def test_an_unexpected_failure_is_a_generic_500_and_logs_its_type_only(
    settings: Settings, error: Exception, caplog: pytest.LogCaptureFixture
) -> None:
    client, _ = _stubbed(settings, error)
    request = {**REQUEST, "filters": {"kommune": [101]}}
    with caplog.at_level(logging.DEBUG):
        response = client.post("/api/v1/analysis", json=request)
    body = _error(response, 500, "internal_error")
    _assert_security_headers(response)
    assert SECRET not in response.text
    assert "Traceback" not in response.text
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert type(error).__name__ in logged
    assert SECRET not in logged
    assert "kommune" not in logged
    assert all(r.exc_info is None for r in caplog.records)
    assert body["problems"] == []


def test_the_analysis_runs_off_the_event_loop(settings: Settings) -> None:
    client, service = _stubbed(settings, RuntimeError("stop"))
    client.post("/api/v1/analysis", json=REQUEST)
    assert service.ran_on_event_loop is False


# --- headers, docs, OpenAPI ------------------------------------------------------------------


def test_security_headers_on_every_response(client: TestClient) -> None:
    for response in (
        client.get("/api/v1/catalog"),
        client.get("/api/v1/health"),
        client.get("/api/v1/docs"),
        client.get("/api/v1/openapi.json"),
        client.get("/elsewhere"),
    ):
        _assert_security_headers(response)
    assert client.get("/api/v1/catalog").headers["cache-control"] == "no-store"


def test_the_docs_page_needs_nothing_from_elsewhere(client: TestClient) -> None:
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert "<script" not in page
    assert "http://" not in page
    assert "https://" not in page
    for path in ("/api/v1/catalog", "/api/v1/analysis", "/api/v1/analysis/export"):
        assert path in page
    assert client.get("/docs").status_code == 404  # FastAPI's CDN-backed page is off
    assert client.get("/redoc").status_code == 404


def test_openapi_lists_the_routes_and_the_envelope_not_422(client: TestClient) -> None:
    spec = client.get("/api/v1/openapi.json").json()
    paths = spec["paths"]
    assert {"/api/v1/catalog", "/api/v1/analysis", "/api/v1/analysis/export", "/api/v1/health"} <= set(paths)
    assert set(paths["/api/v1/analysis"]) == {"post"}
    analysis = paths["/api/v1/analysis"]["post"]
    assert "perspective" in analysis["requestBody"]["content"]["application/json"]["schema"]["properties"]
    assert analysis["responses"]["400"]["content"]["application/json"]["schema"]["$ref"].endswith("ErrorEnvelope")
    export = paths["/api/v1/analysis/export"]["post"]
    assert {p["name"] for p in export["parameters"]} == {"format", "delimiter", "lang"}
    for operations in paths.values():
        for op in operations.values():
            assert "422" not in op["responses"]
    assert "ErrorEnvelope" in spec["components"]["schemas"]


def test_a_misconfigured_local_principal_fails_at_start(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="organisation"):
        create_app(Settings(data_dir=tmp_path, local_org="kommune:abc"))
