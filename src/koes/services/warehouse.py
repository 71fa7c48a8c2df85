"""Warehouse use cases: load extracts into a release, list, inspect and roll back releases."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from koes.domain.periods import YearRange
from koes.domain.rules import load_rules
from koes.etl.pipeline import LoadError, LoadRequest, LoadResult, ProgressCallback, load
from koes.refdata import load_refdata
from koes.settings import EngineName, Settings
from koes.storage.releases import LoadRunningError, ReleaseError, ReleaseStore

__all__ = [
    "LoadError",
    "LoadResult",
    "LoadRunningError",
    "ReleaseError",
    "ReleaseSummary",
    "list_releases",
    "load_extracts",
    "release_manifest",
    "rollback",
]


@dataclass(frozen=True)
class ReleaseSummary:
    id: str
    current: bool
    created: str
    period_start: str
    period_end: str
    persons: int
    rows_quarantined: int
    content_hash: str


def load_extracts(
    settings: Settings,
    extracts: Path,
    period: YearRange | None = None,
    progress: ProgressCallback | None = None,
    *,
    engine: EngineName = EngineName.DUCKDB,
    spark_master: str = "local[2]",
) -> LoadResult:
    """Load extracts into a new current release, on DuckDB or (``engine="spark"``) on Spark."""
    request = LoadRequest(extracts, settings, period, engine=engine, spark_master=spark_master)
    return load(request, load_refdata(), load_rules(), progress)


def list_releases(settings: Settings) -> list[ReleaseSummary]:
    store = ReleaseStore(settings.warehouse)
    current = store.current()
    summaries = []
    for release in store.releases():
        m = release.manifest()
        summaries.append(
            ReleaseSummary(
                id=release.id,
                current=bool(current and current.id == release.id),
                created=m["created"],
                period_start=m["extract_period"]["start"],
                period_end=m["extract_period"]["end"],
                persons=m["tables"]["persons"]["rows"],
                rows_quarantined=sum(v["quarantined"] for v in m["row_accounting"].values()),
                content_hash=m["content_hash"],
            )
        )
    return summaries


def release_manifest(settings: Settings, release_id: str) -> dict[str, Any]:
    return ReleaseStore(settings.warehouse).get(release_id).manifest()


def rollback(settings: Settings, release_id: str) -> None:
    """Make an earlier release current again; refused while a load runs."""
    store = ReleaseStore(settings.warehouse)
    with store.load_lock():
        store.switch(release_id)


def current_release_id(warehouse: Path) -> str | None:
    """The id of the release the warehouse points at; None before the first load or if unreadable."""
    try:
        current = ReleaseStore(warehouse).current()
    except (ReleaseError, OSError):
        return None
    return current.id if current else None
