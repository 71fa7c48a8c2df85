"""What consistent perturbation costs an analysis request, against suppression alone.

The perturbed path differs from the suppression-only one in two places: the SQL carries the
record-key sums and largest contributions (``k_``, ``kn_``, ``x_`` columns, decision 0006), and
disclosure control looks the noise up instead of suppressing. Both are measured on the benchmark
analyses (``benchmarks.analysis.cases``), interleaved so that other load on the machine hits both
sides alike:

* *perturbed* and *suppression*: the median uncached run through ``AnalysisService.run`` with each
  disclosure method (the suppression run still computes the key columns, which it does not need);
* *SQL with keys* and *SQL without*: the median of the request's scoped SQL on DuckDB as built, and
  with the key columns removed from its outer select.

The cost is perturbed ÷ (suppression − (SQL with keys − SQL without)) − 1: the perturbed path
against one that neither computes keys nor adds noise. ``python -m benchmarks.perturbation_cost
DATA_DIR`` prints JSON.
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
import sqlglot
import sqlglot.expressions as exp

from benchmarks.analysis import AGGREGATE, cases
from koes.services.analysis import AnalysisService
from koes.settings import Settings

RUNS = 9
KEY_PREFIXES = ("k_", "kn_", "x_")


def _interleaved(first: Callable[[], object], second: Callable[[], object], runs: int = RUNS) -> tuple[float, float]:
    a: list[float] = []
    b: list[float] = []
    for _ in range(runs):
        for fn, times in ((first, a), (second, b)):
            began = time.perf_counter()
            fn()
            times.append(time.perf_counter() - began)
    return statistics.median(a), statistics.median(b)


def without_keys(sql: str) -> str:
    """The query with the outer select's record-key columns removed (what suppression needs)."""
    tree = sqlglot.parse_one(sql, read="duckdb")
    assert isinstance(tree, exp.Select)
    tree.set("expressions", [c for c in tree.expressions if not str(c.alias_or_name).startswith(KEY_PREFIXES)])
    return tree.sql(dialect="duckdb")


def _runner(con: duckdb.DuckDBPyConnection, statements: list[str]) -> Callable[[], object]:
    return lambda: [con.execute(s).fetchall() for s in statements]


def measure(data_dir: Path) -> dict[str, object]:
    def service(method: str) -> AnalysisService:
        return AnalysisService(Settings(data_dir=data_dir, threads=2, memory_limit="12GB", disclosure_method=method))

    perturbed, suppressed = service("perturbation"), service("suppression")
    year = max(perturbed.years())
    out: dict[str, Any] = {"year": year, "load_average": round(os.getloadavg()[0], 1), "cases": {}}
    con = duckdb.connect(str(perturbed.release().serving_file), read_only=True)
    con.execute("SET threads = 2")
    for name, request in cases(year).items():
        perturbed.run(request, AGGREGATE)
        suppressed.run(request, AGGREGATE)

        def fresh(svc: AnalysisService, request: dict[str, Any] = request) -> Callable[[], object]:
            def run() -> None:
                svc.clear_cache()
                svc.run(request, AGGREGATE)

            return run

        full_p, full_s = _interleaved(fresh(perturbed), fresh(suppressed))
        keyed = perturbed.sql(request, AGGREGATE)
        plain = [without_keys(s) for s in keyed]
        assert plain != keyed, f"{name}: no record-key columns to remove"
        sql_k, sql_p = _interleaved(_runner(con, keyed), _runner(con, plain))
        baseline = full_s - (sql_k - sql_p)
        out["cases"][name] = {
            "perturbed_s": round(full_p, 3),
            "suppression_s": round(full_s, 3),
            "sql_with_keys_s": round(sql_k, 3),
            "sql_without_keys_s": round(sql_p, 3),
            "cost_vs_suppression": round(full_p / full_s - 1, 3),
            "cost_vs_no_keys": round(full_p / baseline - 1, 3),
        }
    out["load_average_after"] = round(os.getloadavg()[0], 1)
    con.close()
    perturbed.close()
    suppressed.close()
    return out


if __name__ == "__main__":
    print(json.dumps(measure(Path(sys.argv[1])), indent=1))
