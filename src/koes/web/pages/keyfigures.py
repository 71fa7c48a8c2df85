"""The key-figure tiles a Standard report opens with: one tile per measure of the variant, the own
municipality's figure for the chosen year against its region and the country, and the change from
the year before with an arrow and its size.

Every figure comes from the report's ``keyfigures`` view (koes.reports.requests): an ordinary
analysis request, so it is scoped, protected and audited like the report's other figures. A hidden
figure stays hidden here: its tile shows the mark (``<5``, ``x``) and no change is computed from it.
Region and country are shown only for measures that compare across areas of different size (rates,
amounts per citizen, shares); a kroner total of the country says nothing next to a municipality's.
"""

from __future__ import annotations

from dataclasses import dataclass

from koes.domain.cells import TOTAL
from koes.query.plan import AreaId
from koes.semantic.definitions import definition
from koes.semantic.model import Measure
from koes.services.disclosure import ProtectedBlock
from koes.services.results import AnalysisResult
from koes.web.formats import number
from koes.web.i18n import Translator
from koes.web.views import Shown, shown

MOST_TILES = 4
COMPARED = (AreaId.REGION, AreaId.LAND)  # comparison areas a tile sets the own municipality against


@dataclass(frozen=True)
class Figure:
    name: str  # the area's name
    text: str  # the figure as the page writes it, or the hidden mark
    hidden: bool


@dataclass(frozen=True)
class Change:
    direction: str  # up | down | flat
    arrow: str  # ↑ ↓ →
    text: str  # "+3,2 (+4 %)"
    description: str  # the whole change in words, for screen readers and the tooltip


@dataclass(frozen=True)
class Tile:
    measure: Measure
    label: str
    definition: str
    own: Figure
    others: tuple[Figure, ...]
    change: Change | None
    change_missing: str  # why there is no change, when there is none


def tiles(result: AnalysisResult, chosen_measure: str, year: int, lang: str) -> list[Tile]:
    """Up to ``MOST_TILES`` tiles: the chosen measure first, then the variant's rates, then the rest."""
    t = Translator(lang)
    blocks = {b.area.id: b for b in result.blocks if b.area is not None}
    own = blocks.get(AreaId.KOMMUNE)
    if own is None:
        return []
    columns = {int(key[0]): c for c, key in enumerate(own.col_keys)}
    if year not in columns:
        return []
    ordered = sorted(result.measures, key=lambda m: (m.id != chosen_measure, not _comparable(m)))
    return [_tile(result, m, blocks, own, columns, year, lang, t) for m in ordered[:MOST_TILES]]


def _comparable(measure: Measure) -> bool:
    """A figure that compares across areas of different size: rates, amounts per citizen, shares."""
    return measure.derived is not None


def _tile(
    result: AnalysisResult,
    measure: Measure,
    blocks: dict[AreaId, ProtectedBlock],
    own: ProtectedBlock,
    columns: dict[int, int],
    year: int,
    lang: str,
    t: Translator,
) -> Tile:
    now = shown(result, own, measure, (TOTAL, columns[year]), lang)
    others = []
    if _comparable(measure):
        for area_id in COMPARED:
            block = blocks.get(area_id)
            if block is not None and year in _years(block):
                others.append(_figure(result, block, measure, _years(block)[year], lang))
    before = columns.get(year - 1)
    change, missing = None, t("keyfigures.no_last_year", year=year - 1)
    if before is not None:
        then = shown(result, own, measure, (TOTAL, before), lang)
        change = _change(now, then, measure, year - 1, lang, t)
        if change is None:
            missing = t("keyfigures.no_change", year=year - 1)
    return Tile(
        measure,
        measure.label.get(lang),
        definition(measure, lang),
        _figure(result, own, measure, columns[year], lang),
        tuple(others),
        change,
        missing,
    )


def _years(block: ProtectedBlock) -> dict[int, int]:
    return {int(key[0]): c for c, key in enumerate(block.col_keys)}


def _figure(result: AnalysisResult, block: ProtectedBlock, measure: Measure, column: int, lang: str) -> Figure:
    s = shown(result, block, measure, (TOTAL, column), lang)
    assert block.area is not None
    name = block.area.label_en if lang == "en" else block.area.label_da
    return Figure(name, s.text, s.hidden)


def _change(now: Shown, then: Shown, measure: Measure, last: int, lang: str, t: Translator) -> Change | None:
    """The change from ``then`` to ``now`` as shown (both visible), in the measure's precision."""
    if now.value is None or then.value is None:
        return None
    delta = round(now.value, measure.decimals) - round(then.value, measure.decimals)
    size = number(abs(delta), measure.decimals, lang)
    sign = "+" if delta > 0 else "−" if delta < 0 else "±"
    text = f"{sign}{size}"
    if then.value:
        percent = abs(delta) / abs(then.value) * 100
        text += f" ({sign}{number(percent, 0, lang)} %)"
    direction = "up" if delta > 0 else "down" if delta < 0 else "flat"
    arrow = {"up": "↑", "down": "↓", "flat": "→"}[direction]
    description = t(f"keyfigures.change_{direction}", size=size, then=then.text, year=last)
    return Change(direction, arrow, text, description)
