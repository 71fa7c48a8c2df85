"""The data status page in a real browser: the demo local administrator follows the start page's link."""

from __future__ import annotations

import re

import pyotp
import pytest
from playwright.sync_api import Page, expect

from browser.conftest import Server
from browser.test_signin import check_page, sign_in
from koes.services.appdb import open_app_database
from koes.services.audit import AuditTrail
from koes.services.demo import DEMO_PASSWORD
from koes.services.signin import SignInService, load_secret_key
from koes.services.users import OPERATOR, UserService
from koes.services.warehouse import LoadResult

pytestmark = pytest.mark.xdist_group("browser")
ADMIN = "kbh-admin"


def _recovery_code(server: Server, username: str) -> str:
    """A fresh recovery code: the TOTP secret was shown once, to whichever test enrolled the user first."""
    database = open_app_database(server.settings)
    try:
        trail = AuditTrail(database)
        user_id = UserService(trail).user_by_name(OPERATOR, username).id
        return SignInService(trail, load_secret_key(server.settings)).new_recovery_codes(user_id)[0]
    finally:
        database.dispose()


def _second_factor(page: Page, server: Server) -> None:
    """Enrol TOTP as on the user's first sign-in, or (enrolled by an earlier test) use a recovery code."""
    expect(page).to_have_url(re.compile(r"/totp"))
    if "/totp/enrol" in page.url:
        secret = (page.locator("#totp-secret").text_content() or "").strip()
        page.get_by_label("Den 6-cifrede kode, som appen viser nu").fill(pyotp.TOTP(secret).now())
        page.get_by_role("button", name="Bekræft og aktivér").click()
        page.get_by_role("link", name="Fortsæt til forsiden").click()
    else:
        page.get_by_label("Kode eller gendannelseskode").fill(_recovery_code(server, ADMIN))
        page.get_by_role("button", name="Bekræft").click()
    expect(page).to_have_url(re.compile(r"127\.0\.0\.1:\d+/$"))


def test_local_admin_sees_the_data_status(page: Page, server: Server, small_load: LoadResult) -> None:
    sign_in(page, ADMIN, DEMO_PASSWORD)
    _second_factor(page, server)

    page.get_by_role("link", name="Datastatus").click()
    expect(page).to_have_url(re.compile(r"/admin/status$"))
    expect(page.locator("h1")).to_have_text("Datastatus")
    release = small_load.release
    expect(page.locator("#status-current")).to_contain_text(release.id)

    releases = page.locator("#releases-table")
    expect(releases.locator("caption")).to_contain_text("nyeste først")
    current = releases.locator("tbody tr[aria-current='true']")
    expect(current).to_have_count(1)
    expect(current.locator("th")).to_have_text(release.id)
    expect(current.locator("time")).to_have_text(re.compile(r"^\d\d-\d\d-\d{4} \d\d:\d\d$"))

    manifest = release.manifest()
    registers = page.locator("#registers-table tbody tr")
    expect(registers).to_have_count(len(manifest["row_accounting"]))
    biggest = max(manifest["row_accounting"].items(), key=lambda kv: kv[1]["in"])
    row = page.locator(f"#registers-table tr[data-register='{biggest[0]}']")
    expect(row.locator(".rows-read")).to_have_text(re.compile(r"^\d{1,3}(\.\d{3})+$"))  # 1.234.567
    expect(page.locator("#quarantine-empty")).to_be_visible()
    check_page(page, "status-local-admin")
