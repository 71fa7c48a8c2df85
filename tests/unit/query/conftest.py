"""A plan context from the shipped reference data: planning needs no warehouse."""

from __future__ import annotations

import dataclasses

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
    regions = {r.code: r.name_da for r in refdata.geography.regions}
    return PlanContext((2022, 2023, 2024), municipalities, regions, 101, refdata.geography)


@pytest.fixture(scope="session")
def reform_context(context: PlanContext) -> PlanContext:
    """The same country with a release of 2025–2028, across the 2027 region reform."""
    return dataclasses.replace(context, years=(2025, 2026, 2027, 2028))
