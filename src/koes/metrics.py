"""The service's Prometheus metrics: defined once here, counted where things happen, exposed at /metrics.

Names and labels are fixed and carry no person data: a route *template* (``/api/v1/users/{user_id}``,
never the address as typed), an engine's dialect, a reason from a closed list. With several worker
processes (``koes serve --workers N``) ``prometheus_client`` keeps each process's values in files
under ``PROMETHEUS_MULTIPROC_DIR``, which the serving parent sets before the workers start; the
exposition (:mod:`koes.web.observability`) then sums them.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import Counter, Histogram

# Seconds; from a cached answer (milliseconds) to a cold national analysis (tens of seconds).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

REQUEST_SECONDS = Histogram(
    "koes_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template, method and status.",
    ("route", "method", "status"),
    buckets=LATENCY_BUCKETS,
)
CACHE_LOOKUPS = Counter(
    "koes_analysis_cache_lookups",
    "Analyses looked up in the result cache, by outcome (hit or miss).",
    ("outcome",),
)
ENGINE_SECONDS = Histogram(
    "koes_engine_query_duration_seconds",
    "Time spent in the query engine per query, by engine.",
    ("engine",),
    buckets=LATENCY_BUCKETS,
)
AUDIT_WRITE_FAILURES = Counter(
    "koes_audit_write_failures",
    "Audit records that could not be written (the request they belong to got no answer).",
)
SIGNIN_FAILURES = Counter(
    "koes_signin_failures",
    "Refused sign-ins (wrong password or code, locked or deactivated account, single sign-on refused).",
)


def cache_lookup(hit: bool) -> None:
    CACHE_LOOKUPS.labels("hit" if hit else "miss").inc()


def audit_appended(action: str) -> None:
    """Every audit record passes here; a refused sign-in is always audited, so it is counted here too."""
    if action == "signin.failed":
        SIGNIN_FAILURES.inc()


@contextmanager
def engine_time(engine: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        ENGINE_SECONDS.labels(engine).observe(time.perf_counter() - started)
