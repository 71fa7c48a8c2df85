"""Administration commands: organisations, the audit trail, users and their grants and tokens, web
sessions, and the demo users. The command line acts as the operator (:data:`OPERATOR`)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from koes.cli.common import CatalogFormat, app, app_database, console, fail, request_problems, settings_of, stop
from koes.refdata import load_refdata
from koes.services.appdb import AppDatabaseError
from koes.services.audit import AuditTrail, parse_anchor, parse_instant
from koes.services.demo import ensure_demo_users
from koes.services.errors import ConflictError, ForbiddenError, InvalidInputError, NotFoundError
from koes.services.organisations import list_organisations
from koes.services.reorganisation import ReorganisationService
from koes.services.sessions import SessionService
from koes.services.tokens import TokenService
from koes.services.user_records import UserInfo
from koes.services.users import OPERATOR, UserService

orgs_app = typer.Typer(
    help="Organisations: the national authority, the regions, the municipalities.", no_args_is_help=True
)
app.add_typer(orgs_app, name="orgs")


@orgs_app.command("list")
def orgs_list(
    ctx: typer.Context,
    fmt: Annotated[CatalogFormat, typer.Option("--format", help="table or json.")] = CatalogFormat.TABLE,
) -> None:
    """List the organisations (seeded from reference data into the app database)."""
    database = app_database(settings_of(ctx))
    try:
        organisations = list_organisations(database)
    except AppDatabaseError as exc:
        stop(str(exc))
    finally:
        database.dispose()
    if fmt is CatalogFormat.JSON:
        typer.echo(json.dumps([o.to_json() for o in organisations], indent=2, ensure_ascii=False))
        return
    table = Table(title=f"{len(organisations)} organisations")
    for column in ("key", "kind", "code", "name", "region"):
        table.add_column(column, no_wrap=column == "key", justify="right" if column in ("code", "region") else "left")
    for o in organisations:
        code = "" if o.code is None else str(o.code)
        table.add_row(o.key, o.kind, code, o.name, "" if o.region is None else str(o.region))
    console.print(table)


@orgs_app.command("create-region")
def orgs_create_region(
    ctx: typer.Context,
    code: Annotated[int, typer.Argument(help="A region code declared in the reference data, e.g. 1086.")],
) -> None:
    """Create a region declared in the reference data (Region Østdanmark) as an organisation. Audited."""
    with _admin(ctx) as admin:
        row = ReorganisationService(admin.users.trail, load_refdata().geography).create_region(OPERATOR, code)
    console.print(f"Organisation {row.key} ({row.name}) created.", markup=False, highlight=False)


@orgs_app.command("move-users")
def orgs_move_users(
    ctx: typer.Context,
    source: Annotated[str, typer.Argument(help="The region that ceased, e.g. region:1084.")],
    target: Annotated[str, typer.Argument(help="The region that succeeds it, e.g. region:1086.")],
) -> None:
    """Move every user of a region that ceased to its successor; grants go with them. Audited per user."""
    with _admin(ctx) as admin:
        service = ReorganisationService(admin.users.trail, load_refdata().geography)
        moved = service.move_users(OPERATOR, source, target)
    console.print(f"{len(moved)} user(s) moved from {source} to {target}.", markup=False, highlight=False)


audit_app = typer.Typer(
    help="The audit trail of every data access: verify the hash chain, export.", no_args_is_help=True
)
app.add_typer(audit_app, name="audit")


class AuditFormat(StrEnum):
    CSV = "csv"
    JSON = "json"


@audit_app.command("verify")
def audit_verify(
    ctx: typer.Context,
    anchor: Annotated[
        str | None,
        typer.Option("--anchor", help="ID:HASH of a head noted earlier: also detects a cut-off or rewritten trail."),
    ] = None,
) -> None:
    """Check the hash chain: exit 0 when intact, 1 listing every edited, deleted or reordered record."""
    try:
        expected = parse_anchor(anchor) if anchor else None
    except ValueError as exc:
        fail(f"--anchor: {exc}")
    database = app_database(settings_of(ctx))
    try:
        report = AuditTrail(database).check(expected)
    except AppDatabaseError as exc:
        stop(str(exc))
    finally:
        database.dispose()
    noun = "record" if report.records == 1 else "records"
    if report.intact:
        typer.echo(f"{report.records:,} {noun}, chain intact")
        if report.head_id is not None:
            typer.echo(f"head {report.head_id}:{report.head_hash} (note it; check later with --anchor)")
        return
    typer.echo(f"{report.records:,} {noun}, chain BROKEN: {len(report.problems)} problem(s)")
    for problem in report.problems:
        typer.echo(f"  • {problem}")
    raise typer.Exit(code=1)


@audit_app.command("export")
def audit_export(
    ctx: typer.Context,
    fmt: Annotated[AuditFormat, typer.Option("--format", help="csv (UTF-8 with BOM) or json.")] = AuditFormat.CSV,
    since: Annotated[str | None, typer.Option("--since", help="From this date or time (UTC), inclusive.")] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="Up to this date (inclusive) or time (exclusive), UTC.")
    ] = None,
    org: Annotated[
        str | None, typer.Option("--org", help="One organisation: national, region:1084 or kommune:101.")
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write to this file instead of standard output.")] = None,
) -> None:
    """Export audit records (with their hashes) as CSV or JSON."""
    try:
        start = parse_instant(since) if since else None
    except ValueError as exc:
        fail(f"--since: {exc}")
    try:
        end = parse_instant(until, end=True) if until else None
    except ValueError as exc:
        fail(f"--until: {exc}")
    database = app_database(settings_of(ctx))
    trail = AuditTrail(database)
    try:
        body = trail.export(start, end, org, fmt.value)
    except ValueError as exc:  # --org is not an organisation
        fail(f"--org: {exc}")
    except AppDatabaseError as exc:
        stop(str(exc))
    finally:
        database.dispose()
    if out is None:
        typer.echo(body, nl=False)
        return
    try:
        out.write_bytes(body)
    except OSError as exc:
        fail(f"cannot write {out}: {exc.strerror or exc}")
    console.print(f"Audit records written to {out}.", markup=False, highlight=False)


users_app = typer.Typer(
    help="Users, their grants (roles with an expiry) and API tokens. The command line acts as the operator "
    "(system level) and is audited as user `cli`.",
    no_args_is_help=True,
)
app.add_typer(users_app, name="users")


@dataclass(frozen=True)
class _Admin:
    users: UserService
    tokens: TokenService


@contextmanager
def _admin(ctx: typer.Context) -> Iterator[_Admin]:
    """The user services on the app database, with every service error turned into a clean exit."""
    database = app_database(settings_of(ctx))
    trail = AuditTrail(database)
    users = UserService(trail)
    try:
        yield _Admin(users, TokenService(trail, users))
    except InvalidInputError as exc:
        request_problems(exc)
    except (NotFoundError, ForbiddenError, ConflictError, AppDatabaseError) as exc:
        stop(str(exc))
    finally:
        database.dispose()


def _read_password(password_file: Path | None, username: str) -> str:
    if password_file is None:
        value: str = typer.prompt(f"Password for {username}", hide_input=True, confirmation_prompt=True, err=True)
        return value
    try:
        lines = password_file.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        fail(f"cannot read {password_file}: {exc.strerror or exc}")
    except UnicodeDecodeError:
        fail(f"{password_file} is not UTF-8 text")
    if not lines or not lines[0]:
        fail(f"{password_file}: the password is its first line, and it is empty")
    return lines[0]


@users_app.command("add")
def users_add(
    ctx: typer.Context,
    username: Annotated[str, typer.Argument(help="a–z, 0–9, . _ @ -; 2–64 characters.")],
    org: Annotated[str, typer.Option("--org", help="The user's organisation: kommune:101, region:1084 or national.")],
    name: Annotated[str, typer.Option("--name", help="Display name.")] = "",
    password_file: Annotated[
        Path | None,
        typer.Option("--password-file", help="Read the password from the first line of this file (else: prompt)."),
    ] = None,
) -> None:
    """Create a user (active, without grants). The password: ≥ 12 characters, two kinds, not the user name."""
    password = _read_password(password_file, username)
    with _admin(ctx) as admin:
        user = admin.users.create_user(OPERATOR, username, organisation=org, display_name=name, password=password)
    console.print(
        f"User {user.username} (#{user.id}) created in {user.organisation}. "
        f"Grant a role: koes users grant {user.username} aggregeret",
        markup=False,
        highlight=False,
    )


@users_app.command("list")
def users_list(
    ctx: typer.Context,
    org: Annotated[str | None, typer.Option("--org", help="One organisation only.")] = None,
    fmt: Annotated[CatalogFormat, typer.Option("--format", help="table or json.")] = CatalogFormat.TABLE,
) -> None:
    """List users with their valid roles and when each grant expires."""
    with _admin(ctx) as admin:
        found = admin.users.users(OPERATOR, org)
    if fmt is CatalogFormat.JSON:
        typer.echo(json.dumps([u.to_json() for u in found], indent=2, ensure_ascii=False))
        return
    table = Table(title=f"{len(found)} user(s)")
    for column in ("id", "user", "organisation", "name", "roles (valid grants)", "active", "TOTP"):
        table.add_column(column, no_wrap=column in ("user", "organisation"))
    for u in found:
        table.add_row(
            str(u.id),
            u.username,
            u.organisation,
            u.display_name,
            _roles_text(u),
            "yes" if u.active else "no",
            "yes" if u.totp_enrolled else "no",
        )
    console.print(table)


def _roles_text(user: UserInfo) -> str:
    valid = [g for g in user.grants if g.valid]
    return ", ".join(f"{g.role} (until {g.expires_at.date().isoformat()})" for g in valid) or "–"


def _user_id(admin: _Admin, username: str) -> int:
    return admin.users.user_by_name(OPERATOR, username).id


@users_app.command("grant")
def users_grant(
    ctx: typer.Context,
    username: Annotated[str, typer.Argument(help="The user.")],
    role: Annotated[str, typer.Argument(help="aggregeret, individ, lokal_admin or system_admin.")],
    expires: Annotated[
        str | None,
        typer.Option("--expires", help="Last day of the grant, YYYY-MM-DD (default 12 months; at most 24)."),
    ] = None,
) -> None:
    """Grant a role until an expiry date."""
    try:
        last_day = date.fromisoformat(expires) if expires else None
    except ValueError:
        fail("--expires: a date, YYYY-MM-DD")
    with _admin(ctx) as admin:
        grant = admin.users.grant(OPERATOR, _user_id(admin, username), role, last_day)
    console.print(
        f"{grant.username}: {grant.role} until {grant.expires_at.isoformat()} (grant #{grant.id}).",
        markup=False,
        highlight=False,
    )


@users_app.command("revoke")
def users_revoke(
    ctx: typer.Context,
    username: Annotated[str, typer.Argument(help="The user.")],
    role: Annotated[str, typer.Argument(help="The role to take away (every grant of it).")],
) -> None:
    """Revoke a role from a user, at once."""
    with _admin(ctx) as admin:
        done = admin.users.revoke_role(OPERATOR, _user_id(admin, username), role)
    if not done:
        console.print(f"{username} holds no unrevoked grant of {role}: nothing changed.", markup=False)
        return
    console.print(f"{username}: {role} revoked ({len(done)} grant(s)).", markup=False, highlight=False)


@users_app.command("deactivate")
def users_deactivate(ctx: typer.Context, username: Annotated[str, typer.Argument(help="The user.")]) -> None:
    """Deactivate a user: no sign-in, and its API tokens stop working at once."""
    with _admin(ctx) as admin:
        user = admin.users.deactivate(OPERATOR, _user_id(admin, username))
    console.print(f"{user.username} is deactivated.", markup=False, highlight=False)


@users_app.command("reactivate")
def users_reactivate(ctx: typer.Context, username: Annotated[str, typer.Argument(help="The user.")]) -> None:
    """Reactivate a deactivated user. Its grants still running are revoked with it: it has no rights
    until a role is granted again (koes users grant)."""
    with _admin(ctx) as admin:
        before = admin.users.user_by_name(OPERATOR, username)
        user = admin.users.reactivate(OPERATOR, before.id)
    if before.active:
        console.print(f"{user.username} is active already: nothing changed.", markup=False, highlight=False)
        return
    console.print(
        f"{user.username} is active again, without any valid grant. "
        f"Grant a role: koes users grant {user.username} aggregeret",
        markup=False,
        highlight=False,
    )


@users_app.command("rename")
def users_rename(
    ctx: typer.Context,
    username: Annotated[str, typer.Argument(help="The user.")],
    name: Annotated[str, typer.Argument(help="The new display name (at most 200 characters).")],
) -> None:
    """Change a user's display name."""
    with _admin(ctx) as admin:
        user = admin.users.rename(OPERATOR, _user_id(admin, username), name)
    shown = user.display_name or "(no name)"
    console.print(f"Display name of {user.username}: {shown}", markup=False, highlight=False)


@users_app.command("reset-totp")
def users_reset_totp(ctx: typer.Context, username: Annotated[str, typer.Argument(help="The user.")]) -> None:
    """Reset a user's TOTP (a lost phone): it enrols again at its next sign-in; its recovery codes stop
    working and its web sessions end at once."""
    with _admin(ctx) as admin:
        user = admin.users.reset_totp(OPERATOR, _user_id(admin, username))
    console.print(
        f"TOTP of {user.username} is reset: it sets up a new authenticator at its next sign-in.",
        markup=False,
        highlight=False,
    )


@users_app.command("token")
def users_token(
    ctx: typer.Context,
    username: Annotated[str, typer.Argument(help="The user.")],
    name: Annotated[str, typer.Option("--name", help="A name for the token.")] = "cli",
) -> None:
    """Create an API token for a user and print it, once (standard output; only its hash is kept)."""
    with _admin(ctx) as admin:
        created = admin.tokens.create_for(OPERATOR, _user_id(admin, username), name)
    console.print(
        f"API token #{created.info.id} {created.info.name!r} for {username}; it is shown once, keep it safe:",
        markup=False,
        highlight=False,
    )
    typer.echo(created.secret)


@users_app.command("expiring")
def users_expiring(
    ctx: typer.Context,
    days: Annotated[int, typer.Option("--days", help="Grants expiring within this many days.")] = 30,
) -> None:
    """The recertification list: valid grants that expire soon (renew with `koes users grant`)."""
    with _admin(ctx) as admin:
        grants = admin.users.recertification(OPERATOR, days)
    table = Table(title=f"{len(grants)} grant(s) expiring within {days} days")
    for column in ("grant", "user", "organisation", "role", "expires", "granted by"):
        table.add_column(column)
    for g in grants:
        table.add_row(str(g.id), g.username, g.organisation, g.role, g.expires_at.isoformat(), g.granted_by)
    console.print(table)


sessions_app = typer.Typer(help="Web sessions kept in the app database.", no_args_is_help=True)
app.add_typer(sessions_app, name="sessions")


@sessions_app.command("purge")
def sessions_purge(ctx: typer.Context) -> None:
    """Delete the rows of ended web sessions (revoked, idle or too old). A running app does this itself
    every 15 minutes; live sessions and the audit trail are not touched."""
    settings = settings_of(ctx)
    database = app_database(settings)
    try:
        count = SessionService(AuditTrail(database), settings).purge()
    except AppDatabaseError as exc:
        stop(str(exc))
    finally:
        database.dispose()
    console.print(f"{count} ended session(s) deleted.", markup=False, highlight=False)


# What a new user of `make demo` needs next: where to sign in, what the pages are, what TOTP asks.
DEMO_SIGN_IN = (
    "Sign in on the web at http://127.0.0.1:8000/ (where `make demo` serves) with a user and the password above.",
    "The start page leads to the Standard reports (/standard), the Analysis builder (/analyse) and, for",
    "individ users, the Advanced route (/avanceret).",
    "TOTP is not enrolled yet: individ and administrator users enrol at their first sign-in, with a QR code",
    "for an authenticator app, and receive recovery codes. The aggregeret users sign in with the password only.",
    "The API takes the tokens above:  curl -H 'Authorization: Bearer TOKEN' http://127.0.0.1:8000/api/v1/me",
)


@app.command("demo-users")
def demo_users_command(ctx: typer.Context) -> None:
    """Create the demo users (idempotent) and print how to sign in, with a fresh API token for each."""
    database = app_database(settings_of(ctx))
    try:
        accounts = ensure_demo_users(AuditTrail(database))
    except (InvalidInputError, NotFoundError, ForbiddenError, ConflictError, AppDatabaseError) as exc:
        stop(str(exc))
    finally:
        database.dispose()
    table = Table(title="Demo users (synthetic data only; the same password for all)")
    for column in ("user", "organisation", "roles", "password", "API token (new on every run)"):
        table.add_column(column, no_wrap=True)
    for a in accounts:
        table.add_row(a.username, a.organisation, ", ".join(a.roles), a.password, a.token)
    Console(width=max(200, console.width)).print(table)
    for line in DEMO_SIGN_IN:
        typer.echo(line)
