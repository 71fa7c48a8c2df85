"""Write register extracts, chunk by chunk, in the registers' declared layouts.

The declared schema is the contract: every table is checked for exactly the declared columns and
cast to the declared types before it is written, so a generator cannot drift from the layout
that the loader validates against.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from koes.domain.registers import REGISTERS, ColumnType, Register

ARROW_TYPES: dict[ColumnType, pa.DataType] = {
    ColumnType.STRING: pa.string(),
    ColumnType.INTEGER: pa.int64(),
    ColumnType.DECIMAL: pa.float64(),
    ColumnType.DATE: pa.date32(),
    ColumnType.TIMESTAMP: pa.timestamp("s"),
}


class ExtractFormat(StrEnum):
    PARQUET = "parquet"
    CSV = "csv"


def arrow_schema(register: Register) -> pa.Schema:
    return pa.schema([pa.field(c.name, ARROW_TYPES[c.type], nullable=not c.required) for c in register.columns])


def conform(table: pa.Table, register: Register) -> pa.Table:
    """Order and cast ``table`` to the register's layout; raise on missing or extra columns."""
    expected = register.column_names
    missing = [c for c in expected if c not in table.column_names]
    extra = [c for c in table.column_names if c not in expected]
    if missing or extra:
        raise ValueError(f"{register.name}: missing columns {missing}, unexpected columns {extra}")
    table = table.select(list(expected))
    return table.cast(arrow_schema(register))


def extract_filename(register: str, fmt: ExtractFormat) -> str:
    return f"{register}.{fmt.value}"


@dataclass
class ExtractWriter:
    """Appends chunks to one file per register; ``close`` returns the row count per register."""

    folder: Path
    fmt: ExtractFormat
    _parquet: dict[str, pq.ParquetWriter] = field(default_factory=dict)
    _csv: dict[str, pacsv.CSVWriter] = field(default_factory=dict)
    _rows: dict[str, int] = field(default_factory=dict)

    def write(self, name: str, table: pa.Table) -> None:
        register = REGISTERS[name]
        table = conform(table, register)
        self._rows[name] = self._rows.get(name, 0) + table.num_rows
        path = self.folder / extract_filename(name, self.fmt)
        if self.fmt is ExtractFormat.PARQUET:
            if name not in self._parquet:
                # Fixed writer settings: the same data must give byte-identical files.
                self._parquet[name] = pq.ParquetWriter(
                    path, arrow_schema(register), compression="zstd", write_statistics=True
                )
            self._parquet[name].write_table(table, row_group_size=500_000)
        else:
            if name not in self._csv:
                self._csv[name] = pacsv.CSVWriter(path, arrow_schema(register))
            self._csv[name].write_table(table)

    def close(self) -> dict[str, int]:
        for register in REGISTERS:
            # Every register gets a file, even an empty one, so a loader sees a complete set.
            if register.name not in self._rows:
                self.write(register.name, arrow_schema(register).empty_table())
        for w in self._parquet.values():
            w.close()
        for c in self._csv.values():
            c.close()
        return {r.name: self._rows[r.name] for r in REGISTERS}
