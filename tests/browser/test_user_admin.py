"""User administration in a real browser: the demo local administrator creates a user, grants it
``aggregeret`` for ten days, sees it in the list and on the recertification page, and revokes it;
axe-core on the list, the user and the recertification page."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect

from browser.conftest import Server
from browser.signing import second_factor
from browser.test_signin import check_page, sign_in
from browser.test_status_page import ADMIN
from koes.services.demo import DEMO_PASSWORD
from koes.services.user_rules import DEFAULT_GRANT_MONTHS, add_months
from support import unique_name

pytestmark = pytest.mark.xdist_group("browser")
PASSWORD = "Ny-medarbejder-2025"


def test_local_admin_creates_a_user_grants_and_revokes_a_role(page: Page, server: Server) -> None:
    username = f"ny-{unique_name()}"
    sign_in(page, ADMIN, DEMO_PASSWORD)
    second_factor(page, server, ADMIN)

    page.get_by_role("link", name="Brugere og roller").click()
    expect(page).to_have_url(re.compile(r"/admin/users$"))
    expect(page.locator("h1")).to_have_text("Brugere")
    expect(page.locator("#users-table tr[data-username='kbh-analytiker']")).to_be_visible()
    expect(page.locator("#users-table tr[data-username='aarhus-analytiker']")).to_have_count(0)
    check_page(page, "admin-users")

    page.get_by_label("Brugernavn").fill(username)
    page.get_by_label("Navn (vises i KØS)").fill("Ny Medarbejder")
    page.get_by_label("Adgangskode (valgfri)").fill(PASSWORD)
    page.get_by_label("Gentag adgangskoden").fill(PASSWORD)
    page.get_by_role("button", name="Opret bruger").click()
    expect(page).to_have_url(re.compile(r"/admin/users/\d+\?done=created$"))
    expect(page.get_by_role("status")).to_contain_text("Brugeren er oprettet")
    expect(page.locator("h1")).to_have_text(f"Bruger: {username}")

    today = datetime.now(UTC).date()
    default = add_months(datetime.now(UTC), DEFAULT_GRANT_MONTHS).date()
    soon = today + timedelta(days=10)  # so that the recertification page lists it
    expect(page.get_by_label("Gyldig til og med")).to_have_value(default.isoformat())
    page.get_by_label("Rolle", exact=True).select_option("aggregeret")
    page.get_by_label("Gyldig til og med").fill(soon.isoformat())
    page.get_by_role("button", name="Tildel rolle").click()
    expect(page.get_by_role("status")).to_have_text("Rollen er tildelt.")
    row = page.locator("#grants-table tr[data-role='aggregeret']")
    expect(row).to_have_attribute("data-state", "valid")
    expect(row).to_contain_text(soon.strftime("%d-%m-%Y"))
    check_page(page, "admin-user")

    page.get_by_role("link", name="Tilbage til brugerlisten").click()
    listed = page.locator(f"#users-table tr[data-username='{username}']")
    expect(listed.locator(".roles")).to_have_text(f"Aggregerede tal (til og med {soon.strftime('%d-%m-%Y')})")

    page.goto("/")
    page.get_by_role("link", name="Roller, der snart udløber").click()
    expect(page).to_have_url(re.compile(r"/admin/recertification$"))
    expect(page.locator("h1")).to_have_text("Roller, der snart udløber")
    expect(page.get_by_label("Udløber inden for (dage)")).to_have_value("30")
    expiring = page.locator(f"#expiring-table tr[data-username='{username}']")
    expect(expiring).to_contain_text("Aggregerede tal")
    check_page(page, "admin-recertification")

    expiring.get_by_role("link", name=f"Forny Aggregerede tal for {username}").click()
    expect(page.locator("h1")).to_have_text(f"Bruger: {username}")
    expect(page.get_by_label("Rolle", exact=True)).to_have_value("aggregeret")  # ready to grant again
    page.get_by_role("button", name="Fratag rollen Aggregerede tal").click()
    expect(page.get_by_role("status")).to_contain_text("Rollen er frataget")
    expect(page.locator("#grants-table tr[data-role='aggregeret']")).to_have_attribute("data-state", "revoked")
    page.get_by_role("link", name="Tilbage til brugerlisten").click()
    expect(page.locator(f"#users-table tr[data-username='{username}'] .roles")).to_have_text("Ingen gyldige roller")
