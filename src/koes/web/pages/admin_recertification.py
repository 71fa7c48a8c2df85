"""``/admin/recertification``: the valid grants and API tokens that expire soon, to renew or let lapse.

The list is :meth:`koes.services.users.UserService.recertification`'s and
:meth:`koes.services.tokens.TokenService.expiring`'s, within the administrator's reach (its own
organisation for a local administrator); renewing and revoking happen on the user's page
(:mod:`koes.web.pages.admin_users`), which links back here when done.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from koes.privacy.echo import mask_text
from koes.services.errors import InvalidInputError
from koes.services.tokens import ExpiringToken
from koes.services.user_records import GrantInfo
from koes.web.formats import day
from koes.web.i18n import Translator, problem_message
from koes.web.pages.admin_users import (
    DEFAULT_DAYS,
    DONE,
    RECERTIFICATION,
    last_day,
    manager,
    organisation_name,
    role_label,
    tokens_of,
)
from koes.web.pages.common import Pages, lang_of, render, user_view

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class ExpiringTokenLine:
    token_id: int
    user_id: int
    username: str
    organisation: str
    name: str
    prefix: str
    until: str
    days_left: int


@dataclass(frozen=True)
class ExpiringLine:
    grant_id: int
    user_id: int
    username: str
    organisation: str
    role: str
    label: str
    until: str
    days_left: int
    granted_by: str


@router.get(RECERTIFICATION)
async def recertification_page(request: Request) -> Response:
    found = await manager(request)
    if isinstance(found, Response):
        return found
    pages, session, principal = found
    lang = lang_of(request)
    t = Translator(lang)
    text = (request.query_params.get("days") or str(DEFAULT_DAYS)).strip()
    problems: list[str] = []
    lines: list[ExpiringLine] = []
    token_lines: list[ExpiringTokenLine] = []
    if not (text.isdigit() and len(text) < 6):
        problems.append(t("problem.user_days"))
    else:
        try:
            grants = await run_in_threadpool(pages.users.recertification, principal, int(text))
            tokens = await run_in_threadpool(tokens_of(request).expiring, principal, int(text))
        except InvalidInputError as exc:
            problems = [problem_message(p, t) for p in exc.problems]
        else:
            now = pages.users.clock()
            lines = [_expiring_line(pages, g, now, lang) for g in grants]
            token_lines = [_expiring_token_line(pages, e, now, lang) for e in tokens]
    user = await run_in_threadpool(user_view, pages, principal, lang)
    done = request.query_params.get("done")
    context: dict[str, Any] = {
        "days": mask_text(text[:6]),
        "lines": lines,
        "token_lines": token_lines,
        "problems": problems,
        "done": done if done in DONE else None,
        "everywhere": principal.may("manage_users_all"),
        "own_organisation": organisation_name(pages, str(principal.organisation)),
    }
    return render(
        request,
        "admin_recertification.html",
        title_key="recert.title",
        status=400 if problems else 200,
        session=session,
        user=user,
        **context,
    )


def _expiring_line(pages: Pages, g: GrantInfo, now: datetime, lang: str) -> ExpiringLine:
    return ExpiringLine(
        g.id,
        g.user_id,
        g.username,
        organisation_name(pages, g.organisation),
        g.role,
        role_label(g.role, lang),
        day(last_day(g.expires_at), lang),
        max(0, math.ceil((g.expires_at - now).total_seconds() / 86400)),
        g.granted_by,
    )


def _expiring_token_line(pages: Pages, e: ExpiringToken, now: datetime, lang: str) -> ExpiringTokenLine:
    return ExpiringTokenLine(
        e.info.id,
        e.info.user_id,
        e.username,
        organisation_name(pages, e.organisation),
        e.info.name,
        e.info.prefix,
        day(e.info.expires_at.date(), lang),
        max(0, math.ceil((e.info.expires_at - now).total_seconds() / 86400)),
    )
