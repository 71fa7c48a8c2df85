"""Protected results as the pages lay them out (koes.web.views): running totals, map areas, tables."""

from __future__ import annotations

from koes.domain.cells import TOTAL
from koes.privacy.access import Organisation, Principal
from koes.services.analysis import AnalysisService
from koes.web import views

ANALYST = Principal("a", Organisation("kommune", 101), frozenset({"aggregeret"}))
MONTHS = {
    "perspective": "psykiatri",
    "measures": ["kontakter"],
    "columns": ["maaned"],
    "filters": {"kommune": [101]},
    "period": {"from": "2022", "to": "2023"},
}


def test_year_to_date_is_a_running_total_that_stops_at_a_hidden_month(analysis: AnalysisService) -> None:
    drawn_values: list[float | None] = []
    # Which months are hidden depends on the volumes and the release's keys: series from sparse
    # (psychiatric contacts of a small municipality) to dense (somatic contacts of København).
    series = [("psykiatri", "kontakter", k) for k in (101, 751, 461, 147)] + [("somatik", "kontakter", 101)]
    for perspective, measure_id, kommune in series:
        request = {**MONTHS, "perspective": perspective, "measures": [measure_id], "filters": {"kommune": [kommune]}}
        result = analysis.run(request, ANALYST)
        measure = result.measures[0]
        block = result.blocks[0]
        chart = views.year_to_date(result, measure, "da")
        names = [t["name"] for t in chart["traces"]]
        assert names in (["2022", "2023"], ["2023"]), names  # a year without any figure draws no line
        for year, trace in zip((int(n) for n in names), chart["traces"], strict=True):
            months = [c for c, key in enumerate(block.col_keys) if key[0] // 100 == year]
            total, broken = 0.0, False
            for c, drawn in zip(months, trace["y"], strict=True):
                cell = result.cell(block, measure, (TOTAL, c))
                broken = broken or cell["value"] is None
                total += cell["value"] or 0
                assert drawn == (None if broken else total)
            drawn_values += trace["y"]
    # not vacuous: on the small synthetic Denmark some months of psychiatric contacts are hidden
    assert any(v is None for v in drawn_values)
    assert any(v is not None for v in drawn_values)


def test_map_areas_and_table_show_the_same_hidden_cells(analysis: AnalysisService) -> None:
    request = {"perspective": "psykiatri", "measures": ["kontakter"], "rows": ["kommune"]}
    result = analysis.run(request, ANALYST)
    measure = result.measures[0]
    areas = views.map_areas(result, measure, "da")
    table = views.table(result, "da")
    by_name = {row[0].text: row[1] for row in table.rows}
    assert table.total_rows == frozenset({len(table.rows) - 1})
    hidden = [code for code, area in areas.items() if area.hidden]
    assert hidden and len(hidden) < len(areas)  # some hidden, some shown
    assert all(areas[c].value is None and areas[c].display in ("<5", "x") for c in hidden)
    total = table.rows[-1][0].text
    assert sorted(a.display for a in areas.values()) == sorted(c.text for n, c in by_name.items() if n != total)
    assert all(c.hidden == (c.text in ("<5", "x")) for c in by_name.values())
