"""Disclosure control of assembled blocks: the published cells don't depend on how bases were counted."""

from __future__ import annotations

from koes.domain.cells import TOTAL, CellKey
from koes.privacy.suppression import DEFAULT_RULE
from koes.query.assemble import Aggregate, Block
from koes.query.plan import Plan
from koes.query.request import Period, parse_request
from koes.semantic.loader import default_catalog
from koes.services.disclosure import CellStatus, Control, protect

T = TOTAL
PERSONS = [[3, 12, 40], [10, 35, 60], [25, 50, 70]]


def _with_margins(inner: list[list[int]]) -> dict[CellKey, int]:
    cells = {(r, c): inner[r][c] for r in range(3) for c in range(3)}
    cells.update({(r, T): sum(inner[r]) for r in range(3)})
    cells.update({(T, c): sum(row[c] for row in inner) for c in range(3)})
    cells[(T, T)] = sum(map(sum, inner))
    return cells


def _block(bases: dict[CellKey, int]) -> Block:
    events = {cell: 2 * persons for cell, persons in _with_margins(PERSONS).items()}
    keys = ((1,), (2,), (3,))
    aggregates = {cell: Aggregate(events[cell], bases[cell]) for cell in events}
    return Block(None, keys, keys, {"indlaeggelser": aggregates}, {})


def _plan() -> Plan:
    catalog = default_catalog()
    measure = catalog.measures["indlaeggelser"]
    request = parse_request({"perspective": "somatik", "measures": ["indlaeggelser"]}, catalog)
    return Plan(request, Period(202301, 202312), (), (), (measure,), (measure,), ())


def test_lower_bounds_above_the_threshold_protect_a_table_as_exact_counts_do() -> None:
    exact = _with_margins(PERSONS)
    # What row-bounded counting may give: exact below the threshold, at least 5 above it. Ranked by
    # these bases, (2, 0) and (2, 1) would look like the cheapest rectangle; ranked by the values
    # (as exact persons rank them too) it is (0, 1), (1, 0), (1, 1).
    bounded = {**exact, (1, 1): 5, (2, 0): 5, (2, 1): 5}
    control = Control(DEFAULT_RULE)
    by_exact = protect(_block(exact), _plan(), control, {}, exact=False)
    by_bounds = protect(_block(bounded), _plan(), control, {}, exact=False)
    assert by_bounds.hidden == by_exact.hidden
    secondary = {cell for cell, why in by_bounds.hidden["indlaeggelser"].items() if why == CellStatus.SECONDARY}
    assert secondary == {(0, 1), (1, 0), (1, 1)}
    assert by_bounds.values["indlaeggelser"][(0, 0)] is None and by_bounds.values["indlaeggelser"][(2, 2)] == 140
