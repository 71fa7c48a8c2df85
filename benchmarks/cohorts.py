"""A 100,000-person cohort upload validated, pseudonymised and linked, measured in its own process.

``python -m benchmarks.cohorts EXTRACTS DATA_DIR [CSV|XLSX]``: draws the persons from the CPR
extract the warehouse was loaded from (the warehouse holds no CPR numbers), writes the upload as
an analyst would have it (a CSV saved by Danish Excel: UTF-8 with BOM, ``;``, dashes; or an
XLSX with the CPR numbers as numbers, so those born on days 1-9 have lost their leading zero, and
index dates as date cells), and times ``check_cohort_file`` on it: reading, validation,
pseudonymisation, linkage to the current release and the report. The file is written before the
clock starts. Prints one JSON line.
"""

from __future__ import annotations

import json
import os
import random
import resource
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import pyarrow.parquet as pq
from openpyxl import Workbook

from koes.services.cohorts import CheckRequest, check_cohort_file
from koes.settings import Settings

PERSONS = 100_000
MUNICIPALITY = 101  # København: the largest municipality, so most own citizens
TARGET_S = 5.0


def _persons(extracts: Path, n: int, seed: int = 15) -> list[str]:
    column = pq.read_table(extracts / "cpr_personer.parquet", columns=["pnr"]).column("pnr")
    rng = random.Random(seed)
    # Fewer persons than rows (the small scale): the rest are drawn again and show up as duplicates.
    size = len(column)
    picks = rng.sample(range(size), n) if size >= n else [rng.randrange(size) for _ in range(n)]
    numbers: list[str] = column.take(picks).to_pylist()  # not the national column as Python strings
    return numbers


def _rows(numbers: list[str]) -> list[tuple[str, date, str, str]]:
    first = date(2023, 1, 1)
    return [
        (pnr, first + timedelta(days=i % 365), "indsats" if i % 2 else "kontrol", f"SAG-{i:06d}")
        for i, pnr in enumerate(numbers)
    ]


def write_csv(path: Path, numbers: list[str]) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        f.write("CPR-nr.;Indeksdato;Gruppe;Sagsnr\r\n")
        for pnr, day, group, ref in _rows(numbers):
            f.write(f"{pnr[:6]}-{pnr[6:]};{day:%d-%m-%Y};{group};{ref}\r\n")
    return path


def write_xlsx(path: Path, numbers: list[str]) -> Path:
    # openpyxl writes text as inline strings: more XML per cell than Excel's shared strings, so the
    # heavier of the two forms a reader meets.
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Borgere")
    sheet.append(["CPR", "Indeksdato", "Gruppe", "Sagsnr"])
    for pnr, day, group, ref in _rows(numbers):
        sheet.append([int(pnr), day, group, ref])
    book.save(path)
    return path


def measure(extracts: Path, data_dir: Path, kind: str) -> dict[str, object]:
    settings = Settings(data_dir=data_dir, threads=2, memory_limit="4GB")
    numbers = _persons(extracts, PERSONS)
    with tempfile.TemporaryDirectory(prefix="koes-cohort-") as tmp:
        writer = write_csv if kind == "csv" else write_xlsx
        path = writer(Path(tmp) / f"cohort.{kind}", numbers)
        size = path.stat().st_size
        load_average = os.getloadavg()[0]
        began, cpu_began = time.perf_counter(), time.process_time()
        check = check_cohort_file(settings, path, CheckRequest(MUNICIPALITY))
        seconds, cpu = time.perf_counter() - began, time.process_time() - cpu_began
    report = check.report
    return {
        "format": kind,
        "rows": report.rows_read,
        "kept": report.rows_kept,
        "refused": report.rows_refused,
        "own_citizens": report.linked.own_citizens if report.linked else 0,
        "file_mb": round(size / 1e6, 1),
        "seconds": round(seconds, 2),
        "cpu_seconds": round(cpu, 2),  # all threads; on a busy machine this says more than the wall clock
        "rows_per_second": round(report.rows_read / seconds),
        "peak_rss_gib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024, 2),
        "load_average": round(load_average, 2),
    }


if __name__ == "__main__":
    which = sys.argv[3].lower() if len(sys.argv) > 3 else "csv"
    print(json.dumps(measure(Path(sys.argv[1]), Path(sys.argv[2]), which)))
