"""The audit trail for administrators: ``GET /admin/audit`` (filters, a table, pages) and its CSV export.

A local administrator (``view_audit_own_org``) sees its own organisation's records only; another
organisation in the address is answered "not found", exactly like the API. A system administrator
(``view_audit_all``) sees every record and may pick one organisation. The scoping is the user
service's (:meth:`UserService.audit_query`); reading and exporting are themselves recorded
(``audit.view``, ``audit.export``) by the service. Anyone else gets the 403 page (and an
``access.denied`` record).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from koes.privacy.access import Principal
from koes.privacy.echo import mask_text
from koes.services.audit import ACTIONS, OUTCOMES, AuditEntry, AuditQuery
from koes.services.errors import ForbiddenError, InvalidInputError, NotFoundError
from koes.web.audit_phrases import Clause, in_language
from koes.web.formats import danish_key
from koes.web.formats import number as format_number
from koes.web.i18n import Translator, has_message
from koes.web.pages.common import (
    NO_STORE,
    Pages,
    error_page,
    lang_of,
    refused,
    render,
    signed_in,
    user_view,
)

router = APIRouter(include_in_schema=False)
PER_PAGE = 100
MAX_USER = 200
DANISH_TIME = ZoneInfo("Europe/Copenhagen")
AUDIT_PERMISSIONS = ("view_audit_own_org", "view_audit_all")
FILTER_FIELDS = ("from", "to", "action", "user", "outcome", "organisation")


@dataclass(frozen=True)
class Filters:
    """The form's values as typed (for the form and the links) and the problems found in them."""

    values: dict[str, str]
    since: datetime | None
    until: datetime | None
    problems: tuple[str, ...]

    def query_string(self, **extra: str | int) -> str:
        pairs: list[tuple[str, str | int]] = [(k, v) for k, v in self.values.items() if v]
        pairs += list(extra.items())
        return urlencode(pairs)


@dataclass(frozen=True)
class Row:
    at_iso: str
    at_text: str
    user: str
    organisation: str
    action: str
    action_text: str  # what the action code means, in the page's language
    summary: tuple[Clause, ...]  # in the page's language where a phrase reads it (koes.web.audit_phrases)
    outcome: str
    rows_cells: str
    suppressed: str


def may_view_audit(principal: Principal) -> bool:
    return any(principal.may(p) for p in AUDIT_PERMISSIONS)


def danish_time(at: datetime) -> str:
    """``dd-mm-yyyy HH:MM`` in Danish time (the records are stored in UTC)."""
    return at.astimezone(DANISH_TIME).strftime("%d-%m-%Y %H:%M")


def _day(text: str, field: str, problems: list[str], *, end: bool) -> datetime | None:
    """A form date as the start of that Danish day (``end``: the start of the next day), or None."""
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        problems.append(field)
        return None
    if end:
        day = date.fromordinal(day.toordinal() + 1) if day < date.max else day
    return datetime.combine(day, time(), DANISH_TIME)


def read_filters(request: Request, *, all_organisations: bool) -> Filters:
    params = request.query_params
    # Masked as read: the values refill the form and the page links (no user name holds a CPR number).
    values = {name: mask_text((params.get(name) or "").strip()) for name in FILTER_FIELDS}
    if not all_organisations and not values["organisation"]:
        values.pop("organisation")
    problems: list[str] = []
    since = _day(values["from"], "from", problems, end=False)
    until = _day(values["to"], "to", problems, end=True)
    if since and until and since >= until:
        problems.append("range")
    if values["action"] and values["action"] not in ACTIONS:
        problems.append("action")
    if values["outcome"] and values["outcome"] not in OUTCOMES:
        problems.append("outcome")
    if len(values["user"]) > MAX_USER:
        problems.append("user")
    return Filters(values, since, until, tuple(problems))


def _page_number(request: Request) -> int:
    text = request.query_params.get("page") or "1"
    return int(text) if text.isdigit() and 0 < len(text) < 7 and int(text) > 0 else 1


async def _refused(
    request: Request, pages: Pages, principal: Principal, error: BaseException | None = None
) -> Response:
    return await refused(request, pages, principal, "view_audit_all or view_audit_own_org", error)


def _query(pages: Pages, principal: Principal, filters: Filters) -> AuditQuery:
    v = filters.values
    return pages.users.audit_query(
        principal,
        since=filters.since,
        until=filters.until,
        organisation=v.get("organisation") or None,
        action=v["action"] or None,
        user=v["user"] or None,
        outcome=v["outcome"] or None,
    )


def _row(entry: AuditEntry, names: dict[str, str], lang: str) -> Row:
    e = entry.event
    key = f"audit.action.{e.action}"

    def number(value: int) -> str:
        return format_number(value, 0, lang)

    return Row(
        at_iso=e.at.isoformat(),
        at_text=danish_time(e.at),
        user=e.user,
        organisation=names.get(e.organisation, e.organisation),
        action=e.action,
        action_text=Translator(lang)(key) if has_message(key) else e.action,
        summary=tuple(in_language(e.summary, lang)),
        outcome=e.outcome,
        rows_cells=f"{number(e.rows_returned)} / {number(e.cells_returned)}",
        suppressed=number(e.cells_suppressed),
    )


@router.get("/admin/audit")
async def audit_page(request: Request) -> Response:
    pages, session, principal = await signed_in(request)
    if not may_view_audit(principal):
        return await _refused(request, pages, principal)
    all_organisations = principal.may("view_audit_all")
    filters = read_filters(request, all_organisations=all_organisations)
    number = _page_number(request)
    problems = list(filters.problems)
    listing = None
    if not problems:
        try:
            query = await run_in_threadpool(_query, pages, principal, filters)
            listing = await run_in_threadpool(
                lambda: pages.users.view_audit(principal, query, limit=PER_PAGE, offset=(number - 1) * PER_PAGE)
            )
        except NotFoundError:
            return error_page(request, 404)
        except ForbiddenError as exc:
            return await _refused(request, pages, principal, exc)
        except InvalidInputError as exc:
            problems += [p.field for p in exc.problems]
    user = await run_in_threadpool(user_view, pages, principal, lang_of(request))
    names = dict(pages.organisation_names)
    context: dict[str, Any] = {
        "filters": filters.values,
        "problems": list(dict.fromkeys(problems)),
        "actions": ACTIONS,
        "outcomes": OUTCOMES,
        "organisations": sorted(names.items(), key=lambda kv: danish_key(kv[1])) if all_organisations else [],
        "own_organisation": None if all_organisations else names.get(str(principal.organisation)),
        "rows": [],
        "total": 0,
        "first": 0,
        "last": 0,
        "previous_href": None,
        "next_href": None,
        "export_href": "/admin/audit.csv" + (f"?{filters.query_string()}" if filters.query_string() else ""),
    }
    if listing is not None:
        first = (number - 1) * PER_PAGE + 1
        context |= {
            "rows": [_row(e, names, lang_of(request)) for e in listing.entries],
            "total": listing.total,
            "first": first if listing.entries else 0,
            "last": first + len(listing.entries) - 1 if listing.entries else 0,
            "previous_href": f"/admin/audit?{filters.query_string(page=number - 1)}" if number > 1 else None,
            "next_href": f"/admin/audit?{filters.query_string(page=number + 1)}"
            if number * PER_PAGE < listing.total
            else None,
        }
    return render(
        request,
        "audit.html",
        title_key="audit.title",
        status=400 if problems else 200,
        session=session,
        user=user,
        **context,
    )


@router.get("/admin/audit.csv")
async def audit_export(request: Request) -> Response:
    pages, _session, principal = await signed_in(request)
    if not may_view_audit(principal):
        return await _refused(request, pages, principal)
    filters = read_filters(request, all_organisations=principal.may("view_audit_all"))
    if filters.problems:
        return error_page(request, 400, "audit_filters")
    try:
        query = await run_in_threadpool(_query, pages, principal, filters)
        body = await run_in_threadpool(lambda: pages.users.export_audit(principal, query, delimiter=";"))
    except NotFoundError:
        return error_page(request, 404)
    except ForbiddenError as exc:
        return await _refused(request, pages, principal, exc)
    except InvalidInputError:
        return error_page(request, 400, "audit_filters")
    stamp = datetime.now(DANISH_TIME).strftime("%Y%m%d-%H%M")
    headers = {**NO_STORE, "Content-Disposition": f'attachment; filename="koes-audit-{stamp}.csv"'}
    return Response(body, media_type="text/csv; charset=utf-8", headers=headers)
