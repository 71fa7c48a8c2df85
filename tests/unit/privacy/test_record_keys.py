"""Record keys: the SQL computes what the Python computes, and the engine's hash cannot change unseen."""

from __future__ import annotations

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from koes.privacy.record_keys import RecordKeys

KEY = b"0" * 32


def _sql(expression: str) -> object:
    row = duckdb.connect().execute(f"SELECT {expression}").fetchone()
    assert row is not None
    return row[0]


@settings(max_examples=40, deadline=None)
@given(pseudonym=st.text("0123456789abcdef", min_size=64, max_size=64), bits=st.sampled_from([8, 10, 16]))
def test_the_person_id_carries_the_person_key_in_its_low_bits(pseudonym: str, bits: int) -> None:
    keys = RecordKeys.derive(KEY, bits)
    person_id = _sql(keys.person_id_sql("12345", f"'{pseudonym}'"))
    assert person_id == 12345 * 2**bits + keys.person_key(pseudonym)
    assert 0 <= keys.person_key(pseudonym) < 2**bits
    assert _sql(keys.person_key_of_id_sql(str(person_id))) == keys.person_key(pseudonym)


def test_the_event_key_function_is_pinned() -> None:
    """If an engine upgrade changes ``hash``, every published value would change once: a reload
    after it would hand an attacker a second, independent draw of every cell. Decide, then re-pin."""
    keys = RecordKeys.derive(KEY)
    assert keys.event_seed == 7203353184932446161
    assert keys.person_key("abc") == 50975
    assert _sql(keys.event_key_sql("t", "42", "'x'", "DATE '2023-01-02'")) == 1392


def test_keys_depend_on_the_secret_and_never_show_it() -> None:
    one, other = RecordKeys.derive(KEY), RecordKeys.derive(b"1" * 32)
    assert one.event_seed != other.event_seed and one.person_secret != other.person_secret
    assert one == RecordKeys.derive(KEY)  # the same key file gives the same keys in every load
    assert str(one.event_seed) not in repr(one) and one.person_secret.hex() not in repr(one)


def test_an_enum_must_be_hashed_as_its_text() -> None:
    """The engine hashes an ENUM by its index, which depends on the release's domain: the reason
    every event key casts its codes to text."""
    keys = RecordKeys.derive(KEY)
    con = duckdb.connect()
    con.execute("CREATE TYPE small AS ENUM ('b', 'c')")
    con.execute("CREATE TYPE large AS ENUM ('a', 'b', 'c')")
    small, large = keys.event_key_sql("t", "CAST('b' AS small)"), keys.event_key_sql("t", "CAST('b' AS large)")
    by_index = con.execute(f"SELECT {small}, {large}").fetchone()
    as_text = keys.event_key_sql("t", "CAST(CAST('b' AS small) AS VARCHAR)")
    by_text = con.execute(f"SELECT {as_text}, {keys.event_key_sql('t', repr('b'))}").fetchone()
    assert by_index is not None and by_index[0] != by_index[1]
    assert by_text is not None and by_text[0] == by_text[1]


def test_bad_bits_are_refused() -> None:
    with pytest.raises(ValueError, match=r"1\.\.32"):
        RecordKeys.derive(KEY, 0)
    with pytest.raises(ValueError, match="natural key"):
        RecordKeys.derive(KEY).event_key_sql("t")
