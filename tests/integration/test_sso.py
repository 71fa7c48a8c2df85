"""Single sign-on against a real OpenID Connect provider (panva's oidc-provider under Node).

The app runs in-process (TestClient, base http://testserver, so the redirect URI is derived from
the request); the provider is a real server on a free port that the app reaches over HTTP for
discovery, keys and the code exchange. A person at the broker is played over HTTP
(:meth:`oidc_support.Broker.sign_in`). Local data decide: the user must exist here, belong to the
organisation the broker names and hold a valid grant; roles that need TOTP need the broker's MFA.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from fastapi import FastAPI

from koes.services.users import OPERATOR, UserService
from koes.settings import Settings
from koes.web.app import create_app
from koes.web.pages.common import SESSION_COOKIE
from koes.web.pages.sso import FLOW_COOKIE
from oidc_support import CLIENT_SECRET, CONFIDENTIAL_CLIENT, PUBLIC_CLIENT, SCOPES, Broker, running_provider

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

REDIRECT_URI = "http://testserver/login/sso/callback"
ACCOUNTS = {
    "anna": {"koes_organisation": "kommune:101", "name": "Anna Hansen"},  # aggregeret in kommune:101
    "sara": {"koes_organisation": "kommune:101", "name": "Sara Holm"},  # individ: needs MFA
    "bo": {"koes_organisation": "kommune:751", "name": "Bo"},  # a KØS user of kommune:101
    "uden": {"koes_organisation": "kommune:101", "name": "Uden Adgang"},  # no grant
    "ukendt": {"koes_organisation": "kommune:101", "name": "Ukendt"},  # no KØS user
    "tom": {"name": "Tom"},  # no organisation claim
}


class Clock:
    """Real time that a test can move on (a flow that took too long); the provider keeps real time."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


@dataclass
class World:
    app: FastAPI
    client: TestClient
    broker: Broker
    clock: Clock

    def start(self, next_path: str = "/") -> str:
        """Open the sign-in page and press the button: the broker's authorization URL."""
        assert self.client.get("/login").status_code == 200
        answer = self.client.get(f"/login/sso?{urlencode({'next': next_path})}", follow_redirects=False)
        assert answer.status_code == 303, answer.text
        return str(answer.headers["location"])

    def callback(self, url: str) -> Any:
        parts = urlsplit(url)
        assert f"{parts.scheme}://{parts.netloc}{parts.path}" == REDIRECT_URI
        answer = self.client.get(f"{parts.path}?{parts.query}", follow_redirects=True)
        # The page at the end of the redirect has no code in its address (nor in its links).
        assert len(answer.history) == 1 and "code=" not in str(answer.url)
        return answer

    def sign_in(self, login: str, *, mfa: bool = True) -> Any:
        return self.callback(self.broker.sign_in(self.start(), login, mfa=mfa))

    def records(self) -> list[Any]:
        return [r.event for r in self.app.state.audit.records() if r.event.action.startswith("signin")]


@pytest.fixture(scope="module")
def broker() -> Iterator[Broker]:
    with running_provider([REDIRECT_URI], ACCOUNTS) as running:
        yield running


def _settings(tmp_path: Path, broker: Broker, client_id: str = PUBLIC_CLIENT, secret: str = "") -> Settings:
    return Settings(
        data_dir=tmp_path,
        oidc_issuer=broker.issuer,
        oidc_client_id=client_id,
        oidc_client_secret=secret,
        oidc_scopes=SCOPES,
        oidc_label="Testmægler",
    )


def _users(app: FastAPI) -> None:
    users: UserService = app.state.users
    for name, org, role in [
        ("anna", "kommune:101", "aggregeret"),
        ("sara", "kommune:101", "individ"),
        ("bo", "kommune:101", "aggregeret"),
        ("uden", "kommune:101", None),
        ("tom", "kommune:101", "aggregeret"),
    ]:
        created = users.create_user(OPERATOR, name, organisation=org, display_name=name.title())
        if role:
            users.grant(OPERATOR, created.id, role)


@pytest.fixture
def world(tmp_path: Path, broker: Broker) -> Iterator[World]:
    clock = Clock()
    app = create_app(_settings(tmp_path, broker), clock=clock)
    with TestClient(app, raise_server_exceptions=False) as client:
        _users(app)
        yield World(app, client, broker, clock)


def _session_of(world: World) -> Any:
    return world.app.state.pages.sessions.find(world.client.cookies.get(SESSION_COOKIE))


# --- signing in ----------------------------------------------------------------------------------


def test_the_login_page_offers_the_broker_and_the_authorization_request_uses_pkce(world: World) -> None:
    page = world.client.get("/login?next=/analyse")
    assert "Log ind med Testmægler" in page.text and 'href="/login/sso?next=/analyse"' in page.text
    url = world.start()
    query = parse_qs(urlsplit(url).query)
    assert url.startswith(f"{world.broker.issuer}/auth?")
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) == 43
    assert query["client_id"] == [PUBLIC_CLIENT] and query["redirect_uri"] == [REDIRECT_URI]
    assert query["scope"] == [SCOPES] and query["response_type"] == ["code"]
    assert len(query["state"][0]) >= 43 and len(query["nonce"][0]) >= 43
    assert "code_verifier" not in query  # the verifier stays sealed in the flow cookie
    flow = world.client.cookies.get(FLOW_COOKIE)
    assert flow and query["state"][0] not in flow and query["nonce"][0] not in flow


def test_sign_in_through_the_broker_rotates_the_session_and_lands_on_the_start_page(world: World) -> None:
    world.client.get("/login")
    anonymous = world.client.cookies.get(SESSION_COOKIE)
    assert anonymous and _session_of(world).state == "anonymous"
    callback = world.broker.sign_in(world.start("/analyse"), "anna", mfa=False)
    assert parse_qs(urlsplit(callback).query)["iss"] == [world.broker.issuer]
    done = world.callback(callback)
    assert done.status_code == 200
    assert done.headers["refresh"] == "0; url=/analyse"  # same-site navigation: the strict cookie goes along
    assert 'href="/analyse"' in done.text and "Du er logget ind" in done.text
    signed_in = world.client.cookies.get(SESSION_COOKIE)
    assert signed_in and signed_in != anonymous
    assert world.app.state.pages.sessions.find(anonymous) is None  # the anonymous session is revoked
    assert _session_of(world).state == "signed_in"
    assert world.client.cookies.get(FLOW_COOKIE) is None  # the flow is single-use
    start = world.client.get("/")
    assert start.status_code == 200 and "Velkommen, Anna" in start.text
    last = world.records()[-1]
    assert (last.action, last.user, last.organisation, last.outcome) == ("signin.ok", "anna", "kommune:101", "ok")
    assert "single sign-on" in last.summary and "without multi-factor" in last.summary


def test_a_confidential_client_signs_in_with_its_secret_and_pkce(tmp_path: Path, broker: Broker) -> None:
    app = create_app(_settings(tmp_path, broker, CONFIDENTIAL_CLIENT, CLIENT_SECRET))
    with TestClient(app, raise_server_exceptions=False) as client:
        _users(app)
        world = World(app, client, broker, Clock())
        assert world.sign_in("anna").status_code == 200
        assert "Velkommen, Anna" in client.get("/").text
    wrong = create_app(_settings(tmp_path / "wrong", broker, CONFIDENTIAL_CLIENT, "not-the-secret"))
    with TestClient(wrong, raise_server_exceptions=False) as client:
        _users(wrong)
        refused = World(wrong, client, broker, Clock()).sign_in("anna")
        assert refused.status_code == 401 and "kunne ikke bekræfte" in refused.text


def test_a_role_that_needs_totp_signs_in_only_with_the_brokers_mfa(world: World) -> None:
    refused = world.sign_in("sara", mfa=False)
    assert refused.status_code == 403 and "Totrinsbekræftelse mangler" in refused.text
    assert _session_of(world).state == "anonymous"
    assert world.records()[-1].summary.startswith("single sign-on without multi-factor authentication")
    world.client.cookies.clear()
    done = world.sign_in("sara", mfa=True)
    assert done.status_code == 200, world.records()[-1]  # no local TOTP step: the broker's second factor counts
    assert _session_of(world).state == "signed_in"
    assert "with multi-factor" in world.records()[-1].summary


@pytest.mark.parametrize(
    ("login", "status", "heading", "user", "summary"),
    [
        ("ukendt", 403, "Du har ingen bruger i KØS", "(unknown)", "single sign-on as 'ukendt': the user is unknown"),
        ("bo", 403, "Organisationen passer ikke", "bo", "the broker names 'kommune:751', the user belongs to"),
        ("tom", 403, "Organisationen passer ikke", "tom", "the broker names no organisation"),
        ("uden", 403, "Du har ingen rettigheder i KØS", "uden", "single sign-on: no valid grant"),
    ],
)
def test_refusals_are_pages_with_an_audit_record(
    world: World, login: str, status: int, heading: str, user: str, summary: str
) -> None:
    world.client.get("/login")
    before = world.client.cookies.get(SESSION_COOKIE)
    callback = world.broker.sign_in(world.start(), login)
    refused = world.callback(callback)
    assert refused.status_code == status and heading in refused.text
    assert 'href="/login"' in refused.text and "Testmægler" in refused.text
    code = parse_qs(urlsplit(callback).query)["code"][0]
    assert code not in refused.text and "Traceback" not in refused.text
    assert world.client.cookies.get(SESSION_COOKIE) == before and _session_of(world).state == "anonymous"
    last = world.records()[-1]
    assert (last.action, last.user, last.outcome) == ("signin.failed", user, "denied")
    assert summary in last.summary and code not in last.summary


def test_a_deactivated_or_expired_user_is_refused(world: World) -> None:
    users: UserService = world.app.state.users
    anna = users.user_by_name(OPERATOR, "anna")
    users.deactivate(OPERATOR, anna.id)
    assert world.sign_in("anna").status_code == 403
    assert world.records()[-1].summary == "single sign-on as 'anna': the user is deactivated here"
    world.clock.offset = timedelta(days=400)  # every grant has expired (12 months by default)
    assert world.sign_in("sara").status_code == 403
    assert world.records()[-1].summary == "single sign-on: no valid grant"


# --- the protocol: state, replay, expiry, the broker's refusal ----------------------------------


def test_a_tampered_state_is_refused(world: World) -> None:
    callback = world.broker.sign_in(world.start(), "anna")
    tampered = re.sub(r"state=[^&]+", "state=forged-state", callback)
    refused = world.callback(tampered)
    assert refused.status_code == 400 and "Log-ind kunne ikke bekræftes" in refused.text
    assert _session_of(world).state == "anonymous"
    assert world.records()[-1].summary == "single sign-on refused: the state does not match this browser's sign-in"
    assert world.client.cookies.get(FLOW_COOKIE) is None  # the flow is spent: the real callback fails too
    assert world.callback(callback).status_code == 400


def test_a_callback_from_another_browser_is_refused(world: World, tmp_path: Path) -> None:
    """Login CSRF: an attacker's own callback URL, sent to a victim, matches no flow of the victim."""
    callback = world.broker.sign_in(world.start(), "anna")
    with TestClient(world.app, raise_server_exceptions=False) as victim:
        victim.get("/login")
        parts = urlsplit(callback)
        refused = victim.get(f"{parts.path}?{parts.query}")
    assert refused.status_code == 400 and "Log-ind er udløbet" in refused.text
    assert world.records()[-1].summary == "single sign-on refused: no sign-in in progress in this browser"


def test_a_replayed_code_is_refused_by_the_broker(world: World) -> None:
    callback = world.broker.sign_in(world.start(), "anna")
    flow = next(c for c in world.client.cookies.jar if c.name == FLOW_COOKIE)
    assert world.callback(callback).status_code == 200
    world.client.cookies.jar.set_cookie(flow)  # an attacker who kept the flow cookie too
    replayed = world.callback(callback)  # same flow cookie, same state, same code
    assert replayed.status_code == 401 and "kunne ikke bekræfte" in replayed.text
    last = world.records()[-1]
    assert last.summary == "single sign-on refused: the token endpoint refused the code (invalid_grant)"


def test_a_slow_sign_in_expires_and_a_cancelled_one_is_refused(world: World) -> None:
    url = world.start()
    world.clock.offset = timedelta(minutes=11)
    expired = world.callback(world.broker.sign_in(url, "anna"))
    assert expired.status_code == 400 and "Log-ind er udløbet" in expired.text
    assert world.records()[-1].summary == "single sign-on refused: the sign-in took too long"
    world.clock.offset = timedelta()
    cancelled = world.callback(world.broker.sign_in(world.start(), "anna", cancel=True))
    assert cancelled.status_code == 401 and "Du blev ikke logget ind" in cancelled.text
    assert world.records()[-1].summary == "single sign-on refused: the broker answered access_denied"


def test_single_sign_on_is_off_without_an_issuer(tmp_path: Path) -> None:
    with TestClient(create_app(Settings(data_dir=tmp_path)), raise_server_exceptions=False) as client:
        assert "/login/sso" not in client.get("/login").text
        assert client.get("/login/sso", follow_redirects=False).status_code == 404
        assert client.get("/login/sso/callback?code=x&state=y").status_code == 404


def test_an_unreachable_broker_is_a_page_not_an_error(tmp_path: Path, broker: Broker) -> None:
    settings = replace(_settings(tmp_path, broker), oidc_issuer="http://127.0.0.1:9")  # nothing listens there
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        client.get("/login")
        answer = client.get("/login/sso")
    assert answer.status_code == 502 and "Testmægler svarer ikke" in answer.text
