"""Run the benchmarks and write docs/benchmarks.md.

``python -m benchmarks.run [small|national|all]`` (``make bench`` runs ``all``). For each scale a
synthetic Denmark is generated and then loaded into a fresh warehouse; each step runs in a fresh
process so its peak memory is its own. The report names the machine, the scale and the command.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"


@dataclass(frozen=True)
class Scale:
    label: str
    persons: int
    years: str
    generation_target: str
    load_target: str


SCALES = {
    "small": Scale("1:100 scale", 60_000, "2022-2024", "well under 30 s", "–"),
    "national": Scale(
        "national scale", 5_900_000, "2023", "within 10 min, peak memory under 16 GiB", "within 10 min, under 16 GiB"
    ),
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


def _run(module: str, *args: str) -> dict[str, object]:
    out = subprocess.run([sys.executable, "-m", module, *args], check=True, capture_output=True, text=True)
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main(which: str) -> None:
    names = list(SCALES) if which == "all" else [which]
    gen_rows = [
        "| case | persons | years | time (s) | peak memory (GiB) | rows written | rows/s | size (MB) | target |",
        "|---|---:|---|---:|---:|---:|---:|---:|---|",
    ]
    load_rows = [
        "| case | rows read | time (s) | peak memory (GiB) | rows/s | read | validate | conform | derive | publish "
        "| release (MB) | target |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    details = []
    for name in names:
        s = SCALES[name]
        with tempfile.TemporaryDirectory(prefix="koes-bench-") as tmp:
            extracts, data = Path(tmp) / "extracts", Path(tmp) / "data"
            print(f"generating {s.label}: {s.persons:,} persons, {s.years}", file=sys.stderr)
            g = _run("benchmarks.generation", str(s.persons), s.years, str(extracts))
            gen_rows.append(
                f"| {s.label} | {s.persons:,} | {s.years} | {g['seconds']} | {g['peak_rss_gib']} | {g['rows']:,} | "
                f"{g['rows_per_second']:,} | {int(str(g['bytes'])) / 1e6:,.0f} | {s.generation_target} |"
            )
            print(f"loading {s.label}", file=sys.stderr)
            ld = _run("benchmarks.load", str(extracts), str(data))
        st = ld["stage_seconds"]
        rows = ld["stage_rows"]
        assert isinstance(st, dict) and isinstance(rows, dict)
        stage_cells = " | ".join(
            f"{st[k]} s ({int(rows[k]) / max(float(st[k]), 0.01):,.0f}/s)"
            for k in ("read", "validate", "conform", "derive", "publish")
        )
        load_rows.append(
            f"| {s.label} | {ld['rows_in']:,} | {ld['seconds']} | {ld['peak_rss_gib']} | {ld['rows_per_second']:,} | "
            f"{stage_cells} | {int(str(ld['release_bytes'])) / 1e6:,.0f} | {s.load_target} |"
        )
        counts = g["row_counts"]
        assert isinstance(counts, dict)
        details += [f"### Rows per register, {s.label}", "", "| register | rows |", "|---|---:|"]
        details += [f"| {n} | {c:,} |" for n, c in counts.items()] + [""]
    lines = [
        "# Benchmarks",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {_machine()}.",
        f"Command: `make bench` (`python -m benchmarks.run {which}`). Each step runs in a fresh process; peak",
        "memory is that process's maximum resident set size. Stage cells give seconds and rows per second",
        "(rows entering the stage: extract rows for read/validate/conform, warehouse rows for derive/publish).",
        "",
        "## Synthetic Denmark (`koes generate`, Parquet)",
        "",
        *gen_rows,
        "",
        "## Warehouse load (`koes load`)",
        "",
        *load_rows,
        "",
        *details,
    ]
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text("\n".join(lines).rstrip() + "\n", encoding="utf-8")
    print(f"wrote {DOC}", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "all")
