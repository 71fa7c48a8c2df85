"""A cohort file from a multipart form, read into memory only: never spooled to disk.

Starlette writes an uploaded file over 1 MiB to a temporary file. A CPR list must never be stored,
not even for a moment, so this parser keeps the whole part in memory (its spool size is the upload
limit) and stops reading the request as soon as it is larger than the limit allows.
"""

from __future__ import annotations

import io
from collections.abc import AsyncGenerator
from dataclasses import dataclass

from fastapi import Request
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from koes.query.request import FieldProblem
from koes.services.errors import InvalidInputError

FORM_OVERHEAD = 64 * 1024  # boundaries, headers and the text fields around the file
FIELD_LIMIT = 16 * 1024  # a purpose or a name is a few lines


class UploadTooLargeError(Exception):
    def __init__(self, limit_mb: int) -> None:
        super().__init__(f"the file is larger than {limit_mb} MB")
        self.limit_mb = limit_mb


@dataclass(frozen=True)
class UploadForm:
    fields: dict[str, str]
    file: io.BytesIO | None
    filename: str | None


async def read_upload_form(request: Request, limit_mb: int) -> UploadForm:
    """The text fields and the one file of a ``multipart/form-data`` request, all in memory."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "multipart/form-data":
        raise InvalidInputError([FieldProblem("body", "send the file as multipart/form-data")])
    limit = limit_mb * 1024 * 1024 + FORM_OVERHEAD

    class InMemory(MultiPartParser):
        spool_max_size = limit + 1  # never rolled over to a temporary file

    async def limited() -> AsyncGenerator[bytes, None]:
        seen = 0
        async for chunk in request.stream():
            seen += len(chunk)
            if seen > limit:
                raise UploadTooLargeError(limit_mb)
            yield chunk

    parser = InMemory(request.headers, limited(), max_files=1, max_fields=10, max_part_size=FIELD_LIMIT)
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise InvalidInputError([FieldProblem("body", f"not a readable form: {exc.message}")]) from None
    fields: dict[str, str] = {}
    file: io.BytesIO | None = None
    filename: str | None = None
    try:
        for key, value in form.multi_items():
            if isinstance(value, UploadFile) and key != "file":
                fields[key] = ""  # a file under another name: the caller names it as an unknown field
            elif isinstance(value, UploadFile):
                await value.seek(0)
                file, filename = io.BytesIO(await value.read()), value.filename
            else:
                fields[key] = value
    finally:
        await form.close()
    return UploadForm(fields, file, filename)
