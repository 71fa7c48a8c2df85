"""The start page: the three routes (Standard, Analyse, Avanceret), the organisation and the rights."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from koes.privacy.roles import data_level, permission_names
from koes.web.pages.account import account_service
from koes.web.pages.admin_users import may_manage_users
from koes.web.pages.common import (
    SignInRequiredError,
    current_session,
    error_page,
    here,
    lang_of,
    pages_of,
    render,
    session_principal,
    user_view,
)

router = APIRouter(include_in_schema=False)
SCOPE_KEYS = {"aggregate": "start.scope_all", "individual": "start.scope_own", "none": "start.scope_none"}


@dataclass(frozen=True)
class RouteCard:
    key: str
    href: str | None  # None: not built yet ("coming soon")


@router.get("/")
async def start(request: Request) -> Response:
    pages = pages_of(request)
    session = await current_session(request)
    if session is None or session.state != "signed_in" or session.user_id is None:
        raise SignInRequiredError(here(request))
    principal = await run_in_threadpool(session_principal, pages, session)
    if not principal.roles:  # every grant expired or was revoked since the sign-in
        return error_page(request, 403, "noaccess")
    user = await run_in_threadpool(user_view, pages, principal, lang_of(request))
    routes = [RouteCard("standard", "/standard"), RouteCard("analyse", "/analyse")]
    if principal.may("individual_rows"):
        routes.append(RouteCard("avanceret", "/avanceret"))
    permissions = [p for p in permission_names() if principal.may(p)]
    password_link = await run_in_threadpool(account_service(request).has_password, session.user_id)
    return render(
        request,
        "start.html",
        title_key="start.title",
        session=session,
        user=user,
        routes=routes,
        permissions=permissions,
        scope_key=SCOPE_KEYS[data_level(principal.roles)],
        audit_link=any(principal.may(p) for p in ("view_audit_own_org", "view_audit_all")),
        status_link=principal.may("view_data_status"),
        users_link=may_manage_users(principal),
        orgs_link=principal.may("manage_users_all"),
        password_link=password_link,
    )
