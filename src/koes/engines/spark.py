"""Spark engine: the release's Parquet copy, registered as temporary views in a Spark session.

The scale-out path (performance-notes §4.4): the same scoped SQL, rendered in the Spark dialect,
runs over ``releases/<id>/parquet/``. Every table there becomes a temporary view with the table's
name; a folder is a table written partitioned by year (``<table>/year=2023/….parquet``), a
``<table>.parquet`` file a table without a year.

Each engine works in its own ``SparkSession.newSession()``: it shares the JVM and the
SparkContext of the base session, but has its own temporary views and SQL settings, so engines on
two releases never see each other's tables. ``close()`` drops the views; the base session lives
on (``local_session()`` creates or reuses it; whoever created it stops it).

pyspark is optional (``pip install -e '.[spark]'``) and imported only here.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import sqlglot
import sqlglot.errors
import sqlglot.expressions as exp
from py4j.protocol import Py4JError  # type: ignore[import-untyped]
from pyspark.errors import PySparkException
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F  # noqa: N812 - the usual spelling

from koes.engines.base import EngineError, Row

# Partition columns come back from the folder names; give them the type the serving file has
# (SMALLINT years), so arithmetic and comparisons behave as on DuckDB.
PARTITION_TYPES: Mapping[str, str] = {"year": "smallint"}

# Settings of the base session: small, local, quiet. Shuffles of a few thousand groups need few
# partitions; the UI would open a port.
SESSION_CONFIG: Mapping[str, str] = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "4",
    "spark.sql.session.timeZone": "UTC",
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",  # the driver's ports stay on this machine
}

# Settings of each engine's session. ANSI mode: integer overflow and invalid casts raise errors
# instead of wrapping or giving NULL, as DuckDB does. Partition values are read as text and cast
# by PARTITION_TYPES, so a year is never guessed as INT on one engine and SMALLINT on the other.
ENGINE_CONFIG: Mapping[str, str] = {
    "spark.sql.ansi.enabled": "true",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.shuffle.partitions": "4",
    "spark.sql.sources.partitionColumnTypeInference.enabled": "false",
    "spark.sql.caseSensitive": "false",
}

# JVM options for short runs (tests, one-off CLI queries): the C1 compiler only and the serial
# collector halve the CPU the JVM spends warming up on small data (measured: about 75 s → 38 s for
# 33 small queries on 2 busy cores). Long-running servers on big data should keep the defaults.
QUICK_START_JAVA_OPTIONS = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"

_session_lock = threading.Lock()


def local_session(master: str = "local[2]", *, app_name: str = "koes", java_options: str | None = None) -> SparkSession:
    """The process's local Spark session: created on first use, reused while it runs.

    ``java_options`` apply only when this call starts the JVM; a running session is returned as is.
    """
    with _session_lock:
        builder: Any = SparkSession.builder
        builder = builder.master(master).appName(app_name)
        for key, value in SESSION_CONFIG.items():
            builder = builder.config(key, value)
        if java_options:
            builder = builder.config("spark.driver.extraJavaOptions", java_options)
        session: SparkSession = builder.getOrCreate()  # the running session, if there is one
        session.sparkContext.setLogLevel("ERROR")
        return session


class SparkEngine:
    dialect = "spark"

    def __init__(self, parquet_dir: Path, release_id: str, *, session: SparkSession | None = None) -> None:
        self.release_id = release_id
        self.parquet_dir = parquet_dir
        self._lock = threading.Lock()
        self._own_tables = threading.Lock()  # queries with tables of the caller's: one at a time
        self._tables = _find_tables(parquet_dir, release_id)
        self._registered: set[str] = set()
        try:
            self._spark = (session or local_session()).newSession()
            for key, value in ENGINE_CONFIG.items():
                self._spark.conf.set(key, value)
        except (PySparkException, Py4JError) as error:
            raise EngineError(f"could not start Spark: {_kind(error)}") from error

    def execute(self, sql: str) -> list[Row]:
        return self._execute(sql)

    def execute_with(self, sql: str, tables: Mapping[str, Any]) -> list[Row]:
        """Run ``sql`` with Arrow tables of the caller's (``name → table``) as temporary views for
        this query only (a cohort's population: data, never SQL text). Spark's temporary views
        belong to the engine's session, so such queries run one at a time and drop their views."""
        with self._own_tables:
            names = []
            try:
                for name, table in tables.items():
                    self._spark.createDataFrame(table.to_pylist(), schema=_spark_schema(table)).createOrReplaceTempView(
                        name
                    )
                    names.append(name)
                return self._execute(sql)
            except (PySparkException, Py4JError) as error:
                raise EngineError(f"the query failed in Spark: {_kind(error)}") from error
            finally:
                for name in names:
                    with contextlib.suppress(PySparkException, Py4JError):
                        self._spark.catalog.dropTempView(name)

    def _execute(self, sql: str) -> list[Row]:
        try:
            self._register(self._tables_in(sql))
            frame = self._spark.sql(sql)
            names = frame.columns
            return [dict(zip(names, row, strict=True)) for row in frame.collect()]
        except (PySparkException, Py4JError) as error:  # Py4JError: a JVM error pyspark does not convert
            raise EngineError(f"the query failed in Spark: {_kind(error)}") from error

    def table_columns(self) -> Mapping[str, frozenset[str]]:
        return {name: table.columns for name, table in self._tables.items()}

    def close(self) -> None:
        with self._lock:
            names, self._registered = sorted(self._registered), set()
        for name in names:
            with contextlib.suppress(PySparkException, Py4JError):  # the base session may be stopped already
                self._spark.catalog.dropTempView(name)

    def _tables_in(self, sql: str) -> set[str]:
        """The release tables a query reads (all of them if SQLGlot cannot parse it: Spark decides)."""
        try:
            return {table.name for table in sqlglot.parse_one(sql, read="spark").find_all(exp.Table)}
        except sqlglot.errors.ParseError:
            return set(self._tables)

    def _register(self, names: set[str]) -> None:
        """Make the release's tables a query reads temporary views (once each, on first use).

        Registering a view makes Spark list the table's files; doing it for every table of a
        release on open would take seconds, so views are made only for tables a query reads.
        """
        with self._lock:
            for name in sorted(names & self._tables.keys() - self._registered):
                table = self._tables[name]
                reader = self._spark.read
                if table.partitioned:
                    frame = _cast_partitions(reader.option("basePath", str(table.path)).parquet(str(table.path)))
                else:
                    frame = reader.parquet(str(table.path))
                frame.createOrReplaceTempView(name)
                self._registered.add(name)


@dataclass(frozen=True)
class _Table:
    path: Path
    partitioned: bool
    columns: frozenset[str]


def _find_tables(parquet_dir: Path, release_id: str) -> dict[str, _Table]:
    """The tables of a release's Parquet copy and their columns, from the Parquet footers alone."""
    if not parquet_dir.is_dir():
        raise EngineError(f"release {release_id} has no Parquet copy")
    tables: dict[str, _Table] = {}
    for entry in sorted(parquet_dir.iterdir()):
        if entry.is_dir():
            first = next(iter(sorted(entry.rglob("*.parquet"))), None)
            if first is None:
                continue  # an empty table written partitioned: no file holds its columns
            keys = [part.split("=", 1)[0] for part in first.relative_to(entry).parts[:-1] if "=" in part]
            columns = frozenset(pq.read_schema(first).names) | frozenset(keys)
            tables[entry.name] = _Table(entry, True, columns)
        elif entry.suffix == ".parquet":
            tables[entry.stem] = _Table(entry, False, frozenset(pq.read_schema(entry).names))
    return tables


def _cast_partitions(frame: DataFrame) -> DataFrame:
    present = {name.lower(): name for name in frame.columns}
    for column, type_name in PARTITION_TYPES.items():
        if column in present:
            name = present[column]
            frame = frame.withColumn(name, F.col(name).cast(type_name))
    return frame


_SPARK_TYPES = {"int64": "bigint", "int32": "int", "string": "string", "large_string": "string", "date32[day]": "date"}


def _spark_schema(table: Any) -> str:
    """A DDL schema for an Arrow table of the types a population uses (ids, text, dates, whole numbers)."""
    return ", ".join(f"`{field.name}` {_SPARK_TYPES[str(field.type)]}" for field in table.schema)


def _kind(error: Exception) -> str:
    """The exception type and Spark's error condition: names only, never the message (it quotes values)."""
    get = getattr(error, "getCondition", None) or getattr(error, "getErrorClass", None)  # Spark 4 / 3.5
    condition = get() if callable(get) else None
    return type(error).__name__ + (f" [{condition}]" if condition else "")
