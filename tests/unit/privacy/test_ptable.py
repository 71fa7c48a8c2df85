"""Perturbation tables: the shipped tables, their properties, lookups, files and errors."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from koes.privacy import ptable
from koes.privacy.count_table import PTable, PTableRow, below_threshold, count_support, generate_ptable, rescale_key
from koes.privacy.magnitude import generate_magnitude_table, perturb_magnitude, perturb_magnitudes
from koes.privacy.max_entropy import InfeasibleError, max_entropy
from koes.privacy.ptable import (
    describe,
    generated_files,
    magnitude_csv,
    parse_magnitude_table,
    parse_ptable,
    ptable_csv,
    shipped_magnitude_table,
    shipped_ptable,
    summarise,
)
from koes.privacy.ptable_params import (
    DEFAULT_COUNT_TABLE,
    DEFAULT_MAGNITUDE_TABLE,
    MagnitudeParams,
    PTableError,
    PTableParams,
)
from ptable_support import check_count_table, check_magnitude_table, check_max_entropy, feasible_variance, outcomes

SHIPPED = Path(ptable.__file__).parent / "ptables"
DOCS = Path(__file__).resolve().parents[3] / "docs" / "ptable.md"


# --- the shipped data cannot drift from the method ----------------------------------------------


def test_the_shipped_files_are_exactly_what_the_generator_makes_now() -> None:
    generated = generated_files()
    assert sorted(p.name for p in SHIPPED.iterdir()) == sorted(generated)
    for filename, text in generated.items():
        assert (SHIPPED / filename).read_bytes() == text.encode("utf-8"), filename


def test_the_shipped_count_table_has_the_documented_properties() -> None:
    table = shipped_ptable()
    assert table.name == DEFAULT_COUNT_TABLE
    assert table.params == PTableParams(max_noise=5, variance=1.5, blocked=2, key_bits=16)
    assert table == generate_ptable(PTableParams(), name=DEFAULT_COUNT_TABLE)
    check_count_table(table, PTableParams())


def test_the_shipped_count_table_in_numbers() -> None:
    """The numbers docs/ptable.md quotes: rows 1 and 2 never unchanged, variance 2 (the feasible
    minimum); beyond ±3 in 1 cell of 300, ±5 in about 1 of 12,000."""
    table = shipped_ptable()
    assert table.max_original == 8
    rows = {i: summarise(table, i) for i in range(10)}
    assert rows[1].published == (0, 3)
    assert rows[2].published == (0, 3)
    assert rows[1].unchanged == rows[2].unchanged == 0
    assert rows[1].variance == pytest.approx(2, abs=3 * 2**-16)
    assert rows[3].published == (0, 3, 4, 5, 6, 7, 8)
    assert rows[4].published == (0, 3, 4, 5, 6, 7, 8, 9)
    assert rows[9].published == tuple(range(4, 15))
    assert rows[8].unchanged == pytest.approx(0.3257, abs=1e-4)
    assert rows[8].mean_absolute == pytest.approx(0.9210, abs=1e-4)
    for i in range(3, 10):
        assert rows[i].variance == pytest.approx(1.5, abs=9 * 2**-16)
    shares = [round(100 * p, 2) for p in table.distribution(8).values()]
    assert shares == [0.01, 0.16, 1.62, 8.59, 23.34, 32.57, 23.34, 8.59, 1.62, 0.16, 0.01]  # the docs' table
    beyond_three = sum(p for v, p in table.distribution(8).items() if abs(v) > 3)
    assert 1 / 400 < beyond_three < 1 / 250
    assert table.distribution(4)[-4] == pytest.approx(0.025, abs=1e-3)  # a true 4 published as 0
    assert table.distribution(1) == pytest.approx({-1: 2 / 3, 2: 1 / 3}, abs=2**-16)
    assert table.distribution(2) == pytest.approx({-2: 1 / 3, 1: 2 / 3}, abs=2**-16)


def test_the_docs_quote_the_table_as_it_is() -> None:
    assert describe(shipped_ptable()) in DOCS.read_text(encoding="utf-8")


def test_the_shipped_magnitude_table_has_the_documented_properties() -> None:
    table = shipped_magnitude_table()
    assert table.name == DEFAULT_MAGNITUDE_TABLE
    assert table.params == MagnitudeParams(variance=0.25, step=0.05, scale=0.10, key_bits=16)
    assert table == generate_magnitude_table(MagnitudeParams(), name=DEFAULT_MAGNITUDE_TABLE)
    check_magnitude_table(table)
    m = table.noise_array(np.arange(2**16), 16)
    assert float(np.abs(m).mean()) == pytest.approx(0.417, abs=1e-3)  # the docstring's E|m|
    assert float((np.abs(m) >= 0.5).mean()) == pytest.approx(0.40, abs=0.01)


# --- the method -------------------------------------------------------------------------------


def test_rows_are_maximum_entropy_where_the_variance_is_feasible() -> None:
    params = PTableParams()
    table = shipped_ptable()
    checked = 0
    for original in range(1, params.cap + 1):
        row = [r for r in table.rows if r.original == original]
        support = [r.noise for r in row]
        target = feasible_variance(count_support(original, params), params.variance)
        checked += check_max_entropy(support, [r.probability for r in row], target)
    assert checked > 0


def test_a_distribution_with_the_same_moments_but_not_maximum_entropy_fails_the_check() -> None:
    """The entropy check can fail: a mean-zero, variance-1.5 mix that is not of exponential form."""
    support = [-3, -2, -1, 0, 1, 2, 3]
    best = max_entropy([float(v) for v in support], 1.5)
    direction = np.array([1.0, -6, 15, -20, 15, -6, 1])  # keeps sum, mean and variance (a 6th difference)
    other = best + 0.002 * direction
    with pytest.raises(AssertionError):
        check_max_entropy(support, other.tolist(), 1.5)


def test_rows_below_the_feasible_variance_take_the_closest_feasible_one() -> None:
    # original 1 may publish 0, 3 or 4 (noise -1, 2, 3): mean zero needs variance ≥ 2, so it gets 2
    p = max_entropy([-1.0, 2.0, 3.0], 1.5)
    assert p.tolist() == pytest.approx([2 / 3, 1 / 3, 0])
    # above the largest feasible variance: the two extremes
    p = max_entropy([-1.0, 0.0, 1.0, 2.0, 3.0], 5.0)
    assert p.tolist() == pytest.approx([3 / 4, 0, 0, 0, 1 / 4])


def test_a_support_on_one_side_of_zero_is_infeasible() -> None:
    with pytest.raises(InfeasibleError):
        max_entropy([1.0, 2.0], 1.0)
    assert max_entropy([0.0, 1.0], 1.0).tolist() == [1.0, 0.0]


def test_the_same_parameters_give_byte_identical_files() -> None:
    params = PTableParams(max_noise=4, variance=2.25, blocked=1)
    assert ptable_csv(generate_ptable(params)) == ptable_csv(generate_ptable(params))
    magnitude = MagnitudeParams(variance=0.2, step=0.025, scale=0.05)
    assert magnitude_csv(generate_magnitude_table(magnitude)) == magnitude_csv(generate_magnitude_table(magnitude))


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({"max_noise": 0}, "max_noise"),
        ({"max_noise": 2.5}, "max_noise"),
        ({"variance": 0}, "variance"),
        ({"variance": float("nan")}, "variance"),
        ({"max_noise": 3, "variance": 9.0}, "variance"),  # = D², only the two extremes
        ({"blocked": -1}, "blocked"),
        ({"max_noise": 3, "blocked": 3}, "blocked"),  # = D: originals up to 3 could not be unbiased
        ({"key_bits": 0}, "key_bits"),
        ({"key_bits": 33}, "key_bits"),
        ({"key_bits": 2}, "key_bits"),  # 4 keys for 7 noise values
    ],
)
def test_bad_count_parameters_are_refused_by_name(kwargs: dict[str, float], parameter: str) -> None:
    with pytest.raises(PTableError, match=rf"^invalid PTableParams:\n  - {parameter} "):
        PTableParams(**kwargs)  # type: ignore[arg-type]


def test_every_bad_parameter_is_named_at_once() -> None:
    with pytest.raises(PTableError) as caught:
        PTableParams(max_noise=0, variance=-1, blocked=-1, key_bits=0)
    assert [p.split(" ")[0] for p in caught.value.problems] == ["max_noise", "variance", "blocked", "key_bits"]


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({"variance": 1.0}, "variance"),
        ({"variance": 0.0}, "variance"),
        ({"step": 0.3}, "step"),  # 1/0.3 is not whole
        ({"step": 1 / 3}, "step"),  # 1/3 is not an exact decimal
        ({"step": 0}, "step"),
        ({"scale": 0}, "scale"),
        ({"scale": 1.5}, "scale"),
        ({"key_bits": 4}, "key_bits"),  # 16 keys for 41 values of m
    ],
)
def test_bad_magnitude_parameters_are_refused_by_name(kwargs: dict[str, float], parameter: str) -> None:
    with pytest.raises(PTableError, match=rf"^invalid MagnitudeParams:\n  - {parameter} "):
        MagnitudeParams(**kwargs)  # type: ignore[arg-type]


# --- lookups ----------------------------------------------------------------------------------


def test_scalar_and_vectorised_lookups_agree_on_every_key() -> None:
    table = shipped_ptable()
    noise = outcomes(table, range(10))
    rng = np.random.default_rng(1)
    for original, key in zip(rng.integers(0, 10, 2000), rng.integers(0, 2**16, 2000), strict=True):
        assert table.noise(int(original), int(key), 16) == noise[original, key]
        assert table.perturb(int(original), int(key), 16) == original + noise[original, key]
    assert table.perturb_array([5, 5], [0, 2**16 - 1], 16).tolist() == [0, 10]  # the extremes: ±D


def test_large_counts_use_the_cap_row() -> None:
    table = shipped_ptable()
    keys = np.arange(0, 2**16, 7)
    cap_noise = table.noise_array(np.full(len(keys), 8), keys, 16)
    assert (table.noise_array(np.full(len(keys), 123_456), keys, 16) == cap_noise).all()
    assert table.row_for(10**9) == 8


def test_keys_of_other_widths_are_shifted() -> None:
    table = shipped_ptable()
    # a 32-bit key uses its top 16 bits; an 8-bit key its value times 256
    assert table.noise(40, 0xABCD_1234, 32) == table.noise(40, 0xABCD, 16)
    assert table.noise(40, 0xAB, 8) == table.noise(40, 0xAB00, 16)
    assert rescale_key(0xABCD_1234, 32, 16) == 0xABCD
    assert rescale_key(0xAB, 8, 16) == 0xAB00
    keys = np.arange(256)
    assert (table.noise_array(np.full(256, 9), keys, 8) == table.noise_array(np.full(256, 9), keys << 8, 16)).all()


@pytest.mark.parametrize(("key", "bits"), [(2**16, 16), (-1, 16), (256, 8)])
def test_a_key_outside_its_width_is_an_error(key: int, bits: int) -> None:
    with pytest.raises(ValueError, match="cell key"):
        shipped_ptable().noise(5, key, bits)


def test_a_negative_original_is_an_error() -> None:
    with pytest.raises(ValueError, match="negative"):
        shipped_ptable().perturb(-1, 0, 16)
    with pytest.raises(ValueError, match="negative"):
        shipped_ptable().noise_array([-1], [0], 16)


def test_lookups_are_fast() -> None:
    """A national table (100k cells x several measures) must not wait on the lookups."""
    import time

    table = shipped_ptable()
    rng = np.random.default_rng(2)
    originals, keys = rng.integers(0, 5000, 100_000), rng.integers(0, 2**16, 100_000)
    start = time.perf_counter()
    table.perturb_array(originals, keys, 16)
    vectorised = time.perf_counter() - start
    start = time.perf_counter()
    for original, key in zip(originals.tolist(), keys.tolist(), strict=True):
        table.perturb(original, key, 16)
    scalar = time.perf_counter() - start
    assert vectorised < 0.5
    assert scalar < 5.0


# --- the threshold --------------------------------------------------------------------------


def test_small_published_counts_are_shown_below_the_threshold_and_zero_is_shown() -> None:
    assert [below_threshold(j, 5) for j in range(7)] == [False, True, True, True, True, False, False]
    assert [below_threshold(j, 5, zero_hidden=True) for j in range(7)] == [True] * 5 + [False] * 2
    assert not below_threshold(0, 0, zero_hidden=True)
    with pytest.raises(ValueError, match="negative"):
        below_threshold(-1, 5)


# --- ONS tables and the cycle rule --------------------------------------------------------


def ons_rows(pvalue: int = 0) -> list[tuple[int, int, int]]:
    return [(pcv, ckey, pvalue if pcv > 2 else 0) for pcv in range(1, 751) for ckey in range(256)]


def test_an_ons_table_maps_to_one_key_per_interval_and_cycles_above_750() -> None:
    rows = ons_rows()
    rows[0] = (1, 0, -1)  # pcv 1, ckey 0
    rows[600 * 256 + 17] = (601, 17, 2)
    table = PTable.from_ons(rows, "ons-test", "1")
    assert (table.key_bits, table.max_original, table.cycle) == (8, 750, 250)
    assert table.perturb(1, 0, 8) == 0
    assert table.perturb(1, 1, 8) == 1
    assert table.perturb(0, 0, 8) == 0  # pcv 0 is not in ONS tables: an empty cell stays empty
    # above 750: ((v - 1) mod 250) + 501, so 851, 1101, 1351 … use row 601
    assert [table.row_for(v) for v in (750, 751, 851, 1000, 1001, 1101)] == [750, 501, 601, 750, 501, 601]
    assert [table.noise(v, 17, 8) for v in (601, 851, 1101, 1351, 852)] == [2, 2, 2, 2, 0]
    assert table.noise_array([601, 851, 1101, 852], [17] * 4, 8).tolist() == [2, 2, 2, 0]
    assert all(r.upper - r.lower == 1 for r in table.rows)


def test_an_ons_table_from_mappings_fills_missing_keys_with_zero() -> None:
    rows = [{"pcv": 3, "ckey": 5, "pvalue": -3}, {"pcv": 3, "ckey": 255, "pvalue": 1}]
    table = PTable.from_ons(rows, "sparse", "1")
    assert table.noise(3, 5, 8) == -3
    assert table.noise(3, 255, 8) == 1
    assert table.noise(3, 6, 8) == 0
    assert table.noise(700, 5, 8) == 0


def test_a_bad_ons_table_lists_every_problem() -> None:
    rows: list[tuple[int, int, int]] = [(1, 0, -2), (1, 0, 0), (751, 3, 0), (2, 255, 0), (5, 1, 0)]
    with pytest.raises(PTableError) as caught:
        PTable.from_ons(rows, "bad", "1")
    text = str(caught.value)
    assert "repeats an earlier (pcv, ckey)" in text
    assert "pcv must be 0 .. 750" in text
    rows = [(1, 0, -2), (1, 255, 0)]
    with pytest.raises(PTableError, match="negative count"):
        PTable.from_ons(rows, "negative", "1")
    with pytest.raises(PTableError, match="power of two"):
        PTable.from_ons([(1, 0, 0), (1, 199, 0)], "keys", "1")
    with pytest.raises(PTableError, match="whole numbers"):
        PTable.from_ons([(1, 0, 0.5), (1, 255, 0)], "half", "1")


def test_a_table_whose_intervals_do_not_partition_the_keys_is_refused() -> None:
    good = [PTableRow(0, 0, 1.0, 0, 256)]
    PTable("ok", "1", None, tuple(good), key_bits=8)
    gap = [*good, PTableRow(1, -1, 0.5, 0, 100), PTableRow(1, 1, 0.5, 101, 256)]
    with pytest.raises(PTableError, match=r"must start at 100"):
        PTable("gap", "1", None, tuple(gap), key_bits=8)
    short = [*good, PTableRow(1, -1, 0.5, 0, 100)]
    with pytest.raises(PTableError, match=r"original 1: the key intervals end at 100, expected 256"):
        PTable("short", "1", None, tuple(short), key_bits=8)
    skipped = [*good, PTableRow(2, 0, 1.0, 0, 256)]
    with pytest.raises(PTableError, match=r"missing or wrong: \[1\]"):
        PTable("skipped", "1", None, tuple(skipped), key_bits=8)
    with pytest.raises(PTableError, match="cycle"):
        PTable("cycle", "1", None, tuple(good), key_bits=8, cycle=2)


# --- files ------------------------------------------------------------------------------------


def test_files_round_trip(tmp_path: Path) -> None:
    table = generate_ptable(PTableParams(max_noise=5, variance=3.0, blocked=0, key_bits=12))
    path = tmp_path / "t.csv"
    ptable.write_ptable(table, path)
    assert ptable.read_ptable(path) == table
    ons = PTable.from_ons(ons_rows(1), "ons", "2")
    assert parse_ptable(ptable_csv(ons)) == ons
    magnitude = generate_magnitude_table(MagnitudeParams(variance=0.3, step=0.1, scale=0.2, key_bits=10))
    ptable.write_magnitude_table(magnitude, path)
    assert ptable.read_magnitude_table(path) == magnitude


def test_a_damaged_file_names_line_and_column() -> None:
    lines = ptable_csv(shipped_ptable()).splitlines()
    lines[13] = lines[13].replace(",", ",x", 1)  # line 14: a bad noise
    lines[15] = "1,2"  # line 16: too few values
    with pytest.raises(PTableError) as caught:
        parse_ptable("\n".join(lines) + "\n", "t.csv")
    assert caught.value.problems == (
        f"t.csv, line 14, column noise: 'x{lines[13].split(',x')[1].split(',')[0]}' is not a valid int",
        "t.csv, line 16: expected 5 values, got 2",
    )
    with pytest.raises(PTableError, match="kind 'count', expected 'magnitude'"):
        parse_magnitude_table(ptable_csv(shipped_ptable()), "t.csv")


def test_the_command_line_writes_the_shipped_files(tmp_path: Path) -> None:
    assert ptable.main(["write", str(tmp_path / "out")]) == 0
    for path in SHIPPED.iterdir():
        assert (tmp_path / "out" / path.name).read_bytes() == path.read_bytes()
    done = subprocess.run(
        [sys.executable, "-m", "koes.privacy.ptable", "describe"], capture_output=True, text=True, check=True
    )
    assert describe(shipped_ptable()) in done.stdout


# --- magnitudes ---------------------------------------------------------------------------


def test_magnitude_noise_is_bounded_by_scale_times_the_largest_contribution() -> None:
    table = shipped_magnitude_table()
    keys = np.arange(2**16)
    one = perturb_magnitudes(np.full(len(keys), 1000.0), np.full(len(keys), 1000.0), keys, 16, table)
    assert float(np.abs(one - 1000).max()) == pytest.approx(100.0)  # m = ±1 is reached: ±10 %
    assert (np.abs(one - 1000) <= 100 + 1e-9).all()
    assert perturb_magnitude(Decimal("1000.00"), Decimal("1000.00"), 0, 16, table) == Decimal("900.0000")


def test_magnitudes_clip_at_zero_and_zero_stays_zero() -> None:
    table = shipped_magnitude_table()
    low = next(k for k in range(2**16) if table.noise(k, 16) == Decimal("-1.00"))
    assert perturb_magnitude(5.0, 100.0, low, 16, table) == 0.0  # 5 - 10 would be negative
    assert perturb_magnitude(Decimal(5), Decimal(100), low, 16, table) == Decimal(0)
    assert perturb_magnitude(-5.0, 100.0, low, 16, table) == pytest.approx(-15.0)  # a negative sum is not clipped
    for key in (0, low, 2**15, 2**16 - 1):
        assert perturb_magnitude(0.0, 0.0, key, 16, table) == 0.0
        assert perturb_magnitude(Decimal("0.00"), Decimal(0), key, 16, table) == Decimal("0.00")
    keys = np.arange(2**16)
    assert (perturb_magnitudes(np.zeros(len(keys)), np.zeros(len(keys)), keys, 16, table) == 0).all()
    assert (perturb_magnitudes(np.full(len(keys), 5.0), np.full(len(keys), 100.0), keys, 16, table) >= 0).all()


def test_magnitudes_keep_their_type_and_agree_with_the_vectorised_form() -> None:
    table = shipped_magnitude_table()
    rng = np.random.default_rng(3)
    values, largest, keys = rng.uniform(0, 1e6, 500), rng.uniform(0, 1e5, 500), rng.integers(0, 2**16, 500)
    many = perturb_magnitudes(values, largest, keys, 16, table)
    for i in range(500):
        scalar = perturb_magnitude(float(values[i]), float(largest[i]), int(keys[i]), 16, table)
        assert isinstance(scalar, float)
        assert scalar == pytest.approx(many[i], rel=1e-12)
        exact = perturb_magnitude(Decimal(str(values[i])), Decimal(str(largest[i])), int(keys[i]), 16, table)
        assert isinstance(exact, Decimal)
        assert float(exact) == pytest.approx(many[i], rel=1e-9)
    with pytest.raises(ValueError, match="largest"):
        perturb_magnitude(1.0, -1.0, 0, 16, table)
