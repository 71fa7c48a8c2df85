"""The audit trail's English summaries in Danish, for the audit page.

The trail keeps each summary as the services wrote it (English: it is the record, hashed into its
chain, and the CSV export gives it unchanged). A Danish page reads it through the phrases declared
in ``audit_phrases.yaml``: clause by clause, each clause matched whole by the first phrase whose
pattern fits. A clause no phrase knows stays as recorded and says so (``Clause.lang == "en"``), so
the page can mark it for screen readers; ``phrase_problems`` lists every declared phrase that does
not read its own example, which a test keeps empty.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

CLAUSE_SEPARATOR = "; "
_PLACEHOLDER = re.compile(r"\{(\w+)(\*?)\}")
_OPTIONAL = re.compile(r"\[\[(.*?)\]\]")


@dataclass(frozen=True)
class Phrase:
    pattern: re.Pattern[str]
    danish: str
    example: str


@dataclass(frozen=True)
class Clause:
    text: str
    lang: str  # "da" when a phrase read it, "en" when it stays as recorded


@cache
def phrases() -> tuple[Phrase, ...]:
    text = resources.files("koes.web").joinpath("audit_phrases.yaml").read_text(encoding="utf-8")
    raw: Any = yaml.safe_load(text)
    if not isinstance(raw, list):
        raise ValueError("audit_phrases.yaml must be a list of phrases")
    return tuple(Phrase(re.compile(str(p["en"])), str(p["da"]), str(p["example"])) for p in raw)


def in_language(summary: str, lang: str) -> list[Clause]:
    """``summary`` as the page shows it: as recorded in English, clause by clause in Danish."""
    if lang != "da":
        return [Clause(summary, "en")]
    out: list[Clause] = []
    for part in summary.split(CLAUSE_SEPARATOR):
        danish = read_clause(part)
        out.append(Clause(part, "en") if danish is None else Clause(danish, "da"))
    return out


def read_clause(text: str) -> str | None:
    """One clause in Danish, or None when no phrase reads it (or a part of it read as a phrase)."""
    for phrase in phrases():
        match = phrase.pattern.fullmatch(text)
        if match is not None:
            return _fill(phrase.danish, match)
    return None


def _fill(template: str, match: re.Match[str]) -> str | None:
    groups = match.groupdict()
    unread: list[str] = []

    def optional(part: re.Match[str]) -> str:
        names = [name for name, _ in _PLACEHOLDER.findall(part.group(1))]
        return part.group(1) if all(groups.get(n) is not None for n in names) else ""

    def value(part: re.Match[str]) -> str:
        recorded = groups.get(part.group(1)) or ""
        if not part.group(2):
            return recorded
        read = read_clause(recorded)
        if read is None:
            unread.append(recorded)
            return recorded
        return read

    filled = _PLACEHOLDER.sub(value, _OPTIONAL.sub(optional, template))
    return None if unread else filled


def phrase_problems() -> list[str]:
    """Every phrase that does not read its own example, or whose example another phrase reads first."""
    out = []
    for i, phrase in enumerate(phrases()):
        if phrase.pattern.fullmatch(phrase.example) is None:
            out.append(f"phrase {i + 1} ({phrase.pattern.pattern!r}): its example does not match")
            continue
        first = next(p for p in phrases() if p.pattern.fullmatch(phrase.example))
        if first is not phrase:
            out.append(f"phrase {i + 1}: its example {phrase.example!r} is read by {first.pattern.pattern!r}")
        elif read_clause(phrase.example) is None:
            out.append(f"phrase {i + 1}: a part of its example {phrase.example!r} is no phrase")
    return out
