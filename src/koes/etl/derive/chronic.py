"""Chronic-condition flags per person and year (algorithm in ``koes.domain.chronic``).

Code matching is done once per distinct code (a few thousand) rather than per row (tens of
millions): the small code → condition tables are then joined by equality.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from koes.domain.chronic import CHRONIC_CONDITIONS


def build_chronic(con: duckdb.DuckDBPyConnection) -> None:
    _code_tables(con)
    con.execute(
        """CREATE OR REPLACE TABLE person_conditions AS
           WITH diag AS (
             SELECT k.person_id, dc.condition, min(year(k.kont_starttidspunkt)) AS first_year
             FROM c_lpr_diagnoser d
             JOIN c_lpr_kontakter k USING (dw_ek_kontakt)
             JOIN chronic_diag_codes dc ON dc.code = d.diag_kode
             WHERE d.senere_afkraeftet = 'Nej'
             GROUP BY k.person_id, dc.condition),
           med AS (
             SELECT l.person_id, ac.condition, year(l.eksd) AS year, count(*) AS redemptions,
                    any_value(ac.min_redemptions) AS needed
             FROM c_lms_ekspeditioner l JOIN chronic_atc_codes ac ON ac.code = l.atc
             WHERE l.apk > 0 GROUP BY ALL),
           years AS (SELECT DISTINCT person_id, year FROM person_year_base)
           SELECT y.person_id, CAST(y.year AS SMALLINT) AS year, x.condition,
                  bool_or(x.source = 'diagnose') AS by_diagnosis, bool_or(x.source = 'medicin') AS by_medicine
           FROM years y
           JOIN (SELECT person_id, condition, first_year AS from_year, 9999 AS to_year, 'diagnose' AS source FROM diag
                 UNION ALL
                 SELECT person_id, condition, year, year, 'medicin' FROM med WHERE redemptions >= needed) x
             ON x.person_id = y.person_id AND y.year BETWEEN x.from_year AND x.to_year
           GROUP BY ALL ORDER BY ALL"""
    )
    for table in ("chronic_diag_codes", "chronic_atc_codes"):
        con.execute(f"DROP TABLE {table}")


def _code_tables(con: duckdb.DuckDBPyConnection) -> None:
    diag_codes = [r[0] for r in con.execute("SELECT DISTINCT diag_kode FROM c_lpr_diagnoser").fetchall()]
    atc_codes = [r[0] for r in con.execute("SELECT DISTINCT atc FROM c_lms_ekspeditioner").fetchall()]
    diag = [(code, c.id) for code in diag_codes for c in CHRONIC_CONDITIONS if code.startswith(c.diagnosis_prefixes)]
    atc = [
        (code, c.id, c.min_redemptions)
        for code in atc_codes
        for c in CHRONIC_CONDITIONS
        if code.startswith(c.atc_prefixes)
    ]
    tables = {
        "chronic_diag_codes": pa.table(
            {"code": [d[0] for d in diag], "condition": [d[1] for d in diag]},
            schema=pa.schema([("code", pa.string()), ("condition", pa.string())]),
        ),
        "chronic_atc_codes": pa.table(
            {"code": [a[0] for a in atc], "condition": [a[1] for a in atc], "min_redemptions": [a[2] for a in atc]},
            schema=pa.schema([("code", pa.string()), ("condition", pa.string()), ("min_redemptions", pa.int64())]),
        ),
    }
    for name, table in tables.items():
        con.register("_arrow", table)
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM _arrow")
        con.unregister("_arrow")
