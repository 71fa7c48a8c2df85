"""SSR from the generator: layout, presence, determinism and the national volumes (§6)."""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from koes.domain.codelists import SSR_SPECIALE, SSR_YDELSE
from koes.domain.registers import REGISTERS
from koes.refdata import RefData
from koes.synthetic.context import ChunkContext
from koes.synthetic.population import PnrRegistry, Population, generate_population
from koes.synthetic.practice import generate_practice
from koes.synthetic.writer import conform
from support import column_problems, make_context

REGISTER = REGISTERS["ssr_ydelser"]
TOLERANCE = 0.20
GP = "('80', '81')"
AGE_MACRO = """create macro age_on(born, day) as
    date_diff('year', born, day) - (strftime(day, '%m%d') < strftime(born, '%m%d'))::int"""


@pytest.fixture(scope="module")
def chunk(refdata: RefData) -> tuple[Population, ChunkContext]:
    ctx = make_context(refdata, seed=11)
    return generate_population(ctx, 20_000, PnrRegistry()), ctx


@pytest.fixture(scope="module")
def ssr(chunk: tuple[Population, ChunkContext]) -> pa.Table:
    pop, ctx = chunk
    return conform(generate_practice(pop, ctx)["ssr_ydelser"], REGISTER)


@pytest.fixture(scope="module")
def db(chunk: tuple[Population, ChunkContext], ssr: pa.Table) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.register("ssr", ssr)
    con.register("persons", _persons(chunk[0]))
    con.sql(AGE_MACRO)
    return con


def _persons(pop: Population) -> pa.Table:
    return pa.table(
        {
            "pnr": pa.array(pop.pnr, pa.string()),
            "koen": pa.array(pop.sex.astype(np.int64)),
            "foed": pa.array(pop.birth),
            "entry": pa.array(pop.entry),
            "exit": pa.array(pop.exit),
        }
    )


def _value(con: duckdb.DuckDBPyConnection, sql: str) -> float:
    (row,) = con.sql(sql).fetchall()
    return float(row[0])


PERSON_YEARS = "(select sum(date_diff('day', entry, exit) + 1) / 365.25 from persons)"


def test_rows_have_the_declared_layout_and_codes(ssr: pa.Table, refdata: RefData) -> None:
    assert ssr.schema == conform(ssr, REGISTER).schema
    assert ssr.num_rows > 100_000
    problems = [p for c in REGISTER.columns for p in column_problems(ssr, c, refdata)]
    assert problems == []


def test_services_are_known_codes_of_all_provider_groups(db: duckdb.DuckDBPyConnection) -> None:
    rows = db.sql("select distinct speciale from ssr").fetchall()
    specialties = {r[0][:2] for r in rows}
    assert {r[0][2:] for r in rows} <= set(SSR_YDELSE.values)
    for group in ("almen_praksis", "speciallaege", "oevrige"):
        assert specialties & set(SSR_SPECIALE.where(group=group)), group


def test_services_fall_on_days_the_person_is_present(db: duckdb.DuckDBPyConnection) -> None:
    outside = _value(
        db,
        """select count(*) from ssr join persons using (pnr)
           where behandlingsdato < entry or behandlingsdato > exit""",
    )
    unknown = _value(db, "select count(*) from ssr anti join persons using (pnr)")
    assert (outside, unknown) == (0, 0)
    first, last = db.sql("select min(behandlingsdato), max(behandlingsdato) from ssr").fetchall()[0]
    assert str(first) >= "2022-01-01" and str(last) <= "2022-12-31"


@pytest.mark.parametrize(
    ("label", "numerator", "target"),
    [
        ("GP contacts", f"sum(kontakt) filter (where left(speciale, 2) in {GP})", 7_700),
        ("practice-sector contacts", "sum(kontakt)", 10_600),
    ],
)
def test_contacts_per_1000_person_years_match_the_national_rate(
    db: duckdb.DuckDBPyConnection, label: str, numerator: str, target: float
) -> None:
    rate = _value(db, f"select 1000 * {numerator} / {PERSON_YEARS} from ssr")
    assert abs(rate / target - 1) <= TOLERANCE, f"{label}: {rate:.0f} per 1,000 vs {target}"


def test_most_adults_see_their_gp_and_women_more_often(db: duckdb.DuckDBPyConnection) -> None:
    share = _value(
        db,
        f"""with gp as (select pnr, sum(kontakt) as n from ssr
                        where left(speciale, 2) in {GP} group by pnr)
            select avg((coalesce(gp.n, 0) > 0)::int) from persons left join gp using (pnr)
            where entry = date '2022-01-01' and age_on(foed, entry) >= 18""",
    )
    assert abs(share / 0.85 - 1) <= TOLERANCE
    women = _value(
        db,
        f"""select sum(kontakt) filter (where koen = 2) / sum(kontakt) from ssr
            join persons using (pnr) where left(speciale, 2) in {GP}""",
    )
    assert 0.55 <= women <= 0.65


def test_use_rises_with_age(db: duckdb.DuckDBPyConnection) -> None:
    rows = db.sql(
        f"""select age_on(foed, entry) >= 75 as old,
                   coalesce(sum(kontakt), 0) / count(distinct persons.pnr) as per_person
            from persons left join ssr on ssr.pnr = persons.pnr and left(speciale, 2) in {GP}
            where age_on(foed, entry) >= 18 group by old order by old"""
    ).fetchall()
    (_, younger), (_, older) = rows
    assert older > 1.5 * younger


def test_fees_are_whole_kroner_of_the_right_sign(db: duckdb.DuckDBPyConnection) -> None:
    assert _value(db, "select count(*) from ssr where bruhon <> round(bruhon)") == 0
    assert _value(db, "select count(*) from ssr where sign(bruhon) <> sign(ydlant)") == 0
    assert _value(db, "select count(*) from ssr where kontakt not in (0, ydlant)") == 0
    consultation = _value(db, "select median(bruhon) from ssr where speciale = '800101'")
    assert 100 <= consultation <= 200
    assert _value(db, "select count(*) from ssr where speciale like '__2101' and kontakt <> 0") == 0


def test_corrections_cancel_an_earlier_row(db: duckdb.DuckDBPyConnection) -> None:
    corrections = _value(db, "select count(*) from ssr where ydlant < 0")
    total = _value(db, "select count(*) from ssr")
    assert 0.001 <= corrections / total <= 0.01
    unmatched = _value(
        db,
        """select count(*) from ssr c where c.ydlant < 0 and not exists (
               select 1 from ssr o where o.pnr = c.pnr and o.ydernr = c.ydernr
               and o.speciale = c.speciale and o.ydlant = -c.ydlant and o.bruhon = -c.bruhon
               and o.behandlingsdato = c.behandlingsdato and o.honuge <= c.honuge)""",
    )
    assert unmatched == 0


def test_settlement_week_is_within_two_weeks_of_the_contact(db: duckdb.DuckDBPyConnection) -> None:
    late = _value(
        db,
        """select count(*) from ssr where ydlant > 0 and (
               honuge::int < yearweek(behandlingsdato) % 10000
               or honuge::int > yearweek(behandlingsdato + 14) % 10000)""",
    )
    assert late == 0


def test_insurance_group_is_fixed_per_person_and_mostly_1(db: duckdb.DuckDBPyConnection) -> None:
    changing = _value(db, "select count(*) from (select pnr from ssr group by pnr having count(distinct sikgrup) > 1)")
    group_1 = _value(db, "select avg((sikgrup = '1')::int) from (select distinct pnr, sikgrup from ssr)")
    assert changing == 0
    assert 0.96 <= group_1 <= 0.995


def test_persons_of_a_municipality_share_a_handful_of_gp_clinics(
    db: duckdb.DuckDBPyConnection,
) -> None:
    rows = db.sql(
        """select left(ydernr, 3) as kommune, count(distinct ydernr) as clinics,
                  count(distinct pnr) as persons
           from ssr where speciale like '80%' group by kommune"""
    ).fetchall()
    assert all(clinics <= 99 for _, clinics, _ in rows)
    assert all(2 <= clinics <= persons / 4 for _, clinics, persons in rows if persons >= 400)
    # A person who never moves keeps one clinic.
    per_person = _value(
        db,
        """select max(n) from (select pnr, count(distinct ydernr) as n from ssr
           where speciale like '80%' group by pnr having count(distinct left(ydernr, 3)) = 1)""",
    )
    assert per_person == 1


def test_same_seed_same_rows_other_seed_other_rows(
    chunk: tuple[Population, ChunkContext], ssr: pa.Table, refdata: RefData
) -> None:
    pop, ctx = chunk
    again = conform(generate_practice(pop, ctx)["ssr_ydelser"], REGISTER)
    other = conform(generate_practice(pop, make_context(refdata, seed=12))["ssr_ydelser"], REGISTER)
    assert again.equals(ssr)
    assert not other.equals(ssr)


def test_a_three_year_period_stays_inside_it(
    three_year_population: tuple[Population, ChunkContext],
) -> None:
    pop, ctx = three_year_population
    table = generate_practice(pop, ctx)["ssr_ydelser"]
    days = table["behandlingsdato"].to_numpy(zero_copy_only=False)
    assert days.min() >= np.datetime64("2022-01-01") and days.max() <= np.datetime64("2024-12-31")
    years = days.astype("datetime64[Y]").astype(np.int64) + 1970
    assert set(np.unique(years).tolist()) == {2022, 2023, 2024}
    person_years = ((pop.exit - pop.entry).astype(np.int64) + 1).sum() / 365.25
    contacts = table["kontakt"].to_numpy().sum()
    assert abs(1000 * contacts / person_years / 10_600 - 1) <= TOLERANCE


def test_specialists_bill_services_beyond_their_contacts(db: duckdb.DuckDBPyConnection) -> None:
    """A contact carries one or more services (issue 16, item 7): specialists bill add-on services
    (ydlant without kontakt) with consultations, so their services exceed their contacts, while
    each add-on falls on a day the person has a contact with that kind of specialist."""
    specialists = f"left(speciale, 2) in {tuple(sorted(SSR_SPECIALE.where(group='speciallaege')))}"
    services, contacts = db.sql(f"select sum(ydlant), sum(kontakt) from ssr where {specialists}").fetchall()[0]
    assert services > 1.3 * contacts
    lone = _value(
        db,
        f"""select count(*) from ssr a where {specialists} and a.kontakt = 0 and a.ydlant > 0
              and not exists (select 1 from ssr c where c.pnr = a.pnr and c.behandlingsdato = a.behandlingsdato
                              and left(c.speciale, 2) = left(a.speciale, 2) and c.kontakt > 0)""",
    )
    assert lone == 0
