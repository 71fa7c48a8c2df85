"""The side-by-side benchmark times nothing until a hand-written answer has exactly our cells."""

from __future__ import annotations

import pytest
from benchmarks.peers import Case, check

from koes.services.disclosure import ProtectedBlock

TOTAL = -1


def _ours() -> ProtectedBlock:
    values = {"indlaeggelser": {(0, 0): 3, (0, 1): 4, (1, 0): 5, (0, TOTAL): 7, (1, TOTAL): 5, (TOTAL, TOTAL): 12}}
    return ProtectedBlock(
        area=None,
        row_keys=((101,), (147,)),
        col_keys=((202401,), (202402,)),
        hidden={},
        values=values,
        intervals={},
        exact=True,
    )


CASE = Case(request={}, sql="", rows=1, columns=1, measures=("indlaeggelser",))
# kommune, month, grouping(rows), grouping(columns), admissions, persons
HAND = [
    (101, 202401, 0, 0, 3, 3),
    (101, 202402, 0, 0, 4, 2),
    (147, 202401, 0, 0, 5, 5),
    (101, None, 0, 1, 7, 4),
    (147, None, 0, 1, 5, 5),
    (None, None, 1, 1, 12, 9),
]


def test_equal_cells_pass_and_are_counted() -> None:
    assert check(CASE, _ours(), HAND) == 6


def test_a_different_number_is_named() -> None:
    wrong = [*HAND[:2], (147, 202401, 0, 0, 6, 5), *HAND[3:]]
    with pytest.raises(AssertionError, match=r"147,\) × \(202401,\): hand-written 6, ours 5"):
        check(CASE, _ours(), wrong)


def test_a_cell_missing_from_the_hand_written_answer_fails() -> None:
    with pytest.raises(AssertionError, match="not in the hand-written answer"):
        check(CASE, _ours(), HAND[:-1])


def test_a_cell_we_do_not_have_fails() -> None:
    with pytest.raises(AssertionError, match="is not in ours"):
        check(CASE, _ours(), [*HAND, (151, 202401, 0, 0, 1, 1)])
