"""Zeros are zeros on every Standard report (issue 16, item 4): the "Alle kommuner" table, its map
and its CSV download list every one of the 98 municipalities, and one without events shows a true
0, never a missing row, a blank or "Ingen tal". Only a rate may be empty (where it has nothing to
divide by, as tests/unit/services/test_rates.py shows on Samsø).

Every report and variant on the small synthetic Denmark (4,000 persons, so most reports have
municipalities without events), as a national user with individual-level rights (exact figures)
and as a national aggregate user (perturbed: zeros stay zeros, small counts may be hidden).
"""

from __future__ import annotations

import csv
import io

import pytest

from koes.domain.cells import TOTAL
from koes.privacy.access import Organisation, Principal
from koes.refdata import load_refdata
from koes.reports.loader import default_reports
from koes.reports.requests import ReportChoices, view_requests
from koes.services.analysis import AnalysisService
from koes.services.export import export
from koes.services.reports import ReportService
from koes.web import views

EXACT = Principal("oracle", Organisation("national"), frozenset({"individ"}))
AGGREGATE = Principal("analytiker", Organisation("national"), frozenset({"aggregeret"}))
NAMES = {m.code: m.name for m in load_refdata().municipalities}
MUNICIPALITIES = sorted(NAMES)
VARIANTS = [(r.id, v.id) for r in default_reports().reports.values() for v in r.variants]


@pytest.mark.parametrize("principal", [EXACT, AGGREGATE], ids=["exact", "perturbed"])
@pytest.mark.parametrize(("report_id", "variant_id"), VARIANTS)
def test_every_municipality_is_a_row_and_a_map_area_with_true_zeros(
    analysis: AnalysisService, report_id: str, variant_id: str, principal: Principal
) -> None:
    reports = ReportService(analysis)
    chosen = reports.resolve(reports.report(report_id), ReportChoices(variant=variant_id), principal)
    request = view_requests(reports.report(report_id), chosen, analysis.years())["table"]
    result = analysis.run(request, principal)
    (block,) = result.blocks
    assert sorted(k[0] for k in block.row_keys) == MUNICIPALITIES
    for measure in result.measures:
        areas = views.map_areas(result, measure, "da")
        assert sorted(areas) == MUNICIPALITIES
        for r, key in enumerate(block.row_keys):
            area, cell = areas[key[0]], result.cell(block, measure, (r, TOTAL))
            if measure.derived is None:  # a count or an amount: a number, or hidden by disclosure control
                assert cell["status"] != "none" and (area.value is not None or area.hidden), (measure.id, key)
            if cell["status"] == "ok" and cell["value"] == 0:
                assert area.value == 0 and float(area.display.replace(",", ".")) == 0, (measure.id, key)
    table = views.table(result, "da")
    assert len(table.rows) == len(MUNICIPALITIES) + 1  # and the total
    download = csv.reader(io.StringIO(export(result, "csv").content.decode("utf-8-sig")))
    listed = {line[0]: line[1:] for line in download if line}
    counts = [j for j, m in enumerate(result.measures) if m.derived is None]
    for name in NAMES.values():
        assert len(listed[name]) == len(result.measures), name
        assert all(listed[name][j] != "" for j in counts), name


def test_municipalities_without_nursing_home_residents_show_0(analysis: AnalysisService) -> None:
    """Not vacuous: at 4,000 persons most municipalities have no nursing-home resident 65+ (the
    Samsø case of the issue): a 0 in the table, on the map and in the download."""
    reports = ReportService(analysis)
    report = reports.report("aeldre")
    chosen = reports.resolve(report, ReportChoices(variant="plejebolig"), EXACT)
    result = analysis.run(view_requests(report, chosen, analysis.years())["table"], EXACT)
    measure = views.measure_of(result, "plejeboligbeboere")
    zeros = [c for c, a in views.map_areas(result, measure, "da").items() if a.value == 0]
    assert len(zeros) >= 10
    table = views.table(result, "da")
    column = table.header.index(measure.label.da)
    shown = {row[0].text: row[column].text for row in table.rows}
    assert all(shown[NAMES[c]] == "0" for c in zeros)
