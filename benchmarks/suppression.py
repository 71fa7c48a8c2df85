"""Secondary suppression alone, on tables shaped like a fine analysis: 490 rows (municipality × age
band) × 12 months with margins, about a third of the cells small. Median of ``RUNS`` per table.

``python -m benchmarks.suppression`` prints one JSON line: per table the hidden cells (primary +
secondary) and the median seconds of ``suppress``.
"""

from __future__ import annotations

import json
import random
import statistics
import time

from koes.domain.cells import TOTAL, CellKey
from koes.privacy.suppression import Grid, suppress

RUNS = 3
SHAPE = (490, 12)
SEEDS = (1, 2, 3)


def grid(n_rows: int, n_cols: int, seed: int) -> Grid:
    """Rows of mixed size (2 … 1,000 persons a cell), one cell in twenty drawn small on purpose."""
    rnd = random.Random(seed)
    base: dict[CellKey, int] = {}
    for r in range(n_rows):
        scale = rnd.choice([2, 5, 20, 100, 1000])
        for c in range(n_cols):
            base[(r, c)] = rnd.randint(0, scale) if rnd.random() > 0.05 else rnd.randint(1, 4)
    for r in range(n_rows):
        base[(r, TOTAL)] = sum(base[(r, c)] for c in range(n_cols))
    for c in range(n_cols):
        base[(TOTAL, c)] = sum(base[(r, c)] for r in range(n_rows))
    base[(TOTAL, TOTAL)] = sum(base[(r, TOTAL)] for r in range(n_rows))
    return Grid(n_rows, n_cols, base)


def measure() -> dict[str, object]:
    tables = []
    for seed in SEEDS:
        g = grid(*SHAPE, seed)
        times = []
        for _ in range(RUNS):
            began = time.perf_counter()
            result = suppress(g)
            times.append(time.perf_counter() - began)
        tables.append(
            {
                "seed": seed,
                "primary": len(result.primary),
                "secondary": len(result.secondary),
                "median_s": round(statistics.median(times), 3),
            }
        )
    return {"shape": list(SHAPE), "tables": tables}


if __name__ == "__main__":
    print(json.dumps(measure()))
