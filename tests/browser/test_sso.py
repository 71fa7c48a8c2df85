"""Single sign-on in a real browser against a real OpenID Connect provider (oidc-provider under Node).

The app runs at http://127.0.0.1:PORT and the broker at http://localhost:PORT: two different sites,
as with a real broker, so the callback arrives without the app's SameSite=Strict cookies and the
page after it has to move on by itself for the new session cookie to count.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, expect

from browser.test_signin import check_page
from koes.services.appdb import open_app_database
from koes.services.audit import AuditTrail
from koes.services.demo import ensure_demo_users
from koes.services.warehouse import LoadResult
from koes.settings import Settings
from koes.web.app import create_app
from koes.web.pages.common import SESSION_COOKIE
from oidc_support import PUBLIC_CLIENT, SCOPES, running_provider
from support import fast_passwords, free_port

pytestmark = pytest.mark.xdist_group("browser")

ACCOUNTS = {
    "kbh-analytiker": {"koes_organisation": "kommune:101", "name": "Analytiker"},
    "aarhus-forkert": {"koes_organisation": "kommune:101", "name": "Forkert"},  # no KØS user
}


@pytest.fixture(scope="module")
def sso_url(
    small_load: LoadResult, small_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with running_provider([f"{url}/login/sso/callback"], ACCOUNTS, host="localhost") as broker:
        settings = Settings(
            data_dir=tmp_path_factory.mktemp("sso-browser"),
            warehouse_dir=small_settings.warehouse,
            threads=1,
            memory_limit="2GB",
            oidc_issuer=broker.issuer,
            oidc_client_id=PUBLIC_CLIENT,
            oidc_redirect_uri=f"{url}/login/sso/callback",
            oidc_scopes=SCOPES,
            oidc_label="Testmægler",
        )
        database = open_app_database(settings)
        try:
            ensure_demo_users(AuditTrail(database), fast_passwords())
        finally:
            database.dispose()
        config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning", ws="none")
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, name="koes-sso-uvicorn", daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("the app did not start")
            time.sleep(0.05)
        yield url
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def sso_page(browser: Browser, sso_url: str) -> Iterator[Page]:
    context = browser.new_context(base_url=sso_url, locale="da-DK", bypass_csp=True)  # bypass: axe only
    yield context.new_page()
    context.close()


def _session_cookie(page: Page) -> str:
    return next(c["value"] for c in page.context.cookies() if c["name"] == SESSION_COOKIE)


def _at_the_broker(page: Page, login: str) -> None:
    expect(page.get_by_role("heading", name="Test broker")).to_be_visible()
    assert page.url.startswith("http://localhost:")
    page.get_by_label("Login").fill(login)
    page.get_by_role("button", name="Sign in at the broker").click()


def test_sign_in_through_the_broker_lands_on_the_start_page(sso_page: Page, tmp_path: Path) -> None:
    page = sso_page
    page.goto("/login?next=/")
    check_page(page, "login-sso")
    anonymous = _session_cookie(page)
    page.get_by_role("link", name="Log ind med Testmægler").click()
    _at_the_broker(page, "kbh-analytiker")
    expect(page.locator("h1")).to_have_text("Velkommen, Analytiker, København")
    expect(page).to_have_url(re.compile(r"127\.0\.0\.1:\d+/$"))
    assert _session_cookie(page) != anonymous  # rotated at sign-in
    assert "koes_sso" not in {c["name"] for c in page.context.cookies()}  # the flow is spent
    check_page(page, "start-after-sso")


def test_a_broker_user_unknown_here_gets_a_page_that_says_so(sso_page: Page) -> None:
    page = sso_page
    page.goto("/login")
    page.get_by_role("link", name="Log ind med Testmægler").click()
    _at_the_broker(page, "aarhus-forkert")
    expect(page.locator("h1")).to_have_text("Du har ingen bruger i KØS")
    expect(page).to_have_url(re.compile(r"/login/sso/refused/unknown$"))
    check_page(page, "sso-refused")
    page.get_by_role("link", name="Gå til log ind").click()
    expect(page.locator("h1")).to_have_text("Log ind")
