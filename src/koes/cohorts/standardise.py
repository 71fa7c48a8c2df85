"""Indirect standardisation of a cohort's use: observed against expected, with a 95 % interval.

The expected use of a cohort is what it would use if each member used as much as the reference
population (the user's municipality, or the whole country) of the same sex and 5-year age group:
``expected = scale × Σ members(stratum) × reference rate(stratum)``, where ``scale`` turns members
into member-years (the member-years resident in the year over the members). The ratio observed /
expected is read in plain words ("2,1 gange så mange indlæggelser som forventet").

The interval is for a count: Poisson, by Byar's approximation (close to the exact interval from
a count of about 5 up, and never below 0). An amount in kroner has no interval here: its spread
depends on how the kroner are shared among persons, which an aggregate does not show. Pure: no
engine, no catalog.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

Z = 1.959964  # the 97.5 % quantile of the normal distribution


@dataclass(frozen=True)
class Comparison:
    """The cohort against one reference population."""

    observed: float
    expected: float
    ratio: float | None  # observed / expected; None without an expectation
    low: float | None  # the ratio's 95 % interval (counts only)
    high: float | None

    @property
    def clear(self) -> bool:
        """Whether the interval leaves out 1: more (or less) use than expected, beyond chance."""
        return self.low is not None and self.high is not None and (self.low > 1 or self.high < 1)


def poisson_interval(count: float) -> tuple[float, float]:
    """A 95 % interval for the mean of a Poisson count (Byar)."""
    if count <= 0:
        return 0.0, -math.log(0.025)  # the exact upper limit for 0 events: 3.69
    low = count * (1 - 1 / (9 * count) - Z / (3 * math.sqrt(count))) ** 3
    upper = count + 1
    high = upper * (1 - 1 / (9 * upper) + Z / (3 * math.sqrt(upper))) ** 3
    return max(low, 0.0), high


def expected(members: Mapping[tuple[int, str], int], rates: Mapping[tuple[int, str], float], scale: float) -> float:
    """``scale × Σ members(s) × rate(s)`` over the strata (sex, age band) the cohort has members in.
    A stratum without a reference rate counts as none: callers give every stratum a rate."""
    return scale * sum(n * rates.get(stratum, 0.0) for stratum, n in members.items())


def compare(observed: float, expectation: float, *, count: bool) -> Comparison:
    if expectation <= 0:
        return Comparison(observed, expectation, None, None, None)
    if not count:
        return Comparison(observed, expectation, observed / expectation, None, None)
    low, high = poisson_interval(observed)
    return Comparison(observed, expectation, observed / expectation, low / expectation, high / expectation)


READINGS = {
    "da": {
        "more": "{ratio} gange så {what} som forventet",
        "less": "{ratio} gange så {what} som forventet",
        "unclear": "; forskellen kan skyldes tilfældigheder",
        "none": "ingen forventning at sammenligne med",
    },
    "en": {
        "more": "{ratio} times as {what} as expected",
        "less": "{ratio} times as {what} as expected",
        "unclear": "; the difference may be chance",
        "none": "no expectation to compare with",
    },
}


def reading(comparison: Comparison, what: str, language: str = "da") -> str:
    """ "2,1 gange så mange indlæggelser som forventet" (``what``: "mange indlæggelser"), with a
    warning when the interval holds 1."""
    words = READINGS["en" if language == "en" else "da"]
    if comparison.ratio is None:
        return words["none"]
    ratio = f"{comparison.ratio:.1f}"
    if language != "en":
        ratio = ratio.replace(".", ",")
    text = words["more" if comparison.ratio >= 1 else "less"].format(ratio=ratio, what=what)
    if comparison.low is not None and not comparison.clear:
        text += words["unclear"]
    return text
