"""What every command group shares: the root Typer app and its ``--data-dir`` callback, the settings,
the error console, the app database and the two exits (1: refused or failed, 2: bad input)."""

from __future__ import annotations

from dataclasses import replace
from enum import StrEnum
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console

from koes.query.request import RequestError
from koes.services.appdb import AppDatabase, AppDatabaseError, open_app_database
from koes.settings import Settings

app = typer.Typer(
    name="koes",
    help="KØS: municipal health-data warehouse. Generate, load, query and serve.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(stderr=True)


@app.callback()
def _root(
    ctx: typer.Context,
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", help="Where KØS keeps its data (default var, or KOES_DATA_DIR)."),
    ] = None,
) -> None:
    """KØS command line."""
    ctx.obj = Settings.from_env(data_dir=data_dir)


def settings_of(ctx: typer.Context, warehouse_dir: Path | None = None) -> Settings:
    settings = ctx.obj
    assert isinstance(settings, Settings)
    return replace(settings, warehouse_dir=warehouse_dir) if warehouse_dir else settings


class CatalogFormat(StrEnum):
    TABLE = "table"
    JSON = "json"


class Language(StrEnum):
    DA = "da"
    EN = "en"


def request_problems(exc: RequestError) -> NoReturn:
    count = len(exc.problems)
    console.print(f"[bold red]The request has {count} problem{'s' if count != 1 else ''}:[/]")
    for problem in exc.problems:
        console.print(f"  • {problem.field}: {problem.message}", soft_wrap=True, markup=False, highlight=False)
    raise typer.Exit(code=2)


def app_database(settings: Settings) -> AppDatabase:
    try:
        return open_app_database(settings)
    except AppDatabaseError as exc:
        stop(str(exc))


def stop(message: str) -> NoReturn:
    console.print("[bold red]Error:[/] ", end="")
    console.print(message, soft_wrap=True, markup=False, highlight=False)
    raise typer.Exit(code=1)


def fail(message: str) -> NoReturn:
    console.print("[bold red]Error:[/] ", end="")
    console.print(message, soft_wrap=True, markup=False, highlight=False)
    raise typer.Exit(code=2)
