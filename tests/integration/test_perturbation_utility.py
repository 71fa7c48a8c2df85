"""The Standard reports' key figures under perturbation: how far a reader's figure may move.

The bound stated in docs/disclosure.md: a figure with 20 or more units behind it (a count of 20 or
more; an amount or rate over 20 or more persons) moves by at most 15 % (a count by at most 3), and
the typical one by under 2 %; a standardised rate's published 95 % interval holds the exact rate in
at least 9 of 10 cells, since it includes the noise's variance.
"""

from __future__ import annotations

import statistics

from koes.privacy.access import Organisation, Principal
from koes.query.derive import inputs_of
from koes.query.request import parse_request
from koes.reports.loader import default_reports
from koes.reports.requests import ReportChoices, resolve, view_requests
from koes.semantic.model import DerivedKind, Noise
from koes.services.analysis import AnalysisService
from koes.services.disclosure import protect
from support import assembled, largest_noise

AGGREGATE = Principal("reader", Organisation("national"), frozenset({"aggregeret"}))
LARGE = 20


def _key_figures(analysis: AnalysisService) -> list[tuple[str, str, float, float, bool | None]]:
    """(kind, measure, exact, published, exact inside the published interval) for large cells."""
    report = default_reports().get("noegletal")
    assert report is not None
    opened = analysis._open()
    years, municipalities = analysis.years(), sorted(analysis.municipalities())
    found = []
    for variant in report.variants:
        chosen = resolve(report, ReportChoices(variant=variant.id), analysis.catalog, years, municipalities, None)
        for raw in view_requests(report, chosen, years).values():
            request = parse_request(raw, analysis.catalog)
            plan = analysis._scoped(request, AGGREGATE, analysis.scope_of(AGGREGATE)).plan
            for block in assembled(analysis, raw, AGGREGATE):
                exact = protect(block, plan, opened.control, analysis._weights, exact=True)
                shown = protect(block, plan, opened.control, analysis._weights, exact=False)
                for measure in plan.measures:
                    numerator = measure.id if measure.is_base else inputs_of(measure)[0]
                    for cell in block.cells():
                        true, published = exact.values[measure.id].get(cell), shown.values[measure.id].get(cell)
                        behind = block.aggregates[numerator].get(cell)
                        if not true or published is None or behind is None:
                            continue
                        if measure.is_base and behind.noise is Noise.COUNT:
                            kind, large = "count", float(true) >= LARGE
                        else:
                            kind = "standardised" if measure.derived is DerivedKind.STANDARDISED_RATE else "other"
                            large = behind.base >= LARGE
                        interval = shown.intervals.get(measure.id, {}).get(cell)
                        inside = None if interval is None else interval[0] <= float(true) <= interval[1]
                        if large:
                            found.append((kind, measure.id, float(true), float(published), inside))
    return found


def test_key_figures_move_within_the_stated_bound(analysis: AnalysisService) -> None:
    found = _key_figures(analysis)
    plain = [f for f in found if f[0] != "standardised"]
    assert len(plain) > 100, "the small warehouse must give enough large cells to judge"
    for kind, measure, exact, published, _ in plain:
        assert abs(published - exact) <= 0.15 * abs(exact), (kind, measure, exact, published)
        if kind == "count":
            assert abs(published - exact) <= largest_noise(), (measure, exact, published)
    assert statistics.median(abs(p - e) / abs(e) for _, _, e, p, _ in plain) < 0.02
    assert any(p != e for _, _, e, p, _ in plain), "perturbation must move some figures"
    standardised = [inside for kind, *_, inside in found if kind == "standardised"]
    assert standardised, "the key-figure report compares standardised rates"
    assert sum(bool(i) for i in standardised) >= 0.9 * len(standardised)
