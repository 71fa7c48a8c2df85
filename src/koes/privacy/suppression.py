"""Disclosure control for two-way count tables: primary and secondary cell suppression.

A result table is a grid of inner cells with a total row, a total column and a grand total. Each
cell carries a *disclosure base*: the exact number of distinct persons behind it. Cells whose base
is 1 .. threshold-1 are too small to publish (DESIGN.md §5 rule 3); they are *primary* suppressed
and shown as ``<threshold``. A base of 0 is published: an empty cell names nobody.

Hiding the small cells is not enough, because the table's own totals give them away: if a row has
one hidden cell, the reader subtracts the published cells from the row total and has it. So we
hide further (*secondary*) cells until no hidden cell can be recomputed exactly from the published
cells and the line relations (every line says "the member cells add up to the total cell").
Distinct-person counts are really sub-additive (a person can be in two cells), so treating the
relations as exact over-estimates what a reader can learn. That is the safe side.

Why bridges
    Picture a bipartite graph: one node per row line (inner rows and the total row) and one per
    column line (inner columns and the total column). Each cell is an edge joining its row node and
    its column node; the grand total joins the total row to the total column. Give margin cells a
    minus sign (and the grand total a plus sign, two minuses). Then every line relation reads "the
    signed edges at this node add up to zero", i.e. the relations are exactly the node equations of
    a flow, and the coefficient matrix is the graph's incidence matrix. After substituting the
    published values, the hidden values are fixed up to adding any circulation that runs on hidden
    edges only. A circulation is a sum of cycles, so a hidden cell can move (cannot be recovered)
    exactly when it lies on a cycle of hidden edges, and it is recovered exactly when it is a
    *bridge* of the graph of hidden edges. Bridges of a graph are found in linear time (Tarjan).

    Degenerate shapes fall out of the same picture. A line exists only if it has members: with no
    inner rows there are no column lines, with no inner columns no row lines. Nodes without an
    equation impose nothing, so they are merged into one free "ground" node whose equation is
    dropped. With no inner rows, for example, the only equation is the total row, all its cells are
    parallel edges between the total-row node and the ground, and a single hidden cell among them is
    a bridge: a line with exactly one hidden cell discloses it. With no inner rows and no inner
    columns the grand total is a loop on the ground node and is never recoverable (nothing relates
    it to anything).

How the extra cells are chosen
    While some hidden cell is a bridge (the first one in reading order), we close a cycle through
    it: find the cheapest path between its two ends that avoids the bridge itself, where hidden
    edges are free and a published edge costs by how much we lose by hiding it, then hide the
    published cells on that path. The cost is compared lexicographically, most important first:

    1. the grand total (only as a last resort),
    2. margin cells (totals are what users read first),
    3. cells with base 0 (only if no nonzero cell will do: a hidden zero adds little protection,
       since a reader knows counts are never negative, and is confusing to see hidden),
    4. the number of cells hidden (so one cell is preferred whenever one suffices),
    5. cells outside the bridge's own lines (prefer a cell in the same row or column),
    6. the sum of the weights hidden (smallest first: small cells carry the least information, so
       hiding them costs users the least); a cell's weight is its base unless the caller gives
       weights (the analysis weighs cells by their published value, see ``Grid.weight``),
    7. reading order of the cells, for a deterministic tie-break.

    When single inner nonzero cells close a cycle, this is "hide the smallest of them in the
    bridge's own row or column, else the smallest elsewhere"; when no single cell suffices (an
    isolated small cell in a full table needs the classic rectangle of four hidden cells), the whole
    cheapest path is hidden at once instead of growing it greedily, which often hides less. Hiding
    more cells only adds cycles, and the newly hidden cells lie on the cycle just closed, so every
    round removes at least one bridge and creates none: the number of rounds is at most the number
    of hidden cells that start out recoverable. A round is a bridge search plus one Dijkstra search
    over the table's cells (the graph has only rows + columns nodes), so a 100 x 50 table takes
    about a tenth of a second.

Why bridges are not enough: what a reader knows of a hidden cell
    A cycle of hidden cells lets them all move together, but only as far as the reader believes
    they can. The rule is public, so a reader knows that a ``<5`` cell holds 1 .. 4 persons, that
    a cell hidden as ``x`` holds 0 or at least 5, and that counts are never negative. A row whose
    only hidden cells are a 1 (shown ``<5``) and a 5 (``x``) adds up to 6: the 5 cannot go down,
    so the 1 cannot go up, and 1 is the only value left (issue 14 found 25 such cells in one
    table). So after the bridges, an *interval audit* proves that every hidden cell can take at
    least two values given the published cells, the line relations and those bounds, and hides
    more cells until it can.

    The audit is a flow problem on the same graph, now directed: inner cells and the grand total
    run from their row node to their column node, margin cells the other way, so every line
    relation is conservation of flow at its node. The true values are a feasible flow. A hidden
    cell can change exactly when it lies on a cycle of the *residual* graph (an arc in a cell's
    direction where it can grow, against it where it can shrink) that does not use the cell's own
    arcs: one breadth-first search per hidden cell. The reader's bounds are taken on the side of
    the truth, which makes the reader stronger than any real one: a cell hidden as ``x`` is
    [threshold, ∞) when its value is at least the threshold and exactly 0 when it is 0 (a hidden
    zero protects nothing). What the bounds are depends on the quantity (``Quantity``): a count of
    persons is 1 .. threshold-1 when small, a count of events at least 1 (one person may have many
    events), an amount (kroner, days, hours) only not negative. A line whose true values do not add
    up (a person counted in two cells of a row, the total once) gives the reader only an inequality;
    it gets a slack edge to the free ground node, in the direction of the truth.

    An exposed cell gets the cheapest directed path that closes a residual cycle through it, by
    the cost order above, over published nonzero cells (each offers the arcs it would have once
    hidden); hiding them makes the cell and every cell on the path movable along that cycle, and
    hiding only adds arcs, so the number of exposed cells drops every time.

The result is deterministic, and idempotent: suppressing again with the hidden cells forced hidden
(``already_hidden``) finds no bridges and no exposed cells, and hides nothing more.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType
from typing import Final

from koes.domain.cells import TOTAL, CellKey

__all__ = [
    "DEFAULT_RULE",
    "DisclosureRule",
    "Grid",
    "Quantity",
    "Suppression",
    "exposed_cells",
    "round_count",
    "suppress",
]

Value = int | float | Decimal


class Quantity(StrEnum):
    """What a grid's values count, and so what a reader knows of a hidden value."""

    PERSONS = "persons"  # distinct persons: a small (primary) cell holds 1 .. threshold-1
    EVENTS = "events"  # events (contacts, admissions): at least one behind a small cell, no upper bound
    AMOUNT = "amount"  # kroner, days, hours: not negative (when no value of the table is)


@dataclass(frozen=True)
class DisclosureRule:
    """Which counts may be published, and how they are rounded.

    Bases 1 .. threshold-1 are primary suppressed; 0 and bases >= threshold are published. With
    ``rounding`` set, published counts are rounded to a multiple of it (see ``round_count``).
    """

    threshold: int = 5
    rounding: int | None = None
    name: str = "koes-5"
    version: str = "1"

    def __post_init__(self) -> None:
        if isinstance(self.threshold, bool) or not isinstance(self.threshold, int) or self.threshold < 1:
            raise ValueError(f"disclosure threshold must be an integer >= 1, got {self.threshold!r}")
        if self.rounding is not None and (
            isinstance(self.rounding, bool) or not isinstance(self.rounding, int) or self.rounding < 1
        ):
            raise ValueError(f"rounding must be None or an integer >= 1, got {self.rounding!r}")

    def describe(self, language: str = "da") -> str:
        """One human sentence describing the rule, in Danish (``"da"``) or English (``"en"``)."""
        t = self.threshold
        rounds = self.rounding is not None and self.rounding > 1
        if language == "da":
            if t == 1:
                first = "Alle antal personer vises (ingen primær diskretionering)"
            elif t == 2:
                first = "Antal personer på 1 vises som <2"
            else:
                first = f"Antal personer 1–{t - 1} vises som <{t}"
            parts = [
                first,
                "sekundær diskretionering skjuler yderligere celler, så ingen skjult værdi kan regnes "
                "tilbage fra række- og kolonnetotaler",
            ]
            if rounds:
                parts.append(f"viste antal afrundes til nærmeste multiplum af {self.rounding}")
            return "; ".join(parts) + f" (regel {self.name}, version {self.version})."
        if language == "en":
            if t == 1:
                first = "All counts of persons are shown (no primary suppression)"
            elif t == 2:
                first = "Counts of 1 person are shown as <2"
            else:
                first = f"Counts of 1–{t - 1} persons are shown as <{t}"
            parts = [
                first,
                "secondary suppression hides further cells so that no hidden value can be recovered "
                "from row and column totals",
            ]
            if rounds:
                parts.append(f"published counts are rounded to the nearest multiple of {self.rounding}")
            return "; ".join(parts) + f" (rule {self.name}, version {self.version})."
        raise ValueError(f"unsupported language {language!r}; use 'da' or 'en'")


DEFAULT_RULE: Final = DisclosureRule()


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class Grid:
    """A two-way table with margins, described by the disclosure base of each cell.

    Inner rows are ``0 .. n_rows-1`` and inner columns ``0 .. n_cols-1``; ``TOTAL`` indexes the
    total row and the total column. ``base`` maps cells to their number of distinct persons; a
    missing cell has base 0. The mapping is copied (read-only) on construction.

    ``weight`` ranks the published cells when further cells must be hidden (smallest first); by
    default it is the base. A caller whose bases are exact only below the threshold gives weights
    that don't depend on how the bases were counted, so the same table is always protected the same
    way.

    ``value`` holds the true values the table publishes (a missing cell is 0) and ``quantity`` what
    they count: the interval audit proves from them that no hidden value is fixed by the published
    ones. Without values the bases are the values (a table of persons).
    """

    n_rows: int
    n_cols: int
    base: Mapping[CellKey, int] = field(hash=False)
    weight: Mapping[CellKey, int] | None = field(default=None, hash=False)
    value: Mapping[CellKey, Value] | None = field(default=None, hash=False)
    quantity: Quantity = Quantity.PERSONS

    def __post_init__(self) -> None:
        for label, size in (("n_rows", self.n_rows), ("n_cols", self.n_cols)):
            if not _is_int(size) or size < 0:
                raise ValueError(f"{label} must be an integer >= 0, got {size!r}")
        base = dict(self.base)
        valid = set(self.cells())
        for key in base.keys() - valid:  # only the bad keys pay for the detailed check
            self.check_key(key, "base")
        for key, value in base.items():
            if not _is_int(value) or value < 0:
                raise ValueError(f"base of cell {key!r} must be an integer >= 0, got {value!r}")
        object.__setattr__(self, "base", MappingProxyType(base))
        if self.weight is not None:
            weight = dict(self.weight)
            for key in weight.keys() - valid:
                self.check_key(key, "weight")
            for key, value in weight.items():
                if not _is_int(value) or value < 0:
                    raise ValueError(f"weight of cell {key!r} must be an integer >= 0, got {value!r}")
            object.__setattr__(self, "weight", MappingProxyType(weight))
        if self.value is not None:
            values = dict(self.value)
            for key in values.keys() - valid:
                self.check_key(key, "value")
            for key, number in values.items():
                if isinstance(number, bool) or not isinstance(number, int | float | Decimal):
                    raise ValueError(f"value of cell {key!r} must be a number, got {number!r}")
                if not math.isfinite(number):
                    raise ValueError(f"value of cell {key!r} must be finite, got {number!r}")
            object.__setattr__(self, "value", MappingProxyType(values))

    def value_of(self, key: CellKey) -> Value:
        """The true value of ``key``: its value, or its base without values (0 when absent)."""
        return (self.base if self.value is None else self.value).get(key, 0)

    def weight_of(self, key: CellKey) -> int:
        """How much hiding ``key`` costs the reader: its weight, or its base without weights."""
        return (self.base if self.weight is None else self.weight).get(key, 0)

    def check_key(self, key: object, what: str = "cell") -> None:
        """Raise ValueError (naming the key) unless ``key`` is a cell of this grid."""
        if not (isinstance(key, tuple) and len(key) == 2 and all(_is_int(i) for i in key)):
            raise ValueError(f"{what}: cell key {key!r} is not a pair of integers")
        r, c = key
        if not (r == TOTAL or 0 <= r < self.n_rows) or not (c == TOTAL or 0 <= c < self.n_cols):
            raise ValueError(
                f"{what}: cell {key!r} is outside the {self.n_rows} x {self.n_cols} grid "
                f"(indices run 0..n-1, or TOTAL={TOTAL} for the margins)"
            )

    def base_of(self, key: CellKey) -> int:
        """The disclosure base of ``key`` (0 when absent)."""
        return self.base.get(key, 0)

    def row_keys(self) -> tuple[int, ...]:
        """Row indices in reading order: the inner rows, then ``TOTAL``."""
        return (*range(self.n_rows), TOTAL)

    def col_keys(self) -> tuple[int, ...]:
        """Column indices in reading order: the inner columns, then ``TOTAL``."""
        return (*range(self.n_cols), TOTAL)

    def cells(self) -> tuple[CellKey, ...]:
        """All cells including margins, in reading order of the printed table.

        Row by row (inner rows first, the total row last), and within a row the inner columns first
        and the total column last; so the grand total ``(TOTAL, TOTAL)`` is the last cell.
        """
        return tuple((r, c) for r in self.row_keys() for c in self.col_keys())

    def position(self, key: CellKey) -> int:
        """Index of ``key`` in ``cells()``: the deterministic tie-break order of the engine."""
        r, c = key
        row = self.n_rows if r == TOTAL else r
        col = self.n_cols if c == TOTAL else c
        return row * (self.n_cols + 1) + col

    def lines(self) -> tuple[tuple[CellKey, ...], ...]:
        """Every linear relation of the table.

        Convention: each line is ``(member_1, ..., member_k, total)``; the *last* cell is the total
        and the others add up to it. Row lines come first (inner rows, then the total row), then
        column lines (inner columns, then the total column). A row line exists only when the table
        has inner columns (``n_cols >= 1``) and a column line only when it has inner rows; so a
        table with ``n_rows == 0`` has exactly one line (the total row), and a single grand-total
        cell has none.
        """
        out: list[tuple[CellKey, ...]] = []
        if self.n_cols >= 1:
            out.extend((*((r, c) for c in range(self.n_cols)), (r, TOTAL)) for r in self.row_keys())
        if self.n_rows >= 1:
            out.extend((*((r, c) for r in range(self.n_rows)), (TOTAL, c)) for c in self.col_keys())
        return tuple(out)


@dataclass(frozen=True)
class Suppression:
    """The outcome of disclosure control: which cells are hidden, and why."""

    primary: frozenset[CellKey]
    """Cells with a base 1 .. threshold-1, plus any cells the caller forced hidden."""
    secondary: frozenset[CellKey]
    """Further cells hidden so that no hidden cell can be recomputed from the totals."""
    rule: DisclosureRule

    @property
    def hidden(self) -> frozenset[CellKey]:
        return self.primary | self.secondary

    def is_hidden(self, key: CellKey) -> bool:
        return key in self.primary or key in self.secondary


def round_count(value: int, rule: DisclosureRule) -> int:
    """Round a published count to the nearest multiple of ``rule.rounding``; ties round up.

    Identity when ``rule.rounding`` is None (or 1). A nonzero value *can* round to 0 (2 with
    rounding 5); with the default threshold such small values are suppressed anyway, and the
    rounding is applied as stated rather than silently bumped, so totals stay unbiased.
    """
    step = rule.rounding
    if step is None or step == 1:
        return value
    return (2 * value + step) // (2 * step) * step


class _Network:
    """The table as a graph: nodes are lines (plus one free ground node), edges are cells."""

    def __init__(self, grid: Grid) -> None:
        n, m = grid.n_rows, grid.n_cols
        self.grid = grid
        self.ground = n + m + 2
        self.n_nodes = n + m + 3
        cells = grid.cells()
        self.ends: dict[CellKey, tuple[int, int]] = {}
        self.incident: list[list[tuple[int, CellKey]]] = [[] for _ in range(self.n_nodes)]
        for key in cells:
            r, c = key
            row_node = (n if r == TOTAL else r) if m >= 1 else self.ground
            col_node = n + 1 + (m if c == TOTAL else c) if n >= 1 else self.ground
            self.ends[key] = (row_node, col_node)
            if row_node != col_node:
                self.incident[row_node].append((col_node, key))
                self.incident[col_node].append((row_node, key))

        # Integer encoding of the lexicographic cost (see the module docstring): each field gets a
        # unit larger than anything the less important fields can sum to along a simple path.
        n_cells = len(cells)
        unit_pos = 1
        unit_weight = unit_pos * n_cells * n_cells
        base = grid.base
        unit_off = unit_weight * (sum((base if grid.weight is None else grid.weight).values()) + 1)
        unit_count = unit_off * (n_cells + 1)
        unit_zero = unit_count * (n_cells + 1)
        unit_margin = unit_zero * (n_cells + 1)
        unit_grand = unit_margin * (n_cells + 1)
        self.unit_off = unit_off
        self.cost: dict[CellKey, int] = {}
        for position, key in enumerate(cells):  # cells() is in reading order: its index is the position
            r, c = key
            b = base.get(key, 0)
            self.cost[key] = (
                unit_grand * (r == TOTAL and c == TOTAL)
                + unit_margin * (r == TOTAL or c == TOTAL)
                + unit_zero * (b == 0)
                + unit_count
                + unit_weight * grid.weight_of(key)
                + unit_pos * position
            )

    def bridges(self, hidden: Collection[CellKey]) -> list[CellKey]:
        """The hidden cells that are bridges of the hidden-cell graph (i.e. recoverable)."""
        adj: list[list[tuple[int, CellKey]]] = [[] for _ in range(self.n_nodes)]
        for key in sorted(hidden, key=self.grid.position):
            a, b = self.ends[key]
            if a != b:
                adj[a].append((b, key))
                adj[b].append((a, key))
        disc = [-1] * self.n_nodes
        low = [0] * self.n_nodes
        timer = 0
        found: list[CellKey] = []
        for root in range(self.n_nodes):
            if disc[root] >= 0 or not adj[root]:
                continue
            disc[root] = low[root] = timer
            timer += 1
            stack: list[tuple[int, CellKey | None, Iterator[tuple[int, CellKey]]]] = [(root, None, iter(adj[root]))]
            while stack:
                node, via, todo = stack[-1]
                descended = False
                for other, key in todo:
                    if key == via:
                        continue
                    if disc[other] < 0:
                        disc[other] = low[other] = timer
                        timer += 1
                        stack.append((other, key, iter(adj[other])))
                        descended = True
                        break
                    low[node] = min(low[node], disc[other])
                if descended:
                    continue
                stack.pop()
                if stack and via is not None:
                    parent = stack[-1][0]
                    low[parent] = min(low[parent], low[node])
                    if low[node] > disc[parent]:
                        found.append(via)
        return found

    def cheapest_cover(
        self, bridge: CellKey, hidden: Collection[CellKey], components: _Components | None = None
    ) -> list[CellKey]:
        """Published cells on the cheapest path between the bridge's ends that avoids the bridge.

        Hiding them closes a cycle through ``bridge``. Dijkstra over the (rows + columns) nodes.
        ``components`` indexes ``hidden`` once for a pass over many bridges (``suppress``); without it
        the hidden cells are indexed for this bridge alone.
        """
        hidden = hidden if isinstance(hidden, set | frozenset) else set(hidden)
        if components is None:
            components = _Components(self, hidden, (bridge,))
        start, goal = self.ends[bridge]
        own_lines = {start, goal} - {self.ground}
        label = components.without(bridge)
        if label[start] == label[goal]:  # already on a hidden cycle: the cheapest path is free
            return []
        single = self._single_inner_cover(hidden, own_lines, label, label[start], label[goal])
        if single is not None:
            return [single]
        # A hidden zero closes the cycle only for a reader who ignores that hidden cells are 0 or at
        # least the threshold; to one who knows it, it is as good as published (the interval audit).
        path = self._cheapest_path(bridge, hidden, own_lines, avoid_zero=True)
        if path is None:
            path = self._cheapest_path(bridge, hidden, own_lines, avoid_zero=False)
        if path is None:  # pragma: no cover - the full table graph has no bridges
            raise RuntimeError(f"no way to protect cell {bridge!r}")
        return [key for key in path if key not in hidden]

    def _cheapest_path(
        self, bridge: CellKey, hidden: Collection[CellKey], own_lines: set[int], *, avoid_zero: bool
    ) -> list[CellKey] | None:
        """The cells on the cheapest path between the bridge's ends without it (Dijkstra), or None."""
        start, goal = self.ends[bridge]
        dist: list[int | None] = [None] * self.n_nodes
        came: list[CellKey | None] = [None] * self.n_nodes
        done = [False] * self.n_nodes
        dist[start] = 0
        heap: list[tuple[int, int]] = [(0, start)]
        cost, unit_off, value_of = self.cost, self.unit_off, self.grid.value_of
        while heap:
            d, node = heapq.heappop(heap)
            if done[node]:
                continue
            done[node] = True
            if node == goal:
                break
            # One end of every edge here is `node`, so "in the bridge's own lines" is decided per node.
            near = node in own_lines
            for other, key in self.incident[node]:
                if key == bridge or done[other]:
                    continue
                if key in hidden:
                    step = 0
                elif avoid_zero and value_of(key) == 0:
                    continue
                else:
                    step = cost[key] + (0 if near or other in own_lines else unit_off)
                best = dist[other]
                if best is None or d + step < best:
                    dist[other] = d + step
                    came[other] = key
                    heapq.heappush(heap, (d + step, other))
        if not done[goal]:
            return None
        path: list[CellKey] = []
        node = goal
        while node != start:
            edge = came[node]
            assert edge is not None
            path.append(edge)
            a, b = self.ends[edge]
            node = a if b == node else b
        return path

    def _nonzero(self, key: CellKey) -> bool:
        return self.grid.base_of(key) != 0 and self.grid.value_of(key) != 0

    def _single_inner_cover(
        self, hidden: Collection[CellKey], own_lines: set[int], label: list[int], side_a: int, side_b: int
    ) -> CellKey | None:
        """The cheapest *single* published inner cell with base >= 1 that closes a cycle, if any.

        Such a path beats every other (by the cost order: no margin, no zero, one cell), and costs
        are unique, so it is exactly what the full search would return, found without it: a published
        inner cell between the bridge's two components (``label``: the components of the hidden cells
        other than the bridge). Every such cell has one end on each side, so the smaller side's cells
        are enough to look at."""
        members_a = [n for n in range(self.n_nodes) if label[n] == side_a]
        members_b = [n for n in range(self.n_nodes) if label[n] == side_b]
        members, far = (members_a, side_b) if len(members_a) <= len(members_b) else (members_b, side_a)
        best: tuple[int, CellKey] | None = None
        for node in members:
            near = node in own_lines
            for other, key in self.incident[node]:
                if label[other] != far or key in hidden or TOTAL in key or not self._nonzero(key):
                    continue
                cost = self.cost[key] + (0 if near or other in own_lines else self.unit_off)
                if best is None or cost < best[0]:
                    best = (cost, key)
        return None if best is None else best[1]


class _Components:
    """The components of the hidden-cell graph, indexed once for a pass over a set of bridges.

    ``suppress`` covers every bridge of one bridge search in turn, and each cover needs the components
    of the hidden cells *without* its bridge. Regrouping all hidden cells for every bridge is quadratic
    in the hidden cells; instead the hidden cells other than the pass's bridges are joined once, and
    each bridge's components join only the labels of those groups with the other bridges and the cells
    hidden since (``add``). The partition is the same, so the result is too.
    """

    def __init__(self, network: _Network, hidden: Collection[CellKey], bridges: Collection[CellKey]) -> None:
        self.network = network
        self.bridges = list(bridges)
        skip = set(self.bridges)
        parent = list(range(network.n_nodes))
        for key in hidden:
            if key not in skip:
                a, b = network.ends[key]
                parent[_root(parent, a)] = _root(parent, b)
        self.groups = [_root(parent, n) for n in range(network.n_nodes)]
        self.added: list[CellKey] = []

    def add(self, keys: Collection[CellKey]) -> None:
        """Cells hidden since the index was built."""
        self.added.extend(keys)

    def without(self, bridge: CellKey) -> list[int]:
        """A component label per node for the hidden cells other than ``bridge``."""
        parent = list(self.groups)
        ends = self.network.ends
        for key in (*self.bridges, *self.added):
            if key != bridge:
                a, b = ends[key]
                parent[_root(parent, a)] = _root(parent, b)
        return [_root(parent, n) for n in range(len(parent))]


def _root(parent: list[int], x: int) -> int:
    """Union-find root of ``x``, halving the path on the way."""
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


Bounds = tuple[float | None, float | None]  # (lowest, highest) a reader believes possible; None: unbounded


class _Audit:
    """The interval audit (module docstring): which hidden cells the published cells and bounds fix."""

    def __init__(self, network: _Network, rule: DisclosureRule) -> None:
        grid = network.grid
        self.network, self.grid, self.threshold = network, grid, rule.threshold
        # Small cells: a reader knows they are 1 .. threshold-1. Any other hidden cell (a secondary one,
        # or one the caller forced hidden) is to the reader 0 or at least the threshold.
        self.primary = frozenset(key for key, base in grid.base.items() if 1 <= base < rule.threshold)
        self.value = {key: float(grid.value_of(key)) for key in grid.cells()}
        self.signed = any(v < 0 for v in self.value.values())
        self.ends: dict[CellKey, tuple[int, int]] = {key: self._direction(key) for key in grid.cells()}
        self.adjacent: list[list[tuple[int, CellKey | None]]] = [[] for _ in range(network.n_nodes)]
        self.incoming: list[list[tuple[int, CellKey | None]]] = [[] for _ in range(network.n_nodes)]  # reversed
        self.hidden: set[CellKey] = set()
        self.movable: set[CellKey] = set()  # hidden cells already shown to lie on a residual cycle
        for node in self._unbalanced():  # a line that does not add up: free slack to the ground
            for a, b in ((node, network.ground), (network.ground, node)):
                self.adjacent[a].append((b, None))
                self.incoming[b].append((a, None))

    def _direction(self, key: CellKey) -> tuple[int, int]:
        """(tail, head): inner cells and the grand total run row → column, margins column → row."""
        row_node, col_node = self.network.ends[key]
        r, c = key
        return (col_node, row_node) if (r == TOTAL) != (c == TOTAL) else (row_node, col_node)

    def _unbalanced(self) -> list[int]:
        excess = [0.0] * self.network.n_nodes
        scale = [0.0] * self.network.n_nodes
        for key, (tail, head) in self.ends.items():
            value = self.value[key]
            excess[tail] += value
            excess[head] -= value
            scale[tail] = max(scale[tail], abs(value))
            scale[head] = max(scale[head], abs(value))
        ground = self.network.ground
        return [n for n in range(self.network.n_nodes) if n != ground and abs(excess[n]) > 1e-9 * max(1.0, scale[n])]

    def bounds(self, key: CellKey, hidden_as_primary: bool) -> Bounds:
        """What a reader believes of a hidden cell: by its mark and the quantity, on the side of the truth."""
        value, t = self.value[key], float(self.threshold)
        quantity = self.grid.quantity
        if quantity is Quantity.AMOUNT:
            if value == 0 and not hidden_as_primary:
                return (0.0, 0.0)
            return (None if self.signed else min(0.0, value), None)
        if not hidden_as_primary:
            return (0.0, 0.0) if value == 0 else (min(t, value), None)
        if quantity is Quantity.PERSONS:
            return (min(1.0, value), max(t - 1, value))
        return (min(1.0, value), None)

    def _arcs(self, key: CellKey, bounds: Bounds) -> list[tuple[int, int]]:
        """A cell's residual arcs at its true value: along it where it can grow, against it where it can shrink."""
        tail, head = self.ends[key]
        if tail == head:
            return []
        value, (low, high) = self.value[key], bounds
        arcs = []
        if high is None or value < high:
            arcs.append((tail, head))
        if low is None or value > low:
            arcs.append((head, tail))
        return arcs

    def hide(self, keys: Collection[CellKey]) -> None:
        for key in sorted(set(keys) - self.hidden, key=self.grid.position):
            self.hidden.add(key)
            for a, b in self._arcs(key, self.bounds(key, key in self.primary)):
                self.adjacent[a].append((b, key))
                self.incoming[b].append((a, key))

    def exposed(self, key: CellKey) -> bool:
        """True when the published cells and the bounds leave ``key`` one value: no residual cycle through it."""
        if key in self.movable:
            return False
        tail, head = self.ends[key]
        if tail == head:  # a loop on the ground node: nothing relates it to anything
            return False
        for start, goal in self._arcs(key, self.bounds(key, key in self.primary)):
            path = self._path(goal, start, key)  # back from the arc's end to its start, without the cell
            if path is not None:
                self.movable.update(path)
                self.movable.add(key)
                return False
        return True

    def _path(self, start: int, goal: int, skip: CellKey) -> list[CellKey] | None:
        """The hidden cells on a residual path start → goal that avoids ``skip``, or None.

        Breadth first from both ends at once, a level of the smaller side at a time: a reverse arc
        list (``incoming``) lets the goal's side search backwards. ``exposed`` needs only whether a
        path exists (any path found is a true cycle), and the two searches meet after far fewer steps
        than one search that floods the table's lines."""
        if start == goal:
            return []
        ahead: dict[int, tuple[int, CellKey | None]] = {start: (start, None)}
        behind: dict[int, tuple[int, CellKey | None]] = {goal: (goal, None)}
        front, back = [start], [goal]
        while front and back:
            forward = len(front) <= len(back)
            seen, other_seen = (ahead, behind) if forward else (behind, ahead)
            arcs = self.adjacent if forward else self.incoming
            level: list[int] = []
            for node in front if forward else back:
                for other, via in arcs[node]:
                    if via == skip or other in seen:
                        continue
                    seen[other] = (node, via)
                    if other in other_seen:
                        return self._joined(ahead, behind, other)
                    level.append(other)
            if forward:
                front = level
            else:
                back = level
        return None

    @staticmethod
    def _joined(
        ahead: dict[int, tuple[int, CellKey | None]], behind: dict[int, tuple[int, CellKey | None]], meet: int
    ) -> list[CellKey]:
        """The cells on the path through ``meet``: back along ``ahead`` to the start, on along ``behind``."""
        out: list[CellKey] = []
        for trail in (ahead, behind):
            node = meet
            while True:
                node_before, via = trail[node]
                if via is None and node_before == node:
                    break
                if via is not None:
                    out.append(via)
                node = node_before
        return out

    def cover(self, key: CellKey) -> list[CellKey]:
        """Published cells whose hiding closes a residual cycle through ``key`` (cheapest first); [] if none can."""
        best: tuple[int, list[CellKey]] | None = None
        for start, goal in self._arcs(key, self.bounds(key, key in self.primary)):
            found = self._cheapest(goal, start, key)
            if found is not None and (best is None or found[0] < best[0]):
                best = found
        return [] if best is None else best[1]

    def _cheapest(self, start: int, goal: int, skip: CellKey) -> tuple[int, list[CellKey]] | None:
        """Dijkstra from start to goal: residual arcs of hidden cells and slack are free, a published cell
        costs as in ``_Network.cost`` and offers the arcs it would have once hidden."""
        network = self.network
        own_lines = set(self.ends[skip]) - {network.ground}
        offered: list[list[tuple[int, CellKey, int]]] = [[] for _ in range(network.n_nodes)]
        for cell in self.grid.cells():
            if cell in self.hidden or cell == skip or self.value[cell] == 0:
                continue
            tail, head = self.ends[cell]
            off = 0 if tail in own_lines or head in own_lines else network.unit_off
            for a, b in self._arcs(cell, self.bounds(cell, False)):
                offered[a].append((b, cell, network.cost[cell] + off))
        dist: dict[int, int] = {start: 0}
        came: dict[int, tuple[int, CellKey | None]] = {}
        heap = [(0, start)]
        done: set[int] = set()
        while heap:
            d, node = heapq.heappop(heap)
            if node in done:
                continue
            done.add(node)
            if node == goal:
                break
            steps = [(b, via, 0) for b, via in self.adjacent[node] if via != skip]
            for b, via, cost in steps + offered[node]:
                if b not in done and (b not in dist or d + cost < dist[b]):
                    dist[b] = d + cost
                    came[b] = (node, via)
                    heapq.heappush(heap, (d + cost, b))
        if goal not in done:
            return None
        path: list[CellKey] = []
        node = goal
        while node != start:
            node, via = came[node]
            if via is not None and via not in self.hidden:
                path.append(via)
        return dist[goal], path


def exposed_cells(grid: Grid, result: Suppression) -> list[CellKey]:
    """The hidden cells of ``result`` whose value the published cells, the line relations and what a
    reader knows of hidden cells (the module docstring) pin to one value: empty for every result of
    ``suppress``."""
    audit = _Audit(_Network(grid), result.rule)
    audit.hide(result.hidden)
    return [key for key in sorted(result.hidden, key=grid.position) if audit.exposed(key)]


def suppress(
    grid: Grid,
    rule: DisclosureRule = DEFAULT_RULE,
    *,
    already_hidden: Collection[CellKey] = (),
) -> Suppression:
    """Primary and secondary suppression of ``grid`` under ``rule``.

    Primary: every cell with base 1 .. threshold-1, plus ``already_hidden`` (cells the caller
    forces hidden; they are reported as primary). Secondary: further cells, chosen as described in
    the module docstring, until no hidden cell can be recomputed from the published cells and the
    line relations.
    """
    for key in already_hidden:
        grid.check_key(key, "already_hidden")
    primary = {key for key, base in grid.base.items() if 1 <= base < rule.threshold}
    primary.update(already_hidden)
    hidden = set(primary)
    if not hidden:  # nothing to protect: no graph needed
        return Suppression(primary=frozenset(), secondary=frozenset(), rule=rule)
    network = _Network(grid)
    audit = _Audit(network, rule)
    hopeless: set[CellKey] = set()  # exposed, and no published cell can help (all zero around it)
    while True:
        while bridges := network.bridges(hidden):
            # Covering a bridge only adds hidden cells on a cycle through it, so the other bridges stay
            # bridges or are already covered (their cheapest path is then free and adds nothing): taking
            # them all in reading order in one pass gives exactly the one-at-a-time result.
            components = _Components(network, hidden, bridges)
            for bridge in sorted(bridges, key=grid.position):
                cover = network.cheapest_cover(bridge, hidden, components)
                hidden.update(cover)
                components.add(cover)
        audit.hide(hidden)
        grown = False
        for key in sorted(hidden, key=grid.position):
            if key in hopeless or not audit.exposed(key):
                continue
            cover = audit.cover(key)
            if not cover:
                hopeless.add(key)
            audit.hide(cover)
            hidden.update(cover)
            grown = grown or bool(cover)
        if not grown:
            return Suppression(primary=frozenset(primary), secondary=frozenset(hidden - primary), rule=rule)
