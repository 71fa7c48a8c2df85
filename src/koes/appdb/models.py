"""Tables of the app database, as SQLAlchemy 2 typed declarative classes.

The schema itself is made by the Alembic migrations in ``migrations/versions``; these classes
describe it for queries (a test checks that the two agree).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator[datetime]):
    """A point in time, always timezone-aware UTC in Python.

    PostgreSQL stores ``timestamp with time zone``; SQLite has no time zones, so the UTC wall time
    is stored and UTC attached again on reading. Microseconds survive both, which the audit hash
    relies on.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("the app database stores timezone-aware times only")
        value = value.astimezone(UTC)
        return value if dialect.name == "postgresql" else value.replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# Ids: BIGINT on PostgreSQL, INTEGER (the rowid) on SQLite.
BigId = BigInteger().with_variant(Integer(), "sqlite")

ORGANISATION_KINDS = ("kommune", "region", "national")
AUDIT_OUTCOMES = ("ok", "denied", "error")


class Organisation(Base):
    """A municipality, a region or the national health data authority (seeded from reference data)."""

    __tablename__ = "organisations"
    __table_args__ = (
        CheckConstraint("kind IN ('kommune', 'region', 'national')", name="kind"),
        CheckConstraint("(kind = 'national') = (code IS NULL)", name="code"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(32), unique=True)  # "national", "region:1084", "kommune:101"
    kind: Mapped[str] = mapped_column(String(16))
    code: Mapped[int | None] = mapped_column(Integer)  # kommunekode or region code; none for national
    name: Mapped[str] = mapped_column(String(200))
    parent_region_code: Mapped[int | None] = mapped_column(Integer)  # a municipality's region


class AuditRecord(Base):
    """One data access. Append-only: database triggers refuse UPDATE and DELETE.

    ``id`` is assigned by the writer as the previous id + 1 while it holds the chain lock (a
    PostgreSQL sequence would leave gaps after a rollback, and a gap must mean a deletion).
    ``prev_hash`` is unique, so two writers can never fork the chain, whatever they do.
    """

    __tablename__ = "audit_records"
    __table_args__ = (
        CheckConstraint("outcome IN ('ok', 'denied', 'error')", name="outcome"),
        CheckConstraint("rows_returned >= 0 AND cells_returned >= 0 AND cells_suppressed >= 0", name="counts"),
        Index("ix_audit_records_at", "at"),
        Index("ix_audit_records_organisation_at", "organisation", "at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    # "user" is a reserved word in PostgreSQL: the column is user_name.
    user: Mapped[str] = mapped_column("user_name", String(200))
    organisation: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    summary: Mapped[str] = mapped_column(Text)
    request_hash: Mapped[str] = mapped_column(String(64))
    scope: Mapped[str] = mapped_column(String(64))
    rows_returned: Mapped[int] = mapped_column(BigInteger)
    cells_returned: Mapped[int] = mapped_column(BigInteger)
    cells_suppressed: Mapped[int] = mapped_column(BigInteger)
    purpose: Mapped[str | None] = mapped_column(Text)
    release_id: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    record_hash: Mapped[str] = mapped_column(String(64), unique=True)


class User(Base):
    """A person who signs in. Never deleted (grants and the audit trail point at it): deactivated."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint("failed_attempts >= 0", name="failed_attempts"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    organisation: Mapped[str] = mapped_column(String(32), ForeignKey("organisations.key"), index=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))  # argon2id; none: no password sign-in
    totp_secret: Mapped[str | None] = mapped_column(String(255))  # sealed (AES-GCM), never the plain secret
    totp_confirmed: Mapped[bool] = mapped_column(Boolean)
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)  # last accepted TOTP step: no replay
    active: Mapped[bool] = mapped_column(Boolean)
    failed_attempts: Mapped[int] = mapped_column(Integer)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Grant(Base):
    """A role for a user, from ``granted_at`` until ``expires_at`` (always set) unless revoked earlier."""

    __tablename__ = "grants"
    __table_args__ = (
        CheckConstraint("expires_at > granted_at", name="expiry"),
        Index("ix_grants_expires_at", "expires_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"), index=True)
    role: Mapped[str] = mapped_column(String(32))
    granted_by: Mapped[str] = mapped_column(String(64))  # the granting user's name, or "cli"
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_by: Mapped[str | None] = mapped_column(String(64))


class ApiToken(Base):
    """An API token: only its SHA-256 and its first characters are stored, never the token.

    It ends at ``expires_at``, may be used only within ``scopes`` (roles.yaml ``token_scopes``,
    space-separated), and carries the roles that need TOTP only if ``second_factor`` (made in a web
    session that passed TOTP, or by an administrator)."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    scopes: Mapped[str] = mapped_column(String(200))
    second_factor: Mapped[bool] = mapped_column(Boolean)


class RecoveryCode(Base):
    """A single-use second-factor code, stored as its SHA-256."""

    __tablename__ = "recovery_codes"
    __table_args__ = (UniqueConstraint("user_id", "code_hash", name="uq_recovery_codes_user_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


SESSION_STATES = ("anonymous", "password_ok", "signed_in")


class WebSession(Base):
    """A web session, by the SHA-256 of its cookie token; ``state`` says how far the sign-in got, and
    ``second_factor`` whether it passed one (only then do roles that need TOTP count in it)."""

    __tablename__ = "sessions"
    __table_args__ = (
        CheckConstraint("state IN ('anonymous', 'password_ok', 'signed_in')", name="state"),
        CheckConstraint("(state = 'anonymous') = (user_id IS NULL)", name="user"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"), index=True)
    state: Mapped[str] = mapped_column(String(16))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The sign-in passed a second factor (TOTP, a recovery code, the broker's multi-factor authentication).
    second_factor: Mapped[bool] = mapped_column(Boolean, server_default=false())


class SavedAnalysis(Base):
    """An analysis request saved under a name by its owner; ``shared`` shows it to the owner's organisation.

    ``request`` is the canonical JSON of a checked request (``AnalysisRequest.canonical``), so equal
    requests are stored as equal text. ``organisation`` is the owner's, kept here so that finding an
    organisation's shared analyses is one index lookup (and does not depend on the owner's row).
    """

    __tablename__ = "saved_analyses"
    __table_args__ = (
        UniqueConstraint("owner_id", "name", name="uq_saved_analyses_owner_id"),
        CheckConstraint("length(name) BETWEEN 1 AND 120", name="name"),
        Index("ix_saved_analyses_organisation_shared", "organisation", "shared"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    organisation: Mapped[str] = mapped_column(String(32), ForeignKey("organisations.key"))
    owner_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"))
    name: Mapped[str] = mapped_column(String(120))
    request: Mapped[str] = mapped_column(Text)
    shared: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Cohort(Base):
    """A kept CPR population (the Advanced route), owned by a user, kept for its organisation until
    ``expires_at``. ``id`` is random and unguessable; ``report`` is the validation report as JSON
    (line numbers and reasons, never a CPR number)."""

    __tablename__ = "cohorts"
    __table_args__ = (
        CheckConstraint("expires_at > created_at", name="expiry"),
        CheckConstraint("size >= 0", name="size"),
        Index("ix_cohorts_organisation", "organisation"),
        Index("ix_cohorts_owner_id", "owner_id"),
        Index("ix_cohorts_expires_at", "expires_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    organisation: Mapped[str] = mapped_column(String(32), ForeignKey("organisations.key"))
    owner_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"))
    name: Mapped[str] = mapped_column(String(120))
    purpose: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    size: Mapped[int] = mapped_column(Integer)
    release_id: Mapped[str] = mapped_column(String(64))
    report: Mapped[str] = mapped_column(Text)


class CohortMember(Base):
    """A member of a kept cohort: the pseudonym, never the CPR number (nor the uploaded file)."""

    __tablename__ = "cohort_members"
    __table_args__ = (
        PrimaryKeyConstraint("cohort_id", "line", name="pk_cohort_members"),
        UniqueConstraint("cohort_id", "pseudonym", name="uq_cohort_members_cohort_id"),
    )

    cohort_id: Mapped[str] = mapped_column(String(32), ForeignKey("cohorts.id", ondelete="CASCADE"))
    line: Mapped[int] = mapped_column(Integer)
    pseudonym: Mapped[str] = mapped_column(String(64))
    birth_date: Mapped[date] = mapped_column(Date)
    sex: Mapped[str] = mapped_column(String(1))
    index_date: Mapped[date | None] = mapped_column(Date)
    gruppe: Mapped[str | None] = mapped_column(String(100))
    reference: Mapped[str | None] = mapped_column(String(200))


class CohortShare(Base):
    """A colleague (same organisation, holding ``individ``) a cohort is shared with."""

    __tablename__ = "cohort_shares"
    __table_args__ = (
        PrimaryKeyConstraint("cohort_id", "user_id", name="pk_cohort_shares"),
        Index("ix_cohort_shares_user_id", "user_id"),
    )

    cohort_id: Mapped[str] = mapped_column(String(32), ForeignKey("cohorts.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"))
    shared_by: Mapped[str] = mapped_column(String(64))
    shared_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CohortTrace(Base):
    """What the differencing guard keeps of a deleted cohort until ``forget_at``: its size, a keyed
    Bloom filter of its pseudonyms and a keyed digest of the whole set; never a pseudonym."""

    __tablename__ = "cohort_traces"
    __table_args__ = (Index("ix_cohort_traces_organisation", "organisation"),)

    cohort_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    organisation: Mapped[str] = mapped_column(String(32))
    size: Mapped[int] = mapped_column(Integer)
    salt: Mapped[str] = mapped_column(String(32))
    digest: Mapped[str] = mapped_column(String(64))
    hashes: Mapped[int] = mapped_column(Integer)
    bloom: Mapped[bytes] = mapped_column(LargeBinary)
    deleted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    forget_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Job(Base):
    """A background job (a large cohort's profile or before-and-after series): its owner, how far it
    has come and, when done, its result as JSON (figures after disclosure control, never a member)."""

    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint("state IN ('queued', 'running', 'done', 'failed', 'interrupted')", name="state"),
        CheckConstraint("progress >= 0 AND progress <= 100", name="progress"),
        Index("ix_jobs_owner", "owner"),
        Index("ix_jobs_state", "state"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner: Mapped[str] = mapped_column(String(200))  # the user name (an API's local user has no id)
    organisation: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(16))
    progress: Mapped[int] = mapped_column(Integer)
    problem: Mapped[str | None] = mapped_column(Text)
    result: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
