"""Region outlines from the municipalities' shapes: four regions from 2027, Region Østdanmark as
the union of Region Hovedstaden and Region Sjælland without the border between them."""

from __future__ import annotations

import json
import re
from datetime import date

from koes.query.geography import GeographyChoice, map_regions
from koes.refdata import data_dir, load_refdata
from koes.web.map_geometry import region_paths
from koes.web.maps import AreaValue, MapTexts, choropleth_svg
from koes.web.outlines import chain, outer_edges, union_rings

REF = load_refdata()
GEO = REF.geography
TEXTS = MapTexts("Kort", "Tallene står i tabellen.", "Skjult", "Ingen data", "Din kommune")
AREAS = {m.code: AreaValue(1.0, "1") for m in REF.municipalities}


def _rings() -> dict[int, list[list[tuple[float, float]]]]:
    with (data_dir() / "municipalities.geojson").open(encoding="utf-8") as f:
        features = json.load(f)["features"]
    out = {}
    for feature in features:
        geom = feature["geometry"]
        polygons = geom["coordinates"] if geom["type"] == "MultiPolygon" else [geom["coordinates"]]
        out[feature["properties"]["code"]] = [[tuple(p) for p in ring] for poly in polygons for ring in poly]
    return out


def test_two_squares_sharing_a_side_make_one_rectangle() -> None:
    left = [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0), (0.0, 0.0)]
    right = [(1.0, 0.0), (2.0, 0.0), (2.0, 1.0), (1.0, 1.0), (1.0, 0.0)]
    edges = outer_edges([left, right])
    assert frozenset({(1.0, 0.0), (1.0, 1.0)}) not in edges
    (ring,) = chain(edges)
    assert ring[0] == ring[-1] and len(ring) == 7  # six edges round the 2 × 1 rectangle


def test_ostdanmark_is_the_two_old_regions_without_their_common_border() -> None:
    rings = _rings()
    day_before, new_year = date(2026, 12, 31), date(2027, 1, 1)
    east = outer_edges(r for k in GEO.municipalities_of(1086, new_year) for r in rings[k])
    capital = outer_edges(r for k in GEO.municipalities_of(1084, day_before) for r in rings[k])
    zealand = outer_edges(r for k in GEO.municipalities_of(1085, day_before) for r in rings[k])
    border = capital & zealand
    assert border  # the old regions do meet
    assert east == capital ^ zealand
    union = union_rings(rings, GEO.municipalities_of(1086, new_year))
    assert all(r[0] == r[-1] for r in union)
    assert sum(len(r) - 1 for r in union) == len(east)  # every outer edge once, in closed rings


def test_a_map_of_2027_outlines_four_regions_and_of_2026_five() -> None:
    four = map_regions(GEO, GeographyChoice(date(2027, 1, 1)), 2027)
    five = map_regions(GEO, GeographyChoice(None), 2026)  # as it was: the period's last day
    assert sorted(four) == [1081, 1082, 1083, 1086] and sorted(five) == [1081, 1082, 1083, 1084, 1085]
    svg4 = choropleth_svg(AREAS, TEXTS, fmt=str, regions=four)
    svg5 = choropleth_svg(AREAS, TEXTS, fmt=str, regions=five)
    assert len(re.findall(r'<path class="region"', svg4)) == 4
    assert len(re.findall(r'<path class="region"', svg5)) == 5
    assert len(region_paths(four)) == 4
    # The unchanged regions are drawn the same either way; only the east differs.
    same = {1081: four[1081], 1082: four[1082], 1083: four[1083]}
    assert set(region_paths(same)) <= set(region_paths(four)) & set(region_paths(five))
