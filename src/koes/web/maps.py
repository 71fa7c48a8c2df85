"""Choropleth maps of the 98 municipalities as server-rendered SVG (decision record 0002).

The shipped geometry is projected, simplified and turned into path strings once per process;
a map is then only string assembly. Values arrive already protected by disclosure control:
this module never shows a hidden area's number, it hatches the area instead.

The SVG uses presentation attributes only (no ``style``), so it renders under the app's
Content-Security-Policy, and it needs no script. With a ``link`` each area is a link to that
municipality's view (drill-down): a real ``<a>``, so the mouse, Tab and Enter all reach it, and
named for screen readers by the municipality and its figure. Every text is XML-escaped here, because the
caller marks the result safe in its template.
"""

from __future__ import annotations

import html
import math
import re
from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from koes.web.map_geometry import MARGIN, WIDTH, Geometry, Shape, geometry, region_paths

FONT_SIZE = 13
ROW = 20.0
SWATCH = 14.0
TEXT_COLOUR = "#1a1a1a"
BORDER_COLOUR = "#737373"
REGION_COLOUR = "#262626"
MISSING_COLOUR = "#d4d4d4"
HATCH_COLOUR = "#525252"
INSET_COLOUR = "#8c8c8c"

# ColorBrewer YlGnBu (sequential, colour-blind safe), by number of classes.
PALETTES: Mapping[int, tuple[str, ...]] = {
    1: ("#41b6c4",),
    2: ("#edf8b1", "#2c7fb8"),
    3: ("#edf8b1", "#7fcdbb", "#2c7fb8"),
    4: ("#ffffcc", "#a1dab4", "#41b6c4", "#225ea8"),
    5: ("#ffffcc", "#a1dab4", "#41b6c4", "#2c7fb8", "#253494"),
    6: ("#ffffcc", "#c7e9b4", "#7fcdbb", "#41b6c4", "#2c7fb8", "#253494"),
    7: ("#ffffcc", "#c7e9b4", "#7fcdbb", "#41b6c4", "#1d91c0", "#225ea8", "#0c2c84"),
    8: ("#ffffd9", "#edf8b1", "#c7e9b4", "#7fcdbb", "#41b6c4", "#1d91c0", "#225ea8", "#0c2c84"),
    9: ("#ffffd9", "#edf8b1", "#c7e9b4", "#7fcdbb", "#41b6c4", "#1d91c0", "#225ea8", "#253494", "#081d58"),
}

_ID = re.compile(r"[A-Za-z][A-Za-z0-9_.-]*\Z")


@dataclass(frozen=True)
class AreaValue:
    value: float | None  # None when hidden by disclosure control or missing
    display: str  # already formatted text for the page, e.g. "1.234,5", "<5", "x"
    hidden: bool = False  # suppressed by disclosure control


@dataclass(frozen=True)
class MapTexts:
    """All texts on a map; the caller translates them, none are hard-coded here."""

    title: str
    description: str  # one sentence for screen readers, e.g. that the table below has the numbers
    hidden: str  # legend text for hatched areas
    missing: str  # legend text for areas without a value
    highlight: str  # legend text for the user's own municipality


@dataclass(frozen=True)
class ColourClass:
    low: float
    high: float
    colour: str


# --- colour classes ---------------------------------------------------------------------------


def colour_classes(values: Iterable[float], classes: int = 5) -> list[ColourClass]:
    """Quantile classes over ``values`` with the roundest breaks that split them the same way."""
    if not 1 <= classes <= max(PALETTES):
        raise ValueError(f"a map has 1 to {max(PALETTES)} colour classes, not {classes}")
    ordered = sorted(values)
    if not ordered:
        return []
    breaks = _breaks(ordered, classes)
    edges = [ordered[0], *breaks, ordered[-1]]
    palette = PALETTES[len(edges) - 1]
    return [ColourClass(lo, hi, c) for lo, hi, c in zip(edges[:-1], edges[1:], palette, strict=True)]


def _breaks(ordered: Sequence[float], classes: int) -> list[float]:
    """A break b sends values >= b up a class; it lies in (previous value, next value]."""
    changes = [j for j in range(1, len(ordered)) if ordered[j - 1] < ordered[j]]
    chosen: set[int] = set()
    for i in range(1, classes):
        free = [j for j in changes if j not in chosen]
        if not free:
            break
        chosen.add(min(free, key=lambda j: abs(j - i * len(ordered) / classes)))
    return [_roundest(ordered[j - 1], ordered[j]) for j in sorted(chosen)]


def _roundest(low: float, high: float) -> float:
    """The number with the fewest significant digits in (low, high]."""
    step = 10.0 ** math.ceil(math.log10(max(abs(low), abs(high), high - low)) + 1)
    while step > (high - low) * 1e-9:
        for multiple in (step, step / 2, step / 5):
            # The small nudge and the rounding undo binary noise such as 0.13 / 0.01 = 12.99….
            digits = max(0, 1 - math.floor(math.log10(multiple)))
            candidate = round(math.floor(high / multiple + 1e-9) * multiple, digits) + 0.0  # no -0.0
            if low < candidate <= high:
                return candidate
        step /= 10
    return high


def _class_of(value: float, classes: Sequence[ColourClass]) -> ColourClass:
    return classes[bisect_right([c.low for c in classes[1:]], value)]


# --- rendering --------------------------------------------------------------------------------


def choropleth_svg(
    areas: Mapping[int, AreaValue],
    texts: MapTexts,
    *,
    fmt: Callable[[float], str],
    highlight: int | None = None,
    element_id: str = "map",
    classes: int = 5,
    regions: Mapping[int, Iterable[int]] | None = None,
    link: Callable[[int], str] | None = None,
) -> str:
    """The map as SVG markup. Municipalities absent from ``areas`` count as missing; keys that
    are not municipalities (e.g. 'unknown') are ignored, since the map has nowhere to show them.
    ``regions`` (region code → its municipalities) draws those regions' outlines, e.g. the four
    of 2027; without it, the shipped outlines of the five regions of 2007–2026. ``link`` (kommunekode
    → address) makes every area a link: the map is then a group of links, not one image."""
    if not _ID.match(element_id):
        raise ValueError(f"element_id must be a plain XML id, not {element_id!r}")
    geo = geometry()
    states = {a.code: _state(areas.get(a.code)) for a in geo.areas}
    shown = [v.value for c, v in areas.items() if states.get(c) == "shown" and v.value is not None]
    paint = _Paint(areas, states, colour_classes(shown, classes), texts, element_id)
    outline = next((a for a in geo.areas if a.code == highlight), None)
    legend = _legend_rows(paint, outline is not None, fmt)
    parts = [
        _open(element_id, texts, geo.height + len(legend) * ROW + MARGIN, linked=link is not None),
        _defs(element_id),
        _inset_frame(geo.inset),
        _areas(geo, paint, highlight, link),
        _regions(geo.regions if regions is None else region_paths(regions)),
        _highlight(outline),
        _legend(legend, element_id, round(geo.height)),
        "</svg>",
    ]
    return "\n".join(p for p in parts if p)


@dataclass(frozen=True)
class _Paint:
    """What one map shows: each area's state and value, the colour classes, the texts."""

    areas: Mapping[int, AreaValue]
    states: Mapping[int, str]  # kommunekode → "shown", "hidden" or "missing"
    scale: Sequence[ColourClass]
    texts: MapTexts
    element_id: str

    def fill(self, code: int) -> str:
        state, value = self.states[code], self.areas.get(code)
        if state == "hidden":
            return f"url(#{self.element_id}-hatch)"
        if state == "missing" or value is None or value.value is None:
            return MISSING_COLOUR
        return _class_of(value.value, self.scale).colour


def _state(value: AreaValue | None) -> str:
    if value is not None and value.hidden:
        return "hidden"
    if value is None or value.value is None or math.isnan(value.value):
        return "missing"
    return "shown"


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def _open(element_id: str, texts: MapTexts, height: float, *, linked: bool = False) -> str:
    # An image's parts are hidden from assistive technology; a map of links is a group of them.
    role = "group" if linked else "img"
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="{role}" id="{element_id}" class="koes-map" '
        f'aria-labelledby="{element_id}-title {element_id}-desc" viewBox="0 0 {WIDTH:g} {height:.0f}" '
        f'font-family="system-ui, -apple-system, Segoe UI, Roboto, Arial, sans-serif">\n'
        f'<title id="{element_id}-title">{_esc(texts.title)}</title>\n'
        f'<desc id="{element_id}-desc">{_esc(texts.description)}</desc>'
    )


def _defs(element_id: str) -> str:
    return (
        f'<defs><pattern id="{element_id}-hatch" patternUnits="userSpaceOnUse" width="5" height="5" '
        f'patternTransform="rotate(45)"><rect width="5" height="5" fill="#ffffff"/>'
        f'<line x1="0" y1="0" x2="0" y2="5" stroke="{HATCH_COLOUR}" stroke-width="2"/></pattern></defs>'
    )


def _inset_frame(inset: tuple[float, float, float, float]) -> str:
    x, y, w, h = (round(v, 1) for v in inset)
    return (
        f'<rect class="inset" x="{x:g}" y="{y:g}" width="{w:g}" height="{h:g}" '
        f'fill="none" stroke="{INSET_COLOUR}" stroke-width="0.8"/>'
    )


def _areas(geo: Geometry, paint: _Paint, highlight: int | None, link: Callable[[int], str] | None = None) -> str:
    paths = "\n".join(
        _linked(_area_path(shape, paint, shape.code == highlight), shape, paint, link) for shape in geo.areas
    )
    return (
        f'<g class="areas" stroke="{BORDER_COLOUR}" stroke-width="0.4" stroke-linejoin="round" '
        f'fill-rule="evenodd">\n{paths}\n</g>'
    )


def _area_path(shape: Shape, paint: _Paint, highlighted: bool) -> str:
    state, value = paint.states[shape.code], paint.areas.get(shape.code)
    css = " ".join(c for c in ("area", state, "highlight" if highlighted else "") if c and c != "shown")
    # A hidden area's number never reaches the page, even if the caller passed one.
    number = repr(value.value) if state == "shown" and value is not None else ""
    display = value.display if value is not None else ""
    return (
        f'<path class="{css}" data-kommunekode="{shape.code}" data-value="{number}" '
        f'data-display="{_esc(display)}" fill="{paint.fill(shape.code)}" d="{shape.path}">'
        f"<title>{_esc(shape.name)}: {_esc(display or paint.texts.missing)}</title></path>"
    )


def _linked(path: str, shape: Shape, paint: _Paint, link: Callable[[int], str] | None) -> str:
    """The area's path inside a link to its view, named by the municipality and its figure."""
    if link is None:
        return path
    value = paint.areas.get(shape.code)
    name = f"{shape.name}: {value.display if value is not None and value.display else paint.texts.missing}"
    return (
        f'<a class="area-link" href="{_esc(link(shape.code))}" data-kommunekode="{shape.code}" '
        f'aria-label="{_esc(name)}">{path}</a>'
    )


def _regions(outlines: Sequence[str]) -> str:
    paths = "".join(f'<path class="region" d="{d}"/>' for d in outlines)
    return (
        f'<g class="regions" fill="none" stroke="{REGION_COLOUR}" stroke-width="1.1" '
        f'stroke-linejoin="round" aria-hidden="true">{paths}</g>'
    )


def _highlight(shape: Shape | None) -> str:
    """A white halo under a black line, so the outline shows on light and dark fills alike."""
    if shape is None:
        return ""
    return (
        f'<g class="highlight-outline" data-kommunekode="{shape.code}" fill="none" stroke-linejoin="round" '
        f'aria-hidden="true"><path d="{shape.path}" stroke="#ffffff" stroke-width="4.5"/>'
        f'<path d="{shape.path}" stroke="#000000" stroke-width="2.5"/></g>'
    )


# --- legend -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Row:
    kind: str  # "class", "hidden", "missing" or "highlight"
    label: str
    fill: str = ""


def _legend_rows(paint: _Paint, highlighted: bool, fmt: Callable[[float], str]) -> list[_Row]:
    """One row per colour class, then hatched, grey and outline rows only when the map has them."""
    rows = [_Row("class", _range_label(c, fmt), c.colour) for c in paint.scale]
    states = set(paint.states.values())
    if "hidden" in states:
        rows.append(_Row("hidden", paint.texts.hidden))
    if "missing" in states:
        rows.append(_Row("missing", paint.texts.missing, MISSING_COLOUR))
    if highlighted:
        rows.append(_Row("highlight", paint.texts.highlight))
    return rows


def _legend(rows: Sequence[_Row], element_id: str, top: float) -> str:
    if not rows:
        return ""
    items = [_legend_row(r, element_id, MARGIN, top + i * ROW) for i, r in enumerate(rows)]
    return f'<g class="legend" font-size="{FONT_SIZE}" fill="{TEXT_COLOUR}">\n' + "\n".join(items) + "\n</g>"


def _range_label(c: ColourClass, fmt: Callable[[float], str]) -> str:
    low, high = fmt(c.low), fmt(c.high)
    return low if low == high else f"{low} – {high}"


def _legend_row(row: _Row, element_id: str, x: float, y: float) -> str:
    swatch = {
        "hidden": f'fill="url(#{element_id}-hatch)" stroke="{BORDER_COLOUR}" stroke-width="0.6"',
        "highlight": 'fill="#ffffff" stroke="#000000" stroke-width="2.5"',
    }.get(row.kind, f'fill="{row.fill}" stroke="{BORDER_COLOUR}" stroke-width="0.6"')
    return (
        f'<g class="legend-item {row.kind}"><rect x="{x:g}" y="{y + 2:g}" width="{SWATCH:g}" '
        f'height="{SWATCH:g}" {swatch}/><text x="{x + SWATCH + 8:g}" y="{y + 14:g}">{_esc(row.label)}</text></g>'
    )
