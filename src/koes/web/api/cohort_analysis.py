"""Analysis of a cohort over the JSON API (Advanced): its profile.

``GET /api/v1/cohorts/{id}/profile`` answers what the profile page shows, through the same service
(every figure an analysis of the catalog: scoped, protected, one ``cohort_profile`` audit record
with the cohort's purpose). A cohort the caller may not use is 404, whether it exists or not.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from koes.privacy.roles import needs
from koes.services.analysis import AnalysisService
from koes.services.cohort_profile import cohort_profile
from koes.web.api.v1 import PREFIX, Language, error_responses
from koes.web.auth import EndpointTable, authorise, current_principal

router = APIRouter(prefix=PREFIX, dependencies=[Depends(authorise)])
PERMISSIONS: EndpointTable = {
    ("GET", f"{PREFIX}/cohorts/{{cohort_id}}/profile"): needs("individual_rows", action="cohort_profile"),
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
    responses={200: {"description": "The profile"}, **error_responses(400, 403, 404, 500, 503)},
)
async def profile(request: Request, cohort_id: CohortId, lang: Language = "da") -> JSONResponse:
    service = request.app.state.service
    assert isinstance(service, AnalysisService)
    principal = current_principal(request)

    def run() -> dict[str, Any]:
        return cohort_profile(service, principal, cohort_id, lang).to_json(lang)

    return JSONResponse(await run_in_threadpool(run))
