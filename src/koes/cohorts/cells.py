"""What a reader gives: rows of cells, each row with the line (or sheet row) the user sees."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A cell whose value cannot be used: ``code`` names why (``messages.yaml``), ``value`` is safe to show."""

    code: str
    value: str = ""


# A CSV cell is text; an XLSX cell is text, a number, a date (a number with a date format) or unreadable.
Cell = str | int | float | date | Unreadable | None


@dataclass(frozen=True, slots=True)
class SourceRow:
    """One row of the file: ``line`` is the CSV line or the XLSX row number (1-based, as shown to the user)."""

    line: int
    cells: tuple[Cell, ...]

    def cell(self, position: int) -> Cell:
        return self.cells[position] if position < len(self.cells) else None

    @property
    def empty(self) -> bool:
        return all(is_blank(c) for c in self.cells)


def is_blank(cell: Cell) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


def as_text(cell: Cell) -> str:
    """A cell as the text a person would type for it (numbers without ``.0``, dates in ISO form)."""
    if cell is None or isinstance(cell, Unreadable):
        return ""
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    if isinstance(cell, date):
        return cell.isoformat()
    return str(cell).strip()
