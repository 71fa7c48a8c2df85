"""Disclosure bases counted from rows: exact below the threshold, a proven lower bound above it.

Runs the real SQL on an in-memory DuckDB table shaped like ``person_year_practice_total`` and
compares with plain exact counting (``BaseCounting`` without bounds).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from koes.query.bases import BaseCounting
from koes.query.plan import BaseCount
from koes.query.planner import PlanContext, plan_request
from koes.query.request import parse_request
from koes.query.scope import Scope, ScopedQuery, apply_scope, narrowed
from koes.query.sql import to_sql
from koes.semantic.model import Catalog

TABLE = "person_year_practice_total"
THRESHOLD = 5
KOMMUNER = frozenset({101, 147})
REQUEST = {
    "perspective": "sygesikring",
    "measures": ["sygesikring_kontakter", "honorar_kr"],
    "rows": ["kommune"],
    "columns": ["koen"],
    "period": {"from": "2023", "to": "2023"},
}
Fact = tuple[int, int, int, int, int, float]  # person, kommune, sex, age, contacts, fee


def _connection(facts: Sequence[Fact]) -> duckdb.DuckDBPyConnection:
    """The table with the companions the load writes: record-key sums (k_), contributing events (e_)
    and the largest contribution (x_), here for rows of one event each."""
    con = duckdb.connect()
    con.execute(
        f"CREATE TABLE {TABLE} (person_id INTEGER, year SMALLINT, kommunekode SMALLINT, sex TINYINT,"
        " age SMALLINT, contacts INTEGER, fee_kr DOUBLE, k_contacts INTEGER, e_contacts INTEGER,"
        " k_fee_kr INTEGER, e_fee_kr INTEGER, x_fee_kr DOUBLE)"
    )
    rows = [[*f, (7 * f[0]) % 65536, int(f[4] != 0), (11 * f[0]) % 65536, int(f[5] != 0), abs(f[5])] for f in facts]
    if rows:
        con.executemany(f"INSERT INTO {TABLE} VALUES (?, 2023, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    return con


def _bound(con: duckdb.DuckDBPyConnection) -> int:
    """What the load records: the most rows one person has in one year."""
    row = con.execute(f"SELECT coalesce(max(n), 1) FROM (SELECT count(*) n FROM {TABLE} GROUP BY person_id, year)")
    found = row.fetchone()
    assert found is not None
    return int(found[0])


class Recorder:
    """Runs scoped queries on DuckDB and remembers how each was counted and narrowed."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self.ran: list[ScopedQuery] = []

    def __call__(self, scoped: ScopedQuery) -> list[dict[str, Any]]:
        self.ran.append(scoped)
        cursor = self.con.execute(to_sql(scoped, "duckdb", pretty=False))
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _scoped(catalog: Catalog, context: PlanContext, raw: dict[str, Any] = REQUEST) -> ScopedQuery:
    plan = plan_request(parse_request(raw, catalog), catalog, context)
    (query,) = apply_scope(plan, Scope(KOMMUNER)).queries
    assert query.query.source.table == TABLE
    return query


def _cells(rows: Sequence[Mapping[str, Any]]) -> dict[tuple[Any, ...], Mapping[str, Any]]:
    return {(r["d_kommune"], r["d_koen"], r["g_kommune"], r["g_koen"]): r for r in rows}


def _bases(rows: Sequence[Mapping[str, Any]]) -> dict[tuple[Any, ...], tuple[int, int]]:
    return {cell: (r["n_sygesikring_kontakter"], r["n_honorar_kr"]) for cell, r in _cells(rows).items()}


def _compare(fast: Sequence[Mapping[str, Any]], exact: Sequence[Mapping[str, Any]]) -> None:
    """Below the threshold the bases, and their persons' key sums, are exact; above it, a lower bound
    that still reaches it. Values, their key sums and largest contributions never depend on it."""
    found, truth = _bases(fast), _bases(exact)
    assert found.keys() == truth.keys()
    for cell, bases in truth.items():
        for base, persons in zip(found[cell], bases, strict=True):
            assert min(base, THRESHOLD) == min(persons, THRESHOLD), (cell, base, persons)
            assert base <= persons, (cell, base, persons)
    fast_rows, exact_rows = _cells(fast), _cells(exact)
    for cell, row in fast_rows.items():
        for measure in ("sygesikring_kontakter", "honorar_kr"):
            if 0 < row[f"n_{measure}"] < THRESHOLD:
                assert row[f"kn_{measure}"] == exact_rows[cell][f"kn_{measure}"], cell
    for column in ("m_sygesikring_kontakter", "k_sygesikring_kontakter", "k_honorar_kr", "x_honorar_kr"):
        assert [r[column] for r in fast] == [r[column] for r in exact], column


def _facts_with_a_small_municipality() -> list[Fact]:
    large = [(p, 101, 1 + p % 2, 40, 2, 150.0) for p in range(60)]
    # One citizen with four rows in the year (moved twice, had a birthday): at most 4 rows a person.
    mover = [(60, 101, 1, age, 1, 10.0) for age in (40, 41, 42, 43)]
    # Three citizens of 147, each with a birthday among the contacts: two rows a year apiece.
    small = [(p, 147, 2, age, 1, 90.0) for p in range(100, 103) for age in (70, 71)]
    return [*large, *mover, *small, (200, 147, 1, 30, 0, 0.0)]  # one row that adds to nothing


def test_large_cells_are_proven_large_from_rows_and_small_ones_counted_again(
    catalog: Catalog, context: PlanContext
) -> None:
    con = _connection(_facts_with_a_small_municipality())
    scoped = _scoped(catalog, context)
    run = Recorder(con)
    fast = BaseCounting(THRESHOLD, {TABLE: _bound(con)}).run(scoped, run)
    exact = BaseCounting(THRESHOLD, {}).run(scoped, Recorder(con))
    _compare(fast, exact)
    assert [q.query.base_count for q in run.ran] == [BaseCount.ROWS, BaseCount.PERSONS]
    # The recount reads only the small cells' rows: municipality 147 (its cells are small first).
    assert run.ran[1].query.narrowing == (("kommune", (147,)),)
    assert _bases(fast)[(147, None, 0, 1)] == (3, 3)  # 6 rows prove only 2 persons: counted again
    assert _bases(fast)[(101, None, 0, 1)] == (16, 16)  # 64 rows, at most 4 a person: at least 16


def test_nothing_is_counted_again_when_every_cell_is_large(catalog: Catalog, context: PlanContext) -> None:
    con = _connection([(p, 101 if p < 50 else 147, 1 + p % 2, 40, 1, 10.0) for p in range(100)])
    run = Recorder(con)
    BaseCounting(THRESHOLD, {TABLE: _bound(con)}).run(_scoped(catalog, context), run)
    assert len(run.ran) == 1


def test_a_small_grand_total_counts_the_whole_query_again(catalog: Catalog, context: PlanContext) -> None:
    con = _connection([(p, 147, 1, age, 1, 10.0) for p in range(3) for age in (50, 51)])
    raw = {**REQUEST, "rows": [], "columns": []}
    run = Recorder(con)
    rows = BaseCounting(THRESHOLD, {TABLE: _bound(con)}).run(_scoped(catalog, context, raw), run)
    assert [q.query.narrowing for q in run.ran] == [None, None]
    assert rows[0]["n_sygesikring_kontakter"] == 3


def test_without_a_recorded_bound_persons_are_counted_exactly(catalog: Catalog, context: PlanContext) -> None:
    scoped = _scoped(catalog, context)
    counting = BaseCounting(THRESHOLD, {"person_year_medicine_total": 5})
    assert counting.first(scoped) is scoped
    assert "COUNT(DISTINCT" in to_sql(counting.first(scoped))


def test_strata_of_a_standardised_rate_never_count_persons(catalog: Catalog, context: PlanContext) -> None:
    raw = {"perspective": "somatik", "measures": ["indlaeggelser_std"], "rows": ["kommune"]}
    plan = plan_request(parse_request(raw, catalog), catalog, context)
    counting = BaseCounting(THRESHOLD, {})
    for query in apply_scope(plan, Scope(KOMMUNER)).queries:
        sql = to_sql(counting.first(query))
        if query.query.role == "strata":
            assert "COUNT(DISTINCT" not in sql
        elif query.query.role == "values":
            assert "COUNT(DISTINCT" in sql


def test_a_narrowed_query_keeps_its_scope_and_is_not_narrowed_twice(catalog: Catalog, context: PlanContext) -> None:
    scoped = _scoped(catalog, context)
    once = narrowed(scoped, base_count=BaseCount.PERSONS, narrowing=(("koen", (1, None)),))
    assert once.kommuner == scoped.kommuner and once.query.filters == scoped.query.filters
    sql = to_sql(once, pretty=False)
    assert "f.kommunekode IN (101, 147)" in sql and "(f.sex IN (1) OR f.sex IS NULL)" in sql
    with pytest.raises(ValueError, match="narrowed again"):
        narrowed(once, base_count=BaseCount.ROWS, narrowing=(("koen", (2,)),))


facts = st.lists(
    st.tuples(
        st.integers(0, 12),  # person
        st.sampled_from(sorted(KOMMUNER)),
        st.sampled_from([1, 2]),
        st.integers(60, 62),  # a few ages: several rows per person and year
        st.integers(0, 3),
        st.sampled_from([0.0, 55.5, 120.0]),
    ),
    max_size=60,
)


@settings(max_examples=60, deadline=None)
@given(rows=facts, columns=st.sampled_from([["koen"], []]))
def test_bases_agree_with_exact_counts_below_the_threshold(
    catalog: Catalog, context: PlanContext, rows: list[Fact], columns: list[str]
) -> None:
    con = _connection(rows)
    scoped = _scoped(catalog, context, {**REQUEST, "columns": columns})
    fast = BaseCounting(THRESHOLD, {TABLE: _bound(con)}).run(scoped, Recorder(con))
    exact = BaseCounting(THRESHOLD, {}).run(scoped, Recorder(con))
    if not columns:
        fast = [{**r, "d_koen": None, "g_koen": 1} for r in fast]
        exact = [{**r, "d_koen": None, "g_koen": 1} for r in exact]
    _compare(fast, exact)
