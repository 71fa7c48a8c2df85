"""Pre-aggregated cubes for the Standard reports: answers in milliseconds, no raw scans.

Every cube is additive over its dimensions (sums and counts of events, never distinct persons;
persons come from the person-year tables). Age is banded with the KØS report bands.
"""

from __future__ import annotations

import duckdb

from koes.etl.derive.coding import coded

AGE_BAND = "a.age_band"
# Hospital sectors and co-financed provider groups side by side.
KMF_SECTOR = f"{coded('kmf_sector', 'sector')} AS sector"
# Bands are coded once per age, not once per fact row.
AGE_JOIN = (
    f"JOIN (SELECT age, {coded('age_band', 'band_koes')} AS age_band FROM dim_age) a ON a.age = greatest(f.age, 0)"
)

CUBES: dict[str, str] = {
    "cube_stays": f"""
        SELECT f.year, f.month, f.kommunekode, f.sex, {AGE_BAND}, f.sector, f.patient_type, f.acute,
               d.chapter_no, f.preventable_group,
               count(*) AS stays, count(*) FILTER (WHERE f.admission) AS admissions, sum(f.bed_days) AS bed_days,
               count(*) FILTER (WHERE f.readmitted_30) AS readmitted_30,
               sum(f.value_kr) AS value_kr, sum(f.kmf_kr) AS kmf_kr
        FROM stays f {AGE_JOIN} LEFT JOIN dim_diagnosis d ON d.category = f.diag_category
        GROUP BY ALL""",
    "cube_contacts": f"""
        SELECT f.year, f.month, f.kommunekode, f.sex, {AGE_BAND}, f.sector, f.kont_type, f.acute, d.chapter_no,
               count(*) AS contacts, sum(f.value_kr) AS value_kr
        FROM contacts f {AGE_JOIN} LEFT JOIN dim_diagnosis d ON d.category = f.diag_category
        GROUP BY ALL""",
    "cube_services": f"""
        SELECT f.year, f.month, f.kommunekode, f.sex, {AGE_BAND}, f.provider_group, f.specialty,
               sum(f.contacts) AS contacts, sum(f.services) AS services, sum(f.fee_kr) AS fee_kr,
               sum(f.kmf_kr) AS kmf_kr
        FROM services f {AGE_JOIN} GROUP BY ALL""",
    "cube_prescriptions": f"""
        SELECT f.year, f.month, f.kommunekode, f.sex, {AGE_BAND}, f.atc1, f.atc2,
               sum(f.redemptions) AS redemptions, sum(f.packages) AS packages, sum(f.price_kr) AS price_kr,
               sum(f.subsidy_kr) AS subsidy_kr
        FROM prescriptions f {AGE_JOIN} GROUP BY ALL""",
    "cube_discharge_ready": """
        SELECT f.year, f.month, f.kommunekode, f.sector, count(*) AS days, sum(f.cost_kr) AS cost_kr
        FROM discharge_ready_days f GROUP BY ALL""",
    "cube_home_care": f"""
        SELECT f.year, f.month, f.kommunekode, f.sex, {AGE_BAND}, f.service_group,
               count(*) AS recipients, sum(f.hours_assessed) AS hours_assessed,
               sum(f.hours_delivered) AS hours_delivered
        FROM home_care f {AGE_JOIN} GROUP BY ALL""",
    "cube_nursing_home": f"""
        SELECT f.year, f.month, f.kommunekode, f.sex, {AGE_BAND}, count(*) AS residents, sum(f.days) AS days
        FROM nursing_home_months f {AGE_JOIN} GROUP BY ALL""",
    "cube_population": f"""
        SELECT f.year, f.month, f.kommunekode, f.sex, {AGE_BAND}, sum(f.persons) AS persons
        FROM population_month f {AGE_JOIN} GROUP BY ALL""",
    "cube_cofinancing": f"""
        SELECT year, month, kommunekode, {KMF_SECTOR}, sum(value_kr) AS value_kr, sum(kmf_kr) AS kmf_kr FROM (
          SELECT year, month, kommunekode, sector, value_kr, kmf_kr FROM hospital_cofinancing
          UNION ALL
          SELECT year, month, kommunekode, provider_group, fee_kr, kmf_kr FROM services
          WHERE provider_group IN ('almen_praksis', 'speciallaege'))
        GROUP BY ALL""",
}


def build_cubes(con: duckdb.DuckDBPyConnection) -> list[str]:
    for name, sql in CUBES.items():
        con.execute(f"CREATE OR REPLACE TABLE {name} AS {sql} ORDER BY ALL")
    return list(CUBES)
