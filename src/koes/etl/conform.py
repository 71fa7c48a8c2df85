"""Conform valid rows: CPR numbers become integer person keys; nothing downstream sees a CPR.

Person keys are assigned in order of the keyed hash (pseudonym), so the same extracts and the
same key give the same keys in every load, and the key order reveals nothing about CPR order.
Each person key carries the person's record key in its low bits (``koes.privacy.record_keys``):
the cell-key method sums the record keys of the distinct persons in a cell.
The mapping from CPR to key lives only in the private working database of a load. Conformed
registers are views (valid rows joined to the key map), read once by the derivations that need
them, so no copy of a national extract is held in memory.
"""

from __future__ import annotations

import duckdb

from koes.domain.registers import REGISTERS, Register
from koes.etl.sql import ident
from koes.etl.validate import valid_table
from koes.privacy.pseudonymisation import hmac_sha256_sql
from koes.privacy.record_keys import RecordKeys


def conformed_table(register: Register) -> str:
    return f"c_{register.name}"


def build_person_map(con: duckdb.DuckDBPyConnection, key: bytes, keys: RecordKeys) -> int:
    person_id = keys.person_id_sql("row_number() OVER (ORDER BY pseudonym)", "pseudonym")
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE person_map AS
            SELECT pnr, pseudonym, {person_id} AS person_id
            FROM (SELECT pnr, {hmac_sha256_sql(key, "pnr")} AS pseudonym FROM valid_cpr_personer)"""
    )
    result = con.execute("SELECT count(*) FROM person_map").fetchone()
    return int(result[0]) if result else 0


def conform_all(con: duckdb.DuckDBPyConnection) -> None:
    for register in REGISTERS:
        columns = [c for c in register.columns if not c.cpr]
        select = ", ".join(f"v.{ident(c.name)}" for c in columns)
        if any(c.cpr for c in register.columns):
            con.execute(
                f"""CREATE OR REPLACE TEMP VIEW {conformed_table(register)} AS
                    SELECT m.person_id, {select} FROM {valid_table(register)} v JOIN person_map m USING (pnr)"""
            )
        else:
            source = valid_table(register)
            con.execute(f"CREATE OR REPLACE TEMP VIEW {conformed_table(register)} AS SELECT {select} FROM {source} v")
