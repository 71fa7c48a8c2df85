"""Alembic environment: run by ``koes.appdb.database.AppDatabase.upgrade`` with an open connection.

``AppDatabase.upgrade`` passes a connection already inside a writer transaction (so concurrent
starts cannot migrate twice); offline mode (``alembic upgrade --sql``) writes the SQL for a DBA.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from koes.appdb.models import Base

config = context.config


def run_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=Base.metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=Base.metadata, transactional_ddl=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    given = config.attributes.get("connection")
    if not isinstance(given, Connection):
        raise RuntimeError("run the migrations with koes.appdb.database.AppDatabase(url).upgrade()")
    run_online(given)
