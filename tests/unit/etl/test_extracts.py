"""Finding and sniffing extract files: names, formats, encodings, delimiters and headers.

Every file here is written by hand, a few lines long, so each test shows exactly what the loader
is shown.
"""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from koes.domain.registers import REGISTERS, Register
from koes.etl import extracts
from koes.etl.extracts import Encoding, ExtractFile, column_problems, detect_encoding, discover, sniff
from koes.synthetic.writer import arrow_schema

CPR_PATTERN = re.compile(r"[0-9]{6}-?[0-9]{4}")
KNOWN = REGISTERS.by_name()
PERSONS = REGISTERS["cpr_personer"]
CARE = REGISTERS["eoj_hjemmepleje"]
CONTACTS = REGISTERS["lpr_kontakter"]


def _header(register: Register, delimiter: str = ",") -> str:
    return delimiter.join(f'"{c}"' for c in register.column_names)


def _write_all(folder: Path, skip: tuple[str, ...] = ()) -> None:
    """A header-only CSV for every register not in ``skip``."""
    folder.mkdir(parents=True, exist_ok=True)
    for register in REGISTERS:
        if register.name not in skip:
            (folder / f"{register.name}.csv").write_text(_header(register) + "\n", encoding="utf-8")


def _sniffed(path: Path, register: Register) -> ExtractFile:
    result = sniff(path, register, dict(KNOWN))
    assert isinstance(result, ExtractFile), result
    return result


def _problems(path: Path, register: Register) -> list[str]:
    result = sniff(path, register, dict(KNOWN))
    assert isinstance(result, list), f"{path.name} was accepted: {result}"
    return result


# --- discovery -------------------------------------------------------------------------------


def test_a_complete_folder_has_one_file_per_register_and_no_problems(tmp_path: Path) -> None:
    _write_all(tmp_path)
    (tmp_path / "generation.json").write_text("{}", encoding="utf-8")  # not an extract: ignored
    found = discover(tmp_path)
    assert found.problems == []
    assert sorted(f.register.name for f in found.files) == sorted(REGISTERS.names)
    assert [f.path.name for f in found.for_register("lpr_kontakter")] == ["lpr_kontakter.csv"]


def test_a_missing_register_is_named(tmp_path: Path) -> None:
    _write_all(tmp_path, skip=("lpr_diagnoser",))
    problems = discover(tmp_path).problems
    assert len(problems) == 1
    assert "lpr_diagnoser" in problems[0]
    assert "no extract" in problems[0]


def test_parts_of_one_register_are_all_found(tmp_path: Path) -> None:
    _write_all(tmp_path, skip=("lpr_kontakter",))
    for part in ("2022", "2023"):
        (tmp_path / f"lpr_kontakter_{part}.csv").write_text(_header(CONTACTS) + "\n", encoding="utf-8")
    found = discover(tmp_path)
    assert found.problems == []
    names = [f.path.name for f in found.for_register("lpr_kontakter")]
    assert names == ["lpr_kontakter_2022.csv", "lpr_kontakter_2023.csv"]
    # A part of lpr_kontakter is not mistaken for a part of any other register.
    assert all(f.register.name == "lpr_kontakter" for f in found.files if f.path.name.startswith("lpr_kontakter"))


def test_parquet_and_csv_parts_may_be_mixed(tmp_path: Path) -> None:
    _write_all(tmp_path, skip=("cpr_personer",))
    pq.write_table(arrow_schema(PERSONS).empty_table(), tmp_path / "cpr_personer_a.parquet")
    (tmp_path / "cpr_personer_b.csv").write_text(_header(PERSONS) + "\n", encoding="utf-8")
    found = discover(tmp_path)
    assert found.problems == []
    assert sorted(f.kind for f in found.for_register("cpr_personer")) == ["csv", "parquet"]


def test_a_file_of_no_register_is_refused_by_name(tmp_path: Path) -> None:
    _write_all(tmp_path)
    (tmp_path / "notes.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    problems = discover(tmp_path).problems
    assert len(problems) == 1
    assert problems[0].startswith("notes.csv:")


def test_a_folder_that_does_not_exist_is_one_clear_problem(tmp_path: Path) -> None:
    found = discover(tmp_path / "nowhere")
    assert found.files == []
    assert len(found.problems) == 1
    assert "nowhere" in found.problems[0]


def test_all_file_level_problems_are_collected_together(tmp_path: Path) -> None:
    _write_all(tmp_path)
    (tmp_path / "lpr_procedurer.csv").write_bytes(b"")
    (tmp_path / "ssr_ydelser.csv").write_text(_header(CARE) + "\n", encoding="utf-8")
    (tmp_path / "lms_ekspeditioner.csv").write_text('"pnr","eksd"\n', encoding="utf-8")
    problems = discover(tmp_path).problems
    assert len(problems) == 3, problems
    text = "\n".join(problems)
    for name in ("lpr_procedurer.csv", "ssr_ydelser.csv", "lms_ekspeditioner.csv"):
        assert name in text


# --- sniffing CSV ----------------------------------------------------------------------------


def test_a_plain_utf8_comma_file(tmp_path: Path) -> None:
    path = tmp_path / "cpr_personer.csv"
    path.write_text(_header(PERSONS) + '\n"0101701234","1",1970-01-01,"01",\n', encoding="utf-8")
    f = _sniffed(path, PERSONS)
    assert (f.kind, f.encoding, f.delimiter) == ("csv", Encoding.UTF8, ",")
    assert f.columns == PERSONS.column_names
    assert f.describe() == "cpr_personer.csv: CSV, utf-8, comma-separated"


def test_a_danish_excel_file_semicolon_separated_windows_1252(tmp_path: Path) -> None:
    path = tmp_path / "eoj_hjemmepleje.csv"
    header = ";".join(CARE.column_names)
    row = "0101701234;0101;0101-01;01-03-2023;personlig_pleje;1,5;1,25"
    path.write_bytes(f"{header}\r\n{row} æøå\r\n".encode("cp1252"))
    f = _sniffed(path, CARE)
    assert (f.encoding, f.delimiter) == (Encoding.WINDOWS_1252, ";")
    assert f.columns == CARE.column_names
    assert f.describe() == "eoj_hjemmepleje.csv: CSV, windows-1252, semicolon-separated"


def test_a_byte_order_mark_is_not_part_of_the_first_column_name(tmp_path: Path) -> None:
    path = tmp_path / "cpr_personer.csv"
    path.write_bytes(b"\xef\xbb\xbf" + (_header(PERSONS) + "\n").encode())
    f = _sniffed(path, PERSONS)
    assert f.encoding is Encoding.UTF8_BOM
    assert f.columns[0] == "pnr"


def test_header_names_are_matched_loosely_but_completely(tmp_path: Path) -> None:
    # Upper case, spaces and another column order are how real exports look; all accepted.
    path = tmp_path / "cpr_personer.csv"
    names = list(reversed(PERSONS.column_names))
    path.write_text(", ".join(f' "{n.upper()}" ' for n in names) + "\n", encoding="utf-8")
    f = _sniffed(path, PERSONS)
    assert f.columns == tuple(names)


def test_a_header_only_file_is_a_valid_file_of_zero_rows(tmp_path: Path) -> None:
    path = tmp_path / "cpr_personer.csv"
    path.write_text(_header(PERSONS), encoding="utf-8")  # not even a final newline
    assert _sniffed(path, PERSONS).columns == PERSONS.column_names


def test_an_empty_file_is_named_with_its_size(tmp_path: Path) -> None:
    path = tmp_path / "cpr_personer.csv"
    path.write_bytes(b"")
    (problem,) = _problems(path, PERSONS)
    assert problem.startswith("cpr_personer.csv:")
    assert "empty" in problem


def test_a_blank_first_line_is_no_header(tmp_path: Path) -> None:
    path = tmp_path / "cpr_personer.csv"
    path.write_text("\n" + _header(PERSONS) + "\n", encoding="utf-8")
    (problem,) = _problems(path, PERSONS)
    assert problem.startswith("cpr_personer.csv:")
    assert "header" in problem


def test_bytes_that_are_neither_utf8_nor_windows_1252_are_a_file_problem_with_the_line(tmp_path: Path) -> None:
    # 0x81, 0x8d, 0x8f, 0x90 and 0x9d have no meaning in Windows-1252; reading such a file used to
    # crash the load half-way with a UnicodeDecodeError.
    path = tmp_path / "cpr_personer.csv"
    body = _header(PERSONS) + '\n"0101701234","1",1970-01-01,"01",\n'
    path.write_bytes(body.encode() + b'"0201701234","\x81",1970-01-02,"01",\n')
    (problem,) = _problems(path, PERSONS)
    assert problem.startswith("cpr_personer.csv: line 3 ")
    assert "UTF-8" in problem
    assert not CPR_PATTERN.search(problem)


def test_a_file_without_header_never_repeats_its_cpr_numbers(tmp_path: Path) -> None:
    # The first data line is taken for the header; its values must not reach the message.
    path = tmp_path / "cpr_personer.csv"
    path.write_text('"0101701234","1",1970-01-01,"01",\n"0201701234","2",1970-01-02,"01",\n', encoding="utf-8")
    (problem,) = _problems(path, PERSONS)
    assert problem.startswith("cpr_personer.csv:")
    assert "missing column(s) pnr" in problem
    assert not CPR_PATTERN.search(problem), problem


# --- sniffing Parquet ------------------------------------------------------------------------


def test_a_parquet_file_is_sniffed_by_its_schema(tmp_path: Path) -> None:
    path = tmp_path / "cpr_personer.parquet"
    pq.write_table(arrow_schema(PERSONS).empty_table(), path)
    f = _sniffed(path, PERSONS)
    assert (f.kind, f.encoding, f.delimiter) == ("parquet", None, None)
    assert f.columns == PERSONS.column_names
    assert f.describe() == "cpr_personer.parquet: Parquet"


def test_a_truncated_parquet_file_is_named_as_damaged(tmp_path: Path) -> None:
    path = tmp_path / "cpr_personer.parquet"
    pq.write_table(arrow_schema(PERSONS).empty_table(), path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    (problem,) = _problems(path, PERSONS)
    assert problem.startswith("cpr_personer.parquet:")
    assert "Parquet" in problem


def test_a_parquet_file_with_the_wrong_columns_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "cpr_personer.parquet"
    pq.write_table(arrow_schema(PERSONS).empty_table().drop_columns(["koen"]), path)
    (problem,) = _problems(path, PERSONS)
    assert "missing column(s) koen" in problem


# --- detect_encoding -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"a,b\n1,2\n", Encoding.UTF8),
        ("a,b\nø,å\n".encode(), Encoding.UTF8),
        (b"\xef\xbb\xbfa,b\n1,2\n", Encoding.UTF8_BOM),
        ("a,b\nø,å\n".encode("cp1252"), Encoding.WINDOWS_1252),
        (b"\xef\xbb\xbf" + "a,b\nø\n".encode("cp1252"), Encoding.WINDOWS_1252),
        (b"", Encoding.UTF8),
    ],
    ids=["ascii", "utf8", "utf8-bom", "cp1252", "bom-then-cp1252", "empty"],
)
def test_detect_encoding(tmp_path: Path, data: bytes, expected: Encoding) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(data)
    assert detect_encoding(path) is expected


def test_a_character_split_across_read_chunks_is_still_utf8(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(extracts, "DECODE_CHUNK", 7)
    path = tmp_path / "f.csv"
    path.write_bytes("ab,cø\n".encode() * 50)  # 'ø' is two bytes; chunks of 7 split some of them
    assert detect_encoding(path) is Encoding.UTF8


def test_a_single_windows_1252_byte_far_into_the_file_is_found(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(b"a,b\n" + b"1,2\n" * 50_000 + "3,æ\n".encode("cp1252"))
    assert path.stat().st_size > extracts.SNIFF_BYTES
    assert detect_encoding(path) is Encoding.WINDOWS_1252


# --- column_problems -------------------------------------------------------------------------


def test_the_declared_columns_in_any_order_are_no_problem() -> None:
    assert column_problems("f.csv", tuple(reversed(PERSONS.column_names)), PERSONS, dict(KNOWN)) == []


def test_missing_extra_and_repeated_columns_are_all_named_in_one_message() -> None:
    columns = ("pnr", "pnr", "koen", "foed_dato", "status", "shoe_size")
    (problem,) = column_problems("cpr_personer.csv", columns, PERSONS, dict(KNOWN))
    assert problem.startswith("cpr_personer.csv: ")
    assert "missing column(s) status_dato" in problem
    assert "unexpected column(s) shoe_size" in problem
    assert "repeated column(s) pnr" in problem
    assert "expected pnr, koen, foed_dato, status, status_dato" in problem


def test_the_columns_of_another_register_are_recognised() -> None:
    ssr = REGISTERS["ssr_ydelser"]
    (problem,) = column_problems("lpr_kontakter.csv", ssr.column_names, CONTACTS, dict(KNOWN))
    assert problem == "lpr_kontakter.csv: has the columns of register ssr_ydelser, not lpr_kontakter"


def test_cpr_shaped_column_names_are_masked() -> None:
    columns = ("010170-1234", "0201701234", "1", "1970-01-01", "01")
    (problem,) = column_problems("cpr_personer.csv", columns, PERSONS, dict(KNOWN))
    assert not CPR_PATTERN.search(problem), problem
    assert "XXXXXX-XXXX" in problem
