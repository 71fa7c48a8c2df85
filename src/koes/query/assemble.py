"""Turn the rows the engine returned into result blocks: cells with values, bases and intervals.

Pure: no engine, no user. One block per comparison area (one block without a comparison). Each
block is a two-way table, inner rows × inner columns plus totals (index ``TOTAL``), holding

* ``values``: every requested measure and every base measure it needs, per cell;
* ``bases``: the exact persons behind each base measure, per cell (the disclosure base);
* ``intervals``: 95 % confidence intervals of standardised rates.

Derived measures are computed here: rates and per-citizen amounts against the citizens of the
same cross-section, shares, and directly standardised rates (weights from a standard
population by sex and 5-year age group).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from operator import itemgetter
from typing import Any

from koes.query.plan import AggregateQuery, Area, Plan
from koes.query.planner import CITIZENS, TIME_DIMENSIONS
from koes.semantic.model import Aggregation, DerivedKind, Dimension, Measure

TOTAL = -1
CellKey = tuple[int, int]
Number = int | float | Decimal
Rows = Sequence[Mapping[str, Any]]
Z95 = 1.959963984540054


class _Totalled:
    def __repr__(self) -> str:
        return "TOTAL"


TOTALLED = _Totalled()  # a dimension summed over in a margin row


@dataclass(frozen=True)
class Block:
    area: Area | None
    row_keys: tuple[tuple[Any, ...], ...]
    col_keys: tuple[tuple[Any, ...], ...]
    values: Mapping[str, Mapping[CellKey, Number | None]]
    bases: Mapping[str, Mapping[CellKey, int]]
    intervals: Mapping[str, Mapping[CellKey, tuple[float, float]]]

    def cells(self) -> list[CellKey]:
        rows = [*range(len(self.row_keys)), TOTAL]
        cols = [*range(len(self.col_keys)), TOTAL]
        return [(r, c) for r in rows for c in cols]


StandardWeights = Mapping[tuple[int, str], float]  # (sex, 5-year band) → share of the standard population
SortKey = Callable[[Dimension, Any], Any]


def assemble(plan: Plan, results: Sequence[Rows], weights: StandardWeights, sort_key: SortKey) -> tuple[Block, ...]:
    """``results`` holds the rows of ``plan.queries``, in the same order."""
    by_area: dict[str | None, list[tuple[AggregateQuery, Rows]]] = {}
    for query, rows in zip(plan.queries, results, strict=True):
        by_area.setdefault(query.area.id if query.area else None, []).append((query, rows))
    areas: Sequence[Area | None] = plan.areas or (None,)
    # Every area shows the same columns, so the blocks line up in one table.
    columns = _keys(plan.columns, list(zip(plan.queries, results, strict=True)), sort_key)
    return tuple(
        _Block(plan, area, by_area.get(area.id if area else None, []), weights, sort_key, columns).build()
        for area in areas
    )


def _getter(names: list[str]) -> Callable[[Mapping[str, Any]], tuple[Any, ...]]:
    """A fast ``row → tuple of these columns`` (itemgetter returns a bare value for one name)."""
    if len(names) == 1:
        (name,) = names
        return lambda row: (row[name],)
    return itemgetter(*names)


def _keys(
    dims: tuple[Dimension, ...], results: Sequence[tuple[AggregateQuery, Rows]], sort_key: SortKey
) -> tuple[tuple[Any, ...], ...]:
    """The inner keys of one axis: every combination the value queries returned, in display order."""
    if not dims:
        return ()
    flags = _getter([f"g_{d.id}" for d in dims])
    names = _getter([f"d_{d.id}" for d in dims])
    keys: set[tuple[Any, ...]] = set()
    for query, rows in results:
        if query.role != "values" or not all(d in query.dimensions for d in dims):
            continue
        keys.update(names(row) for row in rows if not any(flags(row)))
    order = [{v: sort_key(d, v) for v in {k[i] for k in keys}} for i, d in enumerate(dims)]
    return tuple(sorted(keys, key=lambda k: tuple(o[v] for o, v in zip(order, k, strict=True))))


_PARTIAL = -2  # a row of a partial subtotal (never requested) or of an unknown key


class _Locator:
    """Finds the cell of a result row (names and flags worked out once per query, not per row)."""

    def __init__(self, block: _Block, query: AggregateQuery) -> None:
        grouped = query.grouping_sets != ((),)
        self.row = _axis(block.row_dims, block.row_index, grouped)
        self.col = _axis(block.col_dims, block.col_index, grouped)

    def cell(self, row: Mapping[str, Any]) -> CellKey | None:
        r = self.row(row)
        if r == _PARTIAL:
            return None
        c = self.col(row)
        return None if c == _PARTIAL else (r, c)


def _axis(
    dims: tuple[Dimension, ...], index: Mapping[tuple[Any, ...], int], grouped: bool
) -> Callable[[Mapping[str, Any]], int]:
    """``row → index on this axis``: TOTAL for a margin, _PARTIAL for rows to skip."""
    if not dims or not grouped:
        return lambda row: TOTAL
    flags = _getter([f"g_{d.id}" for d in dims])
    names = _getter([f"d_{d.id}" for d in dims])

    def locate(row: Mapping[str, Any]) -> int:
        totalled = flags(row)
        if all(totalled):
            return TOTAL
        if any(totalled):
            return _PARTIAL
        return index.get(names(row), _PARTIAL)

    return locate


class _Block:
    def __init__(
        self,
        plan: Plan,
        area: Area | None,
        results: list[tuple[AggregateQuery, Rows]],
        weights: StandardWeights,
        sort_key: SortKey,
        col_keys: tuple[tuple[Any, ...], ...] | None = None,
    ) -> None:
        self.plan = plan
        self.area = area
        self.results = results
        self.weights = weights
        self.row_dims = plan.rows
        self.col_dims = plan.columns
        self.row_keys = _keys(self.row_dims, results, sort_key)
        self.col_keys = _keys(self.col_dims, results, sort_key) if col_keys is None else col_keys
        self.row_index = {k: i for i, k in enumerate(self.row_keys)}
        self.col_index = {k: i for i, k in enumerate(self.col_keys)}

    def build(self) -> Block:
        values: dict[str, dict[CellKey, Number | None]] = {}
        bases: dict[str, dict[CellKey, int]] = {}
        citizens_rows: list[tuple[AggregateQuery, Rows]] = []
        strata: list[tuple[AggregateQuery, Rows]] = []
        for query, rows in self.results:
            if query.role == "values":
                self._values(query, rows, values, bases)
            elif query.role == "citizens":
                citizens_rows.append((query, rows))
            else:
                strata.append((query, rows))
        cells = Block(self.area, self.row_keys, self.col_keys, {}, {}, {}).cells()
        for measure in self.plan.base_measures:
            if measure.id in values or (measure.id == CITIZENS and citizens_rows):
                continue
            values[measure.id] = {}
            bases[measure.id] = {}
        if CITIZENS not in values and citizens_rows:
            values[CITIZENS], bases[CITIZENS] = self._citizens(citizens_rows, cells)
        self._zero_fill(values, bases, cells)
        intervals: dict[str, dict[CellKey, tuple[float, float]]] = {}
        for measure in self.plan.measures:
            if measure.derived is not None:
                values[measure.id] = self._derived(measure, values, cells, strata, intervals)
        return Block(self.area, self.row_keys, self.col_keys, values, bases, intervals)

    def _values(
        self,
        query: AggregateQuery,
        rows: Rows,
        values: dict[str, dict[CellKey, Number | None]],
        bases: dict[str, dict[CellKey, int]],
    ) -> None:
        for column in query.measures:
            values.setdefault(column.measure, {})
            bases.setdefault(column.measure, {})
        locate = _Locator(self, query).cell
        columns = [(c.measure, c.spec.aggregation, values[c.measure], bases[c.measure]) for c in query.measures]
        for row in rows:
            cell = locate(row)
            if cell is None:
                continue
            for measure, aggregation, value_of, base_of in columns:
                months = self._months(row, query) if aggregation is Aggregation.AVERAGE_POPULATION else 0
                value_of[cell], base_of[cell] = _read(row, measure, aggregation, months)

    def _citizens(
        self, results: list[tuple[AggregateQuery, Rows]], cells: list[CellKey]
    ) -> tuple[dict[CellKey, Number | None], dict[CellKey, int]]:
        if not results:
            return {}, {}
        ((query, rows),) = results
        (column,) = query.measures
        table: dict[tuple[Any, ...], tuple[Number, int]] = {}
        for row in rows:
            table[self._projection_of_row(row, query)] = _read(
                row, column.measure, column.spec.aggregation, self._months(row, query)
            )
        values: dict[CellKey, Number | None] = {}
        bases: dict[CellKey, int] = {}
        for cell in cells:
            found = table.get(self._project(cell, query))
            values[cell], bases[cell] = found if found else (0, 0)
        return values, bases

    def _projection_of_row(self, row: Mapping[str, Any], query: AggregateQuery) -> tuple[Any, ...]:
        sets = query.grouping_sets != ((),)
        return tuple(
            TOTALLED if not sets or row.get(f"g_{d.id}", 1) else row[f"d_{d.id}"] for d in query.dimensions
        ) + tuple(row[f"s_{d.id}"] for d in query.strata)

    def _months(self, row: Mapping[str, Any], query: AggregateQuery) -> int:
        """Months of the period in the row's time member: the divisor of an average population.

        Counted from the period, not from the rows: a month without residents in a small group
        still counts, as a zero."""
        period = self.plan.period
        months = [k for k in range(period.first, period.last + 1) if 1 <= k % 100 <= 12]
        grouped = query.grouping_sets != ((),)
        for d in query.dimensions:
            if d.id not in TIME_DIMENSIONS or (grouped and row.get(f"g_{d.id}", 1)):
                continue
            value = row[f"d_{d.id}"]
            if d.id == "maaned":
                months = [k for k in months if k == value]
            elif d.id == "kvartal":
                months = [k for k in months if k // 100 == value // 10 and (k % 100 - 1) // 3 + 1 == value % 10]
            else:
                months = [k for k in months if k // 100 == value]
        return len(months)

    def _assignment(self, cell: CellKey) -> dict[str, Any]:
        r, c = cell
        out: dict[str, Any] = {}
        for dims, keys, i in ((self.row_dims, self.row_keys, r), (self.col_dims, self.col_keys, c)):
            for n, d in enumerate(dims):
                out[d.id] = TOTALLED if i == TOTAL else keys[i][n]
        return out

    def _project(self, cell: CellKey, query: AggregateQuery, stratum: tuple[Any, ...] = ()) -> tuple[Any, ...]:
        assignment = self._assignment(cell)
        return tuple(assignment[d.id] for d in query.dimensions) + stratum

    def _zero_fill(
        self,
        values: dict[str, dict[CellKey, Number | None]],
        bases: dict[str, dict[CellKey, int]],
        cells: list[CellKey],
    ) -> None:
        """A combination without events is a true zero: no contacts, no persons."""
        for measure_id, cellmap in values.items():
            for cell in cells:
                cellmap.setdefault(cell, 0)
                bases[measure_id].setdefault(cell, 0)

    def _derived(
        self,
        measure: Measure,
        values: Mapping[str, Mapping[CellKey, Number | None]],
        cells: list[CellKey],
        strata: list[tuple[AggregateQuery, Rows]],
        intervals: dict[str, dict[CellKey, tuple[float, float]]],
    ) -> dict[CellKey, Number | None]:
        assert measure.numerator is not None
        numerator = values[measure.numerator]
        if measure.derived is DerivedKind.STANDARDISED_RATE:
            return self._standardised(measure, cells, strata, intervals)
        denominator = values[(measure.denominator or "") if measure.derived is DerivedKind.SHARE else CITIZENS]
        factor = 100 if measure.derived is DerivedKind.SHARE else measure.per
        out: dict[CellKey, Number | None] = {}
        for cell in cells:
            num, den = numerator.get(cell), denominator.get(cell)
            out[cell] = None if num is None or not den else float(num) / float(den) * factor
        return out

    def _standardised(
        self,
        measure: Measure,
        cells: list[CellKey],
        strata: list[tuple[AggregateQuery, Rows]],
        intervals: dict[str, dict[CellKey, tuple[float, float]]],
    ) -> dict[CellKey, Number | None]:
        events = self._strata_table(strata, "strata", measure.numerator)
        people = self._strata_table(strata, "citizen_strata", CITIZENS)
        query_e = next(q for q, _ in strata if q.role == "strata" and q.measures[0].measure == measure.numerator)
        query_p = next(q for q, _ in strata if q.role == "citizen_strata")
        out: dict[CellKey, Number | None] = {}
        ci: dict[CellKey, tuple[float, float]] = {}
        for cell in cells:
            rate, variance, covered = 0.0, 0.0, 0.0
            for (sex, band), weight in self.weights.items():
                n = float(people.get(self._project(cell, query_p, (sex, band)), 0))
                if n <= 0:
                    continue
                d = float(events.get(self._project(cell, query_e, (sex, band)), 0))
                rate += weight * d / n
                variance += weight * weight * d / (n * n)
                covered += weight
            if covered <= 0:
                out[cell] = None
                continue
            # Re-weight over the strata that have citizens, so a cell without children is not diluted.
            rate, variance = rate / covered, variance / (covered * covered)
            half = Z95 * math.sqrt(variance)
            out[cell] = rate * measure.per
            ci[cell] = (max(0.0, rate - half) * measure.per, (rate + half) * measure.per)
        intervals[measure.id] = ci
        return out

    def _strata_table(
        self, strata: list[tuple[AggregateQuery, Rows]], role: str, measure_id: str | None
    ) -> dict[tuple[Any, ...], Number]:
        table: dict[tuple[Any, ...], Number] = {}
        for query, rows in strata:
            if query.role != role or query.measures[0].measure != measure_id:
                continue
            column = query.measures[0]
            for row in rows:
                months = self._months(row, query)
                table[self._projection_of_row(row, query)] = _read(
                    row, column.measure, column.spec.aggregation, months
                )[0]
        return table


def _read(row: Mapping[str, Any], measure: str, aggregation: Aggregation, months: int) -> tuple[Number, int]:
    """A measure's value and its disclosure base from one result row."""
    value = row[f"m_{measure}"]
    if aggregation is Aggregation.AVERAGE_POPULATION:
        average = Decimal(value or 0) / months if months else Decimal(0)
        return average, math.ceil(average)
    if aggregation is Aggregation.PERSONS:
        return int(value or 0), int(value or 0)
    return (value if value is not None else 0), int(row[f"n_{measure}"] or 0)
