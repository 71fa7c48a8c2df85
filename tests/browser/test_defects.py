"""The defects issue 18 found by trying the web app as a new user, in Danish and English, each with
the check that would have caught it: whole labels, no English in Danish mode, headings that name
their population, hidden amounts that say so, exact or protected figures, downloads as asked, error
pages, Danish order and time, chart legends, the favicon and the system administrator's start page."""

from __future__ import annotations

import csv
import io
import re

import pytest
from openpyxl import load_workbook
from playwright.sync_api import FloatRect, Page, expect

from browser.conftest import Server
from browser.signing import needs_second_factor, second_factor
from browser.test_signin import check_page, sign_in
from koes.services.demo import DEMO_PASSWORD

pytestmark = pytest.mark.xdist_group("browser")
ANALYST = "kbh-analytiker"
# "per 1" / "pr. 1" not followed by the rest of its number: how the cut label read.
CUT = {"en": re.compile(r"\bper 1(?![,0-9])"), "da": re.compile(r"\bpr\. 1(?![.0-9])")}
LANGUAGE_LINK = {"da": "Dansk", "en": "English"}


def open_as(page: Page, server: Server, username: str, path: str) -> None:
    """Sign in (with the second factor when the user's roles need it), then open ``path``."""
    sign_in(page, username, DEMO_PASSWORD)
    if needs_second_factor(page):
        second_factor(page, server, username)
    page.goto(path)


def in_language(page: Page, lang: str) -> None:
    if lang == "en":
        page.get_by_role("link", name="English").click()


def csv_rows(page: Page, href: str, delimiter: str) -> list[list[str]]:
    answer = page.request.get(href)
    assert answer.ok, answer.status
    return list(csv.reader(io.StringIO(answer.body().decode("utf-8-sig")), delimiter=delimiter))


@pytest.mark.parametrize("lang", ["da", "en"])
def test_labels_read_whole_on_pages_and_in_downloads(page: Page, server: Server, lang: str) -> None:
    """Item 1: "Admissions per 1,000 citizens" showed as "Admissions per 1" in headings, the measure
    list, table headers and CSV headers."""
    open_as(page, server, ANALYST, "/standard/noegletal")
    in_language(page, lang)
    texts = [page.locator("main").inner_text()]
    page.goto("/analyse?perspective=somatik&measure=indlaeggelser_pr_1000&measure=indlaeggelser_std&row=kommune")
    texts.append(page.locator("main").inner_text())
    measures = page.locator("#builder input[name=measure] + label").all_inner_texts()
    assert len(measures) == len(set(measures)), "a measure is listed twice"
    for text in texts:
        assert not CUT[lang].search(text), CUT[lang].search(text)
    href = page.locator("ul.downloads a").first.get_attribute("href") or ""
    header = csv_rows(page, href, ";" if lang == "da" else ",")[0]
    whole = "pr. 1.000 borgere" if lang == "da" else "per 1,000 citizens"
    assert any(whole in title for title in header), header
    assert not any(CUT[lang].search(title) for title in header), header


def test_danish_mode_shows_danish_chapters_ticks_and_no_english_toolbar(page: Page, server: Server) -> None:
    """Item 2: ICD-10 chapters, the Plotly toolbar and axis ticks ("15M", "40k") were English."""
    open_as(page, server, ANALYST, "/analyse?perspective=somatik&measure=vaerdi_kr&row=diagnosekapitel")
    body = page.locator("main").inner_text()
    assert "Kapitel I: Visse infektiøse og parasitære sygdomme" in body
    assert "Certain infectious" not in body
    expect(page.locator("#chart-pivot")).to_have_attribute("data-drawn", "true")
    expect(page.locator(".modebar")).to_have_count(0)  # "Download plot as a PNG", "Zoom", …
    ticks = page.locator("#chart-pivot .ytick text").all_text_contents()
    assert ticks and not any(re.search(r"\d[kMGµ]$", t) for t in ticks), ticks
    assert any("." in t for t in ticks), ticks  # thousands separated the Danish way: 1.000.000
    page.goto("/analyse?perspective=somatik&measure=indlaeggelser&row=atc_hovedgruppe")
    alert = page.get_by_role("alert").inner_text()
    assert "unknown" not in alert and "dimension" not in alert, alert


@pytest.mark.parametrize("lang", ["da", "en"])
def test_report_headings_titles_and_downloads_name_their_population(page: Page, server: Server, lang: str) -> None:
    """Item 3: the same <title> on every report, and no word of whom the figures cover."""
    open_as(page, server, ANALYST, "/standard/aeldre?sex=2")
    in_language(page, lang)
    women = "Kvinde" if lang == "da" else "Female"
    group = "Borgere 65+" if lang == "da" else "Citizens 65+"
    heading = page.locator("h1").inner_text()
    assert women in heading and group in heading and "København" in heading, heading
    first = page.title()
    assert women in first and "2023" in first, first
    page.goto("/standard/kroniske")
    second = page.title()
    assert second != first and ("diabetes" in second.lower()), second
    xlsx = page.locator("ul.downloads a", has_text="XLSX").get_attribute("href") or ""
    book = load_workbook(io.BytesIO(page.request.get(xlsx).body()))
    about = {row[0]: row[1] for row in book["Om tallene"].iter_rows(min_row=2, values_only=True)}
    report = "Rapport" if lang == "da" else "Report"
    assert "Diabetes" in str(about[report]) and "diabetes" in str(about["Population"]).lower(), about
    assert any(str(k).startswith("Definition: ") for k in about), about
    check_page(page, f"defects-report-population-{lang}")


def test_system_administrator_is_offered_only_what_it_may_open(page: Page, server: Server) -> None:
    """Item 5: Standard and Analyse were active cards that answered 403."""
    open_as(page, server, "systemadmin", "/")
    expect(page.locator("#route-standard")).to_have_count(0)
    expect(page.locator("#route-analyse")).to_have_count(0)
    expect(page.locator("#missing-standard")).to_contain_text("kræver en af rollerne")
    hrefs = [h for h in page.locator("main a").evaluate_all("as => as.map(a => a.getAttribute('href'))") if h]
    for href in hrefs:
        assert page.request.get(href).status < 400, href  # every link the page offers opens
    check_page(page, "defects-start-systemadmin")


@pytest.mark.parametrize("lang", ["da", "en"])
def test_hidden_amounts_say_hidden_with_the_reason(page: Page, server: Server, lang: str) -> None:
    """Item 6: a hidden amount in kroner showed "<5", read as "under 5 kroner"."""
    open_as(page, server, ANALYST, "/standard/noegletal")
    in_language(page, lang)
    table = page.locator("section.report-table table")
    headers = table.locator("thead th").all_inner_texts()
    kroner = [j for j, h in enumerate(headers) if "(kr.)" in h or "(DKK)" in h]
    assert kroner, headers
    word = "skjult" if lang == "da" else "hidden"
    seen = 0
    for j in kroner:
        for cell in table.locator(f"tbody tr > :nth-child({j + 1}).hidden-cell").all()[:20]:
            assert cell.inner_text() == word
            assert cell.get_attribute("title"), "the reason is on hover"
            seen += 1
    assert seen, "some amount is hidden on the small synthetic Denmark"
    assert word in page.locator("svg.koes-map").inner_html().lower() or word.capitalize() in page.content()


def test_individual_user_sees_exactness_and_reaches_exact_figures_in_one_click(page: Page, server: Server) -> None:
    """Item 7: the start page promised exact figures for the own citizens; reports showed <5."""
    open_as(page, server, "aarhus-sagsbehandler", "/standard/noegletal")
    for figure in ("map", "series", "comparison", "table"):
        expect(page.locator(f"#{figure}-exactness")).not_to_be_empty()
    expect(page.locator("#series-exactness")).to_contain_text("Præcise tal for dine egne borgere")
    expect(page.locator("#table-exactness")).to_contain_text("Beskyttede tal")
    page.locator("#exact-link").click()
    expect(page).to_have_url(re.compile(r"/analyse\?.*f\.kommune=751"))
    expect(page.locator("#result-exactness")).to_contain_text("Præcise tal: kun dine egne borgere")
    assert "<5" not in page.locator("table.pivot").inner_text()
    check_page(page, "defects-exact-view")


def test_downloads_honour_the_delimiter_and_the_shown_precision(page: Page, server: Server) -> None:
    """Item 8: delimiter=, was ignored; CSV said 132,272852 where the page showed 132,3."""
    open_as(page, server, ANALYST, "/standard/noegletal")
    href = page.locator("ul.downloads a", has_text="CSV").first.get_attribute("href") or ""
    shown = csv_rows(page, f"{href}&delimiter=,", ",")
    assert len(shown[0]) > 3, "read with commas, the header splits into its columns"
    rate = shown[0].index("Indlæggelser pr. 1.000 borgere pr. år")
    values = [line[rate] for line in shown[1:99] if line and re.fullmatch(r"\d+\.\d+", line[rate])]
    assert values and all(len(v.split(".")[1]) == 1 for v in values), values[:5]
    full = csv_rows(page, f"{href}&delimiter=,&precision=full", ",")
    assert any(len(line[rate].split(".")[-1]) > 1 for line in full[1:99] if line and "." in line[rate])
    assert page.request.get(f"{href}&delimiter=|").status == 400


def test_error_pages_keep_the_user_and_show_their_code(page: Page) -> None:
    """Item 9: "Fejlkode" with no value, and no user box or sign-out."""
    sign_in(page, ANALYST, DEMO_PASSWORD)
    answer = page.goto("/findes-ikke")
    assert answer is not None and answer.status == 404
    expect(page.locator("p.status")).to_have_text("Fejlkode 404")
    expect(page.locator(".who-name")).to_have_text("Analytiker, København")
    expect(page.get_by_role("button", name="Log ud")).to_be_visible()
    page.get_by_role("link", name="English").click()
    expect(page.locator("p.status")).to_have_text("Error code 404")


def test_favicon_danish_order_local_time_and_the_map_caption(page: Page, server: Server) -> None:
    """Item 9: a 404 for the favicon on every page; Aabenraa first and Tårnby before Tønder; UTC
    times; the Analysis map caption pointing "nedenfor" at a table above it."""
    assert page.request.get("/favicon.ico").status == 200
    open_as(page, server, ANALYST, "/standard/noegletal")
    icon = page.locator("link[rel=icon]").get_attribute("href") or ""
    assert page.request.get(icon).status == 200
    names = page.locator("#f-municipality option").all_inner_texts()
    assert names.index("Tønder") < names.index("Tårnby") < names.index("Ærø") < names.index("Aabenraa")
    assert names[-3:] == ["Aabenraa", "Aalborg", "Aarhus"]
    generated = page.locator(".provenance dd").nth(-2).inner_text()
    assert re.fullmatch(r"\d\d-\d\d-\d{4} \d\d:\d\d", generated), generated
    page.goto("/analyse?perspective=somatik&measure=indlaeggelser&row=kommune")
    expect(page.locator(".report-map figcaption")).to_contain_text("ovenfor")
    page.goto("/standard/praksis?variant=almen_praksis")
    breakdown = page.locator("#breakdown-heading")
    if breakdown.count():
        assert "(køs)" not in breakdown.inner_text()


def test_a_chart_shows_every_series_in_its_legend(page: Page, server: Server) -> None:
    """Item 9: the legend was cut after nine series and rotated labels ran over it."""
    open_as(
        page, server, ANALYST, "/analyse?perspective=somatik&measure=indlaeggelser&row=diagnosekapitel&column=maaned"
    )
    expect(page.locator("#chart-pivot")).to_have_attribute("data-drawn", "true")
    chart = page.locator("#chart-pivot").bounding_box()
    entries = [t.bounding_box() for t in page.locator("#chart-pivot .legend .traces").all()]
    ticks = [t.bounding_box() for t in page.locator("#chart-pivot .xtick text").all()]
    assert chart and len(entries) > 9, len(entries)
    for box in entries:  # every series is named inside the chart, clear of the axis labels
        assert box and box["y"] + box["height"] <= chart["y"] + chart["height"] + 1, box
        for tick in ticks:
            assert tick and not overlaps(box, tick), (box, tick)
    check_page(page, "defects-legend")


def overlaps(a: FloatRect, b: FloatRect) -> bool:
    return not (
        a["x"] + a["width"] <= b["x"]
        or b["x"] + b["width"] <= a["x"]
        or a["y"] + a["height"] <= b["y"]
        or b["y"] + b["height"] <= a["y"]
    )


def test_a_wide_long_table_keeps_its_last_columns_on_screen(page: Page, server: Server) -> None:
    """Item 9: the last columns of a wide table read as clipped: its scrollbar was 98 rows down."""
    open_as(
        page,
        server,
        ANALYST,
        "/analyse?perspective=somatik&measure=indlaeggelser&measure=indlaeggelser_pr_1000&measure=sengedage"
        "&row=kommune&column=aar",
    )
    box = page.locator("#result .table-scroll")
    box.scroll_into_view_if_needed()
    height, window, wide = box.evaluate(
        "b => [b.getBoundingClientRect().height, innerHeight, b.scrollWidth > b.clientWidth]"
    )
    assert height <= window, "the box and its horizontal scrollbar fit in the window"
    box.evaluate("b => { b.scrollLeft = b.scrollWidth; }")
    last, frame = page.locator("#result table.pivot thead th").last.bounding_box(), box.bounding_box()
    assert last and frame and last["x"] + last["width"] <= frame["x"] + frame["width"] + 1
    assert wide or last["x"] + last["width"] <= frame["x"] + frame["width"]


def test_a_new_perspective_drops_the_measures_of_the_old_one(page: Page, server: Server) -> None:
    """Item 9: the builder kept a measure that does not belong to the newly chosen perspective."""
    open_as(page, server, ANALYST, "/analyse?perspective=somatik&measure=indlaeggelser_std&row=kommune")
    page.get_by_label("Perspektiv", exact=True).select_option("medicin")
    page.locator("#builder button[type=submit]").last.click()
    expect(page.locator("#result-heading")).to_be_visible()
    ticked = page.locator("#builder input[name=measure]:checked").evaluate_all("cs => cs.map(c => c.value)")
    offered = page.locator("#builder input[name=measure]").evaluate_all("cs => cs.map(c => c.value)")
    assert ticked and set(ticked) <= set(offered) and "indlaeggelser_std" not in offered + ticked
    assert "standardiseret" not in page.locator("#result-heading").inner_text()


def test_a_comparison_of_kroner_totals_points_to_the_per_citizen_measure(page: Page, server: Server) -> None:
    """Item 4 in the builder: the user chose a total; the page says to compare per citizen."""
    open_as(page, server, ANALYST, "/analyse?perspective=somatik&measure=medfinansiering_kr&compare=1")
    expect(page.locator("#per-citizen-hint")).to_contain_text("Medfinansiering pr. borger pr. år (kr.)")
    page.goto("/analyse?perspective=somatik&measure=medfinansiering_pr_borger&compare=1")
    expect(page.locator("#result-heading")).to_be_visible()
    expect(page.locator("#per-citizen-hint")).to_have_count(0)
