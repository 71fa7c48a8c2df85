"""Reading uploads as analysts' programs save them: the same members whatever the encoding, separator,
header, quoting or workbook form; every refusal whole, with a reason a person can act on."""

from __future__ import annotations

import io
import zipfile
from datetime import date
from pathlib import Path

import pytest

from cohort_files import Error, Formula, Inline, Raw, XCell, cpr_numbers, write_csv, write_xlsx
from koes.cohorts.limits import UploadLimits, UploadRefused
from koes.cohorts.upload import CheckedFile, read_cohort_file
from koes.privacy.pseudonymisation import Pseudonymiser

KEY = b"k" * 32
TODAY = date(2025, 6, 1)
NUMBERS = cpr_numbers(6)


def read(path: Path, **kwargs: object) -> CheckedFile:
    with path.open("rb") as stream:
        return read_cohort_file(stream, pseudonymiser=Pseudonymiser(KEY), today=TODAY, **kwargs)  # type: ignore[arg-type]


def pseudonyms(numbers: list[str]) -> list[str]:
    p = Pseudonymiser(KEY)
    return [p.pseudonym(n) for n in numbers]


def refusal(path: Path, **kwargs: object) -> UploadRefused:
    with pytest.raises(UploadRefused) as caught:
        read(path, **kwargs)
    return caught.value


def dashed(n: str) -> str:
    return f"{n[:6]}-{n[6:]}"


@pytest.mark.parametrize(
    ("encoding", "delimiter"),
    [("utf-8", ";"), ("utf-8-sig", ","), ("cp1252", ";"), ("cp1252", "\t"), ("utf-16", "\t"), ("utf-8", ",")],
)
def test_csv_in_every_encoding_and_separator_gives_the_same_members(
    tmp_path: Path, encoding: str, delimiter: str
) -> None:
    rows = [["Løbenr", "CPR-nr.", "Indeksdato", "Gruppe", "Bemærkning"]]
    rows += [[f"S{i}", dashed(n), "01-03-2023", "indsats", "Ærø, Østergård"] for i, n in enumerate(NUMBERS)]
    if delimiter == ",":  # the comma inside the remark must be quoted
        rows = [[f'"{c}"' if "," in c else c for c in r] for r in rows]
    checked = read(write_csv(tmp_path / "c.csv", rows, delimiter=delimiter, encoding=encoding))
    assert [m.pseudonym for m in checked.members] == pseudonyms(NUMBERS)
    assert [m.reference for m in checked.members] == [f"S{i}" for i in range(len(NUMBERS))]
    assert {m.index_date for m in checked.members} == {date(2023, 3, 1)}
    assert checked.layout.roles == {"cpr": 1, "index_date": 2, "group": 3, "reference": 0}
    report = checked.report()
    assert report.source["encoding"] == encoding.replace("utf-16", "utf-16")
    assert (report.rows_read, report.rows_kept, report.rows_refused) == (6, 6, 0)


def test_a_one_column_file_without_header_or_separator(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text("\n".join(NUMBERS) + "\n", encoding="utf-8")
    checked = read(path)
    assert [m.pseudonym for m in checked.members] == pseudonyms(NUMBERS)
    assert checked.layout.header_line is None
    assert "layout_no_header" in checked.layout.notes


def test_quoted_cells_title_rows_and_empty_lines(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    body = "".join(f'"{dashed(n)}";"kontrol"\r\n' + ("\r\n" if i == 2 else "") for i, n in enumerate(NUMBERS))
    path.write_text('"Borgere i indsatsen, marts"\r\n\r\n"CPR";"Gruppe"\r\n' + body, encoding="utf-8")
    checked = read(path)
    report = checked.report()
    assert report.header_line == 3
    assert report.preamble_lines == (1,)
    assert report.empty_rows == 1
    assert report.rows_kept == 6
    assert report.groups == {"kontrol": 6}


def test_the_index_date_column_is_found_without_a_header(tmp_path: Path) -> None:
    rows = [[n, f"2023-0{i + 1}-15"] for i, n in enumerate(NUMBERS)]
    checked = read(write_csv(tmp_path / "c.csv", rows))
    assert [m.index_date for m in checked.members] == [date(2023, i + 1, 15) for i in range(6)]
    assert "layout_index_date_by_content" in checked.layout.notes


def test_xlsx_numbers_floats_text_and_dates(tmp_path: Path) -> None:
    a, b, c, d, e, f = NUMBERS
    rows: list[list[XCell]] = [
        ["CPR", "Indeksdato", "Gruppe"],
        [int(a), Raw("44986", date_style=True), "indsats"],  # 1 March 2023 as Excel stores it
        [Raw(f"{int(b) / 1e9!r}E9"), "01-03-2023", "indsats"],  # a 1,01E+09-style float
        [c, Raw("44986", date_style=True), Inline("kontrol")],
        [Formula(f'="{d}"', d, text=True), "2023-03-01", "kontrol"],  # a formula: the saved value is used
        [Inline(dashed(e)), Raw("44986", date_style=True), "kontrol"],
        [float(int(f)), "1.3.2023", "kontrol"],
    ]
    checked = read(write_xlsx(tmp_path / "c.xlsx", {"Ark1": rows}))
    assert [m.pseudonym for m in checked.members] == pseudonyms(NUMBERS)
    assert {m.index_date for m in checked.members} == {date(2023, 3, 1)}
    report = checked.report()
    assert report.notes["formula_value"] == (5,)
    assert report.source["sheet"] == "Ark1"


def test_xlsx_lost_leading_zero_is_restored_and_reported(tmp_path: Path) -> None:
    zero = next(n for n in cpr_numbers(200, start=5000) if n.startswith("0"))
    rows: list[list[XCell]] = [["CPR"], [int(zero)], [int(NUMBERS[1])]]
    checked = read(write_xlsx(tmp_path / "c.xlsx", {"Ark1": rows}))
    assert [m.pseudonym for m in checked.members] == pseudonyms([zero, NUMBERS[1]])
    assert checked.report().notes["leading_zero_restored"] == (2,)


def test_xlsx_formulas_are_never_calculated(tmp_path: Path) -> None:
    rows: list[list[XCell]] = [
        ["CPR", "Gruppe"],
        [NUMBERS[0], "indsats"],
        [Formula("=A2"), "indsats"],
        [Error("#N/A"), "indsats"],
        [NUMBERS[1], Formula('=IF(1,"kontrol")')],  # a label without a saved value: refused, not dropped
        [NUMBERS[2], Formula('=IF(1,"kontrol")', "kontrol", text=True)],
    ]
    checked = read(write_xlsx(tmp_path / "c.xlsx", {"Ark1": rows}))
    report = checked.report()
    assert [(r.line, r.category, r.code) for r in report.refused] == [
        (3, "invalid_form", "cell_formula_without_value"),
        (4, "invalid_form", "cell_excel_error"),
        (5, "bad_label", "cell_formula_without_value"),
    ]
    assert "#N/A" in report.refused[1].reason("en")
    assert [m.group for m in checked.members] == ["indsats", "kontrol"]
    assert report.notes["formula_value"] == (6,)


def test_xlsx_merged_header_empty_rows_hidden_first_sheet_and_a_named_sheet(tmp_path: Path) -> None:
    rows: list[list[XCell]] = [
        ["Indsatsliste 2023", None, None],
        ["Borger", None, "Gruppe"],
        ["CPR", "Navn", None],
    ]
    rows += [[n, "Navn Navnesen", "indsats"] for n in NUMBERS[:3]]
    path = write_xlsx(
        tmp_path / "c.xlsx",
        {"Skjult": [["x"]], "Liste": rows, "Andet": [["CPR"], [NUMBERS[5]]]},
        merges={"Liste": ["A1:C1", "C2:C3"]},  # a title over all columns; "Gruppe" over two header rows
        hidden=["Skjult"],
        row_numbers={"Liste": [1, 2, 3, 5, 7, 9]},  # rows 4, 6 and 8 are empty
    )
    checked = read(path)
    report = checked.report()
    assert report.source["sheet"] == "Liste"
    assert report.header_line == 3 and report.preamble_lines == (1, 2)
    assert checked.layout.roles == {"cpr": 0, "group": 2}
    assert [m.line for m in checked.members] == [5, 7, 9]
    assert report.groups == {"indsats": 3}
    named = read(path, sheet="andet")
    assert [m.pseudonym for m in named.members] == pseudonyms([NUMBERS[5]])
    missing = refusal(path, sheet="Ark9")
    assert missing.code == "xlsx_sheet_missing" and missing.params["sheets"] == "Skjult, Liste, Andet"


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"", "file_empty"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "file_image"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 100, "file_image"),
        (b"%PDF-1.7\n", "file_pdf"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "file_ole"),
        (bytes(range(256)) * 4, "file_binary"),
        (b"\n\n  \n", "file_no_rows"),
        (b"Navn;By\nJens;Aarhus\nMette;Odense\n", "no_cpr_column"),
        (b"CPR\n", "file_no_data_rows"),
        (b'CPR\n"0302901235\n', "csv_broken"),
    ],
)
def test_unusable_files_are_refused_whole(tmp_path: Path, content: bytes, code: str) -> None:
    path = tmp_path / "upload.csv"
    path.write_bytes(content)
    assert refusal(path).code == code


def test_zip_files_that_are_not_workbooks_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "doc.xlsx"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("word/document.xml", "<w/>")
    assert refusal(path).code == "file_zip_not_xlsx"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        z.writestr("content.xml", "<x/>")
    assert refusal(path).code == "file_ods"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    assert refusal(path).code == "file_broken_zip"


def test_a_zip_bomb_is_refused_before_it_is_unpacked(tmp_path: Path) -> None:
    bomb = b"<x/>" + b" " * (50 * 2**20)  # 50 MB of spaces pack to about 50 KB
    path = write_xlsx(tmp_path / "bomb.xlsx", {"Ark1": [["CPR"], [NUMBERS[0]]]}, extra_parts={"xl/media/big.xml": bomb})
    assert refusal(path).code == "xlsx_zip_bomb"
    small = UploadLimits(max_expanded_bytes=2**20, max_compression_ratio=10**6)
    assert refusal(path, limits=small).code == "xlsx_expands_too_far_declared"


def test_an_xml_entity_bomb_is_refused(tmp_path: Path) -> None:
    doctype = '<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
    path = write_xlsx(tmp_path / "c.xlsx", {"Ark1": [["CPR"], [NUMBERS[0]]]}, sheet_prefix=doctype)
    assert refusal(path).code == "xlsx_broken"


def test_size_and_row_limits_come_from_settings(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "c.csv", [["CPR"], *[[n] for n in NUMBERS]])
    assert refusal(path, limits=UploadLimits(max_rows=5)).code == "too_many_rows"
    too_large = refusal(path, limits=UploadLimits(max_file_bytes=10))
    assert too_large.code == "file_too_large"


def test_a_cpr_column_of_mostly_text_is_refused(tmp_path: Path) -> None:
    rows = [["CPR"], *[[n] for n in NUMBERS[:3]], ["Jens"], ["Mette"], ["ukendt"]]
    refused = refusal(write_csv(tmp_path / "c.csv", rows))
    assert refused.code == "cpr_column_mixed"
    assert refused.params == {"percent": 50, "limit_percent": 10, "column": "A"}
    lenient = read(write_csv(tmp_path / "c.csv", rows), limits=UploadLimits(max_mixed_share=0.6))
    assert lenient.report().refused_by_category()["invalid_form"] == 3


def test_two_unnamed_cpr_columns_are_refused_but_a_named_one_is_chosen(tmp_path: Path) -> None:
    rows = [[a, b] for a, b in zip(NUMBERS[:3], NUMBERS[3:], strict=True)]
    assert refusal(write_csv(tmp_path / "c.csv", rows)).code == "several_cpr_columns"
    checked = read(write_csv(tmp_path / "c.csv", [["mor", "cpr"], *rows]))
    assert [m.pseudonym for m in checked.members] == pseudonyms(NUMBERS[3:])


def test_a_label_column_holding_cpr_numbers_is_refused(tmp_path: Path) -> None:
    rows = [["CPR", "Reference"], [NUMBERS[0], "sag 1"], [NUMBERS[1], f"sag {dashed(NUMBERS[2])}"]]
    refused = refusal(write_csv(tmp_path / "c.csv", rows))
    assert (refused.code, refused.params) == ("label_holds_cpr", {"column": "B", "line": 3})


def test_too_many_groups_is_refused(tmp_path: Path) -> None:
    rows = [["CPR", "Gruppe"], *[[n, f"g{i}"] for i, n in enumerate(NUMBERS)]]
    assert refusal(write_csv(tmp_path / "c.csv", rows), limits=UploadLimits(max_groups=5)).code == "too_many_groups"


def test_a_stream_is_read_like_a_file(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "c.csv", [["CPR"], *[[n] for n in NUMBERS]]).read_bytes()
    checked = read_cohort_file(io.BytesIO(data), pseudonymiser=Pseudonymiser(KEY), today=TODAY)
    assert len(checked.members) == 6


def test_a_part_that_unpacks_beyond_its_budget_is_stopped_while_it_is_read() -> None:
    # The declared sizes are checked first; this guard catches an archive whose declarations lie.
    from koes.cohorts.xlsxfile import _Guard

    guard = _Guard(io.BytesIO(b"<x>" + b" " * 5000 + b"</x>"), [4096])
    with pytest.raises(UploadRefused) as caught:
        while guard.read(1024):
            pass
    assert caught.value.code == "xlsx_expands_too_far"


def test_a_doctype_split_across_chunks_is_still_found() -> None:
    from koes.cohorts.xlsxfile import _Guard

    guard = _Guard(io.BytesIO(b"<?xml?>" + b" " * 1017 + b"<!DOCTYPE x>"), [10**6])
    with pytest.raises(UploadRefused):
        while guard.read(1028):
            pass
