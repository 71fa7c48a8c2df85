"""What every derivation shares: the period, the rules, SQL macros and the residence join."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb
import pyarrow as pa

from koes.domain.codelists import CODE_LISTS
from koes.domain.codes import IcdHierarchy
from koes.domain.geography import YearSpan
from koes.domain.periods import load_age_band_schemes
from koes.domain.registers import Column, ColumnType, Register
from koes.domain.rules import RuleSet
from koes.privacy.record_keys import RecordKeys, fixed_point
from koes.refdata import RefData

MAX_AGE = 130


@dataclass(frozen=True)
class DeriveContext:
    start: date  # first day of the extract period
    end: date  # last day of the extract period
    rules: RuleSet
    refdata: RefData
    keys: RecordKeys  # record keys of persons and events (the cell-key method)

    @property
    def years(self) -> range:
        return range(self.start.year, self.end.year + 1)


def install_macros(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        """CREATE OR REPLACE TEMP MACRO age_years(b, d) AS
           (year(d) - year(b) - CASE WHEN month(d) * 100 + day(d) < month(b) * 100 + day(b) THEN 1 ELSE 0 END)"""
    )
    # The first day of age k of someone born on b (age_years(b, turns(b, k)) = k): a 29 February
    # birthday falls on 1 March in a common year, as age_years counts it.
    con.execute(
        """CREATE OR REPLACE TEMP MACRO turns(b, k) AS
           (CASE WHEN month(b) = 2 AND day(b) = 29
                      AND day(last_day(make_date(CAST(year(b) + k AS INTEGER), 2, 1))) = 28
                 THEN make_date(CAST(year(b) + k AS INTEGER), 3, 1)
                 ELSE make_date(CAST(year(b) + k AS INTEGER), month(b), day(b)) END)"""
    )
    # ISO week YYYYWW -> its Monday. 4 January always lies in ISO week 1.
    con.execute(
        """CREATE OR REPLACE TEMP MACRO week_monday(code) AS
           (make_date(CAST(code // 100 AS INTEGER), 1, 4)
            - CAST(isodow(make_date(CAST(code // 100 AS INTEGER), 1, 4)) - 1 AS INTEGER)
            + CAST(7 * (code % 100 - 1) AS INTEGER))"""
    )


def resident_join(fact: str, day: str, alias: str = "r") -> str:
    """LEFT JOIN giving ``{alias}.kommunekode``: the residence on ``day`` (periods are [fra, til))."""
    return (
        f"LEFT JOIN residence {alias} ON {alias}.person_id = {fact}.person_id "
        f"AND {day} >= {alias}.fra AND ({alias}.til IS NULL OR {day} < {alias}.til)"
    )


def event_key(ctx: DeriveContext, register: Register, alias: str, *extra: str) -> str:
    """The record key of one row of ``register`` (read as ``alias``), plus ``extra`` parts.

    The natural key is the register's declared key, or every column where it declares none (two
    identical rows then share a key, which keeps every cell key a function of the rows alone). The
    CPR number of a key is represented by the person's own record key, which is stable across
    releases where the person id is not; ``extra`` names the part of a row a derivation splits
    into several events (a day of a period, a month of a stay)."""
    names = register.key or register.column_names
    parts = (_key_part(ctx.keys, register.column(n), alias) for n in names)
    return ctx.keys.event_key_sql(register.name, *parts, *extra)


def _key_part(keys: RecordKeys, column: Column, alias: str) -> str:
    """One column of a natural key, as the event key reads it on every engine."""
    if column.cpr:
        return keys.person_key_of_id_sql(f"{alias}.person_id")
    if column.type is ColumnType.DECIMAL:  # stored as double: text of a double differs by engine
        return fixed_point(f"{alias}.{column.name}")
    return f"{alias}.{column.name}"


def build_reference_tables(con: duckdb.DuckDBPyConnection, ctx: DeriveContext) -> list[str]:
    """Dimension tables from reference data and code lists; returns their names."""
    ref = ctx.refdata
    geo = ref.geography
    spans = geo.year_spans()
    tables = {
        "dim_region": pa.table(
            {
                "region_code": pa.array([r.code for r in geo.regions], pa.int16()),
                "region_name": [r.name_da for r in geo.regions],
                "region_name_en": [r.name_en for r in geo.regions],
                "valid_from": [r.valid_from for r in geo.regions],
                "valid_to": [r.valid_to for r in geo.regions],
                "provisional_code": [r.provisional_code for r in geo.regions],
            }
        ),
        "dim_region_membership": _membership_table(spans),
        "dim_hospital_region": _hospital_region_table(ref, spans),
        "dim_municipality": pa.table(
            {
                "kommunekode": pa.array([m.code for m in ref.municipalities], pa.int16()),
                "name": [m.name for m in ref.municipalities],
                "region_code": pa.array([m.region_code for m in ref.municipalities], pa.int16()),
            }
        ),
        "dim_hospital": pa.table(
            {
                "hospital_id": [h.hospital_id for h in ref.hospitals],
                "name": [h.name for h in ref.hospitals],
                "kommunekode": pa.array([h.municipality_code for h in ref.hospitals], pa.int16()),
                "region_code": pa.array([h.region_code for h in ref.hospitals], pa.int16()),
            }
        ),
        "dim_atc": _atc_table(ref),
        "dim_diagnosis": _diagnosis_table(ref),
        "dim_age": _age_table(),
    }
    for name, code_list in CODE_LISTS.items():
        attrs = sorted({k for c in code_list for k in c.attrs})
        columns: dict[str, list[str | None]] = {
            "code": [c.code for c in code_list],
            "label_da": [c.label_da for c in code_list],
            "label_en": [c.label_en for c in code_list],
        }
        for attr in attrs:
            columns[attr] = [c.attrs.get(attr) for c in code_list]
        tables[f"code_{name}"] = pa.table(columns)
    for name, table in tables.items():
        con.register("_arrow", table)
        con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM _arrow")
        con.unregister("_arrow")
    return list(tables)


def _membership_table(spans: tuple[YearSpan, ...]) -> pa.Table:
    """Each municipality's region over spans of whole years (the versioned region lookup)."""
    return pa.table(
        {
            "kommunekode": pa.array([s.kommunekode for s in spans], pa.int16()),
            "region_code": pa.array([s.region_code for s in spans], pa.int16()),
            "first_year": pa.array([s.first_year for s in spans], pa.int16()),
            "last_year": pa.array([s.last_year for s in spans], pa.int16()),
        }
    )


def _hospital_region_table(ref: RefData, spans: tuple[YearSpan, ...]) -> pa.Table:
    """The region owning each hospital over spans of whole years: the region of the hospital's
    municipality (the merged region takes over the hospitals of the two it replaces)."""
    rows = [(h.hospital_id, s) for h in ref.hospitals for s in spans if s.kommunekode == h.municipality_code]
    return pa.table(
        {
            "hospital_id": [h for h, _ in rows],
            "region_code": pa.array([s.region_code for _, s in rows], pa.int16()),
            "first_year": pa.array([s.first_year for _, s in rows], pa.int16()),
            "last_year": pa.array([s.last_year for _, s in rows], pa.int16()),
        }
    )


def _atc_table(ref: RefData) -> pa.Table:
    level1 = {g.code: g.name_en for g in ref.atc_groups if g.level == 1}
    level2 = [g for g in ref.atc_groups if g.level == 2]
    return pa.table(
        {
            "atc2": [g.code for g in level2],
            "atc2_name": [g.name_en for g in level2],
            "atc1": [g.parent for g in level2],
            "atc1_name": [level1.get(g.parent or "", "") for g in level2],
        }
    )


def _diagnosis_table(ref: RefData) -> pa.Table:
    hierarchy = IcdHierarchy(ref.icd10_chapters, ref.icd10_blocks, ref.icd10_categories)
    rows = []
    for cat in ref.icd10_categories:
        code = cat["sks_code"]
        block = hierarchy.block_of(code)
        chapter = hierarchy.chapter_of(code)
        rows.append(
            {
                "category": code,
                "category_title": cat["title_en"],
                "block": block.code if block else None,
                "block_title": block.title if block else None,
                "chapter_no": chapter.number if chapter else None,
                "chapter": chapter.roman if chapter else None,
                "chapter_title": chapter.title if chapter else None,
            }
        )
    return pa.Table.from_pylist(rows)


def _age_table() -> pa.Table:
    """One row per age 0–130 with the band of every configured age-band scheme."""
    schemes = load_age_band_schemes()
    columns: dict[str, list[object]] = {"age": list(range(MAX_AGE + 1))}
    for scheme_id, scheme in schemes.items():
        columns[f"band_{scheme_id}"] = [scheme.band_of(a).label for a in range(MAX_AGE + 1)]
    return pa.table(columns)
