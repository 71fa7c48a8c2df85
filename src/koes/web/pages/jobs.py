"""Background jobs on the pages: a large cohort's profile or series page starts a job, shows its
progress (``cohort_job.html``, followed by ``/static/jobs.js`` through ``GET /jobber/{id}``) and,
once it is done, the answer, read from the job. The user can leave and come back to the same
address (``?job=…``); a job another user started is not found.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from koes.privacy.access import Principal
from koes.query.request import FieldProblem, RequestError
from koes.services.analysis import AnalysisFailedError, AnalysisService
from koes.services.cohort_jobs import runs_as_job
from koes.services.cohort_population import CohortNotFoundError
from koes.services.errors import NotFoundError
from koes.services.jobs import JobInfo, JobService, Work
from koes.web.pages.common import error_page, lang_of, render, signed_in, user_view

router = APIRouter(include_in_schema=False)
PERMISSION = "individual_rows"
MakeWork = Callable[[AnalysisService, Principal, str], Work]


@dataclass(frozen=True)
class Finished:
    """A job that has ended with an answer, or with the problems that stopped it."""

    value: object | None
    problem: dict[str, Any] | None

    def answer(self) -> Any:
        """The answer, or the job's failure raised again as the service raised it."""
        if self.problem is None:
            return self.value
        if self.problem.get("code") == "invalid_request":
            raise RequestError([_problem(p) for p in self.problem.get("problems", [])])
        if self.problem.get("code") == "not_found":
            raise CohortNotFoundError("")
        raise AnalysisFailedError(str(self.problem.get("message", "")))


def _problem(raw: dict[str, Any]) -> FieldProblem:
    params = tuple((str(k), str(v)) for k, v in dict(raw.get("params") or {}).items())
    return FieldProblem(str(raw.get("field", "")), str(raw.get("message", "")), str(raw.get("code") or ""), params)


async def job_step(
    request: Request, cohort_id: str, kind: str, make_work: MakeWork, heading_key: str
) -> Response | Finished | None:
    """For a cohort page: None when the cohort is small (answered at once, by the caller), a
    redirect to a new job, the waiting page of an unfinished job, or the finished job's answer."""
    pages, session, principal = await signed_in(request)
    if not principal.may(PERMISSION):
        return None  # the caller refuses, as for every cohort page
    service = request.app.state.service
    jobs = request.app.state.jobs
    assert isinstance(service, AnalysisService) and isinstance(jobs, JobService)
    lang = lang_of(request)
    job_id = request.query_params.get("job")
    if job_id is None:
        if not await run_in_threadpool(runs_as_job, service, principal, cohort_id):
            return None
        return await _start(request, jobs, principal, kind, cohort_id, make_work(service, principal, lang))
    try:
        info = await run_in_threadpool(jobs.get, principal, job_id)
    except NotFoundError:
        return error_page(request, 404, "cohort_unknown")
    if info.kind != kind or info.subject != subject_of(cohort_id, request):
        return error_page(request, 404, "cohort_unknown")
    if info.state == "done":
        value = await run_in_threadpool(jobs.value, principal, job_id)
        if value is None:  # this process no longer holds the answer as an object: make it again
            return await _start(request, jobs, principal, kind, cohort_id, make_work(service, principal, lang))
        return Finished(value, None)
    if info.state == "failed":
        return Finished(None, info.problem)
    user = await run_in_threadpool(user_view, pages, principal, lang)
    return _waiting(request, info, session, user, heading_key)


def subject_of(cohort_id: str, request: Request) -> str:
    """What a job is of: the cohort and the page's choices (a series' measure and months)."""
    choices = {k: v for k, v in sorted(request.query_params.items()) if k != "job"}
    return f"cohort {cohort_id}" + (f" {urlencode(choices)}" if choices else "")


async def _start(
    request: Request, jobs: JobService, principal: Principal, kind: str, cohort_id: str, work: Work
) -> Response:
    info = await run_in_threadpool(jobs.submit, principal, kind, subject_of(cohort_id, request), work)
    query = {**dict(request.query_params), "job": info.id}
    return RedirectResponse(f"{request.url.path}?{urlencode(query)}", status_code=303)


def _waiting(request: Request, info: JobInfo, session: Any, user: Any, heading_key: str) -> Response:
    again = {k: v for k, v in request.query_params.items() if k != "job"}
    return render(
        request,
        "cohort_job.html",
        title_key=heading_key,
        session=session,
        user=user,
        job=info,
        heading_key=heading_key,
        refresh=str(request.url.path) + "?" + urlencode(dict(request.query_params)),
        again=str(request.url.path) + ("?" + urlencode(again) if again else ""),
    )


@router.get("/jobber/{job_id}")
async def job_status(request: Request, job_id: str) -> Response:
    """A job's state and progress for its waiting page (the answer itself comes with the page)."""
    _pages, _session, principal = await signed_in(request)
    jobs = request.app.state.jobs
    assert isinstance(jobs, JobService)
    try:
        info = await run_in_threadpool(jobs.status, principal, job_id)
    except NotFoundError:
        return JSONResponse({"state": "unknown"}, status_code=404)
    return JSONResponse({"state": info.state, "progress": info.progress})
