"""Write a release: the DuckDB serving file, Parquet by year, the quarantine report, the manifest.

The release is written into a staging folder and verified there; only then does the caller
switch the ``current`` pointer. Verification re-reads what was written rather than trusting
the builder.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import duckdb

from koes.etl.sql import ident, lit
from koes.etl.validate import Accounting

# Tables of a release, in the order they are written. Facts are sorted by year, municipality and
# person so zone maps let a one-municipality query skip most blocks.
RELEASE_TABLES: tuple[str, ...] = (
    "dim_region",
    "dim_region_membership",
    "dim_hospital_region",
    "dim_municipality",
    "dim_hospital",
    "dim_diagnosis",
    "dim_atc",
    "dim_age",
    "rule_cofinancing",
    "rule_psychiatric_tariff",
    "rule_discharge_ready_rate",
    "rule_discharge_ready",
    "persons",
    "residence",
    "population_month",
    "population_year",
    "residents_year",
    "residents_quarter",
    "residents_month",
    "courses",
    "contacts",
    "diagnoses",
    "procedures",
    "stays",
    "hospital_cofinancing",
    "discharge_ready",
    "discharge_ready_days",
    "services",
    "prescriptions",
    "benefit_weeks",
    "home_care",
    "nursing_home_months",
    "person_conditions",
    "person_year",
    "person_year_hospital",
    "person_year_practice",
    "person_year_practice_total",
    "person_year_medicine",
    "person_year_medicine_total",
    "person_year_care",
    "quarantine",
    "load_accounting",
)
FORBIDDEN_COLUMNS = frozenset({"pnr", "cpr", "cprnr", "personnummer"})
SERVING_FILE = "warehouse.duckdb"


def write_accounting(con: duckdb.DuckDBPyConnection, accounting: Sequence[Accounting]) -> None:
    con.execute(
        "CREATE OR REPLACE TABLE load_accounting "
        "(register VARCHAR, rows_in BIGINT, rows_loaded BIGINT, rows_quarantined BIGINT)"
    )
    con.executemany(
        "INSERT INTO load_accounting VALUES (?, ?, ?, ?)",
        [(a.register, a.rows_in, a.rows_loaded, a.rows_quarantined) for a in accounting],
    )


@contextmanager
def release_database(con: duckdb.DuckDBPyConnection, folder: Path) -> Iterator[None]:
    """Make the release's serving file the default database while derived tables are built."""
    path = folder / SERVING_FILE
    con.execute(f"ATTACH {lit(str(path))} AS rel")
    con.execute("USE rel")
    try:
        yield
        con.execute("CHECKPOINT rel")
    finally:
        con.execute("USE memory")
        con.execute("DETACH rel")


def copy_quarantine(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE TABLE rel.quarantine AS SELECT * FROM memory.main.quarantine ORDER BY ALL")


def narrow_integers(con: duckdb.DuckDBPyConnection, tables: Iterable[str]) -> list[str]:
    """HUGEINT columns (DuckDB's type for sums of integers) become BIGINT.

    Parquet has no 128-bit integer, so DuckDB would write them as DOUBLE and Spark would read
    counts back as floats; no count in a release comes near 2**63. Returns the columns changed."""
    changed = []
    for table in tables:
        for name, kind, *_ in con.execute(f"DESCRIBE {ident(table)}").fetchall():
            if kind == "HUGEINT":
                con.execute(f"ALTER TABLE {ident(table)} ALTER COLUMN {ident(name)} SET DATA TYPE BIGINT")
                changed.append(f"{table}.{name}")
    return changed


def write_parquet(con: duckdb.DuckDBPyConnection, folder: Path, tables: Iterable[str]) -> dict[str, str]:
    """Each table as Parquet: partitioned by year where it has one. Returns table -> relative path.

    An empty table is written as one file: partitioning it would leave an empty folder, with no
    file to hold its columns."""
    out = folder / "parquet"
    out.mkdir()
    written = {}
    for table in tables:
        columns = {row[0] for row in con.execute(f"DESCRIBE {ident(table)}").fetchall()}
        empty = con.execute(f"SELECT count(*) = 0 FROM (SELECT 1 FROM {ident(table)} LIMIT 1)").fetchall()[0][0]
        if "year" in columns and not empty:
            target = out / table
            con.execute(
                f"COPY {ident(table)} TO {lit(str(target))} (FORMAT parquet, PARTITION_BY (year), COMPRESSION zstd)"
            )
        else:
            target = out / f"{table}.parquet"
            con.execute(f"COPY {ident(table)} TO {lit(str(target))} (FORMAT parquet, COMPRESSION zstd)")
        written[table] = str(target.relative_to(folder))
    return written


def write_quarantine_report(con: duckdb.DuckDBPyConnection, folder: Path) -> dict[str, int]:
    rows = con.execute("SELECT register, file, row, column_name, reason FROM quarantine ORDER BY ALL").fetchall()
    with (folder / "quarantine.csv").open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["register", "file", "row", "column", "reason"])
        writer.writerows(rows)
    summary = con.execute(
        """SELECT register, column_name, regexp_replace(reason, ':.*$|''.*$', '') AS kind, count(*) AS n,
                  min(file || ' row ' || row) AS example
           FROM quarantine GROUP BY ALL ORDER BY register, n DESC, column_name, kind"""
    ).fetchall()
    lines = ["# Quarantine report", ""]
    if not rows:
        lines.append("No rows were quarantined: every row of every extract passed validation.")
    else:
        lines += [
            f"{len(rows):,} problems were found. Every quarantined row is listed in `quarantine.csv` "
            "with its register, file, row, column and reason.",
            "",
            "| register | column | problem | count | first example |",
            "|---|---|---|---:|---|",
        ]
        lines += [f"| {r} | {c or '(whole row)'} | {k.strip()} | {n:,} | {e} |" for r, c, k, n, e in summary]
    (folder / "quarantine.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return {str(r[0]): int(r[3]) for r in summary}


def table_counts(con: duckdb.DuckDBPyConnection, tables: Iterable[str]) -> dict[str, int]:
    counts = {}
    for table in tables:
        result = con.execute(f"SELECT count(*) FROM {ident(table)}").fetchone()
        counts[table] = int(result[0]) if result else 0
    return counts


def rows_per_person_year(con: duckdb.DuckDBPyConnection, tables: Iterable[str]) -> dict[str, int]:
    """The most rows one person has in one year, per table (0 for an empty table).

    Recorded in the manifest: it lets the analysis count a cell's rows instead of its distinct
    persons wherever the rows alone prove the cell large enough (``koes.query.bases``)."""
    bounds = {}
    for table in tables:
        result = con.execute(
            f"SELECT coalesce(max(n), 0) FROM (SELECT count(*) AS n FROM {ident(table)} GROUP BY person_id, year)"
        ).fetchone()
        bounds[table] = int(result[0]) if result else 0
    return bounds


def content_hash(con: duckdb.DuckDBPyConnection, tables: Iterable[str]) -> str:
    """A hash of the release's content that ignores row order and physical layout.

    Loading the same extracts with the same key twice gives the same hash.
    """
    digest = hashlib.sha256()
    for table in sorted(tables):
        result = con.execute(f"SELECT count(*), coalesce(sum(hash(t)), 0) FROM {ident(table)} t").fetchone()
        digest.update(f"{table}:{result}\n".encode())
    return "sha256:" + digest.hexdigest()


def verify_release(folder: Path, expected_counts: dict[str, int], accounting: Sequence[Accounting]) -> list[str]:
    """Re-open what was written, read-only, and check it holds what the load meant it to."""
    problems = [
        f"{a.register}: rows in {a.rows_in:,} ≠ loaded {a.rows_loaded:,} + quarantined {a.rows_quarantined:,}"
        for a in accounting
        if not a.balanced
    ]
    con = duckdb.connect(str(folder / SERVING_FILE), read_only=True)
    try:
        written = table_counts(con, expected_counts)
        problems += [
            f"table {t}: {written[t]:,} rows in the serving file, expected {n:,}"
            for t, n in expected_counts.items()
            if written[t] != n
        ]
        for table, column in con.execute("SELECT table_name, column_name FROM information_schema.columns").fetchall():
            if str(column).lower() in FORBIDDEN_COLUMNS:
                problems.append(f"table {table} has a column {column!r}: the warehouse must hold no CPR numbers")
        problems += _invariant_problems(con)
        for table, n in expected_counts.items():
            parquet = folder / "parquet" / table
            source = f"{parquet}/**/*.parquet" if parquet.is_dir() else f"{parquet}.parquet"
            if n and _scalar(con, f"SELECT count(*) FROM read_parquet({lit(source)})") != n:
                problems.append(f"table {table}: Parquet copy does not hold {n:,} rows")
    finally:
        con.close()
    return problems


def _invariant_problems(con: duckdb.DuckDBPyConnection) -> list[str]:
    checks = {
        "every contact belongs to a known person": "SELECT count(*) FROM contacts WHERE person_id NOT IN "
        "(SELECT person_id FROM persons)",
        "admissions last at least 12 hours": "SELECT count(*) FROM stays WHERE admission AND hours < 12",
        "stays do not overlap within a person": """SELECT count(*) FROM (
            SELECT start_ts, lag(end_ts) OVER (PARTITION BY person_id ORDER BY start_ts) AS prev FROM stays)
            WHERE start_ts < prev""",
        "pseudonyms are 64 hex characters": "SELECT count(*) FROM persons WHERE NOT regexp_full_match(pseudonym, "
        "'[0-9a-f]{64}')",
        "population is never negative": "SELECT count(*) FROM population_month WHERE persons < 0",
    }
    return [f"invariant broken: {name} ({n:,} rows)" for name, sql in checks.items() if (n := _scalar(con, sql))]


def _scalar(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    result = con.execute(sql).fetchone()
    return int(result[0]) if result and result[0] is not None else 0


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def serving_content_hash(serving_file: Path, tables: Iterable[str]) -> str:
    """:func:`content_hash` of a published release's serving file, read only (backup checks)."""
    con = duckdb.connect(str(serving_file), read_only=True)
    try:
        return content_hash(con, tables)
    finally:
        con.close()
