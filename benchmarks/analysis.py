"""Analysis requests on a loaded warehouse, measured in their own process.

For each case: the median of five uncached runs through the whole path (plan, scope rewrite, SQL,
DuckDB, assembly, suppression), the median of cached repeats, and the median of a hand-written
DuckDB query that computes the same cells, whose numbers are checked equal to ours first.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb

from koes.privacy.access import Organisation, Principal
from koes.services.analysis import AnalysisService
from koes.settings import Settings

EXACT = Principal("benchmark", Organisation("national"), frozenset({"individ"}))
AGGREGATE = Principal("benchmark", Organisation("national"), frozenset({"aggregeret"}))
RUNS = 5

HAND_WRITTEN = """
SELECT f.kommunekode, a.band_koes, CAST(f.year AS INT) * 100 + f.month AS maaned,
       GROUPING(f.kommunekode, a.band_koes) AS g_rows, GROUPING(CAST(f.year AS INT) * 100 + f.month) AS g_cols,
       count(*) AS admissions, count(DISTINCT f.person_id) AS persons
FROM stays f LEFT JOIN dim_age a ON a.age = f.age
WHERE f.sector = 'somatik' AND f.year = {year} AND f.admission
GROUP BY GROUPING SETS ((f.kommunekode, a.band_koes, CAST(f.year AS INT) * 100 + f.month),
                        (f.kommunekode, a.band_koes), (CAST(f.year AS INT) * 100 + f.month), ())
"""


def cases(year: int) -> dict[str, dict[str, Any]]:
    period = {"from": str(year)}
    return {
        "admissions by municipality × age group × month": {
            "perspective": "somatik",
            "measures": ["indlaeggelser"],
            "rows": ["kommune", "aldersgruppe"],
            "columns": ["maaned"],
            "period": period,
        },
        "GP contacts by municipality × age group × month": {
            "perspective": "sygesikring",
            "measures": ["laegekontakter"],
            "rows": ["kommune", "aldersgruppe"],
            "columns": ["maaned"],
            "period": period,
        },
        "admissions per 1,000 and standardised, by municipality": {
            "perspective": "somatik",
            "measures": ["indlaeggelser_pr_1000", "indlaeggelser_std"],
            "rows": ["kommune"],
            "period": period,
        },
        "patients by municipality (person-year table)": {
            "perspective": "somatik",
            "measures": ["patienter", "indlaeggelser"],
            "rows": ["kommune"],
            "period": period,
        },
    }


def _median(fn: Callable[[], object], runs: int = RUNS) -> float:
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        fn()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def measure(data_dir: Path) -> dict[str, object]:
    service = AnalysisService(Settings(data_dir=data_dir, threads=2, memory_limit="12GB"))
    year = max(service.years())
    # The 1-minute load average before measuring: other work on the machine slows every figure.
    out: dict[str, object] = {"year": year, "cases": {}, "load_average": round(os.getloadavg()[0], 1)}
    results: dict[str, object] = {}
    for name, request in cases(year).items():
        service.run(request, AGGREGATE)  # opens the release; warms the page cache

        def fresh(request: dict[str, Any] = request) -> None:
            service.clear_cache()
            service.run(request, AGGREGATE)

        uncached = _median(fresh)

        def repeat(request: dict[str, Any] = request) -> None:
            service.run(request, AGGREGATE)

        cached = _median(repeat, 20)
        results[name] = {"median_s": round(uncached, 3), "cached_ms": round(cached * 1000, 2)}
    first = next(iter(cases(year)))
    hand = _hand_written(service, year, cases(year)[first])
    entry = results[first]
    assert isinstance(entry, dict)
    entry["hand_written_s"] = round(hand, 3)
    entry["ratio"] = round(entry["median_s"] / hand, 2)
    out["cases"] = results
    service.close()
    return out


def _hand_written(service: AnalysisService, year: int, request: dict[str, Any]) -> float:
    """The same cells from one hand-written query; its numbers must equal ours before it is timed."""
    release = service.release()
    con = duckdb.connect(str(release.serving_file), read_only=True)
    sql = HAND_WRITTEN.format(year=year)
    rows = con.execute(sql).fetchall()
    ours = service.run(request, EXACT).blocks[0]
    keys_r, keys_c = ours.row_keys, ours.col_keys
    for kommune, band, month, g_rows, g_cols, admissions, _persons in rows:
        r = -1 if g_rows else keys_r.index((kommune, band))
        c = -1 if g_cols else keys_c.index((month,))
        assert ours.values["indlaeggelser"][(r, c)] == admissions, (kommune, band, month)
    seconds = _median(lambda: con.execute(sql).fetchall())
    con.close()
    return seconds


if __name__ == "__main__":
    print(json.dumps(measure(Path(sys.argv[1]))))
