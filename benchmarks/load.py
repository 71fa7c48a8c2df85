"""One warehouse load, measured in its own process."""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

from koes.services.warehouse import load_extracts
from koes.settings import Settings


def measure(extracts: Path, data_dir: Path) -> dict[str, object]:
    settings = Settings(data_dir=data_dir, threads=2, memory_limit="12GB")
    began = time.perf_counter()
    result = load_extracts(settings, extracts)
    seconds = time.perf_counter() - began
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    rows_in = sum(a.rows_in for a in result.accounting)
    return {
        "seconds": round(seconds, 1),
        "peak_rss_gib": round(peak_kib / 1024 / 1024, 2),
        "rows_in": rows_in,
        "rows_per_second": round(rows_in / seconds),
        "stage_seconds": result.stage_seconds,
        "stage_rows": result.stage_rows,
        "release_bytes": sum(p.stat().st_size for p in result.release.folder.rglob("*") if p.is_file()),
    }


if __name__ == "__main__":
    print(json.dumps(measure(Path(sys.argv[1]), Path(sys.argv[2]))))
