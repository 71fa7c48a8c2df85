"""The API gate without a warehouse: 401 envelopes, public routes, the two api_auth modes, the endpoint table."""

from __future__ import annotations

import warnings
from dataclasses import replace
from pathlib import Path

import pytest

from koes.settings import ApiAuth, Settings
from koes.web.api import accounts
from koes.web.app import create_app
from support import api_token, bearer

with warnings.catch_warnings():  # Starlette prefers httpx2 to httpx; either drives the TestClient
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, threads=1, memory_limit="1GB")


def test_token_mode_is_the_default_and_answers_401_with_a_challenge(settings: Settings) -> None:
    assert settings.api_auth == "token"
    with TestClient(create_app(settings)) as client:
        for path in ("/api/v1/catalog", "/api/v1/me", "/api/v1/users", "/api/v1/audit"):
            response = client.get(path)
            assert response.status_code == 401
            error = response.json()["error"]
            assert (error["code"], error["problems"]) == ("unauthorized", [])
            assert "Authorization: Bearer" in error["message"]
            assert response.headers["www-authenticate"] == 'Bearer realm="koes"'
            assert response.headers["x-frame-options"] == "DENY"
        assert client.get("/api/v1/health").status_code == 200  # public: no token needed (liveness, no release yet)
        assert client.get("/api/v1/docs").status_code == 200
        assert client.get("/api/v1/openapi.json").status_code == 200
        # a bad query parameter without a token: still 401 (nothing is checked before the caller is known)
        assert client.get("/api/v1/catalog?lang=xx").status_code == 401


def test_a_token_reaches_the_catalog(settings: Settings) -> None:
    token = api_token(settings, ["aggregeret"], "kommune:101")
    with TestClient(create_app(settings)) as client:
        assert client.get("/api/v1/catalog", headers=bearer(token)).status_code == 200
        me = client.get("/api/v1/me", headers=bearer(token)).json()
        assert me["organisation"] == "kommune:101" and me["roles"] == ["aggregeret"]
        assert me["permissions"] == ["analysis", "catalog", "export"]
        assert client.get("/api/v1/catalog", headers={"Authorization": f"bearer  {token} "}).status_code == 200
        assert client.get("/api/v1/catalog", headers={"Authorization": token}).status_code == 401


def test_local_mode_acts_as_the_local_principal(settings: Settings) -> None:
    local = replace(settings, api_auth=ApiAuth.LOCAL, local_org="kommune:751", local_role="individ")
    with TestClient(create_app(local)) as client:
        me = client.get("/api/v1/me").json()
        assert (me["username"], me["organisation"], me["roles"]) == ("lokal", "kommune:751", ["individ"])
        assert client.get("/api/v1/catalog").status_code == 200
        assert client.get("/api/v1/users").status_code == 403  # individ manages nobody
        assert client.post("/api/v1/tokens", json={}).status_code == 403  # the local principal has no tokens


def test_a_bad_api_auth_fails_at_start(settings: Settings) -> None:
    with pytest.raises(ValueError, match="api_auth"):
        create_app(replace(settings, api_auth="none"))  # type: ignore[arg-type]  # a misspelt value


def test_misconfigured_single_sign_on_fails_at_start(settings: Settings) -> None:
    with pytest.raises(ValueError, match="KOES_OIDC_CLIENT_ID"):
        create_app(replace(settings, oidc_issuer="https://broker.example"))


def test_an_endpoint_missing_from_the_table_fails_at_start(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    table = dict(accounts.PERMISSIONS)
    del table[("GET", "/api/v1/me")]
    monkeypatch.setattr(accounts, "PERMISSIONS", table)
    with pytest.raises(RuntimeError, match=r"without an access rule.*'/api/v1/me'"):
        create_app(settings)
