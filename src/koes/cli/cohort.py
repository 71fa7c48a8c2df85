"""``koes cohort``: check a CPR population upload, keep it as a cohort, list and delete cohorts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from koes.cli.common import Language, app, app_database, console, fail, settings_of, stop
from koes.services.appdb import AppDatabaseError
from koes.services.audit import AuditTrail
from koes.services.cohort_store import CohortInfo, CohortService, UploadRequest, UploadResult
from koes.services.cohorts import CheckRequest, CohortRefusedError, check_cohort_file
from koes.services.errors import ForbiddenError, InvalidInputError, NotFoundError
from koes.services.users import OPERATOR, UserService
from koes.settings import Settings

cohort_app = typer.Typer(
    help="CPR populations (Advanced): check an upload, keep it as a cohort, list and delete cohorts.",
    no_args_is_help=True,
)
app.add_typer(cohort_app, name="cohort")


class ReportFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


@cohort_app.command("check")
def cohort_check(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(metavar="FILE", help="A CSV or XLSX file with a CPR column.")],
    org: Annotated[str, typer.Option("--org", help="Your municipality: kommunekode (101) or kommune:101.")],
    sheet: Annotated[str | None, typer.Option("--sheet", help="XLSX: the sheet to read (default: the first).")] = None,
    reference_date: Annotated[
        str | None,
        typer.Option("--reference-date", help="Residence is checked on this day (default: the release's last day)."),
    ] = None,
    fmt: Annotated[ReportFormat, typer.Option("--format", help="text (to read) or json (to save).")] = (
        ReportFormat.TEXT
    ),
    out: Annotated[Path | None, typer.Option("--out", help="Also write the report as JSON to this file.")] = None,
    lang: Annotated[Language, typer.Option("--lang", help="Language of the report.")] = Language.DA,
    purpose: Annotated[str | None, typer.Option("--purpose", help="Why the population is checked (audited).")] = None,
    warehouse: Annotated[Path | None, typer.Option("--warehouse", help="Warehouse folder.")] = None,
) -> None:
    """Validate a CPR population, pseudonymise it and link it to the current release; print the report.

    Nothing is kept: not the file, not the CPR numbers, not the pseudonyms. The report names lines,
    never CPR numbers. The check is audited (action cohort_upload) in the app database.
    """
    settings = settings_of(ctx, warehouse_dir=warehouse)
    municipality = _kommunekode(org)
    day = _iso_date("--reference-date", reference_date) if reference_date else None
    if not file.is_file():
        fail(f"{file} is not a file")
    request = CheckRequest(municipality, sheet, day, user=settings.local_user, purpose=purpose)
    database = app_database(settings)
    try:
        check = check_cohort_file(settings, file, request, AuditTrail(database))
    except CohortRefusedError as exc:
        stop(exc.text(lang.value))
    except AppDatabaseError as exc:
        stop(f"{exc}; nothing is checked without an audit record")
    finally:
        database.dispose()
    body = json.dumps(check.report.to_json(lang.value), indent=2, ensure_ascii=False)
    if out is not None:
        out.write_text(body + "\n", encoding="utf-8")
    if fmt is ReportFormat.JSON:
        typer.echo(body)
    else:
        for line in check.report.to_text(lang.value):
            typer.echo(line)


UserOption = Annotated[
    str | None,
    typer.Option("--user", help="The app user acting (default: KOES_LOCAL_USER); it must hold individ."),
]


@cohort_app.command("upload")
def cohort_upload(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(metavar="FILE", help="A CSV or XLSX file with a CPR column.")],
    org: Annotated[str, typer.Option("--org", help="Your municipality: kommunekode (101) or kommune:101.")],
    purpose: Annotated[str, typer.Option("--purpose", help="Why the cohort is kept (required, audited).")],
    days: Annotated[int | None, typer.Option("--days", help="Keep it this many days (default 90).")] = None,
    sheet: Annotated[str | None, typer.Option("--sheet", help="XLSX: the sheet to read (default: the first).")] = None,
    name: Annotated[str | None, typer.Option("--name", help="The cohort's name (default: the file's).")] = None,
    user: UserOption = None,
    lang: Annotated[Language, typer.Option("--lang", help="Language of the report.")] = Language.DA,
    warehouse: Annotated[Path | None, typer.Option("--warehouse", help="Warehouse folder.")] = None,
) -> None:
    """Check a CPR population and keep it as a cohort: the report, then the cohort's id.

    Only pseudonyms are kept (never the file or a CPR number), until the expiry. A cohort that
    differs from another of the organisation by fewer than 5 persons is refused (exit 1).
    """
    settings = settings_of(ctx, warehouse_dir=warehouse)
    if not file.is_file():
        fail(f"{file} is not a file")
    municipality = _kommunekode(org)
    request = UploadRequest(purpose=purpose, name=name, days=days, sheet=sheet, filename=file.name)
    with _cohort_service(settings) as (service, principal_of):
        principal = principal_of(user)
        if principal.home_municipality != municipality:
            fail(f"--org: {principal.user} is a user of {principal.organisation}, not kommune:{municipality}")
        try:
            result = service.upload(principal, file, request)
        except CohortRefusedError as exc:
            stop(exc.text(lang.value))
    _print_upload(result, lang.value)


def _print_upload(result: UploadResult, language: str) -> None:
    lines = result.report.to_text(language)[:-1]  # the check's last line says nothing is kept
    for line in lines:
        typer.echo(line)
    if result.cohort is None:
        assert result.refusal is not None
        stop(result.refusal.text(language))
    typer.echo(result.to_json(language)["report"]["note"])
    typer.echo(f"Kohorte / cohort: {result.cohort.id}")


@cohort_app.command("list")
def cohort_list(ctx: typer.Context, user: UserOption = None) -> None:
    """The user's cohorts and those shared with it (a local administrator: its organisation's)."""
    with _cohort_service(settings_of(ctx)) as (service, principal_of):
        cohorts = service.list(principal_of(user))
    table = Table(title=f"{len(cohorts)} cohort(s)")
    for column in ("id", "name", "owner", "persons", "created", "expires", "shared with", "purpose"):
        table.add_column(column)
    for c in cohorts:
        table.add_row(*_cohort_row(c))
    Console(width=max(200, console.width)).print(table)


def _cohort_row(c: CohortInfo) -> list[str]:
    return [
        c.id,
        c.name,
        c.owner,
        str(c.size),
        c.created_at.date().isoformat(),
        c.expires_at.date().isoformat(),
        ", ".join(c.shared_with),
        c.purpose,
    ]


@cohort_app.command("delete")
def cohort_delete(
    ctx: typer.Context,
    cohort_id: Annotated[str, typer.Argument(metavar="ID", help="The cohort's id (koes cohort list).")],
    user: UserOption = None,
) -> None:
    """Delete a cohort at once (its owner, or the organisation's local administrator)."""
    with _cohort_service(settings_of(ctx)) as (service, principal_of):
        deleted = service.delete(principal_of(user), cohort_id)
    console.print(f'Cohort {deleted.id} "{deleted.name}" deleted.', markup=False, highlight=False)


@contextmanager
def _cohort_service(settings: Settings) -> Iterator[tuple[CohortService, Any]]:
    """The cohort service and a function from a user name (None: the local user) to its principal."""
    database = app_database(settings)
    trail = AuditTrail(database)
    users = UserService(trail)

    def principal_of(name: str | None) -> Any:
        username = name or settings.local_user
        try:
            return users.principal_for(users.user_by_name(OPERATOR, username).id)
        except NotFoundError:
            fail(f"--user: there is no app user {username!r} (create one with koes users create)")

    try:
        yield CohortService(settings, trail, users), principal_of
    except (NotFoundError, ForbiddenError, InvalidInputError, AppDatabaseError) as exc:
        stop(str(exc))
    finally:
        database.dispose()


def _kommunekode(text: str) -> int:
    code = text.removeprefix("kommune:")
    if not (code.isascii() and code.isdigit()):
        fail(f"--org: {text!r} is not a kommunekode (101) or kommune:101")
    return int(code)


def _iso_date(option: str, text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        fail(f"{option}: {text!r} is not a date (YYYY-MM-DD)")
