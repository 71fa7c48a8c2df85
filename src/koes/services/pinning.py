"""One release per request, even while a new release is published or an old one rolled back.

``AnalysisService`` reads the warehouse's ``current`` pointer whenever it opens the release, and
reopens when the pointer moved: that is how every worker process picks up a new release without a
restart. A request asks for the release several times (the years for the planner, the engine, the
disclosure control); :func:`pinned_release` makes them all the same one by pinning the first answer
to the request's thread until the request is done.

The release a request pinned stays open for it: the service does not close a replaced engine but
drops its reference, and the engine closes (DuckDB closes a connection it no longer needs when the
object goes) once the last request holding it has finished. No request ever queries a closed engine.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")


@contextmanager
def pinned_release(pin: threading.local, open_release: Callable[[], T]) -> Iterator[T]:
    """Within the block, this thread's ``pin.opened`` is the release opened at its start (nested: kept)."""
    pinned: T | None = getattr(pin, "opened", None)
    if pinned is not None:
        yield pinned
        return
    opened = open_release()
    pin.opened = opened
    try:
        yield opened
    finally:
        pin.opened = None
