"""The organisations page across the 2027 region reform (issue 20): the seeded Region Østdanmark is
there before its first day, Region Hovedstaden and Region Sjælland say when they cease and who
succeeds them, and their users move without creating anything by hand."""

from __future__ import annotations

import html
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi import FastAPI

from koes.services.users import OPERATOR, UserService
from koes.settings import Settings
from koes.web.app import create_app
from koes.web.pages.common import SESSION_COOKIE
from support import SettableClock, fast_passwords, unique_name

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

DECEMBER_2026 = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
JANUARY_2027 = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)


@dataclass
class Admin:
    app: FastAPI
    client: TestClient
    csrf: str
    clock: SettableClock

    def statuses(self) -> dict[str, tuple[str, str]]:
        """Each region row: key → (data-status, status text)."""
        page = html.unescape(self.client.get("/admin/organisations").text)
        rows = re.findall(
            r'<tr data-key="(region:\d+)" data-status="(\w+)">.*?<td class="status">([^<]*)</td>', page, re.S
        )
        return {key: (status, text) for key, status, text in rows}


@pytest.fixture
def admin(tmp_path: Path, app_db_url: str) -> Iterator[Admin]:
    app = create_app(Settings(data_dir=tmp_path, app_db_url=app_db_url))
    clock = SettableClock(DECEMBER_2026)
    with TestClient(app, raise_server_exceptions=False) as client:
        users: UserService = app.state.users
        users.passwords, users.clock = fast_passwords(), clock
        created = users.create_user(OPERATOR, f"sys-{unique_name()}", organisation="national")
        users.grant(OPERATOR, created.id, "system_admin")
        session = app.state.pages.sessions.start("signed_in", created.id, second_factor=True)
        stored = app.state.pages.sessions.find(session.token)
        assert stored is not None
        client.cookies.set(SESSION_COOKIE, session.token)
        yield Admin(app, client, stored.csrf_token, clock)


def test_before_the_new_year_the_old_regions_say_when_they_cease_and_ostdanmark_when_it_begins(admin: Admin) -> None:
    statuses = admin.statuses()
    assert statuses["region:1084"] == ("active", "Aktiv til 31-12-2026; afløses af Region Østdanmark")
    assert statuses["region:1085"] == ("active", "Aktiv til 31-12-2026; afløses af Region Østdanmark")
    assert statuses["region:1086"] == ("active", "Aktiv fra 01-01-2027")
    assert statuses["region:1081"] == ("active", "Aktiv")
    admin.clock.now = JANUARY_2027
    after = admin.statuses()
    assert after["region:1084"] == ("ceased", "Ophørt 31-12-2026; afløst af Region Østdanmark")
    assert after["region:1086"] == ("active", "Aktiv")


def test_the_old_regions_users_move_to_the_seeded_ostdanmark_without_creating_it(admin: Admin) -> None:
    users: UserService = admin.app.state.users
    mover = users.create_user(OPERATOR, f"h-{unique_name()}", organisation="region:1084")
    page = admin.client.get("/admin/organisations").text
    assert 'id="new-region"' not in page  # every declared region is an organisation already
    moved = admin.client.post(
        "/admin/organisations/move",
        data={"source": "region:1084", "target": "region:1086", "csrf": admin.csrf},
        follow_redirects=False,
    )
    assert moved.status_code == 303 and "done=moved&count=1" in moved.headers["location"]
    assert users.user_by_name(OPERATOR, mover.username).organisation == "region:1086"
