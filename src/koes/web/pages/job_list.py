"""The user's background jobs (``/avanceret/jobber``), linked from the Advanced route's page.

A user sees its own jobs, a local administrator every job of its organisation (the rule is
:meth:`koes.services.jobs.JobService.list`'s, and the listing is audited there), newest first:
what each is (its kind and cohort), its state and progress, when it was started and ended, and a
link to its result while the result is kept. The link leads to the page that shows the result
(``RESULT_PAGES``); a job started over the API whose page asks other choices has none there.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from koes.services.jobs import JobEntry, JobService
from koes.web.formats import moment
from koes.web.pages.avanceret import cohorts_of
from koes.web.pages.common import lang_of, refused, render, signed_in, user_view

router = APIRouter(include_in_schema=False)
PAGE = "/avanceret/jobber"
PERMISSIONS = ("individual_rows", "manage_users_own_org")  # the Advanced route's page's rule
# kind → the page that shows a finished job's result ({cohort}: the cohort's id)
RESULT_PAGES = {
    "cohort_profile": "/avanceret/{cohort}",
    "cohort_series": "/avanceret/{cohort}/foer-efter",
    "cohort_upload": "/avanceret",
}


@dataclass(frozen=True)
class JobView:
    id: str
    kind: str
    subject: str
    owner: str
    state: str
    progress: int
    started: str
    ended: str
    href: str | None


@router.get(PAGE)
async def job_list(request: Request) -> Response:
    pages, session, principal = await signed_in(request)
    if not any(principal.may(p) for p in PERMISSIONS):
        return await refused(request, pages, principal, PERMISSIONS[0])
    jobs = request.app.state.jobs
    assert isinstance(jobs, JobService)
    lang = lang_of(request)
    entries = await run_in_threadpool(jobs.list, principal)
    names = {c.id: c.name for c in await run_in_threadpool(cohorts_of(request).list, principal)}
    user = await run_in_threadpool(user_view, pages, principal, lang)
    return render(
        request,
        "jobs.html",
        title_key="jobs.title",
        session=session,
        user=user,
        items=[_view(e, names, lang) for e in entries],
        administrator=principal.may("manage_users_own_org"),
        retention=round(jobs.retention.total_seconds() / 3600),
    )


def _view(entry: JobEntry, names: dict[str, str], lang: str) -> JobView:
    cohort, choices = _parts(entry.subject)
    return JobView(
        id=entry.id,
        kind=entry.kind if entry.kind in RESULT_PAGES else "other",
        subject=names.get(entry.cohort or "", entry.cohort or ""),
        owner=entry.owner,
        state=entry.state,
        progress=entry.progress,
        started=moment(entry.created_at, lang),
        ended="" if entry.ended_at is None else moment(entry.ended_at, lang),
        href=_result_href(entry, cohort, choices) if entry.result_kept else None,
    )


def _parts(subject: str) -> tuple[str | None, dict[str, str] | None]:
    """A cohort job's subject, ``cohort <id>`` and the page's choices (``measure=…&months=…``):
    the cohort's id, and the choices (None: choices a page does not ask, an API job's)."""
    words = subject.split(" ")
    if len(words) < 2 or words[0] != "cohort" or words[1] == "upload":
        return None, {}
    if len(words) == 2:
        return words[1], {}
    pairs = parse_qsl(words[2], strict_parsing=False) if len(words) == 3 and "=" in words[2] else None
    return words[1], None if pairs is None else dict(pairs)


def _result_href(entry: JobEntry, cohort: str | None, choices: dict[str, str] | None) -> str | None:
    page = RESULT_PAGES.get(entry.kind)
    if page is None or choices is None or ("{cohort}" in page and cohort is None):
        return None
    return page.format(cohort=cohort) + "?" + urlencode({**choices, "job": entry.id})
