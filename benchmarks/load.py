"""One warehouse load, measured in its own process."""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

from koes.services.warehouse import load_extracts
from koes.settings import Settings


class StepClock:
    """Seconds per step, from the load's progress reports (a step ends when the next one starts)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._current: tuple[str, float] | None = None

    def __call__(self, stage: str, step: str, done: int, total: int) -> None:
        now = time.perf_counter()
        name = f"{stage}: {step}"
        if self._current is not None and self._current[0] != name:
            label, began = self._current
            self.seconds[label] = round(self.seconds.get(label, 0.0) + now - began, 2)
        if self._current is None or self._current[0] != name:
            self._current = (name, now)


def measure(extracts: Path, data_dir: Path) -> dict[str, object]:
    settings = Settings(data_dir=data_dir, threads=2, memory_limit="12GB")
    steps = StepClock()
    began = time.perf_counter()
    result = load_extracts(settings, extracts, progress=steps)
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
        "step_seconds": steps.seconds,
        "release_bytes": sum(p.stat().st_size for p in result.release.folder.rglob("*") if p.is_file()),
    }


if __name__ == "__main__":
    print(json.dumps(measure(Path(sys.argv[1]), Path(sys.argv[2]))))
