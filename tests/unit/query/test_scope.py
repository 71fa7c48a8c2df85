"""The scope rewrite: the only way to SQL, default deny, and filters that narrow, never widen."""

from __future__ import annotations

import re
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from koes.query.planner import Municipality, PlanContext, plan_request
from koes.query.request import parse_request
from koes.query.scope import Scope, ScopeDeniedError, ScopedQuery, apply_scope
from koes.query.sql import to_sql
from koes.refdata import load_refdata
from koes.semantic.loader import default_catalog
from koes.semantic.model import Catalog

REQUEST = {"perspective": "somatik", "measures": ["indlaeggelser_pr_1000", "indlaeggelser_std"], "rows": ["koen"]}


@cache
def _context() -> PlanContext:
    refdata = load_refdata()
    municipalities = {m.code: Municipality(m.code, m.name, m.region_code, 1) for m in refdata.municipalities}
    return PlanContext((2022, 2023, 2024), municipalities, {r.code: r.name for r in refdata.regions})


IN_LIST = re.compile(r"f\.kommunekode IN \(([\d, ]*)\)")


def test_sql_cannot_be_made_from_an_unscoped_query(catalog: Catalog, context: PlanContext) -> None:
    plan = plan_request(parse_request(REQUEST, catalog), catalog, context)
    with pytest.raises(TypeError, match="apply_scope"):
        ScopedQuery(plan.queries[0], frozenset({101}), object())


def test_no_grant_no_data(catalog: Catalog, context: PlanContext) -> None:
    plan = plan_request(parse_request(REQUEST, catalog), catalog, context)
    with pytest.raises(ScopeDeniedError):
        apply_scope(plan, Scope(frozenset()))


@settings(max_examples=60, deadline=None)
@given(
    allowed=st.frozensets(st.sampled_from([101, 147, 151, 153, 751, 851]), min_size=1),
    wanted=st.none() | st.lists(st.sampled_from([101, 147, 751, 999]), min_size=1, unique=True),
)
def test_every_query_reads_only_the_scope(allowed: frozenset[int], wanted: list[int] | None) -> None:
    catalog, context = default_catalog(), _context()
    raw: dict[str, object] = dict(REQUEST)
    if wanted is not None:
        raw["filters"] = {"kommune": wanted}
    scoped = apply_scope(plan_request(parse_request(raw, catalog), catalog, context), Scope(allowed))
    for query in scoped.queries:
        sql = to_sql(query, "duckdb", pretty=False)
        lists = IN_LIST.findall(sql)
        if not lists:  # nothing allowed: the scope predicate is FALSE
            assert "WHERE FALSE" in sql
            continue
        assert len(lists) == 1, sql  # the scope predicate is on the fact table, once
        read = {int(k) for k in lists[0].split(",")}
        assert read <= allowed
        if wanted is not None:
            assert read <= set(wanted)


def test_exact_only_within_own_citizens(catalog: Catalog, context: PlanContext) -> None:
    everyone = frozenset(context.municipalities)
    own = Scope(everyone, exact=frozenset({101}))
    request = parse_request(REQUEST, catalog)
    assert not apply_scope(plan_request(request, catalog, context), own).exact
    narrowed = parse_request({**REQUEST, "filters": {"kommune": [101]}}, catalog)
    assert apply_scope(plan_request(narrowed, catalog, context), own).exact
    wider = parse_request({**REQUEST, "filters": {"kommune": [101, 147]}}, catalog)
    assert not apply_scope(plan_request(wider, catalog, context), own).exact


def test_every_municipality_is_every_resident(catalog: Catalog, context: PlanContext) -> None:
    """A scope of all municipalities reads residents only (NULL residence is nobody's citizen)."""
    everyone = frozenset(context.municipalities)
    plan = plan_request(parse_request(REQUEST, catalog), catalog, context)
    wide = apply_scope(plan, Scope(everyone, everywhere=True))
    assert all(
        "NOT f.kommunekode IS NULL" in to_sql(q, "duckdb") and not IN_LIST.search(to_sql(q, "duckdb"))
        for q in wide.queries
    )
    narrowed = parse_request({**REQUEST, "filters": {"kommune": [101]}}, catalog)
    one = apply_scope(plan_request(narrowed, catalog, context), Scope(everyone, everywhere=True))
    assert all(IN_LIST.findall(to_sql(q, "duckdb", pretty=False)) == ["101"] for q in one.queries)
