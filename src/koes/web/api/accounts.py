"""The JSON API for the caller's own account: who am I, and my API tokens.

A token is shown once, when it is made; only its hash is stored. A user whose roles need TOTP makes
tokens on the web page after signing in with its code (or gets one from an administrator), never
here: a caller with a token has passed no second factor in this request.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from koes.privacy.roles import signed_in, token_scope_names
from koes.query.request import FieldProblem
from koes.services.errors import InvalidInputError
from koes.web.api.http import (
    PREFIX,
    Id,
    error_responses,
    json_object,
    request_body,
    text_field,
    tokens_of,
    users_of,
)
from koes.web.auth import EndpointTable, authorise, current_principal

TOKEN_BODY = request_body(
    {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "name": {"type": "string", "description": "A name for the token, e.g. laptop."},
            "scopes": {
                "type": "array",
                "items": {"type": "string", "enum": list(token_scope_names())},
                "description": "What the token may be used for (roles.yaml token_scopes); default: every "
                "scope the user's roles give now (a token making a token: at most its own scopes).",
            },
            "days": {
                "type": "integer",
                "minimum": 1,
                "description": "How long it lasts; default 30 days, at most 90 (KOES_TOKEN_DAYS, "
                "KOES_TOKEN_MAX_DAYS). A token made with a token ends no later than that token.",
            },
        },
        "example": {"name": "laptop", "scopes": ["analyses", "exports"], "days": 30},
    },
    required=False,
)

router = APIRouter(prefix=PREFIX, dependencies=[Depends(authorise)])

# What every endpoint needs (roles.yaml permissions). An endpoint missing here is refused for
# everyone and fails tests/integration/test_access_api.py.
PERMISSIONS: EndpointTable = {
    ("GET", f"{PREFIX}/me"): signed_in(),
    ("GET", f"{PREFIX}/tokens"): signed_in(),
    ("POST", f"{PREFIX}/tokens"): signed_in(),
    ("DELETE", f"{PREFIX}/tokens/{{token_id}}"): signed_in(),
}


@router.get(
    "/me", summary="The caller's account: organisation, valid roles, grants", responses=error_responses(401, 500)
)
async def me(request: Request) -> JSONResponse:
    principal = current_principal(request)
    users = users_of(request)
    if principal.user_id is None:  # api_auth = local: the configured local principal
        body: dict[str, Any] = {
            "id": None,
            "username": principal.user,
            "organisation": str(principal.organisation),
            "roles": sorted(principal.roles),
        }
    else:
        body = (await run_in_threadpool(users.me, principal)).to_json()
    body["permissions"] = sorted(principal.permissions)
    return JSONResponse(body)


@router.get(
    "/tokens", summary="The caller's API tokens (never the tokens themselves)", responses=error_responses(401, 500)
)
async def list_tokens(request: Request) -> JSONResponse:
    principal = current_principal(request)
    tokens = await run_in_threadpool(tokens_of(request).list, principal)
    return JSONResponse({"tokens": [t.to_json() for t in tokens]})


@router.post(
    "/tokens",
    summary="Create an API token for the caller",
    description="The answer holds the token once (`token`); only its hash is stored. It has the caller's rights "
    "at the time of each use, within its scopes, until it expires. A user whose roles need TOTP (individ, the "
    "administrator roles) cannot make one here (403): on the web page /account/tokens after signing in with its "
    "code, or from an administrator.",
    status_code=201,
    openapi_extra=TOKEN_BODY,
    responses={201: {"description": "The new token, shown once"}, **error_responses(400, 401, 403, 500)},
)
async def create_token(request: Request) -> JSONResponse:
    principal = current_principal(request)
    name, scopes, days = await token_request(request)
    tokens = tokens_of(request)
    # Never second_factor here: a caller with a token has passed no second factor in this request.
    created = await run_in_threadpool(lambda: tokens.create(principal, name, scopes=scopes, days=days))
    return JSONResponse(created.to_json(), status_code=201)


async def token_request(request: Request) -> tuple[str, list[str] | None, int | None]:
    """A token request's name, scopes and days (the defaults where left out); every problem at once."""
    body = await json_object(request, required=(), optional=("name", "scopes", "days"), empty_ok=True, texts=("name",))
    scopes, days = body.get("scopes"), body.get("days")
    problems = []
    if scopes is not None and not (isinstance(scopes, list) and all(isinstance(v, str) for v in scopes)):
        problems.append(FieldProblem("scopes", "must be a list of scope names"))
    if days is not None and (isinstance(days, bool) or not isinstance(days, int)):
        problems.append(FieldProblem("days", "must be a whole number"))
    if problems:
        raise InvalidInputError(problems)
    return text_field(body, "name", default="api"), scopes, days


@router.delete(
    "/tokens/{token_id}", summary="Revoke one of the caller's API tokens", responses=error_responses(400, 401, 404, 500)
)
async def revoke_token(request: Request, token_id: Id) -> JSONResponse:
    principal = current_principal(request)
    revoked = await run_in_threadpool(tokens_of(request).revoke, principal, token_id)
    return JSONResponse(revoked.to_json())
