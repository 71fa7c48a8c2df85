"""Broken extracts, as data holders really send them, through `koes load`.

Each test takes a clean copy of a small synthetic extract set (CSV) and of a warehouse already
loaded from it, breaks one thing, runs the CLI and checks what an operator would check:

* a problem with a whole file refuses the load, with one message naming every such file (and the
  column where there is one), exit code 2, no traceback, and the current release untouched;
* a problem with rows quarantines exactly those rows, each with file, row, column and a reason,
  and loads the rest: per register, rows in (counted here, independently) = loaded + quarantined;
* no message, reason or report ever holds a CPR number.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest

from koes.domain.periods import YearRange
from koes.domain.registers import REGISTERS
from koes.refdata import load_refdata
from koes.services.warehouse import load_extracts
from koes.settings import Settings
from koes.storage.releases import Release, ReleaseStore
from koes.synthetic.generate import GenerationRequest, generate
from koes.synthetic.writer import ExtractFormat
from support import Run, koes

CPR = re.compile(r"[0-9]{6}-?[0-9]{4}")

Rows = list[list[str]]


# --- the clean starting point ----------------------------------------------------------------


@dataclass(frozen=True)
class Base:
    csv: Path
    parquet: Path
    data_dir: Path  # a warehouse loaded from ``csv``, with its pseudonym key


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Base:
    root = tmp_path_factory.mktemp("corrupt-base")
    refdata = load_refdata()
    for fmt in ExtractFormat:
        generate(GenerationRequest(400, YearRange(2023, 2023), 5, root / fmt.value, fmt=fmt), refdata)
    data_dir = root / "data"
    load_extracts(Settings(data_dir=data_dir, threads=2, memory_limit="2GB"), root / "csv")
    return Base(root / "csv", root / "parquet", data_dir)


@dataclass(frozen=True)
class Snapshot:
    current: str
    releases: tuple[str, ...]
    digests: Mapping[str, str]  # manifest and serving file of the current release


@dataclass(frozen=True)
class World:
    extracts: Path
    data_dir: Path
    before: Snapshot

    @property
    def store(self) -> ReleaseStore:
        return ReleaseStore(self.data_dir / "warehouse")

    def snapshot(self) -> Snapshot:
        current = self.store.current()
        assert current is not None
        digests = {
            name: hashlib.sha256((current.folder / name).read_bytes()).hexdigest()
            for name in ("manifest.json", "warehouse.duckdb")
        }
        return Snapshot(current.id, tuple(r.id for r in self.store.releases()), digests)


@pytest.fixture
def world(base: Base, tmp_path: Path) -> World:
    extracts = tmp_path / "extracts"
    shutil.copytree(base.csv, extracts)
    (extracts / "generation.json").unlink()
    data_dir = tmp_path / "data"
    shutil.copytree(base.data_dir, data_dir)
    partial = World(extracts, data_dir, Snapshot("", (), {}))
    return World(extracts, data_dir, partial.snapshot())


# --- editing extracts ------------------------------------------------------------------------


def read_rows(path: Path, encoding: str = "utf-8") -> Rows:
    with path.open(encoding=encoding, newline="") as f:
        return [row for row in csv.reader(f) if row]


def write_rows(path: Path, rows: Rows) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)


def edit(path: Path, change: Callable[[Rows], None]) -> None:
    rows = read_rows(path)
    change(rows)
    write_rows(path, rows)


def set_value(rows: Rows, row: int, column: str, value: str) -> None:
    """Data row ``row`` (1-based, as the loader numbers them) gets ``value`` in ``column``."""
    rows[row][rows[0].index(column)] = value


def value(rows: Rows, row: int, column: str) -> str:
    return rows[row][rows[0].index(column)]


def replace_line(path: Path, row: int, make: Callable[[str], str]) -> None:
    """Rewrite the text of data row ``row`` (line ``row + 1``) without going through a CSV writer."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[row] = make(lines[row].rstrip("\n")) + "\n"
    path.write_text("".join(lines), encoding="utf-8")


def data_rows(path: Path) -> int:
    """Rows of data in a file, counted without the loader: what must be accounted for."""
    if path.suffix == ".parquet":
        return int(pq.ParquetFile(path).metadata.num_rows)
    raw = path.read_bytes()
    text = raw.decode("utf-8") if _is_utf8(raw) else raw.decode("cp1252")
    delimiter = ";" if text.split("\n", 1)[0].count(";") > text.split("\n", 1)[0].count(",") else ","
    return max(sum(1 for row in csv.reader(io.StringIO(text), delimiter=delimiter) if row) - 1, 0)


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


# --- running the load and judging the outcome ------------------------------------------------


def load(world: World) -> Run:
    return koes(world.data_dir, "load", str(world.extracts))


def assert_clean_exit(run: Run) -> None:
    assert "Traceback" not in run.output, run.output
    assert run.exception is None or isinstance(run.exception, SystemExit), repr(run.exception)
    assert not CPR.search(run.text), f"a CPR number in the output: {run.output}"


def assert_refused(world: World, run: Run, *fragments: str) -> None:
    assert run.exit_code == 2, run.output
    assert_clean_exit(run)
    assert "The load stopped; the current release is unchanged." in run.text
    for fragment in fragments:
        assert fragment in run.text, f"{fragment!r} not in: {run.text}"
    assert world.snapshot() == world.before
    assert [p.name for p in (world.data_dir / "warehouse").iterdir() if p.name.startswith(".staging")] == []
    current = world.store.current()
    assert current is not None
    con = duckdb.connect(str(current.serving_file), read_only=True)
    try:
        persons = con.execute("SELECT count(*) FROM persons").fetchone()
    finally:
        con.close()
    assert persons is not None
    assert persons[0] == current.manifest()["tables"]["persons"]["rows"]


@dataclass(frozen=True)
class Loaded:
    release: Release
    manifest: dict[str, Any]
    quarantine: list[tuple[str, str, int, str, str]]  # register, file, row, column, reason

    def entries(self, register: str) -> list[tuple[str, int, str, str]]:
        return [(f, r, c, why) for reg, f, r, c, why in self.quarantine if reg == register]

    def rows(self, register: str) -> set[int]:
        return {r for _, r, _, _ in self.entries(register)}

    def accounting(self, register: str) -> dict[str, int]:
        result: dict[str, int] = self.manifest["row_accounting"][register]
        return result


def assert_loaded(world: World, run: Run) -> Loaded:
    assert run.exit_code == 0, run.output
    assert_clean_exit(run)
    release = world.store.current()
    assert release is not None
    assert release.id != world.before.current
    assert f"Release {release.id} is current" in run.text
    manifest = release.manifest()
    con = duckdb.connect(str(release.serving_file), read_only=True)
    try:
        quarantine = [
            (str(reg), str(f), int(r), str(c), str(why))
            for reg, f, r, c, why in con.execute(
                "SELECT register, file, row, column_name, reason FROM quarantine ORDER BY ALL"
            ).fetchall()
        ]
    finally:
        con.close()
    loaded = Loaded(release, manifest, quarantine)
    for register in REGISTERS:
        files = sorted(world.extracts.glob(f"{register.name}.*"))
        a = loaded.accounting(register.name)
        assert a["in"] == sum(data_rows(f) for f in files), f"{register.name}: rows in {a} vs the files"
        assert a["in"] == a["loaded"] + a["quarantined"], register.name
        assert a["quarantined"] == len(loaded.rows(register.name)), register.name
    for entry in quarantine:
        assert not CPR.search(entry[4]), f"a CPR number in a quarantine reason: {entry}"
    # A reason that says a row is kept must be true.
    quarantined = {(reg, f, r) for reg, f, r, _, _ in quarantine}
    for reg, _, _, _, why in quarantine:
        if kept := re.search(r"the first of these rows is (\S+) row ([0-9]+), which is kept", why):
            assert (reg, kept[1], int(kept[2])) not in quarantined, f"{why}, but that row is quarantined too"
    for name in ("quarantine.csv", "quarantine.md"):
        assert not CPR.search((release.folder / name).read_text(encoding="utf-8")), name
    return loaded


# --- whole files: the load is refused --------------------------------------------------------


def test_a_truncated_parquet_file_is_refused(world: World, base: Base) -> None:
    (world.extracts / "lpr_kontakter.csv").unlink()
    data = (base.parquet / "lpr_kontakter.parquet").read_bytes()
    (world.extracts / "lpr_kontakter.parquet").write_bytes(data[: len(data) // 2])
    assert_refused(world, load(world), "lpr_kontakter.parquet:", "not a readable Parquet file")


def test_a_missing_column_is_refused_naming_file_and_column(world: World) -> None:
    rows = read_rows(world.extracts / "ssr_ydelser.csv")
    drop = rows[0].index("honuge")
    write_rows(world.extracts / "ssr_ydelser.csv", [r[:drop] + r[drop + 1 :] for r in rows])
    assert_refused(world, load(world), "ssr_ydelser.csv:", "missing column(s) honuge")


def test_an_extra_column_is_refused_naming_file_and_column(world: World) -> None:
    path = world.extracts / "lms_ekspeditioner.csv"
    write_rows(path, [[*r, "kommentar" if i == 0 else "x"] for i, r in enumerate(read_rows(path))])
    assert_refused(world, load(world), "lms_ekspeditioner.csv:", "unexpected column(s) kommentar")


def test_an_empty_file_is_refused(world: World) -> None:
    (world.extracts / "eoj_plejebolig.csv").write_bytes(b"")
    assert_refused(world, load(world), "eoj_plejebolig.csv:", "empty (0 bytes)")


def test_the_file_of_another_register_is_recognised_and_refused(world: World) -> None:
    shutil.copy(world.extracts / "ssr_ydelser.csv", world.extracts / "lpr_kontakter.csv")
    assert_refused(world, load(world), "lpr_kontakter.csv: has the columns of register ssr_ydelser")


def test_every_file_problem_is_reported_in_one_refusal(world: World) -> None:
    (world.extracts / "eoj_plejebolig.csv").write_bytes(b"")
    rows = read_rows(world.extracts / "ssr_ydelser.csv")
    write_rows(world.extracts / "ssr_ydelser.csv", [r[:-1] for r in rows])  # drops sikgrup
    (world.extracts / "lpr_diagnoser.csv").unlink()
    run = load(world)
    assert_refused(
        world,
        run,
        "3 problem(s)",
        "eoj_plejebolig.csv: the file is empty",
        "ssr_ydelser.csv: missing column(s) sikgrup",
        "no extract for register lpr_diagnoser",
    )


def test_a_file_that_is_neither_utf8_nor_windows_1252_is_refused_with_its_line(world: World) -> None:
    # Used to end in a UnicodeDecodeError traceback half-way through reading.
    path = world.extracts / "eoj_hjemmepleje.csv"
    lines = path.read_bytes().split(b"\n")
    lines[3] = (
        lines[3]
        .replace(b"praktisk_hjaelp", b"praktisk_hj\xe6lp\x81")
        .replace(b"personlig_pleje", b"personlig_pleje\x81")
    )
    path.write_bytes(b"\n".join(lines))
    assert_refused(world, load(world), "eoj_hjemmepleje.csv: line 4", "neither UTF-8 nor Windows-1252")


def test_a_file_without_header_line_is_refused_without_echoing_its_cpr_numbers(world: World) -> None:
    path = world.extracts / "cpr_personer.csv"
    write_rows(path, read_rows(path)[1:])
    assert_refused(world, load(world), "cpr_personer.csv:", "missing column(s) pnr")


# --- encodings -------------------------------------------------------------------------------


@pytest.mark.slow
def test_windows_1252_with_danish_letters_loads_like_the_same_text_in_utf8(world: World, tmp_path: Path) -> None:
    """No column of the registers may hold free text, so æøå can only be an unknown code; what
    matters is that it reaches the quarantine intact and that the encoding changes nothing else."""
    path = world.extracts / "eoj_hjemmepleje.csv"
    edit(path, lambda rows: set_value(rows, 2, "ydelsesgruppe", "praktisk_hjælp_øå"))
    # Twin world: the very same rows and the same key, in UTF-8.
    twin = World(tmp_path / "twin-extracts", tmp_path / "twin-data", world.before)
    shutil.copytree(world.extracts, twin.extracts)
    shutil.copytree(world.data_dir, twin.data_dir)

    rows = read_rows(path)
    out = io.StringIO()
    csv.writer(out, delimiter=";", lineterminator="\r\n").writerows(
        [[v.replace(".", ",") if re.fullmatch(r"-?[0-9]+\.[0-9]+", v) else v for v in r] for r in rows]
    )
    path.write_bytes(out.getvalue().encode("cp1252"))
    assert b"hj\xe6lp_\xf8\xe5" in path.read_bytes()

    loaded = assert_loaded(world, load(world))
    formats = {s["file"]: s["format"] for s in loaded.manifest["source_files"]}
    assert formats["eoj_hjemmepleje.csv"] == "CSV, windows-1252, semicolon-separated"
    assert loaded.entries("eoj_hjemmepleje") == [
        (
            "eoj_hjemmepleje.csv",
            2,
            "ydelsesgruppe",
            "unknown code 'praktisk_hjælp_øå' (not in code list pleje_ydelsesgruppe)",
        )
    ]
    reference = assert_loaded(twin, load(twin))
    assert reference.entries("eoj_hjemmepleje") == loaded.entries("eoj_hjemmepleje")
    assert loaded.manifest["content_hash"] == reference.manifest["content_hash"]


# --- rows: quarantined, the rest loaded ------------------------------------------------------


@pytest.mark.slow
def test_a_duplicate_key_quarantines_the_later_row_and_keeps_the_first(world: World) -> None:
    path = world.extracts / "lpr_kontakter.csv"
    rows = read_rows(path)
    rows.append(list(rows[5]))
    write_rows(path, rows)
    last = len(rows) - 1
    loaded = assert_loaded(world, load(world))
    entries = loaded.entries("lpr_kontakter")
    assert entries == [
        (
            "lpr_kontakter.csv",
            last,
            "dw_ek_kontakt",
            "duplicate key (dw_ek_kontakt); the first of these rows is lpr_kontakter.csv row 5, which is kept",
        )
    ]
    assert loaded.accounting("lpr_kontakter")["loaded"] == last - 1
    # Nothing else suffers: the contact kept has its diagnoses.
    assert loaded.rows("lpr_diagnoser") == set()


@pytest.mark.slow
def test_of_two_copies_of_a_key_the_valid_one_is_kept_when_the_first_is_refused(world: World) -> None:
    path = world.extracts / "lpr_kontakter.csv"
    rows = read_rows(path)
    rows.append(list(rows[5]))
    persons = {r[0] for r in read_rows(world.extracts / "cpr_personer.csv")[1:]}
    stranger = next(f"0101{n:06d}" for n in range(10**6) if f"0101{n:06d}" not in persons)
    set_value(rows, 5, "pnr", stranger)  # the first copy now names a person who is not in the extract
    write_rows(path, rows)
    loaded = assert_loaded(world, load(world))
    assert loaded.entries("lpr_kontakter") == [
        ("lpr_kontakter.csv", 5, "pnr", "refers to a person that is not in the extract or was quarantined")
    ]
    assert loaded.accounting("lpr_kontakter")["loaded"] == len(rows) - 2
    assert loaded.rows("lpr_diagnoser") == set()  # the contact is there, so are its diagnoses


@pytest.mark.slow
def test_dates_out_of_range_are_quarantined_with_column_and_value(world: World) -> None:
    edit(world.extracts / "lms_ekspeditioner.csv", lambda rows: set_value(rows, 3, "eksd", "1066-01-01"))
    edit(world.extracts / "ssr_ydelser.csv", lambda rows: set_value(rows, 7, "behandlingsdato", "9999-12-31"))
    edit(world.extracts / "cpr_adresser.csv", lambda rows: set_value(rows, 1, "fra_dato", "1066-01-01"))
    loaded = assert_loaded(world, load(world))
    assert loaded.entries("lms_ekspeditioner") == [
        ("lms_ekspeditioner.csv", 3, "eksd", "date '1066-01-01' is out of range (1850–2100)")
    ]
    assert loaded.entries("ssr_ydelser") == [
        ("ssr_ydelser.csv", 7, "behandlingsdato", "date '9999-12-31' is out of range (1850–2100)")
    ]
    assert ("cpr_adresser.csv", 1, "fra_dato", "date '1066-01-01' is out of range (1850–2100)") in loaded.entries(
        "cpr_adresser"
    )


@pytest.mark.slow
def test_unknown_codes_are_quarantined_and_so_are_rows_that_depend_on_them(world: World) -> None:
    edit(world.extracts / "cpr_adresser.csv", lambda rows: set_value(rows, 4, "kommunekode", "0999"))
    contacts = read_rows(world.extracts / "lpr_kontakter.csv")
    set_value(contacts, 1, "prioritet", "ATA9")
    set_value(contacts, 2, "adiag", "DQQ99")
    write_rows(world.extracts / "lpr_kontakter.csv", contacts)
    edit(world.extracts / "lpr_diagnoser.csv", lambda rows: set_value(rows, 9, "diag_kode", "DZZ999"))
    loaded = assert_loaded(world, load(world))

    assert loaded.entries("cpr_adresser") == [
        ("cpr_adresser.csv", 4, "kommunekode", "unknown code '0999' (not in reference data kommunekode)")
    ]
    contact_entries = loaded.entries("lpr_kontakter")
    assert ("lpr_kontakter.csv", 1, "prioritet", "unknown code 'ATA9' (not in code list prioritet)") in contact_entries
    assert (
        "lpr_kontakter.csv",
        2,
        "adiag",
        "unknown code 'DQQ99' (not in reference data sks_diagnose)",
    ) in contact_entries
    assert loaded.rows("lpr_kontakter") == {1, 2}
    assert any(r == 9 and c == "diag_kode" and "'DZZ999'" in why for _, r, c, why in loaded.entries("lpr_diagnoser"))

    # The diagnoses of the two refused contacts are quarantined too, saying why.
    refused = {value(contacts, 1, "dw_ek_kontakt"), value(contacts, 2, "dw_ek_kontakt")}
    diagnoses = read_rows(world.extracts / "lpr_diagnoser.csv")
    orphans = {i for i in range(1, len(diagnoses)) if value(diagnoses, i, "dw_ek_kontakt") in refused}
    assert orphans
    for _, row, column, reason in loaded.entries("lpr_diagnoser"):
        if row in orphans:
            assert column == "dw_ek_kontakt"
            assert reason == "refers to a lpr_kontakter row that is not in the extract or was quarantined"
    assert loaded.rows("lpr_diagnoser") == orphans | {9}


@pytest.mark.slow
def test_malformed_cpr_numbers_are_quarantined_without_being_repeated(world: World) -> None:
    purchases = read_rows(world.extracts / "lms_ekspeditioner.csv")
    set_value(purchases, 1, "pnr", "12345")
    set_value(purchases, 2, "pnr", "12ab56-7890")
    set_value(purchases, 3, "pnr", "3201991234")  # 32 January: no such birth date
    write_rows(world.extracts / "lms_ekspeditioner.csv", purchases)
    persons = read_rows(world.extracts / "cpr_personer.csv")
    dropped = value(persons, 6, "pnr")
    set_value(persons, 6, "pnr", "3213" + dropped[4:])  # month 13
    write_rows(world.extracts / "cpr_personer.csv", persons)
    run = load(world)
    loaded = assert_loaded(world, run)

    form = "not a CPR number of the form DDMMYY-SSSS or DDMMYYSSSS"
    date = "CPR number with an impossible birth date (day, month or century digit)"
    assert loaded.entries("lms_ekspeditioner")[:3] == [
        ("lms_ekspeditioner.csv", 1, "pnr", form),
        ("lms_ekspeditioner.csv", 2, "pnr", form),
        ("lms_ekspeditioner.csv", 3, "pnr", date),
    ]
    assert loaded.entries("cpr_personer") == [("cpr_personer.csv", 6, "pnr", date)]
    # Every other row of that person refers to someone who is no longer there.
    cascaded = 0
    for register in REGISTERS:
        if "pnr" not in register.column_names or register.name == "cpr_personer":
            continue
        rows = read_rows(world.extracts / f"{register.name}.csv")
        theirs = {i for i in range(1, len(rows)) if value(rows, i, "pnr") == dropped}
        entries = {r: (c, why) for _, r, c, why in loaded.entries(register.name)}
        for row in theirs:
            assert entries[row] == ("pnr", "refers to a person that is not in the extract or was quarantined")
        cascaded += len(theirs)
    assert cascaded, "the person made invalid has no other rows; pick another"
    report = (loaded.release.folder / "quarantine.csv").read_text(encoding="utf-8")
    for shown in ("12345", "12ab56", "3201991234", dropped[4:]):
        assert shown not in report
        assert shown not in run.output


@pytest.mark.slow
def test_a_header_only_csv_loads_with_zero_rows(world: World) -> None:
    path = world.extracts / "eoj_plejebolig.csv"
    path.write_text(path.read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8")
    loaded = assert_loaded(world, load(world))
    assert loaded.accounting("eoj_plejebolig") == {"in": 0, "loaded": 0, "quarantined": 0}
    assert loaded.manifest["tables"]["nursing_home_months"]["rows"] == 0


@pytest.mark.slow
def test_csv_rows_with_the_wrong_number_of_fields_or_broken_quotes_are_quarantined(world: World) -> None:
    path = world.extracts / "lpr_procedurer.csv"
    replace_line(path, 1, lambda line: line + ',"extra"')  # too many fields
    replace_line(path, 2, lambda line: line.rsplit(",", 2)[0])  # two fields short
    replace_line(path, 3, lambda line: line.replace('"P"', '"P"x"', 1).replace('"+"', '"+"x"', 1))  # stray quote
    # A plain bad value after the broken lines: its row number must still be right.
    edit_row = 6
    replace_line(path, edit_row, lambda line: line.replace(',"P",', ',"Q",').replace(',"+",', ',"Q",'))
    # A line break inside a quoted value is legal CSV: one row over two lines, counted once.
    replace_line(path, 4, lambda line: re.sub(r',"([A-Z]+)([0-9]+)",', r',"\1\n\2",', line, count=1))
    broken = value(read_rows(path), 4, "procedurekode")
    assert "\n" in broken
    form = REGISTERS["lpr_procedurer"].column("procedurekode").pattern
    loaded = assert_loaded(world, load(world))
    entries = loaded.entries("lpr_procedurer")
    assert entries[:3] == [
        ("lpr_procedurer.csv", 1, "", "the row has the wrong number of fields (expected 4)"),
        ("lpr_procedurer.csv", 2, "", "the row has the wrong number of fields (expected 4)"),
        ("lpr_procedurer.csv", 3, "", "the row is not well-formed CSV (unquoted value)"),
    ]
    assert entries[3:] == [
        ("lpr_procedurer.csv", 4, "procedurekode", f"does not have the expected form {form}: '{broken}'"),
        ("lpr_procedurer.csv", edit_row, "proceduretype", "unknown code 'Q' (not in code list proceduretype)"),
    ]
    assert loaded.accounting("lpr_procedurer")["quarantined"] == 5


@pytest.mark.slow
def test_a_diagnosis_of_an_unknown_contact_is_quarantined(world: World) -> None:
    path = world.extracts / "lpr_diagnoser.csv"
    rows = read_rows(path)
    rows.append(["987654321", "DJ459", "A", "Nej"])
    write_rows(path, rows)
    loaded = assert_loaded(world, load(world))
    assert loaded.entries("lpr_diagnoser") == [
        (
            "lpr_diagnoser.csv",
            len(rows) - 1,
            "dw_ek_kontakt",
            "refers to a lpr_kontakter row that is not in the extract or was quarantined",
        )
    ]
