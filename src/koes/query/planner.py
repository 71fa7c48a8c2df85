"""Plan a request: route each measure to the smallest source that answers it.

Routing rules, in order:

1. a source can answer a base measure if the measure declares an input for it, the source has
   every attribute the request groups or filters by, it can cut the period (year-grain sources
   only take whole years) and it can apply the segment or cohort (it has a person column);
2. among those, the lowest ``priority`` wins (population counts, then person-year tables, then
   the raw facts), so yearly per-municipality questions never scan events;
3. rates and per-citizen amounts add a *citizens* query over the same cross-section (the
   dimensions the denominator's sources have; a diagnosis chapter, say, does not split citizens);
4. a standardised rate adds the same two queries split by sex and 5-year age group (*strata*).

Person counts are always exact distinct counts: answers never depend on the route.

Rates over time (rates per 1,000, per-citizen amounts, standardised rates) are per citizen and
*time unit*: per month or quarter when the request is split by month or quarter, else per year,
never per a unit the period cuts through (``time_unit_of``).
A rate of events or amounts divides by the cell's citizen-time (``borgertid``: citizen-years
over several years, so a total over 2022–2024 is the average year, not the sum of three). A rate
of persons counts each person once per time unit (person-years: the same ``where``, aggregated
``person_units``) and divides by the persons who could be counted (``borgere_i_risiko``: everyone
who lived in the cell's municipality, with its sex and age, some day of each unit), so it never
exceeds 1,000. The plan carries each rate rewritten that way, with its label naming the unit.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass

from koes.domain.geography import Geography
from koes.query.geography import GeographyChoice, own_region, resolve
from koes.query.plan import AggregateQuery, Area, AreaId, MeasureColumn, Plan, Population, QueryRole
from koes.query.request import AnalysisRequest, FieldProblem, Period, RequestError
from koes.semantic.model import (
    AT_RISK,
    CITIZEN_TIME,
    POPULATION_MEMBERS,
    STANDARD_STRATA,
    TIME_DIMENSIONS,
    Aggregation,
    Catalog,
    DerivedKind,
    Dimension,
    Measure,
    MeasureInput,
    Noise,
    Source,
    SourceKind,
    TimeUnit,
)

DENOMINATORS = frozenset({CITIZEN_TIME, AT_RISK})  # of rates over time: queried as citizens


@dataclass(frozen=True)
class Municipality:
    code: int
    name: str
    region: int
    population: int


@dataclass(frozen=True)
class PlanContext:
    """What the planner needs to know about the release and the country, nothing about users."""

    years: tuple[int, ...]
    municipalities: Mapping[int, Municipality]
    regions: Mapping[int, str]
    home_municipality: int | None = None
    # Versioned regions (koes.domain.geography); None: each municipality's ``region`` in every year.
    geography: Geography | None = None
    # The request's population (its cohort), given by the service that will register its table.
    population: Population | None = None


def plan_request(request: AnalysisRequest, catalog: Catalog, context: PlanContext) -> Plan:
    population = _population(request, context)
    period = _period(request, context)
    rows = tuple(catalog.dimensions[d] for d in request.rows)
    columns = tuple(catalog.dimensions[d] for d in request.columns)
    unit = time_unit_of(request, period)
    requested = tuple(catalog.measures[m] for m in request.measures)
    measures = tuple(in_plan(m, catalog, unit) for m in requested)
    base = _base_measures(requested, catalog, unit)
    geography = resolve(request.geography, context.years)
    areas = _areas(request, context, catalog.similar.count, period, geography)
    planner = _Planner(request, catalog, period, unit, base, geography, population)
    queries: list[AggregateQuery] = []
    for area in areas or (None,):
        queries.extend(planner.queries(rows + columns, base, measures, area))
    return Plan(request, period, rows, columns, measures, base, tuple(queries), areas, unit, geography, population)


def _population(request: AnalysisRequest, context: PlanContext) -> Population | None:
    """The population the request names; a request without one must not get one (and the reverse)."""
    population = context.population
    if request.cohort is None:
        if population is not None:
            raise ValueError("a population was given for a request that names none")
        return None
    if population is None or population.id != request.cohort:
        raise RequestError([FieldProblem("cohort", f"unknown cohort {request.cohort!r}", "cohort_unknown")])
    return population


def time_unit_of(request: AnalysisRequest, period: Period) -> TimeUnit:
    """The time unit of the request's rates: its finest time dimension (month, quarter), else a
    year; but never a unit the period cuts through: a period of whole quarters that are not whole
    years is per quarter at most, any other per month."""
    grouped = set(request.rows) | set(request.columns)
    units = (TimeUnit.YEAR, TimeUnit.QUARTER, TimeUnit.MONTH)
    finest = max((units.index(u) for u in units if u.value in grouped and u is not TimeUnit.YEAR), default=0)
    return next(u for u in units[finest:] if _whole(period, u))


def _whole(period: Period, unit: TimeUnit) -> bool:
    """Whether the period starts and ends on the boundaries of ``unit``."""
    return (period.first % 100 - 1) % unit.months == 0 and period.last % 100 % unit.months == 0


def rate_inputs(measure: Measure, catalog: Catalog, unit: TimeUnit) -> tuple[Measure, Measure]:
    """What a rate over time divides by what, per ``unit`` (module docstring): a persons measure
    counted once per unit over the persons at risk, else the numerator over citizen-time."""
    assert measure.over_time and measure.numerator is not None
    numerator = catalog.measures[measure.numerator]
    if numerator.counts_persons:
        return per_unit(numerator, unit), catalog.measures[AT_RISK]
    return numerator, catalog.measures[CITIZEN_TIME]


def per_unit(measure: Measure, unit: TimeUnit) -> Measure:
    """A persons measure counted once per time unit a person appears in (person-years, -months)."""
    inputs = {s: MeasureInput(Aggregation.PERSON_UNITS, None, i.where) for s, i in measure.inputs.items()}
    return dataclasses.replace(measure, id=f"{measure.id}__{unit.value}", perspectives=(), inputs=inputs)


def in_plan(measure: Measure, catalog: Catalog, unit: TimeUnit) -> Measure:
    """The measure as the plan computes it: a rate over time rewritten per ``unit``, labelled so."""
    if not measure.over_time:
        return measure
    numerator, denominator = rate_inputs(measure, catalog, unit)
    return dataclasses.replace(
        measure, label=measure.in_unit(unit), time_unit=unit, numerator=numerator.id, denominator=denominator.id
    )


def _period(request: AnalysisRequest, context: PlanContext) -> Period:
    if not context.years:
        raise RequestError([FieldProblem("period", "the release holds no data")])
    if request.period is None:
        year = max(context.years)
        return Period(year * 100 + 1, year * 100 + 12)
    first, last = min(context.years), max(context.years)
    if request.period.first // 100 < first or request.period.last // 100 > last:
        raise RequestError(
            [
                FieldProblem(
                    "period",
                    f"{request.period} is outside the release, which holds {first}–{last}",
                    "period_outside",
                    (("period", str(request.period)), ("release", f"{first}–{last}")),
                )
            ]
        )
    return request.period


def available_dimensions(
    measure_ids: tuple[str, ...], catalog: Catalog, *, population: bool = False
) -> tuple[Dimension, ...]:
    """The dimensions every one of the measures can be split by: for each measure behind them (a
    derived measure's numerator and denominator), some source of it carries the dimension's
    attributes. Citizens do not restrict a rate (rule 3). What the Analysis builder offers for
    rows, columns and filters, so a choice it offers can be routed (rule 1). The dimensions of a
    population (a cohort's groups and months) are among them only with ``population``."""
    behind: dict[str, Measure] = {}
    for measure_id in measure_ids:
        measure = catalog.measures[measure_id]
        refs = (measure.id,) if measure.is_base else (measure.numerator, measure.denominator)
        behind.update({r: catalog.measures[r] for r in refs if r is not None})
    return tuple(
        d
        for d in catalog.dimensions.values()
        if (population or d.members.kind != POPULATION_MEMBERS)  # a population's dimensions need one
        and all(any(all(catalog.sources[s].has(a) for a in d.attributes) for s in m.inputs) for m in behind.values())
    )


def _base_measures(requested: tuple[Measure, ...], catalog: Catalog, unit: TimeUnit) -> tuple[Measure, ...]:
    """The base measures the requested ones need (catalog measures, as requested)."""
    out: dict[str, Measure] = {}
    for measure in requested:
        if measure.is_base:
            out[measure.id] = measure
        elif measure.over_time:
            for needed in rate_inputs(measure, catalog, unit):
                out.setdefault(needed.id, needed)
        else:
            for ref in (measure.numerator, measure.denominator):
                if ref is not None:
                    out.setdefault(ref, catalog.measures[ref])
    return tuple(out.values())


class _Planner:
    def __init__(
        self,
        request: AnalysisRequest,
        catalog: Catalog,
        period: Period,
        unit: TimeUnit,
        base: tuple[Measure, ...],
        geography: GeographyChoice,
        population: Population | None = None,
    ) -> None:
        self.geography = geography
        self.request = request
        self.population = population
        self.catalog = catalog
        self.period = period
        self.unit = unit
        self.base = {m.id: m for m in base}
        self.perspective = catalog.perspectives[request.perspective]
        self.segment = catalog.segments[request.segment] if request.segment else None
        self.filters = tuple((catalog.dimensions[d], values) for d, values in request.filters)

    def queries(
        self,
        dimensions: tuple[Dimension, ...],
        base: tuple[Measure, ...],
        requested: tuple[Measure, ...],
        area: Area | None,
    ) -> list[AggregateQuery]:
        out: list[AggregateQuery] = []
        by_source: dict[str, list[Measure]] = {}
        for measure in (m for m in base if m.id not in DENOMINATORS):
            source = self._route(measure, dimensions, self.filters, repr(measure.id))
            by_source.setdefault(source.id, []).append(measure)
        for source_id, measures in by_source.items():
            out.append(
                self._query(QueryRole.VALUES, self.catalog.sources[source_id], dimensions, measures, self.filters, area)
            )
        for measure in (m for m in base if m.id in DENOMINATORS):
            out.append(self._citizens(QueryRole.CITIZENS, measure, dimensions, area))
        standardised = [m for m in requested if m.derived is DerivedKind.STANDARDISED_RATE]
        if standardised:
            strata = tuple(self.catalog.dimensions[d] for d in STANDARD_STRATA)
            for numerator in dict.fromkeys(m.numerator for m in standardised if m.numerator):
                measure = self.base[numerator]
                what = f"{measure.id!r} (standardised by sex and age)"
                source = self._route(measure, dimensions + strata, self.filters, what)
                out.append(self._query(QueryRole.STRATA, source, dimensions, [measure], self.filters, area, strata))
            for denominator in dict.fromkeys(m.denominator for m in standardised if m.denominator):
                out.append(self._citizens(QueryRole.CITIZEN_STRATA, self.base[denominator], dimensions, area, strata))
        return out

    def _citizens(
        self,
        role: QueryRole,
        measure: Measure,
        dimensions: tuple[Dimension, ...],
        area: Area | None,
        strata: tuple[Dimension, ...] = (),
    ) -> AggregateQuery:
        """The denominator of rates over the cross-section: split by every dimension some source of
        ``measure`` carries (time, municipality, sex, age), not by the others (diagnosis, sector)."""
        kept = tuple(
            d
            for d in dimensions
            if any(all(self.catalog.sources[s].has(a) for a in d.attributes) for s in measure.inputs)
        )
        try:
            source = self._route(measure, kept + strata, (), "citizens")
        except RequestError:
            time = [d.id for d in kept if d.id in TIME_DIMENSIONS and d.id != TimeUnit.YEAR]
            if not self._by_person or not time:
                raise
            raise RequestError(
                [
                    FieldProblem(
                        "rows",
                        f"citizens in a segment or cohort are counted per year; group by 'aar', not {time}",
                        "segment_time",
                    )
                ]
            ) from None
        filters = tuple((d, v) for d, v in self.filters if all(source.has(a) for a in d.attributes))
        return self._query(role, source, kept, [measure], filters, area, strata)

    def _query(
        self,
        role: QueryRole,
        source: Source,
        dimensions: tuple[Dimension, ...],
        measures: list[Measure],
        filters: tuple[tuple[Dimension, tuple[object, ...]], ...],
        area: Area | None,
        strata: tuple[Dimension, ...] = (),
    ) -> AggregateQuery:
        ids = tuple(d.id for d in dimensions)
        rows = tuple(d for d in self.request.rows if d in ids)
        cols = tuple(d for d in self.request.columns if d in ids)
        fixed = tuple((a, v) for a, v in self.perspective.filters.items() if source.has(a))
        return AggregateQuery(
            role=role,
            source=source,
            dimensions=dimensions,
            grouping_sets=_grouping_sets(rows, cols),
            measures=tuple(MeasureColumn(m.id, m.inputs[source.id], self._noise(m, source)) for m in measures),
            filters=filters,
            fixed=fixed,
            period=self.period,
            segment=self.segment,
            segment_source=self.catalog.sources[self.segment.source] if self.segment else None,
            area=area,
            strata=strata,
            time_unit=self.unit,
            geography=self.geography,
            population=self.population,
        )

    @property
    def _by_person(self) -> bool:
        """Whether the request picks persons (a segment or a population): only sources with a
        person column can answer it, and who lived where is no longer public."""
        return self.segment is not None or self.population is not None

    def _noise(self, measure: Measure, source: Source) -> Noise:
        """Who lived where is public, like the resident counts; within a segment or cohort it is not."""
        if source.kind is SourceKind.RESIDENTS and not self._by_person:
            return Noise.NONE
        return measure.inputs[source.id].noise(measure.unit)

    def _route(
        self,
        measure: Measure,
        dimensions: tuple[Dimension, ...],
        filters: tuple[tuple[Dimension, tuple[object, ...]], ...],
        what: str,
    ) -> Source:
        """The first source by priority that answers ``measure`` here; else a problem on `measures`."""
        needed = {a for d in dimensions for a in d.attributes} | {a for d, _ in filters for a in d.attributes}
        reasons: list[str] = []
        for source_id in sorted(measure.inputs, key=lambda s: (self.catalog.sources[s].priority, s)):
            source = self.catalog.sources[source_id]
            missing = sorted(needed - set(source.attributes))
            if missing:
                reasons.append(f"{source.id} lacks {', '.join(missing)}")
            elif source.time_grain == "year" and not self.period.whole_years:
                reasons.append(f"{source.id} holds whole years only")
            elif self._by_person and (source.person is None or source.kind is SourceKind.POPULATION):
                reasons.append(f"{source.id} cannot apply a segment or cohort")
            elif source.unit is not None and source.unit is not self.unit:
                reasons.append(f"{source.id} counts residents per {source.unit.value} only")
            else:
                return source
        unavailable = [
            d.id
            for d in dimensions
            if not any(all(self.catalog.sources[s].has(a) for a in d.attributes) for s in measure.inputs)
        ]
        if unavailable:
            message, code = f"not available by {', '.join(repr(d) for d in unavailable)}", "not_available"
        else:
            message, code = "no source can answer this combination (" + "; ".join(reasons) + ")", "no_source"
        params = (("measure", measure.id), ("dimensions", ",".join(unavailable)))
        raise RequestError([FieldProblem("measures", f"{what} is {message}", code, params)])


def _grouping_sets(rows: tuple[str, ...], cols: tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
    """Cells, row totals, column totals and the grand total, without repeats."""
    return tuple(dict.fromkeys((rows + cols, rows, cols, ())))


def _areas(
    request: AnalysisRequest, context: PlanContext, similar_count: int, period: Period, geography: GeographyChoice
) -> tuple[Area, ...]:
    if not request.comparison:
        return ()
    if request.filter_values("kommune") is not None:
        # Each area is its own set of municipalities; a municipality filter would empty or shrink
        # the others (an area shown as 0, or as the filtered municipality's figures).
        raise RequestError(
            [
                FieldProblem(
                    "filters.kommune",
                    "a comparison chooses its own municipalities: name the municipality in the comparison, "
                    "not as a filter",
                    "comparison_with_kommune",
                )
            ]
        )
    code = request.comparison_municipality or context.home_municipality
    own = context.municipalities.get(code) if code is not None else None
    if own is None:
        raise RequestError(
            [
                FieldProblem(
                    "comparison",
                    'name the municipality to compare: {"municipality": <kommunekode>}',
                    "comparison_municipality",
                )
            ]
        )
    similar = _similar(own, context, similar_count)
    return (
        Area(AreaId.KOMMUNE, frozenset({own.code}), own.name, own.name),
        _region_area(own, context, period, geography),
        Area(AreaId.LAND, frozenset(context.municipalities), "Hele landet", "Denmark"),
        Area(AreaId.LIGNENDE, similar, "Sammenlignelige kommuner", "Similar municipalities"),
    )


def _region_area(own: Municipality, context: PlanContext, period: Period, geography: GeographyChoice) -> Area:
    """The own region under the request's geography; as it was, the region of each year (its
    label names them in time order: "Region Hovedstaden → Region Østdanmark")."""
    if context.geography is None:
        region = frozenset(m.code for m in context.municipalities.values() if m.region == own.region)
        return Area(AreaId.REGION, region, context.regions[own.region], context.regions[own.region])
    area = own_region(context.geography, geography, own.code, period.years)
    names = [context.geography.region(code) for code in area.regions]
    label = " → ".join(r.name_da for r in names)  # regions go by their Danish names in both languages
    by_year = area.runs if len(area.runs) > 1 else ()
    return Area(AreaId.REGION, area.kommuner, label, label, by_year)


def _similar(own: Municipality, context: PlanContext, count: int) -> frozenset[int]:
    """The municipalities nearest in population size (on a log scale), the municipality itself excluded."""
    others = [m for m in context.municipalities.values() if m.code != own.code]
    size = math.log(max(own.population, 1))
    others.sort(key=lambda m: (abs(math.log(max(m.population, 1)) - size), m.code))
    return frozenset(m.code for m in others[:count])
