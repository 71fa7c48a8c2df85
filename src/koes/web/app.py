"""The app factory: ``create_app(settings)`` builds the whole web app from one ``Settings``.

No module-level app and no environment reading here: ``koes serve`` builds the settings and calls
the factory, tests pass their own settings (and may pass a ready ``AnalysisService``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from koes import __version__
from koes.services.analysis import AnalysisService
from koes.services.appdb import open_app_database
from koes.services.audit import AuditTrail
from koes.settings import Settings
from koes.web.api import v1
from koes.web.errors import install_error_handlers

DESCRIPTION = (
    "KØS analysis API: the catalog of perspectives, measures, dimensions and segments; analyses as "
    "pivots after disclosure control (counts of 1–4 persons shown as <5, secondary suppression as x); "
    "downloads as CSV or XLSX with a provenance stamp. Every error has the same envelope: "
    '{"error": {"status", "code", "message", "problems": [{"field", "message"}]}}.'
)


def create_app(settings: Settings, service: AnalysisService | None = None) -> FastAPI:
    """The app. Without a ``service``, it builds one that audits every analysis and export in the
    app database (``settings.app_database_url``, migrated and seeded here, at start-up)."""
    owned = service is None
    database = open_app_database(settings) if service is None else None
    try:
        analysis = service or AnalysisService(settings, audit=AuditTrail(database) if database else None)
        analysis.local_principal()  # a misconfigured local principal fails now, not on the first request
    except BaseException:
        if database is not None:
            database.dispose()
        raise

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        if owned:
            analysis.close()
        if database is not None:
            database.dispose()

    app = FastAPI(
        title="KØS API",
        version=__version__,
        description=DESCRIPTION,
        openapi_url=f"{v1.PREFIX}/openapi.json",
        docs_url=None,  # FastAPI's page loads Swagger UI from a CDN; v1 serves a plain page instead
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.service = analysis
    app.state.audit = analysis.audit
    app.include_router(v1.router)
    install_error_handlers(app)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _without_422(
                get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def _without_422(spec: dict[str, Any]) -> dict[str, Any]:
    """FastAPI documents its 422 validation answer; KØS answers such problems with the 400 envelope."""
    for operations in spec.get("paths", {}).values():
        for op in operations.values():
            op.get("responses", {}).pop("422", None)
    schemas = spec.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    return spec
