"""A synthetic Denmark of 2025–2028 across the 2027 region reform: generated, loaded and asked.

The registers carry municipalities and hospitals, not regions, so the regions come from the
versioned geography at load and query time: residents of the 46 eastern municipalities are in
Region Hovedstaden or Region Sjælland until 2026 and in Region Østdanmark from 2027, and the
hospitals of the two old regions belong to Region Østdanmark from 2027.
"""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import pytest

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
