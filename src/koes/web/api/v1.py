"""The JSON API, version 1: catalog, analysis, export, health.

Routes are thin: read the body, hand it to the services, shape the answer. Blocking work (the
engine, building files) runs in the thread pool, so the event loop keeps serving. Until sign-in
exists every call runs as the configured local principal; the scope rewrite applies all the same.
The API obeys the download rules (DESIGN §5.4): view-only measures are left out of answers and a
view-only dimension in the rows or columns is refused with a 400 naming the field.
"""

from __future__ import annotations

import html
import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from koes.query.request import FieldProblem
from koes.services.analysis import AnalysisService
from koes.services.catalog import service_catalog
from koes.services.export import MEDIA_TYPES, Export, check_downloadable, export
from koes.web.errors import ApiError, ErrorEnvelope

PREFIX = "/api/v1"
MAX_BODY = 256 * 1024  # an analysis request is a few hundred bytes

Language = Annotated[Literal["da", "en"], Query(description="Language of labels: Danish (da) or English (en).")]
Format = Annotated[Literal["csv", "xlsx"], Query(alias="format", description="File format.")]
Delimiter = Annotated[
    Literal[",", ";", "comma", "semicolon"],
    Query(description="CSV delimiter. With `;` numbers get decimal commas (Danish Excel)."),
]


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    descriptions = {
        400: "Bad request: every problem, by field",
        403: "No grant gives access to data",
        500: "Unexpected failure (generic message; details only in the server log)",
        503: "No warehouse release is loaded",
    }
    return {s: {"model": ErrorEnvelope, "description": descriptions[s]} for s in statuses}


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
BODY = {"requestBody": {"required": True, "content": {"application/json": {"schema": REQUEST_SCHEMA}}}}
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

router = APIRouter(prefix=PREFIX)


def _service(request: Request) -> AnalysisService:
    service = request.app.state.service
    assert isinstance(service, AnalysisService)
    return service


@router.get(
    "/health",
    summary="Health and current release",
    responses={200: {"description": "The release being served"}, **_errors(503)},
)
async def health(request: Request) -> JSONResponse:
    release = await run_in_threadpool(_service(request).release_id)
    return JSONResponse({"status": "ok", "release": release})


@router.get(
    "/catalog",
    summary="Perspectives, measures, dimensions with members, segments",
    responses={200: {"description": "The catalog, labels in the chosen language"}, **_errors(400, 500)},
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
        **_errors(400, 403, 500, 503),
    },
)
async def analysis(request: Request, lang: Language = "da") -> JSONResponse:
    raw = await _json_body(request)
    service = _service(request)

    def run() -> dict[str, Any]:
        result = service.run(raw, service.local_principal(), lang, check=check_downloadable)
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
        **_errors(400, 403, 500, 503),
    },
)
async def analysis_export(
    request: Request, fmt: Format = "csv", delimiter: Delimiter = ",", lang: Language = "da"
) -> Response:
    raw = await _json_body(request)
    service = _service(request)
    sep = {"comma": ",", "semicolon": ";"}.get(delimiter, delimiter)

    def run() -> Export:
        result = service.run(raw, service.local_principal(), lang, action="export", check=check_downloadable)
        return export(result, fmt, lang, sep)

    file = await run_in_threadpool(run)
    return Response(
        file.content,
        media_type=file.media_type,
        headers={"Content-Disposition": f'attachment; filename="{file.filename}"'},
    )


@router.get("/docs", include_in_schema=False)
async def docs(request: Request) -> HTMLResponse:
    """A plain page describing the API from its OpenAPI document: no script, nothing from a CDN."""
    return HTMLResponse(render_docs(request.app.openapi()))


async def _json_body(request: Request) -> object:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json" and not (media.startswith("application/") and media.endswith("+json")):
        raise ApiError(400, "send the request as JSON", [FieldProblem("body", "Content-Type must be application/json")])
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_BODY:
        raise ApiError(413)
    body = await request.body()
    if len(body) > MAX_BODY:
        raise ApiError(413)
    try:
        return json.loads(body)
    except json.JSONDecodeError as exc:
        problem = f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
    except ValueError:  # undecodable bytes
        problem = "not valid JSON: the body is not UTF-8 text"
    except RecursionError:
        problem = "not valid JSON: nested too deeply"
    raise ApiError(400, "the body is not valid JSON", [FieldProblem("body", problem)])


def render_docs(spec: dict[str, Any]) -> str:
    info = spec.get("info", {})
    esc = html.escape
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{esc(str(info.get('title', 'API')))}</title></head><body>",
        f"<h1>{esc(str(info.get('title', 'API')))} {esc(str(info.get('version', '')))}</h1>",
        f"<p>{esc(str(info.get('description', '')))}</p>",
        f'<p>Machine-readable description: <a href="{PREFIX}/openapi.json">{PREFIX}/openapi.json</a> (OpenAPI '
        f"{esc(str(spec.get('openapi', '')))}).</p>",
    ]
    for path, operations in spec.get("paths", {}).items():
        for method, op in operations.items():
            parts.append(f"<h2><code>{esc(method.upper())} {esc(path)}</code></h2>")
            parts.append(f"<p><strong>{esc(str(op.get('summary', '')))}</strong></p>")
            if op.get("description"):
                parts.append(f"<p>{esc(str(op['description']))}</p>")
            params = op.get("parameters", [])
            if params:
                parts.append("<ul>")
                for p in params:
                    schema = p.get("schema", {})
                    choices = schema.get("enum") or [a.get("const") for a in schema.get("anyOf", []) if "const" in a]
                    allowed = f" ({', '.join(map(str, choices))})" if choices else ""
                    default = f"; default {schema['default']}" if "default" in schema else ""
                    parts.append(
                        f"<li><code>{esc(p['name'])}</code>{esc(allowed)}{esc(default)}: "
                        f"{esc(str(p.get('description', '')))}</li>"
                    )
                parts.append("</ul>")
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            if body and "example" in body:
                parts.append("<p>Example body:</p>")
                parts.append(f"<pre>{esc(json.dumps(body['example'], indent=2, ensure_ascii=False))}</pre>")
            statuses = ", ".join(esc(str(s)) for s in op.get("responses", {}))
            parts.append(
                f"<p>Responses: {statuses}. Errors share one envelope: "
                '<code>{"error": {"status", "code", "message", "problems"}}</code>.</p>'
            )
    parts.append("</body></html>")
    return "\n".join(parts)
