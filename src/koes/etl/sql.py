"""Small helpers for writing DuckDB SQL from the register declarations."""

from __future__ import annotations

from koes.domain.registers import Column, ColumnType

SQL_TYPES: dict[ColumnType, str] = {
    ColumnType.STRING: "VARCHAR",
    ColumnType.INTEGER: "BIGINT",
    ColumnType.DECIMAL: "DOUBLE",
    ColumnType.DATE: "DATE",
    ColumnType.TIMESTAMP: "TIMESTAMP",
}
CPR_SHAPE = r"[0-9]{6}-?[0-9]{4}"


def ident(name: str) -> str:
    """A quoted identifier. Names come from our declarations, but quoting keeps odd ones safe."""
    return '"' + name.replace('"', '""') + '"'


def lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def bad_col(column: Column) -> str:
    """Name of the column that keeps a value's text when it could not be converted."""
    return f"{column.name}__bad"


def shown(expr: str, limit: int = 40) -> str:
    """A value quoted for a problem message, with anything CPR-shaped masked."""
    masked = f"regexp_replace(CAST({expr} AS VARCHAR), {lit(CPR_SHAPE)}, 'XXXXXX-XXXX', 'g')"
    return f"('''' || left({masked}, {limit}) || '''')"
