"""Run the benchmarks and write docs/benchmarks.md.

``python -m benchmarks.run [small|national|all]`` (``make bench`` runs ``all``). Each case runs in
a fresh process; the report names the machine, the scale and the command.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"

# (name, persons, years, target)
GENERATION_CASES = {
    "small": ("1:100 scale", 60_000, "2022-2024", "well under 30 s"),
    "national": ("national scale", 5_900_000, "2023", "within 10 min, peak memory under 16 GiB"),
}


def _machine() -> str:
    cpu = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    system = f"{platform.system()} {platform.release()}, Python {platform.python_version()}"
    return f"{os.cpu_count()} cores ({cpu}), {mem_gib:.0f} GiB RAM, {system}"


def _run_generation(persons: int, years: str) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.generation", str(persons), years],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main(which: str) -> None:
    cases = list(GENERATION_CASES) if which == "all" else [which]
    lines = [
        "# Benchmarks",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {_machine()}.",
        f"Command: `make bench` (`python -m benchmarks.run {which}`). Each case runs in a fresh process;",
        "peak memory is the process's maximum resident set size.",
        "",
        "## Synthetic Denmark (`koes generate`, Parquet)",
        "",
        "| case | persons | years | time (s) | peak memory (GiB) | rows written | rows/s | size (MB) | target |",
        "|---|---:|---|---:|---:|---:|---:|---:|---|",
    ]
    details = []
    for case in cases:
        label, persons, years, target = GENERATION_CASES[case]
        print(f"running {label}: {persons:,} persons, {years}", file=sys.stderr)
        r = _run_generation(persons, years)
        lines.append(
            f"| {label} | {persons:,} | {years} | {r['seconds']} | {r['peak_rss_gib']} | {r['rows']:,} | "
            f"{r['rows_per_second']:,} | {int(str(r['bytes'])) / 1e6:,.0f} | {target} |"
        )
        counts = r["row_counts"]
        assert isinstance(counts, dict)
        details += [f"### Rows per register, {label}", "", "| register | rows |", "|---|---:|"]
        details += [f"| {name} | {n:,} |" for name, n in counts.items()] + [""]
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text("\n".join([*lines, "", *details]).rstrip() + "\n", encoding="utf-8")
    print(f"wrote {DOC}", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "all")
