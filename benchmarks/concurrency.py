"""Many users at once on loopback: throughput, latency percentiles and errors of ``koes serve``.

``python -m benchmarks.concurrency DATA_DIR`` serves DATA_DIR's warehouse with ``koes serve
--workers N`` (N = 1, then 2; a fresh app data dir with the demo users, no pre-warming) and lets 20,
then 100 simulated users (asyncio tasks sharing one httpx client, each with the analyst's API token)
send requests back to back for ``SECONDS``: 70 % Standard report data (``GET /api/v1/reports/{id}``,
a report drawn at random) and 30 % analyses (``POST /api/v1/analysis``, drawn from the side-by-side
benchmark's ten, answered within the analyst's scope). Every request is authenticated, authorised and
audited. Before each run every report and analysis is asked once (the server keeps their answers),
so the traffic measured is the warm traffic of a working day. Prints one JSON line.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from benchmarks.browser import _app_dir, _latest_year, serve
from benchmarks.peers import requests
from koes.reports.loader import default_reports

SECONDS = 30
USERS = (20, 100)
WORKERS = (1, 2)
REPORT_SHARE = 0.7


async def _user(
    client: httpx.AsyncClient,
    seed: int,
    until: float,
    analyses: list[dict[str, Any]],
    out: list[tuple[str, float, int]],
) -> None:
    pick = random.Random(seed)
    reports = list(default_reports().reports)
    while time.perf_counter() < until:
        began = time.perf_counter()
        if pick.random() < REPORT_SHARE:
            kind = "report"
            call = client.get(f"/api/v1/reports/{pick.choice(reports)}")
        else:
            kind = "analysis"
            call = client.post("/api/v1/analysis", json=pick.choice(analyses))
        try:
            status = (await call).status_code
        except httpx.HTTPError:
            status = 0
        out.append((kind, time.perf_counter() - began, status))


def _percentiles(times: list[float]) -> dict[str, float]:
    if len(times) < 2:
        return {"p50_ms": 0.0, "p95_ms": 0.0, "p99_ms": 0.0}
    q = statistics.quantiles(times, n=100)
    return {"p50_ms": round(q[49] * 1000), "p95_ms": round(q[94] * 1000), "p99_ms": round(q[98] * 1000)}


async def _load(url: str, token: str, users: int, analyses: list[dict[str, Any]]) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=users, max_keepalive_connections=users)
    headers = {"Authorization": f"Bearer {token}"}
    out: list[tuple[str, float, int]] = []
    async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits, timeout=120) as client:
        for report in default_reports().reports:  # each answered once: the traffic measured is warm
            await client.get(f"/api/v1/reports/{report}")
        for raw in analyses:
            await client.post("/api/v1/analysis", json=raw)
        began = time.perf_counter()
        until = began + SECONDS
        await asyncio.gather(*(_user(client, i, until, analyses, out) for i in range(users)))
        wall = time.perf_counter() - began
    result: dict[str, Any] = {
        "requests": len(out),
        "per_second": round(len(out) / wall, 1),
        "errors": sum(1 for _, _, s in out if s != 200),
        "all": _percentiles([t for _, t, _ in out]),
    }
    for kind in ("report", "analysis"):
        result[kind] = _percentiles([t for k, t, _ in out if k == kind])
    return result


def measure(data_dir: Path) -> dict[str, Any]:
    warehouse = data_dir / "warehouse"
    analyses = list(requests(_latest_year(warehouse)).values())
    out: dict[str, Any] = {"seconds": SECONDS, "runs": []}
    for workers in WORKERS:
        with tempfile.TemporaryDirectory(prefix="koes-concurrency-") as tmp:
            settings, token = _app_dir(Path(tmp), warehouse)
            with serve(settings, workers) as (url, _pid):
                for users in USERS:
                    load = round(os.getloadavg()[0], 1)
                    run = asyncio.run(_load(url, token, users, analyses))
                    out["runs"].append({"workers": workers, "users": users, "load_average": load, **run})
                    print(out["runs"][-1], file=sys.stderr)
    return out


if __name__ == "__main__":
    print(json.dumps(measure(Path(sys.argv[1]))))
