"""``koes backup DIR`` and ``koes restore DIR``: the commands; the work is in :mod:`koes.services.backup`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console

from koes.services.appdb import AppDatabaseError
from koes.services.backup import BackupError, backup, restore
from koes.settings import Settings

console = Console(stderr=True)


def register(app: typer.Typer) -> None:
    """Add the operations commands to the ``koes`` command."""
    app.command("backup")(backup_command)
    app.command("restore")(restore_command)


def backup_command(
    ctx: typer.Context,
    folder: Annotated[Path, typer.Argument(help="A new (or empty) folder to write the backup to.")],
) -> None:
    """Back up the app database, the secrets and the current release (with its manifest)."""
    try:
        done = backup(_settings(ctx), folder)
    except (BackupError, AppDatabaseError) as exc:
        _stop(str(exc))
    console.print(
        f"Backed up to {done.folder}: release {done.release_id or '(none)'}, {done.audit_records} audit records, "
        f"{done.files} files. Keep it as safe as the secrets it holds.",
        markup=False,
        highlight=False,
    )


def restore_command(
    ctx: typer.Context,
    folder: Annotated[Path, typer.Argument(help="The backup folder (made by koes backup).")],
) -> None:
    """Restore a backup into an empty deployment, after checking every file, the release and the audit chain."""
    try:
        done = restore(_settings(ctx), folder)
    except (BackupError, AppDatabaseError) as exc:
        _stop(str(exc))
    console.print(
        f"Restored from {done.folder}: release {done.release_id or '(none)'}, {done.audit_records} audit records "
        "(chain verified).",
        markup=False,
        highlight=False,
    )


def _settings(ctx: typer.Context) -> Settings:
    settings = ctx.obj
    assert isinstance(settings, Settings)
    return settings


def _stop(message: str) -> NoReturn:
    console.print("[bold red]Error:[/] ", end="")
    console.print(message, soft_wrap=True, markup=False, highlight=False)
    raise typer.Exit(code=1)
