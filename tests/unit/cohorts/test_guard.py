"""The differencing guard's rule and its traces of deleted cohorts (keyed Bloom filters)."""

from __future__ import annotations

import hashlib

from hypothesis import given, settings
from hypothesis import strategies as st

from koes.cohorts.guard import (
    FALSE_POSITIVE_RATE,
    compare_counts,
    compare_sets,
    compare_trace,
    make_trace,
    trace_key,
)
from koes.domain.cpr import mask_cpr
from koes.services.cohort_store import new_cohort_id

KEY = trace_key(b"k" * 32)


def _people(start: int, count: int) -> list[str]:
    return [hashlib.sha256(f"p{i}".encode()).hexdigest() for i in range(start, start + count)]


def test_the_rule_refuses_small_differences_only_between_overlapping_different_sets() -> None:
    base = _people(0, 50)
    assert compare_sets([*base, *_people(50, 1)], base).too_small(5)
    assert compare_sets(base[1:], base).too_small(5)
    assert compare_sets([*base[2:], *_people(50, 2)], base).too_small(5)  # 2 out, 2 in
    assert not compare_sets(base, base).too_small(5)  # identical
    assert not compare_sets([*base, *_people(50, 5)], base).too_small(5)
    assert not compare_sets(_people(100, 3), base).too_small(5)  # nobody in common


def test_a_trace_holds_no_pseudonym_and_is_keyed() -> None:
    base = _people(0, 200)
    trace = make_trace(KEY, base)
    assert not any(p.encode() in trace.bloom or p[:16] in trace.bloom.hex() for p in base)
    assert compare_trace(KEY, base, trace).identical
    other_key = trace_key(b"x" * 32)
    assert not compare_trace(other_key, base, trace).identical
    assert make_trace(KEY, base).bloom != trace.bloom  # a fresh salt per trace


def test_the_false_positive_rate_is_as_documented() -> None:
    assert FALSE_POSITIVE_RATE < 1e-6
    trace = make_trace(KEY, _people(0, 2000))
    strangers = _people(10_000, 20_000)
    assert compare_trace(KEY, strangers, trace).overlap <= 1


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 60), st.integers(0, 8), st.integers(0, 8), st.integers(0, 200))
def test_a_trace_never_allows_what_the_exact_rule_refuses(common: int, added: int, removed: int, seed: int) -> None:
    shared = _people(seed * 1000, common)
    old = [*shared, *_people(seed * 1000 + 500, removed)]
    new = [*shared, *_people(seed * 1000 + 700, added)]
    exact = compare_sets(new, old)
    estimated = compare_trace(KEY, new, make_trace(KEY, old))
    assert estimated.overlap >= exact.overlap
    assert estimated.added + estimated.removed <= exact.added + exact.removed
    assert estimated.identical == exact.identical
    if exact.too_small(5):
        assert estimated.too_small(5)


def test_a_cohort_id_is_random_and_never_cpr_shaped() -> None:
    ids = {new_cohort_id() for _ in range(2000)}
    assert len(ids) == 2000
    assert all(len(i) == 22 and mask_cpr(i) == i for i in ids)


def test_counts_from_the_database_give_the_same_difference_as_the_sets() -> None:
    base = _people(0, 50)
    for new in ([*base, *_people(50, 1)], base[1:], base, _people(100, 3), [*base[2:], *_people(50, 2)]):
        shared = len(set(new) & set(base))
        assert compare_counts(len(new), len(base), shared) == compare_sets(new, base)
