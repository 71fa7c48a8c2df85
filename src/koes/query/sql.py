"""SQL for a scoped query, built as SQLGlot trees and rendered per engine (DuckDB, Spark).

Every query has the same shape, chosen so that every dialect accepts it:

    SELECT d_<dim>…, s_<stratum>…, GROUPING(d_<dim>) AS g_<dim>…, <aggregates>
    FROM (SELECT <dimension expressions>, <person>, <raw columns>
          FROM <table> AS f [JOIN population AS c] LEFT JOIN <lookups>
          WHERE <scope> AND <period> AND <perspective> AND <filters> AND <segment>) AS t
    GROUP BY GROUPING SETS ((cells), (rows), (columns), ())

The inner query names its outputs so the GROUP BY lists are plain columns (no ``GROUP BY ALL``,
no positional references). A request restricted to a population (a cohort) joins the facts to the
population's table (one row per person, registered beside the release for the query): only its
persons' rows count, and its columns give dimensions (the group ``c.gruppe``; the month relative to
the person's index date, ``<year * 12 + month> - c.index_month``). Person counts are
``COUNT(DISTINCT …)``: exact on every engine.
Output columns: ``d_`` dimension values, ``g_`` grouping flags (1 = totalled), ``s_`` strata,
``m_`` measure values, ``n_`` the distinct persons behind a measure (the disclosure base), or,
for a query with ``BaseCount.ROWS``, the rows behind it (see ``koes.query.bases``); for the
cell-key method (decision 0006) ``k_`` the sum of the record keys of what the value counts (events,
or distinct persons for a person count), ``kn_`` that of the distinct persons behind a base, and
``x_`` a magnitude's largest single contribution. Sums of keys are taken modulo 2**bits later.

A count of person-units (person-years, -quarters, -months: ``Aggregation.PERSON_UNITS``) counts
distinct ``u_unit`` values, the person id plus the time unit's number shifted above every person
id. Shifted by a multiple of 2**bits, the unit leaves the person's record key in the low bits, so
the sum of the distinct units is the sum of their persons' keys, once per unit.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlglot.expressions as exp

from koes.query.geography import region_year
from koes.query.plan import (
    POPULATION_PERSON,
    POPULATION_TABLE,
    AggregateQuery,
    Area,
    BaseCount,
    MeasureColumn,
    Narrowing,
)
from koes.query.scope import ScopedQuery
from koes.semantic.loader import literal
from koes.semantic.model import (
    EVENTS_PREFIX,
    KEY_PREFIX,
    LARGEST_PREFIX,
    POPULATION_MEMBERS,
    VERSION_FIRST,
    VERSION_LAST,
    Aggregation,
    Dimension,
    MeasureInput,
    Noise,
    Source,
    SourceKind,
    TimeUnit,
)

FACT = "f"
SEGMENT = "s"
POPULATION = "c"
PERSON = "p_person"
UNIT = "u_unit"
UNIT_SHIFT = 1 << 44  # above every person id (serial * 2**16 + key, serials below 2**28)


def to_sql(scoped: ScopedQuery, dialect: str = "duckdb", *, pretty: bool = True) -> str:
    tree: exp.Expr = build(scoped)
    if dialect != "duckdb":  # DuckDB sums BIGINTs into a HUGEINT; Spark (ANSI) would overflow
        tree = tree.transform(_wide_unit_sum)
    return tree.sql(dialect=dialect, pretty=pretty)


def _wide_unit_sum(node: exp.Expr) -> exp.Expr:
    """``SUM(DISTINCT <units>)`` → ``SUM(DISTINCT CAST(<units> AS DECIMAL(38, 0)))``."""
    if isinstance(node, exp.Sum) and isinstance(node.this, exp.Distinct):
        (target,) = node.this.expressions
        if any(c.name == UNIT for c in target.find_all(exp.Column)):
            wide = exp.Cast(this=target.copy(), to=exp.DataType.build("DECIMAL(38, 0)"))
            return exp.Sum(this=exp.Distinct(expressions=[wide]))
    return node


def build(scoped: ScopedQuery) -> exp.Select:
    query = scoped.query
    inner = _inner(query, scoped.kommuner, scoped.everywhere)
    outer = exp.select(*_outer_columns(query)).from_(inner.subquery("t", copy=False), copy=False)
    sets = query.grouping_sets
    strata = [exp.column(f"s_{d.id}") for d in query.strata]
    if sets == ((),) and not strata:
        return outer
    grouping = exp.GroupingSets(
        expressions=[exp.Tuple(expressions=[*(exp.column(f"d_{d}") for d in s), *strata]) for s in sets]
    )
    return outer.group_by(grouping, copy=False)


def output_names(query: AggregateQuery) -> list[str]:
    return [str(c.alias_or_name) for c in _outer_columns(query)]


def _outer_columns(query: AggregateQuery) -> list[exp.Expr]:
    columns: list[exp.Expr] = [exp.column(f"d_{d.id}") for d in query.dimensions]
    columns += [exp.column(f"s_{d.id}") for d in query.strata]
    if query.grouping_sets != ((),):
        columns += [exp.alias_(exp.func("GROUPING", exp.column(f"d_{d.id}")), f"g_{d.id}") for d in query.dimensions]
    for column in query.measures:
        columns += _aggregates(column, query)
    return columns


def _aggregates(column: MeasureColumn, query: AggregateQuery) -> list[exp.Expr]:
    spec, name = column.spec, column.measure
    where = _outer(spec.where) if spec.where is not None else None
    person = exp.column(PERSON)
    if spec.aggregation in (Aggregation.AVERAGE_POPULATION, Aggregation.POPULATION_TIME):
        assert spec.expr is not None
        # Divided by the months of the cell or of its time unit after the query (koes.query.assemble).
        return [exp.alias_(exp.func("SUM", _outer(spec.expr)), f"m_{name}")]
    if spec.aggregation is Aggregation.PERSON_UNITS:
        if _single_unit(query):  # each person once: a count of distinct persons
            return _person_units(column, where, person, person)
        return _person_units(column, where, exp.column(UNIT), person)
    if spec.aggregation is Aggregation.RESIDENTS:
        assert spec.expr is not None
        # The counted residents plus the distinct person-units of those listed by person.
        listed = _distinct(person if _single_unit(query) else exp.column(UNIT), None)
        counted = exp.Coalesce(this=exp.func("SUM", _outer(spec.expr)), expressions=[exp.Literal.number(0)])
        return [exp.alias_(exp.Add(this=counted, expression=listed), f"m_{name}")]
    if spec.aggregation is Aggregation.PERSONS:
        # The person id carries the person's record key in its low bits: the sum of the distinct
        # ids is the cell key's raw sum, and the engine counts and sums from one hash table.
        return [
            exp.alias_(_distinct(person, where), f"m_{name}"),
            exp.alias_(_distinct_sum(person, where), f"k_{name}"),
        ]
    if spec.aggregation is Aggregation.COUNT:
        value: exp.Expr = (
            exp.Count(this=exp.Star())
            if where is None
            else exp.func(
                "SUM", exp.Case(ifs=[exp.If(this=where, true=exp.Literal.number(1))], default=exp.Literal.number(0))
            )
        )
    else:
        assert spec.expr is not None
        summed = _outer(spec.expr)
        value = exp.func("SUM", summed if where is None else exp.Case(ifs=[exp.If(this=where, true=summed)]))
    contributes = _contribution(spec, query.source)
    where_base = None if contributes is None else _outer(contributes)
    out = [exp.alias_(value, f"m_{name}")]
    if query.base_count is BaseCount.PERSONS:
        out.append(exp.alias_(_distinct(person, where_base), f"n_{name}"))
        out.append(exp.alias_(_distinct_sum(person, where_base), f"kn_{name}"))
    else:
        out.append(exp.alias_(_rows(where_base), f"n_{name}"))
    key, largest = _record_columns(spec, query.source)
    out.append(exp.alias_(exp.func("SUM", _when(where_base, exp.column(f"c_{key}"))), f"k_{name}"))
    if column.noise is Noise.MAGNITUDE:
        biggest = exp.column(f"c_{largest}") if largest else exp.Abs(this=_outer(_summed(spec)))
        out.append(exp.alias_(exp.func("MAX", _when(where_base, biggest)), f"x_{name}"))
    return out


def _person_units(column: MeasureColumn, where: exp.Expr | None, unit: exp.Expr, person: exp.Expr) -> list[exp.Expr]:
    """Distinct person-units and, unless public, their key sum and (when a unit is not a person)
    the persons behind them."""
    name = column.measure
    out = [exp.alias_(_distinct(unit, where), f"m_{name}")]
    if column.noise is Noise.NONE:
        return out
    out.append(exp.alias_(_distinct_sum(unit, where), f"k_{name}"))
    if unit is not person:
        out.append(exp.alias_(_distinct(person, where), f"n_{name}"))
        out.append(exp.alias_(_distinct_sum(person, where), f"kn_{name}"))
    return out


def _single_unit(query: AggregateQuery) -> bool:
    """Whether the query's period lies within one time unit: then every person is one unit."""
    first, last = query.period.first, query.period.last
    months = query.time_unit.months
    return first // 100 == last // 100 and (first % 100 - 1) // months == (last % 100 - 1) // months


def _unit_expr(query: AggregateQuery) -> exp.Expr:
    """The person id plus the number of its time unit (year, year * 4 + quarter, year * 12 + month)
    shifted by ``UNIT_SHIFT``."""
    source, unit = query.source, query.time_unit
    assert source.person is not None
    big = exp.DataType.build("BIGINT")
    number: exp.Expr = exp.Cast(this=exp.column(source.attributes["year"], table=FACT), to=big)
    if unit is not TimeUnit.YEAR:
        if "month" not in source.attributes:
            raise ValueError(f"source {source.id!r} holds whole years: it cannot count persons per {unit.value}")
        month: exp.Expr = exp.column(source.attributes["month"], table=FACT)
        if unit is TimeUnit.QUARTER:  # months 1–12 → quarters 0–3
            zero_based = exp.Paren(this=exp.Sub(this=month, expression=exp.Literal.number(1)))
            month = exp.Cast(this=exp.Floor(this=exp.Div(this=zero_based, expression=exp.Literal.number(3))), to=big)
        per_year = exp.Mul(this=number, expression=exp.Literal.number(12 // unit.months))
        number = exp.Paren(this=exp.Add(this=per_year, expression=month))
    shifted = exp.Mul(this=number, expression=exp.Literal.number(UNIT_SHIFT))
    return exp.Add(this=shifted, expression=exp.column(source.person, table=FACT))


def _rows(where: exp.Expr | None) -> exp.Expr:
    if where is None:
        return exp.Count(this=exp.Star())
    return exp.Count(this=exp.Case(ifs=[exp.If(this=where, true=exp.Literal.number(1))]))


def _when(condition: exp.Expr | None, value: exp.Expr) -> exp.Expr:
    return value if condition is None else exp.Case(ifs=[exp.If(this=condition.copy(), true=value)])


def _summed(spec: MeasureInput) -> exp.Expr:
    assert spec.expr is not None
    return spec.expr


def _record_columns(spec: MeasureInput, source: Source) -> tuple[str, str | None]:
    """Where a counted or summed input finds its record keys: (key column, largest column).

    A fact keeps each event's key in its record-key column (the largest contribution is the
    largest value of one row). A person-year table keeps, beside each summed column, the sum of
    its events' keys and the largest of their values (``koes.etl.derive.person_year``)."""
    if source.kind is SourceKind.PERSON_YEAR:
        column = spec.summed_column
        return KEY_PREFIX + column, LARGEST_PREFIX + column
    if source.record_key is None:
        raise ValueError(f"source {source.id!r} has no record keys: it cannot answer {spec.aggregation.value}")
    return source.record_key, None


def _contribution(spec: MeasureInput, source: Source) -> exp.Expr | None:
    """The rows that add to a measure (None: every row), over the source's raw columns.

    The persons behind a sum are those who add something to it: a person-year row with 0
    admissions is no one's admission, and must not make a small count look safe. A person-year
    row adds to a sum when events of its person add to it (its events companion is above 0),
    even where they cancel out (a sale and its return): just as the same events do in the fact."""
    if spec.aggregation in (Aggregation.AVERAGE_POPULATION, Aggregation.POPULATION_TIME, Aggregation.RESIDENTS):
        return None
    if spec.aggregation is not Aggregation.SUM:
        return spec.where
    if source.kind is SourceKind.PERSON_YEAR:
        events = exp.column(EVENTS_PREFIX + spec.summed_column)
        nonzero: exp.Expr = exp.GT(this=events, expression=exp.Literal.number(0))
    else:
        nonzero = exp.NEQ(this=_summed(spec).copy(), expression=exp.Literal.number(0))
    return nonzero if spec.where is None else exp.and_(spec.where.copy(), nonzero, copy=False)


def _distinct(person: exp.Expr, where: exp.Expr | None) -> exp.Expr:
    target = person if where is None else exp.Case(ifs=[exp.If(this=where, true=person)])
    return exp.Count(this=exp.Distinct(expressions=[target]))


def _distinct_sum(person: exp.Expr, where: exp.Expr | None) -> exp.Expr:
    target = person.copy() if where is None else exp.Case(ifs=[exp.If(this=where.copy(), true=person.copy())])
    return exp.func("SUM", exp.Distinct(expressions=[target]))


def _outer(tree: exp.Expr) -> exp.Expr:
    """A catalog expression over raw columns, as seen from the outer query (``c_<column>``)."""
    return tree.copy().transform(lambda n: exp.column(f"c_{n.name}") if isinstance(n, exp.Column) else n)


def _fact(tree: exp.Expr, source: Source, alias: str = FACT, *, attributes: bool = False) -> exp.Expr:
    """A catalog expression qualified with a table alias (attributes mapped to their columns)."""

    def qualify(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Column):
            name = source.attributes.get(node.name, node.name) if attributes else node.name
            return exp.column(name, table=alias)
        return node

    return tree.copy().transform(qualify)


def _raw_columns(query: AggregateQuery) -> list[str]:
    names: dict[str, None] = {}
    for column in query.measures:
        spec = column.spec
        for tree in (spec.expr, spec.where):
            if tree is not None:
                names.update((c.name, None) for c in tree.find_all(exp.Column))
        if spec.aggregation in (Aggregation.COUNT, Aggregation.SUM):
            key, largest = _record_columns(spec, query.source)
            names[key] = None
            if query.source.kind is SourceKind.PERSON_YEAR:
                names[EVENTS_PREFIX + spec.summed_column] = None
            if largest is not None and column.noise is Noise.MAGNITUDE:
                names[largest] = None
    return list(names)


def _dimension_expr(dimension: Dimension, source: Source) -> exp.Expr:
    if dimension.members.kind == POPULATION_MEMBERS:  # a column of the population, joined by _inner
        column = exp.column(dimension.members.name, table=POPULATION)
        if dimension.expr is None:
            return column
        # The fact's value relative to the person's (months since the index month).
        return exp.Sub(this=exp.Paren(this=_fact(dimension.expr, source, attributes=True)), expression=column)
    if dimension.lookup is not None:
        return exp.column(dimension.lookup.value, table=f"l_{dimension.id}")
    if dimension.expr is not None:
        return _fact(dimension.expr, source, attributes=True)
    return exp.column(source.attributes[dimension.attribute], table=FACT)


def _inner(query: AggregateQuery, kommuner: frozenset[int], everywhere: bool) -> exp.Select:
    source = query.source
    columns: list[exp.Expr] = [exp.alias_(_dimension_expr(d, source), f"d_{d.id}") for d in query.dimensions]
    columns += [exp.alias_(_dimension_expr(d, source), f"s_{d.id}") for d in query.strata]
    if source.person is not None:
        columns.append(exp.alias_(exp.column(source.person, table=FACT), PERSON))
    by_unit = (Aggregation.PERSON_UNITS, Aggregation.RESIDENTS)
    if any(c.spec.aggregation in by_unit for c in query.measures) and not _single_unit(query):
        columns.append(exp.alias_(_unit_expr(query), UNIT))
    columns += [exp.alias_(exp.column(name, table=FACT), f"c_{name}") for name in _raw_columns(query)]
    select = exp.select(*columns).from_(exp.to_table(source.table).as_(FACT), copy=False)
    if query.population is not None:
        if source.person is None:
            raise ValueError(f"source {source.id!r} has no person column: it cannot be narrowed to a population")
        member = exp.EQ(
            this=exp.column(POPULATION_PERSON, table=POPULATION), expression=exp.column(source.person, table=FACT)
        )
        select = select.join(exp.to_table(POPULATION_TABLE).as_(POPULATION), on=member, join_type="INNER", copy=False)
    for dimension in _lookups(query):
        assert dimension.lookup is not None
        alias = f"l_{dimension.id}"
        on: exp.Expr = exp.EQ(
            this=exp.column(dimension.lookup.key, table=alias),
            expression=exp.column(source.attributes[dimension.attribute], table=FACT),
        )
        if dimension.lookup.versioned:
            on = exp.and_(on, _version(alias, query), copy=False)
        select = select.join(exp.to_table(dimension.lookup.table).as_(alias), on=on, join_type="LEFT", copy=False)
    return select.where(exp.and_(*_conditions(query, kommuner, everywhere), copy=False), copy=False)


def _version(alias: str, query: AggregateQuery) -> exp.Expr:
    """The span of a versioned lookup (regions) that holds: the event's year (as it was) or the
    year of the chosen day (as of a date); spans are whole years (koes.domain.geography)."""
    year = region_year(query.geography)
    at: exp.Expr = exp.column(query.source.attributes["year"], table=FACT) if year is None else exp.Literal.number(year)
    return exp.Between(this=at, low=exp.column(VERSION_FIRST, table=alias), high=exp.column(VERSION_LAST, table=alias))


def _area_years(area: Area, source: Source) -> exp.Expr:
    """A region as it was: each event counted only where its year's members include its municipality."""
    year = exp.column(source.attributes["year"], table=FACT)
    residence = exp.column(source.attributes["kommunekode"], table=FACT)
    runs = [
        exp.and_(
            exp.Between(this=year.copy(), low=exp.Literal.number(first), high=exp.Literal.number(last)),
            _in(residence.copy(), sorted(kommuner)),
            copy=False,
        )
        for first, last, kommuner in area.by_year
    ]
    return exp.or_(*runs, copy=False)


def _lookups(query: AggregateQuery) -> list[Dimension]:
    used = {d.id: d for d in (*query.dimensions, *query.strata, *(d for d, _ in query.filters))}
    return [d for d in used.values() if d.lookup is not None]


def _month_key(source: Source) -> exp.Expr:
    # Years are SMALLINT in the release: widen before multiplying.
    year = exp.Cast(this=exp.column(source.attributes["year"], table=FACT), to=exp.DataType.build("INT"))
    if "month" not in source.attributes:
        return year
    return exp.Add(
        this=exp.Mul(this=year, expression=exp.Literal.number(100)),
        expression=exp.column(source.attributes["month"], table=FACT),
    )


def _conditions(query: AggregateQuery, kommuner: frozenset[int], everywhere: bool) -> Iterable[exp.Expr]:
    source = query.source
    residence = exp.column(source.attributes["kommunekode"], table=FACT)
    if everywhere:  # every municipality: a resident of Denmark on the event date
        yield exp.Not(this=exp.Is(this=residence, expression=exp.Null()))
    else:
        yield _in(residence, sorted(kommuner))
    yield from _period(query, source)
    if query.area is not None and query.area.by_year:
        yield _area_years(query.area, source)
    for attribute, values in query.fixed:
        yield _in(exp.column(source.attributes[attribute], table=FACT), values)
    for dimension, values in query.filters:
        if not _is_residence(dimension):  # apply_scope has put it into the scope predicate already
            yield _in(_dimension_expr(dimension, source), values)
    if query.segment is not None:
        yield _segment(query)
    if query.narrowing is not None:
        yield _narrowing(query.narrowing, {d.id: d for d in (*query.dimensions, *query.strata)}, source)
    contributions = [_contribution(c.spec, source) for c in query.measures]
    if contributions and all(c is not None for c in contributions):
        # Rows that add to no measure change no cell: leave them in the table (fewer rows to group).
        yield _fact(exp.or_(*(c for c in contributions if c is not None), copy=False), source)


def _narrowing(narrowing: Narrowing, dimensions: dict[str, Dimension], source: Source) -> exp.Expr:
    """Rows where one of the dimensions takes one of its listed values (a NULL value: unknown)."""
    either: list[exp.Expr] = []
    for dimension_id, values in narrowing:
        target = _dimension_expr(dimensions[dimension_id], source)
        known = [v for v in values if v is not None]
        if known:
            either.append(_in(target, known))
        if len(known) < len(values):
            either.append(exp.Is(this=target, expression=exp.Null()))
    return exp.or_(*either, copy=False) if either else exp.false()


def _is_residence(dimension: Dimension) -> bool:
    return dimension.attributes == ("kommunekode",) and dimension.lookup is None and dimension.expr is None


def _in(target: exp.Expr, values: Iterable[object]) -> exp.Expr:
    items = [literal(v) for v in values]
    if not items:
        return exp.false()  # an empty scope or filter matches nothing
    return exp.In(this=target, expressions=items)


def _period(query: AggregateQuery, source: Source) -> Iterable[exp.Expr]:
    period = query.period
    year = exp.column(source.attributes["year"], table=FACT)
    yield exp.Between(
        this=year, low=exp.Literal.number(period.first // 100), high=exp.Literal.number(period.last // 100)
    )
    if not period.whole_years and "month" in source.attributes:
        yield exp.Between(
            this=_month_key(source), low=exp.Literal.number(period.first), high=exp.Literal.number(period.last)
        )


def _segment(query: AggregateQuery) -> exp.Expr:
    segment, seg_source, source = query.segment, query.segment_source, query.source
    assert segment is not None and seg_source is not None and seg_source.person is not None
    same_table = seg_source.table == source.table
    alias = FACT if same_table else SEGMENT
    conditions = [_compare(exp.column(c.column, table=alias), c.op, literal(c.value)) for c in segment.conditions]
    if same_table:
        return exp.and_(*conditions)
    assert source.person is not None
    link = [
        exp.EQ(this=exp.column(seg_source.person, table=SEGMENT), expression=exp.column(source.person, table=FACT)),
        exp.EQ(
            this=exp.column(seg_source.attributes["year"], table=SEGMENT),
            expression=exp.column(source.attributes["year"], table=FACT),
        ),
    ]
    sub = exp.select(exp.Literal.number(1)).from_(exp.to_table(seg_source.table).as_(SEGMENT), copy=False)
    return exp.Exists(this=sub.where(exp.and_(*link, *conditions, copy=False), copy=False))


def _compare(left: exp.Expr, op: str, right: exp.Expr) -> exp.Expr:
    kinds: dict[str, type[exp.Binary]] = {
        "=": exp.EQ,
        "!=": exp.NEQ,
        ">": exp.GT,
        ">=": exp.GTE,
        "<": exp.LT,
        "<=": exp.LTE,
    }
    return kinds[op](this=left, expression=right)
