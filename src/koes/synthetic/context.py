"""What every register generator receives besides the population: seeds, period, ids, refdata.

Determinism rests on two rules: each (chunk, stream) pair gets its own random generator derived
from the user's seed, and chunks are generated in order so id counters advance identically.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from koes.refdata import RefData


@dataclass
class IdAllocator:
    """Hands out consecutive integer keys per kind (contact, course element, …) across chunks."""

    _next: dict[str, int] = field(default_factory=dict)

    def allocate(self, kind: str, n: int) -> np.ndarray:
        start = self._next.get(kind, 1)
        self._next[kind] = start + n
        return np.arange(start, start + n, dtype=np.int64)


@dataclass
class ChunkContext:
    seed: int
    chunk: int
    start: date  # first day of the extract period
    end: date  # last day of the extract period (inclusive)
    refdata: RefData
    ids: IdAllocator

    def rng(self, stream: str) -> np.random.Generator:
        """An independent generator per (seed, chunk, stream); adding a stream changes no other."""
        return np.random.default_rng([self.seed, self.chunk, zlib.crc32(stream.encode())])

    @property
    def start64(self) -> np.datetime64:
        return np.datetime64(self.start, "D")

    @property
    def end64(self) -> np.datetime64:
        return np.datetime64(self.end, "D")

    @property
    def years(self) -> tuple[int, ...]:
        return tuple(range(self.start.year, self.end.year + 1))
