"""Immutable plan nodes: what to aggregate from which source, before any scope or SQL.

A ``Plan`` is a few ``AggregateQuery`` nodes (the measures, the citizens behind rates, the strata
of a standardised rate), each answered by one source with GROUPING SETS for the margins. Plans
know nothing of users; ``koes.query.scope`` turns a plan into a ``ScopedPlan``, and only a scoped
plan can become SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, StrEnum
from typing import Any

from koes.query.geography import AS_IT_WAS_CHOICE, GeographyChoice
from koes.query.request import AnalysisRequest, Period
from koes.semantic.model import Dimension, Measure, MeasureInput, Noise, Segment, Source, TimeUnit


@dataclass(frozen=True)
class MeasureColumn:
    """One aggregate column: the value of a base measure, the persons behind it and the record-key
    sums and largest contribution that consistent perturbation needs (``koes.query.sql``)."""

    measure: str
    spec: MeasureInput
    noise: Noise = Noise.COUNT


class BaseCount(Enum):
    """How the disclosure base of a summed or counted measure is counted (``n_`` columns)."""

    PERSONS = "persons"  # COUNT(DISTINCT person): exact, and the dearest aggregate there is
    ROWS = "rows"  # the rows that add to the measure: cheap, and never fewer than the persons


class QueryRole(StrEnum):
    """What an aggregate query's rows are for: only ``VALUES`` rows are cells that disclosure control reads."""

    VALUES = "values"  # the measures asked for
    CITIZENS = "citizens"  # the citizens behind rates over the cross-section
    STRATA = "strata"  # a standardised measure per stratum
    CITIZEN_STRATA = "citizen_strata"  # the citizens per stratum, the standardised rate's denominator


class AreaId(StrEnum):
    """The comparison areas, in the id the API and the pages show for each area row."""

    KOMMUNE = "kommune"  # the own municipality
    REGION = "region"  # its region (as it was, or as it is)
    LAND = "land"  # the whole country
    LIGNENDE = "lignende"  # the municipalities nearest in population size


# Rows where at least one of these dimensions (by id) takes one of its listed values.
Narrowing = tuple[tuple[str, tuple[Any, ...]], ...]


@dataclass(frozen=True)
class Area:
    """A comparison area: own municipality, its region, the country, similar municipalities."""

    id: AreaId
    kommuner: frozenset[int]
    label_da: str
    label_en: str
    # A region "as it was" changes members over time: (first year, last year, municipalities) runs,
    # each event counted only in its year's run. Empty: ``kommuner`` in every year.
    by_year: tuple[tuple[int, int, frozenset[int]], ...] = ()


POPULATION_TABLE = "population"  # the name the service registers a population's table under, per query
POPULATION_PERSON = "person_id"  # its columns: the release's person id …
POPULATION_GROUP = "gruppe"  # … the person's group (NULL where none was given)
POPULATION_INDEX_MONTH = "index_month"  # … and the month of its index date, year * 12 + month (NULL: none)


@dataclass(frozen=True)
class Population:
    """A population given beside the release for one request (a cohort): only its persons count.

    The service registers a table ``POPULATION_TABLE`` of person ids (one row per person) with an
    optional group, next to the release, for each query of the plan; the SQL joins the facts to it,
    so the population narrows every query (values, citizens, strata) and widens none. The scope
    rewrite still applies: a person of the population outside the scope counts nowhere."""

    id: str
    groups: tuple[str, ...] = ()  # the groups, in display order (the members of a population dimension)
    months: tuple[int, ...] = ()  # months relative to the index date a table lists (-12 … 12)

    def members_of(self, column: str) -> tuple[Any, ...]:
        """The members a table lists of the population dimension over ``column``."""
        return self.months if column == POPULATION_INDEX_MONTH else self.groups


@dataclass(frozen=True)
class AggregateQuery:
    role: QueryRole
    source: Source
    dimensions: tuple[Dimension, ...]  # everything grouped by in any grouping set
    grouping_sets: tuple[tuple[str, ...], ...]  # dimension ids
    measures: tuple[MeasureColumn, ...]
    filters: tuple[tuple[Dimension, tuple[Any, ...]], ...]
    fixed: tuple[tuple[str, tuple[str, ...]], ...]  # perspective filters: attribute → values
    period: Period
    segment: Segment | None
    segment_source: Source | None
    area: Area | None = None
    strata: tuple[Dimension, ...] = ()  # added to every grouping set, aliased apart from `dimensions`
    base_count: BaseCount = BaseCount.PERSONS
    narrowing: Narrowing | None = None  # only rows with one of these values (None: every row)
    time_unit: TimeUnit = TimeUnit.YEAR  # of person-units and citizen-time (the plan's rates)
    geography: GeographyChoice = AS_IT_WAS_CHOICE  # which regions a region lookup joins (as it was)
    population: Population | None = None  # only the persons of this population count


@dataclass(frozen=True)
class Plan:
    request: AnalysisRequest
    period: Period
    rows: tuple[Dimension, ...]
    columns: tuple[Dimension, ...]
    measures: tuple[Measure, ...]  # requested, in order
    base_measures: tuple[Measure, ...]  # requested or needed by a derived one
    queries: tuple[AggregateQuery, ...]
    areas: tuple[Area, ...] = ()  # comparison areas, in row order
    time_unit: TimeUnit = TimeUnit.YEAR  # rates over time are per citizen and this unit
    geography: GeographyChoice = AS_IT_WAS_CHOICE  # the regions a region split, filter or area uses
    population: Population | None = None  # the request's population (its cohort), if any
