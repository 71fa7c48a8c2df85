"""The Standard reports over the JSON API: the catalogue and a report's protected data.

``GET /api/v1/reports/{id}`` answers the same views the report page draws (table by municipality,
time series, comparison, breakdown), for the same choices, through the same service: scoped,
suppressed, stamped and audited (one ``report`` record per call).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from koes.privacy.roles import needs
from koes.reports.requests import ReportChoices
from koes.services.export import MEDIA_TYPES, Export, export
from koes.services.reports import ReportBody, ReportService, UnknownReportError, report_json
from koes.web.api.http import PREFIX, Delimiter, Format, Language, error_responses, separator
from koes.web.auth import EndpointTable, authorise, current_principal
from koes.web.errors import ApiError

router = APIRouter(prefix=PREFIX, dependencies=[Depends(authorise)])
PERMISSIONS: EndpointTable = {
    ("GET", f"{PREFIX}/reports"): needs("catalog"),
    ("GET", f"{PREFIX}/reports/{{report_id}}"): needs("analysis", action="report"),
    ("GET", f"{PREFIX}/reports/{{report_id}}/export"): needs("export", action="export"),
}

ReportId = Annotated[str, PathParam(description="A report id from GET /api/v1/reports.", max_length=64)]
Year = Annotated[int | None, Query(description="The year shown (default: the latest in the release).")]
Municipality = Annotated[
    int | None, Query(description="The kommunekode compared with its region, the country and similar ones.")
]
Sex = Annotated[int | None, Query(description="1 men, 2 women (default: both).")]
Age = Annotated[str | None, Query(description="An age band of the report's age dimension (default: all ages).")]
Variant = Annotated[str | None, Query(description="The report's own choice (a sector, a condition …).")]
MeasureId = Annotated[str | None, Query(description="The measure on the map and charts (default: the headline).")]
GeographyChoice = Annotated[
    str | None,
    Query(
        description='Which regions the region comparison and map outlines use: "as_it_was" (each event in the '
        'region of its date) or a day "2027-01-01" (history mapped to the regions of that day). Default: the '
        "regions of the release's last day (docs/geography.md).",
        max_length=16,
    ),
]


def report_choices(
    year: Year = None,
    municipality: Municipality = None,
    sex: Sex = None,
    age: Age = None,
    variant: Variant = None,
    measure: MeasureId = None,
    geography: GeographyChoice = None,
) -> ReportChoices:
    return ReportChoices(year, municipality, sex, age, variant, measure, geography)


Choices = Annotated[ReportChoices, Depends(report_choices)]


def reports_of(request: Request) -> ReportService:
    service = request.app.state.reports
    assert isinstance(service, ReportService)
    return service


@router.get(
    "/reports",
    summary="The Standard reports",
    responses={200: {"description": "Every report: title, description, variants, series"}, **error_responses(500)},
)
async def reports(request: Request, lang: Language = "da") -> JSONResponse:
    service = reports_of(request)
    return JSONResponse({"reports": [report_json(r, lang) for r in service.reports()]})


@router.get(
    "/reports/{report_id}",
    summary="A report's data",
    description="The views of a report for the given choices, after disclosure control: `table` (every measure "
    "by municipality), `series`, `comparison` and, where the report has one, `breakdown`. The response carries a "
    "strong `ETag`; a request whose `If-None-Match` names it is answered `304 Not Modified` (and audited).",
    responses={
        200: {"description": "The report's protected views"},
        304: {"description": "Unchanged since the `ETag` given in `If-None-Match`"},
        **error_responses(400, 403, 404, 500, 503),
    },
)
async def report(
    request: Request,
    report_id: ReportId,
    choices: Choices,
    lang: Language = "da",
) -> Response:
    service = reports_of(request)
    principal = current_principal(request)

    def run() -> ReportBody:
        with _known_report():
            return service.body(report_id, choices, principal, lang)

    body = await run_in_threadpool(run)
    # The API's responses are never stored by a browser (GuardMiddleware: no-store); a client that keeps
    # the bytes itself asks again with If-None-Match, and each such access is audited all the same.
    headers = {"ETag": body.etag}
    if _matches(request.headers.get("if-none-match"), body.etag):
        return Response(status_code=304, headers=headers)
    return Response(body.content, media_type="application/json", headers=headers)


def _matches(if_none_match: str | None, etag: str) -> bool:
    """Whether ``If-None-Match`` names ``etag`` (a list of tags, ``*``, or weak ``W/`` forms: RFC 9110 §13.1.2)."""
    if not if_none_match:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in tags or etag in tags


@router.get(
    "/reports/{report_id}/export",
    summary="Download a report's table",
    description="The report's table (every measure by municipality) as CSV or XLSX, hidden cells as <5 or x.",
    response_class=Response,
    responses={
        200: {"description": "The file", "content": {MEDIA_TYPES["csv"]: {}, MEDIA_TYPES["xlsx"]: {}}},
        **error_responses(400, 403, 404, 500, 503),
    },
)
async def report_export(
    request: Request,
    report_id: ReportId,
    choices: Choices,
    fmt: Format = "csv",
    delimiter: Delimiter = ",",
    lang: Language = "da",
) -> Response:
    service = reports_of(request)
    principal = current_principal(request)
    sep = separator(delimiter)

    def run() -> Export:
        with _known_report():
            result = service.run(report_id, choices, principal, lang, only=("table",), action="export")
        return export(result.views["table"], fmt, lang, sep)

    file = await run_in_threadpool(run)
    return Response(
        file.content,
        media_type=file.media_type,
        headers={"Content-Disposition": f'attachment; filename="{report_id}-{file.filename}"'},
    )


@contextmanager
def _known_report() -> Iterator[None]:
    try:
        yield
    except UnknownReportError:
        raise ApiError(404, "no report has this id") from None
