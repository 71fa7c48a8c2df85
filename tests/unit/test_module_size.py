"""Small modules, one concept each: a guard against rooms that grow by accretion (decision record 0008).

A module of ``src/koes`` may have at most :data:`CEILING` lines. The few over it today are declared
in :data:`OVER_SIZE` with the lines they have now and the reason: a *data* module (declarations
read by a small engine, which would only be scattered by a split) may stay; every other entry names
the seam along which it is to be split. The guard fails when a new module crosses the ceiling, when a
declared one grows past its recorded size, and when a declared one no longer needs its entry (it
shrank under the ceiling or is gone), so the list only ever gets shorter.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "koes"
CEILING = 500


@dataclass(frozen=True)
class OverSize:
    lines: int  # the size when declared: the entry allows no more
    reason: str  # "data: ..." may stay over the ceiling; "split: ..." names the seam to split along


OVER_SIZE: dict[str, OverSize] = {
    "synthetic/hospital_catalog.py": OverSize(773, "data: reasons for a stay, DRG groups and rates"),
    "domain/registers.py": OverSize(535, "data: the register layouts, declared once"),
    "privacy/suppression.py": OverSize(828, "split: the rule and grid, the secondary search, the exposure audit"),
    "services/cohort_store.py": OverSize(583, "split: upload, sharing, expiry"),
    "services/analysis.py": OverSize(556, "split: the result cache and the engine handle from the path"),
}


def line_counts(src: Path) -> dict[str, int]:
    return {
        path.relative_to(src).as_posix(): len(path.read_text(encoding="utf-8").splitlines())
        for path in sorted(src.rglob("*.py"))
    }


def size_problems(counts: dict[str, int], declared: dict[str, OverSize], ceiling: int = CEILING) -> list[str]:
    """Every module over its allowance and every entry no longer needed, each with what to do."""
    problems = []
    for module, lines in counts.items():
        entry = declared.get(module)
        if entry is None and lines > ceiling:
            problems.append(f"{module}: {lines} lines, over the ceiling of {ceiling}; split it along its seams")
        elif entry is not None and lines > entry.lines:
            problems.append(f"{module}: grew from {entry.lines} to {lines} lines; it is declared to shrink, not grow")
    for module in sorted(declared):
        if counts.get(module, 0) <= ceiling:
            problems.append(f"{module}: no longer over {ceiling} lines; remove its entry from OVER_SIZE")
    return problems


def test_no_module_is_over_its_allowance() -> None:
    assert size_problems(line_counts(SRC), OVER_SIZE) == []


def test_every_declared_module_says_why() -> None:
    assert [module for module, entry in OVER_SIZE.items() if not entry.reason.startswith(("data: ", "split: "))] == []


def test_the_guard_reports_a_new_a_grown_and_a_stale_module() -> None:
    declared = {"a.py": OverSize(12, "split: x"), "b.py": OverSize(11, "data: y")}
    counts = {"a.py": 13, "b.py": 10, "c.py": 10, "d.py": 11}
    assert size_problems(counts, declared, ceiling=10) == [
        "a.py: grew from 12 to 13 lines; it is declared to shrink, not grow",
        "d.py: 11 lines, over the ceiling of 10; split it along its seams",
        "b.py: no longer over 10 lines; remove its entry from OVER_SIZE",
    ]


def test_lines_are_counted_as_an_editor_numbers_them(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "m.py").write_text('"""Doc."""\n\nX = 1\n', encoding="utf-8")
    assert line_counts(tmp_path) == {"pkg/m.py": 3}
