"""One generation run, measured in its own process (so its peak memory is its own)."""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

from koes.domain.periods import parse_years
from koes.refdata import load_refdata
from koes.synthetic.generate import GenerationRequest, generate


def measure(persons: int, years: str, out: Path, seed: int = 1) -> dict[str, object]:
    request = GenerationRequest(persons=persons, years=parse_years(years), seed=seed, out=out, force=True)
    began = time.perf_counter()
    result = generate(request, load_refdata())
    seconds = time.perf_counter() - began
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    rows = sum(result.row_counts.values())
    return {
        "seconds": round(seconds, 1),
        "peak_rss_gib": round(peak_kib / 1024 / 1024, 2),
        "rows": rows,
        "rows_per_second": round(rows / seconds),
        "bytes": sum(p.stat().st_size for p in out.iterdir()),
        "row_counts": dict(result.row_counts),
    }


if __name__ == "__main__":
    print(json.dumps(measure(int(sys.argv[1]), sys.argv[2], Path(sys.argv[3]))))
