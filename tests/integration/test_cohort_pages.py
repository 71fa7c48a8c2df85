"""The Advanced analysis pages on the small warehouse: the cohort's profile (``/avanceret/{id}``) and
the builder's population choice "Kohorte …", signed in as a user of municipality 101 with `individ`."""

from __future__ import annotations

import html
import re
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

import pytest
from fastapi import FastAPI

from cohort_support import InMemoryCohorts, make_cohort, residents_on
from koes.cohorts.population import CohortPopulation
from koes.privacy.audit import AuditEvent
from koes.services.users import OPERATOR
from koes.services.warehouse import LoadResult
from koes.settings import Settings
from koes.web.app import create_app
from koes.web.i18n import LANG_COOKIE
from koes.web.pages.common import SESSION_COOKIE
from support import fast_passwords, unique_name

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient


@dataclass
class Site:
    app: FastAPI
    store: InMemoryCohorts
    cohort: CohortPopulation

    def visitor(self, role: str = "individ", organisation: str = "kommune:101", share: bool = True) -> TestClient:
        users = self.app.state.users
        name = f"k-{unique_name()}"
        created = users.create_user(OPERATOR, name, organisation=organisation)
        users.grant(OPERATOR, created.id, role)
        if share:
            self.store.shared[self.cohort.id].add(name)
        session = self.app.state.pages.sessions.start("signed_in", created.id, second_factor=True)
        client = TestClient(self.app, raise_server_exceptions=False)
        client.cookies.set(SESSION_COOKIE, session.token)
        return client

    def records(self, action: str) -> list[AuditEvent]:
        return [e.event for e in self.app.state.audit.records() if e.event.action == action]


@pytest.fixture(scope="module")
def site(
    small_load: LoadResult, small_settings: Settings, small_extracts: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("cohort-pages")
    people = residents_on(small_extracts)
    chosen = [n for n, k in people.items() if k == "0101"][:80] + [n for n, k in people.items() if k == "0147"][:20]
    groups = ["indsats" if i % 2 else "kontrol" for i in range(len(chosen))]
    days = [date(2023, 1 + i % 12, 1 + i % 28) for i in range(len(chosen))]
    store = InMemoryCohorts()
    cohort = store.add(make_cohort(small_settings, folder, chosen, cohort_id="side", groups=groups, index_dates=days))
    settings = replace(small_settings, data_dir=folder / "app", warehouse_dir=small_settings.warehouse)
    app = create_app(settings, cohorts=store)
    app.state.users.passwords = fast_passwords()
    with TestClient(app, raise_server_exceptions=False):
        yield Site(app, store, cohort)


def _text(page: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def test_the_profile_page_shows_use_beside_the_expected_in_both_languages(site: Site) -> None:
    client = site.visitor()
    page = client.get(f"/avanceret/{site.cohort.id}")
    assert page.status_code == 200, page.text
    text = _text(page.text)
    assert "Kohorteprofil: Kohorte side" in text and "Hele landet" in text and "København" in text
    assert "gange så mange somatiske indlæggelser som forventet" in text
    assert "Borgere med diabetes" in text and "Modtagere af hjemmepleje" in text
    client.cookies.set(LANG_COOKIE, "en")
    english = _text(client.get(f"/avanceret/{site.cohort.id}").text)
    assert "times as many somatic admissions as expected" in english and "Denmark" in english
    (record, *_) = site.records("cohort_profile")
    assert record.purpose == site.cohort.purpose
    assert not re.search(r"\b\d{6}-?\d{4}\b", page.text)  # never a CPR number


def test_a_cohort_not_shared_is_not_found_and_aggregate_users_are_refused(site: Site) -> None:
    assert site.visitor(share=False).get(f"/avanceret/{site.cohort.id}").status_code == 404
    assert site.visitor(role="aggregeret").get(f"/avanceret/{site.cohort.id}").status_code == 403


def test_the_builder_offers_the_cohort_as_the_population_and_its_groups(site: Site) -> None:
    client = site.visitor()
    plain = client.get("/analyse?perspective=somatik&measure=patienter&row=kommune")
    assert "Kohorte Kohorte side" in plain.text and 'value="kohortegruppe"' not in plain.text
    page = client.get(f"/analyse?perspective=somatik&measure=patienter&row=kohortegruppe&cohort={site.cohort.id}")
    assert page.status_code == 200
    assert 'value="kohortegruppe"' in page.text
    table = page.text.split('class="data-table pivot"', 1)[1].split("</table>", 1)[0]
    assert ">indsats<" in table and ">kontrol<" in table


def test_the_before_and_after_page_draws_the_series_and_its_table(site: Site) -> None:
    client = site.visitor()
    page = client.get(f"/avanceret/{site.cohort.id}/foer-efter?months=4")
    assert page.status_code == 200, page.text
    assert 'id="series-data"' in page.text and 'data-chart="series-data"' in page.text
    table = page.text.split('id="series-table"', 1)[1].split("</table>", 1)[0]
    assert list(re.findall(r'<th scope="row">(-?\d+)</th>', table)) == [str(m) for m in range(-4, 5)]
    assert "minus ændringen i kontrol" in _text(page.text)
    assert site.records("cohort_series")


def test_the_individual_table_page_shows_view_only_columns_and_the_download_leaves_them_out(site: Site) -> None:
    client = site.visitor()
    page = client.get(f"/avanceret/{site.cohort.id}/personer")
    assert page.status_code == 200, page.text
    text = _text(page.text)
    assert "Diagnoser ved indlæggelse (ICD-10)" in text and "Kun til visning" in text
    assert "S-0001" in text and "S-0081" not in text  # members 81–100 live in 147: never a row here
    csv_text = client.get(f"/avanceret/{site.cohort.id}/personer.csv").text
    assert "Egen reference" in csv_text and "Diagnoser" not in csv_text
    for shown in (page.text, csv_text):
        assert not re.search(r"\b\d{6}-?\d{4}\b", shown)
        assert all(m.pseudonym not in shown for m in site.cohort.members)
    assert [e.action for e in site.records("individual_view")] and site.records("individual_export")
    assert site.visitor(role="aggregeret").get(f"/avanceret/{site.cohort.id}/personer").status_code == 403


def test_the_individual_table_names_each_members_sex_from_the_catalog_in_the_chosen_language(site: Site) -> None:
    client = site.visitor()
    danish = _text(client.get(f"/avanceret/{site.cohort.id}/personer").text)
    assert "Kvinde" in danish and "Mand" in danish and "Female" not in danish
    client.cookies.set(LANG_COOKIE, "en")
    english = _text(client.get(f"/avanceret/{site.cohort.id}/personer").text)
    assert "Female" in english and "Male" in english and "Kvinde" not in english


@pytest.fixture(scope="module")
def large(site: Site, small_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The same cohort on an app where every cohort is large (``cohort_job_members`` 0): pages make jobs."""
    folder = tmp_path_factory.mktemp("cohort-jobs")
    settings = replace(
        small_settings, data_dir=folder / "app", warehouse_dir=small_settings.warehouse, cohort_job_members=0
    )
    app = create_app(settings, cohorts=site.store)
    app.state.users.passwords = fast_passwords()
    with TestClient(app, raise_server_exceptions=False):
        yield Site(app, site.store, site.cohort)


def _until_done(client: TestClient, job_id: str) -> None:
    for _ in range(400):
        answer = client.get(f"/jobber/{job_id}")
        assert answer.status_code == 200
        if answer.json()["state"] not in ("queued", "running"):
            assert answer.json()["state"] == "done"
            return
        time.sleep(0.05)
    raise AssertionError("the job did not finish")


def test_a_large_cohorts_pages_run_as_jobs_with_progress_and_a_user_can_come_back(large: Site) -> None:
    client = large.visitor()
    for path, shown in (
        (f"/avanceret/{large.cohort.id}", "Kohorteprofil: Kohorte side"),
        (
            f"/avanceret/{large.cohort.id}/foer-efter?months=4",
            "minus ændringen i kontrol",
        ),
    ):
        started = client.get(path, follow_redirects=False)
        assert started.status_code == 303, started.text
        where = started.headers["location"]
        job_id = re.search(r"[?&]job=([A-Za-z0-9_-]+)", where).group(1)  # type: ignore[union-attr]
        waiting = client.get(where)
        assert waiting.status_code == 200
        if 'id="job"' in waiting.text:  # not done yet: the waiting page, followed by jobs.js
            assert 'aria-live="polite"' in waiting.text and "<progress" in waiting.text
            assert re.search(r'<script src="/assets/jobs\.[0-9a-f]{16}\.js"></script>', waiting.text)
        _until_done(client, job_id)
        page = client.get(where)  # come back to the same address: the answer
        assert page.status_code == 200 and shown in _text(page.text), page.text
        stranger = large.visitor()  # shared with the cohort, but not the job's owner
        assert stranger.get(where).status_code == 404 and stranger.get(f"/jobber/{job_id}").status_code == 404
    assert [e.action for e in large.records("job.read")]
