"""Server-rendered pages (Jinja2): sign-in, TOTP enrolment, the start page, the own password and API tokens,
the audit trail, the user administration and the error pages."""

from __future__ import annotations

from importlib import import_module
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles

from koes.services.organisations import list_organisations
from koes.services.sessions import SessionService
from koes.services.signin import SignInService
from koes.services.users import UserService
from koes.settings import Settings
from koes.web import assets
from koes.web.pages.common import CsrfError, Pages, SignInRequiredError, error_page, login_redirect

STATIC = Path(__file__).resolve().parent.parent / "static"
# Page modules, each with a `router`, in the order their routes are matched.
PAGE_MODULES = (
    "signin",
    "start",
    "account",
    "tokens",
    "audit",
    "status",
    "admin_users",
    "admin_recertification",
    "organisations",
    "reports",
    "analyse",
    "saved",
    "avanceret",
    "job_list",  # /avanceret/jobber: before cohort_profile's /avanceret/{cohort_id}
    "cohort_profile",
    "jobs",
)


async def _sign_in_required(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignInRequiredError)
    return login_redirect(exc.next_path)


async def _csrf_failed(request: Request, _exc: Exception) -> Response:
    return error_page(request, 403, "csrf")


async def _favicon() -> Response:
    """Browsers ask for /favicon.ico whatever a page links: the SVG icon, not a 404 on every page."""
    return FileResponse(
        STATIC / "favicon.svg", media_type="image/svg+xml", headers={"Cache-Control": "public, max-age=86400"}
    )


def install_pages(app: FastAPI, settings: Settings, signin_service: SignInService, users: UserService) -> Pages:
    """Add the pages, their services (``app.state.pages``) and the static files to the app."""
    trail = signin_service.trail
    names = {o.key: o.name for o in list_organisations(trail.database)}
    pages = Pages(settings, SessionService(trail, settings, users.clock), signin_service, users, names)
    app.state.pages = pages
    for name in PAGE_MODULES:
        app.include_router(import_module(f"koes.web.pages.{name}").router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_api_route("/favicon.ico", _favicon, include_in_schema=False)
    app.include_router(assets.router)  # the same files (and Plotly.js) by content hash, precompressed
    assets.precompress_in_background()  # once per process: the first chart page does not wait for it
    app.add_exception_handler(SignInRequiredError, _sign_in_required)
    app.add_exception_handler(CsrfError, _csrf_failed)
    return pages


__all__ = ["error_page", "install_pages"]
