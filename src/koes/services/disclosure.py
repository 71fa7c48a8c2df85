"""Apply disclosure control to assembled blocks: every published number passes through here.

Each base measure is protected on its own grid of disclosure bases (primary and secondary
suppression, ``koes.privacy.suppression``). Bases are exact below the threshold and may be lower
bounds above it (``koes.query.bases``), so secondary suppression ranks cells by their value, which
every route to a measure gives alike, and a table is protected the same way whichever source
answered it. A derived measure (rate, share, per-citizen amount,
standardised rate) is hidden wherever any number it is computed from is hidden: a published rate
and a published citizen count would otherwise give the hidden count back. Citizens behind a rate
are protected like any count. Optional rounding applies to published counts.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from koes.privacy.suppression import DisclosureRule, Grid, Suppression, round_count, suppress
from koes.query.assemble import Block, CellKey, Number
from koes.query.planner import CITIZENS
from koes.semantic.model import DerivedKind, Measure, Unit

PRIMARY, SECONDARY, DERIVED = "primary", "secondary", "derived"
COUNT_UNITS = frozenset({Unit.COUNT, Unit.PERSONS, Unit.DAYS, Unit.WEEKS})


@dataclass(frozen=True)
class ProtectedBlock:
    block: Block
    hidden: Mapping[str, Mapping[CellKey, str]]  # measure → cell → primary | secondary | derived
    values: Mapping[str, Mapping[CellKey, Number | None]]  # published values (hidden cells are None)

    def status(self, measure: str, cell: CellKey) -> str | None:
        return self.hidden.get(measure, {}).get(cell)


def protect(
    block: Block,
    measures: tuple[Measure, ...],
    catalog_measures: Mapping[str, Measure],
    rule: DisclosureRule,
    *,
    exact: bool,
) -> ProtectedBlock:
    if exact:  # individual-level rights over own citizens only: exact figures
        return ProtectedBlock(block, {}, {m.id: dict(block.values[m.id]) for m in measures})
    grid_shape = (len(block.row_keys), len(block.col_keys))
    hidden: dict[str, dict[CellKey, str]] = {}
    for measure_id, bases in block.bases.items():
        weights = {cell: _weight(value) for cell, value in block.values[measure_id].items()}
        result = suppress(Grid(grid_shape[0], grid_shape[1], bases, weights), rule)
        hidden[measure_id] = _statuses(result)
    published: dict[str, dict[CellKey, Number | None]] = {}
    for measure in measures:
        if measure.is_base:
            marks = hidden.get(measure.id, {})
        else:
            marks = _derived_marks(measure, hidden)
            hidden[measure.id] = marks
        published[measure.id] = {
            cell: None if cell in marks else _rounded(value, catalog_measures[measure.id], rule)
            for cell, value in block.values[measure.id].items()
        }
    return ProtectedBlock(block, hidden, published)


def _weight(value: Number | None) -> int:
    """What hiding a cell costs the reader: the size of its value, in whole units."""
    return 0 if value is None else math.ceil(abs(float(value)))


def _statuses(result: Suppression) -> dict[CellKey, str]:
    marks = dict.fromkeys(result.secondary, SECONDARY)
    marks.update(dict.fromkeys(result.primary, PRIMARY))
    return marks


def _derived_marks(measure: Measure, hidden: Mapping[str, Mapping[CellKey, str]]) -> dict[CellKey, str]:
    inputs = [measure.numerator]
    if measure.derived is DerivedKind.SHARE:
        inputs.append(measure.denominator)
    else:
        inputs.append(CITIZENS)
    marks: dict[CellKey, str] = {}
    for ref in inputs:
        for cell in hidden.get(ref or "", {}):
            marks[cell] = DERIVED
    return marks


def _rounded(value: Number | None, measure: Measure, rule: DisclosureRule) -> Number | None:
    if value is None or rule.rounding is None or measure.unit not in COUNT_UNITS or not measure.is_base:
        return value
    return round_count(int(value), rule)
