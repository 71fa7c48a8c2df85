"""Operations: liveness, readiness, request ids, request log lines and the Prometheus metrics."""

from __future__ import annotations

import json
import logging
import sqlite3
import subprocess
import sys
import warnings
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from koes.appdb.database import AppDatabaseError
from koes.services.analysis import AnalysisService
from koes.settings import ApiAuth, Settings
from koes.web.app import create_app
from koes.web.client_address import address_allowed
from koes.web.observability import JsonFormatter, accepted_request_id
from support import api_token, bearer

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

REQUEST = {"perspective": "somatik", "measures": ["indlaeggelser"], "rows": ["koen"]}
LOCALHOST = ("127.0.0.1", 40000)


@pytest.fixture
def empty(tmp_path: Path) -> Settings:
    """A deployment before its first load."""
    return Settings(data_dir=tmp_path, threads=1, memory_limit="1GB")


@pytest.fixture
def served(analysis: AnalysisService, small_settings: Settings, tmp_path: Path) -> Settings:
    """The small release, with an app database of this test's own (a test may break it)."""
    return replace(small_settings, app_db_url=f"sqlite:///{tmp_path / 'app.db'}")


def test_health_is_liveness_and_ready_says_why_not_before_the_first_load(empty: Settings) -> None:
    with TestClient(create_app(empty)) as client:
        health = client.get("/api/v1/health")
        assert (health.status_code, health.json()) == (200, {"status": "ok", "release": None})
        ready = client.get("/api/v1/ready")
        assert ready.status_code == 503
        error = ready.json()["error"]
        assert error["code"] == "not_ready"
        assert [p["field"] for p in error["problems"]] == ["release"]
        assert str(empty.data_dir) not in ready.text  # no path in an answer


def test_ready_with_a_release_and_503_when_the_audit_chain_is_unreadable(
    analysis: AnalysisService, served: Settings
) -> None:
    with TestClient(create_app(served, analysis)) as client:
        ready = client.get("/api/v1/ready")
        assert ready.status_code == 200, ready.text
        body = ready.json()
        assert body["release"] == analysis.release_id()
        assert body["app_database"] is True
        assert isinstance(body["audit_head"], int)
        assert client.get("/api/v1/health").json()["release"] == analysis.release_id()

        with sqlite3.connect(_db_file(served)) as db:
            db.execute("ALTER TABLE audit_records RENAME TO audit_elsewhere")
        ready = client.get("/api/v1/ready")
        assert ready.status_code == 503
        assert [p["field"] for p in ready.json()["error"]["problems"]] == ["audit_head"]
        assert client.get("/api/v1/health").status_code == 200  # still alive: no restart for this


def _db_file(settings: Settings) -> Path:
    return Path(settings.app_database_url.removeprefix("sqlite:///"))


def test_every_answer_carries_a_request_id_a_safe_one_offered_is_kept(empty: Settings) -> None:
    with TestClient(create_app(empty)) as client:
        own = client.get("/api/v1/health").headers["x-request-id"]
        assert len(own) == 32
        assert client.get("/api/v1/health").headers["x-request-id"] != own
        offered = "proxy-7f3a9c21"
        assert client.get("/api/v1/health", headers={"X-Request-ID": offered}).headers["x-request-id"] == offered
        for unsafe in ("0101011234", "id with spaces", "x" * 200, "a{b}c<d>"):
            assert client.get("/elsewhere", headers={"X-Request-ID": unsafe}).headers["x-request-id"] != unsafe
    assert accepted_request_id("req-2412-1234567890") != "req-2412-1234567890"  # ten digits: CPR-shaped


def test_one_json_log_line_per_request_with_the_route_template_and_no_query(
    empty: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    with TestClient(create_app(replace(empty, api_auth=ApiAuth.LOCAL))) as client, caplog.at_level(logging.INFO):
        response = client.get("/api/v1/users/42?q=0101011234", headers={"X-Request-ID": "trace-000042"})
    lines = [json.loads(JsonFormatter().format(r)) for r in caplog.records if r.name == "koes.request"]
    assert len(lines) == 1
    line = lines[0]
    assert line["route"] == "/api/v1/users/{user_id}"
    assert (line["method"], line["status"]) == ("GET", response.status_code)
    assert line["request_id"] == "trace-000042"
    assert isinstance(line["duration_ms"], float)
    assert "0101011234" not in json.dumps(line)
    assert "q=" not in json.dumps(line)


def test_koes_serve_logging_writes_the_products_lines_as_json_with_cpr_masked() -> None:
    script = (
        "import logging, logging.config\n"
        "from uvicorn.config import LOGGING_CONFIG\n"
        "from koes.web.observability import log_config\n"
        "logging.config.dictConfig(log_config(LOGGING_CONFIG))\n"
        "logging.getLogger('koes.web.app').info('pre-warmed %d report views for %s', 12, '010101-1234')\n"
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60)
    line = json.loads(run.stderr.strip().splitlines()[-1])
    assert line["logger"] == "koes.web.app"
    assert line["level"] == "info"
    assert line["message"] == "pre-warmed 12 report views for XXXXXX-XXXX"


def test_metrics_only_for_allowed_addresses(empty: Settings) -> None:
    with TestClient(create_app(empty)) as client:
        assert client.get("/metrics").status_code == 403  # the test client has no IP address
    with TestClient(create_app(empty), client=("192.0.2.7", 5000)) as client:
        assert client.get("/metrics").status_code == 403
    with TestClient(create_app(replace(empty, metrics_allow="192.0.2.0/24")), client=("192.0.2.7", 5000)) as client:
        assert client.get("/metrics").status_code == 200
    assert address_allowed("::1", "127.0.0.1/8,::1/128")
    assert not address_allowed("10.0.0.1", "127.0.0.1/8,::1/128")
    assert not address_allowed("not-an-address", "0.0.0.0/0")


def test_metrics_count_latency_cache_engine_release_and_sign_in_failures(
    analysis: AnalysisService, served: Settings
) -> None:
    token = api_token(served, ["aggregeret"], "national")
    app = create_app(served, analysis)
    with TestClient(app, client=LOCALHOST, headers=bearer(token)) as client:
        analysis.clear_cache()  # the first call must reach the engine, the second must not
        before = _samples(client.get("/metrics").text)
        for _ in range(2):
            assert client.post("/api/v1/analysis", json={**REQUEST, "columns": ["aar"]}).status_code == 200
        app.state.signin.password("nobody-here", "wrong")
        after = _samples(client.get("/metrics").text)
    route = 'method="POST",route="/api/v1/analysis",status="200"'
    assert _delta(before, after, "koes_http_request_duration_seconds_count{" + route + "}") == 2
    assert _delta(before, after, 'koes_analysis_cache_lookups_total{outcome="miss"}') == 1
    assert _delta(before, after, 'koes_analysis_cache_lookups_total{outcome="hit"}') == 1
    assert _delta(before, after, 'koes_engine_query_duration_seconds_count{engine="duckdb"}') >= 1
    assert _delta(before, after, "koes_signin_failures_total") == 1
    assert after[f'koes_release_info{{release="{analysis.release_id()}"}}'] == 1


def test_a_failed_audit_write_is_counted(served: Settings, analysis: AnalysisService) -> None:
    app = create_app(served, analysis)
    with TestClient(app, client=LOCALHOST) as client:
        before = _samples(client.get("/metrics").text)
        with sqlite3.connect(_db_file(served)) as db:
            db.execute("ALTER TABLE audit_records RENAME TO audit_elsewhere")
        with pytest.raises(AppDatabaseError):
            app.state.signin.password("nobody-here", "wrong")
        after = _samples(client.get("/metrics").text)
    assert _delta(before, after, "koes_audit_write_failures_total") == 1


def _samples(text: str) -> dict[str, float]:
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            out[name] = float(value)
    return out


def _delta(before: dict[str, float], after: dict[str, float], name: str) -> float:
    return after.get(name, 0.0) - before.get(name, 0.0)


@pytest.fixture(autouse=True)
def _no_stray_multiprocess_dir(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    yield
