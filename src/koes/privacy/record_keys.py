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
  discharge-ready day) is a seeded hash of the event's natural key (the register's declared key,
  or the whole row where the register declares none), computed by the engine while deriving the
  fact. A cryptographic hash per row would cost minutes at national scale (about 1.5 µs a row);
  DuckDB's ``hash`` costs about 5 ns. The seed is secret, so nobody who lacks the key file can
  compute an event's key; a test pins the function's output, so an engine upgrade that changed it
  (and with it every published value) cannot pass unnoticed.

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
VERSION: Final = "1"  # bump when the derivation of any record key changes
_PERSON_LABEL = b"koes record keys: persons v1"
_EVENT_LABEL = b"koes record keys: events v1"


@dataclass(frozen=True, repr=False)
class RecordKeys:
    """The secrets of one deployment, and the SQL that computes record keys from them.

    ``repr`` is disabled: the secrets must never reach a log or an error message."""

    person_secret: bytes
    event_seed: int
    bits: int = KEY_BITS

    @classmethod
    def derive(cls, pseudonym_key: bytes, bits: int = KEY_BITS) -> RecordKeys:
        if not 1 <= bits <= 32:
            raise ValueError(f"record key bits must be 1..32, got {bits}")
        person = hmac.new(pseudonym_key, _PERSON_LABEL, hashlib.sha256).digest()
        seed = int.from_bytes(hmac.new(pseudonym_key, _EVENT_LABEL, hashlib.sha256).digest()[:8], "big") >> 1
        return cls(person, seed, bits)

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
        """A seeded hash of an event's natural key, reduced to ``bits`` bits (an INTEGER).

        ``tag`` names the kind of event, so two kinds with the same natural key differ. Columns of
        an ENUM type must be cast to text first: the engine hashes an ENUM's index, which depends
        on the release's code domain, not the code."""
        if not natural_key:
            raise ValueError("an event key needs at least one column of its natural key")
        columns = ", ".join(natural_key)
        return f"CAST(hash({self.event_seed}, '{tag}', {columns}) % {self.modulus} AS INTEGER)"
