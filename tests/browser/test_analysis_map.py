"""The analysis map drills down like the Standard pages' map (issue 18, "Map drill-down"): each
municipality is a named link, reachable by keyboard, to the same analysis for that municipality."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from browser.test_signin import check_page, sign_in
from koes.services.demo import DEMO_PASSWORD

pytestmark = pytest.mark.xdist_group("browser")
ANALYST = "kbh-analytiker"
HINT = {"da": "Klik på en kommune", "en": "Click a municipality"}


@pytest.mark.parametrize("lang", ["da", "en"])
def test_the_analysis_map_opens_a_municipalitys_analysis(page: Page, lang: str) -> None:
    sign_in(page, ANALYST, DEMO_PASSWORD, next_path="/analyse")  # admissions by municipality
    if lang == "en":
        page.get_by_role("link", name="English").click()
    links = page.locator("svg.koes-map a.area-link")
    expect(links).to_have_count(98)
    expect(page.locator(".report-map .map-hint")).to_contain_text(HINT[lang])
    label = links.first.get_attribute("aria-label") or ""
    assert re.match(r".+: .+", label), label
    page.locator('svg.koes-map a.area-link[data-kommunekode="751"]').focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"f\.kommune=751"))
    expect(page).to_have_url(re.compile(r"row=aar"))
    expect(page.locator("#population")).to_contain_text("Aarhus")
    check_page(page, f"analyse-drill-{lang}")
