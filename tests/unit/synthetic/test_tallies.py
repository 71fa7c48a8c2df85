"""Yearly tallies of raw extracts on hand-made rows: what counts, in which year, for whom."""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import pyarrow as pa
import pytest

from koes.synthetic.tally import Persons, Tally, add_population
from koes.synthetic.tally_cofinancing import Cofinancing
from koes.synthetic.tally_hospital import add_hospital
from koes.synthetic.tally_municipal import add_benefits, add_care
from koes.synthetic.tally_practice import add_medicine, add_practice

ADA, BO, CY = "0102803001", "0203852002", "0304904003"  # CPR-shaped test numbers


def _persons() -> Persons:
    personer = pa.table(
        {
            "pnr": [BO, ADA, CY],
            "koen": ["1", "2", "2"],
            "foed_dato": [date(1985, 3, 2), date(1980, 2, 1), date(1950, 4, 3)],
        }
    )
    adresser = pa.table(
        {
            "pnr": [ADA, ADA, BO, CY],
            "kommunekode": ["0101", "0147", "0751", "0101"],
            "fra_dato": [date(2010, 1, 1), date(2023, 7, 1), date(2000, 1, 1), date(1990, 1, 1)],
            "til_dato": pa.array([date(2023, 7, 1), None, None, None], pa.date32()),
        }
    )
    return Persons.of(personer, adresser)


def test_residence_on_a_day_and_person_years() -> None:
    persons = _persons()
    ada = persons.index(pa.array([ADA]))
    days = np.array([date(2023, 6, 30), date(2023, 7, 1)], dtype="datetime64[D]").astype(np.int64)
    assert persons.residence.municipality_on(np.repeat(ada, 2), days).tolist() == [101, 147]
    tally = Tally((2023,))
    add_population(tally, persons)
    assert tally.get("person_years")[2023] == pytest.approx(3 * 365 / 365.25)
    assert tally.get("person_years_kbh")[2023] == pytest.approx((181 + 365) / 365.25)  # Ada half, Cy all
    assert tally.get("residents_30_59_men")[2023] == 1  # Bo, 38
    assert tally.get("residents_30_59_women")[2023] == 1  # Ada, 43; Cy is 73
    assert tally.get("residents_65")[2023] == 1


def test_benefit_weeks_are_full_time_recipients_of_each_iso_year() -> None:
    dream = pa.table(
        {
            "ydelseskode": ["781", "651", "890"],
            "fra_uge": [202250, 202201, 202310],
            "til_uge": [202303, 202252, 202335],
        }
    )
    tally = Tally((2022, 2023))
    add_benefits(tally, dream)
    assert tally.get("benefit_foertidspension") == {2022: 3 / 52, 2023: 3 / 52}
    assert tally.get("benefit_uddannelse")[2022] == 1.0
    assert tally.get("benefit_sygedagpenge")[2023] == 26 / 52
    # SU is not public support in Statistics Denmark's sense; the others are.
    assert tally.get("benefit_public_support") == {2022: 3 / 52, 2023: 29 / 52}


def test_home_help_is_personal_care_or_practical_help_counted_per_month() -> None:
    persons = _persons()
    home_care = pa.table(
        {
            "pnr": [CY, CY, CY, ADA],
            "maaned": [date(2023, 1, 1), date(2023, 1, 1), date(2023, 2, 1), date(2023, 1, 1)],
            "ydelsesgruppe": ["personlig_pleje", "praktisk_hjaelp", "praktisk_hjaelp", "sygepleje"],
            "visiterede_timer": [10.0, 2.0, 2.0, 5.0],
        }
    )
    nursing = pa.table({"pnr": [CY], "fra_dato": [date(2023, 3, 1)], "til_dato": pa.array([None], pa.date32())})
    tally = Tally((2023,))
    add_care(tally, persons, home_care, nursing)
    assert tally.get("home_help_recipients")[2023] == pytest.approx(2 / 12)  # Cy in two months; Ada's nursing only
    assert tally.get("home_help_recipients_65")[2023] == pytest.approx(2 / 12)
    assert tally.get("home_help_hours_week")[2023] == pytest.approx(14.0 / (365 / 7))
    assert tally.get("nursing_home_65")[2023] == 1


def test_practice_contacts_users_and_corrections() -> None:
    persons = _persons()
    services = pa.table(
        {
            "pnr": [ADA, ADA, ADA, BO, CY],
            "speciale": ["800101", "802101", "800101", "190101", "800201"],
            "ydlant": [1, 1, -1, 1, 1],
            "kontakt": [1, 0, -1, 1, 1],
            "bruhon": [150.0, 50.0, -150.0, 600.0, 30.0],
            "behandlingsdato": [
                date(2023, 3, 1),
                date(2023, 3, 1),
                date(2023, 3, 1),
                date(2023, 5, 5),
                date(2023, 8, 8),
            ],
        }
    )
    tally = Tally((2023,))
    add_practice(tally, persons, services, Cofinancing.load())
    assert tally.get("practice_contacts")[2023] == 2  # Ada's consultation was cancelled
    assert tally.get("gp_contacts")[2023] == 1
    assert tally.get("practice_users")[2023] == 3
    assert tally.get("practice_contacts_kbh")[2023] == 1  # Cy in København; Ada's net 0 there
    assert tally.get("gp_users_30_59_women")[2023] == 1  # Ada had a GP row with a contact
    assert tally.get("gp_users_30_59_men")[2023] == 0  # Bo saw an eye specialist only
    # 2018 rates: GP 7 % at 3–64 and 12 % at 65–79; specialists 20 % at 3–64.
    assert tally.get("kmf_practice")[2023] == pytest.approx(0.07 * 50 + 0.20 * 600 + 0.12 * 30)


def test_a_return_is_not_a_redemption() -> None:
    dispensings = pa.table({"pnr": [ADA, ADA, BO], "eksd": [date(2023, 1, 5)] * 3, "apk": [1, -1, -1]})
    tally = Tally((2023,))
    add_medicine(tally, _persons(), dispensings)
    assert (tally.get("rx_redemptions")[2023], tally.get("rx_users")[2023]) == (1, 1)


def test_psychiatric_patients_admissions_and_discharge_ready_days() -> None:
    persons = _persons()
    contacts = pa.table(
        {
            "dw_ek_kontakt": [1, 2, 3, 4],
            "pnr": [BO, BO, ADA, CY],
            "kont_starttidspunkt": [
                datetime(2022, 12, 20, 10),
                datetime(2023, 3, 1, 9),
                datetime(2023, 2, 1, 9),
                datetime(2023, 2, 1, 9),
            ],
            "kont_sluttidspunkt": [
                datetime(2023, 1, 9, 10),
                datetime(2023, 3, 1, 10),
                datetime(2023, 2, 1, 10),
                datetime(2023, 2, 1, 10),
            ],
            "kont_type": ["ALCA00", "ALCA00", "ALCA03", "ALCA00"],
            "prioritet": ["ATA1", "ATA3", "ATA3", "ATA3"],
            "adiag": ["DF209", "DF209", "DF321", "DI109"],
            "kont_ans_hovedspec": ["psykiatri", "psykiatri", "psykiatri", "kardiologi"],
        }
    ).cast(
        pa.schema(
            [
                ("dw_ek_kontakt", pa.int64()),
                ("pnr", pa.string()),
                ("kont_starttidspunkt", pa.timestamp("s")),
                ("kont_sluttidspunkt", pa.timestamp("s")),
                ("kont_type", pa.string()),
                ("prioritet", pa.string()),
                ("adiag", pa.string()),
                ("kont_ans_hovedspec", pa.string()),
            ]
        )
    )
    drg = pa.table({"dw_ek_kontakt": pa.array([4], pa.int64()), "takst": [1500.0]})
    ready = pa.table({"sektor": ["psykiatri"], "fra_dato": [date(2022, 12, 30)], "til_dato": [date(2023, 1, 9)]})
    tally = Tally((2022, 2023))
    add_hospital(tally, persons, contacts, drg, ready, Cofinancing.load())
    # Bo is a patient both years (physical contacts); Ada's only contact was virtual.
    assert tally.get("psych_patients") == {2022: 1, 2023: 1}
    assert tally.get("psych_admissions") == {2022: 1, 2023: 0}  # counted at the start …
    assert tally.get("psych_discharges") == {2022: 0, 2023: 1}  # … discharged in 2023, 20 bed days
    assert tally.get("psych_bed_days")[2023] == 20
    assert tally.get("psych_ready_days") == {2022: 2, 2023: 8}
    assert tally.get("psych_ready_periods") == {2022: 0, 2023: 1}
    assert tally.get("admissions") == {2022: 1, 2023: 0}
    assert tally.get("outpatient_stays") == {2022: 0, 2023: 2}
    # Cy's cardiology visit: 2018 rates, 40 % of the DRG tariff at 65–79.
    assert tally.get("kmf_somatic")[2023] == pytest.approx(0.40 * 1500)
