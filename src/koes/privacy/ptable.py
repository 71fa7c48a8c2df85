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
import math
import re
import sys
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from importlib import resources
from pathlib import Path
from typing import NamedTuple, Protocol, cast, overload

import numpy as np
import numpy.typing as npt

GENERATOR = "koes.privacy.ptable"
GENERATOR_VERSION = "1"
PACKAGE = "koes.privacy"
FOLDER = "ptables"
DEFAULT_COUNT_TABLE = "koes-count-d5-v15-js2"
DEFAULT_MAGNITUDE_TABLE = "koes-magnitude-v025-step005-scale010"
DEFAULT_VERSION = "1"
ONS_MAX_PCV = 750  # the ONS package's last ptable row …
ONS_CYCLE = 250  # … and counts above it reuse rows 501 .. 750
PROBABILITY_DIGITS = 12  # significant digits kept of each probability
MAX_KEY_BITS = 32

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


class PTableError(ValueError):
    """A perturbation table (or its file) breaks the rules; the message lists every problem."""

    def __init__(self, what: str, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        super().__init__(f"{what}:\n" + "\n".join(f"  - {p}" for p in problems))


def _is_int(value: object) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def _is_real(value: object) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)


def _check_key_bits(key_bits: object, problems: list[str], name: str = "key_bits") -> None:
    if not _is_int(key_bits) or not 1 <= int(key_bits) <= MAX_KEY_BITS:  # type: ignore[call-overload]
        problems.append(f"{name} must be an integer from 1 to {MAX_KEY_BITS}, got {key_bits!r}")


# ---------------------------------------------------------------------------------------------
# Parameters


@dataclass(frozen=True)
class PTableParams:
    """How a count table is generated.

    max_noise: D, the largest absolute noise (≥ 1).
    variance: V, the noise variance of rows with the full support (0 < V < D²).
    blocked: js, published counts 1 .. js never occur (0 ≤ js < D, so every row ≥ 1 has noise on
        both sides of 0 and can be unbiased).
    key_bits: width of the cell key the intervals cover (2**key_bits ≥ 2·D + 1, so every noise can
        own a key value).
    """

    max_noise: int = 5
    variance: float = 1.5
    blocked: int = 2
    key_bits: int = 16

    def __post_init__(self) -> None:
        problems: list[str] = []
        d_ok = _is_int(self.max_noise) and self.max_noise >= 1
        if not d_ok:
            problems.append(f"max_noise must be an integer ≥ 1, got {self.max_noise!r}")
        if not _is_real(self.variance) or not math.isfinite(self.variance) or self.variance <= 0:
            problems.append(f"variance must be a finite number > 0, got {self.variance!r}")
        elif d_ok and self.variance >= self.max_noise**2:
            problems.append(
                f"variance must be below max_noise² = {self.max_noise**2} (the largest variance of "
                f"mean-zero noise within ±{self.max_noise}), got {self.variance!r}"
            )
        if not _is_int(self.blocked) or self.blocked < 0:
            problems.append(f"blocked must be an integer ≥ 0, got {self.blocked!r}")
        elif d_ok and self.blocked >= self.max_noise:
            problems.append(
                f"blocked must be below max_noise ({self.max_noise}), or originals up to {self.blocked} "
                f"cannot get unbiased noise; got {self.blocked!r}"
            )
        _check_key_bits(self.key_bits, problems)
        if d_ok and not problems and 2**self.key_bits < 2 * self.max_noise + 1:
            problems.append(
                f"key_bits must give at least 2·max_noise + 1 = {2 * self.max_noise + 1} key values, "
                f"got {self.key_bits}"
            )
        if problems:
            raise PTableError("invalid PTableParams", problems)

    @property
    def cap(self) -> int:
        """The first original whose allowed noise is the whole [-D, D]; rows above it repeat it."""
        return self.max_noise if self.blocked == 0 else self.max_noise + self.blocked + 1


def _count_name(params: PTableParams) -> str:
    variance = f"{params.variance:g}".replace(".", "")
    bits = "" if params.key_bits == 16 else f"-k{params.key_bits}"
    return f"koes-count-d{params.max_noise}-v{variance}-js{params.blocked}{bits}"


@dataclass(frozen=True)
class MagnitudeParams:
    """How a magnitude (sum) table is generated, and how large its noise is.

    The published sum is ``value + m · scale · largest`` with ``m`` from the table.

    variance: Var[m], 0 < variance < 1 (m lies in [-1, 1]).
    step: grid of m; must be ``1/K`` for a whole K whose decimal expansion terminates (0.1, 0.05,
        0.025, …), so that every m is an exact decimal.
    scale: the largest deviation, as a share of the cell's largest contribution (0 < scale ≤ 1).
    key_bits: width of the cell key (2**key_bits ≥ 2·K + 1).

    Defaults and why (numbers from the default table, see docs/ptable.md): ``scale = 0.10``,
    ``variance = 0.25``, ``step = 0.05``. The maximum-entropy m then has standard deviation 0.5 and
    E|m| = 0.417, so a cell made of one dominant contributor is published on average 4.2 % away
    from that contributor's value (never more than 10 %), and 40 % of such cells move by 5 % or
    more: the dominant contributor cannot read its own value back to better than a few per cent,
    nor can a second contributor subtract its own share to get the first one's exactly. For a
    typical cell of many contributors the largest one is a small share of the sum, and the noise
    is a small share of the published value (a cell of 100 equal contributors moves by 0.04 % on
    average). The grid of 0.05 gives 41 values of m, fine enough that the noise looks continuous at
    the precision figures are shown with.
    """

    variance: float = 0.25
    step: float = 0.05
    scale: float = 0.10
    key_bits: int = 16

    def __post_init__(self) -> None:
        problems: list[str] = []
        if not _is_real(self.variance) or not math.isfinite(self.variance) or not 0 < self.variance < 1:
            problems.append(f"variance must be a number strictly between 0 and 1, got {self.variance!r}")
        grid = _grid_size(self.step)
        if grid is None:
            problems.append(
                f"step must be 1/K for a whole K whose decimal expansion terminates (0.1, 0.05, 0.025, …), "
                f"got {self.step!r}"
            )
        if not _is_real(self.scale) or not math.isfinite(self.scale) or not 0 < self.scale <= 1:
            problems.append(f"scale must be a number with 0 < scale ≤ 1, got {self.scale!r}")
        _check_key_bits(self.key_bits, problems)
        if grid is not None and not problems and 2**self.key_bits < 2 * grid + 1:
            problems.append(f"key_bits must give at least {2 * grid + 1} key values (one per m), got {self.key_bits}")
        if problems:
            raise PTableError("invalid MagnitudeParams", problems)

    @property
    def grid(self) -> int:
        """K: m takes the values k/K for k = -K .. K."""
        grid = _grid_size(self.step)
        assert grid is not None  # checked in __post_init__
        return grid


def _grid_size(step: object) -> int | None:
    if not _is_real(step) or not math.isfinite(float(step)) or not 0 < float(step) <= 1:  # type: ignore[arg-type]
        return None
    grid = round(1 / float(step))  # type: ignore[arg-type]
    if grid < 1 or grid > 10**6 or abs(grid * float(step) - 1) > 1e-9:  # type: ignore[arg-type]
        return None
    rest = grid
    for prime in (2, 5):
        while rest % prime == 0:
            rest //= prime
    return grid if rest == 1 else None


def _magnitude_name(params: MagnitudeParams) -> str:
    def digits(x: float) -> str:  # 0.25 → 025, 0.1 → 010, 0.025 → 0025
        text = f"{x:.6f}".rstrip("0")
        whole, _, fraction = text.partition(".")
        return whole + fraction.ljust(2, "0")

    bits = "" if params.key_bits == 16 else f"-k{params.key_bits}"
    return f"koes-magnitude-v{digits(params.variance)}-step{digits(params.step)}-scale{digits(params.scale)}{bits}"


# ---------------------------------------------------------------------------------------------
# Maximum entropy


class InfeasibleError(ValueError):
    """No distribution on the support has mean zero."""


def _point_mass(support: FloatArray) -> FloatArray:
    p: FloatArray = (support == 0).astype(np.float64)
    return p


def _two_point(support: FloatArray, low: float, high: float) -> FloatArray:
    """Mean-zero mass on low < 0 < high."""
    p = np.zeros(len(support))
    p[support == low] = high / (high - low)
    p[support == high] = -low / (high - low)
    return p


def max_entropy(support: Sequence[float], variance: float, *, tolerance: float = 1e-13) -> FloatArray:
    """The maximum-entropy distribution on ``support`` with mean 0 and the variance closest to ``variance``.

    In the interior of the feasible variances the solution is ``p(v) ∝ exp(a·v + b·v²)``; (a, b)
    minimise the convex dual ``log Σ exp(a·v + b·v²) - b·variance``, found by Newton steps
    halved until the dual decreases (Armijo), on v scaled to [-1, 1] for conditioning. Outside,
    the two-point distribution of the nearest feasible variance (see the module docstring).
    Raises :class:`InfeasibleError` when no mean-zero distribution exists (all of the support on one
    side of 0) and ``RuntimeError`` if Newton does not converge.
    """
    v = np.asarray(sorted(support), dtype=np.float64)
    if len(v) == 0 or len(np.unique(v)) != len(v):
        raise ValueError("support must be non-empty and without repeats")
    negatives, positives = v[v < 0], v[v > 0]
    if len(negatives) == 0 or len(positives) == 0:
        if 0.0 in v:
            return _point_mass(v)  # the only mean-zero choice
        raise InfeasibleError(f"no mean-zero distribution on {v.tolist()}")
    highest = float(-v[0] * v[-1])
    lowest = 0.0 if 0.0 in v else float(-negatives[-1] * positives[0])
    if variance >= highest:
        return _two_point(v, float(v[0]), float(v[-1]))
    if variance <= lowest:
        if lowest == 0.0:
            return _point_mass(v)
        return _two_point(v, float(negatives[-1]), float(positives[0]))
    return _newton(v, variance, tolerance)


def _newton(v: FloatArray, variance: float, tolerance: float) -> FloatArray:
    scale = float(np.abs(v).max())
    s = v / scale
    features = np.stack([s, s * s], axis=1)
    target = np.array([0.0, variance / scale**2])

    def dual(theta: FloatArray) -> float:
        z = features @ theta
        top = float(z.max())
        return top + math.log(float(np.exp(z - top).sum())) - float(theta @ target)

    theta = np.zeros(2)
    for _ in range(200):
        z = features @ theta
        weights = np.exp(z - z.max())
        p = weights / weights.sum()
        moments = p @ features
        gradient = moments - target
        if float(np.abs(gradient).max()) < tolerance:
            solution: FloatArray = p
            return solution
        centred = features - moments
        hessian = (centred * p[:, None]).T @ centred
        step = -np.linalg.solve(hessian + 1e-15 * np.eye(2), gradient)
        t, start, slope = 1.0, dual(theta), float(gradient @ step)
        # Damping only far from the solution: once the Newton decrement (-slope) is tiny the dual's
        # changes are below float resolution, a line search would stall, and full steps converge.
        while -slope > 1e-10 and dual(theta + t * step) > start + 1e-4 * t * slope and t > 1e-12:
            t /= 2
        theta = theta + t * step
    raise RuntimeError(f"maximum entropy did not converge on {v.tolist()} with variance {variance}")


def _round_probability(p: float) -> float:
    return float(f"{p:.{PROBABILITY_DIGITS}g}")


def _key_bounds(probabilities: Sequence[float], key_bits: int) -> list[int]:
    """Upper bounds of the half-open key intervals: rounded cumulative sums, each interval ≥ 1 key."""
    total = 2**key_bits
    p = np.asarray(probabilities, dtype=np.float64)
    cumulative = np.cumsum(p) / p.sum()
    bounds = [math.floor(float(c) * total + 0.5) for c in cumulative[:-1]] + [total]
    for k in range(len(bounds) - 1):  # every value owns a key: push bounds up …
        bounds[k] = max(bounds[k], (bounds[k - 1] if k else 0) + 1)
    for k in range(len(bounds) - 2, -1, -1):  # … and back down from the top
        bounds[k] = min(bounds[k], bounds[k + 1] - 1)
    return bounds


# ---------------------------------------------------------------------------------------------
# The count table


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
    if _is_int(value):
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
    _check_key_bits(table.key_bits, problems)
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
    if table.cycle is not None and not (_is_int(table.cycle) and 1 <= table.cycle <= top + 1):
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
    rounded = [_round_probability(float(x)) for x in p]
    return {v: x for v, x in zip(support, rounded, strict=True) if x > 0}


def generate_ptable(
    params: PTableParams | None = None, *, name: str | None = None, version: str = DEFAULT_VERSION
) -> PTable:
    """The maximum-entropy count table for ``params`` (defaults: D = 3, V = 1.5, js = 2, 16 bits)."""
    params = params or PTableParams()
    rows: list[PTableRow] = []
    for original in range(params.cap + 1):
        distribution = count_distribution(original, params)
        bounds = _key_bounds(list(distribution.values()), params.key_bits)
        lower = 0
        for (noise, probability), upper in zip(distribution.items(), bounds, strict=True):
            rows.append(PTableRow(original, noise, probability, lower, upper))
            lower = upper
    return PTable(
        name=name or _count_name(params), version=version, params=params, rows=tuple(rows), key_bits=params.key_bits
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


# ---------------------------------------------------------------------------------------------
# The magnitude table


class MagnitudeRow(NamedTuple):
    m: Decimal
    probability: float
    lower: int
    upper: int


@dataclass(frozen=True)
class MagnitudeTable:
    """Noise m ∈ [-1, 1] for sums, by cell key: intervals partition ``[0, 2**key_bits)`` in ascending m."""

    name: str
    version: str
    params: MagnitudeParams
    rows: tuple[MagnitudeRow, ...]
    _uppers: tuple[int, ...] = field(init=False, repr=False, compare=False)
    _flat_uppers: IntArray = field(init=False, repr=False, compare=False)
    _flat_m: FloatArray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        problems: list[str] = []
        total, lower, previous = 2**self.params.key_bits, 0, Decimal(-2)
        if not self.rows:
            problems.append("the table has no rows")
        for n, row in enumerate(self.rows, start=1):
            where = f"row {n} (m {row.m})"
            if not Decimal(-1) <= row.m <= Decimal(1):
                problems.append(f"{where}: m must lie in [-1, 1]")
            if row.m <= previous:
                problems.append(f"{where}: m must ascend")
            if row.m * self.params.grid != (row.m * self.params.grid).to_integral_value():
                problems.append(f"{where}: m is not on the grid of step {self.params.step}")
            if row.lower != lower or not row.lower < row.upper <= total:
                problems.append(f"{where}: interval [{row.lower}, {row.upper}) must start at {lower}, non-empty")
            if not 0 <= row.probability <= 1:
                problems.append(f"{where}: probability {row.probability} is outside [0, 1]")
            lower, previous = row.upper, row.m
        if lower != total:
            problems.append(f"the intervals end at {lower}, expected {total}")
        if problems:
            raise PTableError(f"invalid magnitude table {self.name!r}", problems)
        object.__setattr__(self, "_uppers", tuple(r.upper for r in self.rows))
        object.__setattr__(self, "_flat_uppers", np.array(self._uppers, dtype=np.int64))
        object.__setattr__(self, "_flat_m", np.array([float(r.m) for r in self.rows], dtype=np.float64))

    def noise(self, cell_key: int, key_bits: int) -> Decimal:
        """m for this cell key (exact)."""
        key = rescale_key(cell_key, key_bits, self.params.key_bits)
        return self.rows[bisect_right(self._uppers, key)].m

    def noise_array(self, cell_keys: npt.ArrayLike, key_bits: int) -> FloatArray:
        keys = rescale_keys(cell_keys, key_bits, self.params.key_bits)
        result: FloatArray = self._flat_m[np.searchsorted(self._flat_uppers, keys, side="right")]
        return result

    def distribution(self) -> dict[Decimal, float]:
        """m → share of the key space (after quantisation)."""
        return {r.m: (r.upper - r.lower) / 2**self.params.key_bits for r in self.rows}


def generate_magnitude_table(
    params: MagnitudeParams | None = None, *, name: str | None = None, version: str = DEFAULT_VERSION
) -> MagnitudeTable:
    """The maximum-entropy magnitude table (m on the grid k/K, E[m] = 0, Var[m] = variance)."""
    params = params or MagnitudeParams()
    grid = params.grid
    ks = list(range(-grid, grid + 1))
    p = max_entropy([k / grid for k in ks], float(params.variance))
    rounded = [_round_probability(float(x)) for x in p]
    kept = [(k, x) for k, x in zip(ks, rounded, strict=True) if x > 0]
    bounds = _key_bounds([x for _, x in kept], params.key_bits)
    places = Decimal(1) / Decimal(grid)  # an exact decimal: grid has no prime factors but 2 and 5
    rows, lower = [], 0
    for (k, probability), upper in zip(kept, bounds, strict=True):
        rows.append(MagnitudeRow((Decimal(k) / Decimal(grid)).quantize(places), probability, lower, upper))
        lower = upper
    return MagnitudeTable(name=name or _magnitude_name(params), version=version, params=params, rows=tuple(rows))


@overload
def perturb_magnitude(
    value: Decimal, largest: Decimal | float, cell_key: int, key_bits: int, table: MagnitudeTable
) -> Decimal: ...
@overload
def perturb_magnitude(
    value: float, largest: Decimal | float, cell_key: int, key_bits: int, table: MagnitudeTable
) -> float: ...
def perturb_magnitude(
    value: Decimal | float, largest: Decimal | float, cell_key: int, key_bits: int, table: MagnitudeTable
) -> Decimal | float:
    """The published sum: ``value + m · scale · largest``, clipped at 0 when ``value ≥ 0``.

    ``largest`` is the cell's largest single contribution in absolute value (≥ 0). A
    non-negative sum is never published negative: a result below 0 is published as 0 (which
    biases such cells slightly upwards; it only happens when the sum is below ``scale · largest``,
    i.e. the cell is essentially one contributor). A cell with ``largest = 0`` is published
    unchanged (zero stays zero). Decimal in, Decimal out (exact: m and scale are exact decimals);
    float in, float out.
    """
    if largest < 0:
        raise ValueError(f"largest is the largest contribution in absolute value and cannot be negative, got {largest}")
    m = table.noise(cell_key, key_bits)
    if largest == 0:
        return value
    if isinstance(value, Decimal):
        size = largest if isinstance(largest, Decimal) else Decimal(str(largest))
        published = value + m * Decimal(str(table.params.scale)) * size
        return max(published, Decimal(0)) if value >= 0 else published
    result = float(value) + float(m) * table.params.scale * float(largest)
    return max(result, 0.0) if value >= 0 else result


def perturb_magnitudes(
    values: npt.ArrayLike, largests: npt.ArrayLike, cell_keys: npt.ArrayLike, key_bits: int, table: MagnitudeTable
) -> FloatArray:
    """:func:`perturb_magnitude` for float arrays of cells at once."""
    v = np.asarray(values, dtype=np.float64)
    big = np.asarray(largests, dtype=np.float64)
    if big.size and float(big.min()) < 0:
        raise ValueError("largest contributions cannot be negative")
    published = v + table.noise_array(cell_keys, key_bits) * table.params.scale * big
    result: FloatArray = np.where(v >= 0, np.maximum(published, 0.0), published)
    return result


# ---------------------------------------------------------------------------------------------
# Files

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
