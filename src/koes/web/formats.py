"""Numbers and dates as the pages show them, in the page's language.

Danish: ``1.234.567,5`` and ``31-12-2024``. English: ``1,234,567.5`` and ``2024-12-31`` (ISO 8601,
because a day-first date is read as month-first by part of an English-reading audience).
Pages format values here rather than in templates, so every page writes a number the same way.
"""

from __future__ import annotations

from datetime import date

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
