"""The JSON API, version 1: catalog, analysis and export.

Routes are thin: read the body, hand it to the services, shape the answer. Blocking work (the
engine, building files) runs in the thread pool, so the event loop keeps serving. Every route of
every API module is listed in that module's ``PERMISSIONS`` with what it needs (roles.yaml
permissions); the gate (:func:`koes.web.auth.authorise`) checks the caller's API token and that table
before the route runs, and a route missing from the table is refused for everyone (and fails the
authorisation-matrix test). The scope rewrite still applies to every analysis. The API obeys the
download rules (DESIGN §5.4): view-only measures are left out of answers and a view-only dimension
in the rows or columns is refused with a 400 naming the field. The caller's own account is in
:mod:`koes.web.api.accounts`, users, grants and the audit trail in :mod:`koes.web.api.administration`,
the API's description in :mod:`koes.web.api.docs`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from koes.privacy.roles import needs
from koes.services.analysis import AnalysisService
from koes.services.catalog import service_catalog
from koes.services.export import MEDIA_TYPES, Export, check_downloadable, export
from koes.web.api.http import PREFIX, Delimiter, Format, Language, error_responses, json_body, request_body, separator
from koes.web.auth import EndpointTable, authorise, current_principal

REQUEST_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["perspective", "measures"],
    "properties": {
        "perspective": {"type": "string", "description": "A perspective id from the catalog (somatik, psykiatri …)."},
        "measures": {
            "type": "array",
            "minItems": 1,
            "items": {"type": "string"},
            "description": "Measure ids of the perspective.",
        },
        "rows": {"type": "array", "items": {"type": "string"}, "description": "Dimension ids in the rows."},
        "columns": {"type": "array", "items": {"type": "string"}, "description": "Dimension ids in the columns."},
        "filters": {
            "type": "object",
            "additionalProperties": {"type": "array", "items": {}},
            "description": "Dimension id → list of member values (see the catalog).",
        },
        "segment": {"type": ["string", "null"], "description": "A segment id from the catalog."},
        "period": {
            "type": ["object", "null"],
            "properties": {"from": {"type": "string"}, "to": {"type": "string"}},
            "description": 'Years or months: {"from": "2023", "to": "2024"} or {"from": "2023-01", "to": "2023-06"}.',
        },
        "comparison": {
            "description": 'false, or {"municipality": <kommunekode>} to compare with region, country and '
            "similar municipalities.",
        },
        "geography": {
            "oneOf": [
                {"type": "string", "enum": ["as_it_was"]},
                {"type": "object", "properties": {"as_of": {"type": "string", "format": "date"}}},
                {"type": "null"},
            ],
            "description": 'Which regions a region split, filter or comparison uses: "as_it_was" (each event in '
            'the region of its date) or {"as_of": "2027-01-01"} (history mapped to the regions of that day). '
            "Default: the regions of the release's last day (docs/geography.md).",
        },
    },
    "example": {
        "perspective": "somatik",
        "measures": ["indlaeggelser", "indlaeggelser_pr_1000"],
        "rows": ["aldersgruppe_bred"],
        "columns": ["koen"],
        "filters": {"region": [1081]},
        "period": {"from": "2023", "to": "2023"},
    },
}
BODY = request_body(REQUEST_SCHEMA)
RESULT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Protected blocks of cells. A hidden cell has value null, a status (primary, secondary, "
    "derived) and a display text (<5 or x). Rows and columns are indexes into the block's row and column "
    'keys, or "total".',
    "properties": {
        "request": {"type": "object", "description": "The request in canonical form."},
        "language": {"type": "string"},
        "measures": {"type": "array", "items": {"type": "object"}},
        "rows": {"type": "array", "items": {"type": "object"}},
        "columns": {"type": "array", "items": {"type": "object"}},
        "blocks": {"type": "array", "items": {"type": "object"}},
        "suppression": {"type": "object"},
        "provenance": {"type": "object", "description": "Release, rule versions, suppression rule, engine, time."},
    },
}

router = APIRouter(prefix=PREFIX, dependencies=[Depends(authorise)])

# What every endpoint needs (roles.yaml permissions). An endpoint missing here is refused for
# everyone and fails tests/integration/test_access_api.py.
PERMISSIONS: EndpointTable = {
    ("GET", f"{PREFIX}/catalog"): needs("catalog"),
    ("POST", f"{PREFIX}/analysis"): needs("analysis", action="analysis"),
    ("POST", f"{PREFIX}/analysis/export"): needs("export", action="export"),
}


def _service(request: Request) -> AnalysisService:
    service = request.app.state.service
    assert isinstance(service, AnalysisService)
    return service


@router.get(
    "/catalog",
    summary="Perspectives, measures, dimensions with members, segments",
    responses={200: {"description": "The catalog, labels in the chosen language"}, **error_responses(400, 500)},
)
async def catalog(request: Request, lang: Language = "da") -> JSONResponse:
    body = await run_in_threadpool(service_catalog, _service(request), lang)
    return JSONResponse(body)


@router.post(
    "/analysis",
    summary="Run an analysis",
    description="The body is an analysis request. The answer is the pivot after disclosure control.",
    openapi_extra=BODY,
    responses={
        200: {"description": "The protected result", "content": {"application/json": {"schema": RESULT_SCHEMA}}},
        **error_responses(400, 403, 500, 503),
    },
)
async def analysis(request: Request, lang: Language = "da") -> JSONResponse:
    raw = await json_body(request)
    service = _service(request)
    principal = current_principal(request)

    def run() -> dict[str, Any]:
        result = service.run(raw, principal, lang, check=check_downloadable)
        return result.to_json(lang, downloadable_only=True)

    return JSONResponse(await run_in_threadpool(run))


@router.post(
    "/analysis/export",
    summary="Run an analysis and download it as CSV or XLSX",
    description="CSV is UTF-8 with a BOM. View-only measures are left out; a view-only dimension in rows or "
    "columns is refused. Hidden cells are written as <5 or x. Provenance follows the table.",
    openapi_extra=BODY,
    response_class=Response,
    responses={
        200: {
            "description": "The file, as an attachment",
            "content": {MEDIA_TYPES["csv"]: {}, MEDIA_TYPES["xlsx"]: {}},
        },
        **error_responses(400, 403, 500, 503),
    },
)
async def analysis_export(
    request: Request, fmt: Format = "csv", delimiter: Delimiter = ",", lang: Language = "da"
) -> Response:
    raw = await json_body(request)
    service = _service(request)
    principal = current_principal(request)
    sep = separator(delimiter)

    def run() -> Export:
        result = service.run(raw, principal, lang, action="export", check=check_downloadable)
        return export(result, fmt, lang, sep)

    file = await run_in_threadpool(run)
    return Response(
        file.content,
        media_type=file.media_type,
        headers={"Content-Disposition": f'attachment; filename="{file.filename}"'},
    )
