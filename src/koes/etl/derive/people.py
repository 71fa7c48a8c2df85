"""Persons, residence history and population denominators.

Denominators follow the rule "same cross-section": a rate per 1,000 citizens divides by the
citizens of the same municipality, period, sex and age.

* ``population_month`` counts persons resident on the first day of each month; ``population_year``
  holds both the count on 1 January and the average of the twelve monthly counts. Summed over the
  months of a cell they give its *citizen-time* (12 resident-months make one citizen-year), the
  denominator of a rate of events.
* ``residents_year`` and ``residents_month`` hold one row per person, year (and month),
  municipality, sex and age that the person had while living in Denmark on some day of that year
  (month): the *persons at risk* of a cell. An event belongs to the municipality of residence on
  its date and the age on that date, so every person a count of persons can hold for a cell is
  among that cell's persons at risk: a persons-per-1,000 figure never exceeds 1,000.
"""

from __future__ import annotations

from datetime import timedelta

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


def build_residence_ages(con: duckdb.DuckDBPyConnection, ctx: DeriveContext) -> None:
    """Residence periods cut at birthdays: [fra, til) with one municipality and one age, for the
    extract period and a week either side (ISO years reach into the neighbouring calendar years)."""
    lo, hi = ctx.start - timedelta(days=7), ctx.end + timedelta(days=8)
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE residence_ages AS
            WITH r AS (
              SELECT r.person_id, r.kommunekode, p.sex, p.birth_date AS b,
                     greatest(r.fra, p.birth_date, DATE '{lo}') AS fra,
                     least(coalesce(r.til, DATE '{hi}'), DATE '{hi}') AS til
              FROM residence r JOIN persons p USING (person_id)
              WHERE r.fra < DATE '{hi}' AND (r.til IS NULL OR r.til > DATE '{lo}')),
            a AS (
              SELECT *, unnest(generate_series(age_years(b, fra), age_years(b, til - 1))) AS age
              FROM r WHERE fra < til)
            SELECT person_id, kommunekode, sex, CAST(age AS SMALLINT) AS age,
                   greatest(fra, turns(b, age)) AS fra, least(til, turns(b, age + 1)) AS til
            FROM a"""
    )


def build_residents(con: duckdb.DuckDBPyConnection, ctx: DeriveContext) -> None:
    """``residents_year`` and ``residents_month``: the persons at risk (module docstring)."""
    build_residence_ages(con, ctx)
    grains = {
        "residents_year": ("INTERVAL 1 YEAR", "", "year"),
        "residents_month": ("INTERVAL 1 MONTH", ", CAST(month(u.u0) AS TINYINT) AS month", "year, month"),
    }
    start = ctx.start.replace(day=1)
    for table, (step, month, order) in grains.items():
        first = start.replace(month=1) if table == "residents_year" else start
        con.execute(
            f"""CREATE OR REPLACE TABLE {table} AS
                WITH u AS (
                  SELECT CAST(d AS DATE) AS u0, CAST(d + {step} AS DATE) AS u1
                  FROM generate_series(DATE '{first}', DATE '{ctx.end}', {step}) g(d))
                SELECT DISTINCT a.person_id, CAST(year(u.u0) AS SMALLINT) AS year{month},
                       a.kommunekode, a.sex, a.age
                FROM residence_ages a JOIN u ON a.fra < u.u1 AND a.til > u.u0
                ORDER BY {order}, kommunekode, person_id"""
        )
