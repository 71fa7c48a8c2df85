"""A tour of the web app as every demo user, in Danish and English (issue 18): every page the start
page offers, and every Standard report as the analyst. Each page visited must not show a known
English leak in Danish mode, nor a rate label cut at its thousands separator ("per 1", "pr. 1"),
nor offer a link that answers 4xx, nor have a serious axe-core finding; a screenshot of each page
goes to test-artifacts/screenshots/tour-*.png."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect

from browser.conftest import Server
from browser.signing import second_factor
from browser.test_dashboards import in_language
from browser.test_signin import check_page, sign_in
from koes.reports.loader import default_reports
from koes.services.demo import DEMO_PASSWORD, DEMO_USERS
from support import english_leaks

pytestmark = pytest.mark.xdist_group("browser")
SECOND_FACTOR = {"individ", "lokal_admin", "system_admin"}  # roles that ask for TOTP at sign-in
CUT_RATE = {"en": re.compile(r"\bper 1(?![0-9,])"), "da": re.compile(r"\bpr\. 1(?![0-9.])")}
NOT_VISITED = ("/logout", "/lang/", "/login")  # they change the session or the language, not a page
TEXTS = """() => [document.body.innerText].concat(
  Array.from(document.querySelectorAll('[title], [data-title], [aria-label]')).map(e =>
    [e.getAttribute('title'), e.getAttribute('data-title'), e.getAttribute('aria-label')].join(' ')))"""
LINKS = """() => Array.from(document.querySelectorAll('a[href]'))
  .filter(a => !a.closest('svg.koes-map') || a.getAttribute('data-kommunekode') === '751')
  .map(a => a.getAttribute('href'))"""


def offered(page: Page) -> list[str]:
    """The same-site links the page offers (one map area of 98 stands for them all)."""
    out = []
    for href in page.evaluate(LINKS):
        parts = urlsplit(href)
        if parts.scheme or parts.netloc or not href.startswith("/") or href.startswith(NOT_VISITED):
            continue
        out.append(href)
    return out


def check_tour_page(page: Page, lang: str, name: str, checked: set[str]) -> None:
    """Cut rate labels in both languages; in Danish also leaks, links that answer 4xx, axe-core and
    a screenshot. The links and the markup axe-core reads are the same in both languages (only the
    words differ), so an English page is checked for what only its words can get wrong: that keeps
    the tour at about half its time (every page is still opened, and must answer, in English)."""
    texts = " ".join(page.evaluate(TEXTS))
    cut = CUT_RATE[lang].findall(texts)
    assert cut == [], f"{name}: a rate label cut at its thousands separator"
    if lang != "da":
        return
    leaks = english_leaks(texts)
    assert leaks == [], f"{name}: English on a Danish page: {leaks}"
    for href in offered(page):
        if href in checked:
            continue
        checked.add(href)
        answer = page.request.get(href)
        assert answer.status < 400, f"{name} offers {href}, which answers {answer.status}"
    check_page(page, f"tour-{name}")


def slug(path: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", urlsplit(path).path.lower()).strip("-") or "start"


@pytest.mark.parametrize("lang", ["da", "en"])
@pytest.mark.parametrize("demo", DEMO_USERS, ids=[d.username for d in DEMO_USERS])
def test_every_page_the_start_page_offers(page: Page, server: Server, demo: object, lang: str) -> None:
    username: str = demo.username  # type: ignore[attr-defined]
    roles: tuple[str, ...] = demo.roles  # type: ignore[attr-defined]
    sign_in(page, username, DEMO_PASSWORD)
    if SECOND_FACTOR & set(roles):
        second_factor(page, server, username)
    expect(page).to_have_url(re.compile(r"127\.0\.0\.1:\d+/$"))
    in_language(page, lang)
    checked: set[str] = set()
    check_tour_page(page, lang, f"{username}-{lang}-start", checked)
    pages = [href for href in offered(page) if urlsplit(href).path != "/"]
    for href in dict.fromkeys(pages):
        response = page.goto(href)
        assert response is not None and response.status < 400, f"{href}: {response and response.status}"
        check_tour_page(page, lang, f"{username}-{lang}-{slug(href)}", checked)


@pytest.mark.parametrize("lang", ["da", "en"])
def test_every_standard_report(page: Page, lang: str) -> None:
    sign_in(page, "kbh-analytiker", DEMO_PASSWORD, next_path="/standard")
    in_language(page, lang)
    checked: set[str] = set()
    for report_id in default_reports().reports:
        response = page.goto(f"/standard/{report_id}")
        assert response is not None and response.status == 200
        check_tour_page(page, lang, f"report-{report_id}-{lang}", checked)
