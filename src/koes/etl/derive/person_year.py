"""Person-year tables: "how many persons with …" becomes a count, not a distinct count.

``person_year`` has one row per person and year of residence, with the municipality the person
lived in longest that year, age on 1 July, and flags and totals from every register; it is what
population segments ("citizens 65+ receiving home care", "with diabetes") are defined on.

The ``person_year_<register>`` tables have one row per person, year, municipality of residence,
sex and age at the events (and a small grouping such as sector): a few rows per person-year (age
changes once a year), so persons by municipality, sex or age are exact distinct counts over
millions of rows instead of the register's tens of millions of events.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from koes.domain.chronic import CHRONIC_CONDITIONS
from koes.domain.codelists import BENEFIT_TYPE
from koes.etl.derive.base import DeriveContext
from koes.privacy.record_keys import RecordKeys

PERSON_YEAR_TABLES = (
    "person_year",
    "person_year_hospital",
    "person_year_practice",
    "person_year_medicine",
    "person_year_practice_total",
    "person_year_medicine_total",
    "person_year_care",
)


def build_person_year_base(con: duckdb.DuckDBPyConnection, ctx: DeriveContext) -> None:
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE person_year_base AS
            WITH y AS (
              SELECT CAST(year AS INTEGER) AS year, make_date(CAST(year AS INTEGER), 1, 1) AS y0,
                     make_date(CAST(year AS INTEGER) + 1, 1, 1) AS y1
              FROM range({ctx.start.year}, {ctx.end.year + 1}) t(year)),
            parts AS (
              SELECT r.person_id, y.year, r.kommunekode, greatest(r.fra, y.y0) AS from_day,
                     date_diff('day', greatest(r.fra, y.y0), least(coalesce(r.til, y.y1), y.y1)) AS days
              FROM residence r JOIN y ON r.fra < y.y1 AND (r.til IS NULL OR r.til > y.y0))
            SELECT person_id, year,
                   arg_max(kommunekode, days * 100000 + date_diff('day', DATE '1900-01-01', from_day)) AS kommunekode,
                   CAST(sum(days) AS SMALLINT) AS days_resident
            FROM parts WHERE days > 0 GROUP BY person_id, year"""
    )


@dataclass(frozen=True)
class EventSum:
    """A column of a person-year table that adds up events, with what the cell-key method needs.

    ``name`` = sum of ``value`` over the events that satisfy ``where`` (``value`` 1 counts them).
    Beside it the table keeps, over the events that *contribute* (satisfy ``where`` and have a
    nonzero value):

    * ``k_<name>``: the sum of their record keys, modulo 2**bits (a cell sums these);
    * ``e_<name>``: how many they are (a person is behind a cell's sum when this is above 0; the
      value itself can be 0 when a return cancels a sale);
    * ``x_<name>`` for magnitudes: the largest absolute value of one of them.

    So a cell answered from a person-year table has the same cell key, persons and largest
    contribution as the same cell answered from the events: the route never changes a value."""

    name: str
    value: str = "1"
    where: str = "true"
    magnitude: bool = False

    def columns(self, keys: RecordKeys) -> list[str]:
        contributes = f"({self.where}) AND ({self.value}) <> 0"
        value = "count(*)" if self.value == "1" else f"sum({self.value})"
        out = [
            f"{value} FILTER (WHERE {self.where}) AS {self.name}",
            f"CAST(sum(rk) FILTER (WHERE {contributes}) % {keys.modulus} AS INTEGER) AS k_{self.name}",
            f"count(*) FILTER (WHERE {contributes}) AS e_{self.name}",
        ]
        if self.magnitude:
            out.append(f"max(abs({self.value})) FILTER (WHERE {contributes}) AS x_{self.name}")
        return out

    def rolled_up(self, keys: RecordKeys, where: str = "true", source: str | None = None) -> list[str]:
        """The same column summed from a finer person-year table (``source``: its column there)."""
        of = source or self.name
        out = [
            f"sum({of}) FILTER (WHERE {where}) AS {self.name}",
            f"CAST(sum(k_{of}) FILTER (WHERE {where}) % {keys.modulus} AS INTEGER) AS k_{self.name}",
            f"sum(e_{of}) FILTER (WHERE {where}) AS e_{self.name}",
        ]
        if self.magnitude:
            out.append(f"max(x_{of}) FILTER (WHERE {where}) AS x_{self.name}")
        return out

    def outputs(self) -> list[str]:
        """Its columns in a joined select, with 0 for a person-year without such events."""
        names = [self.name, f"k_{self.name}", f"e_{self.name}"]
        out = [f"coalesce({n}, 0) AS {n}" for n in names]
        if self.magnitude:
            out.append(f"x_{self.name}")  # NULL: no contribution, so no largest one
        return out


STAY_SUMS = (
    EventSum("stays"),
    EventSum("admissions", where="admission"),
    EventSum("acute_admissions", where="admission AND acute"),
    EventSum("outpatient_stays", where="NOT admission"),
    EventSum("bed_days", "bed_days", magnitude=True),
    EventSum("preventable_admissions", where="preventable_group IS NOT NULL"),
    EventSum("readmitted_30", where="readmitted_30"),
)
CONTACT_SUMS = (
    EventSum("contacts"),
    EventSum("virtual_contacts", where="NOT physical"),
    EventSum("value_kr", "value_kr", magnitude=True),
)
# Co-financing as booked: a stay in full at its start, a virtual contact on its own date.
COFINANCING_SUMS = (EventSum("kmf_kr", "kmf_kr", magnitude=True),)
SERVICE_SUMS = (
    EventSum("contacts", "contacts"),
    EventSum("services", "services"),
    EventSum("fee_kr", "fee_kr", magnitude=True),
    EventSum("kmf_kr", "kmf_kr", magnitude=True),
)
PRESCRIPTION_SUMS = (
    EventSum("redemptions", "redemptions"),
    EventSum("packages", "packages"),
    EventSum("price_kr", "price_kr", magnitude=True),
    EventSum("subsidy_kr", "subsidy_kr", magnitude=True),
)
HOME_CARE_SUMS = (
    EventSum("home_care_hours_assessed", "hours_assessed", magnitude=True),
    EventSum("home_care_hours_delivered", "hours_delivered", magnitude=True),
)
# Redemptions that are sales, not returns: a medicine user has at least one.
SALES = "count(*) FILTER (WHERE packages > 0)"
NURSING_HOME_SUMS = (
    EventSum("nursing_home_days", "days", magnitude=True),
    EventSum("nursing_home_months"),
)


def _select(sums: tuple[EventSum, ...], keys: RecordKeys) -> str:
    return ",\n".join(c for s in sums for c in s.columns(keys))


def _outputs(sums: tuple[EventSum, ...]) -> str:
    return ", ".join(c for s in sums for c in s.outputs())


def build_person_year_registers(con: duckdb.DuckDBPyConnection, ctx: DeriveContext) -> None:
    keys = ctx.keys
    by = "person_id, year, kommunekode, sex, age"
    con.execute(
        f"""CREATE OR REPLACE TABLE person_year_hospital AS
           WITH s AS (SELECT {by}, sector, {_select(STAY_SUMS, keys)} FROM stays GROUP BY ALL),
           c AS (SELECT {by}, sector, {_select(CONTACT_SUMS, keys)} FROM contacts GROUP BY ALL),
           k AS (SELECT {by}, sector, {_select(COFINANCING_SUMS, keys)} FROM hospital_cofinancing GROUP BY ALL)
           SELECT {by}, sector, {_outputs(CONTACT_SUMS)}, {_outputs(COFINANCING_SUMS)}, {_outputs(STAY_SUMS)}
           FROM c FULL JOIN s USING ({by}, sector) FULL JOIN k USING ({by}, sector)
           ORDER BY year, kommunekode, person_id"""
    )
    con.execute(
        f"""CREATE OR REPLACE TABLE person_year_practice AS
           SELECT {by}, provider_group, {_select(SERVICE_SUMS, keys)}
           FROM services GROUP BY ALL ORDER BY year, kommunekode, person_id"""
    )
    con.execute(
        f"""CREATE OR REPLACE TABLE person_year_medicine AS
           SELECT {by}, atc1, {_select(PRESCRIPTION_SUMS, keys)}, {SALES} AS sales
           FROM prescriptions GROUP BY ALL ORDER BY year, kommunekode, person_id"""
    )
    # Without the grouping (provider group, ATC group) a person-year is one row per municipality, sex
    # and age: a third of the rows, so a distinct person count over it is about three times faster.
    gp = EventSum("gp_contacts", "contacts")
    practice_total = [c for s in SERVICE_SUMS for c in s.rolled_up(keys)]
    practice_total += gp.rolled_up(keys, "provider_group = 'almen_praksis'", source="contacts")
    con.execute(
        f"""CREATE OR REPLACE TABLE person_year_practice_total AS
           SELECT {by}, {", ".join(practice_total)}
           FROM person_year_practice GROUP BY ALL ORDER BY year, kommunekode, person_id"""
    )
    con.execute(
        f"""CREATE OR REPLACE TABLE person_year_medicine_total AS
           SELECT {by}, {", ".join(c for s in PRESCRIPTION_SUMS for c in s.rolled_up(keys))}, sum(sales) AS sales
           FROM person_year_medicine GROUP BY ALL ORDER BY year, kommunekode, person_id"""
    )
    con.execute(
        f"""CREATE OR REPLACE TABLE person_year_care AS
           WITH h AS (
             SELECT {by}, {_select(HOME_CARE_SUMS, keys)}, count(DISTINCT month) AS home_care_months
             FROM home_care GROUP BY ALL),
           n AS (SELECT {by}, {_select(NURSING_HOME_SUMS, keys)} FROM nursing_home_months GROUP BY ALL)
           SELECT {by}, {_outputs(HOME_CARE_SUMS)}, coalesce(h.home_care_months, 0) AS home_care_months,
                  {_outputs(NURSING_HOME_SUMS)}
           FROM h FULL JOIN n USING ({by})
           ORDER BY year, kommunekode, person_id"""
    )


def build_person_year(con: duckdb.DuckDBPyConnection) -> None:
    conditions = ",\n".join(f"coalesce(bool_or(pc.condition = '{c.id}'), false) AS {c.id}" for c in CHRONIC_CONDITIONS)
    benefits = ",\n".join(
        f"coalesce(sum(bw.weeks) FILTER (WHERE bw.benefit_type = '{b.code}'), 0) AS weeks_{b.code}"
        for b in BENEFIT_TYPE
    )
    con.execute(
        f"""CREATE OR REPLACE TABLE person_year AS
            WITH cond AS (
              SELECT b.person_id, b.year, {conditions}
              FROM person_year_base b LEFT JOIN person_conditions pc USING (person_id, year)
              GROUP BY b.person_id, b.year),
            ben AS (
              SELECT b.person_id, b.year, {benefits}
              FROM person_year_base b LEFT JOIN benefit_weeks bw USING (person_id, year)
              GROUP BY b.person_id, b.year),
            hosp AS (
              SELECT person_id, year, sum(admissions) AS admissions, sum(acute_admissions) AS acute_admissions,
                     sum(preventable_admissions) AS preventable_admissions, sum(outpatient_stays) AS outpatient_stays,
                     sum(contacts) AS hospital_contacts, sum(kmf_kr) AS hospital_kmf_kr
              FROM person_year_hospital GROUP BY ALL),
            prac AS (
              SELECT person_id, year, sum(contacts) FILTER (WHERE provider_group = 'almen_praksis') AS gp_contacts,
                     sum(contacts) FILTER (WHERE provider_group = 'speciallaege') AS specialist_contacts
              FROM person_year_practice GROUP BY ALL),
            med AS (
              SELECT person_id, year, sum(redemptions) AS redemptions, sum(price_kr) AS medicine_kr
              FROM person_year_medicine GROUP BY ALL),
            care AS (
              SELECT person_id, year, sum(home_care_hours_delivered) AS home_care_hours,
                     sum(nursing_home_days) AS nursing_home_days
              FROM person_year_care GROUP BY ALL)
            SELECT b.person_id, CAST(b.year AS SMALLINT) AS year, b.kommunekode, m.region_code, p.sex,
                   CAST(age_years(p.birth_date, make_date(b.year, 7, 1)) AS SMALLINT) AS age, b.days_resident,
                   p.death_date IS NOT NULL AND year(p.death_date) = b.year AS died,
                   cond.* EXCLUDE (person_id, year), ben.* EXCLUDE (person_id, year),
                   coalesce(hosp.admissions, 0) AS admissions, coalesce(hosp.acute_admissions, 0) AS acute_admissions,
                   coalesce(hosp.preventable_admissions, 0) AS preventable_admissions,
                   coalesce(hosp.outpatient_stays, 0) AS outpatient_stays,
                   coalesce(hosp.hospital_contacts, 0) AS hospital_contacts,
                   coalesce(hosp.hospital_kmf_kr, 0) AS hospital_kmf_kr,
                   coalesce(prac.gp_contacts, 0) AS gp_contacts,
                   coalesce(prac.specialist_contacts, 0) AS specialist_contacts,
                   coalesce(med.redemptions, 0) AS redemptions, coalesce(med.medicine_kr, 0) AS medicine_kr,
                   coalesce(care.home_care_hours, 0) AS home_care_hours,
                   coalesce(care.nursing_home_days, 0) AS nursing_home_days
            FROM person_year_base b
            JOIN persons p USING (person_id)
            LEFT JOIN dim_region_membership m
              ON m.kommunekode = b.kommunekode AND b.year BETWEEN m.first_year AND m.last_year
            LEFT JOIN cond USING (person_id, year) LEFT JOIN ben USING (person_id, year)
            LEFT JOIN hosp USING (person_id, year) LEFT JOIN prac USING (person_id, year)
            LEFT JOIN med USING (person_id, year) LEFT JOIN care USING (person_id, year)
            ORDER BY year, b.kommunekode, b.person_id"""
    )
