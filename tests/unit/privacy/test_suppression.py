"""Disclosure control on small tables a reader can check by hand (DESIGN.md §5 rule 3)."""

from __future__ import annotations

import random
import time

import pytest

from koes.domain.cells import TOTAL, CellKey
from koes.privacy.suppression import DisclosureRule, Grid, Suppression, round_count, suppress

T = TOTAL


def table(rows: list[list[int]]) -> Grid:
    """A grid from its inner cells, with exact (additive) margins."""
    n_rows, n_cols = len(rows), len(rows[0])
    base: dict[CellKey, int] = {(r, c): rows[r][c] for r in range(n_rows) for c in range(n_cols)}
    for r in range(n_rows):
        base[(r, T)] = sum(rows[r])
    for c in range(n_cols):
        base[(T, c)] = sum(row[c] for row in rows)
    base[(T, T)] = sum(map(sum, rows))
    return Grid(n_rows, n_cols, base)


# --- the classic cases --------------------------------------------------------------------------


def test_one_small_cell_in_a_3x3_table_is_protected_by_a_rectangle() -> None:
    # The 3 cannot be published; the smallest cell in its row (12) and in its column (10), and the
    # corner between them (35), are hidden too, so every line has two hidden cells and the
    # four hidden cells can all shift by the same amount without changing any total.
    grid = table(
        [
            [3, 12, 40],
            [10, 35, 60],
            [25, 50, 70],
        ]
    )
    result = suppress(grid)
    assert result.primary == {(0, 0)}
    assert result.secondary == {(0, 1), (1, 0), (1, 1)}
    assert result.hidden == {(0, 0), (0, 1), (1, 0), (1, 1)}


def test_the_whole_rectangle_is_chosen_for_least_information_lost() -> None:
    # Greedy "smallest in row, smallest in column" would hide 15, 9 and the corner 40 (64 persons);
    # the rectangle 15, 8, 30 hides only 53 persons and protects the 3 just as well.
    grid = table(
        [
            [20, 3, 15],
            [12, 30, 8],
            [25, 9, 40],
        ]
    )
    assert suppress(grid).secondary == {(0, 2), (1, 2), (1, 1)}


def test_one_cell_that_closes_the_cycle_is_enough_whatever_its_size() -> None:
    grid = table(
        [
            [2, 500, 6],
            [3, 4, 9],
            [30, 40, 50],
        ]
    )
    result = suppress(grid)
    # 2, 3 and 4 form a chain (row 1 links column 0 to column 1); hiding (0, 1) closes it into a
    # cycle. Any other way needs at least two more cells.
    assert result.primary == {(0, 0), (1, 0), (1, 1)}
    assert result.secondary == {(0, 1)}


def test_weights_choose_the_extra_cells_and_bases_only_what_is_small() -> None:
    # The same 3x3 table as above, but the caller knows its large bases only as "at least 5" and
    # weighs the cells by their published values: the rectangle follows the weights, while the
    # primary cell is still the one whose base is small.
    persons = table([[3, 12, 40], [10, 35, 60], [25, 50, 70]])
    at_least = {cell: 5 if base >= 5 else base for cell, base in persons.base.items()}
    values = {cell: 10 * base for cell, base in persons.base.items()}
    values[(2, 1)] = 1  # a cell with few events: the cheapest to hide in its row and column
    result = suppress(Grid(3, 3, at_least, values))
    assert result.primary == {(0, 0)}
    assert result.secondary == {(0, 1), (2, 0), (2, 1)}


def test_without_weights_the_bases_are_the_weights() -> None:
    grid = table([[3, 12, 40], [10, 35, 60], [25, 50, 70]])
    weighed = Grid(3, 3, grid.base, dict(grid.base))
    assert suppress(weighed) == suppress(grid)
    assert weighed.weight_of((0, 1)) == grid.weight_of((0, 1)) == 12


def test_two_small_cells_in_one_row_are_protected_by_a_pair_below_them() -> None:
    grid = table(
        [
            [2, 3, 40],
            [20, 30, 10],
            [11, 12, 50],
        ]
    )
    result = suppress(grid)
    assert result.primary == {(0, 0), (0, 1)}
    assert result.secondary == {(2, 0), (2, 1)}  # 11 + 12 beats 20 + 30


def test_a_base_of_zero_is_published() -> None:
    grid = table([[0, 7], [12, 0]])
    result = suppress(grid)
    assert result.hidden == frozenset()
    assert not result.is_hidden((0, 0))


def test_zero_cells_are_avoided_when_a_nonzero_cell_will_do() -> None:
    grid = table(
        [
            [2, 0, 9],
            [7, 8, 20],
            [6, 30, 11],
        ]
    )
    result = suppress(grid)
    assert (0, 1) not in result.hidden
    assert result.secondary == {(0, 2), (2, 2), (2, 0)}  # 9 + 11 + 6 is the cheapest nonzero rectangle


def test_a_hidden_zero_protects_nothing_so_margins_are_hidden_instead() -> None:
    # The only rectangle of inner cells around the 2 runs through the empty cell. Hidden, it would
    # still be 0 to a reader who knows that a hidden cell is 0 or at least 5 (7 - x >= 5 leaves it 0
    # or 1, so 0), and then 6 + 2 = 8 and 2 + 7 = 9 pin everything. A cycle over the column totals
    # lets the 2 move: (0, 0) and (T, 0) up by one, (T, 1) and (0, 1) down.
    grid = table([[2, 6], [7, 0]])
    assert suppress(grid).secondary == {(0, 1), (T, 0), (T, 1)}


def test_totals_are_hidden_only_when_the_inner_cells_cannot_do_it() -> None:
    # In a 2x1 table each row line is "the one inner cell equals the row total": the total row
    # cell must go with it, and then the column line needs a second hidden row.
    grid = table([[3], [40]])
    result = suppress(grid)
    assert result.primary == {(0, 0), (0, T)}
    assert result.secondary == {(1, 0), (1, T)}


def test_already_hidden_cells_count_as_primary_and_are_protected() -> None:
    grid = table([[20, 30], [40, 50]])
    result = suppress(grid, already_hidden=[(1, 1)])
    assert result.primary == {(1, 1)}
    assert result.secondary == {(0, 0), (0, 1), (1, 0)}


def test_suppressing_again_changes_nothing() -> None:
    grid = table([[3, 12, 40], [10, 35, 60], [25, 50, 70]])
    first = suppress(grid)
    again = suppress(grid, already_hidden=first.hidden)
    assert again.hidden == first.hidden
    assert again.secondary == frozenset()


# --- degenerate shapes --------------------------------------------------------------------------


def test_a_table_with_only_a_total_row() -> None:
    # No inner rows: the only relation is "the column totals add up to the grand total". The
    # smallest other count is hidden; the grand total stays.
    grid = Grid(0, 3, {(T, 0): 2, (T, 1): 10, (T, 2): 7, (T, T): 19})
    assert grid.lines() == (((T, 0), (T, 1), (T, 2), (T, T)),)
    result = suppress(grid)
    assert result.primary == {(T, 0)}
    assert result.secondary == {(T, 2)}


def test_the_grand_total_is_the_last_resort() -> None:
    grid = Grid(0, 2, {(T, 0): 2, (T, 1): 50, (T, T): 52})
    assert suppress(grid).secondary == {(T, 1)}
    only_the_grand_total_left = Grid(0, 1, {(T, 0): 2, (T, T): 52})
    assert suppress(only_the_grand_total_left).secondary == {(T, T)}


def test_a_table_where_every_row_is_only_its_total() -> None:
    grid = Grid(3, 0, {(0, T): 8, (1, T): 3, (2, T): 6, (T, T): 17})
    assert grid.lines() == (((0, T), (1, T), (2, T), (T, T)),)
    result = suppress(grid)
    assert result.primary == {(1, T)}
    assert result.secondary == {(2, T)}


@pytest.mark.parametrize(("persons", "hidden"), [(3, {(T, T)}), (30, set()), (0, set())])
def test_a_single_cell_table(persons: int, hidden: set[CellKey]) -> None:
    grid = Grid(0, 0, {(T, T): persons})
    assert grid.cells() == ((T, T),)
    assert grid.lines() == ()
    result = suppress(grid)
    assert result.hidden == hidden
    assert result.secondary == frozenset()


# --- the grid itself ----------------------------------------------------------------------------


def test_cells_come_in_reading_order_with_totals_last() -> None:
    grid = Grid(2, 1, {})
    assert grid.cells() == ((0, 0), (0, T), (1, 0), (1, T), (T, 0), (T, T))
    assert [grid.position(key) for key in grid.cells()] == list(range(6))


def test_lines_list_members_then_total() -> None:
    grid = Grid(2, 1, {})
    assert grid.lines() == (
        ((0, 0), (0, T)),
        ((1, 0), (1, T)),
        ((T, 0), (T, T)),
        ((0, 0), (1, 0), (T, 0)),
        ((0, T), (1, T), (T, T)),
    )


def test_missing_cells_have_base_zero_and_the_grid_keeps_its_own_copy() -> None:
    base = {(0, 0): 7}
    grid = Grid(1, 1, base)
    base[(0, 0)] = 2
    assert grid.base_of((0, 0)) == 7
    assert grid.base_of((T, T)) == 0
    assert grid == Grid(1, 1, {(0, 0): 7})


@pytest.mark.parametrize(
    ("base", "fragment"),
    [
        ({(2, 0): 1}, "(2, 0)"),
        ({(0, 5): 1}, "(0, 5)"),
        ({(0, -2): 1}, "(0, -2)"),
        ({(1, T): -1}, "(1, -1)"),
    ],
)
def test_invalid_cells_are_named_in_the_error(base: dict[CellKey, int], fragment: str) -> None:
    with pytest.raises(ValueError, match=r"cell \(") as error:
        Grid(2, 2, base)
    assert fragment in str(error.value)


def test_invalid_weights_are_named_in_the_error() -> None:
    with pytest.raises(ValueError, match=r"weight: cell \(0, 5\)"):
        Grid(2, 2, {}, {(0, 5): 1})
    with pytest.raises(ValueError, match=r"weight of cell \(0, 0\)"):
        Grid(2, 2, {}, {(0, 0): -3})


def test_invalid_shapes_and_forced_cells_are_rejected() -> None:
    with pytest.raises(ValueError, match="n_rows"):
        Grid(-1, 2, {})
    with pytest.raises(ValueError, match=r"already_hidden: cell \(3, 0\)"):
        suppress(Grid(2, 2, {}), already_hidden=[(3, 0)])


# --- the rule, rounding and wording -------------------------------------------------------------


@pytest.mark.parametrize(
    ("threshold", "rounding", "message"),
    [(0, None, "threshold"), (-5, None, "threshold"), (5, 0, "rounding"), (5, -10, "rounding")],
)
def test_rule_validation(threshold: int, rounding: int | None, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        DisclosureRule(threshold=threshold, rounding=rounding)


def test_threshold_decides_what_is_primary() -> None:
    grid = table([[1, 5], [9, 30]])
    assert suppress(grid, DisclosureRule(threshold=5)).primary == {(0, 0)}
    assert suppress(grid, DisclosureRule(threshold=10)).primary == {(0, 0), (0, 1), (1, 0), (0, T)}
    assert suppress(grid, DisclosureRule(threshold=1)).hidden == frozenset()


@pytest.mark.parametrize(
    ("value", "rounding", "expected"),
    [(7, None, 7), (7, 1, 7), (7, 5, 5), (8, 5, 10), (0, 5, 0), (2, 5, 0), (15, 10, 20), (14, 10, 10), (25, 10, 30)],
)
def test_round_count(value: int, rounding: int | None, expected: int) -> None:
    assert round_count(value, DisclosureRule(rounding=rounding)) == expected


def test_describe_in_danish_and_english() -> None:
    danish = DisclosureRule().describe()
    assert danish.startswith("Antal personer 1–4 vises som <5;")
    assert "sekundær diskretionering" in danish
    assert "afrund" not in danish
    assert "koes-5" in danish
    english = DisclosureRule(rounding=5).describe("en")
    assert english.startswith("Counts of 1–4 persons are shown as <5;")
    assert "secondary suppression" in english
    assert "rounded to the nearest multiple of 5" in english
    assert "afrundes til nærmeste multiplum af 5" in DisclosureRule(rounding=5).describe("da")
    assert "på 1 vises som <2" in DisclosureRule(threshold=2).describe()
    assert "no primary suppression" in DisclosureRule(threshold=1).describe("en")
    with pytest.raises(ValueError, match="language"):
        DisclosureRule().describe("sv")


def test_suppression_reports_hidden_cells() -> None:
    result = Suppression(primary=frozenset({(0, 0)}), secondary=frozenset({(0, 1)}), rule=DisclosureRule())
    assert result.hidden == {(0, 0), (0, 1)}
    assert result.is_hidden((0, 1))
    assert not result.is_hidden((1, 1))


def test_a_realistic_table_is_fast() -> None:
    rng = random.Random(5)
    base = {(r, c): rng.choice([0, 1, 2, 3, 4, 7, 25, 140]) for r in range(100) for c in range(50)}
    grid = Grid(100, 50, base)
    start = time.perf_counter()
    result = suppress(grid)
    elapsed = time.perf_counter() - start
    assert result.primary >= {key for key, value in base.items() if 1 <= value < 5}
    assert elapsed < 2.0  # typically well under 0.2 s
