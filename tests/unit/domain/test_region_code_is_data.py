"""Region Østdanmark's code is data, not code (issue 20). No official DAGI/CPR code had been
published when the reference data was written, so 1086 is marked provisional; when the official
code comes, changing the two reference files must be enough. These tests make that change on a
copy of the reference data and ask the geography, the maps and the organisations of it, and
check that no Python module names the provisional code."""

from __future__ import annotations

import ast
import csv
import shutil
from datetime import date
from pathlib import Path

import pytest

import koes
from koes.appdb.seed import organisation_rows
from koes.domain.geography import geography_problems
from koes.query.geography import GeographyChoice, map_regions
from koes.refdata import RefData, data_dir, load_refdata
from koes.services.ceased import successors

PROVISIONAL, OFFICIAL = 1086, 1099  # 1099: a stand-in for the code DAGI will publish
NEW_YEAR = date(2027, 1, 1)


def _recoded(folder: Path) -> RefData:
    """The shipped reference data with Region Østdanmark's code changed in its two files only."""
    shutil.copytree(data_dir(), folder)
    for name in ("regions_versioned.csv", "region_membership.csv"):
        path = folder / name
        with path.open(encoding="utf-8", newline="") as f:
            rows = list(csv.DictReader(f))
        for row in rows:
            if row["region_code"] == str(PROVISIONAL):
                row["region_code"] = str(OFFICIAL)
        with path.open("w", encoding="utf-8", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
    return load_refdata(folder)


@pytest.fixture(scope="module")
def recoded(tmp_path_factory: pytest.TempPathFactory) -> RefData:
    return _recoded(tmp_path_factory.mktemp("refdata") / "data")


def test_the_official_code_replaces_the_provisional_one_by_data_alone(recoded: RefData) -> None:
    geography = recoded.geography
    assert geography_problems(geography, (m.code for m in recoded.municipalities)) == []
    assert [r.code for r in geography.regions_on(NEW_YEAR)] == [1081, 1082, 1083, OFFICIAL]
    east = geography.region(OFFICIAL)
    assert (east.name_da, east.valid_from) == ("Region Østdanmark", NEW_YEAR)
    assert geography.region_of(265, NEW_YEAR) == OFFICIAL and geography.region_of(265, date(2026, 12, 31)) == 1085
    assert successors(geography, 1084) == successors(geography, 1085) == (OFFICIAL,)
    assert sorted(map_regions(geography, GeographyChoice(NEW_YEAR), 2027)) == [1081, 1082, 1083, OFFICIAL]
    rows = {row.key: row for row in organisation_rows(recoded, NEW_YEAR)}
    assert f"region:{OFFICIAL}" in rows and f"region:{PROVISIONAL}" not in rows
    assert rows["kommune:101"].parent_region_code == OFFICIAL


def test_the_shipped_code_is_marked_provisional_until_the_official_one_comes() -> None:
    east = load_refdata().geography.region(PROVISIONAL)
    assert east.provisional_code


def test_no_module_names_the_provisional_code() -> None:
    """Only the reference files may know 1086: an int 1086 or a string "1086" / "region:1086" in
    the source would be missed when the code changes (help texts and examples may mention it)."""
    found = []
    for path in sorted(Path(koes.__file__).parent.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and node.value in (
                PROVISIONAL,
                str(PROVISIONAL),
                f"region:{PROVISIONAL}",
            ):
                found.append(f"{path.name}:{node.lineno}")
    assert found == []
