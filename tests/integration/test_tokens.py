"""API tokens (issue 17.6): the second factor behind them, their expiry, their scopes, and the
recertification list; on SQLite and PostgreSQL, with a settable clock."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from koes.privacy.access import Principal
from koes.refdata import RefData
from koes.services.appdb import open_app_database
from koes.services.audit import AuditTrail
from koes.services.errors import ForbiddenError, InvalidInputError, NotFoundError
from koes.services.tokens import TokenPolicy, TokenService
from koes.services.users import OPERATOR, UserService
from koes.settings import Settings
from support import SettableClock, fast_passwords

START = datetime(2025, 3, 3, 9, 0, 10, tzinfo=UTC)


@dataclass
class World:
    trail: AuditTrail
    clock: SettableClock
    users: UserService
    tokens: TokenService

    def user(self, name: str, *roles: str, org: str = "kommune:101") -> Principal:
        created = self.users.create_user(OPERATOR, name, organisation=org)
        for role in roles:
            self.users.grant(OPERATOR, created.id, role)
        return self.users.principal_for(created.id)

    def last(self) -> tuple[str, str, str, str]:
        event = self.trail.records()[-1].event
        return event.action, event.user, event.outcome, event.summary


@pytest.fixture
def world(app_db_url: str, tmp_path: Path, refdata: RefData) -> Iterator[World]:
    database = open_app_database(Settings(data_dir=tmp_path, app_db_url=app_db_url), refdata)
    trail = AuditTrail(database)
    clock = SettableClock(START)
    users = UserService(trail, fast_passwords(), clock)
    yield World(trail, clock, users, TokenService(trail, users))
    database.dispose()


def test_a_user_whose_roles_need_totp_makes_a_token_only_after_totp(world: World) -> None:
    sara = world.user("sara", "individ")
    with pytest.raises(ForbiddenError) as refused:
        world.tokens.create(sara, "laptop")  # the API: no second factor in the request
    assert refused.value.code == "token_totp"
    assert world.last()[:3] == ("token.create", "sara", "denied")  # audited
    made = world.tokens.create(sara, "laptop", second_factor=True)  # the web page after TOTP
    principal = world.tokens.authenticate(made.secret)
    assert principal is not None and principal.roles == {"individ"} and principal.may("individual_rows")
    # A token cannot make another one for such a user: that would renew it without a second factor.
    with pytest.raises(ForbiddenError):
        world.tokens.create(principal, "again", second_factor=True)
    action, user, outcome, summary = world.last()
    assert (action, user, outcome) == ("token.create", "sara", "denied")
    assert summary.startswith("create an API token: refused, your roles need a second factor")


def test_an_administrator_vouches_for_the_token_it_makes(world: World) -> None:
    admin = world.user("kbh-admin", "lokal_admin", "individ")
    sara = world.user("sara", "individ")
    made = world.tokens.create_for(admin, sara.user_id or 0, "til sara")
    assert made.info.second_factor and made.info.scopes == ("analyses", "exports", "cohorts")
    principal = world.tokens.authenticate(made.secret)
    assert principal is not None and principal.roles == {"individ"}
    assert world.last()[:3] == ("token.create", "kbh-admin", "ok")
    assert "carries the roles that need TOTP" in world.last()[3]
    aarhus = world.user("aarhus-bo", "aggregeret", org="kommune:751")
    with pytest.raises(NotFoundError):  # another organisation's user: not found, and recorded
        world.tokens.create_for(admin, aarhus.user_id or 0, "x")
    assert world.last()[:3] == ("token.create", "kbh-admin", "denied")
    with pytest.raises(ForbiddenError):  # its own tokens: on its account page, after TOTP
        world.tokens.create_for(admin, admin.user_id or 0, "x")
    # An administrator sees the secret: it makes no token carrying a role it could not grant itself.
    aggregate_admin = world.user("kbh-admin-2", "lokal_admin", "aggregeret")
    with pytest.raises(ForbiddenError) as refused:
        world.tokens.create_for(aggregate_admin, sara.user_id or 0, "x")
    assert refused.value.code == "token_roles"
    assert world.last()[:3] == ("token.create", "kbh-admin-2", "denied")


def test_a_token_made_without_a_second_factor_never_carries_a_role_that_needs_one(world: World) -> None:
    bo = world.user("bo", "aggregeret")
    made = world.tokens.create(bo, "laptop")
    assert not made.info.second_factor
    world.users.grant(OPERATOR, bo.user_id or 0, "individ")  # granted later
    principal = world.tokens.authenticate(made.secret)
    assert principal is not None and principal.roles == {"aggregeret"}  # no exact figures through it


def test_expiry_default_maximum_and_a_token_made_by_a_token(world: World) -> None:
    bo = world.user("bo", "aggregeret")
    assert world.tokens.create(bo, "a").info.expires_at == START + timedelta(days=30)
    assert world.tokens.create(bo, "b", days=90).info.expires_at == START + timedelta(days=90)
    for days in (0, 91, -1):
        with pytest.raises(InvalidInputError) as caught:
            world.tokens.create(bo, "c", days=days)
        assert [p.code for p in caught.value.problems] == ["token_days"]
    short = world.tokens.create(bo, "short", days=5)
    via = world.tokens.authenticate(short.secret)
    assert via is not None
    child = world.tokens.create(via, "child", days=60)
    assert child.info.expires_at == START + timedelta(days=5)  # never past the token that made it
    world.clock.advance(days=5)
    assert world.tokens.authenticate(short.secret) is None and world.tokens.authenticate(child.secret) is None
    policy = TokenPolicy.from_settings(Settings(token_days=7, token_max_days=14))
    assert TokenService(world.trail, world.users, policy=policy).create(bo, "d").info.expires_at == (
        world.clock.now + timedelta(days=7)
    )
    with pytest.raises(ValueError):
        TokenPolicy(default_days=100, max_days=90)


def test_scopes_chosen_at_creation_limit_the_token(world: World) -> None:
    bo = world.user("bo", "aggregeret")
    assert world.tokens.create(bo, "all").info.scopes == ("analyses", "exports")  # what its roles give
    reading = world.tokens.create(bo, "read", scopes=["analyses"])
    principal = world.tokens.authenticate(reading.secret)
    assert principal is not None
    assert principal.roles == {"aggregeret"} and principal.permissions == {"catalog", "analysis"}
    assert not principal.may("export")
    with pytest.raises(InvalidInputError) as caught:
        world.tokens.create(bo, "x", scopes=["everything", "cohorts"])
    assert [p.code for p in caught.value.problems] == ["token_scope_unknown", "token_scope_useless"]
    with pytest.raises(InvalidInputError):
        world.tokens.create(bo, "x", scopes=[])
    for name in ("", "x" * 101, "x\x00", "x\ud800"):  # a lone surrogate (JSON "\\ud800"): no database stores it
        with pytest.raises(InvalidInputError) as caught:
            world.tokens.create(bo, name)
        assert [p.code for p in caught.value.problems] == ["token_name"], repr(name)
    with pytest.raises(ForbiddenError) as refused:  # a token makes no token with more scopes than its own
        world.tokens.create(principal, "wider", scopes=["analyses", "exports"])
    assert refused.value.code == "token_scopes"
    assert world.tokens.create(principal, "same").info.scopes == ("analyses",)


def test_expiring_tokens_are_on_the_recertification_list_of_their_organisation(world: World) -> None:
    admin = world.user("kbh-admin", "lokal_admin", "aggregeret")
    bo = world.user("bo", "aggregeret")
    soon = world.tokens.create(bo, "soon", days=5)
    world.tokens.create(bo, "later", days=60)
    revoked = world.tokens.create(bo, "revoked", days=5)
    world.tokens.revoke(bo, revoked.info.id)
    aarhus = world.user("aarhus-bo", "aggregeret", org="kommune:751")
    theirs = world.tokens.create(aarhus, "theirs", days=5)
    listed = world.tokens.expiring(admin, 30)
    assert [(t.info.id, t.username, t.organisation) for t in listed] == [(soon.info.id, "bo", "kommune:101")]
    everyone = world.tokens.expiring(OPERATOR, 30)
    assert {t.info.id for t in everyone} == {soon.info.id, theirs.info.id}
    with pytest.raises(ForbiddenError):
        world.tokens.expiring(bo, 30)
    assert world.last()[:3] == ("access.denied", "bo", "denied")
