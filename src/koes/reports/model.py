"""What a Standard report is: variants of one subject, each a perspective with its measures.

A report shows one *headline measure* at a time (the map, the time series and the comparison), and
the table of all the variant's measures by municipality. A variant is what the report-specific
choice picks (a sector, a chronic condition, a service group …); every variant of a report has
its own perspective, measures and fixed filters, so e.g. co-financing can be shown for somatics,
psychiatry and practice alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from koes.semantic.model import Label


class SeriesKind(StrEnum):
    TREND = "trend"  # the municipality, its region, the country and similar ones, month by month
    YEAR_TO_DATE = "year_to_date"  # the municipality's running total this year against last year


@dataclass(frozen=True)
class Series:
    kind: SeriesKind
    grain: str  # a time dimension id: maaned or aar


@dataclass(frozen=True)
class Variant:
    id: str
    label: Label
    perspective: str
    measures: tuple[str, ...]  # the first is the headline measure
    standardised: Mapping[str, str] = field(default_factory=dict)  # measure → its age/sex-standardised twin
    filters: Mapping[str, tuple[object, ...]] = field(default_factory=dict)
    segment: str | None = None
    breakdown: str | None = None  # a dimension to split the headline measure by, areas against each other

    @property
    def headline(self) -> str:
        return self.measures[0]


@dataclass(frozen=True)
class Report:
    id: str
    title: Label
    description: Label
    variants: tuple[Variant, ...]
    series: Series
    age: str | None  # the age dimension offered as a filter (None: no age filter)
    choice_label: Label | None  # what the variant choice is called on the page ("Sektor", "Sygdom" …)

    def variant(self, variant_id: str | None) -> Variant:
        """The chosen variant, or the first one."""
        for v in self.variants:
            if v.id == variant_id:
                return v
        return self.variants[0]


@dataclass(frozen=True)
class ReportBook:
    reports: Mapping[str, Report]

    def get(self, report_id: str) -> Report | None:
        return self.reports.get(report_id)
