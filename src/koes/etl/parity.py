"""Compare two releases table by table: the content of sorted rows, independent of engine and layout.

A release loaded by DuckDB and one loaded by Spark from the same extracts with the same key must
hold the same rows. Types differ where the engines do (a DuckDB ENUM is text in Spark, a SMALLINT
may come back wider), so each value is normalised first: numbers to integers when whole, floats
rounded to 9 significant digits, dates and text as text. A table's fingerprint is its row count and
the SHA-256 of its normalised rows in sorted order.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from koes.etl.sql import lit


@dataclass(frozen=True)
class TableFingerprint:
    rows: int
    sha256: str


def release_fingerprints(
    release_folder: Path, *, ignore_columns: frozenset[str] = frozenset()
) -> dict[str, TableFingerprint]:
    """The fingerprint of every table of a release's Parquet copy."""
    parquet = release_folder / "parquet"
    con = duckdb.connect()
    try:
        out = {}
        for entry in sorted(parquet.iterdir()):
            if entry.name.startswith("."):
                continue
            name = entry.stem if entry.suffix == ".parquet" else entry.name
            source = (
                f"read_parquet({lit(str(entry) + '/**/*.parquet')}, hive_partitioning = true)"
                if entry.is_dir()
                else f"read_parquet({lit(str(entry))})"
            )
            relation = con.sql(f"SELECT * FROM {source}")
            columns = sorted(c for c in relation.columns if c not in ignore_columns)
            rows = sorted(tuple(_normal(v) for v in row) for row in relation.select(*columns).fetchall())
            digest = hashlib.sha256()
            digest.update(repr(columns).encode())
            for row in rows:
                digest.update(repr(row).encode())
            out[name] = TableFingerprint(len(rows), digest.hexdigest())
        return out
    finally:
        con.close()


def _normal(value: Any) -> str:
    if value is None:
        return "∅"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | Decimal | float):
        number = float(value)
        if math.isfinite(number) and number == int(number) and abs(number) < 2**53:
            return str(int(number))
        return f"{number:.9g}"
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)
