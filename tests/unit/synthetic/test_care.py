"""EOJ from the generator: home care per month and nursing-home stays for the old."""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from koes.domain.registers import REGISTERS
from koes.refdata import RefData
from koes.synthetic.care import generate_care
from koes.synthetic.context import ChunkContext
from koes.synthetic.population import PnrRegistry, Population, generate_population
from koes.synthetic.writer import conform
from support import column_problems, make_context

HOME_CARE, NURSING_HOME = REGISTERS["eoj_hjemmepleje"], REGISTERS["eoj_plejebolig"]
TOLERANCE = 0.20
AGE_MACRO = """create macro age_on(born, day) as
    date_diff('year', born, day) - (strftime(day, '%m%d') < strftime(born, '%m%d'))::int"""
# Persons 65+ present on the 15th of each month of the period.
OLD_BY_MONTH = """create view old_by_month as
    select m.mid, date_trunc('month', m.mid)::date as maaned, p.pnr
    from (select unnest(range(date '{first}', date '{last}', interval 1 month))::date as mid) m,
         persons p
    where p.entry <= m.mid and p.exit >= m.mid and age_on(p.foed, m.mid) >= 65"""


@pytest.fixture(scope="module")
def chunk(refdata: RefData) -> tuple[Population, ChunkContext]:
    ctx = make_context(refdata, seed=41)
    return generate_population(ctx, 20_000, PnrRegistry()), ctx


def _generate(pop: Population, ctx: ChunkContext) -> tuple[pa.Table, pa.Table]:
    tables = generate_care(pop, ctx)
    return (
        conform(tables["eoj_hjemmepleje"], HOME_CARE),
        conform(tables["eoj_plejebolig"], NURSING_HOME),
    )


@pytest.fixture(scope="module")
def care(chunk: tuple[Population, ChunkContext]) -> tuple[pa.Table, pa.Table]:
    return _generate(*chunk)


def _connect(pop: Population, ctx: ChunkContext, care: tuple[pa.Table, pa.Table]) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.register("hc", care[0])
    con.register("nh", care[1])
    persons = {
        "pnr": pa.array(pop.pnr, pa.string()),
        "foed": pa.array(pop.birth),
        "entry": pa.array(pop.entry),
        "exit": pa.array(pop.exit),
        "status": pa.array(pop.status, pa.string()),
    }
    con.register("persons", pa.table(persons))
    population = ctx.refdata.population_in(ctx.start.year)
    districts = {
        "kommunekode": pa.array([f"{code:04d}" for code in population]),
        "k": pa.array([max(2, min(12, n // 15_000)) for n in population.values()]),
    }
    con.register("districts", pa.table(districts))
    con.sql(AGE_MACRO)
    first, last = ctx.start.replace(day=15), ctx.end.replace(day=16)
    con.sql(OLD_BY_MONTH.format(first=first, last=last))
    return con


@pytest.fixture(scope="module")
def db(chunk: tuple[Population, ChunkContext], care: tuple[pa.Table, pa.Table]) -> duckdb.DuckDBPyConnection:
    return _connect(*chunk, care)


def _value(con: duckdb.DuckDBPyConnection, sql: str) -> float:
    (row,) = con.sql(sql).fetchall()
    return float(row[0])


def test_rows_have_the_declared_layout_codes_and_keys(care: tuple[pa.Table, pa.Table], refdata: RefData) -> None:
    for table, register in zip(care, (HOME_CARE, NURSING_HOME), strict=True):
        assert table.num_rows > 50
        problems = [p for c in register.columns for p in column_problems(table, c, refdata)]
        assert problems == [], register.name
        keys = table.group_by(list(register.key)).aggregate([([], "count_all")])
        assert keys.num_rows == table.num_rows, register.name


def test_home_care_reaches_about_11_percent_of_the_old(db: duckdb.DuckDBPyConnection) -> None:
    share = _value(
        db,
        """select avg((exists (select 1 from hc where hc.pnr = o.pnr and hc.maaned = o.maaned))::int)
           from old_by_month o""",
    )
    assert abs(share / 0.11 - 1) <= TOLERANCE, share


def test_nursing_homes_house_about_3_percent_of_the_old(db: duckdb.DuckDBPyConnection) -> None:
    share = _value(
        db,
        """select avg((exists (select 1 from nh where nh.pnr = o.pnr and nh.fra_dato <= o.mid
                      and (nh.til_dato is null or nh.til_dato > o.mid)))::int)
           from old_by_month o""",
    )
    assert abs(share / 0.033 - 1) <= TOLERANCE, share


def test_care_rises_steeply_with_age(db: duckdb.DuckDBPyConnection) -> None:
    rows = db.sql(
        """select age_on(p.foed, o.mid) >= 85 as very_old,
                  avg((exists (select 1 from hc where hc.pnr = o.pnr and hc.maaned = o.maaned))::int)
           from old_by_month o join persons p using (pnr) group by very_old order by very_old"""
    ).fetchall()
    (_, younger), (_, very_old) = rows
    assert very_old > 4 * younger


def test_home_care_only_in_months_at_home_and_present(db: duckdb.DuckDBPyConnection) -> None:
    during_stay = _value(
        db,
        """select count(*) from hc join nh using (pnr)
           where nh.fra_dato <= last_day(hc.maaned)
             and (nh.til_dato is null or nh.til_dato > hc.maaned)""",
    )
    absent = _value(
        db,
        """select count(*) from hc join persons p using (pnr)
           where hc.maaned + interval 14 day < p.entry or hc.maaned + interval 14 day > p.exit""",
    )
    not_first_day = _value(db, "select count(*) from hc where day(maaned) <> 1")
    outside = _value(db, "select count(*) from hc where maaned < date '2022-01-01' or maaned > date '2022-12-01'")
    assert (during_stay, absent, not_first_day, outside) == (0, 0, 0, 0)


def test_hours_are_plausible(db: duckdb.DuckDBPyConnection) -> None:
    low, median, high = db.sql(
        "select min(visiterede_timer), median(visiterede_timer), max(visiterede_timer) from hc"
    ).fetchall()[0]
    assert low > 0 and 1 <= median <= 20 and high <= 744
    delivered = db.sql(
        "select min(leverede_timer / visiterede_timer), max(leverede_timer / visiterede_timer) from hc"
    ).fetchall()[0]
    assert delivered[0] >= 0.84 and delivered[1] <= 1.0


def test_home_care_continues_month_after_month(db: duckdb.DuckDBPyConnection) -> None:
    months = _value(
        db,
        """select avg(n) from (select pnr, count(distinct maaned) as n from hc
           where pnr in (select pnr from hc where maaned = date '2022-01-01') group by pnr)""",
    )
    assert months >= 8


def test_stays_start_after_60_and_end_when_the_resident_leaves_life(
    db: duckdb.DuckDBPyConnection,
) -> None:
    too_young = _value(db, "select count(*) from nh join persons p using (pnr) where age_on(p.foed, nh.fra_dato) < 60")
    wrong_end = _value(
        db,
        """select count(*) from nh join persons p using (pnr)
           where (til_dato is null) <> (p.status = '01' and p.exit = date '2022-12-31')
              or til_dato <> p.exit + 1""",
    )
    not_present = _value(
        db,
        """select count(*) from nh join persons p using (pnr) where fra_dato > p.exit
           or (fra_dato < p.entry and p.entry > date '2022-01-01')""",
    )
    before, earliest = db.sql("select avg((fra_dato < date '2022-01-01')::int), min(fra_dato) from nh").fetchall()[0]
    assert (too_young, wrong_end, not_present) == (0, 0, 0)
    assert before > 0.5 and str(earliest) >= "2016-01-01"


def test_districts_are_well_formed_and_fixed_per_person_and_address(
    db: duckdb.DuckDBPyConnection,
) -> None:
    for table in ("hc", "nh"):
        malformed = _value(
            db,
            f"""select count(*) from {table} left join districts using (kommunekode)
                where not regexp_full_match(plejedistrikt, '\\d{{4}}-\\d{{2}}')
                   or left(plejedistrikt, 4) <> kommunekode
                   or right(plejedistrikt, 2)::int not between 1 and coalesce(k, 2)""",
        )
        assert malformed == 0, table
    changing = _value(
        db,
        """select count(*) from (select pnr, kommunekode from hc group by all
           having count(distinct plejedistrikt) > 1)""",
    )
    assert changing == 0
    copenhagen = _value(db, "select count(distinct plejedistrikt) from hc where kommunekode = '0101'")
    assert copenhagen > 2


def test_same_seed_same_rows_other_seed_other_rows(
    chunk: tuple[Population, ChunkContext], care: tuple[pa.Table, pa.Table], refdata: RefData
) -> None:
    pop, ctx = chunk
    again = _generate(pop, ctx)
    other = _generate(pop, make_context(refdata, seed=42))
    assert all(a.equals(b) for a, b in zip(again, care, strict=True))
    assert not any(a.equals(b) for a, b in zip(other, care, strict=True))


def test_a_three_year_period_keeps_the_rules(
    three_year_population: tuple[Population, ChunkContext],
) -> None:
    pop, ctx = three_year_population
    con = _connect(pop, ctx, _generate(pop, ctx))
    during_stay = _value(
        con,
        """select count(*) from hc join nh using (pnr)
           where nh.fra_dato <= last_day(hc.maaned) and (nh.til_dato is null or nh.til_dato > hc.maaned)""",
    )
    months = _value(con, "select count(distinct maaned) from hc")
    share = _value(
        con,
        """select avg((exists (select 1 from hc where hc.pnr = o.pnr and hc.maaned = o.maaned))::int)
           from old_by_month o""",
    )
    assert (during_stay, months) == (0, 36)
    assert abs(share / 0.11 - 1) <= TOLERANCE
    days = np.unique(con.sql("select distinct maaned from hc").fetchnumpy()["maaned"])
    assert days.min() == np.datetime64("2022-01-01") and days.max() == np.datetime64("2024-12-01")
