"""The audit page for administrators (``/admin/audit``) and its CSV export, without a browser."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from koes.services.audit import ACTIONS, AuditEvent, AuditTrail
from koes.services.demo import ensure_demo_users
from koes.services.users import OPERATOR
from koes.settings import Settings
from koes.web.app import create_app
from koes.web.i18n import LANG_COOKIE, LANGUAGES, catalog
from koes.web.pages.audit import danish_time
from koes.web.pages.common import SESSION_COOKIE, Pages
from support import fast_passwords

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient


@pytest.fixture
def app_pages(tmp_path: Path) -> Iterator[tuple[TestClient, Pages]]:
    app = create_app(Settings(data_dir=tmp_path))
    pages = app.state.pages
    assert isinstance(pages, Pages)
    trail = pages.signin.trail
    ensure_demo_users(trail, fast_passwords())
    for organisation, user, action in [
        ("kommune:101", "kbh-analytiker", "analysis"),
        ("kommune:101", "kbh-analytiker", "export"),
        ("kommune:751", "aarhus-analytiker", "analysis"),
        ("kommune:751", "aarhus-analytiker", "export"),
    ]:
        _record(trail, organisation, user, action)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, pages


def _record(trail: AuditTrail, organisation: str, user: str, action: str) -> None:
    trail.record(
        AuditEvent(
            at=datetime.now(UTC),
            user=user,
            organisation=organisation,
            action=action,
            summary=f"test {action} by {user}",
            request_hash="0" * 64,
            scope="",
            rows_returned=3,
            cells_returned=12,
            cells_suppressed=2,
        )
    )


def _sign_in(client: TestClient, pages: Pages, username: str) -> None:
    user_id = pages.users.user_by_name(OPERATOR, username).id
    new = pages.sessions.start("signed_in", user_id, second_factor=True)
    client.cookies.set(SESSION_COOKIE, new.token)


def _organisations(html: str) -> set[str]:
    table = html.split('id="audit-table"', 1)[1].split("</table>", 1)[0]
    return set(re.findall(r"<td>([^<]*(?:København|Aarhus|national|kommune:\d+)[^<]*)</td>", table))


def _actions(html: str) -> list[str]:
    table = html.split('id="audit-table"', 1)[1].split("</table>", 1)[0]
    return re.findall(r'<td class="action" data-action="([^"]+)">', table)  # the code; the cell names it


def test_local_admin_sees_only_its_own_organisation(app_pages: tuple[TestClient, Pages]) -> None:
    client, pages = app_pages
    _sign_in(client, pages, "kbh-admin")
    page = client.get("/admin/audit")
    assert page.status_code == 200
    assert "kbh-analytiker" in page.text and "aarhus-analytiker" not in page.text
    names = pages.organisation_names
    assert _organisations(page.text) == {names.get("kommune:101", "kommune:101")}
    assert 'name="organisation"' not in page.text  # no organisation filter for a local administrator
    assert "<caption" in page.text and '<th scope="col">' in page.text and '<th scope="row">' in page.text
    # the newest first
    times = re.findall(r'<time datetime="([^"]+)">', page.text)
    assert times == sorted(times, reverse=True)


@pytest.mark.parametrize("other", ["kommune:751", "national", "region:1084"])
def test_local_admin_cannot_widen_with_an_organisation_parameter(
    app_pages: tuple[TestClient, Pages], other: str
) -> None:
    client, pages = app_pages
    _sign_in(client, pages, "kbh-admin")
    page = client.get("/admin/audit", params={"organisation": other})
    assert page.status_code == 404  # as the API: another organisation does not exist for it
    assert "aarhus-analytiker" not in page.text
    export = client.get("/admin/audit.csv", params={"organisation": other})
    assert export.status_code == 404 and "aarhus-analytiker" not in export.text
    own = client.get("/admin/audit", params={"organisation": "kommune:101"})
    assert own.status_code == 200 and "aarhus-analytiker" not in own.text


def test_system_admin_sees_all_and_can_filter(app_pages: tuple[TestClient, Pages]) -> None:
    client, pages = app_pages
    _sign_in(client, pages, "systemadmin")
    page = client.get("/admin/audit")
    assert page.status_code == 200
    assert "kbh-analytiker" in page.text and "aarhus-analytiker" in page.text
    assert 'name="organisation"' in page.text
    aarhus = client.get("/admin/audit", params={"organisation": "kommune:751", "action": "export"})
    assert aarhus.status_code == 200
    assert _actions(aarhus.text) == ["export"]
    assert "aarhus-analytiker" in aarhus.text and "kbh-analytiker" not in aarhus.text
    by_user = client.get("/admin/audit", params={"user": "kbh-analytiker", "outcome": "ok"})
    assert sorted(_actions(by_user.text)) == ["analysis", "export"]
    bad = client.get("/admin/audit", params={"from": "31-12-2024", "action": "nope"})
    assert bad.status_code == 400 and 'role="alert"' in bad.text


def test_aggregate_user_gets_the_403_page_and_is_recorded(app_pages: tuple[TestClient, Pages]) -> None:
    client, pages = app_pages
    _sign_in(client, pages, "kbh-analytiker")
    for path in ("/admin/audit", "/admin/audit.csv"):
        page = client.get(path)
        assert page.status_code == 403 and page.headers["content-type"].startswith("text/html")
        assert "Du har ikke adgang" in page.text
    denied = [r.event for r in pages.signin.trail.records() if r.event.action == "access.denied"]
    assert [d.user for d in denied] == ["kbh-analytiker", "kbh-analytiker"]
    assert 'href="/admin/audit"' not in client.get("/").text


def test_not_signed_in_goes_to_the_login_page(app_pages: tuple[TestClient, Pages]) -> None:
    client, _pages = app_pages
    answer = client.get("/admin/audit", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/login?next=%2Fadmin%2Faudit"


def test_csv_export_has_bom_semicolons_and_the_filtered_rows(app_pages: tuple[TestClient, Pages]) -> None:
    client, pages = app_pages
    _sign_in(client, pages, "systemadmin")
    answer = client.get("/admin/audit.csv", params={"organisation": "kommune:751", "action": "analysis"})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert "attachment" in answer.headers["content-disposition"]
    assert answer.content.startswith(b"\xef\xbb\xbf")
    lines = answer.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("id;at;user;organisation;action;outcome")
    assert len(lines) == 2 and ";aarhus-analytiker;kommune:751;analysis;ok;" in lines[1]
    exported = [r.event for r in pages.signin.trail.records() if r.event.action == "audit.export"]
    assert len(exported) == 1 and exported[0].user == "systemadmin" and exported[0].rows_returned == 1
    assert "organisation=kommune:751" in exported[0].summary and "action=analysis" in exported[0].summary


def test_viewing_writes_an_audit_record(app_pages: tuple[TestClient, Pages]) -> None:
    client, pages = app_pages
    _sign_in(client, pages, "kbh-admin")
    assert client.get("/admin/audit", params={"action": "analysis"}).status_code == 200
    viewed = [r.event for r in pages.signin.trail.records() if r.event.action == "audit.view"]
    assert len(viewed) == 1
    assert viewed[0].user == "kbh-admin" and viewed[0].organisation == "kommune:101"
    assert "organisation=kommune:101" in viewed[0].summary and "action=analysis" in viewed[0].summary
    assert viewed[0].rows_returned == 1
    assert pages.signin.trail.verify() == []


def test_start_page_links_to_the_audit_for_administrators(app_pages: tuple[TestClient, Pages]) -> None:
    client, pages = app_pages
    _sign_in(client, pages, "kbh-admin")
    assert 'href="/admin/audit"' in client.get("/").text


def test_pages_of_100_with_next_and_previous_links(app_pages: tuple[TestClient, Pages]) -> None:
    client, pages = app_pages
    for _ in range(150):
        _record(pages.signin.trail, "kommune:101", "kbh-analytiker", "analysis")
    _sign_in(client, pages, "kbh-admin")
    first = client.get("/admin/audit", params={"action": "analysis"})
    assert len(_actions(first.text)) == 100 and 'rel="next"' in first.text and 'rel="prev"' not in first.text
    second = client.get("/admin/audit", params={"action": "analysis", "page": "2"})
    assert len(_actions(second.text)) == 51 and 'rel="prev"' in second.text and 'rel="next"' not in second.text
    assert "101–151 af 151" in second.text


def test_times_are_shown_in_danish_format_and_time() -> None:
    assert danish_time(datetime(2025, 7, 1, 10, 5, tzinfo=UTC)) == "01-07-2025 12:05"
    assert danish_time(datetime(2025, 1, 1, 10, 5, tzinfo=UTC)) == "01-01-2025 11:05"


def test_every_audit_action_has_a_danish_and_an_english_label() -> None:
    texts = catalog()
    missing = [a for a in ACTIONS if f"audit.action.{a}" not in texts]
    assert missing == [], "add audit.action.<action> to messages.yaml"
    for action in ACTIONS:
        labels = texts[f"audit.action.{action}"]
        assert set(labels) == set(LANGUAGES) and all(labels[lang].strip() for lang in LANGUAGES)
        assert labels["da"] != action and labels["en"] != action  # a readable label, not the id again
    for lang in LANGUAGES:  # two actions with one label could not be told apart in the list
        shown = [texts[f"audit.action.{a}"][lang] for a in ACTIONS]
        assert len(set(shown)) == len(shown), lang


@pytest.mark.parametrize(
    ("lang", "label"), [("da", "Totrinsbekræftelse slået til"), ("en", "Two-step verification turned on")]
)
def test_the_action_filter_shows_labels_and_keeps_the_ids_as_values(
    app_pages: tuple[TestClient, Pages], lang: str, label: str
) -> None:
    client, pages = app_pages
    _sign_in(client, pages, "kbh-admin")
    client.cookies.set(LANG_COOKIE, lang)
    page = client.get("/admin/audit", params={"action": "totp.confirm"})
    assert page.status_code == 200
    select = page.text.split('id="f-action"', 1)[1].split("</select>", 1)[0]
    options = re.findall(r'<option value="([^"]*)"( selected)?>([^<]+)</option>', select)
    assert [value for value, _selected, _text in options] == ["", *ACTIONS]
    assert ("totp.confirm", " selected", label) in options
    assert not any(text in ACTIONS for _value, _selected, text in options)
