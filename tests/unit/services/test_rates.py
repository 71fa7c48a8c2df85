"""Coherent rates and true zeros on a hand-made Denmark, through the whole analysis path.

Three citizens, 2022–2023, counted by hand (exact figures: a national user with individual-level
rights, so nothing is perturbed):

* A, born 15 January 1950, lives on Læsø (825) throughout: an admission in March 2022 and in
  March 2023, a GP visit and an eye specialist's consultation with two examinations billed with it
  in February 2022; a medicine sale in January 2022 returned in February, and a lone return in
  May 2022;
* B, born 1 June 1985, lives in København (101) until 30 June 2022, on Læsø from 1 July: a GP
  visit in August 2022; sickness benefit in ISO weeks 25–28 of 2022 (Mondays 20 and 27 June in
  København, 4 and 11 July on Læsø);
* C, born 10 March 1990, lives in Aarhus (751) throughout and uses nothing.

Læsø's residents on the 1st of each month in 2022: A all year, B July–December, so 18
resident-months (1.5 citizen-years); in 2023 both all year (2 citizen-years).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from handmade import Extracts, Warehouse, build, cpr, d
from koes.domain.periods import YearRange
from koes.privacy.access import Organisation, Principal
from koes.query.derive import derive
from koes.query.planner import in_plan
from koes.semantic.loader import default_catalog
from koes.semantic.model import TimeUnit
from koes.services.analysis import AnalysisService
from koes.synthetic.writer import ExtractFormat
from support import TOTAL_KEY, result_cells

EXACT = Principal("oracle", Organisation("national"), frozenset({"individ"}))
LAESOE, KBH, AARHUS = 825, 101, 751


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Warehouse]:
    x = Extracts()
    a = x.person(cpr("1950-01-15"), "0825", since=d("2000-01-01"))
    b = x.person(cpr("1985-06-01"), "0101", since=d("2000-01-01"))
    x.move(b, "0825", d("2022-07-01"))
    x.person(cpr("1990-03-10"), "0751", since=d("2000-01-01"))
    x.contact(a, "2022-03-01 08:00:00", "2022-03-02 08:00:00", drg=10000)
    x.contact(a, "2023-03-01 08:00:00", "2023-03-02 08:00:00", drg=10000)
    x.service(a, "2022-02-01")
    x.service(a, "2022-02-01", "190101", fee=330)  # an eye specialist: one contact, three services
    x.service(a, "2022-02-01", "193001", contacts=0, fee=250)
    x.service(a, "2022-02-01", "193001", contacts=0, fee=250)
    x.service(b, "2022-08-01")
    x.prescription(a, "2022-01-10", "N02BE01")
    x.prescription(a, "2022-02-01", "N02BE01", packages=-1)
    x.prescription(a, "2022-05-01", "N02BE01", packages=-1)
    x.benefit(b, "890", 202225, 202228)
    yield from build(x, tmp_path_factory, ExtractFormat.PARQUET, YearRange(2022, 2023))


@pytest.fixture(scope="module")
def service(world: Warehouse) -> Iterator[AnalysisService]:
    s = AnalysisService(world.settings)
    yield s
    s.close()


def _cells(service: AnalysisService, request: dict[str, Any], measure: str) -> dict[tuple[Any, Any], Any]:
    return result_cells(service.run(request, EXACT), measure)


def test_persons_per_1000_count_everyone_who_could_be_counted(service: AnalysisService) -> None:
    """Both Læsø residents of 2022 saw their GP there: 1,000 per 1,000, not 2 users over an average
    of 1.5 residents (1,333). København: B lived there, saw no GP there: a true 0."""
    request = {
        "perspective": "sygesikring",
        "measures": ["praksisbrugere_pr_1000", "praksisbrugere"],
        "rows": ["kommune"],
        "period": {"from": "2022"},
    }
    rate = _cells(service, request, "praksisbrugere_pr_1000")
    assert rate[((LAESOE,), TOTAL_KEY)] == pytest.approx(1000.0)
    assert rate[((KBH,), TOTAL_KEY)] == 0.0
    assert rate[(TOTAL_KEY, TOTAL_KEY)] == pytest.approx(1000 * 2 / 3)  # A, B of A, B, C
    assert _cells(service, request, "praksisbrugere")[((LAESOE,), TOTAL_KEY)] == 2


def test_a_rate_over_several_years_is_per_year(service: AnalysisService) -> None:
    """Admissions on Læsø: 1 over 1.5 citizen-years in 2022, 1 over 2 in 2023, and over both years 2
    over 3.5 citizen-years (571.4 per year; not 1,142.9, the two years over the average citizens).
    Patients: 1 of 2 persons at risk each year, and over both years (1 + 1) of (2 + 2)."""
    request = {
        "perspective": "somatik",
        "measures": ["indlaeggelser_pr_1000", "patienter_pr_1000"],
        "rows": ["kommune"],
        "columns": ["aar"],
        "filters": {"kommune": [LAESOE]},
        "period": {"from": "2022", "to": "2023"},
    }
    result = service.run(request, EXACT)
    admissions = result_cells(result, "indlaeggelser_pr_1000")
    assert admissions[((LAESOE,), (2022,))] == pytest.approx(1000 / 1.5)
    assert admissions[((LAESOE,), (2023,))] == pytest.approx(500.0)
    assert admissions[((LAESOE,), TOTAL_KEY)] == pytest.approx(1000 * 2 / 3.5)
    patients = result_cells(result, "patienter_pr_1000")
    assert patients[((LAESOE,), (2022,))] == patients[((LAESOE,), (2023,))] == pytest.approx(500.0)
    assert patients[((LAESOE,), TOTAL_KEY)] == pytest.approx(500.0)
    labels = {m["id"]: (m["label"], m.get("time_unit")) for m in result.to_json("da")["measures"]}
    assert labels["indlaeggelser_pr_1000"] == ("Indlæggelser pr. 1.000 borgere pr. år", "aar")


def test_a_monthly_series_is_per_month(service: AnalysisService) -> None:
    """March 2022: one admission, one citizen on 1 March. Over the year's months: 1 over 18
    citizen-months."""
    request = {
        "perspective": "somatik",
        "measures": ["indlaeggelser_pr_1000"],
        "columns": ["maaned"],
        "filters": {"kommune": [LAESOE]},
        "period": {"from": "2022"},
    }
    result = service.run(request, EXACT)
    rate = result_cells(result, "indlaeggelser_pr_1000")
    assert rate[(TOTAL_KEY, (202203,))] == pytest.approx(1000.0)
    assert rate[(TOTAL_KEY, (202204,))] == 0.0  # a month without admissions is a true zero
    assert rate[(TOTAL_KEY, TOTAL_KEY)] == pytest.approx(1000 / 18)
    assert len(rate) == 13
    (measure,) = result.to_json("en")["measures"]
    assert measure["label"] == "Admissions per 1,000 citizens per month" and measure["time_unit"] == "maaned"


def test_persons_per_1000_by_month_and_quarter(service: AnalysisService) -> None:
    """Practice users on Læsø: A in February (A the one resident), B in August (of A and B). Over the
    year, 2 user-months of 18 resident-months; by quarter, 1 of 1 in Q1, 1 of 2 in Q3."""
    monthly = {
        "perspective": "sygesikring",
        "measures": ["praksisbrugere_pr_1000"],
        "columns": ["maaned"],
        "filters": {"kommune": [LAESOE]},
        "period": {"from": "2022"},
    }
    rate = _cells(service, monthly, "praksisbrugere_pr_1000")
    assert rate[(TOTAL_KEY, (202202,))] == pytest.approx(1000.0)
    assert rate[(TOTAL_KEY, (202208,))] == pytest.approx(500.0)
    assert rate[(TOTAL_KEY, (202203,))] == 0.0
    assert rate[(TOTAL_KEY, TOTAL_KEY)] == pytest.approx(1000 * 2 / 18)
    quarterly = _cells(service, {**monthly, "columns": ["kvartal"]}, "praksisbrugere_pr_1000")
    assert quarterly[(TOTAL_KEY, (20221,))] == pytest.approx(1000.0)
    assert quarterly[(TOTAL_KEY, (20223,))] == pytest.approx(500.0)
    assert quarterly[(TOTAL_KEY, TOTAL_KEY)] == pytest.approx(1000 * 2 / 6)  # quarters at risk: A 4, B 2


def test_every_municipality_is_listed_with_true_zeros(service: AnalysisService) -> None:
    """All 98 municipalities, those without admissions as 0 (Aarhus has a citizen: its rate is 0 too)."""
    request = {
        "perspective": "somatik",
        "measures": ["indlaeggelser", "indlaeggelser_pr_1000"],
        "rows": ["kommune"],
        "period": {"from": "2022"},
    }
    result = service.run(request, EXACT)
    counts = result_cells(result, "indlaeggelser")
    assert len(counts) == 99
    assert counts[((LAESOE,), TOTAL_KEY)] == 1
    assert counts[((741,), TOTAL_KEY)] == counts[((AARHUS,), TOTAL_KEY)] == 0
    rates = result_cells(result, "indlaeggelser_pr_1000")
    assert rates[((AARHUS,), TOTAL_KEY)] == 0.0
    assert rates[((741,), TOTAL_KEY)] is None  # Samsø has no citizens here: no rate, not a zero


def test_medicine_users_need_a_redemption_not_a_return(service: AnalysisService) -> None:
    """A's second quarter holds only a return: no user then. The year counts A once."""
    request = {
        "perspective": "medicin",
        "measures": ["medicinbrugere", "recepter"],
        "columns": ["kvartal"],
        "filters": {"kommune": [LAESOE]},
        "period": {"from": "2022"},
    }
    users = _cells(service, request, "medicinbrugere")
    assert users[(TOTAL_KEY, (20221,))] == 1
    assert users[(TOTAL_KEY, (20222,))] == 0
    assert users[(TOTAL_KEY, TOTAL_KEY)] == 1
    yearly = {**request, "columns": ["aar"]}  # answered from the person-year table: the same rule
    assert _cells(service, yearly, "medicinbrugere")[(TOTAL_KEY, (2022,))] == 1
    assert _cells(service, request, "recepter")[(TOTAL_KEY, (20222,))] == -1


def test_benefit_weeks_and_recipients_where_the_citizen_lived_each_week(service: AnalysisService) -> None:
    request = {
        "perspective": "beskaeftigelse",
        "measures": ["ydelsesuger", "ydelsesmodtagere", "ydelsesmodtagere_pr_1000"],
        "rows": ["kommune"],
        "filters": {"kommune": [KBH, LAESOE]},
        "period": {"from": "2022"},
    }
    result = service.run(request, EXACT)
    assert result_cells(result, "ydelsesuger") == {
        ((KBH,), TOTAL_KEY): 2,
        ((LAESOE,), TOTAL_KEY): 2,
        (TOTAL_KEY, TOTAL_KEY): 4,
    }
    recipients = result_cells(result, "ydelsesmodtagere")
    assert recipients[((KBH,), TOTAL_KEY)] == recipients[((LAESOE,), TOTAL_KEY)] == 1
    assert recipients[(TOTAL_KEY, TOTAL_KEY)] == 1
    rate = result_cells(result, "ydelsesmodtagere_pr_1000")
    assert rate[((KBH,), TOTAL_KEY)] == pytest.approx(1000.0)  # B, the one person at risk there
    assert rate[((LAESOE,), TOTAL_KEY)] == pytest.approx(500.0)  # B of A and B


def test_a_persons_rate_pushed_over_its_persons_at_risk_by_noise_is_1000() -> None:
    """Noise moves a published count, not the public persons at risk: 7 perturbed users of 6
    residents is everyone (1,000), not 1,167. A rate of events is not capped."""
    catalog = default_catalog()
    users = in_plan(catalog.measures["praksisbrugere_pr_1000"], catalog, TimeUnit.YEAR)
    contacts = in_plan(catalog.measures["laegekontakter_pr_borger"], catalog, TimeUnit.YEAR)
    cell = (0, 0)
    published = {users.numerator or "": {cell: 7}, "borgere_i_risiko": {cell: 6}}
    assert derive(users, [cell], published, {}, {}).values == {cell: 1000.0}
    published = {contacts.numerator or "": {cell: 7}, "borgertid": {cell: 6}}
    assert derive(contacts, [cell], published, {}, {}).values == {cell: pytest.approx(7 / 6)}


@pytest.mark.parametrize("time", ["aar", "maaned"])  # from the person-year table, from the services
def test_a_specialist_contact_carries_several_services(service: AnalysisService, time: str) -> None:
    """A's eye specialist visit is one contact and three services (the consultation and two
    examinations); the GP visits (A's and B's) are one of each."""
    request = {
        "perspective": "sygesikring",
        "measures": ["ydelser", "sygesikring_kontakter"],
        "rows": ["ydergruppe"],
        "columns": [time],
        "filters": {"kommune": [LAESOE]},
        "period": {"from": "2022"},
    }
    result = service.run(request, EXACT)
    services, contacts = (result_cells(result, m) for m in ("ydelser", "sygesikring_kontakter"))
    assert (services[(("speciallaege",), TOTAL_KEY)], contacts[(("speciallaege",), TOTAL_KEY)]) == (3, 1)
    assert (services[(("almen_praksis",), TOTAL_KEY)], contacts[(("almen_praksis",), TOTAL_KEY)]) == (2, 2)
    assert (services[(TOTAL_KEY, TOTAL_KEY)], contacts[(TOTAL_KEY, TOTAL_KEY)]) == (5, 3)


@pytest.fixture(scope="module")
def segment_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AnalysisService]:
    """D, born 5 May 1940, lives in Aarhus until 1 October 2022 (its municipality of longest
    residence that year), then in København, where D is admitted in November 2022; E, born 1945,
    lives in Aarhus and uses nothing."""
    x = Extracts()
    d_ = x.person(cpr("1940-05-05"), "0751", since=d("2000-01-01"))
    x.move(d_, "0101", d("2022-10-01"))
    x.person(cpr("1945-02-02"), "0751", since=d("2000-01-01"))
    x.contact(d_, "2022-11-01 08:00:00", "2022-11-02 08:00:00", drg=10000)
    for w in build(x, tmp_path_factory, ExtractFormat.PARQUET, YearRange(2022, 2023)):
        s = AnalysisService(w.settings)
        yield s
        s.close()


def test_a_segment_citizen_who_moves_is_a_citizen_where_the_events_are(segment_service: AnalysisService) -> None:
    """Citizens 65+ in 2022: D's admission in København is over D, a citizen of København that
    year (1,000 per 1,000), not a rate without citizens; Aarhus has D and E and no admission (0).
    Over 2022–2023 København's "I alt" is 1 admission over 2 citizen-years (D in both years)."""
    request = {
        "perspective": "somatik",
        "measures": ["indlaeggelser_pr_1000"],
        "rows": ["kommune"],
        "columns": ["aar"],
        "filters": {"kommune": [KBH, AARHUS]},
        "segment": "borgere_65",
        "period": {"from": "2022", "to": "2023"},
    }
    rate = result_cells(segment_service.run(request, EXACT), "indlaeggelser_pr_1000")
    assert rate[((KBH,), (2022,))] == pytest.approx(1000.0)
    assert rate[((KBH,), (2023,))] == 0.0
    assert rate[((KBH,), TOTAL_KEY)] == pytest.approx(500.0)
    assert rate[((AARHUS,), (2022,))] == 0.0
    assert rate[(TOTAL_KEY, (2022,))] == pytest.approx(500.0)  # one admission, D and E
