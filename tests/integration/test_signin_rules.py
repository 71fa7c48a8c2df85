"""Sign-in rules on the app database (SQLite and PostgreSQL): single sign-on's local mapping, and
wrong TOTP enrolment codes counting toward the lockout (service and page).

A mutable clock stands in for time, so lockout and TOTP steps are exact.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from koes.appdb import users as store
from koes.appdb.database import AppDatabase
from koes.privacy.credentials import totp_code
from koes.refdata import RefData
from koes.services.appdb import open_app_database
from koes.services.audit import AuditTrail
from koes.services.errors import InvalidInputError
from koes.services.signin import AccountLockedError, SignInService
from koes.services.users import OPERATOR, UserService
from koes.settings import Settings
from koes.web.app import create_app
from support import SettableClock, fast_passwords

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

START = datetime(2025, 3, 3, 9, 0, 10, tzinfo=UTC)
PASSWORD = "Korrekt-hest-batteri"
KEY = b"0123456789abcdef0123456789abcdef"


class Clock(SettableClock):
    def __init__(self) -> None:
        super().__init__(START)


@dataclass
class World:
    database: AppDatabase
    trail: AuditTrail
    clock: Clock
    users: UserService
    signin: SignInService

    def user(self, name: str, org: str, *roles: str) -> int:
        created = self.users.create_user(OPERATOR, name, organisation=org, password=PASSWORD)
        for role in roles:
            self.users.grant(OPERATOR, created.id, role)
        return created.id

    def last(self) -> tuple[str, str, str]:
        event = self.trail.records()[-1].event
        return event.action, event.user, event.summary

    def failures(self, name: str) -> int:
        found = store.find_user(self.database, name)
        assert found is not None
        return found.failed_attempts


@pytest.fixture
def world(app_db_url: str, tmp_path: Path, refdata: RefData) -> Iterator[World]:
    database = open_app_database(Settings(data_dir=tmp_path, app_db_url=app_db_url), refdata)
    trail = AuditTrail(database)
    clock = Clock()
    users = UserService(trail, fast_passwords(), clock)
    yield World(database, trail, clock, users, SignInService(trail, KEY, users))
    database.dispose()


# --- single sign-on: local data decide ---------------------------------------------------------


def test_single_sign_on_maps_only_to_an_active_user_of_the_named_organisation_with_a_grant(world: World) -> None:
    anna = world.user("anna", "kommune:101", "aggregeret")
    sara = world.user("sara", "kommune:101", "individ")
    world.user("uden", "kommune:101")
    sso = world.signin.single_sign_on
    assert (sso("anna", "kommune:101", False).outcome, sso("anna", "kommune:101", False).user_id) == ("ok", anna)
    assert world.last() == (
        "signin.ok",
        "anna",
        "signed in with single sign-on (OpenID Connect, without multi-factor authentication at the broker)",
    )
    assert sso("ukendt", "kommune:101", True).outcome == "unknown"
    assert world.last() == ("signin.failed", "(unknown)", "single sign-on as 'ukendt': the user is unknown here")
    assert sso("Anna Hansen 0101901234", "kommune:101", True).outcome == "unknown"  # not a user name at all
    assert "0101901234" not in world.last()[2]  # a CPR-shaped number never reaches the audit trail
    assert sso("anna", "kommune:751", True).outcome == "organisation"
    assert sso("anna", None, True).outcome == "organisation"
    assert sso("uden", "kommune:101", True).outcome == "no_grant"
    assert sso("sara", "kommune:101", False).outcome == "needs_mfa"  # individ needs TOTP: the broker's MFA
    assert sso("sara", "kommune:101", True).outcome == "ok"
    assert world.users.principal_for(sara).roles == {"individ"}
    world.clock.advance(days=400)  # every grant has expired
    assert sso("anna", "kommune:101", True).outcome == "no_grant"
    world.users.deactivate(OPERATOR, anna)
    assert sso("anna", "kommune:101", True).outcome == "unknown"
    assert world.last()[2] == "single sign-on as 'anna': the user is deactivated here"
    assert world.trail.verify() == []


def test_single_sign_on_neither_counts_toward_nor_resets_the_password_lockout(world: World) -> None:
    world.user("anna", "kommune:101", "aggregeret")
    for _ in range(3):
        world.signin.password("anna", "forkert")
    for _ in range(6):  # refusals of a broker's sign-in are not password guesses
        assert world.signin.single_sign_on("anna", "kommune:751", True).outcome == "organisation"
    assert world.failures("anna") == 3
    assert world.signin.single_sign_on("anna", "kommune:101", True).outcome == "ok"
    assert world.failures("anna") == 3  # a broker's sign-in proves nothing against a password guesser
    world.signin.password("anna", "forkert")
    assert world.signin.password("anna", "forkert").locked_until == START + timedelta(minutes=1)
    assert world.signin.password("anna", PASSWORD).outcome == "locked"
    assert world.signin.single_sign_on("anna", "kommune:101", True).outcome == "ok"  # the broker's own checks hold


def test_a_failed_protocol_step_is_audited_without_a_user(world: World) -> None:
    world.signin.single_sign_on_failed("the state does not match this browser's sign-in")
    assert world.last() == (
        "signin.failed",
        "(unknown)",
        "single sign-on refused: the state does not match this browser's sign-in",
    )
    assert world.trail.records()[-1].event.outcome == "denied"


# --- TOTP enrolment: wrong codes count toward the lockout ---------------------------------------


def _wrong(secret: str, at: datetime) -> str:
    right = {totp_code(secret, at, offset) for offset in (-1, 0, 1)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in right)


def test_wrong_enrolment_codes_lock_the_account_like_wrong_second_factors(world: World) -> None:
    sara = world.user("sara", "kommune:101", "individ")
    assert world.signin.password("sara", PASSWORD).outcome == "enrol_totp"
    secret = world.signin.enrol_totp(sara).secret
    for attempt in range(1, 5):
        with pytest.raises(InvalidInputError):
            world.signin.confirm_totp(sara, _wrong(secret, world.clock.now))
        assert world.failures("sara") == attempt
    assert world.last()[2] == "wrong TOTP enrolment code; 4 failure(s) in a row"
    with pytest.raises(AccountLockedError) as caught:
        world.signin.confirm_totp(sara, _wrong(secret, world.clock.now))
    assert caught.value.until == START + timedelta(minutes=1)
    with pytest.raises(AccountLockedError):  # while locked, even the right code is not checked
        world.signin.confirm_totp(sara, totp_code(secret, world.clock.now))
    assert world.last()[2] == f"account locked until {(START + timedelta(minutes=1)).isoformat()}"
    assert world.signin.password("sara", PASSWORD).outcome == "locked"
    world.clock.advance(minutes=1)
    with pytest.raises(AccountLockedError) as caught:  # the sixth failure: locked for 2 minutes (backoff)
        world.signin.confirm_totp(sara, _wrong(secret, world.clock.now))
    assert caught.value.until == world.clock.now + timedelta(minutes=2)
    world.clock.advance(minutes=2)
    assert world.signin.password("sara", PASSWORD).outcome == "enrol_totp"
    assert len(world.signin.confirm_totp(sara, totp_code(secret, world.clock.now))) == 10
    assert world.failures("sara") == 0  # a completed sign-in resets the count


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def test_the_enrolment_page_starts_the_sign_in_over_once_locked(tmp_path: Path) -> None:
    clock = Clock()
    app = create_app(Settings(data_dir=tmp_path), clock=clock)
    with TestClient(app, raise_server_exceptions=False) as client:
        users: UserService = app.state.users
        sara = users.create_user(OPERATOR, "sara", organisation="kommune:101", password=PASSWORD)
        users.grant(OPERATOR, sara.id, "individ")
        login = client.get("/login")
        answer = client.post("/login", data={"csrf": _csrf(login.text), "username": "sara", "password": PASSWORD})
        assert answer.url.path == "/totp/enrol"
        for attempt in range(5):
            secret = re.search(r'id="totp-secret"[^>]*>([A-Z2-7]+)<', answer.text)
            assert secret is not None  # each wrong code shows a new key: the wrong code is picked for it
            wrong = _wrong(secret.group(1), clock.now)
            answer = client.post("/totp/enrol", data={"csrf": _csrf(answer.text), "code": wrong, "next": "/"})
            if attempt < 4:
                assert answer.status_code == 400 and "Koden passede ikke" in answer.text
        assert answer.status_code == 401 and "kontoen er låst i 1 minut" in answer.text
        assert 'action="/login"' in answer.text  # back to the password: the enrolment session has ended
        assert client.get("/totp/enrol", follow_redirects=False).headers["location"] == "/login"
        events = [r.event for r in app.state.audit.records() if r.event.action == "signin.failed"]
        assert [e.summary.split(";")[0] for e in events] == ["wrong TOTP enrolment code"] * 5
