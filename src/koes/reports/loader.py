"""Read ``reports.yaml`` into a :class:`ReportBook`, checked against the catalog, every problem at once.

Each problem names the file and the element (``reports.yaml: report 'genindlaeggelser' variant
'somatik': …``), like the catalog loader, so an author fixes a broken report file in one pass.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from koes.reports.model import Report, ReportBook, Series, SeriesKind, Variant
from koes.semantic.loader import CatalogError, CatalogProblem, bilingual, default_catalog
from koes.semantic.model import TIME_DIMENSIONS, Catalog, DerivedKind, Label

FILE = "reports.yaml"
VARIANT_KEYS = frozenset({"id", "label", "perspective", "measures", "standardised", "filters", "segment", "breakdown"})
TIME_GRAINS = TIME_DIMENSIONS  # a series runs by one of the time dimensions
AGE_DIMENSIONS = frozenset({"aldersgruppe", "aldersgruppe_5", "aldersgruppe_bred", "aldersgruppe_aeldre"})
# Chosen on every report page, so a report may not fix them.
PAGE_FILTERS = frozenset({"kommune", "region", "koen", "aar", "kvartal", "maaned"})


def default_reports_file() -> Path:
    return Path(str(resources.files("koes.reports").joinpath(FILE)))


@cache
def default_reports() -> ReportBook:
    return load_reports(default_reports_file(), default_catalog())


def load_reports(path: Path, catalog: Catalog) -> ReportBook:
    book, problems = read_reports(path, catalog)
    if problems:
        raise CatalogError(problems)
    return book


def read_reports(path: Path, catalog: Catalog) -> tuple[ReportBook, list[CatalogProblem]]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    items = raw.get("reports") if isinstance(raw, dict) else None
    if not isinstance(items, list) or not items:
        return ReportBook({}), [CatalogProblem(path.name, "reports", "a non-empty list of reports is needed")]
    reader = _Reader(path.name, catalog)
    reports = [r for r in (reader.report(i, item) for i, item in enumerate(items)) if r is not None]
    return ReportBook({r.id: r for r in reports}), reader.problems


class _Reader:
    def __init__(self, file: str, catalog: Catalog) -> None:
        self.file = file
        self.catalog = catalog
        self.problems: list[CatalogProblem] = []
        self.seen: set[str] = set()

    def problem(self, element: str, message: str) -> None:
        self.problems.append(CatalogProblem(self.file, element, message))

    def report(self, index: int, item: Any) -> Report | None:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            self.problem(f"reports[{index}]", "a report needs an id")
            return None
        where = f"report {item['id']!r}"
        if item["id"] in self.seen:
            self.problem(where, "the id is used twice")
        self.seen.add(item["id"])
        unknown = set(item) - {"id", "title", "description", "variants", "series", "age", "choice_label"}
        if unknown:
            self.problem(where, f"unknown keys: {', '.join(sorted(unknown))}")
        variants = self.variants(where, item.get("variants"))
        choice = self.label(where, "choice_label", item.get("choice_label"), required=len(variants) > 1)
        report = Report(
            id=item["id"],
            title=self.label(where, "title", item.get("title")) or Label("", ""),
            description=self.label(where, "description", item.get("description")) or Label("", ""),
            variants=tuple(variants),
            series=self.series(where, item.get("series")),
            age=self.age(where, item.get("age", "aldersgruppe_bred")),
            choice_label=choice,
        )
        return report if variants else None

    def label(self, where: str, key: str, value: Any, required: bool = True) -> Label | None:
        if value is None and not required:
            return None
        if not isinstance(value, dict) or not all(isinstance(value.get(lang), str) for lang in ("da", "en")):
            self.problem(where, f"{key} needs Danish and English text: {{da: …, en: …}}")
            return None
        try:
            return bilingual(value, key)
        except ValueError as cut:
            self.problem(where, str(cut))
            return None

    def series(self, where: str, value: Any) -> Series:
        value = value or {}
        kind, grain = value.get("kind", "trend"), value.get("grain", "maaned")
        if kind not in {k.value for k in SeriesKind}:
            self.problem(where, f"series.kind must be one of {', '.join(k.value for k in SeriesKind)}")
            kind = SeriesKind.TREND.value
        if grain not in TIME_GRAINS:
            self.problem(where, f"series.grain must be one of {', '.join(sorted(TIME_GRAINS))}")
        if kind == SeriesKind.YEAR_TO_DATE and grain != "maaned":
            self.problem(where, "a year_to_date series runs by month (grain: maaned)")
        return Series(SeriesKind(kind), grain)

    def age(self, where: str, value: Any) -> str | None:
        if value is not None and value not in AGE_DIMENSIONS:
            self.problem(where, f"age must be one of {', '.join(sorted(AGE_DIMENSIONS))} or null")
            return None
        return str(value) if value is not None else None

    def variants(self, where: str, value: Any) -> list[Variant]:
        if not isinstance(value, list) or not value:
            self.problem(where, "variants: a non-empty list is needed")
            return []
        out, ids = [], set()
        for i, item in enumerate(value):
            variant = self.variant(f"{where} variant {i}", item)
            if variant is None:
                continue
            if variant.id in ids:
                self.problem(f"{where} variant {variant.id!r}", "the id is used twice")
            ids.add(variant.id)
            out.append(variant)
        return out

    def variant(self, where: str, item: Any) -> Variant | None:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            self.problem(where, "a variant needs an id")
            return None
        where = where.rsplit(" ", 1)[0] + f" {item['id']!r}"
        unknown = set(item) - VARIANT_KEYS
        if unknown:
            self.problem(where, f"unknown keys: {', '.join(sorted(unknown))}")
        perspective = item.get("perspective")
        if perspective not in self.catalog.perspectives:
            self.problem(where, f"unknown perspective {perspective!r}")
        measures = self.measures(where, item.get("measures"), perspective)
        return Variant(
            id=item["id"],
            label=self.label(where, "label", item.get("label")) or Label(item["id"], item["id"]),
            perspective=str(perspective),
            measures=tuple(measures),
            standardised=self.standardised(where, item.get("standardised") or {}, measures),
            filters=self.filters(where, item.get("filters") or {}),
            segment=self.segment(where, item.get("segment")),
            breakdown=self.breakdown(where, item.get("breakdown")),
        )

    def measures(self, where: str, value: Any, perspective: Any) -> list[str]:
        if not isinstance(value, list) or not value:
            self.problem(where, "measures: a non-empty list is needed (the first is the headline)")
            return []
        for m in value:
            measure = self.catalog.measures.get(m)
            if measure is None:
                self.problem(where, f"unknown measure {m!r}")
            elif perspective not in measure.perspectives:
                self.problem(where, f"measure {m!r} is not in perspective {perspective!r}")
        return [str(m) for m in value]

    def standardised(self, where: str, value: Any, measures: list[str]) -> dict[str, str]:
        if not isinstance(value, dict):
            self.problem(where, "standardised: a mapping measure → standardised measure is needed")
            return {}
        for crude, std in value.items():
            if crude not in measures:
                self.problem(where, f"standardised: {crude!r} is not one of the variant's measures")
            twin = self.catalog.measures.get(std)
            if twin is None or twin.derived != DerivedKind.STANDARDISED_RATE:
                self.problem(where, f"standardised: {std!r} is not a standardised rate")
        return {str(k): str(v) for k, v in value.items()}

    def filters(self, where: str, value: Any) -> Mapping[str, tuple[object, ...]]:
        if not isinstance(value, dict):
            self.problem(where, "filters: a mapping dimension → list of values is needed")
            return {}
        for dimension in value:
            if dimension not in self.catalog.dimensions:
                self.problem(where, f"filters: unknown dimension {dimension!r}")
            elif dimension in PAGE_FILTERS:
                self.problem(where, f"filters: {dimension!r} is chosen on the page; a report may not fix it")
        return {str(k): tuple(v if isinstance(v, list) else [v]) for k, v in value.items()}

    def segment(self, where: str, value: Any) -> str | None:
        if value is not None and value not in self.catalog.segments:
            self.problem(where, f"unknown segment {value!r}")
        return str(value) if value is not None else None

    def breakdown(self, where: str, value: Any) -> str | None:
        if value is None:
            return None
        if value not in self.catalog.dimensions or value in PAGE_FILTERS:
            self.problem(where, f"breakdown: {value!r} is not a dimension a report can split by")
        return str(value)
