"""One error envelope for every error the web app returns, and the headers on every response.

Every failure answers ``{"error": {"status", "code", "message", "problems": [{"field",
"message"}]}}``: a bad request names each bad field, no (valid) API token is 401, a missing grant
or permission 403, an unknown route (or another organisation's user or grant) 404, a wrong method
405, a conflict with what is stored 409, no release 503. Anything unexpected becomes a 500 envelope with a generic
message; the log records the exception's type only, never a request value or a stack trace
(requests may carry sensitive data, and an engine message is no business of the client's).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from koes.query.request import FieldProblem, RequestError
from koes.query.scope import ScopeDeniedError
from koes.services.analysis import NoReleaseError
from koes.services.ceased import OrganisationCeasedError
from koes.services.errors import ConflictError, ForbiddenError, NotFoundError

logger = logging.getLogger("koes.web")

CODES: Mapping[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    500: "internal_error",
    503: "no_release",
}
MESSAGES: Mapping[int, str] = {
    400: "the request is not valid",
    401: "sign in: send an API token as the header Authorization: Bearer <token>",
    403: "you have no access to this data",
    404: "there is nothing at this address; the API is described at /api/v1/docs",
    405: "this address does not take that method",
    409: "this contradicts what is stored",
    413: "the request body is too large",
    500: "something went wrong on the server; the error has been logged",
    503: "no warehouse release is loaded yet; load register extracts first",
}
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS: tuple[tuple[str, str], ...] = (
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
    # Scripts and style sheets only from the app itself, never inline (Plotly.js's own rules are
    # the sheet /vendor/plotly.css; what it sets on single elements goes through element.style,
    # which the policy allows). Images may be data/blob URLs: a chart or the map is turned into a
    # PNG download in the browser. docs/access.md quotes this policy; a test compares the two.
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
)
API_PREFIX = "/api/"

HtmlPage = Callable[[Request, int], Response]  # a person-friendly error page for a status
Handler = Callable[[Request, Exception], Awaitable[Response]]


class Problem(BaseModel):
    field: str = Field(description="The request field at fault, e.g. `measures[0]` or `filters.kommune[1]`.")
    message: str


class ErrorBody(BaseModel):
    status: int = Field(description="The HTTP status, repeated.")
    code: str = Field(
        description="bad_request, unauthorized, forbidden, not_found, method_not_allowed, conflict, internal_error, "
        "no_release …"
    )
    message: str
    problems: list[Problem] = Field(default_factory=list, description="Every problem of a bad request, by field.")


class ErrorEnvelope(BaseModel):
    error: ErrorBody


class ApiError(Exception):
    """Raised by routes for an error answer of their own (bad body, wrong content type)."""

    def __init__(
        self,
        status: int,
        message: str | None = None,
        problems: Iterable[FieldProblem] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.status = status
        self.message = message or MESSAGES.get(status, "error")
        self.problems = tuple(problems)
        self.headers = dict(headers or {})
        super().__init__(self.message)


def envelope(
    status: int,
    message: str | None = None,
    problems: Sequence[FieldProblem] = (),
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body = {
        "error": {
            "status": status,
            "code": CODES.get(status, "error"),
            "message": message or MESSAGES.get(status, "error"),
            "problems": [{"field": p.field, "message": p.message} for p in problems],
        }
    }
    return JSONResponse(body, status_code=status, headers=dict(headers or {}))


def bad_request(problems: Sequence[FieldProblem]) -> JSONResponse:
    count = len(problems)
    return envelope(400, f"the request has {count} problem{'s' if count != 1 else ''}", problems)


async def _api_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return envelope(exc.status, exc.message, exc.problems, exc.headers)


async def _request_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestError)
    return bad_request(exc.problems)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's own checks (query parameters): 400, each problem under its parameter's name."""
    assert isinstance(exc, RequestValidationError)
    problems = [FieldProblem(_field(e.get("loc", ())), str(e.get("msg", "invalid value"))) for e in exc.errors()]
    return bad_request(problems)


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    return envelope(exc.status_code, None, (), exc.headers)


async def _scope_denied(_request: Request, exc: Exception) -> JSONResponse:
    if isinstance(exc, OrganisationCeasedError):  # say why, and what to do
        return envelope(403, exc.ceased.message("en"))
    return envelope(403, "no grant gives you access to data")


async def _no_release(_request: Request, _exc: Exception) -> JSONResponse:
    return envelope(503)


async def _not_found(_request: Request, _exc: Exception) -> JSONResponse:
    # One message whatever the reason: absent and "another organisation's" must look the same.
    return envelope(404, "not found (or not yours to see)")


async def _forbidden(_request: Request, exc: Exception) -> JSONResponse:
    return envelope(403, str(exc) or None)


async def _conflict(_request: Request, exc: Exception) -> JSONResponse:
    return envelope(409, str(exc) or None)


def install_error_handlers(app: FastAPI, html_page: HtmlPage | None = None) -> None:
    """The JSON envelope under /api/; with ``html_page``, an error page for everything else."""
    handlers: tuple[tuple[type[Exception], Handler], ...] = (
        (ApiError, _api_error),
        (RequestError, _request_error),
        (RequestValidationError, _validation_error),
        (StarletteHTTPException, _http_error),
        (ScopeDeniedError, _scope_denied),
        (NoReleaseError, _no_release),
        (NotFoundError, _not_found),
        (ForbiddenError, _forbidden),
        (ConflictError, _conflict),
    )
    for kind, handler in handlers:
        app.add_exception_handler(kind, _for_pages(handler, html_page) if html_page else handler)
    app.add_middleware(GuardMiddleware, html_page=html_page)


def _for_pages(handler: Handler, html_page: HtmlPage) -> Handler:
    async def either(request: Request, exc: Exception) -> Response:
        answer = await handler(request, exc)
        if request.url.path.startswith(API_PREFIX):
            return answer
        page = html_page(request, answer.status_code)
        if "allow" in answer.headers:
            page.headers["allow"] = answer.headers["allow"]
        return page

    return either


class GuardMiddleware:
    """Security headers on every response; a 500 envelope for anything no handler took.

    A plain ASGI middleware rather than an ``Exception`` handler: Starlette re-raises after its
    server-error handler, which would print the stack trace (and perhaps request values) to the
    server log. Here the exception stops, and only its type is logged.
    """

    def __init__(self, app: ASGIApp, html_page: HtmlPage | None = None) -> None:
        self.app = app
        self.html_page = html_page

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        api = str(scope.get("path", "")).startswith(API_PREFIX)
        started = False

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS:
                    headers.setdefault(name, value)
                if api:
                    headers["Cache-Control"] = "no-store"
            await send(message)

        try:
            await self.app(scope, receive, guarded_send)
        except Exception as exc:
            kind = type(exc)
            logger.error("unhandled %s.%s in %s", kind.__module__, kind.__qualname__, scope.get("method", "?"))
            if not started:  # otherwise the client sees a cut-off response; nothing more can be sent
                answer = envelope(500) if api or self.html_page is None else self._page(scope)
                await answer(scope, receive, guarded_send)

    def _page(self, scope: Scope) -> Response:
        assert self.html_page is not None
        try:
            return self.html_page(Request(scope), 500)
        except Exception:  # the error page itself failed: a plain text answer, still no trace
            return Response("500", status_code=500, media_type="text/plain")


def _field(loc: Any) -> str:
    """``("query", "lang")`` → ``lang``; ``("body", "measures", 0)`` → ``measures[0]``."""
    parts = list(loc)[1:] if loc and loc[0] in ("query", "body", "path", "header") else list(loc)
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "request"
