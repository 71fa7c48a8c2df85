"""The published national figures the synthetic Denmark is calibrated to, read from YAML.

``published_figures.yaml`` next to this module is the single declaration: figure, source and
year, published value, and how the same figure is computed from the extracts' yearly tallies.
The reader returns every problem of the file at once, each with the figure it belongs to.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Any, TypeGuard

import yaml

SHIPPED = "published_figures.yaml"
PERSPECTIVES = ("somatik", "psykiatri", "sygesikring", "medicin", "pleje", "beskaeftigelse", "medfinansiering")
STATUSES = ("V", "P", "I")
CALIBRATED = (0.9, 1.1)  # a ratio outside this needs a stated reason


class FigureError(ValueError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class Formula(StrEnum):
    COUNT = "count"  # mean yearly tally, scaled to the national population
    SHARE = "share"  # 100 × Σ numerator / Σ denominator
    RATIO = "ratio"  # Σ numerator / Σ denominator
    GROWTH = "growth"  # yearly change factor from the first to the last year


@dataclass(frozen=True)
class Synthetic:
    formula: Formula
    numerator: tuple[str, ...]  # tallies, summed
    denominator: tuple[str, ...] = ()

    @property
    def tallies(self) -> tuple[str, ...]:
        return self.numerator + self.denominator


@dataclass(frozen=True)
class Figure:
    id: str
    perspective: str
    label: str
    unit: str
    published: float
    source: str
    year: int
    status: str
    synthetic: Synthetic
    tolerance: float
    reason: str | None = None
    expected_ratio: float = 1.0
    note: str | None = None


@dataclass(frozen=True)
class FigureSet:
    national_population: int
    figures: tuple[Figure, ...]

    def __iter__(self) -> Iterator[Figure]:
        return iter(self.figures)

    def __len__(self) -> int:
        return len(self.figures)


def load_figures(path: Path | None = None) -> FigureSet:
    source = path or resources.files("koes.synthetic").joinpath(SHIPPED)
    text = source.read_text(encoding="utf-8")
    return parse_figures(yaml.safe_load(text))


def parse_figures(doc: Any) -> FigureSet:
    if not isinstance(doc, Mapping):
        raise FigureError(["the figure file must be a mapping with national_population, tolerance and figures"])
    problems: list[str] = []
    population = doc.get("national_population")
    if not isinstance(population, int) or population <= 0:
        problems.append("national_population must be a positive whole number")
    default_tolerance = doc.get("tolerance")
    if not _positive(default_tolerance):
        problems.append("tolerance must be a positive number")
    tolerance = float(default_tolerance) if _positive(default_tolerance) else 0.1
    raw = doc.get("figures")
    if not isinstance(raw, list) or not raw:
        problems.append("figures must be a non-empty list")
        raw = []
    figures = []
    seen: set[str] = set()
    for n, item in enumerate(raw, start=1):
        where = f"figure {n}" + (f" ({item.get('id')})" if isinstance(item, Mapping) and item.get("id") else "")
        figure, found = _figure(item, tolerance, where)
        problems += found
        if figure is not None:
            if figure.id in seen:
                problems.append(f"{where}: id {figure.id!r} is used twice")
            seen.add(figure.id)
            figures.append(figure)
    missing = [p for p in PERSPECTIVES if p not in {f.perspective for f in figures}]
    if missing and not problems:
        problems.append(f"no figure for the perspective(s) {', '.join(missing)}")
    if problems:
        raise FigureError(problems)
    assert isinstance(population, int)
    return FigureSet(population, tuple(figures))


_REQUIRED_TEXT = ("id", "perspective", "label", "unit", "source", "status")


def _figure(item: Any, default_tolerance: float, where: str) -> tuple[Figure | None, list[str]]:
    if not isinstance(item, Mapping):
        return None, [f"{where}: must be a mapping"]
    problems = [f"{where}: {k} is missing" for k in _REQUIRED_TEXT if not isinstance(item.get(k), str) or not item[k]]
    if item.get("perspective") not in PERSPECTIVES:
        problems.append(f"{where}: perspective must be one of {', '.join(PERSPECTIVES)}")
    if item.get("status") not in STATUSES:
        problems.append(f"{where}: status must be V, P or I")
    if not _positive(item.get("published")):
        problems.append(f"{where}: published must be a positive number")
    if not isinstance(item.get("year"), int):
        problems.append(f"{where}: year must be a year")
    tolerance = item.get("tolerance", default_tolerance)
    if not _positive(tolerance):
        problems.append(f"{where}: tolerance must be a positive number")
    reason, expected = item.get("reason"), item.get("expected_ratio", 1.0)
    if ("expected_ratio" in item) != (reason is not None):
        problems.append(f"{where}: reason and expected_ratio go together (a ratio away from 1 needs its reason)")
    if not _positive(expected):
        problems.append(f"{where}: expected_ratio must be a positive number")
    synthetic, found = _synthetic(item.get("synthetic"), where)
    problems += found
    if problems or synthetic is None:
        return None, problems
    return (
        Figure(
            id=item["id"],
            perspective=item["perspective"],
            label=item["label"],
            unit=item["unit"],
            published=float(item["published"]),
            source=item["source"],
            year=item["year"],
            status=item["status"],
            synthetic=synthetic,
            tolerance=float(tolerance),
            reason=reason,
            expected_ratio=float(expected),
            note=item.get("note"),
        ),
        [],
    )


def _synthetic(spec: Any, where: str) -> tuple[Synthetic | None, list[str]]:
    if not isinstance(spec, Mapping) or len(spec) != 1:
        return None, [f"{where}: synthetic must be one of count, share, ratio or growth"]
    ((kind, args),) = spec.items()
    try:
        formula = Formula(kind)
    except ValueError:
        return None, [f"{where}: synthetic {kind!r} is not one of count, share, ratio or growth"]
    if formula in (Formula.COUNT, Formula.GROWTH):
        names = _names(args)
        return (Synthetic(formula, names), []) if names else (None, [f"{where}: {kind} needs a tally name"])
    if not isinstance(args, list) or len(args) != 2:
        return None, [f"{where}: {kind} needs [numerator, denominator]"]
    numerator, denominator = _names(args[0]), _names(args[1])
    if not numerator or not denominator:
        return None, [f"{where}: {kind} needs tally names for numerator and denominator"]
    return Synthetic(formula, numerator, denominator), []


def _names(value: Any) -> tuple[str, ...]:
    if isinstance(value, str) and value:
        return (value,)
    if isinstance(value, list) and value and all(isinstance(v, str) and v for v in value):
        return tuple(value)
    return ()


def _positive(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0
