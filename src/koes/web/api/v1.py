"""The JSON API, version 1: catalog, analysis, export; accounts, users, grants, audit.

Routes are thin: read the body, hand it to the services, shape the answer. Blocking work (the
engine, the app database, building files) runs in the thread pool, so the event loop keeps serving.
Every route is listed in :data:`PERMISSIONS` with what it needs (roles.yaml permissions);
the gate (:func:`koes.web.auth.authorise`) checks the caller's API token and that table before the
route runs, and a route missing from the table is refused for everyone (and fails the
authorisation-matrix test). The scope rewrite still applies to every analysis. The API obeys the
download rules (DESIGN §5.4): view-only measures are left out of answers and a view-only dimension
in the rows or columns is refused with a 400 naming the field.
"""

from __future__ import annotations

import html
import json
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from koes.privacy.roles import needs, needs_org, public, signed_in, token_scope_names
from koes.query.request import FieldProblem
from koes.services.analysis import AnalysisService
from koes.services.audit import entry_json, parse_instant
from koes.services.catalog import service_catalog
from koes.services.errors import InvalidInputError
from koes.services.export import MEDIA_TYPES, Export, check_downloadable, export
from koes.services.tokens import TokenService
from koes.services.users import UserService
from koes.web.auth import EndpointTable, authorise, current_principal
from koes.web.errors import ApiError, ErrorEnvelope

PREFIX = "/api/v1"
MAX_BODY = 256 * 1024  # an analysis request is a few hundred bytes

Language = Annotated[Literal["da", "en"], Query(description="Language of labels: Danish (da) or English (en).")]
Format = Annotated[Literal["csv", "xlsx"], Query(alias="format", description="File format.")]
Delimiter = Annotated[
    Literal[",", ";", "comma", "semicolon"],
    Query(description="CSV delimiter. With `;` numbers get decimal commas (Danish Excel)."),
]


def separator(delimiter: str) -> str:
    """The CSV delimiter a query names: `comma`/`semicolon` are the URL-friendly spellings."""
    return {"comma": ",", "semicolon": ";"}.get(delimiter, delimiter)


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    descriptions = {
        400: "Bad request: every problem, by field",
        401: "No valid API token (Authorization: Bearer <token>)",
        403: "No grant gives access to this",
        404: "Not found, or another organisation's",
        409: "Contradicts what is stored",
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

router = APIRouter(prefix=PREFIX, dependencies=[Depends(authorise)])

# What every endpoint needs (roles.yaml permissions). An endpoint missing here is refused for
# everyone and fails tests/integration/test_access_api.py.
PERMISSIONS: EndpointTable = {
    ("GET", f"{PREFIX}/docs"): public(),
    ("GET", f"{PREFIX}/openapi.json"): public(),
    ("GET", f"{PREFIX}/catalog"): needs("catalog"),
    ("POST", f"{PREFIX}/analysis"): needs("analysis", action="analysis"),
    ("POST", f"{PREFIX}/analysis/export"): needs("export", action="export"),
    ("GET", f"{PREFIX}/me"): signed_in(),
    ("GET", f"{PREFIX}/tokens"): signed_in(),
    ("POST", f"{PREFIX}/tokens"): signed_in(),
    ("DELETE", f"{PREFIX}/tokens/{{token_id}}"): signed_in(),
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
Id = Annotated[int, PathParam(ge=1, le=2**63 - 1)]


def _service(request: Request) -> AnalysisService:
    service = request.app.state.service
    assert isinstance(service, AnalysisService)
    return service


def _users(request: Request) -> UserService:
    users = request.app.state.users
    assert isinstance(users, UserService)
    return users


def _tokens(request: Request) -> TokenService:
    tokens = request.app.state.tokens
    assert isinstance(tokens, TokenService)
    return tokens


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


# --- accounts: the caller's own ----------------------------------------------------------------

USER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "A user with its grants; `roles` lists only the roles of valid grants (unexpired, unrevoked).",
}
TOKEN_BODY = {
    "requestBody": {
        "required": False,
        "content": {
            "application/json": {
                "schema": {
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
                }
            }
        },
    }
}
NEW_USER_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["username", "password"],
                    "properties": {
                        "username": {"type": "string", "description": "a–z, 0–9, . _ @ -; 2–64 characters."},
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
            }
        },
    }
}
RENAME_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["display_name"],
                    "properties": {
                        "display_name": {
                            "type": "string",
                            "maxLength": 200,
                            "description": "The new display name: at most 200 characters, no CPR-shaped number.",
                        },
                    },
                    "example": {"display_name": "Anna Hansen"},
                }
            }
        },
    }
}
GRANT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["role"],
                    "properties": {
                        "role": {"type": "string", "enum": ["aggregeret", "individ", "lokal_admin", "system_admin"]},
                        "expires": {
                            "type": "string",
                            "format": "date",
                            "description": "Last day of the grant (UTC); default 12 months from today, at most 24.",
                        },
                    },
                    "example": {"role": "aggregeret", "expires": "2026-06-30"},
                }
            }
        },
    }
}


@router.get(
    "/me", summary="The caller's account: organisation, valid roles, grants", responses=error_responses(401, 500)
)
async def me(request: Request) -> JSONResponse:
    principal = current_principal(request)
    users = _users(request)
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
    tokens = await run_in_threadpool(_tokens(request).list, principal)
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
    name, scopes, days = await _token_request(request)
    tokens = _tokens(request)
    # Never second_factor here: a caller with a token has passed no second factor in this request.
    created = await run_in_threadpool(lambda: tokens.create(principal, name, scopes=scopes, days=days))
    return JSONResponse(created.to_json(), status_code=201)


async def _token_request(request: Request) -> tuple[str, list[str] | None, int | None]:
    """A token request's name, scopes and days (the defaults where left out); every problem at once."""
    body = await _json_object(request, required=(), optional=("name", "scopes", "days"), empty_ok=True, texts=("name",))
    scopes, days = body.get("scopes"), body.get("days")
    problems = []
    if scopes is not None and not (isinstance(scopes, list) and all(isinstance(v, str) for v in scopes)):
        problems.append(FieldProblem("scopes", "must be a list of scope names"))
    if days is not None and (isinstance(days, bool) or not isinstance(days, int)):
        problems.append(FieldProblem("days", "must be a whole number"))
    if problems:
        raise InvalidInputError(problems)
    return _text(body, "name", default="api"), scopes, days


@router.delete(
    "/tokens/{token_id}", summary="Revoke one of the caller's API tokens", responses=error_responses(400, 401, 404, 500)
)
async def revoke_token(request: Request, token_id: Id) -> JSONResponse:
    principal = current_principal(request)
    revoked = await run_in_threadpool(_tokens(request).revoke, principal, token_id)
    return JSONResponse(revoked.to_json())


# --- administration: users, grants, audit ------------------------------------------------------


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
    found = await run_in_threadpool(_users(request).users, principal, organisation)
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
    body = await _json_object(
        request, required=("username", "password"), optional=("organisation", "display_name"), empty_ok=False
    )
    username, password = _text(body, "username"), _text(body, "password")
    organisation = _text(body, "organisation") if "organisation" in body else None
    display_name = _text(body, "display_name", default="")

    def run() -> dict[str, Any]:
        users = _users(request)
        created = users.create_user(
            principal, username, organisation=organisation, display_name=display_name, password=password
        )
        return created.to_json()

    return JSONResponse(await run_in_threadpool(run), status_code=201)


@router.get("/users/{user_id}", summary="One user with its grants", responses=error_responses(400, 401, 403, 404, 500))
async def get_user(request: Request, user_id: Id) -> JSONResponse:
    principal = current_principal(request)
    found = await run_in_threadpool(_users(request).user, principal, user_id)
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
    body = await _json_object(request, required=("display_name",), optional=(), empty_ok=False)
    display_name = _text(body, "display_name")
    done = await run_in_threadpool(_users(request).rename, principal, user_id, display_name)
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
    body = await _json_object(request, required=("role",), optional=("expires",), empty_ok=False)
    role = _text(body, "role")
    expires = None
    if body.get("expires") is not None:
        try:
            expires = date.fromisoformat(_text(body, "expires"))
        except ValueError:
            raise InvalidInputError([FieldProblem("expires", "a date: YYYY-MM-DD")]) from None
    granted = await run_in_threadpool(_users(request).grant, principal, user_id, role, expires)
    return JSONResponse(granted.to_json(), status_code=201)


@router.post(
    "/users/{user_id}/deactivate",
    summary="Deactivate a user: no sign-in, its tokens stop at once",
    responses=error_responses(400, 401, 403, 404, 500),
)
async def deactivate_user(request: Request, user_id: Id) -> JSONResponse:
    principal = current_principal(request)
    done = await run_in_threadpool(_users(request).deactivate, principal, user_id)
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
    done = await run_in_threadpool(_users(request).reactivate, principal, user_id)
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
    done = await run_in_threadpool(_users(request).reset_totp, principal, user_id)
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
    name, scopes, days = await _token_request(request)
    tokens = _tokens(request)
    created = await run_in_threadpool(lambda: tokens.create_for(principal, user_id, name, scopes=scopes, days=days))
    return JSONResponse(created.to_json(), status_code=201)


@router.delete(
    "/grants/{grant_id}", summary="Revoke a grant (at once)", responses=error_responses(400, 401, 403, 404, 500)
)
async def revoke_grant(request: Request, grant_id: Id) -> JSONResponse:
    principal = current_principal(request)
    done = await run_in_threadpool(_users(request).revoke, principal, grant_id)
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
    grants = await run_in_threadpool(_users(request).recertification, principal, days)
    tokens = await run_in_threadpool(_tokens(request).expiring, principal, days)
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
        users = _users(request)
        found = users.audit(principal, since=start, until=end, organisation=organisation, limit=limit)
        return [entry_json(e) for e in found]

    return JSONResponse({"records": await run_in_threadpool(run)})


@router.get("/docs", include_in_schema=False)
async def docs(request: Request) -> HTMLResponse:
    """A plain page describing the API from its OpenAPI document: no script, nothing from a CDN."""
    return HTMLResponse(render_docs(request.app.openapi()))


async def _json_object(
    request: Request,
    *,
    required: tuple[str, ...],
    optional: tuple[str, ...],
    empty_ok: bool,
    texts: tuple[str, ...] | None = None,
) -> dict[str, Any]:
    """A JSON object body with exactly these fields, ``texts`` (default: all of them) text; every problem at once."""
    if empty_ok and not (await request.body()).strip():
        return {}
    raw = await json_body(request)
    if not isinstance(raw, dict):
        raise InvalidInputError([FieldProblem("body", "must be a JSON object")])
    problems = [FieldProblem(name, "is required") for name in required if name not in raw]
    problems += [
        FieldProblem(str(name), "is not a field of this request") for name in raw if name not in required + optional
    ]
    problems += [
        FieldProblem(name, "must be text")
        for name in (required + optional if texts is None else texts)
        if name in raw and not isinstance(raw[name], str)
    ]
    if problems:
        raise InvalidInputError(problems)
    return raw


def _text(body: dict[str, Any], name: str, default: str | None = None) -> str:
    value = body.get(name, default)
    assert isinstance(value, str)
    return value


async def json_body(request: Request) -> object:
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
