"""The configured disclosure control of a release: its method, and for perturbation its tables.

Perturbation needs the release's record keys (the manifest says how many bits they have); a
release loaded before record keys existed is refused with a message saying what to do, never
served with exact figures.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from koes.privacy.count_table import PTable
from koes.privacy.magnitude import MagnitudeTable, perturb_magnitude
from koes.privacy.ptable import read_magnitude_table, read_ptable, shipped_magnitude_table, shipped_ptable
from koes.privacy.suppression import DisclosureRule
from koes.query.assemble import Number
from koes.services.disclosure import Control, Method, Perturbation
from koes.settings import Settings


@dataclass(frozen=True)
class _Magnitudes:
    """The magnitude table as the disclosure step calls it."""

    table: MagnitudeTable

    @property
    def name(self) -> str:
        return self.table.name

    @property
    def version(self) -> str:
        return self.table.version

    def perturb(self, value: Number, largest: Number, cell_key: int, key_bits: int) -> Number:
        return perturb_magnitude(value, largest, cell_key, key_bits, self.table)


def disclosure_control(settings: Settings, rule: DisclosureRule, manifest: Mapping[str, Any]) -> Control:
    """ValueError when the method is unknown or the release cannot be perturbed."""
    try:
        method = Method(settings.disclosure_method)
    except ValueError:
        choices = ", ".join(m.value for m in Method)
        raise ValueError(f"KOES_DISCLOSURE_METHOD is {settings.disclosure_method!r}; use one of {choices}") from None
    if method is Method.SUPPRESSION:
        return Control(rule)
    bits = (manifest.get("record_keys") or {}).get("bits")
    if not bits:
        raise ValueError("it has no record keys (it was loaded by an older version): load the extracts again")
    counts = read_ptable(settings.ptable_file) if settings.ptable_file else shipped_ptable()
    magnitudes = (
        read_magnitude_table(settings.magnitude_table_file)
        if settings.magnitude_table_file
        else shipped_magnitude_table()
    )
    largest = max(abs(row.noise) for row in counts.rows)
    return Control(rule, Perturbation(counts, _Magnitudes(magnitudes), largest, int(bits), _variance(counts)))


def _variance(counts: PTable) -> float:
    """The noise variance of the table's last row (the one every large count uses)."""
    last = [row for row in counts.rows if row.original == counts.max_original]
    return sum(row.probability * row.noise * row.noise for row in last)
