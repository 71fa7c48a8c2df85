"""The organisations page of an administrator of every organisation: ``/admin/organisations``.

It lists the national authority, the regions and the municipalities with their users (active of
all) and their status (active, ceased on a day and succeeded by which regions, or declared in the
reference data but not yet created), and offers what ``koes orgs`` offers on the command line:
create a region declared in the reference data, and move the users of a ceased region to its
successor. Every rule and every audit record is :class:`koes.services.reorganisation.ReorganisationService`'s;
the forms post with the session's CSRF token and answer with a redirect and a confirmation.
Anyone without ``manage_users_all`` gets the 403 page (and an ``access.denied`` record).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date
from functools import cache

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from koes.domain.geography import OPEN_END, Geography
from koes.privacy.access import Organisation, Principal
from koes.refdata import load_refdata
from koes.services.ceased import successors
from koes.services.errors import ForbiddenError, NotFoundError
from koes.services.organisations import OrganisationInfo, list_organisations
from koes.services.reorganisation import ReorganisationService
from koes.services.sessions import WebSession
from koes.web.formats import danish_key, day
from koes.web.i18n import Translator
from koes.web.pages.common import Pages, checked_form, lang_of, refused, render, see_other, signed_in, user_view
from koes.web.pages.forms import Option, Select

router = APIRouter(include_in_schema=False)
PATH = "/admin/organisations"
NEEDS = "manage_users_all"
DONE = frozenset({"created", "moved"})
KINDS = ("national", "region", "kommune")


@dataclass(frozen=True)
class OrganisationLine:
    key: str
    kind: str
    name: str
    code: str
    users: int
    active_users: int
    status: str  # active | ceased | declared
    status_text: str


@cache
def geography() -> Geography:
    return load_refdata().geography


def reorganisation(pages: Pages) -> ReorganisationService:
    return ReorganisationService(pages.users.trail, geography(), pages.users.clock)


@router.get(PATH)
async def organisations_page(request: Request) -> Response:
    found = await _administrator(request)
    if isinstance(found, Response):
        return found
    pages, session, principal = found
    return await _page(request, pages, session, principal)


@router.post(PATH + "/regions")
async def create_region(request: Request) -> Response:
    _session, form = await checked_form(request)
    found = await _administrator(request)
    if isinstance(found, Response):
        return found
    pages, session, principal = found
    t = Translator(lang_of(request))
    try:
        code = int(form.get("region", ""))
        await run_in_threadpool(reorganisation(pages).create_region, principal, code)
    except (ValueError, NotFoundError):  # not a number, not declared, or created already (ConflictError)
        return await _page(request, pages, session, principal, [t("orgs.problem.region")], 409)
    except ForbiddenError as error:
        return await refused(request, pages, principal, NEEDS, error)
    return see_other(f"{PATH}?done=created")


@router.post(PATH + "/move")
async def move_users(request: Request) -> Response:
    _session, form = await checked_form(request)
    found = await _administrator(request)
    if isinstance(found, Response):
        return found
    pages, session, principal = found
    t = Translator(lang_of(request))
    source, target = form.get("source", ""), form.get("target", "")
    try:
        moved = await run_in_threadpool(reorganisation(pages).move_users, principal, source, target)
    except (NotFoundError, ValueError):  # ConflictError is a ValueError
        return await _page(request, pages, session, principal, [t("orgs.problem.move")], 409)
    except ForbiddenError as error:
        return await refused(request, pages, principal, NEEDS, error)
    return see_other(f"{PATH}?done=moved&count={len(moved)}")


async def _administrator(request: Request) -> tuple[Pages, WebSession, Principal] | Response:
    pages, session, principal = await signed_in(request)
    if not principal.may(NEEDS):
        return await refused(request, pages, principal, NEEDS)
    return pages, session, principal


async def _page(
    request: Request,
    pages: Pages,
    session: WebSession,
    principal: Principal,
    problems: list[str] | None = None,
    status: int = 200,
) -> Response:
    lang = lang_of(request)
    t = Translator(lang)
    organisations = await run_in_threadpool(list_organisations, pages.users.trail.database)
    users = await run_in_threadpool(pages.users.users, principal, None)
    everyone = Counter(u.organisation for u in users)
    active = Counter(u.organisation for u in users if u.active)
    today = pages.users.clock().date()
    lines = [_line(o, everyone[o.key], active[o.key], today, t) for o in organisations]
    known = {o.key for o in organisations}
    lines += [_declared(r.code, r.name_da, t) for r in geography().regions if f"region:{r.code}" not in known]
    lines.sort(key=lambda line: (KINDS.index(line.kind), danish_key(line.name)))
    user = await run_in_threadpool(user_view, pages, principal, lang)
    done = request.query_params.get("done") if request.method == "GET" else None
    return render(
        request,
        "admin_organisations.html",
        title_key="orgs.title",
        status=status,
        session=session,
        user=user,
        lines=lines,
        counts={kind: sum(1 for line in lines if line.kind == kind and line.status != "declared") for kind in KINDS},
        region_select=_creatable(known, t),
        move_selects=_movable(organisations, everyone, t),
        problems=problems or [],
        done=done if done in DONE else None,
        moved=request.query_params.get("count", "0"),
    )


def _line(o: OrganisationInfo, users: int, active: int, today: date, t: Translator) -> OrganisationLine:
    status, text = "active", t("orgs.status.active")
    if o.kind == "region" and o.code is not None:
        try:
            region = geography().region(o.code)
        except KeyError:
            region = None
        if region is not None and region.valid_to < today:
            names = ", ".join(geography().region(c).name_da for c in successors(geography(), o.code))
            status, text = "ceased", t("orgs.status.ceased", day=day(region.valid_to, t.lang), successors=names)
        elif region is not None and region.valid_from > today:
            status, text = "active", t("orgs.status.from", day=day(region.valid_from, t.lang))
        elif region is not None and region.valid_to != OPEN_END:  # ceases later: say so before the day
            names = ", ".join(geography().region(c).name_da for c in successors(geography(), o.code))
            status, text = "active", t("orgs.status.until", day=day(region.valid_to, t.lang), successors=names)
    name = t("orgs.national") if o.kind == "national" else o.name
    return OrganisationLine(o.key, o.kind, name, "" if o.code is None else str(o.code), users, active, status, text)


def _declared(code: int, name: str, t: Translator) -> OrganisationLine:
    return OrganisationLine(f"region:{code}", "region", name, str(code), 0, 0, "declared", t("orgs.status.declared"))


def _creatable(known: set[str], t: Translator) -> Select | None:
    """The regions the reference data declares that are not organisations yet."""
    options = [
        Option(str(r.code), f"{r.name_da} ({r.code})", False)
        for r in geography().regions
        if f"region:{r.code}" not in known
    ]
    return Select("region", t("orgs.region"), options, id="new-region") if options else None


def _movable(organisations: list[OrganisationInfo], users: Counter[str], t: Translator) -> tuple[Select, Select] | None:
    """Regions with users that have ended (or will end), and the regions that may receive them."""
    sources: list[Option] = []
    targets: set[int] = set()
    for o in organisations:
        if o.kind != "region" or o.code is None or not users[o.key]:
            continue
        try:
            ends = geography().region(o.code).valid_to != OPEN_END
        except KeyError:
            continue
        if ends:
            sources.append(Option(o.key, o.name, False))
            targets.update(successors(geography(), o.code))
    if not sources:
        return None
    target_options = [
        Option(str(Organisation("region", c)), geography().region(c).name_da, False) for c in sorted(targets)
    ]
    return (
        Select("source", t("orgs.move_from"), sources, id="move-source"),
        Select("target", t("orgs.move_to"), target_options, id="move-target"),
    )
