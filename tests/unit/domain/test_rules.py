"""The shipped rule tables are complete and consistent, and the gap checker finds gaps."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

from koes.domain.chronic import CHRONIC_CONDITIONS
from koes.domain.rules import load_rules, rule_problems, rules_by_year, rules_dir
from koes.semantic.loader import default_catalog


def test_shipped_cofinancing_rules_cover_every_age_and_day() -> None:
    rules = load_rules()
    assert rule_problems(rules) == []
    sectors = {r.sector for r in rules.cofinancing}
    assert sectors == {
        "somatik_indlagt",
        "somatik_ambulant",
        "psykiatri_indlagt",
        "psykiatri_ambulant",
        "almen_praksis",
        "speciallaege",
    }


def test_rule_periods_follow_the_reforms() -> None:
    rules = load_rules()

    def rule(day: date, sector: str, age: int) -> tuple[float, float | None, str]:
        found = [
            r
            for r in rules.cofinancing
            if r.valid_from <= day <= r.valid_to
            and r.sector == sector
            and r.age_from <= age <= (r.age_to if r.age_to is not None else 999)
        ]
        assert len(found) == 1
        return found[0].pct, found[0].cap_kr, found[0].basis

    assert rule(date(2015, 6, 1), "somatik_indlagt", 40) == (34, 15000, "activity")
    assert rule(date(2018, 6, 1), "somatik_indlagt", 85) == (56, 31029, "activity")
    assert rule(date(2022, 6, 1), "somatik_indlagt", 85)[2] == "shadow"
    assert rule(date(2022, 6, 1), "almen_praksis", 1) == (18, None, "shadow")


def test_versions_change_when_a_table_changes(tmp_path: Path) -> None:
    copy = tmp_path / "rules"
    shutil.copytree(rules_dir(), copy)
    before = load_rules(copy).versions
    path = copy / "medfinansiering.csv"
    path.write_text(path.read_text(encoding="utf-8").replace(",34,15000,", ",35,15000,", 1), encoding="utf-8")
    after = load_rules(copy).versions
    assert before["medfinansiering"] != after["medfinansiering"]
    assert before["psykiatri_takster"] == after["psykiatri_takster"]


def test_a_gap_in_the_age_bands_is_reported(tmp_path: Path) -> None:
    copy = tmp_path / "rules"
    shutil.copytree(rules_dir(), copy)
    path = copy / "medfinansiering.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    kept = [line for line in lines if not line.startswith("kmf-2018,2018-01-01,2018-12-31,activity,almen_praksis,3,")]
    path.write_text("\n".join(kept) + "\n", encoding="utf-8")
    problems = rule_problems(load_rules(copy))
    assert problems == [
        "medfinansiering almen_praksis 2018-01-01: ages from 3 are not covered exactly once (next band starts at 65)"
    ]


def test_discharge_ready_rates_exist_for_every_year_and_sector() -> None:
    rules = load_rules()
    years = {(r.year, r.sector) for r in rules.discharge_ready_rates}
    assert {(y, s) for y in range(2007, 2031) for s in ("somatik", "psykiatri")} <= years
    base_2016 = [r.base_kr for r in rules.discharge_ready_rates if (r.year, r.sector) == (2016, "somatik")]
    assert base_2016 == [1976.0]


def test_chronic_conditions_name_codes_in_sks_and_atc_form() -> None:
    for condition in CHRONIC_CONDITIONS:
        assert all(p.startswith("D") and len(p) >= 3 for p in condition.diagnosis_prefixes), condition.id
        assert all(p[0].isalpha() and p[1:3].isdigit() for p in condition.atc_prefixes), condition.id
        assert condition.min_redemptions >= 1


def test_each_year_of_2026_to_2028_has_its_own_cofinancing_rule() -> None:
    """A release spanning the reform says what each year's rules imply: the a-conto years' shadow
    calculation, the 2027–2028 transition, and the end of the scheme; the reform rows are marked
    inferred."""
    rules = load_rules()
    rows = [(r.version, r.basis, r.valid_from, r.valid_to) for r in rules.cofinancing]
    by_year = rules_by_year(rows, range(2026, 2030))
    assert [(r.year, r.version, r.basis) for r in by_year] == [
        (2026, "kmf-2019", "shadow"),
        (2027, "kmf-2027", "transition"),
        (2028, "kmf-2027", "transition"),
        (2029, "kmf-2029", "abolished"),
    ]
    assert (
        by_year[1].text("da") == "2027: kmf-2027 (overgangsordning 2027–2028; ingen aktivitetsbaseret medfinansiering)"
    )
    reform = [r for r in rules.cofinancing if r.valid_from >= date(2027, 1, 1)]
    assert reform and rule_problems(rules) == []
    with (rules_dir() / "medfinansiering.csv").open(encoding="utf-8") as f:
        statuses = {line.split(",")[10] for line in f if line.startswith(("kmf-2027", "kmf-2029"))}
    assert statuses == {"I"}


def test_measures_that_end_with_the_scheme_end_with_its_last_paying_rule() -> None:
    """``applies_until`` in the catalog is the last year of an activity or a-conto (shadow) rule."""
    last = max(r.valid_to.year for r in load_rules().cofinancing if r.basis in ("activity", "shadow"))
    ending = {m.id: m.applies_until for m in default_catalog().measures.values() if m.applies_until is not None}
    assert set(ending) == {
        "medfinansiering_kr",
        "medfinansiering_pr_borger",
        "sygesikring_medfinansiering_kr",
        "sygesikring_medfinansiering_pr_borger",
    }
    assert set(ending.values()) == {last}
