"""The Standard reports in a real browser: every report draws a map of the 98 municipalities with
the API's numbers, charts that agree with the API, hidden cells as <5 or x, downloads that read
back, the choices in the address, English, accessibility (axe-core) and screenshots."""

from __future__ import annotations

import io
import json
import re
from typing import Any

import pytest
from openpyxl import load_workbook
from playwright.sync_api import Page, expect

from browser.conftest import NO_GRANT_PASSWORD, NO_GRANT_USER
from browser.test_signin import check_page, sign_in
from koes.reports.loader import default_reports
from koes.services.demo import DEMO_PASSWORD

pytestmark = pytest.mark.xdist_group("browser")
REPORTS = list(default_reports().reports)
ANALYST = "kbh-analytiker"


def api_report(page: Page, token: str, report_id: str, query: str = "") -> dict[str, Any]:
    response = page.request.get(f"/api/v1/reports/{report_id}?{query}", headers={"Authorization": f"Bearer {token}"})
    assert response.ok, response.text()
    body: dict[str, Any] = response.json()
    return body


def headline_by_municipality(report: dict[str, Any]) -> dict[int, dict[str, Any]]:
    """The API's headline cell per municipality, from the table view (rows: kommune)."""
    table = report["views"]["table"]
    block = table["blocks"][0]
    measure = report["choices"]["measure"]
    keys = [row["key"][0] for row in block["rows"]]
    return {
        keys[cell["row"]]: cell["values"][measure]
        for cell in block["cells"]
        if cell["row"] != "total" and cell["column"] == "total"
    }


def series_from_api(report: dict[str, Any]) -> list[list[float | None]]:
    view = report["views"]["series"]
    measure = report["choices"]["measure"]
    out = []
    for block in view["blocks"]:
        cells = {c["column"]: c["values"][measure]["value"] for c in block["cells"] if c["row"] == "total"}
        out.append([cells[i] for i in range(len(block["columns"]))])
    return out


@pytest.mark.parametrize("report_id", REPORTS)
def test_every_report_shows_the_apis_numbers_on_its_map_and_charts(page: Page, token: str, report_id: str) -> None:
    sign_in(page, ANALYST, DEMO_PASSWORD, next_path=f"/standard/{report_id}")
    expect(page).to_have_url(re.compile(rf"/standard/{report_id}$"))
    areas = page.locator("svg.koes-map path.area")
    expect(areas).to_have_count(98)
    expect(page.locator("svg.koes-map path.area.highlight")).to_have_attribute("data-kommunekode", "101")
    api = api_report(page, token, report_id)
    assert api["choices"]["municipality"] == 101  # the analyst's own municipality by default

    on_map = areas.evaluate_all("ps => ps.map(p => [+p.dataset.kommunekode, p.dataset.value, p.dataset.display])")
    cells = headline_by_municipality(api)
    for code, value, display in on_map:
        cell = cells.get(code)
        if cell is None or cell["status"] == "none":
            assert value == "", f"{report_id}: {code} has no figure but the map shows {value}"
        elif cell["status"] == "ok":
            assert float(value) == pytest.approx(cell["value"]), f"{report_id}: {code}"
        else:  # hidden: the map says so and never carries the number
            # a hidden amount in kroner says "skjult" (issue 18 item 6), a count <5 or x as the API
            assert value == "" and display in (cell["display"], "skjult") and cell["display"] in ("<5", "x")

    chart = json.loads(page.locator("#series-data").text_content() or "{}")
    drawn = [trace["y"] for trace in chart["traces"]]
    if api["report"]["series"]["kind"] == "trend":
        assert drawn == series_from_api(api)
    expect(page.locator("#chart-series[data-drawn=true]")).to_have_count(1)
    expect(page.locator("#chart-comparison[data-drawn=true]")).to_have_count(1)

    hidden = page.locator("#main table.data-table td.hidden-cell")
    for text in hidden.all_text_contents()[:50]:
        assert text.strip() in ("<5", "x", "skjult")
    expect(page.locator(".release-id")).to_have_text(api["provenance"]["release_id"])
    check_page(page, f"report-{report_id}")


def test_some_report_hides_small_counts_as_less_than_five(page: Page, token: str) -> None:
    """Not vacuous: on the small synthetic Denmark, some report's table has a <5 cell, on page and API alike."""
    sign_in(page, ANALYST, DEMO_PASSWORD)
    found = []
    for report_id in ("genindlaeggelser", "faerdigbehandlede", "kroniske"):
        page.goto(f"/standard/{report_id}")
        texts = page.locator("section.report-table td.hidden-cell").all_text_contents()
        found += [t.strip() for t in texts]
        api = api_report(page, token, report_id)
        statuses = [
            v["display"]
            for c in api["views"]["table"]["blocks"][0]["cells"]
            for v in c["values"].values()
            if v["status"] not in ("ok", "none")
        ]
        shown = sorted(t.strip() for t in texts)
        assert len(shown) == len(statuses) and set(shown) <= {"<5", "x", "skjult"}
        counts = [t for t in shown if t != "skjult"]  # amounts in kroner say "skjult" instead
        assert all(counts.count(d) <= statuses.count(d) for d in set(counts))
    assert "<5" in found


def test_choices_live_in_the_address_and_the_page_speaks_english(page: Page) -> None:
    sign_in(page, ANALYST, DEMO_PASSWORD, next_path="/standard")
    page.get_by_role("link", name="Kommunal medfinansiering").click()
    page.get_by_label("Sektor", exact=True).select_option("praksis")
    page.get_by_label("Kommune", exact=True).select_option(label="Aarhus")
    page.get_by_role("button", name="Vis", exact=True).click()
    expect(page).to_have_url(re.compile(r"variant=praksis.*municipality=751|municipality=751.*variant=praksis"))
    expect(page.locator("svg.koes-map path.area.highlight")).to_have_attribute("data-kommunekode", "751")
    expect(page.locator("#series-heading")).to_contain_text("året til dato")
    page.reload()
    expect(page.get_by_label("Sektor", exact=True)).to_have_value("praksis")

    page.get_by_role("link", name="English").click()
    # the heading names the variant and the population (issue 18 item 3)
    expect(page.locator("h1")).to_have_text("Municipal co-financing – Practice Aarhus, All citizens, 2023")
    expect(page.get_by_label("Sector", exact=True)).to_have_value("praksis")
    expect(page.locator("#series-heading")).to_contain_text("the year so far")
    check_page(page, "report-medfinansiering-en")


def test_downloads_read_back(page: Page) -> None:
    sign_in(page, ANALYST, DEMO_PASSWORD, next_path="/standard/medicin")
    table_rows = page.locator("section.report-table tbody tr")
    expect(table_rows.first).to_be_visible()
    with page.expect_download() as xlsx:
        page.get_by_role("link", name="Hent Excel (XLSX)").click()
    book = load_workbook(io.BytesIO(xlsx.value.path().read_bytes()), read_only=True)
    sheet = book.worksheets[0]
    lines = [list(row) for row in sheet.iter_rows(values_only=True)]
    header = lines[0]
    assert header[0] == "Bopælskommune" and "Medicinudgift pr. borger pr. år (kr.)" in header
    names_on_page = table_rows.locator("th").all_text_contents()
    names_in_file = [str(line[0]) for line in lines[1 : 1 + len(names_on_page)]]
    # the page sorts its table by the figure (tables.js); the file keeps the municipalities' order
    assert sorted(names_in_file) == sorted(names_on_page), set(names_in_file) ^ set(names_on_page)

    png_button = page.get_by_role("button", name="Hent kortet som PNG")
    expect(png_button).to_have_attribute("data-ready", "true")  # drawn ahead, saved within the click
    with page.expect_download() as png:
        png_button.click()
    assert png.value.path().read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_user_without_a_grant_sees_no_report(page: Page) -> None:
    sign_in(page, NO_GRANT_USER, NO_GRANT_PASSWORD, next_path="/standard/noegletal")
    expect(page.locator("h1")).to_have_text("Du har ingen rettigheder i KØS")
    response = page.request.get("/standard/noegletal")
    # refused (403) or, the sign-in having given no session, sent back to sign in: never the report
    assert response.status == 403 or "/login" in response.url
    assert "koes-map" not in response.text()


def test_the_pages_allow_no_inline_script(page: Page) -> None:
    sign_in(page, ANALYST, DEMO_PASSWORD)
    response = page.request.get("/standard/noegletal")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
