"""Municipal care (EOJ): home-care hours per month and nursing-home residence per month.

A care month belongs, like every other event, to the municipality the citizen lived in: the
residence on the month's first day of care (the 1st of the month for home care, the first day of
the stay in the month for a nursing home), or, for a citizen who arrived later in the month, on
the first day of residence after it. Age is the age on that day. The care district stays the one
of the care record. A nursing-home month is any month of the period in which the stay covers at
least one day; ``days`` counts those days.
"""

from __future__ import annotations

import duckdb

from koes.domain.registers import EOJ_HJEMMEPLEJE, EOJ_PLEJEBOLIG
from koes.etl.derive.base import DeriveContext, event_key
from koes.etl.derive.coding import coded


def _residence_in(fact: str, first: str, end: str) -> str:
    """LEFT JOIN giving ``res.kommunekode`` and ``res.day``: where ``fact``'s person lived on the
    first day in [``first``, ``end``) they lived anywhere, and that day. Residence periods never
    overlap, so the earliest period that reaches into the interval is the one."""
    return f"""LEFT JOIN (
                 SELECT f.person_id, f.d0, f.d1, arg_min(r.kommunekode, r.fra) AS kommunekode,
                        min(greatest(r.fra, f.d0)) AS day
                 FROM (SELECT DISTINCT person_id, {first} AS d0, {end} AS d1 FROM {fact}) f
                 JOIN residence r ON r.person_id = f.person_id AND r.fra < f.d1 AND (r.til IS NULL OR r.til > f.d0)
                 GROUP BY ALL) res
               ON res.person_id = {fact}.person_id AND res.d0 = {fact}.{first} AND res.d1 = {fact}.{end}"""


def build_care(con: duckdb.DuckDBPyConnection, ctx: DeriveContext) -> None:
    con.execute(
        f"""CREATE OR REPLACE TABLE home_care AS
           WITH h AS (
             SELECT h.*, CAST(h.maaned + INTERVAL 1 MONTH AS DATE) AS next_month FROM c_eoj_hjemmepleje h)
           SELECT h.person_id, {event_key(ctx, EOJ_HJEMMEPLEJE, "h")} AS rk,
                  h.maaned AS month_start, CAST(year(h.maaned) AS SMALLINT) AS year,
                  CAST(month(h.maaned) AS TINYINT) AS month,
                  {coded("care_service_group", "h.ydelsesgruppe")} AS service_group,
                  CAST(h.visiterede_timer AS DECIMAL(10, 2)) AS hours_assessed,
                  CAST(h.leverede_timer AS DECIMAL(10, 2)) AS hours_delivered,
                  res.kommunekode,
                  {coded("care_district", "h.plejedistrikt")} AS care_district,
                  CAST(age_years(p.birth_date, coalesce(res.day, h.maaned)) AS SMALLINT) AS age, p.sex
           FROM h JOIN persons p USING (person_id)
           {_residence_in("h", "maaned", "next_month")}
           ORDER BY year, kommunekode, person_id, month_start"""
    )
    con.execute(
        f"""CREATE OR REPLACE TABLE nursing_home_months AS
            WITH months AS (
              SELECT CAST(d AS DATE) AS month_start, CAST(d + INTERVAL 1 MONTH AS DATE) AS next_month
              FROM generate_series(DATE '{ctx.start}', DATE '{ctx.end}', INTERVAL 1 MONTH) g(d)),
            n AS (
              SELECT n.*, m.month_start, greatest(n.fra_dato, m.month_start) AS first_day,
                     least(coalesce(n.til_dato, m.next_month), m.next_month) AS end_day
              FROM c_eoj_plejebolig n
              JOIN months m ON n.fra_dato < m.next_month AND (n.til_dato IS NULL OR n.til_dato > m.month_start))
            SELECT n.person_id, {event_key(ctx, EOJ_PLEJEBOLIG, "n", "n.month_start")} AS rk,
                   n.month_start, CAST(year(n.month_start) AS SMALLINT) AS year,
                   CAST(month(n.month_start) AS TINYINT) AS month,
                   res.kommunekode,
                   {coded("care_district", "n.plejedistrikt")} AS care_district,
                   date_diff('day', n.first_day, n.end_day) AS days,
                   CAST(age_years(p.birth_date, coalesce(res.day, n.first_day)) AS SMALLINT) AS age, p.sex
            FROM n JOIN persons p USING (person_id)
            {_residence_in("n", "first_day", "end_day")}
            ORDER BY year, kommunekode, person_id, month_start"""
    )
