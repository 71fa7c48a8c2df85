"""DREAM benefit spells → benefit weeks per person, year and benefit type.

A week belongs to its ISO year. The municipality is the residence on the Monday of the first
week of the spell within that year; age is the age on 1 July.
"""

from __future__ import annotations

import duckdb

from koes.domain.registers import DREAM_FORLOEB
from koes.etl.derive.base import DeriveContext, resident_join
from koes.etl.derive.coding import coded


def build_benefit_weeks(con: duckdb.DuckDBPyConnection, ctx: DeriveContext) -> None:
    # One row is a person's weeks of one benefit code in one year: that is its natural key. The
    # code is an ENUM here, and an ENUM hashes by its index: hash its text.
    year_key = ctx.keys.event_key_sql(
        DREAM_FORLOEB.name, ctx.keys.person_key_of_id_sql("p.person_id"), "p.year", "CAST(p.ydelseskode AS VARCHAR)"
    )
    years = ", ".join(f"({y})" for y in range(ctx.start.year - 1, ctx.end.year + 2))
    con.execute(
        f"""CREATE OR REPLACE TABLE benefit_weeks AS
            WITH spells AS (
              SELECT d.person_id, {coded("dream_ydelse", "d.ydelseskode")} AS ydelseskode,
                     {coded("benefit_type", "b.benefit_type")} AS benefit_type,
                     week_monday(d.fra_uge) AS first_monday, week_monday(d.til_uge) AS last_monday
              FROM c_dream_forloeb d JOIN code_dream_ydelse b ON b.code = d.ydelseskode),
            y AS (
              SELECT year, week_monday(year * 100 + 1) AS first_monday,
                     week_monday(year * 100 + weekofyear(make_date(year, 12, 28))) AS last_monday
              FROM (VALUES {years}) v(year)),
            parts AS (
              SELECT s.person_id, s.ydelseskode, s.benefit_type, y.year,
                     greatest(s.first_monday, y.first_monday) AS from_monday,
                     date_diff('day', greatest(s.first_monday, y.first_monday),
                               least(s.last_monday, y.last_monday)) // 7 + 1 AS weeks
              FROM spells s JOIN y ON s.first_monday <= y.last_monday AND s.last_monday >= y.first_monday)
            SELECT p.person_id, {year_key} AS rk,
                   CAST(p.year AS SMALLINT) AS year, p.benefit_type, p.ydelseskode,
                   CAST(sum(p.weeks) AS INTEGER) AS weeks, min(p.from_monday) AS first_monday,
                   CAST(age_years(any_value(pe.birth_date), make_date(p.year, 7, 1)) AS SMALLINT) AS age,
                   any_value(pe.sex) AS sex, arg_min(r.kommunekode, p.from_monday) AS kommunekode
            FROM parts p JOIN persons pe USING (person_id)
            {resident_join("p", "p.from_monday")}
            WHERE p.year BETWEEN {ctx.start.year} AND {ctx.end.year}
            GROUP BY p.person_id, p.year, p.benefit_type, p.ydelseskode
            ORDER BY year, kommunekode, person_id"""
    )
