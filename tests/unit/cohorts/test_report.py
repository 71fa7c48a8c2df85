"""The validation report: every row accounted for with its line and reason, and no CPR number anywhere."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pytest

from cohort_files import cpr_numbers, write_csv
from koes.cohorts.limits import UploadLimits
from koes.cohorts.messages import LANGUAGES, catalogue
from koes.cohorts.report import NOTES, REFUSALS, ReportBuilder, ValidationReport, masked
from koes.cohorts.upload import CheckedFile, read_cohort_file
from koes.domain.cpr import parse_cpr
from koes.privacy.pseudonymisation import Pseudonymiser

TODAY = date(2025, 6, 1)
A, B, C, D = cpr_numbers(4)
# Born 1 January and failing modulus 11: issued since 2007, fully valid.
JANUARY = next(n for n in (f"010170{s:04d}" for s in range(4000, 4100)) if not parse_cpr(n).cpr.mod11_ok)  # type: ignore[union-attr]
FUTURE = "0101305001"  # 1 January 2030 (digit 7 = 5, YY 30)
ZERO = next(n for n in cpr_numbers(200, start=5000) if n.startswith("0"))  # 1 January 2030 (digit 7 = 5, YY 30)


def check(tmp_path: Path, rows: list[list[str]], **kwargs: object) -> CheckedFile:
    path = write_csv(tmp_path / "c.csv", rows)
    with path.open("rb") as stream:
        return read_cohort_file(stream, pseudonymiser=Pseudonymiser(b"k" * 32), today=TODAY, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def report(tmp_path: Path) -> ValidationReport:
    rows = [
        ["CPR", "Indeksdato", "Gruppe", "Reference"],  # line 1
        [A, "01-03-2023", "indsats", "sag 1"],  # 2: kept
        [f"{B[:6]}-{B[6:]}", "2023-03-01", "kontrol", "sag 2"],  # 3: kept
        ["1,01E+09", "01-03-2023", "kontrol", ""],  # 4: digits lost
        ["0313901234", "01-03-2023", "kontrol", ""],  # 5: month 13
        [FUTURE, "01-03-2023", "kontrol", ""],  # 6: born in the future
        [A, "01-03-2023", "indsats", ""],  # 7: the same person as line 2
        [C, "31-02-2023", "indsats", ""],  # 8: no such index date
        [D, "", "indsats", "x" * 70],  # 9: reference too long
        [JANUARY, "", "", ""],  # 10: kept, no index date, 1 January modulus 11 note
        ["", "", "", ""],  # 11: empty, skipped
        ["12345", "01-03-2023", "", ""],  # 12: too few digits
        [ZERO[1:], "2024-01-01", "", ""],  # 13: kept, its lost leading zero restored
    ]
    return check(tmp_path, rows).report()


def test_rows_in_equal_rows_kept_plus_rows_refused(report: ValidationReport) -> None:
    assert report.rows_read == 11
    assert report.empty_rows == 1
    assert report.rows_read == report.rows_kept + report.rows_refused
    assert report.rows_kept == 4
    assert {r.line for r in report.refused} == {4, 5, 6, 7, 8, 9, 12}


def test_each_refused_row_has_its_line_category_and_reason(report: ValidationReport) -> None:
    found = {r.line: (r.category, r.code) for r in report.refused}
    assert found[4] == ("invalid_form", "cpr_scientific")
    assert found[5] == ("impossible_date", "cpr_month")
    assert found[6] == ("future_birth_date", "future_birth_date")
    assert found[7] == ("duplicate", "duplicate")
    assert found[8] == ("bad_index_date", "date_impossible")
    assert found[9] == ("bad_label", "label_too_long")
    assert found[12] == ("invalid_form", "cpr_digit_count")
    duplicate = next(r for r in report.refused if r.line == 7)
    assert duplicate.reason("en") == "the same person as line 2"
    assert duplicate.reason("da") == "samme person som linje 2"
    assert report.refused_by_category()["invalid_form"] == 2


def test_notes_name_the_kept_lines(report: ValidationReport) -> None:
    assert report.notes["mod11_1_january"] == (10,)
    assert report.notes["no_index_date"] == (10,)
    assert report.notes["leading_zero_restored"] == (13,)
    assert set(report.notes["mod11_other"]) >= {2, 3}


def test_no_cpr_number_in_the_report_in_any_language(report: ValidationReport) -> None:
    for language in LANGUAGES:
        text = "\n".join(report.to_text(language))
        body = json.dumps(report.to_json(language), ensure_ascii=False)
        for shown in (text, body):
            assert not re.search(r"[0-9]{6}-?[0-9]{4}", shown)
            for number in (A, B, C, D, JANUARY, FUTURE, ZERO):
                assert number not in shown and number[:6] not in shown


def test_the_text_report_lists_reasons_with_lines(report: ValidationReport) -> None:
    text = "\n".join(report.to_text("en"))
    assert "Rows read: 11" in text and "Rows kept: 4" in text and "Rows refused: 7" in text
    assert "month 13 does not exist: lines 5" in text
    assert "not 10 digits (has 5) (masked #####): lines 12" in text
    assert "Not linked to a release" in text
    assert "Intet er gemt" in "\n".join(report.to_text("da"))


def test_the_json_report_lists_every_line(report: ValidationReport) -> None:
    body = report.to_json("en")
    assert body["rows_read"] == body["rows_kept"] + body["rows_refused"]
    assert [r["line"] for r in body["refused"]] == sorted(r["line"] for r in body["refused"])
    assert (body["notes"]["mod11_1_january"]["count"], body["notes"]["mod11_1_january"]["lines"]) == (1, [10])
    assert body["columns"][0] == {"position": 1, "letter": "A", "header": "CPR", "role": "cpr"}
    assert body["groups"] == {"indsats": 1, "kontrol": 1}


def test_the_report_refuses_to_be_made_when_rows_go_missing() -> None:
    builder = ReportBuilder(rows_read=3)
    with pytest.raises(ValueError, match="rows read"):
        builder.build(
            source={},
            columns=[],
            layout_notes=[],
            header_line=None,
            preamble_lines=[],
            rows_kept=1,
            groups={},
            linked=None,
        )


def test_masked_forms_keep_the_shape_only() -> None:
    assert masked("0302901235") == "##########"
    assert masked("Jens Hansen") == "xxxx xxxxxx"
    assert masked("1,01E+09") == "#,##x+##"
    assert masked("a" * 40) == "x" * 16 + "…"


def test_every_message_has_both_languages_with_the_same_placeholders() -> None:
    names = re.compile(r"{(\w+)}")
    for code, texts in catalogue().items():
        assert set(texts) == set(LANGUAGES), code
        assert set(names.findall(texts["da"])) == set(names.findall(texts["en"])), code
    for code in (*REFUSALS, *NOTES):
        assert (f"heading_{code}" if code in REFUSALS else code) in catalogue()


def test_the_limits_follow_the_settings() -> None:
    from koes.settings import Settings

    settings = Settings.from_env(
        {"KOES_COHORT_MAX_ROWS": "1000", "KOES_COHORT_MAX_FILE_MB": "2", "KOES_COHORT_MAX_MIXED_PERCENT": "25"}
    )
    limits = UploadLimits.from_settings(settings)
    assert (limits.max_rows, limits.max_file_bytes, limits.max_mixed_share) == (1000, 2 * 2**20, 0.25)
