"""The JSON API of saved analyses: list, save, read, rename or share, delete.

Routes are thin: read and type-check the body, hand it to :class:`SavedAnalysisService`, shape the
answer. The service holds the rules: a colleague's unshared analysis and anything of another
organisation answer 404 (never revealing that it exists); a colleague's shared analysis can be read
but not changed (403). Every endpoint needs the ``analysis`` permission.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from koes.privacy.roles import needs
from koes.query.request import FieldProblem
from koes.services.saved import MAX_NAME, InvalidInputError, SavedAnalysisService
from koes.web.api.http import PREFIX, Id, error_responses, json_body, request_body
from koes.web.api.v1 import REQUEST_SCHEMA
from koes.web.auth import EndpointTable, authorise, current_principal

FIELDS = ("name", "request", "shared")

NAME_SCHEMA: dict[str, Any] = {
    "type": "string",
    "minLength": 1,
    "maxLength": MAX_NAME,
    "description": f"1–{MAX_NAME} characters, one line; unique among the caller's saved analyses.",
}
SHARED_SCHEMA: dict[str, Any] = {"type": "boolean", "description": "Visible (read-only) to the organisation."}
EXAMPLE = {
    "name": "Indlæggelser efter køn",
    "request": REQUEST_SCHEMA["example"],
    "shared": False,
}


def _body(required: tuple[str, ...], min_properties: int) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "object",
        "additionalProperties": False,
        "required": list(required),
        "minProperties": min_properties,
        "properties": {"name": NAME_SCHEMA, "request": REQUEST_SCHEMA, "shared": SHARED_SCHEMA},
        "example": EXAMPLE if required else {"name": "Nyt navn", "shared": True},
    }
    return request_body(schema)


SAVED_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "name": {"type": "string"},
        "request": {"type": "object", "description": "The analysis request in canonical form."},
        "shared": {"type": "boolean"},
        "organisation": {"type": "string"},
        "owner_id": {"type": "integer"},
        "owner": {"type": "string", "description": "The owner's user name."},
        "editable": {"type": "boolean", "description": "The caller is the owner (may rename, share, delete)."},
        "created_at": {"type": "string", "format": "date-time"},
        "updated_at": {"type": "string", "format": "date-time"},
    },
}
LIST_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"analyses": {"type": "array", "items": SAVED_SCHEMA}},
}


def _answer(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


router = APIRouter(prefix=PREFIX, dependencies=[Depends(authorise)])

PERMISSIONS: EndpointTable = {
    ("GET", f"{PREFIX}/analyses"): needs("analysis"),
    ("POST", f"{PREFIX}/analyses"): needs("analysis"),
    ("GET", f"{PREFIX}/analyses/{{analysis_id}}"): needs("analysis"),
    ("PATCH", f"{PREFIX}/analyses/{{analysis_id}}"): needs("analysis"),
    ("DELETE", f"{PREFIX}/analyses/{{analysis_id}}"): needs("analysis"),
}


def _saved(request: Request) -> SavedAnalysisService:
    service = request.app.state.saved
    assert isinstance(service, SavedAnalysisService)
    return service


@router.get(
    "/analyses",
    summary="Saved analyses: the caller's own and those shared in its organisation, most recently changed first",
    responses={200: _answer("The saved analyses", LIST_SCHEMA), **error_responses(401, 403, 500)},
)
async def list_saved(request: Request) -> JSONResponse:
    found = await run_in_threadpool(_saved(request).list, current_principal(request))
    return JSONResponse({"analyses": [s.to_json() for s in found]})


@router.post(
    "/analyses",
    summary="Save an analysis request under a name",
    description="The request is checked against the catalog (every problem by field, e.g. `request.measures[0]`) "
    "and stored in canonical form.",
    status_code=201,
    openapi_extra=_body(("name", "request"), 2),
    responses={201: _answer("The saved analysis", SAVED_SCHEMA), **error_responses(400, 401, 403, 409, 500)},
)
async def save(request: Request) -> JSONResponse:
    principal = current_principal(request)
    body = await _object(request, required=("name", "request"))
    service = _saved(request)

    def run() -> dict[str, Any]:
        return service.save(principal, body["name"], body["request"], body.get("shared", False)).to_json()

    return JSONResponse(await run_in_threadpool(run), status_code=201)


@router.get(
    "/analyses/{analysis_id}",
    summary="One saved analysis",
    responses={200: _answer("The saved analysis", SAVED_SCHEMA), **error_responses(400, 401, 403, 404, 500)},
)
async def get_saved(request: Request, analysis_id: Id) -> JSONResponse:
    found = await run_in_threadpool(_saved(request).get, current_principal(request), analysis_id)
    return JSONResponse(found.to_json())


@router.patch(
    "/analyses/{analysis_id}",
    summary="Rename, replace the request, share or unshare (the owner only)",
    openapi_extra=_body((), 1),
    responses={200: _answer("The saved analysis", SAVED_SCHEMA), **error_responses(400, 401, 403, 404, 409, 500)},
)
async def update_saved(request: Request, analysis_id: Id) -> JSONResponse:
    principal = current_principal(request)
    body = await _object(request, required=())
    service = _saved(request)

    def run() -> dict[str, Any]:
        changed = service.update(
            principal, analysis_id, name=body.get("name"), request=body.get("request"), shared=body.get("shared")
        )
        return changed.to_json()

    return JSONResponse(await run_in_threadpool(run))


@router.delete(
    "/analyses/{analysis_id}",
    summary="Delete a saved analysis (the owner only)",
    status_code=204,
    response_class=Response,
    responses={204: {"description": "Deleted"}, **error_responses(400, 401, 403, 404, 500)},
)
async def delete_saved(request: Request, analysis_id: Id) -> Response:
    await run_in_threadpool(_saved(request).delete, current_principal(request), analysis_id)
    return Response(status_code=204)


async def _object(request: Request, *, required: tuple[str, ...]) -> dict[str, Any]:
    """A JSON object of the saved-analysis fields, typed; every problem at once.

    The request itself is checked by the service against the catalog; here only what the service's
    signature needs (a text name, a true/false ``shared``). ``null`` counts as a wrong type.
    """
    raw = await json_body(request)
    if not isinstance(raw, dict):
        raise InvalidInputError([FieldProblem("body", "must be a JSON object")])
    problems = [FieldProblem(name, "is required") for name in required if name not in raw]
    problems += [FieldProblem(str(name), "is not a field of a saved analysis") for name in raw if name not in FIELDS]
    if "name" in raw and not isinstance(raw["name"], str):
        problems.append(FieldProblem("name", "must be text"))
    if "shared" in raw and not isinstance(raw["shared"], bool):
        problems.append(FieldProblem("shared", "must be true or false"))
    if "request" in raw and raw["request"] is None:
        problems.append(FieldProblem("request", "expected a JSON object"))
    if not raw and not required:
        problems.append(FieldProblem("body", f"give at least one of {', '.join(FIELDS)}"))
    if problems:
        raise InvalidInputError(problems)
    return raw
