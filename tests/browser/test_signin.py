"""Sign-in in a real browser: the pages, the sessions, CSRF, languages, and axe-core on every page."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any

import pyotp
import pytest
from playwright.sync_api import Page, expect

from browser.conftest import AXE, NO_GRANT_PASSWORD, NO_GRANT_USER, SCREENSHOTS
from koes.services.demo import DEMO_PASSWORD

pytestmark = pytest.mark.xdist_group("browser")


def check_page(page: Page, name: str) -> None:
    """A screenshot of the page, and no serious or critical axe-core violation on it."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    if not AXE.exists():
        return  # test_axe_core_is_installed says so (and fails in CI)
    page.add_script_tag(path=str(AXE))
    violations: list[Any] = page.evaluate(
        "axe.run().then(r => r.violations.map(v => [v.id, v.impact, v.nodes.map(n => n.target.join(' '))]))"
    )
    bad = [v for v in violations if v[1] in ("serious", "critical")]
    assert bad == [], f"axe-core on {name}: {bad}"


def sign_in(page: Page, username: str, password: str, next_path: str = "/") -> None:
    page.goto(f"/login?next={next_path}")
    page.get_by_label("Brugernavn").fill(username)
    page.get_by_label("Adgangskode").fill(password)
    page.get_by_role("button", name="Log ind").click()


def test_axe_core_is_installed() -> None:
    if AXE.exists():
        return
    message = f"{AXE} is missing: run make test (npm install --prefix .cache/npm axe-core@4)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def test_not_signed_in_goes_to_the_login_page_and_never_elsewhere(page: Page) -> None:
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login\?next=%2F$"))
    assert page.locator("html").get_attribute("lang") == "da"
    check_page(page, "login")
    sign_in(page, "kbh-analytiker", DEMO_PASSWORD, next_path="https://evil.example/")
    expect(page).to_have_url(re.compile(r"127\.0\.0\.1:\d+/$"))


def test_aggregate_user_sees_start_page_and_can_switch_to_english(page: Page) -> None:
    sign_in(page, "kbh-analytiker", DEMO_PASSWORD)
    expect(page.locator("h1")).to_have_text("Velkommen, Analytiker, København")
    header = page.locator(".who")
    expect(header.locator(".who-name")).to_have_text("Analytiker, København")
    expect(header.locator(".who-organisation")).to_contain_text("København")
    expect(header.locator(".who-roles")).to_have_text("Aggregerede tal")
    expect(page.locator("#rights")).to_contain_text("Lave analyser")
    expect(page.locator("#route-standard").get_by_role("link")).to_have_attribute("href", "/standard")
    expect(page.locator("#route-analyse").get_by_role("link")).to_have_attribute("href", "/analyse")
    expect(page.locator("#route-avanceret")).to_have_count(0)  # no individual_rows
    check_page(page, "start-da")

    page.get_by_role("link", name="English").click()
    assert page.locator("html").get_attribute("lang") == "en"
    expect(page.locator("h1")).to_have_text("Welcome, Analytiker, København")
    expect(page.locator("#rights")).to_contain_text("Run analyses")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    expect(page.locator("#route-analyse").get_by_role("link")).to_have_text("Analysis")
    check_page(page, "start-en")


def test_session_cookie_is_httponly_and_samesite_strict(page: Page) -> None:
    page.goto("/login")
    before = {c["name"]: c for c in page.context.cookies()}["koes_session"]
    sign_in(page, "aarhus-analytiker", DEMO_PASSWORD)
    expect(page.locator("h1")).to_contain_text("Velkommen")
    cookie = {c["name"]: c for c in page.context.cookies()}["koes_session"]
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Strict"
    assert cookie["path"] == "/"
    assert cookie["secure"] is False  # plain http here; https (or secure_cookies) makes it Secure
    assert cookie["value"] != before["value"]  # a new session at sign-in
    assert page.evaluate("document.cookie").find("koes_session") == -1


def test_individual_user_enrols_totp_then_needs_a_code(page: Page) -> None:
    sign_in(page, "kbh-sagsbehandler", DEMO_PASSWORD)
    expect(page).to_have_url(re.compile(r"/totp/enrol"))
    expect(page.locator(".qr svg")).to_be_visible()
    check_page(page, "totp-enrol")
    secret = (page.locator("#totp-secret").text_content() or "").strip()
    totp = pyotp.TOTP(secret)
    page.get_by_label("Den 6-cifrede kode, som appen viser nu").fill(totp.now())
    page.get_by_role("button", name="Bekræft og aktivér").click()
    expect(page.locator("h1")).to_have_text("Dine gendannelseskoder")
    expect(page.locator(".recovery-codes li")).to_have_count(10)
    check_page(page, "recovery-codes")
    page.get_by_role("link", name="Fortsæt til forsiden").click()
    expect(page.locator("#route-avanceret")).to_be_visible()
    expect(page.locator(".who-roles")).to_have_text("Individniveau")

    page.get_by_role("button", name="Log ud").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login\?next="))  # the old session is gone

    sign_in(page, "kbh-sagsbehandler", DEMO_PASSWORD)
    expect(page).to_have_url(re.compile(r"/login/totp"))
    check_page(page, "totp")
    page.get_by_label("Kode eller gendannelseskode").fill("000000" if totp.now() != "000000" else "111111")
    page.get_by_role("button", name="Bekræft").click()
    expect(page.get_by_role("alert")).to_contain_text("Koden er forkert")
    check_page(page, "totp-wrong")
    page.get_by_label("Kode eller gendannelseskode").fill(totp.at(time.time() + 30))  # the next step: not a replay
    page.get_by_role("button", name="Bekræft").click()
    expect(page.locator("h1")).to_have_text("Velkommen, Sagsbehandler, København")


def test_wrong_password_and_unknown_user_get_the_same_generic_error(page: Page) -> None:
    sign_in(page, "aarhus-sagsbehandler", "Forkert-adgangskode-1")
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Brugernavnet eller adgangskoden er forkert")
    wrong = alert.text_content()
    check_page(page, "login-failed")
    sign_in(page, "findes-ikke", "Forkert-adgangskode-1")
    expect(page.get_by_role("alert")).to_have_text(wrong or "")
    expect(page.get_by_label("Brugernavn")).to_have_value("findes-ikke")


def test_user_without_a_grant_is_refused_with_a_clear_page(page: Page) -> None:
    sign_in(page, NO_GRANT_USER, NO_GRANT_PASSWORD)
    expect(page.locator("h1")).to_have_text("Du har ingen rettigheder i KØS")
    expect(page.get_by_role("link", name="Gå til log ind")).to_be_visible()
    check_page(page, "no-access")
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login\?next="))


def test_a_form_without_its_csrf_token_is_refused(page: Page) -> None:
    page.goto("/login")
    page.locator("input[name=csrf]").evaluate("e => e.remove()")
    page.get_by_label("Brugernavn").fill("kbh-analytiker")
    page.get_by_label("Adgangskode").fill(DEMO_PASSWORD)
    with page.expect_response(lambda r: r.url.endswith("/login") and r.request.method == "POST") as answer:
        page.get_by_role("button", name="Log ind").click()
    assert answer.value.status == 403
    expect(page.locator("h1")).to_have_text("Formularen er udløbet")
    check_page(page, "csrf")
    response = page.request.post("/logout", form={"csrf": "forged"})
    assert response.status == 403


def test_unknown_page_is_a_page_a_person_understands(page: Page) -> None:
    response = page.goto("/findes-ikke")
    assert response is not None and response.status == 404
    expect(page.locator("h1")).to_have_text("Siden findes ikke")
    headers = response.headers
    assert headers["x-frame-options"] == "DENY"
    assert "default-src 'self'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    check_page(page, "not-found")
    assert Path(SCREENSHOTS / "not-found.png").exists()
