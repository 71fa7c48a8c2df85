"""The shipped rule tables are complete and consistent, and the gap checker finds gaps."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

from koes.domain.chronic import CHRONIC_CONDITIONS
from koes.domain.rules import load_rules, rule_problems, rules_dir


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
