"""Parity at SQL level with the UK ONS ``cell-key-perturbation`` package (3.1), 8-bit keys.

The ONS package tabulates microdata and perturbs the counts in one call: a cell's key is the sum of
its records' keys modulo 256. We give it the microdata behind two analyses, read straight from the
release (distinct patients by municipality and sex; admissions, one row each), with each record's
key taken modulo 256. Our side is the analysis path itself: the counting SQL with its key sums,
then disclosure control with the same ONS table at 8 bits. Every count, every cell key and every
perturbed count must agree (the key sum modulo 256 of 16-bit keys is the sum of their low 8 bits).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from cell_key_perturbation.create_perturbed_table import create_perturbed_table
from cell_key_perturbation.utils.generate_test_ptable import generate_ptable_10_5_rule

from attack.tables import ORACLE
from koes.domain.cells import TOTAL
from koes.privacy.count_table import PTable
from koes.privacy.ptable import shipped_magnitude_table
from koes.privacy.suppression import DisclosureRule
from koes.query.assemble import Number
from koes.services.analysis import AnalysisService
from koes.services.disclosure import Control, Perturbation, protect
from support import assembled

pytestmark = pytest.mark.slow

BITS = 8
REQUEST: dict[str, Any] = {
    "perspective": "somatik",
    "period": {"from": "2022", "to": "2022"},
    "rows": ["kommune"],
    "columns": ["koen"],
}
MICRODATA = {  # measure → the units it counts, one row each, as the release holds them
    "patienter": "SELECT person_id % 256 AS record_key, kommunekode, sex FROM (SELECT DISTINCT person_id, "
    "kommunekode, sex FROM person_year_hospital WHERE year = 2022 AND sector = 'somatik')",
    "indlaeggelser": "SELECT rk % 256 AS record_key, kommunekode, sex FROM stays "
    "WHERE year = 2022 AND sector = 'somatik' AND admission",
}


class _Magnitudes:  # amounts are not compared here; the control needs a magnitude table all the same
    name, version = "unused", "0"

    def perturb(self, value: Number, largest: Number, cell_key: int, key_bits: int) -> Number:
        return value


def test_a_16_bit_key_sum_taken_modulo_256_is_the_sum_of_the_low_8_bits() -> None:
    keys = [65535, 40000, 257, 3]
    assert sum(keys) % 256 == sum(k % 256 for k in keys) % 256
    assert shipped_magnitude_table().name  # the shipped magnitude table exists (used by the service)


def random_ons_ptable(seed: int = 3) -> pd.DataFrame:
    """pcv 1..750 x ckey 0..255, noise uniform on [-3, 3] but never below -pcv: most cells move."""
    rng = np.random.default_rng(seed)
    pcv = np.repeat(np.arange(1, 751), 256)
    return pd.DataFrame(
        {"pcv": pcv, "ckey": np.tile(np.arange(256), 750), "pvalue": rng.integers(np.maximum(-3, -pcv), 4)}
    )


@pytest.mark.parametrize("which", ["random", "10-5 rule"])
@pytest.mark.parametrize("measure", ["patienter", "indlaeggelser"])
def test_our_sql_gives_the_ons_package_s_cell_keys_and_perturbed_counts(
    analysis: AnalysisService, measure: str, which: str
) -> None:
    ons = random_ons_ptable() if which == "random" else generate_ptable_10_5_rule()
    request = {**REQUEST, "measures": [measure]}
    rows = analysis._open().engine.execute(MICRODATA[measure])
    microdata = pd.DataFrame(rows)
    theirs = create_perturbed_table(
        data=microdata, ptable=ons, geog=[], tab_vars=["kommunekode", "sex"], record_key="record_key", threshold=0
    )
    theirs = theirs.set_index(["kommunekode", "sex"])

    (block,) = assembled(analysis, request, ORACLE)
    plan = analysis.run(request, ORACLE).plan
    control = Control(
        DisclosureRule(threshold=1), Perturbation(PTable.from_ons(ons, "ons-10-5", "1"), _Magnitudes(), 3, BITS)
    )
    shown = protect(block, plan, control, {}, exact=False)
    compared = moved = 0
    for (r, c), aggregate in block.aggregates[measure].items():
        if r == TOTAL or c == TOTAL:
            continue
        where = (block.row_keys[r][0], block.col_keys[c][0])
        if where not in theirs.index:
            assert aggregate.value == 0  # the package lists only combinations that occur
            continue
        cell = theirs.loc[where]
        assert int(aggregate.value) == int(cell["pre_sdc_count"]), where
        if not aggregate.value:  # a combination without units, which the package lists too: 0 stays 0
            assert int(cell["count"]) == shown.values[measure][(r, c)] == 0
            continue
        assert aggregate.key is not None and aggregate.key % 256 == int(cell["ckey"]), where
        published = shown.values[measure][(r, c)]
        if published is None:  # admissions whose persons the table turns into 0: shown as <threshold
            assert measure == "indlaeggelser"
            continue
        assert published == int(cell["count"]), where
        compared += 1
        moved += published != aggregate.value
    assert compared > (100 if which == "random" or measure == "patienter" else 0)
    assert moved > (20 if which == "random" else 0)  # the noise did move them
