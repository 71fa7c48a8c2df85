"""Health-insurance services (SSR): general practice, practising specialists and others.

Services are placed on their date of service and in the municipality of residence on that day.
Co-financing: general practice pays the rule's share of the fee; practising specialists the
share capped per service; other providers (dentists, physiotherapists, …) carry none here.
"""

from __future__ import annotations

import duckdb

from koes.domain.registers import SSR_YDELSER
from koes.etl.derive.base import DeriveContext, event_key, resident_join
from koes.etl.derive.coding import coded, lookup
from koes.etl.derive.cofinancing import amount, rule_join


def build_services(con: duckdb.DuckDBPyConnection, ctx: DeriveContext) -> None:
    # Only general practice and practising specialists are co-financed; other groups find no rule.
    sector = 'sp."group"'
    con.execute(
        f"""CREATE OR REPLACE TABLE services AS
            WITH s AS (
              SELECT y.person_id, {event_key(ctx, SSR_YDELSER, "y")} AS rk,
                     y.behandlingsdato AS date, left(y.speciale, 2) AS specialty,
                     sv.code AS service, yd.code AS ydernr,
                     y.ydlant AS services, y.kontakt AS contacts,
                     CAST(y.bruhon AS DECIMAL(18, 2)) AS fee_kr, sg.code AS sikgrup,
                     age_years(p.birth_date, y.behandlingsdato) AS age, p.sex
              FROM c_ssr_ydelser y JOIN persons p USING (person_id)
              LEFT JOIN {lookup("ssr_ydelse")} sv ON sv.text = right(y.speciale, 4)
              LEFT JOIN {lookup("ydernr")} yd ON yd.text = y.ydernr
              LEFT JOIN {lookup("sikgrup")} sg ON sg.text = y.sikgrup)
            SELECT s.person_id, s.rk, s.date,
                   CAST(year(s.date) AS SMALLINT) AS year, CAST(month(s.date) AS TINYINT) AS month,
                   sp.specialty, s.service, sp.provider_group, s.ydernr, s.services, s.contacts, s.fee_kr,
                   CAST({amount("k", "s.fee_kr")} AS DECIMAL(18, 2)) AS kmf_kr,
                   s.sikgrup, CAST(s.age AS SMALLINT) AS age, s.sex, r.kommunekode
            FROM s
            JOIN (SELECT code, "group", {coded("ssr_speciale", "code")} AS specialty,
                         {coded("provider_group", '"group"')} AS provider_group
                  FROM code_ssr_speciale) sp ON sp.code = s.specialty
            {resident_join("s", "s.date")}
            {rule_join("k", sector, "s.date", "s.age")}
            ORDER BY year, r.kommunekode, s.person_id, s.date"""
    )
