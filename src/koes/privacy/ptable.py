"""Perturbation tables for consistent cell-key perturbation: the pure core.

Every published aggregate carries an integer *cell key*: the sum of the integer record keys of the
units in the cell, modulo ``2**key_bits`` (16 bits in the warehouse). The same units give the same
key, so the same cell gets the same noise in every table, page, export and API call; combining
tables gives back nothing exact. This module turns (original value, cell key) into the published
value. It knows nothing of SQL, requests or users.

Count table (ptable)
    For each original count ``i = 0 .. cap`` a distribution over the noise ``v`` (published
    ``j = i + v``). The allowed noise of row ``i`` is every integer ``v`` with

    - ``|v| <= D`` (``max_noise``),
    - ``j >= 0`` (no negative counts),
    - ``j`` not in ``1 .. js`` (``blocked``, Destatis' *js*): the counts 1 .. js are never
      published, so a small original is never published as itself; ``j = 0`` stays allowed;
    - row 0 is the point mass ``v = 0`` (an empty cell stays empty).

    On that support the row is the **maximum-entropy** distribution with ``E[v] = 0`` and
    ``Var[v] = V`` (``variance``). Its form is ``p(v) ∝ exp(a·v + b·v²)``; ``a`` and ``b`` are found
    by a damped Newton method on the convex dual ``log Z(a, b) - b·V`` (:func:`max_entropy`).
    When ``V`` is outside what the support allows with mean zero, the row takes the **feasible
    variance closest to V**, and there the distribution is unique:

    - above the largest mean-zero variance ``-v_min·v_max``: the two-point distribution on the
      extremes ``v_min``, ``v_max``;
    - below the smallest one (only when 0 is not allowed, i.e. originals ``1 .. js``, where it is
      ``-v⁻·v⁺`` for the allowed values nearest below and above 0): the two-point distribution on
      ``v⁻``, ``v⁺``. With the defaults (D = 3, V = 1.5, js = 2) originals 1 and 2 get variance 2.

    A row needs allowed noise on both sides of 0 for ``E[v] = 0`` with any noise at all;
    :class:`PTableParams` therefore requires ``blocked < max_noise``, which guarantees it for every
    ``i >= 1``. From ``cap`` on (the first ``i`` whose support is the whole ``[-D, D]``: ``D`` when
    ``js = 0``, else ``D + js + 1``) every row is the same distribution, so rows ``0 .. cap``
    suffice and larger originals use row ``cap``.

    Each row's probabilities become half-open intervals ``[lower, upper)`` of the cell key on
    ``[0, 2**key_bits)``, in ascending ``v``: the bounds are the rounded cumulative sums
    ``round(F_k · 2**key_bits)``, moved apart where needed so that every noise of positive
    probability owns at least one key value. So over all keys of a row the mean is 0 and the
    variance is V up to the key quantisation: each bound is off by at most half a key value,
    which moves the mean by at most ``D · 2**-key_bits`` and the variance by at most
    ``D² · 2**-key_bits`` (when a noise value of probability below ``2**-key_bits`` has to be
    given a whole key value, add ``D · 2**-key_bits`` resp. ``D² · 2**-key_bits`` per such value).
    Probabilities are rounded to 12 significant digits (so a table read back from its CSV file is
    equal to the generated one, and tiny probabilities keep their relative precision); noise values
    whose probability underflows to 0 in floating point are left out.

Magnitude table
    Sums (kroner, bed days, hours, weeks) are perturbed by ``value + m · scale · largest``, where
    ``largest`` is the cell's largest single contribution and ``m ∈ [-1, 1]`` on a grid of
    ``step`` comes from a maximum-entropy distribution with ``E[m] = 0``, ``Var[m] = variance``,
    drawn from the same kind of key intervals (the "magnitude variant" of the cell-key method).
    See :class:`MagnitudeParams` for the defaults and why.

ONS tables
    :meth:`PTable.from_ons` reads the UK ONS package's format (``pcv, ckey, pvalue``, 8-bit keys,
    rows 1..750, larger counts cycling through rows 501..750) into a :class:`PTable` with one key
    value per interval and ``cycle = 250``; a test checks it gives the package's own results.

Cell keys with other widths
    A cell key of ``k`` bits used on a table of ``t`` bits is shifted: ``key >> (k - t)`` when
    ``k > t`` (the top ``t`` bits, still uniform), ``key << (t - k)`` when ``k < t`` (the key then
    only reaches every ``2**(t - k)``-th table key value, so the table is sampled on a coarser
    grid). See :func:`rescale_key`.

Shipped tables are CSV files under ``koes/privacy/ptables/`` with a ``# key: value`` header;
``python -m koes.privacy.ptable write DIR`` regenerates them, and a test fails if the shipped files
differ from what the generator gives now.
"""

from __future__ import annotations

import argparse
import csv
import io
import re
import sys
from collections.abc import Iterable, Sequence
from decimal import Decimal
from functools import cache
from importlib import resources
from pathlib import Path
from typing import NamedTuple

import numpy as np

from koes.privacy.count_table import PTable, PTableRow, generate_ptable
from koes.privacy.magnitude import MagnitudeRow, MagnitudeTable, generate_magnitude_table
from koes.privacy.ptable_params import (
    DEFAULT_COUNT_TABLE,
    DEFAULT_MAGNITUDE_TABLE,
    FOLDER,
    GENERATOR,
    GENERATOR_VERSION,
    PACKAGE,
    PROBABILITY_DIGITS,
    MagnitudeParams,
    PTableError,
    PTableParams,
)

_HEADER = re.compile(r"^#\s*([a-z_]+):\s*(.*?)\s*$")
COUNT_COLUMNS = ("original", "noise", "probability", "lower", "upper")
MAGNITUDE_COLUMNS = ("m", "probability", "lower", "upper")


def _header(kind: str, items: Sequence[tuple[str, object]]) -> str:
    lines = [f"# KØS perturbation table ({kind}); regenerate with python -m koes.privacy.ptable write DIR"]
    lines += [f"# {key}: {value}" for key, value in [("kind", kind), *items]]
    return "\n".join(lines) + "\n"


def _csv(columns: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return out.getvalue()


def ptable_csv(table: PTable) -> str:
    """The CSV text of a count table (deterministic: same table, same bytes)."""
    items: list[tuple[str, object]] = [
        ("name", table.name),
        ("version", table.version),
        ("generator", f"{GENERATOR} {GENERATOR_VERSION}" if table.params else "imported"),
        ("key_bits", table.key_bits),
        ("cycle", "none" if table.cycle is None else table.cycle),
    ]
    if table.params:
        p = table.params
        items += [("max_noise", p.max_noise), ("variance", repr(float(p.variance))), ("blocked", p.blocked)]
    body = ((r.original, r.noise, f"{r.probability:.{PROBABILITY_DIGITS}g}", r.lower, r.upper) for r in table.rows)
    return _header("count", items) + _csv(COUNT_COLUMNS, body)


def magnitude_csv(table: MagnitudeTable) -> str:
    """The CSV text of a magnitude table (deterministic)."""
    p = table.params
    items: list[tuple[str, object]] = [
        ("name", table.name),
        ("version", table.version),
        ("generator", f"{GENERATOR} {GENERATOR_VERSION}"),
        ("key_bits", p.key_bits),
        ("variance", repr(float(p.variance))),
        ("step", repr(float(p.step))),
        ("scale", repr(float(p.scale))),
    ]
    places = Decimal(1) / Decimal(p.grid)
    body = ((r.m.quantize(places), f"{r.probability:.{PROBABILITY_DIGITS}g}", r.lower, r.upper) for r in table.rows)
    return _header("magnitude", items) + _csv(MAGNITUDE_COLUMNS, body)


def _parse(text: str, source: str, kind: str, columns: Sequence[str]) -> tuple[dict[str, str], list[list[str]]]:
    header: dict[str, str] = {}
    lines = text.splitlines()
    body_start = 0
    for number, line in enumerate(lines):
        if not line.startswith("#"):
            body_start = number
            break
        if match := _HEADER.match(line):
            header[match.group(1)] = match.group(2)
    else:
        body_start = len(lines)
    problems: list[str] = []
    if header.get("kind") != kind:
        problems.append(f"{source}: header says kind {header.get('kind')!r}, expected {kind!r}")
    for key in ("name", "version", "key_bits"):
        if key not in header:
            problems.append(f"{source}: header lacks {key!r}")
    reader = list(csv.reader(lines[body_start:]))
    if not reader or tuple(reader[0]) != tuple(columns):
        problems.append(f"{source}, line {body_start + 1}: expected the columns {','.join(columns)}")
    if problems:
        raise PTableError(f"cannot read {source}", problems)
    return header, reader[1:]


def _number(text: str, convert: type[int] | type[float] | type[Decimal], where: str, problems: list[str]) -> object:
    try:
        return convert(text)
    except (ValueError, ArithmeticError):
        problems.append(f"{where}: {text!r} is not a valid {convert.__name__}")
        return None


def _count_rows_fast(body: list[list[str]]) -> list[PTableRow] | None:
    """The rows of a well-formed body in one numpy pass (an ONS table has 192,256); None if any row is not."""
    if any(len(cells) != len(COUNT_COLUMNS) for cells in body):
        return None
    try:
        whole = np.array([(c[0], c[1], c[3], c[4]) for c in body], dtype=np.int64).reshape(-1, 4)
        probability = np.array([c[2] for c in body], dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        return None
    original, noise, lower, upper = (whole[:, i].tolist() for i in range(4))
    return list(map(PTableRow._make, zip(original, noise, probability.tolist(), lower, upper, strict=True)))


def parse_ptable(text: str, source: str = "<text>") -> PTable:
    """A count table from its CSV text; every problem is listed with its line and column."""
    header, body = _parse(text, source, "count", COUNT_COLUMNS)
    first = len(text.splitlines()) - len(body) + 1
    problems: list[str] = []
    fast = _count_rows_fast(body)
    rows: list[PTableRow] = fast or []
    for offset, cells in enumerate(body if fast is None else []):
        if len(cells) != len(COUNT_COLUMNS):
            problems.append(f"{source}, line {first + offset}: expected {len(COUNT_COLUMNS)} values, got {len(cells)}")
            continue
        kinds = (int, int, float, int, int)
        values = [
            _number(c, t, f"{source}, line {first + offset}, column {col}", problems)
            for c, t, col in zip(cells, kinds, COUNT_COLUMNS, strict=True)
        ]
        if None not in values:
            rows.append(PTableRow(*values))  # type: ignore[arg-type]
    key_bits = _number(header["key_bits"], int, f"{source}: key_bits", problems)
    cycle_text = header.get("cycle", "none")
    cycle = None if cycle_text == "none" else _number(cycle_text, int, f"{source}: cycle", problems)
    params: PTableParams | None = None
    if "max_noise" in header:
        d = _number(header["max_noise"], int, f"{source}: max_noise", problems)
        v = _number(header.get("variance", ""), float, f"{source}: variance", problems)
        js = _number(header.get("blocked", ""), int, f"{source}: blocked", problems)
        if not problems:
            params = PTableParams(max_noise=d, variance=v, blocked=js, key_bits=key_bits)  # type: ignore[arg-type]
    if problems:
        raise PTableError(f"cannot read {source}", problems)
    return PTable(
        name=header["name"],
        version=header["version"],
        params=params,
        rows=tuple(rows),
        key_bits=key_bits,  # type: ignore[arg-type]
        cycle=cycle,  # type: ignore[arg-type]
    )


def parse_magnitude_table(text: str, source: str = "<text>") -> MagnitudeTable:
    """A magnitude table from its CSV text; every problem is listed with its line and column."""
    header, body = _parse(text, source, "magnitude", MAGNITUDE_COLUMNS)
    first = len(text.splitlines()) - len(body) + 1
    problems: list[str] = []
    rows: list[MagnitudeRow] = []
    for offset, cells in enumerate(body):
        if len(cells) != len(MAGNITUDE_COLUMNS):
            problems.append(f"{source}, line {first + offset}: expected {len(MAGNITUDE_COLUMNS)} values")
            continue
        kinds = (Decimal, float, int, int)
        values = [
            _number(c, t, f"{source}, line {first + offset}, column {col}", problems)
            for c, t, col in zip(cells, kinds, MAGNITUDE_COLUMNS, strict=True)
        ]
        if None not in values:
            rows.append(MagnitudeRow(*values))  # type: ignore[arg-type]
    numbers = {
        key: _number(header.get(key, ""), float, f"{source}: {key}", problems) for key in ("variance", "step", "scale")
    }
    key_bits = _number(header["key_bits"], int, f"{source}: key_bits", problems)
    if problems:
        raise PTableError(f"cannot read {source}", problems)
    params = MagnitudeParams(key_bits=key_bits, **numbers)  # type: ignore[arg-type]
    return MagnitudeTable(name=header["name"], version=header["version"], params=params, rows=tuple(rows))


def read_ptable(path: Path) -> PTable:
    return parse_ptable(path.read_text(encoding="utf-8"), str(path))


def read_magnitude_table(path: Path) -> MagnitudeTable:
    return parse_magnitude_table(path.read_text(encoding="utf-8"), str(path))


def write_ptable(table: PTable, path: Path) -> None:
    path.write_text(ptable_csv(table), encoding="utf-8", newline="")


def write_magnitude_table(table: MagnitudeTable, path: Path) -> None:
    path.write_text(magnitude_csv(table), encoding="utf-8", newline="")


def generated_files() -> dict[str, str]:
    """File name → CSV text of every table KØS ships, as the generator makes them now."""
    count = generate_ptable(PTableParams(), name=DEFAULT_COUNT_TABLE)
    magnitude = generate_magnitude_table(MagnitudeParams(), name=DEFAULT_MAGNITUDE_TABLE)
    return {f"{count.name}.csv": ptable_csv(count), f"{magnitude.name}.csv": magnitude_csv(magnitude)}


def _shipped_text(name: str) -> str:
    return resources.files(PACKAGE).joinpath(FOLDER, f"{name}.csv").read_text(encoding="utf-8")


@cache
def shipped_ptable(name: str = DEFAULT_COUNT_TABLE) -> PTable:
    """A count table shipped in ``koes/privacy/ptables/``."""
    return parse_ptable(_shipped_text(name), f"{FOLDER}/{name}.csv")


@cache
def shipped_magnitude_table(name: str = DEFAULT_MAGNITUDE_TABLE) -> MagnitudeTable:
    """A magnitude table shipped in ``koes/privacy/ptables/``."""
    return parse_magnitude_table(_shipped_text(name), f"{FOLDER}/{name}.csv")


# ---------------------------------------------------------------------------------------------
# Summaries and the command line


class RowSummary(NamedTuple):
    """What a row of a count table does over all cell keys."""

    original: int
    mean: float  # E[v]
    variance: float  # Var[v]
    unchanged: float  # P(v = 0)
    mean_absolute: float  # E|v|
    published: tuple[int, ...]  # the counts it can publish


def summarise(table: PTable, original: int) -> RowSummary:
    distribution = table.distribution(original)
    v = np.array(list(distribution), dtype=np.float64)
    p = np.array(list(distribution.values()))
    mean = float(p @ v)
    return RowSummary(
        original=original,
        mean=mean,
        variance=float(p @ (v - mean) ** 2),
        unchanged=distribution.get(0, 0.0),
        mean_absolute=float(p @ np.abs(v)),
        published=tuple(original + int(x) for x in distribution),
    )


def describe(table: PTable) -> str:
    """A Markdown table of every row's properties (the numbers in docs/ptable.md)."""
    lines = [
        f"Table {table.name} version {table.version} ({table.key_bits}-bit keys)",
        "",
        "| original | mean noise | variance | share unchanged | mean absolute noise | can be published as |",
        "|---:|---:|---:|---:|---:|---|",
    ]
    for original in range(min(table.max_original, 20) + 1):
        s = summarise(table, original)
        lines.append(
            f"| {original}{'+' if original == table.max_original and table.cycle is None else ''} "
            f"| {s.mean:+.6f} | {s.variance:.6f} | {s.unchanged:.4f} | {s.mean_absolute:.4f} "
            f"| {', '.join(map(str, s.published))} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m koes.privacy.ptable", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    write = commands.add_parser("write", help="write the shipped tables, as generated now, into DIR")
    write.add_argument("directory", type=Path)
    commands.add_parser("describe", help="print the properties of the shipped count table")
    args = parser.parse_args(argv)
    if args.command == "write":
        args.directory.mkdir(parents=True, exist_ok=True)
        for filename, text in generated_files().items():
            (args.directory / filename).write_text(text, encoding="utf-8", newline="")
            print(args.directory / filename)
        return 0
    print(describe(generate_ptable(PTableParams(), name=DEFAULT_COUNT_TABLE)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
