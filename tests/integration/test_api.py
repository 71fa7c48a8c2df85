"""The JSON API over the small release: catalog, analysis, export, errors, and a real server.

Numbers are checked against ``AnalysisService.run`` on a fresh service (its own cache), cell by
cell, so the API is shown to publish exactly what the one analysis path computes, hidden cells
included.
"""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import openpyxl
import pytest

from koes.domain.cells import TOTAL
from koes.services.analysis import AnalysisService
from koes.services.results import AnalysisResult
from koes.settings import ApiAuth, Settings
from koes.web.app import create_app
from koes.web.errors import SECURITY_HEADERS
from support import api_token, bearer, free_port

with warnings.catch_warnings():  # Starlette prefers httpx2 to httpx; either drives the TestClient
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

Key = tuple[Any, ...]
# Small municipalities split by sex: plenty of primary, secondary and derived suppression.
HIDING = {
    "perspective": "somatik",
    "measures": ["indlaeggelser", "indlaeggelser_pr_1000", "patienter"],
    "rows": ["kommune"],
    "columns": ["koen"],
    "filters": {"region": [1081]},
}
BOM = b"\xef\xbb\xbf"
HIDDEN_STATUSES = {"primary", "secondary", "derived"}


@pytest.fixture(scope="module")
def client(analysis: AnalysisService, small_settings: Settings) -> Iterator[TestClient]:
    """Signed in with the API token of a national user holding `aggregeret` (the local principal's rights)."""
    token = api_token(small_settings, ["aggregeret"], "national")
    with TestClient(create_app(small_settings, analysis), headers=bearer(token)) as c:
        yield c


@pytest.fixture(scope="module")
def fresh(analysis: AnalysisService, small_settings: Settings) -> Iterator[AnalysisService]:
    """A second service on the same release, with a cache of its own: an independent answer."""
    service = AnalysisService(small_settings)
    yield service
    service.close()


@pytest.fixture(scope="module")
def hiding(fresh: AnalysisService) -> AnalysisResult:
    return fresh.run(HIDING, fresh.local_principal())


def _cells_from_api(block: dict[str, Any], measure: str) -> dict[tuple[Key, Key], Any]:
    rows = [tuple(r["key"]) for r in block["rows"]]
    cols = [tuple(c["key"]) for c in block["columns"]]
    out: dict[tuple[Key, Key], Any] = {}
    for cell in block["cells"]:
        row = ("total",) if cell["row"] == "total" else rows[cell["row"]]
        col = ("total",) if cell["column"] == "total" else cols[cell["column"]]
        value = cell["values"][measure]
        out[(row, col)] = value["status"] if value["status"] in HIDDEN_STATUSES else value["value"]
    return out


def _cells_from_result(result: AnalysisResult, measure: str, index: int = 0) -> dict[tuple[Key, Key], Any]:
    protected = result.blocks[index]
    b = protected
    out: dict[tuple[Key, Key], Any] = {}
    for r, c in b.cells():
        row = ("total",) if r == TOTAL else tuple(b.row_keys[r])
        col = ("total",) if c == TOTAL else tuple(b.col_keys[c])
        status = protected.status(measure, (r, c))
        value = protected.values[measure][(r, c)]
        out[(row, col)] = status if status is not None else (None if value is None else pytest.approx(float(value)))
    return out


# --- catalog ---------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["da", "en"])
def test_catalog_lists_perspectives_and_every_dimension_in_the_language(
    client: TestClient, analysis: AnalysisService, lang: str
) -> None:
    response = client.get(f"/api/v1/catalog?lang={lang}")
    assert response.status_code == 200
    body = response.json()
    catalog = analysis.catalog
    assert body["language"] == lang
    assert body["release"] == analysis.release_id()
    assert body["years"] == [2022, 2023]
    assert [p["id"] for p in body["perspectives"]] == [
        "somatik",
        "psykiatri",
        "sygesikring",
        "medicin",
        "pleje",
        "beskaeftigelse",
        "befolkning",
    ]
    for p in body["perspectives"]:
        assert p["label"] == catalog.perspectives[p["id"]].label.get(lang)
        assert {m["id"] for m in p["measures"]} == {m.id for m in catalog.measures_of(p["id"])}
        for m in p["measures"]:
            assert m["label"] == catalog.measures[m["id"]].label.get(lang)
    assert [d["id"] for d in body["dimensions"]] == list(catalog.dimensions)
    for d in body["dimensions"]:
        assert d["label"] == catalog.dimensions[d["id"]].label.get(lang)
        assert d["downloadable"] is catalog.dimensions[d["id"]].downloadable
        assert d["open"] or d["members"], d["id"]
    dims = {d["id"]: d for d in body["dimensions"]}
    assert [m["value"] for m in dims["aar"]["members"]] == [2022, 2023]
    assert {"value": 1, "label": "Male" if lang == "en" else "Mand"} in dims["koen"]["members"]
    assert dims["diagnose"]["downloadable"] is False
    assert {s["id"] for s in body["segments"]} == set(catalog.segments)


# --- analysis --------------------------------------------------------------------------------


def test_analysis_publishes_every_cell_and_the_same_numbers_as_the_service(
    client: TestClient, hiding: AnalysisResult
) -> None:
    response = client.post("/api/v1/analysis?lang=en", json=HIDING)
    assert response.status_code == 200, response.text
    for name, value in SECURITY_HEADERS:
        assert response.headers[name] == value
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert [m["id"] for m in body["measures"]] == HIDING["measures"]
    assert body["rows"][0]["label"] == "Municipality of residence"
    assert body["provenance"]["release_id"] == hiding.provenance.release_id
    (block,) = body["blocks"]
    assert len(block["cells"]) == (len(block["rows"]) + 1) * (len(block["columns"]) + 1)
    hidden = 0
    for cell in block["cells"]:
        assert set(cell["values"]) == set(HIDING["measures"])  # every measure in every cell
        for value in cell["values"].values():
            if value["status"] in HIDDEN_STATUSES:
                hidden += 1
                assert value["value"] is None
                assert value["display"] == ("<5" if value["status"] == "primary" else "x")
            else:
                assert value["status"] in ("ok", "none")
                assert "display" not in value
    assert hidden > 0
    assert body["suppression"]["cells_suppressed"] == hiding.cells_suppressed > 0
    for measure in HIDING["measures"]:
        assert _cells_from_api(block, measure) == _cells_from_result(hiding, measure)


def test_analysis_with_a_comparison_has_one_block_per_area(client: TestClient, fresh: AnalysisService) -> None:
    request = {
        "perspective": "befolkning",
        "measures": ["borgere"],
        "columns": ["koen"],
        "comparison": {"municipality": 101},
    }
    body = client.post("/api/v1/analysis", json=request).json()
    result = fresh.run(request, fresh.local_principal())
    assert len(body["blocks"]) == len(result.blocks) > 1
    assert body["blocks"][0]["area"]["label"]
    for i, block in enumerate(body["blocks"]):
        assert _cells_from_api(block, "borgere") == _cells_from_result(result, "borgere", i)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"measures": ["ingen_saadan"]}, "measures[0]"),
        ({"measures": ["indlaeggelser", "recepter"]}, "measures[1]"),  # a medicine measure in somatics
        ({"rows": ["ingen_saadan"]}, "rows[0]"),
        ({"columns": ["aar", "ingen_saadan"]}, "columns[1]"),
        ({"period": {"from": "2023-13"}}, "period.from"),
        ({"period": {"from": "2030"}}, "period"),
        ({"filters": {"kommune": [101, 9999]}}, "filters.kommune"),
        ({"filters": {"ingen_saadan": [1]}}, "filters.ingen_saadan"),
        ({"segment": "ingen_saadan"}, "segment"),
        ({"extra_field": True}, "extra_field"),
    ],
)
def test_a_bad_request_is_a_400_naming_the_field(client: TestClient, change: dict[str, Any], field: str) -> None:
    request = {"perspective": "somatik", "measures": ["indlaeggelser"], "rows": ["koen"], **change}
    for path in ("/api/v1/analysis", "/api/v1/analysis/export"):
        response = client.post(path, json=request)
        assert response.status_code == 400, response.text
        error = response.json()["error"]
        assert error["code"] == "bad_request"
        assert [p["field"] for p in error["problems"]] == [field]
        assert error["problems"][0]["message"]


def test_every_problem_is_listed(client: TestClient) -> None:
    request = {"perspective": "somatik", "measures": ["nej", "recepter"], "rows": ["nej"], "x": 1}
    error = client.post("/api/v1/analysis", json=request).json()["error"]
    assert {p["field"] for p in error["problems"]} == {"x", "measures[0]", "measures[1]", "rows[0]"}


def test_malformed_json_is_a_400_on_the_body(client: TestClient) -> None:
    response = client.post(
        "/api/v1/analysis", content=b'{"perspective": "somatik", }', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["problems"][0]["field"] == "body"


def test_unknown_routes_and_methods_are_envelopes(client: TestClient) -> None:
    assert client.get("/api/v2/analysis").json()["error"]["code"] == "not_found"
    assert client.put("/api/v1/analysis", json=HIDING).json()["error"]["code"] == "method_not_allowed"


def test_a_principal_without_a_grant_gets_403(small_settings: Settings, analysis: AnalysisService) -> None:
    token = api_token(small_settings, [], "kommune:101")  # a user without any grant
    with TestClient(create_app(small_settings, analysis), headers=bearer(token)) as c:
        response = c.post("/api/v1/analysis", json=HIDING)
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "forbidden"
        assert c.get("/api/v1/catalog").status_code == 403
        assert c.get("/api/v1/me").json()["roles"] == []
    # The local principal mode of old: a local role that is no role gives nothing either.
    settings = replace(small_settings, local_role="ingen", api_auth=ApiAuth.LOCAL)
    service = AnalysisService(settings)
    try:
        with TestClient(create_app(settings, service)) as c:
            response = c.post("/api/v1/analysis", json=HIDING)
    finally:
        service.close()
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"


def test_without_a_token_the_api_answers_401(client: TestClient) -> None:
    for method, path in (("GET", "/api/v1/catalog"), ("POST", "/api/v1/analysis"), ("GET", "/api/v1/me")):
        for headers in ({"Authorization": ""}, bearer("koes_" + "A" * 43), {"Authorization": "Basic abc"}):
            response = client.request(method, path, json=HIDING, headers=headers)
            assert response.status_code == 401, (path, headers)
            assert response.json()["error"]["code"] == "unauthorized"
            assert response.headers["www-authenticate"].startswith("Bearer")
    assert client.get("/api/v1/health", headers={"Authorization": ""}).status_code == 200  # public


def test_view_only_dimension_is_refused_by_the_api(client: TestClient) -> None:
    request = {"perspective": "somatik", "measures": ["indlaeggelser"], "columns": ["diagnose"]}
    error = client.post("/api/v1/analysis", json=request).json()["error"]
    assert [p["field"] for p in error["problems"]] == ["columns[0]"]
    assert "view-only" in error["problems"][0]["message"]


def test_health_names_the_release(client: TestClient, analysis: AnalysisService) -> None:
    assert client.get("/api/v1/health").json() == {"status": "ok", "release": analysis.release_id()}


# --- export ----------------------------------------------------------------------------------


def _csv(content: bytes, delimiter: str) -> tuple[list[list[str]], list[list[str]]]:
    assert content.startswith(BOM)
    lines = list(csv.reader(io.StringIO(content[len(BOM) :].decode("utf-8")), delimiter=delimiter))
    blank = lines.index([])
    return lines[:blank], lines[blank + 1 :]


def test_csv_export_has_a_bom_the_table_and_the_provenance(client: TestClient, hiding: AnalysisResult) -> None:
    response = client.post("/api/v1/analysis/export?format=csv", json=HIDING)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    release = hiding.provenance.release_id
    assert response.headers["content-disposition"] == f'attachment; filename="koes-analyse-{release}-somatik.csv"'
    assert response.headers["x-content-type-options"] == "nosniff"
    table, about = _csv(response.content, ",")
    expected = hiding.table("da", downloadable_only=True)
    assert table[0] == expected[0]
    assert len(table) == len(expected)
    for got, want in zip(table[1:], expected[1:], strict=True):
        for text, value in zip(got, want, strict=True):
            if isinstance(value, int | float):
                assert float(text) == pytest.approx(value)
            else:
                assert text == ("" if value is None else value)
    flat = [v for line in table[1:] for v in line]
    assert "<5" in flat
    assert "x" in flat
    assert ["Udgivelse", release] in about
    assert any(line[0] == "Tegn" and "<5" in line[1] for line in about)


def test_csv_export_with_semicolons_writes_decimal_commas(client: TestClient, hiding: AnalysisResult) -> None:
    response = client.post("/api/v1/analysis/export?format=csv&delimiter=%3B&lang=en", json=HIDING)
    assert response.status_code == 200, response.text
    table, about = _csv(response.content, ";")
    expected = hiding.table("en", downloadable_only=True)
    assert table[0] == expected[0]
    rates = [
        (text, value)
        for got, want in zip(table[1:], expected[1:], strict=True)
        for text, value in zip(got, want, strict=True)
        if isinstance(value, float) and value != int(value)
    ]
    assert rates
    for text, value in rates:
        assert "," in text
        assert "." not in text
        assert float(text.replace(",", ".")) == pytest.approx(value)
    assert ["Release", hiding.provenance.release_id] in about
    # the word form of the delimiter works too
    named = client.post("/api/v1/analysis/export?format=csv&delimiter=semicolon&lang=en", json=HIDING)
    assert _csv(named.content, ";")[0] == table


def test_xlsx_export_reads_back_with_the_same_header_and_numbers(
    client: TestClient, hiding: AnalysisResult, tmp_path: Path
) -> None:
    response = client.post("/api/v1/analysis/export?format=xlsx", json=HIDING)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert response.headers["content-disposition"].endswith('-somatik.xlsx"')
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["Tabel", "Om tallene"]
    sheet = book["Tabel"]
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    json_body = client.post("/api/v1/analysis", json=HIDING).json()
    expected = hiding.table("da", downloadable_only=True)
    assert rows[0] == expected[0]
    assert len(rows) == len(expected)
    for got, want in zip(rows[1:], expected[1:], strict=True):
        for value, wanted in zip(got, want, strict=True):
            if isinstance(wanted, int | float):
                assert value == pytest.approx(wanted)
            else:
                assert value == wanted
    # and the same numbers as the JSON answer: the kommune rows, first column's first measure
    (block,) = json_body["blocks"]
    for i, row in enumerate(block["rows"]):
        cell = next(c for c in block["cells"] if c["row"] == i and c["column"] == 0)
        value = cell["values"]["indlaeggelser"]
        assert rows[1 + i][0] == row["labels"][0]
        assert rows[1 + i][1] == (value["display"] if value["value"] is None else value["value"])
    assert all(c.font.bold for c in sheet[1])
    assert sheet.freeze_panes == "A2"
    about = {r[0]: r[1] for r in book["Om tallene"].iter_rows(min_row=2, values_only=True)}
    assert about["Udgivelse"] == hiding.provenance.release_id


@pytest.mark.parametrize(("axis", "fmt"), [("rows", "csv"), ("columns", "xlsx")])
def test_export_refuses_a_view_only_dimension(client: TestClient, axis: str, fmt: str) -> None:
    request = {"perspective": "somatik", "measures": ["indlaeggelser"], axis: ["koen", "diagnose"]}
    response = client.post(f"/api/v1/analysis/export?format={fmt}", json=request)
    assert response.status_code == 400
    error = response.json()["error"]
    assert [p["field"] for p in error["problems"]] == [f"{axis}[1]"]
    assert "view-only" in error["problems"][0]["message"]


# --- a real server ---------------------------------------------------------------------------


def test_koes_serve_answers_a_real_http_post(small_settings: Settings, analysis: AnalysisService) -> None:
    token = api_token(small_settings, ["aggregeret"], "national")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KOES_")}
    command = [
        sys.executable,
        "-c",
        "from koes.cli.main import main; main()",
        "--data-dir",
        str(small_settings.data_dir),
        "serve",
        "--port",
        str(port),
        "--warehouse",
        str(small_settings.warehouse),
    ]
    server = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}/api/v1"
    log = ""
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, server.stdout.read().decode() if server.stdout else ""
            try:
                if httpx.get(f"{base}/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the server did not come up"
            time.sleep(0.2)
        assert httpx.post(f"{base}/analysis", json=HIDING, timeout=60).status_code == 401  # no token
        response = httpx.post(f"{base}/analysis?lang=en", json=HIDING, headers=bearer(token), timeout=60)
        assert response.status_code == 200, response.text
        assert response.headers["x-frame-options"] == "DENY"
        expected = analysis.run(HIDING, analysis.local_principal())
        (block,) = response.json()["blocks"]
        for measure in HIDING["measures"]:
            assert _cells_from_api(block, measure) == _cells_from_result(expected, measure)
        missing = httpx.post(
            f"{base}/analysis", content=b"{", headers={"Content-Type": "application/json", **bearer(token)}
        )
        assert missing.status_code == 400
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        if server.stdout:
            log = server.stdout.read().decode()
            server.stdout.close()
    assert "Traceback" not in log
