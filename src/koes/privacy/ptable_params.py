"""The parameters of the perturbation tables and their checks (see :mod:`koes.privacy.ptable`).

A count table is declared by :class:`PTableParams` (maximum noise, variance, blocked small counts, key
bits), a magnitude table by :class:`MagnitudeParams`; each checks itself and names every problem at
once (:class:`PTableError`). The shipped tables' names and the file format's constants live here too.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

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


def is_int(value: object) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def _is_real(value: object) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)


def check_key_bits(key_bits: object, problems: list[str], name: str = "key_bits") -> None:
    if not is_int(key_bits) or not 1 <= int(key_bits) <= MAX_KEY_BITS:  # type: ignore[call-overload]
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
        d_ok = is_int(self.max_noise) and self.max_noise >= 1
        if not d_ok:
            problems.append(f"max_noise must be an integer ≥ 1, got {self.max_noise!r}")
        if not _is_real(self.variance) or not math.isfinite(self.variance) or self.variance <= 0:
            problems.append(f"variance must be a finite number > 0, got {self.variance!r}")
        elif d_ok and self.variance >= self.max_noise**2:
            problems.append(
                f"variance must be below max_noise² = {self.max_noise**2} (the largest variance of "
                f"mean-zero noise within ±{self.max_noise}), got {self.variance!r}"
            )
        if not is_int(self.blocked) or self.blocked < 0:
            problems.append(f"blocked must be an integer ≥ 0, got {self.blocked!r}")
        elif d_ok and self.blocked >= self.max_noise:
            problems.append(
                f"blocked must be below max_noise ({self.max_noise}), or originals up to {self.blocked} "
                f"cannot get unbiased noise; got {self.blocked!r}"
            )
        check_key_bits(self.key_bits, problems)
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


def count_table_name(params: PTableParams) -> str:
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
        check_key_bits(self.key_bits, problems)
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


def magnitude_table_name(params: MagnitudeParams) -> str:
    def digits(x: float) -> str:  # 0.25 → 025, 0.1 → 010, 0.025 → 0025
        text = f"{x:.6f}".rstrip("0")
        whole, _, fraction = text.partition(".")
        return whole + fraction.ljust(2, "0")

    bits = "" if params.key_bits == 16 else f"-k{params.key_bits}"
    return f"koes-magnitude-v{digits(params.variance)}-step{digits(params.step)}-scale{digits(params.scale)}{bits}"
