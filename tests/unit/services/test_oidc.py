"""The OpenID Connect relying party without a broker: PKCE, the sealed flow, state and nonce, the ID
token's checks and the claim mapping. The broker's HTTP answers come from httpx.MockTransport;
the end-to-end tests against a real provider are in tests/integration/test_sso.py.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, unquote_plus, urlsplit

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import OctKey, RSAKey

from koes.services.oidc import (
    Flow,
    FlowError,
    FlowSealer,
    OidcClient,
    OidcConfig,
    OidcConfigError,
    OidcError,
    check_callback,
    check_id_token_claims,
    code_challenge,
    identity_from_claims,
    new_flow,
    provider_error,
)
from koes.settings import Settings

ISSUER = "https://broker.example/op"
KEY = b"k" * 32
NOW = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)


def _config() -> OidcConfig:
    settings = Settings(
        oidc_issuer=ISSUER + "/", oidc_client_id="koes", oidc_scopes="openid profile", oidc_mfa_acr="nsis:high"
    )
    config = OidcConfig.from_settings(settings)
    assert config is not None
    return config


CONFIG = _config()


def _flow() -> Flow:
    return new_flow("/analyse", "session-hash", "https://koes.example/login/sso/callback", NOW)


# --- PKCE, state, nonce, the sealed flow -----------------------------------------------------------


def test_code_challenge_is_s256_as_in_rfc_7636_appendix_b() -> None:
    verifier, challenge = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    assert code_challenge(verifier) == challenge


def test_every_flow_has_fresh_random_values() -> None:
    flows = [_flow() for _ in range(50)]
    for name in ("state", "nonce", "verifier"):
        values = {getattr(f, name) for f in flows}
        assert len(values) == 50 and all(len(v) == 43 for v in values)  # 256 bits, base64url
    assert all(f.state != f.nonce != f.verifier for f in flows)
    assert "verifier" not in repr(flows[0]) and flows[0].verifier not in repr(flows[0])


def test_the_sealed_flow_opens_only_here_untampered_and_within_ten_minutes() -> None:
    sealer = FlowSealer(KEY)
    flow = _flow()
    sealed = sealer.seal(flow)
    for secret in (flow.state, flow.nonce, flow.verifier, "/analyse"):
        assert secret not in sealed
    assert sealer.open(sealed, NOW + timedelta(minutes=9)) == flow
    with pytest.raises(FlowError, match="too long"):
        sealer.open(sealed, NOW + timedelta(minutes=10, seconds=1))
    with pytest.raises(FlowError, match="too long"):
        sealer.open(sealed, NOW - timedelta(minutes=1))  # started in the future: not ours
    flipped = sealed[:-6] + ("A" if sealed[-6] != "A" else "B") + sealed[-5:]
    for bad in (flipped, FlowSealer(b"x" * 32).seal(flow), "v1:", "nonsense", "x" * 5000):
        with pytest.raises(FlowError):
            sealer.open(bad, NOW)
    with pytest.raises(FlowError, match="no sign-in in progress"):
        sealer.open(None, NOW)


def test_the_callback_must_carry_this_flows_state_and_our_issuer() -> None:
    flow = _flow()
    check_callback(flow, flow.state, None, CONFIG)
    check_callback(flow, flow.state, ISSUER, CONFIG)
    for state, iss in [
        (None, None),
        ("", None),
        (flow.state + "x", None),
        (flow.nonce, None),
        (flow.state, "https://x"),
    ]:
        with pytest.raises(OidcError) as caught:
            check_callback(flow, state, iss, CONFIG)
        assert caught.value.kind == "state"


# --- the ID token's claims and their mapping ------------------------------------------------------


def _claims(**changes: Any) -> dict[str, Any]:
    now = NOW.timestamp()
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "aud": "koes",
        "sub": "s-1",
        "exp": now + 300,
        "iat": now,
        "nonce": "n-1",
        "preferred_username": "anna",
        "koes_organisation": "kommune:101",
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"iss": "https://other.example"}, "another issuer"),
        ({"iss": None}, "another issuer"),
        ({"aud": "someone-else"}, "not meant for this client"),
        ({"aud": ["someone-else"]}, "not meant for this client"),
        ({"aud": ["koes", "other"]}, "another authorised party"),
        ({"aud": ["koes", "other"], "azp": "other"}, "another authorised party"),
        ({"exp": NOW.timestamp() - 61}, "expired"),
        ({"exp": None}, "expired"),
        ({"exp": True}, "expired"),
        ({"iat": NOW.timestamp() + 120}, "issue time"),
        ({"iat": NOW.timestamp() - 3600}, "issue time"),
        ({"iat": None}, "issue time"),
        ({"nonce": "n-2"}, "nonce"),
        ({"nonce": None}, "nonce"),
        ({"sub": None}, "subject"),
    ],
)
def test_id_token_claims_are_checked(changes: dict[str, Any], reason: str) -> None:
    with pytest.raises(OidcError, match=reason) as caught:
        check_id_token_claims(_claims(**changes), CONFIG, "n-1", NOW.timestamp())
    assert caught.value.kind == "token"


def test_good_claims_pass_with_some_clock_skew() -> None:
    check_id_token_claims(_claims(), CONFIG, "n-1", NOW.timestamp())
    check_id_token_claims(_claims(aud=["koes", "x"], azp="koes"), CONFIG, "n-1", NOW.timestamp())
    check_id_token_claims(_claims(iat=NOW.timestamp() + 30), CONFIG, "n-1", NOW.timestamp())  # a fast broker clock


def test_claims_map_to_a_user_name_an_organisation_and_mfa() -> None:
    plain = identity_from_claims(_claims(), CONFIG)
    assert (plain.username, plain.organisation, plain.mfa, plain.subject) == ("anna", "kommune:101", False, "s-1")
    assert identity_from_claims(_claims(amr=["pwd", "otp", "mfa"]), CONFIG).mfa
    assert not identity_from_claims(_claims(amr=["pwd", "otp"]), CONFIG).mfa  # only "mfa" says it
    assert not identity_from_claims(_claims(amr="mfa"), CONFIG).mfa  # amr is a list
    assert identity_from_claims(_claims(acr="nsis:high"), CONFIG).mfa  # configured as multi-factor
    assert not identity_from_claims(_claims(acr="nsis:low"), CONFIG).mfa
    assert not identity_from_claims(_claims(acr=["nsis:high"]), CONFIG).mfa
    assert identity_from_claims(_claims(koes_organisation=["kommune:101"]), CONFIG).organisation is None
    assert identity_from_claims(_claims(preferred_username=" anna "), CONFIG).username == "anna"
    for missing in (None, "", 7):
        with pytest.raises(OidcError, match="preferred_username"):
            identity_from_claims(_claims(preferred_username=missing), CONFIG)
    other = replace(CONFIG, username_claim="email", organisation_claim="org")
    mapped = identity_from_claims(_claims(email="anna@kk.dk", org="kommune:147"), other)
    assert (mapped.username, mapped.organisation) == ("anna@kk.dk", "kommune:147")


def test_provider_errors_are_reduced_to_their_code() -> None:
    assert provider_error("access_denied") == "access_denied"
    assert provider_error("<script>alert(1)</script>") == "unreadable error"
    assert provider_error(None) == "unreadable error"


# --- configuration ----------------------------------------------------------------------------------


def test_configuration_is_off_without_an_issuer_and_refuses_unsafe_settings() -> None:
    assert OidcConfig.from_settings(Settings()) is None
    assert CONFIG.issuer == ISSUER and CONFIG.mfa_acr == {"nsis:high"}  # trailing slash dropped
    good = Settings(oidc_issuer=ISSUER, oidc_client_id="koes")
    for bad, message in [
        (replace(good, oidc_client_id=""), "KOES_OIDC_CLIENT_ID"),
        (replace(good, oidc_issuer="http://broker.example"), "KOES_OIDC_ISSUER must be an https"),
        (replace(good, oidc_redirect_uri="http://koes.example/cb"), "KOES_OIDC_REDIRECT_URI"),
        (replace(good, oidc_scopes="profile"), "openid"),
    ]:
        with pytest.raises(OidcConfigError, match=message):
            OidcConfig.from_settings(bad)
    assert OidcConfig.from_settings(replace(good, oidc_issuer="http://127.0.0.1:8080")) is not None  # tests


def test_settings_come_from_the_environment_and_hide_the_secret() -> None:
    settings = Settings.from_env(
        {"KOES_OIDC_ISSUER": ISSUER, "KOES_OIDC_CLIENT_ID": "koes", "KOES_OIDC_CLIENT_SECRET": "hemmelig-1234"}
    )
    assert settings.oidc_enabled and settings.oidc_client_id == "koes"
    assert "hemmelig-1234" not in repr(settings) and "hemmelig-1234" not in repr(OidcConfig.from_settings(settings))
    assert not Settings.from_env({}).oidc_enabled


# --- the client against a broker answered by MockTransport -----------------------------------------


class FakeBroker:
    """Discovery, JWKS and a token endpoint; counts the calls and keeps the last token request."""

    def __init__(self) -> None:
        self.key = RSAKey.generate_key(2048, parameters={"kid": "k1", "use": "sig", "alg": "RS256"})
        self.published = [self.key]
        self.calls: dict[str, int] = {}
        self.token_request: httpx.Request | None = None
        self.id_token = ""
        self.token_status = 200
        self.discovery: dict[str, Any] = {
            "issuer": ISSUER,
            "authorization_endpoint": f"{ISSUER}/auth",
            "token_endpoint": f"{ISSUER}/token",
            "jwks_uri": f"{ISSUER}/jwks",
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "none"],
        }

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/op")
        self.calls[path] = self.calls.get(path, 0) + 1
        if path == "/.well-known/openid-configuration":
            return httpx.Response(200, json=self.discovery)
        if path == "/jwks":
            return httpx.Response(200, json={"keys": [k.as_dict(private=False) for k in self.published]})
        if path == "/token" and self.token_status == 200:
            self.token_request = request
            return httpx.Response(200, json={"access_token": "at", "token_type": "Bearer", "id_token": self.id_token})
        return httpx.Response(self.token_status, json={"error": "invalid_grant", "error_description": "code used"})

    def sign(self, claims: dict[str, Any], key: Any = None, header: dict[str, str] | None = None) -> None:
        key = key or self.key
        self.id_token = jwt.encode(header or {"alg": "RS256", "kid": key.kid}, claims, key)


def _client(broker: FakeBroker, config: OidcConfig = CONFIG) -> OidcClient:
    factory: Callable[[], httpx.Client] = lambda: httpx.Client(transport=httpx.MockTransport(broker))  # noqa: E731
    return OidcClient(config, KEY, http=factory, clock=lambda: NOW.timestamp())


def test_the_authorization_url_carries_the_challenge_but_never_the_verifier() -> None:
    broker = FakeBroker()
    client = _client(broker)
    flow = _flow()
    url = client.authorization_url(flow)
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert url.startswith(f"{ISSUER}/auth?")
    assert query == {
        "response_type": "code",
        "client_id": "koes",
        "redirect_uri": flow.redirect_uri,
        "scope": "openid profile",
        "state": flow.state,
        "nonce": flow.nonce,
        "code_challenge": code_challenge(flow.verifier),
        "code_challenge_method": "S256",
    }
    client.authorization_url(_flow())
    assert broker.calls == {"/.well-known/openid-configuration": 1}  # discovery is cached


def test_a_signed_id_token_gives_the_identity_and_the_code_goes_with_the_verifier() -> None:
    broker = FakeBroker()
    flow = _flow()
    broker.sign(_claims(nonce=flow.nonce, amr=["pwd", "mfa"]))
    identity = _client(broker).identity(flow, "the-code")
    assert (identity.username, identity.organisation, identity.mfa) == ("anna", "kommune:101", True)
    assert broker.token_request is not None
    form = parse_qs(broker.token_request.content.decode())
    assert form["code"] == ["the-code"] and form["code_verifier"] == [flow.verifier]
    assert form["grant_type"] == ["authorization_code"] and form["redirect_uri"] == [flow.redirect_uri]
    assert "authorization" not in broker.token_request.headers  # a public client: PKCE only


def test_a_confidential_client_authenticates_with_basic_or_post() -> None:
    broker = FakeBroker()
    flow = _flow()
    broker.sign(_claims(nonce=flow.nonce))
    confidential = replace(CONFIG, client_secret="s3cret:+&")
    _client(broker, confidential).identity(flow, "c")
    assert broker.token_request is not None
    scheme, encoded = broker.token_request.headers["authorization"].split(" ")
    client_id, secret = base64.b64decode(encoded).decode().split(":")
    assert (scheme, client_id, unquote_plus(secret)) == ("Basic", "koes", "s3cret:+&")
    broker.discovery["token_endpoint_auth_methods_supported"] = ["client_secret_post"]
    _client(broker, confidential).identity(flow, "c")
    assert parse_qs(broker.token_request.content.decode())["client_secret"] == ["s3cret:+&"]


def test_rolled_keys_are_fetched_again_once() -> None:
    broker = FakeBroker()
    client = _client(broker)
    flow = _flow()
    broker.sign(_claims(nonce=flow.nonce))
    client.identity(flow, "c")
    broker.key = RSAKey.generate_key(2048, parameters={"kid": "k2", "use": "sig", "alg": "RS256"})
    broker.published = [broker.key]
    broker.sign(_claims(nonce=flow.nonce))
    assert client.identity(flow, "c").username == "anna"
    assert broker.calls["/jwks"] == 2


def _unsigned(claims: dict[str, Any]) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'kid': 'k1'})}.{part(claims)}."


def test_forged_id_tokens_are_refused() -> None:
    broker = FakeBroker()
    client = _client(broker)
    flow = _flow()
    claims = _claims(nonce=flow.nonce)
    impostor = RSAKey.generate_key(2048, parameters={"kid": "k1", "use": "sig", "alg": "RS256"})
    shared = OctKey.import_key(b"a-key-anyone-could-know-32-bytes!", parameters={"kid": "k1"})
    forgeries: list[Callable[[], None]] = [
        lambda: broker.sign(claims, impostor),  # the broker's key id, another key
        lambda: broker.sign(claims, shared, {"alg": "HS256", "kid": "k1"}),  # a shared-secret algorithm
        lambda: setattr(broker, "id_token", _unsigned(claims)),  # alg none
        lambda: setattr(broker, "id_token", "not.a.token"),
    ]
    for forge in forgeries:
        forge()
        with pytest.raises(OidcError) as caught:
            client.identity(flow, "c")
        assert caught.value.kind == "token"
    broker.sign(_claims(nonce="another-flow"))
    with pytest.raises(OidcError, match="nonce"):
        client.identity(flow, "c")


def test_broker_failures_name_no_code_or_token() -> None:
    broker = FakeBroker()
    broker.token_status = 400
    with pytest.raises(OidcError) as caught:
        _client(broker).identity(_flow(), "secret-code-123")
    assert caught.value.kind == "token" and caught.value.reason == "the token endpoint refused the code (invalid_grant)"
    broker.discovery["issuer"] = "https://evil.example"
    with pytest.raises(OidcError, match="another issuer") as caught:
        _client(broker).authorization_url(_flow())
    assert caught.value.kind == "unavailable"
    broker.discovery = {**FakeBroker().discovery, "token_endpoint": "http://broker.example/token"}
    with pytest.raises(OidcError, match="https"):
        _client(broker).authorization_url(_flow())

    def down(_request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    offline = OidcClient(CONFIG, KEY, http=lambda: httpx.Client(transport=httpx.MockTransport(down)))
    with pytest.raises(OidcError, match="did not answer") as caught:
        offline.authorization_url(_flow())
    assert caught.value.kind == "unavailable"


def test_the_discovery_document_is_fetched_again_after_an_hour() -> None:
    broker = FakeBroker()
    now = [time.time()]
    client = OidcClient(
        CONFIG, KEY, http=lambda: httpx.Client(transport=httpx.MockTransport(broker)), clock=lambda: now[0]
    )
    client.provider()
    now[0] += 3599
    client.provider()
    now[0] += 2
    client.provider()
    assert broker.calls["/.well-known/openid-configuration"] == 2
