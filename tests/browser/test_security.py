"""Issue 17 in a real browser: no CPR-shaped number is echoed (the analysis page, the sign-in page,
and a tour of the pages and API answers with CPR-shaped values in addresses, forms and bodies, every
answer scanned by ``CprScan``), and the pages work under the Content-Security-Policy that
docs/access.md quotes, which allows no inline script or style."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote_plus

import pytest
from playwright.sync_api import APIResponse, Browser, Page, expect

from browser.conftest import CprScan, Server, cpr_numbers
from browser.signing import second_factor
from browser.test_signin import sign_in
from browser.test_status_page import ADMIN
from koes.services.demo import DEMO_PASSWORD

pytestmark = pytest.mark.xdist_group("browser")
ROOT = Path(__file__).resolve().parents[2]
ANALYST = "kbh-analytiker"
CPR = "0101901234"
HIDDEN = ("0101901234", "010190-1234", "%30101901234", "010190%2D1234")  # as typed, and encoded


def _no_cpr(text: str) -> None:
    assert CPR not in cpr_numbers([text]), "a CPR-shaped number came back"


# --- 1 and 2: the two echoes the tamper suite found ----------------------------------------------


@pytest.mark.parametrize("value", HIDDEN)
def test_the_analysis_page_echoes_no_cpr_number(page: Page, cpr_scan: CprScan, value: str) -> None:
    sign_in(page, ANALYST, DEMO_PASSWORD)
    answer = page.goto(f"/analyse?perspective=somatik&f.kommune={value}&measure=indlaeggelser")
    assert answer is not None and answer.status == 200
    _no_cpr(page.content())
    english = page.get_by_role("link", name="English")
    href = english.get_attribute("href") or ""
    assert "XXXXXX-XXXX" in unquote_plus(href)  # the language switch keeps the address, masked
    _no_cpr(href)
    links = page.locator("a[href], form[action]").evaluate_all(
        "es => es.map(e => e.getAttribute('href') || e.getAttribute('action'))"
    )
    values = page.locator("input").evaluate_all("es => es.map(e => e.value)")
    _no_cpr("\n".join(links + values))
    english.click()
    assert page.locator("html").get_attribute("lang") == "en"
    _no_cpr(page.url)
    assert cpr_scan.carrying >= 1  # the scan saw the request that carried the number


def test_the_sign_in_page_refills_no_cpr_number(page: Page, cpr_scan: CprScan) -> None:
    page.goto(f"/login?next={quote(f'/analyse?f.kommune={CPR}', safe='')}")
    next_field = page.locator("input[name=next]")
    assert next_field.get_attribute("value") == "/analyse?f.kommune=XXXXXX-XXXX"
    page.get_by_label("Brugernavn").fill(CPR)
    page.get_by_label("Adgangskode").fill("Forkert-adgangskode-1")
    with page.expect_response(lambda r: r.url.endswith("/login") and r.request.method == "POST") as posted:
        page.get_by_role("button", name="Log ind").click()
    assert posted.value.status == 401
    expect(page.get_by_role("alert")).to_contain_text("Brugernavnet eller adgangskoden er forkert")
    expect(page.get_by_label("Brugernavn")).to_have_value("XXXXXX-XXXX")
    _no_cpr(page.content())
    # Signing in from there goes on to the masked address, never the one typed.
    page.get_by_label("Brugernavn").fill(ANALYST)
    page.get_by_label("Adgangskode").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log ind").click()
    expect(page).to_have_url(re.compile(r"/analyse\?f\.kommune=XXXXXX-XXXX$"))
    assert cpr_scan.carrying >= 2


# --- the tour: every page and API answer, with CPR-shaped values wherever a request can carry them --


def _api(cpr_scan: CprScan, page: Page, token: str, method: str, url: str, body: Any = None) -> APIResponse:
    headers = {"Authorization": f"Bearer {token}"}
    answer = page.request.fetch(url, method=method, headers=headers, data=body)
    text = answer.text() if not answer.headers.get("content-type", "").endswith("sheet") else ""
    sent = f"{body!r}" if body is not None else ""
    cpr_scan.check(f"{method} {url}", [url, sent], [*(f"{k}: {v}" for k, v in answer.headers.items()), text])
    return answer


def test_a_tour_of_the_pages_echoes_no_cpr_number(page: Page, cpr_scan: CprScan) -> None:
    page.goto(f"/lang/en?next=/standard/{CPR}")  # the language switch of a page not signed in
    page.goto(f"/lang/da?next=/analyse%3Ff.kommune%3D{CPR}")
    sign_in(page, ANALYST, DEMO_PASSWORD, next_path=quote(f"/standard/noegletal?municipality={CPR}", safe=""))
    for path in (
        f"/?x={CPR}",
        f"/standard?x={CPR}",
        f"/standard/noegletal?municipality={CPR}&year={CPR}",
        f"/standard/{CPR}",
        f"/analyse?perspective={CPR}&measure={CPR}&row={CPR}&column={CPR}&f.{CPR}={CPR}&from={CPR}&to={CPR}"
        f"&segment={CPR}&compare=1&municipality={CPR}&chart={CPR}",
        f"/analyse?perspective=somatik&f.kommune=010190-1234&saved={CPR}",
        f"/analyse/saved?problem={CPR}&done={CPR}",
        f"/account/password?done={CPR}",
        f"/account/tokens?done={CPR}",
        f"/findes-ikke/{CPR}",
        f"/admin/users?organisation=kommune:{CPR}",
        f"/admin/audit?user={CPR}",
    ):
        answer = page.goto(path)
        assert answer is not None, path
    for path in (f"/analyse/export?format=csv&f.kommune={CPR}", f"/standard/noegletal/export?format=csv&year={CPR}"):
        download = page.request.get(path)
        cpr_scan.check(f"GET {path}", [path], [download.text()])
    # Forms: a token's name, a saved analysis' name, the password form.
    page.goto("/account/tokens")
    page.get_by_label("Navn (fx programmets eller maskinens)").fill(f"nøgle {CPR}")
    page.get_by_role("button", name="Opret API-nøgle").click()
    expect(page.get_by_role("alert")).to_contain_text("CPR-nummer")
    page.goto("/account/password")
    page.get_by_label("Nuværende adgangskode").fill(f"Forkert-{CPR}")
    page.get_by_label("Ny adgangskode", exact=True).fill(f"Ny-kode-{CPR}")
    page.get_by_label("Gentag den nye adgangskode").fill(f"Ny-kode-{CPR}x")
    page.get_by_role("button", name="Skift adgangskode").click()
    expect(page.get_by_role("alert")).to_be_visible()
    assert cpr_scan.carrying >= 15


def test_a_tour_of_the_api_echoes_no_cpr_number(page: Page, cpr_scan: CprScan, token: str) -> None:
    page.goto("/login")
    request = {"perspective": "somatik", "measures": ["indlaeggelser"], "rows": ["koen"]}
    for method, url, body in (
        ("GET", f"/api/v1/catalog?lang={CPR}", None),
        ("POST", "/api/v1/analysis", {**request, "filters": {"kommune": [int(CPR[1:]) + 10**9, CPR, "010190-1234"]}}),
        ("POST", "/api/v1/analysis", {**request, "rows": [CPR], "measures": [CPR], CPR: 1}),
        ("POST", "/api/v1/analysis", {**request, "period": {"from": CPR, "to": CPR}, "segment": CPR}),
        ("POST", f"/api/v1/analysis/export?format=csv&delimiter={CPR}", request),
        ("GET", f"/api/v1/users/{CPR}", None),
        ("GET", f"/api/v1/audit?organisation=kommune:{CPR}&since={CPR}", None),
        ("POST", "/api/v1/tokens", {"name": f"nøgle {CPR}", "scopes": [CPR], "days": int(CPR[1:])}),
        ("DELETE", f"/api/v1/tokens/{CPR}", None),
        ("GET", f"/api/v1/reports/{CPR}", None),
        ("GET", f"/api/v1/reports/noegletal?municipality={CPR}&year={CPR}", None),
        ("GET", f"/api/v1/analyses/{CPR}", None),
        ("POST", "/api/v1/analyses", {"name": f"Mit {CPR}", "request": {**request, "filters": {"kommune": [CPR]}}}),
        ("GET", f"/api/v1/{CPR}", None),
    ):
        answer = _api(cpr_scan, page, token, method, url, body)
        assert answer.status < 500, (method, url, answer.text())
    assert cpr_scan.carrying >= 14
    assert cpr_scan.leaks == []


def test_an_administrators_tour_echoes_no_cpr_number(page: Page, server: Server, cpr_scan: CprScan) -> None:
    sign_in(page, ADMIN, DEMO_PASSWORD)
    second_factor(page, server, ADMIN)
    for path in (
        f"/admin/users?organisation=kommune:{CPR}",
        f"/admin/users/{CPR}",
        f"/admin/users/{CPR}/grants",
        f"/admin/recertification?days={CPR}",
        f"/admin/audit?user={CPR}&from={CPR}&action={CPR}&organisation={CPR}",
        f"/admin/status?x={CPR}",
    ):
        assert page.goto(path) is not None, path
    download = f"/admin/audit.csv?user={CPR}"
    cpr_scan.check(f"GET {download}", [download], [page.request.get(download).text()])
    page.goto("/admin/users")
    page.get_by_label("Brugernavn").fill(CPR)
    page.get_by_label("Navn (vises i KØS)").fill(f"Ny {CPR}")
    page.get_by_label("Adgangskode (valgfri)").fill(f"Kode-{CPR}-ab")
    page.get_by_label("Gentag adgangskoden").fill(f"Kode-{CPR}-ab")
    page.get_by_role("button", name="Opret bruger").click()
    expect(page.get_by_label("Brugernavn")).to_have_value("XXXXXX-XXXX")
    _no_cpr(page.content())
    assert cpr_scan.carrying >= 8


# --- 5: the Content-Security-Policy, against the docs, with no inline style ------------------------


def documented_policy() -> str:
    """The policy docs/access.md quotes (the line ``Content-Security-Policy: …``)."""
    found = re.search(r"^\s*Content-Security-Policy: (.+)$", (ROOT / "docs" / "access.md").read_text(), re.M)
    assert found is not None, "docs/access.md quotes no Content-Security-Policy"
    return found.group(1).strip()


@pytest.fixture
def strict_page(browser: Browser, server: Server) -> Iterator[Page]:
    """A page under the app's own policy (no bypass: nothing is injected), collecting every violation."""
    context = browser.new_context(base_url=server.url, locale="da-DK")
    context.add_init_script(
        "window.__violations = [];"
        "document.addEventListener('securitypolicyviolation',"
        " e => window.__violations.push([e.violatedDirective, e.blockedURI, e.sourceFile, e.lineNumber]));"
    )
    page = context.new_page()
    yield page
    context.close()


def test_the_pages_draw_under_a_policy_without_inline_style(strict_page: Page) -> None:
    page = strict_page
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text) if "Content Security Policy" in m.text else None)
    answer = page.goto("/login")
    assert answer is not None
    policy = answer.headers["content-security-policy"]
    assert policy == documented_policy()
    assert "unsafe-inline" not in policy and "style-src 'self'" in policy
    sign_in(page, ANALYST, DEMO_PASSWORD, next_path="/standard/noegletal")
    for path in ("/standard/noegletal", "/analyse?perspective=somatik&row=koen&column=aar&from=2022&to=2023"):
        if path != "/standard/noegletal":
            page.goto(path)
        chart = page.locator("[data-chart][data-drawn=true]").first
        expect(chart).to_be_visible(timeout=30_000)  # a report not answered before takes a while
        chart.hover()  # Plotly's hover labels and mode bar
        # Plotly.js's own rules come from /vendor/plotly.css: its SVG layers are positioned by them ...
        position = chart.locator(".main-svg").first.evaluate("e => getComputedStyle(e).position")
        assert position == "absolute", path
        # ... and it made no <style> element of its own.
        assert page.evaluate("document.querySelectorAll('style').length") == 0, path
        assert page.evaluate("window.__violations") == [], path
    assert console == []
