"""The 2027 region reform through the whole analysis path, on a hand-made Denmark of 2026–2027.

Exact figures (a national user with individual-level rights, so nothing is perturbed):

* A, born 15 January 1950, lives in København (101): admitted at Herlev on 31 December 2026 and
  again on 1 January 2027, the same municipality on both sides of the new year;
* B, born 1 June 1960, lives in Roskilde (265, Region Sjælland until 2026): admitted at Herlev in
  March 2027;
* C, born 10 March 1970, lives in Aalborg (851, Region Nordjylland throughout): admitted at
  Aalborg University Hospital in March 2026.

Under "as it was" A's first admission is Region Hovedstaden's and the second Region Østdanmark's;
"as of" 1 January 2027 both are Region Østdanmark's, and so is B's.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from handmade import Extracts, Warehouse, build, cpr, d
from koes.domain.cells import TOTAL
from koes.domain.periods import YearRange
from koes.privacy.access import Organisation, Principal
from koes.services.analysis import AnalysisService
from koes.synthetic.writer import ExtractFormat
from support import TOTAL_KEY, result_cells

EXACT = Principal("oracle", Organisation("national"), frozenset({"individ"}))
HOVEDSTADEN, SJAELLAND, NORDJYLLAND, OSTDANMARK = 1084, 1085, 1081, 1086
AS_IT_WAS = "as_it_was"
AS_OF_2027 = {"as_of": "2027-01-01"}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Warehouse]:
    x = Extracts()
    a = x.person(cpr("1950-01-15"), "0101", since=d("2000-01-01"))
    b = x.person(cpr("1960-06-01"), "0265", since=d("2000-01-01"))
    c = x.person(cpr("1970-03-10"), "0851", since=d("2000-01-01"))
    x.contact(a, "2026-12-31 08:00:00", "2026-12-31 22:00:00", drg=10000)
    x.contact(a, "2027-01-01 08:00:00", "2027-01-01 22:00:00", drg=10000)
    x.contact(b, "2027-03-01 08:00:00", "2027-03-02 08:00:00", drg=10000)
    x.contact(c, "2026-03-01 08:00:00", "2026-03-02 08:00:00", drg=10000, hospital="aauh-aalborg")
    yield from build(x, tmp_path_factory, ExtractFormat.PARQUET, YearRange(2026, 2027))


@pytest.fixture(scope="module")
def service(world: Warehouse) -> Iterator[AnalysisService]:
    s = AnalysisService(world.settings)
    yield s
    s.close()


def _admissions(service: AnalysisService, geography: object, **extra: Any) -> dict[tuple[Any, ...], Any]:
    request = {
        "perspective": "somatik",
        "measures": ["indlaeggelser"],
        "period": {"from": "2026", "to": "2027"},
        "geography": geography,
    } | extra
    return _flat(service.run(request, EXACT), 0)


def _flat(result: Any, block: int) -> dict[tuple[Any, ...], Any]:
    """{row key + column key: value} without totals and empty cells."""
    cells = result_cells(result, "indlaeggelser", block)
    no_rows = not result.plan.rows
    return {_key(r) + _key(c): v for (r, c), v in cells.items() if v and c != TOTAL_KEY and (r != TOTAL_KEY or no_rows)}


def _key(key: tuple[Any, ...]) -> tuple[Any, ...]:
    return () if key == TOTAL_KEY else key


def test_as_it_was_each_admission_in_the_region_of_its_date(service: AnalysisService) -> None:
    cells = _admissions(service, AS_IT_WAS, rows=["region"], columns=["aar"])
    assert cells[(HOVEDSTADEN, 2026)] == 1  # 31 December 2026
    assert cells[(OSTDANMARK, 2027)] == 2  # 1 January 2027, and Roskilde in March
    assert cells[(NORDJYLLAND, 2026)] == 1
    assert (OSTDANMARK, 2026) not in cells and (HOVEDSTADEN, 2027) not in cells


def test_as_of_2027_history_is_remapped_to_the_four_regions(service: AnalysisService) -> None:
    cells = _admissions(service, AS_OF_2027, rows=["region"], columns=["aar"])
    assert cells[(OSTDANMARK, 2026)] == 1
    assert cells[(OSTDANMARK, 2027)] == 2
    assert not {k for k in cells if k[0] in (HOVEDSTADEN, SJAELLAND)}


def test_the_default_is_as_of_the_release_last_day(service: AnalysisService) -> None:
    assert _admissions(service, None, rows=["region"], columns=["aar"]) == _admissions(
        service, AS_OF_2027, rows=["region"], columns=["aar"]
    )


def test_a_region_filter_follows_the_choice(service: AnalysisService) -> None:
    as_it_was = _admissions(service, AS_IT_WAS, columns=["aar"], filters={"region": [OSTDANMARK]})
    as_of = _admissions(service, AS_OF_2027, columns=["aar"], filters={"region": [OSTDANMARK]})
    assert (as_it_was.get((2026,)), as_it_was[(2027,)]) == (None, 2)
    assert (as_of[(2026,)], as_of[(2027,)]) == (1, 2)


def test_hospital_region_follows_the_choice(service: AnalysisService) -> None:
    as_it_was = _admissions(service, AS_IT_WAS, rows=["sygehusregion"], columns=["aar"])
    as_of = _admissions(service, AS_OF_2027, rows=["sygehusregion"], columns=["aar"])
    assert as_it_was[(HOVEDSTADEN, 2026)] == 1 and as_it_was[(OSTDANMARK, 2027)] == 2
    assert as_of[(OSTDANMARK, 2026)] == 1 and (HOVEDSTADEN, 2026) not in as_of


def test_own_region_comparison_as_it_was_and_as_of(service: AnalysisService) -> None:
    """Roskilde's own region: Region Sjælland in 2026 (no admissions there), Region Østdanmark in
    2027 (A's and B's); as of 2027 Region Østdanmark in both years (A's 2026 admission too)."""
    compare = {"comparison": {"municipality": 265}, "columns": ["aar"]}
    as_it_was = service.run(
        {
            "perspective": "somatik",
            "measures": ["indlaeggelser"],
            "period": {"from": "2026", "to": "2027"},
            "geography": AS_IT_WAS,
        }
        | compare,
        EXACT,
    )
    as_of = service.run(
        {
            "perspective": "somatik",
            "measures": ["indlaeggelser"],
            "period": {"from": "2026", "to": "2027"},
            "geography": AS_OF_2027,
        }
        | compare,
        EXACT,
    )
    region_was = _area(as_it_was, "region")
    region_of = _area(as_of, "region")
    assert region_was[(2026,)] == 0 and region_was[(2027,)] == 2
    assert region_of[(2026,)] == 1 and region_of[(2027,)] == 2
    assert [a.label_da for a in as_it_was.plan.areas if a.id == "region"] == ["Region Sjælland → Region Østdanmark"]
    assert as_it_was.provenance.to_json("da")["geography"] == "Regioner som de var på hændelsens dato"
    assert as_of.provenance.to_json("en")["geography"] == "Regions as of 2027-01-01"


def _area(result: Any, area: str) -> dict[tuple[Any, ...], Any]:
    index = next(i for i, b in enumerate(result.blocks) if b.area is not None and b.area.id == area)
    cells = result_cells(result, "indlaeggelser", index)
    return {_key(c): v for (_, c), v in cells.items() if c != TOTAL_KEY}


def test_cofinancing_across_the_reform_says_not_applicable_after_2026(service: AnalysisService) -> None:
    """2026: co-financing (the shadow calculation under kmf-2019) and the shadow measure agree;
    2027 (kmf-2027, the transition): co-financing is "ikke relevant efter 2026", never 0, and so
    is a total reaching into 2027; the shadow amount goes on."""
    request = {
        "perspective": "somatik",
        "measures": ["medfinansiering_kr", "medfinansiering_skygge_kr", "medfinansiering_pr_borger"],
        "columns": ["aar"],
        "period": {"from": "2026", "to": "2027"},
    }
    result = service.run(request, EXACT)
    block = result.blocks[0]
    cofinancing, shadow, per_citizen = result.measures
    y2026, y2027, total = (TOTAL, 0), (TOTAL, 1), (TOTAL, TOTAL)
    assert block.col_keys == ((2026,), (2027,))
    assert result.cell(block, cofinancing, y2026)["value"] > 0
    assert result.cell(block, cofinancing, y2026)["value"] == result.cell(block, shadow, y2026)["value"]
    for measure in (cofinancing, per_citizen):
        for key in (y2027, total):
            cell = result.cell(block, measure, key)
            assert (cell["value"], cell["status"], cell["display"]) == (
                None,
                "not_applicable",
                "ikke relevant efter 2026",
            )
    assert result.cell(block, cofinancing, y2027, "en")["display"] == "not applicable after 2026"
    assert result.cell(block, shadow, y2027)["value"] > 0
    table = result.table("da")
    assert table[1][1 + 0] == result.cell(block, cofinancing, y2026)["value"]  # 2026 co-financing, a number
    assert "ikke relevant efter 2026" in table[1]
    as_json = result.to_json("da")
    assert as_json["measures"][0]["applies_until"] == 2026
    assert "applies_until" not in as_json["measures"][1]
    rules = as_json["provenance"]["cofinancing_rules"]
    assert rules.startswith("2026: kmf-2019 (fast a conto") and "2027: kmf-2027 (overgangsordning" in rules


def test_contacts_carry_the_hospital_owner_of_their_date(world: Warehouse) -> None:
    """Herlev belongs to Region Hovedstaden on 31 December 2026 and to Region Østdanmark the next day."""
    owners = world.rows("SELECT date, hospital_region FROM contacts WHERE hospital_id = 'herlev' ORDER BY date")
    assert [(str(day), region) for day, region in owners] == [
        ("2026-12-31", HOVEDSTADEN),
        ("2027-01-01", OSTDANMARK),
        ("2027-03-01", OSTDANMARK),
    ]
