"""Prescription redemptions (LMS): ATC levels, cost and subsidy, municipality on the day.

A row with negative packages is a return; ``redemptions`` is +1 for a sale and −1 for a return so
sums net out.
"""

from __future__ import annotations

import duckdb

from koes.etl.derive.base import resident_join
from koes.etl.derive.coding import coded


def build_prescriptions(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        f"""CREATE OR REPLACE TABLE prescriptions AS
            WITH e AS (
              SELECT l.person_id, l.eksd AS date, {coded("atc", "l.atc")} AS atc, {coded("vnr", "l.vnr")} AS vnr,
                     l.apk AS packages,
                     CAST(l.pris AS DECIMAL(18, 2)) AS price_kr,
                     CAST(l.tilskud AS DECIMAL(18, 2)) AS subsidy_kr, age_years(p.birth_date, l.eksd) AS age, p.sex
              FROM c_lms_ekspeditioner l JOIN persons p USING (person_id))
            SELECT e.person_id, e.date, CAST(year(e.date) AS SMALLINT) AS year, CAST(month(e.date) AS TINYINT) AS month,
                   e.atc, {coded("atc1", "left(e.atc, 1)")} AS atc1, {coded("atc2", "left(e.atc, 3)")} AS atc2,
                   {coded("atc3", "left(e.atc, 4)")} AS atc3, e.vnr,
                   CAST(sign(e.packages) AS TINYINT) AS redemptions, e.packages, e.price_kr, e.subsidy_kr,
                   CAST(e.age AS SMALLINT) AS age, e.sex, r.kommunekode
            FROM e {resident_join("e", "e.date")}
            ORDER BY year, r.kommunekode, e.person_id, e.date"""
    )
