"""Persons, residence history and population denominators.

Denominators follow the rule "same cross-section": a rate per 1,000 citizens divides by the
citizens of the same municipality, period, sex and age.

* ``population_month`` counts persons resident on the first day of each month; ``population_year``
  holds both the count on 1 January and the average of the twelve monthly counts. Summed over the
  months of a cell they give its *citizen-time* (12 resident-months make one citizen-year), the
  denominator of a rate of events.
* ``residents_year`` holds one row per person, year, municipality, sex and age that the person
  had while living in Denmark on some day of that year; ``residents_quarter`` and
  ``residents_month`` the same per quarter and month (as counts where a person has one of each in
  it): the *persons at risk* of a cell. An event belongs to the municipality of residence on
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
    """``residents_year``, ``residents_quarter`` and ``residents_month``: the persons at risk
    (module docstring).

    The quarter and month tables are mostly counts: a person with a single municipality, sex and
    age in a quarter (month) is in exactly one cell of any table by quarter (month), so such
    persons are counted (``persons``, no ``person_id``); only those with two or more in it (a
    birthday, a move) are listed by person, to be counted once per cell. The persons at risk of a
    cell are the counts plus the distinct listed persons: about one row per person-year, where a
    row per person and month would be thirteen. A quarter is stored under its first month."""
    build_residence_ages(con, ctx)
    con.execute(
        f"""CREATE OR REPLACE TABLE residents_year AS
            WITH u AS (
              SELECT CAST(d AS DATE) AS u0, CAST(d + INTERVAL 1 YEAR AS DATE) AS u1
              FROM generate_series(DATE '{ctx.start.replace(month=1, day=1)}', DATE '{ctx.end}', INTERVAL 1 YEAR) g(d))
            SELECT DISTINCT a.person_id, CAST(year(u.u0) AS SMALLINT) AS year, a.kommunekode, a.sex, a.age
            FROM residence_ages a JOIN u ON a.fra < u.u1 AND a.til > u.u0
            ORDER BY year, kommunekode, person_id"""
    )
    for table, months in (("residents_quarter", 3), ("residents_month", 1)):
        first = ctx.start.replace(month=(ctx.start.month - 1) // months * months + 1, day=1)
        con.execute(
            f"""CREATE OR REPLACE TABLE {table} AS
                WITH u AS (
                  SELECT CAST(d AS DATE) AS u0, CAST(d + INTERVAL {months} MONTH AS DATE) AS u1
                  FROM generate_series(DATE '{first}', DATE '{ctx.end}', INTERVAL {months} MONTH) g(d)),
                p AS (
                  SELECT DISTINCT a.person_id, CAST(year(u.u0) AS SMALLINT) AS year,
                         CAST(month(u.u0) AS TINYINT) AS month, a.kommunekode, a.sex, a.age
                  FROM residence_ages a JOIN u ON a.fra < u.u1 AND a.til > u.u0),
                c AS (SELECT *, count(*) OVER (PARTITION BY person_id, year, month) AS parts FROM p)
                SELECT year, month, kommunekode, sex, age, CAST(NULL AS BIGINT) AS person_id, count(*) AS persons
                FROM c WHERE parts = 1 GROUP BY ALL
                UNION ALL
                SELECT year, month, kommunekode, sex, age, person_id, CAST(NULL AS BIGINT) FROM c WHERE parts > 1
                ORDER BY year, month, kommunekode, person_id NULLS FIRST"""
        )
