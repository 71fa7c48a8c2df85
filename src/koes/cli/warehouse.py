"""Warehouse commands: generate synthetic extracts, print the register layouts, load a release,
list/inspect/roll back releases, compare with published figures."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from koes.cli.common import app, console, fail, settings_of
from koes.domain.codelists import CODE_LISTS
from koes.domain.periods import parse_years
from koes.domain.register_docs import render_registers_markdown
from koes.domain.registers import REGISTERS
from koes.refdata import load_refdata
from koes.services.warehouse import (
    LoadError,
    LoadResult,
    ReleaseError,
    list_releases,
    load_extracts,
    release_manifest,
    rollback,
)
from koes.settings import EngineName
from koes.synthetic.calibration import CalibrationRow, calibration_table, measure, render_markdown, write_into
from koes.synthetic.extracts import ExtractError, ExtractFolder
from koes.synthetic.figures import FigureError, load_figures
from koes.synthetic.generate import GenerationError, GenerationRequest, GenerationResult, generate
from koes.synthetic.writer import ExtractFormat


@app.command("generate")
def generate_command(
    ctx: typer.Context,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Folder to write the extracts to (default DATA_DIR/extracts)."),
    ] = None,
    persons: Annotated[int, typer.Option("--persons", help="Residents on the first day.")] = 60_000,
    years: Annotated[str, typer.Option("--years", help="Period, e.g. 2022-2024 or 2023.")] = "2022-2024",
    seed: Annotated[int, typer.Option("--seed", help="Random seed; same arguments, same files.")] = 1,
    fmt: Annotated[ExtractFormat, typer.Option("--format", help="File format.")] = ExtractFormat.PARQUET,
    force: Annotated[bool, typer.Option("--force", help="Replace an earlier generation in --out.")] = False,
) -> None:
    """Generate a synthetic Denmark as register extracts in the registers' own layouts."""
    try:
        period = parse_years(years)
    except ValueError as exc:
        fail(f"--years: {exc}")
    folder = out or settings_of(ctx).data_dir / "extracts"
    request = GenerationRequest(persons=persons, years=period, seed=seed, out=folder, fmt=fmt, force=force)
    problems = request.problems()
    if problems:
        fail("; ".join(problems))
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
            result = generate(request, load_refdata(), lambda done, _total: bar.update(task, completed=done))
        except GenerationError as exc:
            fail(str(exc))
    _print_summary(result, time.perf_counter() - began)


@app.command("registers")
def registers_command() -> None:
    """Print the register layouts (columns, types, rules, code lists) as Markdown."""
    typer.echo(render_registers_markdown(REGISTERS, CODE_LISTS), nl=False)


@app.command("load")
def load_command(
    ctx: typer.Context,
    extracts: Annotated[Path, typer.Argument(help="Folder of register extracts (Parquet or CSV).")],
    warehouse: Annotated[
        Path | None, typer.Option("--warehouse", help="Warehouse folder (default DATA_DIR/warehouse).")
    ] = None,
    period: Annotated[
        str | None, typer.Option("--period", help="Extract period, e.g. 2022-2024 (default: from the events).")
    ] = None,
    engine: Annotated[
        EngineName, typer.Option("--engine", help="Run the load on duckdb (default) or spark.")
    ] = EngineName.DUCKDB,
    spark_master: Annotated[
        str, typer.Option("--spark-master", help="Spark master URL for --engine spark (default local[2]).")
    ] = "local[2]",
) -> None:
    """Load register extracts into a new, verified warehouse release and make it current."""
    settings = settings_of(ctx, warehouse_dir=warehouse)
    try:
        years = parse_years(period) if period else None
    except ValueError as exc:
        fail(f"--period: {exc}")
    began = time.perf_counter()
    with Progress(
        TextColumn("[bold]{task.fields[stage]:<9}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console,
    ) as bars:
        tasks: dict[str, TaskID] = {}

        def progress(stage: str, step: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bars.add_task(step, total=total, stage=stage)
            bars.update(tasks[stage], completed=done, total=total, description=step)

        try:
            result = load_extracts(settings, extracts, years, progress, engine=engine, spark_master=spark_master)
        except (LoadError, ReleaseError) as exc:
            problems = exc.problems if isinstance(exc, LoadError) else [str(exc)]
            console.print(
                f"[bold red]The load stopped; the current release is unchanged.[/] {len(problems)} problem(s):"
            )
            for problem in problems:
                console.print(f"  • {problem}", soft_wrap=True, markup=False)
            raise typer.Exit(code=2) from None
    _print_load_summary(result, time.perf_counter() - began)


def _print_load_summary(result: LoadResult, seconds: float) -> None:
    table = Table(title=f"Release {result.release.id} is current ({seconds:,.1f} s)")
    for column in ("register", "rows read", "loaded", "quarantined"):
        table.add_column(column, justify="left" if column == "register" else "right")
    for a in result.accounting:
        table.add_row(a.register, f"{a.rows_in:,}", f"{a.rows_loaded:,}", f"{a.rows_quarantined:,}")
    console.print(table)
    stages = Table(title="Stages")
    for column in ("stage", "seconds", "rows", "rows/s"):
        stages.add_column(column, justify="left" if column == "stage" else "right")
    for stage, secs in result.stage_seconds.items():
        rows = result.stage_rows.get(stage, 0)
        stages.add_row(stage, f"{secs:,.1f}", f"{rows:,}", f"{rows / secs:,.0f}" if secs else "–")
    console.print(stages)
    quarantined = sum(a.rows_quarantined for a in result.accounting)
    if quarantined:
        console.print(f"{quarantined:,} rows quarantined: see {result.release.folder / 'quarantine.md'}")


releases_app = typer.Typer(help="List, inspect and roll back warehouse releases.", no_args_is_help=True)
app.add_typer(releases_app, name="releases")


@releases_app.command("list")
def releases_list(
    ctx: typer.Context,
    warehouse: Annotated[Path | None, typer.Option("--warehouse", help="Warehouse folder.")] = None,
) -> None:
    """List the releases, newest last; the current one is marked."""
    settings = settings_of(ctx, warehouse_dir=warehouse)
    table = Table(title=f"Releases in {settings.warehouse}")
    for column in ("", "release", "created", "period", "persons", "quarantined"):
        # Ids are copied into `show` and `rollback`: never cut or wrap them.
        table.add_column(
            column, no_wrap=column in ("release", "created"), min_width=19 if column == "release" else None
        )
    for r in list_releases(settings):
        period = f"{r.period_start} – {r.period_end}"
        mark = "→" if r.current else ""
        table.add_row(mark, r.id, r.created, period, f"{r.persons:,}", f"{r.rows_quarantined:,}")
    console.print(table)


@releases_app.command("show")
def releases_show(
    ctx: typer.Context,
    release_id: Annotated[str, typer.Argument(help="Release id (see `koes releases list`).")],
    warehouse: Annotated[Path | None, typer.Option("--warehouse", help="Warehouse folder.")] = None,
) -> None:
    """Print a release's manifest."""
    try:
        manifest = release_manifest(settings_of(ctx, warehouse_dir=warehouse), release_id)
    except ReleaseError as exc:
        fail(str(exc))
    typer.echo(json.dumps(manifest, indent=2, ensure_ascii=False))


@releases_app.command("rollback")
def releases_rollback(
    ctx: typer.Context,
    release_id: Annotated[str, typer.Argument(help="Release to make current again.")],
    warehouse: Annotated[Path | None, typer.Option("--warehouse", help="Warehouse folder.")] = None,
) -> None:
    """Make an earlier release current again (atomically)."""
    try:
        rollback(settings_of(ctx, warehouse_dir=warehouse), release_id)
    except ReleaseError as exc:
        fail(str(exc))
    console.print(f"Release {release_id} is now current.")


def _print_summary(result: GenerationResult, seconds: float) -> None:
    rows = Table(title=f"Synthetic Denmark in {result.out} ({seconds:,.1f} s)")
    rows.add_column("register")
    rows.add_column("rows", justify="right")
    for name, count in result.row_counts.items():
        rows.add_row(name, f"{count:,}")
    console.print(rows)
    console.print(f"Compare with published national figures: koes calibration {result.out}")


@app.command("calibration")
def calibration_command(
    extracts: Annotated[Path, typer.Argument(help="Folder of generated extracts (Parquet or CSV).")],
    years: Annotated[
        str | None, typer.Option("--years", help="Period, e.g. 2022-2024 (default: from generation.json).")
    ] = None,
    docs: Annotated[
        Path | None,
        typer.Option("--docs", help="Also write the table into this Markdown file (e.g. docs/synthetic-data.md)."),
    ] = None,
) -> None:
    """Compare generated extracts with published national figures, scaled to the national population."""
    try:
        folder = ExtractFolder.open(extracts)
        period = parse_years(years) if years else folder.period()
        figures = load_figures()
    except (ExtractError, FigureError, ValueError) as exc:
        fail(str(exc))
    with console.status("Reading the extracts") as status:
        tally = measure(folder, period, lambda name: status.update(f"Reading the extracts: {name}"))
    rows = calibration_table(figures, tally)
    _print_calibration(rows, period)
    if docs:
        try:
            write_into(docs, render_markdown(rows))
        except (OSError, ValueError) as exc:
            fail(str(exc))
        console.print(f"Wrote the table into {docs}")


def _print_calibration(rows: list[CalibrationRow], period: object) -> None:
    table = Table(title=f"Synthetic ÷ published, scaled to the national population ({period})")
    for column in ("figure", "published", "synthetic", "ratio", "expected"):
        table.add_column(column, justify="left" if column == "figure" else "right", no_wrap=True)
    for row in rows:
        f = row.figure
        ratio = "–" if row.ratio is None else f"{row.ratio:.2f}"
        if not row.calibrated:
            ratio = f"[bold red]{ratio}[/]"
        expected = f"{f.expected_ratio:.2f}" if f.reason else ""
        table.add_row(f.id, _compact(f.published), _compact(row.synthetic), ratio, expected)
    console.print(table)
    off = [r.figure.id for r in rows if not r.calibrated]
    if off:
        console.print(f"[bold red]{len(off)} figure(s) outside 0.9–1.1 without a stated reason:[/] {', '.join(off)}")


def _compact(value: float | None) -> str:
    if value is None:
        return "–"
    if abs(value) >= 1e6:
        return f"{value / 1e6:,.2f} M"
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"
