"""The analysis path end to end on a real release: suppression, scope, caching, standardisation."""

from __future__ import annotations

import dataclasses
import math
from collections import defaultdict
from typing import Any

import duckdb
import pytest

from koes.domain.cells import TOTAL
from koes.engines.duckdb import DuckDBEngine
from koes.privacy.access import Organisation, Principal
from koes.query.planner import plan_request
from koes.query.request import RequestError, parse_request
from koes.query.scope import ScopeDeniedError, apply_scope
from koes.query.sql import to_sql
from koes.refdata import RefData
from koes.services.analysis import AnalysisService
from koes.services.warehouse import LoadResult
from support import TOTAL_KEY, largest_noise, result_cells

NATIONAL = Principal("analytiker", Organisation("national"), frozenset({"aggregeret"}))
EXACT = Principal("oracle", Organisation("national"), frozenset({"individ"}))
SMALL_CELLS = {
    "perspective": "somatik",
    "measures": ["indlaeggelser", "indlagte_patienter", "indlaeggelser_pr_1000"],
    "rows": ["kommune"],
    "columns": ["aldersgruppe"],
    "period": {"from": "2023"},
}


def test_small_counts_show_as_under_the_threshold_and_rates_follow_their_counts(analysis: AnalysisService) -> None:
    result = analysis.run(SMALL_CELLS, NATIONAL)
    exact = analysis.run(SMALL_CELLS, EXACT)
    protected, truth = result.blocks[0], exact.blocks[0]
    hidden = protected.hidden["indlagte_patienter"]
    assert result.provenance.method == "perturbation" and not result.provenance.exact
    assert any(s == "primary" for s in hidden.values()), "the small release should have small cells"
    moved = 0
    for cell, persons in truth.values["indlagte_patienter"].items():
        published = protected.values["indlagte_patienter"][cell]
        assert published is None or not 1 <= int(published) <= 4  # never a published 1-4
        assert (published is None) == (cell in hidden)
        if published is not None:
            assert abs(int(published) - int(persons or 0)) <= largest_noise()
            moved += published != persons
        if not persons:
            assert published == 0  # zero stays zero
    assert moved > 0, "perturbation moved no count at all"
    # A rate is hidden wherever its count is: count = rate × citizens would give it back.
    rate_marks = protected.hidden["indlaeggelser_pr_1000"]
    assert set(protected.hidden["indlaeggelser"]) <= set(rate_marks)
    assert "secondary" not in {s for marks in protected.hidden.values() for s in marks.values()}


def test_suppression_hides_small_counts_so_they_cannot_be_worked_back(suppressing_analysis: AnalysisService) -> None:
    analysis = suppressing_analysis
    result = analysis.run(SMALL_CELLS, NATIONAL)
    exact = analysis.run(SMALL_CELLS, EXACT)
    protected, truth = result.blocks[0], exact.blocks[0]
    assert result.provenance.method == "suppression"
    hidden = protected.hidden["indlagte_patienter"]
    assert any(s == "primary" for s in hidden.values()), "the small release should have small cells"
    for cell, persons in truth.values["indlagte_patienter"].items():
        published = protected.values["indlagte_patienter"][cell]
        assert published is None or not 1 <= int(published) <= 4
        assert published is None or published == persons
        if 1 <= int(persons or 0) <= 4:
            assert hidden[cell] == "primary"
    # No line of the published table has exactly one hidden cell (that one would be a subtraction away).
    for measure in ("indlaeggelser", "indlagte_patienter"):
        marks = protected.hidden[measure]
        rows = [*range(len(protected.row_keys)), TOTAL]
        cols = [*range(len(protected.col_keys)), TOTAL]
        for r in rows:
            assert sum((r, c) in marks for c in cols) != 1, (measure, "row", r)
        for c in cols:
            assert sum((r, c) in marks for r in rows) != 1, (measure, "column", c)
    rate_marks = protected.hidden["indlaeggelser_pr_1000"]
    assert set(protected.hidden["indlaeggelser"]) <= set(rate_marks)


@pytest.mark.parametrize("method", ["perturbation", "suppression"])
def test_hidden_cells_are_explicit_in_json(
    method: str, analysis: AnalysisService, suppressing_analysis: AnalysisService
) -> None:
    service = analysis if method == "perturbation" else suppressing_analysis
    request = {**SMALL_CELLS, "rows": ["aldersgruppe_bred"], "columns": ["diagnosekapitel"]}
    data = service.run(request, NATIONAL).to_json("en")
    cells = [c["values"]["indlagte_patienter"] for c in data["blocks"][0]["cells"]]
    statuses = {c["status"] for c in cells}
    assert {"ok", "primary"} <= statuses
    assert ("secondary" in statuses) == (method == "suppression")
    for c in cells:
        if c["status"] == "primary":
            assert c == {"value": None, "status": "primary", "display": "<5"}
        elif c["status"] in ("secondary", "derived"):
            assert c["value"] is None and c["display"] == "x"
    assert data["suppression"]["cells_suppressed"] > 0
    assert data["provenance"]["release_id"] == service.release_id()
    assert data["provenance"]["disclosure_method"] == method
    assert ("need not equal the sum" in data["suppression"]["note"]) == (method == "perturbation")
    assert set(data["provenance"]["rule_versions"]) >= {"medfinansiering"}


def test_no_grant_sees_nothing(analysis: AnalysisService) -> None:
    nobody = Principal("ny", Organisation("kommune", 101), frozenset())
    with pytest.raises(ScopeDeniedError):
        analysis.run(SMALL_CELLS, nobody)


def test_individual_rights_give_exact_figures_for_own_citizens_only(analysis: AnalysisService) -> None:
    own = Principal("sagsbehandler", Organisation("kommune", 101), frozenset({"individ"}))
    everywhere = analysis.run(SMALL_CELLS, own)
    assert not everywhere.provenance.exact and everywhere.cells_suppressed > 0
    mine = analysis.run({**SMALL_CELLS, "filters": {"kommune": [101]}}, own)
    assert mine.provenance.exact and mine.cells_suppressed == 0
    assert mine.provenance.note("en").startswith("Exact figures") and "noise" not in mine.provenance.note("en")
    assert "noise" in everywhere.provenance.note("en") and "xact" not in everywhere.provenance.note("en")
    truth = analysis.run({**SMALL_CELLS, "filters": {"kommune": [101]}}, EXACT)
    assert result_cells(mine, "indlagte_patienter") == result_cells(truth, "indlagte_patienter")


def test_cache_is_keyed_by_scope(analysis: AnalysisService) -> None:
    first = analysis.run(SMALL_CELLS, NATIONAL)
    assert analysis.run(SMALL_CELLS, NATIONAL) is first
    other = analysis.run(SMALL_CELLS, EXACT)
    assert other is not first and other.provenance.scope != first.provenance.scope


def test_aggregate_users_of_different_municipalities_share_cache_entries(analysis: AnalysisService) -> None:
    """Their scope is the same; the home municipality matters only to a comparison that names none."""
    aarhus = Principal("a", Organisation("kommune", 751), frozenset({"aggregeret"}))
    odense = Principal("o", Organisation("kommune", 461), frozenset({"aggregeret"}))
    assert analysis.run(SMALL_CELLS, aarhus) is analysis.run(SMALL_CELLS, odense)
    named = {**SMALL_CELLS, "rows": [], "comparison": {"municipality": 101}}
    assert analysis.run(named, aarhus) is analysis.run(named, odense)
    own = {**SMALL_CELLS, "rows": [], "comparison": True}
    mine, theirs = analysis.run(own, aarhus), analysis.run(own, odense)
    assert mine is not theirs and mine.blocks[0].area != theirs.blocks[0].area


def test_filter_values_are_checked_against_members(analysis: AnalysisService) -> None:
    with pytest.raises(RequestError) as caught:
        analysis.run({**SMALL_CELLS, "filters": {"kommune": [101, 999], "aldersgruppe": ["200+"]}}, NATIONAL)
    assert {p.field for p in caught.value.problems} == {"filters.kommune", "filters.aldersgruppe"}
    with pytest.raises(RequestError):  # --explain checks the same way as a run
        analysis.sql({**SMALL_CELLS, "filters": {"kommune": [999]}}, NATIONAL)


def test_comparison_blocks(analysis: AnalysisService) -> None:
    request = {
        "perspective": "somatik",
        "measures": ["indlaeggelser_pr_1000"],
        "columns": ["aar"],
        "period": {"from": "2022", "to": "2023"},
        "comparison": {"municipality": 101},
    }
    result = analysis.run(request, EXACT)
    assert [b.area.id for b in result.blocks if b.area] == ["kommune", "region", "land", "lignende"]
    land = analysis.run({k: v for k, v in request.items() if k != "comparison"}, EXACT)
    assert result_cells(result, "indlaeggelser_pr_1000", block=2) == result_cells(land, "indlaeggelser_pr_1000")
    table = result.table("da")
    assert table[0][0] == "Område" and len(table) == 1 + 4 * 1  # header + one total row per area


def test_standardised_rate_matches_a_hand_computation(
    analysis: AnalysisService, small_load: LoadResult, refdata: RefData
) -> None:
    """Direct standardisation written out independently: SQL over the release and the formula."""
    year = 2023
    result = analysis.run(
        {
            "perspective": "somatik",
            "measures": ["indlaeggelser_std"],
            "rows": ["region"],
            "period": {"from": str(year)},
        },
        EXACT,
    )
    actual = {row: v for (row, _), v in result_cells(result, "indlaeggelser_std").items()}
    con = duckdb.connect(str(small_load.release.serving_file), read_only=True)
    events = con.execute(
        """SELECT m.region_code, s.sex, a.band_fem_aar, count(*) FROM stays s
           JOIN dim_municipality m USING (kommunekode) JOIN dim_age a ON a.age = s.age
           WHERE s.admission AND s.sector = 'somatik' AND s.year = ? GROUP BY ALL""",
        [year],
    ).fetchall()
    people = con.execute(
        """SELECT m.region_code, p.sex, a.band_fem_aar, sum(p.persons) / 12 FROM population_month p
           JOIN dim_municipality m USING (kommunekode) JOIN dim_age a ON a.age = p.age
           WHERE p.year = ? GROUP BY ALL""",
        [year],
    ).fetchall()
    con.close()
    standard = refdata.national_structure(2024)
    total = sum(r.population for r in standard)
    weights = {
        (1 if r.sex == "M" else 2, f"{r.age_from}+" if r.age_to is None else f"{r.age_from}-{r.age_to}"): r.population
        / total
        for r in standard
    }
    d: dict[Any, float] = defaultdict(float)
    n: dict[Any, float] = defaultdict(float)
    for region, sex, band, count in events:
        for key in ((region,), TOTAL_KEY):
            d[(key, sex, band)] += count
    for region, sex, band, persons in people:
        for key in ((region,), TOTAL_KEY):
            n[(key, sex, band)] += float(persons)
    for key, value in actual.items():
        covered = [(s, b) for (s, b) in weights if n[(key, s, b)] > 0]
        w = sum(weights[s] for s in covered)
        expected = 1000 * sum(weights[s] * d[(key, *s)] / n[(key, *s)] for s in covered) / w
        assert value == pytest.approx(expected, rel=1e-9), key
        assert math.isfinite(expected)
    intervals = result.blocks[0].intervals["indlaeggelser_std"]
    for cell, (lo, hi) in intervals.items():
        assert lo <= float(result.blocks[0].values["indlaeggelser_std"][cell] or 0) <= hi


def test_all_municipalities_by_list_or_by_residence_agree(analysis: AnalysisService) -> None:
    """The short form of the widest scope gives the same cells as the list of all 98."""
    scope = analysis.scope_of(EXACT)
    plan = plan_request(parse_request(SMALL_CELLS, analysis.catalog), analysis.catalog, analysis.plan_context(EXACT))
    engine = DuckDBEngine(analysis.release().serving_file, "test", threads=1, memory_limit="1GB")
    try:
        short = [engine.execute(to_sql(q)) for q in apply_scope(plan, scope).queries]
        listed = [
            engine.execute(to_sql(q)) for q in apply_scope(plan, dataclasses.replace(scope, everywhere=False)).queries
        ]
    finally:
        engine.close()
    assert scope.everywhere
    assert [sorted(map(repr, r)) for r in short] == [sorted(map(repr, r)) for r in listed]


def test_bases_are_counted_from_rows_unless_exact_bases_is_set(analysis: AnalysisService) -> None:
    """The release records its row bounds, so practice contacts count rows first; KOES_EXACT_BASES turns that off."""
    request = {"perspective": "sygesikring", "measures": ["sygesikring_kontakter"], "rows": ["kommune"]}
    principal = analysis.local_principal()
    (bounded,) = analysis.sql(request, principal)
    assert "person_year_practice_total" in bounded and "COUNT(DISTINCT" not in bounded
    exact = AnalysisService(dataclasses.replace(analysis.settings, exact_bases=True))
    try:
        (counted,) = exact.sql(request, principal)
        assert "COUNT(DISTINCT" in counted
        assert exact.run(request, principal).blocks[0].values == analysis.run(request, principal).blocks[0].values
    finally:
        exact.close()


def test_comparison_areas_outside_own_citizens_are_protected_never_zero(analysis: AnalysisService) -> None:
    """Issue 17, item 7: an individual-level user of København comparing areas sees exact figures for
    København only; every other area is published with the aggregate protection, and a municipality
    filter cannot empty or shrink the areas of a comparison."""
    own = Principal("sagsbehandler", Organisation("kommune", 101), frozenset({"individ"}))
    request = {"perspective": "somatik", "measures": ["indlaeggelser"], "period": {"from": "2023"}}
    mine = analysis.run({**request, "comparison": {"municipality": 101}}, own)
    assert [(b.area.id, b.exact) for b in mine.blocks if b.area] == [
        ("kommune", True),
        ("region", False),
        ("land", False),
        ("lignende", False),
    ]
    assert mine.provenance.note("da").startswith("Tallene for egne borgere er præcise")
    aggregate = analysis.run({**request, "comparison": {"municipality": 101}}, NATIONAL)
    for exact_or_not, protected in zip(mine.blocks[1:], aggregate.blocks[1:], strict=True):
        assert exact_or_not.values == protected.values  # the same protection as any aggregate user's
    truth = analysis.run({**request, "comparison": {"municipality": 101}}, EXACT)
    assert mine.blocks[0].values == truth.blocks[0].values
    aarhus = analysis.run({**request, "comparison": {"municipality": 751}}, own)
    assert not any(b.exact for b in aarhus.blocks)
    totals = [b.values["indlaeggelser"][(TOTAL, TOTAL)] for b in aarhus.blocks]
    assert all(t is not None and t > 0 for t in totals[1:]), totals
    data = aarhus.to_json("da")
    assert [b["exact_figures"] for b in data["blocks"]] == [False] * 4
    with pytest.raises(RequestError) as caught:
        analysis.run({**request, "comparison": {"municipality": 751}, "filters": {"kommune": [101]}}, own)
    assert caught.value.problems[0].code == "comparison_with_kommune"
