"""The glossary (docs/GLOSSARY.md) covers the domain words used in names, and names only what exists.

:data:`TERMS` declares the words a reader meets in the code's names and must be able to look up;
each must appear in the glossary's term or name column. The other direction keeps the page true:
every name written in the middle column must still occur, as a whole word, in ``src/koes``.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GLOSSARY = ROOT / "docs" / "GLOSSARY.md"
SRC = ROOT / "src" / "koes"

TERMS = (
    "kommunekode",
    "region",
    "pseudonym",
    "pnr",
    "residence",
    "borgertid",
    "koen",
    "aldersgruppe",
    "kontakt",
    "forloeb",
    "aktionsdiagnose",
    "speciale",
    "prioritet",
    "indlaeggelser",
    "drg_takst",
    "faerdigbehandl",
    "sygesikring",
    "ydelse",
    "atc",
    "DREAM",
    "hjemmepleje",
    "quarantine",
    "release",
    "medfinansiering",
    "skygge",
    "forebyggelige",
    "genindlaeggelse",
    "standard_population_year",
    "Perspective",
    "Measure",
    "Dimension",
    "Segment",
    "aggregeret",
    "individ",
    "lokal_admin",
    "Grant",
    "Principal",
    "Scope",
    "recertification",
    "AuditEntry",
    "record_key",
    "cell_key",
    "PTable",
    "Cohort",
    "differencing",
    "Provenance",
)


def glossary_rows(text: str) -> list[tuple[str, list[str]]]:
    """(term, names) of every table row; the names are the backticked words of the middle column."""
    rows = []
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0] not in ("term", "---"):
            rows.append((cells[0], re.findall(r"`([^`]+)`", cells[1])))
    return rows


def missing_terms(rows: list[tuple[str, list[str]]], terms: tuple[str, ...]) -> list[str]:
    looked_up = " ".join(f"{term} {' '.join(names)}" for term, names in rows).lower()
    return [term for term in terms if term.lower() not in looked_up]


def stale_names(rows: list[tuple[str, list[str]]], source: str) -> list[str]:
    names = sorted({name for _, names in rows for name in names})
    return [name for name in names if not re.search(rf"(?<![\w.]){re.escape(name)}(?![\w])", source)]


def _source_text() -> str:
    files = sorted(SRC.rglob("*.py")) + sorted(SRC.rglob("*.yaml"))
    return "\n".join(path.read_text(encoding="utf-8") for path in files)


def test_every_declared_term_is_in_the_glossary() -> None:
    assert missing_terms(glossary_rows(GLOSSARY.read_text(encoding="utf-8")), TERMS) == []


def test_every_name_the_glossary_gives_exists_in_the_code() -> None:
    assert stale_names(glossary_rows(GLOSSARY.read_text(encoding="utf-8")), _source_text()) == []


def test_a_missing_term_and_a_stale_name_are_reported() -> None:
    text = "| term | in the code | meaning |\n|---|---|---|\n| kommune | `kommunekode`, `Gone` | a municipality |\n"
    rows = glossary_rows(text)
    assert rows == [("kommune", ["kommunekode", "Gone"])]
    assert missing_terms(rows, ("kommunekode", "medfinansiering")) == ["medfinansiering"]
    assert stale_names(rows, "kommunekode = 101\nGoneAway = 1\n") == ["Gone"]
