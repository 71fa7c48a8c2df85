"""Entry point of the ``koes`` command. Settings are built here, once, and passed down."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from koes.domain.codelists import CODE_LISTS
from koes.domain.periods import parse_years
from koes.domain.register_docs import render_registers_markdown
from koes.domain.registers import REGISTERS
from koes.refdata import load_refdata
from koes.settings import Settings
from koes.synthetic.generate import GenerationError, GenerationRequest, GenerationResult, generate
from koes.synthetic.writer import ExtractFormat

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
        typer.Option(
            "--data-dir", help="Where KØS keeps its data (default var, or KOES_DATA_DIR)."
        ),
    ] = None,
) -> None:
    """KØS command line."""
    ctx.obj = Settings.from_env(data_dir=data_dir)


def _settings(ctx: typer.Context) -> Settings:
    settings = ctx.obj
    assert isinstance(settings, Settings)
    return settings


@app.command("generate")
def generate_command(
    ctx: typer.Context,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Folder to write the extracts to (default DATA_DIR/extracts)."),
    ] = None,
    persons: Annotated[int, typer.Option("--persons", help="Residents on the first day.")] = 60_000,
    years: Annotated[
        str, typer.Option("--years", help="Period, e.g. 2022-2024 or 2023.")
    ] = "2022-2024",
    seed: Annotated[
        int, typer.Option("--seed", help="Random seed; same arguments, same files.")
    ] = 1,
    fmt: Annotated[
        ExtractFormat, typer.Option("--format", help="File format.")
    ] = ExtractFormat.PARQUET,
    force: Annotated[
        bool, typer.Option("--force", help="Replace an earlier generation in --out.")
    ] = False,
) -> None:
    """Generate a synthetic Denmark as register extracts in the registers' own layouts."""
    try:
        period = parse_years(years)
    except ValueError as exc:
        _fail(f"--years: {exc}")
    folder = out or _settings(ctx).data_dir / "extracts"
    request = GenerationRequest(
        persons=persons, years=period, seed=seed, out=folder, fmt=fmt, force=force
    )
    problems = request.problems()
    if problems:
        _fail("; ".join(problems))
    began = time.perf_counter()
    with Progress(
        TextColumn("[bold]Generating persons"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as bar:
        task = bar.add_task("persons", total=persons)
        try:
            result = generate(
                request, load_refdata(), lambda done, _total: bar.update(task, completed=done)
            )
        except GenerationError as exc:
            _fail(str(exc))
    _print_summary(result, time.perf_counter() - began)


@app.command("registers")
def registers_command() -> None:
    """Print the register layouts (columns, types, rules, code lists) as Markdown."""
    typer.echo(render_registers_markdown(REGISTERS, CODE_LISTS), nl=False)


def _print_summary(result: GenerationResult, seconds: float) -> None:
    rows = Table(title=f"Synthetic Denmark in {result.out} ({seconds:,.1f} s)")
    rows.add_column("register")
    rows.add_column("rows", justify="right")
    for name, count in result.row_counts.items():
        rows.add_row(name, f"{count:,}")
    console.print(rows)
    calib = Table(title="Calibration against national figures (per 1,000 a year)")
    for column in ("measure", "generated", "national", "ratio"):
        calib.add_column(column, justify="left" if column == "measure" else "right")
    for row in result.calibration:
        calib.add_row(
            str(row["label"]),
            f"{row['generated_per_1000']:,}",
            f"{row['national_per_1000']:,}",
            f"{row['ratio']}",
        )
    console.print(calib)


def _fail(message: str) -> NoReturn:
    console.print(f"[bold red]Error:[/] {message}")
    raise typer.Exit(code=2)


def main() -> None:
    app()
