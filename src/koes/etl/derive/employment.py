"""DREAM benefit spells → benefit weeks per person, year, benefit, municipality and age.

A week belongs to its ISO year and, like every other event, to the municipality the citizen lived
in that week: the residence on the week's Monday, with the age on that Monday. A spell of a person
who moves is split between the municipalities; a week whose Monday finds the citizen resident
nowhere in Denmark (before arrival, after emigration) belongs to no municipality and is left out.
"""

from __future__ import annotations

import duckdb

from koes.domain.registers import DREAM_FORLOEB
from koes.etl.derive.base import DeriveContext
from koes.etl.derive.coding import coded

# The Mondays in [lo, hi): the first on or after lo, the last before hi (isodow: Monday = 1).
FIRST_MONDAY = "lo + CAST((8 - isodow(lo)) % 7 AS INTEGER)"
LAST_MONDAY = "(hi - 1) - CAST(isodow(hi - 1) - 1 AS INTEGER)"


def build_benefit_weeks(con: duckdb.DuckDBPyConnection, ctx: DeriveContext) -> None:
    """Needs ``residence_ages`` (``koes.etl.derive.people.build_residents``): residence periods
    cut at birthdays, so each part of a spell has one municipality and one age."""
    # One row is a person's weeks of one benefit code in one year, municipality and age: that is
    # its natural key. The code is an ENUM here, and an ENUM hashes by its index: hash its text.
    row_key = ctx.keys.event_key_sql(
        DREAM_FORLOEB.name,
        ctx.keys.person_key_of_id_sql("w.person_id"),
        "w.year",
        "CAST(w.ydelseskode AS VARCHAR)",
        "w.kommunekode",
        "w.age",
    )
    years = ", ".join(f"({y})" for y in ctx.years)
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
              SELECT s.person_id, s.ydelseskode, s.benefit_type, y.year, a.kommunekode, a.sex, a.age,
                     greatest(s.first_monday, y.first_monday, a.fra) AS lo,
                     least(s.last_monday + 7, y.last_monday + 7, a.til) AS hi
              FROM spells s
              JOIN y ON s.first_monday <= y.last_monday AND s.last_monday >= y.first_monday
              JOIN residence_ages a ON a.person_id = s.person_id
               AND a.fra < least(s.last_monday, y.last_monday) + 7
               AND a.til > greatest(s.first_monday, y.first_monday)),
            mondays AS (
              SELECT *, {FIRST_MONDAY} AS first_in, {LAST_MONDAY} AS last_in FROM parts WHERE lo < hi),
            w AS (
              SELECT person_id, year, benefit_type, ydelseskode, kommunekode, age, any_value(sex) AS sex,
                     CAST(sum(date_diff('day', first_in, last_in) // 7 + 1) AS INTEGER) AS weeks,
                     min(first_in) AS first_monday
              FROM mondays WHERE first_in <= last_in
              GROUP BY person_id, year, benefit_type, ydelseskode, kommunekode, age)
            SELECT w.person_id, {row_key} AS rk, CAST(w.year AS SMALLINT) AS year, w.benefit_type, w.ydelseskode,
                   w.weeks, w.first_monday, w.age, w.sex, w.kommunekode
            FROM w
            ORDER BY year, kommunekode, person_id"""
    )
