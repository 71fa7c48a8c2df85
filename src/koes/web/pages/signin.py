"""Sign-in pages: password, second factor, TOTP enrolment with recovery codes, sign-out; single
sign-on through OpenID Connect is in :mod:`koes.web.pages.sso`, whose routes are added here.

Each step that gets further makes a new session and revokes the one before (rotation); every form
carries the session's CSRF token. The sign-in services write the audit records (``signin.ok``,
``signin.failed``, ``totp.enrol``, ``totp.confirm``, ``recovery.create``); the pages write none.
"""

from __future__ import annotations

import math
from datetime import datetime
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool

from koes.privacy.echo import mask_text
from koes.services.errors import ConflictError, InvalidInputError
from koes.services.sessions import WebSession
from koes.services.signin import AccountLockedError, SignInAttempt
from koes.web.i18n import LANG_COOKIE, LANGUAGES, Translator
from koes.web.pages.common import (
    Pages,
    checked_form,
    clear_session_cookie,
    current_session,
    error_page,
    lang_of,
    pages_of,
    render,
    safe_next,
    see_other,
    set_session_cookie,
)
from koes.web.pages.sso import router as sso_router
from koes.web.pages.sso import sso_label

router = APIRouter(include_in_schema=False)
router.include_router(sso_router)


def _lock_message(request: Request, pages: Pages, until: datetime) -> str:
    minutes = max(1, math.ceil((until - pages.users.clock()).total_seconds() / 60))
    return Translator(lang_of(request))("login.locked", minutes=minutes)


def _login_form(
    request: Request, session: WebSession, next_path: str, error: str | None = None, username: str = ""
) -> Response:
    return render(
        request,
        "login.html",
        title_key="login.title",
        session=session,
        next=next_path,
        error=error,
        username=mask_text(username),  # a CPR number typed as a user name is not written back
        sso_label=sso_label(request),
        status=200 if error is None else 401,
    )


@router.get("/login")
async def login_page(request: Request, next: str | None = None) -> Response:  # noqa: A002 - the query name
    pages = pages_of(request)
    next_path = safe_next(next)
    session = await current_session(request)
    if session is not None and session.state == "signed_in":
        return see_other(next_path)
    if session is not None and session.state == "anonymous":
        return _login_form(request, session, next_path)
    fresh = await run_in_threadpool(pages.sessions.start, replaces=session.token_hash if session else None)
    response = _login_form(request, fresh.session, next_path)
    set_session_cookie(request, response, fresh.token)
    return response


async def _signed_in(
    request: Request, session: WebSession, user_id: int, next_path: str, *, second_factor: bool
) -> Response:
    """The sign-in is complete: a user without any valid grant is refused; others get a new session
    (which notes whether the sign-in passed a second factor)."""
    pages = pages_of(request)
    principal = await run_in_threadpool(pages.users.principal_for, user_id)
    if not principal.roles:
        await run_in_threadpool(pages.sessions.end, session.token_hash)
        refused = error_page(request, 403, "noaccess")
        clear_session_cookie(refused)
        return refused
    fresh = await run_in_threadpool(
        lambda: pages.sessions.start("signed_in", user_id, replaces=session.token_hash, second_factor=second_factor)
    )
    response = see_other(next_path)
    set_session_cookie(request, response, fresh.token)
    return response


async def _password_ok(request: Request, session: WebSession, user_id: int, to: str) -> Response:
    pages = pages_of(request)
    fresh = await run_in_threadpool(pages.sessions.start, "password_ok", user_id, replaces=session.token_hash)
    response = see_other(to)
    set_session_cookie(request, response, fresh.token)
    return response


@router.post("/login")
async def login(request: Request) -> Response:
    pages = pages_of(request)
    session, form = await checked_form(request)
    next_path = safe_next(form.get("next"))
    username = form.get("username", "").strip()
    attempt: SignInAttempt = await run_in_threadpool(pages.signin.password, username, form.get("password", ""))
    t = Translator(lang_of(request))
    if session.state != "anonymous":  # a form from before: start over from a fresh anonymous session
        session = (await run_in_threadpool(pages.sessions.start, replaces=session.token_hash)).session
    if attempt.outcome in ("failed", "locked") or attempt.user_id is None:
        error = _lock_message(request, pages, attempt.locked_until) if attempt.locked_until else t("login.failed")
        return _login_form(request, session, next_path, error, username)
    if attempt.outcome == "second_factor":
        return await _password_ok(request, session, attempt.user_id, f"/login/totp?next={quote(next_path, safe='')}")
    if attempt.outcome == "enrol_totp":
        return await _password_ok(request, session, attempt.user_id, f"/totp/enrol?next={quote(next_path, safe='')}")
    return await _signed_in(request, session, attempt.user_id, next_path, second_factor=False)


async def _pending(request: Request, enrolled: bool) -> tuple[WebSession, int] | None:
    """The session of a sign-in waiting for its second factor (``enrolled``) or its enrolment."""
    session = await current_session(request)
    if session is None or session.state != "password_ok" or session.user_id is None:
        return None
    pages = pages_of(request)
    principal = await run_in_threadpool(pages.users.principal_for, session.user_id, second_factor=False)
    me = await run_in_threadpool(pages.users.me, principal)
    return (session, session.user_id) if me.totp_enrolled == enrolled else None


def _totp_form(request: Request, session: WebSession, next_path: str, error: str | None = None) -> Response:
    status = 200 if error is None else 401
    return render(
        request, "totp.html", title_key="totp.title", session=session, next=next_path, error=error, status=status
    )


@router.get("/login/totp")
async def totp_page(request: Request, next: str | None = None) -> Response:  # noqa: A002
    pending = await _pending(request, enrolled=True)
    if pending is None:
        return see_other("/login")
    return _totp_form(request, pending[0], safe_next(next))


@router.post("/login/totp")
async def totp(request: Request) -> Response:
    pages = pages_of(request)
    session, form = await checked_form(request)
    next_path = safe_next(form.get("next"))
    if session.state != "password_ok" or session.user_id is None:
        return see_other("/login")
    attempt = await run_in_threadpool(pages.signin.second_factor, session.user_id, form.get("code", ""))
    if attempt.outcome == "ok":
        return await _signed_in(request, session, session.user_id, next_path, second_factor=True)
    if attempt.locked_until is not None:
        return await _locked_out(request, session, next_path, attempt.locked_until)
    return _totp_form(request, session, next_path, Translator(lang_of(request))("totp.failed"))


async def _locked_out(request: Request, session: WebSession, next_path: str, until: datetime) -> Response:
    """Locked after a wrong code: the sign-in starts over from the password, after the wait."""
    pages = pages_of(request)
    await run_in_threadpool(pages.sessions.end, session.token_hash)
    fresh = await run_in_threadpool(pages.sessions.start)
    response = _login_form(request, fresh.session, next_path, _lock_message(request, pages, until))
    set_session_cookie(request, response, fresh.token)
    return response


async def _enrol_form(request: Request, session: WebSession, next_path: str, error: str | None = None) -> Response:
    assert session.user_id is not None
    enrolment = await run_in_threadpool(pages_of(request).signin.enrol_totp, session.user_id)
    return render(
        request,
        "enrol.html",
        title_key="enrol.title",
        session=session,
        next=next_path,
        error=error,
        qr=Markup(enrolment.qr_svg),  # segno made it from our own otpauth URI
        secret=enrolment.secret,
        status=200 if error is None else 400,
    )


@router.get("/totp/enrol")
async def enrol_page(request: Request, next: str | None = None) -> Response:  # noqa: A002
    pending = await _pending(request, enrolled=False)
    if pending is None:
        return see_other("/login")
    return await _enrol_form(request, pending[0], safe_next(next))


@router.post("/totp/enrol")
async def enrol(request: Request) -> Response:
    pages = pages_of(request)
    session, form = await checked_form(request)
    next_path = safe_next(form.get("next"))
    if session.state != "password_ok" or session.user_id is None:
        return see_other("/login")
    try:
        codes = await run_in_threadpool(pages.signin.confirm_totp, session.user_id, form.get("code", "").strip())
    except InvalidInputError:
        return await _enrol_form(request, session, next_path, Translator(lang_of(request))("enrol.failed"))
    except AccountLockedError as locked:
        return await _locked_out(request, session, next_path, locked.until)
    except ConflictError:
        return see_other("/login")
    principal = await run_in_threadpool(pages.users.principal_for, session.user_id)
    if not principal.roles:
        await run_in_threadpool(pages.sessions.end, session.token_hash)
        return error_page(request, 403, "noaccess")
    user_id = session.user_id
    fresh = await run_in_threadpool(
        lambda: pages.sessions.start("signed_in", user_id, replaces=session.token_hash, second_factor=True)
    )
    response = render(
        request, "recovery.html", title_key="recovery.title", session=fresh.session, codes=codes, next=next_path
    )
    set_session_cookie(request, response, fresh.token)
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    pages = pages_of(request)
    session, _form = await checked_form(request)
    await run_in_threadpool(pages.sessions.end, session.token_hash)
    response = see_other("/login")
    clear_session_cookie(response)
    return response


@router.get("/lang/{code}")
async def switch_language(request: Request, code: str, next: str | None = None) -> Response:  # noqa: A002
    if code not in LANGUAGES:
        return error_page(request, 404)
    response = see_other(safe_next(next))
    secure = request.url.scheme == "https" or pages_of(request).settings.secure_cookies
    response.set_cookie(LANG_COOKIE, code, max_age=365 * 24 * 3600, samesite="strict", secure=secure, path="/")
    return response
