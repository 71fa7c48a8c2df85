"""Standard reports as dashboards (issue 18), in a real browser, Danish and English: key-figure tiles
with the API's protected figures, definitions one click away, the "Om tallene" panel, axis titles,
the own municipality highlighted, map drill-down by mouse and keyboard, sortable and collapsing
tables, breadcrumbs, the print view and multi-year monthly trends."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from playwright.sync_api import Page, ViewportSize, expect

from browser.conftest import Server
from browser.signing import second_factor
from browser.test_reports import ANALYST, api_report
from browser.test_signin import check_page, sign_in
from koes.semantic.definitions import danish
from koes.semantic.loader import default_catalog
from koes.services.appdb import open_app_database
from koes.services.audit import AuditTrail
from koes.services.demo import DEMO_PASSWORD
from koes.services.users import OPERATOR, UserService
from koes.web.formats import danish_key, number
from support import fast_passwords, unique_name

pytestmark = pytest.mark.xdist_group("browser")
WIDE: ViewportSize = {"width": 1600, "height": 1000}


def in_language(page: Page, lang: str) -> None:
    if lang == "en":
        page.get_by_role("link", name="English").click()
        expect(page.locator("html")).to_have_attribute("lang", "en")


def keyfigure(api: dict[str, Any], area: str, measure: str, year: int) -> dict[str, Any]:
    """The API's protected cell of ``measure`` for ``area`` (kommune, region, land) in ``year``."""
    view = api["views"]["keyfigures"]
    for block in view["blocks"]:
        if block["area"]["id"] != area:
            continue
        columns = [c["key"][0] for c in block["columns"]]
        column = columns.index(year)
        for cell in block["cells"]:
            if cell["row"] == "total" and cell["column"] == column:
                value: dict[str, Any] = cell["values"][measure]
                return value
    raise KeyError((area, measure, year))


@pytest.mark.parametrize("lang", ["da", "en"])
def test_a_report_opens_with_key_figure_tiles_from_the_protected_figures(page: Page, token: str, lang: str) -> None:
    page.set_viewport_size(WIDE)
    sign_in(page, ANALYST, DEMO_PASSWORD, next_path="/standard/noegletal")
    in_language(page, lang)
    api = api_report(page, token, "noegletal")
    year, measure = api["choices"]["year"], api["choices"]["measure"]
    decimals = 1  # indlaeggelser_pr_1000, the headline
    tiles = page.locator(".key-figures .tile")
    expect(tiles.first).to_have_attribute("data-measure", measure)
    assert 1 <= tiles.count() <= 4
    first = tiles.first
    own = keyfigure(api, "kommune", measure, year)
    assert own["status"] == "ok"
    expect(first.locator(".tile-value")).to_have_text(number(own["value"], decimals, lang))
    # Region and country beside the own municipality, each the API's protected figure.
    others = first.locator(".tile-others dd")
    expect(others).to_have_count(2)
    for i, area in enumerate(("region", "land")):
        cell = keyfigure(api, area, measure, year)
        expect(others.nth(i)).to_have_text(number(cell["value"], decimals, lang))
    # The change from last year: arrow and size, from the two figures as shown.
    before = keyfigure(api, "kommune", measure, year - 1)
    delta = round(own["value"], decimals) - round(before["value"], decimals)
    arrow = "↑" if delta > 0 else "↓" if delta < 0 else "→"
    expect(first.locator(".tile-change .arrow")).to_have_text(arrow)
    expect(first.locator(".tile-change")).to_contain_text(number(abs(delta), decimals, lang))
    # A kroner total is not set against the country's (issue 18, defect 4): no region/country there.
    totals = page.locator('.tile[data-measure="indlaeggelser"] .tile-others')
    expect(totals).to_have_count(0)
    # The map and the first chart share a row on a wide screen (two columns).
    map_box = page.locator(".report-map").bounding_box()
    chart_box = page.locator(".report-chart").first.bounding_box()
    assert map_box and chart_box and abs(map_box["y"] - chart_box["y"]) < 5 and chart_box["x"] > map_box["x"] + 300
    check_page(page, f"dashboard-noegletal-{lang}")


def test_a_report_chooses_the_regions_and_says_which(page: Page) -> None:
    """Issue 20: the report's "Regioner" control is kept in the address and named under the figures."""
    sign_in(page, ANALYST, DEMO_PASSWORD, next_path="/standard/noegletal")
    expect(page.locator(".provenance .geography").first).to_contain_text("Regioner pr. ")
    page.locator("#f-geography").select_option("as_it_was")
    page.locator(".report-filters button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"geography=as_it_was"))
    expect(page.locator("#f-geography")).to_have_value("as_it_was")
    expect(page.locator(".provenance .geography").first).to_have_text("Regioner som de var på hændelsens dato")
    downloads = page.locator(".downloads a")
    assert downloads.count() and all("geography=as_it_was" in (a.get_attribute("href") or "") for a in downloads.all())


@pytest.mark.parametrize("lang", ["da", "en"])
def test_every_measure_has_its_definition_one_click_away_and_the_report_says_about_its_figures(
    page: Page, lang: str
) -> None:
    sign_in(page, ANALYST, DEMO_PASSWORD, next_path="/standard/noegletal")
    in_language(page, lang)
    catalog = default_catalog()
    measure = catalog.measures["indlaeggelser_pr_1000"]
    expected = danish()[measure.id] if lang == "da" else measure.description
    text = page.locator("#def-measure .definition-text")
    expect(text).to_be_hidden()
    page.locator("#def-measure summary").click()
    expect(text).to_have_text(expected)
    # The "Om tallene" panel: the standard population (the comparison is standardised), sources,
    # rule versions and the similar municipalities by name.
    about = page.locator(".about-figures")
    expect(about.locator("h2")).to_contain_text("Om tallene" if lang == "da" else "About the figures")
    expect(about.locator(".about-standard")).to_contain_text(str(catalog.standard_population_year))
    expect(about.locator(".about-similar li")).to_have_count(catalog.similar.count)
    assert about.locator(".about-sources li").count() >= 1
    assert about.locator(".about-rules li").count() >= 1
    expect(about.locator("#about-indlaeggelser_std dd")).to_contain_text(
        danish()["indlaeggelser_std"][:30] if lang == "da" else catalog.measures["indlaeggelser_std"].description[:30]
    )
    # Axis titles with units on every chart; the own municipality's line drawn heavier.
    for chart_id in ("series", "comparison"):
        data = json.loads(page.locator(f"#{chart_id}-data").text_content() or "{}")
        assert data["x_title"] and data["y_title"]
        expect(page.locator(f"#chart-{chart_id} .g-ytitle")).to_contain_text(data["y_title"][:20])
    series = json.loads(page.locator("#series-data").text_content() or "{}")
    assert series["own_trace"] == 0 and series["traces"][0]["name"].startswith("København")
    check_page(page, f"dashboard-definition-{lang}")


def test_monthly_trends_show_several_years(page: Page, token: str) -> None:
    sign_in(page, ANALYST, DEMO_PASSWORD, next_path="/standard/noegletal")
    api = api_report(page, token, "noegletal")
    years = {c["key"][0] // 100 for c in api["views"]["series"]["blocks"][0]["columns"]}
    assert len(years) >= 2, years  # the small release holds 2022 and 2023: both, month by month
    series = json.loads(page.locator("#series-data").text_content() or "{}")
    assert len(series["traces"][0]["x"]) == 12 * len(years)


@pytest.mark.parametrize("lang", ["da", "en"])
def test_the_map_drills_down_by_mouse_and_keyboard(page: Page, lang: str) -> None:
    sign_in(page, ANALYST, DEMO_PASSWORD, next_path="/standard/noegletal?variant=psykiatri")
    in_language(page, lang)
    links = page.locator("svg.koes-map a.area-link")
    expect(links).to_have_count(98)
    labels = links.evaluate_all("as => as.map(a => a.getAttribute('aria-label'))")
    assert all(re.match(r".+: .+", label) for label in labels)
    # The mouse: a click on Aarhus opens Aarhus, with the other choices kept.
    page.locator('svg.koes-map a.area-link[data-kommunekode="751"] path').click(force=True)
    expect(page).to_have_url(re.compile(r"municipality=751"))
    expect(page).to_have_url(re.compile(r"variant=psykiatri"))
    expect(page.locator("svg.koes-map path.area.highlight")).to_have_attribute("data-kommunekode", "751")
    # The keyboard: Tab reaches every area in turn, Enter opens the one with focus.
    page.locator("#f-measure").focus()
    reached: list[str] = []
    for _ in range(140):
        page.keyboard.press("Tab")
        code = page.evaluate("document.activeElement.getAttribute('data-kommunekode') || ''")
        if code:
            reached.append(code)
        elif reached:
            break
    assert len(set(reached)) == 98
    page.locator('svg.koes-map a.area-link[data-kommunekode="101"]').focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"municipality=101"))
    check_page(page, f"dashboard-map-{lang}")


@pytest.mark.parametrize("lang", ["da", "en"])
def test_tables_sort_by_keyboard_and_long_ones_fold_to_top_and_bottom(page: Page, lang: str) -> None:
    sign_in(page, ANALYST, DEMO_PASSWORD, next_path="/standard/noegletal")
    in_language(page, lang)
    table = page.locator(".report-table table.data-table")
    rows = table.locator("tbody tr")
    visible = table.locator("tbody tr:not(.collapsed-row)")
    # Sorted by the chosen measure, largest first; the top five, the bottom five and the own row show.
    sorted_heading = table.locator("thead th[aria-sort]")
    expect(sorted_heading).to_have_attribute("aria-sort", "descending")
    assert 10 <= visible.count() <= 12 and rows.count() >= 98
    expect(table.locator("tr.own-row th")).to_have_text("København")
    expect(table.locator("tr.own-row")).to_be_visible()
    show_all = page.locator(".report-table .show-all")
    expect(show_all).to_have_text(("Vis alle" if lang == "da" else "Show all") + f" ({rows.count() - 1})")
    show_all.focus()
    page.keyboard.press("Enter")
    expect(show_all).to_have_attribute("aria-expanded", "true")
    expect(visible).to_have_count(rows.count())
    # The first column by keyboard: names from A; in Danish æ, ø, å last and Aabenraa read as Åbenrå.
    first = table.locator("thead th").first
    first.locator("button").focus()
    page.keyboard.press("Enter")
    expect(first).to_have_attribute("aria-sort", "ascending")
    names = table.locator("tbody tr:not(.total) th").all_text_contents()
    if lang == "da":
        assert names == sorted(names, key=danish_key)
        assert names[-1] == "Aarhus" and names.index("Tønder") < names.index("Tårnby")
    else:
        assert names[0] == "Aabenraa" and names[-1] == "Vordingborg"
    page.keyboard.press("Enter")
    expect(first).to_have_attribute("aria-sort", "descending")
    check_page(page, f"dashboard-table-{lang}")


def test_every_signed_in_page_has_breadcrumbs(page: Page, server: Server) -> None:
    sign_in(page, "kbh-admin", DEMO_PASSWORD)
    second_factor(page, server, "kbh-admin")
    page.goto("/standard/noegletal")
    trail = page.locator("nav.breadcrumb li")
    expect(trail).to_have_text(["Forside", "Standardrapporter", "Nøgletal"])
    expect(trail.last.locator("[aria-current=page]")).to_have_count(1)
    for path in ("/analyse", "/admin/users", "/account/tokens", "/admin/audit"):
        page.goto(path)
        expect(page.locator("nav.breadcrumb")).to_have_count(1)
        expect(page.locator("nav.breadcrumb li").first).to_have_text("Forside")
    page.goto("/")
    expect(page.locator("nav.breadcrumb")).to_have_count(0)


def test_the_print_view_shows_figures_and_provenance_without_header_filters_or_buttons(page: Page) -> None:
    sign_in(page, ANALYST, DEMO_PASSWORD, next_path="/standard/noegletal")
    page.emulate_media(media="print")
    for hidden in (".site-header", ".report-filters", ".png-download", ".show-all", ".breadcrumb", ".downloads"):
        expect(page.locator(hidden).first).to_be_hidden()
    for shown in (".key-figures", "svg.koes-map", "#chart-series", ".provenance", ".about-figures"):
        expect(page.locator(shown).first).to_be_visible()
    table = page.locator(".report-table table.data-table")
    assert table.locator("tbody tr:visible").count() == table.locator("tbody tr").count()
    pdf = page.pdf(format="A4", print_background=True)
    assert pdf.startswith(b"%PDF")


@pytest.mark.parametrize("lang", ["da", "en"])
def test_the_system_administrator_lists_organisations_and_moves_a_ceasing_regions_users(
    page: Page, server: Server, lang: str
) -> None:
    mover = f"hovedstad-{unique_name()}"
    database = open_app_database(server.settings)
    try:
        UserService(AuditTrail(database), fast_passwords()).create_user(
            OPERATOR, mover, organisation="region:1084", password="Region-bruger-2025"
        )
    finally:
        database.dispose()
    sign_in(page, "systemadmin", DEMO_PASSWORD)
    second_factor(page, server, "systemadmin")
    in_language(page, lang)
    page.locator("#orgs-link").click()
    expect(page).to_have_url(re.compile(r"/admin/organisations$"))
    table = page.locator("#orgs-table")
    expect(table.locator("tbody tr[data-key^='kommune:']")).to_have_count(98)
    expect(table.locator("tbody tr[data-key='national']")).to_have_count(1)
    copenhagen = table.locator("tr[data-key='kommune:101']")
    assert int(copenhagen.locator(".users").text_content() or "0") >= 4  # the demo users and one without grants
    expect(page.locator("nav.breadcrumb li").last).to_have_text("Organisationer" if lang == "da" else "Organisations")
    check_page(page, f"organisations-{lang}")
    # Region Østdanmark (from 2027) is seeded: nothing to create; the old regions name their successor.
    expect(table.locator("tr[data-key='region:1086']")).to_have_attribute("data-status", "active")
    expect(page.locator("#new-region")).to_have_count(0)
    expect(table.locator("tr[data-key='region:1084'] .status")).to_contain_text("Region Østdanmark")
    # The users of Region Hovedstaden (ceases 31-12-2026) move to Region Østdanmark.
    page.locator("#move-source").select_option("region:1084")
    page.locator("#move-target").select_option("region:1086")
    page.locator("#move-users button").click()
    expect(page.locator("#done")).to_be_visible()
    moved = page.locator("#orgs-table tr[data-key='region:1086'] .users")
    assert int(moved.text_content() or "0") >= 1
    database = open_app_database(server.settings)
    try:
        trail = AuditTrail(database)
        assert UserService(trail).user_by_name(OPERATOR, mover).organisation == "region:1086"
    finally:
        database.dispose()


def test_the_organisations_page_is_refused_to_anyone_else(page: Page) -> None:
    sign_in(page, ANALYST, DEMO_PASSWORD)
    response = page.goto("/admin/organisations")
    assert response is not None and response.status == 403
    posted = page.request.post("/admin/organisations/regions", form={"region": "1086"})
    assert posted.status == 403  # no CSRF token: refused before anything is read
