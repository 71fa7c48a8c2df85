"""Properties of disclosure control: nothing small is published and nothing hidden can be recomputed.

Recoverability is checked by plain linear algebra, independently of the engine's graph argument:
write every line relation of the table as a row of a coefficient matrix A (members +1, total -1),
move the published cells to the right-hand side (A_H x_H = -A_P x_P), and a hidden cell i is
determined exactly when its unit vector e_i lies in the row space of A_H, i.e. when
rank(A_H) == rank([A_H; e_i]).
"""

from __future__ import annotations

from collections.abc import Collection

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from koes.domain.cells import TOTAL, CellKey
from koes.privacy.suppression import DisclosureRule, Grid, suppress
from koes.privacy.suppression import _Network as Network

THRESHOLDS = [1, 2, 3, 5, 10]


def all_cells(n_rows: int, n_cols: int) -> list[CellKey]:
    return [(r, c) for r in [*range(n_rows), TOTAL] for c in [*range(n_cols), TOTAL]]


def relation_matrix(n_rows: int, n_cols: int) -> tuple[npt.NDArray[np.float64], list[CellKey]]:
    """Coefficients of every line relation over all cells, built from the shape alone.

    A row (inner or total) relates its inner cells to its total only if there are inner columns;
    likewise a column needs inner rows.
    """
    cells = all_cells(n_rows, n_cols)
    index = {key: i for i, key in enumerate(cells)}
    equations: list[npt.NDArray[np.float64]] = []
    if n_cols >= 1:
        for r in [*range(n_rows), TOTAL]:
            eq = np.zeros(len(cells))
            for c in range(n_cols):
                eq[index[(r, c)]] = 1.0
            eq[index[(r, TOTAL)]] = -1.0
            equations.append(eq)
    if n_rows >= 1:
        for c in [*range(n_cols), TOTAL]:
            eq = np.zeros(len(cells))
            for r in range(n_rows):
                eq[index[(r, c)]] = 1.0
            eq[index[(TOTAL, c)]] = -1.0
            equations.append(eq)
    matrix = np.array(equations, dtype=np.float64).reshape(len(equations), len(cells))
    return matrix, cells


def rank(matrix: npt.NDArray[np.float64]) -> int:
    if matrix.shape[0] == 0 or matrix.shape[1] == 0:
        return 0
    return int(np.linalg.matrix_rank(matrix))


def recoverable(n_rows: int, n_cols: int, hidden: Collection[CellKey]) -> set[CellKey]:
    """The hidden cells a reader can compute exactly from the published cells and the totals."""
    matrix, cells = relation_matrix(n_rows, n_cols)
    hidden_cells = [key for key in cells if key in hidden]
    a_hidden = matrix[:, [cells.index(key) for key in hidden_cells]]
    base_rank = rank(a_hidden)
    found: set[CellKey] = set()
    for j, key in enumerate(hidden_cells):
        unit = np.zeros((1, len(hidden_cells)))
        unit[0, j] = 1.0
        if rank(np.vstack([a_hidden, unit])) == base_rank:
            found.add(key)
    return found


def solve_hidden(
    values: dict[CellKey, int], n_rows: int, n_cols: int, hidden: Collection[CellKey]
) -> dict[CellKey, float]:
    """What a reader would compute for the hidden cells: least squares after substituting published values."""
    matrix, cells = relation_matrix(n_rows, n_cols)
    hidden_idx = [i for i, key in enumerate(cells) if key in hidden]
    published_idx = [i for i, key in enumerate(cells) if key not in hidden]
    rhs = -matrix[:, published_idx] @ np.array([values.get(cells[i], 0) for i in published_idx], dtype=np.float64)
    solution = np.linalg.lstsq(matrix[:, hidden_idx], rhs, rcond=None)[0]
    return {cells[i]: float(x) for i, x in zip(hidden_idx, solution, strict=True)}


@st.composite
def grids(draw: st.DrawFn, max_side: int = 8) -> Grid:
    n_rows = draw(st.integers(0, max_side))
    n_cols = draw(st.integers(0, max_side))
    keys = all_cells(n_rows, n_cols)
    small = st.integers(0, 12)
    value = st.one_of(small, small, small, st.integers(0, 400))
    values = draw(st.lists(value, min_size=len(keys), max_size=len(keys)))
    base = dict(zip(keys, values, strict=True))
    if draw(st.booleans()):  # also exercise "absent means 0"
        base = {key: v for key, v in base.items() if v}
    return Grid(n_rows, n_cols, base)


# --- the checker itself is not vacuous ----------------------------------------------------------


def test_the_checker_flags_a_single_hidden_cell_in_a_line() -> None:
    assert recoverable(3, 3, {(1, 1)}) == {(1, 1)}
    assert recoverable(3, 3, {(0, 0), (0, 1)}) == {(0, 0), (0, 1)}  # each alone in its column
    assert recoverable(0, 3, {(TOTAL, 1)}) == {(TOTAL, 1)}
    assert recoverable(3, 0, {(2, TOTAL)}) == {(2, TOTAL)}
    assert recoverable(3, 3, {(0, 0), (0, 1), (1, 0), (1, 1)}) == set()
    assert recoverable(0, 3, {(TOTAL, 0), (TOTAL, 1)}) == set()
    assert recoverable(0, 0, {(TOTAL, TOTAL)}) == set()  # nothing relates a lone grand total to anything


def test_a_flagged_cell_really_is_recovered_from_the_published_numbers() -> None:
    inner = [[3, 12, 40], [10, 35, 60]]
    values: dict[CellKey, int] = {(r, c): inner[r][c] for r in range(2) for c in range(3)}
    values |= {(r, TOTAL): sum(inner[r]) for r in range(2)}
    values |= {(TOTAL, c): inner[0][c] + inner[1][c] for c in range(3)}
    values[(TOTAL, TOTAL)] = sum(map(sum, inner))
    # Hiding the 3 and the 12 protects neither: each is alone in its column.
    leaky = {(0, 0), (0, 1)}
    assert recoverable(2, 3, leaky) == leaky
    assert solve_hidden(values, 2, 3, leaky) == pytest.approx({(0, 0): 3.0, (0, 1): 12.0})
    assert recoverable(2, 3, leaky | {(1, 0), (1, 1)}) == set()


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_recoverable_cells_are_exactly_the_bridges(data: st.DataObject) -> None:
    """The engine's graph argument agrees with the rank test on arbitrary hidden sets."""
    grid = data.draw(grids(max_side=6))
    hidden = data.draw(st.sets(st.sampled_from(grid.cells())))
    assert set(Network(grid).bridges(hidden)) == recoverable(grid.n_rows, grid.n_cols, hidden)


# --- properties of suppress ---------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(grid=grids(), threshold=st.sampled_from(THRESHOLDS))
def test_no_small_count_is_published(grid: Grid, threshold: int) -> None:
    result = suppress(grid, DisclosureRule(threshold=threshold))
    for key in grid.cells():
        if not result.is_hidden(key):
            assert not 1 <= grid.base_of(key) < threshold, key


@settings(max_examples=200, deadline=None)
@given(grid=grids(), threshold=st.sampled_from(THRESHOLDS))
def test_no_hidden_cell_can_be_recovered(grid: Grid, threshold: int) -> None:
    result = suppress(grid, DisclosureRule(threshold=threshold))
    assert recoverable(grid.n_rows, grid.n_cols, result.hidden) == set()


@pytest.mark.parametrize("threshold", [2, 5, 11])
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_forced_cells_are_hidden_and_protected(threshold: int, data: st.DataObject) -> None:
    grid = data.draw(grids())
    forced = data.draw(st.sets(st.sampled_from(grid.cells()), max_size=4))
    result = suppress(grid, DisclosureRule(threshold=threshold), already_hidden=forced)
    assert forced <= result.primary
    assert recoverable(grid.n_rows, grid.n_cols, result.hidden) == set()


@settings(max_examples=200, deadline=None)
@given(grid=grids(), threshold=st.sampled_from(THRESHOLDS))
def test_suppression_is_idempotent(grid: Grid, threshold: int) -> None:
    rule = DisclosureRule(threshold=threshold)
    first = suppress(grid, rule)
    again = suppress(grid, rule, already_hidden=first.hidden)
    assert again.hidden == first.hidden
    assert again.secondary == frozenset()


@settings(max_examples=200, deadline=None)
@given(grid=grids(), threshold=st.sampled_from(THRESHOLDS))
def test_suppression_is_deterministic(grid: Grid, threshold: int) -> None:
    rule = DisclosureRule(threshold=threshold)
    shuffled = Grid(grid.n_rows, grid.n_cols, dict(reversed(list(grid.base.items()))))
    first = suppress(grid, rule)
    assert suppress(grid, rule) == first
    assert suppress(shuffled, rule) == first


@settings(max_examples=200, deadline=None)
@given(grid=grids(), threshold=st.sampled_from(THRESHOLDS))
def test_hidden_cells_include_exactly_the_primary_ones(grid: Grid, threshold: int) -> None:
    result = suppress(grid, DisclosureRule(threshold=threshold))
    expected_primary = {key for key in grid.cells() if 1 <= grid.base_of(key) < threshold}
    assert result.primary == expected_primary
    assert result.hidden >= expected_primary
    assert not result.primary & result.secondary
    if not expected_primary:
        assert result.hidden == frozenset()


@settings(max_examples=150, deadline=None)
@given(grid=grids())
def test_the_single_cell_shortcut_changes_nothing(grid: Grid) -> None:
    """A bridge closed by one small inner cell is found without the path search: same result."""
    fast = suppress(grid)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Network, "_single_inner_cover", lambda self, *args: None)
        slow = suppress(grid)
    assert fast == slow
