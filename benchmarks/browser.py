"""The web app measured in a real browser: Standard reports and the analysis page.

``python -m benchmarks.browser DATA_DIR`` serves DATA_DIR's warehouse with ``koes serve`` in its own
process (a temporary app data dir with the demo users; no pre-warming, so nothing runs in the
background while we measure) and drives Debian's Chromium (``/usr/bin/chromium``; Playwright's own
browser download is never used) signed in as the analyst ``kbh-analytiker``. It prints one JSON line.

Standard reports, for each of the 11 reports:

* data request: ``GET /api/v1/reports/{id}`` by ``fetch`` in the page, timed with ``performance.now()``
  from the call to the parsed JSON. The first call answers cold; then ``DATA_ROUNDS`` warm calls
  (the server caches protected results). ``server`` is the Resource Timing wait for the first byte
  (``responseStart - requestStart``): the server's share; the rest is transfer and JSON parsing.
* page: navigation of ``/standard/{id}`` after one unrecorded warm-up round, ``PAGE_ROUNDS`` rounds
  across all reports: Navigation Timing's ``loadEventEnd`` (HTML, Plotly.js, charts drawn) and the
  first animation frame after ``svg.koes-map`` is in the document and laid out, both from navigation start.

Analysis page (``/analyse?…``, a GET form, the pivot server-rendered as ``table.pivot`` in
``section#result``): for each case, navigation start to the first animation frame with ``table.pivot``
laid out, the first time (not in the server's cache: measured before the reports, whose views may be
the same requests) and the median of ``REPEATS`` repeats (cached).
When ``/analyse`` answers 404 the part says "page missing" and the reports are still measured.
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from playwright.sync_api import Page, sync_playwright

from koes.reports.loader import default_reports
from koes.services.appdb import open_app_database
from koes.services.audit import AuditTrail
from koes.services.demo import DEMO_PASSWORD, ensure_demo_users
from koes.settings import ENV_PREFIX, Settings
from koes.storage.releases import ReleaseStore

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [  # as tests/browser/conftest.py
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ANALYST = "kbh-analytiker"
DATA_ROUNDS = 20  # warm data requests per report
PAGE_ROUNDS = 5  # measured page navigations per report (after one warm-up round)
REPEATS = 5  # cached repeats per analysis-page case
START_TIMEOUT_S = 300
RESULT_TIMEOUT_MS = 180_000
MAP, PIVOT = "svg.koes-map", "table.pivot"

# Runs before the page's own scripts: notes, per selector, the first animation frame after an
# element matching it is in the document and laid out (performance.now(): ms from navigation start).
WATCH = """
(() => {
  const selectors = SELECTORS;
  const seen = {};
  window.__koesSeen = seen;
  const check = () => {
    for (const s of selectors) {
      if (s in seen) continue;
      const e = document.querySelector(s);
      if (e && e.getClientRects().length > 0) {
        seen[s] = null;
        requestAnimationFrame(() => { seen[s] = performance.now(); });
      }
    }
    return selectors.every((s) => s in seen);
  };
  const observer = new MutationObserver(() => { if (check()) observer.disconnect(); });
  observer.observe(document, { childList: true, subtree: true });
  document.addEventListener('DOMContentLoaded', check);
})();
""".replace("SELECTORS", json.dumps([MAP, PIVOT]))

FETCH = """
async ([url, token]) => {
  performance.clearResourceTimings();
  const began = performance.now();
  const response = await fetch(url, { headers: { Authorization: 'Bearer ' + token }, cache: 'no-store' });
  const body = await response.json();
  const ms = performance.now() - began;
  const entry = performance.getEntriesByName(new URL(url, location.href).href).pop();
  return {
    status: response.status,
    ms: ms,
    server_ms: entry ? entry.responseStart - entry.requestStart : null,
    bytes: entry ? entry.encodedBodySize : null,
    keys: Object.keys(body).length,
  };
}
"""

NAVIGATION = """
(selector) => {
  const n = performance.getEntriesByType('navigation')[0];
  return {
    server_ms: n.responseStart - n.requestStart,
    html_ms: n.responseEnd,
    dom_ms: n.domContentLoadedEventEnd,
    load_ms: n.loadEventEnd,
    seen_ms: window.__koesSeen ? window.__koesSeen[selector] : null,
    bytes: n.encodedBodySize,
  };
}
"""


def analysis_cases(year: int) -> dict[str, list[tuple[str, str]]]:
    """Typical first requests on the analysis page, each distinct so that none is in the cache."""
    period = [("from", str(year)), ("to", str(year))]
    return {
        "somatic admissions by municipality": [
            ("perspective", "somatik"),
            ("measure", "indlaeggelser"),
            ("row", "kommune"),
            *period,
        ],
        "GP-sector (sygesikring) contacts by municipality": [
            ("perspective", "sygesikring"),
            ("measure", "sygesikring_kontakter"),
            ("row", "kommune"),
            *period,
        ],
        "prescriptions by age group": [("perspective", "medicin"), ("row", "aldersgruppe"), *period],
        "psychiatric contacts by sex × year": [
            ("perspective", "psykiatri"),
            ("measure", "kontakter"),
            ("row", "koen"),
            ("column", "aar"),
            *period,
        ],
    }


# The analysis page's own first request (templates, catalogue, members, the map's geometry, which
# `koes serve --prewarm` computes at start-up) is not in the cases' times: population by municipality.
PAGE_WARM_UP = [("perspective", "befolkning"), ("row", "kommune")]


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0–100), linear between the nearest ranks (numpy's default)."""
    ordered = sorted(values)
    k = (len(ordered) - 1) * q / 100
    low = int(k)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _summary(values: list[float]) -> dict[str, float | None]:
    return {"p50_ms": _ms(percentile(values, 50)), "p95_ms": _ms(percentile(values, 95))}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (its threads included), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _latest_year(warehouse: Path) -> int:
    current = ReleaseStore(warehouse).current()
    if current is None:
        raise SystemExit(f"no release in {warehouse}: run `koes load EXTRACTS_DIR` first")
    return int(str(current.manifest()["extract_period"]["end"])[:4])


def _app_dir(tmp: Path, warehouse: Path) -> tuple[Settings, str]:
    """A fresh app data dir with the demo users; returns its settings and the analyst's API token."""
    settings = Settings(data_dir=tmp, warehouse_dir=warehouse)
    database = open_app_database(settings)
    try:
        accounts = ensure_demo_users(AuditTrail(database))
    finally:
        database.dispose()
    return settings, next(a.token for a in accounts if a.username == ANALYST)


@contextmanager
def serve(settings: Settings, workers: int = 1) -> Iterator[tuple[str, int]]:
    """``koes serve --workers N`` in its own process (its CPU time is its own); yields its address and pid."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(ENV_PREFIX)}  # only the settings below
    command = [sys.executable, "-c", "from koes.cli.main import main; main()", "--data-dir", str(settings.data_dir)]
    command += ["serve", "--warehouse", str(settings.warehouse), "--port", str(port), "--no-prewarm"]
    command += ["--workers", str(workers)]
    log_path = settings.data_dir / "serve.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"koes serve did not start:\n{log_path.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{url}/login", timeout=5) as answer:
                    if answer.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.2)
        yield url, process.pid
    finally:
        process.terminate()  # uvicorn's parent stops its workers
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def sign_in(page: Page) -> None:
    page.goto("/login?next=/")
    page.get_by_label("Brugernavn").fill(ANALYST)
    page.get_by_label("Adgangskode").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log ind").click()
    page.wait_for_url("**/", timeout=60_000)


def _fetch(page: Page, url: str, token: str) -> dict[str, Any]:
    result: dict[str, Any] = page.evaluate(FETCH, [url, token])
    if result["status"] != 200:
        raise RuntimeError(f"{url} answered {result['status']}")
    return result


def _navigate(page: Page, path: str, selector: str) -> dict[str, Any]:
    """Navigate; returns the status and, when ``selector`` appears, the page's own timings."""
    response = page.goto(path, wait_until="load", timeout=RESULT_TIMEOUT_MS)
    status = response.status if response is not None else 0
    if status != 200:
        return {"status": status}
    page.wait_for_selector(selector, state="visible", timeout=RESULT_TIMEOUT_MS)
    page.wait_for_function(f"window.__koesSeen && typeof window.__koesSeen[{json.dumps(selector)}] === 'number'")
    timings: dict[str, Any] = page.evaluate(NAVIGATION, selector)
    return {"status": status, **timings}


def measure_reports(page: Page, token: str, server_pid: int) -> dict[str, Any]:
    reports = list(default_reports().reports)
    per: dict[str, dict[str, Any]] = {r: {} for r in reports}
    cpu = _cpu_seconds(server_pid)
    for r in reports:  # the first request answers cold and fills the server's cache
        first = _fetch(page, f"/api/v1/reports/{r}", token)
        per[r]["cold_ms"] = _ms(first["ms"])
    cold_cpu = _cpu_seconds(server_pid) - cpu

    data: dict[str, list[dict[str, Any]]] = {r: [] for r in reports}
    cpu = _cpu_seconds(server_pid)
    for _ in range(DATA_ROUNDS):
        for r in reports:
            data[r].append(_fetch(page, f"/api/v1/reports/{r}", token))
    warm_cpu_ms = (_cpu_seconds(server_pid) - cpu) * 1000 / (DATA_ROUNDS * len(reports))

    for r in reports:  # warm-up round: the map's geometry, Plotly.js in the browser cache
        _navigate(page, f"/standard/{r}", MAP)
    pages: dict[str, list[dict[str, Any]]] = {r: [] for r in reports}
    for _ in range(PAGE_ROUNDS):
        for r in reports:
            nav = _navigate(page, f"/standard/{r}", MAP)
            if nav["status"] != 200:
                raise RuntimeError(f"/standard/{r} answered {nav['status']}")
            pages[r].append(nav)

    for r in reports:
        per[r]["data"] = _summary([d["ms"] for d in data[r]])
        per[r]["data_server_p50_ms"] = _ms(statistics.median(d["server_ms"] for d in data[r]))
        per[r]["data_kb"] = round(data[r][0]["bytes"] / 1000, 1)
        per[r]["page_load"] = _summary([p["load_ms"] for p in pages[r]])
        per[r]["page_server_p50_ms"] = _ms(statistics.median(p["server_ms"] for p in pages[r]))
        per[r]["map"] = _summary([p["seen_ms"] for p in pages[r]])
    every_data = [d["ms"] for r in reports for d in data[r]]
    every_page = [p for r in reports for p in pages[r]]
    return {
        "data_rounds": DATA_ROUNDS,
        "page_rounds": PAGE_ROUNDS,
        "server_cpu_cold_s": round(cold_cpu, 2),
        "server_cpu_per_warm_request_ms": round(warm_cpu_ms, 1),
        "all": {
            "cold_max_ms": max(float(per[r]["cold_ms"]) for r in reports),
            "data": _summary(every_data),
            "data_server_p50_ms": _ms(statistics.median(d["server_ms"] for r in reports for d in data[r])),
            "page_load": _summary([p["load_ms"] for p in every_page]),
            "page_server_p50_ms": _ms(statistics.median(p["server_ms"] for p in every_page)),
            "map": _summary([p["seen_ms"] for p in every_page]),
        },
        "reports": per,
    }


def measure_analysis_page(page: Page, year: int) -> dict[str, Any]:
    began = time.perf_counter()
    response = page.goto(
        "/analyse?" + urlencode([*PAGE_WARM_UP, ("from", year), ("to", year)]), timeout=RESULT_TIMEOUT_MS
    )
    warm_up_ms = (time.perf_counter() - began) * 1000
    status = response.status if response is not None else 0
    if status == 404:
        return {"status": "page missing", "note": "/analyse answered 404"}
    cases: dict[str, Any] = {}
    for name, params in analysis_cases(year).items():
        path = "/analyse?" + urlencode(params)
        try:
            first = _navigate(page, path, PIVOT)
            if first["status"] != 200:
                cases[name] = {"url": path, "status": first["status"]}
                continue
            repeats = [_navigate(page, path, PIVOT) for _ in range(REPEATS)]
        except Exception as error:  # a case that fails is reported, the others are still measured
            shown = page.locator("h1, [role=alert]").all_text_contents()
            message = f"{type(error).__name__}: {str(error).splitlines()[0]}; the page shows {shown}"
            cases[name] = {"url": path, "error": message}
            continue
        cases[name] = {
            "url": path,
            "first_ms": _ms(first["seen_ms"]),
            "first_server_ms": _ms(first["server_ms"]),
            "first_load_ms": _ms(first["load_ms"]),
            "repeat_ms": _ms(statistics.median(r["seen_ms"] for r in repeats)),
            "repeat_server_ms": _ms(statistics.median(r["server_ms"] for r in repeats)),
        }
    return {"status": "ok", "repeats": REPEATS, "warm_up": {"status": status, "ms": _ms(warm_up_ms)}, "cases": cases}


def measure(data_dir: Path) -> dict[str, Any]:
    if not CHROMIUM.exists():
        raise SystemExit(f"{CHROMIUM} is missing: make chromium (Debian's chromium)")
    warehouse = Settings(data_dir=data_dir).warehouse
    year = _latest_year(warehouse)
    out: dict[str, Any] = {"year": year, "load_average": round(os.getloadavg()[0], 1)}
    with tempfile.TemporaryDirectory(prefix="koes-browser-bench-") as tmp:
        settings, token = _app_dir(Path(tmp), warehouse)
        with serve(settings) as (url, pid), sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            out["chromium"] = browser.version
            try:
                context = browser.new_context(base_url=url, locale="da-DK")
                context.add_init_script(WATCH)
                page = context.new_page()
                sign_in(page)
                # The analysis page first: its requests must not be in the cache, and a report's view may be one.
                out["analysis_page"] = measure_analysis_page(page, year)
                out["reports"] = measure_reports(page, token, pid)
                context.close()
            finally:
                browser.close()
    return out


if __name__ == "__main__":
    print(json.dumps(measure(Path(sys.argv[1]))))
