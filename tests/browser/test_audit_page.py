"""The audit page in a real browser: a local administrator enrols TOTP, filters by action, axe-core."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from browser.conftest import Server
from browser.signing import second_factor
from browser.test_signin import check_page, sign_in
from koes.services.demo import DEMO_PASSWORD

pytestmark = pytest.mark.xdist_group("browser")


def test_local_admin_filters_its_audit_trail_by_action(page: Page, server: Server) -> None:
    sign_in(page, "kbh-admin", DEMO_PASSWORD)
    second_factor(page, server, "kbh-admin")

    page.get_by_role("link", name="Log over adgang").click()
    expect(page).to_have_url(re.compile(r"/admin/audit$"))
    expect(page.locator("h1")).to_have_text("Log over adgang")
    table = page.locator("#audit-table")
    expect(table.locator("caption")).to_contain_text("nyeste først")
    expect(page.get_by_label("Organisation")).to_have_count(0)  # its own organisation only

    action = page.get_by_label("Handling")
    expect(action.locator('option[value="totp.confirm"]')).to_have_text("Totrinsbekræftelse slået til")
    action.select_option(label="Totrinsbekræftelse slået til")  # a readable label; the address keeps the id
    page.get_by_role("button", name="Vis", exact=True).click()
    expect(page).to_have_url(re.compile(r"action=totp\.confirm"))
    rows = table.locator("tbody tr")
    # The filter keeps only confirmations, the administrator's among them; other browser tests of the
    # same server enrol other users of its organisation (the individ role needs a second factor).
    expect(rows.filter(has_text="kbh-admin")).to_have_count(1)
    texts = rows.all_inner_texts()
    # the action by name in the page's language, its code kept in data-action (issue 18 item 2)
    assert texts and all("\tTotrinsbekræftelse slået til\t" in text for text in texts), texts
    expect(rows.locator('td.action[data-action="totp.confirm"]')).to_have_count(len(texts))
    expect(rows.filter(has_text="kbh-admin").locator("time")).to_have_text(re.compile(r"^\d\d-\d\d-\d{4} \d\d:\d\d$"))
    expect(page.locator("#audit-export")).to_have_attribute("href", re.compile(r"^/admin/audit\.csv\?.*action=totp"))
    # the summaries in Danish too: the administrator's own records (sign-in, TOTP, reading the trail)
    expect(rows.filter(has_text="kbh-admin").locator("td.summary")).to_have_text("TOTP sat op")
    page.goto(page.url.split("?")[0] + "?user=kbh-admin")
    summaries = page.locator("#audit-table tbody td.summary")
    expect(summaries.first).to_be_visible()
    texts = summaries.all_inner_texts()
    assert any(t.startswith("logget ind med adgangskode") for t in texts), texts
    assert any(t.startswith("revisionsspor, side 1") for t in texts), texts
    expect(summaries.locator('[lang="en"]')).to_have_count(0)
    check_page(page, "audit-local-admin")
