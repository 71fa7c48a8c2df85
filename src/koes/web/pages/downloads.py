"""What every download page shares: the format asked for, the CSV delimiter of the page's
language (Danish spreadsheets expect ``;``), and the file as an attachment that is never cached."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from koes.services.export import PRECISIONS, SHOWN, Export
from koes.web.pages.common import NO_STORE

FORMATS = ("csv", "xlsx")


def format_of(request: Request) -> str | None:
    """``format`` in the address (CSV when absent); None for a format there is no file for."""
    fmt = request.query_params.get("format", "csv")
    return fmt if fmt in FORMATS else None


# What a download link may say: ``delimiter`` (``,`` ``;`` or their names) and ``precision``.
NAMED_DELIMITERS = {",": ",", ";": ";", "comma": ",", "semicolon": ";"}


def delimiter(request: Request, lang: str) -> str | None:
    """``delimiter`` in the address, else the language's (Danish spreadsheets expect ``;``); None
    for a delimiter there is no CSV for."""
    asked = request.query_params.get("delimiter")
    if asked is None or asked == "":
        return ";" if lang == "da" else ","
    return NAMED_DELIMITERS.get(asked)


def precision(request: Request) -> str | None:
    """``precision`` in the address: ``shown`` (the default: the decimals the page shows) or ``full``."""
    asked = request.query_params.get("precision") or SHOWN
    return asked if asked in PRECISIONS else None


def attachment(file: Export, prefix: str = "") -> Response:
    headers = {**NO_STORE, "Content-Disposition": f'attachment; filename="{prefix}{file.filename}"'}
    return Response(file.content, media_type=file.media_type, headers=headers)
