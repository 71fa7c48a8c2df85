"""Server logs without CPR numbers: a filter for uvicorn's loggers and handlers.

The access log writes every request line, query string included. A CPR number typed into an
address (a crafted filter value, say) would otherwise reach the log file (security property 1);
the filter masks every CPR-shaped run of digits before a record is formatted.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

from koes.domain.cpr import mask_cpr

SERVER_LOGGERS = ("uvicorn", "uvicorn.access", "uvicorn.error")


class MaskCpr(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = mask_cpr(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(mask_cpr(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: mask_cpr(v) if isinstance(v, str) else v for k, v in record.args.items()}
        return True


def install_log_masking() -> None:
    """Add the filter to the server's loggers (once), for an app served by an embedded uvicorn."""
    for name in SERVER_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, MaskCpr) for f in logger.filters):
            logger.addFilter(MaskCpr())


def uvicorn_log_config(base: dict[str, Any]) -> dict[str, Any]:
    """uvicorn's logging configuration with the filter on every handler (``koes serve``): a
    logger's filter does not see records that propagate from its children, a handler's does."""
    config = copy.deepcopy(base)
    config.setdefault("filters", {})["mask_cpr"] = {"()": MaskCpr}
    for handler in config.get("handlers", {}).values():
        handler.setdefault("filters", []).append("mask_cpr")
    return config
