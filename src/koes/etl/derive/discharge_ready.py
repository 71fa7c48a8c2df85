"""Discharge-ready days (færdigbehandlingsdage) and what they cost the municipality.

A period from ``fra_dato`` to ``til_dato`` (discharge) holds ``til - fra`` days; day 1 is
``fra_dato``. Each day costs the year's base rate times the multiplier of the rule in force on
that day for that day number (from 2017 for somatics: 2× for days 1–2, 3× from day 3). The
municipality is the one the citizen lived in on the first discharge-ready day.
"""

from __future__ import annotations

import duckdb

from koes.domain.registers import FAERDIGBEHANDLEDE
from koes.etl.derive.base import DeriveContext, event_key, resident_join
from koes.etl.derive.coding import coded


def build_discharge_ready(con: duckdb.DuckDBPyConnection, ctx: DeriveContext) -> None:
    con.execute(
        f"""CREATE OR REPLACE TABLE discharge_ready_days AS
            WITH spells AS (
              SELECT f.person_id, {event_key(ctx, FAERDIGBEHANDLEDE, "f")} AS spell_key,
                     f.dw_ek_kontakt AS contact_id, {coded("sector", "f.sektor")} AS sector,
                     f.fra_dato AS fra,
                     f.til_dato AS til, date_diff('day', f.fra_dato, f.til_dato) AS days
              FROM c_faerdigbehandlede f),
            d AS (
              SELECT s.*, CAST(unnest(generate_series(1, greatest(s.days, 0))) AS INTEGER) AS day_no FROM spells s)
            SELECT d.person_id, {ctx.keys.event_key_sql("faerdigbehandlingsdag", "d.spell_key", "d.day_no")} AS rk,
                   d.contact_id, d.sector, d.fra, d.day_no,
                   CAST(d.fra + (d.day_no - 1) AS DATE) AS day,
                   CAST(year(d.fra + (d.day_no - 1)) AS SMALLINT) AS year,
                   CAST(month(d.fra + (d.day_no - 1)) AS TINYINT) AS month,
                   CAST(rate.base_kr * rule.multiplier AS DECIMAL(18, 2)) AS cost_kr, rule.multiplier,
                   r.kommunekode
            FROM d
            LEFT JOIN rule_discharge_ready_rate rate
              ON rate.year = year(d.fra + (d.day_no - 1)) AND rate.sector = d.sector
            LEFT JOIN rule_discharge_ready rule
              ON rule.sector = d.sector AND d.fra + (d.day_no - 1) BETWEEN rule.valid_from AND rule.valid_to
             AND d.day_no BETWEEN rule.day_from AND rule.day_to
            {resident_join("d", "d.fra")}
            ORDER BY year, r.kommunekode, d.person_id, day"""
    )
    con.execute(
        """CREATE OR REPLACE TABLE discharge_ready AS
           SELECT person_id, contact_id, sector, fra, max(day) + 1 AS til, count(*) AS days,
                  sum(cost_kr) AS cost_kr, any_value(kommunekode) AS kommunekode,
                  CAST(year(fra) AS SMALLINT) AS year, CAST(month(fra) AS TINYINT) AS month
           FROM discharge_ready_days GROUP BY person_id, contact_id, sector, fra
           ORDER BY year, kommunekode, person_id, fra"""
    )
