"""The app database: organisations, the audit trail (and later users, grants, saved analyses).

SQLAlchemy 2 with Alembic migrations; SQLite (WAL) by default, PostgreSQL supported. This package
is the only one that imports ``sqlalchemy`` or ``alembic``: services call its functions and get
plain values back.
"""
