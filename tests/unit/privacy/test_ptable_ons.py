"""Parity with the UK ONS package ``cell-key-perturbation`` (3.1): the same microdata, the same ptable,
the same perturbed counts for every cell.

The package tabulates microdata and perturbs it in one call; we compute the counts and the cell keys
ourselves in plain pandas (cell key = sum of the record keys mod 256) and perturb with
``PTable.from_ons(...)``. The microdata are drawn so that some cells are empty, many are small and
a few exceed 750 (the package's cycling rule for large counts).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from cell_key_perturbation.create_perturbed_table import create_perturbed_table
from cell_key_perturbation.utils.generate_test_ptable import generate_ptable_10_5_rule

from koes.privacy.count_table import PTable, below_threshold

UNITS = 5_000
KEY_RANGE = 256


def microdata(seed: int = 20250917) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "record_key": rng.integers(0, KEY_RANGE, UNITS),
            "region": rng.choice([1, 2, 3, 4, 5], p=[0.3, 0.3, 0.2, 0.15, 0.05], size=UNITS),
            "age": rng.choice(["0-17", "18-64", "65-79", "80+"], p=[0.2, 0.5, 0.2, 0.1], size=UNITS),
            "care": rng.choice(
                list("ABCDEFGHIJ"), p=[0.4, 0.2, 0.1, 0.1, 0.1, 0.04, 0.03, 0.02, 0.005, 0.005], size=UNITS
            ),
        }
    )


def random_ons_ptable(seed: int = 11) -> pd.DataFrame:
    """pcv 1..750 x ckey 0..255, pvalue uniform on [-3, 3] but never below -pcv (no negative counts)."""
    rng = np.random.default_rng(seed)
    pcv = np.repeat(np.arange(1, 751), KEY_RANGE)
    ckey = np.tile(np.arange(KEY_RANGE), 750)
    pvalue = rng.integers(np.maximum(-3, -pcv), 4)
    return pd.DataFrame({"pcv": pcv, "ckey": ckey, "pvalue": pvalue})


def our_counts(data: pd.DataFrame, variables: list[str]) -> pd.DataFrame:
    """Count and cell key per cell, computed independently of the package."""
    grouped = data.groupby(variables)["record_key"]
    return pd.DataFrame({"original": grouped.size(), "ckey": grouped.sum() % KEY_RANGE}).reset_index()


def compare(ptable: pd.DataFrame, variables: list[str], threshold: int) -> tuple[pd.DataFrame, PTable]:
    data = microdata()
    theirs = create_perturbed_table(
        data=data, ptable=ptable, geog=[], tab_vars=variables, record_key="record_key", threshold=threshold
    )
    ours = our_counts(data, variables)
    cells = theirs.merge(ours, on=variables, how="left", validate="one_to_one")
    empty = cells["original"].isna()
    cells.loc[empty, ["original", "ckey_y"]] = 0  # cells the package lists with no units
    cells["original"] = cells["original"].astype("int64")
    cells["ckey_y"] = cells["ckey_y"].astype("int64")
    assert (cells["original"] == cells["pre_sdc_count"]).all()
    assert (cells.loc[~empty, "ckey_x"] == cells.loc[~empty, "ckey_y"]).all()
    table = PTable.from_ons(ptable, "ons-test", "1")
    cells["ours"] = [
        table.perturb(original, key, 8) for original, key in zip(cells["original"], cells["ckey_y"], strict=True)
    ]
    return cells, table


VARIABLE_SETS = [["region", "age", "care"], ["age"], ["region"], ["region", "care"]]


@pytest.mark.parametrize("variables", VARIABLE_SETS)
@pytest.mark.parametrize("which", ["random", "10-5 rule"])
def test_we_publish_the_same_counts_as_the_ons_package(variables: list[str], which: str) -> None:
    ptable = random_ons_ptable() if which == "random" else generate_ptable_10_5_rule()
    cells, table = compare(ptable, variables, threshold=0)
    assert cells["count"].notna().all()
    assert (cells["ours"] == cells["count"].astype("int64")).all()
    assert (cells["ours"] == table.perturb_array(cells["original"], cells["ckey_y"], 8)).all()
    if variables == ["region", "age", "care"]:
        assert (cells["original"] == 0).any()  # empty cells stay 0 in both
        assert (cells["original"].between(1, 4)).sum() >= 10  # small cells are there
        assert (cells["ours"] != cells["original"]).sum() >= 20  # and perturbation happened
    if variables in (["age"], ["region"]):
        assert (cells["original"] > 750).any()  # the cycling rule for large counts is exercised


@pytest.mark.parametrize("threshold", [5, 10])
def test_our_below_threshold_rule_matches_theirs_except_that_we_show_zeros(threshold: int) -> None:
    cells, _ = compare(random_ons_ptable(), ["region", "age", "care"], threshold=threshold)
    hidden_by_them = cells["count"].isna()
    assert hidden_by_them.any()
    assert (cells["ours"] == 0).any()
    ons_rule = cells["ours"].map(lambda j: below_threshold(j, threshold, zero_hidden=True))
    assert (ons_rule == hidden_by_them).all()
    koes_rule = cells["ours"].map(lambda j: below_threshold(j, threshold))
    assert (koes_rule == (hidden_by_them & (cells["ours"] > 0))).all()
    shown = ~hidden_by_them
    assert (cells.loc[shown, "ours"] == cells.loc[shown, "count"].astype("int64")).all()
