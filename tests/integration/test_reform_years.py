"""A synthetic Denmark of 2025–2028 across the 2027 region reform: generated, loaded and asked.

The registers carry municipalities and hospitals, not regions, so the regions come from the
versioned geography at load and query time: residents of the 46 eastern municipalities are in
Region Hovedstaden or Region Sjælland until 2026 and in Region Østdanmark from 2027, and the
hospitals of the two old regions belong to Region Østdanmark from 2027.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import duckdb
import pytest

from koes.domain.cells import TOTAL
from koes.domain.periods import YearRange
from koes.privacy.access import Organisation, Principal
from koes.refdata import load_refdata
from koes.services.analysis import AnalysisService
from koes.services.warehouse import LoadResult, load_extracts
from koes.settings import Settings
from koes.synthetic.generate import GenerationRequest, generate

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("generation")]
EXACT = Principal("oracle", Organisation("national"), frozenset({"individ"}))
OLD_EAST, OSTDANMARK = {1084, 1085}, 1086


@pytest.fixture(scope="module")
def reform_load(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LoadResult, Settings]]:
    root = tmp_path_factory.mktemp("reform")
    generate(GenerationRequest(600, YearRange(2025, 2028), 3, root / "extracts"), load_refdata())
    settings = Settings(data_dir=root / "var", threads=1, memory_limit="1GB")
    yield load_extracts(settings, root / "extracts"), settings


def test_person_years_carry_the_region_of_their_year(reform_load: tuple[LoadResult, Settings]) -> None:
    result, _ = reform_load
    with duckdb.connect(str(result.release.serving_file), read_only=True) as con:
        rows = con.execute("SELECT DISTINCT year, region_code FROM person_year ORDER BY ALL").fetchall()
    regions = {y: {r for year, r in rows if year == y} for y in range(2025, 2029)}
    assert regions[2025] >= OLD_EAST and regions[2026] >= OLD_EAST and OSTDANMARK not in regions[2026]
    assert OSTDANMARK in regions[2027] and not OLD_EAST & regions[2027]
    assert len(regions[2028]) == 4


def test_regions_by_year_under_both_geographies(reform_load: tuple[LoadResult, Settings]) -> None:
    _, settings = reform_load
    service = AnalysisService(settings)
    try:
        request = {"perspective": "befolkning", "measures": ["borgere"], "rows": ["region"], "columns": ["aar"]}
        period = {"period": {"from": "2025", "to": "2028"}}
        was = service.run(request | period | {"geography": "as_it_was"}, EXACT)
        now = service.run(request | period, EXACT)  # the default: the regions of 31 December 2028
    finally:
        service.close()
    assert [k[0] for k in was.blocks[0].row_keys] == [1081, 1082, 1083, 1084, 1085, OSTDANMARK]
    assert [k[0] for k in now.blocks[0].row_keys] == [1081, 1082, 1083, OSTDANMARK]
    assert now.provenance.to_json("en")["geography"] == "Regions as of 2028-12-31"


def test_cofinancing_across_2026_to_2028_follows_each_years_rule(reform_load: tuple[LoadResult, Settings]) -> None:
    """A release spanning the reform: 2026 under kmf-2019 (a number, equal to the shadow amount),
    2027 and 2028 under the transition kmf-2027 ("ikke relevant efter 2026", never 0, and so is the
    total); the shadow amount goes on in every year, and the provenance names each year's rule."""
    _, settings = reform_load
    service = AnalysisService(settings)
    request = {
        "perspective": "somatik",
        "measures": ["medfinansiering_kr", "medfinansiering_skygge_kr"],
        "columns": ["aar"],
        "period": {"from": "2026", "to": "2028"},
    }
    try:
        result = service.run(request, EXACT)
    finally:
        service.close()
    block = result.blocks[0]
    cofinancing, shadow = result.measures
    assert block.col_keys == ((2026,), (2027,), (2028,))
    y2026 = result.cell(block, cofinancing, (TOTAL, 0))
    assert y2026["value"] > 0 and y2026["value"] == result.cell(block, shadow, (TOTAL, 0))["value"]
    for key in ((TOTAL, 1), (TOTAL, 2), (TOTAL, TOTAL)):
        cell = result.cell(block, cofinancing, key)
        assert (cell["value"], cell["status"], cell["display"]) == (None, "not_applicable", "ikke relevant efter 2026")
        assert result.cell(block, shadow, key)["value"] > 0
    rules = result.to_json("da")["provenance"]["cofinancing_rules"]
    assert re.findall(r"(\d{4}): (kmf-\d{4})", rules) == [
        ("2026", "kmf-2019"),
        ("2027", "kmf-2027"),
        ("2028", "kmf-2027"),
    ]
