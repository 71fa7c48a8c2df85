"""Turn the rows the engine returned into result blocks: one aggregate per base measure and cell.

Pure: no engine, no user. One block per comparison area (one block without a comparison). Each
block is a two-way table, inner rows × inner columns plus totals (index ``TOTAL``), holding for
every base measure a request needs (the citizens behind rates included) an ``Aggregate`` per cell:
its exact value, the persons behind it (the disclosure base), and the record-key sums and largest
contribution that consistent perturbation needs; and, for standardised rates, the same per sex and
5-year age group (the *strata*) of each cell.

Zeros are zeros: an axis lists every member of its dimensions that the request can see, with or
without events (``koes.query.members``), and a cell without events holds a true zero.

Nothing here is published: disclosure control (``koes.services.disclosure``) turns aggregates
into published values, and derived measures (rates, shares, per-citizen amounts, standardised
rates) are computed from those published values (``koes.query.derive``), so a rate never carries
more than its published numerator.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from operator import itemgetter
from typing import Any

from koes.domain.cells import TOTAL, CellKey
from koes.query.members import all_keys
from koes.query.plan import AggregateQuery, Area, MeasureColumn, Plan, QueryRole
from koes.semantic.model import TIME_DIMENSIONS, Aggregation, Dimension, Noise, TimeUnit

Number = int | float | Decimal
Rows = Sequence[Mapping[str, Any]]
Stratum = tuple[int, str]  # (sex, 5-year band) of the standard population


@dataclass(frozen=True)
class Aggregate:
    """One base measure in one cell, as the engine counted it (never shown as it is)."""

    value: Number
    base: int = 0  # persons behind it: exact below the recount threshold, else a lower bound
    key: int | None = None  # raw sum of the record keys of what the value counts
    base_key: int | None = None  # raw sum of the record keys of the persons behind it (when exact)
    largest: Number | None = None  # a magnitude's largest single contribution
    aggregation: Aggregation = Aggregation.COUNT
    noise: Noise = Noise.COUNT  # how perturbation treats it (public resident counts: not at all)


ZERO = Aggregate(0)  # a combination without events: a true zero, which stays zero


class _Totalled:
    def __repr__(self) -> str:
        return "TOTAL"


TOTALLED = _Totalled()  # a dimension summed over in a margin row


@dataclass(frozen=True)
class Block:
    area: Area | None
    row_keys: tuple[tuple[Any, ...], ...]
    col_keys: tuple[tuple[Any, ...], ...]
    aggregates: Mapping[str, Mapping[CellKey, Aggregate]]  # base measure → cell → aggregate
    strata: Mapping[str, Mapping[CellKey, Mapping[Stratum, Aggregate]]]  # numerator or citizens → cell → …

    def cells(self) -> list[CellKey]:
        return cells_of(len(self.row_keys), len(self.col_keys))


def cells_of(n_rows: int, n_cols: int) -> list[CellKey]:
    """Every cell of a table in reading order: inner cells row by row, margins last."""
    rows = [*range(n_rows), TOTAL]
    cols = [*range(n_cols), TOTAL]
    return [(r, c) for r in rows for c in cols]


StandardWeights = Mapping[Stratum, float]  # (sex, 5-year band) → share of the standard population
SortKey = Callable[[Dimension, Any], Any]


def assemble(
    plan: Plan,
    results: Sequence[Rows],
    strata: Sequence[Stratum],
    sort_key: SortKey,
    kommuner: Mapping[str | None, frozenset[int]] | None = None,
) -> tuple[Block, ...]:
    """``results`` holds the rows of ``plan.queries``, in the same order; ``kommuner`` the scope of
    each block (comparison area id, None without one), so every municipality in it is listed
    (without it, only the municipalities with events are)."""
    by_area: dict[str | None, list[tuple[AggregateQuery, Rows]]] = {}
    for query, rows in zip(plan.queries, results, strict=True):
        by_area.setdefault(query.area.id if query.area else None, []).append((query, rows))
    areas: Sequence[Area | None] = plan.areas or (None,)
    # Every area shows the same columns, so the blocks line up in one table.
    everywhere = frozenset().union(*kommuner.values()) if kommuner else None
    listed = all_keys(plan.columns, plan, everywhere)
    columns = _keys(plan.columns, list(zip(plan.queries, results, strict=True)), sort_key, listed)
    blocks = []
    for area in areas:
        area_id = area.id if area else None
        scope = kommuner.get(area_id) if kommuner else None
        listed_rows = all_keys(plan.rows, plan, scope)
        blocks.append(_Block(plan, area, by_area.get(area_id, []), strata, sort_key, columns, listed_rows).build())
    return tuple(blocks)


def _getter(names: list[str]) -> Callable[[Mapping[str, Any]], tuple[Any, ...]]:
    """A fast ``row → tuple of these columns`` (itemgetter returns a bare value for one name)."""
    if len(names) == 1:
        (name,) = names
        return lambda row: (row[name],)
    return itemgetter(*names)


def _keys(
    dims: tuple[Dimension, ...],
    results: Sequence[tuple[AggregateQuery, Rows]],
    sort_key: SortKey,
    listed: Sequence[tuple[Any, ...]] = (),
) -> tuple[tuple[Any, ...], ...]:
    """The inner keys of one axis, in display order: the ``listed`` member combinations and every
    other combination the value queries returned (an unrecorded value, a member not listed)."""
    if not dims:
        return ()
    flags = _getter([f"g_{d.id}" for d in dims])
    names = _getter([f"d_{d.id}" for d in dims])
    keys: set[tuple[Any, ...]] = set(listed)
    for query, rows in results:
        if query.role is not QueryRole.VALUES or not all(d in query.dimensions for d in dims):
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
        strata: Sequence[Stratum],
        sort_key: SortKey,
        col_keys: tuple[tuple[Any, ...], ...],
        listed_rows: Sequence[tuple[Any, ...]],
    ) -> None:
        self.plan = plan
        self.area = area
        self.results = results
        self.strata = strata
        self.row_dims = plan.rows
        self.col_dims = plan.columns
        self.row_keys = _keys(self.row_dims, results, sort_key, listed_rows)
        self.col_keys = col_keys
        self.row_index = {k: i for i, k in enumerate(self.row_keys)}
        self.col_index = {k: i for i, k in enumerate(self.col_keys)}

    def build(self) -> Block:
        aggregates: dict[str, dict[CellKey, Aggregate]] = {}
        strata: list[tuple[AggregateQuery, Rows]] = []
        cells = cells_of(len(self.row_keys), len(self.col_keys))
        for query, rows in self.results:
            if query.role is QueryRole.VALUES:
                self._values(query, rows, aggregates)
            elif query.role is QueryRole.CITIZENS:
                aggregates[query.measures[0].measure] = self._citizens(query, rows, cells)
            else:
                strata.append((query, rows))
        for measure in self.plan.base_measures:
            aggregates.setdefault(measure.id, {})
        for cellmap in aggregates.values():  # a combination without events is a true zero
            for cell in cells:
                cellmap.setdefault(cell, ZERO)
        return Block(self.area, self.row_keys, self.col_keys, aggregates, self._strata(strata, cells))

    def _values(self, query: AggregateQuery, rows: Rows, aggregates: dict[str, dict[CellKey, Aggregate]]) -> None:
        locate = _Locator(self, query).cell
        columns = [(c, aggregates.setdefault(c.measure, {})) for c in query.measures]
        for row in rows:
            cell = locate(row)
            if cell is None:
                continue
            for column, cellmap in columns:
                cellmap[cell] = _read(row, column, self._divisor(row, query, column))

    def _citizens(self, query: AggregateQuery, rows: Rows, cells: list[CellKey]) -> dict[CellKey, Aggregate]:
        """A denominator per cell: its query is split only by the dimensions its source has, so a
        cell takes the row of its projection (every diagnosis chapter has the same citizens)."""
        table = self._table(query, rows)
        return {cell: table.get(self._project(cell, query), ZERO) for cell in cells}

    def _strata(
        self, results: list[tuple[AggregateQuery, Rows]], cells: list[CellKey]
    ) -> dict[str, dict[CellKey, dict[Stratum, Aggregate]]]:
        """Each cell's aggregates by stratum, for every strata query (numerators and citizens)."""
        out: dict[str, dict[CellKey, dict[Stratum, Aggregate]]] = {}
        for query, rows in results:
            table = self._table(query, rows)
            per_cell = out.setdefault(query.measures[0].measure, {})
            for cell in cells:
                where = self._project(cell, query)
                found = {s: table.get(where + s) for s in self.strata}
                per_cell[cell] = {s: a for s, a in found.items() if a is not None}
        return out

    def _table(self, query: AggregateQuery, rows: Rows) -> dict[tuple[Any, ...], Aggregate]:
        """The rows of a one-measure query by their projection (values of its dimensions and strata)."""
        (column,) = query.measures
        project = _row_projection(query)
        return {project(row): _read(row, column, self._divisor(row, query, column)) for row in rows}

    def _divisor(self, row: Mapping[str, Any], query: AggregateQuery, column: MeasureColumn) -> int:
        """What a sum of resident counts is divided by: the months of the cell (an average
        population) or the months of one time unit (citizen-time); 1 for everything else."""
        if column.spec.aggregation is Aggregation.AVERAGE_POPULATION:
            return self._months(row, query)
        if column.spec.aggregation is Aggregation.POPULATION_TIME:
            return query.time_unit.months
        return 1

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
            if d.id == TimeUnit.MONTH:
                months = [k for k in months if k == value]
            elif d.id == TimeUnit.QUARTER:
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


def _row_projection(query: AggregateQuery) -> Callable[[Mapping[str, Any]], tuple[Any, ...]]:
    """A row's values of the query's dimensions (``TOTALLED`` where summed over) and strata.

    The column names are worked out once per query: strata tables have tens of thousands of rows."""
    grouped = query.grouping_sets != ((),)
    dims = tuple((f"g_{d.id}", f"d_{d.id}") for d in query.dimensions)
    strata = tuple(f"s_{d.id}" for d in query.strata)

    def project(row: Mapping[str, Any]) -> tuple[Any, ...]:
        values = tuple(TOTALLED if not grouped or row.get(g, 1) else row[d] for g, d in dims)
        return values + tuple(row[s] for s in strata)

    return project


def _read(row: Mapping[str, Any], column: MeasureColumn, divisor: int) -> Aggregate:
    """A measure's aggregate from one result row (see ``koes.query.sql`` for the columns);
    ``divisor`` divides a sum of resident counts (``_Block._divisor``)."""
    measure, aggregation, noise = column.measure, column.spec.aggregation, column.noise
    value = row[f"m_{measure}"]
    if aggregation in (Aggregation.AVERAGE_POPULATION, Aggregation.POPULATION_TIME):
        average = Decimal(value or 0) / divisor if divisor else Decimal(0)
        return Aggregate(average, math.ceil(average), aggregation=aggregation, noise=noise)
    if aggregation is Aggregation.RESIDENTS:  # public, like resident counts
        return Aggregate(int(value or 0), int(value or 0), aggregation=aggregation, noise=noise)
    if aggregation is Aggregation.PERSON_UNITS:
        # The units, and the distinct persons behind them (the same when the cell spans one unit).
        units, key = int(value or 0), _int(row.get(f"k_{measure}"))
        persons, base_key = row.get(f"n_{measure}"), row.get(f"kn_{measure}", row.get(f"k_{measure}"))
        base = units if persons is None else int(persons)
        return Aggregate(units, base, key, _int(base_key), aggregation=aggregation, noise=noise)
    if aggregation is Aggregation.PERSONS:
        persons, key = int(value or 0), _int(row.get(f"k_{measure}"))
        return Aggregate(persons, persons, key, key, aggregation=aggregation, noise=noise)
    return Aggregate(
        value if value is not None else 0,
        int(row[f"n_{measure}"] or 0),
        _int(row.get(f"k_{measure}")),
        _int(row.get(f"kn_{measure}")),
        row.get(f"x_{measure}"),
        aggregation,
        noise,
    )


def _int(value: Any) -> int | None:
    return None if value is None else int(value)
