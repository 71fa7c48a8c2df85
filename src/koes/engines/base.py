"""The engine protocol: run one SQL text, return rows as dictionaries keyed by column name.

Engines know nothing of users, catalogs or plans (DESIGN §3): they receive SQL already scoped
and rendered in their dialect, and the release they serve. :class:`Engine` is the one type the
callers hold (``koes.services.analysis.open_engine`` returns it); DuckDB (``koes.engines.duckdb``)
and Spark (``koes.engines.spark``) implement it. The path from a request to an engine: the API or a
page calls ``AnalysisService``, which plans and scopes, and hands ``koes.query.bases`` a
``QueryRunner`` that renders each scoped query in ``Engine.dialect`` and calls ``Engine.execute``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

Row = Mapping[str, Any]


class EngineError(RuntimeError):
    """A query failed in the engine; the message is safe to show (no data, no SQL values)."""


class Engine(Protocol):
    """A release's query engine: SQL in its dialect in, rows out; an :class:`EngineError` on failure."""

    dialect: str  # the sqlglot dialect its SQL is rendered in: "duckdb", "spark"
    release_id: str

    def execute(self, sql: str) -> list[Row]: ...

    def execute_with(self, sql: str, tables: Mapping[str, Any]) -> list[Row]:
        """``sql`` with Arrow tables of the caller's (a cohort's population) visible by name, for this query only."""
        ...

    def table_columns(self) -> Mapping[str, frozenset[str]]: ...

    def close(self) -> None: ...
