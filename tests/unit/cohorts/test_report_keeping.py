"""A kept report comes back equal from its stored JSON, and downloads as CSV without a CPR number."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

from cohort_files import write_csv
from koes.cohorts.report_codec import dump_report, load_report
from koes.cohorts.report_csv import report_csv
from koes.cohorts.upload import read_cohort_file
from koes.privacy.pseudonymisation import Pseudonymiser


def _report(tmp_path: Path):  # type: ignore[no-untyped-def]
    rows = [["CPR", "Gruppe"], ["010190-1234", "a"], ["0101901234", "a"], ["311390-1234", "b"], ["-12", "b"]]
    path = write_csv(tmp_path / "k.csv", rows)
    with path.open("rb") as stream:
        return read_cohort_file(stream, pseudonymiser=Pseudonymiser(b"k" * 32), today=date(2025, 1, 1)).report()


def test_the_stored_report_comes_back_equal(tmp_path: Path) -> None:
    report = _report(tmp_path)
    assert report.rows_refused == 3
    again = load_report(dump_report(report))
    assert again == report
    assert again.to_json("en") == report.to_json("en")


def test_the_csv_lists_every_refused_line_with_its_reason_and_no_cpr(tmp_path: Path) -> None:
    report = _report(tmp_path)
    text = report_csv(report, "da")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))
    assert rows[0] == ["afsnit", "linje", "kategori", "grund", "maskeret form", "antal"]
    refused = [(r[1], r[2]) for r in rows if r[0] == "refused"]
    assert refused == [("3", "duplicate"), ("4", "impossible_date"), ("5", "invalid_form")]
    assert "1234" not in text and "010190" not in text
    masked = next(r[4] for r in rows if r[0] == "refused" and r[2] == "invalid_form")
    assert masked.startswith("'-")  # Excel reads it as text, never as a formula
    english = report_csv(report, "en", delimiter=",")
    assert english.splitlines()[0].lstrip("\ufeff") == "section,line,category,reason,masked form,count"
