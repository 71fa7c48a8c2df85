"""The constraint attack on perturbed tables, and the baseline it is measured against.

What a published perturbed count tells the attacker, from the perturbation table (public, in the
repository): the true count is one of the originals that can give what was shown. A shown value v
comes from originals v-D .. v+D (never below 0); ``<5`` from originals 1 .. 4+D (for a count of
events also from any count whose persons were too few, so at least 1); a shown 0 from 0 .. D.
D is the table's largest noise (``max_noise``).

The baseline is the best guess from one published cell and the table alone: the original most
likely to have given what was shown (``guess``, equal prior over originals). The attacker combines
all tables: an unknown whose range has one value is recovered exactly; otherwise the attacker's
guess is the most likely original *within* the range the whole system leaves.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any

from attack.solver import BIG, System, ranges
from attack.tables import ATTACKER, ORACLE, THRESHOLD
from attack.universe import EVENTS, PERSONS, Cell, cells_of, relate
from koes.privacy.count_table import PTable
from koes.services.analysis import AnalysisService
from koes.services.disclosure import CellStatus

SMALL = "<5"
HIDDEN = "x"  # hidden by secondary suppression (the unperturbed release the criteria are checked on)
Shown = int | str  # a published value, "<5" or "x"
SHOWN_AS: dict[CellStatus, Shown] = {CellStatus.PRIMARY: SMALL, CellStatus.SECONDARY: HIDDEN}


def likelihood(table: PTable, shown: Shown, original: int) -> float:
    """P(what was shown | original) under the perturbation table."""
    noise = table.distribution(original)
    if shown == SMALL:
        return sum(p for v, p in noise.items() if 1 <= original + v < THRESHOLD)
    assert isinstance(shown, int)
    return noise.get(shown - original, 0.0)


def possible(table: PTable, shown: Shown, measure: str) -> tuple[int, int]:
    """The originals that can give what was shown (their smallest and largest)."""
    if shown == SMALL and measure == EVENTS:
        return (1, int(BIG))
    assert table.params is not None
    top = (THRESHOLD - 1 if shown == SMALL else int(shown)) + 2 * table.params.max_noise + 1
    found = [i for i in range(top) if likelihood(table, shown, i) > 0]
    return (min(found), max(found))


def guess(table: PTable, shown: Shown, low: int = 0, high: int = 60) -> int:
    """The most likely original in [low, high] given what was shown (ties: the smallest)."""
    candidates = range(low, min(high, low + 60) + 1)
    return max(candidates, key=lambda i: (likelihood(table, shown, i), -i))


@dataclass
class Attack:
    """Everything the attacker saw, and what the truth was."""

    tables: int = 0
    shown: dict[Cell, Shown] = field(default_factory=dict)
    truth: dict[Cell, int] = field(default_factory=dict)
    conflicts: list[tuple[Cell, Shown, Shown]] = field(default_factory=list)  # one cell, two values
    pairs: list[tuple[Cell, Cell, Cell]] = field(default_factory=list)  # (region, region minus one, the one)

    def see(self, cell: Cell, shown: Shown, true: int) -> None:
        before = self.shown.setdefault(cell, shown)
        if before != shown:
            self.conflicts.append((cell, before, shown))
            if isinstance(shown, int):  # hidden in one table, published in another: the attacker has it
                self.shown[cell] = shown
        self.truth[cell] = true


def collect(service: AnalysisService, requests: list[dict[str, Any]]) -> Attack:
    """Ask every request as the attacker (and as the oracle, for scoring), and name every cell."""
    regions: dict[int, set[int]] = defaultdict(set)
    for m in service.municipalities().values():
        regions[m.region].add(m.code)
    frozen = {r: frozenset(k) for r, k in regions.items()}
    everywhere = frozenset(service.municipalities())
    attack = Attack()
    for request in requests:
        shown, truth = service.run(request, ATTACKER), service.run(request, ORACLE)
        attack.tables += 1
        for block, exact in zip(shown.blocks, truth.blocks, strict=True):
            for measure in (EVENTS, PERSONS):
                cells = cells_of(block, request, measure, frozen, everywhere)
                for key, cell in cells.items():
                    if not cell.kommuner:
                        continue
                    status, value = block.status(measure, key), block.values[measure][key]
                    seen: Shown = SHOWN_AS[status] if status else int(value or 0)
                    attack.see(cell, seen, int(exact.values[measure][key] or 0))
    for cell in attack.shown:  # differencing pairs: a set of municipalities, it without one, and the one
        for k in cell.kommuner if len(cell.kommuner) > 2 else ():
            rest, one = cell.but(kommuner=cell.kommuner - {k}), cell.but(kommuner=frozenset({k}))
            if rest in attack.shown and one in attack.shown:
                attack.pairs.append((cell, rest, one))
    return attack


@dataclass(frozen=True)
class Score:
    measure: str
    unknowns: int  # distinct cells of this measure the attacker saw
    relations: int
    small: int  # of them with a true count 1 .. 4
    recovered: int  # small cells the system pins to one value (and it is the truth)
    recovered_wrong: int  # pinned to a value that is not the truth (the model's assumptions failed)
    attacker_hits: int  # small cells where the attacker's best guess is the truth
    baseline_hits: int  # … where guessing from the one cell and the table is right

    @property
    def attacker_rate(self) -> float:
        return self.attacker_hits / self.small if self.small else 0.0

    @property
    def baseline_rate(self) -> float:
        return self.baseline_hits / self.small if self.small else 0.0


def solve(attack: Attack, table: PTable, measure: str) -> Score:
    """Bounds from every published cell, relations between cells; the range of every unknown."""
    system = System()
    cells = {c for c in attack.shown if c.measure == measure}
    for cell in cells:
        low, high = possible(table, attack.shown[cell], measure)
        system.unknown(cell, float(low), float(high))
    relate(system, cells)
    small = [c for c in cells if 1 <= attack.truth[c] <= 4]
    first: dict[Hashable, int] = {c: guess(table, attack.shown[c]) for c in small}  # the baseline's guesses
    # Where the one-cell guess lies in the range the solutions showed, it lies in the true range and
    # stays the attacker's guess; elsewhere the attacker's guess needs the true range.
    found = ranges(system, small, exact=lambda c, seen: not seen[0] <= first[c] <= seen[1])
    recovered = [c for c in small if found[c][0] == found[c][1]]
    right = [c for c in recovered if found[c][0] == attack.truth[c]]
    attacker = sum(guess(table, attack.shown[c], *found[c]) == attack.truth[c] for c in small)
    baseline = sum(first[c] == attack.truth[c] for c in small)
    return Score(
        measure, len(cells), len(system.rows), len(small), len(right), len(recovered) - len(right), attacker, baseline
    )


@dataclass(frozen=True)
class Differencing:
    pairs: int
    small: int  # pairs whose single municipality has a true count 1 .. 4
    hits: int  # region minus region-without-it is that count exactly
    baseline_hits: int  # guessing from the municipality's own published cell is right


def difference(attack: Attack, table: PTable, measure: str) -> Differencing:
    pairs = [(w, r, o) for w, r, o in attack.pairs if w.measure == measure]
    small = [(w, r, o) for w, r, o in pairs if 1 <= attack.truth[o] <= 4]
    hits = baseline = 0
    for whole, rest, one in small:
        a, b = attack.shown[whole], attack.shown[rest]
        if isinstance(a, int) and isinstance(b, int):
            hits += a - b == attack.truth[one]
        baseline += guess(table, attack.shown[one]) == attack.truth[one]
    return Differencing(len(pairs), len(small), hits, baseline)


def summary(scores: Mapping[str, Score], differencing: Mapping[str, Differencing]) -> dict[str, Any]:
    return {
        "constraint attack": {
            m: s.__dict__ | {"attacker_rate": s.attacker_rate, "baseline_rate": s.baseline_rate}
            for m, s in scores.items()
        },
        "differencing": {m: d.__dict__ for m, d in differencing.items()},
    }
