"""Practice-sector (SSR) and prescription (LMS) figures, by treatment and dispensing date.

A service row counts its ``kontakt`` as contacts (0 for services that are not contacts, negative
on corrections); a user is a person with at least one positive row in the year. A redemption is a
dispensing row with a positive number of packages (a return is not a redemption).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from koes.domain.codelists import SSR_SPECIALE
from koes.synthetic.tally import Persons, Tally, days_of, in_set, integers, mid_year, resident_on, year_of
from koes.synthetic.tally_cofinancing import Cofinancing

KOEBENHAVN = 101
CO_FINANCED_GROUPS = ("almen_praksis", "speciallaege")  # sectors of the co-financing rule table


def add_practice(tally: Tally, persons: Persons, services: pa.Table, cofinancing: Cofinancing) -> None:
    person = persons.index(services["pnr"])
    day = days_of(services["behandlingsdato"])
    year = year_of(day)
    contacts = integers(services["kontakt"])
    units = integers(services["ydlant"])
    specialty = pc.utf8_slice_codeunits(services["speciale"], 0, 2)
    gp = in_set(specialty, SSR_SPECIALE.where(group="almen_praksis"))
    tally.count("practice_contacts", year, contacts)
    tally.count("gp_contacts", year[gp], contacts[gp])
    tally.distinct("practice_users", year[units > 0], person[units > 0])
    in_kbh = persons.residence.municipality_on(person, day) == KOEBENHAVN
    tally.count("practice_contacts_kbh", year[in_kbh], contacts[in_kbh])
    _gp_users_30_59(tally, persons, person[gp & (contacts > 0)], year[gp & (contacts > 0)])
    fee = np.asarray(services["bruhon"].to_numpy(), dtype=np.float64)
    age = persons.age_on(person, day)
    for group in CO_FINANCED_GROUPS:
        sel = np.flatnonzero(in_set(specialty, SSR_SPECIALE.where(group=group)))
        tally.count("kmf_practice", year[sel], cofinancing.amount(group, day[sel], age[sel], fee[sel]))


def _gp_users_30_59(tally: Tally, persons: Persons, person: np.ndarray, year: np.ndarray) -> None:
    """Residents aged 30–59 on 1 July, by sex, with at least one GP contact in the year."""
    for y in tally.years:
        resident, _ = resident_on(persons, mid_year(y))
        age = persons.age_on(resident, np.full(len(resident), mid_year(y)))
        users = np.isin(resident, np.unique(person[year == y])) & (age >= 30) & (age <= 59)
        male = persons.male[resident]
        tally.put("gp_users_30_59_men", y, float((users & male).sum()))
        tally.put("gp_users_30_59_women", y, float((users & ~male).sum()))


def add_medicine(tally: Tally, persons: Persons, dispensings: pa.Table) -> None:
    redeemed = integers(dispensings["apk"]) > 0
    person = persons.index(dispensings["pnr"])[redeemed]
    year = year_of(days_of(dispensings["eksd"]))[redeemed]
    tally.count("rx_redemptions", year)
    tally.distinct("rx_users", year, person)
