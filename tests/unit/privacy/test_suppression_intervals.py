"""The interval audit of secondary suppression: no hidden cell is pinned by what a reader knows.

Issue 14: a hidden 1 and a hidden 5 in one row that add up to 6 give both back to a reader who
knows that hidden cells are 1–4 (``<5``) or 0 or at least 5 (``x``), though no line has a single
hidden cell (the old, bridges-only check passed it).
"""

from __future__ import annotations

from collections.abc import Hashable

from hypothesis import given, settings
from hypothesis import strategies as st

from attack.solver import System, integer_ranges
from koes.domain.cells import TOTAL, CellKey
from koes.privacy.suppression import DisclosureRule, Grid, Quantity, Suppression, exposed_cells, suppress

T = TOTAL
RULE = DisclosureRule()


def table(rows: list[list[int]]) -> Grid:
    n_rows, n_cols = len(rows), len(rows[0])
    base: dict[CellKey, int] = {(r, c): rows[r][c] for r in range(n_rows) for c in range(n_cols)}
    base.update({(r, T): sum(rows[r]) for r in range(n_rows)})
    base.update({(T, c): sum(row[c] for row in rows) for c in range(n_cols)})
    base[(T, T)] = sum(map(sum, rows))
    return Grid(n_rows, n_cols, base)


def pinned(grid: Grid, result: Suppression) -> dict[Hashable, tuple[int, int]]:
    """The hidden cells a MILP reader pins (persons: <5 is 1..4, x is 0 or >= 5; lines add up)."""
    system = System()
    for cell in grid.cells():
        value = grid.value_of(cell)
        if cell in result.primary:
            system.unknown(cell, 1, RULE.threshold - 1)
        elif cell in result.secondary:
            system.zero_or_at_least(cell, RULE.threshold)
        else:
            system.unknown(cell, float(value), float(value))
    for line in grid.lines():
        *members, total = line
        system.equal({**dict.fromkeys(members, 1.0), total: -1.0})
    found = integer_ranges(system, sorted(result.hidden))
    return {cell: r for cell, r in found.items() if r[0] == r[1]}


# The bridges-only choice for this table: the 1's rectangle with the 5 beside it.
ROWS = [[1, 5, 40], [30, 31, 30], [30, 30, 33]]
OLD = Suppression(frozenset({(0, 0)}), frozenset({(0, 1), (1, 0), (1, 1)}), RULE)


def test_the_bridges_only_choice_gives_the_small_cell_back_and_the_audit_says_so() -> None:
    grid = table(ROWS)
    assert pinned(grid, OLD) == {(0, 0): (1, 1), (0, 1): (5, 5), (1, 0): (30, 30), (1, 1): (31, 31)}
    assert exposed_cells(grid, OLD) == [(0, 0), (0, 1), (1, 0), (1, 1)]


def test_suppression_now_hides_enough_that_nothing_is_pinned() -> None:
    grid = table(ROWS)
    result = suppress(grid)
    assert result.primary == {(0, 0)}
    assert exposed_cells(grid, result) == []
    assert pinned(grid, result) == {}


def test_events_and_amounts_have_no_upper_bound_so_one_partner_is_enough() -> None:
    # 2 persons with 9 admissions: a reader knows only "at least one admission", so the 5 beside it
    # can take the slack (9 + 5 = 14 = 10 + 4 as well) once the rectangle is hidden.
    bases = table(ROWS).base
    events = {cell: 9 if cell == (0, 0) else v for cell, v in bases.items()}
    events[(0, T)] += 8
    events[(T, 0)] += 8
    events[(T, T)] += 8
    for quantity in (Quantity.EVENTS, Quantity.AMOUNT):
        grid = Grid(3, 3, bases, value=events, quantity=quantity)
        assert exposed_cells(grid, OLD) == []


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_no_hidden_cell_of_a_random_table_is_pinned_by_a_milp_reader(data: st.DataObject) -> None:
    n_rows, n_cols = data.draw(st.integers(1, 5)), data.draw(st.integers(1, 5))
    cell = st.one_of(st.integers(0, 6), st.integers(0, 6), st.integers(5, 60))
    rows = [[data.draw(cell) for _ in range(n_cols)] for _ in range(n_rows)]
    grid = table(rows)
    result = suppress(grid)
    assert exposed_cells(grid, result) == []
    assert pinned(grid, result) == {}
