"""A load killed with SIGKILL at any moment leaves the previous release serving, and a load that
cannot take the lock is refused.

`koes load` runs in a child process (as an operator runs it) and is killed at growing moments
until one run gets to the end. After every kill the release that was current is still current,
untouched and readable, the lock is free, and what the killed load left behind is removed by the
next load that runs.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from koes.cli import main as cli
from koes.domain.periods import YearRange
from koes.refdata import load_refdata
from koes.services.warehouse import load_extracts
from koes.settings import Settings
from koes.storage.releases import LoadRunningError, Release, ReleaseStore
from koes.synthetic.generate import GenerationRequest, generate
from koes.synthetic.writer import ExtractFormat
from support import wide_console

pytestmark = [pytest.mark.xdist_group("kill"), pytest.mark.slow]

KILL_AFTER_SECONDS = (0.3, 1.0, 2.0, 3.0, 4.0, 5.0, 6.5, 8.0, 10.0)
LOAD_TIMEOUT_SECONDS = 180
CLI = [sys.executable, "-c", "from koes.cli.main import main; main()"]


@dataclass(frozen=True)
class Setup:
    extracts: Path
    data_dir: Path
    tmp: Path  # TMPDIR of every child load, to see what a killed load leaves behind

    @property
    def store(self) -> ReleaseStore:
        return ReleaseStore(self.data_dir / "warehouse")


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("kill") / "extracts"
    generate(GenerationRequest(1500, YearRange(2023, 2023), 17, out, fmt=ExtractFormat.CSV), load_refdata())
    return out


@pytest.fixture
def setup(generated: Path, tmp_path: Path) -> Setup:
    data_dir = tmp_path / "data"
    load_extracts(Settings(data_dir=data_dir, threads=2, memory_limit="2GB"), generated)
    (tmp_path / "tmp").mkdir()
    return Setup(generated, data_dir, tmp_path / "tmp")


def child_env(setup: Setup) -> Mapping[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KOES_")}
    env["TMPDIR"] = str(setup.tmp)
    env["COLUMNS"] = "200"
    return env


def start_load(setup: Setup) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [*CLI, "--data-dir", str(setup.data_dir), "load", str(setup.extracts)],
        env=child_env(setup),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


@dataclass(frozen=True)
class Fingerprint:
    id: str
    content_hash: str
    files: Mapping[str, str]  # every file of the release folder and its digest
    persons: int


def fingerprint(release: Release) -> Fingerprint:
    files = {
        str(p.relative_to(release.folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(release.folder.rglob("*"))
        if p.is_file()
    }
    con = duckdb.connect(str(release.serving_file), read_only=True)
    try:
        row = con.execute("SELECT count(*) FROM persons").fetchone()
        contacts = con.execute("SELECT count(*) FROM contacts").fetchone()
    finally:
        con.close()
    assert row is not None
    assert contacts is not None
    manifest = release.manifest()
    assert row[0] == manifest["tables"]["persons"]["rows"]
    assert contacts[0] == manifest["tables"]["contacts"]["rows"]
    return Fingerprint(release.id, str(manifest["content_hash"]), files, int(row[0]))


def lock_is_free(store: ReleaseStore) -> bool:
    try:
        with store.load_lock():
            return True
    except LoadRunningError:
        return False


def staging_folders(store: ReleaseStore) -> list[str]:
    return sorted(p.name for p in store.root.iterdir() if p.name.startswith(".staging-"))


def kill_once_staging(setup: Setup) -> float:
    """Start a load and kill it as soon as its release is being built (a staging folder exists).

    The fixed moments alone depend on the machine's speed: on a busy machine every one of them
    can fall before the load gets that far. Returns the seconds it ran."""
    began = time.monotonic()
    child = start_load(setup)
    try:
        while not staging_folders(setup.store) and child.poll() is None:
            if time.monotonic() - began > LOAD_TIMEOUT_SECONDS:
                raise AssertionError("the load never started building a release")
            time.sleep(0.02)
        assert child.poll() is None, "the load finished before it could be killed while building"
        child.send_signal(signal.SIGKILL)
        child.communicate(timeout=30)
        return round(time.monotonic() - began, 2)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=30)


def kill_until_one_completes(setup: Setup) -> Iterator[tuple[float, bool]]:
    """Start loads, killing each after the next delay (the first as soon as it builds a release);
    yields (delay, completed) per run."""
    yield kill_once_staging(setup), False
    for delay in (*KILL_AFTER_SECONDS, None):
        child = start_load(setup)
        try:
            if delay is None:
                output, _ = child.communicate(timeout=LOAD_TIMEOUT_SECONDS)
                assert child.returncode == 0, output.decode(errors="replace")
                yield LOAD_TIMEOUT_SECONDS, True
                return
            try:
                output, _ = child.communicate(timeout=delay)
            except subprocess.TimeoutExpired:
                child.send_signal(signal.SIGKILL)
                child.communicate(timeout=30)
                assert child.returncode == -signal.SIGKILL
                yield delay, False
            else:
                assert child.returncode == 0, output.decode(errors="replace")
                yield delay, True
                return
        finally:
            if child.poll() is None:
                child.kill()
                child.wait(timeout=30)


def test_a_killed_load_leaves_the_previous_release_serving_and_the_next_load_cleans_up(setup: Setup) -> None:
    store = setup.store
    first = store.current()
    assert first is not None
    before = fingerprint(first)
    serving = before
    killed_at: list[float] = []
    left_staging: set[str] = set()
    completed = False
    for delay, done in kill_until_one_completes(setup):
        current = store.current()
        assert current is not None, f"no current release after a kill at {delay} s"
        if done:
            completed = True
            assert current.id != serving.id
            fingerprint(current)  # complete and readable
            break
        killed_at.append(delay)
        if current.id != serving.id:
            # Killed after the switch: that load had finished its work; its release must be whole.
            serving = fingerprint(current)
        else:
            assert fingerprint(current) == serving, f"the serving release changed under a kill at {delay} s"
        assert fingerprint(store.get(before.id)) == before  # the first release, byte for byte
        assert lock_is_free(store), f"the lock is still held after a kill at {delay} s"
        left_staging.update(staging_folders(store))
    assert completed, "no load ran to the end"
    assert killed_at, "every load finished before the first kill; kill earlier"
    assert left_staging, f"no kill (at {killed_at} s) landed while a release was being built; adjust the moments"
    assert staging_folders(store) == [], "the load that completed did not remove the staging folders of killed ones"
    assert fingerprint(store.get(before.id)) == before


def test_a_killed_load_leaves_no_copy_of_cpr_numbers_on_disk(setup: Setup) -> None:
    """The CSV reader writes a numbered copy of each file (CPR numbers included) to the load's
    private work folder; a load killed while it exists must not leave it for ever: the next load
    removes it, and nothing is ever written to the system's temporary folder."""
    child = start_load(setup)
    copies: list[Path] = []
    try:
        deadline = time.monotonic() + LOAD_TIMEOUT_SECONDS
        while not copies and child.poll() is None and time.monotonic() < deadline:
            copies = sorted(setup.tmp.glob("*/*.numbered.csv")) + sorted(setup.store.root.glob(".*/*.numbered.csv"))
            time.sleep(0.002)
        assert copies, "the load never wrote a numbered copy; nothing to test"
        child.send_signal(signal.SIGKILL)
        child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=30)
    next_load = subprocess.run(
        [*CLI, "--data-dir", str(setup.data_dir), "load", str(setup.extracts)],
        env=child_env(setup),
        capture_output=True,
        timeout=LOAD_TIMEOUT_SECONDS,
        check=False,
    )
    assert next_load.returncode == 0, next_load.stdout.decode(errors="replace")
    left = sorted(str(p.relative_to(setup.tmp)) for p in setup.tmp.rglob("*"))
    assert left == [], f"a killed load left these behind in its temporary folder: {left}"
    assert not any(p.exists() for p in copies), "the numbered copy of the killed load is still on disk"
    assert sorted(setup.store.root.rglob("*.numbered.csv")) == []


def test_a_second_load_is_refused_while_one_runs(setup: Setup) -> None:
    store = setup.store
    before = store.current()
    assert before is not None
    runner = CliRunner()
    env: dict[str, str | None] = {"KOES_WAREHOUSE_DIR": None}
    with store.load_lock(), wide_console():
        result = runner.invoke(cli.app, ["--data-dir", str(setup.data_dir), "load", str(setup.extracts)], env=env)
        text = " ".join(result.output.split())
        assert result.exit_code == 2, result.output
        assert "Traceback" not in result.output
        assert "another load is running" in text
        assert f"pid {os.getpid()}" in text
        assert "The load stopped; the current release is unchanged." in text
        rollback = runner.invoke(
            cli.app, ["--data-dir", str(setup.data_dir), "releases", "rollback", before.id], env=env
        )
        assert rollback.exit_code == 2, rollback.output
        assert "another load is running" in " ".join(rollback.output.split())
    after = store.current()
    assert after is not None
    assert after.id == before.id
    assert [r.id for r in store.releases()] == [before.id]
    assert staging_folders(store) == []
