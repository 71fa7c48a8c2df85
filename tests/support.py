"""Helpers shared by tests (importable as ``support``; pytest puts tests/ on the path)."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import httpx
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from argon2 import PasswordHasher
from typer.testing import CliRunner

from koes.cli import common as cli_common
from koes.cli import main as cli
from koes.domain.cells import TOTAL
from koes.domain.codelists import CODE_LISTS
from koes.domain.registers import REFDATA_CODE_LISTS, REGISTERS, Column, Register
from koes.engines.base import Row
from koes.privacy.access import Principal
from koes.privacy.credentials import Passwords
from koes.privacy.ptable import shipped_ptable
from koes.query.assemble import Block, assemble
from koes.query.request import parse_request
from koes.query.scope import ScopedQuery
from koes.query.sql import to_sql
from koes.refdata import RefData, load_refdata
from koes.semantic.members import sort_key
from koes.services.analysis import AnalysisService
from koes.services.appdb import open_app_database
from koes.services.audit import AuditTrail
from koes.services.results import AnalysisResult
from koes.services.tokens import TokenService
from koes.services.users import OPERATOR, UserService
from koes.settings import Settings
from koes.synthetic.context import ChunkContext, IdAllocator
from koes.synthetic.writer import arrow_schema

Key = tuple[Any, ...]


def make_context(refdata: RefData, seed: int = 7, first: int = 2022, last: int = 2022) -> ChunkContext:
    return ChunkContext(
        seed=seed,
        chunk=0,
        start=date(first, 1, 1),
        end=date(last, 12, 31),
        refdata=refdata,
        ids=IdAllocator(),
    )


def schema_problems(folder: Path, fmt: str) -> list[str]:
    """Every way the extract files in ``folder`` break their declared register schemas.

    Independent of the generator: files are read back with pyarrow and checked column by column.
    """
    tables = {r.name: _read_extract(folder / f"{r.name}.{fmt}", r, fmt) for r in REGISTERS}
    refdata = load_refdata()
    problems: list[str] = []
    for register in REGISTERS:
        table = tables[register.name]
        if table.schema != arrow_schema(register):
            problems.append(f"{register.name}: schema {table.schema} differs from the declaration")
            continue
        for column in register.columns:
            problems += [f"{register.name}.{column.name}: {p}" for p in column_problems(table, column, refdata)]
        if register.key:
            keys = table.group_by(list(register.key)).aggregate([([], "count_all")])
            if keys.num_rows != table.num_rows:
                problems.append(f"{register.name}: {table.num_rows - keys.num_rows} duplicate keys")
        for ref in register.references:
            target = tables[ref.register].column(ref.ref_columns[0])
            missing = pc.sum(pc.invert(pc.is_in(table.column(ref.columns[0]), target))).as_py() or 0
            if missing:
                problems.append(f"{register.name}: {missing} rows point at no {ref.register} row")
    return problems


def _read_extract(path: Path, register: Register, fmt: str) -> pa.Table:
    if fmt == "parquet":
        table = pq.read_table(path)
        # Parquet has no second-precision timestamps: pyarrow stores them as milliseconds.
        declared = arrow_schema(register)
        coerced = [
            declared.field(i) if pa.types.is_timestamp(f.type) and declared.field(i).type == pa.timestamp("s") else f
            for i, f in enumerate(table.schema)
        ]
        return table.cast(pa.schema(coerced)) if len(coerced) == len(declared) else table
    schema = arrow_schema(register)
    options = pacsv.ConvertOptions(column_types=schema, strings_can_be_null=True)
    return pacsv.read_csv(path, convert_options=options).cast(schema)


def column_problems(table: pa.Table, column: Column, refdata: RefData) -> list[str]:
    values = table.column(column.name)
    found = []
    if column.required and values.null_count:
        found.append(f"{values.null_count} empty values in a required column")
    present = pc.drop_null(values)
    if column.pattern:
        bad = pc.sum(pc.invert(pc.match_substring_regex(present, f"^(?:{column.pattern})$"))).as_py() or 0
        if bad:
            found.append(f"{bad} values do not match {column.pattern}")
    if column.codes:
        allowed = (
            refdata.code_list(column.codes) if column.codes in REFDATA_CODE_LISTS else CODE_LISTS[column.codes].values
        )
        checked = pc.utf8_slice_codeunits(present, 0, column.code_prefix) if column.code_prefix else present
        bad = pc.sum(pc.invert(pc.is_in(checked, pa.array(sorted(allowed))))).as_py() or 0
        if bad:
            found.append(f"{bad} values not in code list {column.codes}")
    if column.min_value is not None and len(present):
        low, high = pc.min_max(present).values()
        if low.as_py() < column.min_value or high.as_py() > (column.max_value or float("inf")):
            found.append(f"values outside [{column.min_value}, {column.max_value}]")
    return found


# Settings from the developer's environment must not leak into CLI tests.
CLEAN_ENV: dict[str, str | None] = {
    "KOES_DATA_DIR": None,
    "KOES_WAREHOUSE_DIR": None,
    "KOES_PSEUDONYM_KEY_FILE": None,
    "KOES_KEEP_RELEASES": None,
    "KOES_ENGINE": None,
    "KOES_LOCAL_ORG": None,
    "KOES_LOCAL_ROLE": None,
    "KOES_LOCAL_USER": None,
    "KOES_SUPPRESSION_THRESHOLD": None,
    "KOES_SUPPRESSION_ROUNDING": None,
    "KOES_CACHE_ENTRIES": None,
    "KOES_APP_DB_URL": None,
    "KOES_API_AUTH": None,
    "KOES_SECRET_KEY_FILE": None,
}


def unique_name() -> str:
    """12 random letters: unique, and never a CPR-shaped run of digits (user names are audited)."""
    return uuid.uuid4().hex[:12].translate(str.maketrans("0123456789", "ghijklmnop"))


def fast_passwords() -> Passwords:
    """argon2id with tiny costs: the same algorithm and format, fast enough for many test users."""
    return Passwords(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


def api_token(settings: Settings, roles: Iterable[str] = ("aggregeret",), organisation: str = "national") -> str:
    """An API token of a new user (a unique name) of ``organisation`` with ``roles``, in the settings' app database."""
    database = open_app_database(settings)
    try:
        trail = AuditTrail(database)
        users = UserService(trail, fast_passwords())
        user = users.create_user(OPERATOR, f"test-{unique_name()}", organisation=organisation)
        for role in roles:
            users.grant(OPERATOR, user.id, role)
        return TokenService(trail, users).create_for(OPERATOR, user.id, "test").secret
    finally:
        database.dispose()


# English a Danish page has been seen to show (issue 18, defect 2), in text or in a control's title:
# the browser tour checks every Danish page for them, and unit tests check the labels they come from.
LEAKS_DA = (
    "Certain infectious",
    "Intestinal infectious",  # ICD-10 block A00-A09, the first diagnosis block listed
    "Ischaemic heart",  # ICD-10 block I20-I25 (a category says "ischaemic heart", lower case)
    "Download plot",
    "Zoom in",
    "Autoscale",
    "unknown dimension",
    "signin.ok",
    "Admissions per",
    "Show all",
    "False",
    "True",
)


def english_leaks(text: str) -> list[str]:
    """The known leaks (``LEAKS_DA``) that ``text`` shows as whole words."""
    return [leak for leak in LEAKS_DA if re.search(rf"\b{re.escape(leak)}\b", text)]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


TOTAL_KEY = ("total",)


def result_cells(result: AnalysisResult, measure: str, block: int = 0) -> dict[tuple[Key, Key], Any]:
    """One measure of one block as {(row key, column key): published value}; totals keyed ("total",).

    Hidden cells come out as their status (``"primary"``, ``"secondary"``, ``"derived"``)."""
    protected = result.blocks[block]
    b = protected
    out: dict[tuple[Key, Key], Any] = {}
    for r, c in b.cells():
        row = TOTAL_KEY if r == TOTAL else b.row_keys[r]
        col = TOTAL_KEY if c == TOTAL else b.col_keys[c]
        status = protected.status(measure, (r, c))
        out[(row, col)] = status if status is not None else protected.values[measure][(r, c)]
    return out


@dataclass(frozen=True)
class Run:
    """The outcome of one in-process ``koes`` command."""

    exit_code: int
    output: str
    exception: BaseException | None

    @property
    def text(self) -> str:
        """The output with Rich's line wrapping undone."""
        return " ".join(self.output.split())


@contextmanager
def wide_console(width: int = 200) -> Iterator[None]:
    """The CLI's one error console (shared by every command module) as wide as ``width`` columns, then as before."""
    with mock.patch.object(cli_common.console, "_width", width):  # what Console(width=...) sets
        yield


def koes(data_dir: Path, *args: str, env: Mapping[str, str | None] | None = None, width: int = 200) -> Run:
    """Run the CLI in-process, its console as wide as a terminal of ``width`` columns."""
    with wide_console(width):
        result = CliRunner().invoke(cli.app, ["--data-dir", str(data_dir), *args], env={**CLEAN_ENV, **(env or {})})
    return Run(result.exit_code, result.output, result.exception)


class SettableClock:
    """A clock a test sets and moves on (sessions, lockouts, expiry), given to the services as ``clock``."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def assembled(service: AnalysisService, raw: object, principal: Principal) -> tuple[Block, ...]:
    """The exact aggregates behind an answer (bases, key sums), before disclosure control.

    Tests only: the services never hand these out; this reaches into the service's path."""
    opened = service._open()
    request = parse_request(raw, service.catalog)
    scoped = service._scoped(request, principal, service.scope_of(principal))

    def run(query: ScopedQuery) -> list[Row]:
        return opened.engine.execute(to_sql(query, opened.engine.dialect, pretty=False))

    rows = [opened.counting.run(q, run) for q in scoped.queries]
    return assemble(scoped.plan, rows, tuple(service._weights), sort_key, scoped.kommuner_by_area())


def largest_noise() -> int:
    """D: how far the shipped perturbation table may move a count (the bound tests hold it to)."""
    params = shipped_ptable().params
    assert params is not None
    return params.max_noise


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def koes_serving(
    data_dir: Path, env: Mapping[str, str], *options: str, ready: str = "/api/v1/health", timeout: float = 60
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``koes serve`` as its own process on a free port, with ``KOES_*`` from ``env`` only (none of the
    caller's), until ``ready`` answers 200; its base URL and process. Stopped (killed if need be) after."""
    port = free_port()
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("KOES_", "PROMETHEUS_", "FORWARDED_"))}
    command = [sys.executable, "-c", "from koes.cli.main import main; main()", "--data-dir", str(data_dir)]
    command += ["serve", "--port", str(port), "--no-prewarm", *options]
    process = subprocess.Popen(command, env=clean | dict(env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            assert process.poll() is None, process.stdout.read().decode() if process.stdout else ""
            try:
                if httpx.get(f"{base}{ready}").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the server did not come up"
            time.sleep(0.2)
        yield base, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout:
            process.stdout.close()
