"""What the JSON API's route modules share: the prefix, query types, error documentation, JSON bodies.

Each route module (``v1``, ``accounts``, ``administration``, ``docs`` …) holds one group of endpoints;
this module holds what they all read, so none of them imports another's routes. A JSON body is read
here once for all: its media type, its size (at most :data:`MAX_BODY`) and its syntax, with every
problem of an object body named by field at once.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import Path as PathParam
from fastapi import Query, Request

from koes.query.request import FieldProblem
from koes.services.errors import InvalidInputError
from koes.services.tokens import TokenService
from koes.services.users import UserService
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


Id = Annotated[int, PathParam(ge=1, le=2**63 - 1)]


def request_body(
    schema: dict[str, Any], media_type: str = "application/json", *, required: bool = True
) -> dict[str, Any]:
    """The OpenAPI ``requestBody`` of a route (for ``openapi_extra``): a body of ``schema``."""
    return {"requestBody": {"required": required, "content": {media_type: {"schema": schema}}}}


def users_of(request: Request) -> UserService:
    users = request.app.state.users
    assert isinstance(users, UserService)
    return users


def tokens_of(request: Request) -> TokenService:
    tokens = request.app.state.tokens
    assert isinstance(tokens, TokenService)
    return tokens


async def json_object(
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


def text_field(body: dict[str, Any], name: str, default: str | None = None) -> str:
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
