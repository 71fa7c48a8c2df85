"""The load: read → validate → conform → derive → publish, under a lock, atomically.

Everything that holds CPR numbers (raw rows, the CPR-to-key map) lives only in a private
in-memory DuckDB database whose spill files go to a private temporary folder (mode 0700) that
is removed when the load ends, however it ends. Only derived tables, keyed by integer person
keys, are written into the release.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import duckdb

from koes import __version__
from koes.domain.codelists import CODE_LISTS
from koes.domain.periods import YearRange
from koes.domain.registers import REFDATA_CODE_LISTS, REGISTERS, Register
from koes.domain.rules import RuleSet
from koes.etl import publish
from koes.etl.conform import build_person_map, conform_all
from koes.etl.derive import care, chronic, cubes, discharge_ready, employment, hospital, medicine, people, practice
from koes.etl.derive import person_year as py
from koes.etl.derive.base import DeriveContext, build_reference_tables, install_macros
from koes.etl.derive.coding import create_code_types
from koes.etl.derive.cofinancing import build_rule_tables
from koes.etl.extracts import ExtractSet, discover
from koes.etl.read import create_staging, finish_staging, stage_file
from koes.etl.validate import Accounting, create_quarantine, load_code_lists, validate
from koes.privacy.pseudonymisation import load_or_create_key
from koes.privacy.record_keys import VERSION as RECORD_KEYS_VERSION
from koes.privacy.record_keys import RecordKeys
from koes.refdata import RefData
from koes.settings import EngineName, Settings
from koes.storage.releases import Release, ReleaseStore

# (stage, step, done, total): progress reports for the CLI's bars; the pipeline never prints.
ProgressCallback = Callable[[str, str, int, int], None]
STAGES = ("read", "validate", "conform", "derive", "publish", "verify")
EVENT_DATES = {
    "lpr_kontakter": "kont_starttidspunkt",
    "ssr_ydelser": "behandlingsdato",
    "lms_ekspeditioner": "eksd",
    "eoj_hjemmepleje": "maaned",
}


class LoadError(RuntimeError):
    """A load that cannot complete; ``problems`` lists every reason, each naming where."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


@dataclass(frozen=True)
class LoadRequest:
    extracts: Path
    settings: Settings
    period: YearRange | None = None  # default: the calendar years the events fall in
    engine: EngineName = EngineName.DUCKDB  # or SPARK: the same SQL on Spark (koes.engines.spark_sql)
    spark_master: str = "local[2]"  # a Spark master URL (spark://…, yarn, k8s://…) for engine "spark"


@dataclass
class LoadResult:
    release: Release
    accounting: list[Accounting]
    seconds: float
    stage_seconds: dict[str, float] = field(default_factory=dict)
    stage_rows: dict[str, int] = field(default_factory=dict)
    content_hash: str = ""


def load(
    request: LoadRequest, refdata: RefData, rules: RuleSet, progress: ProgressCallback | None = None
) -> LoadResult:
    report = progress or (lambda stage, step, done, total: None)
    store = ReleaseStore(request.settings.warehouse)
    began = time.perf_counter()
    with store.load_lock():
        store.remove_abandoned_staging()
        extracts = discover(request.extracts)
        if extracts.problems:
            raise LoadError(extracts.problems)
        release_id = _new_release_id()
        staging = store.staging(release_id)
        # Raw rows (with CPR numbers) may spill to disk: only ever inside this private folder, which
        # the next load removes as abandoned staging if this process is killed before it can.
        workdir = store.root / f".staging-{release_id}-work"
        try:
            with _working_database(request, workdir) as con:
                result = _run(con, request, extracts, refdata, rules, staging, workdir, release_id, report)
            release = store.publish(staging, release_id)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        store.prune(request.settings.keep_releases)
    result.release = release
    result.seconds = time.perf_counter() - began
    return result


def _run(
    con: duckdb.DuckDBPyConnection,
    request: LoadRequest,
    extracts: ExtractSet,
    refdata: RefData,
    rules: RuleSet,
    staging: Path,
    workdir: Path,
    release_id: str,
    report: ProgressCallback,
) -> LoadResult:
    timer = _StageTimer()
    with timer("read"):
        rows_in = _read(con, extracts, workdir, report, request.engine)
    with timer("validate"):
        accounting = _validate(con, rows_in, refdata, report)
    unbalanced = [a for a in accounting if not a.balanced]
    if unbalanced:
        raise LoadError([f"{a.register}: row accounting does not balance" for a in unbalanced])
    with timer("conform"):
        report("conform", "pseudonymise persons", 0, 1)
        key = load_or_create_key(request.settings.pseudonym_key)
        keys = RecordKeys.derive(key)
        build_person_map(con, key, keys)
        conform_all(con)
        report("conform", "pseudonymise persons", 1, 1)
    period = request.period or _period_from_data(con)
    ctx = DeriveContext(period.start, period.end, rules, refdata, keys)
    with _release_database(request, con, staging):
        # Derived tables are created straight in the release file; working tables stay TEMP.
        with timer("derive"):
            tables = _derive(con, ctx, report)
        with timer("publish"):
            publish.write_accounting(con, accounting)
            if request.engine == EngineName.DUCKDB:
                publish.copy_quarantine(con)
            tables = [*tables, "quarantine", "load_accounting"]
            manifest, counts = _publish(
                con, request, extracts, accounting, tables, staging, release_id, period, rules, keys, report
            )
    with timer("verify"):
        problems = publish.verify_release(staging, counts, accounting)
    if problems:
        raise LoadError(problems)
    stage_rows = {"read": sum(rows_in.values()), "validate": sum(rows_in.values())}
    stage_rows |= {"conform": sum(a.rows_loaded for a in accounting), "derive": sum(counts.values())}
    stage_rows["publish"] = stage_rows["verify"] = sum(counts.values())
    manifest["timings_seconds"] = timer.seconds
    (staging / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", "utf-8")
    return LoadResult(
        Release(release_id, staging), accounting, 0.0, timer.seconds, stage_rows, str(manifest["content_hash"])
    )


def _read(
    con: duckdb.DuckDBPyConnection, extracts: ExtractSet, workdir: Path, report: ProgressCallback, engine: EngineName
) -> dict[str, int]:
    stage = stage_file if engine == EngineName.DUCKDB else _spark().stage_file
    unreadable: tuple[type[Exception], ...] = (duckdb.Error, *_engine_errors(engine))
    rows_in = {}
    total = len(extracts.files)
    done = 0
    try:
        problems = []
        for register in REGISTERS:
            create_staging(con, register)
            staged = []
            for extract in extracts.for_register(register.name):
                report("read", extract.describe(), done, total)
                try:
                    staged.append(stage(con, extract, workdir))
                except unreadable as exc:
                    problems.append(f"{extract.path.name}: could not be read: {_first_line(exc)}")
                done += 1
            finish_staging(con, register, staged)
            rows_in[register.name] = sum(s.rows for s in staged)
        if problems:
            raise LoadError(problems)
        report("read", "all files", total, total)
    finally:
        for copy in workdir.glob("*.numbered.csv"):
            copy.unlink()
    return rows_in


def _validate(
    con: duckdb.DuckDBPyConnection, rows_in: dict[str, int], refdata: RefData, report: ProgressCallback
) -> list[Accounting]:
    create_quarantine(con)
    load_code_lists(
        con,
        REGISTERS,
        lambda name: refdata.code_list(name) if name in REFDATA_CODE_LISTS else CODE_LISTS[name].values,
    )
    accounting = []
    order = dependency_order(list(REGISTERS))
    for i, register in enumerate(order):
        report("validate", register.name, i, len(order))
        accounting.append(validate(con, register, rows_in[register.name]))
    report("validate", "all registers", len(order), len(order))
    by_name = {a.register: a for a in accounting}
    return [by_name[r.name] for r in REGISTERS]


def dependency_order(registers: list[Register]) -> list[Register]:
    """Registers ordered so that every register comes after those it refers to."""
    done: list[Register] = []
    pending = list(registers)
    while pending:
        ready = [r for r in pending if all(ref.register in {d.name for d in done} for ref in r.references)]
        if not ready:
            raise ValueError(f"circular references among {[r.name for r in pending]}")
        done += ready
        pending = [r for r in pending if r not in ready]
    return done


def _derive(con: duckdb.DuckDBPyConnection, ctx: DeriveContext, report: ProgressCallback) -> list[str]:
    steps: list[tuple[str, Callable[[], object]]] = [
        ("reference tables", lambda: build_reference_tables(con, ctx)),
        ("rule tables", lambda: build_rule_tables(con, ctx)),
        ("code domains", lambda: create_code_types(con)),
        ("persons", lambda: people.build_persons(con)),
        ("residence", lambda: people.build_residence(con)),
        ("population denominators", lambda: people.build_population(con, ctx)),
        ("persons at risk", lambda: people.build_residents(con, ctx)),
        ("hospital stays, admissions, co-financing", lambda: hospital.build_hospital(con, ctx)),
        ("discharge-ready days", lambda: discharge_ready.build_discharge_ready(con, ctx)),
        ("health-insurance services", lambda: practice.build_services(con, ctx)),
        ("prescriptions", lambda: medicine.build_prescriptions(con, ctx)),
        ("benefit weeks", lambda: employment.build_benefit_weeks(con, ctx)),
        ("care", lambda: care.build_care(con, ctx)),
        ("person-years", lambda: py.build_person_year_base(con, ctx)),
        ("chronic conditions", lambda: chronic.build_chronic(con)),
        ("person-year tables per register", lambda: py.build_person_year_registers(con, ctx)),
        ("person-year table", lambda: py.build_person_year(con)),
    ]
    install_macros(con)
    # Working tables need no row order and facts state theirs with ORDER BY, so the order of
    # anything else may be given up: materialising without it is about 40 % cheaper.
    con.execute("SET preserve_insertion_order = false")
    try:
        for i, (name, step) in enumerate(steps):
            report("derive", name, i, len(steps) + 1)
            step()
        report("derive", "cubes", len(steps), len(steps) + 1)
        cube_names = cubes.build_cubes(con)
    finally:
        con.execute("SET preserve_insertion_order = true")
    report("derive", "all derivations", len(steps) + 1, len(steps) + 1)
    code_tables = [f"code_{name}" for name in CODE_LISTS]
    tables = (
        [t for t in publish.RELEASE_TABLES if t not in ("quarantine", "load_accounting")] + code_tables + cube_names
    )
    publish.narrow_integers(con, tables)
    return tables


def _publish(
    con: duckdb.DuckDBPyConnection,
    request: LoadRequest,
    extracts: ExtractSet,
    accounting: list[Accounting],
    tables: list[str],
    staging: Path,
    release_id: str,
    period: YearRange,
    rules: RuleSet,
    keys: RecordKeys,
    report: ProgressCallback,
) -> tuple[dict[str, object], dict[str, int]]:
    report("publish", "parquet", 1, 4)
    if request.engine == EngineName.DUCKDB:
        parquet = publish.write_parquet(con, staging, tables)
    else:  # Spark writes the Parquet copy; the serving file is made from it
        parquet = _spark().write_parquet(con, staging, tables)
        _spark().build_serving_file(staging, parquet, publish.SERVING_FILE)
    report("publish", "quarantine report", 2, 4)
    publish.write_quarantine_report(con, staging)
    report("publish", "manifest", 3, 4)
    counts = publish.table_counts(con, tables)
    bounds = publish.rows_per_person_year(con, [t for t in py.PERSON_YEAR_TABLES if t in tables])
    manifest: dict[str, object] = {
        "id": release_id,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "code_version": __version__,
        "extract_period": {"start": period.start.isoformat(), "end": period.end.isoformat()},
        "source": str(extracts.folder),
        "source_files": [
            {
                "register": f.register.name,
                "file": f.path.name,
                "format": f.format_label,
                "bytes": f.path.stat().st_size,
                "sha256": publish.file_sha256(f.path),
            }
            for f in extracts.files
        ],
        "row_accounting": {
            a.register: {"in": a.rows_in, "loaded": a.rows_loaded, "quarantined": a.rows_quarantined}
            for a in accounting
        },
        "tables": {t: _table_entry(counts[t], parquet[t], bounds.get(t)) for t in tables},
        "rule_versions": rules.versions,
        # Readers take the cell key of a person count modulo 2**bits (koes.privacy.record_keys).
        "record_keys": {"bits": keys.bits, "version": RECORD_KEYS_VERSION},
        "content_hash": publish.content_hash(con, tables)
        if request.engine == EngineName.DUCKDB
        else publish.serving_content_hash(staging / publish.SERVING_FILE, tables),
    }
    report("publish", "verify", 4, 4)
    return manifest, counts


def _table_entry(rows: int, parquet: str, bound: int | None) -> dict[str, object]:
    entry: dict[str, object] = {"rows": rows, "parquet": parquet}
    if bound is not None:
        entry["max_rows_per_person_year"] = bound
    return entry


def _period_from_data(con: duckdb.DuckDBPyConnection) -> YearRange:
    parts = " UNION ALL ".join(
        f"SELECT min({col}) AS lo, max({col}) AS hi FROM valid_{name}" for name, col in EVENT_DATES.items()
    )
    result = con.execute(f"SELECT year(min(lo)), year(max(hi)) FROM ({parts})").fetchone()
    if not result or result[0] is None:
        raise LoadError(["the extracts hold no dated events; cannot tell the extract period (give --period)"])
    return YearRange(int(result[0]), int(result[1]))


@contextmanager
def _working_database(request: LoadRequest, workdir: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """The load's private working database: DuckDB in memory, or a private Spark session."""
    if request.engine == EngineName.DUCKDB:
        with _private_database(request.settings, workdir) as con:
            yield con
    elif request.engine == EngineName.SPARK:
        with _spark().spark_database(request.spark_master, workdir) as spark:
            yield cast(duckdb.DuckDBPyConnection, spark)  # the same surface (koes.engines.spark_sql)
    else:
        raise LoadError([f"unknown engine {request.engine!r} (duckdb or spark)"])


@contextmanager
def _release_database(request: LoadRequest, con: duckdb.DuckDBPyConnection, staging: Path) -> Iterator[None]:
    """DuckDB builds derived tables inside the release file; Spark keeps them until publish writes them."""
    if request.engine == EngineName.DUCKDB:
        with publish.release_database(con, staging):
            yield
    else:
        yield


def _spark() -> Any:
    """The Spark steps, imported only when used: pyspark is an optional extra."""
    from koes.etl import spark_steps

    return spark_steps


def _engine_errors(engine: EngineName) -> tuple[type[Exception], ...]:
    if engine != EngineName.SPARK:
        return ()
    from pyspark.errors import PySparkException

    return (PySparkException,)


@contextmanager
def _private_database(settings: Settings, workdir: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(mode=0o700, parents=True)
    con = duckdb.connect(
        ":memory:",
        config={
            "threads": settings.threads,
            "memory_limit": settings.memory_limit,
            "temp_directory": str(workdir / "spill"),
            "preserve_insertion_order": True,
        },
    )
    con.execute("SET enable_progress_bar = false")  # progress is ours to report; DuckDB's would garble it
    try:
        yield con
    finally:
        con.close()
        shutil.rmtree(workdir, ignore_errors=True)


class _StageTimer:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        began = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[stage] = round(time.perf_counter() - began, 2)


def _new_release_id() -> str:
    now = datetime.now(UTC)
    return now.strftime("%Y%m%dT%H%M%S") + f"{now.microsecond // 1000:03d}Z"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
