"""``koes serve``: the web app and the JSON API under uvicorn."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from koes.cli.common import app, console, fail, settings_of, stop
from koes.services.analysis import AnalysisService, NoReleaseError
from koes.services.appdb import AppDatabaseError
from koes.services.signin import KeyFileError
from koes.settings import ApiAuth


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

    settings = replace(settings_of(ctx, warehouse_dir=warehouse), prewarm_reports=prewarm)
    settings = replace(settings, workers=workers) if workers else settings
    try:
        web = create_app(settings)
    except ValueError as exc:  # a misconfigured local principal or api_auth
        fail(str(exc))
    except KeyFileError as exc:
        stop(str(exc))
    except AppDatabaseError as exc:
        stop(str(exc))
    console.print(
        f"KØS on http://{host}:{port}/ (API: /api/v1, description: /api/v1/docs, /api/v1/openapi.json); "
        f"warehouse {settings.warehouse}",
        markup=False,
        highlight=False,
    )
    if settings.api_auth == ApiAuth.TOKEN:
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
