"""Repeated and re-routed requests publish identical values: the noise cannot be averaged away.

The same cell reached by another table, another route (person-year table or raw facts), from the
cache or fresh, over the API or as an export, and after a reload of the same extracts: one value.
Hypothesis makes up pairs of tables; every cell they share must agree, zero stays zero and no
published count is negative.
"""

from __future__ import annotations

import csv
import io
import shutil
import warnings
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from attack.perturbed import SMALL
from attack.tables import ATTACKER, ORACLE
from attack.universe import AGES, EVENTS, PERSONS, SEXES, cells_of
from koes.services.analysis import AnalysisService
from koes.services.disclosure import CellStatus
from koes.services.warehouse import load_extracts
from koes.settings import Settings
from koes.web.app import create_app
from support import api_token, bearer

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

pytestmark = pytest.mark.slow

NORD = [773, 787, 810, 813, 820, 825, 840, 846, 849, 851, 860]  # Region Nordjylland
TABLE: dict[str, Any] = {
    "perspective": "somatik",
    "measures": [EVENTS, PERSONS],
    "period": {"from": "2022", "to": "2022"},
    "rows": ["kommune"],
    "columns": ["aldersgruppe"],
    "filters": {"kommune": NORD},
}


def published(service: AnalysisService, request: dict[str, Any]) -> dict[Any, Any]:
    """Every published cell of a request by its units: the shown value, or ``<5``."""
    result = service.run(request, ATTACKER)
    regions: dict[int, set[int]] = {}
    for m in service.municipalities().values():
        regions.setdefault(m.region, set()).add(m.code)
    frozen = {r: frozenset(k) for r, k in regions.items()}
    out: dict[Any, Any] = {}
    for block in result.blocks:
        for measure in (EVENTS, PERSONS):
            for key, cell in cells_of(block, request, measure, frozen, frozenset(service.municipalities())).items():
                value = block.values[measure][key]
                out[cell] = SMALL if block.status(measure, key) == CellStatus.PRIMARY else value
    return out


def test_the_raw_facts_route_publishes_what_the_person_year_route_does(analysis: AnalysisService) -> None:
    quarters = {**TABLE, "filters": {**TABLE["filters"], "kvartal": [20221, 20222, 20223, 20224]}}
    yearly = analysis.run(TABLE, ATTACKER)
    by_events = analysis.run(quarters, ATTACKER)
    assert {q.source.id for q in yearly.plan.queries} == {"person_year_hospital"}
    assert {q.source.id for q in by_events.plan.queries} >= {"stays"}  # every quarter of the year: the same events
    for a, b in zip(yearly.blocks, by_events.blocks, strict=True):
        assert (a.row_keys, a.col_keys) == (b.row_keys, b.col_keys)
        assert a.values == b.values and a.hidden == b.hidden


def test_a_cache_hit_and_a_fresh_answer_are_the_same(analysis: AnalysisService) -> None:
    first = analysis.run(TABLE, ATTACKER)
    assert analysis.run(TABLE, ATTACKER) is first
    analysis.clear_cache()
    again = analysis.run(TABLE, ATTACKER)
    assert again is not first
    assert [(b.values, b.hidden) for b in again.blocks] == [(b.values, b.hidden) for b in first.blocks]


@pytest.fixture(scope="module")
def client(analysis: AnalysisService, small_settings: Settings) -> Iterator[TestClient]:
    token = api_token(small_settings, ["aggregeret"], "national")
    with TestClient(create_app(small_settings, analysis), headers=bearer(token)) as c:
        yield c


def test_the_api_and_the_export_publish_the_same_numbers(client: TestClient, analysis: AnalysisService) -> None:
    request = {**TABLE, "measures": [PERSONS]}
    shown = client.post("/api/v1/analysis", json=request)
    exported = client.post("/api/v1/analysis/export?format=csv", json=request)
    assert shown.status_code == exported.status_code == 200
    cells = shown.json()["blocks"][0]["cells"]
    api = [_figure(c["values"][PERSONS].get("display", c["values"][PERSONS]["value"])) for c in cells]
    lines = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    body = lines[1 : lines.index([])]
    width = len(cells) // len(body)  # the inner columns and the total of each printed row
    export = [_figure(v) for line in body for v in line[-width:]]
    assert sorted(api, key=str) == sorted(export, key=str)  # one figure per cell, the same figures
    assert SMALL in api
    service = AnalysisService(analysis.settings)
    try:
        fresh = service.run(request, ATTACKER)
    finally:
        service.close()
    assert fresh.blocks[0].values == analysis.run(request, ATTACKER).blocks[0].values


def _figure(shown: Any) -> Any:
    try:
        return round(float(shown))
    except (TypeError, ValueError):
        return shown


def test_a_reload_of_the_same_extracts_publishes_the_same_values(
    analysis: AnalysisService, small_settings: Settings, small_extracts: Path, tmp_path: Path
) -> None:
    settings_ = replace(small_settings, data_dir=tmp_path / "koes-data")
    shutil.copytree(small_settings.pseudonym_key.parent, settings_.pseudonym_key.parent)
    load_extracts(settings_, small_extracts)
    reloaded = AnalysisService(settings_)
    try:
        assert reloaded.release_id() != analysis.release_id()
        assert published(reloaded, TABLE) == published(analysis, TABLE)
    finally:
        reloaded.close()


AXES = ["kommune", "aldersgruppe", "koen"]


@st.composite
def tables(draw: st.DrawFn) -> dict[str, Any]:
    dims = draw(st.permutations(AXES))
    rows, cols = draw(st.integers(0, 2)), draw(st.integers(0, 1))
    filters: dict[str, Any] = {"kommune": draw(st.lists(st.sampled_from(NORD), min_size=1, max_size=4, unique=True))}
    if draw(st.booleans()):
        filters["aldersgruppe"] = draw(st.lists(st.sampled_from(AGES), min_size=1, max_size=1))
    if draw(st.booleans()):
        filters["koen"] = [draw(st.sampled_from(SEXES))]
    year = draw(st.sampled_from(["2022", "2023"]))
    return {
        "perspective": "somatik",
        "measures": [EVENTS, PERSONS],
        "period": {"from": year, "to": year},
        "rows": list(dims[:rows]),
        "columns": list(dims[rows : rows + cols]),
        "filters": filters,
    }


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(first=tables(), second=tables())
def test_the_same_cell_in_any_two_tables_has_the_same_value(
    analysis: AnalysisService, first: dict[str, Any], second: dict[str, Any]
) -> None:
    a, b = published(analysis, first), published(analysis, second)
    for cell in a.keys() & b.keys():
        assert a[cell] == b[cell], cell
    for request, shown in ((first, a), (second, b)):
        truth = analysis.run(request, ORACLE)
        exact = _true(analysis, request, truth)
        for cell, value in shown.items():
            assert value == SMALL or value >= 0  # no negative count
            if exact[cell] == 0:
                assert value == 0  # zero stays zero


def _true(service: AnalysisService, request: dict[str, Any], truth: Any) -> dict[Any, Any]:
    regions: dict[int, set[int]] = {}
    for m in service.municipalities().values():
        regions.setdefault(m.region, set()).add(m.code)
    frozen = {r: frozenset(k) for r, k in regions.items()}
    out: dict[Any, Any] = {}
    for block in truth.blocks:
        for measure in (EVENTS, PERSONS):
            for key, cell in cells_of(block, request, measure, frozen, frozenset(service.municipalities())).items():
                out[cell] = int(block.values[measure][key] or 0)
    return out
