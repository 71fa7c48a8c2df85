"""User administration for administrators: ``/admin/users`` (the list and a new user),
``/admin/users/{id}`` (one user: change its name, grant, revoke, deactivate or reactivate, reset
TOTP, set a password); ``/admin/recertification`` (grants that expire soon) is in
:mod:`koes.web.pages.admin_recertification`.

Every rule is :class:`koes.services.users.UserService`'s: the own organisation only for a local
administrator (another organisation's user is "not found", a 404 page), only roles the
administrator holds itself, an expiry of 12 months by default and at most 24, nobody grants
themselves a role, and an audit record for every change. This module turns the service's answers
into pages: the forms post with the session's CSRF token and answer with a redirect and a
confirmation (post/redirect/get); a problem is shown next to its form in the user's language
(``problem.<code>`` and ``users.forbidden.<code>`` in the messages), never a stack trace. Reading
the list writes no audit record, exactly like the JSON API's ``GET /api/v1/users``. Anyone without
``manage_users_own_org`` or ``manage_users_all`` gets the 403 page (and an ``access.denied`` record).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from koes.privacy.access import Principal
from koes.privacy.credentials import broken_password_rules
from koes.privacy.echo import mask_text
from koes.privacy.roles import may_grant, role_book
from koes.services.errors import ConflictError, ForbiddenError, InvalidInputError, NotFoundError
from koes.services.refusals import record_refusal
from koes.services.sessions import WebSession
from koes.services.tokens import TokenService
from koes.services.user_records import GrantInfo, UserInfo
from koes.services.user_rules import DEFAULT_GRANT_MONTHS, MAX_GRANT_MONTHS, add_months
from koes.web.formats import danish_key, day
from koes.web.i18n import Translator, has_message, problem_message
from koes.web.pages.common import (
    Pages,
    checked_form,
    error_page,
    lang_of,
    refused,
    render,
    see_other,
    signed_in,
    user_view,
)
from koes.web.pages.forms import Option, Select

router = APIRouter(include_in_schema=False)
USERS = "/admin/users"
RECERTIFICATION = "/admin/recertification"
MANAGE = ("manage_users_own_org", "manage_users_all")
NEEDS = "manage_users_own_org or manage_users_all"
DEFAULT_DAYS = 30
DONE = frozenset(
    {"created", "granted", "revoked", "renamed", "deactivated", "reactivated", "totp_reset", "password"}
    | {"token_revoked"}
)
# A POST to one user's page: the change, and the section of the page that shows its problems.
CHANGES = {
    "rename": "name",
    "grants": "grant",
    "deactivate": "status",
    "reactivate": "status",
    "reset-totp": "totp",
    "password": "password",
}


@dataclass(frozen=True)
class RoleCell:
    label: str
    until: str


@dataclass(frozen=True)
class UserLine:
    id: int
    username: str
    name: str
    organisation: str
    active: bool
    totp: bool
    roles: tuple[RoleCell, ...]


@dataclass(frozen=True)
class GrantLine:
    id: int
    role: str
    label: str
    granted: str
    granted_by: str
    until: str
    state: str  # valid | expired | revoked | inactive (the user is deactivated)
    revoked: str
    revocable: bool


def may_manage_users(principal: Principal) -> bool:
    return any(principal.may(p) for p in MANAGE)


def last_day(expires_at: datetime) -> date:
    """The last day a grant counts (it ends at ``expires_at``; a chosen day ends at the next midnight)."""
    return (expires_at - timedelta(microseconds=1)).date()


def role_label(role: str, lang: str) -> str:
    book = role_book().roles
    return book[role].label.get(lang, role) if role in book else role


def forbidden_text(exc: ForbiddenError, t: Translator, role: str = "") -> str:
    key = f"users.forbidden.{exc.code}"
    if exc.code and has_message(key):
        return t(key, role=role_label(role, t.lang))
    return t("users.forbidden")


def organisation_name(pages: Pages, key: str) -> str:
    return pages.organisation_names.get(key, key)


def _roles(info: UserInfo, now: datetime, lang: str) -> tuple[RoleCell, ...]:
    """The roles of valid grants, each with its latest last day."""
    until: dict[str, datetime] = {}
    for g in info.grants:
        if g.valid and g.expires_at > now:
            until[g.role] = max(until.get(g.role, g.expires_at), g.expires_at)
    return tuple(RoleCell(role_label(r, lang), day(last_day(until[r]), lang)) for r in sorted(until))


def _user_line(pages: Pages, info: UserInfo, now: datetime, lang: str) -> UserLine:
    return UserLine(
        info.id,
        info.username,
        info.display_name,
        organisation_name(pages, info.organisation),
        info.active,
        info.totp_enrolled,
        _roles(info, now, lang),
    )


def _grant_line(g: GrantInfo, now: datetime, lang: str) -> GrantLine:
    if g.revoked_at is not None:
        state = "revoked"
    elif g.expires_at <= now:
        state = "expired"
    elif not g.valid:
        state = "inactive"
    else:
        state = "valid"
    revoked = f"{day(g.revoked_at.date(), lang)} ({g.revoked_by})" if g.revoked_at else ""
    return GrantLine(
        g.id,
        g.role,
        role_label(g.role, lang),
        day(g.granted_at.date(), lang),
        g.granted_by,
        day(last_day(g.expires_at), lang),
        state,
        revoked,
        state in ("valid", "inactive"),
    )


def _organisation_options(pages: Pages, chosen: str, *, everyone: str | None) -> list[Option]:
    named = sorted(pages.organisation_names.items(), key=lambda kv: danish_key(kv[1]))
    options = [Option("", everyone, chosen == "")] if everyone is not None else []
    return options + [Option(key, name, key == chosen) for key, name in named]


async def manager(request: Request) -> tuple[Pages, WebSession, Principal] | Response:
    """The signed-in administrator, or the refusal page for anyone else."""
    pages, session, principal = await signed_in(request)
    if not may_manage_users(principal):
        return await refused(request, pages, principal, NEEDS)
    return pages, session, principal


# --- the list and a new user ------------------------------------------------------------------
@router.get(USERS)
async def users_page(request: Request) -> Response:
    found = await manager(request)
    if isinstance(found, Response):
        return found
    pages, session, principal = found
    chosen = (request.query_params.get("organisation") or "").strip()
    return await _list(request, pages, session, principal, chosen)


async def _list(
    request: Request,
    pages: Pages,
    session: WebSession,
    principal: Principal,
    chosen: str = "",
    *,
    problems: list[str] | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    lang = lang_of(request)
    t = Translator(lang)
    everywhere = principal.may("manage_users_all")
    try:
        users = await run_in_threadpool(pages.users.users, principal, chosen or None)
    except (NotFoundError, InvalidInputError):  # another organisation, or no organisation at all
        return error_page(request, 404)
    now = pages.users.clock()
    own = str(principal.organisation)
    values = values or {}
    new_organisation = values.get("organisation") or chosen or own
    user = await run_in_threadpool(user_view, pages, principal, lang)
    done = request.query_params.get("done") if request.method == "GET" else None
    return render(
        request,
        "admin_users.html",
        title_key="users.title",
        status=status,
        session=session,
        user=user,
        users=[_user_line(pages, u, now, lang) for u in users],
        everywhere=everywhere,
        own_organisation=organisation_name(pages, own),
        chosen=chosen,
        chosen_name=organisation_name(pages, chosen) if chosen else "",
        filter_select=Select(
            "organisation",
            t("users.filter_organisation"),
            _organisation_options(pages, chosen, everyone=t("users.all_organisations")),
            id="filter-organisation",
        ),
        organisation_select=Select(
            "organisation",
            t("users.organisation"),
            _organisation_options(pages, new_organisation, everyone=None),
            id="new-organisation",
        ),
        values=values,
        problems=problems or [],
        done=done if done in DONE else None,
    )


@router.post(USERS)
async def create_user(request: Request) -> Response:
    _session, form = await checked_form(request)
    found = await manager(request)
    if isinstance(found, Response):
        return found
    pages, session, principal = found
    t = Translator(lang_of(request))
    username = form.get("username", "").strip()
    display_name = form.get("display_name", "")
    organisation = form.get("organisation") or None
    password = form.get("password", "")
    # The typed values refill the form after a problem: never a CPR-shaped number (the service refuses one).
    values = {
        "username": mask_text(username),
        "display_name": mask_text(display_name),
        "organisation": organisation or "",
    }
    if password != form.get("repeat_password", ""):
        problems = [t("users.problem.mismatch")]
        problems += [t(f"problem.user_password_{rule}") for rule in broken_password_rules(password, username)]
        return await _list(request, pages, session, principal, problems=problems, values=values, status=400)
    try:
        created = await run_in_threadpool(
            lambda: pages.users.create_user(
                principal,
                username,
                organisation=organisation,
                display_name=display_name,
                password=password or None,  # no password: a user who signs in with single sign-on only
            )
        )
    except InvalidInputError as exc:
        problems = [problem_message(p, t) for p in exc.problems]
        return await _list(request, pages, session, principal, problems=problems, values=values, status=400)
    except ConflictError:
        problems = [t("users.problem.taken")]
        return await _list(request, pages, session, principal, problems=problems, values=values, status=409)
    except NotFoundError:
        return error_page(request, 404)
    except ForbiddenError as exc:
        problems = [forbidden_text(exc, t)]
        return await _list(request, pages, session, principal, problems=problems, values=values, status=403)
    return see_other(f"{USERS}/{created.id}?done=created")


# --- one user -----------------------------------------------------------------------------------
@router.get(USERS + "/{user_id}")
async def user_page(request: Request, user_id: int) -> Response:
    found = await manager(request)
    if isinstance(found, Response):
        return found
    pages, session, principal = found
    return await _user(request, pages, session, principal, user_id)


async def _user(
    request: Request,
    pages: Pages,
    session: WebSession,
    principal: Principal,
    user_id: int,
    *,
    section: str = "",
    problems: list[str] | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    try:
        info = await run_in_threadpool(pages.users.user, principal, user_id)
    except NotFoundError:
        return error_page(request, 404)
    lang = lang_of(request)
    t = Translator(lang)
    now = pages.users.clock()
    values = values or {}
    same = info.organisation == str(principal.organisation)
    book = role_book().roles
    offered = [r for r in book if may_grant(principal.roles, r, same_organisation=same)]
    wanted = values.get("role") or request.query_params.get("role") or ""
    default_until = add_months(now, DEFAULT_GRANT_MONTHS).date()
    user = await run_in_threadpool(user_view, pages, principal, lang)
    done = request.query_params.get("done") if request.method == "GET" else None
    return render(
        request,
        "admin_user.html",
        title_key="users.user_title",
        status=status,
        session=session,
        user=user,
        target=info,
        itself=principal.user_id == info.id,
        organisation=organisation_name(pages, info.organisation),
        created=day(info.created_at.date(), lang),
        locked_until=info.locked_until.strftime("%H:%M") + " UTC" if info.locked_until else "",
        grants=[_grant_line(g, now, lang) for g in sorted(info.grants, key=lambda g: g.granted_at, reverse=True)],
        role_select=Select(
            "role",
            t("users.role"),
            [Option(r, role_label(r, lang), r == wanted) for r in offered],
            id="grant-role",
        ),
        display_name=values.get("display_name", info.display_name),
        expires=values.get("expires", default_until.isoformat()),
        expires_min=now.date().isoformat(),
        expires_max=add_months(now, MAX_GRANT_MONTHS).date().isoformat(),
        default_until=day(default_until, lang),
        max_months=MAX_GRANT_MONTHS,
        section=section,
        problems=problems or [],
        done=done if done in DONE else None,
    )


@router.get(USERS + "/{user_id}/{rest:path}")
async def back_to_user(user_id: int, rest: str) -> Response:
    """A change's address opened with GET (the language switch on a page with a problem): the user's page."""
    del rest
    return see_other(f"{USERS}/{user_id}")


@router.post(USERS + "/{user_id}/grants/{grant_id}/revoke")
async def revoke(request: Request, user_id: int, grant_id: int) -> Response:
    _session, form = await checked_form(request)
    found = await manager(request)
    if isinstance(found, Response):
        return found
    pages, session, principal = found
    try:
        info = await run_in_threadpool(pages.users.user, principal, user_id)
    except NotFoundError:
        return error_page(request, 404)
    grant = next((g for g in info.grants if g.id == grant_id), None)
    if grant is None:  # a grant of another user: not found on this user's page, and a refusal on record
        attempt = f"revoke grant #{grant_id} of user #{user_id}"
        hidden = NotFoundError("no such grant of this user")
        now = pages.users.clock()
        await run_in_threadpool(record_refusal, pages.users.trail, principal, "grant.revoke", attempt, hidden, now)
        return error_page(request, 404)
    try:
        await run_in_threadpool(pages.users.revoke, principal, grant_id)
    except NotFoundError:
        return error_page(request, 404)
    except ForbiddenError as exc:
        problems = [forbidden_text(exc, Translator(lang_of(request)), grant.role)]
        return await _user(request, pages, session, principal, user_id, section="grants", problems=problems, status=403)
    if form.get("back") == "recertification":
        return see_other(f"{RECERTIFICATION}?done=revoked")
    return see_other(f"{USERS}/{user_id}?done=revoked")


@router.post(USERS + "/{user_id}/tokens/{token_id}/revoke")
async def revoke_token(request: Request, user_id: int, token_id: int) -> Response:
    """Revoke a user's API token (from the recertification list): the user's reach, as for its grants."""
    _session, _form = await checked_form(request)
    found = await manager(request)
    if isinstance(found, Response):
        return found
    _pages, _s, principal = found
    try:  # a token of another user on this user's path is not found, like one the administrator cannot reach
        await run_in_threadpool(tokens_of(request).revoke_for, principal, token_id, user_id)
    except NotFoundError:
        return error_page(request, 404)
    return see_other(f"{RECERTIFICATION}?done=token_revoked")


@router.post(USERS + "/{user_id}/{change}")
async def change_user(request: Request, user_id: int, change: str) -> Response:
    """Change the name, grant a role, deactivate or reactivate, reset TOTP or set a password."""
    _session, form = await checked_form(request)
    found = await manager(request)
    if isinstance(found, Response):
        return found
    pages, session, principal = found
    section = CHANGES.get(change)
    if section is None:
        return error_page(request, 404)
    t = Translator(lang_of(request))
    values = {"role": form.get("role", ""), "expires": form.get("expires", "").strip()}
    if change == "rename":
        values["display_name"] = mask_text(form.get("display_name", ""))  # the typed name stays in the form
    status, problems = 400, []
    try:
        done = await run_in_threadpool(_apply, pages, principal, user_id, change, form, t)
    except NotFoundError:
        return error_page(request, 404)
    except InvalidInputError as exc:
        problems = [problem_message(p, t) for p in exc.problems]
    except ForbiddenError as exc:
        status, problems = 403, [forbidden_text(exc, t, values["role"])]
    except ConflictError:
        status, problems = 409, [t("users.problem.inactive")]
    except _FormProblemsError as exc:
        problems = exc.texts
    else:
        return see_other(f"{USERS}/{user_id}?done={done}")
    return await _user(
        request, pages, session, principal, user_id, section=section, problems=problems, values=values, status=status
    )


class _FormProblemsError(Exception):
    """The form itself is wrong (a date that is no date, two passwords that differ): nothing was asked."""

    def __init__(self, texts: list[str]) -> None:
        super().__init__("; ".join(texts))
        self.texts = texts


def _apply(pages: Pages, principal: Principal, user_id: int, change: str, form: dict[str, str], t: Translator) -> str:
    """Carry out one change through the service; its ``done`` word."""
    users = pages.users
    if change == "rename":
        users.rename(principal, user_id, form.get("display_name", ""))
        return "renamed"
    if change == "grants":
        text = form.get("expires", "").strip()
        try:
            expires = date.fromisoformat(text) if text else None  # empty: the default, 12 months
        except ValueError:
            raise _FormProblemsError([t("users.problem.date")]) from None
        users.grant(principal, user_id, form.get("role", ""), expires)
        return "granted"
    if change == "deactivate":
        users.deactivate(principal, user_id)
        return "deactivated"
    if change == "reactivate":
        users.reactivate(principal, user_id)
        return "reactivated"
    if change == "reset-totp":
        users.reset_totp(principal, user_id)
        return "totp_reset"
    password = form.get("password", "")
    if password != form.get("repeat_password", ""):
        target = users.user(principal, user_id)  # not found before anything is said about the password
        rules = broken_password_rules(password, target.username)
        raise _FormProblemsError([t("users.problem.mismatch")] + [t(f"problem.user_password_{r}") for r in rules])
    users.set_password(principal, user_id, password)
    return "password"


def tokens_of(request: Request) -> TokenService:
    service = request.app.state.tokens
    assert isinstance(service, TokenService)
    return service
