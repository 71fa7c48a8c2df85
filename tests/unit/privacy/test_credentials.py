"""Credentials without a database: password policy, argon2id, lockout backoff, TOTP, recovery codes, tokens."""

from __future__ import annotations

import hashlib
import string
from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from koes.privacy import credentials as c

AT = datetime(2025, 3, 1, 12, 0, 15, tzinfo=UTC)  # 15 s into a 30-second step
FAST = c.Passwords(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


# --- password policy -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "username", "problems"),
    [
        ("Korrekt-hest-batteri", "anna", []),
        ("kort", "anna", ["at least 12", "two kinds"]),
        ("alllowercaseletters", "anna", ["two kinds"]),
        ("123456789012", "anna", ["two kinds"]),
        ("anna-er-sej-2025", "anna", ["user name"]),
        ("ANNA-er-sej-2025", "anna", ["user name"]),
        ("", "anna", ["at least 12", "must not be empty"]),
        ("Aa1" * 400, "anna", ["at most 1024"]),
        ("ab", "ab", ["at least 12", "two kinds", "user name"]),  # every rule at once
        ("Korrekt-hest-\ud800", "anna", ["cannot be stored"]),  # JSON can carry a lone surrogate; UTF-8 cannot
    ],
)
def test_password_policy_names_every_broken_rule(password: str, username: str, problems: list[str]) -> None:
    found = c.password_problems(password, username)
    assert len(found) == len(problems)
    for message, expected in zip(found, problems, strict=True):
        assert expected in message
        assert password not in message or not password


CLASSES = [string.ascii_lowercase + "æøå", string.ascii_uppercase + "ÆØÅ", string.digits, "-_!#. "]
part = st.integers(0, 3).flatmap(lambda k: st.tuples(st.just(k), st.text(CLASSES[k], min_size=1, max_size=8)))


@settings(max_examples=300)
@given(parts=st.lists(part, min_size=1, max_size=8), username=st.from_regex(r"[a-z]{2,10}", fullmatch=True))
def test_password_policy_property(parts: list[tuple[int, str]], username: str) -> None:
    """A password is accepted exactly when it is long enough, mixes two kinds and avoids the user name."""
    password = "".join(text for _, text in parts)
    long_enough = len(password) >= c.MIN_PASSWORD
    mixed = len({k for k, _ in parts}) >= 2
    free = username not in password.casefold()
    problems = c.password_problems(password, username)
    assert (problems == []) == (long_enough and mixed and free)
    assert any("at least 12" in p for p in problems) == (not long_enough)
    assert any("two kinds" in p for p in problems) == (not mixed)
    assert any("user name" in p for p in problems) == (not free)


def test_user_names() -> None:
    assert c.username_problems("anna.hansen@kk") == []
    assert c.username_problems("Anna")  # upper case
    assert c.username_problems("a")  # too short
    assert c.username_problems("bruger 1")  # space
    assert c.username_problems("x0101901234")  # a CPR-shaped number: user names are audited


# --- argon2id --------------------------------------------------------------------------------


def test_passwords_are_argon2id_hashes_that_verify() -> None:
    hashed = FAST.hash("Korrekt-hest-batteri")
    assert hashed.startswith("$argon2id$")
    assert "Korrekt-hest-batteri" not in hashed
    assert FAST.hash("Korrekt-hest-batteri") != hashed  # salted
    assert FAST.verify(hashed, "Korrekt-hest-batteri")
    assert not FAST.verify(hashed, "korrekt-hest-batteri")
    assert not FAST.verify("not a hash", "x")
    assert not FAST.verify(None, "anything")  # no user: still costs a hash, never true
    assert c.Passwords().hasher.type.name == "ID"  # the production default is argon2id
    assert c.Passwords().needs_rehash(hashed)  # cheaper parameters than the default: rehash at sign-in


# --- lockout ---------------------------------------------------------------------------------


def test_lockout_backs_off_doubling_up_to_an_hour() -> None:
    assert [c.lock_for(n) for n in range(5)] == [None] * 5
    minutes = [c.lock_for(n) for n in range(5, 13)]
    assert minutes == [timedelta(minutes=m) for m in (1, 2, 4, 8, 16, 32, 60, 60)]
    assert c.lock_for(10_000) == timedelta(hours=1)


# --- TOTP ------------------------------------------------------------------------------------


def test_totp_accepts_one_step_either_side_and_names_the_step() -> None:
    secret = c.new_totp_secret()
    now_step = int(AT.timestamp()) // 30
    for offset in (-1, 0, 1):
        assert c.totp_step(secret, c.totp_code(secret, AT, offset), AT) == now_step + offset
    for offset in (-3, -2, 2, 3):
        code = c.totp_code(secret, AT, offset)
        if all(code != c.totp_code(secret, AT, o) for o in (-1, 0, 1)):  # a 1-in-a-million collision aside
            assert c.totp_step(secret, code, AT) is None
    assert c.totp_step(secret, " " + c.totp_code(secret, AT)[:3] + " " + c.totp_code(secret, AT)[3:], AT) == now_step
    for bad in ("", "12345", "1234567", "abcdef", "١٢٣٤٥٦"):
        assert c.totp_step(secret, bad, AT) is None


def test_totp_matches_rfc_6238() -> None:
    # RFC 6238 appendix B, SHA-1, secret "12345678901234567890", 8 digits → the last 6 digits here.
    import base64

    secret = base64.b32encode(b"12345678901234567890").decode()
    assert c.totp_code(secret, datetime.fromtimestamp(59, UTC)) == "287082"
    assert c.totp_code(secret, datetime.fromtimestamp(1111111109, UTC)) == "081804"


def test_enrolment_uri_and_qr_code() -> None:
    secret = c.new_totp_secret()
    uri = c.totp_uri(secret, "anna")
    assert uri.startswith("otpauth://totp/K%C3%98S:anna?secret=" + secret)
    svg = c.qr_svg(uri)
    assert svg.startswith("<svg") and "</svg>" in svg and "<script" not in svg and "http" not in svg.split(">")[0]


def test_sealed_secrets_open_only_with_the_key_and_the_context() -> None:
    box = c.SecretBox(b"k" * 32)
    sealed = box.seal("JBSWY3DPEHPK3PXP", "user 1")
    assert "JBSWY3DPEHPK3PXP" not in sealed and sealed.startswith("v1:")
    assert box.seal("JBSWY3DPEHPK3PXP", "user 1") != sealed  # fresh nonce
    assert box.open(sealed, "user 1") == "JBSWY3DPEHPK3PXP"
    with pytest.raises(ValueError, match="does not open"):
        box.open(sealed, "user 2")
    with pytest.raises(ValueError, match="does not open"):
        c.SecretBox(b"j" * 32).open(sealed, "user 1")
    with pytest.raises(ValueError):
        c.SecretBox(b"short")


# --- recovery codes and tokens ---------------------------------------------------------------


def test_recovery_codes_are_random_and_hashed_after_normalising() -> None:
    codes = c.new_recovery_codes()
    assert len(codes) == 10 == len(set(codes))
    for code in codes:
        assert len(code) == 19 and code.count("-") == 3
        assert c.recovery_hash(code.upper().replace("-", " ")) == c.recovery_hash(code)
        assert code not in c.recovery_hash(code)


def test_tokens_have_a_prefix_and_only_their_hash_is_kept() -> None:
    token = c.new_token()
    assert c.looks_like_token(token.secret) and len(token.secret) == 48
    assert token.secret.startswith(token.prefix) and len(token.prefix) == 13
    assert token.digest == hashlib.sha256(token.secret.encode()).hexdigest()
    assert c.new_token().secret != token.secret
    assert not c.looks_like_token("koes_short")
    assert c.same_hash(token.digest, c.token_hash(token.secret))
    assert not c.same_hash(token.digest, c.token_hash(token.secret + "x"))


@given(st.text(max_size=60))
def test_nothing_but_a_token_looks_like_one(text: str) -> None:
    assume(not text.startswith("koes_"))
    assert not c.looks_like_token(text)
