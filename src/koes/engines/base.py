"""The engine protocol: run one SQL text, return rows as dictionaries keyed by column name.

Engines know nothing of users, catalogs or plans (DESIGN §3): they receive SQL already scoped
and rendered in their dialect, and the release they serve.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

Row = Mapping[str, Any]


class EngineError(RuntimeError):
    """A query failed in the engine; the message is safe to show (no data, no SQL values)."""


class Engine(Protocol):
    dialect: str
    release_id: str

    def execute(self, sql: str) -> list[Row]: ...

    def table_columns(self) -> Mapping[str, frozenset[str]]: ...

    def close(self) -> None: ...
