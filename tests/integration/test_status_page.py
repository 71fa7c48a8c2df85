"""The data status page (``/admin/status``) over real warehouses, on SQLite and PostgreSQL app databases.

The small warehouse of the session has no quarantined rows, so a second, tiny warehouse is loaded
from extracts with a few broken codes: its quarantine summary is checked against ``quarantine.csv``.
"""

from __future__ import annotations

import csv
import json
import re
import warnings
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from koes.domain.periods import YearRange
from koes.refdata import load_refdata
from koes.services.demo import ensure_demo_users
from koes.services.status import mask_reason, summarise
from koes.services.users import OPERATOR
from koes.services.warehouse import LoadResult, load_extracts
from koes.settings import Settings
from koes.synthetic.generate import GenerationRequest, generate
from koes.synthetic.writer import ExtractFormat
from koes.web.app import create_app
from koes.web.formats import number
from koes.web.pages.common import SESSION_COOKIE, Pages
from support import fast_passwords

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

BROKEN_CODE = "ZZQ9"  # not in the code list `prioritet`
BROKEN_ROWS = 3


def _client(settings: Settings) -> Iterator[tuple[TestClient, Pages]]:
    app = create_app(settings)
    pages = app.state.pages
    assert isinstance(pages, Pages)
    ensure_demo_users(pages.signin.trail, fast_passwords())
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, pages


@pytest.fixture
def broken_pages(broken_warehouse: Path, app_db_url: str, tmp_path: Path) -> Iterator[tuple[TestClient, Pages]]:
    yield from _client(Settings(data_dir=tmp_path, warehouse_dir=broken_warehouse, app_db_url=app_db_url))


@pytest.fixture
def app_pages(
    small_load: LoadResult, small_settings: Settings, app_db_url: str, tmp_path: Path
) -> Iterator[tuple[TestClient, Pages]]:
    settings = Settings(data_dir=tmp_path, warehouse_dir=small_settings.warehouse, app_db_url=app_db_url)
    yield from _client(settings)


@pytest.fixture(scope="module")
def broken_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 400-person warehouse where a few contacts carry an unknown priority code (and so are quarantined)."""
    root = tmp_path_factory.mktemp("status-broken")
    generate(GenerationRequest(400, YearRange(2023, 2023), 5, root / "extracts", fmt=ExtractFormat.CSV), load_refdata())
    path = root / "extracts" / "lpr_kontakter.csv"
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    column = rows[0].index("prioritet")
    for row in rows[1 : 1 + BROKEN_ROWS]:
        row[column] = BROKEN_CODE
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)
    settings = Settings(data_dir=root / "data", threads=1, memory_limit="2GB")
    load_extracts(settings, root / "extracts")
    return settings.warehouse


def _sign_in(client: TestClient, pages: Pages, username: str) -> None:
    user_id = pages.users.user_by_name(OPERATOR, username).id
    client.cookies.set(SESSION_COOKIE, pages.sessions.start("signed_in", user_id, second_factor=True).token)


def _table(html: str, table_id: str) -> str:
    return html.split(f'id="{table_id}"', 1)[1].split("</table>", 1)[0]


def _register_counts(html: str) -> dict[str, tuple[str, str, str]]:
    """Register → (rows read, loaded, quarantined) as the page writes them."""
    found = re.findall(
        r'data-register="([^"]+)">.*?class="num rows-read">([^<]*)<.*?class="num rows-loaded">([^<]*)<'
        r'.*?class="num rows-quarantined">([^<]*)<',
        _table(html, "registers-table"),
        re.DOTALL,
    )
    return {register: (read, loaded, quarantined) for register, read, loaded, quarantined in found}


def _audited(pages: Pages, action: str) -> list[str]:
    return [r.event.user for r in pages.signin.trail.records() if r.event.action == action]


def test_local_admin_sees_releases_row_accounting_and_is_audited(
    app_pages: tuple[TestClient, Pages], small_load: LoadResult
) -> None:
    client, pages = app_pages
    _sign_in(client, pages, "kbh-admin")
    start = client.get("/")
    assert 'href="/admin/status"' in start.text and "Datastatus" in start.text
    page = client.get("/admin/status")
    assert page.status_code == 200
    release = small_load.release
    manifest = release.manifest()
    assert f"Aktuel udgivelse: {release.id}" in page.text
    releases = _table(page.text, "releases-table")
    assert f"<code>{release.id}</code>" in releases and 'aria-current="true"' in releases
    loaded = sum(v["loaded"] for v in manifest["row_accounting"].values())
    assert f'<td class="num">{number(loaded)}</td>' in releases

    counts = _register_counts(page.text)
    assert list(counts) == list(manifest["row_accounting"])
    for register, row in manifest["row_accounting"].items():
        assert row["in"] == row["loaded"] + row["quarantined"]
        assert counts[register] == (number(row["in"]), number(row["loaded"]), number(row["quarantined"]))
    registers = _table(page.text, "registers-table")
    for source in manifest["source_files"]:
        assert f"<code>{source['file']}</code>" in registers and source["sha256"][:12] in registers
        assert source["sha256"] not in registers  # shortened
    start_day, end_day = (manifest["extract_period"][k] for k in ("start", "end"))
    danish_end = "-".join(reversed(end_day.split("-")))
    assert f"<td>{danish_end}</td>" in registers  # freshness: the extract period's end, dd-mm-yyyy
    period = f"{'-'.join(reversed(start_day.split('-')))} – {danish_end}"
    assert f"Udtræksperioden er {period} for alle registre" in page.text
    assert 'id="quarantine-empty"' in page.text  # the small warehouse quarantined nothing
    assert "<caption" in page.text and '<th scope="col"' in page.text and '<th scope="row">' in page.text

    views = [r.event for r in pages.signin.trail.records() if r.event.action == "status.view"]
    assert [(v.user, v.release_id, v.outcome) for v in views] == [("kbh-admin", release.id, "ok")]

    client.cookies.set("koes_lang", "en")
    english = client.get("/admin/status")
    assert f"Current release: {release.id}" in english.text
    assert _audited(pages, "status.view") == ["kbh-admin", "kbh-admin"]


def test_system_admin_may_view_the_status(app_pages: tuple[TestClient, Pages]) -> None:
    client, pages = app_pages
    _sign_in(client, pages, "systemadmin")
    assert client.get("/admin/status").status_code == 200
    assert _audited(pages, "status.view") == ["systemadmin"]


def test_aggregate_user_gets_the_403_page_and_is_recorded(app_pages: tuple[TestClient, Pages]) -> None:
    client, pages = app_pages
    _sign_in(client, pages, "kbh-analytiker")
    page = client.get("/admin/status")
    assert page.status_code == 403 and "Du har ikke adgang" in page.text
    assert "registers-table" not in page.text
    assert _audited(pages, "access.denied") == ["kbh-analytiker"]
    assert _audited(pages, "status.view") == []
    assert 'href="/admin/status"' not in client.get("/").text


def test_not_signed_in_goes_to_the_login_page(app_pages: tuple[TestClient, Pages]) -> None:
    client, pages = app_pages
    answer = client.get("/admin/status", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/login?next=%2Fadmin%2Fstatus"
    assert _audited(pages, "status.view") == []


def test_quarantine_summary_counts_without_row_values(
    broken_pages: tuple[TestClient, Pages], broken_warehouse: Path
) -> None:
    client, pages = broken_pages
    _sign_in(client, pages, "kbh-admin")
    page = client.get("/admin/status")
    assert page.status_code == 200
    current = (broken_warehouse / "current").read_text(encoding="utf-8").strip()
    folder = broken_warehouse / "releases" / current
    with (folder / "quarantine.csv").open(encoding="utf-8", newline="") as f:
        problems = list(csv.DictReader(f))
    expected = Counter((p["register"], p["column"], mask_reason(p["reason"])) for p in problems)
    assert expected[("lpr_kontakter", "prioritet", "unknown code … (not in code list prioritet)")] == BROKEN_ROWS
    largest = sorted(expected.items(), key=lambda kv: (-kv[1], kv[0]))[:20]

    table = _table(page.text, "quarantine-table")
    shown = re.findall(
        r'<tr>\s*<th scope="row"><code>([^<]+)</code></th>\s*<td>(?:<code>([^<]*)</code>|[^<]*)</td>\s*'
        r'<td class="summary">([^<]*)</td>\s*<td class="num">([^<]*)</td>',
        table,
    )
    assert shown == [(r, c, reason, number(n)) for (r, c, reason), n in largest]
    total = re.search(r'id="quarantine-total">.*?<td class="num">([^<]*)</td>', table, re.DOTALL)
    assert total and total.group(1) == number(len(problems))
    assert BROKEN_CODE not in page.text  # the value itself never reaches the page

    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    accounting = manifest["row_accounting"]["lpr_kontakter"]
    assert accounting["quarantined"] >= BROKEN_ROWS
    assert _register_counts(page.text)["lpr_kontakter"][2] == number(accounting["quarantined"])


@pytest.mark.parametrize(
    ("reason", "shown"),
    [
        (
            "unknown code 'DQQ99' (not in reference data sks_diagnose)",
            "unknown code … (not in reference data sks_diagnose)",
        ),
        ("does not have the expected form [A-Z]{2}: 'TUL\n2'", "does not have the expected form [A-Z]{2}: …"),
        ("'12' is outside the allowed range 0 to 9", "… is outside the allowed range 0 to 9"),
        ("date '9999-12-31' is out of range (1850–2100)", "date … is out of range (1850–2100)"),
        ("slut '2023-01-02' is before start '2023-02-01'", "slut … is before start …"),
        (
            "duplicate key (k); the first of these rows is x.csv row 5, which is kept",
            "duplicate key (k); the first of these rows is x.csv row …, which is kept",
        ),
        ("unknown code 'a'b' (not in x)", "unknown code … (not in x)"),
        ("unknown code 'it' s' (not in x)", "unknown code …"),  # a quote left over: cut before the first value
        (
            "refers to a person that is not in the extract or was quarantined",
            "refers to a person that is not in the extract or was quarantined",
        ),
    ],
)
def test_reasons_lose_their_quoted_values(reason: str, shown: str) -> None:
    assert mask_reason(reason) == shown


def test_the_summary_shows_the_twenty_largest_groups_and_counts_the_rest() -> None:
    rows = [
        {"register": "ssr_ydelser", "column": f"c{i:02}", "reason": f"unknown code 'X{i}' (not in y)"}
        for i in range(25)
        for _ in range(i + 1)
    ]
    summary = summarise(rows)
    assert summary.groups == 25 and summary.problems == sum(range(1, 26))
    assert [g.column for g in summary.top] == [f"c{i:02}" for i in range(24, 4, -1)]
    assert summary.others == sum(range(1, 6))
    assert {g.reason for g in summary.top} == {"unknown code … (not in y)"}
