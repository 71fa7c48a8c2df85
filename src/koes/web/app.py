"""The app factory: ``create_app(settings)`` builds the whole web app from one ``Settings``.

No module-level app and no environment reading here: ``koes serve`` builds the settings and calls
the factory, tests pass their own settings (and may pass a ready ``AnalysisService`` and a clock).
The app database (users, tokens, the audit trail) is opened, migrated and seeded here, at start-up.
``settings.api_auth`` chooses how callers are known: ``token`` (default) or ``local``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from koes import __version__
from koes.privacy.access import Organisation
from koes.services.account import AccountService
from koes.services.analysis import AnalysisService
from koes.services.appdb import open_app_database
from koes.services.audit import AuditTrail
from koes.services.cohort_population import CohortLookup, StoredCohorts
from koes.services.cohort_store import CohortService
from koes.services.errors import Clock, utc_now
from koes.services.job_retention import expire_and_sweep, start_expiry
from koes.services.jobs import JobService
from koes.services.oidc import OidcClient, OidcConfig
from koes.services.organisations import organisations_in_use
from koes.services.reports import ReportService
from koes.services.saved import SavedAnalysisService
from koes.services.sessions import SessionService, start_session_sweeper
from koes.services.signin import SignInService, load_secret_key
from koes.services.tokens import TokenPolicy, TokenService
from koes.services.users import UserService
from koes.settings import Settings
from koes.web import api
from koes.web.api.http import PREFIX as API_PREFIX
from koes.web.auth import API_AUTH_MODES, CHALLENGE, Authenticator, EndpointTable, unruled_endpoints
from koes.web.echo_guard import EchoGuard
from koes.web.errors import install_error_handlers
from koes.web.logs import install_log_masking
from koes.web.map_geometry import geometry
from koes.web.observability import install_observability
from koes.web.pages import error_page, install_pages

log = logging.getLogger(__name__)
DESCRIPTION = (
    "KØS analysis API: the catalog of perspectives, measures, dimensions and segments; analyses as "
    "pivots after disclosure control (consistent cell-key perturbation: counts carry small, repeatable noise "
    "and counts under 5 show as <5; see docs/disclosure.md); "
    "downloads as CSV or XLSX with a provenance stamp; accounts, API tokens, users, grants and the "
    "audit trail for administrators. Send an API token as `Authorization: Bearer <token>` (401 without "
    "one); what each role may call is in roles.yaml (403 otherwise). Every error has the same envelope: "
    '{"error": {"status", "code", "message", "problems": [{"field", "message"}]}}.'
)


def create_app(
    settings: Settings,
    service: AnalysisService | None = None,
    clock: Clock = utc_now,
    cohorts: CohortLookup | None = None,
) -> FastAPI:
    """The app. Without a ``service``, it builds one that audits every analysis and export in the
    app database (``settings.app_database_url``, migrated and seeded here, at start-up). ``cohorts``
    is how the analysis finds cohorts (default: the deployment's store, ``CohortService``)."""
    if settings.api_auth not in API_AUTH_MODES:
        raise ValueError(f"api_auth must be one of {', '.join(API_AUTH_MODES)}, not {settings.api_auth!r}")
    owned = service is None
    install_log_masking()
    database = open_app_database(settings)
    try:
        trail = AuditTrail(database)
        users = UserService(trail, clock=clock)
        kept = CohortService(settings, trail, users, clock)  # upload, share, delete, expire
        lookup = cohorts or (service.cohorts if service else None) or StoredCohorts(kept)
        analysis = service or AnalysisService(settings, audit=trail, cohorts=lookup)
        analysis.local_principal()  # a misconfigured local principal fails now, not on the first request
        tokens = TokenService(trail, users, policy=TokenPolicy.from_settings(settings))
        secret_key = load_secret_key(settings)
        signin = SignInService(trail, secret_key, users)
        # so does misconfigured single sign-on (not at the first button press); discovery waits for it
        oidc_config = OidcConfig.from_settings(settings)
        oidc = OidcClient(oidc_config, secret_key) if oidc_config else None
    except BaseException:
        database.dispose()
        raise

    reports = ReportService(analysis)
    retention = timedelta(hours=settings.job_retention_hours)
    jobs = JobService(database, trail, clock, settings.job_workers, retention, isinstance(lookup, StoredCohorts))

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        stop = threading.Event()
        warming = (
            _prewarm_in_background(reports, lambda: organisations_in_use(database), stop)
            if settings.prewarm_reports
            else None
        )
        sweeping = start_session_sweeper(SessionService(trail, settings, clock), stop)
        jobs.start()  # jobs a previous run left unfinished are marked interrupted
        # expired cohorts, then old jobs and results of gone cohorts: at start-up, before the first
        # request, then every few minutes
        expire_and_sweep(kept, jobs)
        expiring = start_expiry(kept, jobs, stop)
        yield
        jobs.stop()
        stop.set()  # let the warming thread finish its query before the engine and database close
        if warming is not None:
            warming.join(timeout=60)
        sweeping.join(timeout=60)
        expiring.join(timeout=60)
        if owned:
            analysis.close()
        database.dispose()

    app = FastAPI(
        title="KØS API",
        version=__version__,
        description=DESCRIPTION,
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,  # FastAPI's page loads Swagger UI from a CDN; api.docs serves a plain page instead
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.service = analysis
    app.state.reports = reports
    app.state.saved = SavedAnalysisService(trail, analysis.catalog, clock)
    app.state.cohorts = kept  # the store; the analysis reads cohorts through its lookup
    app.state.audit = trail
    app.state.jobs = jobs
    app.state.users = users
    app.state.tokens = tokens
    app.state.signin = signin
    app.state.oidc = oidc
    app.state.account = AccountService(trail, users)
    table = api.endpoint_permissions()
    app.state.auth = Authenticator(settings.api_auth, tokens, analysis, trail, table)
    for router in api.routers():
        app.include_router(router)
    try:
        install_pages(app, settings, signin, users)
    except BaseException:
        database.dispose()
        raise
    install_error_handlers(app, error_page)
    install_observability(app)  # request ids, request log lines, latency metrics
    app.add_middleware(EchoGuard)  # outermost: it sees every answer, the error pages' too
    missing = unruled_endpoints(app, table)
    if missing:  # they would answer 403 to everyone; better to say so now
        database.dispose()
        raise RuntimeError(f"API endpoints without an access rule (PERMISSIONS of their api module): {missing}")

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            app.openapi_schema = _with_security(_without_422(spec), table)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def _prewarm_in_background(
    reports: ReportService, organisations: Callable[[], list[Organisation]], stop: threading.Event
) -> threading.Thread:
    """Answer the Standard reports' default views for the municipalities of the app's users, in a
    daemon thread: the server answers at once, and report pages are served warm soon after."""

    def warm() -> None:
        try:
            started = time.perf_counter()
            geometry()  # the map's shapes, projected and simplified once (≈0.5 s)
            count = reports.prewarm(organisations(), stop)
            log.info("pre-warmed %d report views in %.1f s", count, time.perf_counter() - started)
        except Exception:
            log.warning("pre-warming the reports failed", exc_info=True)

    thread = threading.Thread(target=warm, name="koes-prewarm", daemon=True)
    thread.start()
    return thread


def _without_422(spec: dict[str, Any]) -> dict[str, Any]:
    """FastAPI documents its 422 validation answer; KØS answers such problems with the 400 envelope."""
    for operations in spec.get("paths", {}).values():
        for op in operations.values():
            op.get("responses", {}).pop("422", None)
    schemas = spec.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    return spec


def _with_security(spec: dict[str, Any], table: EndpointTable) -> dict[str, Any]:
    """Document the bearer token on every operation that needs one, with its 401 answer."""
    components = spec.setdefault("components", {})
    components.setdefault("securitySchemes", {})["bearer"] = {
        "type": "http",
        "scheme": "bearer",
        "description": "An API token (koes_…): POST /api/v1/tokens, or `koes users token USERNAME`.",
    }
    for path, operations in spec.get("paths", {}).items():
        for method, op in operations.items():
            access = table.get((method.upper(), path))
            if access is None or access.kind == "public":
                continue
            op["security"] = [{"bearer": []}]
            op.setdefault("responses", {}).setdefault(
                "401",
                {
                    "description": "No valid API token",
                    "headers": {
                        "WWW-Authenticate": {"schema": {"type": "string"}, "example": CHALLENGE["WWW-Authenticate"]}
                    },
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorEnvelope"}}},
                },
            )
    return spec
