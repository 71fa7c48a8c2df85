"""`koes cohort check` and the service under it, on the small release: the report a municipality sees,
checked against the CPR extracts the release was loaded from; and the audit record it leaves."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from cohort_files import write_csv
from koes.services.appdb import open_app_database
from koes.services.audit import AuditTrail
from koes.services.cohorts import CheckRequest, CohortRefusedError, check_cohort_file
from koes.services.warehouse import LoadResult
from koes.settings import Settings
from support import koes

HOME = 101
DAY = date(2023, 12, 31)  # the small release's last day


def _where_on(extracts: Path, day: date) -> dict[str, str | None]:
    """Each person's municipality on ``day`` (4 digits), from the extract, independently of the release."""
    periods = pq.read_table(extracts / "cpr_adresser.parquet").to_pylist()
    persons = pq.read_table(extracts / "cpr_personer.parquet").column("pnr").to_pylist()
    where: dict[str, str | None] = dict.fromkeys(persons)
    for p in periods:
        if p["fra_dato"] <= day and (p["til_dato"] is None or day < p["til_dato"]):
            where[p["pnr"]] = p["kommunekode"]
    return where


@pytest.fixture(scope="module")
def people(small_extracts: Path) -> dict[str, str | None]:
    return _where_on(small_extracts, DAY)


@pytest.fixture
def upload(tmp_path: Path, people: dict[str, str | None]) -> tuple[Path, list[str]]:
    home = [n for n, k in people.items() if k == "0101"][:30]
    away = [n for n, k in people.items() if k not in ("0101", None)][:20]
    chosen = home + away
    rows = [["CPR-nr.", "Indeksdato", "Gruppe"]]
    rows += [[f"{n[:6]}-{n[6:]}", "01-06-2023", "indsats" if i % 2 else "kontrol"] for i, n in enumerate(chosen)]
    rows.append(["0302901236", "01-06-2023", "kontrol"])  # a valid number nobody in the release has
    return write_csv(tmp_path / "kohorte.csv", rows), chosen


def _cli(tmp_path: Path, settings: Settings, *args: str) -> tuple[int, str]:
    run = koes(
        tmp_path / "data",
        "cohort",
        "check",
        *args,
        "--warehouse",
        str(settings.warehouse),
        env={"KOES_PSEUDONYM_KEY_FILE": str(settings.pseudonym_key)},
    )
    return run.exit_code, run.output


def test_the_service_links_the_upload_to_the_release(
    small_load: LoadResult, small_settings: Settings, upload: tuple[Path, list[str]]
) -> None:
    path, _ = upload
    check = check_cohort_file(small_settings, path, CheckRequest(HOME))
    report = check.report
    assert (report.rows_read, report.rows_kept, report.rows_refused) == (51, 50, 1)
    assert [(r.line, r.category) for r in report.refused] == [(52, "not_found")]
    assert report.linked is not None and report.linked.release_id == small_load.release.id
    assert report.linked.reference_date == DAY.isoformat()
    assert report.linked.own_citizens == 30
    assert report.notes["not_resident"] == tuple(range(32, 52))
    assert len(check.members) == 50 and all(len(m.pseudonym) == 64 for m in check.members)


def test_cli_prints_the_report_and_writes_the_json(
    tmp_path: Path, small_load: LoadResult, small_settings: Settings, upload: tuple[Path, list[str]]
) -> None:
    path, chosen = upload
    out = tmp_path / "rapport.json"
    code, text = _cli(tmp_path, small_settings, str(path), "--org", "101", "--out", str(out), "--purpose", "opfølgning")
    assert code == 0, text
    assert "Rækker læst: 51" in text and "Rækker beholdt: 50" in text and "heraf bosat i jeres kommune" in text
    assert "findes ikke i befolkningen i den aktuelle udgivelse: linje 52" in text
    body = json.loads(out.read_text(encoding="utf-8"))
    assert body["rows_refused"] == 1 and body["linked"]["own_citizens"] == 30
    json_args = ("--org", "kommune:101", "--format", "json", "--lang", "en")
    code, printed = _cli(tmp_path, small_settings, str(path), *json_args)
    assert code == 0 and json.loads(printed)["title"] == "Validation report for a CPR population"
    for shown in (text, printed, out.read_text(encoding="utf-8")):
        assert not re.search(r"[0-9]{6}-?[0-9]{4}", shown)
        assert not any(n in shown or n[:6] + "-" + n[6:] in shown for n in chosen)


def test_every_check_is_audited_without_a_cpr_number(
    tmp_path: Path, small_load: LoadResult, small_settings: Settings, upload: tuple[Path, list[str]]
) -> None:
    path, _ = upload
    _cli(tmp_path, small_settings, str(path), "--org", "101", "--purpose", "opfølgning på indsats")
    bad = tmp_path / "billede.csv"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    code, text = _cli(tmp_path, small_settings, str(bad), "--org", "101")
    assert code == 1 and "Filen er et billede" in text
    database = open_app_database(Settings(data_dir=tmp_path / "data"))
    try:
        records = [r.event for r in AuditTrail(database).records() if r.event.action == "cohort_upload"]
    finally:
        database.dispose()
    assert [(e.outcome, e.organisation) for e in records] == [("ok", "kommune:101"), ("denied", "kommune:101")]
    assert records[0].purpose == "opfølgning på indsats" and records[0].rows_returned == 50
    assert records[0].release_id == small_load.release.id
    assert "51 rows read, 50 kept, 1 refused" in records[0].summary
    for event in records:  # the text a person reads (hashes are hex and may hold runs of digits by chance)
        shown = " ".join(str(v) for v in (event.summary, event.purpose, event.user, event.organisation))
        assert not re.search(r"[0-9]{6}-?[0-9]{4}", shown)


def test_requests_that_cannot_be_checked_are_refused(
    tmp_path: Path, small_load: LoadResult, small_settings: Settings, upload: tuple[Path, list[str]]
) -> None:
    path, _ = upload
    with pytest.raises(CohortRefusedError) as unknown:
        check_cohort_file(small_settings, path, CheckRequest(9999))
    assert unknown.value.text("en") == "9999 is not a municipality code."
    no_key = Settings(data_dir=small_settings.data_dir, pseudonym_key_file=tmp_path / "missing.key")
    with pytest.raises(CohortRefusedError) as missing:
        check_cohort_file(no_key, path, CheckRequest(HOME))
    assert missing.value.code == "no_key" and not (tmp_path / "missing.key").exists()
    code, text = _cli(tmp_path, small_settings, str(path), "--org", "Aarhus")
    assert code == 2 and "is not a kommunekode" in text
