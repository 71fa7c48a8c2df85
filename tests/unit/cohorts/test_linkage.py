"""Linkage to a release: found or not, and where each member stands on the reference date.

A small serving file with the release's ``persons`` and ``residence`` tables, read through the
real DuckDB engine; every case a municipality meets is one person."""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

from koes.cohorts.linkage import link
from koes.cohorts.report import ReportBuilder
from koes.cohorts.rows import Member, Residence
from koes.engines.base import EngineError
from koes.engines.duckdb import DuckDBEngine

HOME, OTHER = 101, 751
DAY = date(2023, 12, 31)

# pseudonym → (status, death date, residence periods (kommune, from, until))
PEOPLE: dict[str, tuple[str, date | None, list[tuple[int, date, date | None]]]] = {
    "resident": ("01", None, [(HOME, date(2010, 1, 1), None)]),
    "moved_in": ("01", None, [(OTHER, date(2010, 1, 1), date(2023, 6, 1)), (HOME, date(2023, 6, 1), None)]),
    "moved_out": ("01", None, [(HOME, date(2010, 1, 1), date(2023, 6, 1)), (OTHER, date(2023, 6, 1), None)]),
    "moves_in_later": ("01", None, [(OTHER, date(2010, 1, 1), date(2024, 2, 1)), (HOME, date(2024, 2, 1), None)]),
    "elsewhere": ("01", None, [(OTHER, date(2000, 1, 1), None)]),
    "died_home": ("90", date(2023, 5, 1), [(HOME, date(2000, 1, 1), date(2023, 5, 1))]),
    "died_elsewhere": ("90", date(2023, 5, 1), [(OTHER, date(2000, 1, 1), date(2023, 5, 1))]),
    "emigrated_home": ("80", None, [(HOME, date(2000, 1, 1), date(2022, 8, 1))]),
    "emigrated_elsewhere": ("80", None, [(OTHER, date(2000, 1, 1), date(2022, 8, 1))]),
    "never_lived_here": ("20", None, []),
}
EXPECTED = {
    "resident": Residence.RESIDENT,
    "moved_in": Residence.RESIDENT,
    "moved_out": Residence.NOT_RESIDENT,
    "moves_in_later": Residence.NOT_RESIDENT,
    "elsewhere": Residence.NOT_RESIDENT,
    "died_home": Residence.DECEASED,
    "died_elsewhere": Residence.NOT_RESIDENT,  # whether a non-citizen died is not told
    "emigrated_home": Residence.EMIGRATED,
    "emigrated_elsewhere": Residence.NOT_RESIDENT,
    "never_lived_here": Residence.NOT_RESIDENT,
}


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> DuckDBEngine:
    path = tmp_path_factory.mktemp("release") / "warehouse.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE persons (person_id BIGINT, pseudonym VARCHAR, status VARCHAR, death_date DATE)")
    con.execute("CREATE TABLE residence (person_id BIGINT, kommunekode SMALLINT, fra DATE, til DATE)")
    for person_id, (pseudonym, (status, died, periods)) in enumerate(PEOPLE.items(), start=1):
        con.execute("INSERT INTO persons VALUES (?, ?, ?, ?)", [person_id, pseudonym, status, died])
        for kommune, fra, til in periods:
            con.execute("INSERT INTO residence VALUES (?, ?, ?, ?)", [person_id, kommune, fra, til])
    con.close()
    return DuckDBEngine(path, "test-release", threads=1, memory_limit="1GB")


def member(line: int, pseudonym: str, index: date | None = None) -> Member:
    return Member(line, pseudonym, date(1950, 1, 2), "1", index)


def test_each_member_stands_where_the_release_says(engine: DuckDBEngine) -> None:
    members = [member(i, p) for i, p in enumerate(PEOPLE, start=2)]
    report = ReportBuilder(rows_read=len(members))
    kept, linked = link(members, engine, HOME, DAY, report)
    assert {m.pseudonym: m.residence for m in kept} == EXPECTED
    assert linked.own_citizens == 2 and linked.release_id == "test-release"
    assert report.notes["deceased"] == [7]
    assert report.notes["emigrated"] == [9]
    assert sorted(report.notes["not_resident"]) == [4, 5, 6, 8, 10, 11]
    assert all(m.aggregate_only is (m.residence is not Residence.RESIDENT) for m in kept)


def test_the_reference_date_decides_residence(engine: DuckDBEngine) -> None:
    kept, _ = link([member(2, "moved_in"), member(3, "moved_out")], engine, HOME, date(2023, 1, 1), ReportBuilder())
    assert [m.residence for m in kept] == [Residence.NOT_RESIDENT, Residence.RESIDENT]


def test_members_not_in_the_release_are_refused_by_line(engine: DuckDBEngine) -> None:
    report = ReportBuilder(rows_read=2)
    kept, _ = link([member(2, "resident"), member(3, "unknown")], engine, HOME, DAY, report)
    assert [m.line for m in kept] == [2]
    assert [(r.line, r.category) for r in report.refused] == [(3, "not_found")]


def test_index_dates_after_the_release_are_noted(engine: DuckDBEngine) -> None:
    report = ReportBuilder()
    members = [member(2, "resident", date(2023, 3, 1)), member(3, "elsewhere", date(2024, 3, 1))]
    link(members, engine, HOME, DAY, report, last_day=DAY)
    assert report.notes["index_date_after_release"] == [3]


def test_pseudonyms_reach_the_engine_as_data_not_sql(engine: DuckDBEngine) -> None:
    # A pseudonym that would break SQL if it were pasted into the query text is just an unknown person.
    report = ReportBuilder()
    kept, _ = link([member(2, "x' OR '1'='1"), member(3, "resident")], engine, HOME, DAY, report)
    assert [m.line for m in kept] == [3]


def test_the_uploaded_table_lives_only_for_its_query(engine: DuckDBEngine) -> None:
    link([member(2, "resident")], engine, HOME, DAY, ReportBuilder())
    with pytest.raises(EngineError):
        engine.execute("SELECT count(*) FROM cohort_upload")
