"""Stay coupling (≤ 4 h apart) on hand-made cases."""

from __future__ import annotations

import numpy as np
import pytest

from koes.synthetic.tally_hospital import couple_stays

H = 3600


@pytest.mark.parametrize(
    ("contacts", "stays"),
    [
        # (person, start hour, end hour) → stay number
        ([(0, 0, 2), (0, 6, 7)], [0, 0]),  # exactly 4 h gap couples
        ([(0, 0, 2), (0, 6.001, 7)], [0, 1]),  # just over 4 h does not
        ([(0, 0, 30), (0, 10, 12), (0, 33, 40)], [0, 0, 0]),  # nested, then 3 h after the long end
        ([(0, 22, 26), (0, 27, 50)], [0, 0]),  # across midnight (transfer)
        ([(0, 0, 2), (1, 3, 4)], [0, 1]),  # other person never couples
        ([(0, 0, 1), (1, 100, 101), (1, 103, 104)], [0, 1, 1]),
    ],
)
def test_coupling(contacts: list[tuple[int, float, float]], stays: list[int]) -> None:
    person = np.array([c[0] for c in contacts], dtype=np.int64)
    start = np.array([int(c[1] * H) for c in contacts], dtype=np.int64)
    end = np.array([int(c[2] * H) for c in contacts], dtype=np.int64)
    assert couple_stays(person, start, end).tolist() == stays


def test_no_contacts_no_stays() -> None:
    empty = np.zeros(0, dtype=np.int64)
    assert couple_stays(empty, empty, empty).tolist() == []
