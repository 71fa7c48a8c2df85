"""Persons, residence history and population denominators.

Denominators follow the rule "same cross-section": a rate per 1,000 citizens divides by the
citizens of the same municipality, period, sex and age. ``population_month`` counts persons
resident on the first day of each month; ``population_year`` holds both the count on 1 January
and the average of the twelve monthly counts (the denominator for yearly rates).
"""

from __future__ import annotations

import duckdb

from koes.etl.derive.base import DeriveContext
from koes.etl.derive.coding import coded


def build_persons(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        f"""CREATE OR REPLACE TABLE persons AS
           SELECT p.person_id, m.pseudonym, CAST(p.koen AS TINYINT) AS sex, p.foed_dato AS birth_date,
                  {coded("cpr_status", "p.status")} AS status, p.status_dato AS status_date,
                  CASE WHEN p.status = '90' THEN p.status_dato END AS death_date
           FROM c_cpr_personer p JOIN person_map m USING (person_id)
           ORDER BY p.person_id"""
    )


def build_residence(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        """CREATE OR REPLACE TABLE residence AS
           SELECT person_id, CAST(kommunekode AS SMALLINT) AS kommunekode, fra_dato AS fra, til_dato AS til
           FROM c_cpr_adresser ORDER BY person_id, fra"""
    )


def build_population(con: duckdb.DuckDBPyConnection, ctx: DeriveContext) -> None:
    con.execute(
        f"""CREATE OR REPLACE TABLE population_month AS
            WITH months AS (
              SELECT CAST(d AS DATE) AS day
              FROM generate_series(DATE '{ctx.start}', DATE '{ctx.end}', INTERVAL 1 MONTH) g(d))
            SELECT CAST(year(m.day) AS SMALLINT) AS year, CAST(month(m.day) AS TINYINT) AS month,
                   r.kommunekode, p.sex, CAST(age_years(p.birth_date, m.day) AS SMALLINT) AS age,
                   count(*) AS persons
            FROM months m
            JOIN residence r ON m.day >= r.fra AND (r.til IS NULL OR m.day < r.til)
            JOIN persons p ON p.person_id = r.person_id
            WHERE p.birth_date <= m.day
            GROUP BY ALL ORDER BY ALL"""
    )
    con.execute(
        """CREATE OR REPLACE TABLE population_year AS
           SELECT year, kommunekode, sex, age,
                  sum(persons) FILTER (WHERE month = 1) AS persons_jan1,
                  sum(persons) / 12.0 AS persons_avg
           FROM population_month GROUP BY ALL ORDER BY ALL"""
    )
