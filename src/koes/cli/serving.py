"""``koes serve``: one process, or several uvicorn workers behind one port.

With ``--workers N`` (``KOES_WORKERS``) uvicorn starts N processes that each build the app from the
same settings (passed down as ``KOES_*`` variables, read by :mod:`koes.web.workers`). What they share
lives outside the processes: the read-only release (each reads the warehouse's ``current`` pointer
and reopens when it moves), the app database (users, sessions with their CSRF tokens, the audit chain,
written under one lock) and the secret key file. The parent has already built the app once, so the
database is migrated and the key file exists before any worker starts: they never race to make them.
Each worker keeps its own result cache (keyed by release, so it is never stale across a switch).
Metrics are summed over workers through ``PROMETHEUS_MULTIPROC_DIR``, a fresh folder per start.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from koes.settings import ENV_PREFIX, Settings
from koes.web.observability import MULTIPROC_ENV, log_config


def serve(web: Any, settings: Settings, host: str, port: int) -> None:
    """Run uvicorn: in this process for one worker, else ``settings.workers`` processes."""
    import uvicorn  # only serving needs the server
    from uvicorn.config import LOGGING_CONFIG

    logging = log_config(LOGGING_CONFIG)
    # access_log off: the app writes one JSON line per request (koes.request), without the query string.
    # Forwarded headers only from the trusted proxies (uvicorn would trust 127.0.0.1 unasked).
    proxies = [p.strip() for p in settings.trusted_proxies.split(",") if p.strip()]
    common: dict[str, Any] = {"log_level": "info", "log_config": logging, "access_log": False}
    common |= {"proxy_headers": bool(proxies), "forwarded_allow_ips": proxies or None}
    if settings.workers <= 1:
        uvicorn.run(web, host=host, port=port, **common)
        return
    metrics_dir = Path(tempfile.mkdtemp(prefix="koes-metrics-"))
    os.environ.update(settings_environment(settings))
    os.environ[MULTIPROC_ENV] = str(metrics_dir)
    try:
        uvicorn.run(
            "koes.web.workers:app",
            factory=True,
            host=host,
            port=port,
            workers=settings.workers,
            **common,
        )
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)


def settings_environment(settings: Settings) -> dict[str, str]:
    """``KOES_*`` variables that make ``Settings.from_env()`` in a worker equal ``settings``."""
    env = {}
    for field in dataclasses.fields(settings):
        value = getattr(settings, field.name)
        if value is None:
            continue
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, Path):
            text = str(value.resolve())
        else:
            text = str(value)
        env[ENV_PREFIX + field.name.upper()] = text
    return env
