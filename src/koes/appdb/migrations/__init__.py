"""Alembic migrations of the app database (run by ``AppDatabase.upgrade``)."""
