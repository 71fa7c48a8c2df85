"""The count perturbation table: for each original count a noise distribution over the cell key.

:class:`PTable` looks up the noise of (original, cell key), for one cell or for whole columns;
:func:`generate_ptable` builds it from :class:`~koes.privacy.ptable_params.PTableParams`, and
:meth:`PTable.from_ons` reads the UK ONS package's tables. The method is described in
:mod:`koes.privacy.ptable`.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol, cast

import numpy as np
import numpy.typing as npt

from koes.privacy.max_entropy import key_bounds, max_entropy, round_probability
from koes.privacy.ptable_params import (
    DEFAULT_VERSION,
    ONS_CYCLE,
    ONS_MAX_PCV,
    FloatArray,
    IntArray,
    PTableError,
    PTableParams,
    check_key_bits,
    count_table_name,
    is_int,
)


class PTableRow(NamedTuple):
    original: int
    noise: int
    probability: float
    lower: int  # the cell keys lower .. upper-1 give this noise
    upper: int


@dataclass(frozen=True)
class _Lookup:
    uppers: tuple[tuple[int, ...], ...]  # per original, the intervals' upper bounds in key order
    noises: tuple[tuple[int, ...], ...]
    flat_uppers: IntArray  # original · 2**key_bits + upper, for vectorised lookups
    flat_noises: IntArray


class FrameLike(Protocol):
    """A pandas-like frame: ``frame[column].tolist()``."""

    @property
    def columns(self) -> Iterable[object]: ...

    def __getitem__(self, column: str, /) -> ColumnLike: ...


class ColumnLike(Protocol):
    def tolist(self) -> list[object]: ...


OnsRows = FrameLike | Iterable[Mapping[str, object]] | Iterable[Sequence[object]]


@dataclass(frozen=True)
class PTable:
    """A count perturbation table: for original i and cell key k, the noise to add.

    ``rows`` are ordered by original and then by key interval; for each original 0 ..
    ``max_original`` they partition ``[0, 2**key_bits)``. Originals above ``max_original`` use row
    ``max_original`` (``cycle`` None) or, with ``cycle = c``, cycle through the last c rows (the ONS
    rule). ``params`` is None for tables not made by our generator (e.g. :meth:`from_ons`).
    """

    name: str
    version: str
    params: PTableParams | None
    rows: tuple[PTableRow, ...]
    key_bits: int
    cycle: int | None = None
    _lookup: _Lookup = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        arrays = _row_arrays(self.rows)
        problems = _table_problems(self, arrays)
        if problems:
            raise PTableError(f"invalid perturbation table {self.name!r}", problems)
        object.__setattr__(self, "_lookup", _build_lookup(arrays, self.key_bits))

    @property
    def max_original(self) -> int:
        return self.rows[-1].original

    def row_for(self, original: int) -> int:
        """The table row an original count uses."""
        if original < 0:
            raise ValueError(f"an original count cannot be negative, got {original}")
        last = self.max_original
        if original <= last:
            return original
        if self.cycle is None:
            return last
        start = last - self.cycle + 1
        return start + (original - start) % self.cycle

    def noise(self, original: int, cell_key: int, key_bits: int) -> int:
        """The noise for a cell with this original count and cell key (of ``key_bits`` bits)."""
        row = self.row_for(original)
        key = rescale_key(cell_key, key_bits, self.key_bits)
        return self._lookup.noises[row][bisect_right(self._lookup.uppers[row], key)]

    def perturb(self, original: int, cell_key: int, key_bits: int) -> int:
        """The published count: original + noise."""
        return original + self.noise(original, cell_key, key_bits)

    def noise_array(self, originals: npt.ArrayLike, cell_keys: npt.ArrayLike, key_bits: int) -> IntArray:
        """:meth:`noise` for arrays of cells at once (one ``searchsorted``)."""
        values = np.asarray(originals, dtype=np.int64)
        if values.size and int(values.min()) < 0:
            raise ValueError("an original count cannot be negative")
        keys = rescale_keys(cell_keys, key_bits, self.key_bits)
        last = self.max_original
        if self.cycle is None:
            rows = np.minimum(values, last)
        else:
            start = last - self.cycle + 1
            rows = np.where(values <= last, values, start + (values - start) % self.cycle)
        index = np.searchsorted(self._lookup.flat_uppers, (rows << self.key_bits) + keys, side="right")
        result: IntArray = self._lookup.flat_noises[index]
        return result

    def perturb_array(self, originals: npt.ArrayLike, cell_keys: npt.ArrayLike, key_bits: int) -> IntArray:
        values = np.asarray(originals, dtype=np.int64)
        result: IntArray = values + self.noise_array(values, cell_keys, key_bits)
        return result

    def distribution(self, original: int) -> dict[int, float]:
        """The noise distribution a row really gives over all keys (after quantisation)."""
        row = self.row_for(original)
        shares: dict[int, float] = {}
        for r in self.rows:
            if r.original == row:
                shares[r.noise] = shares.get(r.noise, 0.0) + (r.upper - r.lower) / 2**self.key_bits
        return dict(sorted(shares.items()))

    @classmethod
    def from_ons(
        cls,
        frame_or_rows: OnsRows,
        name: str,
        version: str,
        *,
        max_pcv: int = ONS_MAX_PCV,
        cycle: int = ONS_CYCLE,
    ) -> PTable:
        """A table in the UK ONS ``cell-key-perturbation`` format (columns ``pcv, ckey, pvalue``).

        Accepts a pandas frame or rows (mappings with those keys, or ``(pcv, ckey, pvalue)``
        tuples). The key width follows from the largest ckey (ckey + 1 must be a power of two:
        256 gives ``key_bits = 8``). Each (pcv, ckey) becomes an interval of one key value. As the
        ONS package does, a (pcv, ckey) the frame lacks means noise 0 (it fills the missing
        pvalue with 0); pcv 0 (an empty cell) is absent from their tables and so stays 0; counts
        above ``max_pcv`` (750) cycle through its last ``cycle`` (250) rows.
        """
        triples, problems = _ons_triples(frame_or_rows)
        pcv, ckey, pvalue = triples[:, 0], triples[:, 1], triples[:, 2]
        top = int(ckey.max()) + 1 if len(ckey) else 0
        key_bits = top.bit_length() - 1
        if top < 2 or top & (top - 1):
            problems.append(f"the largest ckey + 1 must be a power of two ≥ 2 (256 for ONS tables), got {top}")

        def where(n: int) -> str:
            return f"row {n + 1} (pcv {pcv[n]}, ckey {ckey[n]})"

        for n in np.flatnonzero((pcv < 0) | (pcv > max_pcv)).tolist():
            problems.append(f"{where(n)}: pcv must be 0 .. {max_pcv} (larger counts reuse rows)")
        for n in np.flatnonzero(ckey < 0).tolist():
            problems.append(f"{where(n)}: ckey must be ≥ 0")
        cell = pcv * max(top, 1) + ckey
        _, first = np.unique(cell, return_index=True)
        for n in sorted(set(range(len(cell))) - set(first.tolist())):
            problems.append(f"{where(n)}: repeats an earlier (pcv, ckey)")
        if problems:
            raise PTableError(f"invalid ONS ptable {name!r}", problems)
        noise = np.zeros((max_pcv + 1, top), dtype=np.int64)  # what the frame lacks is 0, as in the ONS package
        noise[pcv, ckey] = pvalue
        share = 1 / top
        rows = tuple(
            PTableRow(original, v, share, key, key + 1)
            for original, values in enumerate(noise.tolist())
            for key, v in enumerate(values)
        )
        return cls(name=name, version=version, params=None, rows=rows, key_bits=key_bits, cycle=cycle)


def _ons_triples(source: OnsRows) -> tuple[IntArray, list[str]]:
    """The (pcv, ckey, pvalue) triples as an (n, 3) integer array, and the problems found."""
    problems: list[str] = []
    raw: list[Sequence[object]] = []
    if hasattr(source, "columns") and not isinstance(source, Mapping):
        frame = cast(FrameLike, source)
        names = [str(c) for c in frame.columns]
        missing = [c for c in ("pcv", "ckey", "pvalue") if c not in names]
        if missing:
            return np.zeros((0, 3), dtype=np.int64), [f"the frame lacks the column(s) {', '.join(missing)}"]
        raw = list(zip(*(frame[c].tolist() for c in ("pcv", "ckey", "pvalue")), strict=True))
    else:
        for n, item in enumerate(cast(Iterable[object], source), start=1):
            if type(item) in (tuple, list) and len(item) == 3:  # type: ignore[arg-type]  # the common case, fast
                raw.append(item)  # type: ignore[arg-type]
            elif isinstance(item, Mapping):
                if not {"pcv", "ckey", "pvalue"} <= item.keys():
                    problems.append(f"row {n}: needs pcv, ckey and pvalue")
                    continue
                raw.append((item["pcv"], item["ckey"], item["pvalue"]))
            elif isinstance(item, Sequence) and not isinstance(item, str) and len(item) == 3:
                raw.append(item)
            else:
                problems.append(f"row {n}: expected (pcv, ckey, pvalue) or a mapping with those keys, got {item!r}")
    try:
        numbers = np.array(raw, dtype=np.float64).reshape(len(raw), 3)
        whole = np.isfinite(numbers).all(axis=1) & (numbers == np.round(numbers)).all(axis=1)
    except (TypeError, ValueError):  # something not a number: find the rows one by one
        whole = np.array([all(_as_whole(x) is not None for x in values) for values in raw], dtype=bool)
        numbers = np.array([[_as_whole(x) or 0 for x in values] for values in raw], dtype=np.float64)
    for n in np.flatnonzero(~whole).tolist():
        problems.append(f"row {n + 1}: pcv, ckey and pvalue must be whole numbers, got {tuple(raw[n])!r}")
    return numbers[whole].astype(np.int64).reshape(-1, 3), problems


def _as_whole(value: object) -> int | None:
    if is_int(value):
        return int(value)  # type: ignore[call-overload, no-any-return]
    if isinstance(value, float | np.floating) and math.isfinite(value) and float(value).is_integer():
        return int(value)
    return None


_RowArrays = tuple[IntArray, IntArray, FloatArray, IntArray, IntArray]


def _row_arrays(rows: Sequence[PTableRow]) -> _RowArrays:
    columns = list(zip(*rows, strict=True)) if rows else [(), (), (), (), ()]
    original, noise, lower, upper = (np.array(columns[i], dtype=np.int64) for i in (0, 1, 3, 4))
    return original, noise, np.array(columns[2], dtype=np.float64), lower, upper


def _table_problems(table: PTable, arrays: _RowArrays) -> list[str]:
    """Every way the rows fail to be a table (vectorised: an ONS table has 192,256 rows)."""
    problems: list[str] = []
    check_key_bits(table.key_bits, problems)
    if problems:
        return problems
    if not table.rows:
        return ["the table has no rows"]
    if table.params is not None and table.params.key_bits != table.key_bits:
        problems.append(f"key_bits {table.key_bits} differs from params.key_bits {table.params.key_bits}")
    total = 2**table.key_bits
    original, noise, probability, lower, upper = arrays

    def report(mask: npt.NDArray[np.bool_], message: str) -> None:
        for n in np.flatnonzero(mask).tolist():
            row = table.rows[n]
            problems.append(f"row {n + 1} (original {row.original}, noise {row.noise}): {message.format(row=row)}")

    report(np.r_[False, np.diff(original) < 0], "rows must be ordered by original")
    report(original + noise < 0, "gives a negative count")
    report((probability < 0) | (probability > 1), "probability {row.probability} is outside [0, 1]")
    same = np.r_[False, original[1:] == original[:-1]]
    starts = np.where(same, np.r_[0, upper[:-1]], 0)
    for n in np.flatnonzero((lower != starts) | (lower >= upper) | (upper > total)).tolist():
        row = table.rows[n]
        problems.append(
            f"row {n + 1} (original {row.original}, noise {row.noise}): interval [{row.lower}, {row.upper}) "
            f"must start at {starts[n]} and be non-empty within [0, {total})"
        )
    last = np.r_[~same[1:], True]
    for n in np.flatnonzero(last & (upper != total)).tolist():
        problems.append(f"original {original[n]}: the key intervals end at {upper[n]}, expected {total}")
    top = int(original.max())
    missing = np.setdiff1d(np.arange(top + 1), original).tolist()
    if missing or int(original.min()) < 0:
        problems.append(f"every original 0 .. {top} needs rows; missing or wrong: {missing or int(original.min())}")
    if table.cycle is not None and not (is_int(table.cycle) and 1 <= table.cycle <= top + 1):
        problems.append(f"cycle must be None or 1 .. {top + 1} (the number of rows), got {table.cycle!r}")
    return problems


def _build_lookup(arrays: _RowArrays, key_bits: int) -> _Lookup:
    original, noise, _, _, upper = arrays
    breaks = np.flatnonzero(np.diff(original)) + 1
    uppers = tuple(tuple(part.tolist()) for part in np.split(upper, breaks))
    noises = tuple(tuple(part.tolist()) for part in np.split(noise, breaks))
    return _Lookup(uppers, noises, (original << key_bits) + upper, noise)


def rescale_key(cell_key: int, key_bits: int, table_bits: int) -> int:
    """A ``key_bits``-wide cell key as a ``table_bits``-wide one (shift; see the module docstring)."""
    if not 1 <= key_bits <= 62:
        raise ValueError(f"key_bits must be 1 .. 62, got {key_bits}")
    if not 0 <= cell_key < 2**key_bits:
        raise ValueError(f"a {key_bits}-bit cell key must be 0 .. {2**key_bits - 1}, got {cell_key}")
    if key_bits >= table_bits:
        return cell_key >> (key_bits - table_bits)
    return cell_key << (table_bits - key_bits)


def rescale_keys(cell_keys: npt.ArrayLike, key_bits: int, table_bits: int) -> IntArray:
    """:func:`rescale_key` for an array of keys."""
    keys = np.asarray(cell_keys, dtype=np.int64)
    if not 1 <= key_bits <= 62:
        raise ValueError(f"key_bits must be 1 .. 62, got {key_bits}")
    if keys.size and (int(keys.min()) < 0 or int(keys.max()) >= 2**key_bits):
        raise ValueError(f"{key_bits}-bit cell keys must be 0 .. {2**key_bits - 1}")
    if key_bits >= table_bits:
        shifted: IntArray = keys >> (key_bits - table_bits)
    else:
        shifted = keys << (table_bits - key_bits)
    return shifted


def count_support(original: int, params: PTableParams) -> list[int]:
    """The noise values row ``original`` may use (see the module docstring)."""
    if original == 0:
        return [0]
    d, js = params.max_noise, params.blocked
    return [v for v in range(-d, d + 1) if original + v >= 0 and not 1 <= original + v <= js]


def count_distribution(original: int, params: PTableParams) -> dict[int, float]:
    """Row ``original`` of the generated table, before key intervals: noise → probability."""
    support = count_support(min(original, params.cap), params)
    p = max_entropy([float(v) for v in support], float(params.variance))
    rounded = [round_probability(float(x)) for x in p]
    return {v: x for v, x in zip(support, rounded, strict=True) if x > 0}


def generate_ptable(
    params: PTableParams | None = None, *, name: str | None = None, version: str = DEFAULT_VERSION
) -> PTable:
    """The maximum-entropy count table for ``params`` (defaults: D = 3, V = 1.5, js = 2, 16 bits)."""
    params = params or PTableParams()
    rows: list[PTableRow] = []
    for original in range(params.cap + 1):
        distribution = count_distribution(original, params)
        bounds = key_bounds(list(distribution.values()), params.key_bits)
        lower = 0
        for (noise, probability), upper in zip(distribution.items(), bounds, strict=True):
            rows.append(PTableRow(original, noise, probability, lower, upper))
            lower = upper
    return PTable(
        name=name or count_table_name(params),
        version=version,
        params=params,
        rows=tuple(rows),
        key_bits=params.key_bits,
    )


def below_threshold(published: int, threshold: int, *, zero_hidden: bool = False) -> bool:
    """Whether a published (perturbed) count is shown as ``<threshold`` instead of its value.

    KØS shows 0 as 0 (an empty cell names nobody; with perturbation a published 0 may also come
    from originals 1 .. D) and hides 1 .. threshold-1. ``zero_hidden=True`` is the ONS package's
    rule (every count below the threshold, 0 included, becomes NA).
    """
    if published < 0:
        raise ValueError(f"a published count cannot be negative, got {published}")
    return published < threshold and (zero_hidden or published > 0)
