"""The signed-in user's own API tokens: ``GET/POST /account/tokens`` and ``POST /account/tokens/{id}/revoke``.

The page lists the user's tokens (name, prefix, scopes, when made, until when, last use, state),
makes a new one (a name, the scopes, the days) and revokes one. A new token's secret is shown once,
on the page that answers the form (never in an address, never again). The rules are
:class:`koes.services.tokens.TokenService`'s: this page is the one place where a user whose roles
need TOTP (``individ``, the administrators) makes a token, because its session passed the second
factor; a session that did not (a role granted after a password-only sign-in) is told to sign in
again with its code.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from koes.privacy import roles as role_data
from koes.privacy.access import Principal
from koes.privacy.echo import mask_text
from koes.services.errors import ForbiddenError, InvalidInputError, NotFoundError
from koes.services.sessions import WebSession
from koes.services.tokens import CreatedToken, TokenInfo, TokenService
from koes.web.formats import day
from koes.web.i18n import Translator, has_message
from koes.web.pages.common import (
    Pages,
    checked_form,
    error_page,
    lang_of,
    pages_of,
    render,
    see_other,
    session_principal,
    signed_in,
    user_view,
)
from koes.web.pages.forms import Checkboxes, Option

router = APIRouter(include_in_schema=False)
PATH = "/account/tokens"
DEFAULT_SCOPES = ("analyses",)  # the form's suggestion: least privilege, more if ticked


@dataclass(frozen=True)
class TokenLine:
    id: int
    name: str
    prefix: str
    scopes: str
    created: str
    until: str
    last_used: str
    state: str  # valid | expired | revoked


def tokens_of(request: Request) -> TokenService:
    service = request.app.state.tokens
    assert isinstance(service, TokenService)
    return service


def _line(token: TokenInfo, now: datetime, lang: str) -> TokenLine:
    book = role_data.role_book().token_scopes
    scopes = ", ".join(book[s].label.get(lang, s) if s in book else s for s in token.scopes)
    state = "revoked" if token.revoked_at else ("expired" if token.expires_at <= now else "valid")
    return TokenLine(
        token.id,
        token.name,
        token.prefix,
        scopes,
        day(token.created_at.date(), lang),
        day(token.expires_at.date(), lang),
        day(token.last_used_at.date(), lang) if token.last_used_at else "–",
        state,
    )


async def _page(
    request: Request,
    pages: Pages,
    session: WebSession,
    principal: Principal,
    *,
    created: CreatedToken | None = None,
    problems: list[str] | None = None,
    values: dict[str, str] | None = None,
    chosen: list[str] | None = None,
    status: int = 200,
) -> Response:
    lang = lang_of(request)
    t = Translator(lang)
    service = tokens_of(request)
    mine = await run_in_threadpool(service.list, principal)
    now = pages.users.clock()
    roles = await run_in_threadpool(lambda: pages.users.principal_for(principal.user_id or 0).roles)
    usable = role_data.scopes_for(roles)
    ticked = set(DEFAULT_SCOPES if chosen is None else chosen)
    book = role_data.role_book().token_scopes
    scopes = Checkboxes(
        "scopes",
        t("tokens.scopes"),
        [Option(s, book[s].label.get(lang, s), s in ticked) for s in usable],
        open=True,
    )
    user = await run_in_threadpool(user_view, pages, principal, lang)
    done = request.query_params.get("done") if request.method == "GET" else None
    return render(
        request,
        "tokens.html",
        title_key="tokens.title",
        status=status,
        session=session,
        user=user,
        lines=[_line(tok, now, lang) for tok in reversed(mine)],
        created=created,
        created_line=_line(created.info, now, lang) if created else None,
        scopes=scopes,
        may_make=bool(usable) and (session.second_factor or not role_data.totp_required(roles)),
        needs_code=role_data.totp_required(roles) and not session.second_factor,
        values=values or {"name": "", "days": str(service.policy.default_days)},
        max_days=service.policy.max_days,
        default_days=service.policy.default_days,
        problems=problems or [],
        done=done == "revoked",
    )


async def _me(request: Request) -> tuple[Pages, WebSession, Principal] | Response:
    pages, session, principal = await signed_in(request)
    if not principal.roles or principal.user_id is None:  # every grant ended since the sign-in
        return error_page(request, 403, "noaccess")
    return pages, session, principal


@router.get(PATH)
async def tokens_page(request: Request) -> Response:
    found = await _me(request)
    if isinstance(found, Response):
        return found
    return await _page(request, *found)


@router.post(PATH)
async def make_token(request: Request) -> Response:
    session, form = await checked_form(request)
    found = await _me(request)
    if isinstance(found, Response):
        return found
    pages, _session, principal = found
    t = Translator(lang_of(request))
    raw = await request.form()
    chosen = [v for v in raw.getlist("scopes") if isinstance(v, str)]
    name, days_text = form.get("name", ""), form.get("days", "").strip()
    values = {"name": mask_text(name), "days": mask_text(days_text)}
    if not (days_text.isdigit() and len(days_text) < 6):
        return await _page(request, pages, session, principal, problems=[t("problem.token_days", max=_max(request))],
                           values=values, chosen=chosen, status=400)  # fmt: skip
    service = tokens_of(request)
    try:
        created = await run_in_threadpool(
            lambda: service.create(
                principal, name, scopes=chosen, days=int(days_text), second_factor=session.second_factor
            )
        )
    except InvalidInputError as exc:
        problems = [_problem(p.code, dict(p.params), str(p), t) for p in exc.problems]
        return await _page(
            request, pages, session, principal, problems=problems, values=values, chosen=chosen, status=400
        )
    except ForbiddenError as exc:
        problems = [_problem(exc.code, {}, str(exc), t)]
        return await _page(
            request, pages, session, principal, problems=problems, values=values, chosen=chosen, status=403
        )
    return await _page(request, pages, session, principal, created=created, status=201)


@router.post(PATH + "/{token_id}/revoke")
async def revoke_token(request: Request, token_id: int) -> Response:
    session, _form = await checked_form(request)
    pages = pages_of(request)
    if session.state != "signed_in" or session.user_id is None:
        return error_page(request, 403, "csrf")
    principal = await run_in_threadpool(session_principal, pages, session)
    try:
        await run_in_threadpool(tokens_of(request).revoke, principal, token_id)
    except NotFoundError:  # another user's token: not found (and the refusal is on record)
        return error_page(request, 404)
    return see_other(f"{PATH}?done=revoked")


def _max(request: Request) -> int:
    return tokens_of(request).policy.max_days


def _problem(code: str, params: dict[str, str], fallback: str, t: Translator) -> str:
    key = f"problem.{code}"
    return t(key, **params) if code and has_message(key) else fallback
