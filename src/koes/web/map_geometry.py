"""The map's geometry, built once per process: the 98 municipalities and the regions as SVG path data.

The shipped boundaries (``refdata``) are projected (an equirectangular projection at 56° N),
Bornholm is moved into an inset, every ring is simplified below what a screen shows and rounded,
and the result is formatted as path strings in the map's viewBox pixels. Region outlines for any
grouping of municipalities (the regions of 2027, say) are the union of their members' rings
(:func:`region_paths`). :mod:`koes.web.maps` draws the map from this.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise
from typing import Any

from koes.refdata import data_dir
from koes.web.outlines import union_rings

BORNHOLM = 400
WIDTH = 600.0
MARGIN = 10.0
INSET_PAD = 6.0
TOLERANCE = 0.4  # px; below what a screen shows at the map's natural width
MIN_RING_AREA = 0.5  # px²; islands smaller than this are invisible
INSET_MIN_LON = 14.0  # Bornholm (and nothing else Danish) lies east of this
COS_LAT = math.cos(math.radians(56.0))

Point = tuple[float, float]
Ring = list[Point]


@dataclass(frozen=True)
class Shape:
    code: int
    name: str
    path: str  # SVG path data in viewBox pixels


@dataclass(frozen=True)
class Geometry:
    areas: tuple[Shape, ...]
    regions: tuple[str, ...]
    inset: tuple[float, float, float, float]  # x, y, width, height of Bornholm's frame
    height: float  # of the map, without the legend


@lru_cache(maxsize=1)
def geometry() -> Geometry:
    """Project, place Bornholm in its inset, simplify and format every outline."""
    municipalities = _features("municipalities")
    regions = _features("regions")
    fit = _fit()
    areas = tuple(
        Shape(int(f["properties"]["code"]), str(f["properties"]["name"]), _path(fit.rings(f["geometry"])))
        for f in municipalities
    )
    return Geometry(
        areas=tuple(sorted(areas, key=lambda a: a.code)),
        regions=tuple(_path(fit.rings(f["geometry"])) for f in regions),
        inset=fit.inset,
        height=fit.height,
    )


@lru_cache(maxsize=1)
def _fit() -> _Fit:
    return _Fit.to([r for f in _features("municipalities") for r in _rings(f["geometry"])])


@lru_cache(maxsize=1)
def _municipality_rings() -> dict[int, list[Ring]]:
    """Each municipality's rings in lon/lat, as shipped (unsimplified: neighbours share vertices)."""
    return {int(f["properties"]["code"]): _rings(f["geometry"]) for f in _features("municipalities")}


def region_paths(members: Mapping[int, Iterable[int]]) -> tuple[str, ...]:
    """The outlines of regions given as their municipalities (region code → kommunekoder), each
    the union of its municipalities' shapes: Region Østdanmark from 2027 is drawn as one."""
    key = tuple(sorted((code, tuple(sorted(kommuner))) for code, kommuner in members.items()))
    return _region_paths(key)


@lru_cache(maxsize=8)
def _region_paths(members: tuple[tuple[int, tuple[int, ...]], ...]) -> tuple[str, ...]:
    fit, rings = _fit(), _municipality_rings()
    paths = []
    for _, kommuner in members:
        outline = union_rings(rings, kommuner)
        if outline:
            paths.append(_path(_simplify_all([fit.ring(r) for r in outline])))
    return tuple(paths)


def _features(name: str) -> list[dict[str, Any]]:
    with (data_dir() / f"{name}.geojson").open(encoding="utf-8") as f:
        features: list[dict[str, Any]] = json.load(f)["features"]
    return features


def _rings(geom: Mapping[str, Any]) -> list[Ring]:
    """Every ring (outer and holes) of a Polygon or MultiPolygon, as (lon, lat)."""
    polygons = geom["coordinates"] if geom["type"] == "MultiPolygon" else [geom["coordinates"]]
    return [[(float(p[0]), float(p[1])) for p in ring] for polygon in polygons for ring in polygon]


def _in_inset(ring: Ring) -> bool:
    return min(lon for lon, _ in ring) > INSET_MIN_LON


def _raw(lon: float, lat: float) -> Point:
    """Equirectangular, with longitude shortened as at 56° N so Denmark keeps its shape."""
    return lon * COS_LAT, -lat


def _bbox(points: Iterable[Point]) -> tuple[float, float, float, float]:
    xs, ys = zip(*points, strict=True)
    return min(xs), min(ys), max(xs), max(ys)


@dataclass(frozen=True)
class _Fit:
    """Scale and offsets mapping lon/lat to viewBox pixels, with Bornholm moved to the inset."""

    scale: float
    origin: Point  # raw coordinates of the main map's top-left corner
    shift: Point  # extra pixels for the inset rings
    inset: tuple[float, float, float, float]
    height: float

    @classmethod
    def to(cls, rings: Sequence[Ring]) -> _Fit:
        x0, y0, x1, y1 = _bbox(_raw(*p) for r in rings if not _in_inset(r) for p in r)
        scale = (WIDTH - 2 * MARGIN) / (x1 - x0)
        bx0, by0, bx1, by1 = _bbox(_raw(*p) for r in rings if _in_inset(r) for p in r)
        w, h = (bx1 - bx0) * scale + 2 * INSET_PAD, (by1 - by0) * scale + 2 * INSET_PAD
        frame = (WIDTH - MARGIN - w, MARGIN, w, h)
        # Where Bornholm would land unmoved, and how far to move it into the frame.
        at = (MARGIN + (bx0 - x0) * scale, MARGIN + (by0 - y0) * scale)
        shift = (frame[0] + INSET_PAD - at[0], frame[1] + INSET_PAD - at[1])
        return cls(scale, (x0, y0), shift, frame, (y1 - y0) * scale + 2 * MARGIN)

    def point(self, lon: float, lat: float, inset: bool) -> Point:
        x, y = _raw(lon, lat)
        px = MARGIN + (x - self.origin[0]) * self.scale
        py = MARGIN + (y - self.origin[1]) * self.scale
        return (px + self.shift[0], py + self.shift[1]) if inset else (px, py)

    def rings(self, geom: Mapping[str, Any]) -> list[Ring]:
        return _simplify_all([self.ring(r) for r in _rings(geom)])

    def ring(self, ring: Ring) -> Ring:
        inset = _in_inset(ring)
        return [self.point(lon, lat, inset) for lon, lat in ring]


def _simplify_all(rings: Sequence[Ring]) -> list[Ring]:
    """Simplified rings; specks are dropped, but never every ring of a shape."""
    kept = [s for s in (_simplify(r, TOLERANCE) for r in rings) if len(s) >= 4 and abs(_area(s)) >= MIN_RING_AREA]
    if kept:
        return kept
    largest = max(rings, key=lambda r: abs(_area(r)))
    return [largest]


def _simplify(ring: Ring, tolerance: float) -> Ring:
    """Douglas–Peucker; the ring's first and last points are always kept."""
    keep = [False] * len(ring)
    keep[0] = keep[-1] = True
    stack = [(0, len(ring) - 1)]
    while stack:
        first, last = stack.pop()
        index, distance = _farthest(ring, first, last)
        if distance > tolerance:
            keep[index] = True
            stack += [(first, index), (index, last)]
    return _dedupe([_round(p) for p, k in zip(ring, keep, strict=True) if k])


def _farthest(ring: Ring, first: int, last: int) -> tuple[int, float]:
    (ax, ay), (bx, by) = ring[first], ring[last]
    dx, dy = bx - ax, by - ay
    length = math.hypot(dx, dy)
    best, best_distance = first, 0.0
    for i in range(first + 1, last):
        px, py = ring[i]
        # Closed rings start and end on the same point: measure to that point instead of a line.
        d = abs(dy * (px - ax) - dx * (py - ay)) / length if length else math.hypot(px - ax, py - ay)
        if d > best_distance:
            best, best_distance = i, d
    return best, best_distance


def _round(p: Point) -> Point:
    return round(p[0], 1), round(p[1], 1)


def _dedupe(points: Ring) -> Ring:
    return [p for i, p in enumerate(points) if i == 0 or p != points[i - 1]]


def _area(ring: Ring) -> float:
    return sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in pairwise(ring)) / 2


def _path(rings: Sequence[Ring]) -> str:
    """Relative path data: short numbers keep the SVG small."""
    parts = []
    for ring in rings:
        pts = ring[:-1] if ring[0] == ring[-1] else ring
        start = f"M{_num(pts[0][0])} {_num(pts[0][1])}"
        steps = (f"{_num(b[0] - a[0])} {_num(b[1] - a[1])}" for a, b in pairwise(pts))
        parts.append(start + "l" + " ".join(steps) + "z")
    return "".join(parts).replace(" -", "-")


def _num(x: float) -> str:
    text = f"{x:.1f}".rstrip("0").rstrip(".")
    text = text.replace("0.", ".", 1) if text.startswith("0.") else text.replace("-0.", "-.", 1)
    return "0" if text in ("", "-0", "-") else text
