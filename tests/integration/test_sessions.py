"""Ended web sessions are deleted (revoked, idle, too old), live ones and the audit trail are not;
by the service, by the app's sweeper and by ``koes sessions purge``. SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from koes.appdb import sessions as store
from koes.appdb.database import AppDatabase
from koes.refdata import RefData
from koes.services.appdb import open_app_database
from koes.services.audit import AuditTrail
from koes.services.sessions import SessionService, start_session_sweeper
from koes.services.users import OPERATOR, UserService
from koes.settings import Settings
from koes.web.app import create_app
from koes.web.pages.common import Pages
from support import SettableClock, fast_passwords, koes

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

START = datetime(2025, 5, 1, 9, tzinfo=UTC)


class Clock(SettableClock):
    def __init__(self) -> None:
        super().__init__(START)


@dataclass
class World:
    database: AppDatabase
    trail: AuditTrail
    sessions: SessionService
    clock: Clock
    user_id: int


@pytest.fixture
def world(app_db_url: str, tmp_path: Path, refdata: RefData) -> Iterator[World]:
    settings = Settings(data_dir=tmp_path, app_db_url=app_db_url, session_idle_minutes=30, session_absolute_hours=12)
    database = open_app_database(settings, refdata)
    trail = AuditTrail(database)
    clock = Clock()
    users = UserService(trail, fast_passwords(), clock)
    anna = users.create_user(OPERATOR, "anna", organisation="kommune:101", password="Korrekt-hest-batteri")
    yield World(database, trail, SessionService(trail, settings, clock), clock, anna.id)
    database.dispose()


def _rows(database: AppDatabase) -> set[str]:
    with database.engine.connect() as connection:
        return set(connection.execute(text("SELECT id FROM sessions")).scalars())


def test_purge_deletes_ended_sessions_only_and_never_the_audit_trail(world: World) -> None:
    sessions, clock = world.sessions, world.clock
    too_old = sessions.start("signed_in", world.user_id)  # made at 09:00, in use until the end
    clock.now = START + timedelta(hours=12, minutes=1)
    store.touch_session(world.database, too_old.session.token_hash, clock.now)  # busy, but past 12 hours
    now = clock.now
    clock.now = now - timedelta(minutes=31)
    idle = sessions.start()
    clock.now = now - timedelta(minutes=5)
    live = sessions.start("signed_in", world.user_id)
    anonymous = sessions.start()
    revoked = sessions.start("signed_in", world.user_id)
    sessions.end(revoked.session.token_hash)
    rotated = sessions.start("password_ok", world.user_id)
    rotation = sessions.start("signed_in", world.user_id, replaces=rotated.session.token_hash)
    clock.now = now
    trail_before = [(r.id, r.record_hash) for r in world.trail.records()]

    assert sessions.purge() == 4
    kept = {live.session.token_hash, anonymous.session.token_hash, rotation.session.token_hash}
    assert _rows(world.database) == kept
    assert all(sessions.find(s.token) is not None for s in (live, anonymous, rotation))
    assert sessions.find(too_old.token) is None and sessions.find(idle.token) is None
    assert sessions.purge() == 0
    assert [(r.id, r.record_hash) for r in world.trail.records()] == trail_before
    assert world.trail.verify() == []


def test_the_sweeper_purges_at_once_then_again_and_survives_a_failure(world: World) -> None:
    class Flaky(SessionService):
        calls = 0

        def purge(self) -> int:
            self.calls += 1
            if self.calls == 1:
                raise RuntimeError("the database is away")
            return super().purge()

    flaky = Flaky(world.trail, Settings(), world.clock)
    ended = world.sessions.start()
    world.sessions.end(ended.session.token_hash)
    stop = threading.Event()
    thread = start_session_sweeper(flaky, stop, every=timedelta(milliseconds=20))
    try:
        _wait_for(lambda: not _rows(world.database))
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive() and flaky.calls >= 2


def test_the_app_sweeps_ended_sessions_at_start_up(app_db_url: str, tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path, app_db_url=app_db_url))
    pages = app.state.pages
    assert isinstance(pages, Pages)
    ended = pages.sessions.start()
    pages.sessions.end(ended.session.token_hash)
    live = pages.sessions.start()
    database = pages.signin.trail.database
    assert len(_rows(database)) == 2
    with TestClient(app):
        _wait_for(lambda: _rows(database) == {live.session.token_hash})


def test_cli_sessions_purge(tmp_path: Path, app_db_url: str) -> None:
    settings = Settings(data_dir=tmp_path, app_db_url=app_db_url)
    database = open_app_database(settings)
    try:
        sessions = SessionService(AuditTrail(database), settings)
        for _ in range(3):
            sessions.end(sessions.start().session.token_hash)
        live = sessions.start()
    finally:
        database.dispose()
    purged = koes(tmp_path, "sessions", "purge", env={"KOES_APP_DB_URL": app_db_url})
    assert purged.exit_code == 0, purged.output
    assert "3 ended session(s) deleted" in purged.text
    database = open_app_database(settings)
    try:
        assert _rows(database) == {live.session.token_hash}
    finally:
        database.dispose()


def _wait_for(condition: Callable[[], bool], seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the sweeper did not purge in time"
        time.sleep(0.02)
