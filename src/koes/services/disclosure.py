"""Disclosure control of assembled blocks: every published number passes through here.

Two methods, one chosen in the settings (decision 0006):

* **Consistent perturbation** (the cell-key method; the default). Each count is published as
  count + noise, where the noise is read from the perturbation table at the cell's *cell key*:
  the sum of the record keys of the units the cell counts (events for event counts, distinct
  persons for person counts), modulo 2**bits. The same units give the same key, so a cell has the
  same value in every table, route and release, and combining tables gives back nothing exact.
  A count, or the persons behind an event count or amount, perturbed below the display threshold
  shows as ``<5``. Amounts (kroner, days, hours, weeks) move by noise scaled by the cell's largest
  single contribution, read at the same key. Resident counts are public and stay exact. Totals
  are cells of their own: they need not equal the sum of their parts.
* **Cell suppression** (the alternative): each base measure is protected on its own grid of
  disclosure bases (primary and secondary suppression, ``koes.privacy.suppression``). Bases are
  exact below the threshold and may be lower bounds above it (``koes.query.bases``), so secondary
  suppression ranks cells by their value, which every route to a measure gives alike.

Either way, derived measures (rates, shares, per-citizen amounts, standardised rates) are computed
from the *published* numbers (``koes.query.derive``) and hidden wherever a number they are computed
from is hidden: a published rate and a published population would otherwise give a hidden count
back. Users with individual-level rights see exact figures for blocks that hold only their own
citizens; every other block of the same answer is protected as for anyone.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from koes.domain.cells import CellKey
from koes.privacy.suppression import DisclosureRule, Grid, Quantity, Suppression, round_count, suppress
from koes.query.assemble import Aggregate, Block, Number, StandardWeights, Stratum, cells_of
from koes.query.derive import derive, inputs_of
from koes.query.plan import Area, Plan
from koes.semantic.model import Aggregation, Measure, Noise, Unit


class CellStatus(StrEnum):
    """Why a cell is hidden: what the API calls its ``status`` and what the pages show for it."""

    PRIMARY = "primary"  # too small in itself: shown as <5
    SECONDARY = "secondary"  # hidden so a small cell cannot be recomputed from the totals: x
    DERIVED = "derived"  # computed from a hidden input (a rate of a hidden count): x


COUNT_UNITS = frozenset({Unit.COUNT, Unit.PERSONS, Unit.DAYS, Unit.WEEKS})


class Method(StrEnum):
    PERTURBATION = "perturbation"
    SUPPRESSION = "suppression"


class Exactness(StrEnum):
    """How many blocks of an answer hold exact figures (individual-level rights over own citizens)."""

    NONE = "none"
    SOME = "some"
    ALL = "all"

    @classmethod
    def of(cls, blocks: Sequence[ProtectedBlock]) -> Exactness:
        exact = sum(b.exact for b in blocks)
        return cls.NONE if not exact else cls.ALL if exact == len(blocks) else cls.SOME


class CountNoise(Protocol):
    """A perturbation table for counts (``koes.privacy.count_table.PTable``)."""

    @property
    def name(self) -> str: ...

    @property
    def version(self) -> str: ...

    def perturb(self, original: int, cell_key: int, key_bits: int) -> int: ...


class MagnitudeNoise(Protocol):
    """Noise for amounts, scaled by the largest contribution (``koes.privacy.magnitude``)."""

    @property
    def name(self) -> str: ...

    @property
    def version(self) -> str: ...

    def perturb(self, value: Number, largest: Number, cell_key: int, key_bits: int) -> Number: ...


@dataclass(frozen=True)
class Perturbation:
    counts: CountNoise
    magnitudes: MagnitudeNoise
    max_noise: int  # the largest change of a count: bases this far above the threshold are safe
    key_bits: int  # the release's record keys (manifest ``record_keys.bits``)
    variance: float = 0.0  # of the noise on a count (its table's full rows): widens derived intervals

    def cell_key(self, key_sum: int) -> int:
        """A cell key from the sum of its units' record keys: the sum modulo 2**bits."""
        return key_sum % (1 << self.key_bits)


@dataclass(frozen=True)
class Control:
    """The disclosure control of a deployment: its method, threshold and tables."""

    rule: DisclosureRule  # threshold (and optional rounding) of the display
    perturbation: Perturbation | None = None  # None: cell suppression

    @property
    def method(self) -> Method:
        return Method.SUPPRESSION if self.perturbation is None else Method.PERTURBATION

    @property
    def recount_threshold(self) -> int:
        """Bases under this must be counted exactly (``koes.query.bases``)."""
        return self.rule.threshold + (self.perturbation.max_noise if self.perturbation else 0)

    @property
    def name(self) -> str:
        """The method and the versions of its tables, for the provenance of every result."""
        if self.perturbation is None:
            return f"{self.rule.name} v{self.rule.version}"
        counts, magnitudes = self.perturbation.counts, self.perturbation.magnitudes
        return f"cell-key: {counts.name} v{counts.version}, {magnitudes.name} v{magnitudes.version}"

    def describe(self, language: str = "da") -> str:
        """One paragraph for a reader: how the published figures are protected."""
        if self.perturbation is None:
            return self.rule.describe(language)
        text = _PERTURBATION_TEXT["en" if language == "en" else "da"]
        return text.format(t=self.rule.threshold, d=self.perturbation.max_noise, name=self.name)

    def note(self, language: str = "da", exact: Exactness = Exactness.NONE) -> str:
        """What the marks in a table mean, and whether its figures are exact (under every table and
        in every export): a user with individual-level rights must see which figures are exact."""
        lang = "en" if language == "en" else "da"
        if exact is Exactness.ALL:
            return _EXACT_NOTE[lang]
        texts = _SUPPRESSION_NOTE if self.perturbation is None else _PERTURBATION_NOTE
        protected = texts[lang].format(t=self.rule.threshold)
        return f"{_SOME_EXACT_NOTE[lang]} {protected}" if exact is Exactness.SOME else protected

    def fingerprint(self) -> tuple[str, ...]:
        """What a cached answer depends on."""
        rule = self.rule
        parts = (self.method.value, rule.name, rule.version, str(rule.threshold), str(rule.rounding))
        if self.perturbation is None:
            return parts
        p = self.perturbation
        return (*parts, p.counts.name, p.counts.version, p.magnitudes.name, p.magnitudes.version, str(p.key_bits))


_PERTURBATION_TEXT = {
    "da": "Tallene er beskyttet med konsistent støj (cell key-metoden): hvert antal er flyttet højst ±{d} og altid "
    "ens for den samme celle, i alle tabeller og udtræk, så tabeller kan ikke kombineres til præcise tal. Antal under "
    "{t}, og tal med færre end {t} personer bag sig, vises som <{t}. Beløb, dage, timer og uger er flyttet med "
    "støj efter cellens største enkeltbidrag. Totaler er selvstændige celler og er ikke nødvendigvis summen af "
    "delene. Befolkningstal er offentlige og vises præcist; rater er beregnet af de viste tal ({name}).",
    "en": "Figures are protected with consistent noise (the cell-key method): every count is moved by at most ±{d}, "
    "always the same for the same cell in every table and export, so tables cannot be combined into exact "
    "figures. Counts under {t}, and figures with fewer than {t} persons behind them, show as <{t}. Amounts, days, "
    "hours and weeks move by noise scaled by the cell's largest single contribution. Totals are cells of their "
    "own and need not equal the sum of their parts. Population counts are public and exact; rates are computed "
    "from the published figures ({name}).",
}
_PERTURBATION_NOTE = {
    "da": "<{t}: under {t} efter støj, eller færre end {t} personer bag tallet. x: skjult, fordi et tal det er "
    "beregnet af er skjult. Tallene har konsistent støj; totaler er ikke nødvendigvis summen af delene.",
    "en": "<{t}: under {t} after noise, or fewer than {t} persons behind the figure. x: hidden because a figure it is "
    "computed from is hidden. Figures carry consistent noise; totals need not equal the sum of their parts.",
}
_EXACT_NOTE = {
    "da": "Præcise tal: du har rettigheder på individniveau for disse borgere. Tallene er ikke diskretioneret og må "
    "ikke offentliggøres som de er.",
    "en": "Exact figures: you hold individual-level rights for these citizens. The figures are not protected and must "
    "not be published as they are.",
}
_SOME_EXACT_NOTE = {
    "da": "Tallene for egne borgere er præcise (rettigheder på individniveau); de øvrige områder er beskyttet.",
    "en": "Figures for your own citizens are exact (individual-level rights); the other areas are protected.",
}
_SUPPRESSION_NOTE = {
    "da": "<{t}: færre end {t} personer. x: skjult, så en skjult værdi ikke kan regnes ud fra totaler eller afledte "
    "tal.",
    "en": "<{t}: fewer than {t} persons. x: hidden so that no hidden value can be worked out from totals or derived "
    "figures.",
}


@dataclass(frozen=True)
class ProtectedBlock:
    """One block as it may be published: values (``None`` where hidden), why hidden, intervals."""

    area: Area | None
    row_keys: tuple[tuple[Any, ...], ...]
    col_keys: tuple[tuple[Any, ...], ...]
    hidden: Mapping[str, Mapping[CellKey, CellStatus]]  # measure → cell → why hidden
    values: Mapping[str, Mapping[CellKey, Number | None]]
    intervals: Mapping[str, Mapping[CellKey, tuple[float, float]]]
    exact: bool  # exact figures (individual-level rights over these citizens), not protected ones

    def status(self, measure: str, cell: CellKey) -> CellStatus | None:
        return self.hidden.get(measure, {}).get(cell)

    def cells(self) -> list[CellKey]:
        return cells_of(len(self.row_keys), len(self.col_keys))


def protect(
    block: Block,
    plan: Plan,
    control: Control,
    weights: StandardWeights,
    *,
    exact: bool,
) -> ProtectedBlock:
    if exact:  # individual-level rights over own citizens only: exact figures
        base: dict[str, dict[CellKey, Number | None]] = {
            m: {c: a.value for c, a in cells.items()} for m, cells in block.aggregates.items()
        }
        strata = _strata(block, lambda a: a.value)
        return _publish(block, plan, base, {}, strata, weights, exact=True)
    if control.perturbation is None:
        return _suppressed(block, plan, control.rule, weights)
    return _perturbed(block, plan, control, control.perturbation, weights)


# --- perturbation -------------------------------------------------------------------------------


def _perturbed(
    block: Block, plan: Plan, control: Control, noise: Perturbation, weights: StandardWeights
) -> ProtectedBlock:
    threshold = control.rule.threshold
    measures = {m.id: m for m in plan.base_measures}
    base: dict[str, dict[CellKey, Number | None]] = {}
    hidden: dict[str, dict[CellKey, CellStatus]] = {}
    for measure_id, cells in block.aggregates.items():
        measure = measures[measure_id]
        values, marks = base.setdefault(measure_id, {}), hidden.setdefault(measure_id, {})
        for cell, aggregate in cells.items():
            value = _perturb(aggregate, noise)
            if _too_small(aggregate, value, noise, threshold):
                values[cell], marks[cell] = None, CellStatus.PRIMARY
            else:
                values[cell] = _rounded(value, measure, control.rule)
    strata = _strata(block, lambda a: _perturb(a, noise))
    return _publish(block, plan, base, hidden, strata, weights, exact=False, noise_variance=noise.variance)


def _perturb(aggregate: Aggregate, noise: Perturbation) -> Number:
    """The published value of an aggregate: exact when public, else moved by the noise at its key."""
    value = aggregate.value
    if aggregate.noise is Noise.NONE or not value:
        return value  # public, or a true zero: zero stays zero
    if aggregate.key is None:  # fail closed: never publish an exact count for want of a key
        raise RuntimeError("a perturbed measure came back without its cell key")
    key = noise.cell_key(aggregate.key)
    if aggregate.noise is Noise.MAGNITUDE:
        return noise.magnitudes.perturb(value, aggregate.largest or 0, key, noise.key_bits)
    count = int(value)
    moved = noise.counts.perturb(abs(count), key, noise.key_bits)
    return moved if count >= 0 else -moved


def _too_small(aggregate: Aggregate, value: Number, noise: Perturbation, threshold: int) -> bool:
    """Shown as ``<threshold``: a perturbed count below it, or too few (perturbed) persons behind it."""
    if aggregate.noise is Noise.NONE:
        return False
    if aggregate.noise is Noise.COUNT and 0 < abs(int(value)) < threshold:
        return True
    if aggregate.aggregation is Aggregation.PERSONS or aggregate.base <= 0:
        return False  # a person count is its own base; no one behind: a true zero
    if aggregate.base_key is None:
        return False  # the base is a lower bound at least the threshold plus the largest noise
    persons = noise.counts.perturb(aggregate.base, noise.cell_key(aggregate.base_key), noise.key_bits)
    return persons < threshold


# --- suppression --------------------------------------------------------------------------------


def _suppressed(block: Block, plan: Plan, rule: DisclosureRule, weights: StandardWeights) -> ProtectedBlock:
    grid_shape = (len(block.row_keys), len(block.col_keys))
    measures = {m.id: m for m in plan.base_measures}
    base: dict[str, dict[CellKey, Number | None]] = {}
    hidden: dict[str, dict[CellKey, CellStatus]] = {}
    for measure_id, cells in block.aggregates.items():
        bases = {cell: a.base for cell, a in cells.items()}
        weights_of = {cell: _weight(a.value) for cell, a in cells.items()}
        values = {cell: a.value for cell, a in cells.items()}
        grid = Grid(*grid_shape, bases, weights_of, values, _QUANTITIES.get(measures[measure_id].unit, Quantity.AMOUNT))
        marks = _statuses(suppress(grid, rule))
        hidden[measure_id] = marks
        base[measure_id] = {
            cell: None if cell in marks else _rounded(a.value, measures[measure_id], rule) for cell, a in cells.items()
        }
    strata = _strata(block, lambda a: a.value)
    return _publish(block, plan, base, hidden, strata, weights, exact=False)


# What a reader knows of a hidden value (koes.privacy.suppression): persons 1 .. threshold-1 when
# small, events at least 1, amounts (kroner, days, hours, weeks) only not negative.
_QUANTITIES = {Unit.PERSONS: Quantity.PERSONS, Unit.COUNT: Quantity.EVENTS}


def _weight(value: Number | None) -> int:
    """What hiding a cell costs the reader: the size of its value, in whole units."""
    return 0 if value is None else math.ceil(abs(float(value)))


def _statuses(result: Suppression) -> dict[CellKey, CellStatus]:
    marks = dict.fromkeys(result.secondary, CellStatus.SECONDARY)
    marks.update(dict.fromkeys(result.primary, CellStatus.PRIMARY))
    return marks


# --- shared -------------------------------------------------------------------------------------


def _strata(block: Block, value: Any) -> dict[str, dict[CellKey, dict[Stratum, Number]]]:
    return {
        measure: {cell: {s: value(a) for s, a in by_stratum.items()} for cell, by_stratum in cells.items()}
        for measure, cells in block.strata.items()
    }


def _publish(
    block: Block,
    plan: Plan,
    base: dict[str, dict[CellKey, Number | None]],
    hidden: dict[str, dict[CellKey, CellStatus]],
    strata: dict[str, dict[CellKey, dict[Stratum, Number]]],
    weights: StandardWeights,
    *,
    exact: bool,
    noise_variance: float = 0.0,
) -> ProtectedBlock:
    """Add the derived measures, computed from ``base`` (the published base values)."""
    cells = block.cells()
    published: dict[str, Mapping[CellKey, Number | None]] = dict(base)
    intervals: dict[str, dict[CellKey, tuple[float, float]]] = {}
    for measure in plan.measures:
        if measure.is_base:
            continue
        derived = derive(measure, cells, base, strata, weights, noise_variance)
        marks = {cell: CellStatus.DERIVED for ref in inputs_of(measure) for cell in hidden.get(ref, {})}
        hidden[measure.id] = marks
        published[measure.id] = {cell: None if cell in marks else v for cell, v in derived.values.items()}
        intervals[measure.id] = {cell: ci for cell, ci in derived.intervals.items() if cell not in marks}
    return ProtectedBlock(block.area, block.row_keys, block.col_keys, hidden, published, intervals, exact)


def _rounded(value: Number | None, measure: Measure, rule: DisclosureRule) -> Number | None:
    if value is None or rule.rounding is None or measure.unit not in COUNT_UNITS or not measure.is_base:
        return value
    return round_count(int(value), rule)
