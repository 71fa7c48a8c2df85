"""Distinct persons from rows grouped per person first (koes.query.per_person), run on DuckDB.

A hand-made ``services`` table (the columns the health-insurance queries read) and the product's
own plan, scope rewrite and SQL: the two-pass query must give the one-pass query's figures, cell
by cell, and a person with contacts in several months is one person in every margin over months.
"""

from __future__ import annotations

import random
from typing import Any

import duckdb
import pytest

from koes.query.planner import PlanContext, plan_request
from koes.query.request import parse_request
from koes.query.scope import Scope, apply_scope
from koes.query.sql import to_sql
from koes.semantic.model import Catalog

GP = "almen_praksis"
ANNE, BO = 7 << 16 | 3, 9 << 16 | 5  # person ids: a serial above, the record key in the low bits


def _warehouse(rows: list[tuple[Any, ...]]) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE services (person_id BIGINT, kommunekode SMALLINT, year SMALLINT, month TINYINT, age TINYINT,"
        " provider_group VARCHAR, contacts INTEGER, services INTEGER, rk BIGINT)"
    )
    con.execute(
        "CREATE TABLE dim_age AS SELECT range::TINYINT AS age, (range // 20)::VARCHAR AS band_koes FROM range(110)"
    )
    if rows:
        con.executemany("INSERT INTO services VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    return con


def _cells(con: duckdb.DuckDBPyConnection, sql: str) -> dict[tuple[Any, ...], dict[str, Any]]:
    cursor = con.execute(sql)
    names = [d[0] for d in cursor.description]
    out: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in cursor.fetchall():
        record = dict(zip(names, row, strict=True))
        key = tuple(v for n, v in record.items() if n.startswith(("d_", "g_")))
        out[key] = {n: v for n, v in record.items() if not n.startswith(("d_", "g_"))}
    return out


def _sql(raw: dict[str, Any], catalog: Catalog, context: PlanContext, *, two_pass: bool) -> str:
    plan = plan_request(parse_request(raw, catalog), catalog, context)
    (scoped,) = apply_scope(plan, Scope(frozenset({101, 147}))).queries
    return to_sql(scoped, two_pass=two_pass)


BY_MONTH = {
    "perspective": "sygesikring",
    "measures": ["laegekontakter"],
    "rows": ["kommune"],
    "columns": ["maaned"],
    "period": {"from": "2024"},
}


def test_a_person_with_contacts_in_two_months_is_one_person_in_the_margin_over_months(
    catalog: Catalog, context: PlanContext
) -> None:
    con = _warehouse(
        [
            (ANNE, 101, 2024, 1, 40, GP, 1, 1, 11),
            (ANNE, 101, 2024, 1, 40, GP, 1, 2, 12),
            (ANNE, 101, 2024, 2, 40, GP, 1, 1, 13),
            (BO, 101, 2024, 2, 50, GP, 2, 2, 14),
        ]
    )
    sql = _sql(BY_MONTH, catalog, context, two_pass=True)
    assert "COUNT(DISTINCT" not in sql
    cells = _cells(con, sql)
    # (kommune, month, kommune totalled, month totalled)
    over_months = cells[(101, None, 0, 1)]
    assert over_months["m_laegekontakter"] == 5
    assert over_months["n_laegekontakter"] == 2  # Anne once, though she came in January and February
    assert over_months["kn_laegekontakter"] == ANNE + BO
    assert over_months["k_laegekontakter"] == 11 + 12 + 13 + 14
    assert cells[(101, 202401, 0, 0)]["n_laegekontakter"] == 1
    assert cells[(101, 202402, 0, 0)]["kn_laegekontakter"] == ANNE + BO
    assert cells[(None, None, 1, 1)]["n_laegekontakter"] == 2


REQUESTS = {
    "gp contacts by municipality, age group and month": {
        **BY_MONTH,
        "rows": ["kommune", "aldersgruppe"],
    },
    "practice users and services by quarter": {
        "perspective": "sygesikring",
        "measures": ["praksisbrugere", "ydelser", "laegekontakter"],
        "rows": ["aldersgruppe"],
        "columns": ["kvartal"],
        "period": {"from": "2024"},
    },
    "gp contacts by month": {
        "perspective": "sygesikring",
        "measures": ["laegekontakter"],
        "columns": ["maaned"],
        "period": {"from": "2024-03", "to": "2024-09"},
    },
}


@pytest.mark.parametrize("name", sorted(REQUESTS))
def test_two_passes_give_the_one_pass_figures(name: str, catalog: Catalog, context: PlanContext) -> None:
    rng = random.Random(name)
    persons = [serial << 16 | rng.randrange(1 << 16) for serial in range(1, 40)]
    rows = [
        (
            rng.choice(persons),
            rng.choice((101, 147)),
            2024,
            rng.randint(1, 12),
            rng.choice((5, 25, 45, 65, 85)),
            rng.choice((GP, GP, "speciallaege")),
            rng.choice((0, 1, 1, 2)),
            rng.randint(0, 3),
            rng.randrange(1 << 20),
        )
        for _ in range(400)
    ]
    con = _warehouse(rows)
    one = _cells(con, _sql(REQUESTS[name], catalog, context, two_pass=False))
    two = _cells(con, _sql(REQUESTS[name], catalog, context, two_pass=True))
    assert two == one
    assert any(v for cell in one.values() for n, v in cell.items() if n.startswith("n_") and v and v > 1)
