"""Session-wide fixtures: one small synthetic Denmark and one warehouse loaded from it."""

from __future__ import annotations

import dataclasses
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from koes.domain.periods import YearRange
from koes.refdata import RefData, load_refdata
from koes.services.analysis import AnalysisService
from koes.services.warehouse import LoadResult, load_extracts
from koes.settings import Settings
from koes.synthetic.context import ChunkContext
from koes.synthetic.generate import GenerationRequest, generate
from koes.synthetic.population import PnrRegistry, Population, generate_population
from support import free_port, make_context

SMALL_PERSONS = 4000
SMALL_YEARS = YearRange(2022, 2023)
SMALL_SEED = 11


@pytest.fixture(scope="session")
def small_extracts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Parquet extracts of a 4,000-person synthetic Denmark, 2022–2023. Treat as read-only."""
    out = tmp_path_factory.mktemp("small") / "extracts"
    generate(GenerationRequest(SMALL_PERSONS, SMALL_YEARS, SMALL_SEED, out), load_refdata())
    return out


@pytest.fixture(scope="session")
def small_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    data_dir = tmp_path_factory.mktemp("koes-data")
    # A fixed pseudonymisation key: record keys, and so every perturbed figure, are the same in
    # every run of the suite (a deployment creates a random key; see koes.privacy.pseudonymisation).
    key = data_dir / "secrets" / "pseudonym.key"
    key.parent.mkdir(mode=0o700)
    key.write_text(bytes(range(32)).hex() + "\n", encoding="ascii")
    key.chmod(0o600)
    return Settings(data_dir=data_dir, threads=1, memory_limit="2GB")


@pytest.fixture(scope="session")
def small_load(small_extracts: Path, small_settings: Settings) -> LoadResult:
    """The small extracts loaded into a warehouse; its current release. Treat as read-only."""
    return load_extracts(small_settings, small_extracts)


@pytest.fixture(scope="session")
def analysis(small_load: LoadResult, small_settings: Settings) -> AnalysisService:
    """The analysis service over the small release, as the configured local principal (national, aggregate)."""
    return AnalysisService(small_settings)


@pytest.fixture(scope="session")
def suppressing_analysis(small_load: LoadResult, small_settings: Settings) -> AnalysisService:
    """The same release under the configured alternative: cell suppression instead of perturbation."""
    return AnalysisService(dataclasses.replace(small_settings, disclosure_method="suppression"))


@pytest.fixture(scope="session")
def refdata() -> RefData:
    return load_refdata()


@pytest.fixture(scope="session")
def three_year_population(refdata: RefData) -> tuple[Population, ChunkContext]:
    """20,000 residents on 1 January 2022 and everyone born or arriving until 2024."""
    ctx = make_context(refdata, first=2022, last=2024)
    return generate_population(ctx, 20_000, PnrRegistry()), ctx


# --- PostgreSQL: a throwaway cluster for the app-database tests ---------------------------------

POSTGRES_MISSING = (
    "PostgreSQL server binaries (initdb, pg_ctl) are missing: `make test` installs them (apt-get install -y postgresql)"
)


def _postgres_bindir() -> Path | None:
    """The newest /usr/lib/postgresql/<version>/bin holding initdb and pg_ctl, else the ones on PATH."""
    found = [p.parent for p in Path("/usr/lib/postgresql").glob("*/bin/initdb") if (p.parent / "pg_ctl").exists()]
    versions = sorted(found, key=lambda b: int(b.parent.name) if b.parent.name.isdigit() else 0)
    if versions:
        return versions[-1]
    initdb = shutil.which("initdb")
    if initdb and (Path(initdb).resolve().parent / "pg_ctl").exists():
        return Path(initdb).resolve().parent
    return None


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A throwaway PostgreSQL cluster for the session (initdb + pg_ctl in a temporary folder); its URL.

    As root (the usual case here) the server runs as the ``postgres`` user via ``runuser``: initdb
    refuses root. Skipped when the binaries are missing, unless ``CI`` is set: then it fails.
    """
    bindir = _postgres_bindir()
    as_postgres: list[str] = []
    if bindir is not None and os.geteuid() == 0:
        if shutil.which("runuser") is None or not _user_exists("postgres"):
            bindir = None
        as_postgres = ["runuser", "-u", "postgres", "--"]
    if bindir is None:
        if os.environ.get("CI"):
            pytest.fail(POSTGRES_MISSING)
        pytest.skip(POSTGRES_MISSING)
    folder = Path(tempfile.mkdtemp(prefix="koes-pg-"))  # short: the socket path must fit in 107 bytes
    if as_postgres:
        shutil.chown(folder, "postgres")
    data, log = folder / "data", folder / "server.log"

    def run(*args: str) -> None:
        subprocess.run([*as_postgres, *args], check=True, capture_output=True, text=True, timeout=180)

    try:
        run(str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")
        port = 0
        for _attempt in range(3):  # another process may take the port between choosing and binding it
            port = free_port()
            options = f"-k {folder} -p {port} -h 127.0.0.1 -c fsync=off -c synchronous_commit=off"
            try:
                run(str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(log), "-w", "-t", "60", "start")
                break
            except subprocess.CalledProcessError:
                continue
        else:
            server_log = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            pytest.fail(f"PostgreSQL did not start in {folder}:\n{server_log}")
    except subprocess.CalledProcessError as exc:
        shutil.rmtree(folder, ignore_errors=True)
        pytest.fail(f"initdb failed: {exc.stderr}")
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*as_postgres, str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
            check=False,
            capture_output=True,
            timeout=120,
        )
        shutil.rmtree(folder, ignore_errors=True)


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def _postgres_admin(server_url: str, statement: str) -> None:
    with psycopg.connect(server_url, autocommit=True) as connection:
        connection.execute(statement.encode())


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.xdist_group("postgres"))])
def app_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty app database for one test, once on SQLite and once on PostgreSQL (a database of its own)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'app.db'}"
        return
    server = request.getfixturevalue("postgres_url")
    name = f"koes_test_{uuid.uuid4().hex[:16]}"
    _postgres_admin(server, f'CREATE DATABASE "{name}"')
    try:
        yield f"{server.rsplit('/', 1)[0]}/{name}"
    finally:
        _postgres_admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
