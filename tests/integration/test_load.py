"""`koes load` end to end, and what an operator sees of the releases it makes.

The CLI is driven as a user would drive it (``koes --data-dir D load X``, ``koes releases …``);
the release folder it leaves is then opened and checked: the manifest tells the truth about the
source files and the rows, the same extracts give the same content whatever their format, old
releases are pruned, and no CPR number is anywhere in what is published.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import shutil
import stat
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest

from koes import __version__
from koes.domain.periods import YearRange
from koes.domain.registers import REGISTERS, ColumnType
from koes.domain.rules import load_rules
from koes.refdata import load_refdata
from koes.services.warehouse import LoadResult, load_extracts
from koes.settings import Settings
from koes.storage.releases import Release, ReleaseStore
from koes.synthetic.generate import GenerationRequest, generate
from koes.synthetic.writer import ExtractFormat
from support import Run, koes

pytestmark = pytest.mark.xdist_group("load")

CPR_SHAPE = r"[0-9]{6}-?[0-9]{4}"
PSEUDONYM = r"[0-9a-f]{64}"  # an HMAC-SHA256 pseudonym may hold ten digits in a row by chance


def store_of(data_dir: Path) -> ReleaseStore:
    return ReleaseStore(data_dir / "warehouse")


def current_of(data_dir: Path) -> Release:
    current = store_of(data_dir).current()
    assert current is not None, f"no current release in {data_dir}"
    return current


def file_rows(path: Path) -> int:
    """Data rows in an extract file, counted independently of the loader."""
    if path.suffix == ".parquet":
        return int(pq.ParquetFile(path).metadata.num_rows)
    with path.open(encoding="utf-8", newline="") as f:
        return sum(1 for row in csv.reader(f) if row) - 1


def cpr_shaped_values(con: duckdb.DuckDBPyConnection, relation: str) -> list[tuple[str, str]]:
    """(column, example) for every text column (VARCHAR or coded ENUM) of ``relation`` holding
    something CPR-shaped."""
    found = []
    for name, kind, *_ in con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall():
        if kind != "VARCHAR" and not kind.startswith("ENUM("):
            continue
        col = '"' + name.replace('"', '""') + '"'
        hit = con.execute(
            f"SELECT any_value({col}) FROM {relation} WHERE regexp_matches({col}, '{CPR_SHAPE}') "
            f"AND NOT regexp_full_match({col}, '{PSEUDONYM}')"
        ).fetchone()
        if hit and hit[0] is not None:
            found.append((name, str(hit[0])))
    return found


def files_containing(folder: Path, needles: Sequence[bytes]) -> list[str]:
    pattern = re.compile(b"|".join(re.escape(n) for n in needles))
    return [
        str(p.relative_to(folder)) for p in sorted(folder.rglob("*")) if p.is_file() and pattern.search(p.read_bytes())
    ]


def sample_pnrs(extracts: Path, n: int = 500) -> list[str]:
    pnrs = sorted(pq.read_table(extracts / "cpr_personer.parquet", columns=["pnr"]).column("pnr").to_pylist())
    step = max(len(pnrs) // n, 1)
    return [str(p) for p in pnrs[::step][:n]]


# --- one warehouse, loaded twice through the CLI ---------------------------------------------


@dataclass(frozen=True)
class TwoLoads:
    data_dir: Path
    extracts: Path
    runs: tuple[Run, Run]
    ids: tuple[str, str]
    seconds: tuple[float, float]


@pytest.fixture(scope="module")
def two_loads(tmp_path_factory: pytest.TempPathFactory, small_extracts: Path) -> TwoLoads:
    data_dir = tmp_path_factory.mktemp("cli-load") / "data"
    runs, ids, seconds = [], [], []
    for _ in range(2):
        began = time.perf_counter()
        run = koes(data_dir, "load", str(small_extracts))
        seconds.append(time.perf_counter() - began)
        assert run.exit_code == 0, run.output
        runs.append(run)
        ids.append(current_of(data_dir).id)
    return TwoLoads(data_dir, small_extracts, (runs[0], runs[1]), (ids[0], ids[1]), (seconds[0], seconds[1]))


def copy_data_dir(loads: TwoLoads, target: Path) -> Path:
    shutil.copytree(loads.data_dir, target, symlinks=True)
    return target


@pytest.mark.slow
def test_the_load_succeeds_and_its_summary_names_the_release(two_loads: TwoLoads) -> None:
    assert two_loads.ids[0] != two_loads.ids[1]
    for run, release_id in zip(two_loads.runs, two_loads.ids, strict=True):
        assert run.exit_code == 0
        assert run.exception is None
        assert f"Release {release_id} is current" in run.text
        for register in REGISTERS:
            assert register.name in run.text  # the accounting table lists every register
    assert [r.id for r in store_of(two_loads.data_dir).releases()] == list(two_loads.ids)


@pytest.mark.slow
def test_releases_list_shows_every_release_in_full_and_marks_the_current_one(two_loads: TwoLoads) -> None:
    # An 80-column terminal is the common case; the ids are what `show` and `rollback` need.
    run = koes(two_loads.data_dir, "releases", "list", width=80)
    assert run.exit_code == 0, run.output
    for release_id in two_loads.ids:
        assert release_id in run.output, f"release id {release_id} is not shown in full:\n{run.output}"
    marked = [line for line in run.output.splitlines() if "→" in line]
    assert len(marked) == 1
    assert two_loads.ids[1] in marked[0]


@pytest.mark.slow
def test_releases_show_prints_the_manifest(two_loads: TwoLoads) -> None:
    release_id = two_loads.ids[0]
    run = koes(two_loads.data_dir, "releases", "show", release_id)
    assert run.exit_code == 0, run.output
    shown = json.loads(run.output)
    assert shown == store_of(two_loads.data_dir).get(release_id).manifest()


@pytest.mark.slow
def test_rollback_switches_current_and_an_unknown_id_is_refused_with_the_known_ones(
    two_loads: TwoLoads, tmp_path: Path
) -> None:
    data_dir = copy_data_dir(two_loads, tmp_path / "data")
    first, second = two_loads.ids
    run = koes(data_dir, "releases", "rollback", first)
    assert run.exit_code == 0, run.output
    assert first in run.text
    assert current_of(data_dir).id == first
    listed = koes(data_dir, "releases", "list")
    assert [line for line in listed.output.splitlines() if "→" in line and first in line]

    for command in ("rollback", "show"):
        refused = koes(data_dir, "releases", command, "20000101T000000000Z")
        assert refused.exit_code == 2, refused.output
        assert "20000101T000000000Z" in refused.text
        assert first in refused.text
        assert second in refused.text
        assert "Traceback" not in refused.output
    assert current_of(data_dir).id == first  # the refused rollback changed nothing

    assert koes(data_dir, "releases", "rollback", second).exit_code == 0
    assert current_of(data_dir).id == second


@pytest.mark.slow
def test_the_manifest_tells_where_the_release_came_from_and_what_it_holds(two_loads: TwoLoads) -> None:
    release = current_of(two_loads.data_dir)
    m = release.manifest()
    assert m["id"] == release.id == two_loads.ids[1]
    created = datetime.fromisoformat(m["created"])
    assert created.tzinfo is not None
    assert abs((datetime.now(UTC) - created).total_seconds()) < 3600
    assert m["code_version"] == __version__
    assert m["rule_versions"] == load_rules().versions
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", m["content_hash"])
    assert m["extract_period"] == {"start": "2022-01-01", "end": "2023-12-31"}

    # Source files: every extract file, with the digest of its bytes as they are on disk now.
    sources = {s["file"]: s for s in m["source_files"]}
    on_disk = sorted(p.name for p in two_loads.extracts.iterdir() if p.suffix == ".parquet")
    assert sorted(sources) == on_disk
    for name, source in sources.items():
        data = (two_loads.extracts / name).read_bytes()
        assert source["sha256"] == hashlib.sha256(data).hexdigest(), name
        assert source["bytes"] == len(data)
        assert source["register"] == Path(name).stem
        assert source["format"] == "Parquet"

    # Row accounting: every row of every file is either loaded or quarantined, and the rows in are
    # the rows the files really hold.
    accounting = m["row_accounting"]
    assert set(accounting) == set(REGISTERS.names)
    con = duckdb.connect(str(release.serving_file), read_only=True)
    try:
        quarantined = dict(
            con.execute(
                "SELECT register, count(*) FROM (SELECT DISTINCT register, file, row FROM quarantine) GROUP BY ALL"
            ).fetchall()
        )
        for register, a in accounting.items():
            assert a["in"] == a["loaded"] + a["quarantined"], register
            assert a["in"] == file_rows(two_loads.extracts / f"{register}.parquet"), register
            assert a["quarantined"] == quarantined.get(register, 0), register
        table = {r[0]: r[1:] for r in con.execute("SELECT * FROM load_accounting").fetchall()}
        assert table == {k: (v["in"], v["loaded"], v["quarantined"]) for k, v in accounting.items()}

        # Table row counts: what the manifest promises is what the serving file and the Parquet hold.
        tables = m["tables"]
        served = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        assert set(tables) == served
        for name, info in tables.items():
            count = con.execute(f'SELECT count(*) FROM "{name}"').fetchone()
            assert count is not None
            assert count[0] == info["rows"], name
            parquet = release.folder / info["parquet"]
            source = f"{parquet}/**/*.parquet" if parquet.is_dir() else str(parquet)
            assert parquet.exists(), name
            if info["rows"]:
                in_parquet = con.execute(f"SELECT count(*) FROM read_parquet('{source}')").fetchone()
                assert in_parquet is not None
                assert in_parquet[0] == info["rows"], name
        assert tables["persons"]["rows"] == accounting["cpr_personer"]["loaded"]

        # The bound the analysis counts rows by (decision 0004), recomputed from the Parquet files.
        bounded = {name for name, info in tables.items() if "max_rows_per_person_year" in info}
        assert {"person_year", "person_year_practice_total", "person_year_medicine_total"} <= bounded
        for name in bounded:
            parquet = release.folder / tables[name]["parquet"]
            most = con.execute(
                f"SELECT coalesce(max(n), 0) FROM (SELECT count(*) AS n FROM read_parquet('{parquet}/**/*.parquet',"
                " hive_partitioning = true) GROUP BY person_id, year)"
            ).fetchone()
            assert most is not None and most[0] == tables[name]["max_rows_per_person_year"], name
        assert tables["person_year"]["max_rows_per_person_year"] == 1
        assert tables["person_year_practice_total"]["max_rows_per_person_year"] > 1  # birthdays, moves
    finally:
        con.close()
    assert (release.folder / "quarantine.md").is_file()
    assert (release.folder / "quarantine.csv").is_file()


@pytest.mark.slow
def test_the_same_extracts_loaded_twice_give_the_same_content_hash(two_loads: TwoLoads) -> None:
    store = store_of(two_loads.data_dir)
    first, second = (store.get(i).manifest() for i in two_loads.ids)
    assert first["content_hash"] == second["content_hash"]
    assert first["row_accounting"] == second["row_accounting"]
    assert {t: v["rows"] for t, v in first["tables"].items()} == {t: v["rows"] for t, v in second["tables"].items()}


def test_the_cpr_scans_find_a_planted_number(tmp_path: Path) -> None:
    """The scans below must be able to fail: each finds a CPR number put where it should not be."""
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("CREATE TABLE t (pseudonym VARCHAR, note VARCHAR, n INTEGER)")
    con.execute("INSERT INTO t VALUES (?, 'ok', 1), (?, 'seen 010170-1234 here', 2)", ["0" * 64, "a" * 64])
    assert cpr_shaped_values(con, "t") == [("note", "seen 010170-1234 here")]
    con.execute("DELETE FROM t WHERE n = 2")
    assert cpr_shaped_values(con, "t") == []
    con.execute(
        "CREATE TEMP TABLE coded AS SELECT CAST(v AS ENUM('ok', '0202701234')) AS code FROM (VALUES ('ok')) t(v)"
    )
    assert cpr_shaped_values(con, "coded") == []
    con.execute("INSERT INTO coded VALUES ('0202701234')")
    assert cpr_shaped_values(con, "coded") == [("code", "0202701234")]
    con.close()
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "x.bin").write_bytes(b"\x00\x010101701234\x00")
    assert files_containing(tmp_path, [b"0101701234"]) == ["sub/x.bin"]
    assert files_containing(tmp_path, [b"0101701235"]) == []


# Facts sorted within each year by municipality, then person, so zone maps skip blocks (issue 3).
SORTED_FACTS = (
    "contacts",
    "stays",
    "services",
    "prescriptions",
    "benefit_weeks",
    "home_care",
    "person_year",
    "person_year_hospital",
    "person_year_practice",
    "person_year_medicine",
)
# Text a release may hold as VARCHAR: pseudonyms and the dimension and rule tables' own columns.
FREE_TEXT = {("persons", "pseudonym")}


def test_facts_are_stored_sorted_by_year_municipality_and_person(two_loads: TwoLoads) -> None:
    con = duckdb.connect(str(current_of(two_loads.data_dir).serving_file), read_only=True)
    try:
        for table in SORTED_FACTS:
            # Physically sorted: the storage order (rowid) is the order of the sort keys.
            out_of_order = con.execute(
                f"""SELECT count(*) FROM (
                      SELECT row_number() OVER (ORDER BY rowid) AS stored,
                             row_number() OVER (ORDER BY year, kommunekode, person_id, rowid) AS sorted
                      FROM {table}) WHERE stored <> sorted"""
            ).fetchone()
            assert out_of_order == (0,), table
    finally:
        con.close()


def test_facts_hold_their_codes_as_small_integers(two_loads: TwoLoads) -> None:
    """Every code column of a fact table is an ENUM (an integer index into a declared domain)."""
    con = duckdb.connect(str(current_of(two_loads.data_dir).serving_file), read_only=True)
    try:
        text = con.execute(
            """SELECT table_name, column_name FROM information_schema.columns
               WHERE data_type = 'VARCHAR'
                 AND NOT regexp_matches(table_name, '^(dim|code|rule)_|^(quarantine|load_accounting)$')"""
        ).fetchall()
        assert set(text) == FREE_TEXT
        coded = dict(
            con.execute(
                """SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'prescriptions'"""
            ).fetchall()
        )
        assert coded["atc"].startswith("ENUM(") and coded["atc1"].startswith("ENUM(")
        # The domains are sorted as text, so ordering by a code orders as its text does.
        codes = [r[0] for r in con.execute("SELECT DISTINCT atc FROM prescriptions ORDER BY atc").fetchall()]
        assert codes == sorted(codes)
        types = {r[0] for r in con.execute("SELECT type_name FROM duckdb_types() WHERE NOT internal").fetchall()}
        assert {"enum_atc", "enum_sector", "enum_diagnosis"} <= types
    finally:
        con.close()


# Coded fact columns whose source column is required: a code lost on the way (a lookup that
# missed) would show up as NULL here. (fact, column) -> (register, source column)
CODED_FROM_REQUIRED = {
    ("services", "service"): ("ssr_ydelser", "speciale"),
    ("services", "ydernr"): ("ssr_ydelser", "ydernr"),
    ("services", "sikgrup"): ("ssr_ydelser", "sikgrup"),
    ("services", "provider_group"): ("ssr_ydelser", "speciale"),
    ("prescriptions", "atc"): ("lms_ekspeditioner", "atc"),
    ("prescriptions", "atc1"): ("lms_ekspeditioner", "atc"),
    ("prescriptions", "atc3"): ("lms_ekspeditioner", "atc"),
    ("prescriptions", "vnr"): ("lms_ekspeditioner", "vnr"),
    ("diagnoses", "diag_code"): ("lpr_diagnoser", "diag_kode"),
    ("diagnoses", "category"): ("lpr_diagnoser", "diag_kode"),
    ("diagnoses", "diag_type"): ("lpr_diagnoser", "diag_kode_type"),
    ("contacts", "adiag"): ("lpr_kontakter", "adiag"),
    ("contacts", "hospital_id"): ("lpr_kontakter", "kont_ans_inst"),
    ("contacts", "sector"): ("lpr_kontakter", "kont_ans_hovedspec"),
}


def test_no_code_is_lost_when_facts_are_coded(two_loads: TwoLoads) -> None:
    assert all(REGISTERS[r].column(c).required for r, c in CODED_FROM_REQUIRED.values())
    con = duckdb.connect(str(current_of(two_loads.data_dir).serving_file), read_only=True)
    try:
        for table, column in CODED_FROM_REQUIRED:
            rows, coded = con.execute(f"SELECT count(*), count({column}) FROM {table}").fetchone() or (0, 0)
            assert rows > 0, table
            assert coded == rows, f"{table}.{column}: {rows - coded:,} rows lost their code"
    finally:
        con.close()


@pytest.mark.slow
def test_no_cpr_number_is_anywhere_in_the_release(two_loads: TwoLoads) -> None:
    release = current_of(two_loads.data_dir)
    con = duckdb.connect(str(release.serving_file), read_only=True)
    try:
        tables = [r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()]
        assert "persons" in tables
        found = {t: hits for t in tables if (hits := cpr_shaped_values(con, f'"{t}"'))}
        assert found == {}, f"CPR-shaped values in the serving file: {found}"
    finally:
        con.close()
    # The Parquet copy is compressed, so it is read rather than grepped.
    reader = duckdb.connect()
    parquet_files = sorted(release.parquet_dir.rglob("*.parquet"))
    assert parquet_files
    found_parquet = {
        str(p.relative_to(release.folder)): hits
        for p in parquet_files
        if (hits := cpr_shaped_values(reader, f"read_parquet('{p}')"))
    }
    reader.close()
    assert found_parquet == {}

    pnrs = sample_pnrs(two_loads.extracts)
    assert len(pnrs) == 500
    needles = [p.encode() for p in pnrs] + [f"{p[:6]}-{p[6:]}".encode() for p in pnrs]
    assert files_containing(release.folder, needles) == []
    # And the plain-text files, whole: nothing CPR-shaped at all once digests (long hex) are set aside.
    for name in ("manifest.json", "quarantine.csv", "quarantine.md"):
        text = re.sub(r"[0-9a-f]{32,}", "<digest>", (release.folder / name).read_text(encoding="utf-8"))
        assert not re.search(CPR_SHAPE, text), name


@pytest.mark.slow
def test_the_pseudonym_key_is_private_and_never_ships_with_a_release(two_loads: TwoLoads) -> None:
    settings = Settings(data_dir=two_loads.data_dir)
    key = settings.pseudonym_key
    assert key.is_file()
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert stat.S_IMODE(key.parent.stat().st_mode) & 0o077 == 0
    warehouse = settings.warehouse.resolve()
    assert not key.resolve().is_relative_to(warehouse)
    secret = key.read_text(encoding="ascii").strip()
    assert len(secret) >= 32
    for release in store_of(two_loads.data_dir).releases():
        assert files_containing(release.folder, [secret.encode(), bytes.fromhex(secret)]) == []


# --- formats ---------------------------------------------------------------------------------


def to_danish_excel(source: Path, target: Path) -> None:
    """Rewrite a folder of UTF-8, comma-separated CSV extracts the way Danish Excel saves them:
    `;`-separated, Windows-1252, decimal commas, CRLF line ends, quotes only where needed."""
    target.mkdir(parents=True)
    for register in REGISTERS:
        name = f"{register.name}.csv"
        with (source / name).open(encoding="utf-8", newline="") as f:
            rows = list(csv.reader(f))
        header, body = rows[0], rows[1:]
        decimal = [register.column(c).type is ColumnType.DECIMAL for c in header]
        out = io.StringIO()
        writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
        writer.writerow(header)
        for row in body:
            writer.writerow(
                [v.replace(".", ",") if is_decimal else v for v, is_decimal in zip(row, decimal, strict=True)]
            )
        (target / name).write_bytes(out.getvalue().encode("cp1252"))


def test_the_danish_excel_converter_really_converts(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    for register in REGISTERS:
        (source / f"{register.name}.csv").write_text(",".join(register.column_names) + "\n", encoding="utf-8")
    (source / "eoj_hjemmepleje.csv").write_text(
        "pnr,kommunekode,plejedistrikt,maaned,ydelsesgruppe,visiterede_timer,leverede_timer\n"
        "0101701234,0101,0101-01,2023-01-01,praktisk_hjaelp,1.5,10\n",
        encoding="utf-8",
    )
    to_danish_excel(source, tmp_path / "dk")
    data = (tmp_path / "dk" / "eoj_hjemmepleje.csv").read_bytes()
    assert data.endswith(b"0101701234;0101;0101-01;2023-01-01;praktisk_hjaelp;1,5;10\r\n")


@pytest.mark.slow
def test_csv_extracts_load_to_the_same_content_as_parquet(tmp_path: Path) -> None:
    refdata = load_refdata()
    years = YearRange(2023, 2023)
    folders = {fmt: tmp_path / fmt.value for fmt in ExtractFormat}
    for fmt, folder in folders.items():
        generate(GenerationRequest(1000, years, 21, folder, fmt=fmt), refdata)
    danish = tmp_path / "danish"
    to_danish_excel(folders[ExtractFormat.CSV], danish)
    settings = Settings(data_dir=tmp_path / "data", threads=2, memory_limit="2GB")  # one key for all three

    results: dict[str, LoadResult] = {}
    for label, folder in (
        ("parquet", folders[ExtractFormat.PARQUET]),
        ("csv", folders[ExtractFormat.CSV]),
        ("danish", danish),
    ):
        results[label] = load_extracts(settings, folder)
    manifests: dict[str, dict[str, Any]] = {k: r.release.manifest() for k, r in results.items()}

    formats = {k: {s["format"] for s in m["source_files"]} for k, m in manifests.items()}
    assert formats["parquet"] == {"Parquet"}
    assert formats["csv"] == {"CSV, utf-8, comma-separated"}
    # Plain ASCII is the same bytes in UTF-8 and Windows-1252, so the detector may call it either.
    assert {f.rsplit(", ", 1)[1] for f in formats["danish"]} == {"semicolon-separated"}

    assert manifests["csv"]["row_accounting"] == manifests["parquet"]["row_accounting"]
    assert manifests["danish"]["row_accounting"] == manifests["parquet"]["row_accounting"]
    assert all(a["quarantined"] == 0 for a in manifests["parquet"]["row_accounting"].values())
    assert manifests["csv"]["content_hash"] == manifests["parquet"]["content_hash"]
    assert manifests["danish"]["content_hash"] == manifests["parquet"]["content_hash"]


# --- pruning and concurrent readers ----------------------------------------------------------


@pytest.mark.slow
def test_old_releases_are_pruned_beyond_keep_releases(two_loads: TwoLoads, tmp_path: Path) -> None:
    data_dir = copy_data_dir(two_loads, tmp_path / "data")
    first, second = two_loads.ids
    run = koes(data_dir, "load", str(two_loads.extracts), env={"KOES_KEEP_RELEASES": "2"})
    assert run.exit_code == 0, run.output
    third = current_of(data_dir).id
    assert [r.id for r in store_of(data_dir).releases()] == [second, third]
    assert not (data_dir / "warehouse" / "releases" / first).exists()
    assert sorted(p.name for p in (data_dir / "warehouse").iterdir() if p.name.startswith(".staging")) == []


@pytest.mark.slow
def test_a_reader_of_the_current_release_keeps_working_while_a_load_publishes(
    two_loads: TwoLoads, tmp_path: Path
) -> None:
    data_dir = copy_data_dir(two_loads, tmp_path / "data")
    settings = Settings(data_dir=data_dir, threads=2, memory_limit="2GB")
    before = current_of(data_dir)
    reader = duckdb.connect(str(before.serving_file), read_only=True)
    query = "SELECT count(*), sum(person_id), (SELECT count(*) FROM contacts) FROM persons"
    expected = reader.execute(query).fetchone()
    assert expected is not None
    assert expected[0] == before.manifest()["tables"]["persons"]["rows"]

    outcome: list[LoadResult | BaseException] = []

    def second_load() -> None:
        try:
            outcome.append(load_extracts(settings, two_loads.extracts))
        except BaseException as exc:
            outcome.append(exc)

    loader = threading.Thread(target=second_load)
    loader.start()
    reads_during_load = 0
    try:
        while loader.is_alive():
            assert reader.execute(query).fetchone() == expected
            reads_during_load += 1
            time.sleep(0.01)
    finally:
        loader.join(timeout=300)
    assert len(outcome) == 1
    result = outcome[0]
    assert isinstance(result, LoadResult), repr(result)
    assert reads_during_load > 10
    after = current_of(data_dir)
    assert after.id == result.release.id != before.id
    # Still the old release's data, still answering, after the switch.
    assert reader.execute(query).fetchone() == expected
    reader.close()
    fresh = duckdb.connect(str(after.serving_file), read_only=True)
    assert fresh.execute(query).fetchone() == expected  # same extracts, same key, same content
    fresh.close()


# --- record keys (decision 0006) -----------------------------------------------------------------
EVENT_FACTS = (
    "contacts",
    "stays",
    "hospital_cofinancing",
    "services",
    "prescriptions",
    "benefit_weeks",
    "home_care",
    "nursing_home_months",
    "discharge_ready_days",
)
# Each person-year companion recomputed from the facts: (table, column, fact, value, where, by, amount).
BY = "person_id, year, kommunekode, sex, age"
COMPANIONS = (
    ("person_year_hospital", "admissions", "stays", "1", "admission", f"{BY}, sector", False),
    ("person_year_hospital", "bed_days", "stays", "bed_days", "true", f"{BY}, sector", True),
    ("person_year_hospital", "kmf_kr", "hospital_cofinancing", "kmf_kr", "true", f"{BY}, sector", True),
    ("person_year_practice", "contacts", "services", "contacts", "true", f"{BY}, provider_group", False),
    (
        "person_year_practice_total",
        "gp_contacts",
        "services",
        "contacts",
        "provider_group = 'almen_praksis'",
        BY,
        False,
    ),
    ("person_year_medicine", "redemptions", "prescriptions", "redemptions", "true", f"{BY}, atc1", False),
    ("person_year_medicine_total", "price_kr", "prescriptions", "price_kr", "true", BY, True),
    ("person_year_care", "home_care_hours_delivered", "home_care", "hours_delivered", "true", BY, True),
    ("person_year_care", "nursing_home_days", "nursing_home_months", "days", "true", BY, True),
)


def test_every_person_carries_the_record_key_of_its_pseudonym(two_loads: TwoLoads) -> None:
    from koes.privacy.pseudonymisation import load_or_create_key
    from koes.privacy.record_keys import VERSION as RECORD_KEYS_VERSION
    from koes.privacy.record_keys import RecordKeys

    settings = Settings(data_dir=two_loads.data_dir)
    keys = RecordKeys.derive(load_or_create_key(settings.pseudonym_key))
    release = current_of(two_loads.data_dir)
    assert release.manifest()["record_keys"] == {"bits": keys.bits, "version": RECORD_KEYS_VERSION}
    con = duckdb.connect(str(release.serving_file), read_only=True)
    try:
        persons = con.execute("SELECT person_id, pseudonym FROM persons").fetchall()
        assert persons and all(pid % keys.modulus == keys.person_key(p) for pid, p in persons)
        assert len({pid // keys.modulus for pid, _ in persons}) == len(persons)  # the serials are unique
        for table in EVENT_FACTS:
            row = con.execute(f"SELECT count(*), count(rk), min(rk), max(rk) FROM {table}").fetchone()
            assert row is not None and row[0] == row[1] and row[0] > 0, table
            assert row[2] >= 0 and row[3] < keys.modulus, table
        contacts = con.execute("SELECT contact_id, rk FROM contacts LIMIT 200").fetchall()
        for contact_id, rk in contacts:  # a register key, hashed with the deployment's seed
            expected = con.execute(f"SELECT {keys.event_key_sql('lpr_kontakter', str(contact_id))}").fetchone()
            assert expected == (rk,)
    finally:
        con.close()


@pytest.mark.parametrize(("table", "column", "fact", "value", "where", "by", "amount"), COMPANIONS)
def test_person_year_companions_are_the_record_keys_of_their_events(
    two_loads: TwoLoads, table: str, column: str, fact: str, value: str, where: str, by: str, amount: bool
) -> None:
    """A cell answered from a person-year table has the cell key, persons and largest contribution of
    the same cell answered from the events: the k_, e_ and x_ columns are those of the events."""
    con = duckdb.connect(str(current_of(two_loads.data_dir).serving_file), read_only=True)
    contributes = f"({where}) AND ({value}) <> 0"
    largest = f"max(abs({value})) FILTER (WHERE {contributes})" if amount else "NULL"
    try:
        differences = con.execute(
            f"""WITH events AS (
                  SELECT {by}, coalesce(sum(rk) FILTER (WHERE {contributes}) % 65536, 0) AS k,
                         count(*) FILTER (WHERE {contributes}) AS e, {largest} AS x
                  FROM {fact} GROUP BY {by} HAVING count(*) FILTER (WHERE {contributes}) > 0),
                kept AS (
                  SELECT {by}, k_{column} AS k, e_{column} AS e,
                         {f"x_{column}" if amount else "NULL"} AS x
                  FROM {table} WHERE e_{column} > 0)
                SELECT count(*) FROM (
                  (SELECT * FROM events EXCEPT ALL SELECT * FROM kept)
                  UNION ALL (SELECT * FROM kept EXCEPT ALL SELECT * FROM events))"""
        ).fetchone()
        rows = con.execute(f"SELECT count(*) FROM {table} WHERE e_{column} > 0").fetchone()
    finally:
        con.close()
    assert rows is not None and rows[0] > 0, "nothing to compare"
    assert differences == (0,)


def test_a_reload_of_unchanged_extracts_publishes_the_same_perturbed_figures(
    two_loads: TwoLoads, tmp_path: Path
) -> None:
    """Record keys are stable across releases: the same request gives the same noisy figures after
    a reload, so comparing releases cannot average the noise away."""
    from koes.privacy.access import Organisation, Principal
    from koes.services.analysis import AnalysisService

    reader = Principal("reader", Organisation("national"), frozenset({"aggregeret"}))
    request = {
        "perspective": "somatik",
        "measures": ["indlaeggelser", "patienter", "sengedage", "medfinansiering_kr"],
        "rows": ["kommune"],
        "columns": ["koen"],
    }
    data_dir = copy_data_dir(two_loads, tmp_path / "data")
    published = []
    for release_id in two_loads.ids:
        assert koes(data_dir, "releases", "rollback", release_id).exit_code == 0
        service = AnalysisService(Settings(data_dir=data_dir, threads=1, memory_limit="1GB"))
        try:
            result = service.run(request, reader)
            assert result.provenance.release_id == release_id and result.provenance.method == "perturbation"
            published.append(result.blocks[0].values)
        finally:
            service.close()
    assert published[0] == published[1]
