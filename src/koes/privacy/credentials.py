"""Credentials, as functions without a database: passwords, lockout, TOTP, recovery codes, API tokens.

- **Passwords**: a policy that names every rule a password breaks at once
  (:func:`password_problems`), and argon2id hashes (``argon2-cffi``; :class:`Passwords`).
- **Lockout**: after :data:`LOCK_AFTER` failures in a row an account is locked for 1 minute, then
  2, 4, 8 … minutes for each further failure, at most :data:`MAX_LOCK` (:func:`lock_for`).
- **TOTP** (RFC 6238, ``pyotp``): 30-second steps, 6 digits, a code of the step before or after is
  accepted too (:func:`totp_step`); the caller stores the last accepted step, so no code works twice.
  The secret is stored encrypted with AES-GCM under a key kept outside the database
  (:class:`SecretBox`), bound to the user's id.
- **Recovery codes**: 10 random codes of 80 bits, shown once, stored as SHA-256 hashes, single use.
- **API tokens**: ``koes_`` + 43 characters (32 random bytes); the database keeps the SHA-256 of the
  token and its first characters (the *prefix*, to find and name it), never the token itself.

None of these functions logs anything; none puts a secret in an exception message.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
import segno
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from koes.domain.cpr import mask_cpr

# --- user names --------------------------------------------------------------------------------

USERNAME = re.compile(r"[a-z0-9][a-z0-9._@-]{1,63}")


def username_problems(username: str) -> list[str]:
    """Lower-case letters, digits and ``. _ @ -``; 2–64 characters; no CPR-shaped number (it is audited)."""
    problems = []
    if not USERNAME.fullmatch(username):
        problems.append("2–64 characters: lower-case letters a–z, digits and . _ @ -, starting with a letter or digit")
    elif mask_cpr(username) != username:
        problems.append("must not contain a CPR-shaped number")
    return problems


# --- passwords ---------------------------------------------------------------------------------

MIN_PASSWORD = 12
MAX_PASSWORD = 1024
CLASSES = (
    ("lower-case letters", str.islower),
    ("upper-case letters", str.isupper),
    ("digits", str.isdigit),
)


def character_classes(password: str) -> set[str]:
    found = set()
    for ch in password:
        for name, test in CLASSES:
            if test(ch):
                found.add(name)
                break
        else:
            found.add("other characters")
    return found


# Rule id → message. The ids let a page show each rule in the reader's language (messages.yaml).
PASSWORD_RULES = {
    "short": f"must be at least {MIN_PASSWORD} characters long",
    "long": f"must be at most {MAX_PASSWORD} characters long",
    "kinds": "must mix at least two kinds of characters (lower-case, upper-case, digits, others)",
    "empty": "must not be empty",
    "username": "must not contain the user name",
    "text": "must be text: it holds a character that cannot be stored (an unpaired surrogate)",
}


def broken_password_rules(password: str, username: str = "") -> list[str]:
    """The ids (:data:`PASSWORD_RULES`) of every rule ``password`` breaks (empty: acceptable)."""
    broken = []
    if len(password) < MIN_PASSWORD:
        broken.append("short")
    if len(password) > MAX_PASSWORD:
        broken.append("long")
    if password and len(character_classes(password)) < 2:
        broken.append("kinds")
    if not password:
        broken.append("empty")
    if username and username.casefold() in password.casefold():
        broken.append("username")
    if not _encodable(password):  # the hash works on UTF-8 bytes; such a string has none
        broken.append("text")
    return broken


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def password_problems(password: str, username: str = "") -> list[str]:
    """Every rule ``password`` breaks (empty: acceptable). The messages never quote the password."""
    return [PASSWORD_RULES[rule] for rule in broken_password_rules(password, username)]


class Passwords:
    """argon2id hashing. The defaults are argon2-cffi's (RFC 9106 low-memory profile); tests pass a cheaper one."""

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self.hasher = hasher or PasswordHasher()
        self._dummy: str | None = None

    def hash(self, password: str) -> str:
        return self.hasher.hash(password)

    def verify(self, stored: str | None, password: str) -> bool:
        """True if ``password`` matches ``stored``. ``stored`` None still costs one hash (no timing oracle)."""
        if stored is None:
            self._dummy = self._dummy or self.hasher.hash(secrets.token_urlsafe(16))
            stored, password = self._dummy, password + "\x00"
        try:
            return self.hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored: str) -> bool:
        return self.hasher.check_needs_rehash(stored)


# --- lockout -----------------------------------------------------------------------------------

LOCK_AFTER = 5
FIRST_LOCK = timedelta(minutes=1)
MAX_LOCK = timedelta(hours=1)


def lock_for(failures: int) -> timedelta | None:
    """How long an account is locked after ``failures`` failures in a row: none below 5, then 1, 2, 4 … min."""
    if failures < LOCK_AFTER:
        return None
    doublings = min(failures - LOCK_AFTER, 12)
    return min(FIRST_LOCK * (1 << doublings), MAX_LOCK)


# --- TOTP --------------------------------------------------------------------------------------

TOTP_ISSUER = "KØS"
TOTP_DIGITS = 6
TOTP_INTERVAL = 30
TOTP_WINDOW = 1  # steps either side of now


def new_totp_secret() -> str:
    return pyotp.random_base32(32)  # 160 bits, as RFC 4226 recommends


def totp_uri(secret: str, account: str) -> str:
    return pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=TOTP_INTERVAL).provisioning_uri(
        name=account, issuer_name=TOTP_ISSUER
    )


def qr_svg(text: str) -> str:
    """An inline SVG QR code of ``text`` (for the enrolment page; no image files, no network)."""
    return str(segno.make(text, error="m").svg_inline(scale=4, title="TOTP"))


def totp_code(secret: str, at: datetime, offset: int = 0) -> str:
    """The code of the step at ``at`` (+ ``offset`` steps); for tests and authenticator apps."""
    return pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=TOTP_INTERVAL).at(int(at.timestamp()), counter_offset=offset)


def totp_step(secret: str, code: str, at: datetime, window: int = TOTP_WINDOW) -> int | None:
    """The time step whose code ``code`` is (within ``window`` steps of ``at``), or None.

    Every candidate is compared in constant time; the caller refuses a step not later than the last
    one it accepted (no replay).
    """
    code = code.strip().replace(" ", "")
    if not (len(code) == TOTP_DIGITS and code.isascii() and code.isdigit()):
        return None
    totp = pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=TOTP_INTERVAL)
    now = int(at.timestamp())
    step = totp.timecode(now)
    found = None
    for offset in range(-window, window + 1):
        if hmac.compare_digest(totp.at(now, counter_offset=offset), code) and found is None:
            found = step + offset
    return found


class SecretBox:
    """AES-256-GCM for small secrets at rest (TOTP secrets), bound to a context (the user id).

    Stored as ``v1:`` + base64(nonce ‖ ciphertext ‖ tag). A copy of the database without the key
    file reveals nothing; a ciphertext moved to another user's row does not decrypt.
    """

    PREFIX = "v1:"

    def __init__(self, key: bytes) -> None:
        if len(key) < 32:
            raise ValueError("the secret key must be at least 32 bytes")
        self._aead = AESGCM(hashlib.sha256(b"koes totp secrets\x00" + key).digest())

    def seal(self, plaintext: str, context: str) -> str:
        nonce = secrets.token_bytes(12)
        sealed = self._aead.encrypt(nonce, plaintext.encode("utf-8"), context.encode("utf-8"))
        return self.PREFIX + base64.b64encode(nonce + sealed).decode("ascii")

    def open(self, stored: str, context: str) -> str:
        if not stored.startswith(self.PREFIX):
            raise ValueError("not a sealed secret")
        raw = base64.b64decode(stored[len(self.PREFIX) :])
        try:
            return self._aead.decrypt(raw[:12], raw[12:], context.encode("utf-8")).decode("utf-8")
        except InvalidTag:
            raise ValueError("the sealed secret does not open with this key (wrong key or moved)") from None


# --- recovery codes ----------------------------------------------------------------------------

RECOVERY_CODES = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read aloud, typed by hand


def new_recovery_codes(count: int = RECOVERY_CODES) -> list[str]:
    """``count`` codes like ``k3v9-pq2x-…`` (4 groups of 4, about 79 bits each)."""
    return [
        "-".join("".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(4)) for _ in range(4)) for _ in range(count)
    ]


def normalise_recovery_code(code: str) -> str:
    compact = "".join(ch for ch in code.lower() if ch.isalnum())
    return "-".join(compact[i : i + 4] for i in range(0, len(compact), 4))


def recovery_hash(code: str) -> str:
    return hashlib.sha256(("koes recovery\x00" + normalise_recovery_code(code)).encode()).hexdigest()


# --- API tokens --------------------------------------------------------------------------------

TOKEN_MARK = "koes_"
PREFIX_LENGTH = len(TOKEN_MARK) + 8
_TOKEN = re.compile(r"koes_[A-Za-z0-9_-]{43}")


@dataclass(frozen=True)
class NewToken:
    secret: str  # shown once, never stored
    prefix: str  # stored and shown: names the token without revealing it
    digest: str  # stored: SHA-256 of the secret


def new_token() -> NewToken:
    secret = TOKEN_MARK + base64.urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii").rstrip("=")
    return NewToken(secret, secret[:PREFIX_LENGTH], token_hash(secret))


def token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def looks_like_token(text: str) -> bool:
    return bool(_TOKEN.fullmatch(text))


def same_hash(a: str, b: str) -> bool:
    """Constant-time comparison of two hex digests."""
    return hmac.compare_digest(a.encode("ascii", "replace"), b.encode("ascii", "replace"))
