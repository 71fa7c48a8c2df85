"""Read the catalog YAML files into a ``Catalog``, reporting every problem at once.

Each problem names its file and element (``measures.yaml: measure 'indlaeggelser': …``), so an
author fixes a broken catalog in one pass. ``load_catalog`` raises ``CatalogError`` with all of
them; ``catalog_problems`` returns them for tests and the ``koes catalog --check`` command.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import sqlglot.expressions as exp
import yaml

from koes.semantic.expressions import ExpressionError, columns_of, parse_expression
from koes.semantic.model import (
    AT_RISK,
    CITIZEN_TIME,
    CITIZENS,
    EVENTS_PREFIX,
    KEY_PREFIX,
    LARGEST_PREFIX,
    PER_PLACEHOLDER,
    POPULATION_MEMBERS,
    STANDARD_STRATA,
    Aggregation,
    Catalog,
    Condition,
    DerivedKind,
    Dimension,
    Label,
    Lookup,
    Measure,
    MeasureInput,
    MemberSource,
    Noise,
    Perspective,
    Segment,
    SimilarMunicipalities,
    Source,
    SourceKind,
    TimeUnit,
    Unit,
)

FILES = ("dimensions.yaml", "sources.yaml", "measures.yaml", "perspectives.yaml", "segments.yaml")
MEMBER_KINDS = frozenset(
    {"code_list", "refdata", "age_bands", "period", "inline", "preventable_groups", "release", POPULATION_MEMBERS}
)
SEGMENT_OPS = frozenset({"=", "!=", ">", ">=", "<", "<="})
T = TypeVar("T")
PER_PERSON = frozenset({Aggregation.PERSONS, Aggregation.PERSON_UNITS})  # counts of distinct persons
RESIDENT_COUNTS = frozenset({Aggregation.POPULATION_TIME, Aggregation.RESIDENTS})


@dataclass(frozen=True)
class CatalogProblem:
    file: str
    element: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.element}: {self.message}"


class CatalogError(ValueError):
    def __init__(self, problems: list[CatalogProblem]) -> None:
        self.problems = problems
        super().__init__(f"{len(problems)} problem(s) in the catalog:\n" + "\n".join(f"  {p}" for p in problems))


def default_catalog_dir() -> Path:
    return Path(str(resources.files("koes.semantic").joinpath("catalog")))


@cache
def default_catalog() -> Catalog:
    return load_catalog(default_catalog_dir())


def load_catalog(folder: Path) -> Catalog:
    catalog, problems = _read(folder)
    if problems or catalog is None:
        raise CatalogError(problems)
    return catalog


def catalog_problems(folder: Path) -> list[CatalogProblem]:
    return _read(folder)[1]


class _Reader:
    """Collects problems while turning YAML entries into model objects."""

    def __init__(self) -> None:
        self.problems: list[CatalogProblem] = []

    def problem(self, file: str, element: str, message: str) -> None:
        self.problems.append(CatalogProblem(file, element, message))

    def entries(self, data: Mapping[str, Any], key: str, file: str) -> list[Mapping[str, Any]]:
        items = data.get(key)
        if not isinstance(items, list):
            self.problem(file, key, "expected a list")
            return []
        good = []
        for i, item in enumerate(items):
            if isinstance(item, Mapping) and isinstance(item.get("id"), str):
                good.append(item)
            else:
                self.problem(file, f"{key}[{i}]", "expected a mapping with a text `id`")
        return good

    def each(
        self, items: list[Mapping[str, Any]], file: str, kind: str, build: Callable[[Mapping[str, Any], str], T]
    ) -> dict[str, T]:
        out: dict[str, T] = {}
        for item in items:
            element = f"{kind} {item['id']!r}"
            if item["id"] in out:
                self.problem(file, element, "defined twice")
                continue
            try:
                out[item["id"]] = build(item, element)
            except (KeyError, TypeError, ValueError) as error:
                self.problem(file, element, _reason(error))
        return out


def _reason(error: Exception) -> str:
    if isinstance(error, KeyError):
        return f"missing {error.args[0]!r}"
    return str(error)


def _label(item: Mapping[str, Any]) -> Label:
    raw = item["label"]
    if not isinstance(raw, Mapping) or not raw.get("da") or not raw.get("en"):
        raise ValueError("label needs both `da` and `en`")
    return bilingual(raw, "label")


def bilingual(raw: Mapping[Any, Any], where: str) -> Label:
    """``{da: …, en: …}`` as a Label; any other key is refused, because it is how a cut text shows:
    in an unquoted YAML flow mapping a comma ends the value, so ``{en: Admissions per 1,000 citizens}``
    reads as ``en: Admissions per 1`` and a key ``000 citizens`` (issue 18, item 1)."""
    if not all(isinstance(raw.get(lang), str) for lang in ("da", "en")):
        raise ValueError(f"{where}: da and en must be texts (YAML reads an unquoted No as false); quote them")
    extra = sorted(str(k) for k in raw if k not in ("da", "en"))
    if extra:
        raise ValueError(
            f"{where} has keys other than da and en ({', '.join(extra)}): a comma in an unquoted "
            "{da: …, en: …} cuts the text there; quote the text"
        )
    return Label(str(raw["da"]), str(raw["en"]))


def _description(item: Mapping[str, Any]) -> str:
    text = item.get("description")
    if not isinstance(text, str) or not text.strip():
        raise ValueError("missing `description`")
    return text.strip()


def _dimension(item: Mapping[str, Any], element: str) -> Dimension:
    attributes = tuple(item["attributes"])
    members_raw = item["members"]
    kind = members_raw.get("kind")
    if kind not in MEMBER_KINDS:
        raise ValueError(f"members kind {kind!r} is not one of {sorted(MEMBER_KINDS)}")
    lookup = Lookup(**item["lookup"]) if "lookup" in item else None
    expr = parse_expression(item["expr"]) if "expr" in item else None
    if expr is not None and not columns_of(expr) <= set(attributes):
        raise ValueError(f"expr uses {sorted(columns_of(expr) - set(attributes))}, which are not among its attributes")
    if lookup is not None and expr is not None:
        raise ValueError("give either `lookup` or `expr`, not both")
    if kind != POPULATION_MEMBERS and not attributes:
        raise ValueError("a dimension has attributes, unless its members come from the population")
    if kind == POPULATION_MEMBERS and (lookup is not None or not members_raw.get("name")):
        raise ValueError("a population dimension names its population column (`members.name`) and has no `lookup`")
    values = members_raw.get("values", {})
    inline = {str(k): bilingual(v, f"members.values.{k}") for k, v in values.items()}
    value_type = item.get("value_type", "str")
    if value_type not in ("str", "int", "bool"):
        raise ValueError(f"value_type {value_type!r} is not str, int or bool")
    return Dimension(
        id=item["id"],
        label=_label(item),
        description=_description(item),
        attributes=attributes,
        members=MemberSource(kind, str(members_raw.get("name", "")), inline),
        lookup=lookup,
        expr=expr,
        value_type=value_type,
        downloadable=bool(item.get("downloadable", True)),
        group=str(item.get("group", "")),
        all_members=bool(item.get("all_members", kind != "release")),
    )


def _source(item: Mapping[str, Any], element: str) -> Source:
    attributes: dict[str, str] = {}
    for entry in item["attributes"]:
        if isinstance(entry, str):
            attributes[entry] = entry
        elif isinstance(entry, Mapping) and len(entry) == 1:
            ((name, column),) = entry.items()
            attributes[str(name)] = str(column)
        else:
            raise ValueError(f"attribute {entry!r} is neither a name nor a one-entry mapping")
    kind = SourceKind(item["kind"])
    person = item.get("person")
    if kind is not SourceKind.POPULATION and not person:
        raise ValueError(f"a {kind.value} source needs `person` (the person column)")
    if "kommunekode" not in attributes:
        raise ValueError("every source needs the `kommunekode` attribute: the scope rewrite filters on it")
    grain = item["time_grain"]
    if grain not in ("month", "year"):
        raise ValueError(f"time_grain {grain!r} is not month or year")
    if grain == "month" and "month" not in attributes:
        raise ValueError("time_grain month needs the `month` attribute")
    record_key = item.get("record_key")
    if kind is SourceKind.FACT and not record_key:
        raise ValueError("a fact source needs `record_key` (the column of each event's record key)")
    unit = TimeUnit(item["unit"]) if "unit" in item else None
    if unit is not None and (kind is not SourceKind.POPULATION or unit is TimeUnit.YEAR or grain != "month"):
        raise ValueError("`unit` marks a month-grain table of resident counts per quarter or month")
    return Source(
        id=item["id"],
        table=str(item["table"]),
        kind=kind,
        label=_label(item),
        attributes=attributes,
        person=person,
        priority=int(item["priority"]),
        time_grain=grain,
        description=str(item.get("description", "")),
        record_key=str(record_key) if record_key else None,
        unit=unit,
    )


def _measure_input(raw: Mapping[str, Any]) -> MeasureInput:
    kinds = [a for a in Aggregation if a.value in raw]
    if len(kinds) != 1:
        raise ValueError(f"an input needs exactly one of {[a.value for a in Aggregation]}, got {sorted(raw)}")
    (aggregation,) = kinds
    value = raw[aggregation.value]
    where = parse_expression(raw["where"]) if "where" in raw else None
    if aggregation in (Aggregation.COUNT, Aggregation.PERSONS, Aggregation.PERSON_UNITS):
        if where is not None:
            raise ValueError(f"write the condition of `{aggregation.value}` as its value, not as `where`")
        return MeasureInput(aggregation, None, None if value is True else parse_expression(value))
    return MeasureInput(aggregation, parse_expression(value), where)


def _measure(item: Mapping[str, Any], element: str) -> Measure:
    derived = DerivedKind(item["derived"]) if "derived" in item else None
    inputs: dict[str, MeasureInput] = {}
    for source_id, raw in (item.get("inputs") or {}).items():
        try:
            inputs[str(source_id)] = _measure_input(raw)
        except ExpressionError as error:
            raise ValueError(f"input {source_id!r}: {error}") from None
    if derived is None and not inputs:
        raise ValueError("a base measure needs `inputs`")
    if derived is not None and inputs:
        raise ValueError("a derived measure has no `inputs`; it is computed from `numerator`")
    if derived is not None and not item.get("numerator"):
        raise ValueError("a derived measure needs `numerator`")
    if derived is DerivedKind.SHARE and not item.get("denominator"):
        raise ValueError("a share needs `denominator`")
    if derived not in (None, DerivedKind.SHARE) and item.get("denominator"):
        raise ValueError("a rate over time divides by its citizens; only a share names a `denominator`")
    label = _label(item)
    template = None
    if derived not in (None, DerivedKind.SHARE):
        # Its time unit depends on the request (per year, per month): the label says where it goes.
        if PER_PLACEHOLDER not in label.da or PER_PLACEHOLDER not in label.en:
            raise ValueError(f"the label of a rate over time names its time unit with {PER_PLACEHOLDER} (da and en)")
        template, label = label, _in_years(label)
    return Measure(
        id=item["id"],
        label=label,
        label_template=template,
        description=_description(item),
        unit=Unit(item["unit"]),
        perspectives=tuple(item["perspectives"]),
        inputs=inputs,
        derived=derived,
        numerator=item.get("numerator"),
        denominator=item.get("denominator"),
        per=int(
            item.get("per", 1000 if derived is DerivedKind.RATE or derived is DerivedKind.STANDARDISED_RATE else 1)
        ),
        downloadable=bool(item.get("downloadable", True)),
        decimals=int(item.get("decimals", 0)),
        applies_until=int(item["applies_until"]) if "applies_until" in item else None,
    )


def _in_years(template: Label) -> Label:
    """A rate's label per year: how the catalog lists it (a plan may express it per month)."""
    per = TimeUnit.YEAR.per
    return Label(template.da.replace(PER_PLACEHOLDER, per.da), template.en.replace(PER_PLACEHOLDER, per.en))


def _perspective(item: Mapping[str, Any], element: str) -> Perspective:
    filters = {str(k): tuple(str(v) for v in values) for k, values in (item.get("filters") or {}).items()}
    return Perspective(
        id=item["id"],
        label=_label(item),
        description=_description(item),
        filters=filters,
        default_measures=tuple(item.get("default_measures", ())),
    )


def _segment(item: Mapping[str, Any], element: str) -> Segment:
    conditions = []
    for raw in item["conditions"]:
        if raw.get("op") not in SEGMENT_OPS:
            raise ValueError(f"condition op {raw.get('op')!r} is not one of {sorted(SEGMENT_OPS)}")
        conditions.append(Condition(str(raw["column"]), str(raw["op"]), raw["value"]))
    if not conditions:
        raise ValueError("a segment needs at least one condition")
    return Segment(item["id"], _label(item), _description(item), str(item["source"]), tuple(conditions))


def _yaml(folder: Path, name: str, reader: _Reader) -> Mapping[str, Any]:
    path = folder / name
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        reader.problem(name, "file", f"missing from {folder}")
        return {}
    except yaml.YAMLError as error:
        reader.problem(name, "file", f"is not valid YAML: {error}")
        return {}
    if not isinstance(data, Mapping):
        reader.problem(name, "file", "expected a mapping at the top")
        return {}
    return data


def _read(folder: Path) -> tuple[Catalog | None, list[CatalogProblem]]:
    reader = _Reader()
    data = {name: _yaml(folder, name, reader) for name in FILES}
    dimensions = reader.each(reader.entries(data[FILES[0]], "dimensions", FILES[0]), FILES[0], "dimension", _dimension)
    sources = reader.each(reader.entries(data[FILES[1]], "sources", FILES[1]), FILES[1], "source", _source)
    measures = reader.each(reader.entries(data[FILES[2]], "measures", FILES[2]), FILES[2], "measure", _measure)
    perspectives = reader.each(
        reader.entries(data[FILES[3]], "perspectives", FILES[3]), FILES[3], "perspective", _perspective
    )
    segments = reader.each(reader.entries(data[FILES[4]], "segments", FILES[4]), FILES[4], "segment", _segment)
    similar, standard_year = _settings(data[FILES[4]], reader)
    catalog = Catalog(dimensions, sources, measures, perspectives, segments, similar, standard_year)
    _cross_check(catalog, reader)
    return (None if reader.problems else catalog), reader.problems


def _settings(data: Mapping[str, Any], reader: _Reader) -> tuple[SimilarMunicipalities, int]:
    raw = data.get("similar_municipalities") or {}
    similar = SimilarMunicipalities(str(raw.get("method", "nearest_population")), int(raw.get("count", 8)))
    if similar.method != "nearest_population" or similar.count < 1:
        reader.problem(FILES[4], "similar_municipalities", "method must be nearest_population with a count >= 1")
    year = data.get("standard_population_year")
    if not isinstance(year, int):
        reader.problem(FILES[4], "standard_population_year", "expected a year")
        year = 0
    return similar, year


def _cross_check(catalog: Catalog, reader: _Reader) -> None:
    """References between elements: every id used must exist and fit."""
    for measure in catalog.measures.values():
        element = f"measure {measure.id!r}"
        for perspective in measure.perspectives:
            if perspective not in catalog.perspectives:
                reader.problem(FILES[2], element, f"unknown perspective {perspective!r}")
        for source_id, spec in measure.inputs.items():
            source = catalog.sources.get(source_id)
            if source is None:
                reader.problem(FILES[2], element, f"unknown source {source_id!r}")
            elif spec.aggregation in PER_PERSON and source.person is None:
                reader.problem(FILES[2], element, f"source {source_id!r} has no person column to count persons")
            elif spec.aggregation in RESIDENT_COUNTS and source.kind is not SourceKind.POPULATION:
                reader.problem(FILES[2], element, f"source {source_id!r} holds no resident counts")
            elif spec.aggregation is Aggregation.RESIDENTS and source.person is None:
                reader.problem(FILES[2], element, f"source {source_id!r} lists no residents by person")
            elif source.kind is SourceKind.PERSON_YEAR and spec.aggregation not in PER_PERSON:
                # Its record keys live beside the column it sums (k_, e_, x_): nothing else has them.
                try:
                    spec.summed_column  # noqa: B018 - the check is the point
                except ValueError as error:
                    reader.problem(FILES[2], element, f"source {source_id!r}: {error}")
        for ref in (measure.numerator, measure.denominator):
            if ref is None:
                continue
            target = catalog.measures.get(ref)
            if target is None:
                reader.problem(FILES[2], element, f"unknown measure {ref!r}")
            elif not target.is_base:
                reader.problem(FILES[2], element, f"{ref!r} is derived; derive only from base measures")
    if CITIZENS not in catalog.measures:
        reader.problem(FILES[2], f"measure {CITIZENS!r}", "missing: rates need the citizens measure")
    if any(m.derived is DerivedKind.STANDARDISED_RATE for m in catalog.measures.values()):
        for stratum in STANDARD_STRATA:
            if stratum not in catalog.dimensions:
                reader.problem(FILES[0], f"dimension {stratum!r}", "missing: standardised rates are stratified by it")
    if any(m.over_time for m in catalog.measures.values()):
        for needed in (CITIZEN_TIME, AT_RISK):
            if needed not in catalog.measures:
                reader.problem(FILES[2], f"measure {needed!r}", "missing: rates over time divide by it")
    for view in catalog.perspectives.values():
        for measure_id in view.default_measures:
            m = catalog.measures.get(measure_id)
            if m is None or view.id not in m.perspectives:
                reader.problem(FILES[3], f"perspective {view.id!r}", f"default measure {measure_id!r} is not in it")
    for segment in catalog.segments.values():
        source = catalog.sources.get(segment.source)
        if source is None or source.kind is not SourceKind.PERSON_YEAR:
            reader.problem(
                FILES[4], f"segment {segment.id!r}", f"source {segment.source!r} is not a person-year source"
            )


def release_problems(catalog: Catalog, columns: Mapping[str, frozenset[str]]) -> list[CatalogProblem]:
    """Check the catalog against a release's tables: every table and column it names must exist."""
    problems: list[CatalogProblem] = []

    def need(file: str, element: str, table: str, names: frozenset[str]) -> None:
        have = columns.get(table)
        if have is None:
            problems.append(CatalogProblem(file, element, f"table {table!r} is not in the release"))
        elif missing := sorted(names - have):
            problems.append(CatalogProblem(file, element, f"table {table!r} has no column(s) {missing}"))

    for source in catalog.sources.values():
        names = frozenset(source.attributes.values()) | ({source.person} if source.person else frozenset())
        names |= {source.record_key} if source.record_key else frozenset()
        need(FILES[1], f"source {source.id!r}", source.table, names)
    for measure in catalog.measures.values():
        for source_id, spec in measure.inputs.items():
            source = catalog.sources[source_id]
            used = frozenset().union(*(columns_of(e) for e in (spec.expr, spec.where) if e is not None))
            need(FILES[2], f"measure {measure.id!r}", source.table, used | _record_columns(source, spec, measure))
    for dimension in catalog.dimensions.values():
        if dimension.lookup is not None:
            lookup = dimension.lookup
            need(FILES[0], f"dimension {dimension.id!r}", lookup.table, lookup.columns)
    for segment in catalog.segments.values():
        source = catalog.sources[segment.source]
        need(FILES[4], f"segment {segment.id!r}", source.table, frozenset(c.column for c in segment.conditions))
    return problems


def _record_columns(source: Source, spec: MeasureInput, measure: Measure) -> frozenset[str]:
    """The companions a person-year input needs beside the column it sums."""
    if source.kind is not SourceKind.PERSON_YEAR or spec.aggregation in PER_PERSON:
        return frozenset()
    column = spec.summed_column
    names = {KEY_PREFIX + column, EVENTS_PREFIX + column}
    if spec.noise(measure.unit) is Noise.MAGNITUDE:
        names.add(LARGEST_PREFIX + column)
    return frozenset(names)


def literal(value: object) -> exp.Expr:
    """A Python value as an SQL literal (segments, filters)."""
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, int | float):
        return exp.Literal.number(value)
    return exp.Literal.string(str(value))
