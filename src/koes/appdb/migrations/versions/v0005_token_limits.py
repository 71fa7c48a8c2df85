"""API tokens get an expiry, scopes and the second factor they were made with; sessions note theirs.

``api_tokens``: ``expires_at`` (every token ends; default 30 days, at most 90), ``scopes`` (what the
token may be used for, chosen when it is made: roles.yaml ``token_scopes``, space-separated) and
``second_factor`` (made in a web session that passed TOTP, or by an administrator: only then does
the token carry the roles that need TOTP). ``sessions``: ``second_factor`` (the sign-in passed TOTP,
a recovery code or a broker's multi-factor authentication).

Tokens made before this revision never passed a second factor: they keep every scope, expire 30
days after the upgrade and stop carrying the roles that need TOTP at once (issue 17.6). Sessions
signed in before it were signed in by the rules of before, which asked for the second factor of
every role that needed one: they keep their roles.

Revision ID: 0005
Revises: 0004
Create Date: 2025-05-01
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_TOKENS_LAST_DAYS = 30
ALL_SCOPES = "analyses exports cohorts administration"  # roles.yaml token_scopes as of this revision


def upgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("scopes", sa.String(200), nullable=False, server_default=ALL_SCOPES))
        batch.add_column(sa.Column("second_factor", sa.Boolean(), nullable=False, server_default=sa.false()))
    tokens = sa.table("api_tokens", sa.column("expires_at", sa.DateTime(timezone=True)))
    until = datetime.now(UTC) + timedelta(days=OLD_TOKENS_LAST_DAYS)
    # SQLite keeps the UTC wall time (as koes.appdb.models.UTCDateTime does); PostgreSQL the instant.
    stored = until if op.get_bind().dialect.name == "postgresql" else until.replace(tzinfo=None)
    op.execute(tokens.update().values(expires_at=stored))
    with op.batch_alter_table("api_tokens") as batch:
        batch.alter_column("expires_at", existing_type=sa.DateTime(timezone=True), nullable=False)
        batch.alter_column("scopes", existing_type=sa.String(200), server_default=None)
        batch.alter_column("second_factor", existing_type=sa.Boolean(), server_default=None)
        batch.create_index("ix_api_tokens_expires_at", ["expires_at"])

    with op.batch_alter_table("sessions") as batch:
        batch.add_column(sa.Column("second_factor", sa.Boolean(), nullable=False, server_default=sa.false()))
    sessions = sa.table("sessions", sa.column("state", sa.String(16)), sa.column("second_factor", sa.Boolean()))
    op.execute(sessions.update().where(sessions.c.state == "signed_in").values(second_factor=True))
    # The default stays: a session some other writer makes without saying has passed no second factor.


def downgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        batch.drop_column("second_factor")
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_index("ix_api_tokens_expires_at")
        batch.drop_column("second_factor")
        batch.drop_column("scopes")
        batch.drop_column("expires_at")
