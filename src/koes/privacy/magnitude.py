"""The magnitude perturbation table: noise for sums in proportion to the largest contribution.

Sums (kroner, bed days, hours, weeks) are published as ``value + m · scale · largest`` with ``m``
drawn by the cell key (see :mod:`koes.privacy.ptable`).
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from decimal import Decimal
from typing import NamedTuple, overload

import numpy as np
import numpy.typing as npt

from koes.privacy.count_table import rescale_key, rescale_keys
from koes.privacy.max_entropy import key_bounds, max_entropy, round_probability
from koes.privacy.ptable_params import (
    DEFAULT_VERSION,
    FloatArray,
    IntArray,
    MagnitudeParams,
    PTableError,
    magnitude_table_name,
)


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
    rounded = [round_probability(float(x)) for x in p]
    kept = [(k, x) for k, x in zip(ks, rounded, strict=True) if x > 0]
    bounds = key_bounds([x for _, x in kept], params.key_bits)
    places = Decimal(1) / Decimal(grid)  # an exact decimal: grid has no prime factors but 2 and 5
    rows, lower = [], 0
    for (k, probability), upper in zip(kept, bounds, strict=True):
        rows.append(MagnitudeRow((Decimal(k) / Decimal(grid)).quantize(places), probability, lower, upper))
        lower = upper
    return MagnitudeTable(name=name or magnitude_table_name(params), version=version, params=params, rows=tuple(rows))


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
