"""Server-side web sessions.

A session is known by the SHA-256 of its cookie token (the token itself is never stored). The
state says how far the sign-in got: ``anonymous`` (a sign-in form was shown), ``password_ok``
(the password was right, a second factor or TOTP enrolment is still due) or ``signed_in``.

Revision ID: 0003
Revises: 0002
Create Date: 2025-03-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sessions",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column(
            "user_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            sa.ForeignKey("users.id", name=op.f("fk_sessions_user_id_users")),
            nullable=True,
        ),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sessions")),
        sa.CheckConstraint("state IN ('anonymous', 'password_ok', 'signed_in')", name=op.f("ck_sessions_state")),
        sa.CheckConstraint("(state = 'anonymous') = (user_id IS NULL)", name=op.f("ck_sessions_user")),
    )
    op.create_index("ix_sessions_user_id", "sessions", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_sessions_user_id", table_name="sessions")
    op.drop_table("sessions")
