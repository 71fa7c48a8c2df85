"""Saved analyses: a named analysis request per owner, optionally shared with its organisation.

The request is stored as the canonical JSON of a checked request. A name is unique per owner; the
owner's organisation is kept on the row, so an organisation's shared analyses are one index away.

Revision ID: 0004
Revises: 0003
Create Date: 2025-04-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "saved_analyses",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column(
            "organisation",
            sa.String(32),
            sa.ForeignKey("organisations.key", name=op.f("fk_saved_analyses_organisation_organisations")),
            nullable=False,
        ),
        sa.Column(
            "owner_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            sa.ForeignKey("users.id", name=op.f("fk_saved_analyses_owner_id_users")),
            nullable=False,
        ),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("request", sa.Text(), nullable=False),
        sa.Column("shared", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_analyses")),
        sa.UniqueConstraint("owner_id", "name", name=op.f("uq_saved_analyses_owner_id")),
        sa.CheckConstraint("length(name) BETWEEN 1 AND 120", name=op.f("ck_saved_analyses_name")),
    )
    op.create_index("ix_saved_analyses_organisation_shared", "saved_analyses", ["organisation", "shared"])


def downgrade() -> None:
    op.drop_index("ix_saved_analyses_organisation_shared", table_name="saved_analyses")
    op.drop_table("saved_analyses")
