"""Settings, built once at the edge (CLI flags over ``KOES_*`` environment variables).

Nothing below the CLI or the web app factory reads the environment: they receive a
``Settings`` object. That keeps tests honest (no hidden global state) and makes a deployment's
configuration visible in one place.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

ENV_PREFIX = "KOES_"


class EngineName(StrEnum):
    """The query engines a deployment may choose (``KOES_ENGINE``, ``koes load --engine``)."""

    DUCKDB = "duckdb"  # the release's serving file
    SPARK = "spark"  # the release's Parquet copy, through pyspark (an optional extra)


class ApiAuth(StrEnum):
    """How the JSON API knows its callers (``KOES_API_AUTH``)."""

    TOKEN = "token"  # Authorization: Bearer <API token>
    LOCAL = "local"  # every call is the configured local principal


@dataclass(frozen=True)
class Settings:
    """Deployment configuration. Paths are resolved relative to ``data_dir`` by default."""

    data_dir: Path = Path("var")
    warehouse_dir: Path | None = None
    pseudonym_key_file: Path | None = None
    threads: int = 2
    memory_limit: str = "8GB"
    keep_releases: int = 5
    engine: EngineName = EngineName.DUCKDB
    local_org: str = "national"  # the principal of `koes query` and of the API with api_auth = local
    local_role: str = "aggregeret"
    local_user: str = "lokal"
    # token: Authorization: Bearer <API token>; local: every call is the local principal
    api_auth: ApiAuth = ApiAuth.TOKEN
    secret_key_file: Path | None = None  # seals TOTP secrets; default DATA_DIR/secrets/app.key
    # Disclosure control (docs/disclosure.md, decision 0006): "perturbation" (the cell-key method, the
    # default) or "suppression" (primary and secondary cell suppression). The threshold is the display
    # threshold of both: counts under it show as <threshold.
    disclosure_method: str = "perturbation"
    suppression_threshold: int = 5
    suppression_rounding: int = 0  # 0: no rounding
    ptable_file: Path | None = None  # the count perturbation table; default: the one shipped in koes.privacy
    magnitude_table_file: Path | None = None  # the magnitude noise table; default: the shipped one
    # True: every disclosure base is an exact distinct count (slower); False: large cells are proven
    # large from their row count (koes.query.bases), and only the others are counted exactly.
    exact_bases: bool = False
    cache_entries: int = 4096  # protected results are small; the Standard reports' warm views must fit
    prewarm_reports: bool = False  # answer the reports' default views in the background at start-up (koes serve)
    session_idle_minutes: int = 30  # a web session ends after this long without a request
    session_absolute_hours: int = 12  # and this long after sign-in, whatever happens
    secure_cookies: bool = False  # True: the session cookie is Secure even on plain http (behind a TLS proxy)
    token_days: int = 30  # an API token lasts this long unless its maker chooses less (or more, up to the max)
    token_max_days: int = 90  # and never longer than this
    # SQLAlchemy URL of the app database; empty: SQLite file DATA_DIR/app.db. Out of repr: it may hold a password.
    app_db_url: str = dataclasses.field(default="", repr=False)
    # Single sign-on through OpenID Connect (docs/decisions/0003-oidc-sso.md): off unless the issuer is set.
    oidc_issuer: str = ""  # e.g. https://broker.example/op; its /.well-known/openid-configuration is read
    oidc_client_id: str = ""
    oidc_client_secret: str = dataclasses.field(default="", repr=False)  # empty: a public client (PKCE only)
    oidc_redirect_uri: str = ""  # empty: BASE/login/sso/callback from the request (set it behind a proxy)
    oidc_scopes: str = "openid profile"
    oidc_username_claim: str = "preferred_username"  # must equal a local user's user name
    oidc_organisation_claim: str = "koes_organisation"  # must equal that user's organisation (kommune:101)
    oidc_mfa_acr: str = ""  # comma-separated `acr` values that mean multi-factor (besides `amr` holding "mfa")
    oidc_label: str = "SSO"  # the button on /login: "Log ind med {label}"
    # Cohort uploads (docs/advanced.md): a file over these limits is refused whole, and nothing is kept.
    cohort_max_file_mb: int = 50  # the uploaded file as sent (an XLSX counts compressed)
    cohort_max_rows: int = 500_000  # rows with content under the header
    cohort_max_expanded_mb: int = 400  # what an XLSX may unpack to, all its parts together (zip bombs)
    cohort_max_mixed_percent: int = 10  # rows whose CPR cell is text, not a number, beyond this share: refused
    # Kept cohorts (docs/advanced.md): how long they live, and the differencing guard at upload.
    cohort_days: int = 90  # a cohort is deleted this many days after upload unless its owner chooses less
    cohort_max_days: int = 365  # and never kept longer than this
    cohort_min_difference: int = 5  # a cohort differing from another of the organisation by fewer persons: refused
    cohort_guard_days: int = 90  # a deleted cohort still counts for the guard this long (as a keyed trace)
    cohort_min_size: int = 10  # a cohort (or a group of it) of fewer persons in the release gives no figures
    cohort_months: int = 12  # months before and after the index date (at most 36)
    # Serving (docs/operations.md): worker processes of `koes serve`, and who may read GET /metrics.
    workers: int = 1  # several share the release, the app database, sessions and the audit chain
    metrics_allow: str = "127.0.0.1/8,::1/128"  # comma-separated client networks (behind a proxy: see trusted_proxies)
    # Reverse proxies (comma-separated addresses or networks) whose X-Forwarded-For and X-Forwarded-Proto
    # are believed: from them, the client is the right-most untrusted forwarded address. Empty: no proxy.
    trusted_proxies: str = ""
    # Background jobs (docs/advanced.md): a cohort's profile and series run as a job from this size.
    cohort_job_members: int = 20_000  # members; 0: always a job
    cohort_job_upload_kb: int = 1024  # an upload over the API from this size is checked and kept in a job
    job_workers: int = 1  # the app's worker threads for jobs (the engine uses the cores)
    job_retention_hours: int = 168  # an ended job and its result are deleted this long after it ended

    def __post_init__(self) -> None:
        # A closed set given as plain text (the environment, a test's replace) becomes its enum here,
        # so a misspelt value fails at start-up, named, and code below compares members.
        for name, kind in CLOSED_SETS.items():
            value = getattr(self, name)
            if not isinstance(value, kind):
                object.__setattr__(self, name, _member(name, kind, value))

    @property
    def warehouse(self) -> Path:
        return self.warehouse_dir or self.data_dir / "warehouse"

    @property
    def pseudonym_key(self) -> Path:
        # Outside any release folder on purpose: the key must never ship with the data.
        return self.pseudonym_key_file or self.data_dir / "secrets" / "pseudonym.key"

    @property
    def secret_key(self) -> Path:
        """The app's secret key file (TOTP secrets are sealed with it): outside the database, never in a release."""
        return self.secret_key_file or self.data_dir / "secrets" / "app.key"

    @property
    def app_database_url(self) -> str:
        """Where users, organisations and the audit trail live: ``KOES_APP_DB_URL`` or SQLite in ``data_dir``."""
        return self.app_db_url or f"sqlite:///{self.data_dir / 'app.db'}"

    @property
    def oidc_enabled(self) -> bool:
        return bool(self.oidc_issuer)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Read ``KOES_<FIELD>`` variables, then apply CLI overrides that are not None."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for field in fields(cls):
            raw = env.get(ENV_PREFIX + field.name.upper())
            if raw is not None and raw != "":
                values[field.name] = _coerce(field.name, raw)
        settings = cls(**values)
        given = {k: v for k, v in overrides.items() if v is not None}
        return replace(settings, **given) if given else settings


CLOSED_SETS: dict[str, type[StrEnum]] = {"engine": EngineName, "api_auth": ApiAuth}


def _member(name: str, kind: type[StrEnum], value: str) -> StrEnum:
    try:
        return kind(value)
    except ValueError:
        choices = ", ".join(kind)
        raise ValueError(f"{name} ({ENV_PREFIX}{name.upper()}) must be one of {choices}, not {value!r}") from None


def _coerce(name: str, raw: str) -> Any:
    if name.endswith(("_dir", "_file")):
        return Path(raw)
    if name in ("secure_cookies", "prewarm_reports", "exact_bases"):
        if raw.strip().lower() in ("1", "true", "yes", "on"):
            return True
        if raw.strip().lower() in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"{ENV_PREFIX}{name.upper()} must be true or false, got {raw!r}")
    if name in (
        "threads",
        "keep_releases",
        "suppression_threshold",
        "suppression_rounding",
        "cache_entries",
        "session_idle_minutes",
        "session_absolute_hours",
        "cohort_max_file_mb",
        "cohort_max_rows",
        "cohort_max_expanded_mb",
        "cohort_max_mixed_percent",
        "cohort_days",
        "cohort_max_days",
        "cohort_min_difference",
        "cohort_guard_days",
        "cohort_min_size",
        "cohort_months",
        "cohort_job_members",
        "cohort_job_upload_kb",
        "job_workers",
        "job_retention_hours",
        "token_days",
        "token_max_days",
        "workers",
    ):
        try:
            return int(raw)
        except ValueError:
            raise ValueError(f"{ENV_PREFIX}{name.upper()} must be a whole number, got {raw!r}") from None
    return raw
