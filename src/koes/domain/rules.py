"""Versioned rule tables (co-financing, psychiatric tariffs, discharge-ready rates), read from data.

The CSV files in ``rules/`` are the single source; each row carries its status (V verified, P
partly verified, I inferred) and source as recorded in domain-notes §3 and §1.5. A release
records the content hash of every table it was computed with.
"""

from __future__ import annotations

import csv
import hashlib
import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from importlib import resources
from pathlib import Path

RULE_TABLES = ("medfinansiering", "psykiatri_takster", "faerdigbehandling_takst", "faerdigbehandling_regel")


def rules_dir() -> Path:
    return Path(str(resources.files("koes.domain").joinpath("rules")))


@dataclass(frozen=True)
class CofinancingRule:
    version: str
    valid_from: date
    valid_to: date
    basis: str  # "activity" (paid by activity) or "shadow" (2019+: a-conto paid, activity computed)
    sector: str
    age_from: int
    age_to: int | None
    pct: float
    cap_kr: float | None
    cap_unit: str | None  # indlaeggelse | besoeg | regionsforloeb | ydelse


@dataclass(frozen=True)
class Tariff:
    year: int
    sector: str
    tariff: str
    kr: float


@dataclass(frozen=True)
class DischargeReadyRate:
    year: int
    sector: str
    base_kr: float


@dataclass(frozen=True)
class DischargeReadyRule:
    valid_from: date
    valid_to: date
    sector: str
    day_from: int
    day_to: int | None
    multiplier: float


@dataclass(frozen=True)
class RuleSet:
    cofinancing: tuple[CofinancingRule, ...]
    psychiatric_tariffs: tuple[Tariff, ...]
    discharge_ready_rates: tuple[DischargeReadyRate, ...]
    discharge_ready_rules: tuple[DischargeReadyRule, ...]
    versions: dict[str, str]


def _rows(folder: Path, name: str) -> list[dict[str, str]]:
    with (folder / f"{name}.csv").open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _opt_int(text: str) -> int | None:
    return int(text) if text.strip() else None


def _opt_float(text: str) -> float | None:
    return float(text) if text.strip() else None


def load_rules(folder: Path | None = None) -> RuleSet:
    folder = folder or rules_dir()
    versions = {
        name: "sha256:" + hashlib.sha256((folder / f"{name}.csv").read_bytes()).hexdigest()[:16] for name in RULE_TABLES
    }
    return RuleSet(
        cofinancing=tuple(
            CofinancingRule(
                r["version"],
                date.fromisoformat(r["valid_from"]),
                date.fromisoformat(r["valid_to"]),
                r["basis"],
                r["sector"],
                int(r["age_from"]),
                _opt_int(r["age_to"]),
                float(r["pct"]),
                _opt_float(r["cap_kr"]),
                r["cap_unit"] or None,
            )
            for r in _rows(folder, "medfinansiering")
        ),
        psychiatric_tariffs=tuple(
            Tariff(int(r["year"]), r["sector"], r["tariff"], float(r["kr"])) for r in _rows(folder, "psykiatri_takster")
        ),
        discharge_ready_rates=tuple(
            DischargeReadyRate(int(r["year"]), r["sector"], float(r["base_kr"]))
            for r in _rows(folder, "faerdigbehandling_takst")
        ),
        discharge_ready_rules=tuple(
            DischargeReadyRule(
                date.fromisoformat(r["valid_from"]),
                date.fromisoformat(r["valid_to"]),
                r["sector"],
                int(r["day_from"]),
                _opt_int(r["day_to"]),
                float(r["multiplier"]),
            )
            for r in _rows(folder, "faerdigbehandling_regel")
        ),
        versions=versions,
    )


# What each basis means for a municipality (provenance, exports, docs/geography.md).
BASIS_LABELS: dict[str, dict[str, str]] = {
    "activity": {"da": "aktivitetsbaseret betaling", "en": "activity-based payment"},
    "shadow": {"da": "fast a conto; aktivitetsbeløb er en skyggeberegning", "en": "fixed a-conto; shadow calculation"},
    "transition": {
        "da": "overgangsordning 2027–2028; ingen aktivitetsbaseret medfinansiering",
        "en": "2027–2028 transition; no activity-based co-financing",
    },
    "abolished": {"da": "medfinansieringen er afskaffet", "en": "co-financing abolished"},
}


@dataclass(frozen=True)
class YearRule:
    """The co-financing rule version in force in a year (on 1 July: versions change on 1 January)."""

    year: int
    version: str
    basis: str

    def text(self, language: str = "da") -> str:
        label = BASIS_LABELS.get(self.basis, {}).get(language, self.basis)
        return f"{self.year}: {self.version} ({label})"


def rules_by_year(rows: Iterable[tuple[str, str, date, date]], years: Iterable[int]) -> tuple[YearRule, ...]:
    """Each year's rule version and basis from (version, basis, valid_from, valid_to) rows: what a
    release spanning 2026–2028 says about each year's co-financing."""
    periods = sorted(set(rows), key=lambda r: r[2])
    out = []
    for year in years:
        mid = date(year, 7, 1)
        found = next(((v, b) for v, b, first, last in periods if first <= mid <= last), None)
        if found is not None:
            out.append(YearRule(year, *found))
    return tuple(out)


def rule_problems(rules: RuleSet) -> list[str]:
    """Gaps and overlaps in the co-financing table: for each sector, every age must be covered
    exactly once on every day from the first rule to the last."""
    problems = []
    sectors = sorted({r.sector for r in rules.cofinancing})
    periods = sorted({(r.valid_from, r.valid_to) for r in rules.cofinancing})
    for (_, end), (next_start, _) in itertools.pairwise(periods):
        if (next_start - end).days != 1:
            problems.append(f"medfinansiering: gap or overlap between periods ending {end} and starting {next_start}")
    for start, end in periods:
        for sector in sectors:
            bands = sorted(
                (r.age_from, r.age_to)
                for r in rules.cofinancing
                if r.sector == sector and (r.valid_from, r.valid_to) == (start, end)
            )
            problems += _band_problems(f"medfinansiering {sector} {start}", bands)
    return problems


def _band_problems(where: str, bands: list[tuple[int, int | None]]) -> list[str]:
    if not bands:
        return [f"{where}: no rule"]
    found = []
    expected = 0
    for low, high in bands:
        if low != expected:
            found.append(f"{where}: ages from {expected} are not covered exactly once (next band starts at {low})")
        if high is None:
            return found
        expected = high + 1
    return [*found, f"{where}: no open-ended top age band"]
