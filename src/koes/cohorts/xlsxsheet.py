"""The XML of a worksheet and of the shared strings, parsed by callbacks: no element tree is built.

ElementTree's parser calls ``start``, ``data`` and ``end`` of a target object for each tag and
each piece of text; the targets here keep only what a row needs (a cell's reference, type,
style, saved value, inline text, whether it has a formula) and hand out each row when it ends.
Building elements and walking them, as ``iterparse`` does, took twice as long on a 100,000-row
sheet. Tag names are compared without their namespace: transitional and strict OOXML differ.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Protocol
from xml.etree.ElementTree import ParseError, XMLParser

from koes.cohorts.cells import Cell, SourceRow
from koes.cohorts.limits import UploadRefused

CHUNK = 256 * 1024


class Readable(Protocol):
    def read(self, size: int = ...) -> bytes: ...


# Turns a cell's (type, style, saved value, inline text, has formula) into a cell value.
CellReader = Callable[[str, str | None, str | None, str | None, bool], Cell]


class _Names:
    """Local names of namespaced tags, learnt once per tag."""

    def __init__(self) -> None:
        self._known: dict[str, str] = {}

    def __call__(self, tag: str) -> str:
        name = self._known.get(tag)
        if name is None:
            name = self._known[tag] = tag.rpartition("}")[2]
        return name


class SheetTarget:
    """Collects rows of a worksheet as the parser reports tags; ``done`` holds rows ready to hand out.

    The common cells (shared text, plain whole numbers) are read here directly; every other cell
    goes to ``read_cell``. A 100,000-row sheet makes about two million calls of ``start``, ``data``
    and ``end``, so each does as little as it can.
    """

    def __init__(self, read_cell: CellReader, strings: list[str], date_styles: frozenset[int]) -> None:
        self.read_cell = read_cell
        self.done: list[SourceRow] = []
        self.formula_lines: list[int] = []
        self._strings = strings
        self._date_styles = frozenset(str(s) for s in date_styles)
        self._names: dict[str, str] = {}
        self._columns: dict[str, int] = {}
        self._row = 0
        self._values: dict[int, Cell] = {}
        self._position = -1
        self._kind = "n"
        self._style: str | None = None
        self._formula = False
        self._value: str | None = None
        self._text: list[str] | None = None  # text being collected (a <v>, or a <t> of an inline string)
        self._inline: list[str] | None = None
        self._phonetic = False

    def _name(self, tag: str) -> str:
        name = self._names[tag] = tag.rpartition("}")[2]
        return name

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        name = self._names.get(tag) or self._name(tag)
        if name == "c":
            ref = attrib.get("r")
            if ref:
                letters = ref.rstrip("0123456789")
                position = self._columns.get(letters)
                self._position = position if position is not None else self._column(letters)
            else:
                self._position += 1
            self._kind = attrib.get("t", "n")
            self._style = attrib.get("s")
            self._formula = False
            self._value = None
            self._inline = None
        elif name == "v":
            self._text = []
        elif name == "f":
            self._formula = True
        elif name == "row":
            number = attrib.get("r")
            self._row = int(number) if number else self._row + 1
            self._values = {}
            self._position = -1
        elif name == "is":
            self._inline = []
        elif name == "rPh":
            self._phonetic = True
        elif name == "t" and self._inline is not None and not self._phonetic:
            self._text = []

    def _column(self, letters: str) -> int:
        position = self._columns[letters] = column_index(letters)
        return position

    def data(self, text: str) -> None:
        if self._text is not None:
            self._text.append(text)

    def end(self, tag: str) -> None:
        name = self._names.get(tag) or self._name(tag)
        if name == "c":
            self._end_cell()
        elif name == "v":
            self._value = "".join(self._text or ())
            self._text = None
        elif name == "row":
            if self._values:
                values = self._values
                self.done.append(SourceRow(self._row, tuple(values.get(i) for i in range(max(values) + 1))))
        elif name == "t" and self._text is not None and self._inline is not None:
            self._inline.append("".join(self._text))
            self._text = None
        elif name == "rPh":
            self._phonetic = False

    def _end_cell(self) -> None:
        kind, v = self._kind, self._value
        value: Cell
        if self._formula:
            self.formula_lines.append(self._row)
            value = self.read_cell(kind, self._style, v, None, True)
        elif kind == "s" and v is not None and v.isdigit() and int(v) < len(self._strings):
            value = self._strings[int(v)]
        elif kind == "n" and v is not None and v.isdigit() and self._style not in self._date_styles:
            value = int(v)
        elif kind == "inlineStr" and self._inline is not None:
            value = "".join(self._inline)
        else:
            inline = "".join(self._inline) if self._inline is not None else None
            value = self.read_cell(kind, self._style, v, inline, False)
        if value is not None:
            self._values[self._position] = value

    def close(self) -> None:
        return None


class StringsTarget:
    """Collects the shared strings: each ``<si>``'s text, or its rich-text runs, phonetic runs left out."""

    def __init__(self) -> None:
        self.strings: list[str] = []
        self._name = _Names()
        self._parts: list[str] = []
        self._text: list[str] | None = None
        self._phonetic = False

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        name = self._name(tag)
        if name == "si":
            self._parts = []
        elif name == "rPh":
            self._phonetic = True
        elif name == "t" and not self._phonetic:
            self._text = []

    def data(self, text: str) -> None:
        if self._text is not None:
            self._text.append(text)

    def end(self, tag: str) -> None:
        name = self._name(tag)
        if name == "t" and self._text is not None:
            self._parts.append("".join(self._text))
            self._text = None
        elif name == "rPh":
            self._phonetic = False
        elif name == "si":
            self.strings.append("".join(self._parts))

    def close(self) -> None:
        return None


def parse_rows(source: Readable, target: SheetTarget) -> Iterator[SourceRow]:
    """Feed the part to the parser chunk by chunk; hand out rows as they are completed."""
    parser = XMLParser(target=target)
    try:
        for chunk in iter(lambda: source.read(CHUNK), b""):
            parser.feed(chunk)
            if target.done:
                ready, target.done = target.done, []
                yield from ready
        parser.close()
    except ParseError:
        raise UploadRefused("xlsx_broken") from None
    yield from target.done


def parse_strings(source: Readable) -> list[str]:
    target = StringsTarget()
    parser = XMLParser(target=target)
    try:
        for chunk in iter(lambda: source.read(CHUNK), b""):
            parser.feed(chunk)
        parser.close()
    except ParseError:
        raise UploadRefused("xlsx_broken") from None
    return target.strings


def column_index(ref: str) -> int:
    """Zero-based column of a cell reference such as ``AB12``."""
    n = 0
    for ch in ref:
        if not "A" <= ch <= "Z":
            break
        n = n * 26 + ord(ch) - 64
    return n - 1
