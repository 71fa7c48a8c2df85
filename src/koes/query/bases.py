"""Disclosure bases at speed: count rows first, and persons only in the cells where it matters.

Disclosure control needs, for every cell of a counted or summed measure, the persons behind it,
but only to tell whether there are fewer than the threshold (primary suppression) and, among the
published cells, which are small (the cost of hiding one). An exact ``COUNT(DISTINCT person)``
is the dearest aggregate there is: at national scale it costs more than everything else in the
query together.

A person-year table bounds how many rows one person has in one year (``k``: a person who moves
or has a birthday has a row per municipality and age), and the load records that bound in the
release's manifest. A cell with ``r`` contributing rows over ``y`` years therefore holds at least
``ceil(r / (k * y))`` persons, and at most ``r``. So:

1. the query counts rows (``BaseCount.ROWS``), which costs next to nothing;
2. a cell with no rows has no persons; a cell whose lower bound reaches the threshold is safe, and
   its base is that lower bound;
3. every other cell is counted again, exactly, by the same scoped query narrowed to the rows
   that have one dimension value of such a cell (a few IN lists, not a predicate per cell).

Primary suppression is therefore decided on exact counts, as before; under perturbation the
threshold is raised by the largest noise, and the recount also sums the persons' record keys
(``kn_``), so every base that could be perturbed below the display threshold is perturbed from its
exact count and cell key. Large cells carry the lower bound instead of the exact count; bases are
never shown, and secondary suppression ranks cells by their values (``koes.services.disclosure``),
so what is published does not depend on how the bases were counted. Queries whose bases are
never read (the strata of a standardised rate) count rows and stop there. Decision records:
``docs/decisions/0004-disclosure-bases-from-rows.md``, ``0006-consistent-perturbation.md``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from koes.query.plan import AggregateQuery, BaseCount, Narrowing, QueryRole
from koes.query.scope import ScopedQuery, narrowed
from koes.semantic.model import Aggregation

Row = Mapping[str, Any]
UNREAD = frozenset({QueryRole.STRATA, QueryRole.CITIZEN_STRATA})  # their rows feed rates, never disclosure
BOUNDED = frozenset({Aggregation.COUNT, Aggregation.SUM})  # measures whose `n_` is a base


class QueryRunner(Protocol):
    """Runs one scoped query on the release's engine and returns its rows. The query layer knows no
    engine: ``AnalysisService`` hands one in, rendering the query in the dialect of its
    ``koes.engines.base.Engine`` and executing it there."""

    def __call__(self, scoped: ScopedQuery, /) -> Sequence[Row]: ...


@dataclass(frozen=True)
class BaseCounting:
    # Bases under this are counted exactly: the display threshold, plus the largest noise the
    # perturbation may subtract (a base that far above the threshold is published however it moves).
    threshold: int
    rows_per_person_year: Mapping[str, int]  # table → the most rows one person has in one year

    def first(self, scoped: ScopedQuery) -> ScopedQuery:
        """How to run a query the first time: rows instead of persons wherever that is safe."""
        query = scoped.query
        if query.role in UNREAD or (query.role is QueryRole.VALUES and self._bound(query) is not None):
            return narrowed(scoped, base_count=BaseCount.ROWS)
        return scoped

    def run(self, scoped: ScopedQuery, run: QueryRunner) -> list[Row]:
        """The rows of ``scoped``, with disclosure bases exact wherever they are under the threshold."""
        first = self.first(scoped)
        rows = list(run(first))
        bound = self._bound(first.query)
        if first.query.base_count is BaseCount.PERSONS or first.query.role in UNREAD or bound is None:
            return rows
        return self._refined(first, rows, bound, run)

    def _bound(self, query: AggregateQuery) -> int | None:
        """Rows per person over the query's period, or None when the table records no bound."""
        per_year = self.rows_per_person_year.get(query.source.table)
        if per_year is None or query.narrowing is not None:
            return None
        years = query.period.last // 100 - query.period.first // 100 + 1
        return per_year * years

    def _refined(self, first: ScopedQuery, rows: list[Row], bound: int, run: QueryRunner) -> list[Row]:
        query = first.query
        bases = [f"n_{c.measure}" for c in query.measures if c.spec.aggregation in BOUNDED]
        lower: list[Row] = [{**row, **{n: _at_least(row[n], bound) for n in bases}} for row in rows]
        small = [i for i, row in enumerate(lower) if any(0 < row[n] < self.threshold for n in bases)]
        if not small:
            return lower
        narrowing = _narrowing(query, [rows[i] for i in small])
        if narrowing is None:  # a grand total is small: count the whole query again
            return list(run(narrowed(first, base_count=BaseCount.PERSONS)))
        again = run(narrowed(first, base_count=BaseCount.PERSONS, narrowing=narrowing))
        exact = {_key(query, row): row for row in again}
        recounted = [*bases, *(f"k{n}" for n in bases)]  # the bases and their persons' key sums (kn_)
        for i in small:
            found = exact.get(_key(query, rows[i]))
            if found is None:
                raise RuntimeError(f"the exact recount of {query.source.table} missed a cell it was asked for")
            lower[i] = {**lower[i], **{n: found[n] for n in recounted}}
        return lower


def _at_least(rows: int | None, bound: int) -> int:
    """The fewest persons ``rows`` rows can belong to, when nobody has more than ``bound``."""
    return -(-(rows or 0) // bound)


def _narrowing(query: AggregateQuery, rows: list[Row]) -> Narrowing | None:
    """Rows enough to count these result rows' cells exactly: each cell's first grouped value.

    A cell's rows all share its value of any dimension it is grouped by, so the rows holding that
    one value include the whole cell. None when a cell is grouped by nothing (a grand total)."""
    grouped = query.grouping_sets != ((),)
    wanted: dict[str, dict[Any, None]] = {}
    for row in rows:
        first = next((d for d in query.dimensions if grouped and not row[f"g_{d.id}"]), None)
        if first is None:
            return None
        wanted.setdefault(first.id, {})[row[f"d_{first.id}"]] = None
    return tuple((d, tuple(values)) for d, values in wanted.items())


def _key(query: AggregateQuery, row: Row) -> tuple[Any, ...]:
    grouped = query.grouping_sets != ((),)
    flags = tuple(row[f"g_{d.id}"] for d in query.dimensions) if grouped else ()
    return (*(row[f"d_{d.id}"] for d in query.dimensions), *(row[f"s_{d.id}"] for d in query.strata), *flags)
