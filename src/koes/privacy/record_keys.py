"""Record keys: the secret random numbers behind consistent perturbation (cell-key method).

Every person and every event row of a release carries a *record key*, an integer in
``[0, 2**bits)`` (read as the fraction key / 2**bits in [0, 1)). The *cell key* of a published
cell is the sum of the record keys of the units it counts, modulo ``2**bits``; the perturbation
table turns (count, cell key) into the published count (``koes.privacy.ptable``). The same units
always give the same cell key, so a cell shows the same value in every table, report and route,
and no combination of tables gives an exact hidden count back (decision 0006).

* A **person key** is the first ``bits`` bits of HMAC-SHA256(person secret, pseudonym). The
  pseudonym is itself a keyed hash of the CPR number, so a person keeps the same key in every
  release loaded with the same pseudonymisation key. It is carried *inside* the person id:
  ``person_id = serial * 2**bits + person key``. A distinct-person count and the sum of the
  distinct persons' keys then read one column: ``COUNT(DISTINCT person_id)`` and
  ``SUM(DISTINCT person_id) mod 2**bits``, which the engine answers from one hash table.
* An **event key** (a contact, stay, service, prescription, benefit week, care month,
  discharge-ready day) is the first ``bits`` bits of MD5(event secret | kind | natural key), the
  natural key being the register's declared key, or the whole row where the register declares
  none, written as text. It is computed by the engine while deriving the fact, and the load may
  run on DuckDB or on Spark: the expression uses only what both engines compute alike — ``md5``
  of a UTF-8 string, ``concat_ws``, ``coalesce`` and casts to text, which agree for integers,
  text, dates, timestamps to the second and decimals (floating-point numbers do not: Spark writes
  1.2E7 where DuckDB writes 12000000.0, so they go through :func:`fixed_point` first). A NULL part
  is written ``<null>``. The hexadecimal prefix is read as ``CAST('0x' || digits AS BIGINT)``,
  which the Spark load rewrites to ``conv(digits, 16, 10)`` as it does for the person id. MD5
  costs about four times the engine's own ``hash`` per row (tens of seconds at national scale),
  the price of a key that does not depend on the engine; the secret prefix keeps anyone without
  the key file from computing an event's key. A test pins the output.

Both secrets are derived from the pseudonymisation key with fixed labels; nothing new to store.
Record keys are never shown or exported: they exist in the release, and leave the engine only as
cell keys of aggregated cells.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Final

from koes.privacy.pseudonymisation import hmac_sha256_sql

KEY_BITS: Final = 16
VERSION: Final = "2"  # bump when the derivation of any record key changes (2: MD5 event keys, engine-independent)
_PERSON_LABEL = b"koes record keys: persons v1"
_EVENT_LABEL = b"koes record keys: events v2"
NULL_TEXT: Final = "<null>"  # how a NULL part of a natural key is written
FIXED_POINT: Final = "DECIMAL(38, 6)"  # floating-point parts are written with six decimals


@dataclass(frozen=True, repr=False)
class RecordKeys:
    """The secrets of one deployment, and the SQL that computes record keys from them.

    ``repr`` is disabled: the secrets must never reach a log or an error message."""

    person_secret: bytes
    event_secret: str  # 32 hex digits, the first part of every hashed natural key
    bits: int = KEY_BITS

    @classmethod
    def derive(cls, pseudonym_key: bytes, bits: int = KEY_BITS) -> RecordKeys:
        if not 1 <= bits <= 32:
            raise ValueError(f"record key bits must be 1..32, got {bits}")
        person = hmac.new(pseudonym_key, _PERSON_LABEL, hashlib.sha256).digest()
        event = hmac.new(pseudonym_key, _EVENT_LABEL, hashlib.sha256).digest()[:16].hex()
        return cls(person, event, bits)

    def __repr__(self) -> str:
        return f"RecordKeys(bits={self.bits}, secrets hidden)"

    @property
    def modulus(self) -> int:
        return 1 << self.bits

    def person_key(self, pseudonym: str) -> int:
        """The person key of a pseudonym (the same number the SQL of ``person_id_sql`` embeds)."""
        digest = hmac.new(self.person_secret, pseudonym.encode("ascii"), hashlib.sha256).digest()
        return int.from_bytes(digest[:4], "big") >> (32 - self.bits)

    def person_id_sql(self, serial: str, pseudonym: str) -> str:
        """``serial * 2**bits + person key``: a person id that carries its record key in its low bits."""
        digits = (self.bits + 3) // 4
        top = f"CAST(('0x' || left({hmac_sha256_sql(self.person_secret, pseudonym)}, {digits})) AS BIGINT)"
        key = f"({top} >> {4 * digits - self.bits})"
        return f"(CAST({serial} AS BIGINT) * {self.modulus} + {key})"

    def person_key_of_id_sql(self, person_id: str) -> str:
        """The person key read back from a person id (for event keys of person-level registers)."""
        return f"({person_id} % {self.modulus})"

    def event_key_sql(self, tag: str, *natural_key: str) -> str:
        """MD5 of the event's natural key as text, reduced to ``bits`` bits (an INTEGER up to 31 bits).

        ``tag`` names the kind of event, so two kinds with the same natural key differ. Parts are
        cast to text (an ENUM gives its code, not its index); floating-point parts must be passed
        through :func:`fixed_point`."""
        if not natural_key:
            raise ValueError("an event key needs at least one column of its natural key")
        parts = ", ".join(f"coalesce(CAST({part} AS VARCHAR), '{NULL_TEXT}')" for part in natural_key)
        digest = f"md5(concat_ws('|', '{self.event_secret}', '{tag}', {parts}))"
        return _leading_bits_sql(digest, self.bits)

    def event_key(self, tag: str, *natural_key: str | None) -> int:
        """The event key of a natural key already written as text (``None`` for NULL): the
        reference the engines' SQL is tested against."""
        text = "|".join([self.event_secret, tag, *(NULL_TEXT if part is None else part for part in natural_key)])
        digest = hashlib.md5(text.encode("utf-8"), usedforsecurity=False).digest()
        return int.from_bytes(digest[:4], "big") >> (32 - self.bits)


def fixed_point(expr: str) -> str:
    """A floating-point part of a natural key as a decimal both engines write alike as text."""
    return f"CAST({expr} AS {FIXED_POINT})"


def _leading_bits_sql(hex_digest: str, bits: int) -> str:
    """The first ``bits`` bits of a hexadecimal digest, as an INTEGER (a BIGINT for 32 bits)."""
    digits = (bits + 3) // 4
    value = f"CAST(('0x' || left({hex_digest}, {digits})) AS BIGINT)"
    shift = 4 * digits - bits
    kind = "INTEGER" if bits < 32 else "BIGINT"
    return f"CAST({value} AS {kind})" if shift == 0 else f"CAST(({value} >> {shift}) AS {kind})"
