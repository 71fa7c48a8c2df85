"""The data status page in a real browser: the demo local administrator follows the start page's link."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from browser.conftest import Server
from browser.signing import second_factor
from browser.test_signin import check_page, sign_in
from koes.services.demo import DEMO_PASSWORD
from koes.services.warehouse import LoadResult

pytestmark = pytest.mark.xdist_group("browser")
ADMIN = "kbh-admin"


def test_local_admin_sees_the_data_status(page: Page, server: Server, small_load: LoadResult) -> None:
    sign_in(page, ADMIN, DEMO_PASSWORD)
    second_factor(page, server, ADMIN)

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
