"""Background jobs over the JSON API: ``GET /api/v1/jobs/{id}`` (a large cohort's profile or series).

Any signed-in caller may ask; only the job's owner, or a local administrator of its organisation,
gets an answer: for anyone else the job is *not found*, as for an id that does not exist.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from koes.privacy.roles import signed_in
from koes.services.jobs import JobInfo, JobService
from koes.web.api.http import PREFIX, error_responses
from koes.web.auth import EndpointTable, authorise, current_principal

router = APIRouter(prefix=PREFIX, dependencies=[Depends(authorise)])
PERMISSIONS: EndpointTable = {("GET", f"{PREFIX}/jobs/{{job_id}}"): signed_in()}

JobId = Annotated[str, PathParam(description="A job id.", max_length=64, pattern=r"^[A-Za-z0-9_-]{1,64}$")]


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
