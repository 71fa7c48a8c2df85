"""Prescription redemptions (LMS): ATC levels, cost and subsidy, municipality on the day.

A row with negative packages is a return; ``redemptions`` is +1 for a sale and −1 for a return so
sums net out. A return is not a redemption: a *medicine user* is a person with at least one sale
(``packages > 0``) in the period, so a person whose only row in a month or quarter is a return
is no user then (the catalog's ``medicinbrugere``; ``sales`` in ``person_year_medicine``).
"""

from __future__ import annotations

import duckdb

from koes.domain.registers import LMS_EKSPEDITIONER
from koes.etl.derive.base import DeriveContext, event_key, resident_join
from koes.etl.derive.coding import coded, lookup

# Every ATC code with its levels, coded once per code rather than once per redemption.
ATC_LEVELS = lookup(
    "atc",
    atc1=coded("atc1", "left(text, 1)"),
    atc2=coded("atc2", "left(text, 3)"),
    atc3=coded("atc3", "left(text, 4)"),
)


def build_prescriptions(con: duckdb.DuckDBPyConnection, ctx: DeriveContext) -> None:
    con.execute(
        f"""CREATE OR REPLACE TABLE prescriptions AS
            WITH e AS (
              SELECT l.person_id, {event_key(ctx, LMS_EKSPEDITIONER, "l")} AS rk,
                     l.eksd AS date, a.code AS atc, a.atc1, a.atc2, a.atc3, vn.code AS vnr,
                     l.apk AS packages,
                     CAST(l.pris AS DECIMAL(18, 2)) AS price_kr,
                     CAST(l.tilskud AS DECIMAL(18, 2)) AS subsidy_kr, age_years(p.birth_date, l.eksd) AS age, p.sex
              FROM c_lms_ekspeditioner l JOIN persons p USING (person_id)
              LEFT JOIN {ATC_LEVELS} a ON a.text = l.atc
              LEFT JOIN {lookup("vnr")} vn ON vn.text = l.vnr)
            SELECT e.person_id, e.rk, e.date,
                   CAST(year(e.date) AS SMALLINT) AS year, CAST(month(e.date) AS TINYINT) AS month,
                   e.atc, e.atc1, e.atc2, e.atc3, e.vnr,
                   CAST(sign(e.packages) AS TINYINT) AS redemptions, e.packages, e.price_kr, e.subsidy_kr,
                   CAST(e.age AS SMALLINT) AS age, e.sex, r.kommunekode
            FROM e {resident_join("e", "e.date")}
            ORDER BY year, r.kommunekode, e.person_id, e.date"""
    )
