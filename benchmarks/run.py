"""Run the benchmarks and write docs/benchmarks.md.

``python -m benchmarks.run [small|tenth|national|all]`` (``make bench`` runs ``all``). For each scale a
synthetic Denmark is generated, loaded into a fresh warehouse and queried; each step runs in a
fresh process so its peak memory is its own. The report names the machine, the scale and the command.

``python -m benchmarks.run analysis DATA_DIR LABEL`` measures the analysis requests on a warehouse
that is already loaded and rewrites only the analysis section of the report;
``python -m benchmarks.run browser DATA_DIR LABEL`` does the same for the in-browser section
(Standard reports and the analysis page in Chromium, ``benchmarks/browser.py``);
``python -m benchmarks.run cohorts EXTRACTS DATA_DIR LABEL`` for the cohort upload section
(a 100,000-person CSV and XLSX validated, pseudonymised and linked, ``benchmarks/cohorts.py``);
``python -m benchmarks.run requests DATA_DIR LABEL`` for the request path section (secondary
suppression alone, an analysis's overhead step by step, a warm report's server CPU, the first chart
page on a cold browser cache: ``benchmarks/suppression.py``, ``overhead.py``, ``report_cache.py``,
``cold_page.py``);
``python -m benchmarks.run peers DATA_DIR LABEL`` for the side-by-side section (ten analyses through
our path, hand-written on DuckDB and on a tuned PostgreSQL 15 copy, cells checked equal first:
``benchmarks/peers.py``);
``python -m benchmarks.run concurrency DATA_DIR LABEL`` for 20 and 100 users at once against
``koes serve --workers 1`` and ``2`` (``benchmarks/concurrency.py``).
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

DOC = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
ANALYSIS_START, ANALYSIS_END = "<!-- analysis -->", "<!-- /analysis -->"
ANALYSIS_TARGET = "median < 1 s (national), cached < 50 ms, ratio < 1.3"
BROWSER_START, BROWSER_END = "<!-- browser -->", "<!-- /browser -->"
REPORT_TARGET = "data request p95 < 200 ms warm at national scale"
ANALYSIS_PAGE_TARGET = "first result < 1.5 s"
COHORTS_START, COHORTS_END = "<!-- cohorts -->", "<!-- /cohorts -->"
COHORT_ANALYSIS_START, COHORT_ANALYSIS_END = "<!-- cohort-analysis -->", "<!-- /cohort-analysis -->"
REQUESTS_START, REQUESTS_END = "<!-- requests -->", "<!-- /requests -->"
PEERS_START, PEERS_END = "<!-- peers -->", "<!-- /peers -->"
CONCURRENCY_START, CONCURRENCY_END = "<!-- concurrency -->", "<!-- /concurrency -->"
CONCURRENCY_TARGET = "p95 ≤ 1 s at 100 users on cached/report traffic, no errors"
PEERS_TARGET = "KØS ≤ 1.2 × hand-written DuckDB; PostgreSQL ≥ 15 × KØS"
OVERHEAD_STEPS = ("parse", "plan", "scope", "sql", "engine", "assembly", "disclosure", "audit", "serialisation")
COHORT_TARGET = "< 5 s (national scale, 2 cores)"


@dataclass(frozen=True)
class Scale:
    label: str
    persons: int
    years: str
    generation_target: str
    load_target: str
    # The side-by-side benchmark copies every table into PostgreSQL: 224 M rows at national scale,
    # which takes longer than the rest of the run; the peers are compared at the smaller scales.
    peers: bool = True


SCALES = {
    "small": Scale("1:100 scale", 60_000, "2022-2024", "well under 30 s", "–"),
    "tenth": Scale("1:10 scale", 600_000, "2024", "–", "–"),
    "national": Scale(
        "national scale",
        5_900_000,
        "2023",
        "within 10 min, peak memory under 16 GiB",
        "within 10 min, under 16 GiB",
        peers=False,
    ),
}


def _machine() -> str:
    cpu = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    system = f"{platform.system()} {platform.release()}, Python {platform.python_version()}"
    return f"{os.cpu_count()} cores ({cpu}), {mem_gib:.0f} GiB RAM, {system}"


def _run(module: str, *args: str) -> dict[str, object]:
    out = subprocess.run([sys.executable, "-m", module, *args], check=True, capture_output=True, text=True)
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main(which: str) -> None:
    names = list(SCALES) if which == "all" else [which]
    gen_rows = [
        "| case | persons | years | time (s) | peak memory (GiB) | rows written | rows/s | size (MB) | target |",
        "|---|---:|---|---:|---:|---:|---:|---:|---|",
    ]
    load_rows = [
        "| case | rows read | time (s) | peak memory (GiB) | rows/s | read | validate | conform | derive | publish "
        "| release (MB) | target |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    details = []
    analysis_rows: list[str] = []
    browser_results: list[tuple[str, dict[str, Any]]] = []
    cohort_rows: list[str] = []
    cohort_analysis_rows: list[str] = []
    request_results: list[tuple[str, dict[str, Any]]] = []
    peer_results: list[tuple[str, dict[str, Any]]] = []
    concurrency_results: list[tuple[str, dict[str, Any]]] = []
    for name in names:
        s = SCALES[name]
        with tempfile.TemporaryDirectory(prefix="koes-bench-") as tmp:
            extracts, data = Path(tmp) / "extracts", Path(tmp) / "data"
            print(f"generating {s.label}: {s.persons:,} persons, {s.years}", file=sys.stderr)
            g = _run("benchmarks.generation", str(s.persons), s.years, str(extracts))
            gen_rows.append(
                f"| {s.label} | {s.persons:,} | {s.years} | {g['seconds']} | {g['peak_rss_gib']} | {g['rows']:,} | "
                f"{g['rows_per_second']:,} | {int(str(g['bytes'])) / 1e6:,.0f} | {s.generation_target} |"
            )
            print(f"loading {s.label}", file=sys.stderr)
            ld = _run("benchmarks.load", str(extracts), str(data))
            print(f"querying {s.label}", file=sys.stderr)
            analysis_rows += _analysis_rows(s.label, _run("benchmarks.analysis", str(data)))
            print(f"browsing {s.label}", file=sys.stderr)
            browser_results.append((s.label, _run("benchmarks.browser", str(data))))
            print(f"request path at {s.label}", file=sys.stderr)
            request_results.append((s.label, _request_results(data)))
            if s.peers:
                print(f"side by side with the peers at {s.label}", file=sys.stderr)
                peer_results.append((s.label, _run("benchmarks.peers", str(data))))
            print(f"many users at once at {s.label}", file=sys.stderr)
            concurrency_results.append((s.label, _run("benchmarks.concurrency", str(data))))
            print(f"uploading a cohort to {s.label}", file=sys.stderr)
            cohort_rows += _cohort_rows(s.label, extracts, data)
            print(f"analysing a cohort of {s.label}", file=sys.stderr)
            cohort_analysis_rows.append(_cohort_analysis_row(s.label, extracts, data))
        st = ld["stage_seconds"]
        rows = ld["stage_rows"]
        assert isinstance(st, dict) and isinstance(rows, dict)
        stage_cells = " | ".join(
            f"{st[k]} s ({int(rows[k]) / max(float(st[k]), 0.01):,.0f}/s)"
            for k in ("read", "validate", "conform", "derive", "publish")
        )
        load_rows.append(
            f"| {s.label} | {ld['rows_in']:,} | {ld['seconds']} | {ld['peak_rss_gib']} | {ld['rows_per_second']:,} | "
            f"{stage_cells} | {int(str(ld['release_bytes'])) / 1e6:,.0f} | {s.load_target} |"
        )
        counts = g["row_counts"]
        assert isinstance(counts, dict)
        details += [f"### Rows per register, {s.label}", "", "| register | rows |", "|---|---:|"]
        details += [f"| {n} | {c:,} |" for n, c in counts.items()] + [""]
    lines = [
        "# Benchmarks",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {_machine()}.",
        f"Command: `make bench` (`python -m benchmarks.run {which}`). Each step runs in a fresh process; peak",
        "memory is that process's maximum resident set size. Stage cells give seconds and rows per second",
        "(rows entering the stage: extract rows for read/validate/conform, warehouse rows for derive/publish).",
        "",
        "## Synthetic Denmark (`koes generate`, Parquet)",
        "",
        *gen_rows,
        "",
        "## Warehouse load (`koes load`)",
        "",
        *load_rows,
        "",
        _analysis_section(analysis_rows, f"python -m benchmarks.run {which}"),
        "",
        _browser_section(browser_results, f"python -m benchmarks.run {which}"),
        "",
        _cohort_section(cohort_rows, f"python -m benchmarks.run {which}"),
        "",
        _cohort_analysis_section(cohort_analysis_rows, f"python -m benchmarks.run {which}"),
        "",
        _requests_section(request_results, f"python -m benchmarks.run {which}"),
        "",
        _peers_section(peer_results, f"python -m benchmarks.run {which}"),
        "",
        _concurrency_section(concurrency_results, f"python -m benchmarks.run {which}"),
        "",
        *details,
    ]
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text("\n".join(lines).rstrip() + "\n", encoding="utf-8")
    print(f"wrote {DOC}", file=sys.stderr)


def _analysis_rows(label: str, result: dict[str, object]) -> list[str]:
    cases = result["cases"]
    assert isinstance(cases, dict)
    rows = []
    for name, c in cases.items():
        hand = f"{c['hand_written_s']} s" if "hand_written_s" in c else "–"
        ratio = str(c.get("ratio", "–"))
        rows.append(
            f"| {label}, {result['year']} | {name} | {c['median_s']} | {c['cached_ms']} | {hand} | {ratio} | "
            f"{result.get('load_average', '–')} |"
        )
    return rows


def _analysis_section(rows: list[str], command: str) -> str:
    return "\n".join(
        [
            ANALYSIS_START,
            "## Analysis requests (`AnalysisService.run`, DuckDB)",
            "",
            f"Command: `{command}`. Whole path: plan, scope rewrite, SQL, DuckDB, assembly, suppression. Median of 5",
            "uncached runs after one warm-up, median of 20 cached repeats, and a hand-written DuckDB query for the",
            f"same cells (checked equal first). Target: {ANALYSIS_TARGET}.",
            "",
            "| warehouse | request | median (s) | cached (ms) | hand-written | ratio | load avg. before |",
            "|---|---|---:|---:|---:|---:|---:|",
            *rows,
            ANALYSIS_END,
        ]
    )


def _replace_section(start: str, end: str, section: str) -> None:
    """Rewrite the part of the report between ``start`` and ``end`` (markers included), or append it."""
    text = DOC.read_text(encoding="utf-8")
    if start in text:
        before, rest = text.split(start, 1)
        after = rest.split(end, 1)[1]
        text = before + section + after
    else:
        text = text.rstrip() + "\n\n" + section + "\n"
    DOC.write_text(text, encoding="utf-8")
    print(f"wrote {DOC}", file=sys.stderr)


def analysis_only(data_dir: Path, label: str) -> None:
    rows = _analysis_rows(label, _run("benchmarks.analysis", str(data_dir)))
    section = _analysis_section(rows, f"python -m benchmarks.run analysis DATA_DIR '{label}'")
    _replace_section(ANALYSIS_START, ANALYSIS_END, section)


def _ms(value: object) -> str:
    return "–" if value is None else f"{float(str(value)):,.0f}"


def _browser_section(results: list[tuple[str, dict[str, Any]]], command: str) -> str:
    report_rows, page_rows, notes = [], [], []
    for label, r in results:
        reports = r["reports"]
        where = f"{label}, {r['year']}"
        notes.append(
            f"- {where}: Chromium {r['chromium']}; server CPU {reports['server_cpu_per_warm_request_ms']} ms per "
            f"warm data request ({reports['server_cpu_cold_s']} s for the 11 cold ones); load average before "
            f"{r['load_average']}."
        )
        for name, c in [("**all 11 reports**", reports["all"]), *reports["reports"].items()]:
            cold = f"max {_ms(c['cold_max_ms'])}" if "cold_max_ms" in c else _ms(c["cold_ms"])
            report_rows.append(
                f"| {where} | {name} | {cold} | {_ms(c['data']['p50_ms'])} | {_ms(c['data']['p95_ms'])} | "
                f"{_ms(c['data_server_p50_ms'])} | {_ms(c['page_load']['p50_ms'])} | {_ms(c['page_load']['p95_ms'])} | "
                f"{_ms(c['page_server_p50_ms'])} | {_ms(c['map']['p50_ms'])} | {_ms(c['map']['p95_ms'])} |"
            )
        analysis = r["analysis_page"]
        if analysis["status"] != "ok":
            page_rows.append(f"| {where} | {analysis['status']} | – | – | – | – |")
            continue
        for name, c in analysis["cases"].items():
            if "first_ms" not in c:
                problem = c.get("error") or f"answered {c.get('status')}"
                page_rows.append(f"| {where} | {name} (`{c['url']}`): {problem} | – | – | – | – |")
                continue
            page_rows.append(
                f"| {where} | {name} (`{c['url']}`) | {_ms(c['first_ms'])} | {_ms(c['first_server_ms'])} | "
                f"{_ms(c['repeat_ms'])} | {_ms(c['repeat_server_ms'])} |"
            )
    rounds = results[0][1]["reports"] if results else {"data_rounds": "–", "page_rounds": "–"}
    return "\n".join(
        [
            BROWSER_START,
            "## In the browser (`koes serve`, Chromium)",
            "",
            f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {_machine()}. Command: `{command}`",
            "(`benchmarks/browser.py`). The app runs as `koes serve --no-prewarm` in its own process over the",
            "warehouse (a fresh app database with the demo users); Debian's Chromium (headless, through Playwright)",
            "is signed in as the analyst `kbh-analytiker` (København, aggregate figures). All times in ms.",
            "",
            "### Standard reports",
            "",
            "*Data request*: `GET /api/v1/reports/{id}` by `fetch` in the page, from the call to the parsed JSON",
            "(`performance.now()`). *Cold* is each report's first request (not yet in the server's cache of",
            f"protected results); then {rounds['data_rounds']} warm requests per report, interleaved. *Server* is the",
            "browser's Resource Timing wait for the first byte (`responseStart - requestStart`), the server's share;",
            "the rest is transfer and JSON parsing. *Page*: navigation of `/standard/{id}` (warm; after one",
            f"unrecorded round), {rounds['page_rounds']} rounds across the reports: *load* is Navigation Timing's",
            "`loadEventEnd` (HTML, Plotly.js, charts drawn), *map* the first animation frame after `svg.koes-map` is",
            f"laid out, both from navigation start. Target: {REPORT_TARGET}; the page has none.",
            "",
            "| warehouse | report | cold | data p50 | data p95 | data server p50 | page load p50 | page load p95 "
            "| page server p50 | map p50 | map p95 |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
            *report_rows,
            "",
            "### Analysis page",
            "",
            "`/analyse?…` (a GET form, the pivot server-rendered as `table.pivot` in `section#result`): from",
            "navigation start to the first animation frame with `table.pivot` laid out. *First* is the request's",
            "first time (not in the server's cache: measured before the reports; the page was opened once before",
            "with another request by municipality, so the map's geometry is ready, as `--prewarm` makes it),",
            "*repeat* the median of 5 repeats (cached). *Server* is Navigation Timing's wait for the first byte;",
            "the rest is transfer, parsing and layout in the browser.",
            f"Target: {ANALYSIS_PAGE_TARGET}.",
            "",
            "| warehouse | request | first | first: server | repeat | repeat: server |",
            "|---|---|---:|---:|---:|---:|",
            *page_rows,
            "",
            *notes,
            BROWSER_END,
        ]
    )


def browser_only(data_dir: Path, label: str) -> None:
    section = _browser_section(
        [(label, _run("benchmarks.browser", str(data_dir)))], f"python -m benchmarks.run browser DATA_DIR '{label}'"
    )
    _replace_section(BROWSER_START, BROWSER_END, section)


def _cohort_rows(label: str, extracts: Path, data_dir: Path) -> list[str]:
    rows = []
    for kind in ("csv", "xlsx"):
        c = _run("benchmarks.cohorts", str(extracts), str(data_dir), kind)
        rows.append(
            f"| {label} | {kind.upper()} ({c['file_mb']} MB) | {c['rows']:,} | {c['kept']:,} | {c['refused']:,} | "
            f"{c['own_citizens']:,} | {c['seconds']} | {c['cpu_seconds']} | {c['peak_rss_gib']} | "
            f"{c['load_average']} | {COHORT_TARGET} |"
        )
    return rows


def _cohort_section(rows: list[str], command: str) -> str:
    return "\n".join(
        [
            COHORTS_START,
            "## Cohort upload (`koes cohort check`, `check_cohort_file`)",
            "",
            f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {_machine()}. Command: `{command}`",
            "(`benchmarks/cohorts.py`). A 100,000-person upload for København, drawn from the CPR extract the",
            "warehouse was loaded from: a CSV as Danish Excel saves it (UTF-8 with BOM, `;`, dashes) and an XLSX",
            "written by openpyxl (text as inline strings, heavier to parse than Excel's shared strings) with the CPR",
            "numbers as numbers (leading zeros lost) and index dates as date cells. Timed from the",
            "file on disk to the report: reading, validation, pseudonymisation, linkage to the current release.",
            "*CPU* is the process's CPU time on all threads; on a busy machine it says more than the wall clock.",
            "Where the warehouse has fewer persons than rows, persons are drawn again and refused as duplicates.",
            "",
            "| warehouse | file | rows | kept | refused | own citizens | time (s) | CPU (s) | peak memory (GiB) "
            "| load avg. before | target |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
            *rows,
            COHORTS_END,
        ]
    )


def _cohort_analysis_row(label: str, extracts: Path, data_dir: Path) -> str:
    c = _run("benchmarks.cohort_analysis", str(extracts), str(data_dir))
    return (
        f"| {label} | {c['rows']:,} | {c['kept']:,} | {c['own_citizens']:,} | {c['upload_seconds']} "
        f"({c['upload_cpu_seconds']}) | {c['profile_seconds']} ({c['profile_cpu_seconds']}) | "
        f"{c['series_seconds']} ({c['series_cpu_seconds']}) | {c['peak_rss_gib']} | {c['load_average']} | "
        f"{COHORT_TARGET} each |"
    )


def _cohort_analysis_section(rows: list[str], command: str) -> str:
    return "\n".join(
        [
            COHORT_ANALYSIS_START,
            "## A cohort from upload to figures (`CohortService.upload`, `cohort_profile`, `cohort_series`)",
            "",
            f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {_machine()}. Command: `{command}`",
            "(`benchmarks/cohort_analysis.py`). The same 100,000-row CSV as above, uploaded as a user of København",
            "holding `individ`: validated, pseudonymised, linked, guarded and kept (SQLite app database); then its",
            "profile (every figure through the one path, cold cache) and its contacts 12 months before and after",
            "the index dates, per group. Seconds on the wall clock, the process's CPU seconds in brackets.",
            "",
            "| warehouse | rows | kept | own citizens | upload (s) | profile (s) | before/after (s) "
            "| peak memory (GiB) | load avg. before | target |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
            *rows,
            COHORT_ANALYSIS_END,
        ]
    )


def cohort_analysis_only(extracts: Path, data_dir: Path, label: str) -> None:
    row = _cohort_analysis_row(label, extracts, data_dir)
    command = f"python -m benchmarks.run cohort-analysis EXTRACTS DATA_DIR '{label}'"
    _replace_section(COHORT_ANALYSIS_START, COHORT_ANALYSIS_END, _cohort_analysis_section([row], command))


def cohorts_only(extracts: Path, data_dir: Path, label: str) -> None:
    section = _cohort_section(
        _cohort_rows(label, extracts, data_dir), f"python -m benchmarks.run cohorts EXTRACTS DATA_DIR '{label}'"
    )
    _replace_section(COHORTS_START, COHORTS_END, section)


def _request_results(data_dir: Path) -> dict[str, Any]:
    return {
        "suppression": _run("benchmarks.suppression"),
        "overhead": _run("benchmarks.overhead", str(data_dir)),
        "report_cache": _run("benchmarks.report_cache", str(data_dir)),
        "cold_page": _run("benchmarks.cold_page", str(data_dir)),
    }


def _requests_section(results: list[tuple[str, dict[str, Any]]], command: str) -> str:
    sup_rows, step_rows, cache_rows, page_rows = [], [], [], []
    for label, r in results:
        sup = r["suppression"]
        for t in sup["tables"]:
            sup_rows.append(
                f"| {sup['shape'][0]} × {sup['shape'][1]}, seed {t['seed']} | {t['primary']:,} | {t['secondary']:,} "
                f"| {t['median_s']} |"
            )
        o = r["overhead"]
        for name, c in o["cases"].items():
            steps = " | ".join(str(c["steps_ms"][k]) for k in OVERHEAD_STEPS)
            step_rows.append(
                f"| {label}, {o['year']} | {name} | {steps} | **{c['outside_ms']}** | {c['whole_ms']} | "
                f"{o['load_average']} |"
            )
        rc = r["report_cache"]
        cache_rows.append(
            f"| {label} | {rc['reports']} | {rc['cold_cpu_s']} | {rc['warm']['cpu_ms_per_request']} | "
            f"{rc['warm']['wall_p50_ms']} | {rc['not_modified']['cpu_ms_per_request']} | "
            f"{rc['not_modified']['wall_p50_ms']} | {rc['load_average']} |"
        )
        cp = r["cold_page"]
        for link, m in ((k, v) for k, v in cp.items() if isinstance(v, dict)):
            page_rows.append(
                f"| {label} | {link} | {_ms(m['load_ms'])} | {_ms(m['map_ms'])} | {m['asset_kb']:,.0f} | "
                f"{m['decoded_kb']:,.0f} | {cp['chromium']} | {cp['load_average']} |"
            )
    return "\n".join(
        [
            REQUESTS_START,
            "## The request path",
            "",
            f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {_machine()}. Command: `{command}`.",
            "",
            "### Secondary suppression alone (`benchmarks/suppression.py`)",
            "",
            "`suppress` on synthetic tables shaped like a fine analysis (490 rows × 12 months with margins), median",
            "of 3. Same hidden cells before and after every change to the search (the property tests pin it).",
            "",
            "| table | primary | secondary | seconds |",
            "|---|---:|---:|---:|",
            *sup_rows,
            "",
            "### An analysis request, step by step (`benchmarks/overhead.py`)",
            "",
            "Median of 7 uncached runs per step, in ms, for an aggregate user (perturbation). *Engine* is DuckDB",
            "with the fetch of its rows; *outside* is every other step (target ≤ 20 ms); *whole* is",
            "`AnalysisService.run` uncached (no audit, no JSON).",
            "",
            "| warehouse | request | " + " | ".join(OVERHEAD_STEPS) + " | outside | whole | load avg. |",
            "|---|---|" + "---:|" * (len(OVERHEAD_STEPS) + 3),
            *step_rows,
            "",
            "### A warm Standard report request (`benchmarks/report_cache.py`)",
            "",
            "`koes serve` over loopback, one request at a time with an API token, 20 rounds over the 11 reports;",
            "server CPU (all threads) per request, and the client's wall-clock median. *Warm*: the page's kept",
            "bytes (200); *304*: with `If-None-Match`. Each is authenticated, authorised and audited.",
            "Target: under 2 ms of server CPU.",
            "",
            "| warehouse | reports | cold CPU (s) | warm CPU (ms) | warm p50 (ms) | 304 CPU (ms) | 304 p50 (ms) "
            "| load avg. |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
            *cache_rows,
            "",
            "### The first chart page on a cold browser cache (`benchmarks/cold_page.py`)",
            "",
            "A fresh Chromium context each round (empty cache), signed in, opens `/standard/noegletal` (its data",
            "already answered once by the server); median of 5. *Load*: `loadEventEnd`; *map*: first frame with",
            "the map laid out; *assets*: scripts and sheets on the wire (kB) and decoded. Target: ≤ 1 s.",
            "",
            "| warehouse | link | load (ms) | map (ms) | assets on the wire (kB) | decoded (kB) | Chromium "
            "| load avg. |",
            "|---|---|---:|---:|---:|---:|---|---:|",
            *page_rows,
            REQUESTS_END,
        ]
    )


def requests_only(data_dir: Path, label: str) -> None:
    section = _requests_section(
        [(label, _request_results(data_dir))], f"python -m benchmarks.run requests DATA_DIR '{label}'"
    )
    _replace_section(REQUESTS_START, REQUESTS_END, section)


def _peers_section(results: list[tuple[str, dict[str, Any]]], command: str) -> str:
    rows, notes = [], []
    for label, r in results:
        for name, c in r["cases"].items():
            rows.append(
                f"| {label}, {r['year']} | {name} | {c['cells']:,} | {c['koes_s']:.3f} | {c['duckdb_s']:.3f} | "
                f"{c['postgres_s']:.3f} | **{c['ratio_duckdb']}** | **{c['postgres_over_koes']}** |"
            )
        notes.append(
            f"- {label}, {r['year']} ({r['persons']:,} persons in the year): PostgreSQL {r['postgres']}, its copy "
            f"loaded, indexed and analysed in {r['postgres_load_s']} s; load average {r['load_average_before']} "
            f"before the timings, {r['load_average_after']} after."
        )
    return "\n".join(
        [
            PEERS_START,
            "## Same cells, side by side (`benchmarks/peers.py`)",
            "",
            f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {_machine()}. Command: `{command}`.",
            "",
            "Ten typical analyses of the builder, each three ways on the same release: *KØS* is",
            "`AnalysisService.run` as an aggregate user, uncached (plan, scope rewrite, SQL, DuckDB, assembly,",
            "perturbation, suppression); *DuckDB* is one hand-written query over the release's DuckDB file",
            "(read-only, 2 threads) for the same cells with their margins and the distinct persons per cell that",
            "disclosure control needs (the largest contribution too for a sum of hours); *PostgreSQL* is the same",
            "query text on a throwaway PostgreSQL cluster from Debian's binaries (`benchmarks/postgres.py`) loaded",
            "with the same tables whole (unlogged), indexed on year and month, person, municipality, `VACUUM",
            "ANALYZE`d, tuned for one analytical user (`shared_buffers` 4GB, `work_mem` 1GB, 2 parallel workers,",
            "`random_page_cost` 1.1). Before any timing every cell of both hand-written answers is checked equal to",
            "ours as a user with individual-level rights sees it (exact, unperturbed); *cells* is how many.",
            "Medians of 5 runs after one warm-up, in seconds. *Ratio* is KØS over DuckDB; *PG ÷ KØS* how many",
            f"times longer PostgreSQL takes. Targets (issue 19): {PEERS_TARGET}.",
            "",
            "| warehouse | analysis | cells | KØS (s) | DuckDB (s) | PostgreSQL (s) | ratio | PG ÷ KØS |",
            "|---|---|---:|---:|---:|---:|---:|---:|",
            *rows,
            "",
            *notes,
            PEERS_END,
        ]
    )


def peers_only(data_dir: Path, label: str) -> None:
    section = _peers_section(
        [(label, _run("benchmarks.peers", str(data_dir)))], f"python -m benchmarks.run peers DATA_DIR '{label}'"
    )
    _replace_section(PEERS_START, PEERS_END, section)


def _concurrency_section(results: list[tuple[str, dict[str, Any]]], command: str) -> str:
    rows = []
    for label, r in results:
        for c in r["runs"]:
            rows.append(
                f"| {label} | {c['workers']} | {c['users']} | {c['requests']:,} | {c['per_second']} | "
                f"{c['all']['p50_ms']:,} | {c['all']['p95_ms']:,} | {c['all']['p99_ms']:,} | "
                f"{c['report']['p50_ms']:,} | {c['report']['p95_ms']:,} | {c['analysis']['p50_ms']:,} | "
                f"{c['analysis']['p95_ms']:,} | {c['errors']} | {c['load_average']} |"
            )
    seconds = results[0][1]["seconds"] if results else "–"
    return "\n".join(
        [
            CONCURRENCY_START,
            "## Many users at once (`benchmarks/concurrency.py`)",
            "",
            f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {_machine()}. Command: `{command}`.",
            "",
            "`koes serve --workers N` over loopback (a fresh app database with the demo users, no pre-warming),",
            "simulated users as asyncio tasks on one httpx client in another process, each sending its next",
            "request as soon as the last is answered, for "
            f"{seconds} s: 70 % Standard report data (`GET /api/v1/reports/{{id}}`),",
            "30 % analyses (`POST /api/v1/analysis`, the ten of the side-by-side section), all as the analyst",
            "`kbh-analytiker` with an API token (authenticated, authorised, audited). Every report and analysis",
            "is asked once before each run, so the traffic is warm (answers kept by the server). Latencies in",
            f"ms on the client's clock; *errors* are answers other than 200. Target: {CONCURRENCY_TARGET}.",
            "",
            "| warehouse | workers | users | requests | per second | p50 | p95 | p99 | report p50 | report p95 "
            "| analysis p50 | analysis p95 | errors | load avg. before |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
            *rows,
            CONCURRENCY_END,
        ]
    )


def concurrency_only(data_dir: Path, label: str) -> None:
    section = _concurrency_section(
        [(label, _run("benchmarks.concurrency", str(data_dir)))],
        f"python -m benchmarks.run concurrency DATA_DIR '{label}'",
    )
    _replace_section(CONCURRENCY_START, CONCURRENCY_END, section)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "concurrency":
        concurrency_only(Path(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else "warehouse")
    elif len(sys.argv) > 1 and sys.argv[1] == "peers":
        peers_only(Path(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else "warehouse")
    elif len(sys.argv) > 1 and sys.argv[1] == "analysis":
        analysis_only(Path(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else "warehouse")
    elif len(sys.argv) > 1 and sys.argv[1] == "cohort-analysis":
        cohort_analysis_only(Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4] if len(sys.argv) > 4 else "warehouse")
    elif len(sys.argv) > 1 and sys.argv[1] == "cohorts":
        cohorts_only(Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4] if len(sys.argv) > 4 else "warehouse")
    elif len(sys.argv) > 1 and sys.argv[1] == "requests":
        requests_only(Path(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else "warehouse")
    elif len(sys.argv) > 1 and sys.argv[1] == "browser":
        browser_only(Path(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else "warehouse")
    else:
        main(sys.argv[1] if len(sys.argv) > 1 else "all")
