"""Who is calling, and may it call this endpoint: the API's authentication and authorisation gate.

Every route of the JSON API runs :func:`authorise` first (a router dependency). It looks the route
up in the endpoint table (``koes.web.api.endpoint_permissions()``, installed on the app
by ``create_app``) — **a route without an entry is refused for everyone** — and then:

- ``public`` routes (health, the API description) answer anyone;
- every other route needs a principal: with ``api_auth = token`` (the default) from
  ``Authorization: Bearer <API token>`` — missing, unknown or revoked tokens and tokens of
  deactivated users answer **401**; with ``api_auth = local`` every call is the configured local
  principal (``KOES_LOCAL_ORG``, ``KOES_LOCAL_ROLE``), as before sign-in existed;
- the principal's valid roles must give one of the route's permissions (roles.yaml), within the
  scopes of its API token, else **403**, and the refusal is audited (``access.denied``, or the
  route's own action such as ``analysis``).

Organisation-scoped routes (users, grants, audit) then narrow to what the caller reaches in the
services, which answer 404 for another organisation's resources.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import fastapi.routing
from fastapi import FastAPI, Request
from starlette.concurrency import run_in_threadpool
from starlette.routing import Route

from koes.privacy.access import Principal
from koes.privacy.roles import Access, allowed
from koes.services.analysis import AnalysisService
from koes.services.audit import AuditTrail, denied_event
from koes.services.tokens import TokenService
from koes.settings import ApiAuth
from koes.web.errors import ApiError

logger = logging.getLogger("koes.web")

API_AUTH_MODES = tuple(ApiAuth)
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="koes"'}
DATA_PERMISSIONS = frozenset({"catalog", "analysis", "export", "individual_rows"})

EndpointTable = Mapping[tuple[str, str], Access]


@dataclass(frozen=True)
class Authenticator:
    mode: ApiAuth
    tokens: TokenService
    analysis: AnalysisService
    trail: AuditTrail | None
    table: EndpointTable

    def principal(self, request: Request) -> Principal | None:
        if self.mode == ApiAuth.LOCAL:
            return self.analysis.local_principal()
        scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not credentials.strip():
            return None
        return self.tokens.authenticate(credentials.strip())

    def refuse(self, principal: Principal, method: str, path: str, access: Access) -> None:
        """Write the audit record of a refusal (the caller is known; anonymous calls are not audited)."""
        if self.trail is None:
            return
        if allowed(access, principal.roles) and principal.token is not None:
            why, scope = f"needs {' or '.join(sorted(access.permissions))}, outside the API token's scopes", ""
        elif access.permissions and access.permissions <= DATA_PERMISSIONS:
            why, scope = "no grant gives access to data", self.analysis.scope_fingerprint(principal)
        else:
            why, scope = f"needs {' or '.join(sorted(access.permissions))}", ""
        self.trail.record(denied_event(principal, access.action, f"{method} {path}; {why}", scope))


def api_endpoints(app: FastAPI) -> set[tuple[str, str]]:
    """Every (method, path) the app serves under ``/api/``, from its routes (included routers too)."""
    flatten = getattr(fastapi.routing, "iter_route_contexts", None)  # FastAPI ≥ 0.120 nests included routers
    routes: Iterable[Any] = flatten(app.routes) if flatten is not None else app.routes
    found = set()
    for route in routes:
        path, methods = getattr(route, "path", None), getattr(route, "methods", None)
        if isinstance(path, str) and path.startswith("/api/") and methods:
            found |= {(str(m), path) for m in methods if m != "HEAD"}
    return found


def unruled_endpoints(app: FastAPI, table: EndpointTable) -> list[tuple[str, str]]:
    """The app's API endpoints without an entry in the endpoint table (refused for everyone)."""
    return sorted(api_endpoints(app) - set(table))


def endpoint_key(request: Request) -> tuple[str, str] | None:
    route = request.scope.get("route")
    if not isinstance(route, Route):
        return None
    method = "GET" if request.method == "HEAD" else request.method
    return method, route.path


async def authorise(request: Request) -> None:
    """The gate (a dependency of every API route): 401 without a principal, 403 without a permission."""
    auth = request.app.state.auth
    assert isinstance(auth, Authenticator)
    key = endpoint_key(request)
    access = auth.table.get(key) if key else None
    if access is None or key is None:
        logger.error("route without an access rule refused: %s", key)
        raise ApiError(403, "this address has no access rule; it is refused for everyone")
    if access.kind == "public":
        return
    principal = await run_in_threadpool(auth.principal, request)
    if principal is None:
        raise ApiError(401, headers=CHALLENGE)
    request.state.principal = principal
    if not may_call(access, principal):
        await run_in_threadpool(auth.refuse, principal, key[0], key[1], access)
        raise ApiError(403, "your roles (or your API token's scopes) do not give access to this")


def may_call(access: Access, principal: Principal) -> bool:
    """May this caller reach the endpoint: its roles' permissions, within its API token's scopes."""
    return access.kind != "permission" or bool(access.permissions & principal.permissions)


def current_principal(request: Request) -> Principal:
    """The caller, as :func:`authorise` found it (only on routes that are not public)."""
    principal = getattr(request.state, "principal", None)
    if not isinstance(principal, Principal):
        raise ApiError(401, headers=CHALLENGE)
    return principal
