"""Municipal care (EOJ): home-care hours per month and nursing-home residence per month.

Care rows belong to the delivering municipality recorded in the care record (that is whose
citizen the person is for care). A nursing-home month is any month of the period in which the
stay covers at least one day; ``days`` counts those days.
"""

from __future__ import annotations

import duckdb

from koes.domain.registers import EOJ_HJEMMEPLEJE, EOJ_PLEJEBOLIG
from koes.etl.derive.base import DeriveContext, event_key
from koes.etl.derive.coding import coded


def build_care(con: duckdb.DuckDBPyConnection, ctx: DeriveContext) -> None:
    con.execute(
        f"""CREATE OR REPLACE TABLE home_care AS
           SELECT h.person_id, {event_key(ctx, EOJ_HJEMMEPLEJE, "h")} AS rk,
                  h.maaned AS month_start, CAST(year(h.maaned) AS SMALLINT) AS year,
                  CAST(month(h.maaned) AS TINYINT) AS month,
                  {coded("care_service_group", "h.ydelsesgruppe")} AS service_group,
                  CAST(h.visiterede_timer AS DECIMAL(10, 2)) AS hours_assessed,
                  CAST(h.leverede_timer AS DECIMAL(10, 2)) AS hours_delivered,
                  CAST(h.kommunekode AS SMALLINT) AS kommunekode,
                  {coded("care_district", "h.plejedistrikt")} AS care_district,
                  CAST(age_years(p.birth_date, h.maaned) AS SMALLINT) AS age, p.sex
           FROM c_eoj_hjemmepleje h JOIN persons p USING (person_id)
           ORDER BY year, kommunekode, person_id, month_start"""
    )
    con.execute(
        f"""CREATE OR REPLACE TABLE nursing_home_months AS
            WITH months AS (
              SELECT CAST(d AS DATE) AS month_start, CAST(d + INTERVAL 1 MONTH AS DATE) AS next_month
              FROM generate_series(DATE '{ctx.start}', DATE '{ctx.end}', INTERVAL 1 MONTH) g(d))
            SELECT n.person_id, {event_key(ctx, EOJ_PLEJEBOLIG, "n", "m.month_start")} AS rk,
                   m.month_start, CAST(year(m.month_start) AS SMALLINT) AS year,
                   CAST(month(m.month_start) AS TINYINT) AS month,
                   CAST(n.kommunekode AS SMALLINT) AS kommunekode,
                   {coded("care_district", "n.plejedistrikt")} AS care_district,
                   date_diff('day', greatest(n.fra_dato, m.month_start),
                             least(coalesce(n.til_dato, m.next_month), m.next_month)) AS days,
                   CAST(age_years(p.birth_date, m.month_start) AS SMALLINT) AS age, p.sex
            FROM c_eoj_plejebolig n
            JOIN months m ON n.fra_dato < m.next_month AND (n.til_dato IS NULL OR n.til_dato > m.month_start)
            JOIN persons p USING (person_id)
            ORDER BY year, kommunekode, person_id, month_start"""
    )
