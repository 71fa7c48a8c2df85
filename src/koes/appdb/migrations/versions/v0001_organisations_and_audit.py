"""Organisations and the append-only audit trail.

The audit table refuses UPDATE and DELETE (and, on PostgreSQL, TRUNCATE) with triggers, so the
application cannot change history even by mistake. A database administrator can drop the
triggers; the hash chain is what then shows the tampering (``koes audit verify``).

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY = "audit_records is append-only"

SQLITE_TRIGGERS = (
    f"""CREATE TRIGGER audit_records_no_update BEFORE UPDATE ON audit_records
BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}: UPDATE refused'); END""",
    f"""CREATE TRIGGER audit_records_no_delete BEFORE DELETE ON audit_records
BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}: DELETE refused'); END""",
)
POSTGRES_TRIGGERS = (
    f"""CREATE FUNCTION koes_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '{APPEND_ONLY}: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$""",
    """CREATE TRIGGER audit_records_no_update_delete BEFORE UPDATE OR DELETE ON audit_records
FOR EACH ROW EXECUTE FUNCTION koes_audit_append_only()""",
    """CREATE TRIGGER audit_records_no_truncate BEFORE TRUNCATE ON audit_records
FOR EACH STATEMENT EXECUTE FUNCTION koes_audit_append_only()""",
)


def _big_id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "organisations",
        sa.Column("id", _big_id(), primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("code", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("parent_region_code", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisations")),
        sa.UniqueConstraint("key", name=op.f("uq_organisations_key")),
        sa.CheckConstraint("kind IN ('kommune', 'region', 'national')", name=op.f("ck_organisations_kind")),
        sa.CheckConstraint("(kind = 'national') = (code IS NULL)", name=op.f("ck_organisations_code")),
    )
    op.create_table(
        "audit_records",
        sa.Column("id", _big_id(), primary_key=True, autoincrement=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_name", sa.String(200), nullable=False),
        sa.Column("organisation", sa.String(64), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("scope", sa.String(64), nullable=False),
        sa.Column("rows_returned", sa.BigInteger(), nullable=False),
        sa.Column("cells_returned", sa.BigInteger(), nullable=False),
        sa.Column("cells_suppressed", sa.BigInteger(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=True),
        sa.Column("release_id", sa.String(64), nullable=True),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("record_hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_records")),
        sa.UniqueConstraint("prev_hash", name=op.f("uq_audit_records_prev_hash")),
        sa.UniqueConstraint("record_hash", name=op.f("uq_audit_records_record_hash")),
        sa.CheckConstraint("outcome IN ('ok', 'denied', 'error')", name=op.f("ck_audit_records_outcome")),
        sa.CheckConstraint(
            "rows_returned >= 0 AND cells_returned >= 0 AND cells_suppressed >= 0",
            name=op.f("ck_audit_records_counts"),
        ),
    )
    op.create_index("ix_audit_records_at", "audit_records", ["at"])
    op.create_index("ix_audit_records_organisation_at", "audit_records", ["organisation", "at"])
    postgres = op.get_context().dialect.name == "postgresql"
    for statement in POSTGRES_TRIGGERS if postgres else SQLITE_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_records_no_truncate ON audit_records")
        op.execute("DROP TRIGGER IF EXISTS audit_records_no_update_delete ON audit_records")
        op.execute("DROP FUNCTION IF EXISTS koes_audit_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_records_no_delete")
        op.execute("DROP TRIGGER IF EXISTS audit_records_no_update")
    op.drop_index("ix_audit_records_organisation_at", table_name="audit_records")
    op.drop_index("ix_audit_records_at", table_name="audit_records")
    op.drop_table("audit_records")
    op.drop_table("organisations")
