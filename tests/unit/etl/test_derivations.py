"""Hand-made extracts for every derivation rule, loaded through the real pipeline.

Each fixture writes a few persons' register rows (CSV or Parquet) into a temporary folder, loads
them with ``load_extracts`` (one load per fixture, shared by the tests of one topic) and the tests
assert the exact derived rows. The warehouse holds no CPR numbers, so persons are told apart by
their birth dates (unique within each hand-made set). The helpers are in ``tests/handmade.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from handmade import PSY, SOM, D, Extracts, F, T, Warehouse, build, cpr, d, ts
from koes.domain.periods import YearRange
from koes.synthetic.writer import ExtractFormat

# --- stays: coupling, admissions, bed days, transfers, virtual contacts -------------------------------


@pytest.fixture(scope="module")
def stays_wh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Warehouse]:
    x = Extracts()
    midnight, exact, too_late, transfer, virtual, lengths = (
        x.person(cpr(f"1952-03-{day}")) for day in (10, 11, 12, 13, 14, 15)
    )
    # Across midnight: 22:00–23:30, then 01:00–20:00 the next day (1.5 h gap): one 22-hour admission.
    x.contact(midnight, "2022-03-10 22:00:00", "2022-03-10 23:30:00", acute=True, specialty="akutmedicin", drg=2000)
    x.contact(midnight, "2022-03-11 01:00:00", "2022-03-11 20:00:00", adiag="DI21", specialty="kardiologi", drg=30000)
    # A gap of exactly 4 h couples; 4 h 1 s does not.
    x.contact(exact, "2022-04-01 08:00:00", "2022-04-01 10:00:00", acute=True, drg=1000)
    x.contact(exact, "2022-04-01 14:00:00", "2022-04-01 15:00:00", drg=1000)
    x.contact(too_late, "2022-04-01 08:00:00", "2022-04-01 10:00:00", drg=1000)
    x.contact(too_late, "2022-04-01 14:00:01", "2022-04-01 15:00:00", drg=1000)
    # Transfer: Herlev emergency department (2 h), 3 h later a ward at Rigshospitalet for two days.
    x.contact(transfer, "2022-05-01 10:00:00", "2022-05-01 12:00:00", acute=True, hospital="herlev", drg=1500)
    x.contact(transfer, "2022-05-01 15:00:00", "2022-05-03 09:00:00", hospital="rh-blegdamsvej", drg=40000)
    # Virtual contacts (ALCA03) would bridge 09:00→11:00 and 12:00→15:30; they must not. ALCA10 is physical.
    x.contact(virtual, "2022-06-01 08:00:00", "2022-06-01 09:00:00", drg=1000)
    x.contact(virtual, "2022-06-01 11:00:00", "2022-06-01 12:00:00", kont_type="ALCA03", drg=500)
    x.contact(virtual, "2022-06-01 15:30:00", "2022-06-01 16:00:00", drg=1000)
    x.contact(virtual, "2022-06-01 16:30:00", "2022-06-01 16:45:00", kont_type="ALCA03")
    # an acute second contact does not make the stay acute: its first contact decides
    x.contact(virtual, "2022-06-01 17:00:00", "2022-06-01 18:00:00", kont_type="ALCA10", acute=True, drg=1000)
    # 13 h on one day; 12 h less one second; exactly 12 h.
    x.contact(lengths, "2022-07-01 06:00:00", "2022-07-01 19:00:00")
    x.contact(lengths, "2022-07-02 06:00:00", "2022-07-02 17:59:59")
    x.contact(lengths, "2022-07-03 06:00:00", "2022-07-03 18:00:00")
    yield from build(x, tmp_path_factory, ExtractFormat.CSV)


def test_stays_couple_physical_contacts_at_most_4_hours_apart(stays_wh: Warehouse) -> None:
    stays = stays_wh.of(
        "stays",
        "strftime(start_ts, '%m-%d %H:%M:%S'), strftime(end_ts, '%m-%d %H:%M:%S'), n_contacts, admission, acute, "
        "patient_type, bed_days, adiag, hospital_id, transfer, hours",
        order="start_ts",
    )
    midnight, exact, too_late, transfer, virtual, lengths = (d(f"1952-03-{n}") for n in range(10, 16))
    assert stays == [
        # across midnight: one admission; bed days = discharge date − admission date (DST IANTDG) = 1
        (midnight, "03-10 22:00:00", "03-11 20:00:00", 2, T, T, "indlagt", 1, "DI21", "herlev", F, 22.0),
        # exactly 4 h apart: one stay; acute first contact and short, so patient type akut
        (exact, "04-01 08:00:00", "04-01 15:00:00", 2, F, T, "akut", 0, "DR69", "herlev", F, 7.0),
        # 4 h 1 s apart: two stays
        (too_late, "04-01 08:00:00", "04-01 10:00:00", 1, F, F, "ambulant", 0, "DR69", "herlev", F, 2.0),
        (too_late, "04-01 14:00:01", "04-01 15:00:00", 1, F, F, "ambulant", 0, "DR69", "herlev", F, 1.0),
        # transfer: one stay at the longest contact's hospital; 1 May → 3 May = 2 bed days
        (transfer, "05-01 10:00:00", "05-03 09:00:00", 2, T, T, "indlagt", 2, "DR69", "rh-blegdamsvej", T, 47.0),
        # virtual contacts bridge nothing; ALCA00 and ALCA10 1 h apart couple
        (virtual, "06-01 08:00:00", "06-01 09:00:00", 1, F, F, "ambulant", 0, "DR69", "herlev", F, 1.0),
        (virtual, "06-01 15:30:00", "06-01 18:00:00", 2, F, F, "ambulant", 0, "DR69", "herlev", F, 2.5),
        # 13 h on one day: an admission with the minimum of 1 bed day; 12 h less 1 s is none; 12 h is one
        (lengths, "07-01 06:00:00", "07-01 19:00:00", 1, T, F, "indlagt", 1, "DR69", "herlev", F, 13.0),
        (lengths, "07-02 06:00:00", "07-02 17:59:59", 1, F, F, "ambulant", 0, "DR69", "herlev", F, 12.0),
        (lengths, "07-03 06:00:00", "07-03 18:00:00", 1, T, F, "indlagt", 1, "DR69", "herlev", F, 12.0),
    ]
    assert stays_wh.rows("SELECT DISTINCT year, sector FROM stays") == [(2022, SOM)]


def test_virtual_contacts_are_never_part_of_a_stay(stays_wh: Warehouse) -> None:
    assert stays_wh.rows("SELECT count(*), count(stay_id), count(DISTINCT stay_id) FROM contacts") == [(16, 14, 10)]
    virtual = stays_wh.of(
        "contacts", "start_ts, stay_id IS NULL, physical, value_kr", "kont_type = 'ALCA03'", "start_ts"
    )
    assert virtual == [
        (d("1952-03-14"), ts("2022-06-01 11:00"), True, False, D("500.00")),
        (d("1952-03-14"), ts("2022-06-01 16:30"), True, False, D("0.00")),
    ]
    # Each its own outpatient visit: DRG 500 at 40 % (age 70, 2022 shadow rule) = 200; without a DRG row nothing.
    booked = stays_wh.of(
        "hospital_cofinancing",
        "date, admission, patient_type, value_kr, kmf_kr",
        "rk IN (SELECT rk FROM contacts WHERE kont_type = 'ALCA03')",
        "value_kr DESC",
    )
    assert booked == [
        (d("1952-03-14"), d("2022-06-01"), False, "ambulant", D("500.00"), D("200.00")),
        (d("1952-03-14"), d("2022-06-01"), False, "ambulant", D("0.00"), D("0.00")),
    ]
    outreach = stays_wh.rows(
        "SELECT count(*) FROM contacts WHERE kont_type = 'ALCA10' AND physical AND stay_id IS NOT NULL"
    )
    assert outreach == [(1,)]


# --- residence on the event date; population denominators ------------------------------------------


@pytest.fixture(scope="module")
def mover_wh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Warehouse]:
    x = Extracts()
    mover = x.person(cpr("1980-04-20"), "0101", since=d("2000-01-01"))
    x.move(mover, "0751", d("2022-06-15"))  # lives in København until 14 June, in Aarhus from 15 June
    stayer = x.person(cpr("1990-05-21"), "0751", since=d("2010-01-01"))
    for day in ("2022-03-01", "2022-06-14", "2022-06-15", "2022-09-01"):
        x.contact(mover, f"{day} 10:00:00", f"{day} 11:00:00", drg=1000)
    x.service(mover, "2022-06-14")
    x.service(mover, "2022-06-15")
    x.service(mover, "2022-06-15", speciale="802101", contacts=0, fee=55.0)  # blood sample: no contact
    x.service(mover, "2022-12-01", speciale="810101", fee=300.0)  # out-of-hours GP
    x.service(stayer, "2022-01-10")
    x.prescription(mover, "2022-06-14", "N02BE01")
    x.prescription(mover, "2022-06-16", "N02BE01")
    yield from build(x, tmp_path_factory, ExtractFormat.PARQUET)


def test_events_belong_to_the_municipality_of_residence_on_their_date(mover_wh: Warehouse) -> None:
    mover = d("1980-04-20")
    assert mover_wh.of("stays", "date, kommunekode", order="date") == [
        (mover, d("2022-03-01"), 101),
        (mover, d("2022-06-14"), 101),
        (mover, d("2022-06-15"), 751),
        (mover, d("2022-09-01"), 751),
    ]
    assert mover_wh.of("contacts", "date, kommunekode", order="date") == mover_wh.of(
        "stays", "date, kommunekode", order="date"
    )
    assert mover_wh.of("services", "date, provider_group, contacts, kommunekode", order="date, contacts") == [
        (mover, d("2022-06-14"), "almen_praksis", 1, 101),
        (mover, d("2022-06-15"), "almen_praksis", 0, 751),
        (mover, d("2022-06-15"), "almen_praksis", 1, 751),
        (mover, d("2022-12-01"), "almen_praksis", 1, 751),
        (d("1990-05-21"), d("2022-01-10"), "almen_praksis", 1, 751),
    ]
    assert mover_wh.of("prescriptions", "date, kommunekode", order="date") == [
        (mover, d("2022-06-14"), 101),
        (mover, d("2022-06-16"), 751),
    ]
    # The person-year lives where the person lived longest: 165 days in 101, 200 days in 751.
    assert mover_wh.of("person_year", "year, kommunekode, days_resident, gp_contacts") == [
        (mover, 2022, 751, 365, 3),
        (d("1990-05-21"), 2022, 751, 365, 1),
    ]
    gp = "SELECT kommunekode, sum(contacts) FROM cube_services WHERE provider_group = 'almen_praksis' GROUP BY ALL"
    assert sorted(mover_wh.rows(gp)) == [(101, 1), (751, 3)]


def test_population_counts_residents_on_the_first_of_each_month(mover_wh: Warehouse) -> None:
    months = mover_wh.rows(
        "SELECT month, kommunekode, sum(persons) FROM population_month WHERE year = 2022 GROUP BY ALL ORDER BY ALL"
    )
    expected = [(m, 101, 1) for m in range(1, 7)] + [(m, 751, 1) for m in range(1, 7)]
    expected += [(m, 751, 2) for m in range(7, 13)]
    assert months == sorted(expected)
    year = mover_wh.rows(
        "SELECT kommunekode, sum(persons_jan1), sum(persons_avg) FROM population_year WHERE year = 2022 "
        "GROUP BY ALL ORDER BY ALL"
    )
    assert year == [(101, 1, 0.5), (751, 1, 1.5)]


def test_persons_at_risk_are_everyone_resident_some_day(mover_wh: Warehouse) -> None:
    """The mover (born 20 April 1980) was in 101 at 41 and 42, then in 751 at 42; the stayer (born
    21 May 1990) in 751 at 31 and 32. By month, a person with one municipality and age in the month
    is a count; the months of a birthday or a move list the person, once per municipality and age."""
    mover, stayer = d("1980-04-20"), d("1990-05-21")
    assert mover_wh.of("residents_year", "year, kommunekode, age", order="kommunekode, age") == [
        (mover, 2022, 101, 41),
        (mover, 2022, 101, 42),
        (mover, 2022, 751, 42),
        (stayer, 2022, 751, 31),
        (stayer, 2022, 751, 32),
    ]
    months = mover_wh.rows(
        "SELECT month, kommunekode, age, person_id IS NOT NULL, persons FROM residents_month "
        "WHERE month BETWEEN 4 AND 7 ORDER BY ALL"
    )
    assert months == [
        (4, 101, 41, True, None),  # the mover's birthday
        (4, 101, 42, True, None),
        (4, 751, 31, False, 1),
        (5, 101, 42, False, 1),
        (5, 751, 31, True, None),  # the stayer's birthday
        (5, 751, 32, True, None),
        (6, 101, 42, True, None),  # the move
        (6, 751, 32, False, 1),
        (6, 751, 42, True, None),
        (7, 751, 32, False, 1),
        (7, 751, 42, False, 1),
    ]
    quarters = mover_wh.rows(
        "SELECT month, kommunekode, age, person_id IS NOT NULL, persons FROM residents_quarter ORDER BY ALL"
    )
    assert quarters[:4] == [
        (1, 101, 41, False, 1),
        (1, 751, 31, False, 1),
        (4, 101, 41, True, None),
        (4, 101, 42, True, None),
    ]


# --- co-financing ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def kmf2022_wh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Warehouse]:
    x = Extracts()
    p70, p30, p85, p64 = (x.person(cpr(b)) for b in ("1952-02-02", "1992-03-03", "1937-04-04", "1957-06-20"))
    # 70 years old: DRG 200,000 (ED 50,000 + ward 150,000) → 40 % = 80,000, capped at 31,029 per stay.
    x.contact(p70, "2022-06-01 08:00:00", "2022-06-01 10:00:00", acute=True, specialty="akutmedicin", drg=50000)
    x.contact(p70, "2022-06-01 11:00:00", "2022-06-03 10:00:00", drg=150000)
    x.contact(p70, "2022-09-01 08:00:00", "2022-09-02 08:00:00", drg=10000)  # cheap: 40 % = 4,000
    x.contact(p70, "2022-10-01 09:00:00", "2022-10-01 10:00:00", drg=2000)  # outpatient: 40 % = 800
    x.contact(p30, "2022-02-01 08:00:00", "2022-02-02 08:00:00", drg=50000)  # 20 % = 10,000
    # Psychiatric admission, 1 → 4 April: 3 bed days × 5,100 = 15,300; 60 % = 9,180, capped at 8,862.
    x.contact(p30, "2022-04-01 10:00:00", "2022-04-01 12:00:00", acute=True, adiag="DF20", specialty="psykiatri")
    x.contact(p30, "2022-04-01 13:00:00", "2022-04-04 10:00:00", adiag="DF20", specialty="psykiatri")
    # Psychiatric visit: 2,200; 30 % = 660, capped at 555. A virtual one is its own visit.
    x.contact(p30, "2022-05-01 09:00:00", "2022-05-01 10:00:00", adiag="DF20", specialty="psykiatri")
    x.contact(
        p30, "2022-05-10 09:00:00", "2022-05-10 09:20:00", adiag="DF20", specialty="psykiatri", kont_type="ALCA03"
    )
    x.contact(p85, "2022-03-01 08:00:00", "2022-03-02 08:00:00", drg=10000)  # 56 % = 5,600
    for p in (p30, p70, p85):
        x.service(p, "2022-03-01", fee=150.0)  # general practice: 7 %, 12 %, 18 % by age
    x.service(p70, "2022-03-02", speciale="040101", fee=500.0)  # specialist 40 % = 200
    x.service(p85, "2022-03-02", speciale="080101", fee=9000.0)  # specialist 56 % = 5,040, capped at 3,103
    x.service(p30, "2022-03-02", speciale="500101", fee=300.0)  # dentist: no co-financing
    x.service(p64, "2022-06-19", fee=150.0)  # the day before the 65th birthday: 7 %
    x.service(p64, "2022-06-20", fee=150.0)  # on the birthday: 12 %
    # Over New Year 2018: the rule of the start date (2017: 34 %, capped at 15,000) applies, not the
    # 2018 rule of the discharge date (20 % at 64, uncapped below 31,029).
    new_year = x.person(cpr("1953-01-05"))
    x.contact(new_year, "2017-12-31 20:00:00", "2018-01-02 10:00:00", drg=100000)
    yield from build(x, tmp_path_factory, ExtractFormat.CSV)


def test_cofinancing_2022_per_stay_with_cap(kmf2022_wh: Warehouse) -> None:
    stays = kmf2022_wh.of(
        "stays",
        "date, sector, admission, bed_days, age, value_kr, psych_value, kmf_kr, kmf_basis",
        "year = 2022",
        "start_ts",
    )
    assert stays == [
        (d("1937-04-04"), d("2022-03-01"), SOM, True, 1, 84, D("10000.00"), D("0.00"), D("5600.00"), "shadow"),
        (d("1952-02-02"), d("2022-06-01"), SOM, True, 2, 70, D("200000.00"), D("0.00"), D("31029.00"), "shadow"),
        (d("1952-02-02"), d("2022-09-01"), SOM, True, 1, 70, D("10000.00"), D("0.00"), D("4000.00"), "shadow"),
        (d("1952-02-02"), d("2022-10-01"), SOM, False, 0, 70, D("2000.00"), D("0.00"), D("800.00"), "shadow"),
        (d("1992-03-03"), d("2022-02-01"), SOM, True, 1, 29, D("50000.00"), D("0.00"), D("10000.00"), "shadow"),
        (d("1992-03-03"), d("2022-04-01"), PSY, True, 3, 30, D("15300.00"), D("15300.00"), D("8862.00"), "shadow"),
        (d("1992-03-03"), d("2022-05-01"), PSY, False, 0, 30, D("2200.00"), D("2200.00"), D("555.00"), "shadow"),
    ]


def test_cofinancing_booked_per_stay_and_virtual_contact(kmf2022_wh: Warehouse) -> None:
    """One row per stay (its capped amount in full, not spread over its contacts) and per virtual
    contact; the contacts keep their value, the psychiatric value shared by the stay's contacts."""
    booked = kmf2022_wh.of("hospital_cofinancing", "date, sector, admission, value_kr, kmf_kr", "year = 2022", "date")
    assert booked == [
        (d("1937-04-04"), d("2022-03-01"), SOM, True, D("10000.00"), D("5600.00")),
        (d("1952-02-02"), d("2022-06-01"), SOM, True, D("200000.00"), D("31029.00")),
        (d("1952-02-02"), d("2022-09-01"), SOM, True, D("10000.00"), D("4000.00")),
        (d("1952-02-02"), d("2022-10-01"), SOM, False, D("2000.00"), D("800.00")),
        (d("1992-03-03"), d("2022-02-01"), SOM, True, D("50000.00"), D("10000.00")),
        (d("1992-03-03"), d("2022-04-01"), PSY, True, D("15300.00"), D("8862.00")),
        (d("1992-03-03"), d("2022-05-01"), PSY, False, D("2200.00"), D("555.00")),
        (d("1992-03-03"), d("2022-05-10"), PSY, False, D("2200.00"), D("555.00")),
    ]
    contacts = kmf2022_wh.of("contacts", "start_ts, sector, stay_id IS NULL, value_kr", "year = 2022", "start_ts")
    assert contacts == [
        (d("1937-04-04"), ts("2022-03-01 08:00"), SOM, False, D("10000.00")),
        (d("1952-02-02"), ts("2022-06-01 08:00"), SOM, False, D("50000.00")),
        (d("1952-02-02"), ts("2022-06-01 11:00"), SOM, False, D("150000.00")),
        (d("1952-02-02"), ts("2022-09-01 08:00"), SOM, False, D("10000.00")),
        (d("1952-02-02"), ts("2022-10-01 09:00"), SOM, False, D("2000.00")),
        (d("1992-03-03"), ts("2022-02-01 08:00"), SOM, False, D("50000.00")),
        (d("1992-03-03"), ts("2022-04-01 10:00"), PSY, False, D("7650.00")),
        (d("1992-03-03"), ts("2022-04-01 13:00"), PSY, False, D("7650.00")),
        (d("1992-03-03"), ts("2022-05-01 09:00"), PSY, False, D("2200.00")),
        (d("1992-03-03"), ts("2022-05-10 09:00"), PSY, True, D("2200.00")),
    ]
    cube = kmf2022_wh.rows(
        "SELECT sector, sum(kmf_kr) FROM cube_cofinancing WHERE year = 2022 GROUP BY ALL ORDER BY ALL"
    )
    assert cube == [
        ("almen_praksis", D("84.00")),
        ("psykiatri", D("9972.00")),
        ("somatik", D("51429.00")),
        ("speciallaege", D("3303.00")),
    ]


def test_cofinancing_rule_of_the_stay_start_date(kmf2022_wh: Warehouse) -> None:
    stay = kmf2022_wh.of("stays", "date, age, bed_days, value_kr, kmf_kr, kmf_basis", "year = 2017")
    assert stay == [(d("1953-01-05"), d("2017-12-31"), 64, 2, D("100000.00"), D("15000.00"), "activity")]


def test_cofinancing_of_practice_services(kmf2022_wh: Warehouse) -> None:
    services = kmf2022_wh.of("services", "date, provider_group, age, fee_kr, kmf_kr", order="date")
    assert services == [
        (d("1937-04-04"), d("2022-03-01"), "almen_praksis", 84, D("150.00"), D("27.00")),
        (d("1937-04-04"), d("2022-03-02"), "speciallaege", 84, D("9000.00"), D("3103.00")),
        (d("1952-02-02"), d("2022-03-01"), "almen_praksis", 70, D("150.00"), D("18.00")),
        (d("1952-02-02"), d("2022-03-02"), "speciallaege", 70, D("500.00"), D("200.00")),
        (d("1957-06-20"), d("2022-06-19"), "almen_praksis", 64, D("150.00"), D("10.50")),
        (d("1957-06-20"), d("2022-06-20"), "almen_praksis", 65, D("150.00"), D("18.00")),
        (d("1992-03-03"), d("2022-03-01"), "almen_praksis", 29, D("150.00"), D("10.50")),
        (d("1992-03-03"), d("2022-03-02"), "oevrige", 29, D("300.00"), D("0.00")),
    ]


@pytest.fixture(scope="module")
def kmf2015_wh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Warehouse]:
    x = Extracts()
    p = x.person(cpr("1950-05-05"))
    x.contact(p, "2015-03-01 08:00:00", "2015-03-03 08:00:00", drg=100000)  # 34 % = 34,000, capped at 15,000
    x.contact(p, "2015-04-01 08:00:00", "2015-04-02 08:00:00", drg=20000)  # 34 % = 6,800
    x.contact(p, "2015-05-01 09:00:00", "2015-05-01 10:00:00", drg=10000)  # visit: 3,400, capped at 1,500
    x.contact(p, "2015-05-02 09:00:00", "2015-05-02 10:00:00", drg=3000)  # visit: 1,020
    # Psychiatry 2015: 2 bed days × 4,440 = 8,880 → 60 % = 5,328; 5 bed days → 13,320, capped at 8,500;
    # a visit 1,915 → 30 % = 574.50, capped at 500.
    x.contact(p, "2015-06-01 10:00:00", "2015-06-03 10:00:00", adiag="DF32", specialty="psykiatri")
    x.contact(p, "2015-07-01 10:00:00", "2015-07-06 10:00:00", adiag="DF32", specialty="psykiatri")
    x.contact(p, "2015-08-01 10:00:00", "2015-08-01 11:00:00", adiag="DF32", specialty="psykiatri")
    x.service(p, "2015-03-10", fee=150.0)  # general practice 10 % = 15
    x.service(p, "2015-03-11", speciale="060101", fee=6000.0)  # specialist 34 % = 2,040, capped at 1,500
    yield from build(x, tmp_path_factory, ExtractFormat.PARQUET, YearRange(2015, 2015))


def test_cofinancing_2015_uniform_rates_and_caps(kmf2015_wh: Warehouse) -> None:
    stays = kmf2015_wh.rows(
        "SELECT date, sector, admission, bed_days, value_kr, kmf_kr, kmf_basis FROM stays ORDER BY start_ts"
    )
    assert stays == [
        (d("2015-03-01"), SOM, True, 2, D("100000.00"), D("15000.00"), "activity"),
        (d("2015-04-01"), SOM, True, 1, D("20000.00"), D("6800.00"), "activity"),
        (d("2015-05-01"), SOM, False, 0, D("10000.00"), D("1500.00"), "activity"),
        (d("2015-05-02"), SOM, False, 0, D("3000.00"), D("1020.00"), "activity"),
        (d("2015-06-01"), PSY, True, 2, D("8880.00"), D("5328.00"), "activity"),
        (d("2015-07-01"), PSY, True, 5, D("22200.00"), D("8500.00"), "activity"),
        (d("2015-08-01"), PSY, False, 0, D("1915.00"), D("500.00"), "activity"),
    ]
    services = kmf2015_wh.rows("SELECT date, provider_group, fee_kr, kmf_kr FROM services ORDER BY date")
    assert services == [
        (d("2015-03-10"), "almen_praksis", D("150.00"), D("15.00")),
        (d("2015-03-11"), "speciallaege", D("6000.00"), D("1500.00")),
    ]
    assert kmf2015_wh.rows("SELECT DISTINCT year FROM population_month") == [(2015,)]


# --- discharge-ready days -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def discharge_wh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Warehouse]:
    x = Extracts()
    e2022, e2016, e2017, psych = (x.person(cpr(f"1940-01-{day}")) for day in (10, 11, 12, 13))
    x.move(e2022, "0147", d("2022-05-11"))  # moves on discharge-ready day 2: the first day's municipality pays
    c = x.contact(e2022, "2022-05-01 08:00:00", "2022-05-13 10:00:00", drg=60000)
    x.discharge_ready(e2022, c, "somatik", "2022-05-10", "2022-05-13")
    c = x.contact(e2016, "2016-05-01 08:00:00", "2016-05-13 10:00:00", drg=60000)
    x.discharge_ready(e2016, c, "somatik", "2016-05-10", "2016-05-13")
    c = x.contact(e2017, "2016-12-20 08:00:00", "2017-01-03 10:00:00", drg=60000)
    x.discharge_ready(e2017, c, "somatik", "2016-12-31", "2017-01-03")
    c = x.contact(psych, "2022-07-20 08:00:00", "2022-08-05 10:00:00", adiag="DF20", specialty="psykiatri")
    x.discharge_ready(psych, c, "psykiatri", "2022-08-01", "2022-08-05")
    yield from build(x, tmp_path_factory, ExtractFormat.CSV)


def test_discharge_ready_days_cost_2x_then_3x_from_2017(discharge_wh: Warehouse) -> None:
    days = discharge_wh.of("discharge_ready_days", "sector, day_no, day, multiplier, cost_kr, kommunekode", order="day")
    assert days == [
        # 2022 somatics, base 2,225 kr.: days 1–2 at 2×, day 3 at 3×
        (d("1940-01-10"), SOM, 1, d("2022-05-10"), 2.0, D("4450.00"), 101),
        (d("1940-01-10"), SOM, 2, d("2022-05-11"), 2.0, D("4450.00"), 101),
        (d("1940-01-10"), SOM, 3, d("2022-05-12"), 3.0, D("6675.00"), 101),
        # 2016: the base rate 1,976 kr. every day
        (d("1940-01-11"), SOM, 1, d("2016-05-10"), 1.0, D("1976.00"), 101),
        (d("1940-01-11"), SOM, 2, d("2016-05-11"), 1.0, D("1976.00"), 101),
        (d("1940-01-11"), SOM, 3, d("2016-05-12"), 1.0, D("1976.00"), 101),
        # across New Year 2017: each day under the rule and rate of its own date, numbered from the start
        (d("1940-01-12"), SOM, 1, d("2016-12-31"), 1.0, D("1976.00"), 101),
        (d("1940-01-12"), SOM, 2, d("2017-01-01"), 2.0, D("4032.00"), 101),
        (d("1940-01-12"), SOM, 3, d("2017-01-02"), 3.0, D("6048.00"), 101),
        # psychiatry: the 2022 base rate 4,165 kr. every day
        *[(d("1940-01-13"), PSY, n, d(f"2022-08-0{n}"), 1.0, D("4165.00"), 101) for n in range(1, 5)],
    ]
    spells = discharge_wh.of("discharge_ready", "sector, fra, til, days, cost_kr, year, kommunekode")
    assert spells == [
        (d("1940-01-10"), SOM, d("2022-05-10"), d("2022-05-13"), 3, D("15575.00"), 2022, 101),
        (d("1940-01-11"), SOM, d("2016-05-10"), d("2016-05-13"), 3, D("5928.00"), 2016, 101),
        (d("1940-01-12"), SOM, d("2016-12-31"), d("2017-01-03"), 3, D("12056.00"), 2016, 101),
        (d("1940-01-13"), PSY, d("2022-08-01"), d("2022-08-05"), 4, D("16660.00"), 2022, 101),
    ]
    cube = discharge_wh.rows("SELECT year, sum(days), sum(cost_kr) FROM cube_discharge_ready GROUP BY ALL ORDER BY ALL")
    assert cube == [(2016, 4, D("7904.00")), (2017, 2, D("10080.00")), (2022, 7, D("32235.00"))]


# --- preventable admissions and 30-day readmissions ---------------------------------------------------


@pytest.fixture(scope="module")
def acute_wh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Warehouse]:
    x = Extracts()

    def admission(pnr: str, start: str, end: str, **kw: Any) -> None:
        x.contact(pnr, f"{start}:00", f"{end}:00", **kw)

    # Preventable: acute admissions 10–11 June 2022.
    turns65 = x.person(cpr("1957-06-10"))  # 65 on the day of admission
    is64 = x.person(cpr("1957-06-11"))  # 65 the day after
    planned, ami, ed_then_ward, outpatient, fracture = (x.person(cpr(f"1950-01-{n}")) for n in range(15, 20))
    for p in (turns65, is64):
        admission(p, "2022-06-10 08:00", "2022-06-11 08:00", acute=True, adiag="DE86")
    admission(planned, "2022-06-10 08:00", "2022-06-11 08:00", adiag="DE86")
    admission(ami, "2022-06-10 08:00", "2022-06-11 08:00", acute=True, adiag="DI21")
    # the action diagnosis is the longest contact's: the ward's pneumonia, not the ED's R69
    admission(ed_then_ward, "2022-06-10 08:00", "2022-06-10 10:00", acute=True, specialty="akutmedicin")
    admission(ed_then_ward, "2022-06-10 11:00", "2022-06-12 08:00", adiag="DJ189")
    admission(outpatient, "2022-06-10 08:00", "2022-06-10 11:00", acute=True, adiag="DE86")  # 3 h: no admission
    admission(fracture, "2022-06-10 08:00", "2022-06-11 08:00", acute=True, adiag="DS720")

    # Readmissions: a first admission 1–10 March 2022, discharged 10 March 12:00.
    r30, r31, planned_again, other_sector, acute_visit, psych = (x.person(cpr(f"1960-02-0{n}")) for n in range(1, 7))
    for p in (r30, r31, planned_again, other_sector, acute_visit):
        admission(p, "2022-03-01 08:00", "2022-03-10 12:00")
    admission(r30, "2022-04-09 12:00", "2022-04-10 12:00", acute=True)  # 30 days after discharge
    admission(r31, "2022-04-10 12:00", "2022-04-11 12:00", acute=True)  # 31 days after
    admission(planned_again, "2022-03-20 08:00", "2022-03-21 08:00")  # planned
    admission(other_sector, "2022-03-20 08:00", "2022-03-21 08:00", acute=True, adiag="DF32", specialty="psykiatri")
    admission(acute_visit, "2022-03-15 08:00", "2022-03-15 11:00", acute=True)  # acute, but no admission
    admission(psych, "2022-03-01 08:00", "2022-03-10 12:00", adiag="DF32", specialty="psykiatri")
    admission(psych, "2022-03-25 08:00", "2022-03-26 08:00", acute=True, adiag="DF32", specialty="psykiatri")
    yield from build(x, tmp_path_factory, ExtractFormat.PARQUET)


def test_preventable_admissions_65_plus_acute_in_the_nine_groups(acute_wh: Warehouse) -> None:
    found = acute_wh.of("stays", "age, admission, acute, adiag, preventable_group", "year(birth_date) < 1960")
    assert found == [
        (d("1950-01-15"), 72, True, False, "DE86", None),  # planned
        (d("1950-01-16"), 72, True, True, "DI21", None),  # not in a group
        (d("1950-01-17"), 72, True, True, "DJ189", "nedre_luftveje"),
        (d("1950-01-18"), 72, False, True, "DE86", None),  # outpatient
        (d("1950-01-19"), 72, True, True, "DS720", "brud"),
        (d("1957-06-10"), 65, True, True, "DE86", "dehydrering"),
        (d("1957-06-11"), 64, True, True, "DE86", None),
    ]
    per_year = acute_wh.rows("SELECT year, sum(preventable_admissions) FROM person_year GROUP BY ALL")
    assert per_year == [(2022, 3)]


def test_readmission_within_30_days_in_the_same_sector(acute_wh: Warehouse) -> None:
    found = acute_wh.of(
        "stays", "sector, admission, acute, readmitted_30, is_readmission", "year(birth_date) = 1960", "start_ts"
    )
    assert found == [
        (d("1960-02-01"), SOM, T, F, T, F),  # followed by an acute admission 30 days after discharge
        (d("1960-02-01"), SOM, T, T, F, T),
        (d("1960-02-02"), SOM, T, F, F, F),  # 31 days: no
        (d("1960-02-02"), SOM, T, T, F, F),
        (d("1960-02-03"), SOM, T, F, F, F),  # a planned readmission: no
        (d("1960-02-03"), SOM, T, F, F, F),
        (d("1960-02-04"), SOM, T, F, F, F),  # an acute psychiatric admission after a somatic one: no
        (d("1960-02-04"), PSY, T, T, F, F),
        (d("1960-02-05"), SOM, T, F, F, F),  # an acute outpatient stay is no readmission
        (d("1960-02-05"), SOM, F, T, F, F),
        (d("1960-02-06"), PSY, T, F, T, F),  # psychiatry within psychiatry: yes
        (d("1960-02-06"), PSY, T, T, F, T),
    ]
    share = acute_wh.rows(
        "SELECT sector, sum(admissions), sum(readmitted_30) FROM cube_stays GROUP BY ALL ORDER BY ALL"
    )
    assert share == [("psykiatri", 3, 1), ("somatik", 14, 1)]


# --- person-year registers: chronic conditions, benefit weeks, care ------------------------------------


@pytest.fixture(scope="module")
def registers_wh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Warehouse]:
    x = Extracts()
    by_diagnosis = x.person(cpr("1955-07-07"), "0101", since=d("2000-01-01"))
    by_medicine = x.person(cpr("1956-08-08"), "0147", since=d("2000-01-01"))
    x.move(by_medicine, "0101", d("2022-12-15"))
    cared_for = x.person(cpr("1930-09-09"), "0461", since=d("2000-01-01"))
    # Chronic conditions by diagnosis: diabetes (action diagnosis) from 2022 on; a disproved COPD
    # diagnosis never; heart failure (secondary diagnosis) from 2023.
    c = x.contact(by_diagnosis, "2022-03-01 09:00:00", "2022-03-01 10:00:00", adiag="DE11")
    x.diagnosis(c, "DJ44", disproved=True)
    c = x.contact(by_diagnosis, "2023-05-01 09:00:00", "2023-05-01 10:00:00")
    x.diagnosis(c, "DI50")
    # By medicine, year by year: one A10 redemption in 2022 is not enough, two in 2023 are; a sale
    # returned in 2021 leaves one; one N06D (dementia needs one) in 2021.
    x.prescription(by_medicine, "2021-04-01", "A10BA02")
    x.prescription(by_medicine, "2021-04-15", "A10BA02", packages=-1)
    x.prescription(by_medicine, "2021-03-01", "N06DA02")
    x.prescription(by_medicine, "2022-02-01", "A10BA02")
    x.prescription(by_medicine, "2023-01-10", "A10BA02")
    x.prescription(by_medicine, "2023-06-10", "A10BA02")
    # Benefit spells across ISO years: 2020 has 53 weeks (outside the period), 2022 has 52.
    x.benefit(by_diagnosis, "111", 202052, 202102)
    x.benefit(by_medicine, "890", 202250, 202303)
    # Care: nursing home 15 March – 10 May 2022 and from 20 November 2023 (open); home care in
    # December 2021 recorded by another municipality (0479) than the one of residence (0461): it
    # belongs to the municipality of residence, like every other event.
    x.nursing_home(cared_for, "0461", "2022-03-15", "2022-05-10")
    x.nursing_home(cared_for, "0461", "2023-11-20", None)
    x.home_care(cared_for, "0479", "2021-12-01", "personlig_pleje", 10.5, 9.25)
    x.home_care(cared_for, "0461", "2022-01-01", "praktisk_hjaelp", 4.0, 3.5)
    yield from build(x, tmp_path_factory, ExtractFormat.CSV, YearRange(2021, 2023))


def test_chronic_conditions_from_diagnoses_carried_forward_and_from_medicine(registers_wh: Warehouse) -> None:
    conditions = registers_wh.of("person_conditions", "year, condition, by_diagnosis, by_medicine", order="year")
    assert conditions == [
        (d("1955-07-07"), 2022, "diabetes", True, False),
        (d("1955-07-07"), 2023, "diabetes", True, False),
        (d("1955-07-07"), 2023, "hjertesvigt", True, False),
        (d("1956-08-08"), 2021, "demens", False, True),
        (d("1956-08-08"), 2023, "diabetes", False, True),
    ]
    flags = registers_wh.of(
        "person_year", "year, diabetes, kol, hjertesvigt, demens", "year(birth_date) > 1950", "year"
    )
    assert flags == [
        (d("1955-07-07"), 2021, F, F, F, F),
        (d("1955-07-07"), 2022, T, F, F, F),
        (d("1955-07-07"), 2023, T, F, T, F),
        (d("1956-08-08"), 2021, F, F, F, T),
        (d("1956-08-08"), 2022, F, F, F, F),
        (d("1956-08-08"), 2023, T, F, F, F),
    ]


def test_benefit_weeks_split_across_iso_years(registers_wh: Warehouse) -> None:
    weeks = registers_wh.of(
        "benefit_weeks",
        "year, benefit_type, ydelseskode, weeks, first_monday, age, kommunekode",
        "year(birth_date) < 1960",
        order="year, kommunekode",
    )
    assert weeks == [
        # weeks 2020-52, 2020-53 fall in 2020, outside the period; 2021-01 and -02 remain
        (d("1955-07-07"), 2021, "ledighed", "111", 2, d("2021-01-04"), 65, 101),
        # weeks 50–52 of 2022 and 1–3 of 2023, each where the citizen lived on its Monday (moved
        # Thursday 15 Dec 2022, so week 50 in 147, weeks 51 and 52 in 101), at the age then
        (d("1956-08-08"), 2022, "sygedagpenge", "890", 2, d("2022-12-19"), 66, 101),
        (d("1956-08-08"), 2022, "sygedagpenge", "890", 1, d("2022-12-12"), 66, 147),
        (d("1956-08-08"), 2023, "sygedagpenge", "890", 3, d("2023-01-02"), 66, 101),
    ]
    totals = registers_wh.of(
        "person_year", "year, weeks_ledighed, weeks_sygedagpenge", "weeks_ledighed + weeks_sygedagpenge > 0", "year"
    )
    assert totals == [
        (d("1955-07-07"), 2021, 2, 0),
        (d("1956-08-08"), 2022, 0, 3),
        (d("1956-08-08"), 2023, 0, 3),
    ]


def test_nursing_home_months_and_home_care(registers_wh: Warehouse) -> None:
    cared_for = d("1930-09-09")
    months = registers_wh.of(
        "nursing_home_months", "month_start, days, kommunekode, care_district", order="month_start"
    )
    assert months == [
        (cared_for, d("2022-03-01"), 17, 461, "0461-02"),
        (cared_for, d("2022-04-01"), 30, 461, "0461-02"),
        (cared_for, d("2022-05-01"), 9, 461, "0461-02"),
        (cared_for, d("2023-11-01"), 11, 461, "0461-02"),
        (cared_for, d("2023-12-01"), 31, 461, "0461-02"),
    ]
    care = registers_wh.of(
        "home_care", "month_start, service_group, hours_assessed, hours_delivered, kommunekode", order="month_start"
    )
    assert care == [
        (cared_for, d("2021-12-01"), "personlig_pleje", D("10.50"), D("9.25"), 461),
        (cared_for, d("2022-01-01"), "praktisk_hjaelp", D("4.00"), D("3.50"), 461),
    ]
    per_year = registers_wh.of(
        "person_year_care",
        "year, kommunekode, home_care_hours_delivered, home_care_months, nursing_home_days, nursing_home_months",
        order="year",
    )
    assert per_year == [
        (cared_for, 2021, 461, D("9.25"), 1, 0, 0),
        (cared_for, 2022, 461, D("3.50"), 1, 56, 3),
        (cared_for, 2023, 461, D("0.00"), 0, 42, 2),
    ]
    person_year = registers_wh.of(
        "person_year", "year, kommunekode, home_care_hours, nursing_home_days", "age > 80", "year"
    )
    assert person_year == [
        (cared_for, 2021, 461, D("9.25"), 0),
        (cared_for, 2022, 461, D("3.50"), 56),
        (cared_for, 2023, 461, D("0.00"), 42),
    ]


# --- attribution: every event where and how old the citizen was on its date ------------------------------


@pytest.fixture(scope="module")
def attribution_wh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Warehouse]:
    x = Extracts()
    # Arrives from abroad on Wednesday 2 March 2022 in 0461, moves to 0147 on Thursday 17 March,
    # turns 62 on Sunday 20 March. Sickness benefit in ISO weeks 9–12 (Mondays 28 Feb – 21 Mar).
    arrives = x.person(cpr("1960-03-20"), "0461", since=d("2022-03-02"))
    x.move(arrives, "0147", d("2022-03-17"))
    x.benefit(arrives, "890", 202209, 202212)
    # Home care in March, the month of arrival, recorded by 0147: it belongs where and how old the
    # citizen was on the first day of residence in that month (2 March: 0461, 61).
    x.home_care(arrives, "0147", "2022-03-01", "praktisk_hjaelp", 2.0, 2.0)
    # A stay across New Year of a patient who moves on 1 January: 40 % (age 72, 2022) of the stay's
    # DRG 20,000 = 8,000, booked in full on 31 December 2022 in 0101 (the contacts keep their dates).
    mover = x.person(cpr("1950-10-10"), "0101", since=d("2000-01-01"))
    x.move(mover, "0751", d("2023-01-01"))
    x.contact(mover, "2022-12-31 18:00:00", "2022-12-31 23:00:00", acute=True, drg=5000)
    x.contact(mover, "2023-01-01 02:00:00", "2023-01-03 10:00:00", drg=15000)
    # Medicine: a sale and its return in the first quarter; in the second only a return.
    returns = x.person(cpr("1970-05-05"), "0101", since=d("2000-01-01"))
    x.prescription(returns, "2022-01-10", "N02BE01")
    x.prescription(returns, "2022-02-01", "N02BE01", packages=-1)
    x.prescription(returns, "2022-05-01", "N02BE01", packages=-1)
    yield from build(x, tmp_path_factory, ExtractFormat.CSV, YearRange(2022, 2023))


def test_benefit_weeks_where_the_citizen_lived_each_week(attribution_wh: Warehouse) -> None:
    """Week 9's Monday finds the citizen not yet resident: that week belongs nowhere, and only it (the
    rest of the spell-year is not lost); weeks 10–11 in 0461 at 61, week 12 in 0147 at 62."""
    weeks = attribution_wh.of(
        "benefit_weeks", "year, weeks, first_monday, kommunekode, age", "year(birth_date) = 1960", "first_monday"
    )
    assert weeks == [
        (d("1960-03-20"), 2022, 2, d("2022-03-07"), 461, 61),
        (d("1960-03-20"), 2022, 1, d("2022-03-21"), 147, 62),
    ]
    per_year = attribution_wh.of("person_year", "year, kommunekode, weeks_sygedagpenge", "year(birth_date) = 1960")
    assert per_year == [(d("1960-03-20"), 2022, 147, 3), (d("1960-03-20"), 2023, 147, 0)]


def test_care_month_where_the_citizen_lived_on_its_first_day_of_residence(attribution_wh: Warehouse) -> None:
    care = attribution_wh.of("home_care", "month_start, kommunekode, age")
    assert care == [(d("1960-03-20"), d("2022-03-01"), 461, 61)]


def test_stay_cofinancing_booked_in_full_at_its_start(attribution_wh: Warehouse) -> None:
    mover = d("1950-10-10")
    booked = attribution_wh.of(
        "hospital_cofinancing", "date, year, kommunekode, age, value_kr, kmf_kr", "year(birth_date) = 1950"
    )
    assert booked == [(mover, d("2022-12-31"), 2022, 101, 72, D("20000.00"), D("8000.00"))]
    contacts = attribution_wh.of("contacts", "date, kommunekode, value_kr", "year(birth_date) = 1950", "date")
    assert contacts == [(mover, d("2022-12-31"), 101, D("5000.00")), (mover, d("2023-01-01"), 751, D("15000.00"))]
    per_year = attribution_wh.rows(
        "SELECT year, kommunekode, sum(kmf_kr), sum(value_kr) FROM person_year_hospital GROUP BY ALL ORDER BY ALL"
    )
    assert per_year == [(2022, 101, D("8000.00"), D("5000.00")), (2023, 751, D("0.00"), D("15000.00"))]
    cube = attribution_wh.rows("SELECT year, kommunekode, sum(kmf_kr) FROM cube_cofinancing GROUP BY ALL ORDER BY ALL")
    assert cube == [(2022, 101, D("8000.00"))]


def test_a_return_is_not_a_redemption(attribution_wh: Warehouse) -> None:
    returns = d("1970-05-05")
    rows = attribution_wh.of("prescriptions", "date, packages, redemptions", "year(birth_date) = 1970", "date")
    assert rows == [
        (returns, d("2022-01-10"), 1, 1),
        (returns, d("2022-02-01"), -1, -1),
        (returns, d("2022-05-01"), -1, -1),
    ]
    per_year = attribution_wh.of("person_year_medicine_total", "year, redemptions, sales", "year(birth_date) = 1970")
    assert per_year == [(returns, 2022, -1, 1)]
