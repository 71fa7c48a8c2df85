"""Spark and DuckDB give the same answers: every cell of every block, through the real service path.

The same analysis requests run on the DuckDB service (the serving file) and on a Spark service
(the release's Parquet copy, ``engine="spark"``); the assembled, protected results must agree on
row keys, column keys, statuses and values (exact for counts and amounts, a relative 1e-9 for
floating-point rates). A second test runs the scoped SQL of each request directly on both engines
and compares the raw rows.

Spark runs in local mode, one session for the module (about 5 s to start on 2 cores, then well
under a second per small query); the tests share one xdist worker.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
import shutil
from collections.abc import Callable, Iterator, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

# Outside CI the Spark engine is optional; in CI (`make test` installs pyspark and a JRE) a missing
# piece is a failure, not a silent skip.
if os.environ.get("CI"):
    import pyspark  # noqa: F401

    assert shutil.which("java"), "Spark needs Java: make test installs default-jre-headless"
else:
    pytest.importorskip("pyspark", reason="the Spark engine is optional: pip install -e '.[spark]'")
    if shutil.which("java") is None:  # pragma: no cover - make test installs a JRE
        pytest.skip("Spark needs Java (apt-get install default-jre-headless)", allow_module_level=True)

from pyspark.sql import SparkSession

from koes.engines.base import EngineError, Row
from koes.engines.duckdb import DuckDBEngine
from koes.engines.spark import QUICK_START_JAVA_OPTIONS, SparkEngine, local_session
from koes.privacy.access import Organisation, Principal
from koes.services.analysis import AnalysisService
from koes.services.results import AnalysisResult
from koes.services.warehouse import LoadResult
from koes.settings import EngineName, Settings

pytestmark = pytest.mark.xdist_group("spark")

REL_TOL = 1e-9
OLD = ["65-74", "75-84", "85+"]
MONTHS = {"from": "2023-03", "to": "2023-08"}

# Representative requests: every perspective, rows and columns, lookup filters, a segment, a
# month-grain period, person-year routing, rates, a share, a standardised rate, a comparison.
REQUESTS: dict[str, dict[str, Any]] = {
    "somatik_age_by_sex": {
        "perspective": "somatik",
        "measures": ["indlaeggelser", "patienter"],
        "rows": ["aldersgruppe"],
        "columns": ["koen"],
        "period": {"from": "2023", "to": "2023"},
    },
    "person_year_kommune_by_aar": {
        "perspective": "somatik",
        "measures": ["indlaeggelser"],
        "rows": ["kommune"],
        "columns": ["aar"],
    },
    "psykiatri_months": {
        "perspective": "psykiatri",
        "measures": ["kontakter", "patienter"],
        "rows": ["maaned"],
        "period": MONTHS,
    },
    "chapter_lookup_filters": {
        "perspective": "somatik",
        "measures": ["kontakter", "vaerdi_kr"],
        "rows": ["diagnosekapitel"],
        "filters": {"region": [1084], "aldersgruppe": OLD},
    },
    "rate_and_share": {
        "perspective": "somatik",
        "measures": ["indlaeggelser_pr_1000", "genindlaeggelsesandel"],
        "rows": ["region"],
        "columns": ["aar"],
    },
    "standardised_rate": {
        "perspective": "somatik",
        "measures": ["indlaeggelser_std"],
        "rows": ["region"],
        "period": {"from": "2023", "to": "2023"},
    },
    "comparison_101": {
        "perspective": "somatik",
        "measures": ["indlaeggelser"],
        "columns": ["aar"],
        "comparison": {"municipality": 101},
    },
    "prioritet_per_citizen": {
        "perspective": "somatik",
        "measures": ["indlaeggelser", "medfinansiering_pr_borger"],
        "rows": ["prioritet"],
        "filters": {"diagnosekapitel": [9, 10]},
    },
    "sygesikring_old": {
        "perspective": "sygesikring",
        "measures": ["sygesikring_kontakter", "laegekontakter", "honorar_kr"],
        "rows": ["ydergruppe"],
        "columns": ["koen"],
        "filters": {"aldersgruppe": OLD},
    },
    "medicin_diabetes": {
        "perspective": "medicin",
        "measures": ["recepter", "medicinudgift_kr", "medicinbrugere_pr_1000"],
        "rows": ["atc1"],
        "segment": "diabetes",
    },
    "pleje_hjemmepleje_65": {
        "perspective": "pleje",
        "measures": ["hjemmepleje_timer", "hjemmepleje_modtagere"],
        "rows": ["aldersgruppe_aeldre"],
        "segment": "hjemmepleje_65",
    },
    "pleje_quarters_months": {
        "perspective": "pleje",
        "measures": ["hjemmepleje_timer", "plejeboligbeboere"],
        "rows": ["kvartal"],
        "period": MONTHS,
    },
    "beskaeftigelse_by_sex": {
        "perspective": "beskaeftigelse",
        "measures": ["ydelsesuger", "ydelsesmodtagere"],
        "rows": ["ydelsestype"],
        "columns": ["koen"],
    },
    "befolkning_age_by_sex": {
        "perspective": "befolkning",
        "measures": ["borgere"],
        "rows": ["aldersgruppe"],
        "columns": ["koen"],
    },
}


# --- fixtures --------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def spark_session() -> Iterator[SparkSession]:
    session = local_session("local[2]", java_options=QUICK_START_JAVA_OPTIONS)
    yield session
    session.stop()


@pytest.fixture(scope="session")
def spark_analysis(
    small_load: LoadResult, small_settings: Settings, spark_session: SparkSession
) -> Iterator[AnalysisService]:
    service = AnalysisService(dataclasses.replace(small_settings, engine=EngineName.SPARK))
    yield service
    service.close()


Pair = tuple[AnalysisResult, AnalysisResult]
# Exact figures everywhere: what both engines counted, before any protection.
EXACT = Principal("oracle", Organisation("national"), frozenset({"individ"}))


@pytest.fixture(scope="session")
def both(analysis: AnalysisService, spark_analysis: AnalysisService) -> Callable[[str], Pair]:
    """A request's published result on DuckDB and on Spark, run once and shared by the tests below."""

    @functools.cache
    def run(name: str) -> Pair:
        principal = analysis.local_principal()
        return analysis.run(REQUESTS[name], principal), spark_analysis.run(REQUESTS[name], principal)

    return run


@pytest.fixture(scope="session")
def both_exact(analysis: AnalysisService, spark_analysis: AnalysisService) -> Callable[[str], Pair]:
    @functools.cache
    def run(name: str) -> Pair:
        return analysis.run(REQUESTS[name], EXACT), spark_analysis.run(REQUESTS[name], EXACT)

    return run


# --- comparison helpers ----------------------------------------------------------------------
def same_number(a: object, b: object) -> bool:
    """Exact for ints and decimals; a tight relative tolerance once a float is involved."""
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, bool) or isinstance(b, bool):
        return a == b
    if isinstance(a, float) or isinstance(b, float):
        assert isinstance(a, int | float | Decimal) and isinstance(b, int | float | Decimal)
        return math.isclose(float(a), float(b), rel_tol=REL_TOL, abs_tol=1e-12)
    return a == b


def same_json(a: object, b: object, path: str = "") -> list[str]:
    """Differences between two JSON-like trees (numbers compared with ``same_number``)."""
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        if set(a) != set(b):
            return [f"{path}: keys {sorted(a)} ≠ {sorted(b)}"]
        return [d for k in a for d in same_json(a[k], b[k], f"{path}.{k}")]
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path}: {len(a)} items ≠ {len(b)}"]
        return [d for i, (x, y) in enumerate(zip(a, b, strict=True)) for d in same_json(x, y, f"{path}[{i}]")]
    numbers = (int, float, Decimal)
    if isinstance(a, numbers) and isinstance(b, numbers) and not isinstance(a, bool) and not isinstance(b, bool):
        return [] if same_number(a, b) else [f"{path}: {a!r} ≠ {b!r}"]
    return [] if a == b else [f"{path}: {a!r} ≠ {b!r}"]


def result_differences(duck: AnalysisResult, spark: AnalysisResult) -> list[str]:
    problems: list[str] = []
    if len(duck.blocks) != len(spark.blocks):
        return [f"{len(duck.blocks)} blocks on DuckDB, {len(spark.blocks)} on Spark"]
    for i, (d, s) in enumerate(zip(duck.blocks, spark.blocks, strict=True)):
        where = f"block {i}"
        db, sb = d, s
        if (db.area and db.area.id) != (sb.area and sb.area.id):
            problems.append(f"{where}: area {db.area} ≠ {sb.area}")
        if db.row_keys != sb.row_keys:
            problems.append(f"{where}: row keys {db.row_keys} ≠ {sb.row_keys}")
        if db.col_keys != sb.col_keys:
            problems.append(f"{where}: column keys {db.col_keys} ≠ {sb.col_keys}")
        if problems:
            return problems
        cells = db.cells()
        for measure in duck.measures:  # published: statuses and values
            for cell in cells:
                ds, ss = d.status(measure.id, cell), s.status(measure.id, cell)
                dv, sv = d.values[measure.id].get(cell), s.values[measure.id].get(cell)
                if ds != ss or not same_number(dv, sv):
                    problems.append(f"{where} {measure.id} {cell}: {ds}/{dv!r} ≠ {ss}/{sv!r}")
        if d.exact != s.exact:
            problems.append(f"{where}: exact on one engine only")
        for measure_id, intervals in db.intervals.items():
            other = sb.intervals[measure_id]
            if set(intervals) != set(other) or not all(
                same_number(lo, other[c][0]) and same_number(hi, other[c][1]) for c, (lo, hi) in intervals.items()
            ):
                problems.append(f"{where}: confidence intervals of {measure_id} differ")
    return problems


def comparable_json(result: AnalysisResult) -> dict[str, Any]:
    out = result.to_json()
    provenance = dict(out["provenance"])
    del provenance["generated_at"], provenance["engine"]
    return {**out, "provenance": provenance}


def number_kinds(result: AnalysisResult) -> dict[str, set[str]]:
    """The Python types of each measure's values: a count is an int on every engine."""
    kinds: dict[str, set[str]] = {}
    for block in result.blocks:
        for measure_id, values in block.values.items():
            kinds.setdefault(measure_id, set()).update(type(v).__name__ for v in values.values() if v is not None)
    return kinds


def _keyed(rows: Sequence[Row]) -> dict[tuple[Any, ...], dict[str, Any]]:
    """Rows keyed by their group columns (dimensions, strata, grouping flags)."""
    out: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        key = tuple((k, row[k]) for k in sorted(row) if k[:2] in ("d_", "s_", "g_"))
        assert key not in out, f"two rows for the group {key}"
        out[key] = {k: v for k, v in row.items() if k[:2] not in ("d_", "s_", "g_")}
    return out


# --- tests -----------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(REQUESTS))
def test_every_cell_agrees(name: str, both: Callable[[str], Pair], both_exact: Callable[[str], Pair]) -> None:
    """The published (perturbed) cells agree: each engine sums the same record keys. So do the exact
    figures behind them."""
    for duck, spark in (both(name), both_exact(name)):
        assert (duck.provenance.engine, spark.provenance.engine) == ("duckdb", "spark")
        assert any(v for b in duck.blocks for values in b.values.values() for v in values.values()), "no data"
        assert result_differences(duck, spark) == []
        assert same_json(comparable_json(duck), comparable_json(spark)) == []
    assert not both(name)[0].provenance.exact and both_exact(name)[0].provenance.exact


@pytest.mark.parametrize("name", list(REQUESTS))
def test_counts_keep_their_number_kind(name: str, both: Callable[[str], Pair]) -> None:
    """Not only equal numbers: a count is an int on both engines, so JSON and exports print the same."""
    duck, spark = both(name)
    assert number_kinds(duck) == number_kinds(spark)


def test_the_requests_cover_the_catalog(analysis: AnalysisService) -> None:
    perspectives = {r["perspective"] for r in REQUESTS.values()}
    assert perspectives == set(analysis.catalog.perspectives)
    assert len(REQUESTS) >= 12


@pytest.mark.parametrize("name", ["standardised_rate", "pleje_quarters_months"])
def test_the_same_scoped_sql_returns_the_same_rows(
    name: str,
    analysis: AnalysisService,
    spark_analysis: AnalysisService,
    small_load: LoadResult,
    spark_session: SparkSession,
) -> None:
    release = small_load.release
    principal = analysis.local_principal()
    duck_sql = analysis.sql(REQUESTS[name], principal)  # to_sql(q, "duckdb") of each scoped query
    spark_sql = spark_analysis.sql(REQUESTS[name], principal)  # to_sql(q, "spark")
    assert len(duck_sql) == len(spark_sql) > 0
    duck_engine = DuckDBEngine(release.serving_file, release.id, threads=1, memory_limit="1GB")
    spark_engine = SparkEngine(release.parquet_dir, release.id, session=spark_session)
    try:
        for d_sql, s_sql in zip(duck_sql, spark_sql, strict=True):
            d_rows, s_rows = _keyed(duck_engine.execute(d_sql)), _keyed(spark_engine.execute(s_sql))
            assert d_rows, "the query returned nothing to compare"
            assert d_rows.keys() == s_rows.keys()
            for key, values in d_rows.items():
                assert values.keys() == s_rows[key].keys()
                assert all(same_number(v, s_rows[key][k]) for k, v in values.items()), (key, values, s_rows[key])
    finally:
        duck_engine.close()
        spark_engine.close()


def test_spark_sees_the_tables_duckdb_serves(small_load: LoadResult, spark_session: SparkSession) -> None:
    release = small_load.release
    duck = DuckDBEngine(release.serving_file, release.id, threads=1, memory_limit="1GB")
    spark = SparkEngine(release.parquet_dir, release.id, session=spark_session)
    try:
        assert spark.table_columns() == duck.table_columns()
    finally:
        duck.close()
        spark.close()


def test_a_failing_query_raises_a_safe_engine_error(small_load: LoadResult, spark_session: SparkSession) -> None:
    release = small_load.release
    engine = SparkEngine(release.parquet_dir, release.id, session=spark_session)
    try:
        with pytest.raises(EngineError) as raised:
            engine.execute("SELECT no_such_column FROM person_year WHERE kommunekode = 'secret-value-4711'")
        assert "Spark" in str(raised.value)
        assert "secret-value-4711" not in str(raised.value)
        assert "no_such_column" not in str(raised.value)
        with pytest.raises(EngineError) as raised:  # ANSI: a bad cast is an error, not a NULL
            engine.execute("SELECT CAST('secret-value-4711' AS INT) AS x FROM dim_region")
        assert "secret-value-4711" not in str(raised.value)
    finally:
        engine.close()


def test_engines_on_one_session_keep_their_views_apart(small_load: LoadResult, spark_session: SparkSession) -> None:
    # dim_region holds every region there has been: the five of 2007–2026 and Region Østdanmark.
    release = small_load.release
    first = SparkEngine(release.parquet_dir, release.id, session=spark_session)
    second = SparkEngine(release.parquet_dir, release.id, session=spark_session)
    try:
        assert first.execute("SELECT count(*) AS n FROM dim_region") == [{"n": 6}]
        assert second.execute("SELECT count(*) AS n FROM dim_region") == [{"n": 6}]
        first.close()  # drops the first engine's views; the second's were never shared
        assert second.execute("SELECT count(*) AS n FROM dim_region") == [{"n": 6}]
        assert "dim_region" not in {t.name for t in spark_session.catalog.listTables()}
    finally:
        second.close()


def test_partition_years_are_smallint_like_the_serving_file(
    small_load: LoadResult, spark_session: SparkSession
) -> None:
    release = small_load.release
    engine = SparkEngine(release.parquet_dir, release.id, session=spark_session)
    try:
        (row,) = engine.execute(
            "SELECT typeof(year) AS t, min(year) AS lo, max(year) AS hi FROM person_year GROUP BY typeof(year)"
        )
        assert row == {"t": "smallint", "lo": 2022, "hi": 2023}
    finally:
        engine.close()


def test_a_parquet_folder_becomes_views(tmp_path: Path, spark_session: SparkSession) -> None:
    """Year folders give a SMALLINT year back (NULL from DuckDB's default partition); an empty folder is no table."""
    rows = pa.table({"person_id": pa.array([1, 2, 3], pa.int32()), "cost": pa.array([1.5, 2.5, 4.0])})
    for year, part in (
        ("2022", rows.slice(0, 1)),
        ("2023", rows.slice(1, 1)),
        ("__HIVE_DEFAULT_PARTITION__", rows.slice(2)),
    ):
        (tmp_path / "facts" / f"year={year}").mkdir(parents=True)
        pq.write_table(part, tmp_path / "facts" / f"year={year}" / "data_0.parquet")
    (tmp_path / "empty").mkdir()
    pq.write_table(pa.table({"code": ["a", "b"]}), tmp_path / "codes.parquet")
    engine = SparkEngine(tmp_path, "test", session=spark_session)
    try:
        assert engine.table_columns() == {
            "facts": frozenset({"person_id", "cost", "year"}),
            "codes": frozenset({"code"}),
        }
        got = engine.execute("SELECT year, typeof(year) AS t, sum(cost) AS cost FROM facts GROUP BY year ORDER BY year")
        assert got == [
            {"year": None, "t": "smallint", "cost": 4.0},
            {"year": 2022, "t": "smallint", "cost": 1.5},
            {"year": 2023, "t": "smallint", "cost": 2.5},
        ]
        assert engine.execute("SELECT count(*) AS n FROM codes") == [{"n": 2}]
    finally:
        engine.close()


def test_a_cohort_gives_the_same_answers_on_both_engines(
    small_load: LoadResult, small_settings: Settings, small_extracts: Path, spark_session: SparkSession, tmp_path: Path
) -> None:
    """The cohort's population table reaches Spark as a temporary view for one query, as it reaches
    DuckDB as a registered table: the same cells, groups and months since the index date."""
    from datetime import date

    from cohort_support import InMemoryCohorts, make_cohort, residents_on

    people = residents_on(small_extracts)
    chosen = sorted(n for n, k in people.items() if k is not None)[::9][:150]
    days = [date(2023, 1 + i % 12, 1) for i in range(len(chosen))]
    groups = ["indsats" if i % 2 else "kontrol" for i in range(len(chosen))]
    cohort = make_cohort(small_settings, tmp_path, chosen, groups=groups, index_dates=days, owner=EXACT.user)
    store = InMemoryCohorts()
    store.add(dataclasses.replace(cohort, organisation=str(EXACT.organisation)))
    duck = AnalysisService(small_settings, cohorts=store)
    spark = AnalysisService(dataclasses.replace(small_settings, engine=EngineName.SPARK), cohorts=store)
    request = {
        "perspective": "somatik",
        "measures": ["kontakter", "patienter"],
        "rows": ["kohortemaaned"],
        "columns": ["kohortegruppe"],
        "filters": {"kohortemaaned": [-2, -1, 0, 1, 2]},
        "cohort": cohort.id,
        "period": {"from": "2022", "to": "2023"},
    }
    try:
        pair = duck.run(request, EXACT), spark.run(request, EXACT)
    finally:
        duck.close()
        spark.close()
    assert result_differences(*pair) == []
    assert any(pair[0].blocks[0].values["kontakter"].values())
