"""Analysis commands: ``koes query`` (one request through scope and disclosure control) and ``koes catalog``."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from koes.cli.common import (
    CatalogFormat,
    Language,
    app,
    app_database,
    console,
    fail,
    request_problems,
    settings_of,
    stop,
)
from koes.query.request import RequestError
from koes.query.scope import ScopeDeniedError
from koes.services.analysis import AnalysisFailedError, AnalysisService, NoReleaseError
from koes.services.appdb import AppDatabaseError
from koes.services.audit import AuditTrail
from koes.services.catalog import service_catalog
from koes.services.cohort_population import CohortNotFoundError, cohort_store
from koes.services.export import DELIMITERS, check_downloadable, to_csv
from koes.services.results import AnalysisResult


class OutputFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"


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
    settings = settings_of(ctx, warehouse_dir=warehouse)
    database = None if explain else app_database(settings)  # --explain reads no data: nothing to audit
    service = AnalysisService(
        settings, audit=AuditTrail(database) if database else None, cohorts=cohort_store(settings, database)
    )
    try:
        principal = service.local_principal()
    except ValueError as exc:  # KOES_LOCAL_ORG is not an organisation
        if database:
            database.dispose()
        fail(str(exc))
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
                fail(f"--delimiter: {delimiter!r} is not , or ;")
            typer.echo(to_csv(result, lang.value, delimiter), nl=False)
        else:
            _print_result(result, lang.value)
    except RequestError as exc:
        request_problems(exc)
    except (NoReleaseError, AnalysisFailedError, CohortNotFoundError) as exc:
        stop(str(exc))
    except ScopeDeniedError as exc:
        stop(f"{exc} (local principal {principal.organisation}, roles {', '.join(sorted(principal.roles))})")
    except AppDatabaseError as exc:
        stop(f"{exc}; nothing is shown without an audit record")
    finally:
        service.close()
        if database:
            database.dispose()


def _read_request(path: Path) -> object:
    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror or exc}")
    except UnicodeDecodeError:
        fail(f"{path} is not UTF-8 text")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        fail(f"{path} is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})")


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
    service = AnalysisService(settings_of(ctx, warehouse_dir=warehouse))
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
