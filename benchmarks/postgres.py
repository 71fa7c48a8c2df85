"""A throwaway PostgreSQL cluster holding copies of release tables, for side-by-side timings.

Started as the tests start theirs (Debian's binaries, ``initdb`` and ``pg_ctl`` as the ``postgres``
user when run as root, a temporary folder, a free port), tuned for one analytical user on this
machine, loaded with DuckDB's tables through CSV and ``COPY``, indexed and analysed. Stopped and
removed on exit, also when a query fails.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import duckdb
import psycopg

# What a DBA would set for analytical queries by one user on 2 cores and 24 GiB shared with others:
# memory for hashing distinct persons, both cores for a query, caching assumed (the data fit in RAM),
# no durability cost while loading a copy.
TUNING = {
    "shared_buffers": "4GB",
    "work_mem": "1GB",
    "maintenance_work_mem": "1GB",
    "effective_cache_size": "12GB",
    "max_parallel_workers_per_gather": "2",
    "max_parallel_workers": "2",
    "random_page_cost": "1.1",
    "max_wal_size": "8GB",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
}

# DuckDB column types as PostgreSQL types (ENUM codes become text, unsigned integers widen).
_TYPES = {
    "BOOLEAN": "boolean",
    "TINYINT": "smallint",
    "UTINYINT": "smallint",
    "SMALLINT": "smallint",
    "USMALLINT": "integer",
    "INTEGER": "integer",
    "UINTEGER": "bigint",
    "BIGINT": "bigint",
    "UBIGINT": "numeric",
    "HUGEINT": "numeric",
    "DOUBLE": "double precision",
    "FLOAT": "real",
    "DATE": "date",
    "TIMESTAMP": "timestamp",
    "VARCHAR": "text",
}

# Indexes a DBA would add for these queries: the year and month every request filters on, the
# person for segment joins, municipality for the scope rewrite's filters.
INDEXES: dict[str, Sequence[str]] = {
    "person_year": ("person_id, year", "year, kommunekode"),
    "population_month": ("year, month",),
}
FACT_INDEXES = ("year, month", "person_id")


def _pg_type(duck: str) -> str:
    if duck.startswith(("ENUM", "VARCHAR")):
        return "text"
    if duck.startswith("DECIMAL"):
        return duck.replace("DECIMAL", "numeric")
    return _TYPES.get(duck, "text")


def _bindir() -> Path:
    found = [p.parent for p in Path("/usr/lib/postgresql").glob("*/bin/initdb") if (p.parent / "pg_ctl").exists()]
    if not found:
        raise RuntimeError("PostgreSQL server binaries are missing (apt-get install -y postgresql)")
    return sorted(found, key=lambda b: int(b.parent.name) if b.parent.name.isdigit() else 0)[-1]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class PostgresCopy:
    """``with PostgresCopy() as pg: pg.load(duck, tables); pg.query(sql)``."""

    def __init__(self) -> None:
        self.bindir = _bindir()
        self.as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        self.folder = Path(tempfile.mkdtemp(prefix="koes-pg-peers-"))
        self.url = ""
        self.version = ""
        self.load_seconds: dict[str, float] = {}
        self._connection: psycopg.Connection[Any] | None = None

    def _run(self, *args: str) -> None:
        subprocess.run([*self.as_postgres, *args], check=True, capture_output=True, text=True, timeout=600)

    def __enter__(self) -> PostgresCopy:
        if self.as_postgres:
            shutil.chown(self.folder, "postgres")
        data = self.folder / "data"
        self._run(
            str(self.bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"
        )
        settings = " ".join(f"-c {k}={v}" for k, v in TUNING.items())
        port = _free_port()
        options = f"-k {self.folder} -p {port} -h 127.0.0.1 {settings}"
        log = self.folder / "server.log"
        self._run(
            str(self.bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(log), "-w", "-t", "60", "start"
        )
        self.url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
        self._connection = psycopg.connect(self.url, autocommit=True)
        self.version = str(self.connection.execute("SHOW server_version").fetchone()[0])  # type: ignore[index]
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._connection is not None:
            self._connection.close()
        subprocess.run(
            [
                *self.as_postgres,
                str(self.bindir / "pg_ctl"),
                "-D",
                str(self.folder / "data"),
                "-m",
                "fast",
                "-w",
                "stop",
            ],
            check=False,
            capture_output=True,
            timeout=120,
        )
        shutil.rmtree(self.folder, ignore_errors=True)

    @property
    def connection(self) -> psycopg.Connection[Any]:
        assert self._connection is not None, "the cluster is not running"
        return self._connection

    def load(self, duck: duckdb.DuckDBPyConnection, tables: Sequence[str]) -> None:
        """Copy ``tables`` whole from DuckDB, then index and analyse them (seconds per table kept)."""
        for table in tables:
            began = time.perf_counter()
            columns = duck.execute(f"DESCRIBE {table}").fetchall()
            ddl = ", ".join(f"{name} {_pg_type(str(kind))}" for name, kind, *_ in columns)
            self.connection.execute(f"CREATE UNLOGGED TABLE {table} ({ddl})".encode())
            csv = self.folder / f"{table}.csv"
            duck.execute(f"COPY (SELECT * FROM {table}) TO '{csv}' (HEADER false)")
            with (
                self.connection.cursor() as cursor,
                cursor.copy(f"COPY {table} FROM STDIN (FORMAT csv)".encode()) as copy,
                csv.open("rb") as handle,
            ):
                while chunk := handle.read(1 << 20):
                    copy.write(chunk)
            csv.unlink()
            names = {name for name, *_ in columns}
            wanted = INDEXES.get(table, FACT_INDEXES if {"person_id", "month"} <= names else ())
            for i, key in enumerate(wanted):
                if {c.strip() for c in key.split(",")} <= names:
                    self.connection.execute(f"CREATE INDEX {table}_i{i} ON {table} ({key})".encode())
            self.connection.execute(f"VACUUM ANALYZE {table}".encode())
            self.load_seconds[table] = round(time.perf_counter() - began, 1)

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        return self.connection.execute(sql.encode()).fetchall()
