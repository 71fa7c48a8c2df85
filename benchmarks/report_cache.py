"""What a warm Standard report request costs the server: CPU time per request, from its bytes or 304.

``python -m benchmarks.report_cache DATA_DIR`` serves DATA_DIR's warehouse with ``koes serve`` in its
own process (as ``benchmarks/browser.py``: a fresh app data dir with the demo users, no pre-warming)
and asks, one request at a time over loopback as the analyst ``kbh-analytiker`` with an API token,
for every report's data: once cold (the server answers and keeps the bytes), then ``ROUNDS`` warm
requests per report (``200``, the kept bytes) and ``ROUNDS`` with ``If-None-Match`` (``304``). The
server's CPU time (user + system, all threads, from /proc) over each batch divided by its requests is
the cost per request; every one of them is authenticated, authorised and audited. Prints one JSON line.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from benchmarks.browser import _app_dir, _cpu_seconds, serve
from koes.reports.loader import default_reports

ROUNDS = 20


def _get(url: str, token: str, etag: str | None = None) -> tuple[int, str, float]:
    headers = {"Authorization": f"Bearer {token}"}
    if etag:
        headers["If-None-Match"] = etag
    began = time.perf_counter()
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=600) as response:
            response.read()
            status, tag = response.status, response.headers.get("ETag", "")
    except urllib.error.HTTPError as error:  # 304 arrives as an "error" in urllib
        status, tag = error.code, error.headers.get("ETag", "")
    return status, tag, time.perf_counter() - began


def _batch(base: str, token: str, pid: int, tags: dict[str, str] | None) -> dict[str, float]:
    reports = list(tags or default_reports().reports)
    cpu, times, statuses = _cpu_seconds(pid), [], set()
    for _ in range(ROUNDS):
        for r in reports:
            status, _, seconds = _get(f"{base}/api/v1/reports/{r}", token, (tags or {}).get(r))
            statuses.add(status)
            times.append(seconds)
    n = ROUNDS * len(reports)
    return {
        "cpu_ms_per_request": round((_cpu_seconds(pid) - cpu) * 1000 / n, 2),
        "wall_p50_ms": round(statistics.median(times) * 1000, 2),
        "status": float(statuses.pop()) if len(statuses) == 1 else -1.0,
    }


def measure(data_dir: Path) -> dict[str, Any]:
    warehouse = data_dir / "warehouse"
    out: dict[str, Any] = {"load_average": round(os.getloadavg()[0], 1), "rounds": ROUNDS}
    with tempfile.TemporaryDirectory(prefix="koes-report-cache-") as tmp:
        settings, token = _app_dir(Path(tmp), warehouse)
        with serve(settings) as (base, pid):
            tags: dict[str, str] = {}
            cpu = _cpu_seconds(pid)
            for r in default_reports().reports:
                status, tag, _ = _get(f"{base}/api/v1/reports/{r}", token)
                assert status == 200, (r, status)
                tags[r] = tag
            out["reports"] = len(tags)
            out["cold_cpu_s"] = round(_cpu_seconds(pid) - cpu, 2)
            out["warm"] = _batch(base, token, pid, None)
            out["not_modified"] = _batch(base, token, pid, tags if all(tags.values()) else None)
    return out


if __name__ == "__main__":
    print(json.dumps(measure(Path(sys.argv[1]))))
