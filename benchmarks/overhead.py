"""Where an analysis request's time goes outside the engine, step by step, in its own process.

The steps are those of ``AnalysisService._run`` and ``_execute``, called in the same order on the
same objects (parse, plan, scope, SQL, engine, assembly, disclosure control), followed by the audit
record the service writes (into a throwaway app database beside the warehouse) and the JSON the API
sends (``to_json`` then the response encoder). Each step is the median over ``RUNS`` uncached runs.
*Engine* is the time inside DuckDB (with the fetch of the rows); *outside* is all the rest, the
overhead the target (≤ 20 ms) is about. The whole path through ``AnalysisService.run`` is timed too,
so the sum can be checked against it.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from starlette.responses import JSONResponse

from benchmarks.analysis import AGGREGATE, cases
from koes.engines.base import Row
from koes.query.assemble import assemble
from koes.query.planner import plan_request
from koes.query.request import parse_request
from koes.query.scope import ScopedQuery, apply_scope
from koes.query.sql import to_sql
from koes.semantic.members import sort_key
from koes.services.analysis import AnalysisService
from koes.services.appdb import open_app_database
from koes.services.audit import AuditTrail, analysis_event
from koes.services.disclosure import protect
from koes.settings import Settings

RUNS = 7
STEPS = ("parse", "plan", "scope", "sql", "engine", "assembly", "disclosure", "audit", "serialisation")


def _steps(service: AnalysisService, trail: AuditTrail, raw: dict[str, Any]) -> dict[str, float]:
    """One uncached request, step by step (seconds)."""
    took: dict[str, float] = dict.fromkeys(STEPS, 0.0)
    clock = time.perf_counter
    opened = service._open()
    began = clock()
    request = parse_request(raw, service.catalog)
    service._check_members(request.filters, opened.years)
    took["parse"], began = clock() - began, clock()
    scope = service.scope_of(AGGREGATE)
    plan = plan_request(request, service.catalog, service.plan_context(AGGREGATE))
    took["plan"], began = clock() - began, clock()
    scoped = apply_scope(plan, scope)
    took["scope"] = clock() - began

    def run(query: ScopedQuery) -> list[Row]:
        began = clock()
        sql = to_sql(query, opened.engine.dialect, pretty=False)
        took["sql"] += clock() - began
        began = clock()
        rows = opened.engine.execute(sql)
        took["engine"] += clock() - began
        return rows

    began = clock()
    rows: list[Sequence[Row]] = [opened.counting.run(q, run) for q in scoped.queries]
    counted = clock() - began
    took["assembly"] += counted - took["sql"] - took["engine"]  # the base counting's own Python
    began = clock()
    weights = tuple(service._weights)
    blocks = assemble(plan, rows, weights, sort_key, scoped.kommuner_by_area())
    took["assembly"] += clock() - began
    began = clock()
    for b in blocks:
        protect(b, plan, opened.control, service._weights, exact=scoped.exact_for(b.area))
    took["disclosure"] = clock() - began
    service.clear_cache()
    result = service.run(raw, AGGREGATE)  # the result as served, for the audit record and the JSON
    began = clock()
    trail.record(analysis_event(result, AGGREGATE))
    took["audit"] = clock() - began
    began = clock()
    JSONResponse(result.to_json("da", downloadable_only=True))
    took["serialisation"] = clock() - began
    return took


def _median(fn: Callable[[], object]) -> float:
    times = []
    for _ in range(RUNS):
        began = time.perf_counter()
        fn()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def measure(data_dir: Path) -> dict[str, object]:
    service = AnalysisService(Settings(data_dir=data_dir, threads=2, memory_limit="4GB"))
    year = max(service.years())
    out: dict[str, object] = {"year": year, "load_average": round(os.getloadavg()[0], 1), "cases": {}}
    with tempfile.TemporaryDirectory(prefix="koes-overhead-") as tmp:
        database = open_app_database(Settings(data_dir=Path(tmp)))
        trail = AuditTrail(database)
        results: dict[str, object] = {}
        for name, raw in cases(year).items():
            service.run(raw, AGGREGATE)  # opens the release, warms the page cache
            runs = [_steps(service, trail, raw) for _ in range(RUNS)]
            steps = {step: round(statistics.median(r[step] for r in runs) * 1000, 1) for step in STEPS}

            def whole(raw: dict[str, Any] = raw) -> None:
                service.clear_cache()
                service.run(raw, AGGREGATE)

            results[name] = {
                "steps_ms": steps,
                "outside_ms": round(sum(v for k, v in steps.items() if k != "engine"), 1),
                "whole_ms": round(_median(whole) * 1000, 1),
            }
        database.dispose()
    out["cases"] = results
    service.close()
    return out


if __name__ == "__main__":
    print(json.dumps(measure(Path(sys.argv[1]))))
