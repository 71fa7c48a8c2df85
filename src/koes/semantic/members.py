"""Members of a dimension: the values a user can filter on, in display order, with labels.

Values are typed as in the warehouse (``kommune`` 101, ``koen`` 1, ``aldersgruppe`` "65-74"),
labels come from the code lists, the shipped reference data and the age-band schemes, so no
label is written twice and none lives in a template.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from koes.domain.codelists import CODE_LISTS
from koes.domain.geography import Geography
from koes.domain.periods import load_age_band_schemes
from koes.domain.preventable import PREVENTABLE_GROUPS
from koes.refdata import RefData, load_refdata
from koes.semantic.model import POPULATION_MEMBERS, Dimension, Label

NOT_RECORDED = Label("Uoplyst", "Not recorded")
# Members not known before the query: the release's (care districts) or the population's (a cohort's groups).
OPEN_KINDS = ("release", POPULATION_MEMBERS)


@dataclass(frozen=True)
class Member:
    value: Any
    label: Label


def members(dimension: Dimension, years: Sequence[int] = ()) -> tuple[Member, ...]:
    """Every known member, in display order; an open dimension (``release``) returns none."""
    source = dimension.members
    if source.kind == "period":
        return _periods(source.name, years)
    if source.kind in OPEN_KINDS:
        return ()
    return _static(dimension)


@dataclass(frozen=True)
class _Known:
    """A dimension's fixed members with their display order and labels, built once."""

    members: tuple[Member, ...]
    order: Mapping[Any, int]
    labels: Mapping[Any, Label]


_KNOWN: dict[tuple[str, str, str], _Known] = {}


def _known(dimension: Dimension) -> _Known:
    # Keyed by id and member source: a Dimension itself is not hashable (it holds mappings).
    key = (dimension.id, dimension.members.kind, dimension.members.name)
    if key not in _KNOWN:
        built = _build_static(dimension)
        _KNOWN[key] = _Known(built, {m.value: i for i, m in enumerate(built)}, {m.value: m.label for m in built})
    return _KNOWN[key]


def _static(dimension: Dimension) -> tuple[Member, ...]:
    return _known(dimension).members


def _build_static(dimension: Dimension) -> tuple[Member, ...]:
    source = dimension.members
    kind, name = source.kind, source.name
    if kind == "inline":
        return tuple(Member(_typed(dimension, k), v) for k, v in source.values.items())
    if kind == "code_list":
        return tuple(Member(_typed(dimension, c.code), Label(c.label_da, c.label_en)) for c in CODE_LISTS[name])
    if kind == "age_bands":
        return tuple(Member(b.label, Label(f"{b.label} år", f"{b.label} years")) for b in _schemes()[name].bands)
    if kind == "preventable_groups":
        return tuple(Member(g.id, Label(g.label_da, g.label_en)) for g in PREVENTABLE_GROUPS)
    return _refdata_members(name, _refdata())


def _refdata_members(name: str, ref: RefData) -> tuple[Member, ...]:
    if name == "municipalities":
        return tuple(Member(m.code, Label(m.name, m.name)) for m in sorted(ref.municipalities, key=lambda m: m.code))
    if name == "regions":  # every region there has been (versioned geography), by code
        return tuple(
            Member(r.code, Label(r.name_da, r.name_da)) for r in sorted(ref.geography.regions, key=lambda r: r.code)
        )
    if name == "hospitals":
        return tuple(Member(h.hospital_id, Label(h.name, h.name)) for h in ref.hospitals)
    if name in ("atc1", "atc2"):
        level = int(name[-1])
        groups = (g for g in ref.atc_groups if g.level == level)
        return tuple(
            Member(
                g.code,
                Label(
                    f"{g.code} {ref.atc_names_da.get(g.code) or g.name_en.capitalize()}",
                    f"{g.code} {g.name_en.capitalize()}",
                ),
            )
            for g in groups
        )
    if name == "icd10_chapters":
        return tuple(
            Member(
                int(c["chapter_no"]),
                Label(
                    f"Kapitel {c['chapter']}: {ref.icd10_chapter_titles_da.get(int(c['chapter_no']), c['title_en'])}",
                    f"Chapter {c['chapter']}: {c['title_en']}",
                ),
            )
            for c in ref.icd10_chapters
        )
    if name == "icd10_blocks":
        return tuple(
            Member(
                b["block"],
                Label(
                    f"{b['block']} {ref.icd10_block_titles_da.get(b['block']) or b['title_en']}",
                    f"{b['block']} {b['title_en']}",
                ),
            )
            for b in ref.icd10_blocks
        )
    if name == "icd10_categories":
        # No Danish title per category is shipped (SKS's are not in refdata): in Danish a category
        # names its block's Danish title rather than show WHO's English on a Danish page.
        return tuple(
            Member(
                c["sks_code"],
                Label(_category_da(c, ref.icd10_block_titles_da), f"{c['code']} {c['title_en']}"),
            )
            for c in ref.icd10_categories
        )
    raise KeyError(f"no reference member list named {name!r}")


def _category_da(category: Mapping[str, str], block_titles_da: Mapping[str, str]) -> str:
    block = category["block"]
    title = block_titles_da.get(block)
    return f"{category['code']} (i {block} {title})" if title else f"{category['code']} {category['title_en']}"


def geography() -> Geography:
    """The versioned regions and memberships, from the reference data."""
    return _refdata().geography


def _periods(name: str, years: Sequence[int]) -> tuple[Member, ...]:
    values: list[int] = []
    for year in sorted(years):
        if name == "year":
            values.append(year)
        elif name == "quarter":
            values += [year * 10 + q for q in range(1, 5)]
        else:
            values += [year * 100 + m for m in range(1, 13)]
    return tuple(Member(v, Label(_period_label(name, v, "da"), _period_label(name, v, "en"))) for v in values)


def label_of(dimension: Dimension, value: Any, language: str = "da") -> str:
    """The label of one value; values outside the known members are shown as they are."""
    if value is None:
        return NOT_RECORDED.get(language)
    if dimension.members.kind == "period":
        return _period_label(dimension.members.name, int(value), language)
    if dimension.members.kind in OPEN_KINDS:
        return str(value)
    label = _known(dimension).labels.get(value)
    return str(value) if label is None else label.get(language)


def _period_label(kind: str, value: int, language: str) -> str:
    """2023 → "2023"; 20233 → "2023 K3" / "2023 Q3"; 202301 → "2023-01"."""
    if kind == "year":
        return str(value)
    if kind == "quarter":
        return f"{value // 10} {'Q' if language == 'en' else 'K'}{value % 10}"
    return f"{value // 100}-{value % 100:02d}"


def sort_key(dimension: Dimension, value: Any) -> tuple[int, Any]:
    """Display order: the members' order where known, else natural order; missing values last."""
    if value is None:
        return (3, "")
    if dimension.members.kind not in ("period", *OPEN_KINDS):
        order = _known(dimension).order
        if value in order:
            return (0, order[value])
    return (1, _natural(value))


def _natural(value: Any) -> Any:
    if isinstance(value, str):
        return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", value))
    return (value,)


def _typed(dimension: Dimension, text: str) -> Any:
    if dimension.value_type == "int":
        return int(text)
    if dimension.value_type == "bool":
        return text == "true"
    return text


@cache
def _refdata() -> RefData:
    return load_refdata()


@cache
def _schemes() -> dict[str, Any]:
    return load_age_band_schemes()
