"""Demographic and health-state parameters of the synthetic Denmark, declared as data.

Rates are yearly and deliberately round; they are calibrated so that the generated population
behaves like the published national figures in ``shared/domain-notes.md`` §6 (births and deaths
about 10 per 1,000, emigration about 8 per 1,000, moves between municipalities about 5 % a year,
concentrated at ages 18–34). ``docs/synthetic-data.md`` lists them with their sources.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class AgeSteps:
    """A value that changes at given ages: ``values[i]`` applies from ``ages[i]`` up."""

    ages: tuple[int, ...]
    values: tuple[float, ...]

    def at(self, age: np.ndarray) -> np.ndarray:
        idx = np.searchsorted(np.asarray(self.ages), age, side="right") - 1
        return np.asarray(self.values, dtype=np.float64)[np.clip(idx, 0, None)]


BIRTHS_PER_1000 = 9.8  # DST: ≈ 58,000 live births a year
IMMIGRATION_PER_1000 = 10.0  # DST: ≈ 60,000–65,000 immigrants a year
EMIGRATION_PER_1000 = 8.0  # DST: ≈ 45,000–50,000 emigrants a year


# Yearly probability of dying, Gompertz-like: about 0.1 % at 40, 0.6 % at 60, 4 % at 80, 11 % at 90
# (then raised for chronic illness and normalised), giving about 10 deaths per 1,000 a year.
def mortality(age: np.ndarray) -> np.ndarray:
    q = np.exp(-10.9 + 0.096 * age.astype(np.float64))
    return np.clip(np.where(age < 1, 0.003, q), 0.0, 0.45)


# Yearly probability of moving to another municipality.
MOVE_RATE = AgeSteps((0, 18, 20, 30, 35, 50, 80), (0.03, 0.10, 0.16, 0.08, 0.04, 0.025, 0.03))
EMIGRATION_AGE_WEIGHT = AgeSteps((0, 18, 40, 65), (0.5, 2.5, 0.8, 0.2))
IMMIGRANT_AGE = AgeSteps((0,), (0.0,))  # see population.py: immigrants are drawn at ages 18–45
SAME_REGION_MOVE_SHARE = 0.6

# Chronic conditions: prevalence by age (share of persons with the condition).
CONDITION_PREVALENCE: Mapping[str, AgeSteps] = {
    "diabetes": AgeSteps((0, 20, 40, 60, 70, 80), (0.002, 0.008, 0.04, 0.10, 0.14, 0.15)),
    "kol": AgeSteps((0, 40, 60, 70, 80), (0.0, 0.02, 0.06, 0.09, 0.10)),
    "hjertesvigt": AgeSteps((0, 50, 60, 70, 80), (0.0, 0.005, 0.015, 0.04, 0.09)),
    "demens": AgeSteps((0, 65, 75, 85), (0.0, 0.015, 0.06, 0.18)),
    "svaer_psykisk_lidelse": AgeSteps((0, 12, 18, 65), (0.0, 0.01, 0.025, 0.015)),
    "kraeft": AgeSteps((0, 40, 50, 65, 75), (0.002, 0.01, 0.025, 0.05, 0.07)),
    "astma": AgeSteps((0, 5, 18, 65), (0.03, 0.06, 0.05, 0.04)),
}
CONDITIONS: tuple[str, ...] = tuple(CONDITION_PREVALENCE)

# How much each condition raises a person's use of health services (multiplies frailty).
CONDITION_LOAD: Mapping[str, float] = {
    "diabetes": 1.4,
    "kol": 1.8,
    "hjertesvigt": 2.0,
    "demens": 1.5,
    "svaer_psykisk_lidelse": 1.5,
    "kraeft": 2.2,
    "astma": 1.2,
}
FRAILTY_SIGMA = 0.7  # lognormal spread of individual health-service use
