"""DuckDB engine: one read-only connection to the release's serving file, a cursor per query.

The connection object is not thread-safe, but cursors are; the web app runs queries in a thread
pool, so each call takes its own cursor (performance-notes §4.4).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import duckdb

from koes.engines.base import EngineError, Row
from koes.metrics import engine_time


class DuckDBEngine:
    dialect = "duckdb"

    def __init__(self, path: Path, release_id: str, *, threads: int = 2, memory_limit: str = "8GB") -> None:
        self.release_id = release_id
        self._lock = threading.Lock()
        # Settings are SET after connecting: a connect() config that differs from another open
        # connection to the same file (a test, a second service) is refused by DuckDB.
        self._con = duckdb.connect(str(path), read_only=True)
        self._con.execute(f"SET threads = {int(threads)}")
        self._con.execute("SET memory_limit = ?", [memory_limit])
        self._con.execute("SET enable_progress_bar = false")

    def execute(self, sql: str) -> list[Row]:
        return self.execute_with(sql, {})

    def execute_with(self, sql: str, tables: Mapping[str, Any]) -> list[Row]:
        """Run ``sql`` with Arrow tables of the caller's (``name → table``) visible as views, for this query only.

        The tables live in the query's own cursor and go with it: data such as a cohort's pseudonyms
        reach the engine as data, never as SQL text, and no other query sees them.
        """
        with self._lock:
            cursor = self._con.cursor()
        try:
            for name, table in tables.items():
                cursor.register(name, table)
            with engine_time(self.dialect):
                result = cursor.execute(sql)
                names = [d[0] for d in result.description or ()]
                return [dict(zip(names, row, strict=True)) for row in result.fetchall()]
        except duckdb.Error as error:
            raise EngineError(f"the query failed in DuckDB: {type(error).__name__}") from error
        finally:
            cursor.close()

    def table_columns(self) -> Mapping[str, frozenset[str]]:
        rows = self.execute("SELECT table_name, column_name FROM information_schema.columns")
        out: dict[str, set[str]] = {}
        for row in rows:
            out.setdefault(row["table_name"], set()).add(row["column_name"])
        return {table: frozenset(columns) for table, columns in out.items()}

    def close(self) -> None:
        self._con.close()
