"""``KOES_ENGINE=spark``: the web app answers a Standard report and an Analysis request from Spark.

The app is started twice over the small release, once on each engine, and asked the same things
over its HTTP API: a Standard report (every view) and an analysis. The answers must hold the same
cells, statuses and figures (published, perturbed figures: both engines sum the same record keys);
only the engine named in the provenance and the time it was made may differ.
"""

from __future__ import annotations

import os
import shutil
import warnings
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

if os.environ.get("CI"):
    import pyspark  # noqa: F401

    assert shutil.which("java"), "Spark needs Java: make test installs default-jre-headless"
else:
    pytest.importorskip("pyspark", reason="the Spark engine is optional: pip install -e '.[spark]'")
    if shutil.which("java") is None:  # pragma: no cover - make test installs a JRE
        pytest.skip("Spark needs Java (apt-get install default-jre-headless)", allow_module_level=True)

from koes.engines.spark import QUICK_START_JAVA_OPTIONS, local_session
from koes.services.warehouse import LoadResult
from koes.settings import EngineName, Settings
from koes.web.app import create_app
from support import api_token, bearer

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

pytestmark = pytest.mark.xdist_group("spark")

REPORT = ("/api/v1/reports/noegletal", {"year": 2023, "lang": "en"})
ANALYSIS = {
    "perspective": "somatik",
    "measures": ["indlaeggelser", "patienter", "indlaeggelser_pr_1000"],
    "rows": ["aldersgruppe"],
    "columns": ["koen"],
    "period": {"from": "2023", "to": "2023"},
}
VARIES = frozenset({"generated_at", "engine"})  # what may differ between the two engines' answers


@pytest.fixture(scope="module")
def answers(small_load: LoadResult, small_settings: Settings) -> Iterator[dict[str, dict[str, Any]]]:
    local_session("local[2]", java_options=QUICK_START_JAVA_OPTIONS)  # the module's JVM, started quickly
    token = api_token(small_settings, ["aggregeret"], "kommune:101")
    out: dict[str, dict[str, Any]] = {}
    for engine in EngineName:
        with TestClient(create_app(replace(small_settings, engine=engine)), headers=bearer(token)) as api:
            path, params = REPORT
            report = api.get(path, params=params)
            analysis = api.post("/api/v1/analysis", json=ANALYSIS)
            assert (report.status_code, analysis.status_code) == (200, 200), (engine, report.text, analysis.text)
            out[engine] = {"report": report.json(), "analysis": analysis.json()}
    yield out


def _without(tree: Any, keys: frozenset[str]) -> Any:
    if isinstance(tree, dict):
        return {k: _without(v, keys) for k, v in tree.items() if k not in keys}
    if isinstance(tree, list):
        return [_without(v, keys) for v in tree]
    return tree


def _engines(tree: Any) -> set[str]:
    if isinstance(tree, dict):
        own = {tree["engine"]} if isinstance(tree.get("engine"), str) else set()
        return own.union(*(_engines(v) for v in tree.values()))
    if isinstance(tree, list):
        return set().union(*(_engines(v) for v in tree))
    return set()


def _figures(tree: Any) -> list[float]:
    """Every shown figure: a cell's value whose status lets it be shown."""
    if isinstance(tree, dict):
        if tree.get("status") == "ok" and isinstance(tree.get("value"), int | float):
            return [tree["value"]]
        return [f for v in tree.values() for f in _figures(v)]
    if isinstance(tree, list):
        return [f for v in tree for f in _figures(v)]
    return []


@pytest.mark.parametrize("kind", ["report", "analysis"])
def test_spark_serves_the_same_cells_as_duckdb(kind: str, answers: dict[str, dict[str, Any]]) -> None:
    duck, spark = answers["duckdb"][kind], answers["spark"][kind]
    assert _engines(duck) == {"duckdb"} and _engines(spark) == {"spark"}  # each answer came from its engine
    assert _without(spark, VARIES) == _without(duck, VARIES)
    assert len(_figures(duck)) >= 20  # there were figures to compare, and they are the same
