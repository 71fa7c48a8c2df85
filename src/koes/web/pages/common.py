"""What every page shares: templates, the language, the session cookie, CSRF and error pages."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.concurrency import run_in_threadpool

from koes.privacy.access import Principal
from koes.privacy.echo import mask_target
from koes.privacy.roles import role_book
from koes.services.audit import denied_event
from koes.services.ceased import CeasedOrganisation
from koes.services.refusals import recorded
from koes.services.sessions import SessionService, WebSession
from koes.services.signin import SignInService
from koes.services.users import UserService
from koes.settings import Settings
from koes.web.assets import asset_url
from koes.web.i18n import LANG_COOKIE, LANGUAGES, Translator, language
from koes.web.navigation import breadcrumbs
from koes.web.plotly_css import plotly_sheet_ids

SESSION_COOKIE = "koes_session"
ERROR_KEYS = {403: "403", 404: "404", 405: "405", 500: "500"}
NO_STORE = {"Cache-Control": "no-store"}

templates = Environment(
    loader=PackageLoader("koes.web", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
templates.globals["plotly_sheet_ids"] = plotly_sheet_ids  # the chart pages link Plotly.js's sheets
templates.globals["asset_url"] = asset_url  # scripts and sheets by their content-hashed address
templates.globals["breadcrumbs"] = breadcrumbs  # every signed-in page's trail (base.html)


@dataclass(frozen=True)
class Pages:
    """The services the pages use (``app.state.pages``)."""

    settings: Settings
    sessions: SessionService
    signin: SignInService
    users: UserService
    organisation_names: Mapping[str, str]


@dataclass(frozen=True)
class UserView:
    name: str
    organisation: str
    roles: list[str]


class SignInRequiredError(Exception):
    """No signed-in session: the page answers with a redirect to the sign-in page."""

    def __init__(self, next_path: str) -> None:
        super().__init__("sign-in required")
        self.next_path = next_path


class CsrfError(Exception):
    """A form without the session's CSRF token (or without a session): 403."""


def pages_of(request: Request) -> Pages:
    pages = request.app.state.pages
    assert isinstance(pages, Pages)
    return pages


def lang_of(request: Request) -> str:
    return language(request.cookies.get(LANG_COOKIE))


def safe_next(value: str | None, default: str = "/") -> str:
    """A same-site relative path to go on to, or ``default``: never another site (``//host``,
    ``https:``), and never with a CPR-shaped number (it is echoed in forms, links and redirects)."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return default
    if any(c in value for c in "\\\r\n\t") or urlsplit(value).netloc or urlsplit(value).scheme:
        return default
    return mask_target(value)


def here(request: Request) -> str:
    """The page's own address (path and query) as it may be echoed: CPR-shaped values masked."""
    path = request.url.path
    return mask_target(f"{path}?{request.url.query}" if request.url.query else path)


def render(
    request: Request,
    template: str,
    *,
    title_key: str,
    status: int = 200,
    session: WebSession | None = None,
    user: UserView | None = None,
    page_title: str | None = None,
    **context: Any,
) -> HTMLResponse:
    lang = lang_of(request)
    t = Translator(lang)
    html = templates.get_template(template).render(
        t=t,
        lang=lang,
        languages=LANGUAGES,
        here=here(request) if request.method == "GET" else request.url.path,
        title=page_title or t(title_key),  # a page that knows more says what it shows
        csrf=session.csrf_token if session else "",
        user=user,
        **context,
    )
    return HTMLResponse(html, status_code=status, headers=NO_STORE)


def error_page(request: Request, status: int, key: str | None = None) -> HTMLResponse:
    """A page a person understands: what went wrong, what to do. Never a stack trace."""
    t = Translator(lang_of(request))
    key = key or ERROR_KEYS.get(status, "other")
    session, user = _signed_in_user(request)
    signed_out = key == "csrf" or (key == "noaccess" and user is None)
    return render(
        request,
        "error.html",
        title_key=f"error.{key}.title",
        status=status,
        session=session,
        user=user,
        code=status,
        heading=t(f"error.{key}.title"),
        text=t(f"error.{key}.text"),
        action=t("error.login" if signed_out else "error.home"),
        action_href="/login" if signed_out else "/",
    )


def _signed_in_user(request: Request) -> tuple[WebSession | None, UserView | None]:
    """The signed-in user of an error page, so that it keeps the user box and sign-out; none when
    there is no session, or when finding it fails (an error page must show whatever failed)."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None, None
    try:
        pages = pages_of(request)
        session = pages.sessions.find(token)
        if session is None or session.state != "signed_in" or session.user_id is None:
            return None, None
        return session, user_view(pages, session_principal(pages, session), lang_of(request))
    except Exception:  # the page is already an error page: it shows without the box
        return None, None


def ceased_page(request: Request, gone: CeasedOrganisation) -> HTMLResponse:
    """403 for a user whose organisation ceased: which, when, and who to ask, not an empty page."""
    t = Translator(lang_of(request))
    return render(
        request,
        "error.html",
        title_key="error.ceased.title",
        status=403,
        code=403,
        heading=t("error.ceased.title"),
        text=gone.message(lang_of(request)),
        action=t("error.home"),
        action_href="/",
    )


async def current_session(request: Request) -> WebSession | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    return await run_in_threadpool(pages_of(request).sessions.find, token)


async def checked_form(request: Request) -> tuple[WebSession, dict[str, str]]:
    """The posted form, once its CSRF token matches the session's (else :class:`CsrfError`)."""
    form = await request.form()
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    session = await current_session(request)
    if session is None or not session.csrf_ok(values.get("csrf")):
        raise CsrfError()
    return session, values


def set_session_cookie(request: Request, response: Response, token: str) -> None:
    secure = request.url.scheme == "https" or pages_of(request).settings.secure_cookies
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="strict", secure=secure, path="/")


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")


def see_other(location: str) -> RedirectResponse:
    return RedirectResponse(location, status_code=303, headers=NO_STORE)


def login_redirect(next_path: str) -> RedirectResponse:
    return see_other(f"/login?next={quote(safe_next(next_path), safe='')}")


def user_view(pages: Pages, principal: Principal, lang: str) -> UserView:
    me = pages.users.me(principal)
    book = role_book()
    organisation = str(principal.organisation)
    roles = [book.roles[r].label.get(lang, r) if r in book.roles else r for r in sorted(principal.roles)]
    return UserView(me.display_name, pages.organisation_names.get(organisation, organisation), roles)


async def signed_in(request: Request) -> tuple[Pages, WebSession, Principal]:
    """The page's services, session and principal; a visitor who is not signed in is sent to sign in."""
    pages = pages_of(request)
    session = await current_session(request)
    if session is None or session.state != "signed_in" or session.user_id is None:
        raise SignInRequiredError(here(request))
    principal = await run_in_threadpool(session_principal, pages, session)
    return pages, session, principal


def session_principal(pages: Pages, session: WebSession) -> Principal:
    """The signed-in user now: its valid roles, those that need TOTP only if the sign-in passed a
    second factor (a role granted after a password-only sign-in waits for the next sign-in)."""
    assert session.user_id is not None
    return pages.users.principal_for(session.user_id, second_factor=session.second_factor)


async def refused(
    request: Request, pages: Pages, principal: Principal, needs: str, error: BaseException | None = None
) -> Response:
    """The 403 page, and its ``access.denied`` record, unless the service whose ``error`` this is
    recorded the refusal already (:mod:`koes.services.refusals`). A user left without any grant
    since its sign-in gets the "no access" page, and its refusal is recorded too."""
    if error is None or not recorded(error):
        event = denied_event(principal, "access.denied", f"{request.method} {request.url.path}; needs {needs}")
        await run_in_threadpool(pages.signin.trail.record, event)
    return error_page(request, 403, None if principal.roles else "noaccess")
