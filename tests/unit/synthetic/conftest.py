"""A small synthetic population shared by the generator tests."""

from __future__ import annotations

import pytest

from koes.refdata import RefData, load_refdata
from koes.synthetic.context import ChunkContext
from koes.synthetic.population import PnrRegistry, Population, generate_population
from support import make_context


@pytest.fixture(scope="session")
def refdata() -> RefData:
    return load_refdata()


@pytest.fixture(scope="session")
def three_year_population(refdata: RefData) -> tuple[Population, ChunkContext]:
    ctx = make_context(refdata, first=2022, last=2024)
    return generate_population(ctx, 20_000, PnrRegistry()), ctx
