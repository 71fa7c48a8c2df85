"""Generate a synthetic Denmark: persons in chunks, every register per chunk, one file each.

Output goes to a hidden sibling folder first and is moved into place only when complete, so an
interrupted run never leaves a half-written extract set where a loader might pick it up.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from koes import __version__
from koes.domain.periods import YearRange
from koes.domain.registers import REGISTERS
from koes.refdata import RefData
from koes.synthetic.care import generate_care
from koes.synthetic.context import ChunkContext, IdAllocator
from koes.synthetic.employment import generate_employment
from koes.synthetic.hospital import generate_hospital
from koes.synthetic.medicine import generate_medicine
from koes.synthetic.population import PnrRegistry, Population, generate_population, person_tables
from koes.synthetic.practice import generate_practice
from koes.synthetic.writer import ExtractFormat, ExtractWriter, extract_filename

MANIFEST = "generation.json"
CHUNK_PERSONS = 250_000  # part of the output's identity: changing it changes the data
MAX_PERSONS = 10_000_000

RegisterGenerator = Callable[[Population, ChunkContext], dict[str, pa.Table]]
GENERATORS: tuple[RegisterGenerator, ...] = (
    generate_hospital,
    generate_practice,
    generate_medicine,
    generate_employment,
    generate_care,
)


class GenerationError(ValueError):
    """A request that cannot be carried out; the message says what to change."""


@dataclass(frozen=True)
class GenerationRequest:
    persons: int
    years: YearRange
    seed: int
    out: Path
    fmt: ExtractFormat = ExtractFormat.PARQUET
    force: bool = False
    chunk_persons: int = CHUNK_PERSONS  # part of the output's identity; small values are for tests

    def problems(self) -> list[str]:
        found = []
        if self.persons < 1:
            found.append(f"--persons must be at least 1 (got {self.persons})")
        if self.persons > MAX_PERSONS:
            found.append(f"--persons must be at most {MAX_PERSONS:,} (got {self.persons:,})")
        if self.seed < 0:
            found.append(f"--seed must be zero or positive (got {self.seed})")
        found.extend(_output_problems(self.out, self.force))
        return found


@dataclass(frozen=True)
class GenerationResult:
    out: Path
    row_counts: Mapping[str, int]


ProgressCallback = Callable[[int, int], None]  # (persons done, persons in total)


def generate(
    request: GenerationRequest, refdata: RefData, progress: ProgressCallback | None = None
) -> GenerationResult:
    problems = request.problems()
    if problems:
        raise GenerationError("; ".join(problems))
    staging = request.out.parent / f".{request.out.name}.partial-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        counts = _write_all(request, refdata, staging, progress)
        manifest = _manifest(request, counts)
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        _replace(staging, request.out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return GenerationResult(request.out, counts)


def chunk_sizes(persons: int, chunk: int = CHUNK_PERSONS) -> Iterator[int]:
    full, rest = divmod(persons, chunk)
    yield from [chunk] * full
    if rest:
        yield rest


def _write_all(
    request: GenerationRequest, refdata: RefData, folder: Path, progress: ProgressCallback | None
) -> dict[str, int]:
    writer = ExtractWriter(folder, request.fmt)
    ids, used = IdAllocator(), PnrRegistry()
    done = 0
    # One chunk is written (Arrow encodes and compresses without the GIL) while the next is
    # generated, so both cores work; writes stay in chunk order, so the files are unchanged.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="koes-writer") as pool:
        pending: Future[None] | None = None
        for chunk, n in enumerate(chunk_sizes(request.persons, request.chunk_persons)):
            ctx = ChunkContext(
                seed=request.seed,
                chunk=chunk,
                start=request.years.start,
                end=request.years.end,
                refdata=refdata,
                ids=ids,
            )
            pop = generate_population(ctx, n, used)
            tables = person_tables(pop)
            for generator in GENERATORS:
                tables.update(generator(pop, ctx))
            if pending:
                pending.result()  # at most one chunk waits in memory
            pending = pool.submit(_write_chunk, writer, tables)
            done += n
            if progress:
                progress(done, request.persons)
        if pending:
            pending.result()
    return writer.close()


def _write_chunk(writer: ExtractWriter, tables: Mapping[str, pa.Table]) -> None:
    for name, table in tables.items():
        writer.write(name, table)


def _manifest(request: GenerationRequest, counts: Mapping[str, int]) -> dict[str, object]:
    # No wall-clock time in the manifest: the same arguments must give byte-identical files.
    return {
        "generator": "koes.synthetic",
        "version": __version__,
        "synthetic": True,
        "parameters": {
            "persons": request.persons,
            "years": [request.years.first, request.years.last],
            "seed": request.seed,
            "format": request.fmt.value,
            "chunk_persons": request.chunk_persons,
        },
        "period": {"start": request.years.start.isoformat(), "end": request.years.end.isoformat()},
        "files": {r.name: extract_filename(r.name, request.fmt) for r in REGISTERS},
        "row_counts": dict(counts),
        "note": (
            "Synthetic data. CPR numbers are well-formed and consistent with birth date and sex "
            "but fail modulus 11 on dates other than 1 January, a space CPR has not issued."
        ),
    }


def _output_problems(out: Path, force: bool) -> list[str]:
    if out.exists() and not out.is_dir():
        return [f"--out {out} is a file, not a folder"]
    if not out.exists():
        return []
    entries = sorted(p.name for p in out.iterdir())
    if not entries:
        return []
    if MANIFEST not in entries:
        shown = ", ".join(entries[:5]) + (" …" if len(entries) > 5 else "")
        return [f"--out {out} holds other files ({shown}); choose an empty or new folder"]
    ours = {MANIFEST} | {extract_filename(r.name, f) for r in REGISTERS for f in ExtractFormat}
    foreign = [e for e in entries if e not in ours]
    if foreign:
        # --force replaces an earlier generation, never files somebody else put there.
        return [f"--out {out} holds files that are not from a generation ({', '.join(foreign[:5])})"]
    if not force:
        return [f"--out {out} holds an earlier generation; add --force to replace it"]
    return []


def _replace(staging: Path, out: Path) -> None:
    if out.exists():
        backup = out.parent / f".{out.name}.old-{os.getpid()}"
        out.rename(backup)
        staging.rename(out)
        shutil.rmtree(backup)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        staging.rename(out)
