"""The municipality map as a reader sees it: every area named, hidden areas hatched, colours in
order, one's own municipality outlined, Bornholm in its box, and markup a strict CSP accepts."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping

import pytest
from hypothesis import given
from hypothesis import strategies as st

from koes.refdata import load_refdata
from koes.web.maps import PALETTES, AreaValue, MapTexts, choropleth_svg, colour_classes

NS = {"svg": "http://www.w3.org/2000/svg"}
TEXTS = MapTexts(
    title="Indlæggelser pr. 1.000 borgere, 2023",
    description="Kortet viser tallene i tabellen nedenfor.",
    hidden="Skjult (<5 eller x): for få borgere",
    missing="Ingen data",
    highlight="Din kommune",
)
REFDATA = load_refdata()
NAMES = {m.code: m.name for m in REFDATA.municipalities}
NUMBER = re.compile(r"-?(?:\d+\.?\d*|\.\d+)")


def fmt(x: float) -> str:
    return f"{x:.1f}".replace(".", ",")


def values(value_of: Mapping[int, float]) -> dict[int, AreaValue]:
    return {code: AreaValue(v, fmt(v)) for code, v in value_of.items()}


def every(value: float = 1.0) -> dict[int, AreaValue]:
    return values(dict.fromkeys(NAMES, value))


def render(areas: Mapping[int, AreaValue], **kwargs: object) -> ET.Element:
    svg = choropleth_svg(areas, TEXTS, fmt=fmt, **kwargs)  # type: ignore[arg-type]
    return ET.fromstring(svg)  # fails unless the markup is well-formed


def area_paths(root: ET.Element) -> dict[int, ET.Element]:
    paths = [p for p in root.iter(f"{{{NS['svg']}}}path") if p.get("class", "").split()[:1] == ["area"]]
    by_code = {int(p.get("data-kommunekode", "")): p for p in paths}
    assert len(by_code) == len(paths), "a municipality drawn twice"
    return by_code


def legend_texts(root: ET.Element) -> list[str]:
    legend = root.find(".//svg:g[@class='legend']", NS)
    return [] if legend is None else [t.text or "" for t in legend.iterfind(".//svg:text", NS)]


def points(d: str) -> list[tuple[float, float]]:
    """Absolute points of the path data this module writes (M x y, then relative l steps)."""
    out: list[tuple[float, float]] = []
    for command, args in re.findall(r"([MlZz])([^MlZz]*)", d):
        numbers = [float(n) for n in NUMBER.findall(args)]
        pairs = list(zip(numbers[::2], numbers[1::2], strict=True))
        for i, (x, y) in enumerate(pairs):
            if command == "M" and i == 0:
                out.append((x, y))
            else:
                out.append((out[-1][0] + x, out[-1][1] + y))
    return out


def test_every_municipality_is_one_named_area() -> None:
    root = render(values({code: code / 10 for code in NAMES}))
    paths = area_paths(root)
    assert set(paths) == set(NAMES)
    assert len(paths) == 98
    for code, path in paths.items():
        title = path.find("svg:title", NS)
        assert title is not None
        assert title.text == f"{NAMES[code]}: {fmt(code / 10)}"
        assert path.get("data-display") == fmt(code / 10)
        assert float(path.get("data-value", "")) == code / 10
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "map-title map-desc"
    assert root.findtext("svg:title", namespaces=NS) == TEXTS.title
    assert root.findtext("svg:desc", namespaces=NS) == TEXTS.description


def test_region_outlines_lie_above_the_areas() -> None:
    root = render(every())
    regions = root.findall(".//svg:path[@class='region']", NS)
    assert len(regions) == 5
    order = [p.get("class") for p in root.iter(f"{{{NS['svg']}}}path")]
    assert order.index("region") > max(i for i, c in enumerate(order) if c and c.startswith("area"))


def test_hidden_areas_are_hatched_and_never_carry_their_number() -> None:
    areas = every(10.0) | {101: AreaValue(None, "<5", hidden=True), 147: AreaValue(3.0, "x", hidden=True)}
    root = render(areas)
    paths = area_paths(root)
    for code in (101, 147):
        assert paths[code].get("class") == "area hidden"
        assert paths[code].get("fill") == "url(#map-hatch)"
        assert paths[code].get("data-value") == ""
    assert paths[147].findtext("svg:title", namespaces=NS) == "Frederiksberg: x"
    assert root.find(".//svg:defs/svg:pattern[@id='map-hatch']", NS) is not None
    assert TEXTS.hidden in legend_texts(root)


def test_missing_areas_are_grey_and_explained() -> None:
    areas = every(10.0)
    del areas[101]
    areas[147] = AreaValue(None, "")
    root = render(areas)
    paths = area_paths(root)
    assert paths[101].get("class") == paths[147].get("class") == "area missing"
    assert paths[101].get("fill") == paths[147].get("fill") != paths[151].get("fill")
    assert paths[101].findtext("svg:title", namespaces=NS) == f"København: {TEXTS.missing}"
    assert TEXTS.missing in legend_texts(root)


def test_legend_has_no_rows_for_what_the_map_does_not_show() -> None:
    texts = legend_texts(render(values({code: float(code) for code in NAMES})))
    assert len(texts) == 5
    assert not {TEXTS.hidden, TEXTS.missing, TEXTS.highlight} & set(texts)


def test_colours_rise_with_the_value() -> None:
    value_of = {code: float((code * 37) % 101) for code in NAMES}
    paths = area_paths(render(values(value_of)))
    palette = PALETTES[5]
    rank = {code: palette.index(paths[code].get("fill", "")) for code in NAMES}
    assert set(rank.values()) == set(range(5))
    for a in NAMES:
        for b in NAMES:
            if value_of[a] < value_of[b]:
                assert rank[a] <= rank[b]
            if value_of[a] == value_of[b]:
                assert rank[a] == rank[b]


def test_equal_values_make_one_class() -> None:
    root = render(every(7.0))
    assert {p.get("fill") for p in area_paths(root).values()} == {PALETTES[1][0]}
    assert legend_texts(root) == ["7,0"]


def test_no_shown_values_leaves_only_hidden_and_missing_in_the_legend() -> None:
    areas = {code: AreaValue(None, "<5", hidden=True) for code in list(NAMES)[:50]}
    assert legend_texts(render(areas)) == [TEXTS.hidden, TEXTS.missing]


def test_negative_values_are_classed_in_order() -> None:
    classes = colour_classes([-12.5, -3.0, -0.4, 0.0, 2.0, 8.0], 3)
    assert [c.low for c in classes] == [-12.5, -2.0, 2.0]
    assert classes[-1].high == 8.0


@pytest.mark.parametrize(
    ("values_", "lows"), [(range(1, 101), [1, 21, 41, 61, 81]), ([0.12, 0.13, 0.5], [0.12, 0.13, 0.5])]
)
def test_breaks_are_round(values_: list[float], lows: list[float]) -> None:
    assert [c.low for c in colour_classes(values_)] == lows


@given(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=60), st.integers(1, 9))
def test_classes_split_values_in_order(numbers: list[float], k: int) -> None:
    classes = colour_classes(numbers, k)
    assert 1 <= len(classes) <= min(k, len(set(numbers)))
    lows = [c.low for c in classes]
    assert lows == sorted(set(lows))
    assert classes[0].low == min(numbers)
    assert classes[-1].high == max(numbers)
    assert len({c.colour for c in classes}) == len(classes)


def test_class_count_is_checked() -> None:
    with pytest.raises(ValueError, match="colour classes"):
        colour_classes([1.0], 10)


def test_own_municipality_is_outlined_on_top() -> None:
    root = render(every(), highlight=461)
    paths = area_paths(root)
    assert paths[461].get("class") == "area highlight"
    outline = root.find(".//svg:g[@class='highlight-outline']", NS)
    assert outline is not None
    assert outline.get("data-kommunekode") == "461"
    assert {p.get("d") for p in outline} == {paths[461].get("d")}
    areas = root.find("svg:g[@class='areas']", NS)
    assert areas is not None
    assert list(root).index(outline) > list(root).index(areas)
    assert legend_texts(root)[-1] == TEXTS.highlight
    assert render(every(), highlight=None).find(".//svg:g[@class='highlight-outline']", NS) is None


def test_texts_are_escaped() -> None:
    nasty = "a <b> & \"c\" 'd'"
    texts = MapTexts(nasty, nasty, nasty, nasty, nasty)
    areas = every() | {101: AreaValue(1.0, nasty), 147: AreaValue(None, nasty, hidden=True)}
    svg = choropleth_svg(areas, texts, fmt=lambda _: nasty, highlight=101)
    root = ET.fromstring(svg)
    paths = area_paths(root)
    assert paths[101].get("data-display") == nasty
    assert paths[101].findtext("svg:title", namespaces=NS) == f"København: {nasty}"
    assert root.findtext("svg:title", namespaces=NS) == nasty
    assert "<b>" not in svg


def test_bornholm_sits_in_its_inset_and_everything_in_the_view() -> None:
    root = render(every())
    _, _, width, height = (float(v) for v in root.get("viewBox", "").split())
    frame = root.find("svg:rect[@class='inset']", NS)
    assert frame is not None
    fx, fy, fw, fh = (float(frame.get(a, "")) for a in ("x", "y", "width", "height"))
    assert fx > width / 2 and fx + fw <= width and fy < height / 4  # upper right
    for code, path in area_paths(root).items():
        pts = points(path.get("d", ""))
        in_frame = [fx <= x <= fx + fw and fy <= y <= fy + fh for x, y in pts]
        assert all(0 <= x <= width and 0 <= y <= height for x, y in pts), code
        assert all(in_frame) if code == 400 else not any(in_frame), code


def test_ids_are_prefixed_and_checked() -> None:
    areas = every() | {101: AreaValue(None, "<5", hidden=True)}
    root = render(areas, element_id="kort-2")
    assert root.get("id") == "kort-2"
    assert area_paths(root)[101].get("fill") == "url(#kort-2-hatch)"
    ids = [e.get("id") for e in root.iter() if e.get("id")]
    assert all(i is not None and i.startswith("kort-2") for i in ids)
    with pytest.raises(ValueError, match="element_id"):
        choropleth_svg(areas, TEXTS, fmt=fmt, element_id='x" onload="alert(1)')


def test_markup_suits_a_strict_content_security_policy() -> None:
    svg = choropleth_svg(every() | {101: AreaValue(None, "<5", hidden=True)}, TEXTS, fmt=fmt, highlight=101)
    assert "style=" not in svg
    assert "<style" not in svg
    assert "<script" not in svg
    assert len(svg.encode()) < 250_000


def test_legend_text_is_large_and_dark() -> None:
    legend = render(every()).find(".//svg:g[@class='legend']", NS)
    assert legend is not None
    assert float(legend.get("font-size", "0")) >= 12
    assert legend.get("fill") in {"#000000", "#1a1a1a", "#222222"}
