"""Small integer codes: declared domains become sorted ENUM types that facts store codes in."""

from __future__ import annotations

import duckdb
import pytest

from koes.etl.derive import coding
from koes.etl.derive.coding import CODE_DOMAINS, CodeDomain, coded, create_code_types, lookup, type_name


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("CREATE TABLE extract (code VARCHAR)")
    con.execute("INSERT INTO extract VALUES ('b12'), ('a7'), ('B3'), ('æ1'), (NULL), ('a7'), ('z9')")
    return con


DOMAINS = (
    CodeDomain("demo", "SELECT code AS v FROM extract", "codes in a made-up extract"),
    CodeDomain("demo_letter", f"SELECT left(unnest(enum_range(NULL::{type_name('demo')})), 1) AS v", "first letter"),
)


def test_a_domain_holds_each_value_once_sorted_as_text_without_null(con: duckdb.DuckDBPyConnection) -> None:
    assert create_code_types(con, DOMAINS) == ["enum_demo", "enum_demo_letter"]
    assert con.execute("SELECT enum_range(NULL::enum_demo)").fetchone() == (["B3", "a7", "b12", "z9", "æ1"],)
    # A later domain may be derived from an earlier one.
    assert con.execute("SELECT enum_range(NULL::enum_demo_letter)").fetchone() == (["B", "a", "b", "z", "æ"],)


def test_coded_columns_order_filter_and_join_as_their_text_does(con: duckdb.DuckDBPyConnection) -> None:
    create_code_types(con, DOMAINS)
    con.execute("CREATE TABLE fact AS SELECT CAST(code AS enum_demo) AS code FROM extract")
    ordered = [r[0] for r in con.execute("SELECT code FROM fact ORDER BY code").fetchall()]
    as_text = [r[0] for r in con.execute("SELECT code FROM extract ORDER BY code").fetchall()]
    assert ordered == as_text
    assert con.execute("SELECT count(*) FROM fact WHERE code IN ('a7', 'not-a-code')").fetchone() == (2,)
    assert con.execute("SELECT count(*) FROM fact JOIN extract e ON e.code = fact.code").fetchone() == (8,)
    assert con.execute("SELECT max(code), left(min(code), 1) FROM fact").fetchone() == ("æ1", "B")


def test_a_value_outside_its_domain_stops_the_load_rather_than_becoming_null(con: duckdb.DuckDBPyConnection) -> None:
    create_code_types(con, DOMAINS)
    with pytest.raises(duckdb.ConversionException):
        con.execute("SELECT CAST('q1' AS enum_demo)").fetchall()


def test_an_unknown_domain_is_a_programming_error() -> None:
    with pytest.raises(KeyError, match="no code domain 'sektor'"):
        coded("sektor", "x")


def test_domain_names_are_unique_and_every_domain_says_what_it_holds() -> None:
    names = [d.name for d in CODE_DOMAINS]
    assert len(names) == len(set(names))
    assert all(d.about for d in CODE_DOMAINS)


def test_a_lookup_codes_each_value_as_the_cast_does_with_derived_codes(
    con: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``lookup`` is the join form of ``coded``: the same codes, plus codes derived from the text."""
    domains = (*DOMAINS, CodeDomain("demo_letters", "SELECT left(code, 1) AS v FROM extract", "first letters"))
    for domain in domains:
        monkeypatch.setitem(coding.DOMAINS, domain.name, domain)
    create_code_types(con, domains)
    table = lookup("demo", letter=coded("demo_letters", "left(text, 1)"))
    joined = con.execute(
        f"SELECT e.code, l.code, l.letter, typeof(l.code), typeof(l.letter) "
        f"FROM extract e LEFT JOIN {table} l ON l.text = e.code ORDER BY e.code"
    ).fetchall()
    assert len(joined) == 7
    assert all(code == text and letter == (text[0] if text else None) for text, code, letter, *_ in joined)
    assert joined[0][3:] == ("ENUM('B3', 'a7', 'b12', 'z9', 'æ1')", "ENUM('B', 'a', 'b', 'z', 'æ')")
