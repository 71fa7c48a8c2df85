"""The start page: the three routes (Standard, Analyse, Avanceret), the organisation and the rights."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from koes.privacy.roles import data_level, permission_names, role_book
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


# The routes of the start page and the permission each needs (the pages refuse without it).
ROUTES = (
    ("standard", "/standard", "analysis"),
    ("analyse", "/analyse", "analysis"),
    ("avanceret", "/avanceret", "individual_rows"),
)


@dataclass(frozen=True)
class Missing:
    """A route the user may not open, and the roles that would open it."""

    key: str
    roles: str


def roles_with(permission: str, lang: str) -> list[str]:
    book = role_book()
    return [r.label.get(lang, name) for name, r in book.roles.items() if permission in r.permissions]


@router.get("/")
async def start(request: Request) -> Response:
    pages = pages_of(request)
    session = await current_session(request)
    if session is None or session.state != "signed_in" or session.user_id is None:
        raise SignInRequiredError(here(request))
    principal = await run_in_threadpool(session_principal, pages, session)
    if not principal.roles:  # every grant expired or was revoked since the sign-in
        return error_page(request, 403, "noaccess")
    lang = lang_of(request)
    user = await run_in_threadpool(user_view, pages, principal, lang)
    # Only what the user may open; each route left out says which roles open it (issue 18 item 5:
    # a system administrator was offered Standard and Analyse, and both answered 403).
    routes = [RouteCard(key, href) for key, href, needs in ROUTES if principal.may(needs)]
    missing = [
        Missing(key, ", ".join(roles_with(needs, lang))) for key, _href, needs in ROUTES if not principal.may(needs)
    ]
    permissions = [p for p in permission_names() if principal.may(p)]
    password_link = await run_in_threadpool(account_service(request).has_password, session.user_id)
    return render(
        request,
        "start.html",
        title_key="start.title",
        session=session,
        user=user,
        routes=routes,
        missing=missing,
        permissions=permissions,
        scope_key=SCOPE_KEYS[data_level(principal.roles)],
        audit_link=any(principal.may(p) for p in ("view_audit_own_org", "view_audit_all")),
        status_link=principal.may("view_data_status"),
        users_link=may_manage_users(principal),
        orgs_link=principal.may("manage_users_all"),
        password_link=password_link,
    )
