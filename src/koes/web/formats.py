"""Numbers and dates as the pages show them, in the page's language.

Danish: ``1.234.567,5`` and ``31-12-2024``. English: ``1,234,567.5`` and ``2024-12-31`` (ISO 8601,
because a day-first date is read as month-first by part of an English-reading audience).
Pages format values here rather than in templates, so every page writes a number the same way.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

DANISH_TIME = ZoneInfo("Europe/Copenhagen")

# Python writes "1,234.5"; Danish swaps the two separators.
_DANISH = str.maketrans({",": ".", ".": ","})


def number(value: float, decimals: int = 0, lang: str = "da") -> str:
    """``value`` rounded to ``decimals`` places with thousands separators: ``1.234.567`` in Danish."""
    text = f"{value:,.{max(decimals, 0)}f}"
    if text.startswith("-") and text.strip("-0.,") == "":
        text = text[1:]  # -0.0 rounds to "-0": a sign on a zero only puzzles a reader
    return text.translate(_DANISH) if lang == "da" else text


def day(value: date, lang: str = "da") -> str:
    """A calendar day: ``31-12-2024`` in Danish, ``2024-12-31`` in English.

    A ``datetime`` gives its own calendar day: convert it to Danish time first."""
    return value.strftime("%d-%m-%Y") if lang == "da" else value.strftime("%Y-%m-%d")


def moment(value: datetime | str, lang: str = "da") -> str:
    """A point in time in Danish local time (stored in UTC): ``04-12-2026 17:56`` in Danish,
    ``2026-12-04 17:56`` in English. A naive time is taken to be UTC."""
    at = datetime.fromisoformat(value) if isinstance(value, str) else value
    if at.tzinfo is None:
        at = at.replace(tzinfo=ZoneInfo("UTC"))
    local = at.astimezone(DANISH_TIME)
    return f"{day(local, lang)} {local:%H:%M}"


# Danish alphabetical order: a–z, then æ ø å; "aa" is å (Aabenraa, Aalborg and Aarhus come last),
# ä and ö sort as æ and ø, ü as y. The three letters after z map to the three characters after "z".
_COLLATE = str.maketrans({"æ": "{", "ä": "{", "ø": "|", "ö": "|", "å": "}", "ü": "y", "é": "e"})


def danish_key(text: str) -> tuple[str, str]:
    """A sort key that orders names as a Danish reader expects: Tønder before Tårnby, Aarhus after Ærø."""
    folded = text.casefold().replace("aa", "å")
    return folded.translate(_COLLATE), text


def in_sentence(label: str) -> str:
    """A label inside a sentence: its first letter lower-cased, abbreviations kept ("Aldersgruppe
    (KØS)" → "aldersgruppe (KØS)", not "(køs)"); a label that opens with an abbreviation
    ("ATC-hovedgruppe", "DRG-værdi") or a name stays as it is."""
    first = re.match(r"[^\s/(-]*", label)
    if first is not None and len(first[0]) > 1 and first[0].isupper():
        return label
    return label[:1].lower() + label[1:]
