"""Single sign-on pages: ``GET /login/sso`` (off to the broker) and ``GET /login/sso/callback``.

Only when ``KOES_OIDC_ISSUER`` is set (404 otherwise). The flow (state, nonce, PKCE verifier, where
to go next) travels sealed in the ``koes_sso`` cookie, limited to these two addresses and ten
minutes, and is dropped by the callback whatever happens. That cookie is ``SameSite=Lax``: the
callback is a navigation from the broker's site, which carries no ``SameSite=Strict`` cookie — the
session cookie included. For the same reason the callback answers a sign-in with a short page
that moves on by itself (``Refresh``) instead of a redirect to it: a navigation started by our own
page is same-site again, so the new session cookie goes along. The callback itself shows nothing:
it answers with a redirect to a page without the code in its address (``/login/sso/done``, or
``/login/sso/refused/<why>``), so no link of a page (the language switch) repeats the code. Every
refusal is a page a person understands, with a ``signin.failed`` record (written by the sign-in
service); no page or record carries a code or a token.
"""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from koes.services.oidc import (
    FLOW_LIFETIME,
    FlowError,
    OidcClient,
    OidcError,
    check_callback,
    new_flow,
    provider_error,
)
from koes.web.i18n import Translator
from koes.web.pages.common import (
    current_session,
    error_page,
    lang_of,
    pages_of,
    render,
    safe_next,
    see_other,
    set_session_cookie,
)

router = APIRouter(include_in_schema=False)
FLOW_COOKIE = "koes_sso"
FLOW_PATH = "/login/sso"
# The page of each refusal (messages sso.<key>.title/text) and its status.
REFUSALS = {
    "expired": 400,
    "state": 400,
    "provider": 401,
    "token": 401,
    "unavailable": 502,
    "unknown": 403,
    "organisation": 403,
    "no_grant": 403,
    "needs_mfa": 403,
}


def sso_label(request: Request) -> str:
    """The broker's name for the button on the sign-in page; empty when single sign-on is off."""
    settings = pages_of(request).settings
    return settings.oidc_label if settings.oidc_enabled else ""


def _client(request: Request) -> OidcClient | None:
    """The app's relying party (built and checked at start-up); None when single sign-on is off."""
    client: OidcClient | None = request.app.state.oidc
    return client


def _refused(key: str) -> Response:
    """Off to the page that says why; the flow (if any) is spent."""
    response = see_other(f"{FLOW_PATH}/refused/{key}")
    response.delete_cookie(FLOW_COOKIE, path=FLOW_PATH, httponly=True, samesite="lax")
    return response


def _flow_cookie(request: Request, response: Response, value: str) -> None:
    secure = request.url.scheme == "https" or pages_of(request).settings.secure_cookies
    response.set_cookie(
        FLOW_COOKIE,
        value,
        max_age=int(FLOW_LIFETIME.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=secure,
        path=FLOW_PATH,
    )


@router.get("/login/sso")
async def sso_start(request: Request, next: str | None = None) -> Response:  # noqa: A002 - the query name
    pages = pages_of(request)
    client = _client(request)
    if client is None:
        return error_page(request, 404)
    next_path = safe_next(next)
    session = await current_session(request)
    if session is not None and session.state == "signed_in":
        return see_other(next_path)
    redirect_uri = client.config.redirect_uri or str(request.url_for("sso_callback"))
    flow = new_flow(next_path, session.token_hash if session else "", redirect_uri, pages.users.clock())
    try:
        url = await run_in_threadpool(client.authorization_url, flow)
    except OidcError as error:
        await run_in_threadpool(pages.signin.single_sign_on_failed, error.reason)
        return _refused("unavailable")
    response = see_other(url)
    _flow_cookie(request, response, client.sealer.seal(flow))
    return response


@router.get("/login/sso/callback", name="sso_callback")
async def sso_callback(
    request: Request,
    code: str | None = None,
    state: str | None = None,
    error: str | None = None,
    iss: str | None = None,
) -> Response:
    pages = pages_of(request)
    client = _client(request)
    if client is None:
        return error_page(request, 404)
    try:
        flow = client.sealer.open(request.cookies.get(FLOW_COOKIE), pages.users.clock())
        check_callback(flow, state, iss, client.config)
        if error is not None:
            raise OidcError("provider", f"the broker answered {provider_error(error)}")
        if not code:
            raise OidcError("provider", "the broker's answer has no code")
        identity = await run_in_threadpool(client.identity, flow, code)
    except FlowError as failure:
        await run_in_threadpool(pages.signin.single_sign_on_failed, str(failure))
        return _refused("expired")
    except OidcError as failure:
        await run_in_threadpool(pages.signin.single_sign_on_failed, failure.reason)
        return _refused(failure.kind)
    attempt = await run_in_threadpool(
        pages.signin.single_sign_on, identity.username, identity.organisation, identity.mfa
    )
    if attempt.outcome != "ok" or attempt.user_id is None:
        return _refused(attempt.outcome)
    # Rotation: the anonymous session that pressed the button ends, and any other this request carries.
    user_id, mfa = attempt.user_id, identity.mfa
    fresh = await run_in_threadpool(
        lambda: pages.sessions.start("signed_in", user_id, replaces=flow.session or None, second_factor=mfa)
    )
    current = await current_session(request)
    if current is not None and current.token_hash != flow.session:
        await run_in_threadpool(pages.sessions.end, current.token_hash)
    response = see_other(f"{FLOW_PATH}/done?{urlencode({'next': flow.next})}")
    set_session_cookie(request, response, fresh.token)
    response.delete_cookie(FLOW_COOKIE, path=FLOW_PATH, httponly=True, samesite="lax")
    return response


@router.get("/login/sso/done")
async def sso_done(request: Request, next: str | None = None) -> Response:  # noqa: A002
    next_path = safe_next(next)
    response = render(request, "sso_done.html", title_key="sso.done.title", next=next_path)
    response.headers["Refresh"] = f"0; url={next_path}"
    return response


@router.get("/login/sso/refused/{key}")
async def sso_refused(request: Request, key: str) -> Response:
    if key not in REFUSALS:
        return error_page(request, 404)
    t = Translator(lang_of(request))
    label = sso_label(request)
    return render(
        request,
        "error.html",
        title_key="login.error_heading",
        status=REFUSALS[key],
        code=REFUSALS[key],
        heading=t(f"sso.{key}.title", label=label),
        text=t(f"sso.{key}.text", label=label),
        action=t("error.login"),
        action_href="/login",
    )
