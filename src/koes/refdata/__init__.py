"""Shipped public reference data and typed loaders.

The files in ``data/`` are copies of ``shared/refdata`` (sources and licences in README.md,
section "Reference data"). Loading is explicit: call :func:`load_refdata` once at the edge and
pass the result down. It imports only the foundations (``domain``, ``settings``).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

from koes.domain.geography import OPEN_END, Geography, Membership, RegionVersion
from koes.refdata.danish import ATC_GROUPS_DA, ICD10_BLOCKS_DA, ICD10_CHAPTERS_DA, danish_titles

DATA_PACKAGE = "koes.refdata"
NO_GEOGRAPHY = Geography((), ())


def data_dir() -> Path:
    """Folder holding the shipped reference files (inside the installed package)."""
    return Path(str(resources.files(DATA_PACKAGE).joinpath("data")))


@dataclass(frozen=True)
class Region:
    code: int
    name: str
    dst_code: int
    n_municipalities: int


@dataclass(frozen=True)
class Municipality:
    code: int  # 3-digit kommunekode as an integer, e.g. 101
    name: str
    region_code: int
    kommunekode: str  # 4-digit form used by CPR and DAGI, e.g. "0101"


@dataclass(frozen=True)
class MunicipalityPopulation:
    code: int
    year: int
    population: int


@dataclass(frozen=True)
class NationalPopulation:
    year: int
    sex: str  # "M" or "F"
    age_from: int
    age_to: int | None  # None for the open top group (85+)
    population: int


@dataclass(frozen=True)
class Hospital:
    hospital_id: str
    name: str
    municipality_code: int
    region_code: int


@dataclass(frozen=True)
class AtcGroup:
    code: str
    level: int
    parent: str | None
    name_en: str


@dataclass(frozen=True)
class RefData:
    regions: tuple[Region, ...]
    municipalities: tuple[Municipality, ...]
    population: tuple[MunicipalityPopulation, ...]
    national_population: tuple[NationalPopulation, ...]
    hospitals: tuple[Hospital, ...]
    atc_groups: tuple[AtcGroup, ...]
    icd10_chapters: tuple[Mapping[str, str], ...]
    icd10_blocks: tuple[Mapping[str, str], ...]
    icd10_categories: tuple[Mapping[str, str], ...]
    folder: Path
    # Danish titles where the shipped lists are English only (README, "Reference data"): the ICD-10
    # chapters (chapter_no → title), blocks (block → title) and the ATC groups (code → name).
    icd10_chapter_titles_da: Mapping[int, str] = field(default_factory=dict)
    icd10_block_titles_da: Mapping[str, str] = field(default_factory=dict)
    atc_names_da: Mapping[str, str] = field(default_factory=dict)
    # Regions and memberships with validity periods (regions_versioned.csv, region_membership.csv).
    # ``regions`` and ``Municipality.region_code`` are the five regions of 2007–2026 as shipped.
    geography: Geography = NO_GEOGRAPHY

    def municipality(self, code: int) -> Municipality:
        for m in self.municipalities:
            if m.code == code:
                return m
        raise KeyError(f"no municipality with kommunekode {code}")

    def population_in(self, year: int) -> dict[int, int]:
        """Population per municipality on 1 January of ``year`` (nearest year shipped)."""
        years = sorted({p.year for p in self.population})
        nearest = min(years, key=lambda y: abs(y - year))
        return {p.code: p.population for p in self.population if p.year == nearest}

    def national_structure(self, year: int) -> tuple[NationalPopulation, ...]:
        """National population by sex and 5-year band on 1 January (nearest year shipped)."""
        years = sorted({p.year for p in self.national_population})
        nearest = min(years, key=lambda y: abs(y - year))
        return tuple(p for p in self.national_population if p.year == nearest)

    @property
    def sks_categories(self) -> frozenset[str]:
        return frozenset(row["sks_code"] for row in self.icd10_categories)

    @property
    def atc_level2(self) -> frozenset[str]:
        return frozenset(g.code for g in self.atc_groups if g.level == 2)

    @property
    def kommunekoder(self) -> frozenset[str]:
        return frozenset(m.kommunekode for m in self.municipalities)

    @property
    def hospital_ids(self) -> frozenset[str]:
        return frozenset(h.hospital_id for h in self.hospitals)

    def code_list(self, name: str) -> frozenset[str]:
        """The reference-data code lists named in register schemas (REFDATA_CODE_LISTS)."""
        lists = {
            "kommunekode": self.kommunekoder,
            "sks_diagnose": self.sks_categories,
            "atc": self.atc_level2,
            "hospital": self.hospital_ids,
        }
        try:
            return lists[name]
        except KeyError:
            raise KeyError(f"no reference code list named {name!r}") from None

    def geojson(self, name: str = "municipalities") -> dict[str, Any]:
        with (self.folder / f"{name}.geojson").open(encoding="utf-8") as f:
            data: dict[str, Any] = json.load(f)
        return data


def _rows(folder: Path, name: str) -> list[dict[str, str]]:
    with (folder / name).open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _int_or_none(text: str) -> int | None:
    return int(text) if text.strip() else None


def load_refdata(folder: Path | None = None) -> RefData:
    """Read every shipped reference file into typed records."""
    folder = folder or data_dir()
    return RefData(
        regions=tuple(
            Region(
                int(r["region_code"]),
                r["region_name"],
                int(r["dst_region_code"]),
                int(r["n_municipalities"]),
            )
            for r in _rows(folder, "regions.csv")
        ),
        municipalities=tuple(
            Municipality(int(r["code"]), r["name"], int(r["region_code"]), r["kommunekode"])
            for r in _rows(folder, "municipalities.csv")
        ),
        population=tuple(
            MunicipalityPopulation(int(r["code"]), int(r["year"]), int(r["population"]))
            for r in _rows(folder, "population.csv")
        ),
        national_population=tuple(
            NationalPopulation(
                int(r["year"]),
                r["sex"],
                int(r["age_from"]),
                _int_or_none(r["age_to"]),
                int(r["population"]),
            )
            for r in _rows(folder, "population_national_sex_age.csv")
        ),
        hospitals=tuple(
            Hospital(r["hospital_id"], r["name"], int(r["municipality_code"]), int(r["region_code"]))
            for r in _rows(folder, "hospitals.csv")
        ),
        atc_groups=tuple(
            AtcGroup(r["atc_code"], int(r["level"]), r["parent_code"] or None, r["name_en"])
            for r in _rows(folder, "atc_groups.csv")
        ),
        icd10_chapters=_frozen_rows(_rows(folder, "icd10_chapters.csv")),
        icd10_chapter_titles_da={int(no): title for no, title in danish_titles(folder, ICD10_CHAPTERS_DA).items()},
        icd10_block_titles_da=danish_titles(folder, ICD10_BLOCKS_DA),
        atc_names_da=danish_titles(folder, ATC_GROUPS_DA),
        icd10_blocks=_frozen_rows(_rows(folder, "icd10_blocks.csv")),
        icd10_categories=_frozen_rows(_rows(folder, "icd10_categories.csv")),
        folder=folder,
        geography=load_geography(folder),
    )


def _day(text: str) -> date:
    return date.fromisoformat(text) if text.strip() else OPEN_END


def load_geography(folder: Path | None = None) -> Geography:
    """The versioned regions and memberships (``koes.domain.geography``); check them with
    ``geography_problems``."""
    folder = folder or data_dir()
    return Geography(
        regions=tuple(
            RegionVersion(
                int(r["region_code"]),
                r["name_da"],
                r["name_en"],
                int(r["dst_region_code"]),
                _day(r["valid_from"]),
                _day(r["valid_to"]),
                r["provisional_code"].strip().lower() == "true",
            )
            for r in _rows(folder, "regions_versioned.csv")
        ),
        memberships=tuple(
            Membership(int(r["kommunekode"]), int(r["region_code"]), _day(r["valid_from"]), _day(r["valid_to"]))
            for r in _rows(folder, "region_membership.csv")
        ),
    )


def _frozen_rows(rows: Iterable[dict[str, str]]) -> tuple[Mapping[str, str], ...]:
    return tuple(rows)
