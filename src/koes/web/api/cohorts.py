"""The JSON API of kept cohorts (the Advanced route): upload, list, read, report, share, delete.

Routes are thin: read the form or body, hand it to :class:`CohortService`, shape the answer. The
service holds the rules (``individ`` for the own municipality; owner and shared colleagues see a
cohort, everyone else gets 404; the owner or a local administrator deletes). The uploaded file is
read into memory only (:mod:`koes.web.uploads`) and is never stored; no answer, address or log
line holds a CPR number: cohorts are named by random ids, reports by line numbers.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from koes.cohorts.report_csv import report_csv
from koes.privacy.roles import Access, needs
from koes.query.request import FieldProblem, RequestError
from koes.services.cohort_store import (
    CohortRefusedError,
    CohortService,
    InvalidInputError,
    UploadRequest,
    UploadResult,
)
from koes.services.jobs import Progress
from koes.web.api.http import PREFIX, Language, error_responses, json_body, request_body
from koes.web.api.jobs import accepted
from koes.web.auth import EndpointTable, authorise, current_principal
from koes.web.errors import ApiError
from koes.web.uploads import UploadTooLargeError, read_upload_form

CohortId = Annotated[str, PathParam(pattern=r"^[A-Za-z0-9_-]{16,32}$", description="A cohort's random id.")]
UPLOAD_FIELDS = ("purpose", "name", "expiry_days", "sheet")
# Listing and reading metadata: a cohort's users, and the local administrator who may delete one.
INDIVIDUAL_OR_ADMIN = Access("permission", frozenset({"individual_rows", "manage_users_own_org"}))

UPLOAD_JOB = "cohort_upload"
router = APIRouter(prefix=PREFIX, dependencies=[Depends(authorise)])

PERMISSIONS: EndpointTable = {
    ("POST", f"{PREFIX}/cohorts"): needs("individual_rows", action="cohort_upload"),
    ("GET", f"{PREFIX}/cohorts"): INDIVIDUAL_OR_ADMIN,
    ("GET", f"{PREFIX}/cohorts/{{cohort_id}}"): INDIVIDUAL_OR_ADMIN,
    ("GET", f"{PREFIX}/cohorts/{{cohort_id}}/report"): needs("individual_rows"),
    ("DELETE", f"{PREFIX}/cohorts/{{cohort_id}}"): INDIVIDUAL_OR_ADMIN,
    ("POST", f"{PREFIX}/cohorts/{{cohort_id}}/shares"): needs("individual_rows"),
}

COHORT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "string", "description": "Random and unguessable."},
        "name": {"type": "string"},
        "owner": {"type": "string"},
        "organisation": {"type": "string"},
        "purpose": {"type": "string"},
        "created_at": {"type": "string", "format": "date-time"},
        "expires_at": {"type": "string", "format": "date-time"},
        "size": {"type": "integer"},
        "release_id": {"type": "string", "description": "The release the upload was linked to."},
        "shared_with": {"type": "array", "items": {"type": "string"}},
        "owned": {"type": "boolean"},
        "deletable": {"type": "boolean"},
        "report": {"type": "object", "description": "The validation report's counts."},
    },
}
UPLOAD_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "cohort": {"oneOf": [COHORT_SCHEMA, {"type": "null"}]},
        "refusal": {"type": ["object", "null"], "description": "Why nothing was kept: code and message."},
        "report": {"type": "object", "description": "The whole validation report (line numbers, never CPR)."},
    },
}
UPLOAD_BODY: dict[str, Any] = request_body(
    {
        "type": "object",
        "required": ["file", "purpose"],
        "properties": {
            "file": {"type": "string", "format": "binary", "description": "CSV or XLSX with a CPR column."},
            "purpose": {"type": "string", "description": "Why the cohort is kept (audited)."},
            "name": {"type": "string", "description": "Default: the file's name."},
            "expiry_days": {
                "type": "integer",
                "description": "Default 90; at most the configured maximum.",
            },
            "sheet": {"type": "string", "description": "XLSX: the sheet (default: the first)."},
        },
    },
    "multipart/form-data",
)
SHARE_BODY: dict[str, Any] = request_body(
    {
        "type": "object",
        "additionalProperties": False,
        "required": ["users"],
        "properties": {"users": {"type": "array", "items": {"type": "string"}, "minItems": 1}},
        "example": {"users": ["bo"]},
    }
)


def _answer(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _cohorts(request: Request) -> CohortService:
    service = request.app.state.cohorts
    assert isinstance(service, CohortService)
    return service


@router.post(
    "/cohorts",
    summary="Upload a CPR population: check it and keep it as a cohort",
    description="The answer holds the validation report in every case. 201: kept (the cohort). 409: refused by the "
    "differencing guard, 422: no usable row (the report and the refusal; nothing kept). A file refused whole "
    "(empty, not CSV/XLSX, too large …) is a 400 naming the reason. The file and the CPR numbers are never stored. "
    "202: a file of `cohort_job_upload_kb` or more is checked and kept by a background job (follow `href`; its "
    "result holds `status`, 201/409/422, and the same answer).",
    status_code=201,
    openapi_extra=UPLOAD_BODY,
    responses={
        201: _answer("The kept cohort and the report", UPLOAD_SCHEMA),
        202: {"description": "A large file: checked and kept by a background job (follow `href`)"},
        409: _answer("Refused by the differencing guard; the report", UPLOAD_SCHEMA),
        422: _answer("No usable row; the report", UPLOAD_SCHEMA),
        **error_responses(400, 401, 403, 500, 503),
    },
)
async def upload(request: Request, lang: Language = "da") -> JSONResponse:
    principal = current_principal(request)
    service = _cohorts(request)
    try:
        form = await read_upload_form(request, service.settings.cohort_max_file_mb)
    except UploadTooLargeError as exc:
        raise ApiError(413, f"the file is larger than the limit of {exc.limit_mb} MB; nothing is kept") from None
    upload_request = _upload_request(form.fields, form.filename, form.file is None)

    def run() -> JSONResponse:
        assert form.file is not None
        try:
            result = service.upload(principal, form.file, upload_request)
        except CohortRefusedError as refused:
            raise ApiError(400, refused.text(lang), [FieldProblem("file", refused.text(lang))]) from None
        return JSONResponse(result.to_json(lang), status_code=_status(result))

    if form.file is not None and form.file.getbuffer().nbytes >= service.settings.cohort_job_upload_kb * 1024:
        # A large file is checked and kept by a job: the bytes live in memory only, with the job.
        file = form.file

        def work(progress: Progress) -> tuple[dict[str, Any], object]:
            try:
                result = service.upload(principal, file, upload_request)
            except CohortRefusedError as refused:
                raise RequestError([FieldProblem("file", refused.text(lang), refused.code)]) from None
            return {"status": _status(result), **result.to_json(lang)}, result

        jobs = request.app.state.jobs
        return accepted(await run_in_threadpool(jobs.submit, principal, UPLOAD_JOB, "cohort upload", work))
    return await run_in_threadpool(run)


def _status(result: UploadResult) -> int:
    """201 kept; 409 refused by the differencing guard; 422 no usable row."""
    return 201 if result.cohort else 409 if result.refusal and result.refusal.code == "too_close" else 422


def _upload_request(fields: dict[str, str], filename: str | None, no_file: bool) -> UploadRequest:
    problems = [FieldProblem("file", "is required: a CSV or XLSX file")] if no_file else []
    problems += [FieldProblem(k, "is not a field of an upload") for k in fields if k not in UPLOAD_FIELDS]
    days_text = fields.get("expiry_days", "").strip()
    days = int(days_text) if days_text.isascii() and days_text.isdigit() else None
    if days_text and days is None:
        problems.append(FieldProblem("expiry_days", "a whole number of days"))
    if "purpose" not in fields:
        problems.append(FieldProblem("purpose", "is required: why the cohort is kept"))
    if problems:
        raise InvalidInputError(problems)
    return UploadRequest(
        purpose=fields["purpose"],
        name=fields.get("name") or None,
        days=days,
        sheet=fields.get("sheet") or None,
        filename=filename,
    )


@router.get(
    "/cohorts",
    summary="Cohorts: the caller's own and those shared with it (a local administrator: the organisation's)",
    responses={200: _answer("The cohorts", {"type": "object"}), **error_responses(401, 403, 500)},
)
async def list_cohorts(request: Request) -> JSONResponse:
    found = await run_in_threadpool(_cohorts(request).list, current_principal(request))
    return JSONResponse({"cohorts": [c.to_json() for c in found]})


@router.get(
    "/cohorts/{cohort_id}",
    summary="One cohort: metadata and the counts of its validation report (never its members)",
    responses={200: _answer("The cohort", COHORT_SCHEMA), **error_responses(400, 401, 403, 404, 500)},
)
async def get_cohort(request: Request, cohort_id: CohortId) -> JSONResponse:
    found = await run_in_threadpool(_cohorts(request).get, current_principal(request), cohort_id)
    return JSONResponse(found.to_json())


@router.get(
    "/cohorts/{cohort_id}/report",
    summary="The validation report of a kept cohort, as CSV (Danish Excel) or JSON",
    responses={
        200: {"description": "The report", "content": {"text/csv": {}, "application/json": {}}},
        **error_responses(400, 401, 403, 404, 500),
    },
)
async def cohort_report(
    request: Request,
    cohort_id: CohortId,
    lang: Language = "da",
    fmt: Annotated[Literal["csv", "json"], Query(alias="format", description="File format.")] = "csv",
) -> Response:
    report = await run_in_threadpool(_cohorts(request).report, current_principal(request), cohort_id)
    if fmt == "json":
        return JSONResponse(report.to_json(lang))
    name = "valideringsrapport" if lang == "da" else "validation-report"
    return Response(
        report_csv(report, lang).encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}-{cohort_id}.csv"'},
    )


@router.delete(
    "/cohorts/{cohort_id}",
    summary="Delete a cohort at once (its owner or the organisation's local administrator)",
    status_code=204,
    response_class=Response,
    responses={204: {"description": "Deleted"}, **error_responses(400, 401, 403, 404, 500)},
)
async def delete_cohort(request: Request, cohort_id: CohortId) -> Response:
    await run_in_threadpool(_cohorts(request).delete, current_principal(request), cohort_id)
    return Response(status_code=204)


@router.post(
    "/cohorts/{cohort_id}/shares",
    summary="Share a cohort with colleagues of the same organisation who hold individ (the owner only)",
    openapi_extra=SHARE_BODY,
    responses={200: _answer("The cohort", COHORT_SCHEMA), **error_responses(400, 401, 403, 404, 500)},
)
async def share_cohort(request: Request, cohort_id: CohortId) -> JSONResponse:
    principal = current_principal(request)
    raw = await json_body(request)
    users = raw.get("users") if isinstance(raw, dict) else None
    if not (isinstance(raw, dict) and set(raw) == {"users"} and isinstance(users, list)):
        raise InvalidInputError([FieldProblem("users", 'send {"users": [user names]}')])
    if not users or not all(isinstance(u, str) for u in users):
        raise InvalidInputError([FieldProblem("users", "a list of one or more user names")])
    found = await run_in_threadpool(_cohorts(request).share, principal, cohort_id, users)
    return JSONResponse(found.to_json())
