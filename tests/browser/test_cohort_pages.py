"""The cohort's profile and before-and-after pages in a real browser (Chromium): the tables, the
chart drawn by charts.js under the strict CSP, axe-core clean, in Danish and English."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from playwright.sync_api import Browser, Page, expect

from browser.conftest import CprScan
from browser.test_signin import check_page
from cohort_support import InMemoryCohorts, make_cohort, residents_on
from koes.services.users import OPERATOR
from koes.services.warehouse import LoadResult
from koes.settings import Settings
from koes.web.app import create_app
from koes.web.pages.common import SESSION_COOKIE
from support import fast_passwords, free_port

pytestmark = pytest.mark.xdist_group("browser")


@dataclass(frozen=True)
class Site:
    url: str
    cookie: str  # the session of a user of municipality 101 with `individ`, sharing the cohort
    cohort_id: str


@pytest.fixture(scope="module", params=[20_000])
def site(
    request: pytest.FixtureRequest,
    small_load: LoadResult,
    small_settings: Settings,
    small_extracts: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("cohort-browser")
    people = residents_on(small_extracts)
    chosen = [n for n, k in people.items() if k == "0101"][:120]
    groups = ["indsats" if i % 2 else "kontrol" for i in range(len(chosen))]
    days = [date(2023, 1 + i % 12, 1 + i % 28) for i in range(len(chosen))]
    store = InMemoryCohorts()
    cohort = store.add(
        make_cohort(small_settings, folder, chosen, cohort_id="browser", groups=groups, index_dates=days)
    )
    settings = Settings(
        data_dir=folder / "app",
        warehouse_dir=small_settings.warehouse,
        threads=1,
        memory_limit="2GB",
        cohort_job_members=request.param,
    )
    app = create_app(settings, cohorts=store)
    users = app.state.users
    users.passwords = fast_passwords()
    user = users.create_user(OPERATOR, "kohorte-analytiker", organisation="kommune:101")
    users.grant(OPERATOR, user.id, "individ")
    store.shared[cohort.id].add("kohorte-analytiker")
    session = app.state.pages.sessions.start("signed_in", user.id, second_factor=True)
    with _served(app) as url:
        yield Site(url, session.token, cohort.id)


@contextmanager
def _served(app: FastAPI) -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", ws="none"))
    thread = threading.Thread(target=server.run, name="koes-cohort-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the app did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def page(browser: Browser, site: Site) -> Iterator[Page]:
    scan = CprScan()
    context = browser.new_context(base_url=site.url, locale="da-DK", bypass_csp=True)
    context.add_cookies([{"name": SESSION_COOKIE, "value": site.cookie, "url": site.url}])
    page = context.new_page()
    page.on("response", scan.on_response)
    errors: list[str] = []
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    yield page
    context.close()
    assert scan.leaks == []
    assert errors == [], f"failed requests of the page: {errors}"


def test_the_profile_page_reads_in_both_languages(page: Page, site: Site) -> None:
    page.goto(f"/avanceret/{site.cohort_id}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Kohorteprofil: Kohorte browser")
    use = page.locator("#use-table")
    expect(use).to_contain_text("gange så mange somatiske indlæggelser som forventet")
    expect(use).to_contain_text("Hele landet")
    expect(page.locator("#profile-members")).to_have_text("120")
    check_page(page, "cohort-profile")
    page.get_by_role("link", name=re.compile("English")).first.click()
    expect(page.locator("#use-table")).to_contain_text("as expected")
    check_page(page, "cohort-profile-en")


def test_the_before_and_after_chart_is_drawn(page: Page, site: Site) -> None:
    page.goto(f"/avanceret/{site.cohort_id}")
    page.get_by_role("link", name="Før og efter indeksdatoen").click()
    expect(page.locator("#chart-series .main-svg").first).to_be_visible(timeout=20_000)  # plotly, on a busy machine
    expect(page.locator("#chart-series .scatterlayer .trace")).to_have_count(2)  # indsats, kontrol
    page.get_by_label("Måneder før og efter (1–36)").fill("6")
    page.get_by_role("button", name="Vis", exact=True).click()
    expect(page.locator("#series-table tbody tr")).to_have_count(13)
    expect(page.locator("#series-difference")).to_contain_text("minus ændringen i kontrol")
    check_page(page, "cohort-before-after")


def test_the_individual_table_reads_in_english_and_names_sex_from_the_catalog(page: Page, site: Site) -> None:
    page.goto(f"/avanceret/{site.cohort_id}/personer")
    expect(page.locator("#individuals-table")).to_contain_text("Kvinde")
    check_page(page, "cohort-individuals")
    page.get_by_role("link", name=re.compile("English")).first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("The cohort's citizens in your municipality")
    table = page.locator("#individuals-table")
    expect(table.locator("thead")).to_contain_text("Admissions")
    expect(table.locator("thead")).to_contain_text("Diagnoses at admission (ICD-10)")
    expect(table.locator("tbody")).to_contain_text("Female")
    expect(table.locator("tbody")).not_to_contain_text("Kvinde")
    expect(page.locator("#individuals-view-only")).to_contain_text("View only, left out of downloads")
    check_page(page, "cohort-individuals-en")


@pytest.mark.parametrize("site", [0], indirect=True)  # every cohort large: the pages run as jobs
def test_a_large_cohorts_profile_waits_for_its_job_and_then_shows(page: Page, site: Site) -> None:
    page.goto(f"/avanceret/{site.cohort_id}")
    expect(page).to_have_url(re.compile(r"\?job=[A-Za-z0-9_-]+$"))
    waiting = page.locator("#job-status")
    if waiting.count():  # the job may be done before the page is shown: then there is nothing to wait for
        expect(waiting).to_have_attribute("aria-live", "polite")
        check_page(page, "cohort-job")
    # jobs.js follows the job and loads the page again when it is done
    expect(page.get_by_role("heading", level=1)).to_have_text("Kohorteprofil: Kohorte browser", timeout=60_000)
    expect(page.locator("#profile-members")).to_have_text("120")
