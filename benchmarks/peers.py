"""Same cells, side by side: our whole path against hand-written SQL on DuckDB and on PostgreSQL 15.

``python -m benchmarks.peers DATA_DIR`` takes the current release of DATA_DIR's warehouse and, for
each of the ten typical analyses in ``requests``:

* runs it through ``AnalysisService.run`` as an aggregate user (plan, scope rewrite, SQL, DuckDB,
  assembly, perturbation and suppression), uncached;
* runs a hand-written query for the same cells, with the distinct person count per cell that
  disclosure control needs, on the release's DuckDB file (read-only);
* runs the same query text on a throwaway PostgreSQL 15 cluster (``benchmarks/postgres.py``) loaded
  with the same tables, indexed, analysed and tuned as a DBA would for this machine.

Before timing, every cell of the hand-written answer (DuckDB and PostgreSQL alike) is checked equal
to ours as a user with individual-level rights sees it (exact, unperturbed). Prints one JSON line.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from benchmarks.analysis import AGGREGATE, EXACT
from benchmarks.postgres import PostgresCopy
from koes.services.analysis import AnalysisService
from koes.services.disclosure import ProtectedBlock
from koes.settings import Settings

RUNS = 5
TOTAL = -1


@dataclass(frozen=True)
class Case:
    """One analysis: the request the builder sends and the hand-written query for its cells.

    The query's columns are the row keys (``rows`` of them), the column keys (``columns``), the two
    GROUPING flags (rows, columns), then one column per compared measure (``measures``), then the
    distinct persons per cell (not compared: our path computes them for disclosure control only)."""

    request: dict[str, Any]
    sql: str
    rows: int
    columns: int
    measures: tuple[str, ...]


def _period(year: int) -> dict[str, str]:
    return {"from": str(year)}


MONTH = "CAST(f.year AS INT) * 100 + f.month"


def requests(year: int) -> dict[str, dict[str, Any]]:
    """The ten analyses, as the builder sends them."""
    p = _period(year)
    return {
        "admissions by municipality × age group × month": {
            "perspective": "somatik", "measures": ["indlaeggelser"], "rows": ["kommune", "aldersgruppe"],
            "columns": ["maaned"], "period": p,
        },
        "GP contacts by municipality × age group × month": {
            "perspective": "sygesikring", "measures": ["laegekontakter"], "rows": ["kommune", "aldersgruppe"],
            "columns": ["maaned"], "period": p,
        },
        "admissions per 1,000 and standardised, by municipality": {
            "perspective": "somatik", "measures": ["indlaeggelser_pr_1000", "indlaeggelser_std"],
            "rows": ["kommune"], "period": p,
        },
        "home-care hours by municipality × age group": {
            "perspective": "pleje", "measures": ["hjemmepleje_timer"], "rows": ["kommune", "aldersgruppe"],
            "period": p,
        },
        "diabetes segment: admissions by municipality": {
            "perspective": "somatik", "measures": ["indlaeggelser"], "rows": ["kommune"], "segment": "diabetes",
            "period": p,
        },
        "prescriptions and users by municipality × ATC group": {
            "perspective": "medicin", "measures": ["recepter", "medicinbrugere"], "rows": ["kommune"],
            "columns": ["atc1"], "period": p,
        },
        "prescriptions by municipality × month": {
            "perspective": "medicin", "measures": ["recepter"], "rows": ["kommune"], "columns": ["maaned"], "period": p,
        },
        "psychiatric contacts and patients by municipality × age group": {
            "perspective": "psykiatri", "measures": ["kontakter", "patienter"], "rows": ["kommune", "aldersgruppe"],
            "period": p,
        },
        "benefit recipients by municipality × benefit type": {
            "perspective": "beskaeftigelse", "measures": ["ydelsesmodtagere"], "rows": ["kommune"],
            "columns": ["ydelsestype"], "period": p,
        },
        "benefit weeks by municipality × age group × sex": {
            "perspective": "beskaeftigelse", "measures": ["ydelsesuger"], "rows": ["kommune", "aldersgruppe"],
            "columns": ["koen"], "period": p,
        },
    }


def _median(fn: Callable[[], object], runs: int = RUNS) -> float:
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        fn()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def _equal(a: object, b: object) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) or isinstance(b, float):
        return abs(float(str(a)) - float(str(b))) <= 1e-6 * max(1.0, abs(float(str(b))))
    return bool(a == b) or float(str(a)) == float(str(b))


def check(case: Case, ours: ProtectedBlock, rows: Sequence[tuple[Any, ...]]) -> int:
    """Compare every cell of a hand-written answer with ours (exact figures); the cells compared.

    Every cell the hand-written query returns must be ours with the same numbers, and every cell of
    ours with a number must be among them (a cell with no rows is empty in ours, absent in SQL)."""
    problems: list[str] = []
    seen: set[tuple[int, int]] = set()
    k = case.rows + case.columns
    for row in rows:
        row_key, col_key = tuple(row[: case.rows]), tuple(row[case.rows : k])
        g_rows, g_cols = row[k], row[k + 1]
        try:
            r = TOTAL if g_rows else ours.row_keys.index(row_key)
            c = TOTAL if g_cols or not case.columns else ours.col_keys.index(col_key)
        except ValueError:
            problems.append(f"cell {row_key} × {col_key} is not in ours")
            continue
        seen.add((r, c))
        for i, measure in enumerate(case.measures):
            mine, theirs = ours.values[measure].get((r, c)), row[k + 2 + i]
            if not _equal(theirs, mine):
                problems.append(f"{measure} at {row_key} × {col_key}: hand-written {theirs}, ours {mine}")
    for measure in case.measures:
        for cell, value in ours.values[measure].items():
            if value not in (None, 0) and cell not in seen:
                problems.append(f"{measure} at {cell}: ours {value}, not in the hand-written answer")
    if problems:
        raise AssertionError(f"{len(problems)} cells differ, first: " + "; ".join(problems[:5]))
    return len(seen)
