"""Municipal co-financing of events, by the versioned rule table (``koes.domain.rules``).

The calibration computes co-financing itself, so that the synthetic share of each sector can be
set against published shares: ``pct`` % of an event's value under the rule in force on the event
date for its sector and the citizen's age, capped per event (a stay, a visit, a service). Events
no rule covers (other providers than GPs and specialists) are not co-financed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from koes.domain.rules import RuleSet, load_rules

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Cofinancing:
    rules: RuleSet

    @classmethod
    def load(cls) -> Cofinancing:
        return cls(load_rules())

    def amount(self, sector: str, day: Ints, age: Ints, value: Floats) -> Floats:
        """Co-financing of each event of one sector (day numbers, age on the day, value in kr.)."""
        out = np.zeros(len(day), dtype=np.float64)
        for rule in self.rules.cofinancing:
            if rule.sector != sector:
                continue
            lo = np.datetime64(rule.valid_from, "D").astype(np.int64)
            hi = np.datetime64(rule.valid_to, "D").astype(np.int64)
            top = rule.age_to if rule.age_to is not None else 10_000
            hit = (day >= lo) & (day <= hi) & (age >= rule.age_from) & (age <= top)
            raw = value * rule.pct / 100
            capped = raw if rule.cap_kr is None else np.minimum(raw, rule.cap_kr)
            out = np.where(hit, capped, out)
        return out

    def psychiatric_tariff(self, tariff: str, year: Ints) -> Floats:
        """The bed-day (``sengedag``) or visit (``besoeg``) rate of each year."""
        rates = {t.year: t.kr for t in self.rules.psychiatric_tariffs if t.tariff == tariff}
        known = np.array(sorted(rates), dtype=np.int64)
        kr = np.array([rates[int(y)] for y in known], dtype=np.float64)
        pos = np.clip(np.searchsorted(known, year), 0, len(known) - 1)
        return np.asarray(kr[pos], dtype=np.float64)
