"""Session-wide fixtures: one small synthetic Denmark and one warehouse loaded from it."""

from __future__ import annotations

from pathlib import Path

import pytest

from koes.domain.periods import YearRange
from koes.refdata import RefData, load_refdata
from koes.services.analysis import AnalysisService
from koes.services.warehouse import LoadResult, load_extracts
from koes.settings import Settings
from koes.synthetic.context import ChunkContext
from koes.synthetic.generate import GenerationRequest, generate
from koes.synthetic.population import PnrRegistry, Population, generate_population
from support import make_context

SMALL_PERSONS = 4000
SMALL_YEARS = YearRange(2022, 2023)
SMALL_SEED = 11


@pytest.fixture(scope="session")
def small_extracts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Parquet extracts of a 4,000-person synthetic Denmark, 2022–2023. Treat as read-only."""
    out = tmp_path_factory.mktemp("small") / "extracts"
    generate(GenerationRequest(SMALL_PERSONS, SMALL_YEARS, SMALL_SEED, out), load_refdata())
    return out


@pytest.fixture(scope="session")
def small_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(data_dir=tmp_path_factory.mktemp("koes-data"), threads=1, memory_limit="2GB")


@pytest.fixture(scope="session")
def small_load(small_extracts: Path, small_settings: Settings) -> LoadResult:
    """The small extracts loaded into a warehouse; its current release. Treat as read-only."""
    return load_extracts(small_settings, small_extracts)


@pytest.fixture(scope="session")
def analysis(small_load: LoadResult, small_settings: Settings) -> AnalysisService:
    """The analysis service over the small release, as the configured local principal (national, aggregate)."""
    return AnalysisService(small_settings)


@pytest.fixture(scope="session")
def refdata() -> RefData:
    return load_refdata()


@pytest.fixture(scope="session")
def three_year_population(refdata: RefData) -> tuple[Population, ChunkContext]:
    """20,000 residents on 1 January 2022 and everyone born or arriving until 2024."""
    ctx = make_context(refdata, first=2022, last=2024)
    return generate_population(ctx, 20_000, PnrRegistry()), ctx
