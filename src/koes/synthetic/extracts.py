"""Read generated register extracts back, in their declared types, one register at a time.

The calibration measures the files a user would load, not the generator's intentions, so it reads
them like any consumer: Parquet or CSV, cast to the declared layout, only the columns it needs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from koes.domain.periods import YearRange
from koes.domain.registers import REGISTERS
from koes.synthetic.writer import ExtractFormat, arrow_schema, extract_filename

MANIFEST = "generation.json"


class ExtractError(ValueError):
    """The folder does not hold a readable extract set; the message says what is missing."""


@dataclass(frozen=True)
class ExtractFolder:
    folder: Path
    fmt: ExtractFormat

    @classmethod
    def open(cls, folder: Path) -> ExtractFolder:
        """The folder's format, found from its files; every register must have a file."""
        problems: list[str] = []
        for fmt in ExtractFormat:
            missing = [r.name for r in REGISTERS if not (folder / extract_filename(r.name, fmt)).is_file()]
            if not missing:
                return cls(folder, fmt)
            problems.append(f"{fmt.value}: missing {', '.join(missing)}")
        raise ExtractError(f"{folder} is not a complete extract set ({'; '.join(problems)})")

    def read(self, register: str, columns: list[str]) -> pa.Table:
        path = self.folder / extract_filename(register, self.fmt)
        schema = arrow_schema(REGISTERS[register])
        if self.fmt is ExtractFormat.PARQUET:
            return pq.read_table(path, columns=columns).cast(pa.schema([schema.field(c) for c in columns]))
        options = pacsv.ConvertOptions(column_types={c: schema.field(c).type for c in columns}, include_columns=columns)
        return pacsv.read_csv(path, convert_options=options)

    def period(self) -> YearRange:
        """The generation's period, from its manifest."""
        path = self.folder / MANIFEST
        if not path.is_file():
            raise ExtractError(f"{path} is missing: give the period (--years)")
        first, last = json.loads(path.read_text(encoding="utf-8"))["parameters"]["years"]
        return YearRange(int(first), int(last))
