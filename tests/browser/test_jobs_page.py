"""The jobs listing (``/avanceret/jobber``) in a real browser: a user with TOTP reaches it from the
Advanced page and sees its own jobs (never another user's), with a link to a kept result, in Danish
and English; axe-core on the page."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect

from browser.conftest import Server
from browser.signing import second_factor
from browser.test_signin import check_page, sign_in
from koes.appdb.jobs import JobRow, insert_job
from koes.services.appdb import open_app_database
from koes.services.audit import AuditTrail
from koes.services.users import OPERATOR, UserService
from support import fast_passwords

pytestmark = pytest.mark.xdist_group("browser")
USER, OTHER, PASSWORD = "kbh-jobber", "kbh-kollega", "Jobber-adgang-2025"


def _job(job_id: str, owner: str, state: str, minutes: int) -> JobRow:
    at = datetime.now(UTC) - timedelta(minutes=minutes)
    report: dict[str, object] = {"status": 422, "cohort": None, "refusal": None, "report": {}}
    return JobRow(
        id=job_id,
        owner=owner,
        organisation="kommune:101",
        kind="cohort_upload",
        subject="cohort upload",
        state=state,
        progress=100 if state == "done" else 40,
        problem=json.dumps({"code": "error", "message": "failed"}) if state == "failed" else None,
        result=json.dumps(report) if state == "done" else None,
        created_at=at,
        updated_at=at + timedelta(minutes=1),
    )


@pytest.fixture(scope="module")
def jobs_of_user(server: Server) -> list[str]:
    """Two users of København holding individ, with jobs (as a worker would have left them); the
    first user's job ids, newest first."""
    database = open_app_database(server.settings)
    try:
        users = UserService(AuditTrail(database), fast_passwords())
        for name in (USER, OTHER):
            user = users.create_user(OPERATOR, name, organisation="kommune:101", password=PASSWORD)
            users.grant(OPERATOR, user.id, "individ")
        insert_job(database, _job("browser-job-done", USER, "done", 30))
        insert_job(database, _job("browser-job-failed", USER, "failed", 10))
        insert_job(database, _job("browser-job-colleague", OTHER, "done", 5))
        return ["browser-job-failed", "browser-job-done"]
    finally:
        database.dispose()


def test_a_user_follows_the_advanced_route_to_its_jobs(page: Page, server: Server, jobs_of_user: list[str]) -> None:
    sign_in(page, USER, PASSWORD)
    second_factor(page, server, USER)
    page.goto("/avanceret")
    page.get_by_role("link", name="Se dine baggrundsjob").click()
    expect(page).to_have_url(re.compile(r"/avanceret/jobber$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Baggrundsjob")
    rows = page.locator("#job-table tbody tr")
    expect(rows).to_have_count(2)  # never the colleague's
    assert [rows.nth(i).get_attribute("data-id") for i in range(2)] == jobs_of_user
    expect(rows.nth(0)).to_contain_text("Fejlede")
    expect(rows.nth(1).get_by_role("link", name="Se resultatet")).to_have_attribute(
        "href", "/avanceret?job=browser-job-done"
    )
    expect(page.locator("nav.breadcrumb")).to_contain_text("Avanceret")
    check_page(page, "jobs")

    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Background jobs")
    expect(rows.nth(0)).to_contain_text("Failed")
    check_page(page, "jobs-en")
