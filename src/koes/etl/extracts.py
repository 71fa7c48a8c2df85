"""Find the extract files of each register and learn how to read them.

Real extracts arrive as Parquet or as CSV written by whatever tool the data holder uses: UTF-8
with or without a byte-order mark, or Windows-1252, separated by ``,`` or by ``;`` (Danish
Excel). Everything about a file that can be known before reading its rows is found here, and
every file-level problem (unreadable, empty, wrong columns, another register's file) is
reported together, naming the file.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import pyarrow.parquet as pq

from koes.domain.registers import REGISTERS, Register
from koes.etl.sql import CPR_SHAPE

SNIFF_BYTES = 1 << 16
DECODE_CHUNK = 1 << 24
UTF8_BOM = codecs.BOM_UTF8


class Encoding(StrEnum):
    UTF8 = "utf-8"
    UTF8_BOM = "utf-8 with BOM"
    WINDOWS_1252 = "windows-1252"


@dataclass(frozen=True)
class ExtractFile:
    register: Register
    path: Path
    kind: str  # "parquet" or "csv"
    encoding: Encoding | None = None  # CSV only
    delimiter: str | None = None  # CSV only
    columns: tuple[str, ...] = ()

    @property
    def format_label(self) -> str:
        """How the file was read, e.g. "CSV, windows-1252, semicolon-separated"."""
        if self.kind == "parquet":
            return "Parquet"
        name = "semicolon" if self.delimiter == ";" else "comma"
        return f"CSV, {self.encoding}, {name}-separated"

    def describe(self) -> str:
        return f"{self.path.name}: {self.format_label}"


@dataclass
class ExtractSet:
    folder: Path
    files: list[ExtractFile] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def for_register(self, name: str) -> list[ExtractFile]:
        return [f for f in self.files if f.register.name == name]


def discover(folder: Path, registers: Iterable[Register] = REGISTERS) -> ExtractSet:
    """Every register's files in ``folder`` (``<register>.parquet``, ``<register>.csv`` or
    ``<register>_<part>.<ext>``), sniffed; all problems collected."""
    found = ExtractSet(folder)
    if not folder.is_dir():
        found.problems.append(f"{folder} is not a folder of register extracts")
        return found
    known = {r.name: r for r in registers}
    claimed: set[Path] = set()
    for register in known.values():
        paths = _files_of(folder, register.name)
        claimed.update(paths)
        if not paths:
            found.problems.append(f"no extract for register {register.name} (expected {register.name}.parquet or .csv)")
        for path in paths:
            sniffed = sniff(path, register, known)
            if isinstance(sniffed, ExtractFile):
                found.files.append(sniffed)
            else:
                found.problems.extend(sniffed)
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() in (".csv", ".parquet") and path not in claimed:
            found.problems.append(f"{path.name}: not the extract of any known register; rename or remove it")
    return found


def _files_of(folder: Path, name: str) -> list[Path]:
    others = set(REGISTERS.names) - {name}
    paths = []
    for path in sorted(folder.iterdir()):
        stem, ext = path.stem.lower(), path.suffix.lower()
        # "lpr_kontakter_2023.csv" is a part of lpr_kontakter, unless the stem is itself a register.
        if ext in (".csv", ".parquet") and (stem == name or stem.startswith(name + "_")) and stem not in others:
            paths.append(path)
    return paths


def sniff(path: Path, register: Register, known: dict[str, Register]) -> ExtractFile | list[str]:
    if path.stat().st_size == 0:
        return [f"{path.name}: the file is empty (0 bytes)"]
    if path.suffix.lower() == ".parquet":
        return _sniff_parquet(path, register, known)
    return _sniff_csv(path, register, known)


def _sniff_parquet(path: Path, register: Register, known: dict[str, Register]) -> ExtractFile | list[str]:
    try:
        columns = tuple(pq.read_schema(path).names)
    except Exception as exc:  # pyarrow raises several types for damaged files
        return [f"{path.name}: not a readable Parquet file (truncated or damaged?): {_first_line(exc)}"]
    problems = column_problems(path.name, columns, register, known)
    return problems or ExtractFile(register, path, "parquet", columns=columns)


def _sniff_csv(path: Path, register: Register, known: dict[str, Register]) -> ExtractFile | list[str]:
    encoding = detect_encoding(path)
    if encoding is Encoding.WINDOWS_1252 and (line := _undecodable_line(path, "cp1252")) is not None:
        # Five byte values mean nothing in Windows-1252; such a file would fail half-way through reading.
        return [f"{path.name}: line {line} is neither UTF-8 nor Windows-1252 text; save the file as UTF-8"]
    with path.open("rb") as f:
        head = f.read(SNIFF_BYTES)
    text = head.decode("cp1252" if encoding is Encoding.WINDOWS_1252 else "utf-8-sig", errors="replace")
    header_line = text.splitlines()[0] if text.splitlines() else ""
    delimiter = ";" if header_line.count(";") > header_line.count(",") else ","
    columns = tuple(c.strip().strip('"').strip().lower() for c in header_line.split(delimiter))
    if columns == ("",):
        return [f"{path.name}: no header line; the first line must name the columns"]
    problems = column_problems(path.name, columns, register, known)
    return problems or ExtractFile(register, path, "csv", encoding, delimiter, columns)


def detect_encoding(path: Path) -> Encoding:
    """UTF-8 (with or without BOM) if the whole file decodes as UTF-8, else Windows-1252.

    Windows-1252 decodes any byte sequence, so it is the fallback, never the first guess.
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    with path.open("rb") as f:
        first = f.read(len(UTF8_BOM))
        bom = first == UTF8_BOM
        chunk = b"" if bom else first
        try:
            while True:
                decoder.decode(chunk)
                chunk = f.read(DECODE_CHUNK)
                if not chunk:
                    decoder.decode(b"", final=True)
                    break
        except UnicodeDecodeError:
            return Encoding.WINDOWS_1252
    return Encoding.UTF8_BOM if bom else Encoding.UTF8


def _undecodable_line(path: Path, codec: str) -> int | None:
    """The 1-based line of the first byte ``codec`` cannot decode, or None. For single-byte codecs."""
    decoder = codecs.getincrementaldecoder(codec)()
    line = 1
    with path.open("rb") as f:
        while chunk := f.read(DECODE_CHUNK):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                return line + chunk.count(b"\n", 0, exc.start)
            line += chunk.count(b"\n")
    return None


def column_problems(
    filename: str, columns: tuple[str, ...], register: Register, known: dict[str, Register]
) -> list[str]:
    expected = register.column_names
    if set(columns) == set(expected):
        return []
    for other in known.values():
        if other.name != register.name and set(columns) == set(other.column_names):
            return [f"{filename}: has the columns of register {other.name}, not {register.name}"]
    missing = [c for c in expected if c not in columns]
    # A file without a header line has data in its first line: never repeat a CPR number from it.
    extra = [_masked(c) for c in columns if c not in expected]
    duplicated = sorted({_masked(c) for c in columns if columns.count(c) > 1})
    parts = []
    if missing:
        parts.append(f"missing column(s) {', '.join(missing)}")
    if extra:
        parts.append(f"unexpected column(s) {', '.join(extra)}")
    if duplicated:
        parts.append(f"repeated column(s) {', '.join(duplicated)}")
    return [f"{filename}: {'; '.join(parts)} (expected {', '.join(expected)})"]


def _masked(text: str) -> str:
    return re.sub(CPR_SHAPE, "XXXXXX-XXXX", text)


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
