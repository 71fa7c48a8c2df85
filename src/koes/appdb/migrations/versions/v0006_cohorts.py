"""Kept cohorts (the Advanced route): cohorts, their members, shares, and traces of deleted ones.

``cohorts``: one uploaded CPR population, kept by its owner for its organisation until
``expires_at``. The id is random (unguessable, never a counter). ``report`` is the validation
report as JSON (line numbers, reasons and masked shapes, never a CPR number).
``cohort_members``: pseudonyms (the warehouse key's HMAC), birth date and sex (from the CPR number,
as in the release), index date, group and the user's own reference; never a CPR number, never the
file. ``cohort_shares``: colleagues of the same organisation a cohort is shared with.
``cohort_traces``: what the differencing guard keeps of a deleted or expired cohort for a while
(its size, a keyed Bloom filter of its pseudonyms and a keyed digest of the set; no pseudonym).

Revision ID: 0006
Revises: 0005
Create Date: 2025-06-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "cohorts",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column(
            "organisation",
            sa.String(32),
            sa.ForeignKey("organisations.key", name=op.f("fk_cohorts_organisation_organisations")),
            nullable=False,
        ),
        sa.Column(
            "owner_id", BIG_ID, sa.ForeignKey("users.id", name=op.f("fk_cohorts_owner_id_users")), nullable=False
        ),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("release_id", sa.String(64), nullable=False),
        sa.Column("report", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cohorts")),
        sa.CheckConstraint("expires_at > created_at", name=op.f("ck_cohorts_expiry")),
        sa.CheckConstraint("size >= 0", name=op.f("ck_cohorts_size")),
    )
    op.create_index("ix_cohorts_organisation", "cohorts", ["organisation"])
    op.create_index("ix_cohorts_owner_id", "cohorts", ["owner_id"])
    op.create_index("ix_cohorts_expires_at", "cohorts", ["expires_at"])
    op.create_table(
        "cohort_members",
        sa.Column(
            "cohort_id",
            sa.String(32),
            sa.ForeignKey("cohorts.id", name=op.f("fk_cohort_members_cohort_id_cohorts"), ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("pseudonym", sa.String(64), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("sex", sa.String(1), nullable=False),
        sa.Column("index_date", sa.Date(), nullable=True),
        sa.Column("gruppe", sa.String(100), nullable=True),
        sa.Column("reference", sa.String(200), nullable=True),
        sa.PrimaryKeyConstraint("cohort_id", "line", name=op.f("pk_cohort_members")),
        sa.UniqueConstraint("cohort_id", "pseudonym", name=op.f("uq_cohort_members_cohort_id")),
    )
    op.create_table(
        "cohort_shares",
        sa.Column(
            "cohort_id",
            sa.String(32),
            sa.ForeignKey("cohorts.id", name=op.f("fk_cohort_shares_cohort_id_cohorts"), ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "user_id", BIG_ID, sa.ForeignKey("users.id", name=op.f("fk_cohort_shares_user_id_users")), nullable=False
        ),
        sa.Column("shared_by", sa.String(64), nullable=False),
        sa.Column("shared_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("cohort_id", "user_id", name=op.f("pk_cohort_shares")),
    )
    op.create_index("ix_cohort_shares_user_id", "cohort_shares", ["user_id"])
    op.create_table(
        "cohort_traces",
        sa.Column("cohort_id", sa.String(32), nullable=False),
        sa.Column("organisation", sa.String(32), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("salt", sa.String(32), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("hashes", sa.Integer(), nullable=False),
        sa.Column("bloom", sa.LargeBinary(), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("forget_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("cohort_id", name=op.f("pk_cohort_traces")),
    )
    op.create_index("ix_cohort_traces_organisation", "cohort_traces", ["organisation"])


def downgrade() -> None:
    op.drop_index("ix_cohort_traces_organisation", table_name="cohort_traces")
    op.drop_table("cohort_traces")
    op.drop_index("ix_cohort_shares_user_id", table_name="cohort_shares")
    op.drop_table("cohort_shares")
    op.drop_table("cohort_members")
    op.drop_index("ix_cohorts_expires_at", table_name="cohorts")
    op.drop_index("ix_cohorts_owner_id", table_name="cohorts")
    op.drop_index("ix_cohorts_organisation", table_name="cohorts")
    op.drop_table("cohorts")
