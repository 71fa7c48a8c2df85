"""The outline of an area made of whole municipalities (a region), from the municipalities' shapes.

Regions change (Region Østdanmark from 2027), so a map cannot rely on a file of region shapes.
The shipped municipality boundaries share their vertices where two municipalities meet, so the
union of a group is its municipalities' edges less those used twice (an inner border); the edges
left are chained back into closed rings. No geometry library and no download: the union is
computed once per membership from the shipped geometry.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from itertools import pairwise

Point = tuple[float, float]
Ring = list[Point]
Edge = frozenset[Point]


def outer_edges(rings: Iterable[Sequence[Point]]) -> set[Edge]:
    """The edges of the rings that only one of them uses: the border of their union."""
    count: Counter[Edge] = Counter()
    for ring in rings:
        for a, b in pairwise(ring):
            if a != b:
                count[frozenset((a, b))] += 1
    return {edge for edge, n in count.items() if n == 1}


def chain(edges: set[Edge]) -> list[Ring]:
    """Closed rings through every edge once (where a border touches itself, a ring may pass the
    point twice: drawn as a line that is the same)."""
    around: dict[Point, list[Point]] = defaultdict(list)
    for edge in edges:
        a, b = tuple(edge)
        around[a].append(b)
        around[b].append(a)
    unused = set(edges)
    rings: list[Ring] = []
    for start in sorted(around):
        while any(frozenset((start, n)) in unused for n in around[start]):
            rings.append(_walk(start, around, unused))
    return rings


def _walk(start: Point, around: Mapping[Point, list[Point]], unused: set[Edge]) -> Ring:
    ring = [start]
    here = start
    while True:
        step = next((n for n in around[here] if frozenset((here, n)) in unused), None)
        if step is None:  # an open chain (not expected in shared-vertex data): stop where it ends
            return ring
        unused.discard(frozenset((here, step)))
        ring.append(step)
        here = step
        if here == start:
            return ring


def union_rings(rings_by_municipality: Mapping[int, Sequence[Sequence[Point]]], members: Iterable[int]) -> list[Ring]:
    """The rings outlining the union of ``members``' shapes."""
    return chain(outer_edges(r for code in members for r in rings_by_municipality.get(code, ())))
