"""What an operator sees of a running server: a request id, one JSON log line per request, metrics.

- **Request id.** Every answer carries ``X-Request-ID``: the caller's own (a proxy's), when it is a
  short plain token, else a new one. Every log line written while the request runs carries it too,
  so one request's lines can be found across workers and the proxy's log.
- **One line per request** on the logger ``koes.request``: the route *template*, method, status,
  duration, request id and the app user's id (a number of the app database, when the caller is
  known). Never the address as typed or its query string: a filter value may be person data.
- **Metrics** (:mod:`koes.metrics`): the request's latency by route template; the exposition for
  ``GET /metrics`` (``koes.web.api.ops``), summed over worker processes in multiprocess mode, with
  the active release.
- **Logging for** ``koes serve``: :func:`log_config` sends the product's loggers (``koes.*``) to
  standard error as JSON lines, with CPR-shaped numbers masked, beside uvicorn's own.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import REGISTRY, Collector
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from koes.domain.cpr import mask_cpr
from koes.metrics import REQUEST_SECONDS
from koes.services.warehouse import current_release_id
from koes.settings import Settings
from koes.web.logs import uvicorn_log_config

REQUEST_ID_HEADER = "X-Request-ID"
# A caller's id is kept only when it is a short token of plain characters (no spaces, no ten digits in
# a row): anything else could carry text into the log lines.
_ACCEPTED_ID = re.compile(r"[A-Za-z0-9._:-]{8,64}")
UNMATCHED = "(unmatched)"
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

request_id: ContextVar[str] = ContextVar("koes_request_id", default="")
request_log = logging.getLogger("koes.request")


def install_observability(app: FastAPI) -> None:
    """Request ids, request log lines and latency metrics for every request of ``app``."""
    app.add_middleware(RequestObservation)


def accepted_request_id(offered: str | None) -> str:
    """The caller's request id when it is safe to log and echo, else a new one."""
    if offered and _ACCEPTED_ID.fullmatch(offered) and mask_cpr(offered) == offered:
        return offered
    return uuid.uuid4().hex


class RequestObservation:
    """Pure ASGI (it must not buffer streamed downloads): request id in and out, one log line, latency."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        offered = dict(scope.get("headers") or []).get(REQUEST_ID_HEADER.lower().encode())
        rid = accepted_request_id(offered.decode("latin-1") if offered else None)
        token = request_id.set(rid)
        status = 500  # what the client gets when the app raises before answering
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = rid
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            self._observe(scope, status, time.perf_counter() - started, rid)
            request_id.reset(token)

    @staticmethod
    def _observe(scope: Scope, status: int, seconds: float, rid: str) -> None:
        route = route_template(scope)
        method = str(scope.get("method", ""))
        REQUEST_SECONDS.labels(route, method, str(status)).observe(seconds)
        fields: dict[str, Any] = {
            "route": route,
            "method": method,
            "status": status,
            "duration_ms": round(seconds * 1000, 1),
            "request_id": rid,
        }
        principal = (scope.get("state") or {}).get("principal")
        user_id = getattr(principal, "user_id", None)
        if isinstance(user_id, int):
            fields["user_id"] = user_id
        request_log.info("request", extra={"fields": fields})


def route_template(scope: Scope) -> str:
    """The matched route's path template (``/api/v1/users/{user_id}``), never the address as typed."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) and path else UNMATCHED


# --- logs -------------------------------------------------------------------------------------


class RequestIdFilter(logging.Filter):
    """Puts the current request's id on every record (empty outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", ""):
            record.request_id = request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, and a record's ``fields``."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": mask_cpr(record.getMessage()),
        }
        rid = getattr(record, "request_id", "") or request_id.get()
        if rid:
            line["request_id"] = rid
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            line.update({k: v for k, v in fields.items() if k not in line or k == "request_id"})
        if record.exc_info and record.exc_info[0] is not None:
            line["exception"] = record.exc_info[0].__name__  # the type only: a message may hold request values
        return json.dumps(line, ensure_ascii=False, default=str)


def log_config(base: dict[str, Any], level: str = "INFO") -> dict[str, Any]:
    """uvicorn's logging configuration (CPR masked on every handler) plus the product's loggers as JSON."""
    config = uvicorn_log_config(base)
    config.setdefault("formatters", {})["koes_json"] = {"()": JsonFormatter}
    config["filters"]["koes_request_id"] = {"()": RequestIdFilter}
    config["handlers"]["koes"] = {
        "class": "logging.StreamHandler",
        "formatter": "koes_json",
        "filters": ["mask_cpr", "koes_request_id"],
        "stream": "ext://sys.stderr",
    }
    config.setdefault("loggers", {})["koes"] = {"handlers": ["koes"], "level": level, "propagate": False}
    return config


# --- metrics exposition ---------------------------------------------------------------------


class ReleaseCollector(Collector):
    """``koes_release_info{release="…"} 1``: the release the warehouse points at (read at each scrape)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def collect(self) -> Any:
        family = GaugeMetricFamily("koes_release_info", "The active warehouse release.", labels=["release"])
        current = current_release_id(self.settings.warehouse)
        if current is not None:
            family.add_metric([current], 1.0)
        yield family


def metrics_exposition(settings: Settings) -> bytes:
    """The Prometheus text of every worker process (multiprocess mode) or of this one, and the release."""
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        processes = generate_latest(registry)
    else:
        processes = generate_latest(REGISTRY)
    release = CollectorRegistry()
    release.register(ReleaseCollector(settings))
    return processes + generate_latest(release)
