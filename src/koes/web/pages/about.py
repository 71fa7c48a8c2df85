"""The "Om tallene" (about the figures) panel of a report: what each measure means, which registers
the figures come from, the rules and their versions, the standard population behind standardised
rates and which municipalities are the "sammenlignelige" (similar) ones, by name.

Everything is read from what produced the figures (the catalog, the results' plans and provenance),
so the panel cannot describe other figures than those shown.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from koes.semantic.definitions import definition
from koes.semantic.model import Catalog, DerivedKind, Measure
from koes.services.results import AnalysisResult
from koes.web.formats import danish_key
from koes.web.i18n import Translator

SIMILAR = "lignende"


@dataclass(frozen=True)
class Defined:
    id: str
    label: str
    text: str


@dataclass(frozen=True)
class About:
    measures: list[Defined]
    sources: list[str]
    rules: list[str]
    standard_population: str  # empty when no measure is standardised
    similar: list[str]  # the similar municipalities' names, sorted
    similar_method: str


def about(catalog: Catalog, results: Iterable[AnalysisResult], municipalities: Mapping[int, str], lang: str) -> About:
    results = list(results)
    t = Translator(lang)
    measures: dict[str, Measure] = {}
    for result in results:
        for m in result.measures:
            measures.setdefault(m.id, m)
    stamp = results[0].provenance
    rules = [f"{name} {version}" for name, version in sorted(stamp.rule_versions.items())]
    for extra in (stamp.cofinancing, stamp.geography):
        text = extra.get(lang) or extra.get("da", "")
        if text:
            rules.append(text)
    standardised = any(m.derived is DerivedKind.STANDARDISED_RATE for m in measures.values())
    similar = sorted(
        {
            municipalities.get(code, str(code))
            for result in results
            for block in result.blocks
            if block.area is not None and block.area.id == SIMILAR
            for code in block.area.kommuner
        },
        key=danish_key,
    )
    return About(
        measures=[Defined(m.id, m.label.get(lang), definition(m, lang)) for m in measures.values()],
        sources=_sources(catalog, measures.values(), lang),
        rules=rules,
        standard_population=t("about.standard_population", year=catalog.standard_population_year)
        if standardised
        else "",
        similar=similar,
        similar_method=t("about.similar_method", count=catalog.similar.count),
    )


def _sources(catalog: Catalog, measures: Iterable[Measure], lang: str) -> list[str]:
    """The sources the measures read, directly or through their numerator and denominator."""
    seen: dict[str, str] = {}
    todo = list(measures)
    while todo:
        m = todo.pop()
        for source_id in m.inputs:
            source = catalog.sources.get(source_id)
            if source is not None:
                seen.setdefault(source_id, source.label.get(lang))
        for part in (m.numerator, m.denominator):
            if part and part in catalog.measures:
                todo.append(catalog.measures[part])
    return sorted(set(seen.values()), key=danish_key)
