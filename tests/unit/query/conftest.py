"""A plan context from the shipped reference data: planning needs no warehouse."""

from __future__ import annotations

import pytest

from koes.query.planner import Municipality, PlanContext
from koes.refdata import RefData
from koes.semantic.loader import default_catalog
from koes.semantic.model import Catalog


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return default_catalog()


@pytest.fixture(scope="session")
def context(refdata: RefData) -> PlanContext:
    population = refdata.population_in(2024)
    municipalities = {
        m.code: Municipality(m.code, m.name, m.region_code, population[m.code]) for m in refdata.municipalities
    }
    return PlanContext((2022, 2023, 2024), municipalities, {r.code: r.name for r in refdata.regions}, 101)
