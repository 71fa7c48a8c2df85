"""The data status for administrators: ``GET /admin/status``.

Releases (newest first), the current release's row accounting and source files per register, and
a quarantine summary (counts per register × column × reason, never a row value). Needs
``view_data_status``; the service records the viewing (``status.view``). Anyone else gets the 403
page (and an ``access.denied`` record), as on the audit page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from koes.services.errors import ForbiddenError
from koes.services.status import PERMISSION, DataStatus, QuarantineGroup, RegisterStatus, ReleaseInfo, view_status
from koes.web.formats import day, number
from koes.web.pages.common import (
    lang_of,
    refused,
    render,
    signed_in,
    user_view,
)

router = APIRouter(include_in_schema=False)
DANISH_TIME = ZoneInfo("Europe/Copenhagen")


@dataclass(frozen=True)
class ReleaseRow:
    id: str
    created_iso: str
    created_text: str
    current: bool
    period: str
    code_version: str
    rows_loaded: str


@dataclass(frozen=True)
class FileCell:
    name: str
    format: str | None
    sha256: str


@dataclass(frozen=True)
class RegisterRow:
    register: str
    files: tuple[FileCell, ...]
    rows_read: str
    rows_loaded: str
    rows_quarantined: str
    fresh_until: str


@dataclass(frozen=True)
class QuarantineRow:
    register: str
    column: str
    reason: str
    count: str


def _moment(at: datetime, lang: str) -> str:
    """A release's creation in Danish time (it is stored in UTC), to the minute."""
    local = at.astimezone(DANISH_TIME)
    return f"{day(local, lang)} {local:%H:%M}"


def _release_row(r: ReleaseInfo, lang: str) -> ReleaseRow:
    return ReleaseRow(
        id=r.id,
        created_iso=r.created.isoformat(),
        created_text=_moment(r.created, lang),
        current=r.current,
        period=f"{day(r.period_start, lang)} – {day(r.period_end, lang)}",
        code_version=r.code_version,
        rows_loaded=number(r.rows_loaded, lang=lang),
    )


def _register_row(r: RegisterStatus, lang: str) -> RegisterRow:
    return RegisterRow(
        register=r.register,
        files=tuple(FileCell(f.name, f.format, f.sha256) for f in r.files),
        rows_read=number(r.rows_read, lang=lang),
        rows_loaded=number(r.rows_loaded, lang=lang),
        rows_quarantined=number(r.rows_quarantined, lang=lang),
        fresh_until=day(r.fresh_until, lang),
    )


def _quarantine_row(g: QuarantineGroup, lang: str) -> QuarantineRow:
    return QuarantineRow(g.register, g.column, g.reason, number(g.count, lang=lang))


def _context(status: DataStatus, lang: str) -> dict[str, Any]:
    q = status.quarantine
    return {
        "releases": [_release_row(r, lang) for r in status.releases],
        "current": _release_row(status.current, lang) if status.current else None,
        "registers": [_register_row(r, lang) for r in status.registers],
        "quarantine": [_quarantine_row(g, lang) for g in q.top] if q else [],
        "quarantine_recorded": q is not None,
        "quarantine_total": number(q.problems if q else 0, lang=lang),
        "quarantine_groups": number(q.groups if q else 0, lang=lang),
        "quarantine_others": number(q.others, lang=lang) if q and q.others else None,
        "quarantine_hidden_groups": number(q.groups - len(q.top), lang=lang) if q else "0",
    }


@router.get("/admin/status")
async def status_page(request: Request) -> Response:
    pages, session, principal = await signed_in(request)
    if not principal.may(PERMISSION):
        return await refused(request, pages, principal, PERMISSION)
    try:
        status = await run_in_threadpool(view_status, pages.settings, pages.signin.trail, principal)
    except ForbiddenError:
        return await refused(request, pages, principal, PERMISSION)
    lang = lang_of(request)
    user = await run_in_threadpool(user_view, pages, principal, lang)
    return render(
        request, "status.html", title_key="status.title", session=session, user=user, **_context(status, lang)
    )
