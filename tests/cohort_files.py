"""Cohort upload files for tests: CSV in any encoding and XLSX written part by part.

The XLSX writer writes the XML parts itself, so a test can put in exactly what Excel writes and
what other writers do not: formulas with and without saved values, numbers written as
``1.010901234E9``, date-formatted cells, merged ranges, inline strings, even a hostile part.
"""

from __future__ import annotations

import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


@dataclass(frozen=True)
class Formula:
    formula: str
    cached: str | None = None  # the value Excel saved; None: a formula never calculated
    text: bool = False  # the saved value is text (t="str")


@dataclass(frozen=True)
class Raw:
    """A number cell written exactly as given (``1.010901234E9``), optionally with a date format."""

    value: str
    date_style: bool = False


@dataclass(frozen=True)
class Inline:
    text: str


@dataclass(frozen=True)
class Error:
    value: str  # "#N/A"


XCell = str | int | float | Formula | Raw | Inline | Error | None


def column(position: int) -> str:
    letters, n = "", position + 1
    while n:
        n, rest = divmod(n - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def write_csv(path: Path, rows: Sequence[Sequence[str]], *, delimiter: str = ";", encoding: str = "utf-8") -> Path:
    text = "\r\n".join(delimiter.join(row) for row in rows) + "\r\n"
    path.write_bytes(text.encode(encoding))
    return path


def write_xlsx(
    path: Path,
    sheets: Mapping[str, Sequence[Sequence[XCell]]],
    *,
    merges: Mapping[str, Sequence[str]] | None = None,
    hidden: Sequence[str] = (),
    row_numbers: Mapping[str, Sequence[int]] | None = None,
    extra_parts: Mapping[str, bytes] | None = None,
    sheet_prefix: str = "",
) -> Path:
    """Write a workbook; ``row_numbers`` gives each row's Excel number (default 1, 2, ...)."""
    strings: list[str] = []
    index: dict[str, int] = {}
    parts: dict[str, bytes] = {}
    for n, (name, rows) in enumerate(sheets.items(), start=1):
        numbers = (row_numbers or {}).get(name) or list(range(1, len(rows) + 1))
        body = []
        for number, row in zip(numbers, rows, strict=True):
            cells = "".join(
                _cell(f"{column(i)}{number}", v, strings, index) for i, v in enumerate(row) if v is not None
            )
            body.append(f'<row r="{number}">{cells}</row>')
        merged = (merges or {}).get(name, ())
        merge_xml = (
            f'<mergeCells count="{len(merged)}">' + "".join(f'<mergeCell ref="{m}"/>' for m in merged) + "</mergeCells>"
            if merged
            else ""
        )
        parts[f"xl/worksheets/sheet{n}.xml"] = (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>{sheet_prefix}'
            f'<worksheet xmlns="{NS}"><sheetData>{"".join(body)}</sheetData>{merge_xml}</worksheet>'
        ).encode()
    states = {name: ' state="hidden"' if name in hidden else "" for name in sheets}
    sheet_list = "".join(
        f'<sheet name="{escape(name)}" sheetId="{n}" r:id="rId{n}"{states[name]}/>'
        for n, name in enumerate(sheets, start=1)
    )
    rels = "".join(
        f'<Relationship Id="rId{n}" Type="{REL}/worksheet" Target="worksheets/sheet{n}.xml"/>'
        for n in range(1, len(sheets) + 1)
    )
    parts["[Content_Types].xml"] = b'<?xml version="1.0"?><Types xmlns="x"/>'
    parts["xl/workbook.xml"] = (
        f'<?xml version="1.0"?><workbook xmlns="{NS}" xmlns:r="{REL}"><sheets>{sheet_list}</sheets></workbook>'
    ).encode()
    parts["xl/_rels/workbook.xml.rels"] = (
        f'<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f"{rels}</Relationships>"
    ).encode()
    parts["xl/styles.xml"] = (
        f'<?xml version="1.0"?><styleSheet xmlns="{NS}"><numFmts count="1">'
        '<numFmt numFmtId="164" formatCode="dd\\-mm\\-yyyy"/></numFmts>'
        '<cellStyleXfs count="1"><xf numFmtId="14"/></cellStyleXfs>'
        '<cellXfs count="3"><xf numFmtId="0"/><xf numFmtId="164"/><xf numFmtId="0"/></cellXfs></styleSheet>'
    ).encode()
    items = "".join(f'<si><t xml:space="preserve">{escape(s)}</t></si>' for s in strings)
    parts["xl/sharedStrings.xml"] = (f'<?xml version="1.0"?><sst xmlns="{NS}">{items}</sst>').encode()
    parts.update(extra_parts or {})
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return path


def _cell(ref: str, value: XCell, strings: list[str], index: dict[str, int]) -> str:
    if isinstance(value, Formula):
        f = f"<f>{escape(value.formula)}</f>"
        if value.cached is None:
            return f'<c r="{ref}">{f}</c>'
        kind = ' t="str"' if value.text else ""
        return f'<c r="{ref}"{kind}>{f}<v>{escape(value.cached)}</v></c>'
    if isinstance(value, Raw):
        style = ' s="1"' if value.date_style else ""
        return f'<c r="{ref}"{style}><v>{value.value}</v></c>'
    if isinstance(value, Inline):
        return f'<c r="{ref}" t="inlineStr"><is><t>{escape(value.text)}</t></is></c>'
    if isinstance(value, Error):
        return f'<c r="{ref}" t="e"><v>{escape(value.value)}</v></c>'
    if isinstance(value, str):
        if value not in index:
            index[value] = len(strings)
            strings.append(value)
        return f'<c r="{ref}" t="s"><v>{index[value]}</v></c>'
    return f'<c r="{ref}"><v>{value!r}</v></c>'


def cpr_numbers(count: int, *, start: int = 0) -> list[str]:
    """``count`` distinct valid CPR numbers from the never-issued space (failing modulus 11, not born
    1 January), as the synthetic generator makes them; about a tenth are born on days 1-9."""
    from koes.domain.cpr import parse_cpr

    found: list[str] = []
    i = start
    while len(found) < count:
        day, month, yy, seq = 2 + (i * 11) % 27, 1 + (i // 27) % 12, 40 + (i // 324) % 50, 1000 + (i * 7) % 9000
        digits = f"{day:02d}{month:02d}{yy:02d}{seq:04d}"
        parsed = parse_cpr(digits)
        if parsed.cpr is not None and not parsed.cpr.mod11_ok:
            found.append(digits)
        i += 1
    return found
