"""The profile of a cohort: who its members are and how much they use, beside what was expected.

Every figure is the answer to an analysis request of the catalog, run through the one path
(plan → scope → SQL → engine → disclosure control) as one page (``run_views``: one audit record,
``cohort_profile``, with the cohort's purpose). What is computed here is computed from published
figures only: shares, per member-year figures, and the expected use.

Expected use (``koes.cohorts.standardise``): the members counted by sex and 5-year age group (on
1 July of the profile's year, from the birth dates and sexes the user uploaded), times the
reference population's rate in each group (its published count over its public resident count),
scaled from members to member-years by the cohort's published member-years. The references are
the user's municipality and the whole country; a municipality's group whose count is hidden
takes the country's rate (said in the notes).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from importlib import resources
from typing import Any

import yaml

from koes.cohorts.population import CohortPopulation
from koes.cohorts.standardise import Comparison, compare, expected, reading
from koes.domain.cells import TOTAL
from koes.domain.periods import load_age_band_schemes
from koes.privacy.access import Principal
from koes.semantic.model import STANDARD_STRATA
from koes.services.analysis import AnalysisService
from koes.services.results import AnalysisResult

AGE_SCHEME = "fem_aar"  # the bands of the dimension aldersgruppe_5
STRATA = list(STANDARD_STRATA)
Stratum = tuple[int, str]


@dataclass(frozen=True)
class UseItem:
    perspective: str
    measure: str
    count: bool
    what: Mapping[str, str]


@dataclass(frozen=True)
class ProfileSpec:
    conditions: tuple[str, ...]
    care_and_benefits: tuple[tuple[str, tuple[str, ...]], ...]
    use: tuple[UseItem, ...]


@cache
def profile_spec() -> ProfileSpec:
    raw = yaml.safe_load(resources.files("koes.cohorts").joinpath("profile.yaml").read_text(encoding="utf-8"))
    return ProfileSpec(
        conditions=tuple(raw["conditions"]),
        care_and_benefits=tuple((c["perspective"], tuple(c["measures"])) for c in raw["care_and_benefits"]),
        use=tuple(UseItem(u["perspective"], u["measure"], bool(u["count"]), dict(u["what"])) for u in raw["use"]),
    )


@dataclass(frozen=True)
class Figure:
    """One published figure: ``value`` None where disclosure control hides it (``status``)."""

    label: str
    value: float | None
    status: str = "ok"
    share: float | None = None  # of the cohort's members

    def to_json(self) -> dict[str, Any]:
        return {"label": self.label, "value": self.value, "status": self.status, "share": self.share}


@dataclass(frozen=True)
class UseFigure:
    label: str
    unit: str
    observed: float | None  # published total of the cohort
    per_member_year: float | None
    references: Mapping[str, Comparison]  # kommune | land
    readings: Mapping[str, str]
    member_years: float | None = None

    def expected_per_member_year(self, area: str) -> float | None:
        return self.references[area].expected / self.member_years if self.member_years else None

    def to_json(self) -> dict[str, Any]:
        refs = {
            name: {
                "expected": c.expected,
                "expected_per_member_year": self.expected_per_member_year(name),
                "ratio": c.ratio,
                "interval": [c.low, c.high] if c.low is not None else None,
                "reading": self.readings[name],
            }
            for name, c in self.references.items()
        }
        return {
            "label": self.label,
            "unit": self.unit,
            "observed": self.observed,
            "per_member_year": self.per_member_year,
            "references": refs,
        }


@dataclass(frozen=True)
class Profile:
    cohort_id: str
    name: str
    year: int
    members: int  # members found in the release (the user's own list)
    member_years: float | None  # published
    age_sex: AnalysisResult
    residence: AnalysisResult
    conditions: tuple[Figure, ...]
    care_and_benefits: tuple[Figure, ...]
    use: tuple[UseFigure, ...]
    references: Mapping[str, str]  # kommune | land → its name
    notes: tuple[str, ...] = field(default=())

    def to_json(self, language: str = "da") -> dict[str, Any]:
        return {
            "cohort": self.cohort_id,
            "name": self.name,
            "year": self.year,
            "members": self.members,
            "member_years": self.member_years,
            "age_sex": self.age_sex.to_json(language, downloadable_only=True),
            "residence": self.residence.to_json(language, downloadable_only=True),
            "conditions": [f.to_json() for f in self.conditions],
            "care_and_benefits": [f.to_json() for f in self.care_and_benefits],
            "use": [u.to_json() for u in self.use],
            "references": dict(self.references),
            "notes": list(self.notes),
            "provenance": self.age_sex.provenance.to_json(language),
        }


def cohort_profile(
    service: AnalysisService,
    principal: Principal,
    cohort_id: str,
    language: str = "da",
    progress: Callable[[int], None] | None = None,
) -> Profile:
    """The profile of one cohort for ``principal`` (``CohortNotFoundError``, ``RequestError`` when too small);
    ``progress`` hears how far it has come (a background job's)."""
    from koes.services.cohort_population import CohortNotFoundError

    if service.cohorts is None:
        raise CohortNotFoundError(cohort_id)
    cohort = service.cohorts.population(principal, cohort_id)
    year = max(service.years())
    home = principal.home_municipality
    raws = _requests(cohort_id, year, home)
    summary = f"cohort profile {cohort_id} {year}"
    results = service.run_views(raws, principal, summary, language, "cohort_profile", progress, cohort)
    return _profile(service, cohort, year, home, results, language)


def _requests(cohort_id: str, year: int, home: int | None) -> dict[str, dict[str, Any]]:
    spec = profile_spec()
    period = {"from": str(year)}
    mine = {"cohort": cohort_id, "period": period}
    raws: dict[str, dict[str, Any]] = {
        "age_sex": {"perspective": "befolkning", "measures": ["borgere"], "rows": ["aldersgruppe"], "columns": ["koen"]}
        | mine,
        "residence": {"perspective": "befolkning", "measures": ["borgere"], "rows": ["region"]} | mine,
    }
    for segment in spec.conditions:
        raws[f"condition.{segment}"] = {"perspective": "befolkning", "measures": ["borgere"], "segment": segment} | mine
    for perspective, measures in spec.care_and_benefits:
        raws[f"care.{perspective}"] = {"perspective": perspective, "measures": list(measures)} | mine
    areas: dict[str, dict[str, list[int]]] = {"land": {}}
    if home is not None:
        areas["kommune"] = {"kommune": [home]}
    for perspective, used in _use_by_perspective().items():
        raws[f"use.{perspective}"] = {"perspective": perspective, "measures": used} | mine
        for area, filters in areas.items():
            raws[f"ref.{area}.{perspective}"] = {
                "perspective": perspective,
                "measures": used,
                "rows": STRATA,
                "filters": filters,
                "period": period,
            }
    for area, filters in areas.items():
        raws[f"ref.{area}.borgere"] = {
            "perspective": "befolkning",
            "measures": ["borgere"],
            "rows": STRATA,
            "filters": filters,
            "period": period,
        }
    return raws


def _use_by_perspective() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for item in profile_spec().use:
        out.setdefault(item.perspective, []).append(item.measure)
    return out


def _profile(
    service: AnalysisService,
    cohort: CohortPopulation,
    year: int,
    home: int | None,
    results: Mapping[str, AnalysisResult],
    language: str,
) -> Profile:
    catalog = service.catalog
    spec = profile_spec()
    member_years, _ = _total(results["age_sex"], "borgere")
    size = len(cohort.members)
    figures = [
        _share(catalog.segments[s].label.get(language), results[f"condition.{s}"], "borgere", member_years)
        for s in spec.conditions
    ]
    care = [
        _share(catalog.measures[m].label.get(language), results[f"care.{p}"], m, member_years)
        for p, measures in spec.care_and_benefits
        for m in measures
    ]
    strata = _member_strata(cohort, year)
    scale = (member_years or 0) / size if size else 0.0
    areas = ["kommune", "land"] if home is not None else ["land"]
    notes: list[str] = []
    uses = []
    for item in spec.use:
        measure = catalog.measures[item.measure]
        observed, _status = _total(results[f"use.{item.perspective}"], item.measure)
        rates = {area: _rates(results, area, item) for area in areas}
        if "kommune" in rates:
            missing = [s for s in strata if s not in rates["kommune"]]
            if missing:
                notes.append(f"{item.measure}: {len(missing)} kommune-strata use the national rate")
            rates["kommune"] = {**{s: rates["land"].get(s, 0.0) for s in strata}, **rates["kommune"]}
        comparisons = {
            area: compare(observed or 0.0, expected(strata, rates[area], scale), count=item.count) for area in areas
        }
        if observed is None:
            comparisons = {a: Comparison(0.0, c.expected, None, None, None) for a, c in comparisons.items()}
        uses.append(
            UseFigure(
                label=f"{measure.label.get(language)} ({catalog.perspectives[item.perspective].label.get(language)})",
                unit=measure.unit.value,
                observed=observed,
                per_member_year=observed / member_years if observed is not None and member_years else None,
                references=comparisons,
                readings={a: reading(c, item.what[language], language) for a, c in comparisons.items()},
                member_years=member_years,
            )
        )
    names = {"land": "Hele landet" if language == "da" else "Denmark"}
    if home is not None:
        names["kommune"] = service.municipalities()[home].name
    return Profile(
        cohort.id,
        cohort.name,
        year,
        size,
        member_years,
        results["age_sex"],
        results["residence"],
        tuple(figures),
        tuple(care),
        tuple(uses),
        names,
        tuple(notes),
    )


def _total(result: AnalysisResult, measure: str) -> tuple[float | None, str]:
    """The grand total of one measure: its published value, or None and why it is hidden."""
    block = result.blocks[0]
    key = (TOTAL, TOTAL)
    status = block.status(measure, key)
    value = block.values[measure].get(key)
    return (None if status else float(value or 0)), status or "ok"


def _share(label: str, result: AnalysisResult, measure: str, member_years: float | None) -> Figure:
    value, status = _total(result, measure)
    share = value / member_years if value is not None and member_years else None
    return Figure(label, value, status, share)


def _rates(results: Mapping[str, AnalysisResult], area: str, item: UseItem) -> dict[Stratum, float]:
    """The reference rate per (sex, age band): published count over public residents; a hidden
    count gives no rate (the caller falls back to the country's)."""
    counts = _cells(results[f"ref.{area}.{item.perspective}"], item.measure)
    residents = _cells(results[f"ref.{area}.borgere"], "borgere")
    out: dict[Stratum, float] = {}
    for stratum, count in counts.items():
        people = residents.get(stratum)
        if count is not None and people:
            out[stratum] = count / people
    return out


def _cells(result: AnalysisResult, measure: str) -> dict[Stratum, float | None]:
    """The inner cells (sex, age band) of a table by ``STRATA`` in rows; hidden cells as None."""
    block = result.blocks[0]
    out: dict[Stratum, float | None] = {}
    for r, row in enumerate(block.row_keys):
        key = (r, TOTAL)
        hidden = block.status(measure, key) is not None
        value = block.values[measure].get(key)
        out[(int(row[0]), str(row[1]))] = None if hidden else float(value or 0)
    return out


def _member_strata(cohort: CohortPopulation, year: int) -> Counter[Stratum]:
    """The members by sex and 5-year age band on 1 July of ``year`` (from the uploaded list)."""
    scheme = load_age_band_schemes()[AGE_SCHEME]
    middle = date(year, 7, 1)
    out: Counter[Stratum] = Counter()
    for member in cohort.members:
        born = member.birth_date
        age = middle.year - born.year - ((middle.month, middle.day) < (born.month, born.day))
        if age < 0:
            continue  # born after the middle of the year: not a member-year to expect use for
        out[(int(member.sex), scheme.band_of(age).label)] += 1
    return out


__all__ = ["Profile", "cohort_profile", "profile_spec"]
