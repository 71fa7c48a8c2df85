"""What kind of file was sent: CSV text or an XLSX workbook; everything else is refused with a reason.

Decided from the bytes, never from the file name: a renamed picture is still a picture.
"""

from __future__ import annotations

import zipfile
from enum import Enum
from typing import BinaryIO

from koes.cohorts.limits import UploadLimits, UploadRefused

# Signatures of files analysts send by mistake, each with the message that says what to do.
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG", "file_image"),
    (b"\xff\xd8\xff", "file_image"),
    (b"GIF87a", "file_image"),
    (b"GIF89a", "file_image"),
    (b"II*\x00", "file_image"),
    (b"MM\x00*", "file_image"),
    (b"%PDF", "file_pdf"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "file_ole"),  # .xls, or an .xlsx with a password
    (b"\x1f\x8b", "file_binary"),
    (b"\x7fELF", "file_binary"),
)
_TEXT_CONTROLS = frozenset(range(32)) - {9, 10, 12, 13}


class FileKind(Enum):
    CSV = "csv"
    XLSX = "xlsx"


def file_size(stream: BinaryIO) -> int:
    stream.seek(0, 2)
    size = stream.tell()
    stream.seek(0)
    return size


def sniff(stream: BinaryIO, limits: UploadLimits) -> FileKind:
    """The kind of file, after the size limit; raises :class:`UploadRefused` for anything unusable."""
    size = file_size(stream)
    if size == 0:
        raise UploadRefused("file_empty")
    if size > limits.max_file_bytes:
        raise UploadRefused("file_too_large", size_mb=_mb(size), limit_mb=_mb(limits.max_file_bytes))
    head = stream.read(8192)
    stream.seek(0)
    if head.startswith(b"PK\x03\x04"):
        return _zip_kind(stream)
    for signature, code in _SIGNATURES:
        if head.startswith(signature):
            raise UploadRefused(code)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 text ("Unicode text" from Excel): NULs are expected
        return FileKind.CSV
    controls = sum(1 for b in head if b in _TEXT_CONTROLS)
    if b"\x00" in head or controls > len(head) // 100:
        raise UploadRefused("file_binary")
    return FileKind.CSV


def _zip_kind(stream: BinaryIO) -> FileKind:
    try:
        with zipfile.ZipFile(stream) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError):
        raise UploadRefused("file_broken_zip") from None
    finally:
        stream.seek(0)
    if "xl/workbook.xml" in names:
        return FileKind.XLSX
    if "content.xml" in names and "mimetype" in names:
        raise UploadRefused("file_ods")
    raise UploadRefused("file_zip_not_xlsx")


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f}"
