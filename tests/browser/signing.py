"""Second-factor steps shared by the browser tests.

The browser tests share one server per worker, so whichever test signs a TOTP user in first enrols
it; every later sign-in of that user must answer with a code instead. Each test goes through here so
that its outcome does not depend on the order the tests ran in."""

from __future__ import annotations

import re

import pyotp
from playwright.sync_api import Page, expect

from browser.conftest import Server
from koes.services.appdb import open_app_database
from koes.services.audit import AuditTrail
from koes.services.signin import SignInService, load_secret_key
from koes.services.users import OPERATOR, UserService


def recovery_code(server: Server, username: str) -> str:
    """A fresh recovery code: the TOTP secret was shown once, to whichever test enrolled the user first."""
    database = open_app_database(server.settings)
    try:
        trail = AuditTrail(database)
        user_id = UserService(trail).user_by_name(OPERATOR, username).id
        return SignInService(trail, load_secret_key(server.settings)).new_recovery_codes(user_id)[0]
    finally:
        database.dispose()


def second_factor(page: Page, server: Server, username: str) -> None:
    """Enrol TOTP as on the user's first sign-in, or (enrolled by an earlier test) use a recovery code."""
    expect(page).to_have_url(re.compile(r"/totp"))
    if "/totp/enrol" in page.url:
        secret = (page.locator("#totp-secret").text_content() or "").strip()
        page.get_by_label("Den 6-cifrede kode, som appen viser nu").fill(pyotp.TOTP(secret).now())
        page.get_by_role("button", name="Bekræft og aktivér").click()
        page.get_by_role("link", name="Fortsæt til forsiden").click()
    else:
        page.get_by_label("Kode eller gendannelseskode").fill(recovery_code(server, username))
        page.get_by_role("button", name="Bekræft").click()
    expect(page).to_have_url(re.compile(r"127\.0\.0\.1:\d+/$"))


def needs_second_factor(page: Page) -> bool:
    """Whether the sign-in just made stopped at a TOTP step (enrolment or code)."""
    return "/totp" in page.url
