"""Users, grants with expiry, API tokens and recovery codes.

Passwords are argon2id hashes; TOTP secrets are sealed with AES-GCM under a key kept outside the
database; API tokens and recovery codes are stored as SHA-256 hashes. Every grant has an expiry.

Revision ID: 0002
Revises: 0001
Create Date: 2025-02-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _big_id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _time(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _user_id(table: str) -> sa.Column[int]:
    return sa.Column(
        "user_id",
        _big_id(),
        sa.ForeignKey("users.id", name=op.f(f"fk_{table}_user_id_users")),
        nullable=False,
    )


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", _big_id(), primary_key=True, autoincrement=True),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column(
            "organisation",
            sa.String(32),
            sa.ForeignKey("organisations.key", name=op.f("fk_users_organisation_organisations")),
            nullable=False,
        ),
        sa.Column("password_hash", sa.String(255), nullable=True),
        sa.Column("totp_secret", sa.String(255), nullable=True),
        sa.Column("totp_confirmed", sa.Boolean(), nullable=False),
        sa.Column("totp_last_step", sa.BigInteger(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("failed_attempts", sa.Integer(), nullable=False),
        _time("locked_until", nullable=True),
        _time("created_at"),
        _time("updated_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
        sa.CheckConstraint("failed_attempts >= 0", name=op.f("ck_users_failed_attempts")),
    )
    op.create_index("ix_users_organisation", "users", ["organisation"])
    op.create_table(
        "grants",
        sa.Column("id", _big_id(), primary_key=True, autoincrement=True),
        _user_id("grants"),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("granted_by", sa.String(64), nullable=False),
        _time("granted_at"),
        _time("expires_at"),
        _time("revoked_at", nullable=True),
        sa.Column("revoked_by", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grants")),
        sa.CheckConstraint("expires_at > granted_at", name=op.f("ck_grants_expiry")),
    )
    op.create_index("ix_grants_user_id", "grants", ["user_id"])
    op.create_index("ix_grants_expires_at", "grants", ["expires_at"])
    op.create_table(
        "api_tokens",
        sa.Column("id", _big_id(), primary_key=True, autoincrement=True),
        _user_id("api_tokens"),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        _time("created_at"),
        _time("last_used_at", nullable=True),
        _time("revoked_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    op.create_index("ix_api_tokens_user_id", "api_tokens", ["user_id"])
    op.create_index("ix_api_tokens_prefix", "api_tokens", ["prefix"])
    op.create_table(
        "recovery_codes",
        sa.Column("id", _big_id(), primary_key=True, autoincrement=True),
        _user_id("recovery_codes"),
        sa.Column("code_hash", sa.String(64), nullable=False),
        _time("created_at"),
        _time("used_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recovery_codes")),
        sa.UniqueConstraint("user_id", "code_hash", name=op.f("uq_recovery_codes_user_id")),
    )
    op.create_index("ix_recovery_codes_user_id", "recovery_codes", ["user_id"])


def downgrade() -> None:
    for table, indexes in (
        ("recovery_codes", ("ix_recovery_codes_user_id",)),
        ("api_tokens", ("ix_api_tokens_prefix", "ix_api_tokens_user_id")),
        ("grants", ("ix_grants_expires_at", "ix_grants_user_id")),
        ("users", ("ix_users_organisation",)),
    ):
        for index in indexes:
            op.drop_index(index, table_name=table)
        op.drop_table(table)
