"""Published tables as the attacker reads them, and the truth behind them (for scoring only)."""

from __future__ import annotations

from collections.abc import Hashable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from attack.solver import System
from koes.domain.cells import TOTAL, CellKey
from koes.privacy.access import Organisation, Principal
from koes.query.assemble import Number
from koes.services.analysis import AnalysisService
from koes.services.disclosure import CellStatus, ProtectedBlock

ATTACKER = Principal("angriber", Organisation("kommune", 101), frozenset({"aggregeret"}))
ORACLE = Principal("oracle", Organisation("national"), frozenset({"individ"}))  # exact figures: the truth
THRESHOLD = 5


@dataclass(frozen=True)
class Shown:
    """One measure of one block as published, and the true values behind it."""

    block: ProtectedBlock
    truth: ProtectedBlock
    measure: str

    def cells(self) -> list[CellKey]:
        return self.block.cells()

    def value(self, cell: CellKey) -> Number | None:
        return self.block.values[self.measure][cell]

    def status(self, cell: CellKey) -> str | None:
        return self.block.status(self.measure, cell)

    def true(self, cell: CellKey) -> int:
        return int(self.truth.values[self.measure][cell] or 0)

    def lines(self) -> Iterator[tuple[list[CellKey], CellKey]]:
        """(members, total) of every line of the table (as ``koes.privacy.suppression.Grid.lines``)."""
        n_rows, n_cols = len(self.block.row_keys), len(self.block.col_keys)
        rows, cols = [*range(n_rows), TOTAL], [*range(n_cols), TOTAL]
        if n_cols:
            for r in rows:
                yield [(r, c) for c in range(n_cols)], (r, TOTAL)
        if n_rows:
            for c in cols:
                yield [(r, c) for r in range(n_rows)], (TOTAL, c)


def published(service: AnalysisService, request: Mapping[str, Any], measure: str) -> list[Shown]:
    """Every block of ``measure`` in the answer to ``request``, as the attacker sees it and as it is."""
    shown = service.run(dict(request), ATTACKER)
    truth = service.run(dict(request), ORACLE)
    assert truth.provenance.exact and not shown.provenance.exact
    return [Shown(b, t, measure) for b, t in zip(shown.blocks, truth.blocks, strict=True)]


def single_table_system(table: Shown, persons: bool, threshold: int = THRESHOLD) -> tuple[System, list[Hashable]]:
    """What one suppressed table tells a reader who knows the rule; the hidden cells' names.

    Published cells are known exactly. A ``<5`` cell holds 1 .. 4 persons (a count of events: at
    least 1); a cell hidden as ``x`` is 0 or at least the threshold (0 or at least 5 persons, so
    at least 5 events). A line is an equation where its true values add up; where they don't (a
    person in two cells of a line, counted once in its total) the reader still knows which way they
    differ and that no part exceeds the total. The reader is told more than any real one (which
    lines add up exactly): the check is on the safe side.
    """
    system = System()
    hidden: list[Hashable] = []
    for cell in table.cells():
        status, value = table.status(cell), table.value(cell)
        if status is None:
            assert value is not None
            system.unknown(cell, float(value), float(value))
        elif status == CellStatus.PRIMARY:
            system.unknown(cell, 1.0, float(threshold - 1) if persons else 10_000_000.0)
            hidden.append(cell)
        else:
            assert status == CellStatus.SECONDARY
            system.zero_or_at_least(cell, float(threshold))
            hidden.append(cell)
    for members, total in table.lines():
        parts = sum(table.true(m) for m in members)
        terms: dict[Hashable, float] = dict.fromkeys(members, 1.0)
        terms[total] = -1.0
        if parts == table.true(total):
            system.equal(terms)
        elif parts > table.true(total):  # distinct persons: the parts overlap
            system.relate(terms, 0.0, float("inf"))
            for m in members:
                system.relate({total: 1.0, m: -1.0}, 0.0, float("inf"))
        else:
            system.relate(terms, float("-inf"), 0.0)
    return system, hidden
