"""`koes cohort upload | list | delete` on the small release: the report, the kept cohort's id, the
guard's refusal (exit 1), and deletion, all through the services and audited."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cohort_files import write_csv
from cohort_support import copenhageners
from koes.services.appdb import open_app_database
from koes.services.audit import AuditTrail
from koes.services.users import OPERATOR, UserService
from koes.services.warehouse import LoadResult
from koes.settings import Settings
from support import fast_passwords, koes


@pytest.fixture(scope="module")
def people(small_extracts: Path) -> list[str]:
    return copenhageners(small_extracts)[:40]


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    database = open_app_database(Settings(data_dir=data))
    try:
        users = UserService(AuditTrail(database), fast_passwords())
        for name, org in (("anna", "kommune:101"), ("ulla", "kommune:751")):
            users.grant(OPERATOR, users.create_user(OPERATOR, name, organisation=org).id, "individ")
    finally:
        database.dispose()
    return data


def _cli(data: Path, settings: Settings, *args: str) -> tuple[int, str]:
    env = {"KOES_PSEUDONYM_KEY_FILE": str(settings.pseudonym_key), "KOES_WAREHOUSE_DIR": str(settings.warehouse)}
    run = koes(data, "cohort", *args, env=env)
    return run.exit_code, run.output


def _file(tmp_path: Path, people: list[str], name: str) -> str:
    rows = [["CPR-nr.", "Sagsnr."], *[[f"{n[:6]}-{n[6:]}", f"S{i}"] for i, n in enumerate(people)]]
    return str(write_csv(tmp_path / name, rows))


def test_upload_list_and_delete(
    tmp_path: Path, data_dir: Path, small_load: LoadResult, small_settings: Settings, people: list[str]
) -> None:
    first = _file(tmp_path, people[:30], "rehab.csv")
    code, text = _cli(data_dir, small_settings, "upload", first, "--org", "101", "--purpose", "Rehab", "--user", "anna")
    assert code == 0, text
    assert "Rækker læst: 30" in text and "Kohorten er gemt" in text and "Intet er gemt" not in text
    cohort_id = re.search(r"cohort: (\S+)", text)
    assert cohort_id is not None
    code, listed = _cli(data_dir, small_settings, "list", "--user", "anna")
    assert code == 0 and cohort_id.group(1) in listed and "rehab" in listed and "Rehab" in listed

    close = _file(tmp_path, people[:31], "naesten.csv")
    code, refused = _cli(data_dir, small_settings, "upload", close, "--org", "101", "--purpose", "x", "--user", "anna")
    assert code == 1 and "færre end 5 personer" in refused

    code, other = _cli(data_dir, small_settings, "delete", cohort_id.group(1), "--user", "ulla")
    assert code == 1 and "no such cohort" in other
    code, deleted = _cli(data_dir, small_settings, "delete", cohort_id.group(1), "--user", "anna")
    assert code == 0 and "deleted" in deleted
    for shown in (text, listed, refused):
        assert not any(n in shown or f"{n[:6]}-{n[6:]}" in shown for n in people)


def test_upload_needs_the_users_own_municipality_and_an_app_user(
    tmp_path: Path, data_dir: Path, small_load: LoadResult, small_settings: Settings, people: list[str]
) -> None:
    path = _file(tmp_path, people[:20], "k.csv")
    code, text = _cli(data_dir, small_settings, "upload", path, "--org", "751", "--purpose", "x", "--user", "anna")
    assert code == 2 and "kommune:101" in text
    code, text = _cli(data_dir, small_settings, "upload", path, "--org", "101", "--purpose", "x", "--user", "nobody")
    assert code == 2 and "no app user" in text
    code, text = _cli(data_dir, small_settings, "upload", path, "--org", "101", "--purpose", " ", "--user", "anna")
    assert code == 1 and "purpose" in text
