"""The app database: organisations, users and grants, credentials, sessions and API tokens, saved
analyses, kept cohorts, background jobs and the audit trail.

SQLAlchemy 2 with Alembic migrations; SQLite (WAL) by default, PostgreSQL supported. This package
is the only one that imports ``sqlalchemy`` or ``alembic``: services call its functions and get
plain values back. Of ours it may import the layers below it (it uses ``privacy`` for roles and the
audit chain's rules, ``cohorts``, ``refdata`` and ``metrics``), never ``services`` or above.
"""
