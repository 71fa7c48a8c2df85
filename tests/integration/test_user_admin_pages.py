"""The user administration pages (``/admin/users``, ``/admin/users/{id}``, ``/admin/recertification``)
on SQLite and PostgreSQL app databases.

The pages call :class:`koes.services.users.UserService` for every rule; these tests check that each
change shows on the next page, is audited, and that the rules answer as readable messages (or as
the 404 and 403 pages) without changing anything. A settable clock stands in for time.
"""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from koes.privacy.access import Principal
from koes.services.errors import ForbiddenError, InvalidInputError
from koes.services.users import OPERATOR
from koes.settings import Settings
from koes.web.app import create_app
from koes.web.i18n import LANG_COOKIE
from koes.web.pages.common import SESSION_COOKIE, Pages
from support import SettableClock, fast_passwords

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

START = datetime(2025, 5, 1, 9, tzinfo=UTC)
PASSWORD = "Korrekt-hest-batteri"
NEW_PASSWORD = "Helt-nyt-kodeord-2025"
USERS = "/admin/users"
RECERT = "/admin/recertification"


class Clock(SettableClock):
    def __init__(self) -> None:
        super().__init__(START)


@dataclass
class World:
    client: TestClient
    pages: Pages
    clock: Clock
    ids: dict[str, int]

    def sign_in(self, name: str) -> None:
        new = self.pages.sessions.start("signed_in", self.ids[name], second_factor=True)
        self.client.cookies.set(SESSION_COOKIE, new.token, domain="testserver.local")

    def csrf(self, path: str = "/") -> str:
        page = self.client.get(path)
        found = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert found is not None, page.text
        return found.group(1)

    def post(self, path: str, data: dict[str, str], *, csrf: bool = True) -> tuple[int, str, str]:
        form = {"csrf": self.csrf(), **data} if csrf else data
        answer = self.client.post(path, data=form, follow_redirects=False)
        return answer.status_code, answer.headers.get("location", ""), answer.text

    def actions(self) -> list[tuple[str, str, str]]:
        return [(r.event.action, r.event.user, r.event.summary) for r in self.pages.signin.trail.records()]

    def principal(self, name: str) -> Principal:
        return self.pages.users.principal_for(self.ids[name])


@pytest.fixture
def world(app_db_url: str, tmp_path: Path) -> Iterator[World]:
    clock = Clock()
    app = create_app(Settings(data_dir=tmp_path, app_db_url=app_db_url), clock=clock)
    pages = app.state.pages
    assert isinstance(pages, Pages)
    pages.users.passwords = fast_passwords()
    users = pages.users
    ids = {}
    for name, organisation, roles in (
        ("kbh-admin", "kommune:101", ("lokal_admin", "aggregeret")),  # no individ: it cannot grant that
        ("kbh-analytiker", "kommune:101", ("aggregeret",)),
        ("aarhus-bruger", "kommune:751", ("aggregeret",)),
        ("systemadmin", "national", ("system_admin",)),
    ):
        created = users.create_user(OPERATOR, name, organisation=organisation, display_name=name, password=PASSWORD)
        for role in roles:
            users.grant(OPERATOR, created.id, role)
        ids[name] = created.id
    with TestClient(app, raise_server_exceptions=False) as client:
        yield World(client, pages, clock, ids)


def _alert(html: str) -> list[str]:
    alert = html.split('role="alert"', 1)[1].split("</div>", 1)[0]
    return re.findall(r"<li>([^<]+)</li>", alert)


def _grant_rows(html: str) -> dict[str, str]:
    """Role id → state of each grant row on a user's page (the newest per role)."""
    found: dict[str, str] = {}
    for role, state in re.findall(r'data-role="([^"]+)" data-state="([^"]+)"', html):
        found.setdefault(role, state)
    return found


def test_local_admin_creates_grants_revokes_resets_sets_a_password_and_deactivates(world: World) -> None:
    world.sign_in("kbh-admin")
    start = world.client.get("/").text
    assert 'href="/admin/users"' in start and 'href="/admin/recertification"' in start
    listing = world.client.get(USERS)
    assert listing.status_code == 200 and listing.headers["cache-control"] == "no-store"
    assert 'data-username="kbh-analytiker"' in listing.text and "aarhus-bruger" not in listing.text
    assert 'name="organisation"' not in listing.text  # its own organisation only: no organisation to pick
    before = len(world.actions())
    world.client.get(USERS)
    assert len(world.actions()) == before  # reading the list is not audited, as in the API

    status, location, _ = world.post(
        USERS,
        {"username": "ny-bruger", "display_name": "Ny Bruger", "password": PASSWORD, "repeat_password": PASSWORD},
    )
    new_id = world.pages.users.user_by_name(OPERATOR, "ny-bruger").id
    assert (status, location) == (303, f"{USERS}/{new_id}?done=created")
    page = world.client.get(location).text
    assert 'id="done"' in page and "Brugeren er oprettet" in page and 'id="no-grants"' in page
    assert world.pages.users.user(OPERATOR, new_id).organisation == "kommune:101"
    assert world.pages.signin.password("ny-bruger", PASSWORD).outcome == "ok"
    # The grant form offers what the admin may grant, with the default expiry 12 months ahead.
    assert 'value="aggregeret"' in page and 'value="individ"' not in page and 'value="lokal_admin"' not in page
    assert 'name="expires" type="date" value="2026-05-01" min="2025-05-01" max="2027-05-01"' in page

    until = (START + timedelta(days=90)).date()
    status, location, _ = world.post(f"{USERS}/{new_id}/grants", {"role": "aggregeret", "expires": until.isoformat()})
    assert (status, location) == (303, f"{USERS}/{new_id}?done=granted")
    page = world.client.get(location).text
    assert "Rollen er tildelt." in page and _grant_rows(page) == {"aggregeret": "valid"}
    assert "30-07-2025" in page  # valid through the chosen day
    info = world.pages.users.user(OPERATOR, new_id)
    assert info.roles == {"aggregeret"} and info.grants[0].expires_at == datetime(2025, 7, 31, tzinfo=UTC)
    listing = world.client.get(USERS).text
    row = listing.split('data-username="ny-bruger"', 1)[1].split("</tr>", 1)[0]
    assert "Aggregerede tal (til og med 30-07-2025)" in row

    grant_id = info.grants[0].id
    status, location, _ = world.post(f"{USERS}/{new_id}/grants/{grant_id}/revoke", {})
    assert (status, location) == (303, f"{USERS}/{new_id}?done=revoked")
    page = world.client.get(location).text
    assert "Rollen er frataget" in page and _grant_rows(page) == {"aggregeret": "revoked"}
    assert world.pages.users.user(OPERATOR, new_id).roles == frozenset()

    status, location, _ = world.post(f"{USERS}/{new_id}/reset-totp", {})
    assert (status, location) == (303, f"{USERS}/{new_id}?done=totp_reset")
    assert "Totrinsbekræftelsen er nulstillet" in world.client.get(location).text

    status, location, _ = world.post(
        f"{USERS}/{new_id}/password", {"password": NEW_PASSWORD, "repeat_password": NEW_PASSWORD}
    )
    assert (status, location) == (303, f"{USERS}/{new_id}?done=password")
    assert "Adgangskoden er sat" in world.client.get(location).text
    assert world.pages.signin.password("ny-bruger", NEW_PASSWORD).outcome == "ok"

    status, location, _ = world.post(f"{USERS}/{new_id}/deactivate", {})
    assert (status, location) == (303, f"{USERS}/{new_id}?done=deactivated")
    page = world.client.get(location).text
    assert "Brugeren er deaktiveret. Den kan ikke" in page and 'id="deactivate-form"' not in page
    assert 'id="grant-form"' not in page and 'id="inactive-note"' in page
    assert not world.pages.users.user(OPERATOR, new_id).active
    assert world.pages.signin.password("ny-bruger", NEW_PASSWORD).outcome != "ok"
    assert "Nej, deaktiveret" in world.client.get(USERS).text.split('data-username="ny-bruger"', 1)[1]
    status, _location, html = world.post(f"{USERS}/{new_id}/grants", {"role": "aggregeret", "expires": ""})
    assert status == 409 and _alert(html) == ["Brugeren er deaktiveret og kan ikke få nye roller."]

    admin_records = [(a, u) for a, u, _s in world.actions()[before:] if not a.startswith("signin")]
    assert admin_records == [
        ("user.create", "kbh-admin"),
        ("grant.add", "kbh-admin"),
        ("grant.revoke", "kbh-admin"),
        ("user.totp_reset", "kbh-admin"),
        ("user.password", "kbh-admin"),
        ("user.deactivate", "kbh-admin"),
    ]
    everything = "\n".join(s for _a, _u, s in world.actions())
    assert PASSWORD not in everything and NEW_PASSWORD not in everything
    assert world.pages.signin.trail.verify() == []


def _web_sign_in(world: World, name: str) -> tuple[int, str]:
    """The status and page of a sign-in with the password on /login (its own cookies; the caller signs in again)."""
    world.client.cookies.clear()
    form = world.client.get("/login").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form)
    assert csrf is not None
    answer = world.client.post(
        "/login", data={"csrf": csrf.group(1), "username": name, "password": PASSWORD}, follow_redirects=False
    )
    world.client.cookies.clear()
    return answer.status_code, answer.text


def test_local_admin_renames_and_reactivates_a_user(world: World) -> None:
    target = world.ids["kbh-analytiker"]
    world.sign_in("kbh-admin")
    before = len(world.actions())
    page = world.client.get(f"{USERS}/{target}").text
    assert f'action="/admin/users/{target}/rename"' in page and 'id="rename-form"' in page
    assert '<label for="rename-name">' in page and 'id="rename-name" name="display_name"' in page
    assert 'value="kbh-analytiker"' in page.split('id="rename-form"', 1)[1]

    status, _location, html = world.post(
        f"{USERS}/{target}/rename", {"display_name": "Ida " + "x" * 200 + " 0101901234"}
    )
    assert status == 400 and 'id="name-problems"' in html
    assert _alert(html) == [
        "Navnet må højst være 200 tegn.",
        "Navnet må ikke indeholde noget, der ligner et CPR-nummer.",
    ]
    status, _location, html = world.post(f"{USERS}/{target}/rename", {"display_name": "Ida 010190-1234"})
    assert status == 400 and _alert(html) == ["Navnet må ikke indeholde noget, der ligner et CPR-nummer."]
    world.client.cookies.set(LANG_COOKIE, "en")
    status, _location, html = world.post(f"{USERS}/{target}/rename", {"display_name": "Ida\x00"})
    assert status == 400 and _alert(html) == ["The name must be at most 200 characters."]
    world.client.cookies.set(LANG_COOKIE, "da")
    assert world.pages.users.user(OPERATOR, target).display_name == "kbh-analytiker"

    status, location, _ = world.post(f"{USERS}/{target}/rename", {"display_name": "Ida Analytiker"})
    assert (status, location) == (303, f"{USERS}/{target}?done=renamed")
    page = world.client.get(location).text
    assert "Navnet er ændret." in page and 'value="Ida Analytiker"' in page
    assert world.pages.users.user(OPERATOR, target).display_name == "Ida Analytiker"
    assert "Ida Analytiker" in world.client.get(USERS).text.split('data-username="kbh-analytiker"', 1)[1]

    status, location, _ = world.post(f"{USERS}/{target}/deactivate", {})
    assert (status, location) == (303, f"{USERS}/{target}?done=deactivated")
    page = world.client.get(location).text
    assert 'id="reactivate-form"' in page and "Genaktivér</button>" in page and 'id="deactivate-form"' not in page
    # Without its CSRF token the reactivation is refused and changes nothing.
    for form in ({}, {"csrf": "wrong"}):
        answer = world.client.post(f"{USERS}/{target}/reactivate", data=form, follow_redirects=False)
        assert answer.status_code == 403 and "Formularen er udløbet" in answer.text
    assert not world.pages.users.user(OPERATOR, target).active

    status, location, _ = world.post(f"{USERS}/{target}/reactivate", {})
    assert (status, location) == (303, f"{USERS}/{target}?done=reactivated")
    page = world.client.get(location).text
    assert "Brugeren er genaktiveret. Den har ingen gyldige roller" in page
    assert 'id="deactivate-form"' in page and 'id="reactivate-form"' not in page and 'id="grant-form"' in page
    assert _grant_rows(page) == {"aggregeret": "revoked"}  # the grant still running was revoked
    info = world.pages.users.user(OPERATOR, target)
    assert info.active and info.roles == frozenset() and info.grants[0].revoked_by == "kbh-admin"
    status, html = _web_sign_in(world, "kbh-analytiker")
    assert status == 403 and "Du har ingen rettigheder i KØS" in html  # the password is right, but no grant

    world.sign_in("kbh-admin")
    status, location, _ = world.post(f"{USERS}/{target}/grants", {"role": "aggregeret", "expires": ""})
    assert (status, location) == (303, f"{USERS}/{target}?done=granted")
    assert _web_sign_in(world, "kbh-analytiker")[0] == 303  # signed in, now that it has a grant again

    world.sign_in("kbh-admin")
    status, _location, html = world.post(f"{USERS}/{world.ids['kbh-admin']}/reactivate", {})
    assert status == 403 and _alert(html) == ["Du kan ikke genaktivere dig selv."] and 'id="status-problems"' in html
    admin_records = [(a, u) for a, u, _s in world.actions()[before:] if not a.startswith("signin")]
    assert admin_records == [
        ("user.rename", "kbh-admin"),
        ("user.deactivate", "kbh-admin"),
        ("user.reactivate", "kbh-admin"),
        ("grant.add", "kbh-admin"),
        ("user.reactivate", "kbh-admin"),  # the refused one, recorded too
    ]
    assert world.actions()[-1][2].endswith("refused, you cannot reactivate yourself")
    assert not any("Ida" in s for a, _u, s in world.actions() if a == "user.rename")
    assert world.pages.signin.trail.verify() == []


def test_another_organisations_user_is_not_found_and_never_changed(world: World) -> None:
    world.sign_in("kbh-admin")
    other = world.ids["aarhus-bruger"]
    other_grant = world.pages.users.user(OPERATOR, other).grants[0].id
    own = world.ids["kbh-analytiker"]
    before = world.actions()
    assert world.client.get(f"{USERS}/{other}").status_code == 404
    assert world.client.get(f"{USERS}/999999").status_code == 404  # the same answer as a missing user
    missing = world.client.get(f"{USERS}/{other}").text
    assert "Siden findes ikke" in missing and "aarhus" not in missing
    assert world.client.get(USERS, params={"organisation": "kommune:751"}).status_code == 404
    for path, data in (
        (f"{USERS}/{other}/grants", {"role": "aggregeret", "expires": ""}),
        (f"{USERS}/{other}/rename", {"display_name": "Omdøbt"}),
        (f"{USERS}/{other}/deactivate", {}),
        (f"{USERS}/{other}/reactivate", {}),
        (f"{USERS}/{other}/reset-totp", {}),
        (f"{USERS}/{other}/password", {"password": NEW_PASSWORD, "repeat_password": NEW_PASSWORD}),
        (f"{USERS}/{other}/password", {"password": NEW_PASSWORD, "repeat_password": "different"}),
        (f"{USERS}/{other}/grants/{other_grant}/revoke", {}),
        (f"{USERS}/{own}/grants/{other_grant}/revoke", {}),  # another organisation's grant on an own user's path
    ):
        status, _location, text = world.post(path, data)
        assert status == 404 and "Siden findes ikke" in text, path
    status, _location, _ = world.post(
        USERS, {"username": "snyd", "organisation": "kommune:751", "password": PASSWORD, "repeat_password": PASSWORD}
    )
    assert status == 404
    after = world.pages.users.user(OPERATOR, other)
    assert after.active and after.roles == {"aggregeret"} and after.grants[0].revoked_at is None
    assert after.display_name == "aarhus-bruger"
    assert world.pages.signin.password("aarhus-bruger", PASSWORD).outcome == "ok"
    # Nothing changed, and every 404 is on record as a refusal of kbh-admin (issue 17.3).
    refusals = [(a, u, s) for a, u, s in world.actions()[len(before) :] if not a.startswith("signin")]
    assert [a for a, _u, _s in refusals] == [
        *["access.denied"] * 4,  # the user's page twice (and once the missing one), the other organisation's list
        "grant.add",
        "user.rename",
        "user.deactivate",
        "user.reactivate",
        "user.totp_reset",
        "user.password",
        "access.denied",  # the password form with two different passwords: the user is looked up first
        "access.denied",  # the revocation: the user is looked up first
        "grant.revoke",  # another organisation's grant on an own user's path
        "user.create",
    ]
    assert {u for _a, u, _s in refusals} == {"kbh-admin"}
    assert all("refused, not found" in s for _a, _u, s in refusals)


def test_a_role_the_admin_does_not_hold_is_refused_with_a_message(world: World) -> None:
    world.sign_in("kbh-admin")
    target = world.ids["kbh-analytiker"]
    before = len(world.actions())
    for role, text in (
        ("individ", "Du kan ikke tildele rollen »Individniveau«"),
        ("lokal_admin", "Du kan ikke tildele rollen »Lokal administrator«"),
        ("system_admin", "Du kan ikke tildele rollen »Systemadministrator«"),
    ):
        status, _location, html = world.post(f"{USERS}/{target}/grants", {"role": role, "expires": ""})
        assert status == 403 and _alert(html) == [
            text + ": en lokal administrator tildeler kun roller, den selv har, i sin egen organisation."
        ]
        assert 'id="grant-problems"' in html  # next to the grant form
    status, _location, html = world.post(f"{USERS}/{world.ids['kbh-admin']}/grants", {"role": "aggregeret"})
    assert status == 403 and _alert(html) == [
        "Du kan ikke tildele dig selv en rolle. Bed en anden administrator om det."
    ]
    status, _location, html = world.post(f"{USERS}/{world.ids['kbh-admin']}/deactivate", {})
    assert status == 403 and _alert(html) == ["Du kan ikke deaktivere dig selv."]
    status, _location, html = world.post(
        f"{USERS}/{world.ids['kbh-admin']}/password", {"password": NEW_PASSWORD, "repeat_password": NEW_PASSWORD}
    )
    assert status == 403 and "Skift adgangskode" in _alert(html)[0]
    assert world.pages.users.user(OPERATOR, target).roles == {"aggregeret"}
    assert world.pages.signin.password("kbh-admin", PASSWORD).outcome == "enrol_totp"  # the password is right
    refusals = [(a, s) for a, _u, s in world.actions()[before:] if not a.startswith("signin")]
    assert refusals == [  # each refusal of the grant rules is on record (issue 17.3–4)
        ("grant.add", f"grant individ to user #{target}: refused, your roles do not let you grant individ"),
        ("grant.add", f"grant lokal_admin to user #{target}: refused, your roles do not let you grant lokal_admin"),
        ("grant.add", f"grant system_admin to user #{target}: refused, your roles do not let you grant system_admin"),
        ("grant.add", f"grant aggregeret to user #{world.ids['kbh-admin']}: refused, nobody grants themselves a role"),
        ("user.deactivate", f"deactivate user #{world.ids['kbh-admin']}: refused, you cannot deactivate yourself"),
        (
            "user.password",
            f"set the password of user #{world.ids['kbh-admin']}: refused, "
            "you cannot set your own password here: change it on your account page",
        ),
    ]

    world.client.cookies.set(LANG_COOKIE, "en")
    status, _location, html = world.post(f"{USERS}/{target}/grants", {"role": "individ", "expires": ""})
    assert status == 403 and _alert(html)[0].startswith("You cannot grant the role “Individual level”")
    assert f'href="/lang/da?next=/admin/users/{target}/grants"' in html
    back = world.client.get(f"{USERS}/{target}/grants", follow_redirects=False)  # where the language switch leads
    assert back.status_code == 303 and back.headers["location"] == f"{USERS}/{target}"


def test_an_aggregate_user_gets_the_refusal_page_on_every_admin_page(world: World) -> None:
    world.sign_in("kbh-analytiker")
    assert 'href="/admin/users"' not in world.client.get("/").text
    target = world.ids["kbh-analytiker"]
    grant = world.pages.users.user(OPERATOR, target).grants[0].id
    for path in (USERS, f"{USERS}/{target}", f"{USERS}/{world.ids['aarhus-bruger']}", RECERT):
        page = world.client.get(path)
        assert page.status_code == 403 and "Du har ikke adgang" in page.text, path
    for path, data in (
        (USERS, {"username": "ny", "password": PASSWORD, "repeat_password": PASSWORD}),
        (f"{USERS}/{target}/grants", {"role": "aggregeret"}),
        (f"{USERS}/{target}/rename", {"display_name": "Omdøbt"}),
        (f"{USERS}/{target}/deactivate", {}),
        (f"{USERS}/{target}/reactivate", {}),
        (f"{USERS}/{target}/reset-totp", {}),
        (f"{USERS}/{target}/password", {"password": NEW_PASSWORD, "repeat_password": NEW_PASSWORD}),
        (f"{USERS}/{target}/grants/{grant}/revoke", {}),
    ):
        status, _location, text = world.post(path, data)
        assert status == 403 and "Du har ikke adgang" in text, path
    denied = [s for a, u, s in world.actions() if a == "access.denied" and u == "kbh-analytiker"]
    assert len(denied) == 12 and all("manage_users_own_org or manage_users_all" in s for s in denied)
    assert world.pages.users.user(OPERATOR, target).roles == {"aggregeret"}
    assert world.pages.signin.password("kbh-analytiker", PASSWORD).outcome == "ok"


def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(world: World) -> None:
    world.sign_in("kbh-admin")
    target = world.ids["kbh-analytiker"]
    grant = world.pages.users.user(OPERATOR, target).grants[0].id
    before = len(world.actions())
    for path, data in (
        (USERS, {"username": "uden-csrf", "password": PASSWORD, "repeat_password": PASSWORD}),
        (f"{USERS}/{target}/grants", {"role": "aggregeret"}),
        (f"{USERS}/{target}/rename", {"display_name": "Uden CSRF"}),
        (f"{USERS}/{target}/deactivate", {}),
        (f"{USERS}/{target}/reset-totp", {}),
        (f"{USERS}/{target}/password", {"password": NEW_PASSWORD, "repeat_password": NEW_PASSWORD}),
        (f"{USERS}/{target}/grants/{grant}/revoke", {}),
    ):
        for token in (None, "wrong"):
            form = data if token is None else {"csrf": token, **data}
            answer = world.client.post(path, data=form, follow_redirects=False)
            assert answer.status_code == 403 and "Formularen er udløbet" in answer.text, path
    info = world.pages.users.user(OPERATOR, target)
    assert info.active and info.roles == {"aggregeret"} and len(info.grants) == 1
    assert info.display_name == "kbh-analytiker"
    assert world.pages.signin.password("kbh-analytiker", PASSWORD).outcome == "ok"
    assert "uden-csrf" not in world.client.get(USERS).text
    assert [a for a, _u, _s in world.actions()[before:] if not a.startswith("signin")] == []


def test_bad_input_shows_every_problem_at_once_in_danish_and_in_english(world: World) -> None:
    world.sign_in("kbh-admin")
    bad = {"username": "X", "display_name": "Ny", "password": "qzqz", "repeat_password": "qzqz"}
    status, _location, html = world.post(USERS, bad)
    assert status == 400
    assert _alert(html) == [
        "Brugernavnet skal være 2–64 tegn: små bogstaver a–z, tal og . _ @ -, og det første tegn skal være et "
        "bogstav eller et tal.",
        "Adgangskoden skal være mindst 12 tegn lang.",
        "Adgangskoden skal blande mindst to slags tegn: små bogstaver, store bogstaver, tal eller andre tegn.",
    ]
    assert 'id="new-problems"' in html and 'value="X"' in html and "qzqz" not in html.split("<main", 1)[1]
    status, _location, html = world.post(
        USERS, {"username": "anna", "password": "anna-er-min-kode", "repeat_password": "anna-er-min-kode"}
    )
    assert status == 400 and _alert(html) == ["Adgangskoden må ikke indeholde brugernavnet."]
    status, _location, html = world.post(USERS, {"username": "anna", "password": PASSWORD, "repeat_password": "x"})
    assert status == 400 and _alert(html) == ["De to adgangskoder er ikke ens."]
    status, _location, html = world.post(
        USERS, {"username": "kbh-analytiker", "password": PASSWORD, "repeat_password": PASSWORD}
    )
    assert status == 409 and _alert(html) == ["Der findes allerede en bruger med det brugernavn."]

    target = world.ids["kbh-analytiker"]
    status, _location, html = world.post(f"{USERS}/{target}/password", {"password": "abc", "repeat_password": "abc"})
    assert status == 400 and 'id="password-problems"' in html
    assert _alert(html) == [
        "Adgangskoden skal være mindst 12 tegn lang.",
        "Adgangskoden skal blande mindst to slags tegn: små bogstaver, store bogstaver, tal eller andre tegn.",
    ]
    far = (START + timedelta(days=800)).date().isoformat()
    status, _location, html = world.post(f"{USERS}/{target}/grants", {"role": "aggregeret", "expires": far})
    assert status == 400 and _alert(html) == ["En rolle kan højst tildeles 24 måneder frem."]
    assert f'value="{far}"' in html  # the typed date stays in the form
    status, _location, html = world.post(f"{USERS}/{target}/grants", {"role": "aggregeret", "expires": "2024-01-01"})
    assert status == 400 and _alert(html) == ["Udløbsdatoen skal være i dag eller senere."]
    status, _location, html = world.post(f"{USERS}/{target}/grants", {"role": "aggregeret", "expires": "31-12"})
    assert status == 400 and _alert(html) == ["Skriv udløbsdatoen som en dato, fx 31-12-2026."]
    assert len(world.pages.users.user(OPERATOR, target).grants) == 1

    world.client.cookies.set(LANG_COOKIE, "en")
    status, _location, html = world.post(USERS, bad)
    assert status == 400
    assert _alert(html) == [
        "The user name must be 2–64 characters: lower-case letters a–z, digits and . _ @ -, starting with a "
        "letter or a digit.",
        "The password must be at least 12 characters long.",
        "The password must mix at least two kinds of characters: lower-case letters, upper-case letters, digits "
        "or others.",
    ]
    assert "Create a new user" in html
    status, _location, html = world.post(f"{USERS}/{target}/grants", {"role": "aggregeret", "expires": far})
    assert status == 400 and _alert(html) == ["A role can be granted at most 24 months ahead."]
    assert not any(u == "X" for u in (i.username for i in world.pages.users.users(OPERATOR)))


def test_recertification_lists_grants_that_expire_soon(world: World) -> None:
    users = world.pages.users
    soon = users.create_user(OPERATOR, "snart", organisation="kommune:101", display_name="Snart")
    later = users.create_user(OPERATOR, "senere", organisation="kommune:101")
    elsewhere = users.create_user(OPERATOR, "aarhus-snart", organisation="kommune:751")
    users.grant(OPERATOR, soon.id, "aggregeret", (START + timedelta(days=9)).date())  # through day 9: 10 days left
    users.grant(OPERATOR, later.id, "aggregeret", (START + timedelta(days=200)).date())
    users.grant(OPERATOR, elsewhere.id, "aggregeret", (START + timedelta(days=9)).date())
    world.sign_in("kbh-admin")
    page = world.client.get(RECERT)
    assert page.status_code == 200
    rows = re.findall(r'<tr data-grant="\d+" data-username="([^"]+)"', page.text)
    assert rows == ["snart"]
    row = page.text.split('data-username="snart"', 1)[1].split("</tr>", 1)[0]
    assert "10-05-2025" in row and '<td class="num">10</td>' in row
    assert "1 rolle udløber inden for 30 dage" in page.text
    assert f'href="/admin/users/{soon.id}?role=aggregeret#grant-heading"' in row
    assert 'name="back" value="recertification"' in row
    renew = world.client.get(f"{USERS}/{soon.id}?role=aggregeret").text
    assert '<option value="aggregeret" selected>' in renew

    wider = world.client.get(RECERT, params={"days": "300"}).text
    assert re.findall(r'<tr data-grant="\d+" data-username="([^"]+)"', wider) == ["snart", "senere"]
    for days in ("0", "x", "9999999"):
        bad = world.client.get(RECERT, params={"days": days})
        assert bad.status_code == 400 and _alert(bad.text) == ["Antal dage skal være et helt tal fra 1 til 3660."]

    grant = users.user(OPERATOR, soon.id).grants[0].id
    status, location, _ = world.post(f"{USERS}/{soon.id}/grants/{grant}/revoke", {"back": "recertification"})
    assert (status, location) == (303, f"{RECERT}?done=revoked")
    page = world.client.get(location).text
    assert "Rollen er frataget" in page and 'id="none-expiring"' in page

    world.clock.advance(days=190)  # the later grant now expires within 30 days
    world.sign_in("kbh-admin")  # the earlier session has long ended
    assert re.findall(r'data-username="([^"]+)" data-role', world.client.get(RECERT).text) == ["senere"]

    world.sign_in("systemadmin")
    everyone = world.client.get(RECERT).text
    assert re.findall(r'data-username="([^"]+)" data-role', everyone) == ["senere"]
    world.clock.now = START
    world.sign_in("systemadmin")
    everyone = world.client.get(RECERT).text
    assert re.findall(r'data-username="([^"]+)" data-role', everyone) == ["aarhus-snart"]


def test_system_admin_filters_by_organisation_and_creates_users_anywhere(world: World) -> None:
    world.sign_in("systemadmin")
    everyone = world.client.get(USERS).text
    assert 'data-username="aarhus-bruger"' in everyone and 'data-username="kbh-admin"' in everyone
    assert 'id="filter-organisation"' in everyone and 'id="new-organisation"' in everyone
    aarhus = world.client.get(USERS, params={"organisation": "kommune:751"}).text
    assert 'data-username="aarhus-bruger"' in aarhus and 'data-username="kbh-admin"' not in aarhus
    assert "1 bruger i Aarhus" in aarhus
    assert world.client.get(USERS, params={"organisation": "nonsense"}).status_code == 404
    status, location, _ = world.post(
        USERS,
        {
            "username": "aarhus-admin",
            "organisation": "kommune:751",
            "password": PASSWORD,
            "repeat_password": PASSWORD,
        },
    )
    created = world.pages.users.user_by_name(OPERATOR, "aarhus-admin")
    assert status == 303 and location == f"{USERS}/{created.id}?done=created"
    assert created.organisation == "kommune:751"
    page = world.client.get(location).text
    assert all(f'value="{r}"' in page for r in ("aggregeret", "individ", "lokal_admin", "system_admin"))
    status, _location, _ = world.post(f"{USERS}/{created.id}/grants", {"role": "lokal_admin", "expires": ""})
    assert status == 303 and world.pages.users.user(OPERATOR, created.id).roles == {"lokal_admin"}
    # A user without a password (single sign-on only) is allowed too.
    status, _location, _ = world.post(USERS, {"username": "sso-bruger", "organisation": "kommune:101"})
    assert status == 303 and world.pages.users.user_by_name(OPERATOR, "sso-bruger").active

    # A local administrator cannot touch the system administrator's password, TOTP or account.
    world.sign_in("kbh-admin")
    assert world.client.get(f"{USERS}/{world.ids['systemadmin']}").status_code == 404


def test_the_service_gives_codes_and_keeps_its_new_rules(world: World) -> None:
    users = world.pages.users
    admin = world.principal("kbh-admin")
    with pytest.raises(ForbiddenError) as refused:
        users.set_password(admin, world.ids["kbh-admin"], NEW_PASSWORD)
    assert refused.value.code == "password_self"
    national_admin = users.create_user(OPERATOR, "national-admin", organisation="national", password=PASSWORD)
    users.grant(OPERATOR, national_admin.id, "lokal_admin")
    with pytest.raises(ForbiddenError) as refused:
        users.set_password(users.principal_for(national_admin.id), world.ids["systemadmin"], NEW_PASSWORD)
    assert refused.value.code == "password_system_admin"
    assert world.pages.signin.password("systemadmin", PASSWORD).outcome == "enrol_totp"
    users.set_password(world.principal("systemadmin"), world.ids["kbh-admin"], NEW_PASSWORD)  # the rule still allows
    with pytest.raises(InvalidInputError) as bad:
        users.create_user(admin, "12", password="")
    assert [(p.field, p.code) for p in bad.value.problems] == [
        ("password", "user_password_short"),
        ("password", "user_password_empty"),
    ]
    with pytest.raises(InvalidInputError) as bad:
        users.create_user(admin, "Ø", password="kort")
    assert [p.code for p in bad.value.problems] == ["user_username", "user_password_short", "user_password_kinds"]
    assert bad.value.problems[0].message.startswith("2–64 characters")  # the API's English text is unchanged
    with pytest.raises(InvalidInputError) as bad:
        users.grant(admin, world.ids["kbh-analytiker"], "aggregeret", date(2030, 1, 1))
    assert [(p.code, p.params) for p in bad.value.problems] == [("user_expires_far", (("months", "24"),))]


def test_no_typed_password_in_logs_pages_or_audit(world: World, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    world.sign_in("kbh-admin")
    target = world.ids["kbh-analytiker"]
    secret = "Hemmelig-kode-4711"
    pages = [
        world.post(USERS, {"username": "log-test", "password": secret, "repeat_password": secret})[2],
        world.post(USERS, {"username": "log-test", "password": secret, "repeat_password": secret + "x"})[2],
        world.post(f"{USERS}/{target}/password", {"password": secret, "repeat_password": secret})[2],
        world.post(f"{USERS}/{target}/password", {"password": secret, "repeat_password": "x"})[2],
        world.client.get(f"{USERS}/{target}").text,
    ]
    logged = "\n".join(r.getMessage() for r in caplog.records)
    audited = "\n".join(s for _a, _u, s in world.actions())
    for where, text in {"log": logged, "audit": audited, "pages": "\n".join(pages)}.items():
        assert secret not in text, where
