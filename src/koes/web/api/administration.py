"""The JSON API for administrators: users, their grants and tokens, recertification, the audit trail.

A local administrator manages its own organisation; a system administrator every organisation. The
rules (who may grant what, who may reset whom) live in the services; these routes read the body and
shape the answer.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from koes.privacy import roles as role_data
from koes.privacy.credentials import USERNAME
from koes.privacy.roles import needs_org
from koes.query.request import FieldProblem
from koes.services.audit import entry_json, parse_instant
from koes.services.errors import InvalidInputError
from koes.services.user_rules import MAX_DISPLAY_NAME
from koes.web.api.accounts import TOKEN_BODY, token_request
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

USER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "A user with its grants; `roles` lists only the roles of valid grants (unexpired, unrevoked).",
}
NEW_USER_BODY = request_body(
    {
        "type": "object",
        "additionalProperties": False,
        "required": ["username", "password"],
        "properties": {
            "username": {
                "type": "string",
                "pattern": f"^{USERNAME.pattern}$",
                "description": "a–z, 0–9, . _ @ -; 2–64 characters.",
            },
            "password": {
                "type": "string",
                "description": "At least 12 characters, two kinds of characters, not the user name.",
            },
            "organisation": {
                "type": "string",
                "description": "kommune:101, region:1084 or national; default the caller's own.",
            },
            "display_name": {"type": "string"},
        },
        "example": {"username": "anna", "password": "Korrekt-hest-batteri", "display_name": "Anna"},
    }
)
RENAME_BODY = request_body(
    {
        "type": "object",
        "additionalProperties": False,
        "required": ["display_name"],
        "properties": {
            "display_name": {
                "type": "string",
                "maxLength": MAX_DISPLAY_NAME,
                "description": f"The new display name: at most {MAX_DISPLAY_NAME} characters, no CPR-shaped number.",
            },
        },
        "example": {"display_name": "Anna Hansen"},
    }
)
GRANT_BODY = request_body(
    {
        "type": "object",
        "additionalProperties": False,
        "required": ["role"],
        "properties": {
            "role": {"type": "string", "enum": list(role_data.role_names())},
            "expires": {
                "type": "string",
                "format": "date",
                "description": "Last day of the grant (UTC); default 12 months from today, at most 24.",
            },
        },
        "example": {"role": "aggregeret", "expires": "2026-06-30"},
    }
)

router = APIRouter(prefix=PREFIX, dependencies=[Depends(authorise)])

# What every endpoint needs (roles.yaml permissions). An endpoint missing here is refused for
# everyone and fails tests/integration/test_access_api.py.
PERMISSIONS: EndpointTable = {
    ("GET", f"{PREFIX}/users"): needs_org("manage_users"),
    ("POST", f"{PREFIX}/users"): needs_org("manage_users"),
    ("GET", f"{PREFIX}/users/{{user_id}}"): needs_org("manage_users"),
    ("PATCH", f"{PREFIX}/users/{{user_id}}"): needs_org("manage_users"),
    ("POST", f"{PREFIX}/users/{{user_id}}/grants"): needs_org("manage_users"),
    ("POST", f"{PREFIX}/users/{{user_id}}/deactivate"): needs_org("manage_users"),
    ("POST", f"{PREFIX}/users/{{user_id}}/reactivate"): needs_org("manage_users"),
    ("POST", f"{PREFIX}/users/{{user_id}}/reset-totp"): needs_org("manage_users"),
    ("POST", f"{PREFIX}/users/{{user_id}}/tokens"): needs_org("manage_users"),
    ("DELETE", f"{PREFIX}/grants/{{grant_id}}"): needs_org("manage_users"),
    ("GET", f"{PREFIX}/recertification"): needs_org("manage_users"),
    ("GET", f"{PREFIX}/audit"): needs_org("view_audit"),
}


@router.get(
    "/users",
    summary="Users (a local administrator's own organisation; all for a system administrator)",
    responses={200: {"description": "Users with their grants"}, **error_responses(400, 401, 403, 404, 500)},
)
async def list_users(
    request: Request,
    organisation: Annotated[
        str | None, Query(description="national, region:1084 or kommune:101 (default: all you manage).")
    ] = None,
) -> JSONResponse:
    principal = current_principal(request)
    found = await run_in_threadpool(users_of(request).users, principal, organisation)
    return JSONResponse({"users": [u.to_json() for u in found]})


@router.post(
    "/users",
    summary="Create a user (in the caller's organisation unless a system administrator names another)",
    status_code=201,
    openapi_extra=NEW_USER_BODY,
    responses={
        201: {"description": "The new user", "content": {"application/json": {"schema": USER_SCHEMA}}},
        **error_responses(400, 401, 403, 404, 409, 500),
    },
)
async def create_user(request: Request) -> JSONResponse:
    principal = current_principal(request)
    body = await json_object(
        request, required=("username", "password"), optional=("organisation", "display_name"), empty_ok=False
    )
    username, password = text_field(body, "username"), text_field(body, "password")
    organisation = text_field(body, "organisation") if "organisation" in body else None
    display_name = text_field(body, "display_name", default="")

    def run() -> dict[str, Any]:
        users = users_of(request)
        created = users.create_user(
            principal, username, organisation=organisation, display_name=display_name, password=password
        )
        return created.to_json()

    return JSONResponse(await run_in_threadpool(run), status_code=201)


@router.get("/users/{user_id}", summary="One user with its grants", responses=error_responses(400, 401, 403, 404, 500))
async def get_user(request: Request, user_id: Id) -> JSONResponse:
    principal = current_principal(request)
    found = await run_in_threadpool(users_of(request).user, principal, user_id)
    return JSONResponse(found.to_json())


@router.patch(
    "/users/{user_id}",
    summary="Change a user's display name",
    description="The rules of a new user's name: at most 200 characters, no CPR-shaped number. The same name "
    "again changes nothing.",
    openapi_extra=RENAME_BODY,
    responses={
        200: {"description": "The user", "content": {"application/json": {"schema": USER_SCHEMA}}},
        **error_responses(400, 401, 403, 404, 500),
    },
)
async def rename_user(request: Request, user_id: Id) -> JSONResponse:
    principal = current_principal(request)
    body = await json_object(request, required=("display_name",), optional=(), empty_ok=False)
    display_name = text_field(body, "display_name")
    done = await run_in_threadpool(users_of(request).rename, principal, user_id, display_name)
    return JSONResponse(done.to_json())


@router.post(
    "/users/{user_id}/grants",
    summary="Grant a role, with an expiry",
    description="A local administrator grants only roles it holds itself (aggregeret, individ), in its own "
    "organisation; a system administrator any role. Nobody grants themselves a role.",
    status_code=201,
    openapi_extra=GRANT_BODY,
    responses={201: {"description": "The grant"}, **error_responses(400, 401, 403, 404, 409, 500)},
)
async def add_grant(request: Request, user_id: Id) -> JSONResponse:
    principal = current_principal(request)
    body = await json_object(request, required=("role",), optional=("expires",), empty_ok=False)
    role = text_field(body, "role")
    expires = None
    if body.get("expires") is not None:
        try:
            expires = date.fromisoformat(text_field(body, "expires"))
        except ValueError:
            raise InvalidInputError([FieldProblem("expires", "a date: YYYY-MM-DD")]) from None
    granted = await run_in_threadpool(users_of(request).grant, principal, user_id, role, expires)
    return JSONResponse(granted.to_json(), status_code=201)


@router.post(
    "/users/{user_id}/deactivate",
    summary="Deactivate a user: no sign-in, its tokens stop at once",
    responses=error_responses(400, 401, 403, 404, 500),
)
async def deactivate_user(request: Request, user_id: Id) -> JSONResponse:
    principal = current_principal(request)
    done = await run_in_threadpool(users_of(request).deactivate, principal, user_id)
    return JSONResponse(done.to_json())


@router.post(
    "/users/{user_id}/reactivate",
    summary="Reactivate a deactivated user, without any grant",
    description="The user may sign in again, but its grants still running are revoked with the reactivation "
    "(expired and revoked ones stay so): it has no rights until a role is granted again. Nobody reactivates "
    "themselves; only a system administrator reactivates a system administrator. An active user is left as it is.",
    responses=error_responses(400, 401, 403, 404, 500),
)
async def reactivate_user(request: Request, user_id: Id) -> JSONResponse:
    principal = current_principal(request)
    done = await run_in_threadpool(users_of(request).reactivate, principal, user_id)
    return JSONResponse(done.to_json())


@router.post(
    "/users/{user_id}/reset-totp",
    summary="Reset a user's TOTP: it enrols again at its next sign-in",
    description="For a lost authenticator. The user's unused recovery codes stop working and its web sessions "
    "end at once; its API tokens stay. Nobody resets their own; only a system administrator resets a system "
    "administrator's.",
    responses=error_responses(400, 401, 403, 404, 500),
)
async def reset_totp(request: Request, user_id: Id) -> JSONResponse:
    principal = current_principal(request)
    done = await run_in_threadpool(users_of(request).reset_totp, principal, user_id)
    return JSONResponse(done.to_json())


@router.post(
    "/users/{user_id}/tokens",
    summary="Make an API token for a user (an administrator's)",
    description="The answer holds the token once; hand it to the user. An administrator vouches for the user: "
    "the token carries its roles that need TOTP. Scopes and days as for POST /tokens; not for yourself.",
    status_code=201,
    openapi_extra=TOKEN_BODY,
    responses={201: {"description": "The new token, shown once"}, **error_responses(400, 401, 403, 404, 500)},
)
async def create_token_for(request: Request, user_id: Id) -> JSONResponse:
    principal = current_principal(request)
    name, scopes, days = await token_request(request)
    tokens = tokens_of(request)
    created = await run_in_threadpool(lambda: tokens.create_for(principal, user_id, name, scopes=scopes, days=days))
    return JSONResponse(created.to_json(), status_code=201)


@router.delete(
    "/grants/{grant_id}", summary="Revoke a grant (at once)", responses=error_responses(400, 401, 403, 404, 500)
)
async def revoke_grant(request: Request, grant_id: Id) -> JSONResponse:
    principal = current_principal(request)
    done = await run_in_threadpool(users_of(request).revoke, principal, grant_id)
    return JSONResponse(done.to_json())


@router.get(
    "/recertification",
    summary="Valid grants and API tokens that expire soon: renew them or let them lapse",
    responses=error_responses(400, 401, 403, 500),
)
async def recertification(
    request: Request, days: Annotated[int, Query(ge=1, le=3660, description="Expiring within this many days.")] = 30
) -> JSONResponse:
    principal = current_principal(request)
    grants = await run_in_threadpool(users_of(request).recertification, principal, days)
    tokens = await run_in_threadpool(tokens_of(request).expiring, principal, days)
    return JSONResponse(
        {"days": days, "grants": [g.to_json() for g in grants], "tokens": [t.to_json() for t in tokens]}
    )


@router.get(
    "/audit",
    summary="Audit records, newest first (a local administrator's own organisation; all for a system administrator)",
    responses=error_responses(400, 401, 403, 404, 500),
)
async def audit(
    request: Request,
    since: Annotated[str | None, Query(description="From this date or time (UTC), inclusive.")] = None,
    until: Annotated[str | None, Query(description="Up to this date (inclusive) or time (exclusive), UTC.")] = None,
    organisation: Annotated[str | None, Query(description="One organisation (default: all you may read).")] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="At most this many records.")] = 100,
) -> JSONResponse:
    principal = current_principal(request)
    problems = []
    start = end = None
    try:
        start = parse_instant(since) if since else None
    except ValueError as exc:
        problems.append(FieldProblem("since", str(exc)))
    try:
        end = parse_instant(until, end=True) if until else None
    except ValueError as exc:
        problems.append(FieldProblem("until", str(exc)))
    if problems:
        raise InvalidInputError(problems)

    def run() -> list[dict[str, Any]]:
        users = users_of(request)
        found = users.audit(principal, since=start, until=end, organisation=organisation, limit=limit)
        return [entry_json(e) for e in found]

    return JSONResponse({"records": await run_in_threadpool(run)})
