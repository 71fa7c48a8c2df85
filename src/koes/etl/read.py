"""Stage extract files as typed rows, keeping the text of every value that will not convert.

Each register gets a staging view ``typed_<register>`` with the declared columns in their
declared types, plus ``_file`` and ``_row`` (the 1-based data row in its file) and, for every
non-text column, ``<column>__bad``: the original text when it could not be converted. Nothing is
dropped here; judging rows is the validator's job.

Parquet files are not copied: the view reads them in place, so a national extract of a hundred
million rows costs no memory until something is derived from it. CSV files are parsed once into
a private table (CSV cannot be read column by column).
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import duckdb

from koes.domain.registers import Column, ColumnType, Register
from koes.etl.extracts import Encoding, ExtractFile
from koes.etl.sql import SQL_TYPES, bad_col, ident, lit

CSV_CHUNK = 1 << 22

# Accepted textual forms besides ISO: Danish Excel writes 24-11-2026 and decimal commas.
_DATE_FORMATS = ("%d-%m-%Y", "%d.%m.%Y")
_TIMESTAMP_FORMATS = ("%d-%m-%Y %H:%M:%S", "%d-%m-%Y %H:%M", "%Y-%m-%d %H:%M")


def staging_table(register: Register) -> str:
    return f"typed_{register.name}"


def rejects_table(register: Register) -> str:
    return f"rejects_{register.name}"


def _csv_table(register: Register) -> str:
    return f"csv_{register.name}"


def create_staging(con: duckdb.DuckDBPyConnection, register: Register) -> None:
    cols = ["_file VARCHAR", "_row BIGINT"]
    for c in register.columns:
        cols.append(f"{ident(c.name)} {SQL_TYPES[c.type]}")
        if c.type is not ColumnType.STRING:
            cols.append(f"{ident(bad_col(c))} VARCHAR")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {_csv_table(register)} ({', '.join(cols)})")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {rejects_table(register)} (_file VARCHAR, _row BIGINT, reason VARCHAR)")


@dataclass(frozen=True)
class StagedFile:
    rows: int  # data rows in the file, including rows that could not be parsed
    source: str | None  # a SELECT reading the file in place (Parquet); None when copied (CSV)


def stage_file(con: duckdb.DuckDBPyConnection, extract: ExtractFile, workdir: Path) -> StagedFile:
    """Stage one file of a register; ``finish_staging`` then makes the register's view."""
    if extract.kind == "parquet":
        return _stage_parquet(con, extract)
    return StagedFile(_stage_csv(con, extract, workdir), None)


def finish_staging(con: duckdb.DuckDBPyConnection, register: Register, staged: list[StagedFile]) -> None:
    parts = [f"SELECT * FROM {_csv_table(register)}", *(s.source for s in staged if s.source)]
    con.execute(f"CREATE OR REPLACE TEMP VIEW {staging_table(register)} AS {' UNION ALL '.join(parts)}")


def _stage_parquet(con: duckdb.DuckDBPyConnection, extract: ExtractFile) -> StagedFile:
    source = f"read_parquet({lit(str(extract.path))}, file_row_number = true)"
    types = dict(con.execute(f"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM {source})").fetchall())
    # Read the whole file once here, so damage beyond the footer is found while reading, per file.
    rows = _scalar(con, f"SELECT count(*) FROM read_parquet({lit(str(extract.path))})")
    exprs = _select_list(extract, "file_row_number + 1", {c.name: str(types[c.name]) for c in extract.register.columns})
    return StagedFile(rows, f"SELECT {exprs} FROM {source}")


def _stage_csv(con: duckdb.DuckDBPyConnection, extract: ExtractFile, workdir: Path) -> int:
    numbered = workdir / f"{extract.path.name}.numbered.csv"
    _number_lines(extract, numbered)
    delim = extract.delimiter or ","
    names = ["_row", *extract.columns]
    # The dialect is known, so nothing is sniffed: DuckDB's sniffer gives up on a whole file for one
    # badly quoted line, which must instead be rejected with its row number like any other bad line.
    columns = ", ".join(f"{lit(n)}: 'VARCHAR'" for n in names)
    source = (
        f"read_csv({lit(str(numbered))}, header = true, delim = {lit(delim)}, quote = '\"', escape = '\"', "
        f"auto_detect = false, columns = {{{columns}}}, "
        f"store_rejects = true, rejects_table = 'csv_rejects', rejects_scan = 'csv_reject_scans')"
    )
    con.execute("DROP TABLE IF EXISTS csv_rejects")
    con.execute("DROP TABLE IF EXISTS csv_reject_scans")
    types = {c.name: "VARCHAR" for c in extract.register.columns}
    rows = _insert(con, extract, source, "CAST(_row AS BIGINT)", types)
    rejected = _collect_csv_rejects(con, extract, len(names))
    numbered.unlink()
    return rows + rejected


def _select_list(extract: ExtractFile, row: str, source_types: dict[str, str]) -> str:
    exprs = [f"{lit(extract.path.name)} AS _file", f"CAST({row} AS BIGINT) AS _row"]
    for c in extract.register.columns:
        value, bad = typed_expressions(c, source_types[c.name])
        exprs.append(f"{value} AS {ident(c.name)}")
        if c.type is not ColumnType.STRING:
            exprs.append(f"{bad} AS {ident(bad_col(c))}")
    return ", ".join(exprs)


def _insert(
    con: duckdb.DuckDBPyConnection, extract: ExtractFile, source: str, row: str, source_types: dict[str, str]
) -> int:
    table = _csv_table(extract.register)
    before = _count(con, table)
    con.execute(f"INSERT INTO {table} SELECT {_select_list(extract, row, source_types)} FROM {source}")
    return _count(con, table) - before


def _collect_csv_rejects(con: duckdb.DuckDBPyConnection, extract: ExtractFile, n_fields: int) -> int:
    # The numbered copy starts every line with the original data-row number, so a rejected line
    # still tells which row of the user's file it was.
    # DuckDB lists a line once per error (a line short of two fields appears twice); a line is one row.
    con.execute(
        f"""INSERT INTO {rejects_table(extract.register)}
            SELECT {lit(extract.path.name)},
                   TRY_CAST(regexp_extract(csv_line, '^([0-9]+)', 1) AS BIGINT),
                   CASE WHEN error_type IN ('TOO MANY COLUMNS', 'TOO FEW COLUMNS', 'MISSING COLUMNS')
                        THEN 'the row has the wrong number of fields (expected {n_fields - 1})'
                        WHEN error_type = 'UNQUOTED VALUE' OR error_type = 'INVALID UNICODE'
                        THEN 'the row is not well-formed CSV (' || lower(error_type) || ')'
                        ELSE 'the row could not be read as CSV (' || lower(error_type) || ')' END
            FROM (SELECT line, min(error_type) AS error_type, min(csv_line) AS csv_line
                  FROM csv_rejects GROUP BY line)"""
    )
    result = con.execute("SELECT count(DISTINCT line) FROM csv_rejects").fetchone()
    return int(result[0]) if result else 0


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    return _scalar(con, f"SELECT count(*) FROM {table}")


def _scalar(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    result = con.execute(sql).fetchone()
    return int(result[0]) if result else 0


def typed_expressions(column: Column, source_type: str) -> tuple[str, str]:
    """(value in the declared type, text kept when conversion failed) for one column."""
    target = SQL_TYPES[column.type]
    name = ident(column.name)
    if source_type.upper() == target or (column.type is ColumnType.INTEGER and _is_integer_type(source_type)):
        if column.type is ColumnType.STRING and not column.cpr:
            return f"NULLIF(trim({name}), '')", "NULL"
        return f"CAST({name} AS {target})", "NULL"
    text = f"NULLIF(trim(CAST({name} AS VARCHAR)), '')"
    if column.cpr:
        # One form for every register, so references between registers match: 10 digits.
        dashed = f"regexp_full_match({text}, '[0-9]{{6}}-[0-9]{{4}}')"
        return f"CASE WHEN {dashed} THEN replace({text}, '-', '') ELSE {text} END", "NULL"
    value = _convert(column.type, text)
    if column.type is ColumnType.STRING:
        return value, "NULL"
    return value, f"CASE WHEN {text} IS NOT NULL AND ({value}) IS NULL THEN {text} END"


def _convert(kind: ColumnType, text: str) -> str:
    if kind is ColumnType.STRING:
        return text
    if kind is ColumnType.INTEGER:
        return f"TRY_CAST({text} AS BIGINT)"
    if kind is ColumnType.DECIMAL:
        comma = f"CASE WHEN regexp_full_match({text}, '-?[0-9]+,[0-9]+') THEN replace({text}, ',', '.') ELSE {text} END"
        return f"TRY_CAST({comma} AS DOUBLE)"
    formats = _DATE_FORMATS if kind is ColumnType.DATE else _TIMESTAMP_FORMATS
    target = SQL_TYPES[kind]
    tries = [f"TRY_CAST({text} AS {target})"]
    tries += [f"TRY_CAST(try_strptime({text}, {lit(fmt)}) AS {target})" for fmt in formats]
    return f"COALESCE({', '.join(tries)})"


def _is_integer_type(source_type: str) -> bool:
    return source_type.upper() in {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER"}


def _number_lines(extract: ExtractFile, target: Path) -> None:
    """Copy a CSV as UTF-8 with each data row prefixed by its row number; blank lines skipped."""
    codec = "cp1252" if extract.encoding is Encoding.WINDOWS_1252 else "utf-8-sig"
    delim = (extract.delimiter or ",").encode()
    decoder = codecs.getincrementaldecoder(codec)()
    with extract.path.open("rb") as src, target.open("wb") as out:
        row = -1  # the header line gets no number of its own
        quoted = False  # the last line ended inside a quoted value, so the next one continues it
        pending = b""
        while chunk := src.read(CSV_CHUNK):
            data = pending + (decoder.decode(chunk).encode() if codec == "cp1252" else chunk)
            lines = data.split(b"\n")
            pending = lines.pop()
            row, quoted = _write_numbered(out, lines, row, delim, quoted)
        tail = pending + (decoder.decode(b"", final=True).encode() if codec == "cp1252" else b"")
        _write_numbered(out, [tail], row, delim, quoted)


def _write_numbered(out: BinaryIO, lines: list[bytes], row: int, delim: bytes, quoted: bool) -> tuple[int, bool]:
    write = out.write
    for line in lines:
        line = line.rstrip(b"\r")
        if quoted:  # a line break inside a quoted value: part of the row before, no number of its own
            write(line + b"\n")
            quoted = _ends_quoted(line, delim, True)
            continue
        if row == -1:
            if line.startswith(codecs.BOM_UTF8):
                line = line[len(codecs.BOM_UTF8) :]
            write(b"_row" + delim + line + b"\n")
            row = 0
            continue
        if not line.strip():
            continue
        row += 1
        write(str(row).encode() + delim + line + b"\n")
        quoted = line.count(b'"') % 2 == 1 and _ends_quoted(line, delim, False)
    return row, quoted


def _ends_quoted(line: bytes, delim: bytes, quoted: bool) -> bool:
    """Whether ``line`` ends inside a quoted value (a quote opens one only at the start of a field;
    a doubled quote inside one is a quote character). Only lines with an odd number of quotes can."""
    field_start = not quoted
    i = 0
    while i < len(line):
        c = line[i : i + 1]
        if quoted:
            if c == b'"':
                if line[i + 1 : i + 2] == b'"':
                    i += 1
                else:
                    quoted = False
        elif c == b'"' and field_start:
            quoted = True
        field_start = not quoted and c == delim
        i += 1
    return quoted
