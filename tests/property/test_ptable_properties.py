"""Properties of generated perturbation tables for any valid parameters (Hypothesis).

For random (D, V, js, key bits) the generated count table must: partition the key space in every
row, keep zero at zero, never publish a negative count or a blocked count 1 .. js, keep |noise| ≤ D,
be unbiased and have variance V (or the feasible variance closest to V) up to the key quantisation,
be the maximum-entropy distribution, and survive its own CSV file unchanged. Likewise for magnitude
tables and the magnitude perturbation.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from koes.privacy.count_table import count_support, generate_ptable
from koes.privacy.magnitude import generate_magnitude_table, perturb_magnitude, perturb_magnitudes
from koes.privacy.ptable import magnitude_csv, parse_magnitude_table, parse_ptable, ptable_csv
from koes.privacy.ptable_params import MagnitudeParams, PTableParams
from ptable_support import check_count_table, check_magnitude_table, check_max_entropy, feasible_variance


@st.composite
def count_params(draw: st.DrawFn) -> PTableParams:
    d = draw(st.integers(1, 6))
    js = draw(st.integers(0, d - 1))
    share = draw(st.floats(0.02, 0.95))
    bits = draw(st.integers(8, 16))
    return PTableParams(max_noise=d, variance=round(share * d * d, 4), blocked=js, key_bits=bits)


@st.composite
def magnitude_params(draw: st.DrawFn) -> MagnitudeParams:
    return MagnitudeParams(
        variance=draw(st.floats(0.02, 0.9)),
        step=draw(st.sampled_from([1.0, 0.5, 0.25, 0.2, 0.1, 0.05, 0.04, 0.025, 0.02, 0.01])),
        scale=draw(st.floats(0.01, 1.0)),
        key_bits=draw(st.integers(9, 16)),
    )


@settings(max_examples=60, deadline=None)
@given(count_params())
def test_generated_count_tables_keep_every_documented_property(params: PTableParams) -> None:
    table = generate_ptable(params)
    check_count_table(table, params)


@settings(max_examples=60, deadline=None)
@given(count_params())
def test_generated_rows_are_maximum_entropy(params: PTableParams) -> None:
    table = generate_ptable(params)
    for original in range(1, params.cap + 1):
        support = count_support(original, params)
        target = feasible_variance(support, params.variance)
        row = [r for r in table.rows if r.original == original]
        if len(row) == len(support):  # interior: every allowed noise is used
            check_max_entropy([r.noise for r in row], [r.probability for r in row], target)
        else:  # a feasible bound: the unique two-point distribution with that variance
            assert len(row) == 2
            v, p = [r.noise for r in row], [r.probability for r in row]
            assert abs(v[0] * p[0] + v[1] * p[1]) < 1e-9
            assert abs(v[0] ** 2 * p[0] + v[1] ** 2 * p[1] - target) < 1e-9


@settings(max_examples=40, deadline=None)
@given(count_params())
def test_count_tables_survive_their_file_and_are_deterministic(params: PTableParams) -> None:
    text = ptable_csv(generate_ptable(params))
    assert text == ptable_csv(generate_ptable(params))
    assert parse_ptable(text) == generate_ptable(params)


@settings(max_examples=60, deadline=None)
@given(count_params(), st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 2**32 - 1)), max_size=50))
def test_scalar_vectorised_and_wide_keys_agree(params: PTableParams, cells: list[tuple[int, int]]) -> None:
    table = generate_ptable(params)
    originals = [o for o, _ in cells]
    wide = [k for _, k in cells]
    narrow = [k >> (32 - params.key_bits) for k in wide]
    many = table.perturb_array(originals, wide, 32).tolist()
    assert many == [table.perturb(o, k, params.key_bits) for o, k in zip(originals, narrow, strict=True)]
    assert all(j >= 0 and not 1 <= j <= params.blocked for o, j in zip(originals, many, strict=True) if o > 0)


@settings(max_examples=40, deadline=None)
@given(magnitude_params())
def test_generated_magnitude_tables_are_unbiased_with_the_asked_variance(params: MagnitudeParams) -> None:
    table = generate_magnitude_table(params)
    check_magnitude_table(table)
    assert parse_magnitude_table(magnitude_csv(table)) == table
    check_max_entropy([float(r.m) for r in table.rows], [r.probability for r in table.rows], params.variance)


@settings(max_examples=80, deadline=None)
@given(
    magnitude_params(),
    st.lists(st.tuples(st.floats(-1e7, 1e7), st.floats(0, 1e6), st.integers(0, 2**16 - 1)), min_size=1, max_size=40),
)
def test_magnitude_perturbation_is_bounded_clipped_and_keeps_zero(
    params: MagnitudeParams, cells: list[tuple[float, float, int]]
) -> None:
    table = generate_magnitude_table(params)
    values = np.array([v for v, _, _ in cells])
    largest = np.array([b for _, b, _ in cells])
    keys = np.array([k for _, _, k in cells]) >> (16 - params.key_bits)
    published = perturb_magnitudes(values, largest, keys, params.key_bits, table)
    assert (published[values >= 0] >= 0).all()
    bound = params.scale * largest * (1 + 1e-12) + 1e-9
    assert (np.abs(published - values) <= bound).all()
    for (value, big, _), key, out in zip(cells, keys.tolist(), published.tolist(), strict=True):
        assert perturb_magnitude(value, big, key, params.key_bits, table) == out
        single = perturb_magnitude(
            Decimal(abs(value)).quantize(Decimal("0.01")), Decimal(0), key, params.key_bits, table
        )
        assert single == Decimal(abs(value)).quantize(Decimal("0.01"))  # largest 0: unchanged, zero stays zero
    assert perturb_magnitude(0.0, 0.0, int(keys[0]), params.key_bits, table) == 0.0
