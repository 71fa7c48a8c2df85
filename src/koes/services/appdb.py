"""Open the app database for a deployment: migrate to head and seed the organisations.

The web app factory and the CLI call :func:`open_app_database` once at start-up, with the
deployment's ``Settings`` (``KOES_APP_DB_URL``, default SQLite ``DATA_DIR/app.db``).
"""

from __future__ import annotations

from koes.appdb.database import AppDatabase, AppDatabaseError
from koes.appdb.seed import seed_organisations
from koes.refdata import RefData, load_refdata
from koes.settings import Settings

__all__ = ["AppDatabase", "AppDatabaseError", "open_app_database"]


def open_app_database(settings: Settings, refdata: RefData | None = None) -> AppDatabase:
    """The deployment's app database, migrated to head, organisations seeded.

    Raises:
        AppDatabaseError: if the URL is not usable or the database cannot be reached or migrated.
    """
    database = AppDatabase(settings.app_database_url)
    try:
        database.upgrade()
        seed_organisations(database, refdata or load_refdata())
    except BaseException:
        database.dispose()
        raise
    return database
