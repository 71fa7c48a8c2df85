"""CPR numbers become keyed hashes at the door (HMAC-SHA256); the key never ships with data.

The key lives in a file outside every release, created on first use with mode 0600. The same key
gives the same pseudonym for the same person across loads, so releases can be compared, while a
copied release without the key cannot be linked back to CPR numbers.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import stat
from collections.abc import Iterable
from pathlib import Path

KEY_BYTES = 32


class KeyFileError(RuntimeError):
    pass


def load_or_create_key(path: Path, what: str = "pseudonymisation key", size: int = KEY_BYTES) -> bytes:
    """Read a key file (hex), creating it (0600, parent 0700) if it does not exist.

    Also used for the app's secret key (``KOES_SECRET_KEY_FILE``), which seals TOTP secrets."""
    if path.exists():
        return _read_key(path, what)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = secrets.token_bytes(size)
    # O_EXCL: two processes creating the key at once must not end up with different keys.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_key(path, what)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(key.hex() + "\n")
    return key


def _read_key(path: Path, what: str = "pseudonymisation key") -> bytes:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise KeyFileError(f"{what} {path} is readable by others (mode {mode:o}); chmod 600 it")
    text = path.read_text(encoding="ascii").strip()
    try:
        key = bytes.fromhex(text)
    except ValueError:
        raise KeyFileError(f"{what} {path} is not a hex-encoded key") from None
    if len(key) < 16:
        raise KeyFileError(f"{what} {path} is too short ({len(key)} bytes; need at least 16)")
    return key


class Pseudonymiser:
    """Keyed hash of normalised CPR numbers (10 digits, no dash)."""

    def __init__(self, key: bytes) -> None:
        # Precomputed inner/outer states make hashing millions of numbers cheap.
        self._template = hmac.new(key, digestmod=hashlib.sha256)

    def pseudonym(self, cpr_digits: str) -> str:
        h = self._template.copy()
        h.update(cpr_digits.encode("ascii"))
        return h.hexdigest()

    def many(self, numbers: Iterable[str]) -> list[str]:
        return [self.pseudonym(n) for n in numbers]


def hmac_sha256_sql(key: bytes, expr: str) -> str:
    """The same keyed hash as :class:`Pseudonymiser`, as a DuckDB SQL expression over ``expr``.

    HMAC (RFC 2104) is H((K ⊕ opad) ‖ H((K ⊕ ipad) ‖ m)) with the key padded to the 64-byte SHA-256
    block; written in SQL it runs vectorised on every core instead of one number at a time. The
    padded keys are key material: the expression must only ever be executed, never logged.
    """
    if len(key) > 64:
        key = hashlib.sha256(key).digest()
    block = key.ljust(64, b"\0")
    inner = bytes(b ^ 0x36 for b in block).hex()
    outer = bytes(b ^ 0x5C for b in block).hex()
    return f"sha256(unhex('{outer}') || unhex(sha256(unhex('{inner}') || encode({expr}))))"
