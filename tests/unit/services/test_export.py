"""CSV and XLSX exports: layout, hidden cells, view-only elements, provenance, number text."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import replace

import openpyxl
import pytest

from koes.query.request import RequestError
from koes.services.analysis import AnalysisService
from koes.services.export import (
    ABOUT_SHEET,
    TABLE_SHEET,
    check_downloadable,
    export,
    filename,
    number_text,
    to_csv,
    to_xlsx,
)
from koes.services.results import AnalysisResult
from koes.settings import Settings

REQUEST = {
    "perspective": "somatik",
    "measures": ["indlaeggelser", "indlaeggelser_pr_1000"],
    "rows": ["kommune"],
    "columns": ["koen"],
    "filters": {"region": [1081]},
}


@pytest.fixture(scope="module")
def result(analysis: AnalysisService) -> AnalysisResult:
    return analysis.run(REQUEST, analysis.local_principal())


@pytest.fixture(scope="module")
def view_only_patients(analysis: AnalysisService, small_settings: Settings) -> Iterator[AnalysisService]:
    """The same release, with a catalog in which `patienter` is view-only."""
    catalog = analysis.catalog
    measures = dict(catalog.measures)
    measures["patienter"] = replace(measures["patienter"], downloadable=False)
    service = AnalysisService(small_settings, replace(catalog, measures=measures))
    yield service
    service.close()


def _lines(content: bytes | list[str], delimiter: str = ",") -> list[list[str]]:
    if isinstance(content, list):
        return list(csv.reader(content, delimiter=delimiter))
    assert content.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig")), delimiter=delimiter))


@pytest.mark.parametrize(
    ("value", "decimal", "text"),
    [
        (1234, ".", "1234"),
        (0, ",", "0"),
        (12.5, ",", "12,5"),
        (97.435897, ".", "97.435897"),
        (0.0, ",", "0"),
        (1e-06, ",", "0,000001"),
        (-3.25, ",", "-3,25"),
        (None, ",", ""),
        ("<5", ",", "<5"),
        ("x", ".", "x"),
    ],
)
def test_number_text(value: object, decimal: str, text: str) -> None:
    assert number_text(value, decimal) == text


def test_csv_writes_hidden_cells_as_their_display_never_zero(result: AnalysisResult) -> None:
    lines = _lines(to_csv(result))
    table = result.table("da", downloadable_only=True)
    body = lines[1 : len(table)]
    for got, want in zip(body, table[1:], strict=True):
        for text, value in zip(got, want, strict=True):
            if value in ("<5", "x"):
                assert text == value
    hidden = sum(text in ("<5", "x") for line in body for text in line)
    assert hidden == sum(v in ("<5", "x") for line in table[1:] for v in line) > 0


def test_csv_with_semicolons_has_decimal_commas_and_commas_keep_points(result: AnalysisResult) -> None:
    comma = _lines(to_csv(result, "da", ","))
    semi = _lines(to_csv(result, "da", ";"), ";")
    assert comma[0] == semi[0]
    total_comma, total_semi = comma[len(result.table()) - 1], semi[len(result.table()) - 1]
    assert total_comma[0] == total_semi[0] == "I alt"
    rate_columns = [j for j, title in enumerate(comma[0]) if "pr. 1.000" in title]
    assert rate_columns
    for j in rate_columns:
        assert "." in total_comma[j]
        assert total_semi[j] == total_comma[j].replace(".", ",")


def test_csv_appends_the_provenance_after_a_blank_line(result: AnalysisResult) -> None:
    lines = _lines(to_csv(result, "en"))
    blank = lines.index([])
    assert blank == len(result.table())
    about = {line[0]: line[1] for line in lines[blank + 2 :]}
    assert lines[blank + 1] == ["About the figures"]
    p = result.provenance
    assert about["Release"] == p.release_id
    assert about["Disclosure control"] == p.suppression_rule
    assert about["Hidden cells"] == str(result.cells_suppressed)
    assert "<5" in about["Signs"]
    assert about["Period"] == "2023"


def test_xlsx_has_a_table_sheet_and_an_about_sheet(result: AnalysisResult) -> None:
    book = openpyxl.load_workbook(io.BytesIO(to_xlsx(result, "en")))
    assert book.sheetnames == [TABLE_SHEET, ABOUT_SHEET]
    sheet = book[TABLE_SHEET]
    assert [list(r) for r in sheet.iter_rows(values_only=True)] == result.table("en", downloadable_only=True)
    assert all(cell.font.bold for cell in sheet[1])
    assert sheet.freeze_panes == "A2"
    rate = sheet.cell(row=2 + len(result.blocks[0].row_keys), column=3)  # the total row, men's rate
    assert isinstance(rate.value, float)
    decimals = result.measures[1].decimals
    assert rate.number_format == ("#,##0" if decimals == 0 else "#,##0." + "0" * decimals)
    about = book[ABOUT_SHEET]
    assert about["A1"].value == "About the figures"
    assert {r[0]: r[1] for r in about.iter_rows(min_row=2, values_only=True)}["Release"] == (
        result.provenance.release_id
    )


def test_view_only_measures_are_left_out(view_only_patients: AnalysisService) -> None:
    request = {"perspective": "somatik", "measures": ["indlaeggelser", "patienter"], "columns": ["koen"]}
    check_downloadable(request, view_only_patients.catalog)  # one downloadable measure is enough
    result = view_only_patients.run(request, view_only_patients.local_principal())
    lines = _lines(to_csv(result))
    assert all("Patienter" not in title for title in lines[0])
    assert any("Indlæggelser" in title for title in lines[0])
    assert any(line[:1] == ["Udeladt (kun visning)"] and "Patienter" in line[1] for line in lines)
    book = openpyxl.load_workbook(io.BytesIO(to_xlsx(result)))
    header = next(book[TABLE_SHEET].iter_rows(values_only=True))
    assert all("Patienter" not in str(title) for title in header)
    assert "patienter" not in {m["id"] for m in result.to_json(downloadable_only=True)["measures"]}
    with pytest.raises(RequestError) as refused:
        check_downloadable({**request, "measures": ["patienter"]}, view_only_patients.catalog)
    assert [p.field for p in refused.value.problems] == ["measures"]


def test_a_view_only_dimension_refuses_the_download(analysis: AnalysisService) -> None:
    request = {"perspective": "somatik", "measures": ["indlaeggelser"], "rows": ["koen"], "columns": ["diagnose"]}
    with pytest.raises(RequestError) as refused:
        check_downloadable(request, analysis.catalog)
    assert [(p.field, "view-only" in p.message) for p in refused.value.problems] == [("columns[0]", True)]
    # a result that holds one (the view route may run it) cannot be exported either
    result = analysis.run(request, analysis.local_principal())
    for fmt in ("csv", "xlsx"):
        with pytest.raises(RequestError) as again:
            export(result, fmt)
        assert [p.field for p in again.value.problems] == ["columns[0]"]


def test_check_downloadable_reports_the_requests_own_problems_first(analysis: AnalysisService) -> None:
    with pytest.raises(RequestError) as refused:
        check_downloadable({"perspective": "somatik", "measures": ["nej"], "rows": ["diagnose"]}, analysis.catalog)
    assert [p.field for p in refused.value.problems] == ["measures[0]"]


def test_export_names_the_file_and_the_media_type(result: AnalysisResult) -> None:
    csv_file = export(result, "csv", "da", ";")
    assert csv_file.filename == filename(result, "csv") == f"koes-analyse-{result.provenance.release_id}-somatik.csv"
    assert csv_file.media_type == "text/csv; charset=utf-8"
    xlsx_file = export(result, "xlsx")
    assert xlsx_file.filename.endswith("-somatik.xlsx")
    assert xlsx_file.content.startswith(b"PK")  # a zip container
    with pytest.raises(RequestError):
        export(result, "pdf")
    with pytest.raises(RequestError):
        to_csv(result, "da", "|")


def test_csv_writes_the_shown_precision_on_request_and_full_by_default(result: AnalysisResult) -> None:
    """Issue 18 item 8: the page shows 132,3 and the download said 132,272852."""
    full = _lines(to_csv(result, "da", ";"), ";")
    shown = _lines(export(result, "csv", "da", ";", "shown").content.decode("utf-8-sig").splitlines(), ";")
    rate = next(m for m in result.measures if m.id == "indlaeggelser_pr_1000")
    columns = [j for j, title in enumerate(full[0]) if title.endswith(rate.label.da)]
    assert columns and rate.decimals == 1
    seen_long = False
    for f_line, s_line in zip(full[1 : len(result.table())], shown[1 : len(result.table())], strict=True):
        for j in columns:
            if f_line[j] in ("<5", "x", ""):
                assert s_line[j] == f_line[j]
                continue
            places = s_line[j].partition(",")[2]
            assert len(places) == 1, s_line[j]
            assert float(s_line[j].replace(",", ".")) == pytest.approx(float(f_line[j].replace(",", ".")), abs=0.05)
            seen_long = seen_long or len(f_line[j].partition(",")[2]) > 1
    assert seen_long, "the full file has more decimals than the page shows"
    with pytest.raises(RequestError):
        export(result, "csv", "da", ";", "some")


def test_english_csv_headers_read_back_whole(result: AnalysisResult) -> None:
    """Issue 18 item 1: "Admissions per 1,000 citizens" is one quoted header, not cut at its comma."""
    header = _lines(to_csv(result, "en", ","))[0]
    assert any("Admissions per 1,000 citizens per year" in title for title in header)
    assert not any(title.rstrip().endswith("per 1") for title in header)


AMOUNTS = {
    "perspective": "somatik",
    "measures": ["indlaeggelser", "medfinansiering_kr"],
    "rows": ["kommune"],
    "columns": ["aldersgruppe"],
    "filters": {"region": [1081]},
}


@pytest.mark.parametrize(("language", "word"), [("da", "skjult"), ("en", "hidden")])
def test_hidden_amounts_say_hidden_in_the_users_language_and_counts_keep_their_mark(
    analysis: AnalysisService, language: str, word: str
) -> None:
    result = analysis.run(AMOUNTS, analysis.local_principal())
    marks = result.table(language, downloadable_only=True)
    lines = _lines(to_csv(result, language))
    kroner = {j for j, title in enumerate(marks[0]) if "(kr" in title or "(DKK" in title}
    amounts = counts = 0
    for got, want in zip(lines[1 : len(marks)], marks[1:], strict=True):
        for j, (text, value) in enumerate(zip(got, want, strict=True)):
            if value in ("<5", "x"):
                assert text == (word if j in kroner else value), (marks[0][j], text)
                amounts += j in kroner
                counts += j not in kroner
    assert amounts > 0 and counts > 0  # both kinds are hidden somewhere in this table
    about = {line[0]: line[1] for line in lines[lines.index([]) + 2 :]}
    assert word in about[word]  # the note says what the word means


def test_measure_definitions_in_downloads_are_in_the_users_language(result: AnalysisResult) -> None:
    danish = {line[0]: line[1] for line in _lines(to_csv(result, "da"))[len(result.table()) + 2 :]}
    english = {line[0]: line[1] for line in _lines(to_csv(result, "en"))[len(result.table()) + 2 :]}
    assert danish["Definition: Indlæggelser"].startswith("Sygehusophold på 12 timer eller mere")
    assert english["Definition: Admissions"].startswith("Hospital stays of 12 hours or more")
