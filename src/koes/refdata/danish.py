"""Danish titles for reference lists shipped in English only (README, "Reference data"), and
their check.

A Danish file gives every code of its English list exactly one non-empty title. The check names
every code missing, unknown, repeated or untitled at once, with the file and line it is on: a
Danish page must not fall back to English for the shipped data, and a typo in a code must not
leave a title silently unused.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class DanishList:
    """A Danish file beside the English list it titles, joined on ``key``."""

    english: str
    danish: str
    key: str
    title: str
    noun: str  # what a code names, in problems ("block 'A00-A09'")


ICD10_CHAPTERS_DA = DanishList("icd10_chapters.csv", "icd10_chapters_da.csv", "chapter_no", "title_da", "chapter")
ICD10_BLOCKS_DA = DanishList("icd10_blocks.csv", "icd10_blocks_da.csv", "block", "title_da", "block")
ATC_GROUPS_DA = DanishList("atc_groups.csv", "atc_groups_da.csv", "atc_code", "name_da", "ATC group")
DANISH_LISTS = (ICD10_CHAPTERS_DA, ICD10_BLOCKS_DA, ATC_GROUPS_DA)


def _numbered(path: Path) -> list[tuple[int, dict[str, str]]]:
    """Rows with the line they end on (the header is line 1), for problems that say where."""
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        return [(reader.line_num, row) for row in reader]


def danish_title_problems(folder: Path, spec: DanishList) -> list[str]:
    """Every problem of one Danish file against its English list; none when the file is absent
    (a copy of shared/refdata has only the English lists, and its pages show English titles)."""
    danish_path = folder / spec.danish
    if not danish_path.exists():
        return []
    known = {row[spec.key] for _, row in _numbered(folder / spec.english)}
    problems: list[str] = []
    titled: set[str] = set()
    for line, row in _numbered(danish_path):
        code = row.get(spec.key) or ""
        where = f"{spec.danish} line {line}: {spec.noun} {code!r}"
        if code not in known:
            problems.append(f"{where} is not in {spec.english}")
        elif code in titled:
            problems.append(f"{where} has a Danish title on an earlier line")
        elif not (row.get(spec.title) or "").strip():
            problems.append(f"{where} has an empty {spec.title}")
        titled.add(code)
    for line, row in _numbered(folder / spec.english):
        if row[spec.key] not in titled:
            problems.append(f"{spec.english} line {line}: {spec.noun} {row[spec.key]!r} has no title in {spec.danish}")
    return problems


def danish_titles(folder: Path, spec: DanishList) -> dict[str, str]:
    """Code → Danish title; empty when the file is absent. Raises ``ValueError`` naming every
    problem when the file is there but does not title its list exactly."""
    problems = danish_title_problems(folder, spec)
    if problems:
        raise ValueError(f"{spec.danish} in {folder}:\n" + "\n".join(problems))
    if not (folder / spec.danish).exists():
        return {}
    return {row[spec.key]: row[spec.title] for _, row in _numbered(folder / spec.danish)}
