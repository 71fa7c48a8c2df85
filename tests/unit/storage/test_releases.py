"""ReleaseStore: publish, switch, get, prune, abandoned staging and the load lock, on tiny fake releases."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from koes.storage.releases import LoadRunningError, Release, ReleaseError, ReleaseStore


def _publish(store: ReleaseStore, release_id: str) -> Release:
    staging = store.staging(release_id)
    (staging / "manifest.json").write_text(json.dumps({"id": release_id}), encoding="utf-8")
    (staging / "warehouse.duckdb").write_bytes(b"serving file of " + release_id.encode())
    (staging / "parquet").mkdir()
    (staging / "parquet" / "persons.parquet").write_bytes(b"rows")
    return store.publish(staging, release_id)


def _ids(store: ReleaseStore) -> list[str]:
    return [r.id for r in store.releases()]


def _current_id(store: ReleaseStore) -> str | None:
    current = store.current()
    return current.id if current else None


# --- publish, switch, get --------------------------------------------------------------------


def test_an_empty_store_has_no_releases_and_no_current(tmp_path: Path) -> None:
    store = ReleaseStore(tmp_path / "warehouse")
    assert store.releases() == []
    assert store.current() is None
    assert store.remove_abandoned_staging() == []


def test_publish_moves_the_staging_folder_into_place_and_makes_it_current(tmp_path: Path) -> None:
    store = ReleaseStore(tmp_path)
    release = _publish(store, "20240101T000000000Z")
    assert release.folder == tmp_path / "releases" / "20240101T000000000Z"
    assert release.manifest() == {"id": "20240101T000000000Z"}
    assert release.serving_file.read_bytes() == b"serving file of 20240101T000000000Z"
    assert release.parquet_dir.is_dir()
    assert not (tmp_path / ".staging-20240101T000000000Z").exists()
    assert (tmp_path / "current").read_text(encoding="utf-8").strip() == "20240101T000000000Z"
    assert store.current() == release
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_releases_are_listed_oldest_first_whatever_the_publishing_order(tmp_path: Path) -> None:
    store = ReleaseStore(tmp_path)
    for release_id in ("20240102T000000000Z", "20240101T000000000Z", "20240103T000000000Z"):
        _publish(store, release_id)
    assert _ids(store) == ["20240101T000000000Z", "20240102T000000000Z", "20240103T000000000Z"]
    assert _current_id(store) == "20240103T000000000Z"  # the last published is current


def test_a_folder_without_manifest_is_not_a_release(tmp_path: Path) -> None:
    store = ReleaseStore(tmp_path)
    _publish(store, "20240101T000000000Z")
    (tmp_path / "releases" / "20240102T000000000Z").mkdir()
    assert _ids(store) == ["20240101T000000000Z"]
    with pytest.raises(ReleaseError):
        store.get("20240102T000000000Z")


def test_switch_points_current_at_an_earlier_release_and_back(tmp_path: Path) -> None:
    store = ReleaseStore(tmp_path)
    _publish(store, "20240101T000000000Z")
    _publish(store, "20240102T000000000Z")
    store.switch("20240101T000000000Z")
    assert _current_id(store) == "20240101T000000000Z"
    store.switch("20240102T000000000Z")
    assert _current_id(store) == "20240102T000000000Z"
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_switching_to_an_unknown_release_changes_nothing_and_lists_the_known_ones(tmp_path: Path) -> None:
    store = ReleaseStore(tmp_path)
    _publish(store, "20240101T000000000Z")
    _publish(store, "20240102T000000000Z")
    with pytest.raises(ReleaseError) as caught:
        store.switch("20991231T000000000Z")
    message = str(caught.value)
    assert "20991231T000000000Z" in message
    assert "20240101T000000000Z, 20240102T000000000Z" in message
    assert _current_id(store) == "20240102T000000000Z"


@pytest.mark.parametrize("bad_id", ["../20240101T000000000Z", "a/b", ".staging-20240101T000000000Z", ".", ".."])
def test_ids_that_are_paths_are_refused(tmp_path: Path, bad_id: str) -> None:
    store = ReleaseStore(tmp_path / "warehouse")
    _publish(store, "20240101T000000000Z")
    # A release-shaped folder outside releases/ must not be reachable through get.
    outside = tmp_path / "warehouse" / "20240101T000000000Z"
    outside.mkdir()
    (outside / "manifest.json").write_text("{}", encoding="utf-8")
    with pytest.raises(ReleaseError):
        store.get(bad_id)


def test_a_pointer_to_a_vanished_release_is_an_error_not_a_silent_none(tmp_path: Path) -> None:
    store = ReleaseStore(tmp_path)
    _publish(store, "20240101T000000000Z")
    shutil.rmtree(tmp_path / "releases" / "20240101T000000000Z")
    with pytest.raises(ReleaseError):
        store.current()


def test_staging_starts_empty_even_if_a_folder_of_that_name_was_left(tmp_path: Path) -> None:
    store = ReleaseStore(tmp_path)
    left = tmp_path / ".staging-20240101T000000000Z"
    left.mkdir()
    (left / "half-written.duckdb").write_bytes(b"x")
    assert list(store.staging("20240101T000000000Z").iterdir()) == []


# --- prune -----------------------------------------------------------------------------------


def test_prune_keeps_the_newest(tmp_path: Path) -> None:
    store = ReleaseStore(tmp_path)
    ids = [f"2024010{d}T000000000Z" for d in range(1, 6)]
    for release_id in ids:
        _publish(store, release_id)
    assert store.prune(2) == ids[:3]
    assert _ids(store) == ids[3:]
    assert not (tmp_path / "releases" / ids[0]).exists()
    assert store.prune(2) == []


def test_prune_never_removes_the_current_release(tmp_path: Path) -> None:
    store = ReleaseStore(tmp_path)
    ids = [f"2024010{d}T000000000Z" for d in range(1, 5)]
    for release_id in ids:
        _publish(store, release_id)
    store.switch(ids[0])  # rolled back to the oldest
    assert store.prune(1) == ids[1:3]
    assert _ids(store) == [ids[0], ids[3]]
    assert _current_id(store) == ids[0]
    assert store.current() is not None
    assert store.prune(0) == [ids[3]]
    assert _ids(store) == [ids[0]]


def test_prune_keeping_more_than_exist_removes_nothing(tmp_path: Path) -> None:
    store = ReleaseStore(tmp_path)
    _publish(store, "20240101T000000000Z")
    assert store.prune(5) == []
    assert _ids(store) == ["20240101T000000000Z"]


def test_a_crash_while_pruning_never_leaves_a_half_deleted_release(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process killed inside rmtree leaves some files of the release it was removing.

    What is left must not be listed as a release someone could roll back to, and the next load
    (which removes abandoned staging folders under the lock) must clear it.
    """
    store = ReleaseStore(tmp_path)
    _publish(store, "20240101T000000000Z")
    _publish(store, "20240102T000000000Z")
    real_rmtree: Callable[..., None] = shutil.rmtree

    def dies_half_way(path: str | os.PathLike[str], *args: object, **kwargs: object) -> None:
        # Delete the serving file, as rmtree might do first, then "die".
        (Path(path) / "warehouse.duckdb").unlink()
        raise KeyboardInterrupt("killed while pruning")

    monkeypatch.setattr(shutil, "rmtree", dies_half_way)
    with pytest.raises(KeyboardInterrupt):
        store.prune(1)
    monkeypatch.setattr(shutil, "rmtree", real_rmtree)
    for release in store.releases():
        assert release.serving_file.is_file(), f"release {release.id} is listed but has lost its serving file"
    assert _current_id(store) == "20240102T000000000Z"
    store.remove_abandoned_staging()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "releases") == ["current"]
    assert sorted(p.name for p in (tmp_path / "releases").iterdir()) == ["20240102T000000000Z"]


# --- abandoned staging -----------------------------------------------------------------------


def test_only_staging_folders_are_removed_as_abandoned(tmp_path: Path) -> None:
    store = ReleaseStore(tmp_path)
    _publish(store, "20240101T000000000Z")
    for name in (".staging-20240102T000000000Z", ".staging-20240103T000000000Z"):
        (tmp_path / name / "parquet").mkdir(parents=True)
        (tmp_path / name / "warehouse.duckdb").write_bytes(b"half")
    (tmp_path / "notes").mkdir()
    assert store.remove_abandoned_staging() == [".staging-20240102T000000000Z", ".staging-20240103T000000000Z"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["current", "notes", "releases"]
    assert _current_id(store) == "20240101T000000000Z"


# --- the load lock ---------------------------------------------------------------------------


def test_the_lock_is_exclusive_and_names_the_holder(tmp_path: Path) -> None:
    store = ReleaseStore(tmp_path / "warehouse")
    with store.load_lock():
        with pytest.raises(LoadRunningError) as caught, ReleaseStore(tmp_path / "warehouse").load_lock():
            pass
        message = str(caught.value)
        assert "another load" in message
        assert f"pid {os.getpid()}" in message
        assert str(tmp_path / "warehouse") in message
    with store.load_lock():  # free again once released
        pass


def test_the_lock_is_released_when_the_body_fails(tmp_path: Path) -> None:
    store = ReleaseStore(tmp_path)
    with pytest.raises(RuntimeError), store.load_lock():
        raise RuntimeError("load failed")
    with store.load_lock():
        pass


def test_the_lock_of_a_killed_process_is_free(tmp_path: Path) -> None:
    """A load killed with SIGKILL cannot clean up; the operating system must release its lock."""
    script = (
        "import sys, time; from pathlib import Path; from koes.storage.releases import ReleaseStore\n"
        "with ReleaseStore(Path(sys.argv[1])).load_lock():\n"
        "    print('locked', flush=True); time.sleep(60)\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", script, str(tmp_path)], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(LoadRunningError, match=f"pid {holder.pid}"), ReleaseStore(tmp_path).load_lock():
            pass
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)
        deadline = time.monotonic() + 5
        while True:
            try:
                with ReleaseStore(tmp_path).load_lock():
                    break
            except LoadRunningError:
                assert time.monotonic() < deadline, "the lock stayed held after its holder was killed"
                time.sleep(0.05)
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait(timeout=10)
        if holder.stdout is not None:
            holder.stdout.close()
