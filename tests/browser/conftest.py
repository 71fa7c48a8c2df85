"""The real app under uvicorn (a thread, a free port) over the small warehouse, and Debian's Chromium.

Chromium is ``/usr/bin/chromium`` (``make test`` installs it with apt); Playwright's own browser
download is never used. axe-core comes from ``.cache/npm`` (``make test`` installs it with npm);
without it the accessibility checks are skipped, or fail when ``CI`` is set.

Every answer a test's page receives is scanned (:class:`CprScan`, issue 17): no CPR-shaped number
that its request carried (in the address or the body, as typed or percent-encoded) may come back in
its headers, its redirect or its body, as typed or percent-encoded. A test that lets one through
fails at its end.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote_plus

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, Response, sync_playwright

from koes.services.appdb import open_app_database
from koes.services.audit import AuditTrail
from koes.services.demo import ensure_demo_users
from koes.services.tokens import TokenService
from koes.services.users import OPERATOR, UserService
from koes.services.warehouse import LoadResult
from koes.settings import Settings
from koes.web.app import create_app
from support import fast_passwords, free_port

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
AXE = ROOT / ".cache" / "npm" / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
NO_GRANT_USER = "uden-adgang"
NO_GRANT_PASSWORD = "Ingen-rettigheder-2025"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@dataclass(frozen=True)
class Server:
    url: str
    settings: Settings


@pytest.fixture(scope="session")
def server(
    small_load: LoadResult, small_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("browser-data")
    settings = Settings(
        data_dir=data_dir,
        warehouse_dir=small_settings.warehouse,
        pseudonym_key_file=small_settings.pseudonym_key,  # cohort uploads link to the release with its key
        threads=1,
        memory_limit="2GB",
    )
    database = open_app_database(settings)
    try:
        trail = AuditTrail(database)
        ensure_demo_users(trail, fast_passwords())
        UserService(trail, fast_passwords()).create_user(
            OPERATOR, NO_GRANT_USER, organisation="kommune:101", password=NO_GRANT_PASSWORD
        )
    finally:
        database.dispose()
    port = free_port()
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning", ws="none")
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, name="koes-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not uv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the app did not start")
        time.sleep(0.05)
    yield Server(f"http://127.0.0.1:{port}", settings)
    uv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: run make test (it installs Debian's chromium)")
        pytest.skip(f"{CHROMIUM} is missing: run make test (it installs Debian's chromium)")
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


# Written for the tests, apart from the app's own koes.privacy.echo, so that a fault there is caught here.
_RUN = re.compile(r"[0-9](?:-?[0-9]){9,}")
TEXT_TYPES = ("text/", "application/json")


def cpr_numbers(texts: Iterable[str]) -> set[str]:
    """Every ten-digit number in ``texts``, as written and percent-decoded (up to three times)."""
    found: set[str] = set()
    for text in texts:
        variants = [text]
        for _ in range(3):
            decoded = unquote_plus(variants[-1])
            if decoded == variants[-1]:
                break
            variants.append(decoded)
        for variant in variants:
            for run in _RUN.findall(variant):
                digits = run.replace("-", "")
                found.update(digits[i : i + 10] for i in range(len(digits) - 9))
    return found


@dataclass
class CprScan:
    """The answers a page received, each checked against the CPR-shaped numbers its request carried."""

    answers: int = 0
    carrying: int = 0  # answers to requests that carried such a number
    leaks: list[str] = field(default_factory=list)

    def check(self, label: str, request: Iterable[str], answer: Iterable[str]) -> None:
        self.answers += 1
        carried = cpr_numbers(request)
        if not carried:
            return
        self.carrying += 1
        back = cpr_numbers(answer) & carried
        if back:
            self.leaks.append(f"{label} sent back {sorted(back)}")

    def on_response(self, response: Response) -> None:
        request = response.request
        answer = [f"{k}: {v}" for k, v in response.headers.items()]
        if response.headers.get("content-type", "").startswith(TEXT_TYPES) and not 300 <= response.status < 400:
            try:
                answer.append(response.body().decode("utf-8", "replace"))
            except Exception as exc:  # a page navigated away before its body was read
                answer.append(f"(body unavailable: {type(exc).__name__})")
        self.check(f"{request.method} {request.url}", [request.url, request.post_data or ""], answer)


@pytest.fixture
def cpr_scan() -> CprScan:
    return CprScan()


@pytest.fixture
def page(browser: Browser, server: Server, cpr_scan: CprScan) -> Iterator[Page]:
    # bypass_csp only so that axe-core can be injected; the pages themselves need no inline script.
    context = browser.new_context(base_url=server.url, locale="da-DK", bypass_csp=True)
    page = context.new_page()
    page.on("response", cpr_scan.on_response)
    yield page
    context.close()
    assert cpr_scan.leaks == [], "CPR-shaped numbers a request carried came back (issue 17)"


@pytest.fixture(scope="module")
def token(server: Server) -> str:
    """An API token of the analyst, so a test can ask the JSON API for what a page shows."""
    database = open_app_database(server.settings)
    try:
        trail = AuditTrail(database)
        users = UserService(trail)
        me = users.user_by_name(OPERATOR, "kbh-analytiker")
        return TokenService(trail, users).create_for(OPERATOR, me.id, "browser-test").secret
    finally:
        database.dispose()
