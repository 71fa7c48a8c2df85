"""Users, grants, sign-in, TOTP, recovery codes and tokens on the app database (SQLite and PostgreSQL).

A mutable clock (``Clock``) stands in for time, so expiry, lockout and TOTP steps are exact.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from koes.appdb import users as store
from koes.appdb.database import AppDatabase
from koes.privacy.access import Organisation, Principal, TokenLimits
from koes.privacy.credentials import totp_code
from koes.refdata import RefData
from koes.services.appdb import open_app_database
from koes.services.audit import AuditTrail
from koes.services.errors import ConflictError, ForbiddenError, InvalidInputError, NotFoundError
from koes.services.sessions import SessionService
from koes.services.signin import SignInService
from koes.services.tokens import TokenService
from koes.services.user_rules import add_months
from koes.services.users import OPERATOR, UserService
from koes.settings import Settings
from support import SettableClock, fast_passwords, koes

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
    tokens: TokenService
    signin: SignInService

    def user(self, name: str, org: str, *roles: str, password: str | None = PASSWORD) -> Principal:
        created = self.users.create_user(OPERATOR, name, organisation=org, password=password)
        for role in roles:
            self.users.grant(OPERATOR, created.id, role)
        return self.users.principal_for(created.id)


@pytest.fixture
def world(app_db_url: str, tmp_path: Path, refdata: RefData) -> Iterator[World]:
    database = open_app_database(Settings(data_dir=tmp_path, app_db_url=app_db_url), refdata)
    trail = AuditTrail(database)
    clock = Clock()
    users = UserService(trail, fast_passwords(), clock)
    yield World(database, trail, clock, users, TokenService(trail, users), SignInService(trail, KEY, users))
    database.dispose()


def _actions(world: World) -> list[tuple[str, str, str]]:
    return [(r.event.action, r.event.user, r.event.outcome) for r in world.trail.records()]


def _refusals(world: World, since: int = 0) -> list[tuple[str, str, str]]:
    """The ``denied`` records from record ``since`` on: (action, user, summary)."""
    events = [r.event for r in world.trail.records()[since:]]
    return [(e.action, e.user, e.summary) for e in events if e.outcome == "denied"]


HIDDEN = "refused, not found (no such id, or not one the caller may reach)"


# --- users and the password policy -----------------------------------------------------------


def test_create_user_checks_every_rule_at_once_and_audits(world: World) -> None:
    with pytest.raises(InvalidInputError) as caught:
        world.users.create_user(OPERATOR, "Anna Hansen", organisation="kommune:101", password="anna")
    fields = [p.field for p in caught.value.problems]
    assert fields == ["username", "password", "password"]
    with pytest.raises(InvalidInputError) as caught:
        world.users.create_user(OPERATOR, "anna", organisation="kommune:101", password="anna-2025-kode")
    assert [p.message for p in caught.value.problems] == ["must not contain the user name"]
    anna = world.users.create_user(OPERATOR, "anna", organisation="kommune:101", display_name="Anna", password=PASSWORD)
    assert (anna.username, anna.organisation, anna.active, anna.roles) == ("anna", "kommune:101", True, frozenset())
    with pytest.raises(ConflictError):
        world.users.create_user(OPERATOR, "anna", organisation="kommune:751", password=PASSWORD)
    with pytest.raises(NotFoundError):
        world.users.create_user(OPERATOR, "bo", organisation="kommune:9999", password=PASSWORD)
    with pytest.raises(InvalidInputError):
        world.users.create_user(OPERATOR, "bo", organisation="kommune", password=PASSWORD)
    assert _actions(world) == [("user.create", "cli", "ok")]
    record = world.trail.records()[0].event
    assert record.summary == "user anna (#1) created in kommune:101"
    assert world.trail.verify() == []


def test_passwords_are_stored_as_argon2id(world: World) -> None:
    world.user("anna", "kommune:101")
    with world.database.engine.connect() as connection:
        stored = connection.execute(text("SELECT password_hash FROM users")).scalar_one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


# --- grants ----------------------------------------------------------------------------------


def test_grant_expiry_default_maximum_and_immediate_effect(world: World) -> None:
    anna = world.user("anna", "kommune:101")
    assert anna.roles == frozenset()  # default deny
    grant = world.users.grant(OPERATOR, anna.user_id or 0, "aggregeret")
    assert grant.expires_at == add_months(START, 12) == datetime(2026, 3, 3, 9, 0, 10, tzinfo=UTC)
    last_day = (START + timedelta(days=730)).date()
    assert world.users.grant(OPERATOR, anna.user_id or 0, "individ", last_day).expires_at == datetime.combine(
        last_day + timedelta(days=1), datetime.min.time(), UTC
    )
    for bad in (START.date() - timedelta(days=1), date(2027, 3, 5), START.date() + timedelta(days=800)):
        with pytest.raises(InvalidInputError) as caught:
            world.users.grant(OPERATOR, anna.user_id or 0, "individ", bad)
        assert caught.value.problems[0].field == "expires"
    with pytest.raises(InvalidInputError):
        world.users.grant(OPERATOR, anna.user_id or 0, "superbruger")
    assert world.users.principal_for(anna.user_id or 0).roles == {"aggregeret", "individ"}
    world.clock.now = grant.expires_at - timedelta(microseconds=1)
    assert "aggregeret" in world.users.principal_for(anna.user_id or 0).roles
    world.clock.now = grant.expires_at  # the moment it expires, it stops working
    assert world.users.principal_for(anna.user_id or 0).roles == {"individ"}
    assert world.users.principal_for(anna.user_id or 0, second_factor=False).roles == frozenset()


def test_a_local_admin_grants_only_roles_it_holds_in_its_own_organisation(world: World) -> None:
    admin = world.user("kbh-admin", "kommune:101", "lokal_admin", "aggregeret")
    bo = world.user("bo", "kommune:101")
    aarhus = world.user("aarhus-bo", "kommune:751")
    assert world.users.grant(admin, bo.user_id or 0, "aggregeret").valid
    for role in ("individ", "lokal_admin", "system_admin"):
        with pytest.raises(ForbiddenError):
            world.users.grant(admin, bo.user_id or 0, role)
    with pytest.raises(NotFoundError):  # another organisation's user: not found, not forbidden
        world.users.grant(admin, aarhus.user_id or 0, "aggregeret")
    with pytest.raises(ForbiddenError, match="themselves"):
        world.users.grant(admin, admin.user_id or 0, "aggregeret")
    with pytest.raises(NotFoundError):
        world.users.create_user(admin, "ny", organisation="kommune:751", password=PASSWORD)
    created = world.users.create_user(admin, "ny", password=PASSWORD)  # default: the admin's own organisation
    assert created.organisation == "kommune:101"
    assert {u.username for u in world.users.users(admin)} == {"kbh-admin", "bo", "ny"}
    with pytest.raises(NotFoundError):
        world.users.users(admin, "kommune:751")
    with pytest.raises(NotFoundError):
        world.users.user(admin, aarhus.user_id or 0)
    # An expired lokal_admin grant: the administrator can do nothing at once.
    world.clock.advance(days=400)
    expired = world.users.principal_for(admin.user_id or 0)
    assert expired.roles == frozenset()
    with pytest.raises(ForbiddenError):
        world.users.users(expired)
    granted = [(a, u) for a, u, o in _actions(world) if a == "grant.add" and o == "ok"]
    assert granted == [("grant.add", "cli")] * 2 + [("grant.add", "kbh-admin")]
    # Every refusal is on record (issue 17.3): the grant rules, the reach, the permission.
    b, a, k = bo.user_id, aarhus.user_id, admin.user_id
    assert _refusals(world) == [
        ("grant.add", "kbh-admin", f"grant individ to user #{b}: refused, your roles do not let you grant individ"),
        (
            "grant.add",
            "kbh-admin",
            f"grant lokal_admin to user #{b}: refused, your roles do not let you grant lokal_admin",
        ),
        (
            "grant.add",
            "kbh-admin",
            f"grant system_admin to user #{b}: refused, your roles do not let you grant system_admin",
        ),
        ("grant.add", "kbh-admin", f"grant aggregeret to user #{a}: {HIDDEN}"),
        ("grant.add", "kbh-admin", f"grant aggregeret to user #{k}: refused, nobody grants themselves a role"),
        ("user.create", "kbh-admin", f"create user ny (organisation kommune:751): {HIDDEN}"),
        ("access.denied", "kbh-admin", f"list the users (organisation kommune:751): {HIDDEN}"),
        ("access.denied", "kbh-admin", f"read user #{a}: {HIDDEN}"),
        (
            "access.denied",
            "kbh-admin",
            "list the users (organisation all): refused, your roles do not include manage users",
        ),
    ]


def test_a_system_admin_reaches_every_organisation_and_role(world: World) -> None:
    root = world.user("root", "national", "system_admin")
    bo = world.user("aarhus-bo", "kommune:751")
    assert world.users.grant(root, bo.user_id or 0, "lokal_admin").role == "lokal_admin"
    assert {u.organisation for u in world.users.users(root)} == {"national", "kommune:751"}
    assert [u.username for u in world.users.users(root, "kommune:751")] == ["aarhus-bo"]


def test_revoke_deactivate_and_recertification(world: World) -> None:
    admin = world.user("kbh-admin", "kommune:101", "lokal_admin", "aggregeret", "individ")
    bo = world.user("bo", "kommune:101")
    soon = world.users.grant(admin, bo.user_id or 0, "aggregeret", START.date() + timedelta(days=10))
    later = world.users.grant(admin, bo.user_id or 0, "individ", START.date() + timedelta(days=100))
    expiring = world.users.recertification(admin, 30)
    assert [g.id for g in expiring] == [soon.id]
    assert [g.id for g in world.users.recertification(admin, 120)][:2] == [soon.id, later.id]
    revoked = world.users.revoke(admin, later.id)
    assert revoked.revoked_by == "kbh-admin" and not revoked.valid
    assert world.users.principal_for(bo.user_id or 0).roles == {"aggregeret"}
    assert world.users.revoke(admin, later.id).revoked_at == revoked.revoked_at  # again: nothing changes
    sessions = SessionService(world.trail, Settings(), world.clock)
    page = sessions.start("signed_in", bo.user_id or 0)
    done = world.users.deactivate(admin, bo.user_id or 0)
    assert not done.active and done.roles == frozenset()
    assert sessions.find(page.token) is None  # signed-in pages stop at once
    assert world.users.principal_for(bo.user_id or 0).roles == frozenset()
    assert world.users.recertification(admin, 30) == []  # an inactive user's grants need no renewal
    with pytest.raises(ForbiddenError):
        world.users.deactivate(admin, admin.user_id or 0)
    with pytest.raises(ConflictError):  # a conflict is no refusal: nothing to record
        world.users.grant(admin, bo.user_id or 0, "aggregeret")
    assert _actions(world)[-3:] == [
        ("grant.revoke", "kbh-admin", "ok"),
        ("user.deactivate", "kbh-admin", "ok"),
        ("user.deactivate", "kbh-admin", "denied"),  # the refused self-deactivation (issue 17.4)
    ]
    assert world.trail.records()[-1].event.summary == (
        f"deactivate user #{admin.user_id}: refused, you cannot deactivate yourself"
    )
    assert world.trail.verify() == []


# --- rename and reactivate -------------------------------------------------------------------


def test_rename_shows_every_problem_at_once_and_audits_without_the_names(world: World) -> None:
    admin = world.user("kbh-admin", "kommune:101", "lokal_admin")
    analyst = world.user("ida", "kommune:101", "aggregeret")
    bo = world.users.create_user(OPERATOR, "bo", organisation="kommune:101", display_name="Bo", password=PASSWORD)
    aarhus = world.user("aarhus-bo", "kommune:751")
    before = len(world.trail.records())
    with pytest.raises(InvalidInputError) as caught:
        world.users.rename(admin, bo.id, "Bo " + "x" * 200 + " 0101901234")
    assert [(p.field, p.code) for p in caught.value.problems] == [
        ("display_name", "user_display_name_long"),
        ("display_name", "user_display_name_cpr"),
    ]
    for bad, code in (
        ("Bo 010190-1234", "user_display_name_cpr"),
        ("Bo\x00", "user_display_name_long"),
        ("Bo\ud800", "user_display_name_long"),  # a lone surrogate (JSON "\\ud800"): no database stores it
    ):
        with pytest.raises(InvalidInputError) as caught:
            world.users.rename(admin, bo.id, bad)
        assert [p.code for p in caught.value.problems] == [code]
    with pytest.raises(NotFoundError):  # another organisation's user: not found, not forbidden
        world.users.rename(admin, aarhus.user_id or 0, "Bo Aarhus")
    with pytest.raises(ForbiddenError):  # no manage_users
        world.users.rename(analyst, bo.id, "Bo Hansen")
    assert world.users.user(OPERATOR, bo.id).display_name == "Bo"
    assert _refusals(world, before) == [  # a refusal changes nothing, and is recorded
        ("user.rename", "kbh-admin", f"rename user #{aarhus.user_id}: {HIDDEN}"),
        ("user.rename", "ida", f"rename user #{bo.id}: refused, your roles do not include manage users"),
    ]
    before = len(world.trail.records())

    renamed = world.users.rename(admin, bo.id, "  Bo Hansen  ")
    assert renamed.display_name == "Bo Hansen" == world.users.user(OPERATOR, bo.id).display_name
    assert world.users.rename(admin, bo.id, "Bo Hansen").display_name == "Bo Hansen"  # the same: no change
    assert world.users.rename(admin, admin.user_id or 0, "Min egen").display_name == "Min egen"  # allowed
    records = [r.event for r in world.trail.records()[before:]]
    assert [(e.action, e.user, e.organisation) for e in records] == [
        ("user.rename", "kbh-admin", "kommune:101"),
        ("user.rename", "kbh-admin", "kommune:101"),
    ]
    assert records[0].summary == f"display name of bo (#{bo.id}, kommune:101) changed"
    assert not any("Bo Hansen" in e.summary or "Min egen" in e.summary for e in records)
    assert world.trail.verify() == []


def test_reactivate_reaches_what_deactivate_reaches(world: World) -> None:
    admin = world.user("kbh-admin", "kommune:101", "lokal_admin")
    bo = world.user("bo", "kommune:101", "aggregeret")
    aarhus = world.user("aarhus-bo", "kommune:751", "aggregeret")
    root_here = world.user("root-kbh", "kommune:101", "system_admin")
    system = world.user("sys", "national", "system_admin")
    for deactivated in (bo, aarhus, root_here):
        world.users.deactivate(OPERATOR, deactivated.user_id or 0)
    before = len(world.trail.records())
    for actor, target, error, code in [
        (admin, aarhus.user_id, NotFoundError, ""),  # another organisation: as if it did not exist
        (admin, 10**9, NotFoundError, ""),
        (admin, admin.user_id, ForbiddenError, "reactivate_self"),
        (admin, root_here.user_id, ForbiddenError, "reactivate_system_admin"),  # deactivated, still one
        (system, system.user_id, ForbiddenError, "reactivate_self"),
    ]:
        with pytest.raises(error) as caught:
            world.users.reactivate(actor, target or 0)
        assert getattr(caught.value, "code", "") == code
    assert [(a, u) for a, u, _s in _refusals(world, before)] == [  # a refusal changes nothing, and is recorded
        ("user.reactivate", "kbh-admin"),
        ("user.reactivate", "kbh-admin"),
        ("user.reactivate", "kbh-admin"),
        ("user.reactivate", "kbh-admin"),
        ("user.reactivate", "sys"),
    ]
    before = len(world.trail.records())
    assert not world.users.user(OPERATOR, root_here.user_id or 0).active
    assert world.users.reactivate(admin, bo.user_id or 0).active
    assert world.users.reactivate(system, root_here.user_id or 0).active
    assert world.users.reactivate(OPERATOR, aarhus.user_id or 0).active
    assert world.users.reactivate(OPERATOR, aarhus.user_id or 0).active  # active already: a no-op
    assert [(a, u) for a, u, _o in _actions(world)[before:]] == [
        ("user.reactivate", "kbh-admin"),
        ("user.reactivate", "sys"),
        ("user.reactivate", "cli"),
    ]


def test_a_reactivated_user_has_no_valid_grant_until_granted_again(world: World) -> None:
    admin = world.user("kbh-admin", "kommune:101", "lokal_admin", "aggregeret", "individ")
    bo = world.user("bo", "kommune:101")
    uid = bo.user_id or 0
    running = world.users.grant(admin, uid, "aggregeret")
    short = world.users.grant(admin, uid, "individ", START.date() + timedelta(days=10))
    revoked = world.users.revoke(admin, world.users.grant(admin, uid, "aggregeret").id)
    token = world.tokens.create_for(OPERATOR, uid, "laptop", days=90).secret  # individ: no token of its own making
    world.users.deactivate(admin, uid)
    world.clock.advance(days=30)  # the short grant expires while the user is deactivated
    assert world.signin.password("bo", PASSWORD).outcome == "failed"
    assert world.tokens.authenticate(token) is None

    back = world.users.reactivate(admin, uid)
    assert back.active and back.roles == frozenset()
    grants = {g.id: g for g in back.grants}
    assert (grants[running.id].revoked_at, grants[running.id].revoked_by) == (world.clock.now, "kbh-admin")
    assert grants[short.id].revoked_at is None and grants[short.id].expires_at < world.clock.now  # expired stays so
    assert (grants[revoked.id].revoked_at, grants[revoked.id].revoked_by) == (START, "kbh-admin")  # untouched
    assert not any(g.valid for g in back.grants)
    record = world.trail.records()[-1].event
    assert (record.action, record.user, record.organisation) == ("user.reactivate", "kbh-admin", "kommune:101")
    assert record.summary == (
        f"user bo (#{uid}, kommune:101) reactivated; grant(s) #{running.id} aggregeret revoked, "
        "no valid grant until a new one"
    )
    # It can sign in with its password again, but without a grant it has no rights (the web refuses it).
    assert world.signin.password("bo", PASSWORD).outcome == "ok"
    assert world.users.principal_for(uid).roles == frozenset()
    authenticated = world.tokens.authenticate(token)
    assert authenticated is not None and authenticated.roles == frozenset()
    assert [g for g in world.users.recertification(admin, 400) if g.user_id == uid] == []
    world.users.grant(admin, uid, "aggregeret")
    assert world.users.principal_for(uid).roles == {"aggregeret"}
    assert [g.role for g in world.users.recertification(admin, 400) if g.user_id == uid] == ["aggregeret"]
    assert world.users.reactivate(admin, uid).roles == {"aggregeret"}  # active already: nothing revoked
    assert [a for a, _u, _o in _actions(world)].count("user.reactivate") == 1
    assert world.trail.verify() == []


def test_the_store_leaves_an_active_user_alone(world: World) -> None:
    """Checked under the lock: a reactivation that lost a race revokes nothing and records nothing."""
    bo = world.user("bo", "kommune:101", "aggregeret")
    before = len(world.trail.records())
    done = store.reactivate_user(world.database, bo.user_id or 0, at=world.clock.now, by="cli", event=lambda r: None)
    assert not done.changed and done.revoked == () and done.user.active
    assert world.users.principal_for(bo.user_id or 0).roles == {"aggregeret"}
    assert len(world.trail.records()) == before


# --- sign-in: lockout, TOTP, recovery codes --------------------------------------------------


def test_lockout_with_backoff(world: World) -> None:
    world.user("anna", "kommune:101", "aggregeret")
    for _ in range(4):
        assert world.signin.password("anna", "forkert").outcome == "failed"
    fifth = world.signin.password("anna", "forkert")
    assert (fifth.outcome, fifth.locked_until) == ("failed", START + timedelta(minutes=1))
    locked = world.signin.password("anna", PASSWORD)  # even the right password, while locked
    assert locked.outcome == "locked"
    world.clock.advance(minutes=1)
    assert world.signin.password("anna", "forkert").locked_until == world.clock.now + timedelta(minutes=2)
    world.clock.advance(minutes=2)
    assert world.signin.password("anna", "forkert").locked_until == world.clock.now + timedelta(minutes=4)
    world.clock.advance(minutes=4)
    assert world.signin.password("anna", PASSWORD).outcome == "ok"
    assert world.signin.password("anna", "forkert").locked_until is None  # the count started again
    records = [r.event for r in world.trail.records() if r.event.action.startswith("signin")]
    assert [r.outcome for r in records].count("denied") == 9
    assert "account locked until" in records[5].summary
    assert records[-2].action == "signin.ok"
    assert all("forkert" not in r.summary and PASSWORD not in r.summary for r in records)


def test_unknown_and_inactive_users_fail_the_same_way(world: World) -> None:
    bo = world.user("bo", "kommune:101", "aggregeret")
    assert world.signin.password("ingen-saadan", PASSWORD).outcome == "failed"
    assert world.signin.password("Min Adgangskode 0101901234", PASSWORD).outcome == "failed"
    world.users.deactivate(OPERATOR, bo.user_id or 0)
    assert world.signin.password("bo", PASSWORD).outcome == "failed"
    events = [r.event for r in world.trail.records() if r.event.action == "signin.failed"]
    assert [(e.user, e.summary) for e in events] == [
        ("(unknown)", "sign-in with an unknown user name"),
        ("(unknown)", "sign-in with an unknown user name"),
        ("bo", "account deactivated"),
    ]


def test_totp_enrolment_window_replay_and_recovery_codes(world: World) -> None:
    sara = world.user("sara", "kommune:101", "individ")
    uid = sara.user_id or 0
    assert world.signin.password("sara", PASSWORD).outcome == "enrol_totp"  # individ needs TOTP
    enrolment = world.signin.enrol_totp(uid)
    assert enrolment.uri.startswith("otpauth://totp/") and enrolment.qr_svg.startswith("<svg")
    with pytest.raises(InvalidInputError):
        world.signin.confirm_totp(uid, "000000" if totp_code(enrolment.secret, START) != "000000" else "111111")
    codes = world.signin.confirm_totp(uid, totp_code(enrolment.secret, START))
    assert len(codes) == 10 and world.signin.recovery_codes_left(uid) == 10
    assert [a for a, _, _ in _actions(world)][-1] == "signin.ok"  # the enrolment completed a sign-in
    with pytest.raises(ConflictError):
        world.signin.enrol_totp(uid)  # a password alone cannot replace a confirmed second factor
    with world.database.engine.connect() as connection:
        sealed = connection.execute(text("SELECT totp_secret FROM users WHERE id = :i"), {"i": uid}).scalar_one()
    assert enrolment.secret not in sealed

    world.clock.advance(seconds=30)
    assert world.signin.password("sara", PASSWORD).outcome == "second_factor"
    code = totp_code(enrolment.secret, world.clock.now)
    assert world.signin.second_factor(uid, code).outcome == "ok"
    assert world.signin.second_factor(uid, code).outcome == "failed"  # the same code again: refused
    world.clock.advance(seconds=30)
    previous = totp_code(enrolment.secret, world.clock.now, -1)  # the step already used: refused
    assert world.signin.second_factor(uid, previous).outcome == "failed"
    ahead = totp_code(enrolment.secret, world.clock.now, 1)  # one step ahead (a fast phone): accepted
    assert world.signin.second_factor(uid, ahead).outcome == "ok"
    world.clock.advance(seconds=90)
    stale = totp_code(enrolment.secret, world.clock.now, -2)
    assert world.signin.second_factor(uid, stale).outcome == "failed"

    assert world.signin.second_factor(uid, codes[0].upper()).outcome == "ok"
    assert world.signin.second_factor(uid, codes[0]).outcome == "failed"  # single use
    assert world.signin.recovery_codes_left(uid) == 9
    fresh = world.signin.new_recovery_codes(uid)
    assert world.signin.second_factor(uid, codes[1]).outcome == "failed"  # old codes stop working
    assert world.signin.second_factor(uid, fresh[0]).outcome == "ok"
    with world.database.engine.connect() as connection:
        hashes = connection.execute(text("SELECT code_hash FROM recovery_codes")).scalars().all()
    assert not {c.replace("-", "") for c in codes + fresh} & {h.replace("-", "") for h in hashes}
    actions = [a for a, _, _ in _actions(world)]
    assert {"totp.enrol", "totp.confirm", "recovery.create", "signin.ok", "signin.failed"} <= set(actions)


def test_wrong_second_factors_count_towards_the_lockout(world: World) -> None:
    sara = world.user("sara", "kommune:101", "individ")
    enrolment = world.signin.enrol_totp(sara.user_id or 0)
    world.signin.confirm_totp(sara.user_id or 0, totp_code(enrolment.secret, START))
    world.clock.advance(seconds=60)
    for _ in range(5):
        world.signin.second_factor(sara.user_id or 0, "999999")
    good = totp_code(enrolment.secret, world.clock.now)
    assert world.signin.second_factor(sara.user_id or 0, good).outcome == "locked"


# --- tokens ----------------------------------------------------------------------------------


def test_tokens_are_stored_hashed_and_follow_the_user(world: World) -> None:
    anna = world.user("anna", "kommune:101")
    world.users.grant(OPERATOR, anna.user_id or 0, "aggregeret", START.date() + timedelta(days=10))
    anna = world.users.principal_for(anna.user_id or 0)
    created = world.tokens.create(anna, "laptop")
    limits = TokenLimits(created.info.id, frozenset({"analyses", "exports"}), START + timedelta(days=30))
    assert world.tokens.authenticate(created.secret) == replace(anna, token=limits)
    dump = _dump(world.database)
    assert created.secret not in dump and created.secret[13:] not in dump
    assert hashlib.sha256(created.secret.encode()).hexdigest() in dump
    assert world.tokens.authenticate(created.secret[:-1] + ("A" if created.secret[-1] != "A" else "B")) is None
    assert world.tokens.authenticate("Bearer " + created.secret) is None
    # Rights at the time of use: an expired grant is gone at once, a deactivated user has no principal.
    world.clock.advance(days=12)
    assert world.tokens.authenticate(created.secret) == Principal(
        "anna", Organisation("kommune", 101), frozenset(), anna.user_id, limits
    )
    world.users.deactivate(OPERATOR, anna.user_id or 0)
    assert world.tokens.authenticate(created.secret) is None
    world.users.reactivate(OPERATOR, anna.user_id or 0)
    assert world.tokens.authenticate(created.secret) is not None
    world.clock.advance(days=18)  # 30 days after it was made: the token has expired
    assert world.tokens.authenticate(created.secret) is None
    assert world.tokens.list(anna)[0].last_used_at is not None


def test_tokens_are_revoked_by_their_owner_only(world: World) -> None:
    anna = world.user("anna", "kommune:101", "aggregeret")
    bo = world.user("bo", "kommune:751", "aggregeret")
    mine = world.tokens.create(anna, "laptop")
    with pytest.raises(NotFoundError):
        world.tokens.revoke(bo, mine.info.id)
    assert world.tokens.authenticate(mine.secret) is not None
    assert world.tokens.revoke(anna, mine.info.id).revoked_at == START
    assert world.tokens.authenticate(mine.secret) is None
    with pytest.raises(InvalidInputError):
        world.tokens.create(anna, " ")
    assert _actions(world)[-3:] == [
        ("token.create", "anna", "ok"),
        ("token.revoke", "bo", "denied"),  # another user's token: not found, and recorded
        ("token.revoke", "anna", "ok"),
    ]


def _dump(database: AppDatabase) -> str:
    """Every value of every table as text."""
    out = []
    with database.engine.connect() as connection:
        for table in inspect(database.engine).get_table_names():
            for row in connection.execute(text(f'SELECT * FROM "{table}"')):
                out.append(json.dumps([str(v) for v in row]))
    return "\n".join(out)


# --- TOTP reset by an administrator ----------------------------------------------------------


def _enrolled(world: World, principal: Principal) -> list[str]:
    """Enrol TOTP for the user; its recovery codes."""
    user_id = principal.user_id or 0
    enrolment = world.signin.enrol_totp(user_id)
    return world.signin.confirm_totp(user_id, totp_code(enrolment.secret, world.clock.now))


def test_an_administrator_resets_a_users_totp(world: World) -> None:
    admin = world.user("admin-kbh", "kommune:101", "lokal_admin")
    anna = world.user("anna", "kommune:101", "individ")
    ole = world.user("ole", "kommune:101", "aggregeret")
    codes = _enrolled(world, anna)
    sessions = SessionService(world.trail, Settings(), world.clock)
    signed_in = sessions.start("signed_in", anna.user_id or 0)
    pending = sessions.start("password_ok", anna.user_id or 0)
    others = sessions.start("signed_in", ole.user_id or 0)
    done = world.users.reset_totp(admin, anna.user_id or 0)
    assert (done.username, done.totp_enrolled, done.roles) == ("anna", False, frozenset({"individ"}))
    assert sessions.find(signed_in.token) is None and sessions.find(pending.token) is None
    assert sessions.find(others.token) is not None  # nobody else's
    record = world.trail.records()[-1].event
    assert (record.action, record.user, record.organisation) == ("user.totp_reset", "admin-kbh", "kommune:101")
    assert record.summary == "TOTP of anna (#2, kommune:101) reset; 10 recovery code(s) invalidated, 2 session(s) ended"
    world.clock.advance(seconds=30)
    assert world.signin.password("anna", PASSWORD).outcome == "enrol_totp"  # a new authenticator is due
    assert world.signin.second_factor(anna.user_id or 0, codes[0]).outcome == "failed"  # old codes are void
    assert world.signin.recovery_codes_left(anna.user_id or 0) == 0
    assert len(_enrolled(world, anna)) == 10  # and the new enrolment works as the first did
    assert world.users.user(OPERATOR, anna.user_id or 0).totp_enrolled
    assert world.trail.verify() == []


def test_a_totp_reset_reaches_only_what_the_administrator_manages(world: World) -> None:
    admin = world.user("admin-kbh", "kommune:101", "lokal_admin")
    analyst = world.user("ida", "kommune:101", "aggregeret")
    root_here = world.user("root-kbh", "kommune:101", "system_admin")
    aarhus = world.user("bo", "kommune:751", "individ")
    system = world.user("sys", "national", "system_admin")
    before = len(world.trail.records())
    for actor, target, error in [
        (admin, aarhus.user_id, NotFoundError),  # another organisation: as if it did not exist
        (admin, 10**9, NotFoundError),
        (admin, system.user_id, NotFoundError),
        (admin, admin.user_id, ForbiddenError),  # nobody resets their own
        (admin, root_here.user_id, ForbiddenError),  # only a system administrator resets one
        (analyst, analyst.user_id, ForbiddenError),  # no manage_users
        (analyst, admin.user_id, ForbiddenError),
    ]:
        with pytest.raises(error):
            world.users.reset_totp(actor, target or 0)
    refusals = _refusals(world, before)  # a refusal changes nothing; each is recorded, no reset is
    assert [(a, u) for a, u, _s in refusals] == [("user.totp_reset", "admin-kbh")] * 5 + [
        ("user.totp_reset", "ida")
    ] * 2
    before = len(world.trail.records())
    assert not world.users.reset_totp(system, aarhus.user_id or 0).totp_enrolled
    assert not world.users.reset_totp(system, root_here.user_id or 0).totp_enrolled
    assert not world.users.reset_totp(OPERATOR, system.user_id or 0).totp_enrolled
    assert [a for a, _u, _o in _actions(world)[before:]] == ["user.totp_reset"] * 3


# --- the command line ------------------------------------------------------------------------


def test_cli_users_commands(tmp_path: Path, app_db_url: str) -> None:
    env = {"KOES_APP_DB_URL": app_db_url}
    password_file = tmp_path / "pw"
    password_file.write_text(PASSWORD + "\n", encoding="utf-8")
    added = koes(
        tmp_path,
        "users",
        "add",
        "anna",
        "--org",
        "kommune:101",
        "--name",
        "Anna",
        "--password-file",
        str(password_file),
        env=env,
    )
    assert added.exit_code == 0, added.output
    weak = tmp_path / "weak"
    weak.write_text("kort\n", encoding="utf-8")
    refused = koes(tmp_path, "users", "add", "bo", "--org", "kommune:101", "--password-file", str(weak), env=env)
    assert refused.exit_code == 2 and "at least 12" in refused.text and "two kinds" in refused.text
    granted = koes(tmp_path, "users", "grant", "anna", "aggregeret", "--expires", "2030-01-01", env=env)
    assert granted.exit_code == 2 and "at most 24 months" in granted.text
    assert koes(tmp_path, "users", "grant", "anna", "aggregeret", env=env).exit_code == 0
    assert koes(tmp_path, "users", "grant", "anna", "individ", env=env).exit_code == 0
    listed = koes(tmp_path, "users", "list", "--format", "json", env=env)
    (user,) = json.loads(listed.output)
    assert user["roles"] == ["aggregeret", "individ"] and user["organisation"] == "kommune:101"
    token = koes(tmp_path, "users", "token", "anna", "--name", "laptop", env=env)
    assert token.exit_code == 0
    secret = token.output.strip().splitlines()[-1]
    assert secret.startswith("koes_") and len(secret) == 48
    assert koes(tmp_path, "users", "revoke", "anna", "individ", env=env).exit_code == 0
    assert koes(tmp_path, "users", "deactivate", "anna", env=env).exit_code == 0
    missing = koes(tmp_path, "users", "deactivate", "ingen", env=env)
    assert missing.exit_code == 1 and "no user 'ingen'" in missing.text
    expiring = koes(tmp_path, "users", "expiring", "--days", "400", env=env)
    assert expiring.exit_code == 0
    db = open_app_database(Settings(data_dir=tmp_path, app_db_url=app_db_url))
    try:
        trail = AuditTrail(db)
        records = [(r.event.action, r.event.user) for r in trail.records()]
        assert secret not in _dump(db)
        assert trail.verify() == []
    finally:
        db.dispose()
    assert records == [
        ("user.create", "cli"),
        ("grant.add", "cli"),
        ("grant.add", "cli"),
        ("token.create", "cli"),
        ("grant.revoke", "cli"),
        ("user.deactivate", "cli"),
    ]


def test_cli_rename_and_reactivate(tmp_path: Path, app_db_url: str, refdata: RefData) -> None:
    env = {"KOES_APP_DB_URL": app_db_url}
    db = open_app_database(Settings(data_dir=tmp_path, app_db_url=app_db_url), refdata)
    try:
        users = UserService(AuditTrail(db), fast_passwords())
        anna = users.create_user(OPERATOR, "anna", organisation="kommune:101", display_name="Ana", password=PASSWORD)
        grant = users.grant(OPERATOR, anna.id, "aggregeret")
    finally:
        db.dispose()
    renamed = koes(tmp_path, "users", "rename", "anna", "Anna B. Hansen", env=env)
    assert renamed.exit_code == 0, renamed.output
    assert "Display name of anna: Anna B. Hansen" in renamed.text
    refused = koes(tmp_path, "users", "rename", "anna", "Anna 010190-1234", env=env)
    assert refused.exit_code == 2 and "display_name: must not contain a CPR-shaped number" in refused.text
    assert "010190-1234" not in refused.output  # the typed number is not repeated
    already = koes(tmp_path, "users", "reactivate", "anna", env=env)
    assert already.exit_code == 0 and "active already: nothing changed" in already.text
    assert koes(tmp_path, "users", "deactivate", "anna", env=env).exit_code == 0
    back = koes(tmp_path, "users", "reactivate", "anna", env=env)
    assert back.exit_code == 0, back.output
    assert "anna is active again, without any valid grant" in back.text
    missing = koes(tmp_path, "users", "reactivate", "ingen", env=env)
    assert missing.exit_code == 1 and "no user 'ingen'" in missing.text
    db = open_app_database(Settings(data_dir=tmp_path, app_db_url=app_db_url))
    try:
        trail = AuditTrail(db)
        found = UserService(trail).user_by_name(OPERATOR, "anna")
        records = [(r.event.action, r.event.user) for r in trail.records()]
        last = trail.records()[-1].event
        assert trail.verify() == []
    finally:
        db.dispose()
    assert (found.display_name, found.active, found.roles) == ("Anna B. Hansen", True, frozenset())
    assert found.grants[0].revoked_by == "cli"
    assert records[-3:] == [("user.rename", "cli"), ("user.deactivate", "cli"), ("user.reactivate", "cli")]
    assert f"grant(s) #{grant.id} aggregeret revoked" in last.summary


def test_cli_reset_totp(tmp_path: Path, app_db_url: str, refdata: RefData) -> None:
    env = {"KOES_APP_DB_URL": app_db_url}
    db = open_app_database(Settings(data_dir=tmp_path, app_db_url=app_db_url), refdata)
    try:
        trail = AuditTrail(db)
        users = UserService(trail, fast_passwords())
        anna = users.create_user(OPERATOR, "anna", organisation="kommune:101", password=PASSWORD)
        users.grant(OPERATOR, anna.id, "individ")
        signin = SignInService(trail, KEY, users)
        enrolment = signin.enrol_totp(anna.id)
        signin.confirm_totp(anna.id, totp_code(enrolment.secret, datetime.now(UTC)))
    finally:
        db.dispose()
    reset = koes(tmp_path, "users", "reset-totp", "anna", env=env)
    assert reset.exit_code == 0, reset.output
    assert "TOTP of anna is reset" in reset.text
    missing = koes(tmp_path, "users", "reset-totp", "ingen", env=env)
    assert missing.exit_code == 1 and "no user 'ingen'" in missing.text
    db = open_app_database(Settings(data_dir=tmp_path, app_db_url=app_db_url))
    try:
        trail = AuditTrail(db)
        assert not UserService(trail).user_by_name(OPERATOR, "anna").totp_enrolled
        last = trail.records()[-1].event
        assert (last.action, last.user) == ("user.totp_reset", "cli")
        assert "10 recovery code(s) invalidated" in last.summary
        assert trail.verify() == []
    finally:
        db.dispose()


def test_demo_users_are_idempotent(tmp_path: Path, app_db_url: str) -> None:
    env = {"KOES_APP_DB_URL": app_db_url}
    first = koes(tmp_path, "demo-users", env=env)
    assert first.exit_code == 0, first.output
    second = koes(tmp_path, "demo-users", env=env)
    assert second.exit_code == 0
    assert "TOTP is not enrolled" in second.text
    assert all(page in second.text for page in ("http://127.0.0.1:8000/", "/standard", "/analyse", "/avanceret"))
    assert "next step" not in second.text  # the sign-in pages exist: no promise of later work
    tokens = [w for w in second.output.split() if w.startswith("koes_")]
    assert len(tokens) == 6
    db = open_app_database(Settings(data_dir=tmp_path, app_db_url=app_db_url))
    try:
        trail = AuditTrail(db)
        users = UserService(trail)
        found = {u.username: u for u in users.users(OPERATOR)}
        service = TokenService(trail, users)
        principals = [service.authenticate(t) for t in tokens]
        old = [w for w in first.output.split() if w.startswith("koes_")]
        assert all(service.authenticate(t) is None for t in old)  # replaced by the second run
    finally:
        db.dispose()
    assert {name: (u.organisation, sorted(u.roles)) for name, u in found.items()} == {
        "kbh-analytiker": ("kommune:101", ["aggregeret"]),
        "kbh-sagsbehandler": ("kommune:101", ["individ"]),
        "aarhus-analytiker": ("kommune:751", ["aggregeret"]),
        "aarhus-sagsbehandler": ("kommune:751", ["individ"]),
        "kbh-admin": ("kommune:101", ["aggregeret", "individ", "lokal_admin"]),
        "systemadmin": ("national", ["system_admin"]),
    }
    assert all(len(u.grants) == len(u.roles) for u in found.values())  # the second run granted nothing new
    assert all(p is not None for p in principals)


def test_an_administrators_new_password_ends_the_users_sessions(world: World) -> None:
    admin = world.user("admin-kbh", "kommune:101", "lokal_admin")
    anna = world.user("anna", "kommune:101", "aggregeret")
    ole = world.user("ole", "kommune:101", "aggregeret")
    sessions = SessionService(world.trail, Settings(), world.clock)
    anna_page, ole_page = sessions.start("signed_in", anna.user_id or 0), sessions.start("signed_in", ole.user_id or 0)
    world.users.set_password(admin, anna.user_id or 0, "Et-helt-nyt-kodeord-2026")
    assert _actions(world)[-1][:2] == ("user.password", "admin-kbh")
    assert sessions.find(anna_page.token) is None  # a reset after a suspected compromise ends the session
    assert sessions.find(ole_page.token) is not None
    assert world.signin.password("anna", "Et-helt-nyt-kodeord-2026").outcome != "failed"
