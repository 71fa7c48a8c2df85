"""The net under the echoes: no CPR-shaped number a request carried goes back in its answer.

The pages and the API mask what they echo where they echo it (:mod:`koes.privacy.echo`: the
address in the language links and ``next``, a refilled form, a problem text). This pure ASGI
middleware catches whatever they missed: it notes the CPR-shaped numbers in the request's path,
query and body (the body as the app reads it, up to :data:`MAX_BODY`), and masks exactly those
numbers in the answer's headers and, for text answers (HTML, JSON, CSV, plain text), in its body:
digits become ``X``, so the length and the ``Content-Length`` stay what they were. A request that
carried no such number costs one regular-expression search of its address.

It masks only what the request carried, never any other ten digits: an individual-level page of the
future may show its own citizens' CPR numbers, and a hash in the audit trail is allowed to hold ten
digits in a row. When it masks something, it logs a warning naming the route (never the value): a
place that echoes without the helper, to be fixed where it echoes.
"""

from __future__ import annotations

import logging

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from koes.privacy.echo import carried, mask_text, scrub, scrub_text

logger = logging.getLogger("koes.web")

MAX_BODY = 1024 * 1024  # more is not kept for the search (the JSON API takes 256 KiB)
TEXT_TYPES = ("text/", "application/json", "application/javascript", "application/problem+json")


class EchoGuard:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        address: list[str | bytes] = [
            str(scope.get("path", "")),
            bytes(scope.get("raw_path") or b""),
            bytes(scope["query_string"]),
        ]
        body: list[bytes] = []
        kept = 0
        numbers: frozenset[str] = frozenset()
        text = False
        pending: list[bytes] = []

        async def noting_receive() -> Message:
            nonlocal kept
            message = await receive()
            if message["type"] == "http.request" and kept < MAX_BODY:
                chunk = bytes(message.get("body", b""))[: MAX_BODY - kept]
                body.append(chunk)
                kept += len(chunk)
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal numbers, text
            if message["type"] == "http.response.start":
                numbers = carried([*address, b"".join(body)])
                if numbers:
                    headers = MutableHeaders(scope=message)
                    if _scrub_headers(headers, numbers):
                        _warn(scope)
                    text = headers.get("content-type", "").lower().startswith(TEXT_TYPES)
                await send(message)
                return
            if message["type"] != "http.response.body" or not numbers or not text:
                await send(message)
                return
            # A number may straddle two chunks: the body is searched whole, then sent in one piece.
            pending.append(bytes(message.get("body", b"")))
            if message.get("more_body", False):
                return
            whole = b"".join(pending)
            clean = scrub(whole, numbers)
            if clean != whole:
                _warn(scope)
            await send({"type": "http.response.body", "body": clean, "more_body": False})

        await self.app(scope, noting_receive, guarded_send)


def _scrub_headers(headers: MutableHeaders, numbers: frozenset[str]) -> bool:
    """Mask ``numbers`` in every header but the length; whether anything was masked."""
    changed = False
    for name in {k for k, _v in headers.items()} - {"content-length"}:
        values = headers.getlist(name)
        clean = [scrub_text(v, numbers) for v in values]
        if clean != values:
            changed = True
            del headers[name]
            for value in clean:
                headers.append(name, value)
    return changed


def _warn(scope: Scope) -> None:
    route = mask_text(str(scope.get("path", "")))
    logger.warning("masked a CPR-shaped number the request carried in the answer to %s %s", scope.get("method"), route)
