"""Pseudonyms: the SQL and Python forms agree, keys are private, and the key file is guarded."""

from __future__ import annotations

import stat
from pathlib import Path

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from koes.privacy.pseudonymisation import KeyFileError, Pseudonymiser, hmac_sha256_sql, load_or_create_key


@settings(max_examples=50, deadline=None)
@given(key=st.binary(min_size=16, max_size=100), number=st.text(alphabet="0123456789", min_size=10, max_size=10))
def test_sql_and_python_give_the_same_pseudonym(key: bytes, number: str) -> None:
    row = duckdb.connect().execute(f"SELECT {hmac_sha256_sql(key, '$1')}", [number]).fetchone()
    assert row is not None
    assert row[0] == Pseudonymiser(key).pseudonym(number)


def test_different_keys_give_different_pseudonyms() -> None:
    assert Pseudonymiser(b"a" * 32).pseudonym("0101651234") != Pseudonymiser(b"b" * 32).pseudonym("0101651234")


def test_key_file_is_created_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "secrets" / "pseudonym.key"
    key = load_or_create_key(path)
    assert len(key) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert load_or_create_key(path) == key


def test_a_key_readable_by_others_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "pseudonym.key"
    load_or_create_key(path)
    path.chmod(0o644)
    with pytest.raises(KeyFileError, match="readable by others"):
        load_or_create_key(path)


@pytest.mark.parametrize(("text", "problem"), [("zz", "not a hex-encoded key"), ("abcd", "too short")])
def test_a_damaged_key_is_refused(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "pseudonym.key"
    path.write_text(text)
    path.chmod(0o600)
    with pytest.raises(KeyFileError, match=problem):
        load_or_create_key(path)
