"""The signed-in user's own password: ``GET/POST /account/password``.

The account service (:class:`koes.services.account.AccountService`) checks the current password
(counted towards the sign-in lockout), the policy, writes the audit record and revokes every session
of the user; this page gives the browser that made the change a new session, so the user stays signed
in here and nowhere else. The two new passwords must match before anything is checked at all: a typo
should not cost a lockout attempt. No password is ever written back into the form.
"""

from __future__ import annotations

import math
from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from koes.privacy.access import Principal
from koes.privacy.credentials import broken_password_rules
from koes.services.account import AccountService, PasswordChange
from koes.services.sessions import WebSession
from koes.web.i18n import Translator
from koes.web.pages.common import (
    Pages,
    SignInRequiredError,
    checked_form,
    error_page,
    lang_of,
    pages_of,
    render,
    see_other,
    session_principal,
    set_session_cookie,
    signed_in,
    user_view,
)

router = APIRouter(include_in_schema=False)
PATH = "/account/password"
DONE = "changed"


def account_service(request: Request) -> AccountService:
    service = request.app.state.account
    assert isinstance(service, AccountService)
    return service


async def _form(
    request: Request,
    pages: Pages,
    session: WebSession,
    principal: Principal,
    *,
    problems: list[str] | None = None,
    locked: str | None = None,
    status: int = 200,
) -> Response:
    assert principal.user_id is not None
    user = await run_in_threadpool(user_view, pages, principal, lang_of(request))
    has_password = await run_in_threadpool(account_service(request).has_password, principal.user_id)
    done = request.query_params.get("done") == DONE and request.method == "GET"
    return render(
        request,
        "password.html",
        title_key="password.title",
        status=status,
        session=session,
        user=user,
        has_password=has_password,
        username=principal.user,
        problems=problems or [],
        locked=locked,
        done=done,
    )


@router.get(PATH)
async def password_page(request: Request) -> Response:
    pages, session, principal = await signed_in(request)
    if not principal.roles:  # every grant expired or was revoked since the sign-in, as on the start page
        return error_page(request, 403, "noaccess")
    return await _form(request, pages, session, principal)


@router.post(PATH)
async def change_password(request: Request) -> Response:
    session, form = await checked_form(request)
    if session.state != "signed_in" or session.user_id is None:
        raise SignInRequiredError(PATH)
    pages = pages_of(request)
    principal = await run_in_threadpool(session_principal, pages, session)
    if not principal.roles or principal.user_id is None:
        return error_page(request, 403, "noaccess")
    current, new = form.get("current_password", ""), form.get("new_password", "")
    if new != form.get("repeat_password", ""):
        problems = ["mismatch", *broken_password_rules(new, principal.user)]
        return await _form(request, pages, session, principal, problems=problems, status=400)
    change: PasswordChange = await run_in_threadpool(
        account_service(request).change_password, principal.user_id, current, new
    )
    if change.outcome == "changed":
        # The service ended every session of the user, this one too: the browser that made the change gets a new one.
        user_id, second_factor = principal.user_id, session.second_factor
        fresh = await run_in_threadpool(lambda: pages.sessions.start("signed_in", user_id, second_factor=second_factor))
        response = see_other(f"{PATH}?done={DONE}")
        set_session_cookie(request, response, fresh.token)
        return response
    locked = _lock_text(request, pages, change.locked_until) if change.locked_until else None
    problems = (["current"] if change.outcome == "wrong_password" else []) + list(change.problems)
    status = 401 if change.outcome in ("wrong_password", "locked") else 400
    return await _form(request, pages, session, principal, problems=problems, locked=locked, status=status)


def _lock_text(request: Request, pages: Pages, until: datetime) -> str:
    minutes = max(1, math.ceil((until - pages.users.clock()).total_seconds() / 60))
    return Translator(lang_of(request))("login.locked", minutes=minutes)
