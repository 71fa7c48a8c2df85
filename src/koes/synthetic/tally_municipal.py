"""Municipal figures: care (EOJ) and public benefits (DREAM).

Home help (hjemmehjælp, SEL § 83) is personal care and practical help, as Statistics Denmark
counts it; home nursing and training are not home help. Recipients are counted per month and
averaged over the year's months; assessed hours per week are the year's assessed hours over its
weeks. Nursing-home residents are counted on 1 July. Benefit recipients are full-time
equivalents, as in Statistics Denmark's AUH01: benefit weeks in an ISO year over its weeks.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from koes.domain.codelists import BENEFIT_TYPE
from koes.domain.codes import benefit_type
from koes.synthetic.isoweek import index_of_week_code, weeks_in_iso_year
from koes.synthetic.tally import OPEN_END, Persons, Tally, days_of, in_set, integers, mid_year, strings, year_of

HOME_HELP_GROUPS = ("personlig_pleje", "praktisk_hjaelp")
OLD_AGE = 65
MONTHS = 12
DAYS_PER_WEEK = 7
NOT_PUBLIC_SUPPORT = ("uddannelse", "folkepension")  # outside "offentligt forsørgede" (AUH01)


def add_care(tally: Tally, persons: Persons, home_care: pa.Table, nursing_home: pa.Table) -> None:
    home_help = in_set(home_care["ydelsesgruppe"], HOME_HELP_GROUPS)
    person = persons.index(home_care["pnr"])[home_help]
    month = days_of(home_care["maaned"])[home_help]
    year = year_of(month)
    hours = np.asarray(home_care["visiterede_timer"].to_numpy(), dtype=np.float64)[home_help]
    pairs = np.unique(month * (1 << 32) + person)  # recipient-months
    month_of, person_of = pairs >> 32, pairs & ((1 << 32) - 1)
    tally.count("home_help_recipients", year_of(month_of), np.full(len(pairs), 1 / MONTHS))
    old = persons.age_on(person_of, month_of) >= OLD_AGE
    tally.count("home_help_recipients_65", year_of(month_of[old]), np.full(int(old.sum()), 1 / MONTHS))
    for y in tally.years:
        days = float((np.datetime64(f"{y + 1}-01-01", "D") - np.datetime64(f"{y}-01-01", "D")).astype(np.int64))
        tally.put("home_help_hours_week", y, float(hours[year == y].sum()) / (days / DAYS_PER_WEEK))
    _nursing_homes(tally, persons, nursing_home)


def _nursing_homes(tally: Tally, persons: Persons, stays: pa.Table) -> None:
    person = persons.index(stays["pnr"])
    fra = days_of(stays["fra_dato"])
    til = days_of(stays["til_dato"], missing=OPEN_END)
    for y in tally.years:
        day = mid_year(y)
        there = (fra <= day) & (day < til)
        old = persons.age_on(person[there], np.full(int(there.sum()), day)) >= OLD_AGE
        tally.put("nursing_home_65", y, float(old.sum()))


def add_benefits(tally: Tally, dream: pa.Table) -> None:
    first = index_of_week_code(integers(dream["fra_uge"]))
    last = index_of_week_code(integers(dream["til_uge"]))
    codes, row = np.unique(strings(dream["ydelseskode"]), return_inverse=True)
    benefit = np.array([benefit_type(str(c)) for c in codes], dtype=str)[row]
    for y in tally.years:
        y_first = int(index_of_week_code(np.array([y * 100 + 1]))[0])
        weeks = int(weeks_in_iso_year(np.array([y]))[0])
        overlap = np.clip(np.minimum(last, y_first + weeks - 1) - np.maximum(first, y_first) + 1, 0, None)
        for t in BENEFIT_TYPE.values:
            fte = float(overlap[benefit == t].sum()) / weeks
            tally.put(f"benefit_{t}", y, fte)
            if t not in NOT_PUBLIC_SUPPORT:
                tally.put("benefit_public_support", y, fte)
