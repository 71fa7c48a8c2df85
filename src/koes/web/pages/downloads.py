"""What every download page shares: the format asked for, the CSV delimiter of the page's
language (Danish spreadsheets expect ``;``), and the file as an attachment that is never cached."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from koes.services.export import Export
from koes.web.pages.common import NO_STORE

FORMATS = ("csv", "xlsx")


def format_of(request: Request) -> str | None:
    """``format`` in the address (CSV when absent); None for a format there is no file for."""
    fmt = request.query_params.get("format", "csv")
    return fmt if fmt in FORMATS else None


def delimiter(lang: str) -> str:
    return ";" if lang == "da" else ","


def attachment(file: Export, prefix: str = "") -> Response:
    headers = {**NO_STORE, "Content-Disposition": f'attachment; filename="{prefix}{file.filename}"'}
    return Response(file.content, media_type=file.media_type, headers=headers)
