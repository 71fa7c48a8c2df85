"""`koes serve --workers 2`: two processes behind one port, one audit chain, a release switched under load."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from koes.appdb.database import AppDatabase
from koes.etl.pipeline import LoadResult
from koes.services.audit import AuditQuery, AuditTrail
from koes.settings import ApiAuth, Settings
from koes.storage.releases import ReleaseStore
from support import koes_serving

REQUEST = {"perspective": "somatik", "measures": ["indlaeggelser"], "rows": ["koen"]}
CALLS = 40


@pytest.fixture
def deployment(small_load: LoadResult, small_settings: Settings, tmp_path: Path, app_db_url: str) -> Settings:
    """A data folder of its own: the pseudonymisation key, the small release twice (two ids), the app database."""
    data = tmp_path / "data"
    (data / "secrets").mkdir(parents=True, mode=0o700)
    shutil.copy2(small_settings.pseudonym_key, data / "secrets" / "pseudonym.key")
    source = ReleaseStore(small_settings.warehouse).current()
    assert source is not None
    settings = Settings(data_dir=data, threads=1, memory_limit="1GB", api_auth=ApiAuth.LOCAL, app_db_url=app_db_url)
    store = ReleaseStore(settings.warehouse)
    for release_id in (source.id, source.id + "b"):
        shutil.copytree(source.folder, store.releases_dir / release_id)
    store.switch(source.id)
    return settings


@pytest.fixture
def server(deployment: Settings) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    env = {"KOES_API_AUTH": "local", "KOES_APP_DB_URL": deployment.app_db_url, "KOES_THREADS": "1"}
    with koes_serving(deployment.data_dir, env, "--workers", "2", ready="/api/v1/ready", timeout=120) as served:
        yield served


@pytest.mark.slow
def test_two_workers_one_audit_chain_and_a_release_switch_under_load(
    deployment: Settings, server: tuple[str, subprocess.Popen[bytes]]
) -> None:
    base, process = server
    children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
    assert len(children) >= 2  # the parent and its two workers (uvicorn may add a helper process)
    store = ReleaseStore(deployment.warehouse)
    ids = [r.id for r in store.releases()]

    def ask(i: int) -> tuple[int, str]:
        if i % 10 == 5:  # a publish or a rollback while the other calls run
            store.switch(ids[(i // 10) % 2 - 1])
        response = httpx.post(f"{base}/api/v1/analysis", json=REQUEST, timeout=120)
        return response.status_code, response.json().get("provenance", {}).get("release_id", response.text)

    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(ask, range(CALLS)))
    assert [status for status, _ in answers] == [200] * CALLS, answers
    assert {release for _, release in answers} <= set(ids)

    metrics = httpx.get(f"{base}/metrics").text  # from 127.0.0.1: allowed by default
    served = sum(
        float(line.rpartition(" ")[2])
        for line in metrics.splitlines()
        if line.startswith("koes_http_request_duration_seconds_count{") and 'route="/api/v1/analysis"' in line
    )
    assert served == CALLS  # summed over both workers
    assert f'koes_release_info{{release="{store.current().id}"}} 1.0' in metrics  # type: ignore[union-attr]

    database = AppDatabase(deployment.app_database_url)
    try:
        trail = AuditTrail(database)
        assert trail.verify() == []  # one chain, however the two processes interleaved
        assert trail.count(AuditQuery(action="analysis")) == CALLS
    finally:
        database.dispose()


def test_settings_reach_the_workers_unchanged(tmp_path: Path) -> None:
    from koes.cli.serving import settings_environment

    settings = replace(Settings(data_dir=tmp_path), workers=3, secure_cookies=True, metrics_allow="10.0.0.0/8")
    env = settings_environment(settings)
    assert Settings.from_env(env) == replace(settings, data_dir=tmp_path.resolve())
    assert json.dumps(env)  # plain strings only
