"""The password-change page (``/account/password``) on SQLite and PostgreSQL app databases.

A mutable clock stands in for time, so the lockout's minutes are exact.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from koes.services.account import AccountService
from koes.services.sessions import NewSession
from koes.services.users import OPERATOR
from koes.settings import Settings
from koes.web.app import create_app
from koes.web.i18n import LANG_COOKIE
from koes.web.pages.common import SESSION_COOKIE, Pages
from support import SettableClock, fast_passwords

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

PASSWORD = "Korrekt-hest-batteri"
NEW = "Nyt-fint-kodeord-2025"
PATH = "/account/password"


class Clock(SettableClock):
    def __init__(self) -> None:
        super().__init__(datetime(2025, 5, 1, 9, tzinfo=UTC))


@dataclass
class World:
    client: TestClient
    pages: Pages
    account: AccountService
    clock: Clock
    user_id: int

    def sign_in(self, user_id: int | None = None) -> NewSession:
        new = self.pages.sessions.start("signed_in", user_id or self.user_id, second_factor=True)
        # The domain the server's own cookies get, so that the server's next cookie replaces this one.
        self.client.cookies.set(SESSION_COOKIE, new.token, domain="testserver.local")
        return new

    def csrf(self) -> str:
        page = self.client.get(PATH)
        assert page.status_code == 200, page.text
        found = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert found is not None
        return found.group(1)

    def change(self, current: str, new: str, repeat: str | None = None) -> tuple[int, str]:
        repeated = new if repeat is None else repeat
        form = {"csrf": self.csrf(), "current_password": current, "new_password": new, "repeat_password": repeated}
        answer = self.client.post(PATH, data=form)
        return answer.status_code, answer.text

    def actions(self) -> list[tuple[str, str, str]]:
        return [(r.event.action, r.event.outcome, r.event.summary) for r in self.pages.signin.trail.records()]


@pytest.fixture
def world(app_db_url: str, tmp_path: Path) -> Iterator[World]:
    clock = Clock()
    app = create_app(Settings(data_dir=tmp_path, app_db_url=app_db_url), clock=clock)
    pages = app.state.pages
    assert isinstance(pages, Pages)
    pages.users.passwords = fast_passwords()
    anna = pages.users.create_user(OPERATOR, "anna", organisation="kommune:101", display_name="Anna", password=PASSWORD)
    pages.users.grant(OPERATOR, anna.id, "aggregeret")
    with TestClient(app, raise_server_exceptions=False) as client:
        yield World(client, pages, app.state.account, clock, anna.id)


def _problems(html: str) -> list[str]:
    alert = html.split('role="alert"', 1)[1].split("</div>", 1)[0]
    return re.findall(r"<li>([^<]+)</li>", alert)


def test_not_signed_in_goes_to_sign_in_and_a_form_needs_its_csrf_token(world: World) -> None:
    answer = world.client.get(PATH, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/login?next=%2Faccount%2Fpassword"
    world.sign_in()
    refused = world.client.post(PATH, data={"current_password": PASSWORD, "new_password": NEW, "repeat_password": NEW})
    assert refused.status_code == 403 and "Formularen er udløbet" in refused.text
    assert world.pages.signin.password("anna", PASSWORD).outcome == "ok"  # nothing changed


def test_the_start_page_links_to_the_password_page(world: World) -> None:
    world.sign_in()
    start = world.client.get("/")
    assert 'href="/account/password"' in start.text and "Skift din adgangskode" in start.text
    page = world.client.get(PATH)
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    for label in ("Nuværende adgangskode", "Ny adgangskode", "Gentag den nye adgangskode"):
        assert label in page.text
    assert 'autocomplete="new-password"' in page.text and 'autocomplete="current-password"' in page.text


def test_a_change_ends_every_other_session_and_rotates_this_one(world: World) -> None:
    elsewhere = world.pages.sessions.start("signed_in", world.user_id)
    here = world.sign_in()
    status, html = world.change(PASSWORD, NEW)
    assert status == 200 and 'id="done"' in html and "Din adgangskode er skiftet" in html
    assert world.pages.sessions.find(elsewhere.token) is None
    assert world.pages.sessions.find(here.token) is None  # the old cookie is worthless now …
    fresh = world.client.cookies.get(SESSION_COOKIE)
    assert fresh and fresh != here.token and world.pages.sessions.find(fresh) is not None  # … the new one works
    assert world.client.get("/").status_code == 200
    assert world.pages.signin.password("anna", PASSWORD).outcome == "failed"
    assert world.pages.signin.password("anna", NEW).outcome == "ok"
    changed = [a for a in world.actions() if a[0] == "password.change"]
    assert changed == [("password.change", "ok", "password changed by the user; 2 session(s) ended")]
    assert world.pages.signin.trail.verify() == []


def test_every_problem_of_the_new_password_is_shown_at_once(world: World) -> None:
    world.sign_in()
    status, html = world.change(PASSWORD, "anna", "anna2")
    assert status == 400
    assert _problems(html) == [
        "De to nye adgangskoder er ikke ens.",
        "Den nye adgangskode skal være mindst 12 tegn lang.",
        "Den nye adgangskode skal blande mindst to slags tegn: små bogstaver, store bogstaver, tal eller andre tegn.",
        "Den nye adgangskode må ikke indeholde dit brugernavn.",
    ]
    assert "anna2" not in html.split("<main", 1)[1]  # no typed password is written back
    status, html = world.change(PASSWORD, PASSWORD)
    assert status == 400 and _problems(html) == ["Den nye adgangskode skal være en anden end den nuværende."]
    status, html = world.change(PASSWORD, "Kort1")
    assert status == 400 and len(_problems(html)) == 1
    assert [a for a in world.actions() if a[0] in ("password.change", "signin.failed")] == []  # nothing counted
    assert world.pages.users.user(OPERATOR, world.user_id).locked_until is None


def test_wrong_current_passwords_count_towards_the_sign_in_lockout(world: World) -> None:
    world.sign_in()
    for attempt in range(1, 5):
        status, html = world.change("Forkert-kodeord-1", NEW)
        assert status == 401 and _problems(html) == ["Den nuværende adgangskode er forkert."], attempt
    status, html = world.change("Forkert-kodeord-1", "Kort1")  # the fifth: locked, and the new one's problem too
    assert status == 401 and "låst i 1 minut(ter)" in html
    assert _problems(html) == [
        "Den nuværende adgangskode er forkert.",
        "Den nye adgangskode skal være mindst 12 tegn lang.",
    ]
    status, html = world.change(PASSWORD, NEW)  # locked: even the right password is not checked
    assert status == 401 and "låst i 1 minut(ter)" in html and "Den nuværende" not in html
    assert world.pages.signin.password("anna", PASSWORD).outcome == "locked"  # the sign-in shares the lock
    world.clock.now += timedelta(minutes=1, seconds=1)
    status, html = world.change(PASSWORD, NEW)
    assert status == 200 and "Din adgangskode er skiftet" in html
    assert world.pages.users.user(OPERATOR, world.user_id).locked_until is None
    denied = [s for action, outcome, s in world.actions() if action == "password.change" and outcome == "denied"]
    assert denied[0] == "wrong current password; 1 failure(s) in a row"
    assert denied[4].startswith("wrong current password; 5 failure(s) in a row; locked until 2025-05-01T09:01:00")
    assert denied[5] == "account locked until 2025-05-01T09:01:00+00:00"
    assert len(denied) == 6
    everything = "\n".join(s for _a, _o, s in world.actions())
    assert "Forkert" not in everything and NEW not in everything and PASSWORD not in everything


def test_the_page_speaks_english_too(world: World) -> None:
    world.sign_in()
    world.client.cookies.set(LANG_COOKIE, "en")
    status, html = world.change("Wrong-password-12", NEW, "Another-one-2025")
    assert status == 400 and _problems(html) == ["The two new passwords are not the same."]
    assert "Change password" in html and "Current password" in html


def test_a_user_without_a_password_has_nothing_to_change(world: World) -> None:
    sso = world.pages.users.create_user(OPERATOR, "sso-bruger", organisation="kommune:101")
    world.pages.users.grant(OPERATOR, sso.id, "aggregeret")
    world.sign_in(sso.id)
    assert 'href="/account/password"' not in world.client.get("/").text
    page = world.client.get(PATH)
    assert page.status_code == 200 and 'id="no-password"' in page.text and 'name="current_password"' not in page.text
    assert world.account.change_password(sso.id, "", NEW).outcome == "no_password"


def test_a_user_whose_grants_ended_gets_the_no_access_page(world: World) -> None:
    world.sign_in()
    for grant in world.pages.users.user(OPERATOR, world.user_id).grants:
        world.pages.users.revoke(OPERATOR, grant.id)
    page = world.client.get(PATH)
    assert page.status_code == 403 and "Du har ingen rettigheder i KØS" in page.text
