"""Golden SQL: representative requests render to reviewed SQL, for DuckDB and for Spark.

A change in the generated SQL shows up as a diff in ``tests/golden/sql``. After checking that the
new SQL is right, update the files with ``make golden`` (``KOES_UPDATE_GOLDEN=1`` for this test).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import pytest

from koes.query.plan import Population
from koes.query.planner import PlanContext, plan_request
from koes.query.request import parse_request
from koes.query.scope import Scope, apply_scope
from koes.query.sql import to_sql
from koes.semantic.model import Catalog

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "sql"
UPDATE = os.environ.get("KOES_UPDATE_GOLDEN") == "1"
SCOPE = Scope(frozenset({101, 147, 151}))
DIALECTS = ("duckdb", "spark")

REQUESTS: dict[str, dict[str, Any]] = {
    "admissions_by_municipality_and_year": {
        "perspective": "somatik",
        "measures": ["indlaeggelser", "patienter"],
        "rows": ["kommune"],
        "columns": ["aar"],
        "period": {"from": "2023", "to": "2024"},
    },
    "admissions_by_age_sex_month": {
        "perspective": "somatik",
        "measures": ["indlaeggelser", "sengedage"],
        "rows": ["aldersgruppe", "koen"],
        "columns": ["maaned"],
        "period": {"from": "2024-01", "to": "2024-06"},
    },
    "psychiatry_contacts_by_chapter_in_segment": {
        "perspective": "psykiatri",
        "measures": ["kontakter"],
        "rows": ["diagnosekapitel"],
        "filters": {"region": [1084]},
        "segment": "sygedagpenge",
        "period": {"from": "2024"},
    },
    "gp_contacts_per_citizen": {
        "perspective": "sygesikring",
        "measures": ["laegekontakter_pr_borger"],
        "rows": ["aldersgruppe_bred"],
        "period": {"from": "2024"},
    },
    "medicine_cost_by_atc": {
        "perspective": "medicin",
        "measures": ["medicinudgift_kr", "medicinbrugere"],
        "rows": ["atc1"],
        "period": {"from": "2024"},
    },
    "standardised_admissions_by_region": {
        "perspective": "somatik",
        "measures": ["indlaeggelser_std"],
        "rows": ["region"],
        "period": {"from": "2024"},
    },
    "home_care_by_district": {
        "perspective": "pleje",
        "measures": ["hjemmepleje_timer", "hjemmepleje_modtagere"],
        "rows": ["plejedistrikt"],
        "period": {"from": "2024"},
    },
    "patients_per_1000_by_municipality": {
        "perspective": "somatik",
        "measures": ["patienter_pr_1000"],
        "rows": ["kommune"],
        "period": {"from": "2024"},
    },
    "practice_users_per_1000_by_quarter": {
        "perspective": "sygesikring",
        "measures": ["praksisbrugere_pr_1000"],
        "rows": ["kommune"],
        "columns": ["kvartal"],
        "period": {"from": "2023", "to": "2024"},
    },
    "medicine_users_per_1000_in_segment": {
        "perspective": "medicin",
        "measures": ["medicinbrugere_pr_1000", "medicinudgift_pr_borger"],
        "rows": ["aldersgruppe"],
        "segment": "diabetes",
        "period": {"from": "2023", "to": "2024"},
    },
    "contacts_per_1000_by_cohort_group": {
        "perspective": "somatik",
        "measures": ["kontakter", "kontakter_pr_1000"],
        "rows": ["kohortegruppe"],
        "filters": {"koen": [2]},
        "cohort": "k1",
        "period": {"from": "2024"},
    },
    "contacts_by_month_since_index_date": {
        "perspective": "psykiatri",
        "measures": ["kontakter"],
        "rows": ["kohortemaaned"],
        "columns": ["kohortegruppe"],
        "filters": {"kohortemaaned": [-1, 0, 1]},
        "cohort": "k1",
        "period": {"from": "2023", "to": "2024"},
    },
    "citizens_by_age_and_sex": {
        "perspective": "befolkning",
        "measures": ["borgere"],
        "rows": ["aldersgruppe"],
        "columns": ["koen"],
        "period": {"from": "2024"},
    },
    # Across the 2027 region reform (a release of 2025–2028): regions as they were on each date,
    # the own region of each year in a comparison, and the hospital's owner as of a chosen date.
    "admissions_by_region_as_it_was": {
        "perspective": "somatik",
        "measures": ["indlaeggelser"],
        "rows": ["region"],
        "columns": ["aar"],
        "filters": {"region": [1084, 1086]},
        "period": {"from": "2026", "to": "2027"},
        "geography": "as_it_was",
    },
    "comparison_as_it_was": {
        "perspective": "somatik",
        "measures": ["indlaeggelser_pr_1000"],
        "columns": ["aar"],
        "period": {"from": "2026", "to": "2027"},
        "comparison": {"municipality": 101},
        "geography": "as_it_was",
    },
    "admissions_by_hospital_region_as_of_2027": {
        "perspective": "somatik",
        "measures": ["indlaeggelser"],
        "rows": ["sygehusregion"],
        "period": {"from": "2025", "to": "2026"},
        "geography": {"as_of": "2027-01-01"},
    },
}
REFORM = frozenset(
    {"admissions_by_region_as_it_was", "comparison_as_it_was", "admissions_by_hospital_region_as_of_2027"}
)


@pytest.mark.parametrize("name", sorted(REQUESTS))
@pytest.mark.parametrize("dialect", DIALECTS)
def test_golden_sql(
    name: str, dialect: str, catalog: Catalog, context: PlanContext, reform_context: PlanContext
) -> None:
    request = parse_request(REQUESTS[name], catalog)
    if name in REFORM:
        context = reform_context
    if request.cohort is not None:  # the service gives the planner the cohort it will register
        context = dataclasses.replace(context, population=Population(request.cohort, ("indsats", "kontrol")))
    plan = plan_request(request, catalog, context)
    scoped = apply_scope(plan, SCOPE)
    text = "\n\n".join(f"-- {q.query.role}: {q.query.source.id}\n{to_sql(q, dialect)};" for q in scoped.queries) + "\n"
    path = GOLDEN / f"{name}.{dialect}.sql"
    if UPDATE:
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no golden file {path.name}: run `make golden` and review it"
    assert text == path.read_text(encoding="utf-8"), f"SQL for {name} ({dialect}) changed: review, then `make golden`"


def test_every_golden_file_belongs_to_a_request() -> None:
    names = {p.name for p in GOLDEN.glob("*.sql")}
    assert names == {f"{n}.{d}.sql" for n in REQUESTS for d in DIALECTS}
