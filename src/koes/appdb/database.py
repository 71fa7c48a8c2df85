"""``AppDatabase(url)``: the engine, migrations to head, sessions and exclusive writer transactions.

SQLite (the default) runs in WAL mode with foreign keys on and a busy timeout, and the driver's
own transaction handling is switched off so that this module decides how a transaction begins:
``BEGIN`` normally, ``BEGIN IMMEDIATE`` (take the write lock now) for :meth:`AppDatabase.writer`.
On PostgreSQL a writer takes a transaction-level advisory lock instead. Either way, two writers
of the same kind (say, two audit records) run one after the other, never interleaved.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry

MIGRATIONS = "koes.appdb:migrations"
BUSY_TIMEOUT_MS = 30_000
_BEGIN_OPTION = "koes_sqlite_begin"


class ConflictError(ValueError):
    """The change contradicts what is stored (a user name taken …). The message is safe to show."""


class AppDatabaseError(RuntimeError):
    """The app database cannot be reached or used. The message never holds a password."""


class AppDatabase:
    """One app database, by SQLAlchemy URL: ``sqlite:///path/app.db`` or ``postgresql://…``."""

    def __init__(self, url: str) -> None:
        try:
            parsed = make_url(url)
        except ArgumentError:
            raise AppDatabaseError(
                "the app database URL is not a database URL (sqlite:///… or postgresql://…)"
            ) from None
        self.dialect = parsed.get_backend_name()
        if self.dialect == "sqlite":
            self.url = parsed
            self.engine = _sqlite_engine(parsed)
        elif self.dialect == "postgresql":
            # psycopg (version 3) is the driver we ship; plain postgresql:// would mean psycopg2.
            self.url = parsed.set(drivername="postgresql+psycopg") if parsed.drivername == "postgresql" else parsed
            self.engine = create_engine(self.url, pool_pre_ping=True)
        else:
            raise AppDatabaseError(f"the app database must be SQLite or PostgreSQL, not {self.dialect!r}")
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def __repr__(self) -> str:
        return f"AppDatabase({self.display_url!r})"

    @property
    def display_url(self) -> str:
        return self.url.render_as_string(hide_password=True)

    # --- schema ----------------------------------------------------------------------------
    def upgrade(self) -> None:
        """Run the Alembic migrations up to head (creating the database file if needed).

        Concurrent starts are safe: the migrations run inside a writer transaction.
        """
        config = alembic_config()
        try:
            with self.writer("migrations") as connection:
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
        except SQLAlchemyError as exc:
            raise AppDatabaseError(
                f"cannot migrate the app database {self.display_url}: {describe_error(exc)}"
            ) from exc

    def revision(self) -> str | None:
        """The migration revision the database is at (None before the first upgrade)."""
        with self.engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()

    @staticmethod
    def head_revision() -> str | None:
        return ScriptDirectory.from_config(alembic_config()).get_current_head()

    # --- transactions ----------------------------------------------------------------------
    @contextmanager
    def session(self) -> Iterator[Session]:
        """An ORM session in one transaction: committed on success, rolled back on an exception."""
        with self._sessions() as session, session.begin():
            yield session

    @contextmanager
    def writer(self, lock: str) -> Iterator[Connection]:
        """A transaction that holds the write lock named ``lock`` from its first statement.

        SQLite: ``BEGIN IMMEDIATE`` (one writer at a time for the whole file; readers go on, WAL).
        PostgreSQL: ``pg_advisory_xact_lock`` on a key derived from ``lock``, released at the end.
        """
        engine = self.engine.execution_options(**{_BEGIN_OPTION: "IMMEDIATE"}) if self.dialect == "sqlite" else None
        with (engine or self.engine).connect() as connection, connection.begin():
            if self.dialect == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock_key(lock)})
            yield connection

    def ping(self) -> None:
        """Raise unless the database answers a trivial query (readiness)."""
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    config.set_main_option("path_separator", "os")
    return config


def migrations_dir() -> Path:
    return Path(str(resources.files("koes.appdb").joinpath("migrations")))


def lock_key(name: str) -> int:
    """A stable signed 64-bit advisory-lock key for a lock name."""
    return int.from_bytes(hashlib.sha256(f"koes:{name}".encode()).digest()[:8], "big", signed=True)


def _sqlite_engine(url: URL) -> Engine:
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        raise AppDatabaseError("the SQLite app database must be a file: sqlite:///path/to/app.db")
    Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})
    event.listen(engine, "connect", _sqlite_connect)
    event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    assert isinstance(dbapi_connection, sqlite3.Connection)
    # The driver must not open transactions on its own: _sqlite_begin does, the way we choose.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    finally:
        cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    mode = connection.get_execution_options().get(_BEGIN_OPTION, "")
    connection.exec_driver_sql(f"BEGIN {mode}".strip())


def describe_error(exc: SQLAlchemyError) -> str:
    """The driver's first line, without SQL or parameters."""
    original = getattr(exc, "orig", None)
    text_ = str(original if original is not None else exc).strip().splitlines()
    return text_[0] if text_ else type(exc).__name__
