"""A new release (or a rollback) is picked up while requests run, and no request sees a half-switched state."""

from __future__ import annotations

import shutil
import threading
from dataclasses import replace
from pathlib import Path

from koes.etl.pipeline import LoadResult
from koes.services.analysis import AnalysisService
from koes.settings import Settings
from koes.storage.releases import ReleaseStore

REQUESTS = [
    {"perspective": "somatik", "measures": ["indlaeggelser"], "rows": ["koen"]},
    {"perspective": "somatik", "measures": ["indlaeggelser"], "rows": ["koen"], "columns": ["aar"]},
]


def _two_releases(small_load: LoadResult, small_settings: Settings, tmp_path: Path) -> tuple[Settings, str, str]:
    """A warehouse of its own holding the small release twice, under two ids (the switch is what is tested)."""
    source = ReleaseStore(small_settings.warehouse).current()
    assert source is not None
    settings = replace(small_settings, warehouse_dir=tmp_path / "warehouse")
    store = ReleaseStore(settings.warehouse)
    first, second = source.id, source.id[:-1] + ("Y" if source.id[-1] != "Y" else "Z")
    for release_id in (first, second):
        shutil.copytree(source.folder, store.releases_dir / release_id)
    store.switch(first)
    return settings, first, second


def test_switching_releases_under_load_answers_every_request_from_one_release(
    small_load: LoadResult, small_settings: Settings, tmp_path: Path
) -> None:
    settings, first, second = _two_releases(small_load, small_settings, tmp_path)
    store = ReleaseStore(settings.warehouse)
    service = AnalysisService(settings)
    principal = service.local_principal()
    errors: list[BaseException] = []
    seen: set[str] = set()
    done = threading.Event()

    def ask() -> None:
        while not done.is_set():
            for raw in REQUESTS:
                try:
                    seen.add(service.run(raw, principal).provenance.release_id)
                except BaseException as error:
                    errors.append(error)
                    return

    workers = [threading.Thread(target=ask) for _ in range(4)]
    for w in workers:
        w.start()
    try:
        for turn in range(30):  # a publish, then a rollback, and again
            store.switch(second if turn % 2 == 0 else first)
            service.clear_cache()  # so that requests reach the engine, not only the cache
            threading.Event().wait(0.05)
    finally:
        done.set()
        for w in workers:
            w.join(timeout=120)
        service.close()
    assert errors == [], [f"{type(e).__name__}: {e}" for e in errors[:3]]
    assert seen == {first, second}
