"""The semantic model: what users ask for, declared as data and read by small engines.

Vocabulary (metricflow-like, in KØS words):

* a **source** is one table of a release (a fact, a person-year table or a cube) with the
  *attributes* it carries (``year``, ``kommunekode``, ``age`` …) and the *measure inputs* it can
  aggregate;
* a **dimension** is something to group or filter by; it needs one or more attributes and may map
  them through a lookup table (``age`` → KØS age band) or a neutral SQL expression;
* a **measure** is a number users see; it is *base* (an aggregate with one definition per source
  that can answer it) or *derived* (a rate per 1,000 citizens, a per-citizen amount, a share or a
  directly standardised rate);
* a **perspective** groups the measures of one area (somatik, psykiatri, …) and may fix a filter
  (sector = psykiatri) on every source it reads;
* a **segment** is a population filter defined on a person-year table, usable with any
  perspective: "citizens 65+ receiving home care in the year".

Every element carries Danish and English labels and a description; ``downloadable: false`` marks
view-only elements, which exports and the API leave out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

import sqlglot.expressions as exp


@dataclass(frozen=True)
class Label:
    da: str
    en: str

    def get(self, language: str) -> str:
        return self.en if language == "en" else self.da


class SourceKind(StrEnum):
    FACT = "fact"  # one row per event; exact distinct persons by COUNT(DISTINCT person)
    PERSON_YEAR = "person_year"  # one row per person, year (and a small grouping)
    POPULATION = "population"  # counts of residents; the count is its own disclosure base
    # One row per person, year (and month), municipality, sex and age of residence: the persons at
    # risk behind a persons rate. Public like resident counts, unless a segment restricts them.
    RESIDENTS = "residents"


class Aggregation(StrEnum):
    COUNT = "count"  # rows (optionally where …)
    SUM = "sum"  # sum of an expression
    PERSONS = "persons"  # exact distinct persons (optionally where …)
    AVERAGE_POPULATION = "average_population"  # sum of resident counts / months in the cell
    # Citizen-time: the sum of resident counts over the cell's months / the months of one time
    # unit of the rate (12, 3 or 1): citizen-years, -quarters or -months.
    POPULATION_TIME = "population_time"
    # Distinct persons counted once per time unit of the rate they appear in (optionally where …):
    # person-years, -quarters or -months. Over one unit, the distinct persons.
    PERSON_UNITS = "person_units"
    # Persons at risk from a table of resident counts that lists by person only those who would
    # otherwise count twice (``residents_month``): the counts plus the distinct person-units.
    RESIDENTS = "residents"


class Noise(StrEnum):
    """How consistent perturbation (the cell-key method, decision 0006) treats an aggregate."""

    COUNT = "count"  # persons, events and sums of counts: the count perturbation table
    MAGNITUDE = "magnitude"  # kroner, days, hours, weeks: noise scaled by the largest contribution
    NONE = "none"  # public figures (resident counts from Statistics Denmark): published exactly


# Companion columns of a summed column ``c`` in a person-year table (koes.etl.derive.person_year):
KEY_PREFIX = "k_"  # sum of the record keys of the events behind c, modulo 2**bits
EVENTS_PREFIX = "e_"  # how many events contribute to c (a person is behind c when it is above 0)
LARGEST_PREFIX = "x_"  # the largest absolute value of one of those events (magnitudes)


class TimeUnit(StrEnum):
    """The time unit of a rate: the request's finest time dimension (month, quarter), else year."""

    YEAR = "aar"
    QUARTER = "kvartal"
    MONTH = "maaned"

    @property
    def months(self) -> int:
        return {TimeUnit.YEAR: 12, TimeUnit.QUARTER: 3, TimeUnit.MONTH: 1}[self]

    @property
    def per(self) -> Label:
        """How a rate's label says its unit: "pr. år" / "per year"."""
        return {
            TimeUnit.YEAR: Label("pr. år", "per year"),
            TimeUnit.QUARTER: Label("pr. kvartal", "per quarter"),
            TimeUnit.MONTH: Label("pr. måned", "per month"),
        }[self]


TIME_DIMENSIONS = frozenset(TimeUnit)  # the catalog's time dimensions, by id: one per time unit

# The catalog's special ids, which the planner, the assembly and the pages rely on (the loader checks
# that the catalog declares them). The citizens measure: the denominator of rates over the cross-section.
CITIZENS = "borgere"
STANDARD_STRATA = ("koen", "aldersgruppe_5")  # the dimensions a standardised rate is stratified by
# The denominators of rates over time: catalog measures in no perspective, so never offered.
CITIZEN_TIME = "borgertid"  # of events and amounts: citizen-years (-quarters, -months)
AT_RISK = "borgere_i_risiko"  # of persons: the persons who could be counted, once per time unit
# Members given by the population a request is restricted to (a cohort's groups), not by the release:
# such a dimension has no attributes of any source, and a request may use it only with a population.
POPULATION_MEMBERS = "population"
PER_PLACEHOLDER = "{per}"  # where a rate's label names its time unit (koes.semantic.loader)


class DerivedKind(StrEnum):
    RATE = "rate"  # numerator per `per` citizens of the same cross-section
    PER_CITIZEN = "per_citizen"  # numerator per citizen (amounts)
    SHARE = "share"  # numerator / denominator measure, as a percentage
    STANDARDISED_RATE = "standardised_rate"  # direct age/sex standardisation, with 95 % CI


class Unit(StrEnum):
    COUNT = "antal"
    PERSONS = "personer"
    KR = "kr"
    DAYS = "dage"
    HOURS = "timer"
    WEEKS = "uger"
    RATE = "pr_1000"
    PERCENT = "pct"
    KR_PER_CITIZEN = "kr_pr_borger"


MAGNITUDE_UNITS = frozenset({Unit.KR, Unit.DAYS, Unit.HOURS, Unit.WEEKS})


@dataclass(frozen=True)
class Lookup:
    """Map a fact attribute to a dimension value through a release table (``dim_age.band_koes``)."""

    table: str
    key: str
    value: str
    # A versioned lookup (regions, koes.query.geography) holds each key's value for a span of years
    # in ``first_year``/``last_year`` columns: joined on the event's year (as it was) or one year.
    versioned: bool = False

    @property
    def columns(self) -> frozenset[str]:
        extra = {VERSION_FIRST, VERSION_LAST} if self.versioned else set()
        return frozenset({self.key, self.value, *extra})


VERSION_FIRST = "first_year"
VERSION_LAST = "last_year"


@dataclass(frozen=True)
class MemberSource:
    """Where a dimension's members (values and labels) come from, for filters and headers."""

    kind: str  # code_list | refdata | age_bands | period | inline | preventable_groups | release
    name: str = ""
    values: Mapping[str, Label] = field(default_factory=dict)  # for inline members


@dataclass(frozen=True)
class Dimension:
    id: str
    label: Label
    description: str
    attributes: tuple[str, ...]
    members: MemberSource
    lookup: Lookup | None = None
    expr: exp.Expr | None = None  # over `attributes`, when not a plain attribute or lookup
    value_type: str = "str"  # str | int | bool
    downloadable: bool = True
    group: str = ""  # for the UI: tid, geografi, person, …
    # A table lists every member, one without events as a true 0 (a municipality with no admissions
    # is a row of zeros, not a missing row). False for long lists, where only members with events show.
    all_members: bool = True

    @property
    def attribute(self) -> str:
        return self.attributes[0]


@dataclass(frozen=True)
class MeasureInput:
    """How one source computes a base measure."""

    aggregation: Aggregation
    expr: exp.Expr | None = None  # what to sum; None for count/persons
    where: exp.Expr | None = None  # rows that count

    def noise(self, unit: Unit) -> Noise:
        """Resident counts are public; a sum in kroner, days, hours or weeks is a magnitude; every
        other count of persons or events is a count."""
        if self.aggregation in (Aggregation.AVERAGE_POPULATION, Aggregation.POPULATION_TIME, Aggregation.RESIDENTS):
            return Noise.NONE
        if self.aggregation is Aggregation.SUM and unit in MAGNITUDE_UNITS:
            return Noise.MAGNITUDE
        return Noise.COUNT

    @property
    def summed_column(self) -> str:
        """The column a person-year input sums (such inputs sum one column, whose companions carry
        its record keys); ValueError for anything else."""
        if self.aggregation is not Aggregation.SUM or not isinstance(self.expr, exp.Column):
            raise ValueError("a person-year input must sum one column")
        return str(self.expr.name)


@dataclass(frozen=True)
class Source:
    id: str
    table: str
    kind: SourceKind
    label: Label
    attributes: Mapping[str, str]  # attribute → column of `table`
    person: str | None  # the person column, for exact distinct persons and segments
    priority: int  # lower is smaller/faster; the planner tries sources in this order
    time_grain: str  # month | year: the finest period a filter can cut
    description: str = ""
    record_key: str | None = None  # a fact's column holding each event's record key
    # Resident counts per this time unit only (persons at risk by quarter): it answers rates per it.
    unit: TimeUnit | None = None

    def has(self, attribute: str) -> bool:
        return attribute in self.attributes


@dataclass(frozen=True)
class Measure:
    id: str
    label: Label
    description: str
    unit: Unit
    perspectives: tuple[str, ...]
    inputs: Mapping[str, MeasureInput] = field(default_factory=dict)  # source id → how
    derived: DerivedKind | None = None
    numerator: str | None = None
    denominator: str | None = None
    per: int = 1000
    downloadable: bool = True
    decimals: int = 0
    label_template: Label | None = None  # a rate's label with PER_PLACEHOLDER for its time unit
    time_unit: TimeUnit | None = None  # set in a plan: the time unit a rate is expressed in
    # The last year the measure means something (co-financing ends with 2026: the rule table's last
    # activity or shadow rule); a cell with a later year says "ikke relevant efter <year>", not 0.
    applies_until: int | None = None

    @property
    def is_base(self) -> bool:
        return self.derived is None

    @property
    def over_time(self) -> bool:
        """A rate over time (per 1,000 citizens, per citizen, standardised): events or persons per
        citizen and time unit. A share is not."""
        return self.derived in (DerivedKind.RATE, DerivedKind.PER_CITIZEN, DerivedKind.STANDARDISED_RATE)

    @property
    def counts_persons(self) -> bool:
        """A base measure that counts distinct persons from every source."""
        return bool(self.inputs) and all(i.aggregation is Aggregation.PERSONS for i in self.inputs.values())

    def in_unit(self, unit: TimeUnit) -> Label:
        """The label of a rate over time expressed per ``unit``."""
        template = self.label_template or self.label
        return Label(
            template.da.replace(PER_PLACEHOLDER, unit.per.da), template.en.replace(PER_PLACEHOLDER, unit.per.en)
        )

    @property
    def additive(self) -> bool:
        return self.is_base and all(i.aggregation in (Aggregation.COUNT, Aggregation.SUM) for i in self.inputs.values())


@dataclass(frozen=True)
class Perspective:
    id: str
    label: Label
    description: str
    filters: Mapping[str, tuple[str, ...]]  # attribute → allowed values, on every source that has it
    default_measures: tuple[str, ...]


@dataclass(frozen=True)
class Condition:
    """One comparison in a segment definition: ``column op value``."""

    column: str
    op: str  # = != > >= < <= in
    value: object


@dataclass(frozen=True)
class Segment:
    id: str
    label: Label
    description: str
    source: str  # a person-year source id
    conditions: tuple[Condition, ...]


@dataclass(frozen=True)
class SimilarMunicipalities:
    """How the comparison's group of similar municipalities is chosen."""

    method: str  # nearest_population
    count: int


@dataclass(frozen=True)
class Catalog:
    dimensions: Mapping[str, Dimension]
    sources: Mapping[str, Source]
    measures: Mapping[str, Measure]
    perspectives: Mapping[str, Perspective]
    segments: Mapping[str, Segment]
    similar: SimilarMunicipalities
    standard_population_year: int

    def measures_of(self, perspective: str) -> tuple[Measure, ...]:
        return tuple(m for m in self.measures.values() if perspective in m.perspectives)

    def sources_by_priority(self) -> tuple[Source, ...]:
        return tuple(sorted(self.sources.values(), key=lambda s: (s.priority, s.id)))

    def dimensions_in(self, source: Source) -> tuple[Dimension, ...]:
        return tuple(d for d in self.dimensions.values() if all(source.has(a) for a in d.attributes))
