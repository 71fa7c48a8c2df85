"""The own API tokens page (``/account/tokens``) and the recertification page's tokens (issue 17.6)."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from koes.services.tokens import TokenService
from koes.services.users import OPERATOR
from koes.settings import Settings
from koes.web.app import create_app
from koes.web.pages.common import SESSION_COOKIE, Pages
from support import SettableClock, fast_passwords

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

PATH = "/account/tokens"
START = datetime(2025, 5, 1, 9, tzinfo=UTC)


@dataclass
class World:
    client: TestClient
    pages: Pages
    tokens: TokenService
    ids: dict[str, int]

    def sign_in(self, name: str, *, second_factor: bool) -> None:
        new = self.pages.sessions.start("signed_in", self.ids[name], second_factor=second_factor)
        self.client.cookies.set(SESSION_COOKIE, new.token, domain="testserver.local")

    def csrf(self, path: str = PATH) -> str:
        found = re.search(r'name="csrf" value="([^"]+)"', self.client.get(path).text)
        assert found is not None
        return found.group(1)

    def make(self, name: str, scopes: list[str], days: str = "30") -> tuple[int, str]:
        form = {"csrf": self.csrf(), "name": name, "scopes": scopes, "days": days}
        answer = self.client.post(PATH, data=form)
        return answer.status_code, answer.text

    def records(self) -> list[tuple[str, str, str]]:
        return [(r.event.action, r.event.user, r.event.outcome) for r in self.pages.signin.trail.records()]


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    app = create_app(Settings(data_dir=tmp_path), clock=SettableClock(START))
    pages = app.state.pages
    assert isinstance(pages, Pages)
    pages.users.passwords = fast_passwords()
    ids = {}
    for name, org, roles in (
        ("anna", "kommune:101", ("aggregeret",)),
        ("sara", "kommune:101", ("individ",)),
        ("admin", "kommune:101", ("lokal_admin", "aggregeret")),
        ("bo", "kommune:751", ("aggregeret",)),
    ):
        ids[name] = pages.users.create_user(OPERATOR, name, organisation=org, password="Korrekt-hest-batteri").id
        for role in roles:
            pages.users.grant(OPERATOR, ids[name], role)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield World(client, pages, app.state.tokens, ids)


def _secret(html: str) -> str:
    found = re.search(r'<code id="new-token" class="secret">(koes_[^<]+)</code>', html)
    assert found is not None, html
    return found.group(1)


def test_a_user_makes_a_token_sees_it_once_and_revokes_it(world: World) -> None:
    world.sign_in("anna", second_factor=False)  # no role of anna's needs TOTP
    assert 'href="/account/tokens"' in world.client.get("/").text
    status, html = world.make("min laptop", ["analyses"], "7")
    assert status == 201
    secret = _secret(html)
    principal = world.tokens.authenticate(secret)
    assert principal is not None and principal.permissions == {"catalog", "analysis"}
    assert principal.token is not None and principal.token.expires_at == datetime(2025, 5, 8, 9, tzinfo=UTC)
    page = world.client.get(PATH).text
    assert secret not in page and secret[:13] in page and "min laptop" in page  # shown once, named after
    token_id = world.tokens.list(principal)[0].id
    revoked = world.client.post(f"{PATH}/{token_id}/revoke", data={"csrf": world.csrf()}, follow_redirects=False)
    assert (revoked.status_code, revoked.headers["location"]) == (303, f"{PATH}?done=revoked")
    assert world.tokens.authenticate(secret) is None
    assert 'data-state="revoked"' in world.client.get(PATH).text
    assert [r for r in world.records() if r[0].startswith("token")] == [
        ("token.create", "anna", "ok"),
        ("token.revoke", "anna", "ok"),
    ]


def test_a_user_whose_roles_need_totp_makes_one_only_in_a_session_that_passed_it(world: World) -> None:
    world.sign_in("sara", second_factor=True)
    status, html = world.make("analyse-script", ["analyses", "cohorts"])
    assert status == 201
    principal = world.tokens.authenticate(_secret(html))
    assert principal is not None and principal.roles == {"individ"} and principal.may("individual_rows")

    # Without the second factor the session has no individ role at all: the page says why, and a
    # forged form is refused with a record.
    world.sign_in("sara", second_factor=False)
    assert world.client.get("/").status_code == 403  # individ was her only role
    world.pages.users.grant(OPERATOR, world.ids["sara"], "aggregeret")
    page = world.client.get(PATH).text
    assert 'id="needs-code"' in page and 'id="new-token-form"' not in page
    status, html = world.make("forged", ["analyses"])
    assert status == 403 and "log ind med din kode" in html
    assert world.records()[-1] == ("token.create", "sara", "denied")


def test_every_problem_of_the_form_is_shown_and_nothing_echoes_a_cpr_number(world: World) -> None:
    world.sign_in("anna", second_factor=False)
    status, html = world.make("", ["analyses"], "abc")
    assert status == 400 and "Antal dage skal være et helt tal fra 1 til 90." in html
    status, html = world.make("x 0101901234", ["cohorts", "nonsense"], "91")
    assert status == 400
    for text in (  # every problem at once
        "Navnet må ikke indeholde et CPR-nummer.",
        "Vælg blandt de viste anvendelser.",
        "Dine roller giver intet i en af de valgte anvendelser.",
        "Antal dage skal være et helt tal fra 1 til 90.",
    ):
        assert text in html
    assert "0101901234" not in html and 'value="x XXXXXX-XXXX"' in html
    status, html = world.make("x", ["analyses"], "91")
    assert status == 400 and "Antal dage skal være et helt tal fra 1 til 90." in html
    assert world.tokens.list(world.pages.users.principal_for(world.ids["anna"])) == []


def test_the_recertification_page_lists_expiring_tokens_of_the_own_organisation(world: World) -> None:
    anna = world.pages.users.principal_for(world.ids["anna"])
    soon = world.tokens.create(anna, "snart", days=10)
    world.tokens.create(anna, "senere", days=80)
    theirs = world.tokens.create(world.pages.users.principal_for(world.ids["bo"]), "aarhus", days=10)
    world.sign_in("admin", second_factor=True)
    page = world.client.get("/admin/recertification?days=30").text
    listed = re.findall(r'<tr data-token="(\d+)" data-username="([^"]+)">', page)
    assert listed == [(str(soon.info.id), "anna")]
    form = {"csrf": world.csrf("/admin/recertification")}
    other = world.client.post(
        f"/admin/users/{world.ids['bo']}/tokens/{theirs.info.id}/revoke", data=form, follow_redirects=False
    )
    assert other.status_code == 404 and world.tokens.authenticate(theirs.secret) is not None
    done = world.client.post(
        f"/admin/users/{world.ids['anna']}/tokens/{soon.info.id}/revoke", data=form, follow_redirects=False
    )
    assert done.headers["location"] == "/admin/recertification?done=token_revoked"
    assert world.tokens.authenticate(soon.secret) is None
    assert world.records()[-2:] == [("token.revoke", "admin", "denied"), ("token.revoke", "admin", "ok")]
