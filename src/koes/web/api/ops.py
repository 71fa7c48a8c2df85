"""Operations endpoints: liveness, readiness and the Prometheus metrics.

- ``GET /api/v1/health`` answers 200 while the process answers at all (liveness: an orchestrator
  restarts a server that stops answering it), with the release it points at, or null before the
  first load. It reads no database: a slow database must not get a healthy server restarted.
- ``GET /api/v1/ready`` answers 200 when the server can serve: a release is open, the app database
  answers, the audit chain's head is readable. Otherwise 503 with every reason at once (a load
  balancer sends no traffic to it meanwhile).
- ``GET /metrics`` is the Prometheus exposition, only for clients in ``KOES_METRICS_ALLOW`` (default:
  this machine); others get 403. Behind a reverse proxy listed in ``KOES_TRUSTED_PROXIES`` the client
  is the one it forwards for (:mod:`koes.web.client_address`). It is outside the JSON API (no token:
  scrapers have none) and out of the OpenAPI description.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.concurrency import run_in_threadpool

from koes.privacy.roles import public
from koes.services.analysis import AnalysisService
from koes.services.audit import AuditTrail
from koes.services.warehouse import current_release_id
from koes.settings import Settings
from koes.web.auth import EndpointTable, authorise
from koes.web.client_address import address_allowed, request_client_address
from koes.web.observability import metrics_exposition

PREFIX = "/api/v1"
router = APIRouter()
gated = [Depends(authorise)]

PERMISSIONS: EndpointTable = {
    ("GET", f"{PREFIX}/health"): public(),
    ("GET", f"{PREFIX}/ready"): public(),
}


def _settings(request: Request) -> Settings:
    settings = request.app.state.settings
    assert isinstance(settings, Settings)
    return settings


def _service(request: Request) -> AnalysisService:
    service = request.app.state.service
    assert isinstance(service, AnalysisService)
    return service


def _trail(request: Request) -> AuditTrail:
    trail = request.app.state.audit
    assert isinstance(trail, AuditTrail)
    return trail


@router.get(
    f"{PREFIX}/health",
    dependencies=gated,
    summary="Liveness, and the release the warehouse points at",
    responses={200: {"description": "The server answers; `release` is null before the first load"}},
)
async def health(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok", "release": current_release_id(_settings(request).warehouse)})


@router.get(
    f"{PREFIX}/ready",
    dependencies=gated,
    summary="Readiness: a release is open, the app database answers, the audit chain's head is readable",
    responses={
        200: {"description": "Ready to serve"},
        503: {"description": "Not ready; every reason is listed under `problems`"},
    },
)
async def ready(request: Request) -> JSONResponse:
    passed, failed = await run_in_threadpool(readiness, _service(request), _trail(request))
    if failed:
        body = {
            "error": {
                "status": 503,
                "code": "not_ready",
                "message": f"not ready: {', '.join(failed)}",
                "problems": [{"field": name, "message": why} for name, why in failed.items()],
            }
        }
        return JSONResponse(body, status_code=503)
    return JSONResponse({"status": "ready", **passed})


def readiness(service: AnalysisService, trail: AuditTrail) -> tuple[dict[str, Any], dict[str, str]]:
    """What each passed check found, and why each failed check failed (messages name no path)."""
    passed: dict[str, Any] = {}
    failed: dict[str, str] = {}
    try:
        passed["release"] = service.release_id()  # opens the release, as the first analysis would
    except Exception as error:  # whatever keeps the release from opening makes the server unready
        failed["release"] = _reason("no release is open", error)
    try:
        trail.database.ping()
        passed["app_database"] = True
    except Exception as error:
        failed["app_database"] = _reason("the app database does not answer", error)
    try:
        head = trail.latest(limit=1)
        passed["audit_head"] = head[0].id if head else 0
    except Exception as error:
        failed["audit_head"] = _reason("the audit chain's head cannot be read", error)
    return passed, failed


def _reason(what: str, error: Exception) -> str:
    return f"{what} ({type(error).__name__})"  # the type only: a message may name a path or a URL


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    settings = _settings(request)
    client = request_client_address(request, settings.trusted_proxies)
    if not address_allowed(client, settings.metrics_allow):
        return Response("metrics are not served to this address\n", status_code=403, media_type="text/plain")
    body = await run_in_threadpool(metrics_exposition, settings)
    return Response(body, media_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})
