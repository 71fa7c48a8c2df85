"""The attacker's solver: what a system of linear constraints leaves of each unknown (HiGHS via scipy).

An attacker collects unknowns (true counts), bounds on each (from what was published) and linear
relations between them (a total is the sum of its parts), and asks for every unknown: what is the
smallest and the largest value the whole system allows? An unknown whose smallest and largest
integer values are equal is *recovered exactly*.

Two ways to solve, both exact about what they claim:

* ``ranges`` (LP relaxation, for large systems): minimise and maximise each unknown over the real
  relaxation, then round inwards (the true value is an integer in the relaxed interval). Random
  objectives first find pairs of solutions in which most unknowns differ; only the rest need their
  own two solves. An unknown it calls recovered is recovered; it may miss some an integer solver
  would pin, so it is a lower bound on the attacker's power. That is why the single-table check
  under suppression uses
* ``integer_ranges`` (MILP): integer unknowns, some of them 0 or at least a threshold (a cell
  hidden as ``x`` under suppression: 0, or at least 5 persons behind it), written with a 0/1
  indicator (HiGHS's own semi-integer variables failed with "Solve error" on some tiny tables).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import highspy
import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import csr_array

BIG = 10_000_000.0  # a finite "no upper bound"
LARGEST = 100_000.0  # the largest value a "0 or at least t" unknown may take (its indicator's big M)


@dataclass
class System:
    """Unknowns with bounds, and linear relations ``low <= sum(coefficient * unknown) <= high``."""

    index: dict[Hashable, int] = field(default_factory=dict)
    lower: list[float] = field(default_factory=list)
    upper: list[float] = field(default_factory=list)
    indicators: dict[Hashable, Hashable] = field(default_factory=dict)  # "0 or at least t": unknown → its 0/1
    rows: list[tuple[dict[int, float], float, float]] = field(default_factory=list)
    _seen: set[tuple[frozenset[tuple[int, float]], float, float]] = field(default_factory=set)
    solves: int = 0  # how many LPs the last ``ranges`` solved

    def unknown(self, name: Hashable, low: float = 0.0, high: float = BIG) -> int:
        """The unknown called ``name`` (made on first use); its bounds narrow to ``[low, high]``."""
        if name not in self.index:
            self.index[name] = len(self.lower)
            self.lower.append(0.0)
            self.upper.append(BIG)
        i = self.index[name]
        self.lower[i] = max(self.lower[i], low)
        self.upper[i] = min(self.upper[i], high)
        return i

    def zero_or_at_least(self, name: Hashable, threshold: float) -> int:
        """An unknown that is 0 or at least ``threshold``: ``threshold·z <= x <= LARGEST·z``, z in {0, 1}."""
        i = self.unknown(name, 0.0, LARGEST)
        indicator = ("nonzero", name)
        self.unknown(indicator, 0.0, 1.0)
        self.indicators[name] = indicator
        self.relate({name: 1.0, indicator: -threshold}, 0.0, float("inf"))
        self.relate({name: 1.0, indicator: -LARGEST}, float("-inf"), 0.0)
        return i

    def relate(self, terms: Mapping[Any, float], low: float, high: float) -> None:
        """``low <= sum(coefficient * unknown) <= high``; unknown names are made on first use."""
        row: dict[int, float] = {}
        for name, coefficient in terms.items():
            i = self.unknown(name)
            row[i] = row.get(i, 0.0) + coefficient
        key = (frozenset(row.items()), low, high)
        if key not in self._seen:  # the same relation reached from two tables
            self._seen.add(key)
            self.rows.append((row, low, high))

    def equal(self, terms: Mapping[Any, float], value: float = 0.0) -> None:
        self.relate(terms, value, value)

    def _matrix(self) -> tuple[csr_array, np.ndarray, np.ndarray]:
        data, cols, rows = [], [], []
        for r, (row, _, _) in enumerate(self.rows):
            for c, coefficient in row.items():
                rows.append(r)
                cols.append(c)
                data.append(coefficient)
        shape = (len(self.rows), len(self.lower))
        matrix = csr_array((data, (rows, cols)), shape=shape)
        matrix.sum_duplicates()
        return matrix, np.array([r[1] for r in self.rows]), np.array([r[2] for r in self.rows])

    def violated_by(self, truth: Mapping[Any, float]) -> list[str]:
        """What the true values break (nothing, when the attacker's model is sound)."""
        names = self.names()
        values = dict(truth)
        values.update({z: float(truth[name] > 0) for name, z in self.indicators.items()})
        problems = [
            f"{names[i]} = {values[names[i]]} outside [{low}, {high}]"
            for i, (low, high) in enumerate(zip(self.lower, self.upper, strict=True))
            if not (low - 1e-9 <= values[names[i]] <= high + 1e-9)
        ]
        for row, low, high in self.rows:
            total = sum(c * values[names[i]] for i, c in row.items())
            if not low - 1e-6 <= total <= high + 1e-6:
                problems.append(f"{ {names[i]: c for i, c in row.items()} } = {total} outside [{low}, {high}]")
        return problems

    def names(self) -> list[Hashable]:
        out: list[Hashable] = [None] * len(self.index)
        for name, i in self.index.items():
            out[i] = name
        return out


Range = tuple[int, int]


class _Relaxation:
    """The LP relaxation in HiGHS, kept between solves: only the objective changes, and each solve
    starts from the last basis (a few pivots instead of a fresh solve)."""

    def __init__(self, system: System) -> None:
        matrix, low, high = system._matrix()
        inf = highspy.kHighsInf
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = len(system.lower), matrix.shape[0]
        lp.col_cost_ = np.zeros(lp.num_col_)
        lower = np.array(system.lower)
        lp.col_lower_, lp.col_upper_ = lower, np.array(system.upper)
        lp.row_lower_ = np.where(np.isfinite(low), low, -inf)
        lp.row_upper_ = np.where(np.isfinite(high), high, inf)
        lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
        lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = matrix.indptr, matrix.indices, matrix.data
        self.highs = highspy.Highs()  # type: ignore[no-untyped-call]
        self.highs.setOptionValue("output_flag", False)
        self.highs.passModel(lp)
        self.cost = np.zeros(lp.num_col_)

    def solve(self, cost: np.ndarray) -> np.ndarray:
        changed = np.flatnonzero(cost != self.cost)
        if len(changed):
            self.highs.changeColsCost(len(changed), changed.astype(np.int32), cost[changed])
            self.cost = cost.copy()
        self.highs.run()
        if self.highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            raise RuntimeError(f"the attacker's system has no solution: {self.highs.getModelStatus()}")
        return np.asarray(self.highs.getSolution().col_value)


def ranges(
    system: System,
    only: Iterable[Hashable] | None = None,
    *,
    exact: Callable[[Hashable, Range], bool] = lambda name, seen: False,
    probes: int = 8,
    seed: int = 0,
) -> dict[Hashable, Range]:
    """What the LP relaxation leaves of each unknown (of ``only``, default all), as integers.

    A range of one value is exact (two solves prove it). A wider one is only what the solutions
    met on the way showed (a part of the true range, enough to say "not pinned"), unless
    ``exact(name, that range)`` asks for the true smallest and largest value."""
    lp = _Relaxation(system)
    n = len(system.lower)
    wanted = [system.index[name] for name in (system.index if only is None else only)]
    seen_low, seen_high = np.full(n, np.inf), np.full(n, -np.inf)
    rng = np.random.default_rng(seed)
    system.solves = probes
    for _ in range(probes):  # push every wanted unknown up or down at once
        cost = np.zeros(n)
        cost[wanted] = rng.choice([-1.0, 1.0], size=len(wanted))
        x = lp.solve(cost)
        seen_low, seen_high = np.minimum(seen_low, x), np.maximum(seen_high, x)

    def seen(i: int) -> Range:
        return (math.ceil(seen_low[i] - 1e-6), math.floor(seen_high[i] + 1e-6))

    out: dict[Hashable, Range] = {}
    names = system.names()
    for i in wanted:
        narrow = seen_high[i] - seen_low[i] < 1.0 - 1e-6  # not yet two solutions an integer apart
        if narrow or exact(names[i], seen(i)):
            for sign in (1.0, -1.0):
                cost = np.zeros(n)
                cost[i] = sign
                x = lp.solve(cost)
                system.solves += 1
                seen_low, seen_high = np.minimum(seen_low, x), np.maximum(seen_high, x)
        out[names[i]] = seen(i)
    return out


def integer_ranges(
    system: System, only: Iterable[Hashable] | None = None, *, probes: int = 6, seed: int = 0
) -> dict[Hashable, Range]:
    """The range of each unknown (of ``only``) with integer unknowns (MILP)."""
    matrix, low, high = system._matrix()
    n = len(system.lower)
    integrality = np.ones(n)
    constraints = [LinearConstraint(matrix, low, high)] if matrix.shape[0] else []
    bounds = Bounds(np.array(system.lower), np.array(system.upper))

    def solve(objective: np.ndarray) -> np.ndarray:
        result = milp(objective, constraints=constraints, integrality=integrality, bounds=bounds)
        if result.status != 0:
            raise RuntimeError(f"the attacker's system has no solution: {result.message}")
        return np.round(np.asarray(result.x))

    seen_low, seen_high = np.full(n, np.inf), np.full(n, -np.inf)
    rng = np.random.default_rng(seed)
    for _ in range(probes):
        x = solve(rng.normal(size=n))
        seen_low, seen_high = np.minimum(seen_low, x), np.maximum(seen_high, x)
    out: dict[Hashable, Range] = {}
    for name in system.index if only is None else only:
        i = system.index[name]
        if seen_high[i] > seen_low[i]:
            out[name] = (int(seen_low[i]), int(seen_high[i]))
            continue
        unit = np.zeros(n)
        unit[i] = 1.0
        x_low, x_high = solve(unit), solve(-unit)
        seen_low, seen_high = (
            np.minimum(seen_low, np.minimum(x_low, x_high)),
            np.maximum(seen_high, np.maximum(x_low, x_high)),
        )
        out[name] = (int(x_low[i]), int(x_high[i]))
    return out
