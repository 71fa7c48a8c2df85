"""Back up and restore a deployment: the app database, the secrets and the current release.

A backup is a folder::

    app.db | app.pgdump       the app database (SQLite: a consistent online copy; PostgreSQL: pg_dump -Fc)
    secrets/                  the pseudonymisation key and the app's secret key (mode 0600)
    release/<id>/             the current release as published, its manifest included
    backup.json               written last: what the backup holds, with the SHA-256 of every file

``backup.json`` is written only when everything else is in place, so a backup cut short has none
and is refused. A restore checks every file against its hash and refuses the backup whole, naming
every problem, if a file is missing, extra or changed; checks the release's content hash against its
manifest (by recomputing it from the tables) and the audit chain (intact, and ending at the head the
backup recorded); and only then puts the parts in place, into a deployment that holds none of them
(wipe first: a restore never overwrites).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from koes.appdb.database import AppDatabase
from koes.etl.publish import serving_content_hash
from koes.services.appdb import open_app_database
from koes.services.audit import AuditTrail
from koes.settings import Settings
from koes.storage.releases import MANIFEST, SERVING_FILE, ReleaseStore

BACKUP_MANIFEST = "backup.json"
FORMAT = 1
SQLITE_FILE = "app.db"
PG_DUMP_FILE = "app.pgdump"


class BackupError(RuntimeError):
    """A backup or restore that cannot be done; the message says every reason."""


@dataclass(frozen=True)
class BackupSummary:
    folder: Path
    release_id: str | None
    audit_records: int
    files: int


def backup(settings: Settings, target: Path) -> BackupSummary:
    """Write a backup of the deployment into ``target`` (a new or empty folder)."""
    if target.exists() and any(target.iterdir()):
        raise BackupError(f"{target} is not empty: back up into a new folder")
    target.mkdir(parents=True, exist_ok=True)
    database = open_app_database(settings)
    try:
        report = AuditTrail(database).check()
        if not report.intact:
            raise BackupError("the audit chain is broken; back up nothing until it is checked: koes audit verify")
        kind = _copy_database(settings, database, target)
    finally:
        database.dispose()
    _copy_secrets(settings, target / "secrets")
    current = ReleaseStore(settings.warehouse).current()
    release: dict[str, Any] | None = None
    if current is not None:
        shutil.copytree(current.folder, target / "release" / current.id)
        release = {"id": current.id, "content_hash": current.manifest()["content_hash"]}
    files = {str(p.relative_to(target)): file_sha256(p) for p in sorted(target.rglob("*")) if p.is_file()}
    manifest = {
        "format": FORMAT,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "app_database": kind,
        "audit": {"records": report.records, "head_id": report.head_id, "head_hash": report.head_hash},
        "release": release,
        "files": files,
    }
    tmp = target / f".{BACKUP_MANIFEST}.tmp"
    tmp.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    tmp.replace(target / BACKUP_MANIFEST)  # last: a backup without it is partial
    return BackupSummary(target, current.id if current else None, report.records, len(files))


def restore(settings: Settings, source: Path) -> BackupSummary:
    """Check the backup in ``source`` whole, then restore it into an empty deployment."""
    manifest = read_manifest(source)
    problems = file_problems(source, manifest) + _occupied(settings, manifest)
    if problems:
        raise BackupError("refused: " + "; ".join(problems))
    release = manifest.get("release")
    if release:
        problems += release_problems(source / "release" / release["id"], release["content_hash"])
    if manifest["app_database"] == "sqlite":
        problems += chain_problems(f"sqlite:///{source / SQLITE_FILE}", manifest["audit"])
    if problems:
        raise BackupError("refused: " + "; ".join(problems))
    _restore_secrets(source / "secrets", settings)
    _restore_database(settings, source, manifest["app_database"])
    if manifest["app_database"] == "postgresql":
        problems = chain_problems(settings.app_database_url, manifest["audit"])
        if problems:
            raise BackupError("the restored PostgreSQL audit chain is not the one backed up: " + "; ".join(problems))
    if release:
        store = ReleaseStore(settings.warehouse)
        store.releases_dir.mkdir(parents=True, exist_ok=True)
        staging = store.staging(release["id"])
        shutil.rmtree(staging)
        shutil.copytree(source / "release" / release["id"], staging)
        store.publish(staging, release["id"])
    return BackupSummary(
        source, release["id"] if release else None, manifest["audit"]["records"], len(manifest["files"])
    )


def read_manifest(source: Path) -> dict[str, Any]:
    path = source / BACKUP_MANIFEST
    if not path.is_file():
        raise BackupError(f"{source} has no {BACKUP_MANIFEST}: not a backup, or one cut short; refused")
    manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{BACKUP_MANIFEST} has format {manifest.get('format')!r}; this version reads {FORMAT}")
    return manifest


def file_problems(source: Path, manifest: dict[str, Any]) -> list[str]:
    """Every file missing, extra or changed against the backup's manifest."""
    listed: dict[str, str] = manifest["files"]
    present = {str(p.relative_to(source)) for p in source.rglob("*") if p.is_file() and p.name != BACKUP_MANIFEST}
    problems = [f"{name} is missing" for name in sorted(set(listed) - present)]
    problems += [f"{name} is not part of the backup" for name in sorted(present - set(listed))]
    problems += [
        f"{name} has changed (its hash differs)"
        for name in sorted(set(listed) & present)
        if file_sha256(source / name) != listed[name]
    ]
    return problems


def release_problems(folder: Path, expected: str) -> list[str]:
    """The release's tables, hashed again, must give the content hash its manifest recorded."""
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    found = serving_content_hash(folder / SERVING_FILE, manifest["tables"])
    if found != expected or found != manifest["content_hash"]:
        return [f"release {folder.name}: its content hash is {found}, the backup recorded {expected}"]
    return []


def chain_problems(url: str, recorded: dict[str, Any]) -> list[str]:
    """The audit chain must be intact and end where it ended when the backup was made."""
    database = AppDatabase(url)
    try:
        report = AuditTrail(database).check()
    finally:
        database.dispose()
    problems = [f"audit chain: {p}" for p in report.problems]
    if (report.records, report.head_id, report.head_hash) != (
        recorded["records"],
        recorded["head_id"],
        recorded["head_hash"],
    ):
        problems.append(
            f"audit chain: {report.records} records ending at {report.head_id}, "
            f"the backup recorded {recorded['records']} ending at {recorded['head_id']}"
        )
    return problems


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _copy_database(settings: Settings, database: AppDatabase, target: Path) -> str:
    if database.dialect == "sqlite":
        source = sqlite3.connect(_sqlite_path(settings.app_database_url))
        copy = sqlite3.connect(target / SQLITE_FILE)
        try:
            source.backup(copy)  # consistent even while the server writes (WAL)
        finally:
            copy.close()
            source.close()
        return "sqlite"
    if database.dialect == "postgresql":
        _run_pg("pg_dump", "--format=custom", f"--file={target / PG_DUMP_FILE}", _libpq_url(settings))
        return "postgresql"
    raise BackupError(f"cannot back up a {database.dialect} app database")


def _restore_database(settings: Settings, source: Path, kind: str) -> None:
    if kind == "sqlite":
        path = _sqlite_path(settings.app_database_url)
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / SQLITE_FILE, path)
    else:
        _run_pg(
            "pg_restore",
            "--no-owner",
            "--exit-on-error",
            f"--dbname={_libpq_url(settings)}",
            str(source / PG_DUMP_FILE),
        )


def _run_pg(tool: str, *args: str) -> None:
    if shutil.which(tool) is None:
        raise BackupError(f"{tool} is not installed (Debian: postgresql-client); see docs/operations.md")
    done = subprocess.run([tool, *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        first = (done.stderr.strip().splitlines() or ["failed"])[0]
        raise BackupError(f"{tool}: {first}")


def _libpq_url(settings: Settings) -> str:
    return settings.app_database_url.replace("postgresql+psycopg://", "postgresql://", 1)


def _sqlite_path(url: str) -> Path:
    return Path(url.removeprefix("sqlite:///"))


def _copy_secrets(settings: Settings, target: Path) -> None:
    target.mkdir(mode=0o700)
    for name, path in _secrets(settings).items():
        if path.is_file():
            shutil.copy2(path, target / name)
            (target / name).chmod(0o600)


def _restore_secrets(source: Path, settings: Settings) -> None:
    for name, path in _secrets(settings).items():
        if (source / name).is_file():
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            shutil.copy2(source / name, path)
            path.chmod(0o600)


def _secrets(settings: Settings) -> dict[str, Path]:
    return {"pseudonym.key": settings.pseudonym_key, "app.key": settings.secret_key}


def _occupied(settings: Settings, manifest: dict[str, Any]) -> list[str]:
    """What the deployment already holds that a restore would overwrite."""
    problems = [f"{name} already exists; wipe it first" for name, p in _secrets(settings).items() if p.exists()]
    if manifest["app_database"] == "sqlite" and _sqlite_path(settings.app_database_url).exists():
        problems.append("the app database already exists; wipe it first")
    if ReleaseStore(settings.warehouse).releases():
        problems.append("the warehouse already holds releases; wipe it first")
    return problems
