"""Chronic-condition flags per person and year (algorithm in ``koes.domain.chronic``).

Code matching is done once per code of the release's diagnosis and ATC domains (a few
thousand) rather than per row (tens of millions): the small code → condition tables are then
joined by equality on the coded facts (``diagnoses`` with their ``contacts``, ``prescriptions``),
so the extracts are not read and keyed again.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from koes.domain.chronic import CHRONIC_CONDITIONS
from koes.etl.derive.coding import coded, type_name

DOMAIN_OF = {"chronic_diag_codes": "diagnosis", "chronic_atc_codes": "atc"}


def build_chronic(con: duckdb.DuckDBPyConnection) -> None:
    _code_tables(con)
    con.execute(
        f"""CREATE OR REPLACE TABLE person_conditions AS
           WITH diag AS (
             SELECT d.person_id, dc.condition, min(k.year) AS first_year
             FROM diagnoses d
             JOIN contacts k USING (contact_id)
             JOIN chronic_diag_codes dc ON dc.code = d.diag_code
             WHERE NOT d.disproved
             GROUP BY d.person_id, dc.condition),
           med AS (
             SELECT l.person_id, ac.condition, l.year, count(*) AS redemptions,
                    any_value(ac.min_redemptions) AS needed
             FROM prescriptions l JOIN chronic_atc_codes ac ON ac.code = l.atc
             WHERE l.packages > 0 GROUP BY ALL),
           years AS (SELECT DISTINCT person_id, year FROM person_year_base)
           SELECT y.person_id, CAST(y.year AS SMALLINT) AS year, {coded("condition", "x.condition")} AS condition,
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
    diag_codes = _domain(con, "diagnosis")
    atc_codes = _domain(con, "atc")
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
        # Codes of the facts' own domain, so the joins compare small integers.
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * REPLACE ({coded(DOMAIN_OF[name], 'code')} AS code) "
            "FROM _arrow"
        )
        con.unregister("_arrow")


def _domain(con: duckdb.DuckDBPyConnection, domain: str) -> list[str]:
    """The codes the facts can hold: the diagnosis or ATC domain of the release."""
    return [r[0] for r in con.execute(f"SELECT unnest(enum_range(NULL::{type_name(domain)}))").fetchall()]
