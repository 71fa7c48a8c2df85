"""CSV as analysts save it: UTF-8 with or without BOM, Windows-1252 (or Excel's UTF-16), ``,`` ``;`` or tab.

Read as a stream in two passes over the file: the first decides the encoding (a file is UTF-8
only if all of it decodes as UTF-8), the second yields rows. Memory holds one row at a time,
whatever the file's size.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from koes.cohorts.cells import SourceRow
from koes.cohorts.limits import UploadRefused

CHUNK = 1 << 20
SNIFF_CHARS = 64 * 1024
SNIFF_LINES = 50
DELIMITERS = (";", "\t", ",")  # in order of preference when two fit equally well
_NO_DELIMITER = "\x1f"  # a one-column file: a separator that never occurs in text


@dataclass(frozen=True)
class CsvFormat:
    encoding: str
    delimiter: str | None  # None: one column
    quoted: bool

    def describe(self) -> dict[str, object]:
        names = {";": "semicolon", ",": "comma", "\t": "tab", None: "none"}
        return {"format": "csv", "encoding": self.encoding, "delimiter": names[self.delimiter], "quoted": self.quoted}


def detect_encoding(stream: BinaryIO) -> str:
    """``utf-8-sig`` (BOM), ``utf-16`` (BOM), ``utf-8`` when every byte decodes, else ``cp1252``."""
    stream.seek(0)
    head = stream.read(4)
    stream.seek(0)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    try:
        for chunk in iter(lambda: stream.read(CHUNK), b""):
            if b"\x00" in chunk:
                raise UploadRefused("file_binary")
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return "cp1252"
    finally:
        stream.seek(0)
    return "utf-8"


def _text(stream: BinaryIO, encoding: str) -> io.TextIOWrapper:
    stream.seek(0)
    # cp1252 leaves five byte values undefined; a replacement character there is better than a refusal,
    # since it can only fall in text columns (a CPR cell with one is reported as not a number).
    errors = "replace" if encoding == "cp1252" else "strict"
    return io.TextIOWrapper(stream, encoding=encoding, errors=errors, newline="")


def detect_format(stream: BinaryIO) -> CsvFormat:
    encoding = detect_encoding(stream)
    text = _text(stream, encoding)
    try:
        sample = text.read(SNIFF_CHARS)
    finally:
        text.detach()
    lines = sample.splitlines()
    if len(sample) == SNIFF_CHARS and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut
    lines = [line for line in lines if line.strip()][:SNIFF_LINES]
    return CsvFormat(encoding, _delimiter(lines), '"' in sample)


def _delimiter(lines: list[str]) -> str | None:
    """The separator that splits the sample into the same number (≥ 2) of fields on the most lines."""
    best: tuple[float, int, int] | None = None
    chosen: str | None = None
    for rank, delimiter in enumerate(DELIMITERS):
        widths = [len(fields) for fields in csv.reader(lines, delimiter=delimiter)]
        if not widths:
            continue
        width, count = Counter(widths).most_common(1)[0]
        if width < 2:
            continue
        score = (count / len(widths), width, -rank)
        if best is None or score > best:
            best, chosen = score, delimiter
    return chosen


def read_rows(stream: BinaryIO, fmt: CsvFormat) -> Iterator[SourceRow]:
    """Every record with the line it starts on (a quoted field may span lines)."""
    text = _text(stream, fmt.encoding)
    reader = csv.reader(text, delimiter=fmt.delimiter or _NO_DELIMITER, strict=True)
    line = 1
    try:
        for record in reader:
            yield SourceRow(line, tuple(record))
            line = reader.line_num + 1
    except csv.Error:
        raise UploadRefused("csv_broken", line=reader.line_num) from None
    except UnicodeDecodeError:
        raise UploadRefused("file_encoding") from None
    finally:
        text.detach()
