"""Static assets by content: hashed addresses, precompressed bodies, cached by the browser for ever.

The pages' scripts and sheets (``koes/web/static``), Plotly.js from the installed ``plotly`` package and
its style sheets (:mod:`koes.web.plotly_css`) are served as ``/assets/<stem>.<hash>.<suffix>``, the hash
taken from the bytes. An address names one content for ever, so the answer says
``Cache-Control: public, max-age=31536000, immutable``: a browser that has it never asks again, and a
new release of a file is a new address. Templates get the address from ``asset_url(name)`` (a Jinja
global), the one place that knows it.

Bodies are compressed once per process, on first request (Plotly.js is 4.8 MB; gzip -9 takes about
0.6 s and brotli quality 9 about 1 s on this machine, so never per request): brotli when the browser
accepts it and the ``brotli`` package is installed, else gzip, else the bytes as they are.
"""

from __future__ import annotations

import gzip
import hashlib
import threading
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from koes.web.plotly_css import embedded_sheets, plotly_css, plotly_js

try:  # optional: gzip alone is enough, brotli saves another sixth on Plotly.js
    import brotli
except ImportError:  # pragma: no cover - the package is a declared dependency
    brotli = None

STATIC = Path(__file__).resolve().parent / "static"
PREFIX = "/assets/"
IMMUTABLE = "public, max-age=31536000, immutable"
MEDIA_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
BROTLI_QUALITY = 9  # 11 squeezes Plotly.js 10 % more but takes 20 s

router = APIRouter(include_in_schema=False)


@dataclass
class Asset:
    """One file: its bytes, address and media type; its compressed bodies made when first asked for."""

    name: str
    content: bytes
    media_type: str
    digest: str = field(init=False)
    _encoded: dict[str, bytes] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self.digest = hashlib.sha256(self.content).hexdigest()[:16]

    @property
    def url(self) -> str:
        stem, dot, suffix = self.name.rpartition(".")
        return f"{PREFIX}{stem}.{self.digest}{dot}{suffix}"

    def body(self, coding: str) -> bytes:
        """The content in ``coding`` (``br``, ``gzip`` or ``identity``), compressed once."""
        if coding == "identity":
            return self.content
        with self._lock:
            if coding not in self._encoded:
                self._encoded[coding] = _compress(self.content, coding)
            return self._encoded[coding]


def _compress(content: bytes, coding: str) -> bytes:
    if coding == "br":
        assert brotli is not None
        compressed: bytes = brotli.compress(content, quality=BROTLI_QUALITY)
        return compressed
    return gzip.compress(content, compresslevel=9, mtime=0)


def _sources() -> dict[str, bytes]:
    """Every asset's bytes by name."""
    out = {path.name: path.read_bytes() for path in sorted(STATIC.iterdir()) if path.suffix in MEDIA_TYPES}
    script = plotly_js()
    out["plotly.min.js"] = script.read_bytes()
    out["plotly.css"] = plotly_css(script).encode("utf-8")
    for sheet in embedded_sheets(script):
        out[f"plotly-{sheet.id}.css"] = sheet.css.encode("utf-8")
    return out


@cache
def assets() -> dict[str, Asset]:
    """Every asset by name (read and hashed once per process)."""
    return {name: Asset(name, content, MEDIA_TYPES[Path(name).suffix]) for name, content in _sources().items()}


@cache
def _by_url() -> dict[str, Asset]:
    return {a.url.removeprefix(PREFIX): a for a in assets().values()}


def asset_url(name: str) -> str:
    """The content-hashed address of the asset ``name`` (``charts.js``, ``plotly.min.js`` …)."""
    return assets()[name].url


def chosen_coding(accept_encoding: str | None) -> str:
    """The best coding the client accepts: ``br`` (when available), then ``gzip``, else ``identity``."""
    accepted: dict[str, float] = {}
    for part in (accept_encoding or "").split(","):
        coding, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if coding:
            accepted[coding.strip().lower()] = quality

    def ok(coding: str) -> bool:
        return accepted.get(coding, accepted.get("*", 0.0)) > 0

    if brotli is not None and ok("br"):
        return "br"
    return "gzip" if ok("gzip") else "identity"


@router.get("/assets/{file_name}")
async def asset(request: Request, file_name: str) -> Response:
    found = _by_url().get(file_name)
    if found is None:
        return Response(status_code=404, headers={"Cache-Control": "no-store"})
    headers = {"Cache-Control": IMMUTABLE, "ETag": f'"{found.digest}"', "Vary": "Accept-Encoding"}
    if request.headers.get("if-none-match") == headers["ETag"]:
        return Response(status_code=304, headers=headers)
    coding = chosen_coding(request.headers.get("accept-encoding"))
    if coding != "identity":
        headers["Content-Encoding"] = coding
    # Compressing Plotly.js the first time takes about a second: not on the event loop.
    body = await run_in_threadpool(found.body, coding)
    return Response(body, media_type=found.media_type, headers=headers)


def precompress_in_background() -> threading.Thread:
    """Compress every asset for brotli and gzip clients on a daemon thread, once per process.

    Started with the app, so the first visitor's browser does not wait a second or more (longer on a
    busy machine) for Plotly.js to be compressed; a request that comes sooner waits on the asset's
    lock for the same work, never does it twice.
    """
    codings = ("br", "gzip") if brotli is not None else ("gzip",)

    def work() -> None:
        for item in assets().values():
            for coding in codings:
                item.body(coding)

    thread = threading.Thread(target=work, name="koes-assets", daemon=True)
    thread.start()
    return thread
