"""The synthetic population behaves like a population: residence, births, deaths and moves."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from koes.domain.cpr import Sex, parse_cpr
from koes.refdata import RefData
from koes.synthetic.context import ChunkContext
from koes.synthetic.population import (
    PnrRegistry,
    Population,
    Residence,
    age_in_years,
    generate_population,
    person_tables,
)
from support import make_context

DAY = np.timedelta64(1, "D")


def test_residence_periods_are_contiguous_and_cover_presence(
    three_year_population: tuple[Population, ChunkContext],
) -> None:
    pop, _ = three_year_population
    res = pop.residence
    same = res.person[1:] == res.person[:-1]
    # Within a person, each period ends where the next begins: no gaps, no overlaps.
    assert np.array_equal(res.til[:-1][same], res.fra[1:][same])
    assert (res.fra[1:][same] > res.fra[:-1][same]).all()
    everyone = np.arange(len(pop))
    assert (pop.municipality_on(everyone, pop.entry) > 0).all()
    assert (pop.municipality_on(everyone, pop.exit) > 0).all()
    gone = pop.status != "01"
    assert (pop.municipality_on(everyone[gone], pop.exit[gone] + DAY) == 0).all()


def test_residence_lookup_on_a_hand_made_history() -> None:
    d = np.datetime64
    res = Residence(
        person=np.array([0, 0, 1]),
        kommune=np.array([101, 751, 851], dtype=np.int16),
        fra=np.array([d("2020-01-01"), d("2022-06-15"), d("2022-03-01")]),
        til=np.array([d("2022-06-15"), d("NaT"), d("2022-09-01")]),
    )
    pop = _population_with(res, n=2)
    who = np.array([0, 0, 0, 1, 1, 1])
    when = np.array(
        [
            d(x)
            for x in (
                "2022-06-14",
                "2022-06-15",
                "2030-01-01",
                "2022-02-28",
                "2022-03-01",
                "2022-09-01",
            )
        ]
    )
    assert pop.municipality_on(who, when).tolist() == [101, 751, 751, 0, 851, 0]


def test_people_move_die_emigrate_and_are_born_at_plausible_rates(
    three_year_population: tuple[Population, ChunkContext],
) -> None:
    pop, _ = three_year_population
    person_years = ((pop.exit - pop.entry) / DAY + 1).sum() / 365.25
    per_1000 = {
        "deaths": 1000 * (pop.status == "90").sum() / person_years,
        "emigrations": 1000 * (pop.status == "80").sum() / person_years,
        "moves": 1000 * (len(pop.residence) - len(pop)) / person_years,
        "births": 1000 * (pop.birth >= np.datetime64("2022-01-01")).sum() / person_years,
    }
    assert 7 < per_1000["deaths"] < 13, per_1000
    assert 5 < per_1000["emigrations"] < 12, per_1000
    assert 35 < per_1000["moves"] < 70, per_1000
    assert 7 < per_1000["births"] < 13, per_1000


def test_age_structure_follows_the_national_one(
    three_year_population: tuple[Population, ChunkContext],
) -> None:
    pop, ctx = three_year_population
    at_start = pop.entry == ctx.start64
    age = age_in_years(pop.birth[at_start], np.full(at_start.sum(), ctx.start64))
    share_65 = (age >= 65).mean()
    assert 0.18 < share_65 < 0.23  # BEFOLK2 2024: 20.7 %
    assert age.max() <= 105
    assert 0.48 < (pop.sex[at_start] == 2).mean() < 0.52


def test_cpr_numbers_agree_with_birth_date_and_sex(
    three_year_population: tuple[Population, ChunkContext],
) -> None:
    pop, _ = three_year_population
    assert len(set(pop.pnr.tolist())) == len(pop)
    for i in range(0, len(pop), 997):
        parsed = parse_cpr(str(pop.pnr[i]))
        assert parsed.cpr is not None
        assert parsed.cpr.birth_date == pop.birth[i].astype(date)
        assert parsed.cpr.sex is (Sex.MALE if pop.sex[i] == 1 else Sex.FEMALE)
        assert not parsed.cpr.mod11_ok
    # Never on 1 January: a failing modulus-11 number there might be a real, issued one.
    jan1 = pop.birth == pop.birth.astype("datetime64[Y]").astype("datetime64[D]")
    assert not jan1.any()


def test_numbers_stay_unique_across_chunks(refdata: RefData) -> None:
    used = PnrRegistry()
    a = generate_population(make_context(refdata, seed=1), 3000, used)
    b = generate_population(make_context(refdata, seed=1), 3000, used)  # same stream on purpose
    assert not set(a.pnr.tolist()) & set(b.pnr.tolist())


def test_chronic_conditions_rise_with_age(
    three_year_population: tuple[Population, ChunkContext],
) -> None:
    pop, _ = three_year_population
    age = age_in_years(pop.birth, pop.entry)
    old, young = age >= 70, (age >= 20) & (age < 40)
    for condition in ("diabetes", "kol", "hjertesvigt", "kraeft"):
        assert pop.has(condition)[old].mean() > 3 * pop.has(condition)[young].mean(), condition
    assert pop.frailty[pop.has("hjertesvigt")].mean() > pop.frailty.mean()


def test_person_tables_carry_the_cpr_layout(
    three_year_population: tuple[Population, ChunkContext],
) -> None:
    pop, _ = three_year_population
    tables = person_tables(pop)
    persons, addresses = tables["cpr_personer"], tables["cpr_adresser"]
    assert persons.num_rows == len(pop)
    assert set(persons["koen"].to_pylist()) == {"1", "2"}
    kommunekoder = set(addresses["kommunekode"].to_pylist())
    assert all(len(k) == 4 for k in kommunekoder)
    dead = persons.filter(np.asarray(pop.status == "90"))
    assert dead["status_dato"].null_count == 0


@pytest.mark.parametrize(
    ("birth", "day", "age"),
    [
        ("2000-02-29", "2021-02-28", 20),
        ("2000-02-29", "2021-03-01", 21),
        ("1950-06-01", "2022-05-31", 71),
    ],
)
def test_age_in_completed_years(birth: str, day: str, age: int) -> None:
    assert age_in_years(np.array([np.datetime64(birth)]), np.array([np.datetime64(day)]))[0] == age


def _population_with(res: Residence, n: int) -> Population:
    d = np.datetime64("2000-01-02")
    return Population(
        pnr=np.array([f"{i:010d}" for i in range(n)]),
        sex=np.ones(n, dtype=np.int8),
        birth=np.full(n, d),
        entry=np.full(n, d),
        exit=np.full(n, np.datetime64("2030-01-01")),
        status=np.full(n, "01"),
        status_date=np.full(n, np.datetime64("NaT", "D")),
        residence=res,
        conditions={},
        frailty=np.ones(n),
    )
