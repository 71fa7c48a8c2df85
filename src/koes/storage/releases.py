"""Warehouse releases: build beside the current one, verify, then switch one pointer.

Layout of a warehouse folder::

    releases/<id>/manifest.json      what the release holds, where it came from, row accounting
    releases/<id>/warehouse.duckdb   the serving file (star schema, person-year tables, cubes)
    releases/<id>/parquet/...        the same tables as Parquet, partitioned by year
    current                          the id of the release readers use (replaced atomically)
    .staging-<id>/                   a release being built; never read, removed if abandoned
    .lock                            held by the one load that may run at a time

A crash (even ``kill -9``) at any moment leaves ``current`` pointing at a complete release:
the pointer is written to a temporary file and renamed over the old one, which POSIX makes
atomic, and only after the new release has been verified.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"
SERVING_FILE = "warehouse.duckdb"
POINTER = "current"


class ReleaseError(RuntimeError):
    """A release operation that cannot be done; the message says why and what to do."""


class LoadRunningError(ReleaseError):
    """Another load holds the lock."""


@dataclass(frozen=True)
class Release:
    id: str
    folder: Path

    @property
    def manifest_path(self) -> Path:
        return self.folder / MANIFEST

    @property
    def serving_file(self) -> Path:
        return self.folder / SERVING_FILE

    @property
    def parquet_dir(self) -> Path:
        return self.folder / "parquet"

    def manifest(self) -> dict[str, Any]:
        with self.manifest_path.open(encoding="utf-8") as f:
            data: dict[str, Any] = json.load(f)
        return data


@dataclass(frozen=True)
class ReleaseStore:
    root: Path

    @property
    def releases_dir(self) -> Path:
        return self.root / "releases"

    def releases(self) -> list[Release]:
        """Complete releases (those with a manifest), oldest first; ids sort by creation time."""
        if not self.releases_dir.exists():
            return []
        found = [Release(p.name, p) for p in self.releases_dir.iterdir() if (p / MANIFEST).is_file()]
        return sorted(found, key=lambda r: r.id)

    def get(self, release_id: str) -> Release:
        if "/" in release_id or release_id.startswith("."):
            raise ReleaseError(f"{release_id!r} is not a release id")
        release = Release(release_id, self.releases_dir / release_id)
        if not release.manifest_path.is_file():
            known = ", ".join(r.id for r in self.releases()) or "none"
            raise ReleaseError(f"no release {release_id!r} in {self.root} (releases: {known})")
        return release

    def current(self) -> Release | None:
        pointer = self.root / POINTER
        if not pointer.is_file():
            return None
        return self.get(pointer.read_text(encoding="utf-8").strip())

    def staging(self, release_id: str) -> Path:
        folder = self.root / f".staging-{release_id}"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        return folder

    def publish(self, staging: Path, release_id: str) -> Release:
        """Move a verified staging folder into place and point ``current`` at it."""
        self.releases_dir.mkdir(parents=True, exist_ok=True)
        target = self.releases_dir / release_id
        staging.rename(target)
        _fsync_dir(self.releases_dir)
        self.switch(release_id)
        return Release(release_id, target)

    def switch(self, release_id: str) -> None:
        release = self.get(release_id)
        tmp = self.root / f".{POINTER}.{os.getpid()}.tmp"
        tmp.write_text(release.id + "\n", encoding="utf-8")
        with tmp.open("rb") as f:
            os.fsync(f.fileno())
        tmp.replace(self.root / POINTER)
        _fsync_dir(self.root)

    def prune(self, keep: int) -> list[str]:
        """Remove all but the newest ``keep`` releases, never the current one."""
        current = self.current()
        releases = self.releases()
        doomed = [r for r in releases[: max(len(releases) - keep, 0)] if not current or r.id != current.id]
        for r in doomed:
            # Out of releases/ in one rename first: a crash inside rmtree must not leave a release that
            # is listed (and could be rolled back to) with half its files gone. The next load removes it.
            trash = self.root / f".staging-pruned-{r.id}"
            r.folder.rename(trash)
            shutil.rmtree(trash)
        return [r.id for r in doomed]

    def remove_abandoned_staging(self) -> list[str]:
        """Staging folders left by a crashed load; only called while holding the load lock."""
        if not self.root.exists():
            return []
        abandoned = sorted(p for p in self.root.iterdir() if p.name.startswith(".staging-"))
        for p in abandoned:
            shutil.rmtree(p, ignore_errors=True)
        return [p.name for p in abandoned]

    @contextlib.contextmanager
    def load_lock(self) -> Iterator[None]:
        """Exclusive lock for a load. The OS releases it when the process dies, even by kill -9."""
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.root / ".lock"
        with path.open("a+", encoding="utf-8") as f:
            try:
                fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                f.seek(0)
                holder = f.read().strip() or "another process"
                raise LoadRunningError(
                    f"another load is running in {self.root} ({holder}); wait for it to finish"
                ) from None
            f.seek(0)
            f.truncate()
            f.write(f"pid {os.getpid()}\n")
            f.flush()
            try:
                yield
            finally:
                f.seek(0)
                f.truncate()
                fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
