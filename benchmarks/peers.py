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
from functools import partial
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
            "perspective": "somatik",
            "measures": ["indlaeggelser"],
            "rows": ["kommune", "aldersgruppe"],
            "columns": ["maaned"],
            "period": p,
        },
        "GP contacts by municipality × age group × month": {
            "perspective": "sygesikring",
            "measures": ["laegekontakter"],
            "rows": ["kommune", "aldersgruppe"],
            "columns": ["maaned"],
            "period": p,
        },
        "admissions per 1,000 and standardised, by municipality": {
            "perspective": "somatik",
            "measures": ["indlaeggelser_pr_1000", "indlaeggelser_std"],
            "rows": ["kommune"],
            "period": p,
        },
        "home-care hours by municipality × age group": {
            "perspective": "pleje",
            "measures": ["hjemmepleje_timer"],
            "rows": ["kommune", "aldersgruppe"],
            "period": p,
        },
        "diabetes segment: admissions by municipality": {
            "perspective": "somatik",
            "measures": ["indlaeggelser"],
            "rows": ["kommune"],
            "segment": "diabetes",
            "period": p,
        },
        "prescriptions and users by municipality × ATC group": {
            "perspective": "medicin",
            "measures": ["recepter", "medicinbrugere"],
            "rows": ["kommune"],
            "columns": ["atc1"],
            "period": p,
        },
        "prescriptions by municipality × month": {
            "perspective": "medicin",
            "measures": ["recepter"],
            "rows": ["kommune"],
            "columns": ["maaned"],
            "period": p,
        },
        "psychiatric contacts and patients by municipality × age group": {
            "perspective": "psykiatri",
            "measures": ["kontakter", "patienter"],
            "rows": ["kommune", "aldersgruppe"],
            "period": p,
        },
        "benefit recipients by municipality × benefit type": {
            "perspective": "beskaeftigelse",
            "measures": ["ydelsesmodtagere"],
            "rows": ["kommune"],
            "columns": ["ydelsestype"],
            "period": p,
        },
        "benefit weeks by municipality × age group × sex": {
            "perspective": "beskaeftigelse",
            "measures": ["ydelsesuger"],
            "rows": ["kommune", "aldersgruppe"],
            "columns": ["koen"],
            "period": p,
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


def _sets(rows: str, columns: str = "") -> str:
    if not columns:
        return f"GROUPING SETS (({rows}), ())"
    return f"GROUPING SETS (({rows}, {columns}), ({rows}), ({columns}), ())"


def _flags(rows: str, columns: str = "") -> str:
    return f"GROUPING({rows}), " + (f"GROUPING({columns})" if columns else "1")


def _crosstab(select: str, source: str, where: str, rows: str, columns: str = "") -> str:
    keys = f"{rows}, {columns}" if columns else rows
    return (
        f"SELECT {keys}, {_flags(rows, columns)}, {select} FROM {source} WHERE {where} GROUP BY {_sets(rows, columns)}"
    )


def _standardised(year: int, weights: Mapping[tuple[int, str], float]) -> str:
    """Admissions per 1,000 citizen-years and directly standardised (5-year bands by sex), by municipality."""
    values = ", ".join(f"({sex}, '{band}', {w!r})" for (sex, band), w in weights.items())
    return f"""
WITH adm AS (
  SELECT f.kommunekode, f.sex, a.band_fem_aar AS band, sum(f.admissions) AS admissions,
         count(CASE WHEN f.admissions > 0 THEN 1 END) AS persons
  FROM person_year_hospital f JOIN dim_age a ON a.age = f.age
  WHERE f.year = {year} AND f.sector = 'somatik' AND f.kommunekode IS NOT NULL
  GROUP BY GROUPING SETS ((f.kommunekode, f.sex, a.band_fem_aar), (f.sex, a.band_fem_aar))),
pop AS (
  SELECT p.kommunekode, p.sex, a.band_fem_aar AS band, sum(p.persons) / 12.0 AS years
  FROM population_month p JOIN dim_age a ON a.age = p.age
  WHERE p.year = {year} AND p.kommunekode IS NOT NULL
  GROUP BY GROUPING SETS ((p.kommunekode, p.sex, a.band_fem_aar), (p.sex, a.band_fem_aar))),
w (sex, band, weight) AS (VALUES {values})
SELECT pop.kommunekode, CASE WHEN pop.kommunekode IS NULL THEN 1 ELSE 0 END, 1,
       1000.0 * coalesce(sum(adm.admissions), 0) / sum(pop.years),
       sum(w.weight * 1000.0 * coalesce(adm.admissions, 0) / pop.years) / sum(w.weight),
       sum(adm.persons)
FROM pop JOIN w ON w.sex = pop.sex AND w.band = pop.band
LEFT JOIN adm ON adm.kommunekode IS NOT DISTINCT FROM pop.kommunekode AND adm.sex = pop.sex AND adm.band = pop.band
WHERE pop.years > 0
GROUP BY pop.kommunekode
"""


def cases(year: int, weights: Mapping[tuple[int, str], float]) -> dict[str, Case]:
    """The ten analyses with their hand-written queries (one text for DuckDB and PostgreSQL)."""
    raw = requests(year)
    month = "CAST(f.year AS INT) * 100 + f.month"
    k_age = "f.kommunekode, a.band_koes"
    aged = "{} f LEFT JOIN dim_age a ON a.age = f.age"
    y = f"f.year = {year} AND f.kommunekode IS NOT NULL"
    sqls = [
        (
            _crosstab(
                "count(*), count(DISTINCT f.person_id)",
                aged.format("stays"),
                f"{y} AND f.sector = 'somatik' AND f.admission",
                k_age,
                month,
            ),
            2,
            1,
            ("indlaeggelser",),
        ),
        (
            _crosstab(
                "sum(f.contacts), count(DISTINCT f.person_id)",
                aged.format("services"),
                f"{y} AND f.provider_group = 'almen_praksis' AND f.contacts <> 0",
                k_age,
                month,
            ),
            2,
            1,
            ("laegekontakter",),
        ),
        (_standardised(year, weights), 1, 0, ("indlaeggelser_pr_1000", "indlaeggelser_std")),
        (
            _crosstab(
                "sum(f.home_care_hours_delivered), count(CASE WHEN f.home_care_hours_delivered > 0 THEN 1 END), "
                "max(f.home_care_hours_delivered)",
                aged.format("person_year_care"),
                y,
                k_age,
            ),
            2,
            0,
            ("hjemmepleje_timer",),
        ),
        (
            _crosstab(
                "sum(f.admissions), count(CASE WHEN f.admissions > 0 THEN 1 END)",
                "person_year_hospital f JOIN person_year s ON s.person_id = f.person_id AND s.year = f.year",
                f"{y} AND f.sector = 'somatik' AND s.diabetes",
                "f.kommunekode",
            ),
            1,
            0,
            ("indlaeggelser",),
        ),
        (
            _crosstab(
                "sum(f.redemptions), count(DISTINCT CASE WHEN f.sales > 0 THEN f.person_id END), "
                "count(DISTINCT CASE WHEN f.redemptions <> 0 THEN f.person_id END)",
                "person_year_medicine f",
                y,
                "f.kommunekode",
                "f.atc1",
            ),
            1,
            1,
            ("recepter", "medicinbrugere"),
        ),
        (
            _crosstab(
                "sum(f.redemptions), count(DISTINCT f.person_id)",
                "prescriptions f",
                f"{y} AND f.redemptions <> 0",
                "f.kommunekode",
                month,
            ),
            1,
            1,
            ("recepter",),
        ),
        (
            _crosstab(
                "sum(f.contacts), count(DISTINCT f.person_id)",
                aged.format("person_year_hospital"),
                f"{y} AND f.sector = 'psykiatri'",
                k_age,
            ),
            2,
            0,
            ("kontakter", "patienter"),
        ),
        (
            _crosstab("count(DISTINCT f.person_id)", "benefit_weeks f", y, "f.kommunekode", "f.benefit_type"),
            1,
            1,
            ("ydelsesmodtagere",),
        ),
        (
            _crosstab(
                "sum(f.weeks), count(DISTINCT f.person_id)",
                aged.format("benefit_weeks"),
                f"{y} AND f.weeks <> 0",
                k_age,
                "f.sex",
            ),
            2,
            1,
            ("ydelsesuger",),
        ),
    ]
    return {name: Case(raw[name], sql, r, c, m) for name, (sql, r, c, m) in zip(raw, sqls, strict=True)}


TABLES = (
    "dim_age",
    "stays",
    "services",
    "person_year_hospital",
    "population_month",
    "person_year_care",
    "person_year",
    "person_year_medicine",
    "prescriptions",
    "benefit_weeks",
)


def _fetch(duck: duckdb.DuckDBPyConnection, sql: str) -> list[Any]:
    return duck.execute(sql).fetchall()


def measure(data_dir: Path) -> dict[str, Any]:
    service = AnalysisService(Settings(data_dir=data_dir, threads=2, memory_limit="4GB"))
    year = max(service.years())
    duck = duckdb.connect(str(service.release().serving_file), read_only=True)
    duck.execute("SET threads = 2")
    persons = duck.execute(f"SELECT count(*) FROM person_year WHERE year = {year}").fetchall()[0][0]
    out: dict[str, Any] = {"year": year, "persons": persons}
    results: dict[str, Any] = {}
    with PostgresCopy() as pg:
        pg.load(duck, TABLES)
        out["postgres"] = pg.version
        out["postgres_load_s"] = round(sum(pg.load_seconds.values()), 1)
        out["load_average_before"] = round(os.getloadavg()[0], 1)
        for name, case in cases(year, dict(service._weights)).items():
            exact = service.run(case.request, EXACT).blocks[0]
            cells = check(case, exact, duck.execute(case.sql).fetchall())
            check(case, exact, pg.query(case.sql))

            def ours(request: dict[str, Any] = case.request) -> None:
                service.clear_cache()
                service.run(request, AGGREGATE)

            ours()  # warms the page cache, as the hand-written queries' first runs below do
            koes = _median(ours)
            hand = _median(partial(_fetch, duck, case.sql))
            postgres = _median(partial(pg.query, case.sql))
            results[name] = {
                "cells": cells,
                "koes_s": round(koes, 4),
                "duckdb_s": round(hand, 4),
                "postgres_s": round(postgres, 4),
                "ratio_duckdb": round(koes / hand, 2),
                "postgres_over_koes": round(postgres / koes, 2),
            }
            print(name, results[name], file=sys.stderr)
    out["load_average_after"] = round(os.getloadavg()[0], 1)
    out["cases"] = results
    duck.close()
    service.close()
    return out


if __name__ == "__main__":
    print(json.dumps(measure(Path(sys.argv[1]))))
