"""Changing the own password in a real browser: from the start page, problems, success, the other
session signed out, the new password at the next sign-in; axe-core on every state of the page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from browser.conftest import Server
from browser.test_signin import check_page, sign_in
from koes.services.appdb import open_app_database
from koes.services.audit import AuditTrail
from koes.services.users import OPERATOR, UserService
from support import fast_passwords, unique_name

pytestmark = pytest.mark.xdist_group("browser")

OLD = "Gammelt-kodeord-2025"
NEW = "Nyt-og-bedre-kodeord-9"


@pytest.fixture
def username(server: Server) -> str:
    """An analyst of each test's own: the demo users' passwords stay as the other tests expect them."""
    name = f"kode-{unique_name()}"
    database = open_app_database(server.settings)
    try:
        users = UserService(AuditTrail(database), fast_passwords())
        created = users.create_user(
            OPERATOR, name, organisation="kommune:101", display_name="Kodeskifter", password=OLD
        )
        users.grant(OPERATOR, created.id, "aggregeret")
    finally:
        database.dispose()
    return name


def test_a_user_changes_its_password_and_is_signed_out_elsewhere(
    page: Page, browser: Browser, server: Server, username: str
) -> None:
    elsewhere = browser.new_context(base_url=server.url, locale="da-DK")
    other = elsewhere.new_page()
    try:
        sign_in(other, username, OLD)
        expect(other.locator("h1")).to_have_text("Velkommen, Kodeskifter")

        sign_in(page, username, OLD)
        page.get_by_role("link", name="Skift din adgangskode").click()
        expect(page).to_have_url(re.compile(r"/account/password$"))
        expect(page.locator("h1")).to_have_text("Skift adgangskode")
        check_page(page, "password")

        page.get_by_label("Nuværende adgangskode").fill("Forkert-kodeord-1")
        page.get_by_label("Ny adgangskode", exact=True).fill("kort")
        page.get_by_label("Gentag den nye adgangskode").fill("kort")
        page.get_by_role("button", name="Skift adgangskode").click()
        alert = page.get_by_role("alert")
        expect(alert).to_contain_text("Den nuværende adgangskode er forkert")
        expect(alert).to_contain_text("mindst 12 tegn")
        expect(page.get_by_label("Nuværende adgangskode")).to_have_value("")  # never written back
        check_page(page, "password-problems")

        page.get_by_label("Nuværende adgangskode").fill(OLD)
        page.get_by_label("Ny adgangskode", exact=True).fill(NEW)
        page.get_by_label("Gentag den nye adgangskode").fill(NEW)
        page.get_by_role("button", name="Skift adgangskode").click()
        expect(page.get_by_role("status")).to_have_text(
            "Din adgangskode er skiftet. Du er logget ud alle andre steder."
        )
        check_page(page, "password-changed")

        other.goto("/")
        expect(other).to_have_url(re.compile(r"/login\?next="))  # the other session ended
        page.goto("/")
        expect(page.locator("h1")).to_have_text("Velkommen, Kodeskifter")  # this one goes on

        page.get_by_role("button", name="Log ud").click()
        sign_in(page, username, OLD)
        expect(page.get_by_role("alert")).to_contain_text("Brugernavnet eller adgangskoden er forkert")
        sign_in(page, username, NEW)
        expect(page.locator("h1")).to_have_text("Velkommen, Kodeskifter")
    finally:
        elsewhere.close()


def test_the_password_page_in_english(page: Page, username: str) -> None:
    sign_in(page, username, OLD)
    page.goto("/account/password")
    page.get_by_role("link", name="English").click()
    expect(page.locator("h1")).to_have_text("Change password")
    page.get_by_label("Current password").fill(OLD)
    page.get_by_label("New password", exact=True).fill("Et-helt-tredje-kodeord-1")
    page.get_by_label("Repeat the new password").fill("Noget-andet-kodeord-2")
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("alert")).to_contain_text("The two new passwords are not the same.")
    check_page(page, "password-en")
