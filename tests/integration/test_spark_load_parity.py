"""Release parity: the same small extracts loaded by DuckDB and by Spark give the same release.

Both loads read one tiny synthetic extract (CSV, with damaged rows appended so that quarantine has
work to do) with the same pseudonymisation key. Every table of both releases is compared by the
content hash of its sorted, normalised rows (``koes.etl.parity``), and the manifests' row counts
and row accounting and the quarantine reports must be identical.

The record-key columns (person ids and event keys, record keys v2: MD5 of the natural key as text)
are compared like every other column: the cell keys, and so the perturbed figures, of a release
do not depend on the engine that loaded it.

Spark runs in local mode (``local[2]``); the module shares the ``spark`` xdist group with the
engine parity tests. The Spark load takes minutes on 2 busy cores: most of it is Spark's cost per
statement, not rows.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
from pathlib import Path

import pytest

if os.environ.get("CI"):
    import pyspark  # noqa: F401

    assert shutil.which("java"), "Spark needs Java: make test installs default-jre-headless"
else:
    pytest.importorskip("pyspark", reason="the Spark engine is optional: pip install -e '.[spark]'")
    if shutil.which("java") is None:  # pragma: no cover - make test installs a JRE
        pytest.skip("Spark needs Java (apt-get install default-jre-headless)", allow_module_level=True)

from koes.domain.periods import YearRange
from koes.etl.parity import release_fingerprints
from koes.refdata import load_refdata
from koes.services.warehouse import LoadResult, load_extracts
from koes.settings import EngineName, Settings
from koes.synthetic.generate import GenerationRequest, generate
from koes.synthetic.writer import ExtractFormat

pytestmark = [pytest.mark.xdist_group("spark"), pytest.mark.slow]

RECORD_KEY_COLUMN = re.compile(r"^(rk|k_.*)$")
CPR_SHAPE = re.compile(r"[0-9]{6}-?[0-9]{4}")


def _damage(extracts: Path) -> None:
    """Append rows that must be quarantined: an unknown code, a bad date, an impossible CPR
    number and a line with too few fields."""
    path = extracts / "cpr_adresser.csv"
    pnr, kommune, fra, til = path.read_text(encoding="utf-8").splitlines()[1].split(",")
    bad = [
        [pnr, '"0999"', fra, til],
        [pnr, kommune, "2023-13-45", til],
        ['"3113999999"', kommune, fra, til],
        [pnr, kommune],
    ]
    with path.open("a", encoding="utf-8") as f:
        f.write("".join(",".join(row) + "\n" for row in bad))


@pytest.fixture(scope="module")
def extracts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("spark-parity") / "extracts"
    generate(GenerationRequest(150, YearRange(2023, 2023), 7, out, fmt=ExtractFormat.CSV), load_refdata())
    _damage(out)
    return out


def _settings(folder: Path) -> Settings:
    key = folder / "secrets" / "pseudonym.key"
    key.parent.mkdir(parents=True, mode=0o700)
    key.write_text(bytes(range(32)).hex() + "\n", encoding="ascii")
    key.chmod(0o600)
    return Settings(data_dir=folder, threads=1, memory_limit="1GB")


@pytest.fixture(scope="module")
def releases(extracts: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, LoadResult]:
    return {
        engine: load_extracts(_settings(tmp_path_factory.mktemp(engine)), extracts, engine=engine)
        for engine in EngineName
    }


def _record_key_columns(folder: Path) -> frozenset[str]:
    import pyarrow.parquet as pq

    names = set()
    for file in (folder / "parquet").rglob("*.parquet"):
        names |= {n for n in pq.read_schema(file).names if RECORD_KEY_COLUMN.match(n)}
    return frozenset(names)


def test_every_table_holds_the_same_rows(releases: dict[str, LoadResult]) -> None:
    duck, spark = (releases[e].release.folder for e in ("duckdb", "spark"))
    assert _record_key_columns(duck), "the release has record-key columns, compared as they are"
    expected = release_fingerprints(duck)
    actual = release_fingerprints(spark)
    assert sorted(actual) == sorted(expected)
    differing = {t: (expected[t], actual[t]) for t in expected if expected[t] != actual[t]}
    assert not differing, f"tables whose rows differ between DuckDB and Spark: {sorted(differing)}"
    assert expected["persons"].rows > 100 and expected["contacts"].rows > 0


def test_stay_hours_are_the_same_to_the_hundredth(releases: dict[str, LoadResult]) -> None:
    """Compared above with every column; here also as numbers, so a difference names the stay's hours."""
    import duckdb

    con = duckdb.connect()
    hours = {
        engine: con.execute(
            f"SELECT rk, hours FROM read_parquet('{r.release.folder}/parquet/stays/**/*.parquet') ORDER BY rk, hours"
        ).fetchall()
        for engine, r in releases.items()
    }
    assert len(hours["duckdb"]) > 0
    assert hours["spark"] == hours["duckdb"]


def test_record_keys_are_in_range_on_spark(releases: dict[str, LoadResult]) -> None:
    import duckdb

    folder = releases["spark"].release.folder
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    modulus = 1 << manifest["record_keys"]["bits"]
    con = duckdb.connect()
    source = f"read_parquet('{folder}/parquet/contacts/**/*.parquet', hive_partitioning = true)"
    low, high = con.execute(f"SELECT min(rk), max(rk) FROM {source}").fetchone() or (None, None)
    assert low is not None and 0 <= low <= high < modulus


def test_manifest_counts_and_accounting_agree(releases: dict[str, LoadResult]) -> None:
    manifests = {
        e: json.loads((r.release.folder / "manifest.json").read_text(encoding="utf-8")) for e, r in releases.items()
    }
    duck, spark = manifests["duckdb"], manifests["spark"]
    assert {t: v["rows"] for t, v in spark["tables"].items()} == {t: v["rows"] for t, v in duck["tables"].items()}
    assert spark["row_accounting"] == duck["row_accounting"]
    assert spark["source_files"] == duck["source_files"]
    for register, n in spark["row_accounting"].items():
        assert n["in"] == n["loaded"] + n["quarantined"], register
    assert spark["row_accounting"]["cpr_adresser"]["quarantined"] == 4


def test_quarantine_reports_are_identical_and_hold_no_cpr(releases: dict[str, LoadResult]) -> None:
    duck, spark = (releases[e].release.folder for e in ("duckdb", "spark"))
    for name in ("quarantine.csv", "quarantine.md"):
        assert (spark / name).read_text(encoding="utf-8") == (duck / name).read_text(encoding="utf-8"), name
    with (spark / "quarantine.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert {r["reason"].split(" ")[0] for r in rows} >= {"unknown", "not", "CPR", "the"}
    assert not any(CPR_SHAPE.search(r["reason"]) for r in rows)
