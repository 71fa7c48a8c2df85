"""LMS from the generator: layout, ATC codes, presence, determinism and national volumes (§6)."""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from koes.domain.registers import REGISTERS
from koes.refdata import RefData
from koes.synthetic.context import ChunkContext
from koes.synthetic.medicine import DRUGS, generate_medicine
from koes.synthetic.population import PnrRegistry, Population, generate_population
from koes.synthetic.writer import conform
from support import column_problems, make_context

REGISTER = REGISTERS["lms_ekspeditioner"]
TOLERANCE = 0.20
PERSON_YEARS = "(select sum(date_diff('day', entry, exit) + 1) / 365.25 from persons)"
AGE_MACRO = """create macro age_on(born, day) as
    date_diff('year', born, day) - (strftime(day, '%m%d') < strftime(born, '%m%d'))::int"""


@pytest.fixture(scope="module")
def chunk(refdata: RefData) -> tuple[Population, ChunkContext]:
    ctx = make_context(refdata, seed=21)
    return generate_population(ctx, 20_000, PnrRegistry()), ctx


@pytest.fixture(scope="module")
def lms(chunk: tuple[Population, ChunkContext]) -> pa.Table:
    pop, ctx = chunk
    return conform(generate_medicine(pop, ctx)["lms_ekspeditioner"], REGISTER)


@pytest.fixture(scope="module")
def db(chunk: tuple[Population, ChunkContext], lms: pa.Table) -> duckdb.DuckDBPyConnection:
    pop = chunk[0]
    con = duckdb.connect()
    con.register("lms", lms)
    persons = {
        "pnr": pa.array(pop.pnr, pa.string()),
        "koen": pa.array(pop.sex.astype(np.int64)),
        "foed": pa.array(pop.birth),
        "entry": pa.array(pop.entry),
        "exit": pa.array(pop.exit),
    }
    for name, has in pop.conditions.items():
        persons[name] = pa.array(has)
    con.register("persons", pa.table(persons))
    con.sql(AGE_MACRO)
    return con


def _value(con: duckdb.DuckDBPyConnection, sql: str) -> float:
    (row,) = con.sql(sql).fetchall()
    return float(row[0])


def test_rows_have_the_declared_layout_and_codes(lms: pa.Table, refdata: RefData) -> None:
    assert lms.num_rows > 100_000
    problems = [p for c in REGISTER.columns for p in column_problems(lms, c, refdata)]
    assert problems == []


def test_atc_codes_are_level_5_in_a_level_2_group_of_the_refdata(
    db: duckdb.DuckDBPyConnection, refdata: RefData
) -> None:
    codes = [r[0] for r in db.sql("select distinct atc from lms").fetchall()]
    assert all(len(c) == 7 for c in codes)
    assert {c[:3] for c in codes} <= refdata.atc_level2
    assert {d.atc[:3] for d in DRUGS} <= refdata.atc_level2


def test_redemptions_fall_on_days_the_person_is_present(db: duckdb.DuckDBPyConnection) -> None:
    outside = _value(db, "select count(*) from lms join persons using (pnr) where eksd < entry or eksd > exit")
    unknown = _value(db, "select count(*) from lms anti join persons using (pnr)")
    assert (outside, unknown) == (0, 0)
    first, last = db.sql("select min(eksd), max(eksd) from lms").fetchall()[0]
    assert str(first) >= "2022-01-01" and str(last) <= "2022-12-31"


def test_redemptions_per_1000_person_years_match_the_national_rate(
    db: duckdb.DuckDBPyConnection,
) -> None:
    rate = _value(db, f"select 1000 * count(*) / {PERSON_YEARS} from lms where apk > 0")
    assert abs(rate / 10_100 - 1) <= TOLERANCE, rate


def test_about_70_percent_of_persons_redeem_something(db: duckdb.DuckDBPyConnection) -> None:
    share = _value(db, "select avg((pnr in (select pnr from lms where apk > 0))::int) from persons")
    assert abs(share / 0.70 - 1) <= TOLERANCE, share


def test_chronic_drugs_are_redeemed_regularly_by_most_with_the_condition(
    db: duckdb.DuckDBPyConnection,
) -> None:
    treated, per_user = db.sql(
        """with metformin as (select pnr, count(*) as n from lms
                              where atc = 'A10BA02' and apk > 0 group by pnr)
           select avg((m.n is not null)::int), median(m.n) from persons p
           left join metformin m using (pnr)
           where p.diabetes and p.entry = date '2022-01-01' and p.exit = date '2022-12-31'"""
    ).fetchall()[0]
    assert treated >= 0.6
    assert 4 <= per_user <= 24
    without = _value(
        db,
        """select count(*) from lms join persons using (pnr)
           where atc in ('A10BA02', 'N06DA02', 'N05AH03') and not (diabetes or demens
                 or svaer_psykisk_lidelse)""",
    )
    assert without == 0


def test_use_fits_age_and_sex(db: duckdb.DuckDBPyConnection) -> None:
    wrong_sex = _value(db, "select count(*) from lms join persons using (pnr) where atc = 'G03AA07' and koen = 1")
    young_statin = _value(
        db,
        """select count(*) from lms join persons using (pnr)
           where atc = 'C10AA05' and age_on(foed, eksd) < 35""",
    )
    old, young = (
        _value(
            db,
            f"""select count(*) filter (where apk > 0) / count(distinct persons.pnr)
                from persons left join lms using (pnr) where age_on(foed, entry) {band}""",
        )
        for band in (">= 75", "between 18 and 39")
    )
    assert (wrong_sex, young_statin) == (0, 0)
    assert old > 4 * young


def test_price_and_subsidy_follow_packages(db: duckdb.DuckDBPyConnection) -> None:
    prices = _value(db, "select max(n) from (select vnr, count(distinct round(pris / apk, 2)) n from lms group by vnr)")
    assert prices == 1
    assert _value(db, "select count(*) from lms where abs(tilskud) > abs(pris) + 0.005") == 0
    assert _value(db, "select count(*) from lms where sign(pris) <> sign(apk) or apk = 0") == 0
    assert _value(db, "select count(*) from lms where tilskud <> round(tilskud, 2)") == 0
    assert _value(db, "select min(pris / apk) from lms") >= 20
    assert _value(db, "select max(pris / apk) from lms") <= 2_500


def test_returns_match_an_earlier_redemption(db: duckdb.DuckDBPyConnection) -> None:
    returns = _value(db, "select count(*) from lms where apk < 0")
    assert 0 < returns < 0.01 * _value(db, "select count(*) from lms")
    unmatched = _value(
        db,
        """select count(*) from lms r where r.apk < 0 and not exists (
               select 1 from lms o where o.pnr = r.pnr and o.vnr = r.vnr and o.apk = -r.apk
               and o.pris = -r.pris and o.eksd <= r.eksd)""",
    )
    assert unmatched == 0


def test_same_seed_same_rows_other_seed_other_rows(
    chunk: tuple[Population, ChunkContext], lms: pa.Table, refdata: RefData
) -> None:
    pop, ctx = chunk
    again = conform(generate_medicine(pop, ctx)["lms_ekspeditioner"], REGISTER)
    other = generate_medicine(pop, make_context(refdata, seed=22))["lms_ekspeditioner"]
    assert again.equals(lms)
    assert not conform(other, REGISTER).equals(lms)


def test_a_three_year_period_stays_inside_it(
    three_year_population: tuple[Population, ChunkContext],
) -> None:
    pop, ctx = three_year_population
    table = generate_medicine(pop, ctx)["lms_ekspeditioner"]
    days = table["eksd"].to_numpy(zero_copy_only=False)
    assert days.min() >= np.datetime64("2022-01-01") and days.max() <= np.datetime64("2024-12-31")
    per_year = np.bincount(days.astype("datetime64[Y]").astype(np.int64) - 52)
    assert per_year.min() > 0.8 * per_year.max()
    person_years = ((pop.exit - pop.entry).astype(np.int64) + 1).sum() / 365.25
    redeemed = (table["apk"].to_numpy() > 0).sum()
    assert abs(1000 * redeemed / person_years / 10_100 - 1) <= TOLERANCE
