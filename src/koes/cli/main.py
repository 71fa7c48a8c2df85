"""Entry point of the ``koes`` command. Settings are built here, once, and passed down."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from koes.cli.operations import register as register_operations
from koes.domain.codelists import CODE_LISTS
from koes.domain.periods import parse_years
from koes.domain.register_docs import render_registers_markdown
from koes.domain.registers import REGISTERS
from koes.query.request import RequestError
from koes.query.scope import ScopeDeniedError
from koes.refdata import load_refdata
from koes.services.analysis import AnalysisFailedError, AnalysisService, NoReleaseError
from koes.services.appdb import AppDatabase, AppDatabaseError, open_app_database
from koes.services.audit import AuditTrail, parse_anchor, parse_instant
from koes.services.catalog import service_catalog
from koes.services.cohort_population import CohortNotFoundError, cohort_store
from koes.services.cohort_store import CohortInfo, CohortService, UploadRequest, UploadResult
from koes.services.cohorts import CheckRequest, CohortRefusedError, check_cohort_file
from koes.services.demo import ensure_demo_users
from koes.services.export import DELIMITERS, check_downloadable, to_csv
from koes.services.organisations import list_organisations
from koes.services.reorganisation import ReorganisationService
from koes.services.results import AnalysisResult
from koes.services.sessions import SessionService
from koes.services.signin import KeyFileError
from koes.services.tokens import TokenService
from koes.services.users import (
    OPERATOR,
    ConflictError,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
    UserInfo,
    UserService,
)
from koes.services.warehouse import (
    LoadError,
    LoadResult,
    ReleaseError,
    list_releases,
    load_extracts,
    release_manifest,
    rollback,
)
from koes.settings import Settings
from koes.synthetic.calibration import CalibrationRow, calibration_table, measure, render_markdown, write_into
from koes.synthetic.extracts import ExtractError, ExtractFolder
from koes.synthetic.figures import FigureError, load_figures
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
        typer.Option("--data-dir", help="Where KØS keeps its data (default var, or KOES_DATA_DIR)."),
    ] = None,
) -> None:
    """KØS command line."""
    ctx.obj = Settings.from_env(data_dir=data_dir)


def _settings(ctx: typer.Context, warehouse_dir: Path | None = None) -> Settings:
    settings = ctx.obj
    assert isinstance(settings, Settings)
    return replace(settings, warehouse_dir=warehouse_dir) if warehouse_dir else settings


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
        _fail(f"--years: {exc}")
    folder = out or _settings(ctx).data_dir / "extracts"
    request = GenerationRequest(persons=persons, years=period, seed=seed, out=folder, fmt=fmt, force=force)
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
            result = generate(request, load_refdata(), lambda done, _total: bar.update(task, completed=done))
        except GenerationError as exc:
            _fail(str(exc))
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
    engine: Annotated[str, typer.Option("--engine", help="Run the load on duckdb (default) or spark.")] = "duckdb",
    spark_master: Annotated[
        str, typer.Option("--spark-master", help="Spark master URL for --engine spark (default local[2]).")
    ] = "local[2]",
) -> None:
    """Load register extracts into a new, verified warehouse release and make it current."""
    settings = _settings(ctx, warehouse_dir=warehouse)
    try:
        years = parse_years(period) if period else None
    except ValueError as exc:
        _fail(f"--period: {exc}")
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
    settings = _settings(ctx, warehouse_dir=warehouse)
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
        manifest = release_manifest(_settings(ctx, warehouse_dir=warehouse), release_id)
    except ReleaseError as exc:
        _fail(str(exc))
    typer.echo(json.dumps(manifest, indent=2, ensure_ascii=False))


@releases_app.command("rollback")
def releases_rollback(
    ctx: typer.Context,
    release_id: Annotated[str, typer.Argument(help="Release to make current again.")],
    warehouse: Annotated[Path | None, typer.Option("--warehouse", help="Warehouse folder.")] = None,
) -> None:
    """Make an earlier release current again (atomically)."""
    try:
        rollback(_settings(ctx, warehouse_dir=warehouse), release_id)
    except ReleaseError as exc:
        _fail(str(exc))
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
        _fail(str(exc))
    with console.status("Reading the extracts") as status:
        tally = measure(folder, period, lambda name: status.update(f"Reading the extracts: {name}"))
    rows = calibration_table(figures, tally)
    _print_calibration(rows, period)
    if docs:
        try:
            write_into(docs, render_markdown(rows))
        except (OSError, ValueError) as exc:
            _fail(str(exc))
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


class OutputFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"


class CatalogFormat(StrEnum):
    TABLE = "table"
    JSON = "json"


class Language(StrEnum):
    DA = "da"
    EN = "en"


@app.command("query")
def query_command(
    ctx: typer.Context,
    request_file: Annotated[
        Path, typer.Argument(metavar="REQUEST.json", help="An analysis request as JSON; - reads standard input.")
    ],
    fmt: Annotated[OutputFormat, typer.Option("--format", help="table (to read), json or csv (to save).")] = (
        OutputFormat.TABLE
    ),
    lang: Annotated[Language, typer.Option("--lang", help="Language of labels.")] = Language.DA,
    delimiter: Annotated[str, typer.Option("--delimiter", help="CSV delimiter: , or ; (with ; decimal commas).")] = ",",
    warehouse: Annotated[Path | None, typer.Option("--warehouse", help="Warehouse folder.")] = None,
    explain: Annotated[
        bool, typer.Option("--explain", help="Print the SQL the request runs (after the scope rewrite); run nothing.")
    ] = False,
    cohort: Annotated[
        str | None, typer.Option("--cohort", help="Only the persons of this cohort (its id; Advanced).")
    ] = None,
) -> None:
    """Run an analysis request against the current release, after scope and disclosure control.

    json and csv follow the download rules: view-only measures are left out and a view-only
    dimension in rows or columns is refused.
    """
    raw = _read_request(request_file)
    if cohort is not None and isinstance(raw, dict):
        raw = {**raw, "cohort": cohort}
    settings = _settings(ctx, warehouse_dir=warehouse)
    database = None if explain else _app_database(settings)  # --explain reads no data: nothing to audit
    service = AnalysisService(
        settings, audit=AuditTrail(database) if database else None, cohorts=cohort_store(settings, database)
    )
    try:
        principal = service.local_principal()
    except ValueError as exc:  # KOES_LOCAL_ORG is not an organisation
        if database:
            database.dispose()
        _fail(str(exc))
    try:
        if explain:
            for i, sql in enumerate(service.sql(raw, principal), start=1):
                typer.echo(f"-- query {i}\n{sql};\n")
            return
        downloads = fmt is not OutputFormat.TABLE  # json and csv follow the download rules
        result = service.run(raw, principal, lang.value, check=check_downloadable if downloads else None)
        if fmt is OutputFormat.JSON:
            body = result.to_json(lang.value, downloadable_only=True)
            typer.echo(json.dumps(body, indent=2, ensure_ascii=False))
        elif fmt is OutputFormat.CSV:
            if delimiter not in DELIMITERS:
                _fail(f"--delimiter: {delimiter!r} is not , or ;")
            typer.echo(to_csv(result, lang.value, delimiter), nl=False)
        else:
            _print_result(result, lang.value)
    except RequestError as exc:
        _request_problems(exc)
    except (NoReleaseError, AnalysisFailedError, CohortNotFoundError) as exc:
        _stop(str(exc))
    except ScopeDeniedError as exc:
        _stop(f"{exc} (local principal {principal.organisation}, roles {', '.join(sorted(principal.roles))})")
    except AppDatabaseError as exc:
        _stop(f"{exc}; nothing is shown without an audit record")
    finally:
        service.close()
        if database:
            database.dispose()


def _read_request(path: Path) -> object:
    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
    except OSError as exc:
        _fail(f"cannot read {path}: {exc.strerror or exc}")
    except UnicodeDecodeError:
        _fail(f"{path} is not UTF-8 text")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        _fail(f"{path} is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})")


def _request_problems(exc: RequestError) -> NoReturn:
    count = len(exc.problems)
    console.print(f"[bold red]The request has {count} problem{'s' if count != 1 else ''}:[/]")
    for problem in exc.problems:
        console.print(f"  • {problem.field}: {problem.message}", soft_wrap=True, markup=False, highlight=False)
    raise typer.Exit(code=2)


def _print_result(result: AnalysisResult, language: str) -> None:
    rows = result.table(language)
    labels = (1 if result.plan.areas else 0) + len(result.plan.rows)
    p = result.provenance
    table = Table(title=f"{result.request.perspective} {result.plan.period}", caption=result.provenance.note(language))
    for j, title in enumerate(rows[0]):
        table.add_column(str(title), justify="left" if j < labels else "right")
    for line in rows[1:]:
        table.add_row(*(_shown(v) for v in line))
    console.print(table)
    console.print(
        f"Release {p.release_id} ({p.extract_period}) · {p.suppression_rule} · {result.cells_suppressed} hidden cell(s)"
        f" · {p.geography.get(language, '')} · {p.engine} · {p.generated_at}",
        markup=False,
        highlight=False,
    )


def _shown(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


@app.command("catalog")
def catalog_command(
    ctx: typer.Context,
    fmt: Annotated[CatalogFormat, typer.Option("--format", help="table or json.")] = CatalogFormat.TABLE,
    lang: Annotated[Language, typer.Option("--lang", help="Language of labels.")] = Language.DA,
    warehouse: Annotated[Path | None, typer.Option("--warehouse", help="Warehouse folder (for the years).")] = None,
) -> None:
    """List perspectives and their measures, dimensions (with members as json) and segments."""
    service = AnalysisService(_settings(ctx, warehouse_dir=warehouse))
    try:
        body = service_catalog(service, lang.value)
    finally:
        service.close()
    if fmt is CatalogFormat.JSON:
        typer.echo(json.dumps(body, indent=2, ensure_ascii=False))
        return
    perspectives = Table(title="Perspectives")
    for column in ("perspective", "label", "default measures"):
        perspectives.add_column(column, no_wrap=column == "perspective")
    by_measure: dict[str, dict[str, Any]] = {}
    for p in body["perspectives"]:
        perspectives.add_row(p["id"], p["label"], ", ".join(p["default_measures"]))
        for m in p["measures"]:
            by_measure.setdefault(m["id"], {**m, "perspectives": []})["perspectives"].append(p["id"])
    console.print(perspectives)
    measures = Table(title="Measures")
    for column in ("measure", "label", "unit", "perspectives", "download"):
        measures.add_column(column, no_wrap=column == "measure")
    for m in by_measure.values():
        shown = "all" if len(m["perspectives"]) == len(body["perspectives"]) else ", ".join(m["perspectives"])
        measures.add_row(m["id"], m["label"], m["unit"], shown, "yes" if m["downloadable"] else "view only")
    console.print(measures)
    dimensions = Table(title="Dimensions")
    for column in ("dimension", "label", "group", "members", "download"):
        dimensions.add_column(column, no_wrap=column == "dimension")
    for d in body["dimensions"]:
        count = "from the data" if d["open"] else f"{len(d['members']):,}"
        dimensions.add_row(d["id"], d["label"], d["group"], count, "yes" if d["downloadable"] else "view only")
    console.print(dimensions)
    segments = Table(title="Segments")
    for column in ("segment", "label", "description"):
        segments.add_column(column, no_wrap=column == "segment")
    for s in body["segments"]:
        segments.add_row(s["id"], s["label"], s["description"])
    console.print(segments)
    if body["release"] is None:
        console.print("No release is loaded: period members (years, quarters, months) are empty.")


@app.command("serve")
def serve_command(
    ctx: typer.Context,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8000,
    warehouse: Annotated[Path | None, typer.Option("--warehouse", help="Warehouse folder.")] = None,
    prewarm: Annotated[
        bool, typer.Option("--prewarm/--no-prewarm", help="Answer the Standard reports' default views at start-up.")
    ] = True,
    workers: Annotated[int | None, typer.Option("--workers", min=1, help="Worker processes (KOES_WORKERS).")] = None,
) -> None:
    """Serve the web app and the JSON API with uvicorn."""
    from koes.cli.serving import serve
    from koes.web.app import create_app

    settings = replace(_settings(ctx, warehouse_dir=warehouse), prewarm_reports=prewarm)
    settings = replace(settings, workers=workers) if workers else settings
    try:
        web = create_app(settings)
    except ValueError as exc:  # a misconfigured local principal or api_auth
        _fail(str(exc))
    except KeyFileError as exc:
        _stop(str(exc))
    except AppDatabaseError as exc:
        _stop(str(exc))
    console.print(
        f"KØS on http://{host}:{port}/ (API: /api/v1, description: /api/v1/docs, /api/v1/openapi.json); "
        f"warehouse {settings.warehouse}",
        markup=False,
        highlight=False,
    )
    if settings.api_auth == "token":
        console.print(
            "Calls need an API token (Authorization: Bearer …): koes users token USERNAME, or koes demo-users.",
            markup=False,
            highlight=False,
        )
    else:
        console.print(
            f"api_auth = local: every call is {settings.local_user} ({settings.local_org}, {settings.local_role}).",
            markup=False,
            highlight=False,
        )
    service = web.state.service
    assert isinstance(service, AnalysisService)
    try:
        console.print(f"Serving release {service.release_id()}.", markup=False, highlight=False)
    except NoReleaseError:
        console.print(
            "No release is loaded yet: analyses answer 503 until `koes load EXTRACTS_DIR` has made one.",
            markup=False,
            highlight=False,
        )
    serve(web, settings, host, port)  # one process, or several workers (koes.cli.serving)


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
    database = _app_database(_settings(ctx))
    try:
        organisations = list_organisations(database)
    except AppDatabaseError as exc:
        _stop(str(exc))
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
        _fail(f"--anchor: {exc}")
    database = _app_database(_settings(ctx))
    try:
        report = AuditTrail(database).check(expected)
    except AppDatabaseError as exc:
        _stop(str(exc))
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
        _fail(f"--since: {exc}")
    try:
        end = parse_instant(until, end=True) if until else None
    except ValueError as exc:
        _fail(f"--until: {exc}")
    database = _app_database(_settings(ctx))
    trail = AuditTrail(database)
    try:
        body = trail.export(start, end, org, fmt.value)
    except ValueError as exc:  # --org is not an organisation
        _fail(f"--org: {exc}")
    except AppDatabaseError as exc:
        _stop(str(exc))
    finally:
        database.dispose()
    if out is None:
        typer.echo(body, nl=False)
        return
    try:
        out.write_bytes(body)
    except OSError as exc:
        _fail(f"cannot write {out}: {exc.strerror or exc}")
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
    database = _app_database(_settings(ctx))
    trail = AuditTrail(database)
    users = UserService(trail)
    try:
        yield _Admin(users, TokenService(trail, users))
    except InvalidInputError as exc:
        _request_problems(exc)
    except (NotFoundError, ForbiddenError, ConflictError, AppDatabaseError) as exc:
        _stop(str(exc))
    finally:
        database.dispose()


def _read_password(password_file: Path | None, username: str) -> str:
    if password_file is None:
        value: str = typer.prompt(f"Password for {username}", hide_input=True, confirmation_prompt=True, err=True)
        return value
    try:
        lines = password_file.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        _fail(f"cannot read {password_file}: {exc.strerror or exc}")
    except UnicodeDecodeError:
        _fail(f"{password_file} is not UTF-8 text")
    if not lines or not lines[0]:
        _fail(f"{password_file}: the password is its first line, and it is empty")
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
        _fail("--expires: a date, YYYY-MM-DD")
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
    settings = _settings(ctx)
    database = _app_database(settings)
    try:
        count = SessionService(AuditTrail(database), settings).purge()
    except AppDatabaseError as exc:
        _stop(str(exc))
    finally:
        database.dispose()
    console.print(f"{count} ended session(s) deleted.", markup=False, highlight=False)


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
    settings = _settings(ctx, warehouse_dir=warehouse)
    municipality = _kommunekode(org)
    day = _iso_date("--reference-date", reference_date) if reference_date else None
    if not file.is_file():
        _fail(f"{file} is not a file")
    request = CheckRequest(municipality, sheet, day, user=settings.local_user, purpose=purpose)
    database = _app_database(settings)
    try:
        check = check_cohort_file(settings, file, request, AuditTrail(database))
    except CohortRefusedError as exc:
        _stop(exc.text(lang.value))
    except AppDatabaseError as exc:
        _stop(f"{exc}; nothing is checked without an audit record")
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
    settings = _settings(ctx, warehouse_dir=warehouse)
    if not file.is_file():
        _fail(f"{file} is not a file")
    municipality = _kommunekode(org)
    request = UploadRequest(purpose=purpose, name=name, days=days, sheet=sheet, filename=file.name)
    with _cohort_service(settings) as (service, principal_of):
        principal = principal_of(user)
        if principal.home_municipality != municipality:
            _fail(f"--org: {principal.user} is a user of {principal.organisation}, not kommune:{municipality}")
        try:
            result = service.upload(principal, file, request)
        except CohortRefusedError as exc:
            _stop(exc.text(lang.value))
    _print_upload(result, lang.value)


def _print_upload(result: UploadResult, language: str) -> None:
    lines = result.report.to_text(language)[:-1]  # the check's last line says nothing is kept
    for line in lines:
        typer.echo(line)
    if result.cohort is None:
        assert result.refusal is not None
        _stop(result.refusal.text(language))
    typer.echo(result.to_json(language)["report"]["note"])
    typer.echo(f"Kohorte / cohort: {result.cohort.id}")


@cohort_app.command("list")
def cohort_list(ctx: typer.Context, user: UserOption = None) -> None:
    """The user's cohorts and those shared with it (a local administrator: its organisation's)."""
    with _cohort_service(_settings(ctx)) as (service, principal_of):
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
    with _cohort_service(_settings(ctx)) as (service, principal_of):
        deleted = service.delete(principal_of(user), cohort_id)
    console.print(f'Cohort {deleted.id} "{deleted.name}" deleted.', markup=False, highlight=False)


@contextmanager
def _cohort_service(settings: Settings) -> Iterator[tuple[CohortService, Any]]:
    """The cohort service and a function from a user name (None: the local user) to its principal."""
    database = _app_database(settings)
    trail = AuditTrail(database)
    users = UserService(trail)

    def principal_of(name: str | None) -> Any:
        username = name or settings.local_user
        try:
            return users.principal_for(users.user_by_name(OPERATOR, username).id)
        except NotFoundError:
            _fail(f"--user: there is no app user {username!r} (create one with koes users create)")

    try:
        yield CohortService(settings, trail, users), principal_of
    except (NotFoundError, ForbiddenError, InvalidInputError, AppDatabaseError) as exc:
        _stop(str(exc))
    finally:
        database.dispose()


def _kommunekode(text: str) -> int:
    code = text.removeprefix("kommune:")
    if not (code.isascii() and code.isdigit()):
        _fail(f"--org: {text!r} is not a kommunekode (101) or kommune:101")
    return int(code)


def _iso_date(option: str, text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        _fail(f"{option}: {text!r} is not a date (YYYY-MM-DD)")


@app.command("demo-users")
def demo_users_command(ctx: typer.Context) -> None:
    """Create the demo users (idempotent) and print how to sign in, with a fresh API token for each."""
    database = _app_database(_settings(ctx))
    try:
        accounts = ensure_demo_users(AuditTrail(database))
    except (InvalidInputError, NotFoundError, ForbiddenError, ConflictError, AppDatabaseError) as exc:
        _stop(str(exc))
    finally:
        database.dispose()
    table = Table(title="Demo users (synthetic data only; the same password for all)")
    for column in ("user", "organisation", "roles", "password", "API token (new on every run)"):
        table.add_column(column, no_wrap=True)
    for a in accounts:
        table.add_row(a.username, a.organisation, ", ".join(a.roles), a.password, a.token)
    Console(width=max(200, console.width)).print(table)
    typer.echo("Use a token with the API:  curl -H 'Authorization: Bearer TOKEN' http://127.0.0.1:8000/api/v1/me")
    typer.echo("TOTP is not enrolled for the demo users: the web sign-in pages (next step) will ask individ and")
    typer.echo("admin users to enrol with a QR code at their first sign-in. The API takes the tokens above.")


def _app_database(settings: Settings) -> AppDatabase:
    try:
        return open_app_database(settings)
    except AppDatabaseError as exc:
        _stop(str(exc))


def _stop(message: str) -> NoReturn:
    console.print("[bold red]Error:[/] ", end="")
    console.print(message, soft_wrap=True, markup=False, highlight=False)
    raise typer.Exit(code=1)


def _fail(message: str) -> NoReturn:
    console.print("[bold red]Error:[/] ", end="")
    console.print(message, soft_wrap=True, markup=False, highlight=False)
    raise typer.Exit(code=2)


register_operations(app)  # koes backup, koes restore (koes.cli.operations)


def main() -> None:
    app()
