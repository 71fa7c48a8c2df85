"""Judge staged rows against the register declarations; collect every problem of every row.

A row with any problem is quarantined, with one quarantine entry per problem: register, file,
row, column and a reason a person can act on. Values are quoted in reasons only with anything
CPR-shaped masked, and values of CPR columns are never quoted. What remains is the register's
valid table. The accounting rows in = rows loaded + rows quarantined is checked per register.

Checks run in dependency order (persons before contacts before diagnoses), so a reference is
checked against the rows of its target that survived validation: a diagnosis of a quarantined
contact is quarantined too, with a reason saying so.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import duckdb
import pyarrow as pa

from koes.domain.registers import REFDATA_CODE_LISTS, Column, ColumnType, Register
from koes.etl.read import rejects_table, staging_table
from koes.etl.sql import bad_col, ident, lit, shown

MIN_DATE, MAX_DATE = "1850-01-01", "2100-12-31"
QUARANTINE = "quarantine"
CodeListLookup = Callable[[str], Iterable[str]]


@dataclass(frozen=True)
class Accounting:
    register: str
    rows_in: int
    rows_loaded: int
    rows_quarantined: int

    @property
    def balanced(self) -> bool:
        return self.rows_in == self.rows_loaded + self.rows_quarantined


def valid_table(register: Register) -> str:
    return f"valid_{register.name}"


def create_quarantine(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        f"CREATE OR REPLACE TABLE {QUARANTINE} "
        "(register VARCHAR, file VARCHAR, row BIGINT, column_name VARCHAR, reason VARCHAR)"
    )


def load_code_lists(con: duckdb.DuckDBPyConnection, registers: Iterable[Register], lookup: CodeListLookup) -> None:
    """One table per code list in use, so code checks are joins rather than giant IN lists."""
    names = {c.codes for r in registers for c in r.columns if c.codes}
    for name in sorted(names):
        con.register("_codes", pa.table({"code": pa.array(sorted(set(lookup(name))), pa.string())}))
        con.execute(f"CREATE OR REPLACE TEMP TABLE codes_{name} AS SELECT code FROM _codes")
        con.unregister("_codes")


def validate(con: duckdb.DuckDBPyConnection, register: Register, rows_in: int) -> Accounting:
    """Judge a register's staged rows; leaves the view ``valid_<register>`` of the rows that pass."""
    staged = staging_table(register)
    name = register.name
    # Problems are few, so they are kept as small tables and the good rows as views over the
    # staged files: nothing the size of the extract is copied here.
    cpr_columns = [c for c in register.columns if c.cpr]
    for column in cpr_columns:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {cpr_numbers_table(register, column)} AS "
            f"SELECT DISTINCT {ident(column.name)} AS number FROM {staged} WHERE {ident(column.name)} IS NOT NULL"
        )
    con.execute(f"CREATE OR REPLACE TEMP TABLE row_problems_{name} AS {row_checks_sql(register, staged)}")
    for column in cpr_columns:
        con.execute(f"DROP TABLE {cpr_numbers_table(register, column)}")
    con.execute(f"INSERT INTO row_problems_{name} SELECT _file, _row, '', reason FROM {rejects_table(register)}")
    con.execute(_without(f"rowok_{name}", staged, [f"row_problems_{name}"]))
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE ref_problems_{name} (_file VARCHAR, _row BIGINT, col VARCHAR, reason VARCHAR)"
    )
    for sql in reference_checks(register, f"rowok_{name}"):
        con.execute(f"INSERT INTO ref_problems_{name} {sql}")
    # Keys and periods only among rows whose references hold too: a copy that is itself refused
    # must not be "the first, which is kept" and take the valid copy down with it.
    con.execute(_without(f"refok_{name}", f"rowok_{name}", [f"ref_problems_{name}"]))
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE key_problems_{name} (_file VARCHAR, _row BIGINT, col VARCHAR, reason VARCHAR)"
    )
    for sql in key_checks(register, f"refok_{name}"):
        con.execute(f"INSERT INTO key_problems_{name} {sql}")
    columns = ", ".join(f"s.{ident(c)}" for c in register.column_names)
    con.execute(
        f"""CREATE OR REPLACE TEMP VIEW {valid_table(register)} AS
            SELECT s._file, s._row, {columns} FROM refok_{name} s
            ANTI JOIN key_problems_{name} p ON p._file = s._file AND p._row = s._row"""
    )
    kinds = ("row", "ref", "key")
    problems = "(" + " UNION ALL ".join(f"SELECT * FROM {kind}_problems_{name}" for kind in kinds) + ")"
    con.execute(
        f"INSERT INTO {QUARANTINE} SELECT {lit(name)}, _file, _row, col, reason FROM {problems} "
        "ORDER BY _file, _row, col"
    )
    loaded = _scalar(con, f"SELECT count(*) FROM {valid_table(register)}")
    quarantined = _scalar(con, f"SELECT count(*) FROM (SELECT DISTINCT _file, _row FROM {problems})")
    return Accounting(name, rows_in, loaded, quarantined)


def _without(view: str, source: str, problem_tables: list[str]) -> str:
    # An ANTI JOIN: a correlated NOT EXISTS is decorrelated by copying every staged column first.
    problems = " UNION ALL ".join(f"SELECT _file, _row FROM {t}" for t in problem_tables)
    return (
        f"CREATE OR REPLACE TEMP VIEW {view} AS SELECT s.* FROM {source} s "
        f"ANTI JOIN ({problems}) p ON p._file = s._file AND p._row = s._row"
    )


def _scalar(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    result = con.execute(sql).fetchone()
    return int(result[0]) if result and result[0] is not None else 0


@dataclass(frozen=True)
class Check:
    """One row rule: rows where ``where`` holds get ``reason`` (a SQL text expression) for ``column``."""

    column: str
    reason: str
    where: str


def _problem(staged: str, column: str, reason: str, where: str) -> str:
    return f"SELECT _file, _row, {lit(column)} AS col, {reason} AS reason FROM {staged} WHERE {where}"


def row_checks_sql(register: Register, staged: str) -> str:
    """Every row rule of a register in one scan; code lists as anti-joins (one per coded column);
    CPR birth dates against the register's ``cpr_numbers_table`` (which must exist).

    Rows that break no rule are filtered out before any reason text is built, so a clean national
    extract costs one pass over its columns.
    """
    checks = [check for c in register.columns for check in column_checks(c)]
    checks += [ordered_check(a, b) for a, b in register.ordered]
    cases = ", ".join(f"CASE WHEN {c.where} THEN {{'col': {lit(c.column)}, 'reason': {c.reason}}} END" for c in checks)
    any_broken = " OR ".join(f"({c.where})" for c in checks)
    one_pass = f"""SELECT _file, _row, p.col AS col, p.reason AS reason FROM (
                     SELECT _file, _row, unnest([{cases}]) AS p FROM {staged} WHERE {any_broken})
                   WHERE p IS NOT NULL"""
    coded = [_code_check(c, staged) for c in register.columns if c.codes]
    birth_dates = [_cpr_birth_date_check(register, c, staged) for c in register.columns if c.cpr]
    return " UNION ALL ".join([one_pass, *coded, *birth_dates])


def column_checks(column: Column) -> list[Check]:
    c = ident(column.name)
    checks: list[Check] = []
    has_bad = column.type is not ColumnType.STRING
    bad = ident(bad_col(column)) if has_bad else "NULL"
    if column.required:
        missing = f"{c} IS NULL" + (f" AND {bad} IS NULL" if has_bad else "")
        checks.append(Check(column.name, "'required value is missing'", missing))
    if has_bad:
        what = {ColumnType.INTEGER: "whole number", ColumnType.DECIMAL: "number"}.get(column.type, column.type.value)
        reason = f"'not a valid {what}'" if column.cpr else f"'not a valid {what}: ' || {shown(bad)}"
        checks.append(Check(column.name, reason, f"{bad} IS NOT NULL"))
    if column.cpr:
        checks += _cpr_checks(column)
    elif column.pattern:
        reason = f"'does not have the expected form {column.pattern}: ' || {shown(c)}"
        checks.append(Check(column.name, reason, f"NOT regexp_full_match({c}, {lit(column.pattern)})"))
    if column.min_value is not None or column.max_value is not None:
        low = column.min_value if column.min_value is not None else float("-inf")
        high = column.max_value if column.max_value is not None else float("inf")
        reason = f"{shown(c)} || ' is outside the allowed range {low:g} to {high:g}'"
        checks.append(Check(column.name, reason, f"{c} < {low!r} OR {c} > {high!r}"))
    if column.type in (ColumnType.DATE, ColumnType.TIMESTAMP):
        reason = f"'date ' || {shown(c)} || ' is out of range ({MIN_DATE[:4]}–{MAX_DATE[:4]})'"
        where = f"CAST({c} AS DATE) < DATE '{MIN_DATE}' OR CAST({c} AS DATE) > DATE '{MAX_DATE}'"
        checks.append(Check(column.name, reason, where))
    if column.iso_week:
        reason = f"'not an ISO week written YYYYWW: ' || {shown(c)}"
        checks.append(Check(column.name, reason, f"{c} IS NOT NULL AND NOT ({iso_week_valid_sql(c)})"))
    return checks


CPR_FORM = "'[0-9]{6}-?[0-9]{4}'"


def _cpr_checks(column: Column) -> list[Check]:
    c = ident(column.name)
    form = f"{c} IS NOT NULL AND NOT regexp_full_match({c}, {CPR_FORM})"
    # Modulus 11 is deliberately not checked: numbers issued since 2007 may fail it.
    return [Check(column.name, "'not a CPR number of the form DDMMYY-SSSS or DDMMYYSSSS'", form)]


def cpr_numbers_table(register: Register, column: Column) -> str:
    """The distinct CPR numbers of a register's column, kept while the register is validated."""
    return f"cpr_numbers_{register.name}_{column.name}"


def _cpr_birth_date_check(register: Register, column: Column, staged: str) -> str:
    """Rows whose CPR number has an impossible birth date (day, month or century digit).

    Judged once per distinct number (``cpr_numbers_table``, made by an earlier statement so the
    optimizer cannot push the check back below the DISTINCT), not once per row: a citizen has tens
    of services a year, and the date arithmetic on the text was most of what validating a national
    extract cost."""
    c = ident(column.name)
    impossible = f"""SELECT number FROM {cpr_numbers_table(register, column)}
                     WHERE regexp_full_match(number, {CPR_FORM}) AND ({cpr_birth_date_sql("number")}) IS NULL"""
    reason = "'CPR number with an impossible birth date (day, month or century digit)'"
    return f"""SELECT s._file, s._row, {lit(column.name)} AS col, {reason} AS reason FROM {staged} s
               SEMI JOIN ({impossible}) b ON b.number = s.{c}"""


def _code_check(column: Column, staged: str) -> str:
    # An ANTI JOIN, not NOT EXISTS: DuckDB decorrelates the subquery by materialising every column
    # of the staged rows first, which cost half a minute per coded column of a national extract.
    c = ident(column.name)
    value = f"left(s.{c}, {column.code_prefix})" if column.code_prefix else f"s.{c}"
    source = "reference data" if column.codes in REFDATA_CODE_LISTS else "code list"
    reason = f"'unknown code ' || {shown('s.' + c)} || ' (not in {source} {column.codes})'"
    return f"""SELECT s._file, s._row, {lit(column.name)} AS col, {reason} AS reason FROM {staged} s
               ANTI JOIN codes_{column.codes} k ON k.code = {value} WHERE s.{c} IS NOT NULL"""


def ordered_check(first: str, second: str) -> Check:
    a, b = ident(first), ident(second)
    reason = f"'{second} ' || {shown(b)} || ' is before {first} ' || {shown(a)}"
    return Check(second, reason, f"{a} IS NOT NULL AND {b} IS NOT NULL AND {b} < {a}")


def key_checks(register: Register, source: str) -> list[str]:
    checks = []
    if register.key:
        keys = ", ".join(ident(k) for k in register.key)
        reason = (
            f"'duplicate key ({', '.join(register.key)}); the first of these rows is ' || first_file "
            "|| ' row ' || first_row || ', which is kept'"
        )
        # Find duplicated keys by hashing first; only their rows are then ordered.
        checks.append(
            f"""SELECT _file, _row, {lit(register.key[-1])}, {reason} FROM (
                  SELECT s._file, s._row,
                         first_value(s._file) OVER w AS first_file, first_value(s._row) OVER w AS first_row,
                         row_number() OVER w AS n
                  FROM {source} s
                  SEMI JOIN (SELECT {keys} FROM {source} GROUP BY {keys} HAVING count(*) > 1) d USING ({keys})
                  WINDOW w AS (PARTITION BY {keys} ORDER BY s._file, s._row)) WHERE n > 1"""
        )
    if register.periods:
        checks.append(overlap_check(register, source))
    return checks


def reference_checks(register: Register, source: str) -> list[str]:
    checks = []
    for ref in register.references:
        target = f"valid_{ref.register}"
        match = " AND ".join(
            f"t.{ident(tc)} = s.{ident(sc)}" for sc, tc in zip(ref.columns, ref.ref_columns, strict=True)
        )
        about = "a person" if ref.register == "cpr_personer" else f"a {ref.register} row"
        reason = f"'refers to {about} that is not in the extract or was quarantined'"
        # ANTI JOIN keeps NOT EXISTS's meaning (a NULL reference matches nothing) without its cost.
        column = lit(ref.columns[0])
        checks.append(f"SELECT s._file, s._row, {column}, {reason} FROM {source} s ANTI JOIN {target} t ON {match}")
    return checks


def overlap_check(register: Register, source: str) -> str:
    """A period that starts before an earlier period of the same group has ended."""
    assert register.periods
    p = register.periods
    group, start, end = ident(p.group), ident(p.start), ident(p.end)
    open_end = "DATE '9999-12-31'" if register.column(p.end).type is ColumnType.DATE else "999999"
    clash = "<=" if p.end_inclusive else "<"
    reason = f"'starts before an earlier period of the same {p.group} has ended (periods may not overlap)'"
    return f"""SELECT _file, _row, {lit(p.start)}, {reason} FROM (
                 SELECT _file, _row, {start} AS s,
                        max(coalesce({end}, {open_end})) OVER (PARTITION BY {group} ORDER BY {start}, _file, _row
                            ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_max
                 FROM {source}) WHERE prev_max IS NOT NULL AND s {clash} prev_max"""


def cpr_birth_date_sql(expr: str) -> str:
    """Birth date of a CPR number (``DDMMYY-SSSS`` or 10 digits) by the century table; NULL if impossible."""
    d = f"replace({expr}, '-', '')"
    yy = f"CAST(substr({d}, 5, 2) AS INTEGER)"
    d7 = f"CAST(substr({d}, 7, 1) AS INTEGER)"
    century = (
        f"CASE WHEN {d7} <= 3 THEN 1900 "
        f"WHEN {d7} IN (4, 9) THEN CASE WHEN {yy} <= 36 THEN 2000 ELSE 1900 END "
        f"ELSE CASE WHEN {yy} <= 57 THEN 2000 ELSE 1800 END END"
    )
    iso = f"CAST({century} + {yy} AS VARCHAR) || '-' || substr({d}, 3, 2) || '-' || substr({d}, 1, 2)"
    return f"TRY_CAST({iso} AS DATE)"


def iso_week_valid_sql(expr: str) -> str:
    year, week = f"({expr} // 100)", f"({expr} % 100)"
    # 28 December always lies in the last ISO week of its year.
    last = f"weekofyear(make_date(CAST({year} AS INTEGER), 12, 28))"
    # CASE, not AND: make_date must never see a year it cannot represent.
    return f"CASE WHEN {year} BETWEEN 1000 AND 9999 THEN {week} BETWEEN 1 AND {last} ELSE false END"
