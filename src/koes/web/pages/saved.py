"""Saved analyses in the web app: save the builder's analysis, list, open, rename, share, delete.

The rules (own and shared within the organisation, only the owner changes, audited) are
``SavedAnalysisService``'s; this module turns its answers into pages and redirects. The forms post
with the session's CSRF token and answer with a redirect (post/redirect/get), so a reload never
saves twice. An analysis is opened by id (``/analyse?…&saved=7``): its name, which a user typed,
never travels in an address.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from koes.privacy.access import Principal
from koes.services.saved import (
    ConflictError,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
    SavedAnalysis,
    SavedAnalysisService,
)
from koes.web.builder import fitted, from_query, from_request
from koes.web.formats import day
from koes.web.pages.analyse import analysis_of, saved_of
from koes.web.pages.common import checked_form, error_page, lang_of, refused, render, see_other, signed_in, user_view

router = APIRouter(include_in_schema=False)
LIST = "/analyse/saved"
DONE = frozenset({"saved", "updated", "renamed", "shared", "unshared", "deleted"})
PROBLEMS = frozenset({"name", "conflict"})


@dataclass(frozen=True)
class SavedView:
    id: int
    name: str
    owner: str
    shared: bool
    editable: bool
    updated: str
    href: str


def open_href(analysis: SavedAnalysis) -> str:
    return f"/analyse?{from_request(analysis.request).query(saved=str(analysis.id))}"


@router.get(LIST)
async def saved_list(request: Request) -> Response:
    pages, session, principal = await signed_in(request)
    if not principal.may("analysis"):
        return await refused(request, pages, principal, "analysis")
    lang = lang_of(request)
    analyses = await run_in_threadpool(saved_of(request).list, principal)
    user = await run_in_threadpool(user_view, pages, principal, lang)
    items = [
        SavedView(a.id, a.name, a.owner, a.shared, a.editable, day(a.updated_at.date(), lang), open_href(a))
        for a in analyses
    ]
    done = request.query_params.get("done")
    problem = request.query_params.get("problem")
    return render(
        request,
        "saved.html",
        title_key="saved.title",
        session=session,
        user=user,
        items=items,
        done=done if done in DONE else None,
        problem=problem if problem in PROBLEMS else None,
    )


@router.post(LIST)
async def save(request: Request) -> Response:
    """Save the builder's analysis (the form carries its address) under a name."""
    _session, form = await checked_form(request)
    pages, _s, principal = await signed_in(request)
    if not principal.may("analysis"):
        return await refused(request, pages, principal, "analysis")
    query = form.get("query", "")
    service = analysis_of(request)
    state = fitted(from_query(parse_qsl(query)), service.catalog)
    raw = state.to_request(service.catalog)
    shared = form.get("shared") == "1"
    try:
        await run_in_threadpool(saved_of(request).save, principal, form.get("name", ""), raw, shared)
    except ConflictError:
        return see_other(f"/analyse?{query}&save_problem=conflict")
    except InvalidInputError:
        return see_other(f"/analyse?{query}&save_problem=name")
    return see_other(f"{LIST}?done=saved")


@router.post(LIST + "/{analysis_id}/{change}")
async def change(request: Request, analysis_id: int, change: str) -> Response:
    """Rename, share, unshare, update (the analysis itself, from the builder) or delete."""
    _session, form = await checked_form(request)
    pages, _s, principal = await signed_in(request)
    if not principal.may("analysis"):
        return await refused(request, pages, principal, "analysis")
    service = saved_of(request)
    try:
        done = await run_in_threadpool(_apply, request, service, principal, analysis_id, change, form)
    except NotFoundError:
        return error_page(request, 404)
    except ForbiddenError as exc:
        return await refused(request, pages, principal, "owner", exc)
    except ConflictError:
        return see_other(f"{LIST}?problem=conflict")
    except InvalidInputError:
        return see_other(f"{LIST}?problem=name")
    if done is None:
        return error_page(request, 404)
    return see_other(f"{LIST}?done={done}")


def _apply(
    request: Request,
    service: SavedAnalysisService,
    principal: Principal,
    analysis_id: int,
    change: str,
    form: dict[str, str],
) -> str | None:
    """Carry out one change; its ``done`` word, or None for an unknown change."""
    if change == "rename":
        service.update(principal, analysis_id, name=form.get("name", ""))
        return "renamed"
    if change == "share":
        shared = form.get("shared") == "1"
        service.update(principal, analysis_id, shared=shared)
        return "shared" if shared else "unshared"
    if change == "update":
        analysis = analysis_of(request)
        state = fitted(from_query(parse_qsl(form.get("query", ""))), analysis.catalog)
        service.update(principal, analysis_id, request=state.to_request(analysis.catalog))
        return "updated"
    if change == "delete":
        service.delete(principal, analysis_id)
        return "deleted"
    return None
