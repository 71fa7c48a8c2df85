"""Every query engine keeps the one protocol its callers type against (``koes.engines.base.Engine``).

mypy checks the engine ``open_engine`` returns; this test also names a method an engine lacks or
spells differently, for an engine no caller has returned yet.
"""

from __future__ import annotations

import inspect

import pytest

from koes.engines.base import Engine
from koes.engines.duckdb import DuckDBEngine


def protocol_gaps(engine: type, protocol: type = Engine) -> list[str]:
    """Each method of ``protocol`` that ``engine`` lacks or declares with other parameters."""
    gaps = []
    for name, wanted in vars(protocol).items():
        if name.startswith("_") or not callable(wanted):
            continue
        found = getattr(engine, name, None)
        if found is None:
            gaps.append(f"{engine.__name__} has no {name}")
        elif list(inspect.signature(found).parameters) != list(inspect.signature(wanted).parameters):
            gaps.append(f"{engine.__name__}.{name} takes other parameters than the protocol's")
    return gaps


def test_duckdb_keeps_the_engine_protocol() -> None:
    assert protocol_gaps(DuckDBEngine) == []


def test_spark_keeps_the_engine_protocol() -> None:
    spark = pytest.importorskip("koes.engines.spark", reason="pyspark is an optional extra")
    assert protocol_gaps(spark.SparkEngine) == []


def test_a_missing_or_changed_method_is_named() -> None:
    class Partial:
        dialect = "x"

        def execute(self, query: str) -> list[object]:
            return []

    assert protocol_gaps(Partial) == [
        "Partial.execute takes other parameters than the protocol's",
        "Partial has no execute_with",
        "Partial has no table_columns",
        "Partial has no close",
    ]
