"""DREAM from the generator: one code a week in valid, non-overlapping ISO-week spells."""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from koes.domain.registers import REGISTERS
from koes.refdata import RefData
from koes.synthetic import isoweek
from koes.synthetic.context import ChunkContext
from koes.synthetic.employment import generate_employment
from koes.synthetic.population import PnrRegistry, Population, generate_population
from koes.synthetic.writer import conform
from support import column_problems, make_context

REGISTER = REGISTERS["dream_forloeb"]
TOLERANCE = 0.20
AGE_MACRO = """create macro age_on(born, day) as
    date_diff('year', born, day) - (strftime(day, '%m%d') < strftime(born, '%m%d'))::int"""
# Persons present in the middle of the year, with their benefit in ISO week 2022-26.
MIDYEAR = """create view midyear as
    select p.*, age_on(foed, date '2022-06-29') as age, d.ydelseskode
    from persons p left join dream d on d.pnr = p.pnr and 202226 between fra_uge and til_uge
    where p.entry <= date '2022-06-27' and p.exit >= date '2022-07-03'"""


@pytest.fixture(scope="module")
def chunk(refdata: RefData) -> tuple[Population, ChunkContext]:
    ctx = make_context(refdata, seed=31)
    return generate_population(ctx, 20_000, PnrRegistry()), ctx


@pytest.fixture(scope="module")
def dream(chunk: tuple[Population, ChunkContext]) -> pa.Table:
    pop, ctx = chunk
    return conform(generate_employment(pop, ctx)["dream_forloeb"], REGISTER)


def _connect(pop: Population, dream: pa.Table) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.register("dream", dream)
    con.register(
        "persons",
        pa.table(
            {
                "pnr": pa.array(pop.pnr, pa.string()),
                "foed": pa.array(pop.birth),
                "entry": pa.array(pop.entry),
                "exit": pa.array(pop.exit),
                "psyk": pa.array(pop.has("svaer_psykisk_lidelse")),
            }
        ),
    )
    con.sql(AGE_MACRO)
    con.sql(MIDYEAR)
    return con


@pytest.fixture(scope="module")
def db(chunk: tuple[Population, ChunkContext], dream: pa.Table) -> duckdb.DuckDBPyConnection:
    return _connect(chunk[0], dream)


def _value(con: duckdb.DuckDBPyConnection, sql: str) -> float:
    (row,) = con.sql(sql).fetchall()
    return float(row[0])


def test_rows_have_the_declared_layout_and_codes(dream: pa.Table, refdata: RefData) -> None:
    assert dream.num_rows > 1_000
    problems = [p for c in REGISTER.columns for p in column_problems(dream, c, refdata)]
    assert problems == []
    keys = dream.group_by(["pnr", "fra_uge"]).aggregate([([], "count_all")])
    assert keys.num_rows == dream.num_rows


def _spell_problems(con: duckdb.DuckDBPyConnection, first_week: int, last_week: int) -> dict[str, float]:
    return {
        "invalid week": _value(
            con,
            """select count(*) from dream, (values (fra_uge), (til_uge)) w(code)
               where code % 100 < 1 or code % 100 > week(make_date(code // 100, 12, 28))""",
        ),
        "reversed": _value(con, "select count(*) from dream where fra_uge > til_uge"),
        "outside period": _value(
            con, f"select count(*) from dream where fra_uge < {first_week} or til_uge > {last_week}"
        ),
        "overlap": _value(
            con,
            """select count(*) from (select fra_uge, lag(til_uge) over (partition by pnr
                                     order by fra_uge) as previous_end from dream)
               where fra_uge <= previous_end""",
        ),
        # Spells of the same code must not touch: a run of equal weeks is one spell.
        "split run": _value(
            con,
            """select count(*) from (select fra_uge, ydelseskode, lag(til_uge) over w as prev_end,
                      lag(ydelseskode) over w as prev_code from dream
                      window w as (partition by pnr order by fra_uge))
               where prev_code = ydelseskode and yearweek(strptime(prev_end::varchar || '1',
                     '%G%V%u') + interval 7 day) = fra_uge""",
        ),
        "not present": _value(
            con,
            """select count(*) from dream join persons using (pnr)
               where fra_uge < yearweek(entry) or til_uge > yearweek(exit)""",
        ),
    }


def test_spells_are_valid_non_overlapping_and_inside_presence(db: duckdb.DuckDBPyConnection) -> None:
    problems = _spell_problems(db, 202201, 202252)
    assert problems == dict.fromkeys(problems, 0.0)


def test_everybody_from_67_has_state_pension_and_nobody_younger(
    db: duckdb.DuckDBPyConnection,
) -> None:
    old_without = _value(db, "select count(*) from midyear where age >= 67 and ydelseskode is distinct from '998'")
    young_with = _value(db, "select count(*) from midyear where age < 66 and ydelseskode = '998'")
    assert (old_without, young_with) == (0, 0)


@pytest.mark.parametrize(
    ("codes", "ages", "target"),
    [
        # The declared shares, calibrated to DST 2023 (published_figures.yaml).
        (("621",), "between 62 and 66", 0.103),  # efterløn
        (("781", "783"), "between 40 and 66", 0.087),  # førtidspension
        (("651",), "between 18 and 27", 0.40),  # SU
        (("111",), "between 18 and 66", 0.021),  # ledighed
        (("130",), "between 18 and 64", 0.03),  # kontanthjælp
        (("771",), "between 30 and 66", 0.032),  # fleksjob
    ],
)
def test_share_on_a_benefit_in_a_week_fits_the_age(
    db: duckdb.DuckDBPyConnection, codes: tuple[str, ...], ages: str, target: float
) -> None:
    listed = ", ".join(f"'{c}'" for c in codes)
    share = _value(db, f"select avg(coalesce(ydelseskode in ({listed}), false)::int) from midyear where age {ages}")
    assert abs(share / target - 1) <= 0.3, share


def test_sickness_benefit_reaches_about_12_percent_and_more_often_the_ill(
    db: duckdb.DuckDBPyConnection,
) -> None:
    sick = "pnr in (select pnr from dream where ydelseskode in ('890', '893'))"
    share = _value(db, f"select avg(({sick})::int) from persons where age_on(foed, entry) between 18 and 66")
    assert abs(share / 0.12 - 1) <= TOLERANCE, share
    median = _value(
        db,
        """select median(til_uge - fra_uge + 1) from dream
           where ydelseskode in ('890', '893') and til_uge < 202240 and fra_uge > 202201""",
    )
    assert 3 <= median <= 8
    psychiatric = _value(
        db,
        """select avg(coalesce(ydelseskode in ('781', '783'), false)::int) from midyear
           where psyk and age between 40 and 66""",
    )
    assert psychiatric > 0.15


def test_sickness_from_unemployment_has_its_own_code(db: duckdb.DuckDBPyConnection) -> None:
    after_unemployment = _value(
        db,
        """select count(*) from dream s join dream u on s.pnr = u.pnr and u.ydelseskode = '111'
           and yearweek(strptime(u.til_uge::varchar || '1', '%G%V%u') + interval 7 day) = s.fra_uge
           where s.ydelseskode = '893'""",
    )
    assert after_unemployment > 0


def test_same_seed_same_rows_other_seed_other_rows(
    chunk: tuple[Population, ChunkContext], dream: pa.Table, refdata: RefData
) -> None:
    pop, ctx = chunk
    again = conform(generate_employment(pop, ctx)["dream_forloeb"], REGISTER)
    other = conform(generate_employment(pop, make_context(refdata, seed=32))["dream_forloeb"], REGISTER)
    assert again.equals(dream)
    assert not other.equals(dream)


def test_a_three_year_period_has_valid_spells_across_year_ends(
    three_year_population: tuple[Population, ChunkContext],
) -> None:
    pop, ctx = three_year_population
    table = conform(generate_employment(pop, ctx)["dream_forloeb"], REGISTER)
    con = _connect(pop, table)
    problems = _spell_problems(con, 202201, 202452)
    assert problems == dict.fromkeys(problems, 0.0)
    across = _value(con, "select count(*) from dream where fra_uge // 100 < til_uge // 100")
    assert across > 0


# --- ISO weeks, checked against the standard library ---------------------------------------

DAYS = st.dates(min_value=date(1900, 1, 1), max_value=date(2199, 12, 31))


def _number(d: date) -> np.int64:
    return np.int64((d - date(1970, 1, 1)).days)


@given(DAYS)
def test_iso_year_and_week_agree_with_datetime(d: date) -> None:
    year, week = isoweek.iso_year_week(np.array([_number(d)]))
    assert (int(year[0]), int(week[0])) == tuple(d.isocalendar())[:2]
    assert int(isoweek.weekday(np.array([_number(d)]))[0]) == d.weekday()
    assert int(isoweek.calendar_year(np.array([_number(d)]))[0]) == d.year


@given(DAYS)
def test_week_index_and_week_code_round_trip(d: date) -> None:
    index = isoweek.week_index(np.array([_number(d)]))
    code = isoweek.week_code_of_index(index)
    iso = d.isocalendar()
    assert int(code[0]) == iso[0] * 100 + iso[1]
    assert isoweek.index_of_week_code(code).tolist() == index.tolist()
    monday = d - timedelta(days=d.weekday())
    assert isoweek.week_monday(index).tolist() == [_number(monday)]


@given(st.integers(1900, 2199))
def test_years_with_53_weeks(year: int) -> None:
    expected = date(year, 12, 28).isocalendar()[1]
    assert isoweek.weeks_in_iso_year(np.array([year])).tolist() == [expected]


@given(DAYS)
def test_civil_day_and_year_month_day_round_trip(d: date) -> None:
    dates = np.array([np.datetime64(d, "D")])
    year, month, day = isoweek.year_month_day(dates)
    assert (int(year[0]), int(month[0]), int(day[0])) == (d.year, d.month, d.day)
    assert isoweek.civil_day(year, month, day).tolist() == [_number(d)]


def test_a_period_holds_the_weeks_of_its_iso_years() -> None:
    first, last = isoweek.period_weeks(np.datetime64("2022-01-01"), np.datetime64("2022-12-31"))
    codes = isoweek.week_code_of_index(np.array([first, last])).tolist()
    assert codes == [202201, 202252]
    first, last = isoweek.period_weeks(np.datetime64("2020-01-01"), np.datetime64("2021-12-31"))
    assert isoweek.week_code_of_index(np.array([first, last])).tolist() == [202001, 202152]
