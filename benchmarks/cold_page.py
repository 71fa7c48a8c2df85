"""The first chart page on a cold browser cache: what it transfers and how long until it is drawn.

``python -m benchmarks.cold_page DATA_DIR`` serves DATA_DIR's warehouse with ``koes serve`` (as
``benchmarks/browser.py``) and, ``ROUNDS`` times, opens a fresh Chromium context (an empty cache),
signs in as ``kbh-analytiker`` and opens ``/standard/noegletal``, whose data the server already holds
(a first unrecorded round answers it). Recorded: Navigation Timing's ``loadEventEnd`` (HTML, Plotly.js,
charts drawn), the first frame with the map laid out, and the bytes the page's scripts and sheets took
on the wire (Resource Timing ``transferSize``) against their decoded size. Twice: over plain loopback,
and through Chromium's network emulation of a ``MBIT`` Mbit/s link with ``LATENCY_MS`` ms round trips
(a municipality's office line, where the compression matters). Prints one JSON line.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, sync_playwright

from benchmarks.browser import CHROMIUM, CHROMIUM_ARGS, MAP, WATCH, _app_dir, _navigate, serve, sign_in

ROUNDS = 5
PAGE = "/standard/noegletal"
MBIT, LATENCY_MS = 20, 20

ASSET_BYTES = """
() => performance.getEntriesByType('resource')
  .filter((e) => e.initiatorType === 'script' || e.initiatorType === 'link')
  .reduce((sum, e) => [sum[0] + e.transferSize, sum[1] + e.decodedBodySize], [0, 0])
"""


def _cold(browser: Browser, url: str, throttled: bool) -> dict[str, Any]:
    context = browser.new_context(base_url=url, locale="da-DK")
    context.add_init_script(WATCH)
    try:
        page = context.new_page()
        if throttled:
            session = context.new_cdp_session(page)
            session.send("Network.enable")
            rate = MBIT * 1_000_000 / 8
            conditions = {"offline": False, "latency": LATENCY_MS, "downloadThroughput": rate, "uploadThroughput": rate}
            session.send("Network.emulateNetworkConditions", conditions)
        sign_in(page)
        nav = _navigate(page, PAGE, MAP)
        if nav["status"] != 200:
            raise RuntimeError(f"{PAGE} answered {nav['status']}")
        wire, decoded = page.evaluate(ASSET_BYTES)
        return {
            "load_ms": nav["load_ms"],
            "map_ms": nav["seen_ms"],
            "asset_kb": wire / 1000,
            "decoded_kb": decoded / 1000,
        }
    finally:
        context.close()


def _summary(runs: list[dict[str, Any]]) -> dict[str, float]:
    return {k: round(statistics.median(r[k] for r in runs), 1) for k in runs[0]}


def measure(data_dir: Path) -> dict[str, Any]:
    out: dict[str, Any] = {"load_average": round(os.getloadavg()[0], 1), "rounds": ROUNDS, "page": PAGE}
    with tempfile.TemporaryDirectory(prefix="koes-cold-page-") as tmp:
        settings, _ = _app_dir(Path(tmp), data_dir / "warehouse")
        with serve(settings) as (url, _pid), sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            try:
                _cold(browser, url, throttled=False)  # the server answers the report once
                out["chromium"] = browser.version
                out["loopback"] = _summary([_cold(browser, url, throttled=False) for _ in range(ROUNDS)])
                out[f"{MBIT} Mbit/s, {LATENCY_MS} ms"] = _summary(
                    [_cold(browser, url, throttled=True) for _ in range(ROUNDS)]
                )
            finally:
                browser.close()
    return out


if __name__ == "__main__":
    print(json.dumps(measure(Path(sys.argv[1]))))
