"""`koes backup DIR`, wipe, `koes restore DIR`: the deployment comes back whole, and a partial backup is refused."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from koes.appdb.database import AppDatabase
from koes.cli.main import app
from koes.etl.pipeline import LoadResult
from koes.services.analysis import AnalysisService
from koes.services.appdb import open_app_database
from koes.services.audit import AuditTrail
from koes.services.backup import BACKUP_MANIFEST, release_problems
from koes.services.signin import load_secret_key
from koes.settings import Settings
from koes.storage.releases import ReleaseStore

REQUEST = {"perspective": "somatik", "measures": ["indlaeggelser"], "rows": ["koen"]}


@pytest.fixture
def deployment(small_load: LoadResult, small_settings: Settings, tmp_path: Path, app_db_url: str) -> Settings:
    """A deployment of its own: keys, the small release, an app database with audit records in it."""
    data = tmp_path / "data"
    (data / "secrets").mkdir(parents=True, mode=0o700)
    shutil.copy2(small_settings.pseudonym_key, data / "secrets" / "pseudonym.key")
    source = ReleaseStore(small_settings.warehouse).current()
    assert source is not None
    settings = Settings(data_dir=data, threads=1, memory_limit="1GB", app_db_url=app_db_url)
    store = ReleaseStore(settings.warehouse)
    shutil.copytree(source.folder, store.releases_dir / source.id)
    store.switch(source.id)
    load_secret_key(settings)
    database = open_app_database(settings)
    service = AnalysisService(settings, audit=AuditTrail(database))
    try:
        for _ in range(3):
            service.run(REQUEST, service.local_principal())
    finally:
        service.close()
        database.dispose()
    return settings


def _koes(settings: Settings, *args: str) -> tuple[int, str]:
    env = {"KOES_APP_DB_URL": settings.app_db_url} if settings.app_db_url else {}
    result = CliRunner().invoke(app, ["--data-dir", str(settings.data_dir), *args], env=env)
    return result.exit_code, result.output


def _wipe(settings: Settings) -> None:
    shutil.rmtree(settings.data_dir)
    if settings.app_database_url.startswith("sqlite:///"):
        for suffix in ("", "-wal", "-shm"):
            Path(settings.app_database_url.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)
    else:  # PostgreSQL: an empty database, as a new server would have
        database = AppDatabase(settings.app_db_url)
        try:
            with database.engine.begin() as connection:
                connection.execute(text("DROP SCHEMA public CASCADE"))
                connection.execute(text("CREATE SCHEMA public"))
        finally:
            database.dispose()


def _state(settings: Settings) -> tuple[str | None, int, str | None, bytes, bytes]:
    database = AppDatabase(settings.app_database_url)
    try:
        report = AuditTrail(database).check()
    finally:
        database.dispose()
    assert report.intact
    current = ReleaseStore(settings.warehouse).current()
    return (
        current.id if current else None,
        report.records,
        report.head_hash,
        settings.pseudonym_key.read_bytes(),
        settings.secret_key.read_bytes(),
    )


def test_backup_wipe_restore_gives_the_deployment_back(deployment: Settings, tmp_path: Path) -> None:
    before = _state(deployment)
    target = tmp_path / "backup"
    code, output = _koes(deployment, "backup", str(target))
    assert code == 0, output
    assert (target / BACKUP_MANIFEST).is_file()
    assert (target / "secrets").stat().st_mode & 0o077 == 0

    _wipe(deployment)
    code, output = _koes(deployment, "restore", str(target))
    assert code == 0, output
    assert "chain verified" in output
    assert _state(deployment) == before
    service = AnalysisService(deployment)  # and it answers as before
    try:
        assert service.run(REQUEST, service.local_principal()).provenance.release_id == before[0]
    finally:
        service.close()

    code, output = _koes(deployment, "restore", str(target))  # a restore never overwrites
    assert code == 1
    assert "wipe it first" in output


@pytest.mark.parametrize("app_db_url", ["sqlite"], indirect=True)
def test_a_partial_or_changed_backup_is_refused_with_every_reason(deployment: Settings, tmp_path: Path) -> None:
    target = tmp_path / "backup"
    assert _koes(deployment, "backup", str(target))[0] == 0
    _wipe(deployment)
    manifest = json.loads((target / BACKUP_MANIFEST).read_text(encoding="utf-8"))
    release_id = manifest["release"]["id"]

    (target / "secrets" / "app.key").unlink()
    with (target / "app.db").open("ab") as f:
        f.write(b"\0")
    code, output = _koes(deployment, "restore", str(target))
    assert code == 1
    assert "secrets/app.key is missing" in output
    assert "app.db has changed" in output
    assert not deployment.data_dir.exists() or not any(deployment.data_dir.rglob("*.key"))  # nothing restored

    (target / BACKUP_MANIFEST).unlink()  # a backup cut short before its manifest
    code, output = _koes(deployment, "restore", str(target))
    assert code == 1
    assert "cut short" in output

    release = target / "release" / release_id
    assert release_problems(release, manifest["release"]["content_hash"]) == []
    assert release_problems(release, "sha256:" + "0" * 64) != []
