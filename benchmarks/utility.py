"""What the noise costs a reader: published figures against exact ones, on a loaded warehouse.

Every Standard report's table view (each variant's measures by municipality, latest year) and the
analysis benchmark cases are assembled once and protected twice from the same aggregates: exactly
(as for a user with individual-level rights) and with the configured disclosure control. For
cells with 20 or more units behind them (a count of 20 or more; for amounts and derived figures,
20 or more persons behind the numerator) the relative deviation ``|published − exact| / exact`` is
summarised by kind of figure: median, 95th percentile, maximum, the largest absolute change of a
count, and for standardised rates how often the exact rate lies inside the published 95 % interval
(which includes the noise's variance). ``python -m benchmarks.utility DATA_DIR`` prints the summary as JSON.
"""

from __future__ import annotations

import json
import statistics
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.analysis import AGGREGATE, cases
from koes.domain.cells import CellKey
from koes.engines.base import Row
from koes.query.assemble import Block, assemble
from koes.query.derive import inputs_of
from koes.query.plan import Plan
from koes.query.request import parse_request
from koes.query.scope import ScopedQuery
from koes.query.sql import to_sql
from koes.reports.loader import default_reports
from koes.reports.requests import ReportChoices, resolve, view_requests
from koes.semantic.members import sort_key
from koes.semantic.model import DerivedKind, Measure, Noise
from koes.services.analysis import AnalysisService
from koes.services.disclosure import ProtectedBlock, protect
from koes.settings import Settings

LARGE = 20  # cells of this many units or more are the ones a reader compares


@dataclass(frozen=True)
class Deviation:
    kind: str  # count | amount | rate | standardised
    measure: str
    exact: float
    published: float
    covered: bool | None = None  # a standardised rate: the exact value inside the published 95 % interval

    @property
    def relative(self) -> float:
        return abs(self.published - self.exact) / abs(self.exact)


def requests(service: AnalysisService) -> dict[str, dict[str, Any]]:
    """Every report's table view (all variants, latest year) and the analysis benchmark cases."""
    years = service.years()
    municipalities = sorted(service.municipalities())
    out: dict[str, dict[str, Any]] = {}
    for report in default_reports().reports.values():
        for variant in report.variants:
            chosen = resolve(report, ReportChoices(variant=variant.id), service.catalog, years, municipalities, None)
            out[f"report {report.id}/{variant.id}"] = view_requests(report, chosen, years)["table"]
    out.update(cases(max(years)))
    return out


def protected_twice(
    service: AnalysisService, raw: dict[str, Any]
) -> Iterator[tuple[Plan, ProtectedBlock, ProtectedBlock, Block]]:
    """Each block of a request, protected exactly and with the configured control, from one count."""
    opened = service._open()
    scoped = service._scoped(parse_request(raw, service.catalog), AGGREGATE, service.scope_of(AGGREGATE))

    def run(query: ScopedQuery) -> list[Row]:
        return opened.engine.execute(to_sql(query, opened.engine.dialect, pretty=False))

    rows = [opened.counting.run(q, run) for q in scoped.queries]
    weights = tuple(service._weights)
    for block in assemble(scoped.plan, rows, weights, sort_key):
        exact = protect(block, scoped.plan, opened.control, service._weights, exact=True)
        published = protect(block, scoped.plan, opened.control, service._weights, exact=False)
        yield scoped.plan, exact, published, block


def deviations(plan: Plan, exact: ProtectedBlock, published: ProtectedBlock, block: Block) -> Iterator[Deviation]:
    for measure in plan.measures:
        for cell in block.cells():
            true, shown = exact.values[measure.id].get(cell), published.values[measure.id].get(cell)
            if true is None or shown is None or not true or not _large(measure, block, cell, float(true)):
                continue
            interval = published.intervals.get(measure.id, {}).get(cell)
            covered = None if interval is None else interval[0] <= float(true) <= interval[1]
            yield Deviation(_kind(measure, block, cell), measure.id, float(true), float(shown), covered)


def _kind(measure: Measure, block: Block, cell: CellKey) -> str:
    if not measure.is_base:
        return "standardised" if measure.derived is DerivedKind.STANDARDISED_RATE else "rate"
    return "amount" if block.aggregates[measure.id][cell].noise is Noise.MAGNITUDE else "count"


def _large(measure: Measure, block: Block, cell: CellKey, exact: float) -> bool:
    if _kind(measure, block, cell) == "count":
        return exact >= LARGE
    numerator = measure.id if measure.is_base else inputs_of(measure)[0]
    aggregate = block.aggregates.get(numerator, {}).get(cell)
    return aggregate is not None and aggregate.base >= LARGE


def summary(found: list[Deviation]) -> dict[str, dict[str, float | int]]:
    out: dict[str, dict[str, float | int]] = {}
    for kind in ("count", "amount", "rate", "standardised"):
        rel = sorted(d.relative for d in found if d.kind == kind)
        if not rel:
            continue
        out[kind] = {
            "cells": len(rel),
            "median_pct": round(100 * statistics.median(rel), 3),
            "p95_pct": round(100 * rel[min(len(rel) - 1, int(0.95 * len(rel)))], 3),
            "max_pct": round(100 * rel[-1], 3),
            "unchanged_pct": round(100 * sum(r == 0 for r in rel) / len(rel), 1),
        }
        if kind == "count":
            out[kind]["max_abs"] = int(max(abs(d.published - d.exact) for d in found if d.kind == kind))
        covered = [d.covered for d in found if d.kind == kind and d.covered is not None]
        if covered:
            out[kind]["exact_in_interval_pct"] = round(100 * sum(covered) / len(covered), 1)
    return out


def measure(data_dir: Path) -> dict[str, object]:
    service = AnalysisService(Settings(data_dir=data_dir, threads=2, memory_limit="12GB"))
    found: list[Deviation] = []
    for raw in requests(service).values():
        for plan, exact, published, block in protected_twice(service, raw):
            found += deviations(plan, exact, published, block)
    result = {"year": max(service.years()), "method": service._open().control.name, "by_kind": summary(found)}
    service.close()
    return result


if __name__ == "__main__":
    print(json.dumps(measure(Path(sys.argv[1]))))
