"""Hospital contacts → stays, admissions and everything a municipality pays or watches for.

Definitions (domain-notes §1.4, §2.2; eSundhed):

* a **stay** (sygehusophold) couples a person's physical attendances (ALCA00, ALCA10) that
  overlap or follow each other with at most 4 hours between one's end and the next start;
  virtual contacts are never part of a stay;
* an **admission** is a stay of at least 12 hours; **acute** means the stay's first contact had
  priority ATA1; **patient type** is *indlagt* (admission), *akut* (acute, shorter: emergency) or
  *ambulant*;
* **bed days** of an admission are the calendar days from admission to discharge, at least 1;
* the stay's **action diagnosis** and **sector** are those of its longest contact (the ward
  contact rather than the emergency department before it); sector follows the responsible
  specialty (psychiatry or somatics);
* **value**: somatic contacts carry their DRG tariff; psychiatric stays are valued at the bed-day
  rate per bed day (admissions) or the visit rate (outpatient stays), spread over their
  psychiatric contacts; a psychiatric contact inside a somatic stay, and a virtual psychiatric
  contact, are valued as one psychiatric visit each;
* **co-financing** applies per stay (capped per stay) under the rule version in force on the
  stay's start date, and is booked in full on that date, in the municipality of residence on it
  and at the age then: where and when the admission or visit itself is counted, so co-financing
  per admission is consistent within every period (a stay across New Year, or of a patient who
  moves, is not split). A virtual contact is its own visit, on its own date. One row per such
  item in ``hospital_cofinancing``;
* a **preventable admission** is an acute admission of a citizen 65+ whose action diagnosis is in
  one of the nine groups (``koes.domain.preventable``);
* a **30-day readmission**: an admission is *followed by a readmission* when an acute admission in
  the same sector starts within 30 calendar days of its discharge date; the share of admissions
  so followed is the readmission rate. The acute admission itself is marked ``is_readmission``.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from koes.domain.preventable import MIN_AGE, preventable_group
from koes.domain.registers import LPR_KONTAKTER
from koes.etl.derive.base import DeriveContext, event_key, resident_join
from koes.etl.derive.coding import coded, lookup
from koes.etl.derive.cofinancing import amount, rule_join

COUPLING_GAP = "INTERVAL 4 HOUR"
ADMISSION_SECONDS = 12 * 3600
READMISSION_DAYS = 30  # calendar days from the discharge date to the readmission date
# Person key and the stay's number within the person: unique and stable without a global sort.
STAY_ID = "CAST(person_id AS BIGINT) * 1048576 + stay_no"
KMF_SECTOR = "x.sector || CASE WHEN x.admission THEN '_indlagt' ELSE '_ambulant' END"
# Diagnosis codes with their ICD-10 category, coded once per code.
DIAGNOSES = lookup("diagnosis", category=coded("diag_category", "left(text, 4)"))
PATIENT_TYPE = "CASE WHEN x.admission THEN 'indlagt' WHEN x.acute THEN 'akut' ELSE 'ambulant' END"
PREVENTABLE = f"CASE WHEN x.admission AND x.acute AND x.age >= {MIN_AGE} THEN pc.preventable_group END"
# A stay's length in hours to two decimals, ties away from zero (1,278 s = 0.355 h → 0.36 h). Whole
# hundredths of integer seconds: a tie (seconds = 36k + 18) is exactly k.5 in binary, and rounding a
# double to a whole number is the same on DuckDB and Spark, where round(seconds / 3600.0, 2) is not
# (DuckDB rounds the binary 0.35499… down, Spark its decimal text up).
STAY_HOURS = "round(date_diff('second', x.start_ts, x.end_ts) / 36.0) / 100"


def build_hospital(con: duckdb.DuckDBPyConnection, ctx: DeriveContext) -> None:
    _contacts_base(con, ctx)
    _lpr_tables(con)
    _couple_stays(con)
    _preventable_codes(con)
    _stays(con, ctx)
    _contacts(con)
    _cofinancing(con)
    for table in ("contacts_base", "contact_stay", "stays_base", "preventable_codes"):
        con.execute(f"DROP TABLE IF EXISTS {table}")


def _lpr_tables(con: duckdb.DuckDBPyConnection) -> None:
    # Diagnoses and procedures find their person through the contacts already keyed, not by
    # joining the contacts extract to the CPR map a second time.
    con.execute(
        f"""CREATE OR REPLACE TABLE courses AS
           SELECT dw_ek_forloeb AS course_id, person_id, {coded("course_label", "forloebslabel")} AS label,
                  {coded("hospital", "ansvarlig_inst")} AS hospital_id,
                  dato_start AS start_date, dato_slut AS end_date
           FROM c_lpr_forloebselementer"""
    )
    con.execute(
        f"""CREATE OR REPLACE TABLE diagnoses AS
           SELECT d.dw_ek_kontakt AS contact_id, k.person_id, dc.code AS diag_code, dc.category,
                  dt.code AS diag_type, d.senere_afkraeftet = 'Ja' AS disproved
           FROM c_lpr_diagnoser d JOIN contacts_base k ON k.contact_id = d.dw_ek_kontakt
           LEFT JOIN {DIAGNOSES} dc ON dc.text = d.diag_kode
           LEFT JOIN {lookup("diag_type")} dt ON dt.text = d.diag_kode_type"""
    )
    con.execute(
        f"""CREATE OR REPLACE TABLE procedures AS
           SELECT p.dw_ek_kontakt AS contact_id, k.person_id, {coded("procedure", "p.procedurekode")} AS procedure_code,
                  {coded("procedure_type", "p.proceduretype")} AS procedure_type, p.dato_start AS performed_at
           FROM c_lpr_procedurer p JOIN contacts_base k ON k.contact_id = p.dw_ek_kontakt"""
    )


def _contacts_base(con: duckdb.DuckDBPyConnection, ctx: DeriveContext) -> None:
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE contacts_base AS
           SELECT k.dw_ek_kontakt AS contact_id, k.dw_ek_forloeb AS course_id, k.person_id,
                  {event_key(ctx, LPR_KONTAKTER, "k")} AS rk,
                  k.kont_starttidspunkt AS start_ts, k.kont_sluttidspunkt AS end_ts,
                  CAST(k.kont_starttidspunkt AS DATE) AS date,
                  kt.kont_type, kt.physical,
                  k.prioritet = 'ATA1' AS acute, ad.code AS adiag,
                  hs.specialty, hs.sector,
                  h.code AS hospital_id, dg.code AS drg_code,
                  d.takst AS drg_takst
           FROM c_lpr_kontakter k
           JOIN (SELECT code, {coded("kont_type", "code")} AS kont_type, physical = '1' AS physical
                 FROM code_kont_type) kt ON kt.code = k.kont_type
           JOIN (SELECT code, {coded("hovedspeciale", "code")} AS specialty, {coded("sector", "sector")} AS sector
                 FROM code_hovedspeciale) hs ON hs.code = k.kont_ans_hovedspec
           LEFT JOIN c_drg_kontakter d ON d.dw_ek_kontakt = k.dw_ek_kontakt
           LEFT JOIN {lookup("diagnosis")} ad ON ad.text = k.adiag
           LEFT JOIN {lookup("hospital")} h ON h.text = k.kont_ans_inst
           LEFT JOIN {lookup("drg")} dg ON dg.text = d.drg_kode"""
    )


def _couple_stays(con: duckdb.DuckDBPyConnection) -> None:
    # A contact opens a new stay when it starts more than 4 hours after the latest end so far.
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE contact_stay AS
            WITH m AS (
              SELECT contact_id, person_id, start_ts, end_ts,
                     max(end_ts) OVER (PARTITION BY person_id ORDER BY start_ts, end_ts, contact_id
                                       ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_end
              FROM contacts_base WHERE physical),
            n AS (
              SELECT contact_id, person_id,
                     sum(CASE WHEN prev_end IS NULL OR start_ts > prev_end + {COUPLING_GAP} THEN 1 ELSE 0 END)
                       OVER (PARTITION BY person_id ORDER BY start_ts, end_ts, contact_id ROWS UNBOUNDED PRECEDING)
                       AS stay_no
              FROM m)
            SELECT contact_id, {STAY_ID} AS stay_id FROM n"""
    )


def _preventable_codes(con: duckdb.DuckDBPyConnection) -> None:
    codes = [row[0] for row in con.execute("SELECT DISTINCT adiag FROM contacts_base").fetchall()]
    groups = [(c, preventable_group(c)) for c in codes]
    table = pa.table(
        {"adiag": [c for c, g in groups if g], "preventable_group": [g for _, g in groups if g]},
        schema=pa.schema([("adiag", pa.string()), ("preventable_group", pa.string())]),
    )
    con.register("_arrow", table)
    con.execute("CREATE OR REPLACE TEMP TABLE preventable_codes AS SELECT * FROM _arrow")
    con.unregister("_arrow")


def _stays(con: duckdb.DuckDBPyConnection, ctx: DeriveContext) -> None:
    # The longest contact, ties to the earliest: arg_max with a struct key is one hash pass,
    # where ordered aggregates would sort every stay's contacts. One arg_max carries all three of
    # its values (the key is unique, so they come from the same contact), and a transfer is a stay
    # whose hospitals differ (min <> max), not a distinct count: 41 s → 17 s at national scale.
    longest = "{'d': epoch(c.end_ts) - epoch(c.start_ts), 's': -epoch(c.start_ts), 'c': -c.contact_id}"
    # A stay is made of contacts; its lowest contact id (a register key) names it across releases.
    stay_key = ctx.keys.event_key_sql("ophold", "min(c.contact_id)")
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE stays_base AS
            SELECT stay_id, rk, person_id, start_ts, end_ts, n_contacts, acute,
                   main.adiag AS adiag, main.sector AS sector, main.hospital_id AS hospital_id,
                   transfer, drg_value, n_psych_contacts
            FROM (
              SELECT cs.stay_id, {stay_key} AS rk, c.person_id, min(c.start_ts) AS start_ts,
                     max(c.end_ts) AS end_ts,
                     count(*) AS n_contacts,
                     arg_min(c.acute, {{'s': c.start_ts, 'c': c.contact_id}}) AS acute,
                     arg_max({{'adiag': c.adiag, 'sector': c.sector, 'hospital_id': c.hospital_id}}, {longest})
                       AS main,
                     coalesce(min(c.hospital_id) <> max(c.hospital_id), false) AS transfer,
                     coalesce(sum(c.drg_takst) FILTER (WHERE c.sector = 'somatik'), 0) AS drg_value,
                     count(*) FILTER (WHERE c.sector = 'psykiatri') AS n_psych_contacts
              FROM contacts_base c JOIN contact_stay cs USING (contact_id)
              GROUP BY cs.stay_id, c.person_id)"""
    )
    con.execute(
        f"""CREATE OR REPLACE TABLE stays AS
            WITH s AS (
              SELECT b.*, CAST(b.start_ts AS DATE) AS date,
                     date_diff('second', b.start_ts, b.end_ts) >= {ADMISSION_SECONDS} AS admission,
                     age_years(p.birth_date, CAST(b.start_ts AS DATE)) AS age, p.sex
              FROM stays_base b JOIN persons p USING (person_id)),
            v AS (
              SELECT s.*,
                     CASE WHEN admission THEN greatest(date_diff('day', date, CAST(end_ts AS DATE)), 1) ELSE 0 END
                       AS bed_days
              FROM s),
            valued AS (
              SELECT v.*,
                     CASE WHEN n_psych_contacts = 0 THEN 0
                          WHEN sector = 'somatik' THEN n_psych_contacts * tb.kr
                          WHEN admission THEN bed_days * ts.kr ELSE tb.kr END AS psych_value
              FROM v
              LEFT JOIN rule_psychiatric_tariff ts ON ts.year = year(v.date) AND ts.tariff = 'sengedag'
              LEFT JOIN rule_psychiatric_tariff tb ON tb.year = year(v.date) AND tb.tariff = 'besoeg'),
            adm AS (
              SELECT stay_id,
                     min(CASE WHEN acute THEN start_ts END) OVER (PARTITION BY person_id, sector ORDER BY start_ts
                       ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING) AS next_acute_start,
                     max(end_ts) OVER (PARTITION BY person_id, sector ORDER BY start_ts
                       ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_end
              FROM s WHERE admission)
            SELECT x.stay_id, x.rk, x.person_id, x.start_ts, x.end_ts, x.date,
                   CAST(year(x.date) AS SMALLINT) AS year, CAST(month(x.date) AS TINYINT) AS month,
                   {STAY_HOURS} AS hours,
                   x.admission, x.acute,
                   {coded("patient_type", PATIENT_TYPE)} AS patient_type,
                   x.sector, x.hospital_id, x.transfer, x.n_contacts, x.adiag,
                   {coded("diag_category", "left(x.adiag, 4)")} AS diag_category,
                   x.bed_days, CAST(x.age AS SMALLINT) AS age, x.sex, r.kommunekode,
                   CAST(x.drg_value + x.psych_value AS DECIMAL(18, 2)) AS value_kr,
                   CAST(x.psych_value AS DECIMAL(18, 2)) AS psych_value,
                   CAST({amount("k", "(x.drg_value + x.psych_value)")} AS DECIMAL(18, 2)) AS kmf_kr,
                   {coded("kmf_basis", "k.basis")} AS kmf_basis,
                   {coded("preventable_group", PREVENTABLE)} AS preventable_group,
                   coalesce(CAST(a.next_acute_start AS DATE) <= CAST(x.end_ts AS DATE) + {READMISSION_DAYS}, false)
                     AS readmitted_30,
                   coalesce(x.acute AND x.date <= CAST(a.prev_end AS DATE) + {READMISSION_DAYS}, false)
                     AS is_readmission
            FROM valued x
            LEFT JOIN adm a USING (stay_id)
            LEFT JOIN preventable_codes pc ON pc.adiag = x.adiag
            {resident_join("x", "x.date")}
            {rule_join("k", KMF_SECTOR, "x.date", "x.age")}
            ORDER BY year, r.kommunekode, x.person_id, x.start_ts"""
    )


def _contacts(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        f"""CREATE OR REPLACE TABLE contacts AS
            WITH c AS (
              SELECT b.*, cs.stay_id, s.psych_value, s.n_psych AS stay_psych_contacts,
                     age_years(p.birth_date, b.date) AS age, p.sex
              FROM contacts_base b
              JOIN persons p USING (person_id)
              LEFT JOIN contact_stay cs USING (contact_id)
              LEFT JOIN (SELECT st.stay_id, CAST(st.psych_value AS DOUBLE) AS psych_value,
                                sb.n_psych_contacts AS n_psych
                         FROM stays st JOIN stays_base sb USING (stay_id)) s USING (stay_id)),
            v AS (
              SELECT c.*,
                     CASE WHEN c.sector = 'somatik' THEN coalesce(c.drg_takst, 0)
                          WHEN c.stay_id IS NOT NULL THEN c.psych_value / c.stay_psych_contacts
                          ELSE tb.kr END AS value_kr
              FROM c LEFT JOIN rule_psychiatric_tariff tb ON tb.year = year(c.date) AND tb.tariff = 'besoeg')
            SELECT v.contact_id, v.rk, v.course_id, v.stay_id, v.person_id, v.start_ts, v.end_ts, v.date,
                   CAST(year(v.date) AS SMALLINT) AS year, CAST(month(v.date) AS TINYINT) AS month,
                   v.kont_type, v.physical, v.acute, v.adiag,
                   {coded("diag_category", "left(v.adiag, 4)")} AS diag_category,
                   v.specialty, v.sector, v.hospital_id, h.region_code AS hospital_region,
                   v.drg_code, CAST(v.drg_takst AS DECIMAL(18, 2)) AS drg_takst,
                   CAST(v.value_kr AS DECIMAL(18, 2)) AS value_kr,
                   CAST(v.age AS SMALLINT) AS age, v.sex, r.kommunekode
            FROM v
            LEFT JOIN dim_hospital_region h
              ON h.hospital_id = v.hospital_id AND year(v.date) BETWEEN h.first_year AND h.last_year
            {resident_join("v", "v.date")}
            ORDER BY year, r.kommunekode, v.person_id, v.start_ts"""
    )


def _cofinancing(con: duckdb.DuckDBPyConnection) -> None:
    """What the municipality co-finances, one row per item: a stay, booked in full where and when
    it starts (its amount is computed with the stay), or a virtual contact on its own date."""
    con.execute(
        f"""CREATE OR REPLACE TABLE hospital_cofinancing AS
            SELECT person_id, rk, date, year, month, sector, admission, acute, patient_type, diag_category,
                   hospital_id, value_kr, kmf_kr, kmf_basis, age, sex, kommunekode
            FROM stays
            UNION ALL
            SELECT c.person_id, c.rk, c.date, c.year, c.month, c.sector, false, c.acute,
                   {coded("patient_type", "'ambulant'")}, c.diag_category, c.hospital_id, c.value_kr,
                   CAST({amount("k", "c.value_kr")} AS DECIMAL(18, 2)), {coded("kmf_basis", "k.basis")},
                   c.age, c.sex, c.kommunekode
            FROM contacts c {rule_join("k", "c.sector || '_ambulant'", "c.date", "c.age")}
            WHERE c.stay_id IS NULL
            ORDER BY year, kommunekode, person_id, date"""
    )
