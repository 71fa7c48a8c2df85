"""Municipal co-financing (kommunal medfinansiering) from the versioned rule table.

A rule applies by the event's date, sector and the citizen's age on that date: the amount is
``pct`` % of the activity value, capped per unit (an admission, a regionsforløb and a visit are
all a hospital stay here; ``ydelse`` is one service row). From 2019 the municipalities pay a
fixed a-conto amount; the same computation then gives the activity-based *shadow* amount, and
the rule's ``basis`` says which it is.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from koes.etl.derive.base import MAX_AGE, DeriveContext

HOSPITAL_SECTORS = ("somatik_indlagt", "somatik_ambulant", "psykiatri_indlagt", "psykiatri_ambulant")


def build_rule_tables(con: duckdb.DuckDBPyConnection, ctx: DeriveContext) -> None:
    rules = ctx.rules
    tables = {
        "rule_cofinancing": pa.Table.from_pylist(
            [
                {
                    "version": r.version,
                    "valid_from": r.valid_from,
                    "valid_to": r.valid_to,
                    "basis": r.basis,
                    "sector": r.sector,
                    "age_from": r.age_from,
                    "age_to": r.age_to if r.age_to is not None else 999,
                    "pct": r.pct,
                    "cap_kr": r.cap_kr,
                    "cap_unit": r.cap_unit,
                }
                for r in rules.cofinancing
            ]
        ),
        "rule_psychiatric_tariff": pa.Table.from_pylist(
            [{"year": t.year, "tariff": t.tariff, "kr": t.kr} for t in rules.psychiatric_tariffs]
        ),
        "rule_discharge_ready_rate": pa.Table.from_pylist(
            [{"year": r.year, "sector": r.sector, "base_kr": r.base_kr} for r in rules.discharge_ready_rates]
        ),
        "rule_discharge_ready": pa.Table.from_pylist(
            [
                {
                    "valid_from": r.valid_from,
                    "valid_to": r.valid_to,
                    "sector": r.sector,
                    "day_from": r.day_from,
                    "day_to": r.day_to if r.day_to is not None else 1_000_000,
                    "multiplier": r.multiplier,
                }
                for r in rules.discharge_ready_rules
            ]
        ),
    }
    for name, table in tables.items():
        con.register("_arrow", table)
        con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM _arrow")
        con.unregister("_arrow")
    # The rule in force for every sector, day of the period and age: events find their rule by an
    # exact (hash) join instead of testing each event against every period and age band.
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE rule_cofinancing_day AS
            SELECT r.sector, CAST(d.day AS DATE) AS day, CAST(a.age AS SMALLINT) AS age,
                   r.version, r.basis, r.pct, r.cap_kr, r.cap_unit
            FROM generate_series(DATE '{ctx.start}', DATE '{ctx.end}', INTERVAL 1 DAY) d(day)
            CROSS JOIN range(0, {MAX_AGE + 1}) a(age)
            JOIN rule_cofinancing r
              ON CAST(d.day AS DATE) BETWEEN r.valid_from AND r.valid_to AND a.age BETWEEN r.age_from AND r.age_to"""
    )


def rule_join(alias: str, sector: str, day: str, age: str) -> str:
    """LEFT JOIN of the co-financing rule that applies; no rule (outside the scheme) gives NULL."""
    return (
        f"LEFT JOIN rule_cofinancing_day {alias} ON {alias}.sector = {sector} "
        f"AND {alias}.day = {day} AND {alias}.age = {age}"
    )


def amount(alias: str, value: str) -> str:
    """Co-financing of ``value`` kr. under rule ``alias``: pct of the value, capped when the rule caps."""
    raw = f"({alias}.pct / 100.0 * {value})"
    return f"coalesce(CASE WHEN {alias}.cap_kr IS NULL THEN {raw} ELSE least({raw}, {alias}.cap_kr) END, 0)"
