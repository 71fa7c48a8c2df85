"""The Spark-specific steps of a load: the session, reading extracts, writing the release.

They live in ``etl`` beside the steps they replace (they use its extract and staging types); the
engine adapter they drive, the SQL connection, lives in ``engines`` below it.

Everything between (validate, conform, derive) is the load's own SQL run through
:class:`koes.engines.spark_sql.SparkConnection`. What cannot be one source lives here:

* **read**: Spark reads Parquet extracts itself, numbering rows from the file's own row index;
  CSV extracts are numbered by the load's line-numbering copy and parsed by Spark's CSV reader
  as text, a malformed line kept as a reject with its row number.
* **publish**: every release table is written by Spark as Parquet (partitioned by year where it
  has one) into the release's ``parquet/`` folder, then the serving file is built from those
  Parquet files, so a Spark release has the same layout, manifest and serving file as a DuckDB
  one. Only pseudonymised release tables reach DuckDB; the CPR-to-key map never leaves Spark.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from koes.domain.registers import ColumnType, Register
from koes.engines.spark import QUICK_START_JAVA_OPTIONS, local_session
from koes.engines.spark_sql import SparkConnection
from koes.etl.extracts import ExtractFile
from koes.etl.read import StagedFile, _number_lines, _select_list, rejects_table
from koes.etl.sql import ident, lit

# The load's session: ANSI semantics (a bad cast fails as on DuckDB), UTC, few shuffle partitions
# (a test extract has thousands of rows; a cluster sets its own).
LOAD_CONFIG = {
    "spark.sql.ansi.enabled": "true",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.caseSensitive": "false",
    "spark.sql.sources.partitionColumnTypeInference.enabled": "false",
}
_ARROW_TO_DUCKDB = {
    "string": "VARCHAR",
    "large_string": "VARCHAR",
    "int8": "TINYINT",
    "int16": "SMALLINT",
    "int32": "INTEGER",
    "int64": "BIGINT",
    "double": "DOUBLE",
    "float": "FLOAT",
    "bool": "BOOLEAN",
    "date32[day]": "DATE",
}


@contextmanager
def spark_database(master: str, workdir: Path) -> Iterator[SparkConnection]:
    """A private Spark session for one load; its views are dropped when the load ends."""
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(mode=0o700, parents=True)
    base = local_session(master, app_name="koes-load", java_options=QUICK_START_JAVA_OPTIONS)
    session = base.newSession()
    for key, value in LOAD_CONFIG.items():
        session.conf.set(key, value)
    con = SparkConnection(session)
    try:
        yield con
    finally:
        con.close()
        session.catalog.clearCache()
        shutil.rmtree(workdir, ignore_errors=True)


def stage_file(con: SparkConnection, extract: ExtractFile, workdir: Path) -> StagedFile:
    """Stage one extract file; like :func:`koes.etl.read.stage_file`, on Spark."""
    if extract.kind == "parquet":
        return _stage_parquet(con, extract)
    return _stage_csv(con, extract, workdir)


def _source_view(extract: ExtractFile) -> str:
    return "src_" + "".join(ch if ch.isalnum() else "_" for ch in extract.path.name)


def _stage_parquet(con: SparkConnection, extract: ExtractFile) -> StagedFile:
    view = _source_view(extract)
    frame = con.spark.read.parquet(str(extract.path)).select("*", "_metadata.row_index")
    frame.createOrReplaceTempView(view)
    rows = frame.count()
    schema = pq.read_schema(extract.path)
    types = {c.name: _ARROW_TO_DUCKDB.get(str(schema.field(c.name).type), "VARCHAR") for c in extract.register.columns}
    if any(str(schema.field(c.name).type).startswith("timestamp") for c in extract.register.columns):
        types |= {
            c.name: "TIMESTAMP"
            for c in extract.register.columns
            if str(schema.field(c.name).type).startswith("timestamp")
        }
    return StagedFile(rows, f"SELECT {_select_list(extract, 'row_index + 1', types)} FROM {view}")


def _stage_csv(con: SparkConnection, extract: ExtractFile, workdir: Path) -> StagedFile:
    numbered = workdir / f"{extract.path.name}.numbered.csv"
    _number_lines(extract, numbered)
    names = ["_row", *extract.columns]
    schema = ", ".join(f"`{n}` string" for n in [*names, "_corrupt"])
    frame = (
        con.spark.read.option("header", "true")
        .option("sep", extract.delimiter or ",")
        .option("quote", '"')
        .option("escape", '"')
        .option("mode", "PERMISSIVE")
        .option("columnNameOfCorruptRecord", "_corrupt")
        .option("encoding", "UTF-8")
        .schema(schema)
        .csv(str(numbered))
    )
    # Spark reads lazily: the rows are kept now, before the numbered copy is removed.
    view = _source_view(extract)
    con.put(view, frame)
    good = f"(SELECT * FROM {view} WHERE _corrupt IS NULL)"
    rejected = con.sql(f"SELECT count(*) FROM {view} WHERE _corrupt IS NOT NULL").collect()[0][0]
    con.execute(
        f"""INSERT INTO {rejects_table(extract.register)}
            SELECT {lit(extract.path.name)}, TRY_CAST(regexp_extract(_corrupt, '^([0-9]+)', 1) AS BIGINT),
                   'the row has the wrong number of fields (expected {len(names) - 1})'
            FROM {view} WHERE _corrupt IS NOT NULL"""
    )
    types = {c.name: "VARCHAR" for c in extract.register.columns}
    total = con.sql(f"SELECT count(*) FROM {good}").collect()[0][0]
    source = f"SELECT {_select_list(extract, 'CAST(_row AS BIGINT)', types)} FROM {good} g"
    return StagedFile(int(total) + int(rejected), source)


def write_parquet(con: SparkConnection, folder: Path, tables: Iterable[str]) -> dict[str, str]:
    """Every table as Parquet, partitioned by year where it has one (an empty table: one file)."""
    out = folder / "parquet"
    out.mkdir()
    written = {}
    for table in tables:
        frame = con.spark.table(table)
        empty = frame.limit(1).count() == 0
        if "year" in frame.columns and not empty:
            target = out / table
            frame.write.partitionBy("year").option("compression", "zstd").parquet(str(target))
        else:
            target = out / f"{table}.parquet"
            tmp = out / f".{table}.spark"
            frame.coalesce(1).write.option("compression", "zstd").parquet(str(tmp))
            part = next(tmp.glob("part-*.parquet"))
            part.rename(target)
            shutil.rmtree(tmp)
        for marker in target.rglob("_SUCCESS") if target.is_dir() else ():
            marker.unlink()
        for crc in target.rglob(".*.crc") if target.is_dir() else ():
            crc.unlink()
        written[table] = str(target.relative_to(folder))
    return written


def build_serving_file(folder: Path, parquet: dict[str, str], serving_file: str) -> None:
    """The release's DuckDB serving file, from the Parquet copy Spark wrote (tables only, no CPR)."""
    con = duckdb.connect(str(folder / serving_file))
    try:
        for table, relative in parquet.items():
            path = folder / relative
            if path.is_dir():
                files = lit(str(path) + "/**/*.parquet")
                source = f"read_parquet({files}, hive_partitioning = true, hive_types = {{'year': SMALLINT}})"
            else:
                source = f"read_parquet({lit(str(path))})"
            con.execute(f"CREATE TABLE {ident(table)} AS SELECT * FROM {source}")
        con.execute("CHECKPOINT")
    finally:
        con.close()


def declared_types(register: Register) -> dict[str, ColumnType]:
    return {c.name: c.type for c in register.columns}
