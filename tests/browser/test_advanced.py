"""The Advanced route in a real browser: a municipal caseworker uploads a Danish-Excel file built
from the demo's own population, sees the validation report before anything else and the cohort in
the list, in Danish and English; axe-core on each page; no CPR number comes back (the CPR scan)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pyarrow.parquet as pq
import pyotp
import pytest
from playwright.sync_api import Page, expect

from browser.conftest import Server
from browser.test_signin import check_page, sign_in
from cohort_files import XCell, write_xlsx
from koes.services.appdb import open_app_database
from koes.services.audit import AuditTrail
from koes.services.signin import SignInService, load_secret_key
from koes.services.users import OPERATOR, UserService
from support import fast_passwords

pytestmark = pytest.mark.xdist_group("browser")
USER, PASSWORD = "kbh-kohorte", "Kohorte-adgang-2025"


@pytest.fixture(scope="module")
def caseworker(server: Server) -> pyotp.TOTP:
    """An individ user of København with TOTP enrolled; its authenticator."""
    database = open_app_database(server.settings)
    try:
        trail = AuditTrail(database)
        users = UserService(trail, fast_passwords())
        user = users.create_user(OPERATOR, USER, organisation="kommune:101", password=PASSWORD)
        users.grant(OPERATOR, user.id, "individ")
        signin = SignInService(trail, load_secret_key(server.settings), users)
        totp = pyotp.TOTP(signin.enrol_totp(user.id).secret)
        signin.confirm_totp(user.id, totp.now())
        return totp
    finally:
        database.dispose()


def danish_excel(small_extracts: Path, out: Path) -> tuple[Path, int]:
    """What Danish Excel saves: CPR numbers as numbers (a leading zero lost), dd-mm-åååå dates as text,
    a group and the user's own case number; residents of København and a few from elsewhere."""
    periods = pq.read_table(small_extracts / "cpr_adresser.parquet").to_pylist()
    home = sorted({p["pnr"] for p in periods if p["kommunekode"] == "0101" and p["til_dato"] is None})[:24]
    away = sorted({p["pnr"] for p in periods if p["kommunekode"] == "0751" and p["til_dato"] is None})[:6]
    rows: list[list[XCell]] = [["CPR-nummer", "Indsatsdato", "Gruppe", "Sagsnr."]]
    for i, pnr in enumerate(home + away):
        rows.append([int(pnr), "01-03-2023", "indsats" if i % 2 else "kontrol", f"SAG-{1000 + i}"])
    rows.append(["12345", "01-03-2023", "kontrol", "SAG-9999"])  # a broken number: refused, by line
    return write_xlsx(out / "borgere.xlsx", {"Ark1": rows}), len(rows) - 1


def test_upload_a_danish_excel_file_and_see_the_report_and_the_cohort(
    page: Page, server: Server, caseworker: pyotp.TOTP, small_extracts: Path, tmp_path: Path
) -> None:
    path, rows = danish_excel(small_extracts, tmp_path)
    sign_in(page, USER, PASSWORD, next_path="/avanceret")
    page.get_by_label("Kode eller gendannelseskode").fill(caseworker.at(time.time() + 30))
    page.get_by_role("button", name="Bekræft").click()
    expect(page).to_have_url(re.compile(r"/avanceret$"))
    expect(page.locator("#no-cohorts")).to_be_visible()
    check_page(page, "advanced-empty")

    page.get_by_label("Fil (CSV eller Excel)").set_input_files(str(path))
    page.get_by_label("Formål").fill("Opfølgning på rehabilitering efter fald")
    page.get_by_label("Gem i antal dage").fill("30")
    page.get_by_role("button", name="Upload og valider").click()

    expect(page.locator("#upload-kept")).to_be_visible()
    counts = page.locator("#report-counts dd").all_text_contents()
    assert counts == [str(rows), str(rows - 1), "24", "1"]  # read, kept, own citizens, refused
    expect(page.locator("#refused-table tbody tr")).to_have_count(1)
    expect(page.locator("#refused-table tbody td").first).to_have_text(str(rows + 1))  # its line in the sheet
    expect(page.locator("#report-groups")).to_contain_text("indsats")
    report_box = page.locator("#report").bounding_box()
    form_box = page.locator("#upload-form").bounding_box()
    assert report_box is not None and form_box is not None and report_box["y"] < form_box["y"]  # the report first
    row = page.locator("#cohort-table tbody tr")
    expect(row).to_have_count(1)
    expect(row.locator("th a")).to_have_text("borgere")
    expect(row.locator("th a")).to_have_attribute("href", re.compile(r"^/avanceret/[A-Za-z0-9_-]{16,}$"))
    check_page(page, "advanced-uploaded")

    with page.expect_download() as download:
        page.locator("#report-download").click()
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    assert text.startswith("afsnit;linje") and f";{rows + 1};" in text

    page.get_by_role("link", name="English").click()
    expect(page.locator("h1")).to_have_text("Advanced – cohorts")
    expect(page.locator("#cohort-table tbody tr")).to_have_count(1)
    check_page(page, "advanced-english")

    page.get_by_role("button", name='Delete the cohort "borgere"').click()
    expect(page.locator("#done")).to_have_text("The cohort was deleted.")
    expect(page.locator("#no-cohorts")).to_be_visible()
