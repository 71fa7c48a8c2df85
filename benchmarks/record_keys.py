"""What an event record key costs per row: the engine's own ``hash`` (record keys version 1) against
MD5 of the natural key as text (version 2, the same on DuckDB and Spark).

Two natural keys: one integer (a contact's register key) and a whole row of four columns of the
kinds a prescription has (an integer, text, a date, a floating-point amount). Each expression is
summed over ``ROWS`` rows on one thread; the best of three runs, in nanoseconds a row.
``python -m benchmarks.record_keys`` prints JSON.
"""

from __future__ import annotations

import json
import os
import time

import duckdb

from koes.privacy.record_keys import RecordKeys, fixed_point

ROWS = 2_000_000


def measure() -> dict[str, object]:
    keys = RecordKeys.derive(b"benchmark key, not a secret....")
    con = duckdb.connect()
    con.execute("SET threads = 1")
    con.execute(
        f"""CREATE TABLE t AS SELECT 10000000000 + range AS contact_id, range % 65536 AS person_key,
                   'DI' || (range % 90) AS code, DATE '2022-01-01' + CAST(range % 1000 AS INTEGER) AS day,
                   (range % 997) * 1.25 AS kroner
            FROM range({ROWS})"""
    )
    row = ("person_key", "code", "day")
    expressions = {
        "v1 hash, one integer": "CAST(hash(12345, 'lpr_kontakter', contact_id) % 65536 AS INTEGER)",
        "v2 md5, one integer": keys.event_key_sql("lpr_kontakter", "contact_id"),
        "v1 hash, whole row": f"CAST(hash(12345, 'lms', {', '.join(row)}, kroner) % 65536 AS INTEGER)",
        "v2 md5, whole row": keys.event_key_sql("lms", *row, fixed_point("kroner")),
    }
    out: dict[str, object] = {"rows": ROWS, "load_average": round(os.getloadavg()[0], 1)}
    for name, expression in expressions.items():
        best = float("inf")
        for _ in range(3):
            began = time.perf_counter()
            con.execute(f"SELECT sum({expression}) FROM t").fetchone()
            best = min(best, time.perf_counter() - began)
        out[name] = round(best / ROWS * 1e9)
    out["load_average_after"] = round(os.getloadavg()[0], 1)
    return out


if __name__ == "__main__":
    print(json.dumps(measure(), indent=1))
