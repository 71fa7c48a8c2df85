"""Background jobs over the JSON API: ``GET /api/v1/jobs`` (the caller's jobs) and
``GET /api/v1/jobs/{id}`` (one job: a large cohort's profile or series, or a large upload).

Any signed-in caller may ask; only the job's owner, or a local administrator of its organisation,
gets an answer: for anyone else the job is *not found*, as for an id that does not exist, and it
never appears in a listing.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from koes.privacy.roles import signed_in
from koes.services.jobs import LISTED, JobInfo, JobService
from koes.web.api.http import PREFIX, error_responses
from koes.web.auth import EndpointTable, authorise, current_principal

router = APIRouter(prefix=PREFIX, dependencies=[Depends(authorise)])
PERMISSIONS: EndpointTable = {
    ("GET", f"{PREFIX}/jobs"): signed_in(),
    ("GET", f"{PREFIX}/jobs/{{job_id}}"): signed_in(),
}

JobId = Annotated[str, PathParam(description="A job id.", max_length=64, pattern=r"^[A-Za-z0-9_-]{1,64}$")]


@router.get(
    "/jobs",
    summary="The caller's background jobs, newest first",
    description="The caller's own jobs (a local administrator: every job of its organisation), newest first, "
    f"at most `limit` (≤ {LISTED}): `kind`, `subject`, `owner`, `state`, `progress`, `created_at`, `ended_at` "
    "(null while queued or running), `cohort` (the cohort it is of, if any) and `result_kept` (the result "
    "can be read at `href` until the job is deleted, `job_retention_hours` after it ended, or its cohort is "
    "deleted). No results here; the listing is audited.",
    responses={200: {"description": "The jobs"}, **error_responses(400)},
)
async def jobs_list(
    request: Request, limit: Annotated[int, Query(ge=1, le=LISTED, description="At most this many.")] = 50
) -> JSONResponse:
    jobs = request.app.state.jobs
    assert isinstance(jobs, JobService)
    principal = current_principal(request)
    entries = await run_in_threadpool(jobs.list, principal, limit)
    listed = [{**e.to_json(), "href": f"{PREFIX}/jobs/{e.id}"} for e in entries]
    return JSONResponse({"jobs": listed, "limit": limit})


@router.get(
    "/jobs/{job_id}",
    summary="A background job: its state, progress and, when done, its result",
    description="`state` is queued, running, done, failed or interrupted (the app restarted: ask again); "
    "`progress` 0–100; `result` the answer (the same as the endpoint that started the job) once done; "
    "`problem` why it failed. Reading a result is audited.",
    responses={200: {"description": "The job"}, **error_responses(404)},
)
async def job(request: Request, job_id: JobId) -> JSONResponse:
    jobs = request.app.state.jobs
    assert isinstance(jobs, JobService)
    principal = current_principal(request)
    info = await run_in_threadpool(jobs.get, principal, job_id)
    return JSONResponse(info.to_json())


def accepted(info: JobInfo) -> JSONResponse:
    """The answer of an endpoint that started a job: 202, where to follow it, and the job."""
    href = f"{PREFIX}/jobs/{info.id}"
    return JSONResponse({"job": info.to_json(), "href": href}, status_code=202, headers={"Location": href})
