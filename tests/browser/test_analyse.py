"""The Analysis builder in a real browser: build an analysis step by step, see the API's numbers in
the pivot, save it, open and reload it, download it and read the XLSX back, switch to English;
accessibility (axe-core) and screenshots; a user without a grant is refused."""

from __future__ import annotations

import io
import re
from typing import Any
from urllib.parse import quote

import pytest
from openpyxl import load_workbook
from playwright.sync_api import Page, expect

from browser.conftest import NO_GRANT_PASSWORD, NO_GRANT_USER, Server
from browser.test_signin import check_page, sign_in
from koes.services.demo import DEMO_PASSWORD
from koes.web.formats import number

pytestmark = pytest.mark.xdist_group("browser")
ANALYST = "kbh-analytiker"
PIVOT = "table.pivot"


def pivot_rows(page: Page) -> list[list[str]]:
    rows = page.locator(f"{PIVOT} tbody tr")
    return [[c.strip() for c in rows.nth(i).locator("th, td").all_text_contents()] for i in range(rows.count())]


def api_analysis(page: Page, token: str, request: dict[str, Any]) -> dict[str, Any]:
    response = page.request.post("/api/v1/analysis", data=request, headers={"Authorization": f"Bearer {token}"})
    assert response.ok, response.text()
    body: dict[str, Any] = response.json()
    return body


def test_build_save_reopen_and_download_an_analysis(page: Page, server: Server, token: str) -> None:
    sign_in(page, ANALYST, DEMO_PASSWORD, next_path="/analyse")
    expect(page).to_have_url(re.compile(r"/analyse$"))
    # the opening analysis: somatic admissions by municipality, with its map
    expect(page.locator(PIVOT)).to_be_visible()
    expect(page.locator("svg.koes-map path.area")).to_have_count(98)
    check_page(page, "analyse-opening")

    # 1. perspective: its measures are offered (admissions are psychiatric ones too, and stay ticked)
    page.get_by_label("Perspektiv", exact=True).select_option("psykiatri")
    page.get_by_role("button", name="Vis", exact=True).click()
    expect(page.get_by_label("Indlæggelser", exact=True)).to_be_checked()
    # 2.–4. measures, rows and columns, period
    page.get_by_label("Indlæggelser", exact=True).uncheck()
    page.get_by_label("Kontakter", exact=True).check()
    page.get_by_label("Patienter", exact=True).check()
    page.get_by_label("Rækker 1").select_option("koen")
    page.get_by_label("Kolonner 1").select_option("aar")
    page.get_by_label("Fra år").select_option("2022")
    page.get_by_label("Til år").select_option("2023")
    page.get_by_role("button", name="Vis", exact=True).click()

    # the state is in the address
    expect(page).to_have_url(re.compile(r"perspective=psykiatri.*measure=kontakter.*measure=patienter.*row=koen"))
    assert "column=aar" in page.url and "from=2022" in page.url
    heading = "Kontakter og patienter efter køn og år, 2022–2023 Alle borgere"  # the population follows
    expect(page.locator("#result-heading")).to_have_text(heading)
    expect(page.locator("#chart-pivot")).to_have_attribute("data-drawn", "true")

    # the pivot shows the API's numbers, totals included
    api = api_analysis(
        page,
        token,
        {
            "perspective": "psykiatri",
            "measures": ["kontakter", "patienter"],
            "rows": ["koen"],
            "columns": ["aar"],
            "period": {"from": "2022", "to": "2023"},
        },
    )
    block = api["blocks"][0]
    shown = pivot_rows(page)
    assert [r[0] for r in shown] == [r["labels"][0] for r in block["rows"]] + ["I alt"]
    for cell in block["cells"]:
        row = len(block["rows"]) if cell["row"] == "total" else cell["row"]
        col = len(block["columns"]) if cell["column"] == "total" else cell["column"]
        for j, measure in enumerate(("kontakter", "patienter")):
            value = cell["values"][measure]
            expected = value["display"] if value["value"] is None else number(value["value"], 0, "da")
            assert shown[row][1 + col * 2 + j] == expected
    check_page(page, "analyse-built")

    # save, shared with the organisation
    page.get_by_label("Navn").fill("Psykiatri efter køn og år")
    page.get_by_label("Del med min organisation").check()
    page.get_by_role("button", name="Gem", exact=True).click()
    expect(page.locator("#done")).to_have_text("Analysen er gemt.")
    row = page.locator("#saved-table tbody tr", has_text="Psykiatri efter køn og år")
    expect(row.locator("td").nth(1)).to_have_text("Ja")
    check_page(page, "analyse-saved")

    # open it, reload it: the same analysis
    row.get_by_role("link").click()
    expect(page.locator("h1")).to_have_text("Analyse: Psykiatri efter køn og år")
    assert pivot_rows(page) == shown
    page.reload()
    assert pivot_rows(page) == shown
    assert "perspective=psykiatri&measure=kontakter&measure=patienter&row=koen&column=aar&from=2022&to=2023" in page.url

    # download the XLSX and read it back: the page's rows, unformatted numbers
    with page.expect_download() as xlsx:
        page.get_by_role("link", name="Hent Excel (XLSX)").click()
    sheet = load_workbook(io.BytesIO(xlsx.value.path().read_bytes()), read_only=True).worksheets[0]
    lines = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert lines[0][:3] == ["Køn", "2022: Kontakter", "2022: Patienter"]
    for line, on_page in zip(lines[1 : 1 + len(shown)], shown, strict=True):
        assert line[0] == on_page[0]
        assert [number(v, 0, "da") if isinstance(v, int | float) else v for v in line[1 : len(on_page)]] == on_page[1:]

    # English
    page.get_by_role("link", name="English").click()
    heading = "Contacts and patients by sex and year, 2022–2023 All citizens"
    expect(page.locator("#result-heading")).to_have_text(heading)
    expect(page.locator(f"{PIVOT} thead th").nth(1)).to_have_text("2022: Contacts")
    check_page(page, "analyse-en")

    # rename and delete (back in Danish)
    page.get_by_role("link", name="Dansk").click()
    page.goto("/analyse/saved")
    row = page.locator("#saved-table tbody tr", has_text="Psykiatri efter køn og år")
    row.get_by_label("Nyt navn til »Psykiatri efter køn og år«").fill("Psykiatri, køn")
    row.get_by_role("button", name="Omdøb").click()
    expect(page.locator("#done")).to_have_text("Analysen er omdøbt.")
    page.get_by_role("button", name="Slet »Psykiatri, køn«").click()
    expect(page.locator("#done")).to_have_text("Analysen er slettet.")
    expect(page.locator("#saved-table tbody tr", has_text="Psykiatri, køn")).to_have_count(0)


def test_problems_are_shown_in_words_and_keyboard_users_reach_every_step(page: Page) -> None:
    sign_in(page, ANALYST, DEMO_PASSWORD, next_path=quote("/analyse?perspective=befolkning&row=diagnosekapitel"))
    expect(page.locator("#result .alert")).to_contain_text("Analysen kan ikke beregnes")
    expect(page.locator(PIVOT)).to_have_count(0)
    check_page(page, "analyse-problem")
    page.goto("/analyse")
    page.get_by_label("Perspektiv", exact=True).focus()
    page.keyboard.press("Tab")  # from the perspective to the measures: the steps in reading order
    legend = page.evaluate("document.activeElement.closest('fieldset').querySelector('legend').textContent")
    assert legend == "2. Mål"


def test_a_user_without_a_grant_builds_nothing(page: Page) -> None:
    sign_in(page, NO_GRANT_USER, NO_GRANT_PASSWORD, next_path="/analyse")
    response = page.request.get("/analyse?perspective=somatik")
    assert response.status == 403 or "/login" in response.url
    assert "pivot" not in response.text()


def test_the_regions_control_chooses_the_geography(page: Page) -> None:
    """The "Regioner" control: as they were on each date, kept in the address and named under the
    figures; the default names the release's last day."""
    sign_in(page, ANALYST, DEMO_PASSWORD, next_path="/analyse")
    page.goto("/analyse?perspective=somatik&measure=indlaeggelser&row=region")
    expect(page.locator("dd.geography")).to_have_text(re.compile(r"^Regioner pr\. \d{4}-12-31$"))
    page.get_by_label("Regioner", exact=True).select_option("as_it_was")
    page.get_by_role("button", name="Vis", exact=True).click()
    assert "geography=as_it_was" in page.url
    expect(page.get_by_label("Regioner", exact=True)).to_have_value("as_it_was")
    expect(page.locator("dd.geography")).to_have_text("Regioner som de var på hændelsens dato")
    expect(page.locator(f"{PIVOT} tbody tr")).to_have_count(6)  # five regions and the total
