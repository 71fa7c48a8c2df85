"""Analysis of a cohort over the JSON API (Advanced): its profile and its before-and-after series.

``GET /api/v1/cohorts/{id}/profile`` answers what the profile page shows, through the same service
(every figure an analysis of the catalog: scoped, protected, one ``cohort_profile`` audit record
with the cohort's purpose). A cohort the caller may not use is 404, whether it exists or not.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from koes.privacy.roles import needs
from koes.query.request import FieldProblem
from koes.services.analysis import AnalysisService
from koes.services.cohort_individuals import individual_table
from koes.services.cohort_jobs import PROFILE, SERIES, profile_work, runs_as_job, series_work
from koes.services.cohort_profile import cohort_profile
from koes.services.cohort_series import MAX_MONTHS, MEASURES, cohort_series
from koes.web.api.http import PREFIX, Language, error_responses
from koes.web.api.jobs import accepted
from koes.web.auth import EndpointTable, authorise, current_principal
from koes.web.errors import ApiError

router = APIRouter(prefix=PREFIX, dependencies=[Depends(authorise)])
PERMISSIONS: EndpointTable = {
    ("GET", f"{PREFIX}/cohorts/{{cohort_id}}/profile"): needs("individual_rows", action="cohort_profile"),
    ("GET", f"{PREFIX}/cohorts/{{cohort_id}}/series"): needs("individual_rows", action="cohort_series"),
    ("GET", f"{PREFIX}/cohorts/{{cohort_id}}/individuals"): needs("individual_rows", action="individual_export"),
}

CohortId = Annotated[
    str, PathParam(description="A cohort id (Advanced).", max_length=64, pattern=r"^[A-Za-z0-9_-]{1,64}$")
]


@router.get(
    "/cohorts/{cohort_id}/profile",
    summary="A cohort's profile",
    description="Size, age and sex, residence, chronic conditions, care and benefits, and use per member-year "
    "beside the use expected from the user's municipality and the whole country (standardised by sex and "
    "5-year age group), with 95 % intervals and a plain reading. Every figure after disclosure control.",
    responses={
        200: {"description": "The profile"},
        202: {"description": "A large cohort: the profile is made by a background job (follow `href`)"},
        **error_responses(400, 403, 404, 500, 503),
    },
)
async def profile(request: Request, cohort_id: CohortId, lang: Language = "da") -> JSONResponse:
    service = request.app.state.service
    assert isinstance(service, AnalysisService)
    principal = current_principal(request)

    if await run_in_threadpool(runs_as_job, service, principal, cohort_id):
        jobs = request.app.state.jobs
        work = profile_work(service, principal, cohort_id, lang)
        return accepted(await run_in_threadpool(jobs.submit, principal, PROFILE, f"cohort {cohort_id}", work))

    def run() -> dict[str, Any]:
        return cohort_profile(service, principal, cohort_id, lang).to_json(lang)

    return JSONResponse(await run_in_threadpool(run))


@router.get(
    "/cohorts/{cohort_id}/series",
    summary="A cohort's use before and after the index date",
    description="Monthly use from `months` months before to `months` after each person's own index date "
    "(month 0), per group when the file gave groups, per 100 persons seen in the month; and the difference "
    "in differences of the first two groups with a 95 % interval. Every count after disclosure control.",
    responses={
        200: {"description": "The series"},
        202: {"description": "A large cohort: the series is made by a background job (follow `href`)"},
        **error_responses(400, 403, 404, 500, 503),
    },
)
async def series(
    request: Request,
    cohort_id: CohortId,
    measure: Annotated[str, Query(description="One of " + ", ".join(MEASURES))] = "kontakter",
    months: Annotated[int | None, Query(ge=1, le=MAX_MONTHS, description="Months before and after.")] = None,
    lang: Language = "da",
) -> JSONResponse:
    service = request.app.state.service
    assert isinstance(service, AnalysisService)
    principal = current_principal(request)
    if measure not in MEASURES:
        raise ApiError(400, problems=[FieldProblem("measure", f"must be one of {', '.join(MEASURES)}")])

    if await run_in_threadpool(runs_as_job, service, principal, cohort_id):
        jobs = request.app.state.jobs
        work = series_work(service, principal, cohort_id, measure, months, lang)
        subject = f"cohort {cohort_id} {measure}"
        return accepted(await run_in_threadpool(jobs.submit, principal, SERIES, subject, work))

    def run() -> dict[str, Any]:
        return cohort_series(service, principal, cohort_id, measure, months, lang).to_json()

    return JSONResponse(await run_in_threadpool(run))


@router.get(
    "/cohorts/{cohort_id}/individuals",
    summary="The cohort's own citizens, one row each",
    description="The members living in the caller's municipality (a region's municipalities for a region "
    "user) on the release's last day: the line of the uploaded file, the own reference, age, sex and use per "
    "register in the year. Never a CPR number or a pseudonym; view-only columns are left out. Audited as "
    "`individual_export` with the cohort's purpose.",
    responses={200: {"description": "The rows"}, **error_responses(403, 404, 500, 503)},
)
async def individuals(request: Request, cohort_id: CohortId, lang: Language = "da") -> JSONResponse:
    service = request.app.state.service
    assert isinstance(service, AnalysisService)
    principal = current_principal(request)

    def run() -> dict[str, Any]:
        return individual_table(service, principal, cohort_id, download=True).to_json(lang)

    return JSONResponse(await run_in_threadpool(run))
