"""`koes query` and `koes catalog` against the small release, driven as a user drives them."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from koes.services.analysis import AnalysisService
from koes.settings import Settings
from support import Run, koes

REQUEST = {
    "perspective": "somatik",
    "measures": ["indlaeggelser", "indlaeggelser_pr_1000"],
    "rows": ["kommune"],
    "columns": ["koen"],
    "filters": {"region": [1081]},
}


def _query(tmp_path: Path, settings: Settings, request: object, *args: str) -> Run:
    path = tmp_path / "request.json"
    path.write_text(request if isinstance(request, str) else json.dumps(request), encoding="utf-8")
    return koes(tmp_path / "data", "query", str(path), "--warehouse", str(settings.warehouse), *args)


def test_query_prints_a_table_with_hidden_cells_and_provenance(
    tmp_path: Path, small_settings: Settings, analysis: AnalysisService
) -> None:
    run = _query(tmp_path, small_settings, REQUEST)
    assert run.exit_code == 0, run.output
    assert "Bopælskommune" in run.text
    assert "Aalborg" in run.text
    assert "<5" in run.output
    assert f"Release {analysis.release_id()}" in run.text
    assert "færre end 5 personer" in run.text


def test_query_json_has_the_services_numbers(
    tmp_path: Path, small_settings: Settings, analysis: AnalysisService
) -> None:
    run = _query(tmp_path, small_settings, REQUEST, "--format", "json", "--lang", "en")
    assert run.exit_code == 0, run.output
    body = json.loads(run.output)
    expected = analysis.run(REQUEST, analysis.local_principal(), "en").to_json("en", downloadable_only=True)
    assert body["language"] == "en"
    assert body["blocks"] == expected["blocks"]
    assert body["provenance"]["release_id"] == expected["provenance"]["release_id"]


@pytest.mark.parametrize("delimiter", [",", ";"])
def test_query_csv_is_the_export(
    tmp_path: Path, small_settings: Settings, analysis: AnalysisService, delimiter: str
) -> None:
    run = _query(tmp_path, small_settings, REQUEST, "--format", "csv", "--delimiter", delimiter)
    assert run.exit_code == 0, run.output
    assert run.output.startswith("\ufeff")
    lines = list(csv.reader(io.StringIO(run.output[1:]), delimiter=delimiter))
    table = analysis.run(REQUEST, analysis.local_principal()).table("da", downloadable_only=True)
    assert lines[0] == table[0]
    assert lines[len(table)] == []  # a blank line, then the provenance
    total = lines[len(table) - 1]
    assert total[0] == "I alt"
    assert total[1:] == [_text(v, "," if delimiter == ";" else ".") for v in table[-1][1:]]


def _text(value: Any, decimal: str) -> str:
    if isinstance(value, float):
        return f"{value:.6f}".rstrip("0").rstrip(".").replace(".", decimal)
    return str(value)


def test_query_explain_prints_the_scoped_sql(tmp_path: Path, small_settings: Settings) -> None:
    run = _query(tmp_path, small_settings, REQUEST, "--explain")
    assert run.exit_code == 0, run.output
    assert "-- query 1" in run.output
    assert "SELECT" in run.output
    # The scope rewrite is in the SQL: the local principal sees every municipality, i.e. every resident.
    assert "NOT f.kommunekode IS NULL" in run.text


def test_a_bad_request_file_lists_every_problem_and_exits_2(tmp_path: Path, small_settings: Settings) -> None:
    bad = {"perspective": "somatik", "measures": ["nej", "recepter"], "rows": ["nej"], "ukendt": 1}
    run = _query(tmp_path, small_settings, bad)
    assert run.exit_code == 2, run.output
    assert "4 problems" in run.text
    for field in ("ukendt:", "measures[0]:", "measures[1]:", "rows[0]:"):
        assert field in run.text


def test_a_file_that_is_not_json_exits_2(tmp_path: Path, small_settings: Settings) -> None:
    run = _query(tmp_path, small_settings, '{"perspective": ')
    assert run.exit_code == 2
    assert "not valid JSON" in run.text


def test_an_unknown_filter_value_names_the_field(tmp_path: Path, small_settings: Settings) -> None:
    run = _query(tmp_path, small_settings, {**REQUEST, "filters": {"kommune": [9999]}})
    assert run.exit_code == 2
    assert "filters.kommune:" in run.text


def test_csv_and_json_refuse_a_view_only_dimension(tmp_path: Path, small_settings: Settings) -> None:
    request = {"perspective": "somatik", "measures": ["indlaeggelser"], "rows": ["diagnose"]}
    for fmt in ("csv", "json"):
        run = _query(tmp_path, small_settings, request, "--format", fmt)
        assert run.exit_code == 2
        assert "rows[0]:" in run.text
        assert "view-only" in run.text


def test_no_release_is_a_clear_message_and_exit_1(tmp_path: Path) -> None:
    path = tmp_path / "request.json"
    path.write_text(json.dumps(REQUEST), encoding="utf-8")
    run = koes(tmp_path / "data", "query", str(path), "--warehouse", str(tmp_path / "empty"))
    assert run.exit_code == 1
    assert "no release" in run.text
    assert "koes load" in run.text


def test_catalog_json_in_english(tmp_path: Path, small_settings: Settings) -> None:
    run = koes(tmp_path, "catalog", "--format", "json", "--lang", "en", "--warehouse", str(small_settings.warehouse))
    assert run.exit_code == 0, run.output
    body = json.loads(run.output)
    assert len(body["perspectives"]) == 7
    assert body["perspectives"][0]["label"] == "Somatics"
    assert body["years"] == [2022, 2023]


def test_catalog_table(tmp_path: Path, small_settings: Settings) -> None:
    run = koes(tmp_path, "catalog", "--warehouse", str(small_settings.warehouse))
    assert run.exit_code == 0, run.output
    for text in ("Perspectives", "Measures", "Dimensions", "Segments", "indlaeggelser", "view only", "Somatik"):
        assert text in run.text
