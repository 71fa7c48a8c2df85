"""The validator's SQL and the domain's Python agree on CPR birth dates and ISO weeks."""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from koes.domain.cpr import parse_cpr
from koes.domain.periods import is_week_code
from koes.etl.validate import cpr_birth_date_sql, iso_week_valid_sql


@pytest.fixture(scope="module")
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect()
    yield connection
    connection.close()


def _sql_birth_date(con: duckdb.DuckDBPyConnection, digits: str) -> object:
    row = con.execute(f"SELECT {cpr_birth_date_sql('$1')}", [digits]).fetchone()
    return row[0] if row else None


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet="0123456789", min_size=10, max_size=10))
def test_cpr_birth_date_matches_the_domain_parser(con: duckdb.DuckDBPyConnection, digits: str) -> None:
    parsed = parse_cpr(digits)
    expected = parsed.cpr.birth_date if parsed.cpr else None
    assert _sql_birth_date(con, digits) == expected
    assert _sql_birth_date(con, f"{digits[:6]}-{digits[6:]}") == expected


@pytest.mark.parametrize(
    ("digits", "year"),
    [("0101001000", 1900), ("0101364000", 2036), ("0101374000", 1937), ("0101585000", 1858), ("0101575000", 2057)],
)
def test_century_table_edges(con: duckdb.DuckDBPyConnection, digits: str, year: int) -> None:
    birth = _sql_birth_date(con, digits)
    assert birth is not None
    assert getattr(birth, "year", None) == year


@settings(max_examples=150, deadline=None)
@given(st.integers(min_value=100000, max_value=999999))
def test_iso_week_check_matches_the_domain(con: duckdb.DuckDBPyConnection, code: int) -> None:
    row = con.execute(f"SELECT {iso_week_valid_sql('CAST($1 AS BIGINT)')}", [code]).fetchone()
    assert row is not None
    assert bool(row[0]) == is_week_code(code)
