"""Single sign-on through OpenID Connect: the authorization code flow with PKCE (S256).

This is the protocol half; who may sign in is decided locally by
:meth:`koes.services.signin.SignInService.single_sign_on` (docs/decisions/0003-oidc-sso.md)::

    client = OidcClient(OidcConfig.from_settings(settings), secret_key)
    flow = new_flow(next_path, anonymous_session_hash, redirect_uri, now)
    url = client.authorization_url(flow)              # → the broker; flow sealed into a cookie
    ...                                               # the broker redirects back with code and state
    flow = client.sealer.open(cookie, now)            # FlowError: missing, tampered, expired
    check_callback(flow, state, iss, client.config)   # OidcError: state or issuer mismatch
    identity = client.identity(flow, code)            # token endpoint, ID token checked, claims read

The flow's ``state``, ``nonce`` and PKCE ``code_verifier`` never leave the server except sealed
(AES-GCM under a key derived from the app's secret key) in a short-lived HttpOnly cookie bound to
this browser; the broker sees only the state, the nonce and the S256 challenge. The ID token is
checked against the broker's published keys (JWKS, refetched once for an unknown key id), and
for ``iss``, ``aud`` (``azp`` when several), ``exp``, ``iat`` and ``nonce``. No error message
carries a code or a token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, TypeGuard
from urllib.parse import quote_plus, urlencode, urlsplit

import httpx
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet

from koes.privacy.credentials import SecretBox
from koes.settings import Settings

FLOW_LIFETIME = timedelta(minutes=10)  # from the button to the callback: a sign-in at the broker
DISCOVERY_LIFETIME = 3600.0  # seconds a discovery document is reused
LEEWAY = 60  # seconds of clock skew allowed on exp and iat
MAX_TOKEN_AGE = 600  # an ID token issued longer ago than this is stale (seconds)
# Asymmetric algorithms only: "none" and HS* (a key shared with the broker) are never accepted.
ALGORITHMS = ("RS256", "PS256", "ES256")
MFA_AMR = "mfa"  # RFC 8176: multiple-factor authentication
LOOPBACK = ("localhost", "127.0.0.1", "::1")


class OidcConfigError(ValueError):
    """The OIDC settings are incomplete or unsafe (named in the message)."""


class OidcError(Exception):
    """The sign-in at the broker could not be confirmed. ``reason`` is for the audit record (no
    codes or tokens); ``kind`` chooses the page: state, expired, provider, token, unavailable."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


@dataclass(frozen=True)
class OidcConfig:
    issuer: str
    client_id: str
    client_secret: str
    redirect_uri: str  # empty: made from the request
    scopes: str
    username_claim: str
    organisation_claim: str
    mfa_acr: frozenset[str]
    label: str

    def __repr__(self) -> str:
        return f"OidcConfig(issuer={self.issuer!r}, client_id={self.client_id!r}, …)"

    @classmethod
    def from_settings(cls, settings: Settings) -> OidcConfig | None:
        """The configuration, or None when single sign-on is off (no issuer)."""
        if not settings.oidc_enabled:
            return None
        issuer = settings.oidc_issuer.rstrip("/")
        _require_https(issuer, "KOES_OIDC_ISSUER")
        if settings.oidc_redirect_uri:
            _require_https(settings.oidc_redirect_uri, "KOES_OIDC_REDIRECT_URI")
        if not settings.oidc_client_id:
            raise OidcConfigError("KOES_OIDC_CLIENT_ID is needed with KOES_OIDC_ISSUER")
        if "openid" not in settings.oidc_scopes.split():
            raise OidcConfigError("KOES_OIDC_SCOPES must include openid")
        return cls(
            issuer=issuer,
            client_id=settings.oidc_client_id,
            client_secret=settings.oidc_client_secret,
            redirect_uri=settings.oidc_redirect_uri,
            scopes=settings.oidc_scopes,
            username_claim=settings.oidc_username_claim,
            organisation_claim=settings.oidc_organisation_claim,
            mfa_acr=frozenset(v.strip() for v in settings.oidc_mfa_acr.split(",") if v.strip()),
            label=settings.oidc_label,
        )


def _require_https(url: str, name: str) -> None:
    """Tokens must not travel in clear text; plain http only on this machine (tests, development)."""
    parts = urlsplit(url)
    if parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in LOOPBACK):
        return
    raise OidcConfigError(f"{name} must be an https:// address, got {url!r}")


# --- the flow: state, nonce, PKCE ------------------------------------------------------------


@dataclass(frozen=True)
class Flow:
    """One sign-in in progress, kept sealed in the browser's flow cookie until the callback."""

    state: str
    nonce: str
    verifier: str  # PKCE code_verifier: only its S256 hash goes to the broker
    next: str  # where to go after signing in (a same-site path)
    session: str  # hash of the anonymous session that started it ("" if none): revoked at sign-in
    redirect_uri: str
    started: float  # seconds since the epoch

    def __repr__(self) -> str:
        return f"Flow(next={self.next!r}, …)"


def new_flow(next_path: str, session: str, redirect_uri: str, now: datetime) -> Flow:
    """Fresh random values: 256 bits each; the verifier is 43 characters, as RFC 7636 asks."""
    return Flow(
        state=secrets.token_urlsafe(32),
        nonce=secrets.token_urlsafe(32),
        verifier=secrets.token_urlsafe(32),
        next=next_path,
        session=session,
        redirect_uri=redirect_uri,
        started=now.timestamp(),
    )


def code_challenge(verifier: str) -> str:
    """PKCE S256: BASE64URL(SHA-256(verifier)), without padding (RFC 7636 §4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class FlowError(Exception):
    """The flow cookie is missing, does not open (tampered, another key) or is too old."""


class FlowSealer:
    """Seals a :class:`Flow` into a cookie value and opens it again, at most :data:`FLOW_LIFETIME` later."""

    CONTEXT = "koes oidc flow"

    def __init__(self, secret_key: bytes) -> None:
        # A key of its own, so a sealed flow can never be taken for a sealed TOTP secret.
        self._box = SecretBox(hmac.new(secret_key, b"koes oidc flow key", hashlib.sha256).digest())

    def seal(self, flow: Flow) -> str:
        return self._box.seal(json.dumps(asdict(flow), separators=(",", ":")), self.CONTEXT)

    def open(self, sealed: str | None, now: datetime) -> Flow:
        if not sealed or len(sealed) > 4000:
            raise FlowError("no sign-in in progress in this browser")
        try:
            flow = Flow(**json.loads(self._box.open(sealed, self.CONTEXT)))
        except (ValueError, TypeError) as error:
            raise FlowError("the sign-in in progress could not be read") from error
        age = now.timestamp() - flow.started
        if not 0 <= age <= FLOW_LIFETIME.total_seconds():
            raise FlowError("the sign-in took too long")
        return flow


def check_callback(flow: Flow, state: str | None, issuer: str | None, config: OidcConfig) -> None:
    """The callback belongs to this browser's flow (state), and comes from our broker (RFC 9207 ``iss``)."""
    if not state or not hmac.compare_digest(state.encode(), flow.state.encode()):
        raise OidcError("state", "the state does not match this browser's sign-in")
    if issuer is not None and issuer.rstrip("/") != config.issuer:
        raise OidcError("state", "the answer names another issuer")


# --- the identity -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Identity:
    """Who the broker says signed in: the mapped claims of a checked ID token."""

    subject: str
    username: str
    organisation: str | None
    mfa: bool  # the broker did multi-factor authentication (amr or acr says so)


def identity_from_claims(claims: Mapping[str, Any], config: OidcConfig) -> Identity:
    """Map the ID token's claims: the user name claim is required; a non-text organisation counts as none."""
    username = claims.get(config.username_claim)
    if not isinstance(username, str) or not username.strip():
        raise OidcError("token", f"the ID token has no {config.username_claim} claim")
    organisation = claims.get(config.organisation_claim)
    amr, acr = claims.get("amr"), claims.get("acr")
    mfa = (isinstance(amr, list) and MFA_AMR in amr) or (isinstance(acr, str) and acr in config.mfa_acr)
    return Identity(
        subject=str(claims.get("sub", "")),
        username=username.strip(),
        organisation=organisation if isinstance(organisation, str) else None,
        mfa=mfa,
    )


def check_id_token_claims(claims: Mapping[str, Any], config: OidcConfig, nonce: str, now: float) -> None:
    """OIDC Core §3.1.3.7: issuer, audience (and azp), expiry, issue time and the nonce of this flow."""
    if claims.get("iss") != config.issuer:
        raise OidcError("token", "the ID token comes from another issuer")
    audience = claims.get("aud")
    audiences = [audience] if isinstance(audience, str) else audience
    if not isinstance(audiences, list) or config.client_id not in audiences:
        raise OidcError("token", "the ID token is not meant for this client")
    if len(audiences) > 1 and claims.get("azp") != config.client_id:
        raise OidcError("token", "the ID token names another authorised party")
    exp, iat = claims.get("exp"), claims.get("iat")
    if not _number(exp) or exp <= now - LEEWAY:
        raise OidcError("token", "the ID token has expired")
    if not _number(iat) or iat > now + LEEWAY or iat < now - MAX_TOKEN_AGE:
        raise OidcError("token", "the ID token's issue time is not now")
    given = claims.get("nonce")
    if not isinstance(given, str) or not hmac.compare_digest(given.encode(), nonce.encode()):
        raise OidcError("token", "the ID token's nonce does not match this sign-in")
    if not isinstance(claims.get("sub"), str):
        raise OidcError("token", "the ID token has no subject")


def _number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


# --- the broker --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProviderInfo:
    """What KØS uses of the broker's discovery document."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    algorithms: tuple[str, ...]
    auth_methods: tuple[str, ...]


HttpFactory = Callable[[], httpx.Client]


def _default_http() -> httpx.Client:
    return httpx.Client(timeout=10.0, follow_redirects=False)


class OidcClient:
    """The relying party: discovery (cached), the authorization URL, the code exchange, the ID token."""

    def __init__(
        self,
        config: OidcConfig,
        secret_key: bytes,
        http: HttpFactory = _default_http,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.sealer = FlowSealer(secret_key)
        self._http = http
        self._clock = clock
        self._lock = threading.Lock()
        self._provider: tuple[float, ProviderInfo] | None = None
        self._keys: KeySet | None = None

    def provider(self) -> ProviderInfo:
        with self._lock:
            cached = self._provider
        if cached is not None and self._clock() - cached[0] < DISCOVERY_LIFETIME:
            return cached[1]
        info = _provider_info(self._get_json(f"{self.config.issuer}/.well-known/openid-configuration"))
        if info.issuer.rstrip("/") != self.config.issuer:
            raise OidcError("unavailable", "the discovery document names another issuer")
        for url in (info.authorization_endpoint, info.token_endpoint, info.jwks_uri):
            try:
                _require_https(url, "an endpoint of the discovery document")
            except OidcConfigError as error:
                raise OidcError("unavailable", str(error)) from None
        with self._lock:
            self._provider = (self._clock(), info)
        return info

    def authorization_url(self, flow: Flow) -> str:
        query = {
            "response_type": "code",
            "client_id": self.config.client_id,
            "redirect_uri": flow.redirect_uri,
            "scope": self.config.scopes,
            "state": flow.state,
            "nonce": flow.nonce,
            "code_challenge": code_challenge(flow.verifier),
            "code_challenge_method": "S256",
        }
        endpoint = self.provider().authorization_endpoint
        return f"{endpoint}{'&' if '?' in endpoint else '?'}{urlencode(query)}"

    def identity(self, flow: Flow, code: str) -> Identity:
        """Exchange the code (with the PKCE verifier) and check the ID token; the mapped claims."""
        id_token = self._exchange(flow, code)
        claims = self._verified_claims(id_token)
        check_id_token_claims(claims, self.config, flow.nonce, self._clock())
        return identity_from_claims(claims, self.config)

    # --- helpers -------------------------------------------------------------------------------
    def _exchange(self, flow: Flow, code: str) -> str:
        info = self.provider()
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": flow.redirect_uri,
            "code_verifier": flow.verifier,
            "client_id": self.config.client_id,
        }
        headers = {"Accept": "application/json"}
        if self.config.client_secret:
            if "client_secret_basic" in info.auth_methods or not info.auth_methods:
                headers["Authorization"] = _basic(self.config.client_id, self.config.client_secret)
            else:
                form["client_secret"] = self.config.client_secret
        try:
            with self._http() as http:
                answer = http.post(info.token_endpoint, data=form, headers=headers)
        except httpx.HTTPError as error:
            raise OidcError("unavailable", f"the token endpoint did not answer ({type(error).__name__})") from None
        body = _json_object(answer)
        if answer.status_code != 200:
            error_code = _short(body.get("error")) if body else "no error code"
            raise OidcError("token", f"the token endpoint refused the code ({error_code})")
        id_token = body.get("id_token") if body else None
        if not isinstance(id_token, str):
            raise OidcError("token", "the token endpoint gave no ID token")
        return id_token

    def _verified_claims(self, id_token: str) -> dict[str, Any]:
        algorithms = [a for a in self.provider().algorithms if a in ALGORITHMS] or ["RS256"]
        try:
            try:
                token = jwt.decode(id_token, self._key_set(refresh=False), algorithms=algorithms)
            except InvalidKeyIdError:  # the broker rolled its keys since we fetched them
                token = jwt.decode(id_token, self._key_set(refresh=True), algorithms=algorithms)
        except JoseError as error:
            raise OidcError("token", f"the ID token's signature does not hold ({type(error).__name__})") from None
        except ValueError:
            raise OidcError("token", "the ID token is not a signed token") from None
        return dict(token.claims)

    def _key_set(self, *, refresh: bool) -> KeySet:
        with self._lock:
            keys = None if refresh else self._keys
        if keys is None:
            data = self._get_json(self.provider().jwks_uri)
            try:
                keys = KeySet.import_key_set({"keys": [k for k in data.get("keys", []) if _signing_key(k)]})
            except (JoseError, ValueError, TypeError):
                raise OidcError("unavailable", "the broker's keys (jwks_uri) could not be read") from None
            with self._lock:
                self._keys = keys
        return keys

    def _get_json(self, url: str) -> dict[str, Any]:
        try:
            with self._http() as http:
                answer = http.get(url, headers={"Accept": "application/json"})
        except httpx.HTTPError as error:
            raise OidcError("unavailable", f"the broker did not answer ({type(error).__name__})") from None
        body = _json_object(answer)
        if answer.status_code != 200 or body is None:
            raise OidcError("unavailable", f"the broker answered {answer.status_code} at {urlsplit(url).path}")
        return body


def _basic(client_id: str, secret: str) -> str:
    """client_secret_basic: both parts form-urlencoded before Base64 (RFC 6749 §2.3.1)."""
    pair = f"{quote_plus(client_id)}:{quote_plus(secret)}".encode()
    return "Basic " + base64.b64encode(pair).decode("ascii")


def _signing_key(key: object) -> bool:
    return isinstance(key, dict) and key.get("use", "sig") == "sig" and key.get("kty") in ("RSA", "EC")


def _provider_info(doc: Mapping[str, Any]) -> ProviderInfo:
    def text(name: str) -> str:
        value = doc.get(name)
        if not isinstance(value, str) or not value:
            raise OidcError("unavailable", f"the discovery document has no {name}")
        return value

    def texts(name: str) -> tuple[str, ...]:
        value = doc.get(name)
        return tuple(v for v in value if isinstance(v, str)) if isinstance(value, list) else ()

    return ProviderInfo(
        issuer=text("issuer"),
        authorization_endpoint=text("authorization_endpoint"),
        token_endpoint=text("token_endpoint"),
        jwks_uri=text("jwks_uri"),
        algorithms=texts("id_token_signing_alg_values_supported") or ("RS256",),
        auth_methods=texts("token_endpoint_auth_methods_supported"),
    )


def _json_object(answer: httpx.Response) -> dict[str, Any] | None:
    try:
        body = answer.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _short(value: object) -> str:
    """An OAuth error code fit for the audit trail: the registered form (letters and _), short."""
    text = str(value or "")
    return text if text and len(text) <= 40 and all(c.isalnum() or c == "_" for c in text) else "unreadable error"


def provider_error(code: str | None) -> str:
    """The broker's ``error`` from the callback, for the audit trail (never its free-text description)."""
    return _short(code)


__all__ = [
    "FLOW_LIFETIME",
    "Flow",
    "FlowError",
    "FlowSealer",
    "Identity",
    "OidcClient",
    "OidcConfig",
    "OidcConfigError",
    "OidcError",
    "check_callback",
    "check_id_token_claims",
    "code_challenge",
    "identity_from_claims",
    "new_flow",
    "provider_error",
]
