"""The pages' pieces without a browser: the message catalog, safe redirects, sessions and CSRF."""

from __future__ import annotations

import re
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from koes.services.appdb import open_app_database
from koes.services.audit import AuditTrail
from koes.services.sessions import SessionService
from koes.settings import Settings
from koes.web.app import create_app
from koes.web.i18n import LANGUAGES, catalog
from koes.web.pages.common import safe_next
from support import SettableClock

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

TEMPLATES = Path(__file__).resolve().parents[3] / "src" / "koes" / "web" / "templates"


def test_every_text_has_danish_and_english_and_every_key_used_exists() -> None:
    texts = catalog()
    assert all(set(v) == set(LANGUAGES) for v in texts.values())
    for template in TEMPLATES.glob("*.html"):
        for key in re.findall(r't\("([a-z0-9_.]+)"[,)]', template.read_text(encoding="utf-8")):
            assert key in texts, f"{template.name}: {key}"


def test_templates_have_no_inline_script_or_style() -> None:
    """Scripts come from the app's own files; a <script> element may otherwise only carry JSON data."""
    for template in TEMPLATES.glob("*.html"):
        text = template.read_text(encoding="utf-8")
        for tag in re.findall(r"<script[^>]*>", text):
            source = r'src="(/[^"]+|\{\{ asset_url\(\'[^\']+\'\) \}\})"'
            assert re.fullmatch(rf'<script ({source}|type="application/json" id="[^"]+")>', tag), template.name
        assert "<style" not in text and "style=" not in text, template.name


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("/", "/"),
        ("/x?y=1", "/x?y=1"),
        (None, "/"),
        ("", "/"),
        ("//evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("https://evil.example/", "/"),
        ("javascript:alert(1)", "/"),
        ("x", "/"),
    ],
)
def test_next_is_only_a_same_site_path(given: str | None, expected: str) -> None:
    assert safe_next(given) == expected


class Clock(SettableClock):
    def __init__(self) -> None:
        super().__init__(datetime(2025, 5, 1, 9, tzinfo=UTC))


def test_sessions_end_when_idle_too_old_revoked_or_rotated(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, session_idle_minutes=30, session_absolute_hours=12)
    database = open_app_database(settings)
    try:
        clock = Clock()
        sessions = SessionService(AuditTrail(database), settings, clock)
        first = sessions.start()
        assert sessions.find(first.token) == first.session
        assert first.session.token_hash not in first.token and len(first.session.token_hash) == 64
        assert first.session.csrf_ok(first.session.csrf_token) and not first.session.csrf_ok("x")
        assert not first.session.csrf_ok(None)
        clock.now += timedelta(minutes=31)
        assert sessions.find(first.token) is None  # idle
        second = sessions.start()
        for _ in range(25):  # active every 29 minutes: only the absolute limit ends it
            clock.now += timedelta(minutes=29)
            if sessions.find(second.token) is None:
                break
        assert clock.now - second.session.created_at > timedelta(hours=12)
        third = sessions.start()
        fourth = sessions.start(replaces=third.session.token_hash)  # rotation: the old one is gone
        assert sessions.find(third.token) is None and sessions.find(fourth.token) is not None
        third = fourth
        assert sessions.find("nonsense") is None and sessions.find(None) is None
        sessions.end(third.session.token_hash)
        assert sessions.find(third.token) is None
    finally:
        database.dispose()


def test_pages_get_security_headers_and_post_without_csrf_is_403(tmp_path: Path) -> None:
    client = TestClient(create_app(Settings(data_dir=tmp_path)), raise_server_exceptions=False)
    login = client.get("/login")
    assert login.status_code == 200
    assert login.headers["content-security-policy"].startswith("default-src 'self'")
    assert login.headers["x-frame-options"] == "DENY"
    assert login.headers["cache-control"] == "no-store"
    cookie = login.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    refused = client.post("/login", data={"username": "x", "password": "y"})
    assert refused.status_code == 403 and refused.headers["content-type"].startswith("text/html")
    assert client.get("/", follow_redirects=False).headers["location"] == "/login?next=%2F"
    assert client.get("/api/v1/nothing").json()["error"]["code"] == "not_found"
    assert client.get("/nothing").headers["content-type"].startswith("text/html")
